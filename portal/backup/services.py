"""Making a backup and restoring one: what goes in, and what is checked before a restore.

A backup holds the database and exactly the files it refers to (uploads, certificates),
read from the same state, so a restored portal finds every file its rows name. Not in it:
``instance/`` (settings, signing keys, the status lists' key, the development provider's
keys) and the ``PORTAL_*`` settings; they are secrets, kept and backed up apart.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Connection, select

from portal.backup import archive, databases
from portal.backup.archive import DamagedBackup, Manifest
from portal.certificates import storage
from portal.certificates.models import Certificate
from portal.db import db
from portal.journey.models import Attachment
from portal.journey.services import upload_dir

#: The folders of stored files: their name in an archive, where they are kept, and the
#: column that names each file.
FOLDERS: dict[str, tuple[Callable[[], Path], Any]] = {
    "uploads": (upload_dir, Attachment.storage_name),
    "certificates": (storage.certificate_dir, Certificate.storage_name),
}


class RestoreRefused(Exception):
    """The backup cannot be restored here; says why and what to do."""


@dataclass(frozen=True)
class Backup:
    manifest: Manifest
    #: Files the database names that were not there (deleted while the backup ran).
    missing: list[str]


@dataclass(frozen=True)
class Consistent:
    """What the backup reads from the database's state it copies."""

    revision: str | None
    files: dict[str, list[str]]


def make(path: Path) -> Backup:
    """Write the backup archive at ``path`` (replacing a file there only once it is whole)."""
    engine = db.engine
    kind = databases.kind_of(engine)
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix=".portal-backup-", dir=path.parent) as work:
        copy = Path(work) / kind.member
        state = databases.dump(engine, copy, _consistent)
        if state.revision is None:
            raise databases.DatabaseToolFailed(
                "the database was never migrated: run `flask --app portal db upgrade` first"
            )
        with archive.writing(path) as writer:
            writer.add(kind.member, copy)
            for folder, names in state.files.items():
                stored_in = FOLDERS[folder][0]()
                for name in sorted(names):
                    if (stored_in / name).is_file():
                        writer.add(f"{folder}/{name}", stored_in / name)
                    else:
                        missing.append(f"{folder}/{name}")
            manifest = writer.finish(database=kind.value, alembic_revision=state.revision)
    return Backup(manifest, missing)


def _consistent(connection: Connection) -> Consistent:
    files = {
        folder: [n for n in connection.scalars(select(column)) if n]
        for folder, (_, column) in FOLDERS.items()
    }
    return Consistent(databases.current_revision(connection), files)


@dataclass(frozen=True)
class VerifiedBackup:
    """A backup checked whole and compatible, its members unpacked in a staging folder."""

    path: Path
    manifest: Manifest
    members: dict[str, Path]

    @property
    def behind(self) -> bool:
        """True when the backup is at an older revision than this code's head."""
        return set(self.manifest.alembic_revision.split(",")) != _heads()


@contextmanager
def verified(path: Path) -> Iterator[VerifiedBackup]:
    """The backup at ``path``, checked before anything is touched: its manifest (the
    database kind, a revision this code knows), then every member against its digest."""
    manifest = archive.read_manifest(path)
    kind = databases.kind_of(db.engine)
    if manifest.database != kind.value:
        raise RestoreRefused(
            f"{path} is a backup of a {manifest.database} database; this portal uses "
            f"{kind.value}. Restore it into a portal configured for {manifest.database}."
        )
    if not set(manifest.alembic_revision.split(",")) <= _known_revisions():
        raise RestoreRefused(
            f"{path} is at database revision {manifest.alembic_revision}, which this version "
            f"of the portal does not know (it knows up to {', '.join(sorted(_heads()))}): it "
            "was made by a newer version. Restore it with that version of the portal or a "
            "later one."
        )
    if kind.member not in manifest.members:
        raise DamagedBackup(f"{path}: its manifest names no {kind.member}")
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as staging:
        members = archive.extract(path, manifest, Path(staging))
        yield VerifiedBackup(path, manifest, members)


def database_is_empty() -> bool:
    return databases.is_empty(db.engine)


def restore(backup: VerifiedBackup) -> int:
    """Replace the database with the backup's, then put its files in their folders (files
    already there stay: storage names are random, never reused). How many files."""
    kind = databases.kind_of(db.engine)
    db.session.remove()
    databases.restore(db.engine, backup.members[kind.member])
    placed = 0
    for folder, (stored_in, _) in FOLDERS.items():
        target = stored_in()
        target.mkdir(parents=True, exist_ok=True)
        for name in backup.manifest.folder(folder):
            _place(backup.members[f"{folder}/{name}"], target / name)
            placed += 1
    return placed


def _place(source: Path, final: Path) -> None:
    """Copy under a temporary name in the folder, then rename: a reader sees all or none."""
    temporary = final.with_name(f".restoring-{secrets.token_hex(6)}-{final.name}")
    try:
        shutil.copyfile(source, temporary)
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(current_app.extensions["migrate"].directory)


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _heads() -> set[str]:
    return set(_scripts().get_heads())
