"""A department's queue, as queries: counts per state, one page of rows, the next to claim.

Rows come in the order of the adjusted statutory deadline (``REQUEST_DUE_ON``: the deadline
moved by the days corrections were out; no deadline last), then id, read a page at a time
from the last row's key (keyset, never OFFSET: page 1,000 costs what page 1 does). A page is
a fixed number of statements whatever its length: the counts, the rows with all they show,
and nothing per row. The views call these, and so does ``benchmarks/queue.py``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    bindparam,
    func,
    literal,
    select,
    tuple_,
    union_all,
)

from portal import access
from portal.accounts.models import Account, Role, StaffRole
from portal.casework.lifecycle import OPEN, RequestStatus
from portal.db import MAX_ID, NO_DATE, db
from portal.definitions.model import Text
from portal.definitions.models import DefinitionSnapshot
from portal.definitions.services import current_catalog, parsed_snapshot
from portal.journey.models import REQUEST_DUE_ON, Case, ProcedureRequest, adjusted_due_date
from portal.tenancy.models import Department

#: Rows on one page of a queue.
PAGE_SIZE = 50
#: Each state's count on the queue page stops here ("1000+"): reading them costs the same
#: whatever the department decided over the years.
COUNT_CAP = 1000
#: A request due within this many days is flagged as due soon.
DUE_SOON_DAYS = 3
#: The states a queue may be narrowed to, in the order their counts are shown.
QUEUE_STATES = (
    RequestStatus.SUBMITTED,
    RequestStatus.IN_REVIEW,
    RequestStatus.WAITING_FOR_RESIDENT,
    RequestStatus.AWAITING_SECOND_APPROVAL,
    RequestStatus.APPROVED,
    RequestStatus.REJECTED,
    RequestStatus.WITHDRAWN,
    RequestStatus.HANDED_OVER,
)
#: Receipt numbers as the portal writes them (261127-K7Q2-9M4X), hyphens optional.
_RECEIPT = re.compile(r"(\d{6})-?([0-9A-Z]{4})-?([0-9A-Z]{4})")
#: The open states, written into the SQL rather than bound, so that PostgreSQL matches the
#: partial index ``ix_requests_open_queue`` on every execution, prepared or not.
_OPEN_STATES = bindparam("open_states", sorted(OPEN), expanding=True, literal_execute=True)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after the row with this adjusted deadline and id."""

    due_on: date
    request_id: int

    def encode(self) -> str:
        return f"{self.due_on.isoformat()}.{self.request_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor a link carries, or None for anything else (a hand-typed URL)."""
        match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.(\d{1,10})", text)
        if match is None:
            return None
        try:
            due_on = date.fromisoformat(match.group(1))
        except ValueError:
            return None
        request_id = int(match.group(2))
        return cls(due_on, request_id) if request_id <= MAX_ID else None


@dataclass(frozen=True)
class Filters:
    """What a clerk narrowed the queue to: every one optional."""

    form_id: str | None = None
    state: RequestStatus | None = None
    overdue: bool = False
    mine: bool = False
    receipt_number: str | None = None
    after: Cursor | None = None

    @property
    def narrowed(self) -> bool:
        return bool(self.form_id or self.state or self.overdue or self.mine or self.receipt_number)

    def as_args(self, **changes: str | None) -> dict[str, str]:
        """The GET parameters that show these filters again (for the next page's link)."""
        args = {
            "form": self.form_id,
            "state": self.state.value if self.state else None,
            "overdue": "1" if self.overdue else None,
            "mine": "1" if self.mine else None,
            "receipt": self.receipt_number,
        }
        args.update(changes)
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class ReadFilters:
    filters: Filters
    #: What was ignored, and why, in the clerk's language.
    ignored: list[str] = field(default_factory=list)


def read_filters(args: Mapping[str, str], form_choices: Iterable[str]) -> ReadFilters:
    """The filters in a queue URL. A value that names nothing (a form not of this
    department, a state that is not one, a cursor not made by a link) is ignored, and the
    page says so: never an error page for a hand-edited URL."""
    ignored: list[str] = []
    form_id = args.get("form", "").strip() or None
    if form_id is not None and form_id not in set(form_choices):
        ignored.append(_("The form filter was ignored: this department handles no such form."))
        form_id = None
    state = None
    if raw_state := args.get("state", "").strip():
        state = next((s for s in QUEUE_STATES if s.value == raw_state), None)
        if state is None:
            ignored.append(_("The state filter was ignored: there is no such state."))
    receipt = None
    if raw_receipt := args.get("receipt", "").strip():
        receipt = normalized_receipt(raw_receipt)
        if receipt is None:
            ignored.append(
                _(
                    "“%(typed)s” is not a receipt number, such as 261127-K7Q2-9M4X.",
                    typed=raw_receipt[:40],
                )
            )
    after = None
    if raw_after := args.get("after", ""):
        after = Cursor.decode(raw_after)
        if after is None:
            ignored.append(_("The page asked for was not found: showing the first page."))
    filters = Filters(
        form_id=form_id,
        state=state,
        overdue=args.get("overdue") == "1",
        mine=args.get("mine") == "1",
        receipt_number=receipt,
        after=after,
    )
    return ReadFilters(filters, ignored)


def normalized_receipt(typed: str) -> str | None:
    """A receipt number as typed (full-width, lower case, spaces or no hyphens) in the form
    the portal writes it, or None when it cannot be one."""
    compact = "".join(unicodedata.normalize("NFKC", typed).upper().split())
    match = _RECEIPT.fullmatch(compact)
    return "-".join(match.groups()) if match else None


@dataclass(frozen=True)
class Row:
    request_id: int
    receipt_number: str
    form_title: str
    resident_code: str
    status: RequestStatus
    holder: str | None
    #: The adjusted deadline as of today (a running pause included); None: no deadline.
    due: date | None
    #: The clock is paused: a correction is out with the resident.
    paused: bool
    overdue: bool
    due_soon: bool
    #: The key of this row, for the page after it.
    cursor: Cursor


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    #: Where the next page starts, or None on the last page.
    next_cursor: Cursor | None


def state_counts(
    department: Department, viewer: Account, cap: int = COUNT_CAP
) -> dict[RequestStatus, int]:
    """How many of the department's requests are in each state, each counted up to ``cap``
    (the page shows "1000+"): one statement whose cost does not grow with the department's
    history, where a GROUP BY read every request it ever decided (60,000 index entries,
    10-20 ms, on every page of ``benchmarks/queue.py``'s seed)."""
    visible = (
        access.visible_requests(viewer)
        .with_only_columns(ProcedureRequest.id)
        .where(ProcedureRequest.department_id == department.id)
    )  # built once: constructing it costs more than running it
    per_state = [
        select(
            literal(state.value).label("status"),
            select(func.count())
            .select_from(visible.where(ProcedureRequest.status == state).limit(cap).subquery())
            .scalar_subquery()
            .label("count"),
        )
        for state in QUEUE_STATES
    ]
    found = db.session.execute(union_all(*per_state))
    return {RequestStatus(status): count for status, count in found}


def open_counts(departments: Iterable[Department]) -> dict[int, int]:
    """The open requests of each department, for the staff home page: one GROUP BY."""
    ids = [department.id for department in departments]
    if not ids:
        return {}
    query = (
        select(ProcedureRequest.department_id, func.count())
        .where(ProcedureRequest.department_id.in_(ids), ProcedureRequest.status.in_(_OPEN_STATES))
        .group_by(ProcedureRequest.department_id)
    )
    counts = dict.fromkeys(ids, 0)
    counts.update({department_id: count for department_id, count in db.session.execute(query)})
    return counts


def page(
    department: Department,
    viewer: Account,
    filters: Filters,
    today: date,
    *,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the queue, in deadline order, from ``filters.after``: one statement."""
    due_on = REQUEST_DUE_ON.label("due_on")
    query = (
        access.visible_requests(viewer)
        .with_only_columns(
            ProcedureRequest.id,
            ProcedureRequest.form_id,
            ProcedureRequest.status,
            ProcedureRequest.resident_code,
            ProcedureRequest.deadline,
            ProcedureRequest.paused_days,
            ProcedureRequest.paused_since,
            Case.receipt_number,
            Case.snapshot_digest,
            ProcedureRequest.assignee_id,
            Account.display_name,
            due_on,
        )
        .select_from(ProcedureRequest)
        .join(Case, Case.id == ProcedureRequest.case_id)
        .outerjoin(Account, Account.id == ProcedureRequest.assignee_id)
        .where(
            ProcedureRequest.department_id == _written("queue_department", department.id),
            *_narrowing(filters, viewer, today),
        )
        .order_by(REQUEST_DUE_ON, ProcedureRequest.id)
        .limit(size + 1)
    )
    if filters.after is not None:
        after = filters.after
        query = query.where(
            tuple_(REQUEST_DUE_ON, ProcedureRequest.id) > tuple_(after.due_on, after.request_id)
        )
    found = db.session.execute(query).all()
    rows = [_row(found_row, today) for found_row in found[:size]]
    return Page(rows, rows[-1].cursor if len(found) > size else None)


def _written(name: str, value: object) -> BindParameter[Any]:
    """A value written into the page's SQL rather than bound. psycopg prepares a statement
    after its fifth run, and PostgreSQL then plans it once for any department and any day:
    it guesses one row for a department with 60,000 requests and sorts all 46,000 overdue
    ones (0.5-1.3 s a page instead of 3-8 ms in ``benchmarks/queue.py``). Written in, each
    department and day gets the plan its own numbers call for."""
    return bindparam(name, value, literal_execute=True)


def _narrowing(filters: Filters, viewer: Account, today: date) -> list[ColumnElement[bool]]:
    if filters.state is not None:
        conditions = [ProcedureRequest.status == filters.state]
    else:
        conditions = [ProcedureRequest.status.in_(_OPEN_STATES)]
    if filters.form_id is not None:
        conditions.append(ProcedureRequest.form_id == filters.form_id)
    if filters.overdue:
        # A paused clock is never overdue: the deadline moves on with every day of the pause.
        conditions += [
            _written("queue_today", today) > REQUEST_DUE_ON,
            ProcedureRequest.status.in_(_OPEN_STATES),
            ProcedureRequest.paused_since.is_(None),
        ]
    if filters.mine:
        conditions.append(ProcedureRequest.assignee_id == viewer.id)
    if filters.receipt_number is not None:
        conditions.append(Case.receipt_number == filters.receipt_number)
    return conditions


def _row(found: object, today: date) -> Row:
    (request_id, form_id, status, code, deadline, paused_days, paused_since, receipt, digest,
     holder_id, holder, due_on) = found  # fmt: skip
    due = adjusted_due_date(deadline, paused_days, paused_since, today)
    status = RequestStatus(status)
    open_clock = status in OPEN and paused_since is None and due is not None
    return Row(
        request_id=request_id,
        receipt_number=receipt or "",
        form_title=_form_title(digest, form_id),
        resident_code=code,
        status=status,
        holder=(holder or _("(not signed in yet)")) if holder_id is not None else None,
        due=due,
        paused=paused_since is not None,
        overdue=open_clock and due < today,
        due_soon=open_clock and today <= due <= today + timedelta(days=DUE_SOON_DAYS),
        cursor=Cursor(due_on or NO_DATE, request_id),
    )


def _form_title(digest: str, form_id: str) -> str:
    """The form's title in the definitions the request was filed against: parsed once per
    snapshot for the whole process, so no query per row."""
    snapshot = parsed_snapshot(digest, lambda: _snapshot_row(digest))
    form = snapshot.forms.get(form_id)
    return str(form.title) if form is not None else form_id


def _snapshot_row(digest: str) -> DefinitionSnapshot:
    return db.session.scalars(
        select(DefinitionSnapshot).where(DefinitionSnapshot.digest == digest)
    ).one()


def form_choices(department: Department) -> list[tuple[str, str]]:
    """The forms this kind of department handles, by title, for the form filter."""
    forms = current_catalog().forms
    found = [
        (form_id, _title(content.get("title"), form_id))
        for form_id, content in forms.items()
        if content.get("department_kind") == department.kind
    ]
    return sorted(found, key=lambda choice: choice[1])


def _title(title: object, fallback: str) -> str:
    text = Text.of(title) if isinstance(title, Mapping) else None
    return str(text) if text is not None else fallback


def department_clerks(department: Department) -> list[Account]:
    """The accounts a supervisor may assign the department's work to: its clerks and
    supervisors, by name."""
    workers = select(StaffRole.account_id).where(
        StaffRole.department_id == department.id,
        StaffRole.role.in_([Role.CLERK, Role.SUPERVISOR]),
    )
    query = (
        select(Account).where(Account.id.in_(workers)).order_by(Account.display_name, Account.id)
    )
    return list(db.session.scalars(query))


def next_unclaimed(department: Department, clerk: Account) -> Select[tuple[int]]:
    """The oldest-due new request of the department that nobody holds, for ``clerk`` to
    claim: locked, skipping rows another clerk has just locked (PostgreSQL's ``SKIP
    LOCKED``; SQLite serialises writers, so there it is a plain read). A clerk's own
    request is never theirs to claim."""
    return (
        select(ProcedureRequest.id)
        .join(Case, Case.id == ProcedureRequest.case_id)
        .where(
            ProcedureRequest.department_id == department.id,
            ProcedureRequest.status == RequestStatus.SUBMITTED,
            ProcedureRequest.assignee_id.is_(None),
            Case.account_id != clerk.id,
        )
        .order_by(REQUEST_DUE_ON, ProcedureRequest.id)
        .limit(1)
        .with_for_update(of=ProcedureRequest, skip_locked=True)
    )
