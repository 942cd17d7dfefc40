"""Two tabs at once, on real PostgreSQL: one submission, and no answer lost."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.journey.models import Case, CaseStatus, ProcedureRequest
from tests.support.html import post_form
from tests.support.journey import days_ago

pytestmark = pytest.mark.postgresql

WITHIN = {
    "filing.proxy": False,
    "move.scope": "within",
    "move.new_address": {"postal_code": "100-0013", "street": "1-3-1", "building": ""},
    "move.date": days_ago(1),
    "move.members": [],
    "move.circumstances": [],
}


def tab_of(app, client):  # noqa: ANN001, ANN201 - a second test client in the same session
    tab = app.test_client()
    tab.set_cookie("madoguchi_session", client.get_cookie("madoguchi_session").value)
    return tab


def at_once(*actions: Callable[[], object]) -> list[object]:
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[], object]) -> None:
        barrier.wait(timeout=10)
        results[index] = action()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_tabs_submitting_at_once_file_once(app, resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), WITHIN)
    form = post_form(walk.last.text)
    data = {"csrf_token": form.fields["csrf_token"], "declaration": "y"}
    tabs = [tab_of(app, person.client) for _ in range(3)]
    responses = at_once(*(lambda tab=tab: tab.post(form.action, data=data) for tab in tabs))
    assert [r.status_code for r in responses] == [302, 302, 302]
    with app.app_context():
        case = db.session.get(Case, person.case_id)
        assert case.status is CaseStatus.SUBMITTED
        filed = db.session.scalars(select(ProcedureRequest).filter_by(case_id=case.id)).all()
        assert [r.form_id for r in filed] == ["mic.tenkyo"]


def test_two_tabs_starting_a_follow_up_at_once_start_one(app, resident) -> None:
    from tests.journey.test_follow_ups import file_death, follow_up_action
    from tests.support.people import csrf_token

    person = resident("yamada-taro")
    receipt = file_death(person)
    action = follow_up_action(receipt)
    data = {"csrf_token": csrf_token(receipt)}
    tabs = [tab_of(app, person.client) for _ in range(3)]
    responses = at_once(*(lambda tab=tab: tab.post(action, data=data) for tab in tabs))
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert len({r.headers["Location"] for r in responses}) == 1
    with app.app_context():
        follow_ups = db.session.scalars(
            select(Case).filter_by(follows_case_id=person.case_id)
        ).all()
        assert [c.follow_up_form for c in follow_ups] == ["mhlw.sousaihi"]
