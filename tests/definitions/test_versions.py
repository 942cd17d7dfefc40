"""A version's lifecycle: a draft is never live, publishing makes it the next cases'
version, a started case keeps its own, and the repository and the admins never overwrite
each other's versions unseen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.definitions import services, versions
from portal.definitions.model import Text, build_snapshot
from portal.definitions.models import DefinitionVersion, VersionOrigin, VersionState
from portal.definitions.sources import read_sources, to_yaml
from portal.extensions import db
from portal.i18n import force_locale
from portal.japan.clock import as_of
from tests.definitions import minimal
from tests.factories import AccountFactory, MunicipalityFactory
from tests.support.people import Person

FORM = ("form", "mic.tenshutsu")


def load_minimal(root: Path, change: Any = None) -> services.LoadReport:
    data = minimal.definitions()
    if change is not None:
        change(data)
    minimal.write(root, data)
    report = services.load(read_sources(root / "forms", root / "workflows"))
    db.session.flush()
    return report


def retitled(draft: DefinitionVersion, en: str) -> str:
    data = yaml.safe_load(draft.source_text)
    data["title"]["en"] = en
    return to_yaml(data)


def title_now() -> str:
    return services.current_catalog().forms["mic.tenshutsu"]["title"]["en"]


def test_a_saved_draft_is_never_live_until_published(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        before = services.current_catalog()
        draft = versions.create_draft(*FORM, actor=admin)
        assert (draft.version, draft.state, draft.origin) == (2, "draft", "admin")
        assert versions.save_draft(draft, retitled(draft, "Moving out"), actor=admin) == []
        assert services.current_catalog() is before
        assert title_now() == "Moving-out notification"

        versions.publish(draft, actor=admin)
        assert title_now() == "Moving out"
        assert draft.published_by_id == admin.id and draft.published_at is not None
        first = versions.versions_of(*FORM)[-1]
        assert first.state == VersionState.PUBLISHED  # the previous one stays readable
        with pytest.raises(versions.VersionRefused):
            versions.save_draft(draft, retitled(draft, "Changed after"), actor=admin)
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["definition.draft", "definition.save", "definition.publish"]


def test_one_draft_per_key_and_scope(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        versions.create_draft(*FORM, actor=admin)
        with force_locale("en"), pytest.raises(versions.VersionRefused, match="already a draft"):
            versions.create_draft(*FORM, actor=admin)
        town = MunicipalityFactory(departments=[])
        local = versions.create_draft(*FORM, actor=admin, scope=versions.Scope(town))
        assert local.version == 1 and local.content["title"]["en"] == "Moving-out notification"


def test_each_fault_is_reported_with_its_place(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        draft = versions.create_draft(*FORM, actor=admin)
        broken = draft.source_text.replace("key: move.new_address", "key: move.new_adress")
        problems = versions.save_draft(draft, broken, actor=admin)
        assert [(p.file, p.path) for p in problems] == [
            ("forms/mic/tenshutsu.yaml", "sections/0/fields/1/key")
        ]
        assert draft.source_text == broken  # kept as typed
        assert versions.save_draft(draft, "title: [unclosed", actor=admin)[0].path == "line 1"
        assert draft.source_text == "title: [unclosed"
        renumbered = draft.source_text
        versions.save_draft(draft, broken, actor=admin)
        with pytest.raises(versions.VersionRefused) as refused:
            versions.publish(draft, actor=admin)
        assert refused.value.problems and draft.state == VersionState.DRAFT
        assert renumbered != broken


def test_a_draft_that_breaks_a_workflow_says_so(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        draft = versions.create_draft("vocabulary", "vocabulary", actor=admin)
        data = yaml.safe_load(draft.source_text)
        del data["items"]["move.date"]
        problems = versions.save_draft(draft, to_yaml(data), actor=admin)
        assert {p.file for p in problems} >= {"workflows/moving.yaml"}


def test_a_draft_keeps_its_id_and_number(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        draft = versions.create_draft(*FORM, actor=admin)
        data = yaml.safe_load(draft.source_text)
        problems = versions.save_draft(
            draft, to_yaml({**data, "id": "mic.other", "version": 9}), actor=admin
        )
        assert {p.path for p in problems} >= {"id", "version"}


def test_publishing_refuses_a_draft_overtaken_by_another_version(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        draft = versions.create_draft(*FORM, actor=admin)
        versions.discard(draft, actor=admin)
        stale = versions.create_draft(*FORM, actor=admin)
        # The repository upgrades the form meanwhile: the draft's base is no longer live.
        stale.state = VersionState.RETIRED  # out of the way of the load's number rule
        db.session.flush()

        def upgrade(data: dict[str, Any]) -> None:
            data["forms"]["mic/tenshutsu"]["version"] = 3

        load_minimal(tmp_path, upgrade)
        stale.state = VersionState.DRAFT
        db.session.flush()
        with (
            force_locale("en"),
            pytest.raises(versions.VersionRefused, match="published after this draft"),
        ):
            versions.publish(stale, actor=admin)


def test_retiring_brings_back_the_version_before(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        draft = versions.create_draft(*FORM, actor=admin)
        versions.save_draft(draft, retitled(draft, "Moving out"), actor=admin)
        versions.publish(draft, actor=admin)
        assert title_now() == "Moving out"
        versions.retire(draft, actor=admin)
        assert title_now() == "Moving-out notification"
        assert draft.state == VersionState.RETIRED and draft.retired_at is not None
        # The last version of a form a workflow files cannot go.
        only = versions.published_of(*FORM)
        with force_locale("en"), pytest.raises(versions.VersionRefused, match="break"):
            versions.retire(only, actor=admin)
        assert only.state == VersionState.PUBLISHED
        assert title_now() == "Moving-out notification"


def test_a_retirement_stamped_by_a_clock_behind_is_still_seen(app, tmp_path: Path) -> None:
    """Processes on several machines stamp with their own clocks: a retirement from one
    whose clock is behind another's changes no ``max(retired_at)``, and must still reach
    every process's catalog."""
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        versions.retire(admin_publishes(admin, "Moving out"), actor=admin)
        first_retirement = utcnow()
        leaving = admin_publishes(admin, "Leaving")
        assert title_now() == "Leaving"
        with as_of(first_retirement - timedelta(hours=1)):
            versions.retire(leaving, actor=admin)
        assert title_now() == "Moving-out notification"


# The repository and the admins --------------------------------------------------------


def admin_publishes(admin, en: str) -> DefinitionVersion:  # noqa: ANN001
    draft = versions.create_draft(*FORM, actor=admin)
    versions.save_draft(draft, retitled(draft, en), actor=admin)
    return versions.publish(draft, actor=admin)


def test_load_refuses_a_file_not_above_an_admin_version(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        admin_publishes(admin, "Moving out")

        def edit(data: dict[str, Any]) -> None:
            data["forms"]["mic/tenshutsu"]["version"] = 2
            data["forms"]["mic/tenshutsu"]["title"]["en"] = "Repository's own"

        with pytest.raises(services.DefinitionsRefused) as refused:
            load_minimal(tmp_path, edit)
        assert [str(p) for p in refused.value.problems] == [
            "forms/mic/tenshutsu.yaml:version: version 2 is not above an admin's published "
            "version form mic.tenshutsu v2: export that version into the repository, or give "
            "the file version 3"
        ]
        assert title_now() == "Moving out"


def test_load_refuses_a_file_numbered_like_an_admin_draft(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        versions.create_draft(*FORM, actor=admin)

        def bump(data: dict[str, Any]) -> None:
            data["forms"]["mic/tenshutsu"]["version"] = 2

        with pytest.raises(services.DefinitionsRefused) as refused:
            load_minimal(tmp_path, bump)
        assert "not above an admin's draft form mic.tenshutsu v2" in str(refused.value.problems[0])


def test_load_publishes_a_file_above_every_version(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        admin_publishes(admin, "Moving out")

        def upgrade(data: dict[str, Any]) -> None:
            data["forms"]["mic/tenshutsu"]["version"] = 3
            data["forms"]["mic/tenshutsu"]["title"]["en"] = "From the repository"

        assert load_minimal(tmp_path, upgrade).added == ["form mic.tenshutsu v3"]
        assert title_now() == "From the repository"
        live = versions.published_of(*FORM)
        assert (live.origin, live.state) == (VersionOrigin.REPOSITORY, VersionState.PUBLISHED)


def test_an_exported_admin_version_in_the_repository_is_unchanged(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        published = admin_publishes(admin, "Moving out")

        def exported(data: dict[str, Any]) -> None:
            data["forms"]["mic/tenshutsu"] = published.content

        report = load_minimal(tmp_path, exported)
        assert report.added == [] and "form mic.tenshutsu v2" in report.unchanged


# Cases and municipalities -------------------------------------------------------------


def test_a_case_keeps_its_version_and_the_next_uses_the_new(
    app, client, definitions, resident
) -> None:
    person = resident("yamada-taro")
    first_page = person.start("moving")
    with app.app_context():
        staff = AccountFactory()
        draft = versions.create_draft("workflow", "moving", actor=staff)
        data = yaml.safe_load(draft.source_text)
        data["title"]["ja"] = "引越し（新様式）"
        assert versions.save_draft(draft, to_yaml(data), actor=staff) == []
        assert "引越し（新様式）" not in client.get("/").text  # a draft is not live
        versions.publish(draft, actor=staff)
        db.session.commit()

    old_case = person.client.get(first_page).text
    assert "引越し（新様式）" not in old_case and "引越し" in old_case
    other = app.test_client()
    assert Person(other, "sato-hanako").sign_in().response.status_code == 302
    assert "引越し（新様式）" in other.get("/").text


def test_a_municipality_override_reaches_only_cases_filed_there(app, tmp_path: Path) -> None:
    with app.app_context():
        admin = AccountFactory()
        load_minimal(tmp_path)
        town, other = MunicipalityFactory(departments=[]), MunicipalityFactory(departments=[])
        before = services.snapshot_for("moving")
        draft = versions.create_draft(*FORM, actor=admin, scope=versions.Scope(town))
        assert versions.save_draft(draft, retitled(draft, "Town's moving out"), actor=admin) == []
        versions.publish(draft, actor=admin)
        assert title_now() == "Moving-out notification"  # the national one is unchanged

        after = services.snapshot_for("moving")
        parsed = build_snapshot(after.content)
        with force_locale("en"):
            assert str(parsed.form("mic.tenshutsu", town.code).title) == "Town's moving out"
            assert str(parsed.form("mic.tenshutsu", other.code).title) == (
                "Moving-out notification"
            )
            assert str(parsed.form("mic.tenshutsu").title) == "Moving-out notification"
            # A case begun before keeps its frozen snapshot, without the override.
            kept = build_snapshot(before.content)
            assert str(kept.form("mic.tenshutsu", town.code).title) == "Moving-out notification"
        assert before.digest != after.digest


def test_texts_may_be_in_any_configured_language_with_japanese_required(
    app, tmp_path: Path, monkeypatch
) -> None:
    def languages(data: dict[str, Any]) -> None:
        data["forms"]["mic/tenshutsu"]["title"] = {"ja": "転出届", "ko": "전출신고"}

    with app.app_context():
        with pytest.raises(services.DefinitionsRefused) as refused:  # "ko" is not configured
            load_minimal(tmp_path, languages)
        assert "'ko' is not a language of this portal" in str(refused.value.problems[0])
        db.session.rollback()
        monkeypatch.setitem(app.config, "LANGUAGES", ("ja", "en", "ko"))
        assert load_minimal(tmp_path, languages).added
        title = Text.of(services.current_catalog().forms["mic.tenshutsu"]["title"])
        with force_locale("en"):
            assert str(title) == "転出届"  # Japanese stands in for English
        assert title.others == (("ko", "전출신고"),)


def test_yaml_that_cannot_be_stored_is_a_fault_not_an_error(app, tmp_path: Path) -> None:
    with app.app_context():
        load_minimal(tmp_path)
        draft = versions.create_draft(*FORM, actor=None)
        for text, expected in (
            ("id: mic.tenshutsu\nsince: 2026-12-01\n", "put dates in quotes"),
            ("version: " + "9" * 5000, "not a definition"),
            ("[" * 50_000, "not"),
        ):
            problems = versions.save_draft(draft, text, actor=None)
            assert expected in str(problems[0].message)
            assert draft.source_text == text


def test_load_refuses_an_upgrade_that_breaks_a_municipality_override(app, tmp_path: Path) -> None:
    with app.app_context():
        load_minimal(tmp_path)
        town = MunicipalityFactory(departments=[])
        draft = versions.create_draft(*FORM, actor=None, scope=versions.Scope(town))
        data = yaml.safe_load(draft.source_text)
        data["sections"][0]["fields"].append({"key": "move.members", "required": False})
        assert versions.save_draft(draft, to_yaml(data), actor=None) == []
        versions.publish(draft, actor=None)

        def drop_members(data: dict[str, Any]) -> None:
            data["vocabulary"]["version"] = 2
            del data["vocabulary"]["items"]["move.members"]

        with pytest.raises(services.DefinitionsRefused) as refused:
            load_minimal(tmp_path, drop_members)
        assert [str(p) for p in refused.value.problems] == [
            f"{town.code}:forms/mic/tenshutsu.yaml:sections/0/fields/3/key: "
            "unknown vocabulary key 'move.members'"
        ]
        assert services.current_catalog().vocabulary["version"] == 1  # nothing was loaded
