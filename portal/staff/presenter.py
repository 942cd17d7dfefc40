"""A filed request as its department's clerk sees it: what this form needs and nothing more.

The request's own frozen answers (never the case's), section by section, read as the
resident's check page reads them; this form's documents; the case's other requests by
status only; the history; and which actions the page offers. The resident appears under
their department code, never their account or their provider's subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

from babel.lists import format_list
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import Account
from portal.bookings import services as bookings
from portal.bookings.models import Booking
from portal.casework import lifecycle
from portal.casework import services as casework
from portal.casework.lifecycle import Action, Actor, RequestStatus
from portal.casework.models import Correction, RequestEvent
from portal.db import db
from portal.definitions.model import Field, Item
from portal.i18n import current_language
from portal.japan.clock import today_in_japan
from portal.journey import flow
from portal.journey.fields.summary import Summary, summarize
from portal.journey.models import Attachment, ProcedureRequest
from portal.tenancy.models import Municipality

#: The actions this page carries out (handing over is a job's). Assigning is offered here
#: for one request, and on the queue for several.
PAGE_ACTIONS = (
    Action.CLAIM,
    Action.RELEASE,
    Action.ASSIGN,
    Action.APPROVE,
    Action.REJECT,
    Action.ASK_CORRECTION,
    Action.NOTE,
    Action.WITHDRAW,
)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: Summary
    #: ``(old, new)`` as read on one line, when the resident's last correction changed it.
    changed: tuple[str, str] | None = None


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class Document:
    label: str
    key: str
    uploaded: list[Attachment]


@dataclass(frozen=True)
class HistoryEntry:
    event: RequestEvent
    who: str
    #: What the event changed, a line each ("住所: old → new").
    changes: list[str]


class RequestPage:
    """One request, for one staff account."""

    def __init__(self, request: ProcedureRequest, viewer: Account) -> None:
        self.request = request
        self.viewer = viewer
        self.snapshot = request.case.definitions
        self.form = request.form_definition
        self._fields: dict[str, Field] = {f.key: f for f in self.form.fields()}

    # What was filed ----------------------------------------------------------------------

    @cached_property
    def last_changes(self) -> Mapping[str, list[Any]]:
        """What the resident changed in their latest answered correction."""
        answered = [c for c in self.request.corrections if not c.is_open]
        return answered[-1].changes if answered else {}

    @cached_property
    def sections(self) -> list[Section]:
        """The form's sections with the answers filed for them: a field shows when it was
        answered, or when its condition holds (an unanswered optional field reads "—")."""
        answers = self.request.answers
        sections = []
        for section in self.form.sections:
            rows = [
                self._row(field.key, field.item)
                for field in section.fields
                if field.key in answers or flow.visible(field, answers)
            ]
            if rows:
                sections.append(Section(str(section.title), rows))
        extra = [key for key in answers if key not in self._fields]
        if extra:
            rows = [
                self._row(key, self.snapshot.vocabulary[key])
                for key in extra
                if key in self.snapshot.vocabulary
            ]
            if rows:  # (a hand-off's data is no answer: no empty heading for it)
                sections.append(Section(_("Filed with this request"), rows))
        return sections

    def _row(self, key: str, item: Item) -> Row:
        changed = None
        if key in self.last_changes:
            old, new = self.last_changes[key]
            changed = (_inline(summarize(item, old)), _inline(summarize(item, new)))
        return Row(key, _label(item), summarize(item, self.request.answers.get(key)), changed)

    @cached_property
    def documents(self) -> list[Document]:
        """This form's documents only, each with the uploads the case holds for it."""
        uploads = self.request.case.attachments
        return [
            Document(
                _label(field.item), field.key, [a for a in uploads if a.field_key == field.key]
            )
            for field in self.form.attachments
        ]

    @property
    def answer_choices(self) -> list[tuple[str, str]]:
        """What a correction may name: the answers shown, then the documents."""
        return [
            (row.key, row.label)
            for s in self.sections
            for row in s.rows
            if row.key in self._section_keys
        ]

    @property
    def document_choices(self) -> list[tuple[str, str]]:
        return [(document.key, document.label) for document in self.documents]

    @cached_property
    def _section_keys(self) -> set[str]:
        return {field.key for section in self.form.sections for field in section.fields}

    @cached_property
    def others(self) -> list[dict[str, Any]]:
        """The case's other requests: which form, where, how far; never their answers."""
        return [
            {
                "title": str(self.snapshot.form(other.form_id).title),
                "office": other.counter,
                "status": other.status.staff_label,
            }
            for other in self.request.case.requests
            if other.id != self.request.id
        ]

    # Where it stands ---------------------------------------------------------------------

    @cached_property
    def needs_visit(self) -> bool:
        """The form is completed at the counter: the clerk expects the resident there."""
        return bookings.needs_visit(self.request)

    @cached_property
    def visit(self) -> Booking | None:
        """The counter visit the resident booked for this request, if any."""
        return bookings.active_booking(self.request) if self.needs_visit else None

    @property
    def due_date(self) -> date | None:
        return self.request.due_date(today_in_japan())

    @property
    def open_correction(self) -> Correction | None:
        return self.request.open_correction

    def joined_labels(self, keys: list[str]) -> str:
        """The answers' labels as a list in the reader's language (A、B、C; A, B, and C)."""
        labels = [_label(item) if (item := self._item(key)) else key for key in keys]
        return format_list(labels, locale=current_language()) if labels else "—"

    def name_of(self, account: Account | None) -> str:
        """A member of staff as a colleague reads them: by name, else by department."""
        if account is not None and account.display_name:
            return account.display_name
        department = self.request.department
        return _("Clerk of %(department)s", department=department.name if department else "")

    def _item(self, key: str) -> Item | None:
        """The answer's item: the form's own field first, else the vocabulary's."""
        field = self._fields.get(key)
        return field.item if field is not None else self.snapshot.vocabulary.get(key)

    @cached_property
    def first_approval(self) -> RequestEvent | None:
        """The first of two approvals, while the second is awaited."""
        if self.request.status is not RequestStatus.AWAITING_SECOND_APPROVAL:
            return None
        return next(
            (
                e
                for e in reversed(self.request.events)
                if e.to_status is RequestStatus.AWAITING_SECOND_APPROVAL
            ),
            None,
        )

    @property
    def viewer_gave_first_approval(self) -> bool:
        return self.first_approval is not None and self.request.first_approver_id == self.viewer.id

    @property
    def own_request(self) -> bool:
        return self.request.case.account_id == self.viewer.id

    # What the viewer may do ----------------------------------------------------------------

    @cached_property
    def offered(self) -> list[Action]:
        """The lifecycle's actions from this status that the casework service would let this
        account take now (it decides again when one is posted)."""
        if self.own_request:
            return []  # not even the resident's own steps, on the staff page
        return [
            action
            for action in lifecycle.actions_from(self.request.status)
            if action in PAGE_ACTIONS
            and casework.refusal(self.request, action, self.viewer) is None
        ]

    # History -------------------------------------------------------------------------------

    def history(self, events: list[RequestEvent] | None = None) -> list[HistoryEntry]:
        events = self.request.events if events is None else events
        names = self._names(events)
        return [HistoryEntry(e, self._who(e), self._changes(e, names)) for e in events]

    def _who(self, event: RequestEvent) -> str:
        if event.actor_kind is Actor.RESIDENT:
            return _("The resident")
        if event.actor_kind is Actor.SYSTEM:
            return _("The portal")
        return self.name_of(event.actor)

    def _names(self, events: list[RequestEvent]) -> dict[int, str]:
        """Staff named in assignments, in one query."""
        ids = {i for e in events for i in (e.changes or {}).get("assignee", []) if i}
        if not ids:
            return {}
        found = db.session.execute(
            select(Account.id, Account.display_name).where(Account.id.in_(ids))
        )
        return {account_id: name for account_id, name in found}

    def _changes(self, event: RequestEvent, names: Mapping[int, str]) -> list[str]:
        changes = event.changes or {}
        if event.action is Action.ASSIGN:
            new = changes.get("assignee", [None, None])[1]
            return [_("Assigned to %(name)s", name=names.get(new, "—"))]
        if event.action is Action.ASK_CORRECTION:
            keys = [*changes.get("fields", []), *changes.get("documents", [])]
            return [_("Asked: %(items)s", items=self.joined_labels(keys))]
        if event.action is Action.RECEIVE_HAND_OFF:
            return [self._hand_off_line(changes)]
        if event.action is Action.RESUBMIT:
            return [self.change_line(key, old, new) for key, (old, new) in changes.items()]
        return []

    def _hand_off_line(self, changes: Mapping[str, Any]) -> str:
        """Where the hand-off came from, by the sending municipality's name, not by the key
        its data is kept under (a request receives one hand-off)."""
        handed = self.request.answers.get("hand_off")
        code = handed.get("from_municipality") if isinstance(handed, dict) else None
        sender = db.session.scalar(select(Municipality).filter_by(code=code)) if code else None
        if sender is None:
            return _("Received: %(items)s", items=self.joined_labels(changes.get("received", [])))
        return _("The moving-out data from %(municipality)s.", municipality=sender.name)

    def change_line(self, key: str, old: Any, new: Any) -> str:
        item = self._item(key)
        if item is None:
            return f"{key}: {old} → {new}"
        return _(
            "%(label)s: %(old)s → %(new)s",
            label=_label(item),
            old=_inline(summarize(item, old)),
            new=_inline(summarize(item, new)),
        )


def _label(item: Item) -> str:
    return str(item.summary_label or item.label)


def _inline(value: Summary) -> str:
    text = " ".join(value) if isinstance(value, list) else value
    return text or "—"
