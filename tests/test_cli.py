"""Operators grant staff roles and load demo data from the command line."""

from __future__ import annotations

from sqlalchemy import func, select

from portal import access
from portal.accounts.models import Account, Role
from portal.audit.models import AuditEntry
from portal.extensions import db


def test_demo_load_is_idempotent(app, runner) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = [
            db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables
        ]
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        again = [
            db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables
        ]
    assert counts == again
    assert counts != [0] * len(counts)


def test_grant_a_clerk_to_an_identity_not_signed_in_yet(app, runner, municipalities) -> None:
    result = runner.invoke(
        args=[
            "staff",
            "grant",
            "clerk",
            "--issuer",
            "https://id.example.jp",
            "--subject",
            "abc",
            "--municipality",
            "141003",
            "--department",
            "childcare",
            "--department",
            "education",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(subject="abc"))
        assert sorted(r.department.kind for r in account.roles) == ["childcare", "education"]
        assert {r.role for r in account.roles} == {Role.CLERK}


def test_grant_a_supervisor_who_assigns_the_departments_work(app, runner, municipalities) -> None:
    who = ["--issuer", "https://id.example.jp", "--subject", "boss"]
    args = ["staff", "grant", "supervisor", *who, "--municipality", "141003"]
    result = runner.invoke(args=[*args, "--department", "childcare"])
    assert result.exit_code == 0, result.output
    assert (
        "needs --municipality" in runner.invoke(args=["staff", "grant", "supervisor", *who]).output
    )
    with app.app_context():
        account = db.session.scalar(select(Account).filter_by(subject="boss"))
        (role,) = account.roles
        assert (role.role, role.department.kind) == (Role.SUPERVISOR, "childcare")
        assert access.may_supervise(account, role.department)


def test_a_clerk_works_for_one_municipality_only(runner, municipalities) -> None:
    who = ["--issuer", "https://id.example.jp", "--subject", "abc"]
    assert (
        runner.invoke(
            args=[
                "staff",
                "grant",
                "clerk",
                *who,
                "--municipality",
                "131016",
                "--department",
                "childcare",
            ]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        args=[
            "staff",
            "grant",
            "clerk",
            *who,
            "--municipality",
            "141003",
            "--department",
            "childcare",
        ]
    )
    assert result.exit_code != 0
    assert "one municipality" in result.output


def test_grant_admins_and_list_and_revoke(app, runner, municipalities) -> None:
    municipal = ["--issuer", "https://id.example.jp", "--subject", "mayor-office"]
    portal = ["--issuer", "https://id.example.jp", "--subject", "operator"]
    assert (
        runner.invoke(
            args=["staff", "grant", "admin", *municipal, "--municipality", "131016"]
        ).exit_code
        == 0
    )
    assert runner.invoke(args=["staff", "grant", "admin", *portal, "--portal"]).exit_code == 0
    listing = runner.invoke(args=["staff", "list"]).output
    assert "admin\t131016" in listing and "admin\twhole portal" in listing
    revoked = runner.invoke(args=["staff", "revoke", *portal])
    assert "revoked 1 role" in revoked.output
    assert "whole portal" not in runner.invoke(args=["staff", "list"]).output
    with app.app_context():  # an operator's grants and revocations are audited too
        done = db.session.execute(select(AuditEntry.chain, AuditEntry.action, AuditEntry.actor_id))
        assert sorted(done) == [
            ("municipality:131016", "staff_role.granted", None),
            ("portal", "staff_role.granted", None),
            ("portal", "staff_role.revoked", None),
        ]


def test_grant_refuses_incomplete_orders(runner, municipalities) -> None:
    who = ["--issuer", "https://id.example.jp", "--subject", "abc"]
    assert "needs --municipality" in runner.invoke(args=["staff", "grant", "clerk", *who]).output
    assert (
        "either --municipality or --portal"
        in runner.invoke(args=["staff", "grant", "admin", *who]).output
    )
    assert (
        "no municipality with code 999999"
        in runner.invoke(args=["staff", "grant", "admin", *who, "--municipality", "999999"]).output
    )
    assert (
        "no account with id 424242"
        in runner.invoke(args=["staff", "grant", "admin", "--account", "424242", "--portal"]).output
    )
