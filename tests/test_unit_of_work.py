"""Outside requests, a CLI command or a job is one unit of work, with a request's rule:
committed when it ends normally, rolled back when it fails."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.extensions import db
from portal.transactions import unit_of_work

ISSUER = "https://id.example.jp"


def _accounts(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Account.subject).order_by(Account.subject)))


def test_a_failing_command_leaves_no_row_behind(app, runner, municipalities) -> None:
    """The account is created before the command finds its order incomplete."""
    result = runner.invoke(
        args=["staff", "grant", "admin", "--issuer", ISSUER, "--subject", "half-done"]
    )
    assert result.exit_code == 2, result.output
    assert "an admin needs either --municipality or --portal" in result.output
    assert _accounts(app) == []


def test_a_failing_definitions_load_stores_nothing(app, runner, tmp_path) -> None:
    forms, workflows = tmp_path / "forms", tmp_path / "workflows"
    forms.mkdir(), workflows.mkdir()
    (forms / "vocabulary.yaml").write_text("version: 1\nitems: {}\n")
    (workflows / "broken.yaml").write_text("id: broken\n")
    result = runner.invoke(
        args=["definitions", "load", "--forms", str(forms), "--workflows", str(workflows)]
    )
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(db.metadata.tables["definition_versions"])
            )
            == 0
        )


def test_a_command_that_succeeds_is_committed(app, runner, municipalities) -> None:
    result = runner.invoke(
        args=["staff", "grant", "admin", "--issuer", ISSUER, "--subject", "whole", "--portal"]
    )
    assert result.exit_code == 0, result.output
    assert _accounts(app) == ["whole"]


def test_a_failed_job_does_not_leak_into_the_next_one(app) -> None:
    """A worker runs many jobs in one app context: each commits only its own work."""
    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            db.session.add(Account(issuer=ISSUER, subject="failed-job"))
            db.session.flush()
            raise RuntimeError("the job failed")
        with unit_of_work():
            db.session.add(Account(issuer=ISSUER, subject="next-job"))
    assert _accounts(app) == ["next-job"]


def test_as_a_decorator_too(app) -> None:
    @unit_of_work()
    def job(subject: str) -> None:
        db.session.add(Account(issuer=ISSUER, subject=subject))

    with app.app_context():
        job("decorated")
    assert _accounts(app) == ["decorated"]


def test_a_request_is_its_own_unit_of_work(app) -> None:
    with app.test_request_context("/"), pytest.raises(RuntimeError), unit_of_work():
        pass
