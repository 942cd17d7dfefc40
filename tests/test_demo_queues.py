"""``demo queues``: the demo departments' queues filled through the real filing and
casework services, in many states, valid, once, and with the audit chain intact."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal import access, demo_queues
from portal import demo as demo_data
from portal.accounts.models import Account, Role
from portal.audit.chain import verify
from portal.casework.lifecycle import RequestStatus
from portal.extensions import db
from portal.japan.clock import as_of, today_in_japan
from portal.journey import flow
from portal.journey.fields.groups import GroupField
from portal.journey.fields.page import PageForm, page_form
from portal.journey.models import Case, ProcedureRequest
from portal.tenancy.models import Municipality
from tests.support.people import login_as

#: Enough for every state in both municipalities, few enough for a fast test.
CASES = 40


@pytest.fixture
def filled(app, demo, definitions) -> int:
    with app.app_context():
        filed = demo_data.fill_queues(CASES)
        db.session.commit()
    return filed


def _statuses(code: str) -> Counter[RequestStatus]:
    query = (
        select(ProcedureRequest.status, func.count())
        .join(Municipality, ProcedureRequest.municipality_id == Municipality.id)
        .where(Municipality.code == code)
        .group_by(ProcedureRequest.status)
    )
    return Counter(dict(db.session.execute(query).all()))


def _staff(role: Role) -> list[Account]:
    return [
        account
        for account in db.session.scalars(select(Account))
        if any(r.role is role for r in account.roles)
    ]


def test_the_queues_hold_requests_in_many_states_over_six_weeks_for_the_demo_staff(
    app, client, filled
) -> None:
    assert filled > CASES
    with app.app_context():
        for code in ("131016", "141003"):
            statuses = _statuses(code)
            assert len(statuses) >= 5, (code, statuses)
            assert statuses[RequestStatus.SUBMITTED] > 0, (code, statuses)
        seen = set(db.session.scalars(select(ProcedureRequest.status).distinct()))
        assert {
            RequestStatus.SUBMITTED,
            RequestStatus.IN_REVIEW,
            RequestStatus.WAITING_FOR_RESIDENT,
            RequestStatus.AWAITING_SECOND_APPROVAL,
            RequestStatus.APPROVED,
            RequestStatus.REJECTED,
        } <= seen, seen
        requests = list(db.session.scalars(select(ProcedureRequest)))
        # Corrections answered (the clock paused), second approvals by a supervisor.
        assert any(r.paused_days > 0 for r in requests)
        assert any(r.first_approver_id and r.status is RequestStatus.APPROVED for r in requests)
        # Moves between the two municipalities, handed over and received there.
        assert any(r.answers.get("hand_off") for r in requests)

        submitted = [c.submitted_at for c in db.session.scalars(select(Case))]
        assert len({moment.date() for moment in submitted}) > 15
        assert (max(submitted) - min(submitted)).days >= 28
        today = today_in_japan()
        open_deadlines = [r.deadline for r in requests if r.status.value == "submitted"]
        assert any(d is not None and d < today for d in open_deadlines)  # overdue
        assert any(d is not None and d >= today for d in open_deadlines)  # still to come

        residents = list(
            db.session.scalars(select(Account).where(Account.issuer == demo_queues.RESIDENT_ISSUER))
        )
        assert 20 <= len(residents) <= 40
        assert all(r.identity.get("name#ja-Kana-JP") for r in residents)

        # The demo staff see them, in their own municipality's departments.
        clerks, supervisors = _staff(Role.CLERK), _staff(Role.SUPERVISOR)
        pages: dict[int, tuple[list[int | None], dict[RequestStatus, int]]] = {}
        assert len(clerks) == 2 and len(supervisors) == 2
        for account in clerks + supervisors:
            visible = list(db.session.scalars(access.visible_requests(account)))
            assert any(r.status is RequestStatus.SUBMITTED for r in visible)
            assert {r.municipality_id for r in visible} == {account.roles[0].municipality_id}
            one_of_each = {r.status: r.id for r in visible}
            pages[account.id] = [role.department_id for role in account.roles], one_of_each
    # Their department pages and each state's request page (its history) open.
    for account_id, (departments, requests) in pages.items():
        login_as(client, account_id)
        for department_id in departments:
            assert client.get(f"/staff/departments/{department_id}").status_code == 200
        for status, request_id in requests.items():
            page = client.get(f"/staff/requests/{request_id}")
            assert page.status_code == 200, (status, request_id)


def test_every_filed_answer_set_passes_its_forms_validation(app, filled) -> None:
    """Each page of each case, posted as its form shows the saved answers, is valid on the
    day the case was sent (a date's limits count from that day)."""
    with app.app_context():
        cases = list(db.session.scalars(select(Case)))
        assert cases
        for case in cases:
            with as_of(case.submitted_at):
                _check_pages(case)


def _check_pages(case: Case) -> None:
    files = {a.field_key: a.filename for a in case.attachments}
    locked = set(case.locked_keys)
    for page in flow.pages(case.definitions, case.answers, case.declined_forms):
        if page.kind not in (flow.QUESTION, flow.SECTION):
            continue
        no_csrf = {"csrf": False}
        shown = page_form(
            page.fields, case.answers, formdata=None, locked=locked, files=files, meta=no_csrf
        )
        posted = page_form(
            page.fields,
            case.answers,
            formdata=_as_posted(shown),
            locked=locked,
            files=files,
            meta=no_csrf,
        )
        assert posted.validate(), (case.workflow_key, page.slug, posted.errors)
        assert {k: case.answers.get(k) for k in posted.answers()} == posted.answers()


def _as_posted(form: PageForm) -> MultiDict[str, str]:
    """What a browser posts back for a page form showing stored answers."""
    pairs: list[tuple[str, str]] = []
    for field in form:
        pairs.extend(_pairs(field))
    return MultiDict(pairs)


def _pairs(field: Any) -> list[tuple[str, str]]:
    if isinstance(field, GroupField):
        return [pair for entry in field.entries for sub in entry.form for pair in _pairs(sub)]
    raw = getattr(field, "raw", None)
    if isinstance(raw, dict):
        return [(f"{field.name}-{part}", value or "") for part, value in raw.items()]
    if isinstance(field.data, list):
        return [(field.name, str(v)) for v in field.data]
    value = field._value() if hasattr(field, "_value") else field.data
    return [(field.name, "" if value is None else str(value))]


def test_running_it_again_adds_nothing_and_the_audit_chains_verify(app, filled, runner) -> None:
    def counts() -> list[int]:
        with app.app_context():
            return [
                db.session.scalar(select(func.count()).select_from(t))
                for t in db.metadata.sorted_tables
            ]

    before = counts()
    again = runner.invoke(args=["demo", "queues", "--cases", str(CASES)])
    assert again.exit_code == 0, again.output
    assert "nothing added" in again.output
    assert counts() == before
    with app.app_context():
        result = verify()
        assert result.fault is None
        assert result.entries > CASES
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
