"""A department's queue: counts per state, rows by adjusted deadline, filters, search, pages
by key; claim-next, release back to the queue, eight clerks at once; a supervisor's bulk
assignment with its reason."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.casework.lifecycle import Action, RequestStatus
from portal.casework.models import RequestEvent
from portal.extensions import db
from portal.japan.clock import today_in_japan
from portal.journey.models import ProcedureRequest
from portal.tenancy.models import Department
from tests.factories import (
    AccountFactory,
    CaseFactory,
    MunicipalityFactory,
    RequestFactory,
    RoleFactory,
)
from tests.support.clerks import Clerk
from tests.support.html import forms, text
from tests.support.people import csrf_token, login_as
from tests.support.sql import counted_statements

#: The residents' account ids and provider subjects start here: never on a clerk's page.
RESIDENT_IDS = 700_000


@dataclass
class Queue:
    """A department with its clerks; requests are added by each test."""

    department_id: int
    municipality_id: int
    clerk_id: int
    other_clerk_id: int
    supervisor_id: int
    outsider_id: int


@pytest.fixture
def queue(app: Flask) -> Queue:
    with app.app_context():
        municipality = MunicipalityFactory()
        residents = municipality.department_of_kind("resident_registration")
        childcare = municipality.department_of_kind("childcare")
        made = Queue(
            department_id=residents.id,
            municipality_id=municipality.id,
            clerk_id=RoleFactory(department=residents, account__display_name="職員 一").account.id,
            other_clerk_id=RoleFactory(
                department=residents, account__display_name="職員 二"
            ).account.id,
            supervisor_id=RoleFactory(department=residents, supervisor=True).account.id,
            outsider_id=RoleFactory(department=childcare).account.id,
        )
        db.session.commit()
    return made


def _file(
    app: Flask,
    queue: Queue,
    *,
    due_in: int | None = 14,
    form_id: str = "mic.tenshutsu",
    status: RequestStatus = RequestStatus.SUBMITTED,
    assignee_id: int | None = None,
    paused_days: int = 0,
    count: int = 1,
) -> list[int]:
    """``count`` requests filed with the queue's department; their ids."""
    with app.app_context():
        municipality = db.session.get(Department, queue.department_id).municipality
        ids = []
        for _ in range(count):
            request = RequestFactory(
                case=CaseFactory(filed=True, forms=[]),
                form_id=form_id,
                municipality=municipality,
                deadline=None if due_in is None else today_in_japan() + timedelta(days=due_in),
                status=status,
                assignee_id=assignee_id,
                paused_days=paused_days,
            )
            ids.append(request.id)
        db.session.commit()
    return ids


def _client(app: Flask, account_id: int) -> FlaskClient:
    client = app.test_client()
    login_as(client, account_id)
    client.set_cookie("madoguchi_lang", "en")
    return client


def _url(queue: Queue, **args: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in args.items())
    return f"/staff/departments/{queue.department_id}" + (f"?{query}" if query else "")


def _rows(html: str) -> list[int]:
    """The request ids of the queue's rows, in the order shown."""
    return [
        int(i) for i in re.findall(r'<th scope="row"[^>]*><a href="/staff/requests/(\d+)"', html)
    ]


def _next_link(html: str) -> str | None:
    found = re.search(r'class="pagination__next" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _receipt(app: Flask, request_id: int) -> str:
    with app.app_context():
        return db.session.get(ProcedureRequest, request_id).case.receipt_number


# What the page shows ---------------------------------------------------------------------


def test_counts_per_state_and_the_rows_of_the_open_ones(app, queue) -> None:
    new = _file(app, queue, count=3)
    held = _file(app, queue, status=RequestStatus.IN_REVIEW, assignee_id=queue.clerk_id)
    waiting = _file(app, queue, status=RequestStatus.WAITING_FOR_RESIDENT)
    approved = _file(app, queue, status=RequestStatus.APPROVED, count=2)
    page = _client(app, queue.clerk_id).get(_url(queue))
    assert page.status_code == 200
    shown = text(page.text)
    assert "3 New" in shown  # the staff labels
    counts = dict(
        (label.strip(), int(number))
        for number, label in re.findall(r'queue-counts__number">(\d+)</span>([^<]+)</a>', page.text)
    )
    assert counts["New"] == 3 and counts["Being reviewed"] == 1
    assert counts["Waiting for the resident"] == 1 and counts["Approved"] == 2
    assert sorted(_rows(page.text)) == sorted(new + held + waiting)  # open ones only
    assert not set(approved) & set(_rows(page.text))


def test_each_count_stops_at_the_cap_so_a_long_history_costs_nothing_more(app, queue) -> None:
    from portal.accounts.models import Account
    from portal.casework import queue as queues

    _file(app, queue, count=3)
    _file(app, queue, status=RequestStatus.APPROVED, count=1)
    with app.app_context():
        department = db.session.get(Department, queue.department_id)
        clerk = db.session.get(Account, queue.clerk_id)
        capped = queues.state_counts(department, clerk, cap=2)
        exact = queues.state_counts(department, clerk)
        outsider = queues.state_counts(department, db.session.get(Account, queue.outsider_id))
    assert capped[RequestStatus.SUBMITTED] == 2 and capped[RequestStatus.APPROVED] == 1
    assert exact[RequestStatus.SUBMITTED] == 3 and exact[RequestStatus.IN_REVIEW] == 0
    assert set(exact) == set(queues.QUEUE_STATES)
    assert not any(outsider.values())  # counted through what the viewer may see


def test_a_row_shows_receipt_form_code_state_holder_and_due_date_never_who_the_resident_is(
    app, queue
) -> None:
    with app.app_context():
        resident = AccountFactory(id=RESIDENT_IDS + 1, subject="oidc-subject-q7w2")
        department = db.session.get(Department, queue.department_id)
        filed = RequestFactory(
            case=CaseFactory(filed=True, forms=[], account=resident),
            municipality=department.municipality,
            status=RequestStatus.IN_REVIEW,
            assignee_id=queue.clerk_id,
            deadline=today_in_japan() + timedelta(days=20),
        )
        receipt, code, request_id = filed.case.receipt_number, filed.resident_code, filed.id
        due = filed.deadline
        db.session.commit()
    page = _client(app, queue.clerk_id).get(_url(queue)).text
    shown = text(page)
    assert receipt in shown and code in shown and "Moving-out notification" in shown
    assert "Being reviewed" in shown and "職員 一" in shown
    assert f'<time datetime="{due.isoformat()}">' in page
    assert f'href="/staff/requests/{request_id}"' in page
    assert str(RESIDENT_IDS + 1) not in page and "oidc-subject-q7w2" not in page


def test_rows_come_by_adjusted_deadline_and_a_paused_correction_moves_the_date(app, queue) -> None:
    (later,) = _file(app, queue, due_in=5)
    (paused,) = _file(app, queue, due_in=3, paused_days=4)  # due in 7 days once adjusted
    (soonest,) = _file(app, queue, due_in=1)
    (undated,) = _file(app, queue, due_in=None)
    (overdue,) = _file(app, queue, due_in=-2)
    page = _client(app, queue.clerk_id).get(_url(queue)).text
    assert _rows(page) == [overdue, soonest, later, paused, undated]
    adjusted = today_in_japan() + timedelta(days=7)
    assert f'<time datetime="{adjusted.isoformat()}">' in page
    rows = re.findall(r"<tr class=\"queue-row[^\"]*\">.*?</tr>", page, flags=re.S)
    flagged = {i: text(row) for i, row in zip(_rows(page), rows, strict=True)}
    # At a glance, in words and not only in colour.
    assert "Overdue" in flagged[overdue]
    assert "Due within 3 days" in flagged[soonest]
    assert "Overdue" not in flagged[later] and "Due within" not in flagged[later]
    assert "No deadline" in flagged[undated]


def test_each_filter_narrows_the_queue(app, queue, definitions) -> None:
    (moving_out,) = _file(app, queue, due_in=10)
    (moving_in,) = _file(app, queue, form_id="mic.tennyu", due_in=11)
    (late,) = _file(app, queue, due_in=-1)
    (mine,) = _file(app, queue, status=RequestStatus.IN_REVIEW, assignee_id=queue.clerk_id)
    (theirs,) = _file(app, queue, status=RequestStatus.IN_REVIEW, assignee_id=queue.other_clerk_id)
    (paused_late,) = _file(
        app, queue, due_in=-5, status=RequestStatus.WAITING_FOR_RESIDENT, form_id="mic.tenkyo"
    )
    with app.app_context():
        db.session.get(ProcedureRequest, paused_late).paused_since = today_in_japan()
        db.session.commit()
    client = _client(app, queue.clerk_id)
    page = client.get(_url(queue, form="mic.tennyu")).text
    assert _rows(page) == [moving_in]
    assert 'value="mic.tennyu" selected' in page  # the filter shows what it narrowed to
    assert set(_rows(client.get(_url(queue, state="in_review")).text)) == {mine, theirs}
    assert _rows(client.get(_url(queue, overdue="1")).text) == [late]  # a paused clock is not
    assert _rows(client.get(_url(queue, mine="1")).text) == [mine]
    both = client.get(_url(queue, mine="1", state="submitted")).text
    assert _rows(both) == [] and "No request matches these filters." in text(both)
    assert moving_out in _rows(client.get(_url(queue)).text)


def test_search_by_receipt_number_as_typed(app, queue) -> None:
    wanted, other = _file(app, queue, count=2)
    receipt = _receipt(app, wanted)
    client = _client(app, queue.clerk_id)
    for typed in (receipt, receipt.lower(), receipt.replace("-", ""), f" {receipt} "):
        assert _rows(client.get(_url(queue, receipt=typed)).text) == [wanted], typed
    full_width = receipt.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    assert _rows(client.get(_url(queue, receipt=full_width)).text) == [wanted]
    assert other not in _rows(client.get(_url(queue, receipt=receipt)).text)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ({"state": "nonsense"}, "The state filter was ignored"),
        ({"form": "mhlw.sousaihi"}, "The form filter was ignored"),  # another department's
        ({"receipt": "x" * 300}, "is not a receipt number"),
        ({"after": "9" * 5000}, "showing the first page"),
        ({"after": "2026-13-45.1"}, "showing the first page"),
        ({"after": "2026-12-01.99999999999"}, "showing the first page"),
    ],
)
def test_a_bad_filter_is_ignored_and_said_so(app, queue, definitions, args, said) -> None:
    ids = _file(app, queue, count=2)
    page = _client(app, queue.clerk_id).get(_url(queue, **args))
    assert page.status_code == 200
    assert said in text(page.text)
    assert sorted(_rows(page.text)) == sorted(ids)


def test_pages_of_fifty_by_key_with_no_row_repeated_or_lost(app, queue) -> None:
    ids = []
    for due_in in (9, 3, 3, 7):  # many rows share a deadline: the id breaks the tie
        ids += _file(app, queue, due_in=due_in, count=30)
    client = _client(app, queue.clerk_id)
    seen: list[int] = []
    link: str | None = _url(queue)
    pages = 0
    while link:
        page = client.get(link)
        assert page.status_code == 200
        rows = _rows(page.text)
        assert len(rows) == (50 if pages < 2 else 20)
        seen += rows
        link = _next_link(page.text)
        assert link is None or "after=" in link
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120 and set(seen) == set(ids)
    with app.app_context():
        expected = [
            r.id
            for r in sorted(
                (db.session.get(ProcedureRequest, i) for i in ids),
                key=lambda r: (r.deadline, r.id),
            )
        ]
    assert seen == expected


def test_a_next_page_keeps_the_filters(app, queue) -> None:
    _file(app, queue, status=RequestStatus.IN_REVIEW, assignee_id=queue.clerk_id, count=55)
    _file(app, queue, count=5)
    client = _client(app, queue.clerk_id)
    first = client.get(_url(queue, mine="1")).text
    link = _next_link(first)
    assert link is not None and "mine=1" in link
    assert len(_rows(client.get(link).text)) == 5


def test_the_query_count_is_the_same_for_ten_rows_and_fifty(app, queue) -> None:
    client = _client(app, queue.clerk_id)
    _file(app, queue, count=10, status=RequestStatus.IN_REVIEW, assignee_id=queue.other_clerk_id)
    client.get(_url(queue))  # the forms' definitions are parsed once per process
    with counted_statements(app) as ten:
        assert len(_rows(client.get(_url(queue)).text)) == 10
    _file(app, queue, count=45)
    with counted_statements(app) as fifty:
        assert len(_rows(client.get(_url(queue)).text)) == 50
    assert len(ten) == len(fifty), (ten, fifty)


def test_a_clerk_of_another_department_gets_404(app, queue) -> None:
    _file(app, queue)
    outsider = _client(app, queue.outsider_id)
    assert outsider.get(_url(queue)).status_code == 404
    token = csrf_token(outsider.get("/").text)
    path = _url(queue)
    assert outsider.post(f"{path}/claim-next", data={"csrf_token": token}).status_code == 404
    assert outsider.post(f"{path}/assign", data={"csrf_token": token}).status_code == 404


def test_the_staff_home_shows_each_departments_open_count(app, queue) -> None:
    _file(app, queue, count=2)
    _file(app, queue, status=RequestStatus.IN_REVIEW, assignee_id=queue.clerk_id)
    _file(app, queue, status=RequestStatus.REJECTED)
    home = text(_client(app, queue.clerk_id).get("/staff/").text)
    assert "3 open requests" in home


# Claim next, release ---------------------------------------------------------------------


def _claim_next(client: FlaskClient, queue: Queue):  # noqa: ANN202 - TestResponse
    token = csrf_token(client.get(_url(queue)).text)
    return client.post(_url(queue) + "/claim-next", data={"csrf_token": token})


def test_claim_next_takes_the_oldest_due_that_nobody_holds(app, queue) -> None:
    _file(app, queue, due_in=-3, status=RequestStatus.IN_REVIEW, assignee_id=queue.other_clerk_id)
    _file(app, queue, due_in=-2, status=RequestStatus.WAITING_FOR_RESIDENT)
    (later,) = _file(app, queue, due_in=8)
    (oldest,) = _file(app, queue, due_in=2)
    with app.app_context():  # the clerk's own request is never theirs to claim
        clerk = db.session.get(ProcedureRequest, later).case.account
        own = RequestFactory(
            case=CaseFactory(
                filed=True, forms=[], account=db.session.get(type(clerk), queue.clerk_id)
            ),
            municipality=db.session.get(Department, queue.department_id).municipality,
            deadline=today_in_japan() - timedelta(days=9),
        ).id
        db.session.commit()
    client = _client(app, queue.clerk_id)
    answer = _claim_next(client, queue)
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/staff/requests/{oldest}"
    assert f"You now hold {_receipt(app, oldest)}." in text(
        client.get(answer.headers["Location"]).text
    )
    with app.app_context():
        claimed = db.session.get(ProcedureRequest, oldest)
        assert (claimed.status, claimed.assignee_id) == (RequestStatus.IN_REVIEW, queue.clerk_id)
        assert [e.action for e in claimed.events] == [Action.CLAIM]
        assert db.session.get(ProcedureRequest, own).assignee_id is None
    assert _claim_next(client, queue).headers["Location"] == f"/staff/requests/{later}"
    empty = _claim_next(client, queue)
    assert empty.headers["Location"] == _url(queue)
    assert "No new request is waiting to be claimed." in text(client.get(_url(queue)).text)


def test_release_returns_the_request_to_the_queue(app, queue) -> None:
    (filed,) = _file(app, queue)
    clerk = Clerk(app, queue.clerk_id)
    clerk.client.set_cookie("madoguchi_lang", "en")
    assert _claim_next(clerk.client, queue).status_code == 303
    clerk.open(filed)
    assert clerk.act(filed, "release").status_code == 303
    page = clerk.client.get(_url(queue, state="submitted")).text
    assert _rows(page) == [filed]
    assert "Nobody" in text(page)
    other = _client(app, queue.other_clerk_id)
    assert _claim_next(other, queue).headers["Location"] == f"/staff/requests/{filed}"
    with app.app_context():
        events = db.session.get(ProcedureRequest, filed).events
        assert [e.action for e in events] == [Action.CLAIM, Action.RELEASE, Action.CLAIM]
        assert events[-1].actor_id == queue.other_clerk_id


@pytest.mark.postgresql
def test_eight_clerks_claiming_next_at_once_never_hold_the_same_request(app, queue) -> None:
    requests = set(_file(app, queue, count=24))
    with app.app_context():
        department = db.session.get(Department, queue.department_id)
        clerk_ids = [RoleFactory(department=department).account.id for _ in range(8)]
        db.session.commit()
    clients = [_client(app, clerk_id) for clerk_id in clerk_ids]
    tokens = [csrf_token(c.get(_url(queue)).text) for c in clients]
    start = threading.Barrier(len(clients))
    claimed: dict[int, list[int]] = {clerk_id: [] for clerk_id in clerk_ids}
    failures: list[str] = []

    def work(index: int) -> None:
        client, token = clients[index], tokens[index]
        start.wait()
        while True:
            answer = client.post(_url(queue) + "/claim-next", data={"csrf_token": token})
            location = answer.headers.get("Location", "")
            if answer.status_code != 303:
                failures.append(f"{answer.status_code}")
                return
            if location == _url(queue):
                return
            claimed[clerk_ids[index]].append(int(location.rsplit("/", 1)[1]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    every = [request_id for ids in claimed.values() for request_id in ids]
    assert len(every) == len(set(every)) and set(every) == requests
    assert sum(1 for ids in claimed.values() if ids) > 1  # they did work side by side
    with app.app_context():
        events = db.session.scalars(
            select(RequestEvent).where(RequestEvent.action == Action.CLAIM)
        ).all()
        assert len(events) == len(requests)
        for clerk_id, ids in claimed.items():
            for request_id in ids:
                assert db.session.get(ProcedureRequest, request_id).assignee_id == clerk_id


# A supervisor's assignment ---------------------------------------------------------------


def _assign_form(html: str):  # noqa: ANN202 - tests.support.html.Form
    return next(f for f in forms(html) if f.action.split("?")[0].endswith("/assign"))


def _ticks(html: str) -> dict[int, bool]:
    """The table's boxes that belong to the assignment form (by their ``form`` attribute),
    and whether each is ticked."""
    boxes = re.findall(r'<input type="checkbox" form="assign-form"[^>]*>', html)
    return {int(re.search(r'value="(\d+)"', box).group(1)): " checked" in box for box in boxes}


def test_a_supervisor_assigns_in_bulk_with_a_reason_and_a_refusal_names_its_receipt(
    app, queue
) -> None:
    first, second = _file(app, queue, count=2)
    (held,) = _file(app, queue, status=RequestStatus.IN_REVIEW, assignee_id=queue.other_clerk_id)
    (untouched,) = _file(app, queue)
    supervisor = _client(app, queue.supervisor_id)
    page = supervisor.get(_url(queue)).text
    form = _assign_form(page)
    assert set(_ticks(page)) == {first, second, held, untouched}
    with app.app_context():  # decided after the page was drawn: it can be assigned no more
        db.session.get(ProcedureRequest, second).status = RequestStatus.APPROVED
        db.session.commit()
    answer = supervisor.post(
        form.action,
        data={
            "csrf_token": form.fields["csrf_token"],
            "assign-requests": [str(first), str(second), str(held)],
            "assign-assignee": str(queue.clerk_id),
            "assign-reason": "Covering for a colleague on leave",
            "assign-submit": "y",
        },
    )
    assert answer.status_code == 303
    shown = text(supervisor.get(answer.headers["Location"]).text)
    assert "Assigned 2 requests to 職員 一." in shown
    assert f"{_receipt(app, second)} was not assigned" in shown
    with app.app_context():
        for request_id in (first, held):
            assigned = db.session.get(ProcedureRequest, request_id)
            assert assigned.assignee_id == queue.clerk_id
            assert assigned.status is RequestStatus.IN_REVIEW
            (event,) = [e for e in assigned.events if e.action is Action.ASSIGN]
            assert event.reason == "Covering for a colleague on leave"
            assert event.actor_id == queue.supervisor_id
        assert db.session.get(ProcedureRequest, held).events[-1].changes == {
            "assignee": [queue.other_clerk_id, queue.clerk_id]
        }
        assert db.session.get(ProcedureRequest, second).events == []
        assert db.session.get(ProcedureRequest, untouched).assignee_id is None


def test_a_bulk_assignment_missing_its_reason_keeps_what_was_ticked(app, queue) -> None:
    first, second = _file(app, queue, count=2)
    supervisor = _client(app, queue.supervisor_id)
    form = _assign_form(supervisor.get(_url(queue)).text)
    answer = supervisor.post(
        form.action,
        data={
            "csrf_token": form.fields["csrf_token"],
            "assign-requests": [str(second)],
            "assign-assignee": str(queue.clerk_id),
            "assign-reason": "  ",
            "assign-submit": "y",
        },
    )
    assert answer.status_code == 422
    assert "Give a reason." in text(answer.text)
    assert 'class="error-summary"' in answer.text
    assert _ticks(answer.text) == {first: False, second: True}  # still ticked
    nothing = supervisor.post(
        form.action, data={"csrf_token": form.fields["csrf_token"], "assign-reason": "x"}
    )
    assert nothing.status_code == 422
    shown = text(nothing.text)
    assert "Tick at least one request to assign." in shown and "Choose a clerk." in shown
    with app.app_context():
        assert db.session.get(ProcedureRequest, first).assignee_id is None


def test_a_clerk_is_offered_no_assignment_and_posting_one_gets_404(app, queue) -> None:
    (filed,) = _file(app, queue)
    clerk = _client(app, queue.clerk_id)
    page = clerk.get(_url(queue)).text
    assert not [f for f in forms(page) if f.action.split("?")[0].endswith("/assign")]
    answer = clerk.post(
        _url(queue) + "/assign",
        data={
            "csrf_token": csrf_token(page),
            "assign-requests": [str(filed)],
            "assign-assignee": str(queue.clerk_id),
            "assign-reason": "Mine now",
        },
    )
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.get(ProcedureRequest, filed).assignee_id is None


def test_a_supervisor_assigns_one_request_from_its_page_and_a_clerk_is_not_offered_it(
    app, queue
) -> None:
    (filed,) = _file(app, queue)
    clerk = Clerk(app, queue.clerk_id)
    clerk.open(filed)
    assert clerk.offers("claim") and not clerk.offers("assign")
    supervisor = Clerk(app, queue.supervisor_id)
    supervisor.client.set_cookie("madoguchi_lang", "en")
    supervisor.open(filed)
    assert supervisor.offers("assign")
    refused = supervisor.act(filed, "assign", assignee=str(queue.other_clerk_id), reason="")
    assert refused.status_code == 422 and "Give a reason." in text(refused.text)
    assert 'name="assign-assignee"' in refused.text
    assert f'<option selected value="{queue.other_clerk_id}">' in refused.text  # kept
    answer = supervisor.act(
        filed, "assign", assignee=str(queue.other_clerk_id), reason="Speaks Portuguese"
    )
    assert answer.status_code == 303
    with app.app_context():
        assigned = db.session.get(ProcedureRequest, filed)
        assert assigned.assignee_id == queue.other_clerk_id
        assert assigned.status is RequestStatus.IN_REVIEW
        assert [(e.action, e.reason) for e in assigned.events] == [
            (Action.ASSIGN, "Speaks Portuguese")
        ]
    assert "Speaks Portuguese" in text(supervisor.open(filed).text)
