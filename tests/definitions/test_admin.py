"""The admin pages: a portal admin drafts, checks, publishes and compares national versions;
a municipality admin only their municipality's; publishing asks for a recent sign-in."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import yaml
from flask import Flask
from sqlalchemy import select

from portal.accounts.models import Account
from portal.definitions import services, versions
from portal.definitions.models import DefinitionVersion, VersionState
from portal.extensions import db
from portal.i18n import force_locale
from portal.japan.clock import utcnow
from portal.tenancy.models import Department, Municipality
from tests.factories import MunicipalityFactory, RoleFactory
from tests.support.people import csrf_token, login_as

FORM = ("form", "mic.tenshutsu")


def signed_in(app, **role):  # noqa: ANN001, ANN003, ANN201
    with app.app_context():
        if "municipality_id" in role:
            role["municipality"] = db.session.get(Municipality, role.pop("municipality_id"))
        account_id = RoleFactory(**role).account.id
        db.session.commit()
    client = app.test_client()
    login_as(client, account_id)
    return client, account_id


def make_draft(app: Flask, kind: str, key: str, municipality_id: int | None = None) -> int:
    with app.app_context():
        scope = versions.NATIONAL
        if municipality_id is not None:
            scope = versions.Scope(db.session.get(Municipality, municipality_id))
        draft = versions.create_draft(kind, key, actor=None, scope=scope)
        db.session.commit()
        return draft.id


def live_id(app, kind: str = "form", key: str = "mic.tenshutsu") -> int:
    with app.app_context():
        return versions.published_of(kind, key).id


def post(client, path: str, **data: str):  # noqa: ANN001, ANN003, ANN201
    token = csrf_token(client.get("/staff/").text)
    return client.post(path, data={"csrf_token": token, **data})


def test_a_portal_admin_drafts_publishes_and_compares(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    home = client.get("/staff/").text
    assert "/admin/definitions/" in home
    index = client.get("/admin/definitions/")
    assert index.status_code == 200 and "mic.tenshutsu" in index.text
    live = live_id(app)
    page = client.get(f"/admin/definitions/versions/{live}")
    assert page.status_code == 200 and "転出届" in unescape(page.text)

    made = post(client, f"/admin/definitions/versions/{live}/draft", scope="")
    assert made.status_code == 303
    draft_path = made.headers["Location"]
    draft_id = int(draft_path.rsplit("/", 1)[1])
    with app.app_context():
        text = db.session.get(DefinitionVersion, draft_id).source_text
    assert text in unescape(client.get(draft_path).text)

    broken = text.replace("key: move.new_address", "key: move.new_adress", 1)
    refused = post(client, draft_path, text=broken)
    assert refused.status_code == 422
    shown = unescape(refused.text)
    assert "error-summary" in shown and 'aria-invalid="true"' in shown
    assert "不明な語彙のキー 'move.new_adress' です" in shown  # in the admin's language
    assert broken.strip() in shown  # nothing typed is lost
    client.set_cookie("madoguchi_lang", "en")
    assert "unknown vocabulary key 'move.new_adress'" in unescape(
        post(client, draft_path, text=broken).text
    )
    client.delete_cookie("madoguchi_lang")

    data = yaml.safe_load(text)
    data["title"]["ja"] = "転出届（改）"
    assert (
        post(client, draft_path, text=yaml.safe_dump(data, allow_unicode=True)).status_code == 303
    )
    with app.app_context():
        assert services.current_catalog().forms["mic.tenshutsu"]["title"]["ja"] == "転出届"
    published = post(client, draft_path + "/publish")
    assert published.status_code == 303
    with app.app_context():
        assert services.current_catalog().forms["mic.tenshutsu"]["title"]["ja"] == "転出届（改）"

    changes = client.get(f"/admin/definitions/versions/{draft_id}/diff?against={live}")
    assert changes.status_code == 200
    assert "title/ja" in changes.text and "転出届（改）" in unescape(changes.text)


def test_publishing_after_15_minutes_asks_to_sign_in_again(app, definitions) -> None:
    client, account_id = signed_in(app, portal_admin=True)
    with app.app_context():
        draft = versions.create_draft(*FORM, actor=None)
        db.session.get(Account, account_id).last_signed_in_at = utcnow() - timedelta(minutes=16)
        db.session.commit()
        draft_id = draft.id
    answer = post(client, f"/admin/definitions/versions/{draft_id}/publish")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/auth/staff/login?next=")
    assert f"versions/{draft_id}" in answer.headers["Location"]
    with app.app_context():
        assert db.session.get(DefinitionVersion, draft_id).state == VersionState.DRAFT


def test_a_municipality_admin_changes_only_their_own(app, definitions) -> None:
    with app.app_context():
        town, other = MunicipalityFactory(departments=[]), MunicipalityFactory(departments=[])
        db.session.commit()
        town_id, other_id = town.id, other.id
    client, _ = signed_in(app, admin=True, municipality_id=town_id)
    live = live_id(app)
    assert client.get(f"/admin/definitions/versions/{live}").status_code == 200  # reads it
    assert post(client, f"/admin/definitions/versions/{live}/draft", scope="").status_code == 404
    assert (
        post(client, f"/admin/definitions/versions/{live}/draft", scope=str(other_id)).status_code
        == 404
    )
    assert post(client, f"/admin/definitions/versions/{live}/retire").status_code == 404
    made = post(client, f"/admin/definitions/versions/{live}/draft", scope=str(town_id))
    assert made.status_code == 303
    local_path = made.headers["Location"]
    assert post(client, local_path + "/publish").status_code == 303
    with app.app_context():
        local = db.session.scalars(
            select(DefinitionVersion).where(DefinitionVersion.municipality_id == town_id)
        ).one()
        assert local.state == VersionState.PUBLISHED and local.version == 1

    stranger, _ = signed_in(app, admin=True, municipality_id=other_id)
    assert stranger.get(local_path).status_code == 404
    assert post(stranger, local_path + "/retire").status_code == 404


def test_everyone_else_gets_404(app, definitions) -> None:
    with app.app_context():
        town = MunicipalityFactory()
        db.session.commit()
        department_id = town.departments[0].id
    with app.app_context():
        department = db.session.get(Department, department_id)
        account_id = RoleFactory(department=department).account.id
        db.session.commit()
    clerk = app.test_client()
    login_as(clerk, account_id)
    live = live_id(app)
    assert clerk.get("/admin/definitions/").status_code == 404
    assert clerk.get(f"/admin/definitions/versions/{live}").status_code == 404
    assert "/admin/definitions/" not in clerk.get("/staff/").text
    anonymous = app.test_client().get("/admin/definitions/")
    assert anonymous.status_code == 302 and "/auth/" in anonymous.headers["Location"]


def test_refusals_read_in_english_too(app, definitions) -> None:
    with app.app_context(), force_locale("en"):
        draft = versions.create_draft(*FORM, actor=None)
        try:
            versions.create_draft(*FORM, actor=None)
        except versions.VersionRefused as refused:
            assert str(refused.message) == f"{draft.label} is already a draft: change that one"


def _import(client, data: bytes, name: str = "tenshutsu.yaml", scope: str = ""):  # noqa: ANN001, ANN202
    from io import BytesIO

    token = csrf_token(client.get("/admin/definitions/").text)
    return client.post(
        "/admin/definitions/import",
        data={"csrf_token": token, "scope": scope, "document": (BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_version_downloads_as_its_file_and_imports_back_as_a_draft(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    live = live_id(app)
    exported = client.get(f"/admin/definitions/versions/{live}/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"] == 'attachment; filename="tenshutsu.yaml"'
    with app.app_context():
        stored = db.session.get(DefinitionVersion, live)
        assert yaml.safe_load(exported.data) == stored.content
        number = stored.version
    changed = yaml.safe_load(exported.data)
    changed["title"]["ja"] = "転出届（改）"
    imported = _import(client, yaml.safe_dump(changed, allow_unicode=True).encode())
    assert imported.status_code == 303
    draft_id = int(imported.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        draft = db.session.get(DefinitionVersion, draft_id)
        assert (draft.key, draft.state, draft.version) == (
            "mic.tenshutsu",
            VersionState.DRAFT,
            number + 1,
        )
        assert draft.content["title"]["ja"] == "転出届（改）"
        assert draft.content["version"] == number + 1
        assert versions.published_of(*FORM).id == live  # nothing live changed
    # A second import of the same key is refused beside the field: there is a draft already.
    again = _import(client, exported.data)
    assert again.status_code == 422
    assert "already a draft" in unescape(again.text) or "下書き" in unescape(again.text)


def test_a_bad_file_is_refused_beside_the_field(app, definitions) -> None:
    client, _ = signed_in(app, portal_admin=True)
    for data, message in [
        (b"", "YAMLファイルを選んでください"),
        (b"\xff\xfe\x00bad", "UTF-8"),
        (b"a: [unclosed", "定義として読み取れるYAML"),
        (b"- a list\n", "様式、ワークフロー、語彙のいずれでもありません"),
        (b"id: ../../etc\nsections: []\n", "mic.tenshutsu"),
        (b"id: " + b"a" * 200 + b".x\nsections: []\n", "mic.tenshutsu"),
        (b"x" * 200_001, "YAMLが長すぎます"),
    ]:
        answer = _import(client, data)
        assert answer.status_code == 422, data[:40]
        page = unescape(answer.text)
        assert message in page, (data[:40], message)
        assert 'class="error-summary' in page
    with app.app_context():
        assert not db.session.scalars(
            select(DefinitionVersion).where(DefinitionVersion.state == VersionState.DRAFT)
        ).all()


def test_a_municipality_admin_imports_a_form_for_their_municipality_only(app, definitions) -> None:
    with app.app_context():
        town = MunicipalityFactory(departments=[])
        db.session.commit()
        town_id = town.id
    client, _ = signed_in(app, admin=True, municipality_id=town_id)
    exported = client.get(f"/admin/definitions/versions/{live_id(app)}/export").data
    assert _import(client, exported, scope="").status_code == 422  # not a choice of theirs
    workflow = client.get(
        f"/admin/definitions/versions/{live_id(app, 'workflow', 'moving')}/export"
    )
    refused = _import(client, workflow.data, "moving.yaml", scope=str(town_id))
    assert refused.status_code == 422
    assert "様式についてのみ" in unescape(refused.text)
    made = _import(client, exported, scope=str(town_id))
    assert made.status_code == 303
    with app.app_context():
        draft = db.session.get(DefinitionVersion, int(made.headers["Location"].rsplit("/", 1)[1]))
        assert (draft.municipality_id, draft.state) == (town_id, VersionState.DRAFT)
