"""The backup archive: a tar file of the database, the files and a manifest.

The manifest (``manifest.json``, the last member) says what made the archive (the format,
the database kind, the Alembic revision, when) and holds each other member's SHA-256. An
archive is read only through :func:`read_manifest` and :func:`extract`, which refuse one
whose members are not exactly those of its manifest, each with its digest: a damaged or
altered archive is found before anything is restored. (The digests find damage, not a
forger, who can write a manifest to match: keep backups where only operators can write.)

The archive is written under a temporary name beside its final one, flushed to disk, then
renamed: a crash mid-backup never leaves a file that looks like a whole backup. It holds
residents' personal data, so only its owner may read it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from portal.japan.clock import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
#: A member's name: the database, or a stored file (its random storage name) in its folder.
MEMBER_NAME = re.compile(r"database\.[a-z0-9]+|[a-z]+/[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
CHUNK = 1024 * 1024


class DamagedBackup(Exception):
    """The file is not a whole backup of this portal: says what is wrong with it."""


@dataclass(frozen=True)
class Manifest:
    database: str
    alembic_revision: str
    created_at: str
    #: Every other member's name and the SHA-256 of its content.
    members: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def folder(self, name: str) -> list[str]:
        """The storage names of the files kept in ``name`` (``uploads``, ``certificates``)."""
        prefix = f"{name}/"
        return [m.removeprefix(prefix) for m in self.members if m.startswith(prefix)]


class ArchiveWriter:
    """Adds members to an archive being written; :meth:`finish` writes the manifest."""

    def __init__(self, archive: tarfile.TarFile) -> None:
        self._archive = archive
        self.members: dict[str, str] = {}

    def add(self, name: str, source: Path) -> None:
        """Add the file ``source`` as ``name``, hashed as it is read (once)."""
        if not MEMBER_NAME.fullmatch(name) or name in self.members:
            raise ValueError(f"not a member name, or one already added: {name!r}")
        with source.open("rb") as file:
            info = tarfile.TarInfo(name)
            info.size = os.fstat(file.fileno()).st_size
            info.mtime = int(os.fstat(file.fileno()).st_mtime)
            info.mode = 0o600
            hashing = _Hashing(file)
            self._archive.addfile(info, hashing)
            self.members[name] = hashing.digest.hexdigest()

    def finish(self, *, database: str, alembic_revision: str) -> Manifest:
        now = utcnow()
        manifest = Manifest(
            database=database,
            alembic_revision=alembic_revision,
            created_at=now.isoformat(timespec="seconds"),
            members=dict(self.members),
        )
        data = json.dumps(asdict(manifest), indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(now.timestamp())
        info.mode = 0o600
        self._archive.addfile(info, io.BytesIO(data))
        return manifest


@contextmanager
def writing(path: Path) -> Iterator[ArchiveWriter]:
    """An archive written whole at ``path`` when the block ends normally, else not at all."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            with tarfile.open(fileobj=file, mode="w", format=tarfile.PAX_FORMAT) as archive:
                yield ArchiveWriter(archive)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_manifest(path: Path) -> Manifest:
    """The archive's manifest, checked for shape (not yet against the members)."""
    with _open(path) as archive:
        try:
            member = archive.getmember(MANIFEST)
            file = archive.extractfile(member)
            if file is None:
                raise KeyError(MANIFEST)
            data = json.loads(file.read())
        except KeyError:
            raise DamagedBackup(
                f"{path}: no {MANIFEST}: not a backup of this portal, or a damaged one"
            ) from None
        except (tarfile.TarError, OSError, ValueError) as error:
            raise DamagedBackup(f"{path}: its {MANIFEST} cannot be read ({error})") from None
    return _manifest(path, data)


def extract(path: Path, manifest: Manifest, into: Path) -> dict[str, Path]:
    """Every member written under ``into``, each checked against its digest; their paths.

    Refuses an archive with a member the manifest does not list (or lists twice), one it
    lists that is missing, or one whose content is not what it was."""
    found: dict[str, Path] = {}
    with _open(path) as archive:
        for member in archive:
            if member.name == MANIFEST:
                continue
            expected = manifest.members.get(member.name)
            if expected is None or member.name in found or not member.isfile():
                raise DamagedBackup(f"{path}: {member.name!r} is not in its manifest")
            target = into / f"member-{len(found):06d}"
            source = archive.extractfile(member)
            assert source is not None  # a regular file, checked above
            digest = _copy_hashing(source, target)
            if digest != expected:
                raise DamagedBackup(
                    f"{path}: {member.name} has changed since the backup was made "
                    "(its SHA-256 is not the manifest's)"
                )
            found[member.name] = target
    if missing := sorted(set(manifest.members) - set(found)):
        raise DamagedBackup(f"{path}: missing {', '.join(missing[:5])} of its manifest")
    return found


def _manifest(path: Path, data: Any) -> Manifest:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        version = data.get("format") if isinstance(data, dict) else None
        raise DamagedBackup(f"{path}: backup format {version!r}; this portal reads format {FORMAT}")
    members = data.get("members")
    fields = ("database", "alembic_revision", "created_at")
    if not (
        all(isinstance(data.get(name), str) for name in fields)
        and isinstance(members, dict)
        and all(
            isinstance(name, str) and MEMBER_NAME.fullmatch(name) and isinstance(digest, str)
            for name, digest in members.items()
        )
    ):
        raise DamagedBackup(f"{path}: its {MANIFEST} is not one this portal writes")
    return Manifest(**{name: data[name] for name in fields}, members=members)


@contextmanager
def _open(path: Path) -> Iterator[tarfile.TarFile]:
    """The archive for reading; a damaged archive, found inside the block too, is
    :class:`DamagedBackup`."""
    try:
        archive = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed below, with the block
    except FileNotFoundError:
        raise DamagedBackup(f"{path}: no such file") from None
    except (tarfile.TarError, OSError) as error:
        raise DamagedBackup(f"{path}: not a backup archive ({error})") from None
    try:
        with archive:
            yield archive
    except (tarfile.TarError, EOFError) as error:
        raise DamagedBackup(f"{path}: the archive is damaged ({error})") from None


class _Hashing(io.RawIOBase):
    """A file read through, its SHA-256 taken on the way."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.digest.update(data)
        return data


def _copy_hashing(source: IO[bytes], target: Path) -> str:
    digest = hashlib.sha256()
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
