"""Backups, and the drill an operator runs: back up a portal with its cases, a decision, a
certificate and an audit log; restore into a new database and new file folders; the audit
log verifies and everything is there.

Through the real commands in their own processes. In the SQLite pass the restore goes to a
new SQLite file; in the PostgreSQL pass to a database made beside the test database
(``<name>_restore``), through pg_dump and pg_restore.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from portal.audit.models import AuditEntry
from portal.backup.databases import libpq_arguments
from portal.casework.lifecycle import Action
from portal.certificates import storage
from portal.certificates.models import Certificate
from portal.extensions import db
from portal.journey import services as journey
from portal.journey.models import Attachment
from tests.certificates.support import decide
from tests.certificates.test_issuing import MOVE
from tests.conftest import TEST_DATABASE_URL
from tests.factories import (
    AttachmentFactory,
    CaseFactory,
    MunicipalityFactory,
    RoleFactory,
)
from tests.support.jobs import ROOT, subprocess_env


def flask(
    args: list[str], env: dict[str, str], answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``flask --app portal ARGS`` in its own process; ``answer`` typed at its prompt."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", *args],
        env=env,
        cwd=ROOT,
        input=answer or "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def source_env(app: Flask) -> dict[str, str]:
    """A portal process on the tests' database and file folders."""
    return subprocess_env(TEST_DATABASE_URL or app.config["SQLALCHEMY_DATABASE_URI"])


@pytest.fixture
def restored(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A portal process on a new, empty database and new, empty file folders."""
    if TEST_DATABASE_URL:
        url = make_url(TEST_DATABASE_URL)
        assert url.database
        fresh = url.set(database=f"{url.database}_restore")
        _recreate(url.render_as_string(hide_password=False), fresh.database)
        database_url = fresh.render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    yield subprocess_env(
        database_url,
        UPLOAD_DIR=str(tmp_path / "restored" / "uploads"),
        CERTIFICATE_DIR=str(tmp_path / "restored" / "certificates"),
    )
    if TEST_DATABASE_URL:
        _recreate(TEST_DATABASE_URL, fresh.database, again=False)


def _recreate(server_url: str, name: str | None, *, again: bool = True) -> None:
    engine = create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if again:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def _engine(env: dict[str, str]):  # noqa: ANN202 - an Engine
    url = env["PORTAL_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url)


def _row_counts(env: dict[str, str]) -> dict[str, int]:
    engine = _engine(env)
    try:
        with engine.connect() as connection:
            return {
                t.name: connection.scalar(select(func.count()).select_from(t))
                for t in db.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _tables(env: dict[str, str]) -> list[str]:
    engine = _engine(env)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _portal_with_its_history(app: Flask) -> dict[str, bytes]:
    """Cases filed, one with a document, a moving-out approved (its certificate issued and
    the audit log written by the clerk's actions), a draft; the stored files' contents."""
    with app.app_context():
        chiyoda = MunicipalityFactory(name_ja="千代田区", prefecture_ja="東京都")
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"], municipality=chiyoda, answers=MOVE)
        attachment = AttachmentFactory(case=case)
        CaseFactory(filed=True, municipality=chiyoda)
        CaseFactory()
        request = case.requests[0]
        clerk = RoleFactory(department=request.department).account
        db.session.commit()
        request_id, clerk_id = request.id, clerk.id
        upload = journey.attachment_path(attachment).read_bytes()
    decide(app, request_id, clerk_id, Action.APPROVE)
    with app.app_context():
        certificate = db.session.scalars(select(Certificate).filter_by(request_id=request_id)).one()
        assert certificate.is_issued and certificate.storage_name
        assert db.session.scalar(select(func.count(AuditEntry.id))) >= 2
        return {
            f"uploads/{attachment.storage_name}": upload,
            f"certificates/{certificate.storage_name}": storage.read(certificate.storage_name),
        }


def test_the_restore_drill(
    app: Flask, source_env: dict[str, str], restored: dict[str, str], tmp_path: Path
) -> None:
    files = _portal_with_its_history(app)
    before = _row_counts(source_env)
    archive = tmp_path / "portal.backup"

    made = flask(["backup", str(archive)], source_env)
    assert made.returncode == 0, made.stderr
    assert "2 file(s)" in made.stdout
    assert archive.stat().st_mode & 0o077 == 0  # residents' data: its owner's alone

    done = flask(["restore", str(archive)], restored)
    assert done.returncode == 0, done.stderr
    verified = flask(["audit", "verify"], restored)
    assert verified.returncode == 0, verified.stderr
    assert f"{before['audit_entries']} entries verified" in verified.stdout

    assert _row_counts(restored) == before
    folders = {
        "uploads": Path(restored["PORTAL_UPLOAD_DIR"]),
        "certificates": Path(restored["PORTAL_CERTIFICATE_DIR"]),
    }
    for name, content in files.items():
        folder, storage_name = name.split("/")
        assert (folders[folder] / storage_name).read_bytes() == content
    engine = _engine(restored)
    with engine.connect() as connection:
        kept = connection.execute(select(Certificate.storage_name, Certificate.sha256)).one()
        attachment = connection.execute(select(Attachment.storage_name, Attachment.sha256)).one()
    engine.dispose()
    for folder, (storage_name, sha256) in (("certificates", kept), ("uploads", attachment)):
        assert hashlib.sha256((folders[folder] / storage_name).read_bytes()).hexdigest() == sha256

    again = flask(["restore", str(archive)], restored)
    assert again.returncode == 1 and "not empty" in again.stderr
    declined = flask(["restore", "--force", str(archive)], restored, answer="n\n")
    assert declined.returncode == 1 and "Aborted" in declined.stderr
    forced = flask(["restore", "--force", "--yes", str(archive)], restored)
    assert forced.returncode == 0, forced.stderr
    assert _row_counts(restored) == before


def _rewritten(archive: Path, into: Path, **manifest: object) -> Path:
    """A copy of the archive whose manifest says otherwise (its digests still right)."""
    with tarfile.open(archive) as source, tarfile.open(into, "w") as copy:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **manifest}).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return into


def _one_byte_changed(archive: Path, into: Path) -> Path:
    """A copy of the archive with one byte of its database changed."""
    with tarfile.open(archive) as source:
        member = next(m for m in source if m.name.startswith("database."))
    data = bytearray(archive.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0x01
    into.write_bytes(bytes(data))
    return into


def test_an_altered_or_foreign_backup_is_refused_before_anything_is_touched(
    app: Flask, source_env: dict[str, str], restored: dict[str, str], tmp_path: Path
) -> None:
    archive = tmp_path / "portal.backup"
    made = flask(["backup", str(archive)], source_env)
    assert made.returncode == 0, made.stderr
    other_kind = "sqlite" if TEST_DATABASE_URL else "postgresql"

    for doctored, refusal in (
        (_one_byte_changed(archive, tmp_path / "tampered"), "has changed since the backup"),
        (
            _rewritten(archive, tmp_path / "newer", alembic_revision="ffffffffffff"),
            "made by a newer version",
        ),
        (
            _rewritten(archive, tmp_path / "other", database=other_kind),
            f"is a backup of a {other_kind} database",
        ),
        (_rewritten(archive, tmp_path / "format", format=2), "this portal reads format 1"),
    ):
        refused = flask(["restore", str(doctored)], restored)
        assert refused.returncode == 1, refused.stdout
        assert "restore refused, nothing changed" in refused.stderr
        assert refusal in refused.stderr
        assert _tables(restored) == []


def test_the_database_password_goes_to_the_environment_never_the_command_line() -> None:
    url = make_url("postgresql+psycopg://portal:s3cret@db.internal:6432/madoguchi?sslmode=require")
    conninfo, environment = libpq_arguments(url)
    assert "s3cret" not in conninfo and environment["PGPASSWORD"] == "s3cret"
    assert conninfo == "host=db.internal port=6432 user=portal dbname=madoguchi sslmode=require"


def test_a_file_gone_from_its_folder_is_named_and_the_rest_backed_up(
    app: Flask, source_env: dict[str, str], tmp_path: Path
) -> None:
    with app.app_context():
        case = CaseFactory(filed=True, forms=["mic.tenshutsu"])
        gone, kept = AttachmentFactory(case=case), AttachmentFactory(case=case)
        db.session.commit()
        journey.attachment_path(gone).unlink()
        gone_name, kept_name = gone.storage_name, kept.storage_name
    archive = tmp_path / "portal.backup"
    made = flask(["backup", str(archive)], source_env)
    assert made.returncode == 0, made.stderr
    assert f"warning: uploads/{gone_name} is named by the database" in made.stderr
    with tarfile.open(archive) as written:
        names = written.getnames()
    assert f"uploads/{kept_name}" in names and f"uploads/{gone_name}" not in names


@pytest.mark.postgresql
def test_a_backup_that_fails_leaves_no_file(source_env: dict[str, str], tmp_path: Path) -> None:
    """Without pg_dump on the path: the reason, and nothing at PATH or beside it."""
    archive = tmp_path / "portal.backup"
    without_tools = {**source_env, "PATH": str(Path(sys.executable).parent)}
    failed = flask(["backup", str(archive)], without_tools)
    assert failed.returncode == 1
    assert "pg_dump is not installed" in failed.stderr
    assert list(tmp_path.iterdir()) == []
