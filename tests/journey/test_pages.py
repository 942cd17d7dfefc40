"""How the journey's pages behave in a browser's history and tabs, through the test client:
a page that cannot be saved is shown again by a GET (Post/Redirect/Get), each guidance page
is titled by its question, and deleting a draft is asked first."""

from __future__ import annotations

import re

from portal.extensions import db
from portal.journey.models import Case, CaseStatus
from tests.support.html import forms, post_form
from tests.support.journey import WITHIN, name_of
from tests.support.people import Person, csrf_token

NEW_ADDRESS = name_of("move.new_address")


def heading_and_title(html: str) -> tuple[str, str]:
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S).group(1).strip()
    title = re.search(r"<title>(.*?)</title>", html, flags=re.S).group(1).strip()
    return h1, title


def test_each_guidance_page_is_titled_by_its_question_in_both_languages(resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), WITHIN, until="/procedures")
    questions = [url for url, _keys in walk.pages if "/q-" in url]
    assert len(questions) >= 4
    items = person.items()
    for language in ("ja", "en"):
        home = person.client.get("/")
        person.client.post(
            "/language", data={"csrf_token": csrf_token(home.text), "language": language}
        )
        seen = set()
        for url in questions:
            h1, title = heading_and_title(person.client.get(url).text)
            label = getattr(items[url.rsplit("/q-", 1)[1]].label, language)
            assert h1 == label.replace("'", "&#39;"), (language, url)
            assert title.startswith(h1 + " | "), (language, title)
            seen.add(title)
        assert len(seen) == len(questions), language  # no two pages share a title


def test_a_postal_lookup_redirects_to_a_page_that_shows_the_address_found(app, resident) -> None:
    person = resident("yamada-taro")
    person.walk(person.start("moving"), WITHIN, until="/q-move.new_address")
    page_url = person.start("moving")
    token = post_form(person.client.get(page_url).text).fields["csrf_token"]
    looked_up = person.client.post(
        page_url,
        data={
            "csrf_token": token,
            f"{NEW_ADDRESS}-postal_code": "2310021",
            f"{NEW_ADDRESS}-street": "1-1",
            "lookup": NEW_ADDRESS,
        },
    )
    for _reload in range(2):  # reloading shows the same, and resubmits nothing
        page = person.shown_again(page_url, looked_up).text
        assert 'value="神奈川県"' in page and 'value="1-1"' in page
        assert "住所が見つかりました" in page
        assert 'class="error-summary"' not in page
    with app.app_context():
        case = db.session.get(Case, person.case_id)
        assert "move.new_address" not in case.answers  # shown, not saved
    # Saved, the page continues and forgets what it kept.
    form = post_form(page)
    data = {k: v for k, v in form.fields.items() if k.startswith(NEW_ADDRESS)}
    saved = person.client.post(page_url, data={**data, "csrf_token": token})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/q-move.date")
    with app.app_context():
        case = db.session.get(Case, person.case_id)
        assert case.answers["move.new_address"]["prefecture"] == "神奈川県"
        assert case.unsaved is None
    page = person.client.get(page_url).text
    assert "住所が見つかりました" not in page


def test_adding_an_entry_redirects_to_the_page_with_the_entry(resident) -> None:
    person = resident("yamada-taro")
    person.walk(person.start("moving"), WITHIN, until="/q-move.members")
    page_url = person.start("moving")
    token = post_form(person.client.get(page_url).text).fields["csrf_token"]
    members = name_of("move.members")
    added = person.client.post(page_url, data={"csrf_token": token, "add": members})
    page = person.shown_again(page_url, added).text
    assert any(name.startswith(f"{members}-0-") for name in post_form(page).fields)


def test_an_unticked_declaration_redirects_to_the_check_page_with_its_error(app, resident) -> None:
    person = resident("yamada-taro")
    walk = person.walk(person.start("moving"), WITHIN)
    form = post_form(walk.last.text)
    refused = person.client.post(form.action, data={"csrf_token": form.fields["csrf_token"]})
    check_url = walk.last.request.path
    page = person.shown_again(check_url, refused).text
    assert page.count("送信するには、申告内容の確認にチェックを入れてください") == 2
    with app.app_context():
        assert db.session.get(Case, person.case_id).status is CaseStatus.DRAFT
    assert person.submit(person.client.get(check_url)).status_code == 302


def test_deleting_a_draft_is_asked_first(app, resident) -> None:
    person = resident("yamada-taro")
    person.walk(person.start("moving"), WITHIN, until="/q-move.date")
    case_id = person.case_id
    dashboard = person.client.get("/").text
    # Beside the resume link: a link to a page that asks, not a button that deletes.
    assert f'href="/cases/{case_id}/discard"' in dashboard
    assert not [f for f in forms(dashboard) if f.action.endswith("/discard")]

    asked = person.client.get(f"/cases/{case_id}/discard")
    assert asked.status_code == 200
    h1, title = heading_and_title(asked.text)
    assert h1 == "この下書きを削除しますか" and title.startswith(h1)
    assert "引越し" in asked.text and "回答したページ数" in asked.text
    assert f'href="/cases/{case_id}"' in asked.text  # keep it: back to the draft
    with app.app_context():
        assert db.session.get(Case, case_id) is not None  # asking deletes nothing

    # Without the CSRF token, nothing happens.
    assert person.client.post(f"/cases/{case_id}/discard").status_code == 400
    with app.app_context():
        assert db.session.get(Case, case_id) is not None

    form = post_form(asked.text)
    deleted = person.client.post(
        f"/cases/{case_id}/discard", data={"csrf_token": form.fields["csrf_token"]}
    )
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/"
    with app.app_context():
        assert db.session.get(Case, case_id) is None
    assert "下書き「引越し」を削除しました。" in person.client.get("/").text
    assert person.client.get(f"/cases/{case_id}/discard").status_code == 404


def test_only_the_filer_is_asked_to_delete_a_draft(app, resident) -> None:
    person = resident("yamada-taro")
    person.start("moving")
    other = app.test_client()
    assert Person(other, "sato-hanako").sign_in().response.status_code == 302
    assert other.get(f"/cases/{person.case_id}/discard").status_code == 404
