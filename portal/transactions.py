"""The request's unit of work: one commit when the request succeeds, a rollback otherwise."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask, Response, session
from sqlalchemy import Connection, Engine, event

from portal.accounts.models import Account
from portal.extensions import db, login_manager
from portal.security import SESSION_STARTED


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
    else:
        db.session.rollback()
    return response


def _rollback_on_error(error: BaseException | None) -> None:
    if error is not None:
        db.session.rollback()


@event.listens_for(Engine, "savepoint")
def _begin_before_sqlite_savepoint(connection: Connection, name: str) -> None:
    """Python's sqlite3 opens a transaction only before a data change. A SAVEPOINT outside
    one starts a transaction of its own, and releasing it commits: a row written in a
    savepoint would then outlive the request's rollback. Begin the real transaction first."""
    dbapi_connection: Any = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, sqlite3.Connection) and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


def _load_account(account_id: str) -> Account | None:
    """The signed-in account, unless this session began before the account signed out."""
    if not account_id.isdigit():
        return None
    account = db.session.get(Account, int(account_id))
    if account is None or account.signed_out_at is None:
        return account
    started = session.get(SESSION_STARTED)
    if started is None or float(started) < account.signed_out_at.timestamp():
        return None
    return account
