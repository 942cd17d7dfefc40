"""Every change to a resident's notification e-mail: giving an address, confirming it,
turning notifications on or off. Flushes only; the request commits."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta
from enum import StrEnum

from portal import jobs
from portal.accounts.models import Account
from portal.db import db, utcnow
from portal.japan.values import InvalidValue, normalize_email
from portal.notifications.tokens import ConfirmationClaim

SEND_CONFIRMATION_TASK = "notifications.send_confirmation"
#: How long a confirmation link works (GOV.UK's are a day or less).
LINK_LIFETIME = timedelta(hours=24)
#: At most one link a minute per account, so that the page cannot flood anyone's inbox.
LINK_INTERVAL = timedelta(minutes=1)


class TooSoon(Exception):
    """A link was sent less than :data:`LINK_INTERVAL` ago; nothing was changed."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class Refusal(StrEnum):
    """Why a confirmation link was not taken; the page says it in words."""

    USED = "used"
    EXPIRED = "expired"
    REPLACED = "replaced"


def provider_email(account: Account) -> str | None:
    """The address the ID provider verified at the last sign-in (``email_verified``), if any."""
    try:
        return normalize_email(str((account.identity or {}).get("email") or "")) or None
    except InvalidValue:
        return None


def provider_email_to_offer(account: Account) -> str | None:
    """The provider's verified address, unless it is already the one confirmed here."""
    email = provider_email(account)
    if email == account.notification_email and account.notification_email_confirmed_at:
        return None
    return email


def email_address(account: Account) -> str | None:
    """Where the account's messages are e-mailed: its confirmed address while notifications
    are on; none otherwise (nothing is sent to an address not yet confirmed)."""
    if not account.email_notifications or account.notification_email_confirmed_at is None:
        return None
    return account.notification_email


def give_address(account: Account, email: str, language: str) -> bool:
    """Take the address (normalized already) and turn notifications on. The provider's
    verified address is confirmed at once; any other is e-mailed a confirmation link, and
    nothing else goes there until it is opened. True when a link was sent; raises
    :class:`TooSoon`, changing nothing, when another link may not be sent yet."""
    if email != provider_email(account) and not (
        email == account.notification_email and account.notification_email_confirmed_at
    ):
        _check_interval(account)
    account.email_notifications = True
    if email == account.notification_email and account.notification_email_confirmed_at:
        db.session.flush()
        return False
    account.notification_email = email
    if email == provider_email(account):
        account.notification_email_confirmed_at = utcnow()
        account.notification_email_nonce = None
        account.notification_email_requested_at = None
        db.session.flush()
        return False
    account.notification_email_confirmed_at = None
    send_link_again(account, language)
    return True


def send_link_again(account: Account, language: str) -> None:
    """A new link for the pending address, e-mailed in ``language``; earlier links stop
    working. Raises :class:`TooSoon` when the last one went out less than a minute ago."""
    _check_interval(account)
    account.notification_email_nonce = secrets.token_urlsafe(24)
    account.notification_email_requested_at = utcnow()
    db.session.flush()
    jobs.defer(SEND_CONFIRMATION_TASK, account_id=account.id, language=language)


def _check_interval(account: Account) -> None:
    requested = account.notification_email_requested_at
    if requested is not None:
        left = (requested + LINK_INTERVAL - utcnow()).total_seconds()
        if left > 0:
            raise TooSoon(math.ceil(left))


def latest_link(account: Account) -> ConfirmationClaim | None:
    """What the latest link sent stands for (kept once used, so a reuse is told apart)."""
    if not account.notification_email or not account.notification_email_nonce:
        return None
    return ConfirmationClaim(
        account.id, account.notification_email, account.notification_email_nonce
    )


def refusal(account: Account, claim: ConfirmationClaim) -> Refusal | None:
    """Why this link of the account's cannot confirm now; None when it can."""
    if claim != latest_link(account):
        return Refusal.REPLACED
    if account.notification_email_confirmed_at is not None:
        return Refusal.USED
    requested = account.notification_email_requested_at
    if requested is None or utcnow() - requested > LINK_LIFETIME:
        return Refusal.EXPIRED
    return None


def confirm(account: Account, claim: ConfirmationClaim) -> Refusal | None:
    """Confirm the address the link was sent to, once; or say why not."""
    if (why := refusal(account, claim)) is not None:
        return why
    account.notification_email_confirmed_at = utcnow()
    db.session.flush()
    return None


def turn(account: Account, on: bool) -> None:
    account.email_notifications = on
    db.session.flush()
