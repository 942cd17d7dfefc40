"""The admin pages of staff roles: a municipality's (its admins') and the portal's own admins
(the portal's), behind ``portal.access``; every grant and revocation goes through
``portal.accounts.management``, which audits it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal import access
from portal.accounts import management, queries
from portal.accounts.forms import ROLE_LABELS, GrantForm, PortalAdminForm, RevokeForm, SubjectForm
from portal.accounts.models import Account, StaffRole
from portal.accounts.queries import staff_roles_in
from portal.auth.oidc import SignInFailed, staff_issuer
from portal.tenancy.models import Municipality

bp = Blueprint("staff_admin", __name__, url_prefix="/admin")

Page = Response | str | tuple[str, int]


@bp.route("/municipalities/<int:municipality_id>/staff", methods=["GET", "POST"])
@access.requires(access.MUNICIPALITY_ADMIN)
def staff(municipality_id: int) -> Page:
    """The municipality's staff and their roles, and a form to grant one."""
    municipality = access.municipality_or_404(municipality_id)
    form = GrantForm(
        request.form if request.method == "POST" else None,
        departments=list(municipality.departments),
    )
    if request.method == "GET":
        return _staff_page(municipality, form)
    if form.validate() and (account := _account_of(form)) is not None:
        try:
            management.grant(
                current_user,
                account,
                form.chosen_role,
                municipality,
                form.chosen_departments,
            )
        except management.RoleConflict:
            form.role.errors = [
                _("This person is a clerk of another municipality: a clerk works for one only.")
            ]
        else:
            flash(
                _(
                    "Granted %(role)s to %(name)s.",
                    role=ROLE_LABELS[form.chosen_role],
                    name=account.staff_name,
                ),
                "success",
            )
            return redirect(url_for("staff_admin.staff", municipality_id=municipality.id), 303)
    return _staff_page(municipality, form), 422


def _account_of(form: SubjectForm) -> Account | None:
    """The staff provider's account of the subject typed (registered if it never signed
    in); None, with the reason beside the field, when the provider cannot say its issuer."""
    try:
        issuer = staff_issuer()
    except SignInFailed:
        form.subject.errors = [
            _("The staff sign-in provider cannot be reached just now. Try again later.")
        ]
        return None
    return management.staff_account(issuer, form.subject.data or "")


def _staff_page(municipality: Municipality, form: GrantForm) -> str:
    roles = staff_roles_in(municipality)
    people: dict[int, list[StaffRole]] = {}
    for role in roles:
        people.setdefault(role.account_id, []).append(role)
    return render_template(
        "accounts/staff.html",
        municipality=municipality,
        people=[(found[0].account, found) for found in people.values()],
        form=form,
        role_labels=ROLE_LABELS,
    )


@bp.route(
    "/municipalities/<int:municipality_id>/staff/roles/<int:role_id>/revoke",
    methods=["GET", "POST"],
)
@access.requires(access.MUNICIPALITY_ROLE_ADMIN)
def revoke(municipality_id: int, role_id: int) -> Page:
    """Asks first; refuses the municipality's last admin and the admin's own admin role."""
    role = access.managed_role_or_404(municipality_id, role_id)
    back = url_for("staff_admin.staff", municipality_id=municipality_id)
    return _revoke(role, back)


def _revoke(role: StaffRole, back: str) -> Page:
    form = RevokeForm(request.form if request.method == "POST" else None)
    if request.method == "POST":
        name, label = role.account.staff_name, ROLE_LABELS[role.role]
        try:
            revoked = management.revoke(current_user, role)
        except management.OwnAdminRole:
            form.submit.errors = [_("You cannot revoke your own admin role: ask another admin.")]
        except management.LastAdmin:
            form.submit.errors = [
                _("This is the last admin: grant the role to someone else first.")
            ]
        else:
            if revoked:
                flash(_("Revoked %(role)s from %(name)s.", role=label, name=name), "success")
            else:
                flash(_("Another admin revoked this role already."), "info")
            return redirect(back, 303)
    page = render_template(
        "accounts/revoke.html", role=role, form=form, back=back, role_labels=ROLE_LABELS
    )
    return (page, 422) if form.errors else page


@bp.route("/portal-admins", methods=["GET", "POST"])
@access.requires(access.PORTAL_ADMIN)
def portal_admins() -> Page:
    access.portal_admin_or_404()
    form = PortalAdminForm(request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate() and (account := _account_of(form)) is not None:
            management.grant_portal_admin(current_user, account)
            flash(_("%(name)s is a portal admin.", name=account.staff_name), "success")
            return redirect(url_for("staff_admin.portal_admins"), 303)
        return _portal_admins_page(form), 422
    return _portal_admins_page(form)


def _portal_admins_page(form: PortalAdminForm) -> str:
    return render_template(
        "accounts/portal_admins.html", roles=queries.portal_admin_roles(), form=form
    )


@bp.route("/portal-admins/<int:admin_role_id>/revoke", methods=["GET", "POST"])
@access.requires(access.PORTAL_ROLE_ADMIN)
def revoke_portal_admin(admin_role_id: int) -> Page:
    role = access.portal_role_or_404(admin_role_id)
    return _revoke(role, url_for("staff_admin.portal_admins"))
