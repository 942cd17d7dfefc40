"""Certificates as tests meet them: a decided request, its jobs run, its PDF read back with
poppler's and zbar's tools."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, text

from portal.accounts.models import Account
from portal.casework.lifecycle import Action
from portal.casework.services import act
from portal.certificates import storage
from portal.certificates.models import Certificate
from portal.certificates.services import ISSUE_TASK
from portal.extensions import db
from portal.jobs import TASKS
from portal.journey.models import ProcedureRequest
from portal.transactions import unit_of_work
from tests.conftest import TEST_DATABASE_URL

ON_POSTGRESQL = bool(TEST_DATABASE_URL)


def run_certificate_jobs(app: Flask) -> int:
    """What a worker would do (PostgreSQL): run the queued certificate jobs, those they
    defer in turn too (a retry's wait taken as over), each as a unit of work. On SQLite they
    ran after their commit."""
    if not ON_POSTGRESQL:
        return 0
    ran = 0
    while (taken := take_certificate_job(app)) is not None:
        with app.app_context(), unit_of_work():
            TASKS[ISSUE_TASK].func(**taken[1])
        ran += 1
    return ran


def take_certificate_job(app: Flask) -> tuple[int, dict[str, Any]] | None:
    """The oldest queued certificate job (PostgreSQL), marked done as a worker takes it, its
    wait ignored: its id and arguments; None when none is queued."""
    with app.app_context():
        row = db.session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = (SELECT min(id)"
                " FROM procrastinate_jobs WHERE task_name = :name AND status = 'todo')"
                " RETURNING id, args"
            ),
            {"name": ISSUE_TASK},
        ).first()
        db.session.commit()
        return None if row is None else (row.id, row.args)


def decide(app: Flask, request_id: int, clerk_id: int, action: Action, reason: str = "") -> None:
    """The clerk claims the request and decides it; the certificate's jobs run."""
    with app.app_context(), unit_of_work():
        filed = db.session.get(ProcedureRequest, request_id)
        clerk = db.session.get(Account, clerk_id)
        assert filed is not None and clerk is not None
        act(filed, Action.CLAIM, clerk)
        act(filed, action, clerk, reason=reason)
    run_certificate_jobs(app)


def certificate_of(app: Flask, **where: object) -> Certificate:
    with app.app_context():
        found = db.session.scalars(select(Certificate).filter_by(**where)).one()
        db.session.expunge(found)
        return found


def pdf_path(app: Flask, certificate: Certificate) -> Path:
    assert certificate.storage_name is not None
    with app.app_context():
        return storage.path_of(certificate.storage_name)


def pdftotext(path: Path) -> str:
    return _run("pdftotext", "-layout", str(path), "-")


def pdffonts(path: Path) -> str:
    return _run("pdffonts", str(path))


def qr_codes(path: Path, tmp: Path) -> list[str]:
    """The QR codes zbar reads on the rendered first page (150 dpi, as a scan would be)."""
    _run("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path), str(tmp / "page"))
    page = next(tmp.glob("page*.png"))
    out = _run("zbarimg", "--quiet", "--raw", str(page))
    return [line for line in out.splitlines() if line]


def pdfinfo(path: Path) -> dict[str, str]:
    """``pdfinfo``'s fields (Title, Author, Tagged, Page size ...)."""
    lines = _run("pdfinfo", str(path)).splitlines()
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def structure_tags(path: Path) -> tuple[str | None, set[str]]:
    """The document's language and the kinds of element in its structure tree (/H1, /Table
    ...), as a screen reader walks them."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    root = PdfFileReader(io.BytesIO(path.read_bytes())).root
    tags: set[str] = set()
    pending = [root["/StructTreeRoot"]]
    while pending:
        kids = pending.pop().get("/K")
        for kid in kids if isinstance(kids, list) else [kids]:
            element = kid.get_object() if hasattr(kid, "get_object") else kid
            if hasattr(element, "get") and element.get("/S") is not None:
                tags.add(str(element["/S"]))
                pending.append(element)
    language = root.get("/Lang")
    return (str(language) if language is not None else None), tags


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
