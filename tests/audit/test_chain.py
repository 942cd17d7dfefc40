"""The audit log: appends number each chain 1, 2, ...; `audit verify` finds any entry edited,
inserted or deleted behind the application's back; nothing in the application changes one."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.audit import services
from portal.audit.models import AccessPurpose, AccessRecord, AppendOnly, AuditEntry
from portal.extensions import db
from tests.factories import AccountFactory, CaseFactory

CHAIN = "municipality:131016"


def _append_three(app: Flask) -> None:
    with app.app_context():
        clerk = AccountFactory()
        for number in (1, 2, 3):
            services.append(
                CHAIN,
                actor=clerk,
                action="request.note",
                subject=f"request:{number}",
                details={"reason": f"note {number}", "ja": "住民票"},
            )
        services.append(
            "portal", actor=None, action="definitions.load", subject="form:x", details={}
        )
        db.session.commit()


def tamper(app: Flask, sql: str, **params: object) -> None:
    """Change rows as someone with the database's superuser could, past the triggers."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
        db.session.execute(text(sql), params)
        db.session.commit()


def verify(runner: FlaskCliRunner) -> tuple[int, str]:
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def test_each_chain_is_numbered_from_one_and_verifies(app, runner) -> None:
    _append_three(app)
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.chain, e.seq) for e in entries] == [
            (CHAIN, 1),
            (CHAIN, 2),
            (CHAIN, 3),
            ("portal", 1),
        ]
        assert entries[0].prev_hash == "0" * 64
        assert entries[1].prev_hash == entries[0].hash
        assert entries[3].prev_hash == "0" * 64
    assert verify(runner) == (0, "2 chain(s), 4 entries verified\n")


def test_an_empty_log_verifies(runner) -> None:
    assert verify(runner) == (0, "0 chain(s), 0 entries verified\n")


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (
            'UPDATE audit_entries SET details = \'{"reason": "nothing"}\' WHERE seq = 2'
            " AND chain = :chain",
            "entry #2 (id {2}): its content does not match its hash",
        ),
        (
            "UPDATE audit_entries SET actor_id = NULL WHERE seq = 3 AND chain = :chain",
            "entry #3 (id {3}): its content does not match its hash",
        ),
        ("DELETE FROM audit_entries WHERE seq = 2 AND chain = :chain", "entry #2: missing"),
        (
            "DELETE FROM audit_entries WHERE seq = 3 AND chain = :chain",
            "entry #3: missing: the chain's last entries were deleted",
        ),
        (
            "UPDATE audit_entries SET seq = seq + 10 WHERE seq = 3 AND chain = :chain",
            "entry #3: missing",
        ),
        (
            "INSERT INTO audit_entries (chain, seq, at, actor_id, action, subject, details,"
            " prev_hash, hash) SELECT chain, 4, at, actor_id, action, subject, details, hash, hash"
            " FROM audit_entries WHERE seq = 3 AND chain = :chain",
            "entry #4 (id {4}): its content does not match its hash",
        ),
        (
            "UPDATE audit_chain_heads SET hash = 'x' WHERE chain = :chain",
            "entry #3 (id {3}): the head row names another last entry",
        ),
    ],
    ids=["edited", "edited actor", "deleted", "deleted last", "renumbered", "inserted", "head"],
)
def test_verify_names_the_first_entry_tampered_with(app, runner, sql, named) -> None:
    _append_three(app)
    tamper(app, sql, chain=CHAIN)
    with app.app_context():
        ids = dict(
            db.session.execute(
                select(AuditEntry.seq, AuditEntry.id).where(AuditEntry.chain == CHAIN)
            ).all()
        )
    code, output = verify(runner)
    assert code == 1
    assert (
        f"audit log broken: chain {CHAIN}: {named.format(None, *ids.values(), ids.get(4))}"
        in output
    )


def test_an_entry_recomputed_in_the_middle_breaks_the_next_one(app, runner) -> None:
    """Even a forger who recomputes the edited entry's hash is caught by its successor."""
    from portal.audit.chain import entry_hash

    _append_three(app)
    with app.app_context():
        second = db.session.scalar(select(AuditEntry).filter_by(chain=CHAIN, seq=2))
        forged = entry_hash(
            chain=CHAIN,
            seq=2,
            at=second.at,
            actor_id=None,
            action=second.action,
            subject=second.subject,
            details=second.details,
            prev_hash=second.prev_hash,
        )
        third_id = db.session.scalar(select(AuditEntry.id).filter_by(chain=CHAIN, seq=3))
    tamper(
        app,
        "UPDATE audit_entries SET actor_id = NULL, hash = :forged WHERE chain = :chain AND seq = 2",
        chain=CHAIN,
        forged=forged,
    )
    code, output = verify(runner)
    assert code == 1
    assert f"entry #3 (id {third_id}): does not follow the entry before it" in output


def _access_record(app: Flask) -> int:
    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"])
        filed = case.requests[0]
        record = services.record_access(
            case.account,
            staff=AccountFactory(),
            municipality=filed.municipality,
            department=filed.department,
            form_id=filed.form_id,
            purpose=AccessPurpose.VIEWED_REQUEST,
            case=case,
            request=filed,
        )
        db.session.commit()
        return record.id


def test_the_application_never_changes_or_deletes_an_entry_or_a_record(app) -> None:
    _append_three(app)
    record_id = _access_record(app)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).filter_by(chain=CHAIN, seq=1))
        entry.action = "something else"
        with pytest.raises(AppendOnly):
            db.session.flush()
        db.session.rollback()
        for model, row_id in ((AuditEntry, entry.id), (AccessRecord, record_id)):
            db.session.delete(db.session.get(model, row_id))
            with pytest.raises(AppendOnly):
                db.session.flush()
            db.session.rollback()
            with pytest.raises(AppendOnly):
                db.session.execute(update(model).where(model.id == row_id).values(id=row_id))
            with pytest.raises(AppendOnly):
                db.session.execute(delete(model))
            db.session.rollback()
        assert db.session.get(AccessRecord, record_id) is not None


def test_deleting_accounts_is_not_blocked(app) -> None:
    """The resident's record goes with their account; a staff account's deletion unlinks it,
    and the audit chain, which names accounts by number only, still verifies."""
    from portal.accounts.models import Account
    from portal.audit.chain import verify as verify_chains

    record_id = _access_record(app)
    with app.app_context():
        record = db.session.get(AccessRecord, record_id)
        staff_id, resident_id = record.staff_id, record.resident_id
        db.session.expunge_all()
        db.session.execute(delete(Account).where(Account.id == staff_id))
        db.session.commit()
        assert db.session.get(AccessRecord, record_id).staff_id is None
        db.session.expunge_all()
        db.session.execute(delete(Account).where(Account.id == resident_id))
        db.session.commit()
        assert db.session.get(AccessRecord, record_id) is None
        result = verify_chains()
        assert result.fault is None and result.entries == 1


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
        "UPDATE access_records SET form_id = 'x'",
        "DELETE FROM access_records",
        "TRUNCATE access_records",
    ],
)
def test_postgresql_refuses_changes_past_the_orm(app, sql) -> None:
    _append_three(app)
    _access_record(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(sql))
        db.session.rollback()
        assert db.session.scalar(select(AuditEntry.action).filter_by(seq=1, chain=CHAIN)) == (
            "request.note"
        )


@pytest.mark.postgresql
def test_concurrent_appends_take_turns_and_never_fork(app, runner) -> None:
    """Writers racing on a new chain: each waits for the head row, so seq is 1..N."""
    writers = 12
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                services.append(
                    "municipality:999999",
                    actor=None,
                    action="test.race",
                    subject=f"writer:{number}",
                    details={"n": number},
                )
                time.sleep(0.01)  # hold the head a little while others queue
                db.session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        seqs = db.session.scalars(
            select(AuditEntry.seq).filter_by(chain="municipality:999999").order_by(AuditEntry.seq)
        ).all()
    assert seqs == list(range(1, writers + 1))
    assert verify(runner) == (0, f"1 chain(s), {writers} entries verified\n")
