"""The request's unit of work: one commit when the request succeeds, a rollback otherwise."""

from __future__ import annotations

from flask import Flask, Response, session

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
