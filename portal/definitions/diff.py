"""What changed between two versions of a definition, as structured changes a page can list
and a test can compare: fields, sections, questions, workflow forms and vocabulary items
added, removed, moved or changed, and the exact properties that changed.

Parts are matched by what names them (a field by its key, a section by its id, a workflow's
form by its form id), not by their place in the YAML: a reordered list is a move, not a
removal and an addition.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Action = Literal["added", "removed", "moved", "changed"]
#: Properties that are not a change of content: the number always differs.
IGNORED = frozenset({"version"})
#: JsonLogic rules: one value each, shown whole, never as the leaves of their operators.
CONDITIONS = frozenset({"applies_if", "show_if", "prefill_if"})


@dataclass(frozen=True)
class Change:
    """One change: ``part`` is what it is ("field", "section", "question", "form", "item",
    "attachment" or "property"), ``key`` what names it, ``path`` where it is (like
    ``sections/mover/fields/move.date/required``); moves and changes give before and after."""

    action: Action
    part: str
    key: str
    path: str
    before: Any = None
    after: Any = None


def diff(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """The changes from ``old`` to ``new``, both of ``kind`` ("form", "workflow" or
    "vocabulary"), in the order a reader meets them."""
    if kind == "form":
        return list(_form(old, new))
    if kind == "workflow":
        return list(_workflow(old, new))
    return list(_named(old.get("items", {}), new.get("items", {}), "item", "items"))


def _form(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    yield from _properties(old, new, "", skip={"sections", "attachments"})
    old_sections = _by(old.get("sections", []), "id")
    new_sections = _by(new.get("sections", []), "id")
    yield from _listed(old_sections, new_sections, "section", "sections", deep=False)
    old_homes = {f["key"]: s for s, section in old_sections.items() for f in section["fields"]}
    new_homes = {f["key"]: s for s, section in new_sections.items() for f in section["fields"]}
    for section_id, section in new_sections.items():
        path = f"sections/{section_id}"
        if section_id in old_sections:
            before = old_sections[section_id]
            yield from _properties(before, section, path, skip={"fields", "id"})
        else:
            before = {"fields": []}
        yield from _fields(before["fields"], section["fields"], path, old_homes, new_homes)
    for section_id, section in old_sections.items():
        gone = [f for f in section["fields"] if f["key"] not in new_homes]
        for field in gone:
            yield Change("removed", "field", field["key"], f"sections/{section_id}/fields")
    yield from _listed(
        _by(old.get("attachments", []), "key"),
        _by(new.get("attachments", []), "key"),
        "attachment",
        "attachments",
    )


def _fields(
    old: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    path: str,
    old_homes: Mapping[str, str],
    new_homes: Mapping[str, str],
) -> Iterator[Change]:
    """A section's fields: new here, moved here from another section, moved within it, or
    changed. Removals are reported once, by the caller."""
    here = path.rsplit("/", 1)[-1]
    old_by, new_by = _by(old, "key"), _by(new, "key")
    for key in _moved(list(old_by), list(new_by)):
        yield Change("moved", "field", key, f"{path}/fields", before=here, after=here)
    for key, field in new_by.items():
        if key in old_by:
            yield from _properties(old_by[key], field, f"{path}/fields/{key}", skip={"key"})
        elif key in old_homes:
            yield Change("moved", "field", key, f"{path}/fields", before=old_homes[key], after=here)
        else:
            yield Change("added", "field", key, f"{path}/fields", after=field)


def _workflow(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    yield from _properties(old, new, "", skip={"questions", "forms"})
    yield from _listed(
        _by(old.get("questions", []), "key"),
        _by(new.get("questions", []), "key"),
        "question",
        "questions",
    )
    yield from _listed(
        _by(old.get("forms", []), "form"), _by(new.get("forms", []), "form"), "form", "forms"
    )


def _listed(
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    part: str,
    path: str,
    deep: bool = True,
) -> Iterator[Change]:
    """An ordered list of named parts: added, removed, moved and (``deep``) changed."""
    for key in _moved(list(old), list(new)):
        yield Change(
            "moved", part, key, path, before=list(old).index(key), after=list(new).index(key)
        )
    for key, value in new.items():
        if key not in old:
            yield Change("added", part, key, path, after=value)
        elif deep:
            yield from _properties(old[key], value, f"{path}/{key}", skip=set())
    for key, value in old.items():
        if key not in new:
            yield Change("removed", part, key, path, before=value)


def _named(
    old: Mapping[str, Any], new: Mapping[str, Any], part: str, path: str
) -> Iterator[Change]:
    """A mapping of named parts (the vocabulary's items), where order means nothing."""
    for key in sorted(new.keys() - old.keys()):
        yield Change("added", part, key, path, after=new[key])
    for key in sorted(old.keys() - new.keys()):
        yield Change("removed", part, key, path, before=old[key])
    for key in sorted(old.keys() & new.keys()):
        yield from _properties(old[key], new[key], f"{path}/{key}", skip=set())


def _properties(old: Any, new: Any, path: str, skip: set[str] | frozenset[str]) -> Iterator[Change]:
    """Every property that differs, down to the leaves of nested mappings (``title/en``);
    a list (options) and a condition are one value each."""
    name = path.rsplit("/", 1)[-1]
    if isinstance(old, Mapping) and isinstance(new, Mapping) and name not in CONDITIONS:
        for key in [*old, *(k for k in new if k not in old)]:
            if key in skip or (not path and key in IGNORED):
                continue
            yield from _properties(
                old.get(key), new.get(key), f"{path}/{key}" if path else str(key), set()
            )
    elif old != new:
        yield Change("changed", "property", name, path, before=old, after=new)


def _by(entries: Sequence[Mapping[str, Any]], name: str) -> dict[str, Mapping[str, Any]]:
    return {str(entry[name]): entry for entry in entries}


def _moved(old: list[str], new: list[str]) -> list[str]:
    """The parts in both whose place changed: those outside the longest run of parts kept in
    the same order (so moving one field down reports that field, not all it passed)."""
    common = set(old) & set(new)
    before = [key for key in old if key in common]
    after = [key for key in new if key in common]
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    kept = {
        after[i]
        for block in matcher.get_matching_blocks()
        for i in range(block.b, block.b + block.size)
    }
    return [key for key in after if key not in kept]
