"""Where each table would go on Citus, the municipality being the tenant key, and the faults
that keep today's schema from going there as it is.

Nothing here shards anything: it is the plan for the day one PostgreSQL primary is not
enough (README, "Many processes, and Citus"), kept true by a test that reads the models'
metadata. A *distributed* table is split by ``municipality_id``, all of them co-located (one
municipality's rows of every table on one node); a *reference* table is copied to every
node; a *local* table stays on the coordinator. On Citus, keys and foreign keys must follow:

- a distributed table's primary key and every unique key include ``municipality_id``
  (uniqueness is checked within a shard, never across them);
- a foreign key between distributed tables includes ``municipality_id`` on both sides
  (co-located, so it is checked within one node);
- a distributed table may refer to a reference table; a reference table never refers to a
  distributed one, and a local table and a distributed one never refer to each other.

``KNOWN_GAPS`` lists, each with its reason, the faults the schema has today; the test fails
for a fault not listed (a new table or key breaking the rules) and for a listed one that is
gone (fixed: take it off the list).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from sqlalchemy import ForeignKeyConstraint, MetaData, Table, UniqueConstraint

TENANT_KEY: Final = "municipality_id"


class Placement(StrEnum):
    DISTRIBUTED = "distributed"
    REFERENCE = "reference"
    LOCAL = "local"


@dataclass(frozen=True)
class Where:
    placement: Placement
    reason: str


def _distributed(reason: str) -> Where:
    return Where(Placement.DISTRIBUTED, reason)


def _reference(reason: str) -> Where:
    return Where(Placement.REFERENCE, reason)


def _local(reason: str) -> Where:
    return Where(Placement.LOCAL, reason)


TABLES: Final[Mapping[str, Where]] = MappingProxyType(
    {
        # A municipality's work: written by its clerks, read by its queues.
        "requests": _distributed("a procedure filed with one municipality, worked by its clerks"),
        "request_events": _distributed("a request's history, read with the request"),
        "corrections": _distributed("a clerk's request for changes, read with the request"),
        "bookings": _distributed("a counter visit at one of the municipality's departments"),
        "slot_counts": _distributed("a department's booked places, written on each booking"),
        "certificates": _distributed("issued by one municipality, signed with its key"),
        "retired_certificates": _distributed(
            "what /verify still says of a certificate whose case retention removed"
        ),
        "status_lists": _distributed("a municipality's revocation lists"),
        "status_list_entries": _distributed("one index of a municipality's status list"),
        "access_records": _distributed("which office read a resident's data, the largest log"),
        # Small, read by every municipality's requests, changed by admins now and then.
        "municipalities": _reference(
            "the tenants themselves, 1,912 rows; routing to another municipality reads them"
        ),
        "department_kinds": _reference("what definitions route to, a handful of rows"),
        "departments": _reference(
            "a few per municipality; a resident's filing routes to another municipality's"
        ),
        "counter_settings": _reference("a department's counter: read when booking, rarely set"),
        "opening_hours": _reference("a counter's hours, rarely set"),
        "closed_dates": _reference("a counter's closed days, rarely set"),
        "staff_roles": _reference("who may do what, read with the account on every request"),
        "definition_versions": _reference(
            "the catalog, national and local: every process reads it whole"
        ),
        "definition_snapshots": _reference(
            "immutable, shared by the cases of every municipality, stored once per content"
        ),
        "accounts": _reference(
            "residents and staff, named by every municipality's rows (holders, assignees); "
            "written at each sign-in"
        ),
        # The resident's side, which spans municipalities, and the portal's own machinery.
        "cases": _local("a resident's life event, filed with several municipalities at once"),
        "attachments": _local("a case's uploads, read with the case"),
        "messages": _local("a resident's mailbox, whichever municipality wrote"),
        "sign_in_sessions": _local("read on every request with the account"),
        "hand_offs": _local(
            "a case moving from one municipality to another: the cross-tenant flow itself"
        ),
        "audit_entries": _local(
            "hash-chained per municipality and for the portal: each append locks its chain's "
            "head, one place to verify from"
        ),
        "audit_chain_heads": _local("the head of each audit chain, locked by each append"),
        "job_failures": _local("the job queue's errors, beside procrastinate's tables"),
    }
)

#: Tables of the database that are not the portal's models: all local.
OTHER_TABLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "alembic_version": "the migration revision",
        "procrastinate_jobs": "the job queue (procrastinate's): its LISTEN/NOTIFY and "
        "locks work on one node",
        "procrastinate_events": "the job queue's history",
        "procrastinate_periodic_defers": "the job queue's periodic jobs",
        "procrastinate_workers": "the job queue's live workers",
    }
)

_PK = "primary key ({}) lacks municipality_id"
_SWAP = (
    "the primary key becomes (id, municipality_id) when the table is distributed (README): "
    "SQLite numbers only a single-column integer key, and every lookup by id stays one"
)
_CASE = (
    "a case is the resident's and spans municipalities (moving out of one into another): "
    "on Citus this reference is kept by the service, not by a foreign key"
)
_GLOBAL = (
    "unique across all municipalities: a random value found without its municipality "
    "(a verifier types the serial; a file's name); on Citus unique per municipality"
)

#: Each fault the schema has today, with why it is left. See the module's docstring.
KNOWN_GAPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        f"requests: {_PK.format('id')}": _SWAP,
        f"status_lists: {_PK.format('id')}": _SWAP,
        f"certificates: {_PK.format('id')}": _SWAP,
        f"access_records: {_PK.format('id')}": _SWAP,
        f"retired_certificates: {_PK.format('id')}": _SWAP,
        f"request_events: {_PK.format('id')}": _SWAP,
        f"corrections: {_PK.format('id')}": _SWAP,
        f"bookings: {_PK.format('id')}": _SWAP,
        "requests: unique (case_id, form_id) lacks municipality_id": (
            "one request per form of a case, whichever municipality it went to: a rule of "
            "the resident's case, checked by the service that files it on Citus"
        ),
        "requests (case_id) -> cases: a distributed table refers to a local one": _CASE,
        "access_records (case_id) -> cases: a distributed table refers to a local one": _CASE,
        "certificates (case_id) -> cases: a distributed table refers to a local one": _CASE,
        "certificates: unique (case_id) lacks municipality_id": (
            "one receipt per case, issued by its first request's municipality: a rule of "
            "the case, checked by the service on Citus"
        ),
        "certificates: unique (serial) lacks municipality_id": _GLOBAL,
        "certificates: unique (storage_name) lacks municipality_id": _GLOBAL,
        "retired_certificates: unique (serial) lacks municipality_id": _GLOBAL,
        "access_records (request_id) -> requests: not co-located (no municipality_id on "
        "both sides)": (
            "the record's municipality is the office that read (a ward's department may "
            "read a request of its city): co-locating needs the request's municipality "
            "on the record as well"
        ),
        "slot_counts: no municipality_id": (
            "add municipality_id, the department's (a reference table's), where a booking "
            "counts its slot"
        ),
        "hand_offs (from_request_id) -> requests: a local table refers to a distributed one": (
            "a hand-off joins two municipalities' requests: on Citus the service keeps "
            "this reference (README: a case moving between municipalities)"
        ),
        "messages (request_id) -> requests: a local table refers to a distributed one": (
            "a resident's message names the request it is about, in any municipality: on "
            "Citus the service keeps this reference"
        ),
    }
)


def faults(metadata: MetaData, placed: Mapping[str, Where] = TABLES) -> list[str]:
    """Every way the metadata breaks the rules of its tables' placement, as sentences
    naming the table."""
    found: list[str] = []
    names = set(metadata.tables)
    found += [f"{name}: not placed" for name in sorted(names - set(placed))]
    found += [f"{name}: placed but not a table" for name in sorted(set(placed) - names)]
    placement = {name: where.placement for name, where in placed.items()}
    for table in metadata.sorted_tables:
        if table.name not in placement:
            continue
        if placement[table.name] is Placement.DISTRIBUTED:
            found += _key_faults(table)
        found += _reference_faults(table, placement)
    return found


def _key_faults(table: Table) -> Iterator[str]:
    column = table.columns.get(TENANT_KEY)
    if column is None:
        yield f"{table.name}: no municipality_id"
        return
    if column.nullable:
        yield f"{table.name}: municipality_id may be NULL"
    if TENANT_KEY not in table.primary_key.columns:
        yield f"{table.name}: " + _PK.format(", ".join(c.name for c in table.primary_key.columns))
    for columns in _unique_keys(table):
        if TENANT_KEY not in columns:
            yield f"{table.name}: unique ({', '.join(columns)}) lacks municipality_id"


def _unique_keys(table: Table) -> Iterator[list[str]]:
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            yield [c.name for c in constraint.columns]
    for index in table.indexes:
        if index.unique:
            yield [c.name for c in index.columns]


def _reference_faults(table: Table, placement: Mapping[str, Placement]) -> Iterator[str]:
    here = placement[table.name]
    for key in sorted(table.foreign_key_constraints, key=lambda k: [c.name for c in k.columns]):
        target = key.referred_table.name
        there = placement.get(target)
        columns = ", ".join(c.name for c in key.columns)
        arrow = f"{table.name} ({columns}) -> {target}"
        if here is Placement.DISTRIBUTED and there is Placement.DISTRIBUTED:
            if not _co_located(key):
                yield f"{arrow}: not co-located (no municipality_id on both sides)"
        elif there is Placement.DISTRIBUTED:
            yield f"{arrow}: a {here} table refers to a distributed one"
        elif here is Placement.DISTRIBUTED and there is Placement.LOCAL:
            yield f"{arrow}: a distributed table refers to a local one"


def _co_located(key: ForeignKeyConstraint) -> bool:
    return any(
        element.parent.name == TENANT_KEY and element.column.name == TENANT_KEY
        for element in key.elements
    )
