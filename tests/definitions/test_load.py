"""``definitions load`` stores versions all or nothing, and a case keeps what it started with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from portal.definitions import services
from portal.definitions.models import DefinitionVersion
from portal.definitions.sources import FORMS_DIR, WORKFLOWS_DIR, read_sources
from portal.extensions import db
from tests.definitions import minimal
from tests.support.people import Person


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DefinitionVersion))


def load(app, root: Path) -> services.LoadReport:
    with app.app_context():
        report = services.load(read_sources(root / "forms", root / "workflows"))
        db.session.commit()
        return report


def test_load_stores_each_version_once(app, tmp_path: Path) -> None:
    minimal.write(tmp_path, minimal.definitions())
    first = load(app, tmp_path)
    assert sorted(first.added) == [
        "form mic.tenshutsu v1",
        "vocabulary vocabulary v1",
        "workflow moving v1",
    ]
    again = load(app, tmp_path)
    assert again.added == [] and len(again.unchanged) == 3
    assert stored(app) == 3


def test_a_faulty_set_never_half_loads(app, tmp_path: Path) -> None:
    data = minimal.definitions()
    data["workflows"]["moving"]["forms"].append({"form": "mic.nothing", "municipality": "old"})
    minimal.write(tmp_path, data)
    with pytest.raises(services.DefinitionsRefused) as refused:
        load(app, tmp_path)
    assert "unknown form 'mic.nothing'" in str(refused.value.problems[0])
    assert stored(app) == 0


def test_a_changed_file_needs_a_new_version(app, tmp_path: Path) -> None:
    data = minimal.definitions()
    minimal.write(tmp_path, data)
    load(app, tmp_path)
    data["forms"]["mic/tenshutsu"]["title"]["en"] = "Notification of moving out"
    data["workflows"]["moving"]["version"] = 2  # a new workflow version alone is not enough
    minimal.write(tmp_path, data)
    with pytest.raises(services.DefinitionsRefused) as refused:
        load(app, tmp_path)
    assert [str(p) for p in refused.value.problems] == [
        "forms/mic/tenshutsu.yaml:version: changed since version 1 was loaded: "
        "give it a new version"
    ]
    assert stored(app) == 3  # the new workflow version was not stored either


def test_load_command_reports_and_refuses(app, runner, tmp_path: Path) -> None:
    data = minimal.definitions()
    data["forms"]["mic/tenshutsu"]["sections"][0]["fields"][0]["key"] = "applicant.nickname"
    forms, workflows = minimal.write(tmp_path, data)
    result = runner.invoke(
        args=["definitions", "load", "--forms", str(forms), "--workflows", str(workflows)]
    )
    assert result.exit_code == 1
    assert "unknown vocabulary key 'applicant.nickname'" in result.output
    assert "nothing was loaded" in result.output
    assert stored(app) == 0


def test_a_case_keeps_the_definitions_it_started_with(
    app, tmp_path: Path, definitions, resident
) -> None:
    person = resident("yamada-taro")
    first_page = person.start("moving")
    # An admin publishes a new version of the moving workflow with a new title.
    shutil.copytree(FORMS_DIR, tmp_path / "forms")
    shutil.copytree(WORKFLOWS_DIR, tmp_path / "workflows")
    path = tmp_path / "workflows" / "moving.yaml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    workflow["version"] += 1
    workflow["title"]["ja"] = "引越し（新様式）"
    path.write_text(yaml.safe_dump(workflow, allow_unicode=True), encoding="utf-8")
    assert load(app, tmp_path).added == [f"workflow moving v{workflow['version']}"]

    old_case = person.client.get(first_page).text
    assert "引越し（新様式）" not in old_case and "引越し" in old_case

    other = app.test_client()
    assert Person(other, "sato-hanako").sign_in().response.status_code == 302
    assert "引越し（新様式）" in other.get("/").text


def test_a_text_reads_back_as_it_was_given() -> None:
    """``as_dict`` is ``required``'s inverse (a retired certificate keeps its title so)."""
    from portal.definitions.model import Text

    given = {"ja": "転出証明書", "en": "Moving-out certificate", "ko": "전출증명서"}
    assert Text.required(given).as_dict() == given
    assert Text.required({"ja": "受理証明書"}).as_dict() == {"ja": "受理証明書"}
