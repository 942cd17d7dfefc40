"""What a resident may do with a case, and what the portal does with bad input, uploads and
deadlines, through the test client."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.journey.models import Attachment, Case
from tests.support.documents import PNG
from tests.support.html import post_form
from tests.support.journey import (
    MOVING_AS_PROXY,
    PDF,
    WITHIN,
    Resident,
    name_of,
)
from tests.support.people import Person


def test_bad_input_is_explained_beside_the_field_and_kept(resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), WITHIN, until="/q-move.new_address")
    page_url = person.start("moving")  # the draft resumes where it was left
    assert page_url.endswith("/q-move.new_address")
    form = post_form(person.client.get(page_url).text)
    name = name_of("move.new_address")
    response = person.client.post(
        page_url,
        data={
            "csrf_token": form.fields["csrf_token"],
            f"{name}-postal_code": "12",
            f"{name}-street": "1-3-1",
        },
    )
    html = person.shown_again(page_url, response).text
    assert 'class="error-summary"' in html
    assert "郵便番号を7桁の数字で入力してください" in html
    assert html.count("郵便番号を7桁の数字で入力してください") == 2  # summary and beside it
    assert 'value="12"' in html and 'value="1-3-1"' in html
    assert [url.rsplit("/", 1)[1] for url, _keys in walk.pages][-1] == "q-move.scope"


@pytest.mark.parametrize(
    ("year", "month", "day", "message"),
    [
        ("2026", "13", "1", "正しい日付を入力してください"),
        ("26", "1", "1", "年は西暦の4桁で入力してください"),
        ("", "", "", "を入力してください"),
        ("２０２６", "２", "３０", "正しい日付を入力してください"),
    ],
)
def test_bad_dates_never_reach_a_500(resident, year, month, day, message) -> None:
    person = resident("yamada-taro")
    person.walk(person.start("moving"), WITHIN, until="/q-move.date")
    page_url = person.start("moving")
    form = post_form(person.client.get(page_url).text)
    name = name_of("move.date")
    response = person.client.post(
        page_url,
        data={
            "csrf_token": form.fields["csrf_token"],
            f"{name}-year": year,
            f"{name}-month": month,
            f"{name}-day": day,
        },
    )
    assert message in person.shown_again(page_url, response).text


def test_the_deadline_moves_off_golden_week(resident) -> None:
    person = resident("yamada-taro")
    answers = {**WITHIN, "move.date": "2026-04-19"}
    walk = person.walk(person.start("moving"), answers, until="/procedures")
    page = walk.last.text
    # 14 days after 19 April is Sunday 3 May (Constitution Day); 4-6 May are holidays too.
    assert "2026年5月7日（令和8年5月7日）まで" in page
    assert "東京都千代田区 区民課" in page


def test_only_the_filer_sees_a_case(app, resident, client) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), WITHIN)
    case_id = person.case_id
    paths = [
        f"/cases/{case_id}",
        f"/cases/{case_id}/q-move.scope",
        f"/cases/{case_id}/check",
        f"/cases/{case_id}/receipt",
    ]
    other = app.test_client()
    assert Person(other, "sato-hanako").sign_in().response.status_code == 302
    for path in paths:
        assert other.get(path).status_code == 404, path
    token = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/").text).group(1)
    assert (
        other.post(
            f"/cases/{case_id}/submit", data={"csrf_token": token, "declaration": "y"}
        ).status_code
        == 404
    )
    assert other.post(f"/cases/{case_id}/discard", data={"csrf_token": token}).status_code == 404
    assert walk.last.status_code == 200
    with app.app_context():
        assert db.session.get(Case, case_id).is_draft


def test_pages_cannot_be_skipped(resident) -> None:
    person = resident("yamada-taro")
    first = person.start("moving")
    ahead = first.replace("/q-filing.proxy", "/check")
    response = person.client.get(ahead)
    assert response.status_code == 302 and response.headers["Location"] == first


def test_certified_answers_cannot_be_changed_by_posting_them(app, resident) -> None:
    person = resident("yamada-taro")
    page_url = person.start("moving")
    form = post_form(person.client.get(page_url).text)
    person.client.post(
        page_url,
        data={
            "csrf_token": form.fields["csrf_token"],
            "filing__proxy": "no",
            "applicant__family_name": "偽名",
            "applicant__birthdate-year": "2000",
        },
    )
    with app.app_context():
        answers = db.session.get(Case, person.case_id).answers
        assert answers["applicant.family_name"] == "山田"
        assert answers["applicant.birthdate"] == "1985-04-12"


def _proxy_case(person: Resident) -> str:
    """A moving case filed as a proxy, walked to the documents page of the 転出届."""
    walk = person.walk(person.start("moving"), MOVING_AS_PROXY, until="/d-mic.tenshutsu")
    return walk.pages[-1][0] if walk.pages else ""


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"just text pretending", "letter.pdf", "ファイルはPDF、JPEG、PNGのいずれかにしてください"),
        (b"", "empty.pdf", "選択したファイルは空です"),
        (b"%PDF-" + b"0" * 2048, "huge.pdf", "ファイルは1 KB未満にしてください"),
    ],
)
def test_uploads_are_checked_by_content_and_size(
    app, resident, monkeypatch, content, filename, message
) -> None:
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    person = resident("yamada-taro")
    _proxy_case(person)
    page_url = person.start("moving")
    assert page_url.endswith("/d-mic.tenshutsu")
    form = post_form(person.client.get(page_url).text)
    response = person.client.post(
        page_url,
        data={
            "csrf_token": form.fields["csrf_token"],
            name_of("filing.delegation_letter"): (io.BytesIO(content), filename),
        },
        content_type="multipart/form-data",
    )
    assert message in person.shown_again(page_url, response).text


def test_documents_are_shown_to_the_filer_and_the_departments_that_need_them(app, resident) -> None:
    person = resident("yamada-taro")
    _proxy_case(person)
    walk = person.walk(person.start("moving"), {"move.circumstances": []})
    assert person.submit(walk.last).status_code == 302
    with app.app_context():
        attachment = db.session.scalars(
            select(Attachment).filter_by(
                case_id=person.case_id, field_key="filing.delegation_letter"
            )
        ).one()
        attachment_id = attachment.id
    path = f"/cases/{person.case_id}/attachments/{attachment_id}"
    own = person.client.get(path)
    assert own.status_code == 200 and own.data == PDF
    assert own.headers["Content-Disposition"].startswith("attachment")
    assert own.headers["Cache-Control"] == "no-store"  # not send_file's "no-cache"
    own.close()

    def as_persona(persona: str) -> int:
        client = app.test_client()
        assert Person(client, persona).sign_in().response.status_code == 302
        response = client.get(path)
        response.close()
        return response.status_code

    assert as_persona("tanaka-jiro") == 200  # Chiyoda residents division: its 転出届 needs it
    assert as_persona("takahashi-misaki") == 200  # Yokohama: its 転入届 needs it too
    assert as_persona("sato-hanako") == 404  # another resident
    assert as_persona("ito-ken") == 200  # Chiyoda's admin


def test_a_draft_can_be_discarded(app, resident) -> None:
    person = resident("yamada-taro")
    person.start("moving")
    home = person.client.get("/")
    assert "途中の手続きを再開する" in home.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    response = person.client.post(f"/cases/{person.case_id}/discard", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Case, person.case_id) is None


def test_the_dashboard_lists_sent_applications_with_their_deadlines(resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), {**WITHIN, "move.date": "2026-04-19"})
    person.submit(walk.last)
    home = person.client.get("/").text
    assert "あなたの申請" in home and "転居届" in home
    assert "送信済み（担当課の確認待ち）" in home
    assert "2026年5月7日" in home


def test_the_journey_speaks_english_too(resident) -> None:
    person = resident("yamada-taro")
    person.client.set_cookie("madoguchi_lang", "en")
    page = person.client.get(person.start("moving")).text
    assert "Are you filing on behalf of someone else" in page
    assert '<html lang="en">' in page


def test_a_replaced_document_leaves_no_file_behind(app, resident) -> None:
    from portal.journey.services import upload_dir

    person = resident("yamada-taro")
    _proxy_case(person)
    page_url = person.start("moving")
    stored = []
    for content in (PDF, PNG):
        form = post_form(person.client.get(page_url).text)
        response = person.client.post(
            page_url,
            data={
                "csrf_token": form.fields["csrf_token"],
                name_of("filing.delegation_letter"): (io.BytesIO(content), "letter"),
            },
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        page_url = f"/cases/{person.case_id}/d-mic.tenshutsu"
        with app.app_context():
            kept = db.session.scalars(select(Attachment).filter_by(case_id=person.case_id)).all()
            stored.append([a.storage_name for a in kept])
    first, second = stored
    assert len(first) == len(second) == 1 and first != second
    with app.app_context():
        assert not (upload_dir() / first[0]).exists()
        assert (upload_dir() / second[0]).exists()


@pytest.mark.parametrize(
    "stored_name",
    ["bell\x07.pdf", "line\r\nbreak.pdf", "\u202efdp.exe"],  # PostgreSQL keeps no NUL
)
def test_a_name_stored_before_names_were_cleaned_still_downloads(app, client, stored_name) -> None:
    from tests.factories import AttachmentFactory, CaseFactory
    from tests.support.people import login_as

    with app.app_context():
        case = CaseFactory()
        attachment = AttachmentFactory(case=case, filename=stored_name)
        db.session.commit()
        ids = case.id, attachment.id, case.account_id
    login_as(client, ids[2])
    with client.get(f"/cases/{ids[0]}/attachments/{ids[1]}") as response:
        assert response.status_code == 200 and response.data.startswith(b"%PDF-")
        disposition = response.headers["Content-Disposition"]
        assert not any(char in disposition for char in "\x07\r\n\u202e")
        assert response.headers["Cache-Control"] == "no-store"
