"""procrastinate's tables, created by our migrations on PostgreSQL (none on SQLite).

The SQL is procrastinate's own schema of the version we pin, kept in this folder so a
migration always creates what it created the day it was written; a newer procrastinate
brings its ``sql/migrations`` files, applied by a migration of ours. Autogenerate and the
models-equal-migrations test leave these tables alone: they are not our models'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("procrastinate-3.10.0.sql")
PREFIX = "procrastinate_"


def schema_sql() -> str:
    return SCHEMA_FILE.read_text(encoding="utf-8")


DROP_SQL = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
    procrastinate_job_status CASCADE;
"""


def is_ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: compare our tables, not procrastinate's."""
    return not (type_ == "table" and reflected and (name or "").startswith(PREFIX))
