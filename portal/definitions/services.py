"""Loading definitions into the database, and reading the current ones back, parsed once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from portal.db import db, utcnow
from portal.definitions import checker
from portal.definitions.model import (
    Snapshot,
    Workflow,
    build_snapshot,
    build_vocabulary,
    build_workflow,
)
from portal.definitions.models import (
    DefinitionSnapshot,
    DefinitionVersion,
    VersionOrigin,
    VersionState,
)
from portal.definitions.sources import (
    Problem,
    Source,
    Sources,
    content_digest,
    file_for,
    read_sources,
    said,
)
from portal.tenancy.models import Municipality


class DefinitionsRefused(Exception):
    """Faulty definitions are never loaded, not even in part."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the definitions")
        self.problems = problems


@dataclass
class LoadReport:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def load(sources: Sources | None = None) -> LoadReport:
    """Seed and upgrade the national definitions from the repository: a file is published when
    its number is above every stored national version of its key, is unchanged when that
    version holds the same content, and is refused otherwise; all or nothing.

    An admin's version (draft or published) numbered at or above the file's is never
    overwritten: the load is refused and says which two collide (see forms/README.md).
    """
    sources = sources if sources is not None else read_sources()
    problems = checker.check(sources)
    if problems:
        raise DefinitionsRefused(problems)
    report = LoadReport()
    pending = []
    for source in sources.files:
        key = source_key(source)
        version = int(source.data["version"])
        label = f"{source.kind} {key} v{version}"
        rows = db.session.scalars(
            select(DefinitionVersion)
            .filter_by(kind=source.kind, key=key, municipality_id=None)
            .order_by(DefinitionVersion.version.desc())
        ).all()
        same = next((row for row in rows if row.version == version), None)
        if same is not None and same.digest == source.digest and same.state != VersionState.DRAFT:
            report.unchanged.append(label)
            continue
        if same is not None and same.origin == VersionOrigin.REPOSITORY:
            problems.append(
                Problem(
                    source.file,
                    "version",
                    said(
                        "changed since version %(version)d was loaded: give it a new version",
                        version=version,
                    ),
                )
            )
            continue
        if rows and rows[0].version >= version:
            problems.append(_collision(source, version, rows[0]))
            continue
        pending.append(
            DefinitionVersion(
                kind=source.kind,
                key=key,
                version=version,
                state=VersionState.PUBLISHED,
                origin=VersionOrigin.REPOSITORY,
                digest=source.digest,
                content=source.data,
                source_file=source.file,
                published_at=utcnow(),
            )
        )
        report.added.append(label)
    if problems:
        raise DefinitionsRefused(problems)
    admins_live = select(DefinitionVersion.id).where(
        DefinitionVersion.origin == VersionOrigin.ADMIN,
        DefinitionVersion.state == VersionState.PUBLISHED,
    )
    with db.session.begin_nested():  # a refusal below leaves nothing behind
        db.session.add_all(pending)
        db.session.flush()
        if pending and db.session.scalar(admins_live.limit(1)) is not None:
            # Admins' published versions stay live beside the new files (a form the
            # repository lacks, a municipality's override): the whole catalog must check.
            problems = catalog_problems(read_catalog())
            if problems:
                raise DefinitionsRefused(problems)
    return report


def _collision(source: Source, version: int, newest: DefinitionVersion) -> Problem:
    by_admin = newest.origin == VersionOrigin.ADMIN
    if newest.state == VersionState.DRAFT:
        what = said("an admin's draft") if by_admin else said("the stored draft")
    elif newest.state == VersionState.PUBLISHED:
        what = said("an admin's published version") if by_admin else said("the stored version")
    else:
        what = said("an admin's retired version") if by_admin else said("the retired version")
    message = said(
        "version %(version)d is not above %(what)s %(label)s: export that version into the "
        "repository, or give the file version %(next)d",
        version=version,
        what=what,
        label=newest.label,
        next=newest.version + 1,
    )
    return Problem(source.file, "version", message)


def source_key(source: Source) -> str:
    return "vocabulary" if source.kind == "vocabulary" else str(source.data["id"])


# Reading the current definitions ---------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The newest published version of every definition, parsed: what a new case starts
    from. ``overrides`` holds each municipality's published forms by its code."""

    stamp: object
    vocabulary: Mapping[str, Any]
    forms: Mapping[str, Mapping[str, Any]]
    workflows: Mapping[str, Mapping[str, Any]]
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)

    @cached_property
    def parsed_workflows(self) -> dict[str, Workflow]:
        vocabulary = build_vocabulary(self.vocabulary)
        return {key: build_workflow(data, vocabulary) for key, data in self.workflows.items()}

    def workflow(self, key: str) -> Workflow | None:
        return self.parsed_workflows.get(key)

    def published_form(self, form_id: str, municipality_code: str) -> Mapping[str, Any] | None:
        """The form as a case filed at ``municipality_code`` now would have it: that
        municipality's own version, else the national one (``Snapshot.form`` of a frozen
        case)."""
        local = self.overrides.get(municipality_code, {}).get(form_id)
        return local if local is not None else self.forms.get(form_id)

    def snapshot_content(self, workflow_key: str) -> dict[str, Any]:
        """What a case of this workflow is frozen against. The municipalities' overrides of
        its forms go in too, by municipality code: where the case is filed is known only
        later, and the case must never change version mid-way."""
        workflow = self.workflows[workflow_key]
        forms = {entry["form"]: self.forms[entry["form"]] for entry in workflow["forms"]}
        content: dict[str, Any] = {
            "vocabulary": self.vocabulary,
            "workflow": workflow,
            "forms": forms,
        }
        local = {
            code: {form_id: data for form_id, data in overridden.items() if form_id in forms}
            for code, overridden in sorted(self.overrides.items())
        }
        local = {code: found for code, found in local.items() if found}
        if local:
            content["local"] = local
        return content


_catalog_lock = threading.Lock()
_catalog_cache: dict[str, Catalog] = {}

LIVE = (VersionState.PUBLISHED, VersionState.RETIRED)


def _stamp() -> tuple[object, ...]:
    """Changes on every publication (one more live row) and every retirement (one more
    retired row), never on a draft's save: one cheap aggregate, read from the database by
    every process, so a change made through one process is seen by all. Counted, not only
    timed: a retirement stamped by a machine whose clock is behind another's leaves the
    latest ``retired_at`` as it was."""
    retired = case((DefinitionVersion.state == VersionState.RETIRED, 1), else_=0)
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(retired), 0),
            func.max(DefinitionVersion.id),
            func.max(DefinitionVersion.published_at),
            func.max(DefinitionVersion.retired_at),
        ).where(DefinitionVersion.state.in_(LIVE))
    ).one()
    return tuple(row)


def current_catalog() -> Catalog:
    """Parsed once per publication: one cheap query tells whether anything changed."""
    stamp = _stamp()
    cache_key = f"{db.engine.url}#{stamp}"
    with _catalog_lock:
        cached = _catalog_cache.get(cache_key)
    if cached is not None:
        return cached
    catalog = read_catalog(stamp)
    with _catalog_lock:
        _catalog_cache.clear()
        _catalog_cache[cache_key] = catalog
    return catalog


def live_versions() -> dict[tuple[str, str, int | None], DefinitionVersion]:
    """The newest published version of each key in each scope (national: ``None``)."""
    newest: dict[tuple[str, str, int | None], DefinitionVersion] = {}
    query = (
        select(DefinitionVersion)
        .where(DefinitionVersion.state == VersionState.PUBLISHED)
        .order_by(DefinitionVersion.version)
    )
    for row in db.session.scalars(query):
        newest[(row.kind, row.key, row.municipality_id)] = row
    return newest


def read_catalog(stamp: object = None) -> Catalog:
    """The published catalog as the database has it now, uncached: for checks inside a
    change, which must see what this transaction did."""
    newest = live_versions()
    codes = dict(
        db.session.execute(
            select(Municipality.id, Municipality.code).where(
                Municipality.id.in_({m for (_, _, m) in newest if m is not None})
            )
        ).all()
    )
    overrides: dict[str, dict[str, Any]] = {}
    for (kind, key, municipality_id), row in sorted(
        newest.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
    ):
        if municipality_id is not None and kind == "form":
            overrides.setdefault(codes[municipality_id], {})[key] = row.content
    vocabulary = newest.get(("vocabulary", "vocabulary", None))
    return Catalog(
        stamp=stamp,
        vocabulary=vocabulary.content if vocabulary else {"version": 0, "items": {}},
        forms={
            key: row.content
            for (kind, key, m), row in newest.items()
            if kind == "form" and m is None
        },
        workflows=dict(
            sorted(
                (key, row.content)
                for (kind, key, m), row in newest.items()
                if kind == "workflow" and m is None
            )
        ),
        overrides=overrides,
    )


def catalog_problems(catalog: Catalog) -> list[Problem]:
    """The checker's faults in the national catalog, and in it with each municipality's
    overrides in place (an override was checked when published, but the national
    definitions may have changed since)."""
    problems = checker.check(catalog_sources(catalog))
    national = {str(p) for p in problems}
    for code, forms in sorted(catalog.overrides.items()):
        local = catalog_sources(replace(catalog, forms={**catalog.forms, **forms}))
        problems += [
            Problem(f"{code}:{p.file}", p.path, p.message)
            for p in checker.check(local)
            if str(p) not in national
        ]
    return problems


def catalog_sources(catalog: Catalog) -> Sources:
    """The national catalog as the files it would be in the repository, for the checker."""
    sources = Sources()
    sources.files.append(
        Source("vocabulary", file_for("vocabulary", "vocabulary"), catalog.vocabulary)
    )
    for key, data in sorted(catalog.forms.items()):
        sources.files.append(Source("form", file_for("form", key), data))
    for key, data in catalog.workflows.items():
        sources.files.append(Source("workflow", file_for("workflow", key), data))
    return sources


def snapshot_for(workflow_key: str) -> DefinitionSnapshot:
    """The snapshot of the current definitions of a workflow, stored once per content."""
    return stored_snapshot(workflow_key, current_catalog().snapshot_content(workflow_key))


def stored_snapshot(workflow_key: str, content: dict[str, Any]) -> DefinitionSnapshot:
    """The snapshot row of this content (``Catalog.snapshot_content``'s shape): the one
    already stored, else a new one (a second process storing it at once is found)."""
    digest = content_digest(content)
    existing = db.session.scalar(select(DefinitionSnapshot).filter_by(digest=digest))
    if existing is not None:
        return existing
    snapshot = DefinitionSnapshot(
        digest=digest,
        workflow_key=workflow_key,
        workflow_version=int(content["workflow"]["version"]),
        content=content,
    )
    try:
        with db.session.begin_nested():
            db.session.add(snapshot)
    except IntegrityError:
        return db.session.scalars(select(DefinitionSnapshot).filter_by(digest=digest)).one()
    return snapshot


_parsed_lock = threading.Lock()
_parsed_snapshots: dict[str, Snapshot] = {}


def parsed_snapshot(digest: str, row: Callable[[], DefinitionSnapshot]) -> Snapshot:
    """A snapshot's definitions as objects, built once per digest: snapshots never change, so
    their row (and its large JSON) is loaded, through ``row``, only on the first use."""
    with _parsed_lock:
        parsed = _parsed_snapshots.get(digest)
    if parsed is None:
        parsed = build_snapshot(row().content)
        with _parsed_lock:
            if len(_parsed_snapshots) > 256:
                _parsed_snapshots.clear()
            _parsed_snapshots[digest] = parsed
    return parsed
