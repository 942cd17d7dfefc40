"""Copying the database out and back in: ``pg_dump``/``pg_restore`` for PostgreSQL, SQLite's
online backup API for the embedded default.

Each copy is consistent on its own, and what else the backup reads from the database (its
revision, the files it names) is read from the same state: on PostgreSQL in a transaction
whose snapshot ``pg_dump`` shares, on SQLite from the copy itself.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from alembic.runtime.migration import MigrationContext
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

R = TypeVar("R")

#: libpq's connection keywords a URL may carry as query parameters (``?sslmode=require``).
LIBPQ_QUERY_KEYWORDS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "sslpassword",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
        "passfile",
        "service",
    }
)


class DatabaseKind(StrEnum):
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"

    @property
    def member(self) -> str:
        """The database's name inside an archive."""
        return "database.dump" if self is DatabaseKind.POSTGRESQL else "database.sqlite3"


class DatabaseToolFailed(Exception):
    """``pg_dump`` or ``pg_restore`` failed (or is not installed); says what it said."""


def kind_of(engine: Engine) -> DatabaseKind:
    name = engine.dialect.name
    if name not in DatabaseKind.__members__.values():
        raise DatabaseToolFailed(f"backups support PostgreSQL and SQLite, not {name}")
    return DatabaseKind(name)


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def dump(engine: Engine, into: Path, read: Callable[[Connection], R]) -> R:
    """Copy the database to the file ``into``; ``read`` runs against the same state."""
    if kind_of(engine) is DatabaseKind.POSTGRESQL:
        return _pg_dump(engine, into, read)
    return _sqlite_backup(engine, into, read)


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's contents with those of the copy ``source``, all or nothing."""
    engine.dispose()  # no connection of ours holds the database while it is replaced
    if kind_of(engine) is DatabaseKind.POSTGRESQL:
        _pg_restore(engine.url, source)
    else:
        _sqlite_restore(engine.url, source)


def is_empty(engine: Engine) -> bool:
    """True when the database has no table at all (a new one, not even migrated)."""
    with engine.connect() as connection:
        return not inspect(connection).get_table_names()


def libpq_arguments(url: URL) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL as libpq takes it: a connection string without the password, and
    the environment for the tool, the password in ``PGPASSWORD`` (never on a command line,
    where every user of the machine can read it)."""
    keywords: dict[str, str | int] = {}
    if url.host:
        keywords["host"] = url.host
    if url.port:
        keywords["port"] = url.port
    if url.username:
        keywords["user"] = url.username
    if url.database:
        keywords["dbname"] = url.database
    for key, value in url.query.items():
        if key not in LIBPQ_QUERY_KEYWORDS:
            raise DatabaseToolFailed(f"PORTAL_DATABASE_URL: unknown connection parameter {key!r}")
        keywords[key] = value if isinstance(value, str) else value[-1]
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = url.password
    return make_conninfo(**keywords), environment


def _pg_dump(engine: Engine, into: Path, read: Callable[[Connection], R]) -> R:
    """``pg_dump -Fc`` from the snapshot of a read-only repeatable-read transaction that
    stays open until the dump ends, ``read`` run in that transaction."""
    conninfo, environment = libpq_arguments(engine.url)
    connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            result = read(connection)
            _run(
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={into}"]
                + [f"--dbname={conninfo}"],
                environment,
            )
    finally:
        connection.close()
    return result


def _pg_restore(url: URL, source: Path) -> None:
    """``pg_restore`` in one transaction: the objects of the dump dropped (those there) and
    made again, owned by the portal's own database role."""
    conninfo, environment = libpq_arguments(url)
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        + [f"--dbname={conninfo}", str(source)],
        environment,
    )


def _run(command: list[str], environment: dict[str, str]) -> None:
    try:
        finished = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise DatabaseToolFailed(
            f"{command[0]} is not installed: install PostgreSQL's client programs "
            "(Debian: apt-get install postgresql-client) of the server's major version"
        ) from None
    if finished.returncode != 0:
        said = finished.stderr.strip() or f"exit status {finished.returncode}"
        if "version mismatch" in said:
            said += (
                "\n(install the PostgreSQL client programs of the server's major version, "
                "e.g. postgresql-client-16, and put them first on PATH)"
            )
        raise DatabaseToolFailed(f"{command[0]} failed: {said}")


def _sqlite_backup(engine: Engine, into: Path, read: Callable[[Connection], R]) -> R:
    """SQLite's online backup: a consistent copy while the portal keeps writing."""
    source = sqlite3.connect(_sqlite_path(engine.url))
    copy = sqlite3.connect(into)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    copied = create_engine(f"sqlite:///{into}")
    try:
        with copied.connect() as connection:
            return read(connection)
    finally:
        copied.dispose()


def _sqlite_restore(url: URL, source: Path) -> None:
    """The copy's pages replace the database's in one step (the backup API writes them
    under a lock, in a transaction of the destination)."""
    copy = sqlite3.connect(source)
    target = sqlite3.connect(_sqlite_path(url))
    try:
        copy.backup(target)
    finally:
        target.close()
        copy.close()


def _sqlite_path(url: URL | str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseToolFailed("an in-memory SQLite database cannot be backed up or restored")
    return database
