"""The municipality is the tenant key: every table of the models is placed for Citus, and the
keys of the distributed ones allow it, but for the gaps listed with their reasons.

Derived from the metadata, never from a list of tables here: a new table, key or reference
that breaks the rules fails, and so does a listed gap that was fixed and not taken off."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Table,
    inspect,
    text,
)

from portal.extensions import db
from portal.tenancy.distribution import (
    KNOWN_GAPS,
    OTHER_TABLES,
    TABLES,
    Placement,
    Where,
    faults,
)


def test_every_table_is_placed_with_a_reason(app) -> None:
    assert sorted(db.metadata.tables) == sorted(TABLES)
    assert all(where.reason for where in TABLES.values())


def test_every_table_of_the_database_is_placed(app) -> None:
    """The job queue's tables (on PostgreSQL) and Alembic's are not models: placed apart."""
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert sorted(tables - set(TABLES) - set(OTHER_TABLES)) == []


def test_the_keys_allow_the_placement_but_for_the_known_gaps(app) -> None:
    found = faults(db.metadata)
    assert sorted(set(found) - set(KNOWN_GAPS)) == [], "a new fault: fix it, or list it"
    assert sorted(set(KNOWN_GAPS) - set(found)) == [], "fixed: take it off KNOWN_GAPS"
    assert all(KNOWN_GAPS.values())


def test_the_certificates_keys_are_co_located(app) -> None:
    """What the migration b7d3e1a90c42 fixed, kept fixed."""
    found = "\n".join(faults(db.metadata))
    assert "status_list_entries" not in found
    assert "certificates (request_id)" not in found


def _schema() -> MetaData:
    """Two tenant tables and a reference table, as a new migration might add them."""
    metadata = MetaData()
    Table("towns", metadata, Column("id", Integer, primary_key=True))
    Table(
        "parcels",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("municipality_id", Integer, ForeignKey("towns.id"), primary_key=True),
    )
    Table(
        "labels",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("municipality_id", Integer, primary_key=True),
        Column("parcel_id", Integer),
        Column("code", Integer, unique=True),
        ForeignKeyConstraint(["parcel_id"], ["parcels.id"]),
    )
    Table("notes", metadata, Column("id", Integer, primary_key=True))
    return metadata


NOT_CO_LOCATED = "labels (parcel_id) -> parcels: not co-located (no municipality_id on both sides)"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (
            Placement.DISTRIBUTED,
            {"labels: unique (code) lacks municipality_id", NOT_CO_LOCATED},
        ),
        (
            Placement.REFERENCE,
            {"labels (parcel_id) -> parcels: a reference table refers to a distributed one"},
        ),
        (
            Placement.LOCAL,
            {"labels (parcel_id) -> parcels: a local table refers to a distributed one"},
        ),
    ],
)
def test_the_rules_find_what_citus_would_refuse(labels: Placement, expected: set[str]) -> None:
    placed = {
        "towns": Where(Placement.REFERENCE, "the tenants"),
        "parcels": Where(Placement.DISTRIBUTED, "a town's"),
        "labels": Where(labels, "under test"),
        "notes": Where(Placement.LOCAL, "the portal's"),
    }
    assert set(faults(_schema(), placed)) == expected


def test_a_new_table_is_placed_and_a_distributed_one_keyed() -> None:
    placed = {
        "towns": Where(Placement.REFERENCE, "the tenants"),
        "parcels": Where(Placement.DISTRIBUTED, "a town's"),
        "labels": Where(Placement.REFERENCE, "under test"),
        "notes": Where(Placement.DISTRIBUTED, "a new tenant table without its key"),
        "gone": Where(Placement.LOCAL, "dropped since"),
    }
    found = set(faults(_schema(), placed))
    assert "notes: no municipality_id" in found
    assert "gone: placed but not a table" in found
    del placed["labels"]
    assert "labels: not placed" in faults(_schema(), placed)


def test_the_upgrade_gives_a_requests_rows_its_municipality(tmp_path) -> None:
    """A deployment's events, corrections and bookings get their request's municipality,
    and from then on a row naming another municipality than its request's is refused."""
    from flask_migrate import upgrade
    from sqlalchemy.exc import IntegrityError

    from portal import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    now = "2026-12-01 00:00:00"
    rows = [
        "INSERT INTO municipalities (id, code, prefecture_ja, name_ja, name_en, kind) VALUES"
        " (1, '131016', '東京都', '千代田区', 'Chiyoda', 'special_ward'),"
        " (2, '141003', '神奈川県', '横浜市', 'Yokohama', 'designated_city')",
        "INSERT INTO departments (id, municipality_id, kind, name_ja, name_en)"
        " VALUES (1, 2, 'resident_registration', '住民課', 'Residents')",
        "INSERT INTO accounts (id, issuer, subject, display_name, identity, created_at)"
        f" VALUES (7, 'https://id.example.jp', 's', '', '{{}}', '{now}')",
        "INSERT INTO definition_snapshots (id, digest, workflow_key, workflow_version,"
        f" content, created_at) VALUES (1, 'd', 'moving', 1, '{{}}', '{now}')",
        "INSERT INTO cases (id, account_id, snapshot_id, snapshot_digest, workflow_key, status,"
        " answers, locked_keys, declined_forms, completed_pages, language, created_at,"
        f" updated_at) VALUES (1, 7, 1, 'd', 'moving', 'submitted', '{{}}', '[]', '[]', '[]',"
        f" 'ja', '{now}', '{now}')",
        "INSERT INTO requests (id, case_id, form_id, form_version, municipality_id, office_id,"
        " department_id, status, created_at, version, answers, answers_digest, resident_code,"
        f" paused_days) VALUES (1, 1, 'mic.tennyu', 1, 2, 2, 1, 'in_review', '{now}', 2, '{{}}',"
        " '', '', 0)",
        "INSERT INTO request_events (id, request_id, at, actor_kind, action, from_status,"
        f" to_status, version, reason, changes) VALUES (1, 1, '{now}', 'clerk', 'claim',"
        " 'submitted', 'in_review', 2, '', '{}')",
        "INSERT INTO corrections (id, request_id, asked_at, fields, documents, reason, changes)"
        f" VALUES (1, 1, '{now}', '[]', '[]', 'blurred', '{{}}')",
        "INSERT INTO bookings (id, request_id, department_id, slot_start, status, created_at)"
        f" VALUES (1, 1, 1, '{now}', 'booked', '{now}')",
    ]
    with app.app_context():
        upgrade(revision="c4a9e2f71b36")
        with db.engine.begin() as connection:
            for row in rows:
                connection.execute(text(row))
        upgrade()
        with db.engine.connect() as connection:
            for table in ("request_events", "corrections", "bookings"):
                copied = connection.execute(text(f"SELECT municipality_id FROM {table}"))
                assert copied.scalar_one() == 2, table
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO corrections (request_id, municipality_id, asked_at, fields,"
                    f" documents, reason, changes) VALUES (1, 1, '{now}', '[]', '[]', 'x', '{{}}')"
                )
            )
        db.engine.dispose()
