"""Sign-in sessions: begun at sign-in, ended by signing out, by idleness or by age.

The browser's cookie carries only the session's random key, beside Flask-Login's account id,
the CSRF token and flashed messages; what the session knows is kept in ``SignInSession``,
where every process of the portal finds it. The cookie expires when the session would.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import Flask, current_app, flash, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_login import logout_user
from sqlalchemy import Select, bindparam, delete, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal import access
from portal.accounts.models import Account
from portal.auth.models import SignInSession
from portal.db import db, utcnow
from portal.journey.models import Case
from portal.mailbox.queries import unread_count

#: The cookie's only link to the server-side session.
SESSION_KEY = "_session_key"
#: When the cookie expires: the moment the session would end if no request came.
EXPIRES_KEY = "_expires"
#: How precisely idleness is tracked, in seconds: ``last_seen_at`` is written at most this often.
SEEN_RESOLUTION = 60

_CURRENT = "_sign_in_session"


@dataclass(frozen=True)
class EndedSession:
    """What signing out at the provider needs of the session that just ended."""

    audience: str
    id_token: str | None


class ExpiringSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, but expiring with the sign-in session instead of 31 days on;
    before sign-in it is a browser-session cookie."""

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        expires = session.get(EXPIRES_KEY)
        if isinstance(expires, int | float):
            return datetime.fromtimestamp(expires, UTC)
        return None


def init_app(app: Flask) -> None:
    app.session_interface = ExpiringSessionInterface()
    app.before_request(_end_stale_session)


def begin(account: Account, audience: str, id_token: str | None) -> SignInSession:
    """A fresh session after sign-in: nothing from before it is carried over."""
    session.clear()
    key, row = open_session(account, audience, id_token, request.user_agent.string)
    session[SESSION_KEY] = key
    _renew_cookie(row)
    setattr(g, _CURRENT, row)
    return row


def open_session(
    account: Account, audience: str, id_token: str | None, user_agent: str = ""
) -> tuple[str, SignInSession]:
    """The row of a new session and the random key the browser will hold for it."""
    now = utcnow()
    _purge_ended(now)
    key = secrets.token_urlsafe(32)
    row = SignInSession(
        key_digest=_digest(key),
        account=account,
        audience=audience,
        id_token=id_token,
        user_agent=(user_agent or "")[:255],
        started_at=now,
        last_seen_at=now,
        unread_messages=unread_count(account),
    )
    db.session.add(row)
    db.session.flush()
    return key, row


def current() -> SignInSession | None:
    """This browser's sign-in session, if its cookie names one that has not ended."""
    if _CURRENT not in g:
        key = session.get(SESSION_KEY)
        row = None
        if isinstance(key, str):
            row = _load(_digest(key))
        setattr(g, _CURRENT, row)
    found: SignInSession | None = getattr(g, _CURRENT)
    return found


def _load(key_digest: str) -> SignInSession | None:
    """The session with its account; on a page of a resident's case, the case with them.

    Nearly every journey request reads the session and then the case: asked together, they
    cost one round trip to the database instead of two. The case comes through the access
    module's owner rule, and the access module hands it to ``case_or_404``.
    """
    asked = access.case_asked()
    if asked is None:
        return db.session.scalar(_session_by_key(), {"key_digest": key_digest})
    params = {"key_digest": key_digest, "case_id": asked.case_id}
    found = db.session.execute(_session_with_case(asked.for_update), params).first()
    if found is None:
        # Locked, the case is joined inner: no row says nothing of the session alone.
        if not asked.for_update:
            return None
        return db.session.scalar(_session_by_key(), {"key_digest": key_digest})
    row, case = found
    access.keep_loaded_case(asked, case)
    return row


@cache
def _session_with_case(for_update: bool) -> Select[tuple[SignInSession, Case]]:
    """:func:`_session_by_key` with the case the path names, when the account owns it (an
    outer join, so the session is found either way; inner when the case is locked, as
    PostgreSQL locks no row on the nullable side of an outer join)."""
    owned = access.own_case_of(SignInSession.account_id)
    query = select(SignInSession, Case).join(Case, owned, isouter=not for_update)
    query = query.where(SignInSession.key_digest == bindparam("key_digest"))
    if for_update:
        query = query.with_for_update(of=Case, key_share=True)  # FOR NO KEY UPDATE
    return query.options(joinedload(SignInSession.account))


@cache
def _session_by_key() -> Select[tuple[SignInSession]]:
    """The session with its account: one query per request for both. Built once, as every
    request asks it: SQLAlchemy then finds it compiled without building and hashing it again."""
    query = select(SignInSession).where(SignInSession.key_digest == bindparam("key_digest"))
    return query.options(joinedload(SignInSession.account))


def end() -> EndedSession | None:
    """End this browser's session; returns what the provider's sign-out needs."""
    row = current()
    ended = None
    if row is not None:
        ended = EndedSession(row.audience, row.id_token)
        db.session.execute(delete(SignInSession).where(SignInSession.id == row.id))
    logout_user()
    session.clear()
    setattr(g, _CURRENT, None)
    return ended


def end_all(account: Account) -> None:
    """End every session of the account, on every device: copied cookies stop working too."""
    db.session.execute(delete(SignInSession).where(SignInSession.account_id == account.id))
    setattr(g, _CURRENT, None)


def _end_stale_session() -> None:
    """30 idle minutes or 12 hours after sign-in, whichever comes first, end the session."""
    if SESSION_KEY not in session:
        return
    row = current()
    now = utcnow()
    if row is not None and not _has_expired(row, now):
        if (now - row.last_seen_at).total_seconds() >= SEEN_RESOLUTION:
            # A statement, not an ORM change: a sign-out elsewhere may have deleted the row
            # meanwhile, and updating no row is then right, not an error.
            db.session.execute(
                update(SignInSession).where(SignInSession.id == row.id).values(last_seen_at=now)
            )
            set_committed_value(row, "last_seen_at", now)
            _renew_cookie(row)  # not on every request: a changed cookie is sent again
        return
    timed_out = row is not None  # otherwise it was ended by a sign-out, here or elsewhere
    end()
    if timed_out:
        flash(_("For your security, you were signed out after a period without activity."))


def _limits() -> tuple[timedelta, timedelta]:
    config: dict[str, Any] = current_app.config
    return (
        timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
        timedelta(hours=int(config["SESSION_MAX_HOURS"])),
    )


def _ends_at(row: SignInSession) -> datetime:
    idle, longest = _limits()
    return min(row.last_seen_at + idle, row.started_at + longest)


def _has_expired(row: SignInSession, now: datetime) -> bool:
    return now > _ends_at(row)


def _renew_cookie(row: SignInSession) -> None:
    session[EXPIRES_KEY] = int(_ends_at(row).timestamp())


def _purge_ended(now: datetime) -> None:
    """Sessions nobody came back to end with no request to notice: clear them at sign-ins."""
    idle, longest = _limits()
    db.session.execute(
        delete(SignInSession).where(
            or_(SignInSession.last_seen_at < now - idle, SignInSession.started_at < now - longest)
        )
    )


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
