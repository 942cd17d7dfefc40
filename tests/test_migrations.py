"""The migrations build exactly the schema the models describe."""

import json
import warnings
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from portal.extensions import db
from portal.jobs.schema import is_ours

#: Indexes on an expression (the queue's adjusted deadline): SQLAlchemy cannot reflect them
#: from SQLite, so they are compared by name and definition below instead.
EXPRESSION_INDEXES = {
    "ix_requests_open_queue",
    "ix_requests_department_status_queue",
    "ix_requests_held_queue",
}


NOW = "2026-12-01 00:00:00"
#: What a case row needs before it: account 7, its resident, and snapshot 1, its definitions.
CASE_OWNER_ROWS = (
    "INSERT INTO accounts (id, issuer, subject, display_name, identity, created_at)"
    f" VALUES (7, 'https://id.example.jp', 's', '', '{{}}', '{NOW}')",
    "INSERT INTO definition_snapshots (id, digest, workflow_key, workflow_version,"
    f" content, created_at) VALUES (1, 'd', 'moving', 1, '{{}}', '{NOW}')",
)


def _comparable(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "index" and name in EXPRESSION_INDEXES:
        return False
    return is_ours(obj, name, type_, reflected, compare_to)


def test_models_and_migrations_agree(app) -> None:
    with app.app_context(), db.engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": _comparable}
        )
        assert compare_metadata(context, db.metadata) == []


def test_the_expression_indexes_are_the_models(app) -> None:
    """The migration writes each queue index as the model's DDL writes it, so the queries
    that use the model's expression find the index."""
    from sqlalchemy.schema import CreateIndex

    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'requests'"
        else:
            query = "SELECT name, sql FROM sqlite_master WHERE tbl_name = 'requests'"
        stored = dict(connection.execute(text(query)).all())
        table = db.metadata.tables["requests"]
        for index in (i for i in table.indexes if i.name in EXPRESSION_INDEXES):
            assert index.name in stored
            if connection.dialect.name == "sqlite":
                expected = str(CreateIndex(index).compile(dialect=connection.dialect))
                assert " ".join(stored[index.name].split()) == " ".join(expected.split())


def test_migrations_go_down_and_up_again(tmp_path) -> None:
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from portal import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    with app.app_context():
        upgrade()
        assert "cases" in inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert "cases" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_requests_filed_before_the_back_office_keep_their_answers_and_get_codes(
    tmp_path,
) -> None:
    """Upgrading a deployment with filed requests: each keeps its case's answers (more than
    its form reads, never less) and gets the resident's code in its department."""
    from sqlalchemy import text

    from portal import create_app
    from portal.casework.pseudonyms import resident_code
    from portal.casework.services import answers_digest

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    rows = [
        "INSERT INTO municipalities (id, code, prefecture_ja, name_ja, name_en, kind)"
        " VALUES (1, '131016', '東京都', '千代田区', 'Chiyoda', 'special_ward')",
        "INSERT INTO departments (id, municipality_id, kind, name_ja, name_en)"
        " VALUES (1, 1, 'resident_registration', '住民課', 'Residents')",
        *CASE_OWNER_ROWS,
        "INSERT INTO cases (id, account_id, snapshot_id, snapshot_digest, workflow_key, status,"
        " answers, locked_keys, declined_forms, completed_pages, language, created_at,"
        " updated_at) VALUES (1, 7, 1, 'd', 'moving', 'submitted',"
        f" '{{\"move.date\": \"2026-11-30\"}}', '[]', '[]', '[]', 'ja', '{NOW}', '{NOW}')",
        "INSERT INTO requests (id, case_id, form_id, form_version, municipality_id, office_id,"
        f" department_id, status, created_at) VALUES (1, 1, 'mic.tenkyo', 1, 1, 1, 1,"
        f" 'submitted', '{NOW}')",
    ]
    with app.app_context():
        _upgraded_with(rows, after="3c9e51a7d2b4")
        with db.engine.connect() as connection:
            answers, digest, code, version = connection.execute(
                text("SELECT answers, answers_digest, resident_code, version FROM requests")
            ).one()
        assert (answers, version) == ('{"move.date": "2026-11-30"}', 1)
        assert digest == answers_digest({"move.date": "2026-11-30"})
        with app.test_request_context():
            assert code == resident_code(7, "131016", "resident_registration")
        db.engine.dispose()


def test_the_department_kinds_migration_seeds_the_built_in_kinds(tmp_path) -> None:
    """Kinds became data: the built-in ones with their Japanese and English labels, and any
    kind a deployment's departments had beyond them, labelled by its key for an admin."""
    from flask_migrate import upgrade
    from sqlalchemy.exc import IntegrityError

    from portal import create_app
    from portal.tenancy.kinds import BUILTIN_KINDS

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    with app.app_context():
        upgrade(revision="700a3e1b8c20")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO municipalities (id, code, prefecture_ja, name_ja, name_en, kind)"
                    " VALUES (1, '131016', '東京都', '千代田区', 'Chiyoda', 'special_ward')"
                )
            )
            for id_, kind in ((1, "childcare"), (2, "tax")):
                connection.execute(
                    text(
                        "INSERT INTO departments (id, municipality_id, kind, name_ja, name_en)"
                        f" VALUES ({id_}, 1, '{kind}', '課', 'Division')"
                    )
                )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT key, labels FROM department_kinds ORDER BY position, key")
            ).all()
        stored = {key: json.loads(labels) for key, labels in rows}
        assert [key for key, _labels in rows] == [k.key for k in BUILTIN_KINDS] + ["tax"]
        assert stored["childcare"] == {"ja": "保育", "en": "Childcare"}
        assert stored["tax"] == {}
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO departments (id, municipality_id, kind, name_ja, name_en)"
                    " VALUES (3, 1, 'police', '課', 'Division')"
                )
            )
        db.engine.dispose()


def _upgraded_with(rows: list[str], *, after: str) -> None:
    """The database at revision ``after`` holding ``rows`` (SQL as a deployment has them),
    then upgraded to the head: what the later migrations make of existing data."""
    from flask_migrate import upgrade

    upgrade(revision=after)
    with db.engine.begin() as connection:
        for row in rows:
            connection.execute(text(row))
    upgrade()


def test_the_upgrade_gives_a_requests_rows_its_municipality(tmp_path) -> None:
    """A deployment's events, corrections and bookings get their request's municipality,
    and from then on a row naming another municipality than its request's is refused."""
    from sqlalchemy.exc import IntegrityError

    from portal import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "TESTING": True})
    rows = [
        "INSERT INTO municipalities (id, code, prefecture_ja, name_ja, name_en, kind) VALUES"
        " (1, '131016', '東京都', '千代田区', 'Chiyoda', 'special_ward'),"
        " (2, '141003', '神奈川県', '横浜市', 'Yokohama', 'designated_city')",
        "INSERT INTO departments (id, municipality_id, kind, name_ja, name_en)"
        " VALUES (1, 2, 'resident_registration', '住民課', 'Residents')",
        *CASE_OWNER_ROWS,
        "INSERT INTO cases (id, account_id, snapshot_id, snapshot_digest, workflow_key, status,"
        " answers, locked_keys, declined_forms, completed_pages, language, created_at,"
        f" updated_at) VALUES (1, 7, 1, 'd', 'moving', 'submitted', '{{}}', '[]', '[]', '[]',"
        f" 'ja', '{NOW}', '{NOW}')",
        "INSERT INTO requests (id, case_id, form_id, form_version, municipality_id, office_id,"
        " department_id, status, created_at, version, answers, answers_digest, resident_code,"
        f" paused_days) VALUES (1, 1, 'mic.tennyu', 1, 2, 2, 1, 'in_review', '{NOW}', 2, '{{}}',"
        " '', '', 0)",
        "INSERT INTO request_events (id, request_id, at, actor_kind, action, from_status,"
        f" to_status, version, reason, changes) VALUES (1, 1, '{NOW}', 'clerk', 'claim',"
        " 'submitted', 'in_review', 2, '', '{}')",
        "INSERT INTO corrections (id, request_id, asked_at, fields, documents, reason, changes)"
        f" VALUES (1, 1, '{NOW}', '[]', '[]', 'blurred', '{{}}')",
        "INSERT INTO bookings (id, request_id, department_id, slot_start, status, created_at)"
        f" VALUES (1, 1, 1, '{NOW}', 'booked', '{NOW}')",
    ]
    with app.app_context():
        _upgraded_with(rows, after="c4a9e2f71b36")
        with db.engine.connect() as connection:
            for table in ("request_events", "corrections", "bookings"):
                copied = connection.execute(text(f"SELECT municipality_id FROM {table}"))
                assert copied.scalar_one() == 2, table
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO corrections (request_id, municipality_id, asked_at, fields,"
                    f" documents, reason, changes) VALUES (1, 1, '{NOW}', '[]', '[]', 'x', '{{}}')"
                )
            )
        db.engine.dispose()
