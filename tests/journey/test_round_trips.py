"""A journey page reads the sign-in session, its account and the case in one statement.

Nearly every request of the journey names its case in the path; asking for the session and
the case together saves a round trip to the database on each (on PostgreSQL about a tenth of
a page's cost). The case still comes under the owner rule, and a case of someone else's is
still a 404 for a resident who is signed in.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.journey.models import Case
from tests.factories import AccountFactory
from tests.support.people import csrf_token, login_as
from tests.support.sql import counted_statements


def _first_page(resident) -> tuple[object, str]:  # noqa: ANN001
    person = resident("yamada-taro")
    url = person.start("moving")
    page = person.client.get(url)
    assert page.status_code == 200
    return person, url


def test_a_page_is_one_statement(app, resident) -> None:
    person, url = _first_page(resident)
    with counted_statements(app) as sent:
        page = person.client.get(url)
    assert page.status_code == 200
    assert len(sent) == 1, sent
    assert "sign_in_sessions" in sent[0] and "cases" in sent[0]


def test_an_answer_is_one_locked_read_and_one_write(app, resident) -> None:
    person, url = _first_page(resident)
    form = person.client.get(url).text
    name = re.search(r'name="([^"]*filing[^"]*proxy[^"]*)"', form).group(1)
    data = {"csrf_token": csrf_token(form), name: "false"}
    with counted_statements(app) as sent:
        answered = person.client.post(url, data=data)
    assert answered.status_code == 302, answered.text
    reads = [s for s in sent if s.lstrip().upper().startswith("SELECT")]
    writes = [s for s in sent if s.lstrip().upper().startswith("UPDATE")]
    assert len(reads) == 1 and "sign_in_sessions" in reads[0], sent
    with app.app_context():
        locking = db.engine.dialect.name == "postgresql"  # SQLite has no row locks
    if locking:
        assert "FOR NO KEY UPDATE OF cases" in reads[0]
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("UPDATE CASES"), sent


def test_someone_elses_case_is_404_to_a_signed_in_resident(app, resident, client) -> None:
    person, url = _first_page(resident)
    with app.app_context():
        owner_id = db.session.scalar(select(Case.account_id).where(Case.id == person.case_id))
        other = AccountFactory(display_name="佐藤 花子")
        db.session.commit()
        other_id = other.id
    assert owner_id != other_id
    stranger = app.test_client()
    login_as(stranger, other_id)
    token = csrf_token(stranger.get("/").text)
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, data={"csrf_token": token}).status_code == 404
    # still signed in: the lookup that found no case found the session
    assert "佐藤 花子" in stranger.get("/").text
    with app.app_context():
        assert db.session.get(Case, person.case_id).answers.get("filing.proxy") is None


def test_a_case_id_out_of_range_is_404(app, resident) -> None:
    person, _url = _first_page(resident)
    assert person.client.get(f"/cases/{2**31}").status_code == 404
    assert person.client.get("/cases/0").status_code == 404
