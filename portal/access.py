"""Who may see or change what: the one place that answers it.

Every view declares who may call it, ``@requires(FILER)`` and the like; a view without a
declared rule is never served, and a test walks every route with outsiders. Every view that
loads an object by id goes through a ``*_or_404`` function here. A denied object answers
404, exactly like a missing one, so that ids cannot be probed.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any, ParamSpec, TypeVar

from flask import Flask, abort, current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, bindparam, select
from sqlalchemy.orm import aliased, joinedload

from portal.accounts.models import Account, Role, StaffRole
from portal.audit.models import AccessRecord
from portal.casework.lifecycle import TRANSITIONS, Action, Actor
from portal.certificates import statuslist
from portal.certificates.models import Certificate
from portal.db import MAX_ID, READING_METHODS, db
from portal.definitions.models import DefinitionVersion
from portal.journey.models import Attachment, Case, ProcedureRequest
from portal.mailbox.models import Message
from portal.notifications import tokens
from portal.tenancy.kinds import KEY_PATTERN
from portal.tenancy.models import Department, DepartmentKind, Municipality

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Rule:
    """Who may call a view. ``guards`` names the URL arguments whose objects the view loads
    through a ``*_or_404`` function of this module, which answers for each object."""

    who: str
    sign_in: bool = True
    staff: bool = False
    guards: frozenset[str] = frozenset()
    #: Signed out, the URL is as unknown as any other (404, whose page offers to sign in)
    #: rather than a sign-in page that tells the visitor it leads somewhere.
    strangers_not_found: bool = False


ANYONE = Rule("anyone, signed in or not", sign_in=False)
SIGNED_IN = Rule("any signed-in account, for its own things")
FILER = Rule("the case's filer", guards=frozenset({"case_id"}))
#: A request of one of the filer's cases (its correction, its withdrawal, its visit).
REQUEST_FILER = Rule(
    "the case's filer, for one of its requests", guards=frozenset({"case_id", "request_id"})
)
DOCUMENT_READER = Rule(
    "the case's filer, and staff of the departments whose forms ask for the document",
    guards=frozenset({"case_id", "attachment_id"}),
)
STAFF = Rule("any staff member", staff=True)
DEPARTMENT_STAFF = Rule(
    "the department's clerks and the admins above it",
    staff=True,
    guards=frozenset({"department_id"}),
)
DEPARTMENT_SUPERVISOR = Rule(
    "the department's supervisors and the admins above it",
    staff=True,
    guards=frozenset({"department_id"}),
)
REQUEST_WORKER = Rule(
    "the clerks of the request's department and the admins above it",
    staff=True,
    guards=frozenset({"request_id"}),
)
MUNICIPALITY_ADMIN = Rule(
    "the municipality's admins and the portal's", staff=True, guards=frozenset({"municipality_id"})
)
MUNICIPALITY_DEPARTMENT_ADMIN = Rule(
    "the admins of the department's municipality and the portal's",
    staff=True,
    guards=frozenset({"municipality_id", "department_id"}),
)
MUNICIPALITY_ROLE_ADMIN = Rule(
    "the admins of the municipality the staff role is in, and the portal's",
    staff=True,
    guards=frozenset({"municipality_id", "role_id"}),
)
#: What is the whole portal's: department kinds, the portal's own admins.
PORTAL_ADMIN = Rule("the portal's admins", staff=True)
PORTAL_ROLE_ADMIN = Rule(
    "the portal's admins, for a portal admin's role",
    staff=True,
    guards=frozenset({"admin_role_id"}),
)
CERTIFICATE_READER = Rule(
    "the certificate's holder, and the clerks of the department that issued it",
    guards=frozenset({"certificate_id"}),
    strangers_not_found=True,
)
CERTIFICATE_ISSUER = Rule(
    "the clerks of the department that issued the certificate and the admins above it",
    staff=True,
    guards=frozenset({"certificate_id"}),
)
MESSAGE_READER = Rule("the message's addressee", guards=frozenset({"message_id"}))
#: A published status list: anyone, signed in or not (any verifier downloads it, and it says
#: nothing about whom a certificate is for); an unknown list is 404.
STATUS_LIST_READER = Rule(
    "anyone, signed in or not: status lists are public",
    sign_in=False,
    guards=frozenset({"list_id"}),
)
EMAIL_CONFIRMER = Rule("the account a confirmation link was sent for", guards=frozenset({"token"}))
#: Forms and workflows: the portal's admins change the national ones, a municipality's admins
#: read those and change their municipality's own.
DEFINITIONS_ADMIN = Rule("the portal's admins and every municipality's", staff=True)
#: The job queue's failures and figures: the portal's admins operate it.
JOBS_OPERATOR = Rule("the portal's admins, who operate the job queue", staff=True)
#: The job queue's figures for a monitoring system: whoever sends the metrics token as a
#: bearer token; with no token set, nobody.
METRICS_SCRAPER = Rule("a monitoring system holding the metrics token", sign_in=False)
DEFINITION_VERSION_ADMIN = Rule(
    "for a national version the portal's admins (any admin reads it); for a municipality's, "
    "its admins and the portal's",
    staff=True,
    guards=frozenset({"version_id"}),
)


def requires(rule: Rule) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a view's rule and check what can be checked before it runs: strangers are sent
    to sign in, non-staff get the 404 of an unknown URL. The view then loads each guarded
    object with its ``*_or_404`` function."""

    def declare(view: Callable[P, R]) -> Callable[P, R]:
        if not rule.sign_in:
            view.access_rule = rule  # type: ignore[attr-defined]
            return view

        @wraps(view)
        def checked(*args: P.args, **kwargs: P.kwargs) -> Any:
            if not current_user.is_authenticated:
                if rule.strangers_not_found:
                    abort(404)
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if rule.staff and not current_user.is_staff:
                abort(404)
            return view(*args, **kwargs)

        checked.access_rule = rule  # type: ignore[attr-defined]
        return checked

    return declare


def rule_of(view: Callable[..., Any]) -> Rule | None:
    return getattr(view, "access_rule", None)


def init_app(app: Flask) -> None:
    """Flask's own static files are for anyone; any other view without a rule is refused."""
    if "static" in app.view_functions:
        app.view_functions["static"] = requires(ANYONE)(app.view_functions["static"])
    app.before_request(_refuse_undeclared_views)


def _refuse_undeclared_views() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and rule_of(view) is None:
        current_app.logger.error("view %s declares no access rule: refused", request.endpoint)
        abort(404)


def is_portal_admin(account: Account) -> bool:
    return any(role.is_portal_admin for role in account.roles)


def portal_admin_or_404() -> Account:
    """The signed-in portal admin; any other staff member gets the 404 of an unknown URL."""
    account = _account()
    if not is_portal_admin(account):
        abort(404)
    return account


def jobs_operator_or_404() -> Account:
    """A job queue operator: a portal admin (the queue is the whole portal's)."""
    return portal_admin_or_404()


def metrics_scraper_or_404() -> None:
    """A request bearing ``PORTAL_METRICS_TOKEN`` (``Authorization: Bearer ...``); without
    it, or with no token set, the 404 of an unknown URL."""
    expected = current_app.config["METRICS_TOKEN"].encode()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        abort(404)
    if not hmac.compare_digest(given.strip().encode(errors="replace"), expected):
        abort(404)


def may_manage_municipality(account: Account, municipality: Municipality) -> bool:
    """Admins of the municipality and of the whole portal manage it."""
    return any(
        role.role is Role.ADMIN and role.municipality_id in (None, municipality.id)
        for role in account.roles
    )


_WORKERS = (Role.CLERK, Role.SUPERVISOR)


def may_work_in_department(account: Account, department: Department) -> bool:
    """Its clerks and supervisors work its queue; so may the admins above it."""
    return _has_role_in(account, department, _WORKERS)


def may_supervise(account: Account, department: Department) -> bool:
    """Its supervisors assign its requests; so may the admins above it."""
    return _has_role_in(account, department, (Role.SUPERVISOR,))


def _has_role_in(account: Account, department: Department, roles: tuple[Role, ...]) -> bool:
    return any(
        role.role in roles and role.department_id == department.id for role in account.roles
    ) or may_manage_municipality(account, department.municipality)


def may_act(account: Account | None, request: ProcedureRequest, action: Action) -> bool:
    """Who, by name, may take ``action`` on ``request`` (the lifecycle says from which status,
    and by which kind of actor): the portal itself for its own steps; the filer for theirs;
    the department's staff, and for an assignment its supervisors."""
    actors = TRANSITIONS[action].actors
    if account is None:
        return Actor.SYSTEM in actors
    if Actor.RESIDENT in actors and account.id == request.case.account_id:
        return True
    department = request.department
    if Actor.STAFF not in actors or department is None:
        return False
    if action is Action.ASSIGN:
        return may_supervise(account, department)
    return may_work_in_department(account, department)


def _worked_departments(account: Account) -> Select[tuple[int]]:
    """The ids of the departments an account works in, as SQL for queries to compose."""
    if is_portal_admin(account):
        return select(Department.id)
    managed = {r.municipality_id for r in account.roles if r.role is Role.ADMIN}
    worked = {r.department_id for r in account.roles if r.role in _WORKERS}
    return select(Department.id).where(
        Department.municipality_id.in_(managed) | Department.id.in_(worked)
    )


def visible_requests(account: Account) -> Select[tuple[ProcedureRequest]]:
    """The requests an account may open as staff: those of the departments it works in, for
    queue pages to narrow (``.where``, ``.order_by``); never one of an anonymised case, whose
    personal data is gone (its figures stay in the KPIs, which count without this)."""
    case = _anonymised_case()
    anonymised = select(case.id).where(
        case.id == ProcedureRequest.case_id, case.anonymised_at.is_not(None)
    )
    return select(ProcedureRequest).where(
        ProcedureRequest.department_id.in_(_worked_departments(account)), ~anonymised.exists()
    )


@cache
def _anonymised_case() -> type[Case]:
    """Case under a name of its own: a queue joins Case itself, and this one must not
    correlate with it. Made once: aliasing a mapped class on every queue query cost more than
    the query (``benchmarks/load/profiles.py``)."""
    return aliased(Case, name="anonymised_case")  # type: ignore[return-value]


def request_or_404(request_id: int) -> ProcedureRequest:
    """A request, for the staff of its department; its case and the case's account with it,
    in the same query, as every page and action on a request reads them."""
    query = visible_requests(_account()).where(ProcedureRequest.id == request_id)
    query = query.options(joinedload(ProcedureRequest.case).joinedload(Case.account))
    found = db.session.scalar(query)
    if found is None:
        abort(404)
    return found


def workable_departments(account: Account) -> list[Department]:
    """The departments whose queues this account may open, for the staff home page."""
    query = select(Department).where(Department.id.in_(_worked_departments(account)))
    return list(db.session.scalars(query.order_by(Department.id)))


def managed_municipalities(account: Account) -> list[Municipality]:
    if is_portal_admin(account):
        return list(db.session.scalars(select(Municipality).order_by(Municipality.id)))
    managed = {r.municipality_id for r in account.roles if r.role is Role.ADMIN}
    query = select(Municipality).where(Municipality.id.in_(managed)).order_by(Municipality.id)
    return list(db.session.scalars(query))


def department_or_404(department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None or not may_work_in_department(_account(), department):
        abort(404)
    return department


def supervised_department_or_404(department_id: int) -> Department:
    """A department, for those who assign its work; its clerks get the 404 of a stranger."""
    department = db.session.get(Department, department_id)
    if department is None or not may_supervise(_account(), department):
        abort(404)
    return department


def municipality_or_404(municipality_id: int) -> Municipality:
    municipality = db.session.get(Municipality, municipality_id)
    if municipality is None or not may_manage_municipality(_account(), municipality):
        abort(404)
    return municipality


def managed_department_or_404(municipality_id: int, department_id: int) -> Department:
    """A department, for the admins of its municipality (named by the URL too) and the
    portal's; its clerks and supervisors get the 404 of a stranger."""
    municipality = municipality_or_404(municipality_id)
    department = db.session.get(Department, department_id)
    if department is None or department.municipality_id != municipality.id:
        abort(404)
    return department


def managed_role_or_404(municipality_id: int, role_id: int) -> StaffRole:
    """A staff role of a municipality, for its admins and the portal's."""
    municipality = municipality_or_404(municipality_id)
    role = db.session.get(StaffRole, role_id)
    if role is None or role.municipality_id != municipality.id:
        abort(404)
    return role


def portal_role_or_404(admin_role_id: int) -> StaffRole:
    """A portal admin's role, for the portal's admins."""
    portal_admin_or_404()
    role = db.session.get(StaffRole, admin_role_id)
    if role is None or not role.is_portal_admin:
        abort(404)
    return role


def owns_case(account: Account) -> ColumnElement[bool]:
    """The owner rule, as SQL: a resident's case is seen and changed by its filer only."""
    return _filed_by(account.id)


def _filed_by(account_id: Any) -> ColumnElement[bool]:
    """The owner rule itself, for an account id or a bound parameter standing for one. An
    anonymised case (its retention ended) is nobody's any more: its pages are 404s."""
    return and_(Case.account_id == account_id, Case.anonymised_at.is_(None))


def own_cases(account: Account) -> Select[tuple[Case]]:
    """The account's cases, for a query to narrow (``.where``, ``.order_by``, ``.options``)."""
    return select(Case).where(owns_case(account))


def case_or_404(case_id: int, *, for_update: bool = False) -> Case:
    """A resident's case: only its filer sees or changes it.

    ``for_update`` locks the row (on PostgreSQL) so two tabs saving at once do not lose
    each other's answers.
    """
    account = _account()
    loaded = g.get(_LOADED_CASE)
    if loaded is not None and loaded.fits(case_id, for_update):
        case = loaded.case
        if case is None or case.account_id != account.id:
            abort(404)
        return case
    query = _own_case(for_update)
    case = db.session.scalar(query, {"account_id": account.id, "case_id": case_id})
    if case is None:
        abort(404)
    return case


_LOADED_CASE = "_own_case_loaded"


@dataclass(frozen=True)
class CaseAsked:
    """The case a request's path names, and whether the request may change it."""

    case_id: int
    for_update: bool


@dataclass(frozen=True)
class LoadedCase:
    """The case the sign-in session's lookup loaded under the owner rule (None: not the
    account's, or none such)."""

    asked: CaseAsked
    case: Case | None

    def fits(self, case_id: int, for_update: bool) -> bool:
        return self.asked.case_id == case_id and (self.asked.for_update or not for_update)


def case_asked() -> CaseAsked | None:
    """The case named by the path (``<int:case_id>``), for the sign-in session to be read
    with it in one statement; a change (not GET or HEAD) reads it locked, as
    ``case_or_404(for_update=True)`` would."""
    if not has_request_context() or not request.view_args:
        return None
    case_id = request.view_args.get("case_id")
    if not isinstance(case_id, int) or not 0 < case_id <= MAX_ID:
        return None
    return CaseAsked(case_id, request.method not in READING_METHODS)


def own_case_of(account_id: Any) -> ColumnElement[bool]:
    """The owner rule for the asked case, joined to a column holding the account's id."""
    return and_(_filed_by(account_id), Case.id == bindparam("case_id"))


def keep_loaded_case(asked: CaseAsked, case: Case | None) -> None:
    """Remember the case loaded with the session, for :func:`case_or_404` of this request."""
    setattr(g, _LOADED_CASE, LoadedCase(asked, case))


@cache
def _own_case(for_update: bool) -> Select[tuple[Case]]:
    """:func:`own_cases` narrowed to one case, with the account and case as parameters: built
    once, as nearly every journey request asks it, so SQLAlchemy finds it compiled without
    building and hashing it again."""
    query = select(Case).where(_filed_by(bindparam("account_id")), Case.id == bindparam("case_id"))
    if for_update:
        query = query.with_for_update(of=Case, key_share=True)  # FOR NO KEY UPDATE
    return query


def filed_request_or_404(
    case_id: int, request_id: int, *, for_update: bool = False
) -> ProcedureRequest:
    """A request of a filer's own case: the case is loaded as :func:`case_or_404` loads it
    (``for_update`` locks it, so two tabs sending at once take turns), then its request."""
    case = case_or_404(case_id, for_update=for_update)
    found = next((r for r in case.requests if r.id == request_id), None)
    if found is None:
        abort(404)
    return found


def own_access_records(account: Account) -> Select[tuple[AccessRecord]]:
    """Who had the account's information: the resident's own access record, theirs alone."""
    return select(AccessRecord).where(AccessRecord.resident_id == account.id)


def request_reading_document(account: Account, attachment: Attachment) -> ProcedureRequest | None:
    """The filed request through which staff may read the document: one whose form asks for
    it, filed with a department the account works in (the access record names it)."""
    for filed in attachment.case.requests:
        keys = {field.key for field in filed.form_definition.attachments}
        department = filed.department  # None for a procedure filed at a counter
        if (
            attachment.field_key in keys
            and department is not None
            and may_work_in_department(account, department)
        ):
            return filed
    return None


@dataclass(frozen=True)
class Document:
    attachment: Attachment
    #: The request through which staff read it (their access is recorded against it); None
    #: when the filer reads their own.
    read_through: ProcedureRequest | None


def document_or_404(case_id: int, attachment_id: int) -> Document:
    """A case's document, for its filer and the clerks of the departments whose forms ask
    for it."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != case_id:
        abort(404)
    account = _account()
    if db.session.scalar(own_cases(account).where(Case.id == case_id)) is not None:
        return Document(attachment, None)
    read_through = request_reading_document(account, attachment)
    if read_through is None:
        abort(404)
    return Document(attachment, read_through)


def _may_issue(account: Account, certificate: Certificate) -> bool:
    department = certificate.department
    return department is not None and may_work_in_department(account, department)


def certificate_or_404(certificate_id: int) -> Certificate:
    """A certificate, for its holder and the clerks of the issuing department."""
    certificate = db.session.get(Certificate, certificate_id)
    account = _account()
    if certificate is None or (
        certificate.holder_id != account.id and not _may_issue(account, certificate)
    ):
        abort(404)
    return certificate


def issued_certificate_or_404(certificate_id: int) -> Certificate:
    """A certificate, for the clerks of the issuing department only (to retry or revoke it)."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not _may_issue(_account(), certificate):
        abort(404)
    return certificate


def department_kind_or_404(kind_key: str) -> DepartmentKind:
    """A department kind, for the portal's admins (kinds are the whole portal's)."""
    portal_admin_or_404()
    found = db.session.get(DepartmentKind, kind_key) if re.match(KEY_PATTERN, kind_key) else None
    if found is None:
        abort(404)
    return found


def published_status_list_or_404(list_id: int) -> statuslist.Published:
    """A status list as published (anyone reads it); one never made is 404."""
    found = statuslist.published(list_id)
    if found is None:
        abort(404)
    return found


def own_messages(account: Account) -> Select[tuple[Message]]:
    """A resident's mailbox: only the addressee reads a message, staff included."""
    return select(Message).where(Message.account_id == account.id)


def message_or_404(message_id: int) -> Message:
    message = db.session.scalar(own_messages(_account()).where(Message.id == message_id))
    if message is None:
        abort(404)
    return message


def confirmation_or_404(token: str) -> tokens.ConfirmationClaim:
    """A confirmation link's claim, for the account it was sent for only: another account
    (or a forged token) gets the 404 of an unknown link."""
    claim = tokens.read(token)
    if claim is None or claim.account_id != _account().id:
        abort(404)
    return claim


def _account() -> Account:
    """The signed-in account; views reach here behind ``requires``."""
    if not current_user.is_authenticated:
        abort(404)
    return current_user._get_current_object()


def administers_definitions(account: Account) -> bool:
    """A portal admin, or an admin of some municipality."""
    return any(role.role is Role.ADMIN for role in account.roles)


def definitions_admin_or_404() -> Account:
    account = _account()
    if not administers_definitions(account):
        abort(404)
    return account


def may_change_scope(account: Account, municipality: Municipality | None) -> bool:
    """National definitions are the portal admins'; a municipality's are its admins' too."""
    if municipality is None:
        return is_portal_admin(account)
    return may_manage_municipality(account, municipality)


def definition_version_or_404(version_id: int, *, change: bool = False) -> DefinitionVersion:
    """A version, for whoever may read it (any admin, a national one) or, with ``change``,
    change, publish or retire it (its scope's admins)."""
    account = _account()
    version = db.session.get(DefinitionVersion, version_id)
    if version is None or not administers_definitions(account):
        abort(404)
    municipality = (
        db.session.get(Municipality, version.municipality_id) if version.municipality_id else None
    )
    if (change or municipality is not None) and not may_change_scope(account, municipality):
        abort(404)
    return version


def definition_scope_or_404(municipality_id: int | None) -> Municipality | None:
    """The scope a new draft goes to (``None``: national), if this account may change it."""
    municipality = None
    if municipality_id is not None:
        municipality = db.session.get(Municipality, municipality_id)
        if municipality is None:
            abort(404)
    if not may_change_scope(_account(), municipality):
        abort(404)
    return municipality
