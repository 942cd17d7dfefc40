"""The database: one declarative base with stable constraint names, and UTC timestamps."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Date, DateTime, Engine, Enum, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from portal.japan.clock import utcnow
from portal.replica import RoutingSession
from portal.replica import engine as replica_engine

#: utcnow: the models' defaults, from the clock.
__all__ = [
    "Base",
    "UTCDateTime",
    "conflict_insert",
    "MAX_ID",
    "READING_METHODS",
    "days_after",
    "db",
    "on_postgresql",
    "text_enum",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def text_enum(enum: type[StrEnum], length: int = 20) -> Enum:
    """A StrEnum stored as its values in a plain string column, alike on SQLite and
    PostgreSQL: adding a member needs no ALTER TYPE, only the column's length."""
    return Enum(
        enum, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware datetime, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use portal.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


#: Its session sends a read-only view's reads to the replica, if any (portal/replica.py).
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})


#: The largest id a row can have (PostgreSQL's integer): an id from a URL or a form beyond it
#: names nothing, and is refused before it reaches the database (which would raise).
MAX_ID = 2**31 - 1

#: Requests that usually only read: on PostgreSQL their transaction begins at their first
#: write, and a case they name is read without a lock.
READING_METHODS = frozenset({"GET", "HEAD"})


def forget_inherited_connections(app: Flask) -> None:
    """In a process forked from one that holds the app (gunicorn's ``preload_app``): new
    pools for every engine, the replica's too, so that no connection is shared with the
    parent or a sibling; the inherited ones are left open for the parent (SQLAlchemy's
    advice for ``os.fork``: ``dispose(close=False)``)."""
    with app.app_context():
        engines = [*app.extensions["sqlalchemy"].engines.values(), replica_engine(app)]
    for engine in engines:
        if engine is not None:
            engine.dispose(close=False)


def on_postgresql() -> bool:
    """PostgreSQL (production), rather than SQLite (the embedded default)."""
    return db.engine.dialect.name == "postgresql"


def conflict_insert(model: type[Base]) -> Any:
    """An INSERT that can say ``on_conflict_do_nothing()``, in the database's own dialect."""
    return (postgresql.insert if on_postgresql() else sqlite.insert)(model)


#: What :func:`days_after` reads for a missing date: after every real one, so a queue
#: ordered by it lists undated rows last on both databases (which order NULLs differently).
NO_DATE = date(9000, 1, 1)


class days_after(FunctionElement[date]):  # noqa: N801 - used as an SQL function
    """``days_after(a_date, days)``: the date ``days`` days after ``a_date`` (``NO_DATE`` when
    there is none), in each database's own date arithmetic. Written identically in a query
    and in an index, so the index serves the query."""

    type = Date()
    name = "days_after"
    inherit_cache = True


def _operands(element: days_after, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    start, days = (compiler.process(clause, **kw) for clause in element.clauses)
    return start, days


@compiles(days_after, "postgresql")
def _days_after_postgresql(element: days_after, compiler: SQLCompiler, **kw: Any) -> str:
    start, days = _operands(element, compiler, **kw)
    return f"(COALESCE({start}, DATE '{NO_DATE.isoformat()}') + {days})"


@compiles(days_after, "sqlite")
def _days_after_sqlite(element: days_after, compiler: SQLCompiler, **kw: Any) -> str:
    start, days = _operands(element, compiler, **kw)
    return f"date(COALESCE({start}, '{NO_DATE.isoformat()}'), '+' || {days} || ' days')"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite, the embedded default: enforce foreign keys, let readers work beside a writer
    (WAL), wait for a busy writer instead of failing, and sync at checkpoints rather than on
    every commit (WAL keeps committed data safe from a crash of the portal)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(connection: Any, name: str) -> None:
    """pysqlite begins a transaction only before a write, so a SAVEPOINT issued first (as
    ``begin_nested`` does) would begin one of its own, and its RELEASE would commit it, however
    the unit of work ends. Begin the transaction first, so that a rollback undoes it too."""
    dbapi_connection = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, sqlite3.Connection) and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")
