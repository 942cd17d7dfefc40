"""Export writes the published versions as the repository's tree; import makes drafts of
what differs; export then read back gives every shipped definition unchanged."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from portal.definitions import versions
from portal.definitions.models import DefinitionVersion, VersionState
from portal.definitions.sources import read_sources
from portal.extensions import db
from portal.tenancy.models import Municipality
from tests.factories import MunicipalityFactory


def test_export_then_read_back_is_every_shipped_definition(
    app, definitions, tmp_path: Path
) -> None:
    shipped = {(s.kind, s.file): s.digest for s in read_sources().files}
    with app.app_context():
        written = versions.export_tree(tmp_path)
        stored = {
            (row.kind, row.source_file): row.digest
            for row in db.session.scalars(select(DefinitionVersion))
        }
        assert sorted(written) == sorted(file for _, file in shipped)
        back = read_sources(tmp_path / "forms", tmp_path / "workflows")
        assert back.problems == []
        assert {(s.kind, s.file): s.digest for s in back.files} == shipped == stored
        report = versions.import_tree(tmp_path, actor=None)
        assert report.drafted == [] and report.problems == []
        assert len(report.unchanged) == len(shipped)


def test_import_drafts_only_what_differs(app, runner, definitions, tmp_path: Path) -> None:
    with app.app_context():
        versions.export_tree(tmp_path)
    path = tmp_path / "forms" / "mic" / "tenshutsu.yaml"
    form = yaml.safe_load(path.read_text(encoding="utf-8"))
    number = form["version"]
    form["title"]["en"] = "Moving out (imported)"
    path.write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    (tmp_path / "workflows" / "moving.yaml").write_text("id: [broken", encoding="utf-8")

    result = runner.invoke(args=["definitions", "import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"drafted form mic.tenshutsu v{number + 1}" in result.output
    assert "workflows/moving.yaml:/: not valid YAML" in result.output
    with app.app_context():
        draft = versions.draft_of("form", "mic.tenshutsu")
        assert draft is not None and draft.state == VersionState.DRAFT
        assert draft.content["title"]["en"] == "Moving out (imported)"
        assert draft.content["version"] == number + 1
        assert versions.problems_of(draft) == []
        drafts = select(DefinitionVersion).filter_by(state=VersionState.DRAFT)
        assert len(db.session.scalars(drafts).all()) == 1


def test_export_command(app, runner, definitions, tmp_path: Path) -> None:
    result = runner.invoke(args=["definitions", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "forms" / "vocabulary.yaml").is_file()
    assert (tmp_path / "out" / "workflows" / "moving.yaml").is_file()


def test_a_municipalitys_own_versions_export_and_import_in_its_scope(
    app, runner, definitions, tmp_path: Path
) -> None:
    """``--municipality CODE``: its published forms out, and drafts of them back in its
    scope, never the national one; a workflow in its tree is refused."""
    with app.app_context():
        town = MunicipalityFactory(departments=[])
        local = versions.create_draft(
            "form", "mic.tenshutsu", actor=None, scope=versions.Scope(town)
        )
        data = yaml.safe_load(local.source_text)
        data["title"]["en"] = "The town's moving out"
        assert (
            versions.save_draft(local, yaml.safe_dump(data, allow_unicode=True), actor=None) == []
        )
        versions.publish(local, actor=None)
        db.session.commit()
        code = town.code
    out = tmp_path / "out"
    result = runner.invoke(args=["definitions", "export", str(out), "--municipality", code])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml")) == [
        "forms/mic/tenshutsu.yaml"
    ]
    path = out / "forms" / "mic" / "tenshutsu.yaml"
    exported = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert exported["title"]["en"] == "The town's moving out"

    exported["title"]["en"] = "The town's moving out (again)"
    path.write_text(yaml.safe_dump(exported, allow_unicode=True), encoding="utf-8")
    (out / "workflows").mkdir()
    (out / "workflows" / "moving.yaml").write_text("id: moving\n", encoding="utf-8")
    result = runner.invoke(args=["definitions", "import", str(out), "--municipality", code])
    assert result.exit_code == 0, result.output
    assert "workflows/moving.yaml:/: a municipality's own versions are of forms only" in (
        result.output
    )
    with app.app_context():
        town = db.session.get(Municipality, town.id)
        draft = versions.draft_of("form", "mic.tenshutsu", versions.Scope(town))
        assert draft is not None and draft.content["title"]["en"].endswith("(again)")
        assert versions.draft_of("form", "mic.tenshutsu") is None  # the national one untouched

    unknown = runner.invoke(args=["definitions", "export", str(out), "--municipality", "999999"])
    assert unknown.exit_code != 0 and "no municipality has the code '999999'" in unknown.output
