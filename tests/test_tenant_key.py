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
