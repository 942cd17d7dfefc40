"""Units of work: one commit when the work succeeds, a rollback otherwise.

A request is one unit (committed when it answers below 400); outside requests, a CLI command
or a job is one, through :func:`unit_of_work`. Services only flush: they never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, has_request_context

from portal.accounts.models import Account
from portal.auth import sessions
from portal.extensions import db, login_manager
from portal.jobs.inprocess import run_committed


def init_app(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_rollback_on_error)
    login_manager.user_loader(_load_account)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"


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
