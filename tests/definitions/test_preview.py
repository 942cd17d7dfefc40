"""Previewing a version as a resident sees it: the journey's own fields, one section a page,
checked as the journey checks them, and nothing stored (no case, no version, no audit)."""

from __future__ import annotations

from html import unescape

import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.definitions import preview, versions
from portal.definitions.model import build_vocabulary
from portal.definitions.models import DefinitionSnapshot, DefinitionVersion
from portal.definitions.services import current_catalog
from portal.extensions import db
from portal.i18n import force_locale
from portal.journey.models import Attachment, Case
from tests.definitions.test_admin import live_id, make_draft, signed_in
from tests.factories import MunicipalityFactory, RoleFactory
from tests.support.people import csrf_token, login_as

FORM = ("form", "mic.tenshutsu")
NOTE = {
    "key": "mic.tenshutsu.forwarding_note",
    "item": {
        "type": "text",
        "label": {"ja": "転送先についての連絡", "en": "A note about forwarding"},
        "help": {"ja": "郵便の転送について", "en": "About forwarding your mail"},
        "validation": {"max_length": 20},
    },
}


def _draft_with_note(app: Flask) -> int:
    """A national draft of the moving-out with a required text field first on its first page."""
    with app.app_context():
        draft = versions.create_draft(*FORM, actor=None)
        data = yaml.safe_load(draft.source_text)
        data["sections"][0]["fields"].insert(0, NOTE)
        text = yaml.safe_dump(data, allow_unicode=True)
        assert versions.save_draft(draft, text, actor=None) == []
        db.session.commit()
        return draft.id


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Case, Attachment, DefinitionVersion, DefinitionSnapshot, AuditEntry)
        }


def _post(client: FlaskClient, path: str, **data: str):  # noqa: ANN201
    token = csrf_token(client.get(path).text)
    return client.post(path, data={"csrf_token": token, **data})


def test_a_draft_form_is_shown_page_by_page_and_nothing_is_stored(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    draft_id = _draft_with_note(app)
    version_page = unescape(client.get(f"/admin/definitions/versions/{draft_id}").text)
    base = f"/admin/definitions/versions/{draft_id}/preview"
    assert base in version_page

    first = client.get(base)
    assert first.status_code == 200
    shown = unescape(first.text)
    assert "プレビュー" in shown or "Preview" in shown
    assert "mic.tenshutsu" in shown and "異動の内容" in shown  # the first section's title
    # The journey's own widgets: label, hint, required mark, the name a case would post.
    assert "転送先についての連絡" in shown and "郵便の転送について" in shown
    assert 'name="mic__tenshutsu__forwarding_note"' in shown
    assert 'name="move__date-year"' in shown or 'name="move__date' in shown

    before = _counts(app)
    refused = _post(client, base + "?page=f-move", mic__tenshutsu__forwarding_note="あ" * 21)
    assert refused.status_code == 422
    page = unescape(refused.text)
    assert "error-summary" in page and 'aria-invalid="true"' in page
    assert "あ" * 21 in page  # nothing typed is lost
    assert _counts(app) == before

    # The second page is reachable, and a valid page moves on to the next one.
    second = client.get(base + "?page=f-filer")
    assert second.status_code == 200 and "届出人" in unescape(second.text)
    assert "filing.relationship" not in second.text  # conditions read in words, not keys
    assert _counts(app) == before
    assert client.get(base + "?page=nowhere").status_code == 404


def test_a_valid_page_moves_to_the_next_one_without_storing_it(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    draft_id = make_draft(app, "workflow", "moving")
    base = f"/admin/definitions/versions/{draft_id}/preview"
    before = _counts(app)
    unanswered = _post(client, base + "?page=q-filing.proxy")
    assert unanswered.status_code == 422 and "error-summary" in unanswered.text
    answered = _post(client, base + "?page=q-filing.proxy", filing__proxy="yes")
    assert answered.status_code == 303
    assert "?page=q-principal.address&answers=" in answered.headers["Location"]
    assert _counts(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_workflow_shows_its_questions_and_its_forms_conditions_in_words(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    draft_id = make_draft(app, "workflow", "moving")
    base = f"/admin/definitions/versions/{draft_id}/preview"
    first = client.get(base)
    assert first.status_code == 200 and 'name="filing__proxy"' in first.text
    assert 'name="move__scope"' in client.get(base + "?page=q-move.scope").text
    forms = unescape(client.get(base + "?page=procedures").text)
    assert "転出届" in forms
    assert '[{"var": "move.scope"}, "between"]' not in forms  # read as label and option
    with app.app_context():
        vocabulary = build_vocabulary(current_catalog().vocabulary)
        scope = vocabulary["move.scope"]
        between = scope.option("between")
        assert between is not None
        worded = preview.describe({"==": [{"var": "move.scope"}, "between"]}, vocabulary)
        assert str(scope.label) in worded and str(between.label) in worded
        assert worded in forms


def test_answers_on_a_workflow_preview_say_which_forms_apply(app, definitions) -> None:
    """The answers travel with the preview's links, signed; a link altered carries none."""
    client, _ = signed_in(app, portal_admin=True)
    draft_id = make_draft(app, "workflow", "moving")
    base = f"/admin/definitions/versions/{draft_id}/preview"
    before = _counts(app)
    within = _post(client, base + "?page=q-move.scope", move__scope="within")
    assert within.status_code == 303
    location = within.headers["Location"]
    assert "answers=" in location and "page=q-move.new_address" in location
    token = location.split("answers=", 1)[1].split("&", 1)[0]
    procedures = client.get(f"{base}?page=procedures&answers={token}")
    shown = unescape(procedures.text)
    tenkyo = shown[shown.index("転居届") :].split("</li>", 1)[0]
    assert 'status-tag--action">対象<' in tenkyo and "対象外" not in tenkyo
    tenshutsu = shown[shown.index("転出届") :].split("</li>", 1)[0]
    assert "対象外" in tenshutsu and "status-tag" not in tenshutsu
    altered = client.get(f"{base}?page=procedures&answers={token[:-2]}xx")
    assert altered.status_code == 200 and "対象外" not in unescape(altered.text)
    assert _counts(app) == before
    with app.app_context():
        shown_pages = preview.preview_of(db.session.get(DefinitionVersion, draft_id))
        known = {"filing.proxy": False, "principal.address": {"municipality_code": "131016"}}
        slugs = [p.slug for p in shown_pages.pages_for(known)]
        assert "q-principal.address" not in slugs and "q-move.scope" in slugs


def test_the_preview_reads_in_english(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    draft_id = _draft_with_note(app)
    client.set_cookie(app.config["LANGUAGE_COOKIE_NAME"], "en")
    page = unescape(client.get(f"/admin/definitions/versions/{draft_id}/preview").text)
    assert "Preview of mic.tenshutsu, version 3 (Draft)" in page
    assert "A note about forwarding" in page
    assert "Nothing you type is saved" in page and "The move" in page


def test_a_draft_with_faults_says_so_instead_of_pages(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    with app.app_context():
        draft = versions.create_draft(*FORM, actor=None)
        broken = draft.source_text.replace("key: move.new_address", "key: move.new_adress", 1)
        assert versions.save_draft(draft, broken, actor=None)
        db.session.commit()
        draft_id = draft.id
    page = client.get(f"/admin/definitions/versions/{draft_id}/preview")
    assert page.status_code == 200
    assert "move.new_adress" in unescape(page.text)
    assert 'name="move__date' not in page.text
    vocabulary = live_id(app, "vocabulary", "vocabulary")
    assert client.get(f"/admin/definitions/versions/{vocabulary}/preview").status_code == 200


def test_only_those_who_may_read_the_version_preview_it(app, definitions) -> None:
    with app.app_context():
        town, other = MunicipalityFactory(), MunicipalityFactory()
        db.session.commit()
        local = versions.create_draft(*FORM, actor=None, scope=versions.Scope(town))
        db.session.commit()
        local_id, town_id, other_id = local.id, town.id, other.id
    path = f"/admin/definitions/versions/{local_id}/preview"
    own, _ = signed_in(app, admin=True, municipality_id=town_id)
    assert own.get(path).status_code == 200
    stranger, _ = signed_in(app, admin=True, municipality_id=other_id)
    assert stranger.get(path).status_code == 404
    with app.app_context():
        clerk_id = RoleFactory().account.id
        db.session.commit()
    clerk = app.test_client()
    login_as(clerk, clerk_id)
    assert clerk.get(path).status_code == 404
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/auth/" in anonymous.headers["Location"]


def test_conditions_in_words(app) -> None:
    with app.app_context(), force_locale("en"):
        vocabulary = {}
        assert preview.describe({"var": "filing.proxy"}, vocabulary) == "“filing.proxy” is yes"
        assert (
            preview.describe(
                {"and": [{"==": [{"var": "a"}, "x"]}, {"in": ["k", {"var": "b"}]}]}, vocabulary
            )
            == '(“a” is "x") and (“b” includes "k")'
        )
        assert preview.describe({"!": {"var": "c"}}, vocabulary) == "not (“c” is yes)"
        odd = {"some": [{"var": "m"}, {"<": [{"var": "age"}, 18]}]}
        assert preview.describe(odd, vocabulary).startswith('{"some"')
