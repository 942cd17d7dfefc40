"""Read-only pages from a PostgreSQL streaming replica, named by PORTAL_REPLICA_DATABASE_URL.

Why: the pages clerks and admins keep open (a department's queue, the KPIs) and the public
verify page only read, and they are most of the reading; a standby can answer them and leave
the primary to the writes. Only views marked ``@reads_from_replica`` read there, and only
for GET and HEAD; everything else (the sign-in session's check before the view, the commit
after it, every POST) stays on the primary.

A marked view must not write: any statement that is not a plain SELECT (a flush, an
UPDATE, a lock, SQL as text, a raw connection) raises :class:`WriteInReadOnlyView`, with or
without a replica, so a test on SQLite finds such a view too.

A replica lags. After a request that wrote and committed, the primary's WAL position
(``pg_current_wal_insert_lsn()``: past the commit's record even where commits do not wait
for the WAL to be written, as with ``synchronous_commit=off``, when ``pg_current_wal_lsn()``
may not have reached it yet) is kept in the browser's session; a marked view reads from the
replica only once it has replayed that far (``pg_last_wal_replay_lsn()``), else from the
primary: a clerk's own claim shows on the queue they are sent back to. A replica that
cannot be reached (or is not a standby) is logged and skipped for ``RETRY_AFTER_SECONDS``:
its pages are read from the primary meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import flask_sqlalchemy.session
from flask import (
    Flask,
    Response,
    after_this_request,
    current_app,
    g,
    has_request_context,
    request,
    session,
)
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.exc import DBAPIError

P = ParamSpec("P")
R = TypeVar("R")

#: Where the browser's session keeps the WAL position its last write committed at.
LSN_KEY = "_wal_lsn"
#: A replica that could not be reached is not tried again for this long.
RETRY_AFTER_SECONDS = 5.0
#: Seconds to wait for the replica's connection before reading from the primary.
CONNECT_TIMEOUT = 2
#: In an app made for tests only: which server a marked view read from ("replica:<port>"
#: or "primary").
READ_FROM_HEADER = "X-Portal-Read-From"
#: The methods a marked view reads for (the same as ``portal.db.READING_METHODS``, which
#: imports this module).
_READING_METHODS = frozenset({"GET", "HEAD"})
_EXTENSION = "replica"
_READING = "_replica_reading"
_WROTE = "_replica_wrote"

logger = logging.getLogger(__name__)


class WriteInReadOnlyView(RuntimeError):
    """A view marked ``@reads_from_replica`` tried to write: a bug, never a user's error."""


@dataclass
class Replica:
    """The replica's engine, and until when it is taken for down."""

    engine: Engine
    down_until: float = field(default=0.0)


@dataclass(frozen=True)
class Reading:
    """Where this request's marked view reads: the replica's engine, or None (the primary)."""

    engine: Engine | None
    server: str


class RoutingSession(flask_sqlalchemy.session.Session):
    """The portal's session: inside a marked view, statements go where :class:`Reading` says."""

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        reading: Reading | None = g.get(_READING) if has_request_context() else None
        if reading is not None and bind is None:
            if self._flushing:
                _refuse("a flush")
            if reading.engine is not None:
                return reading.engine
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


def _refuse(what: str) -> None:
    raise WriteInReadOnlyView(f"{request.endpoint} is marked @reads_from_replica but ran {what}")


def _only_reads(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    """Inside a marked view, on either server: a plain SELECT, or the view fails."""
    if has_request_context() and g.get(_READING) is not None:
        compiled = getattr(context, "compiled", None)
        if not _plain_read(getattr(compiled, "statement", None)):
            _refuse(f"{statement.split(None, 1)[0]} (a write, a lock or SQL as text)")


def _plain_read(clause: Any) -> bool:
    return bool(getattr(clause, "is_select", False)) and (
        getattr(clause, "_for_update_arg", None) is None
    )


def reads_from_replica(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that only reads: on GET and HEAD its queries may go to the replica."""

    @wraps(view)
    def reading(*args: P.args, **kwargs: P.kwargs) -> R:
        if request.method not in _READING_METHODS:
            return view(*args, **kwargs)
        chosen = _choose()
        setattr(g, _READING, chosen)
        if current_app.testing:
            after_this_request(lambda response: _tell(response, chosen.server))
        try:
            return view(*args, **kwargs)
        finally:
            g.pop(_READING, None)

    reading.reads_from_replica = True  # type: ignore[attr-defined]
    return reading


def _tell(response: Response, server: str) -> Response:
    response.headers[READ_FROM_HEADER] = server
    return response


def init_app(app: Flask) -> None:
    """The replica's engine and the primary's bookkeeping, when a replica is named. Called
    before :func:`portal.transactions.init_app`, so that :func:`_remember_position` runs
    after the request's commit (after-request functions run last registered first)."""
    with app.app_context():
        primary = current_app.extensions["sqlalchemy"].engine
    event.listen(primary, "before_cursor_execute", _only_reads)
    url = app.config["REPLICA_SQLALCHEMY_DATABASE_URI"]
    if not url:
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # The check of its position below finds a dead connection; a ping would be one more
    # round trip per page.
    options["pool_pre_ping"] = False
    options["connect_args"] = {
        **options.get("connect_args", {}),
        "connect_timeout": CONNECT_TIMEOUT,
    }
    replica = Replica(create_engine(url, **options))
    app.extensions[_EXTENSION] = replica
    event.listen(replica.engine, "before_cursor_execute", _only_reads)
    event.listen(primary, "before_cursor_execute", _note_write)
    app.after_request(_remember_position)


def engine(app: Flask) -> Engine | None:
    """The replica's engine (for the transactions' listeners and for disposing of it)."""
    replica: Replica | None = app.extensions.get(_EXTENSION)
    return replica.engine if replica is not None else None


def _choose() -> Reading:
    """The replica if it is up and has replayed this browser's last write, else the primary."""
    replica: Replica | None = current_app.extensions.get(_EXTENSION)
    if replica is None or time.monotonic() < replica.down_until:
        return Reading(None, "primary")
    try:
        with replica.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            replayed, port = connection.execute(
                select(func.pg_last_wal_replay_lsn(), func.inet_server_port())
            ).one()
    except DBAPIError as error:
        replica.down_until = time.monotonic() + RETRY_AFTER_SECONDS
        logger.warning("replica unreachable, reading from the primary: %s", error.orig)
        return Reading(None, "primary")
    if replayed is None:
        replica.down_until = time.monotonic() + RETRY_AFTER_SECONDS
        logger.warning("PORTAL_REPLICA_DATABASE_URL is not a standby: reading from the primary")
        return Reading(None, "primary")
    chosen = Reading(replica.engine, f"replica:{port}")
    # A browser that never wrote has nothing to wait for, and its session is left as it is.
    if LSN_KEY not in session:
        return chosen
    if position(replayed) < position(session[LSN_KEY]):
        return Reading(None, "primary")
    del session[LSN_KEY]  # replayed: the replica sees this browser's writes from now on
    return chosen


def position(lsn: str) -> int:
    """A WAL position as PostgreSQL writes it ("16/B374D848") as a number, to compare."""
    high, low = lsn.split("/")
    return int(high, 16) << 32 | int(low, 16)


def _note_write(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    """A statement on the primary that may write (anything but a plain SELECT)."""
    compiled = getattr(context, "compiled", None)
    if has_request_context() and not _plain_read(getattr(compiled, "statement", None)):
        setattr(g, _WROTE, True)


def _remember_position(response: Response) -> Response:
    """After a committed write, where the primary's WAL was: the replica must get there
    before this browser's pages are read from it."""
    if g.pop(_WROTE, False) and response.status_code < 400:
        db = current_app.extensions["sqlalchemy"]
        session[LSN_KEY] = db.session.execute(select(func.pg_current_wal_insert_lsn())).scalar_one()
    return response
