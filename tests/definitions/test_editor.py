"""The structured editor: each kind of change makes the expected draft content, through the
same checks and audit as the raw YAML; faults beside their row at 422 with what was typed
kept; published versions refused (409); another municipality's drafts 404; a draft changed in
another tab refused (409), nothing overwritten."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.definitions import editor, versions
from portal.definitions.models import DefinitionVersion
from portal.extensions import db
from tests.definitions.test_admin import make_draft, signed_in
from tests.factories import MunicipalityFactory
from tests.support.people import csrf_token

FORM = ("form", "mic.tenshutsu")
WORKFLOW = ("workflow", "moving")


def content(app: Flask, draft_id: int) -> dict[str, Any]:
    with app.app_context():
        return dict(db.session.get(DefinitionVersion, draft_id).content)


def page_values(client, draft_id: int, text: str | None = None) -> dict[str, str]:  # noqa: ANN001
    """What the editor page (drawn now, or ``text``) posts back unchanged: its inputs."""
    if text is None:
        text = client.get(f"/admin/definitions/versions/{draft_id}/editor").text
    values: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", text):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None or name.group(1) == "action":
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                values[name.group(1)] = "y"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[name.group(1)] = unescape(value.group(1)) if value else ""
    for select_name, body in re.findall(
        r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', text, re.S
    ):
        options = re.findall(r"<option[^>]*>", body)
        chosen = [o for o in options if " selected" in o] or options[:1]
        value = re.search(r'value="([^"]*)"', chosen[0]) if chosen else None
        values[select_name] = unescape(value.group(1)) if value else ""
    return values


def edit(client, draft_id: int, action: str = "save", page: str | None = None, **changes: str):  # noqa: ANN001, ANN003, ANN201, E501
    data = {**page_values(client, draft_id, page), **changes, "action": action}
    for name, value in list(data.items()):
        if value is None:
            del data[name]
    data["csrf_token"] = csrf_token(client.get("/staff/").text)
    return client.post(f"/admin/definitions/versions/{draft_id}/editor", data=data)


@pytest.fixture
def admin(app: Flask, definitions):  # noqa: ANN001, ANN201
    return signed_in(app, portal_admin=True)[0]


def test_saving_unchanged_keeps_the_content(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    before = content(app, draft_id)
    answer = edit(admin, draft_id)
    assert answer.status_code == 303, answer.text
    assert content(app, draft_id) == before


def keys(data: dict[str, Any], section: int) -> list[str]:
    return [f["key"] for f in data["sections"][section]["fields"]]


def test_fields_are_added_removed_and_moved(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    before = content(app, draft_id)
    first = keys(before, 0)

    assert edit(admin, draft_id, "up_field:0:1").status_code == 303
    assert keys(content(app, draft_id), 0) == [first[1], first[0], *first[2:]]
    assert edit(admin, draft_id, "down_field:0:0").status_code == 303
    assert keys(content(app, draft_id), 0) == first
    assert edit(admin, draft_id, "up_field:0:0").status_code == 303  # past the top: unchanged
    assert keys(content(app, draft_id), 0) == first

    added = edit(
        admin, draft_id, "add_field", new_field_section="1", new_field_key="applicant.birthdate"
    )
    assert added.status_code == 303, unescape(added.text)
    assert keys(content(app, draft_id), 1)[-1] == "applicant.birthdate"

    local = edit(
        admin,
        draft_id,
        "add_field",
        new_field_section="1",
        new_local_name="note_to_clerk",
        new_local_type="textarea",
        new_local_label_ja="窓口への連絡事項",
        new_local_label_en="A note for the counter",
    )
    assert local.status_code == 303, unescape(local.text)
    entry = content(app, draft_id)["sections"][1]["fields"][-1]
    assert entry == {
        "key": "mic.tenshutsu.note_to_clerk",
        "item": {
            "type": "textarea",
            "label": {"ja": "窓口への連絡事項", "en": "A note for the counter"},
        },
    }
    count = len(keys(content(app, draft_id), 1))
    assert edit(admin, draft_id, f"remove_field:1:{count - 2}").status_code == 303
    assert keys(content(app, draft_id), 1)[-2:] == [keys(before, 1)[-1], entry["key"]]


def test_sections_are_added_removed_and_moved(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    before = content(app, draft_id)
    added = edit(
        admin,
        draft_id,
        "add_section",
        new_section_id="contact",
        new_section_title_ja="連絡先",
        new_section_title_en="Contact",
        new_section_key="applicant.birthdate",
    )
    assert added.status_code == 303, unescape(added.text)
    assert content(app, draft_id)["sections"][-1] == {
        "id": "contact",
        "title": {"ja": "連絡先", "en": "Contact"},
        "fields": [{"key": "applicant.birthdate"}],
    }
    assert edit(admin, draft_id, "up_section:2").status_code == 303
    assert [s["id"] for s in content(app, draft_id)["sections"]] == ["move", "contact", "filer"]
    assert edit(admin, draft_id, "remove_section:1").status_code == 303
    assert content(app, draft_id)["sections"] == before["sections"]


def test_texts_required_deadline_and_department(app, admin) -> None:
    draft_id = make_draft(app, "form", "mic.setainushi_henkou")
    answer = edit(
        admin,
        draft_id,
        title_en="Change of householder",
        department_kind="insurance_pension",
        deadline_days="30",
        deadline_count_first_day="y",
        deadline_rule_en="Within 30 days.",
        s0_title_ja="新世帯主",
        s0_f3_label_en="Relationship to the householder who died",
        s0_f3_help_en="",
        s0_f3_help_ja="例: 妻",
        s0_f1_required=None,  # unticked
    )
    assert answer.status_code == 303, unescape(answer.text)
    data = content(app, draft_id)
    assert data["title"] == {"ja": "世帯主変更届", "en": "Change of householder"}
    assert data["department_kind"] == "insurance_pension"
    assert data["deadline"] == {
        "from": "death.date",
        "days": 30,
        "count_first_day": True,
        "rule": {
            "ja": "世帯主が変わった日（亡くなった日）から14日以内。",
            "en": "Within 30 days.",
        },
    }
    section = data["sections"][0]
    assert section["title"] == {"ja": "新世帯主", "en": "New householder"}
    assert section["fields"][3]["item"]["label"]["en"] == "Relationship to the householder who died"
    assert section["fields"][3]["item"]["help"] == {"ja": "例: 妻"}
    assert section["fields"][1]["required"] is False
    assert "required" not in section["fields"][0]  # left as it was
    with app.app_context():  # audited as a raw YAML save is, and the YAML kept in step
        draft = db.session.get(DefinitionVersion, draft_id)
        assert "Within 30 days." in draft.source_text
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert entry.action == "definition.save" and entry.subject == draft.label


def test_a_fault_is_shown_beside_its_row_with_the_text_kept(app, admin) -> None:
    draft_id = make_draft(app, "form", "mic.setainushi_henkou")
    before = content(app, draft_id)
    answer = edit(admin, draft_id, s0_f2_label_ja="", s0_f2_label_en="Birth date, typed")
    assert answer.status_code == 422
    page = unescape(answer.text)
    assert 'class="error-summary"' in page and 'href="#s0_f2_label_ja"' in page
    assert 'id="s0_f2_label_ja-error"' in page
    assert 'value="Birth date, typed"' in page  # nothing typed is lost
    assert content(app, draft_id) == before  # a refused change is not saved...
    fixed = edit(admin, draft_id, page=answer.text, s0_f2_label_ja="生年月日")
    assert fixed.status_code == 303, unescape(fixed.text)  # ...but goes on from the page
    label = content(app, draft_id)["sections"][0]["fields"][2]["item"]["label"]
    assert label == {"ja": "生年月日", "en": "Birth date, typed"}
    before = content(app, draft_id)

    # A vocabulary item already asked: the checker's fault lands on the new row.
    twice = edit(
        admin, draft_id, "add_field", new_field_section="1", new_field_key="applicant.phone"
    )
    assert twice.status_code == 422
    row = len(before["sections"][1]["fields"])
    assert f'href="#s1_f{row}_required"' in unescape(twice.text)
    assert content(app, draft_id) == before
    undone = edit(admin, draft_id, f"remove_field:1:{row}", page=twice.text)
    assert undone.status_code == 303
    assert content(app, draft_id) == before

    typed = edit(admin, draft_id, deadline_days="two weeks")
    assert typed.status_code == 422
    assert 'value="two weeks"' in typed.text and 'id="deadline_days-error"' in typed.text


def test_a_published_version_is_never_edited(app, admin) -> None:
    with app.app_context():
        live = versions.published_of(*FORM)
        live_id, digest = live.id, live.digest
    assert admin.get(f"/admin/definitions/versions/{live_id}/editor").status_code == 302
    token = csrf_token(admin.get("/staff/").text)
    answer = admin.post(
        f"/admin/definitions/versions/{live_id}/editor",
        data={"csrf_token": token, "digest": digest, "title_ja": "変えた"},
    )
    assert answer.status_code == 409
    with app.app_context():
        assert db.session.get(DefinitionVersion, live_id).digest == digest


def test_a_municipality_admin_edits_only_their_own_drafts(app, definitions) -> None:
    with app.app_context():
        town, other = MunicipalityFactory(departments=[]), MunicipalityFactory(departments=[])
        db.session.commit()
        town_id, other_id = town.id, other.id
    own = make_draft(app, *FORM, municipality_id=town_id)
    theirs = make_draft(app, *FORM, municipality_id=other_id)
    national = make_draft(app, *FORM)
    client, _ = signed_in(app, admin=True, municipality_id=town_id)
    for refused in (theirs, national):
        assert client.get(f"/admin/definitions/versions/{refused}/editor").status_code == 404
        token = csrf_token(client.get("/staff/").text)
        posted = client.post(
            f"/admin/definitions/versions/{refused}/editor",
            data={"csrf_token": token, "action": "remove_section:0"},
        )
        assert posted.status_code == 404
    assert len(content(app, theirs)["sections"]) == 2
    assert edit(client, own, "remove_field:0:0").status_code == 303
    assert keys(content(app, own), 0)[0] == "move.new_address"


def test_a_draft_changed_in_another_tab_is_not_overwritten(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    first_tab = page_values(admin, draft_id)
    assert edit(admin, draft_id, title_en="Saved in the second tab").status_code == 303
    token = csrf_token(admin.get("/staff/").text)
    late = admin.post(
        f"/admin/definitions/versions/{draft_id}/editor",
        data={
            **first_tab,
            "title_en": "Typed in the first tab",
            "csrf_token": token,
            "action": "save",
        },
    )
    assert late.status_code == 409
    page = unescape(late.text)
    assert "Typed in the first tab" in page  # listed, not lost
    assert content(app, draft_id)["title"]["en"] == "Saved in the second tab"


def test_workflow_forms_and_conditions(app, admin) -> None:
    draft_id = make_draft(app, *WORKFLOW)
    before = content(app, draft_id)
    assert edit(admin, draft_id).status_code == 303
    assert content(app, draft_id) == before  # every condition reads back as it was

    page = unescape(admin.get(f"/admin/definitions/versions/{draft_id}/editor").text)
    # mext.tengaku's `some` is more than the builder shows: read-only, no builder inputs
    assert 'name="w11_municipality"' in page and '"school_grade"' in page
    assert 'name="w11_c0_item"' not in page

    answer = edit(
        admin,
        draft_id,
        w12_combinator="or",
        w12_c1_item="move.scope",
        w12_c1_op="==",
        w12_c1_value="within",
        w0_c1_item="filing.proxy",
        w0_c1_op="answered",
    )
    assert answer.status_code == 303, unescape(answer.text)
    data = content(app, draft_id)
    assert data["forms"][12]["applies_if"] == {
        "or": [
            {"in": ["dog", {"var": "move.circumstances"}]},
            {"==": [{"var": "move.scope"}, "within"]},
        ]
    }
    assert data["forms"][0]["applies_if"] == {
        "and": [{"==": [{"var": "move.scope"}, "between"]}, {"!!": {"var": "filing.proxy"}}]
    }
    assert data["forms"][11] == before["forms"][11]  # the raw one untouched

    assert edit(admin, draft_id, w9_c0_item="").status_code == 303  # its only condition removed
    assert "applies_if" not in content(app, draft_id)["forms"][9]
    assert edit(admin, draft_id, "up_form:1").status_code == 303
    order = [f["form"] for f in content(app, draft_id)["forms"]]
    assert order[:2] == ["mhlw.kokuho_soshitsu_tenshutsu", "mic.tenshutsu"]
    removed = edit(admin, draft_id, "remove_form:0")
    assert removed.status_code == 422  # a form no workflow files is a fault elsewhere
    assert "使われない様式です" in unescape(removed.text)  # the checker's own words
    added = edit(
        admin,
        draft_id,
        "add_form",
        page=removed.text,  # goes on from the change refused
        new_form="mhlw.kokuho_soshitsu_tenshutsu",
        new_form_municipality="old",
    )
    assert added.status_code == 303, unescape(added.text)
    assert content(app, draft_id)["forms"][0]["form"] == "mic.tenshutsu"
    assert content(app, draft_id)["forms"][-1] == {
        "form": "mhlw.kokuho_soshitsu_tenshutsu",
        "municipality": "old",
    }


def test_a_condition_without_a_value_is_refused_beside_it(app, admin) -> None:
    draft_id = make_draft(app, *WORKFLOW)
    answer = edit(admin, draft_id, w0_c1_item="move.date", w0_c1_op=">=", w0_c1_value="")
    assert answer.status_code == 422
    assert 'id="w0_c1_value-error"' in answer.text
    assert 'name="w0_c1_item"' in answer.text


def test_conditions_read_back_only_what_the_builder_can_show() -> None:
    assert editor.read_condition({"!!": {"var": "x"}}) == editor.Built(
        "and", (editor.Clause("x", "answered"),)
    )
    assert editor.read_condition({"and": [{"or": [{"var": "x"}]}]}) is None
    assert editor.read_condition({">=": [{"years_between": [{"var": "x"}]}, 65]}) is None
    built = editor.Built("and", (editor.Clause("n", ">", "3"), editor.Clause("b", "==", "true")))
    assert editor.build_condition(built, {"n": "number", "b": "yes_no"}) == {
        "and": [{">": [{"var": "n"}, 3]}, {"==": [{"var": "b"}, True]}]
    }


def test_every_shipped_definition_saves_back_unchanged(app, admin) -> None:
    """The editor shows every form and workflow as it is: saved untouched, nothing moves."""
    with app.app_context():
        keys_ = [
            (v.kind, v.key)
            for v in db.session.scalars(select(DefinitionVersion))
            if v.kind in ("form", "workflow")
        ]
    assert len(keys_) > 20
    for kind, key in keys_:
        draft_id = make_draft(app, kind, key)
        before = content(app, draft_id)
        answer = edit(admin, draft_id)
        assert answer.status_code == 303, f"{key}: {unescape(answer.text)[-3000:]}"
        assert content(app, draft_id) == before, key


def test_the_raw_yaml_of_a_draft_changed_in_another_tab_is_not_overwritten(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    path = f"/admin/definitions/versions/{draft_id}"
    drawn = re.search(r'name="digest" value="([0-9a-f]+)"', admin.get(path).text).group(1)
    assert edit(admin, draft_id, title_en="Saved in the structured editor").status_code == 303
    with app.app_context():
        text = db.session.get(DefinitionVersion, draft_id).source_text
    typed = text.replace("Saved in the structured editor", "Typed in the YAML tab")
    token = csrf_token(admin.get("/staff/").text)
    late = admin.post(path, data={"csrf_token": token, "digest": drawn, "text": typed})
    assert late.status_code == 409
    assert "Typed in the YAML tab" in unescape(late.text)  # kept in the textarea
    assert content(app, draft_id)["title"]["en"] == "Saved in the structured editor"
    fresh = re.search(r'name="digest" value="([0-9a-f]+)"', admin.get(path).text).group(1)
    saved = admin.post(path, data={"csrf_token": token, "digest": fresh, "text": typed})
    assert saved.status_code == 303
    assert content(app, draft_id)["title"]["en"] == "Typed in the YAML tab"
    now = re.search(r'name="digest" value="([0-9a-f]+)"', admin.get(path).text).group(1)
    broken = admin.post(
        path,
        data={"csrf_token": token, "digest": now, "text": typed.replace("ja: 転出届", "ja: ''")},
    )
    assert broken.status_code == 422  # refused, so the draft is as drawn: its fix saves
    assert f'name="digest" value="{now}"' in broken.text


def test_every_configured_language_is_edited(app, admin, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "LANGUAGES", ("ja", "en", "ko"))
    draft_id = make_draft(app, *FORM)
    assert 'name="title_ko"' in admin.get(f"/admin/definitions/versions/{draft_id}/editor").text
    assert edit(admin, draft_id, title_ko="전출신고").status_code == 303
    assert content(app, draft_id)["title"] == {
        "ja": "転出届",
        "en": "Moving-out notification",
        "ko": "전출신고",
    }


def test_a_damaged_page_is_refused_not_an_error(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    before = content(app, draft_id)
    for pending in ("[" * 100_000, "[1, 2]", "{not json", "x" * 300_000):
        answer = edit(admin, draft_id, pending=pending)
        assert answer.status_code in (413, 422), pending[:10]  # 413: over the request limit
    for action in ("up_field:abc", "remove_field:9:9", "down_section:99999", "add_field"):
        assert edit(admin, draft_id, action).status_code in (303, 422), action
    assert content(app, draft_id) == before


def test_the_draft_page_links_to_the_structured_editor(app, admin) -> None:
    draft_id = make_draft(app, *FORM)
    page = admin.get(f"/admin/definitions/versions/{draft_id}").text
    assert f'href="/admin/definitions/versions/{draft_id}/editor"' in page
