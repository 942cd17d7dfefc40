"""The structured editor of a draft: the common changes to a form (fields and sections added,
removed and moved; labels, help, required; title, deadline rule, department kind) and to a
workflow (forms added, removed and moved; each form's ``applies_if`` built from item, operator
and value), made on the draft's content and saved through ``versions.save_draft``, so a
structured change is checked and audited exactly as a raw YAML one.

The draft's YAML is regenerated from the content (``to_yaml``): comments in it do not
survive a structured save; the raw YAML editor keeps them until then.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.accounts.models import Account
from portal.definitions import versions
from portal.definitions.models import DefinitionVersion, VersionState
from portal.definitions.sources import Problem, to_yaml

#: What the builder offers, in the order shown; "answered" is ``{"!!": {"var": key}}``.
OPERATORS = ("==", "!=", "in", "<", "<=", ">", ">=", "answered")
OPERATOR_LABELS = {
    "==": _l("is"),
    "!=": _l("is not"),
    "in": _l("includes"),
    "<": _l("is less than"),
    "<=": _l("is at most"),
    ">": _l("is more than"),
    ">=": _l("is at least"),
    "answered": _l("is answered"),
}
COMBINATORS = ("and", "or")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
#: Where a workflow's form is filed, as the schema allows.
MUNICIPALITY_ROLES = ("current", "old", "new")
#: Local item types that need nothing more than a label to be asked.
SIMPLE_TYPES = (
    "text",
    "textarea",
    "name",
    "kana",
    "date",
    "time",
    "postal_code",
    "address",
    "phone",
    "email",
    "number",
    "digits",
    "yes_no",
)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class StaleDraft(Exception):
    """The draft changed (another tab, another admin) since the editor page was drawn."""


@dataclass(frozen=True)
class Clause:
    """One comparison of an answer: ``item`` ``operator`` ``value`` (the value as typed)."""

    item: str
    operator: str
    value: str = ""


@dataclass(frozen=True)
class Built:
    """A condition as the builder shows it: clauses joined by ``combinator``."""

    combinator: str
    clauses: tuple[Clause, ...]


# Conditions -------------------------------------------------------------------------------


def read_condition(rule: Any) -> Built | None:
    """The builder's view of an ``applies_if``; None when the builder cannot show it (it is
    then kept as it is and edited only in the raw YAML)."""
    if rule is None:
        return Built("and", ())
    if isinstance(rule, dict) and len(rule) == 1:
        ((operator, operands),) = rule.items()
        if operator in COMBINATORS and isinstance(operands, list) and operands:
            clauses = [_read_clause(operand) for operand in operands]
            if all(clause is not None for clause in clauses):
                return Built(operator, tuple(c for c in clauses if c is not None))
            return None
    clause = _read_clause(rule)
    return Built("and", (clause,)) if clause is not None else None


def _var(operand: Any) -> str | None:
    if isinstance(operand, dict) and list(operand) == ["var"]:
        name = operand["var"]
        return name if isinstance(name, str) and name else None
    return None


def _literal(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _read_clause(rule: Any) -> Clause | None:
    if not isinstance(rule, dict) or len(rule) != 1:
        return None
    ((operator, operands),) = rule.items()
    if operator == "!!":
        item = _var(operands[0] if isinstance(operands, list) and len(operands) == 1 else operands)
        return Clause(item, "answered") if item else None
    if not isinstance(operands, list) or len(operands) != 2:
        return None
    if operator == "in":
        item, value = _var(operands[1]), _literal(operands[0])
    elif operator in COMPARISONS:
        item, value = _var(operands[0]), _literal(operands[1])
    else:
        return None
    return Clause(item, operator, value) if item and value is not None else None


def build_condition(built: Built, item_types: dict[str, str]) -> Any:
    """The JsonLogic of a built condition (None: no clause, the form always applies). A
    value is a boolean for a yes/no item, a number for a number item, else text."""
    rules = [_build_clause(clause, item_types.get(clause.item)) for clause in built.clauses]
    if not rules:
        return None
    if len(rules) == 1:
        return rules[0]
    return {built.combinator: rules}


def _build_clause(clause: Clause, item_type: str | None) -> dict[str, Any]:
    var = {"var": clause.item}
    if clause.operator == "answered":
        return {"!!": var}
    value = typed_value(clause.value, item_type)
    if clause.operator == "in":
        return {"in": [value, var]}
    return {clause.operator: [var, value]}


def typed_value(text: str, item_type: str | None) -> Any:
    text = text.strip()
    if item_type == "yes_no" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if item_type == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    return text


# Moving things in a list ------------------------------------------------------------------


def move(rows: list[Any], index: int, step: int) -> None:
    """Swap a row with its neighbour; a move past either end changes nothing."""
    target = index + step
    if 0 <= index < len(rows) and 0 <= target < len(rows):
        rows[index], rows[target] = rows[target], rows[index]


def remove(rows: list[Any], index: int) -> None:
    if 0 <= index < len(rows):
        del rows[index]


def text_of(
    values: dict[str, str], original: Any, *, optional: bool = False
) -> dict[str, str] | None:
    """A text from the values typed per language: languages left empty are dropped, except
    Japanese (required: an empty one is left for the checker to refuse beside its input);
    languages the editor does not show are kept. None: an ``optional`` text left empty."""
    text = dict(original) if isinstance(original, dict) else {}
    for language, value in values.items():
        value = value.strip()
        if value or language == "ja":
            text[language] = value
        else:
            text.pop(language, None)
    if optional and not any(text.values()):
        return None
    return text


# Saving -----------------------------------------------------------------------------------


def editable(draft: DefinitionVersion) -> bool:
    return draft.state == VersionState.DRAFT and draft.kind in ("form", "workflow")


def save(
    draft: DefinitionVersion, content: dict[str, Any], *, seen: str, actor: Account | None
) -> list[Problem]:
    """Save a structured change as the draft's YAML, through ``save_draft`` (the same checks
    and audit as the raw YAML). ``seen`` is the digest of the draft the page was drawn from:
    the row is locked and a draft changed since is refused (``StaleDraft``), not overwritten."""
    locked = versions.locked_row(draft)
    if locked.state != VersionState.DRAFT:
        raise versions.VersionRefused(_l("A published version never changes: make a new draft"))
    if locked.digest != seen:
        raise StaleDraft()
    return versions.save_draft(locked, to_yaml(copy.deepcopy(content)), actor=actor)


def has_comments(text: str | None) -> bool:
    """Whether a structured save would drop comments from the draft's YAML."""
    return any(line.lstrip().startswith("#") for line in (text or "").splitlines())
