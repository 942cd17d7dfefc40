"""The account's "Notifications by e-mail" page, and the page a confirmation link opens."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.i18n import current_language
from portal.notifications import services
from portal.notifications.forms import AddressForm, SwitchForm
from portal.notifications.services import Refusal
from portal.web.forms import ConfirmForm

bp = Blueprint("notifications", __name__, url_prefix="/account/notifications")


def _page(address_form: AddressForm | None = None, status: int = 200) -> tuple[str, int]:
    account = current_user
    if address_form is None:
        address_form = AddressForm(formdata=None)
        address_form.email.data = account.notification_email or services.provider_email(account)
    offered = services.provider_email_to_offer(account)
    page = render_template(
        "notifications/settings.html",
        account=account,
        mail_available=bool(current_app.config["SMTP_HOST"]),
        address_form=address_form,
        provider_email=offered,
        offer_provider_email=offered is not None,
        form=ConfirmForm(),
    )
    return page, status


@bp.get("/")
@access.requires(access.SIGNED_IN)
def settings() -> tuple[str, int]:
    return _page()


@bp.post("/address")
@access.requires(access.SIGNED_IN)
def give_address() -> Response | tuple[str, int]:
    form = AddressForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    if not current_app.config["SMTP_HOST"]:
        # The page offers no address then; a POST sent anyway is told why, not "sent".
        form.email.errors = [
            _("This portal does not send e-mail. Messages arrive in your mailbox only.")
        ]
        return _page(form, 422)
    try:
        sent = services.give_address(current_user, form.email.data, current_language())
    except services.TooSoon as too_soon:
        form.email.errors = [_too_soon(too_soon)]
        return _page(form, 429)
    if sent:
        flash(
            _(
                "We sent a link to %(email)s. Open it to confirm the address.",
                email=form.email.data,
            ),
            "success",
        )
    else:
        flash(_("Notifications will be e-mailed to %(email)s.", email=form.email.data), "success")
    return redirect(url_for("notifications.settings"))


@bp.post("/provider-address")
@access.requires(access.SIGNED_IN)
def use_provider_address() -> Response:
    """One click: the address the ID provider verified needs no link."""
    email = services.provider_email(current_user)
    if ConfirmForm().validate_on_submit() and email is not None:
        services.give_address(current_user, email, current_language())
        flash(_("Notifications will be e-mailed to %(email)s.", email=email), "success")
    return redirect(url_for("notifications.settings"))


@bp.post("/resend")
@access.requires(access.SIGNED_IN)
def resend() -> Response:
    account = current_user
    if (
        ConfirmForm().validate_on_submit()
        and account.notification_email
        and account.notification_email_confirmed_at is None
    ):
        try:
            services.send_link_again(account, current_language())
        except services.TooSoon as too_soon:
            flash(_too_soon(too_soon), "error")
        else:
            flash(
                _("We sent a new link to %(email)s.", email=account.notification_email),
                "success",
            )
    return redirect(url_for("notifications.settings"))


def _too_soon(too_soon: services.TooSoon) -> str:
    return _(
        "We sent a link less than a minute ago. Check your inbox, or try again in "
        "%(seconds)d seconds.",
        seconds=too_soon.seconds,
    )


@bp.post("/switch")
@access.requires(access.SIGNED_IN)
def switch() -> Response:
    form = SwitchForm()
    if form.validate_on_submit():
        services.turn(current_user, form.turned_on)
        if form.turned_on:
            flash(_("E-mail notifications are on."), "success")
        else:
            flash(
                _("E-mail notifications are off. Messages still arrive in your mailbox."), "success"
            )
    return redirect(url_for("notifications.settings"))


@bp.get("/confirm/<token>")
@access.requires(access.EMAIL_CONFIRMER)
def confirm(token: str) -> tuple[str, int]:
    """The link only shows a button: confirming is a POST, so a mail scanner that opens
    links confirms nothing."""
    claim = access.confirmation_or_404(token)
    refusal = services.refusal(current_user, claim)
    return _confirm_page(claim.email, refusal)


@bp.post("/confirm/<token>")
@access.requires(access.EMAIL_CONFIRMER)
def confirm_address(token: str) -> Response | tuple[str, int]:
    claim = access.confirmation_or_404(token)
    if not ConfirmForm().validate_on_submit():
        return _confirm_page(claim.email, services.refusal(current_user, claim))
    if (refusal := services.confirm(current_user, claim)) is not None:
        return _confirm_page(claim.email, refusal)
    flash(
        _(
            "Your e-mail address is confirmed. Notifications will be e-mailed to %(email)s.",
            email=claim.email,
        ),
        "success",
    )
    return redirect(url_for("notifications.settings"))


def _confirm_page(email: str, refusal: Refusal | None) -> tuple[str, int]:
    messages = {
        Refusal.USED: _("This link was already used: the address is confirmed."),
        Refusal.EXPIRED: _("This link has expired. Ask for a new one on the notifications page."),
        Refusal.REPLACED: _(
            "This link no longer works: a newer link was sent, or another address was given."
        ),
    }
    page = render_template(
        "notifications/confirm.html",
        email=email,
        refusal=messages.get(refusal) if refusal else None,
        form=ConfirmForm(),
    )
    return page, 200 if refusal is None else 410
