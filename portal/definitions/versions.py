"""The lifecycle of a definition version: a draft is made, saved (checked as ``definitions
check`` checks, with the draft in place of its published version), published (immutable from
then on) or discarded; a published version may be retired.

Services flush, never commit; each change is written to the audit log: the portal's chain for
a national version, the municipality's for its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.audit import services as audit
from portal.db import db, utcnow
from portal.definitions import checker
from portal.definitions.models import DefinitionVersion, VersionOrigin, VersionState
from portal.definitions.services import (
    catalog_problems,
    catalog_sources,
    read_catalog,
    source_key,
)
from portal.definitions.sources import (
    Problem,
    Source,
    content_digest,
    file_for,
    read_sources,
    said,
    to_yaml,
)
from portal.tenancy.models import Municipality

KINDS = ("vocabulary", "form", "workflow")


class VersionRefused(Exception):
    """What was asked cannot be done to this version; ``problems`` says why, where it is a
    fault in the definition itself."""

    def __init__(self, message: Any, problems: list[Problem] | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True)
class Scope:
    """National (``municipality`` None) or one municipality's own versions."""

    municipality: Municipality | None = None

    @property
    def municipality_id(self) -> int | None:
        return self.municipality.id if self.municipality is not None else None


NATIONAL = Scope()


def scope_of(version: DefinitionVersion) -> Scope:
    if version.municipality_id is None:
        return NATIONAL
    return Scope(db.session.get(Municipality, version.municipality_id))


def versions_of(kind: str, key: str, scope: Scope = NATIONAL) -> list[DefinitionVersion]:
    """Every version of a key in a scope, newest first."""
    return list(
        db.session.scalars(
            select(DefinitionVersion)
            .filter_by(kind=kind, key=key, municipality_id=scope.municipality_id)
            .order_by(DefinitionVersion.version.desc())
        )
    )


def published_of(kind: str, key: str, scope: Scope = NATIONAL) -> DefinitionVersion | None:
    """The live version of a key in a scope: its newest published one."""
    return next(
        (v for v in versions_of(kind, key, scope) if v.state == VersionState.PUBLISHED), None
    )


def draft_of(kind: str, key: str, scope: Scope = NATIONAL) -> DefinitionVersion | None:
    return next((v for v in versions_of(kind, key, scope) if v.state == VersionState.DRAFT), None)


def create_draft(
    kind: str,
    key: str,
    *,
    actor: Account | None,
    scope: Scope = NATIONAL,
    text: str | None = None,
) -> DefinitionVersion:
    """A new draft numbered after every version of the key in its scope: from ``text`` (YAML)
    when given, else from the live version (a municipality's first override starts from the
    national one). The draft is saved, so its faults are known at once."""
    if kind not in KINDS:
        raise VersionRefused(_l("Unknown kind of definition: %(kind)s", kind=kind))
    rows = versions_of(kind, key, scope)  # newest first
    existing = next((v for v in rows if v.state == VersionState.DRAFT), None)
    if existing is not None:
        raise VersionRefused(
            _l("%(label)s is already a draft: change that one", label=existing.label)
        )
    based_on = next((v for v in rows if v.state == VersionState.PUBLISHED), None)
    start = based_on or (published_of(kind, key) if scope.municipality is not None else None)
    if text is None and start is None:
        raise VersionRefused(_l("There is no published version to start from"))
    number = rows[0].version + 1 if rows else 1
    content = dict(start.content) if start is not None else {}
    draft = DefinitionVersion(
        kind=kind,
        key=key,
        version=number,
        municipality_id=scope.municipality_id,
        state=VersionState.DRAFT,
        origin=VersionOrigin.ADMIN,
        digest=content_digest(content),
        content=content,
        source_file=file_for(kind, key),
        based_on_id=based_on.id if based_on is not None else None,
        created_by_id=actor.id if actor is not None else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(draft)
    except IntegrityError:
        raise VersionRefused(
            _l("Someone else has just made a draft of %(key)s: change that one", key=key)
        ) from None
    text = to_yaml({**content, "version": number}) if text is None else _renumbered(text, number)
    save_draft(draft, text, actor=actor, audited=False)
    _audit(draft, actor, "definition.draft")
    return draft


#: What a key may be: a workflow's ``moving``, a form's ``<ministry>.<name>``.
_KEYS = {
    "workflow": re.compile(r"[a-z][a-z0-9_]{0,98}"),
    "form": re.compile(r"[a-z][a-z0-9_]*\.[a-z0-9_]+"),
}


def kind_of(data: Mapping[str, Any]) -> str | None:
    """Which kind of definition a file from elsewhere holds, by what only that kind has."""
    if "items" in data and "id" not in data:
        return "vocabulary"
    if "sections" in data:
        return "form"
    if "forms" in data:
        return "workflow"
    return None


def import_text(text: str, *, actor: Account | None, scope: Scope = NATIONAL) -> DefinitionVersion:
    """A draft from one file of an export (or of the repository), numbered after the key's
    versions in ``scope``; its faults are the draft's, to be fixed on its page."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        raise VersionRefused(_l("The file is not YAML a definition can be read from")) from None
    kind = kind_of(data) if isinstance(data, dict) else None
    if kind is None:
        raise VersionRefused(_l("The file is not a form, a workflow or the vocabulary"))
    key = "vocabulary" if kind == "vocabulary" else data.get("id")
    if kind != "vocabulary" and not (
        isinstance(key, str) and len(key) <= 100 and _KEYS[kind].fullmatch(key)
    ):
        raise VersionRefused(
            _l("The file's id must be like mic.tenshutsu (a form) or moving (a workflow)")
        )
    if scope.municipality is not None and kind != "form":
        raise VersionRefused(_l("A municipality's own versions are of forms only"))
    return create_draft(kind, str(key), actor=actor, scope=scope, text=text)


def _renumbered(text: str, number: int) -> str:
    """YAML from elsewhere (an export, a file) as this draft's: its ``version`` is the draft's."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if not isinstance(data, dict):
        return text
    return to_yaml({**data, "version": number})


def save_draft(
    draft: DefinitionVersion, text: str, *, actor: Account | None, audited: bool = True
) -> list[Problem]:
    """Keep the draft's YAML as typed, and its content when it parses; return every fault
    ``definitions check`` finds with the draft in place of its published version."""
    _must_be_draft(draft)
    draft.source_text = text
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        message = said("not valid YAML: %(error)s", error=str(exc))
        return [Problem(draft.source_file, _yaml_place(exc), message)]
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, a 100,000-deep list
        message = said("not a definition: %(error)s", error=str(exc)[:280])
        return [Problem(draft.source_file, "", message)]
    if not isinstance(data, dict):
        message = said("a definition is a mapping of names to values")
        return [Problem(draft.source_file, "", message)]
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError):
        return [
            Problem(
                draft.source_file,
                "",
                said("only text, numbers, true/false, lists and mappings: put dates in quotes"),
            )
        ]
    draft.content = data
    draft.digest = content_digest(data)
    db.session.flush()
    if audited:
        _audit(draft, actor, "definition.save")
    return problems_of(draft)


def _yaml_place(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}" if mark is not None else ""


def problems_of(draft: DefinitionVersion) -> list[Problem]:
    """The checker's faults in the live catalog with this draft in place: the draft's own and
    those it causes elsewhere (a workflow naming a form the draft no longer has)."""
    data = draft.content
    problems: list[Problem] = []
    if draft.kind != "vocabulary" and data.get("id") != draft.key:
        problems.append(Problem(draft.source_file, "id", said("must stay %(key)r", key=draft.key)))
    if data.get("version") != draft.version:
        message = said("this draft is %(version)d", version=draft.version)
        problems.append(Problem(draft.source_file, "version", message))
    sources = catalog_sources(read_catalog())
    sources.files = [s for s in sources.files if s.file != draft.source_file]
    sources.files.append(Source(draft.kind, draft.source_file, data))
    return problems + checker.check(sources)


def locked_row(version: DefinitionVersion) -> DefinitionVersion:
    """The version's row locked (``FOR UPDATE``) and read again: what another admin's
    transaction committed meanwhile is seen, and a second one waits for this one."""
    return db.session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.id == version.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def publish(draft: DefinitionVersion, *, actor: Account | None) -> DefinitionVersion:
    """Make a valid draft the live version of its key and scope, immutable from now on.

    The draft's row is locked first (``FOR UPDATE``): of two admins publishing at once, the
    second finds it published and is refused. A draft whose base is no longer the live
    version (someone published another since) is refused too, so nothing is overwritten
    unseen; the earlier published versions stay, readable."""
    locked = locked_row(draft)
    if locked.state != VersionState.DRAFT:
        raise VersionRefused(
            _l("%(label)s was published or discarded meanwhile", label=locked.label)
        )
    live = published_of(locked.kind, locked.key, scope_of(locked))
    if live is not None and live.id != locked.based_on_id:
        raise VersionRefused(
            _l(
                "%(live)s was published after this draft was made: discard it and make a new draft",
                live=live.label,
            )
        )
    problems = problems_of(locked)
    if problems:
        raise VersionRefused(_l("The draft has faults: fix them first"), problems)
    locked.state = VersionState.PUBLISHED
    locked.published_at = utcnow()
    locked.published_by_id = actor.id if actor is not None else None
    db.session.flush()
    _audit(locked, actor, "definition.publish")
    return locked


def retire(version: DefinitionVersion, *, actor: Account | None) -> None:
    """Stop using a published version: the one published before it is live again (none: the
    key is gone). Refused when the catalog would no longer check without it."""
    if version.state != VersionState.PUBLISHED:
        raise VersionRefused(_l("Only a published version can be retired"))
    try:
        with db.session.begin_nested():
            version.state = VersionState.RETIRED
            version.retired_at = utcnow()
            db.session.flush()
            problems = catalog_problems(read_catalog())
            if problems:
                raise VersionRefused(_l("Retiring it would break other definitions"), problems)
    except VersionRefused:
        db.session.refresh(version)
        raise
    _audit(version, actor, "definition.retire")


def discard(draft: DefinitionVersion, *, actor: Account | None) -> None:
    _must_be_draft(draft)
    _audit(draft, actor, "definition.discard")
    db.session.delete(draft)
    db.session.flush()


def _must_be_draft(version: DefinitionVersion) -> None:
    if version.state != VersionState.DRAFT:
        raise VersionRefused(_l("A published version never changes: make a new draft"))


def _audit(version: DefinitionVersion, actor: Account | None, action: str) -> None:
    scope = scope_of(version)
    chain = audit.municipality_chain(scope.municipality) if scope.municipality else "portal"
    audit.append(
        chain,
        actor=actor,
        action=action,
        subject=version.label,
        details={
            "kind": version.kind,
            "key": version.key,
            "version": version.version,
            "digest": version.digest,
        },
    )


# Export and import ------------------------------------------------------------------------


def export_tree(directory: Path, scope: Scope = NATIONAL) -> list[str]:
    """Write the live national versions as the repository's tree (``forms/vocabulary.yaml``,
    ``forms/<ministry>/<name>.yaml``, ``workflows/<event>.yaml``), or a municipality's own
    (its forms, in the same places); the files written."""
    catalog = read_catalog()
    if scope.municipality is None:
        sources = catalog_sources(catalog).files
    else:
        own = catalog.overrides.get(scope.municipality.code, {})
        sources = [Source("form", file_for("form", key), data) for key, data in own.items()]
    written = []
    for source in sources:
        target = directory / source.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_yaml(source.data), encoding="utf-8")
        written.append(source.file)
    return written


@dataclass
class ImportReport:
    drafted: list[DefinitionVersion] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: Faults: unreadable files, refused drafts, and the faults of each draft made.
    problems: list[Problem] = field(default_factory=list)


def import_tree(directory: Path, *, actor: Account | None, scope: Scope = NATIONAL) -> ImportReport:
    """A draft in ``scope`` of every file in such a tree that differs from its live version
    there (its number aside); each draft is checked as it is saved, and may be fixed later.
    A municipality's tree holds forms only."""
    sources = read_sources(directory / "forms", directory / "workflows")
    report = ImportReport(problems=list(sources.problems))
    for source in sources.files:
        if not isinstance(source.data, dict) or (
            source.kind != "vocabulary" and not isinstance(source.data.get("id"), str)
        ):
            message = said("not a definition with an id")
            report.problems.append(Problem(source.file, "id", message))
            continue
        if scope.municipality is not None and source.kind != "form":
            message = said("a municipality's own versions are of forms only")
            report.problems.append(Problem(source.file, "", message))
            continue
        key = source_key(source)
        live = published_of(source.kind, key, scope)
        if live is not None and content_digest({**source.data, "version": live.version}) == (
            live.digest
        ):
            report.unchanged.append(live.label)
            continue
        try:
            draft = create_draft(
                source.kind, key, actor=actor, scope=scope, text=to_yaml(source.data)
            )
        except VersionRefused as refused:
            report.problems.append(Problem(source.file, "", refused.message))
            continue
        report.drafted.append(draft)
        report.problems.extend(problems_of(draft))
    return report
