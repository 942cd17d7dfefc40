"""Loading definitions into the database, and reading the current ones back, parsed once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.db import db
from portal.definitions import checker
from portal.definitions.model import (
    Snapshot,
    Workflow,
    build_snapshot,
    build_vocabulary,
    build_workflow,
)
from portal.definitions.models import DefinitionSnapshot, DefinitionVersion
from portal.definitions.sources import Problem, Sources, content_digest, read_sources


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
    """Store every new version; refuse the whole load on any fault, or on a file whose content
    changed without a new version number."""
    sources = sources if sources is not None else read_sources()
    problems = checker.check(sources)
    if problems:
        raise DefinitionsRefused(problems)
    report = LoadReport()
    pending = []
    for source in sources.files:
        key = "vocabulary" if source.kind == "vocabulary" else source.data["id"]
        version = int(source.data["version"])
        stored = db.session.scalar(
            select(DefinitionVersion).filter_by(kind=source.kind, key=key, version=version)
        )
        label = f"{source.kind} {key} v{version}"
        if stored is None:
            pending.append(
                DefinitionVersion(
                    kind=source.kind,
                    key=key,
                    version=version,
                    digest=source.digest,
                    content=source.data,
                    source_file=source.file,
                )
            )
            report.added.append(label)
        elif stored.digest != source.digest:
            problems.append(
                Problem(
                    source.file,
                    "version",
                    f"changed since version {version} was loaded: give it a new version",
                )
            )
        else:
            report.unchanged.append(label)
    if problems:
        raise DefinitionsRefused(problems)
    db.session.add_all(pending)
    db.session.flush()
    return report


# Reading the current definitions ---------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The newest version of every definition, parsed: what a new case starts from."""

    stamp: int
    vocabulary: Mapping[str, Any]
    forms: Mapping[str, Mapping[str, Any]]
    workflows: Mapping[str, Mapping[str, Any]]

    @cached_property
    def parsed_workflows(self) -> dict[str, Workflow]:
        vocabulary = build_vocabulary(self.vocabulary)
        return {key: build_workflow(data, vocabulary) for key, data in self.workflows.items()}

    def workflow(self, key: str) -> Workflow | None:
        return self.parsed_workflows.get(key)

    def snapshot_content(self, workflow_key: str) -> dict[str, Any]:
        workflow = self.workflows[workflow_key]
        forms = {entry["form"]: self.forms[entry["form"]] for entry in workflow["forms"]}
        return {"vocabulary": self.vocabulary, "workflow": workflow, "forms": forms}


_catalog_lock = threading.Lock()
_catalog_cache: dict[str, Catalog] = {}


def current_catalog() -> Catalog:
    """Parsed once per load: one cheap query tells whether anything new was loaded."""
    stamp = db.session.scalar(select(func.max(DefinitionVersion.id))) or 0
    cache_key = f"{db.engine.url}#{stamp}"
    with _catalog_lock:
        cached = _catalog_cache.get(cache_key)
    if cached is not None:
        return cached
    newest: dict[tuple[str, str], DefinitionVersion] = {}
    for row in db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.version)):
        newest[(row.kind, row.key)] = row
    catalog = Catalog(
        stamp=stamp,
        vocabulary=newest[("vocabulary", "vocabulary")].content
        if ("vocabulary", "vocabulary") in newest
        else {"version": 0, "items": {}},
        forms={key: row.content for (kind, key), row in newest.items() if kind == "form"},
        workflows=dict(
            sorted((key, row.content) for (kind, key), row in newest.items() if kind == "workflow")
        ),
    )
    with _catalog_lock:
        _catalog_cache.clear()
        _catalog_cache[cache_key] = catalog
    return catalog


def snapshot_for(workflow_key: str) -> DefinitionSnapshot:
    """The snapshot of the current definitions of a workflow, stored once per content."""
    catalog = current_catalog()
    content = catalog.snapshot_content(workflow_key)
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
