"""The SQL statements a block of test code sends, as the database receives them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from portal.extensions import db


@contextmanager
def counted_statements(app: Flask) -> Iterator[list[str]]:
    """``with counted_statements(app) as sent:``: every statement sent inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
