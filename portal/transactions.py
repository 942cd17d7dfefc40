"""Units of work: one commit when the work succeeds, a rollback otherwise.

A request is one unit (committed when it answers below 400); outside requests, a CLI command
or a job is one, through :func:`unit_of_work`. Services only flush: they never commit.

On PostgreSQL a GET begins its transaction at its first statement that is not a plain read
(a write, a lock, a savepoint, SQL as text): a page that only reads sends neither BEGIN nor
COMMIT, two of the four round trips of a journey page. Under READ COMMITTED (the portal's
level) every statement reads its own snapshot anyway, so reads before the BEGIN see what they
would have seen inside it; whatever follows is one transaction, committed or rolled back as
before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, has_request_context, request
from sqlalchemy import Select, event
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, SessionTransaction

from portal import replica
from portal.accounts.models import Account
from portal.auth import sessions
from portal.db import READING_METHODS
from portal.extensions import db, login_manager
from portal.jobs.inprocess import run_committed


def init_app(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_rollback_on_error)
    login_manager.user_loader(_load_account)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        event.listen(db.session, "after_begin", _reads_begin_nothing)
        # The replica's connections too: its reads go without BEGIN alike.
        for each in filter(None, (engine, replica.engine(app))):
            event.listen(each, "before_cursor_execute", _begin_before_anything_but_a_read)
            event.listen(each.pool, "checkout", _transactions_again)


def _reads_begin_nothing(
    session: Session, transaction: SessionTransaction, connection: Connection
) -> None:
    """A GET's connection starts in autocommit: plain reads go without BEGIN."""
    reading = has_request_context() and request.method in READING_METHODS
    # A session listener hears every app's sessions, SQLite's too (an app made earlier in
    # the same process): the dialect is asked here, not only at registration.
    if reading and connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.autocommit:
            driver.autocommit = True


def _begin_before_anything_but_a_read(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    """BEGIN before the first statement that is not a plain read."""
    driver = connection.connection.driver_connection
    if driver is None or not driver.autocommit or driver.info.transaction_status:
        return  # a transaction as usual, or already begun (status not IDLE)
    if not _plain_read(context):
        driver.execute("BEGIN")


def _plain_read(context: ExecutionContext | None) -> bool:
    """A SELECT that neither locks nor streams (a server-side cursor lives in a transaction)."""
    compiled = getattr(context, "compiled", None)
    query = getattr(compiled, "statement", None)
    if not isinstance(query, Select) or query._for_update_arg is not None:
        return False
    return not (context is not None and context.execution_options.get("stream_results"))


def _transactions_again(dbapi_connection: Any, connection_record: Any, proxy: Any) -> None:
    """Every use of a pooled connection starts with ordinary transactions; a connection that
    cannot be switched back (broken) is discarded, never handed out in autocommit."""
    if getattr(dbapi_connection, "autocommit", False):
        try:
            dbapi_connection.autocommit = False
        except Exception as error:
            raise DisconnectionError("connection left in autocommit") from error


def _commit(response: Response) -> Response:
    if response.status_code < 400:
        db.session.commit()
        run_committed()
    else:
        db.session.rollback()
    return response


def _rollback_on_error(error: BaseException | None) -> None:
    if error is not None:
        db.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """The request's rule for work outside requests: commit when the block (or, used as
    ``@unit_of_work()``, the function) ends normally; roll back when anything is raised, a
    command's usage error or exit code included, so a failure leaves no row behind and the
    next unit in the same process starts clean."""
    if has_request_context():
        raise RuntimeError("a request is its own unit of work: services only flush")
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    run_committed()


def _load_account(account_id: str) -> Account | None:
    """The signed-in account, while its sign-in session lasts on the server."""
    row = sessions.current()
    if row is None or str(row.account_id) != account_id:
        return None
    return row.account
