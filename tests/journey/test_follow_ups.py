"""A procedure that can only follow a later event: the funeral allowance, after the funeral.

A death is filed the day after: the cremation is still to come, the funeral too. The journey
lists the allowance under "after the funeral" and files it not; once the funeral has taken
place the resident files it from the receipt or the dashboard, as a case that follows the
first one, asked only what the first did not ask.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.journey.models import Case, CaseStatus, ProcedureRequest
from tests.support.html import forms
from tests.support.journey import Resident, days_ago
from tests.support.people import Person, csrf_token

CHIYODA_ADDRESS = {"postal_code": "100-0013", "street": "1-3-1", "building": ""}
DEATH_YESTERDAY = {
    "filing.relationship": "child",
    "deceased.address": CHIYODA_ADDRESS,
    "death.date": days_ago(1),
    "death.learned_date": days_ago(1),
    "deceased.birthdate": "1940-05-01",
    "deceased.was_householder": False,
}
SOUSAIHI = "mhlw.sousaihi"


def filed(app, case_id: int) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(ProcedureRequest.form_id).filter_by(case_id=case_id)))


def follow_up_action(html: str) -> str:
    """Where the page's "File it now" button for the funeral allowance posts."""
    actions = [f.action for f in forms(html) if f.action.endswith(f"/follow-ups/{SOUSAIHI}")]
    assert len(actions) == 1, actions
    return actions[0]


def file_death(person: Resident) -> str:
    """The death, filed the day after; returns the receipt page."""
    walk = person.walk(person.start("death"), DEATH_YESTERDAY)
    assert walk.asked_twice() == []
    # Nothing about the funeral is asked before it has taken place.
    assert not [key for key in walk.asked if key.startswith(SOUSAIHI)]
    sent = person.submit(walk.last)
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/receipt")
    return person.client.get(sent.headers["Location"]).text


def test_the_funeral_allowance_is_listed_for_after_the_funeral_not_filed(app, resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("death"), DEATH_YESTERDAY, until="/procedures")
    procedures = walk.last.text
    after = procedures.index("葬儀の後に")
    assert procedures.index("葬祭費支給申請") > after > procedures.index("死亡届")
    assert "葬儀を行った日の翌日から2年以内" in procedures  # its deadline
    assert "マイページから申請してください" in procedures

    receipt = file_death(person)
    parent_id = person.case_id
    assert filed(app, parent_id) == {
        "moj.shibou",
        "mhlw.maikasou_kyoka",
        "mhlw.koki_soshitsu",
        "mhlw.kaigo_soshitsu",
    }
    assert "あとで申請するもの" in receipt and "葬儀の後に" in receipt
    follow_up_action(receipt)
    # And on the dashboard, with the case it follows.
    follow_up_action(person.client.get("/").text)


def test_the_funeral_allowance_is_filed_later_by_a_case_that_follows(app, resident) -> None:
    person = resident("yamada-taro")
    receipt = file_death(person)
    parent_id = person.case_id

    started = person.client.post(
        follow_up_action(receipt), data={"csrf_token": csrf_token(receipt)}
    )
    assert started.status_code == 302
    follow_up_id = int(re.search(r"/cases/(\d+)$", started.headers["Location"]).group(1))
    assert follow_up_id != parent_id
    with app.app_context():
        follow_up = db.session.get(Case, follow_up_id)
        assert follow_up.follows_case_id == parent_id
        assert follow_up.follow_up_form == SOUSAIHI
        assert follow_up.snapshot_digest == db.session.get(Case, parent_id).snapshot_digest

    # A new death case is a new case, not this follow-up's draft.
    other = person.start("death")
    assert not other.startswith(f"/cases/{follow_up_id}/")
    person.case_id = follow_up_id
    first = person.client.get(started.headers["Location"])
    assert first.status_code == 302
    walk = person.walk(first.headers["Location"], {"mhlw.sousaihi.funeral_date": days_ago(0)})
    # Only the allowance's own questions and its documents: no guidance, nothing asked twice.
    assert "mhlw.sousaihi.funeral_date" in walk.asked
    assert "mhlw.sousaihi.funeral_proof" in walk.asked
    assert not {"filing.relationship", "death.date", "deceased.birthdate"} & set(walk.asked)
    assert not [url for url, _keys in walk.pages if "/q-" in url or url.endswith("/procedures")]
    assert "死亡 — 葬祭費支給申請" in walk.last.text
    sent = person.submit(walk.last)
    assert sent.status_code == 302
    assert filed(app, follow_up_id) == {SOUSAIHI}
    assert SOUSAIHI not in filed(app, parent_id)

    # Pressing the button again (another tab, a reload) starts nothing more.
    again = person.client.post(follow_up_action(receipt), data={"csrf_token": csrf_token(receipt)})
    assert again.headers["Location"].endswith(f"/cases/{follow_up_id}")
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Case).filter_by(follows_case_id=parent_id)
        )
        assert count == 1
        assert db.session.get(Case, follow_up_id).status is CaseStatus.SUBMITTED
    dashboard = person.client.get("/").text
    assert "送信済み：受付番号" in dashboard


def test_only_a_follow_up_of_ones_own_submitted_case_can_be_started(app, resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("death"), DEATH_YESTERDAY)
    draft_id = person.case_id
    token = csrf_token(walk.last.text)
    # Not before the case it follows is sent.
    assert (
        person.client.post(
            f"/cases/{draft_id}/follow-ups/{SOUSAIHI}", data={"csrf_token": token}
        ).status_code
        == 404
    )
    person.submit(walk.last)
    # Not a form that is no follow-up, nor one the workflow does not have.
    for form_id in ("moj.shibou", "mic.tennyu"):
        response = person.client.post(
            f"/cases/{draft_id}/follow-ups/{form_id}", data={"csrf_token": token}
        )
        assert response.status_code == 404, form_id
    # Nor someone else's.
    other = app.test_client()
    assert Person(other, "sato-hanako").sign_in().response.status_code == 302
    other_token = csrf_token(other.get("/").text)
    response = other.post(
        f"/cases/{draft_id}/follow-ups/{SOUSAIHI}", data={"csrf_token": other_token}
    )
    assert response.status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Case).filter_by(follows_case_id=draft_id)
            )
            == 0
        )
