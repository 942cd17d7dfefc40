"""The request's unit of work: one commit when the request succeeds, a rollback otherwise."""

from __future__ import annotations

from flask import Flask, Response

from portal.accounts.models import Account
from portal.auth import sessions
from portal.extensions import db, login_manager


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


def _load_account(account_id: str) -> Account | None:
    """The signed-in account, while its sign-in session lasts on the server."""
    row = sessions.current()
    if row is None or str(row.account_id) != account_id:
        return None
    return row.account
