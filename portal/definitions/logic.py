"""Conditions in form and workflow definitions: JsonLogic, evaluated by ``json_logic``
(maykin-json-logic-py, the library Open Forms uses), with our domain operators and one rule
of our own: a missing answer never makes a condition true.

The answers of a case are a flat mapping from dotted keys to values (``move.new_address``);
they are nested by those keys before evaluation (``{"move": {"new_address": {...}}}``), so
the library's ``var`` finds ``move.new_address.municipality_code``. The checker makes sure
no key is a dotted prefix of another, so nesting never loses an answer.

Missing answers
    An answer that was never given, or is ``None`` or ``""``, is *missing*, and an operator
    over a missing value gives ``None`` ("unknown"), never a coerced value: ``<``, ``<=``,
    ``>``, ``>=``, ``==``, ``!=``, ``===``, ``!==``, ``in``, ``!``, ``count``,
    ``years_between`` and ``days_between``. ``and`` is false as soon as one operand is false
    and ``or`` true as soon as one is true; otherwise an unknown operand makes them unknown
    (Kleene's logic). ``if``/``?:`` on an unknown condition are unknown. ``some``/``all``/
    ``none`` over a missing list are unknown, and over a list they combine the element
    results with ``or``/``and``. A condition holds only when its value is truthy, so an
    unknown condition does not hold: ``years_between(birthdate) < 18`` and its negation both
    fail for a person whose date of birth is missing. ``!!`` and ``missing`` are the explicit
    tests for an answer: ``{"!!": {"var": "x"}}`` is false, not unknown, when x is missing.

Only the operators in :data:`OPERATORS` are allowed in definitions (the checker refuses
others): the library's JsonLogic operators that mean the same in Python as in JavaScript,
``some``/``all``/``none``/``filter`` (which the library lacks), and:

* ``years_between [from, to]``: whole years from ``from`` to ``to`` (ISO ``YYYY-MM-DD`` or
  dates), counting the anniversary on the day itself, so it is an age. A 29 February birthday
  falls on 1 March in common years. Negative when ``to`` is before ``from``. Japanese law
  counts an age as reached the day before the birthday: rules that need the legal age on a
  day D pass D + 1 day.
* ``days_between [from, to]``: ``to`` minus ``from`` in days.
* ``today []``: today's date in Japan (Asia/Tokyo, UTC+9) as ``YYYY-MM-DD``.
* ``count [list]``: the length of a list (or string).

Our operators are registered in the library's ``operations``/``scoped_operations`` (its way
of adding operators; the registration is process-wide, so every ``jsonLogic`` call in the
portal has these semantics). What the library could not do, and we do: ``some``/``all``/
``none``/``filter`` ("Unrecognized operation"); a missing answer under ``!``/``!=`` (the
library says true); ``"abc" < 18`` (the library raises ValueError); ``count`` (the library
counts truthy arguments); ``today`` in Japan (the library gives the server's date); keys with
dots (the library's ``var`` reads nested data only, hence :func:`nest`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final

import json_logic
from json_logic import jsonLogic
from json_logic.meta import JSONLogicExpression, Operation

from portal.definitions.sources import Said, said
from portal.japan.clock import JAPAN, today_in_japan

__all__ = [
    "JST",
    "OPERATORS",
    "SCOPED",
    "Condition",
    "LogicError",
    "Nested",
    "Read",
    "evaluate",
    "nest",
    "reads",
    "truthy",
    "validate",
    "variables",
]

#: Japan Standard Time, from :mod:`portal.japan.clock`.
JST: Final = JAPAN

#: The operators a definition may use, with their (least, most) number of arguments.
OPERATORS: Final[Mapping[str, tuple[int, int | None]]] = MappingProxyType(
    {
        "var": (1, 2),
        "missing": (0, None),
        "missing_some": (2, 2),
        "if": (2, None),
        "?:": (3, 3),
        "==": (2, 2),
        "!=": (2, 2),
        "===": (2, 2),
        "!==": (2, 2),
        "!": (1, 1),
        "!!": (1, 1),
        "and": (1, None),
        "or": (1, None),
        "<": (2, 3),
        "<=": (2, 3),
        ">": (2, 2),
        ">=": (2, 2),
        "in": (2, 2),
        "cat": (0, None),
        "merge": (0, None),
        "some": (2, 2),
        "all": (2, 2),
        "none": (2, 2),
        "filter": (2, 2),
        "map": (2, 2),
        "count": (1, 1),
        "years_between": (2, 2),
        "days_between": (2, 2),
        "today": (0, 0),
    }
)
#: Operators whose second argument is evaluated against each element of the first.
SCOPED: Final = frozenset({"some", "all", "none", "filter", "map"})

#: How deeply a rule may nest (also catches self-referencing YAML anchors).
MAX_DEPTH: Final = 60


class LogicError(ValueError):
    """A malformed rule; ``problems`` says every fault found."""

    def __init__(self, problems: list[Said]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


# -- missing-safe operators ------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Whether a condition's value makes it hold: unknown (None), false, 0, "" and [] do not."""
    return bool(value)


def _unknown(*values: Any) -> bool:
    return any(value is None for value in values)


def _not(value: Any) -> bool | None:
    return None if value is None else not value


def _and(*values: Any) -> Any:
    if any(value is not None and not value for value in values):
        return False
    return None if _unknown(*values) else values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if value:
            return value
    return None if _unknown(*values) else values[-1]


def _if(*values: Any) -> Any:
    for index in range(0, len(values) - 1, 2):
        if values[index] is None:
            return None
        if values[index]:
            return values[index + 1]
    return values[-1] if len(values) % 2 else None


def _known(operator: str) -> Any:
    """The library's operator, unknown when an operand is (or when the library cannot compare
    them: ``"abc" < 18`` raises there)."""
    library = json_logic.operations[operator]

    def known(*values: Any) -> Any:
        if _unknown(*values):
            return None
        try:
            return library(*values)
        except (TypeError, ValueError):
            return None

    return known


def _in(needle: Any, haystack: Any) -> bool | None:
    """Whether a list holds the value (or a string the substring); the library's own ``in``
    calls ``dir()`` on every evaluation, the costliest step of a page's conditions."""
    if needle is None or haystack is None:
        return None
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    return False


_ISO_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def _as_date(value: Any) -> date | None:
    """A date from a date, a datetime or a ``YYYY-MM-DD`` string; None for anything else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (match := _ISO_DATE.fullmatch(value)):
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return None
    return None


def _whole_years(start: date, end: date) -> int:
    if end < start:
        return -_whole_years(end, start)
    years = end.year - start.year
    if (end.month, end.day) < (start.month, start.day):
        years -= 1
    return years


def _years_between(start: Any, end: Any) -> int | None:
    first, last = _as_date(start), _as_date(end)
    return None if first is None or last is None else _whole_years(first, last)


def _days_between(start: Any, end: Any) -> int | None:
    first, last = _as_date(start), _as_date(end)
    return None if first is None or last is None else (last - first).days


_today: ContextVar[date | None] = ContextVar("logic_today", default=None)


def _today_in_japan() -> str:
    return (_today.get() or today_in_japan()).isoformat()


def _count(value: Any) -> int | None:
    return len(value) if isinstance(value, list | str) else None


def _element_results(data: Any, items_rule: Any, element_rule: Any) -> list[Any] | None:
    items = jsonLogic(items_rule, data)
    if not isinstance(items, list):
        return None
    return [jsonLogic(element_rule, item) for item in items]


def _some(data: Any, items_rule: Any, element_rule: Any) -> bool | None:
    results = _element_results(data, items_rule, element_rule)
    if results is None:
        return None
    if any(results):
        return True
    return None if _unknown(*results) else False


def _all(data: Any, items_rule: Any, element_rule: Any) -> bool | None:
    results = _element_results(data, items_rule, element_rule)
    if results is None:
        return None
    if not results:
        return False
    combined = _and(*results)
    return None if combined is None else bool(combined)


def _none(data: Any, items_rule: Any, element_rule: Any) -> bool | None:
    return _not(_some(data, items_rule, element_rule))


def _filter(data: Any, items_rule: Any, element_rule: Any) -> list[Any] | None:
    items = jsonLogic(items_rule, data)
    if not isinstance(items, list):
        return None
    return [item for item in items if jsonLogic(element_rule, item)]


def _map(data: Any, items_rule: Any, element_rule: Any) -> list[Any] | None:
    items = jsonLogic(items_rule, data)
    if not isinstance(items, list):
        return None
    return [jsonLogic(element_rule, item) for item in items]


json_logic.operations.update(
    {
        "!": _not,
        "and": _and,
        "or": _or,
        "if": _if,
        "?:": lambda condition, then, otherwise: _if(condition, then, otherwise),
        **{
            operator: _known(operator)
            for operator in ("==", "!=", "===", "!==", "<", "<=", ">", ">=")
        },
        "in": _in,
        "years_between": _years_between,
        "days_between": _days_between,
        "today": _today_in_japan,
        "count": _count,
    }
)
json_logic.scoped_operations.update(
    {"some": _some, "all": _all, "none": _none, "filter": _filter, "map": _map}
)


# -- evaluation ------------------------------------------------------------------------------


def _cleaned(value: Any) -> Any:
    if type(value) is dict:
        return {k: _cleaned(v) for k, v in value.items() if v is not None and v != ""}
    if type(value) is list:
        return [_cleaned(v) for v in value]
    return value


class Nested(dict[str, Any]):
    """Answers nested by :func:`nest`: computing a journey's pages evaluates a hundred
    conditions over the same answers (a few dozen distinct ones), so they are nested once
    and each distinct :class:`Condition` is evaluated once over them."""

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[tuple[str, date | None], Any] = {}


@dataclass(frozen=True, eq=False)
class Condition:
    """A definition's rule with its canonical text, so that equal rules of different fields
    are evaluated once per :class:`Nested` answers."""

    rule: Any
    key: str

    @classmethod
    def of(cls, rule: Any) -> Any:
        """A Condition for a rule; None, True and False stay as they are."""
        if rule is None or isinstance(rule, bool):
            return rule
        return cls(rule, json.dumps(rule, sort_keys=True, ensure_ascii=False, default=str))


def nest(answers: Mapping[str, Any]) -> Nested:
    """The flat answers nested by their dotted keys, missing values (None, "") left out."""
    if isinstance(answers, Nested):
        return answers
    nested = Nested()
    for key, value in answers.items():
        if value is None or value == "":
            continue
        *parents, last = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = _cleaned(value)
    return nested


def evaluate(
    rule: Any,
    answers: Mapping[str, Any] | None,
    *,
    today: date | None = None,
    checked: bool = False,
) -> Any:
    """Evaluate a rule (or a :class:`Condition`) against a case's flat answers (or the
    :class:`Nested` ones, which remember the result of each Condition).

    ``today`` stands in for the current date in Japan. Raises :class:`LogicError` when
    :func:`validate` finds a problem; ``checked=True`` skips that for the rules of loaded
    definitions, which the checker validated before they were stored (the hot path).
    """
    condition = rule if isinstance(rule, Condition) else None
    if condition is not None:
        rule = condition.rule
    if not checked:
        problems = validate(rule)
        if problems:
            raise LogicError(problems)
    data = nest(answers or {})
    if condition is not None and (condition.key, today) in data.results:
        return data.results[(condition.key, today)]
    token = _today.set(today or today_in_japan())
    try:
        result = jsonLogic(rule, data)
    finally:
        _today.reset(token)
    if condition is not None:
        data.results[(condition.key, today)] = result
    return result


# -- static analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """A name a rule reads; inside ``some``/``all``/... it is read from each element of the
    list that ``scope`` reads (``birthdate`` of each of ``move.members``)."""

    name: str
    scope: Read | None = None
    #: Read as the operand of ``!``: "not x" is unknown when x is missing, so it is no way to
    #: ask "was x not given?" (the checker allows it on yes/no answers only).
    negated: bool = False


def _tree(rule: Any) -> Any:
    return JSONLogicExpression.from_expression(rule).as_tree()


def _depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether the rule nests no deeper than the limit."""
    if limit < 0:
        return False
    if isinstance(value, Mapping):
        return all(_depth(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth(v, limit - 1) for v in value)
    return True


def validate(rule: Any) -> list[Said]:
    """Every problem found in the rule without data; empty when the rule is sound: an unknown
    or disallowed operator, a wrong number of arguments, a ``var`` name that is not literal,
    a ``some``/``all``/... over something other than a ``var``, nesting too deep."""
    if not _depth(rule):
        return [said("the rule nests more than %(depth)d levels deep", depth=MAX_DEPTH)]
    try:
        tree = _tree(rule)
    except (ValueError, AssertionError, TypeError) as exc:
        return [said("not a JsonLogic rule: %(error)s", error=str(exc))]
    return list(_problems(tree))


def _problems(node: Any) -> Iterator[Said]:
    if isinstance(node, list):
        for item in node:
            yield from _problems(item)
        return
    if not isinstance(node, Operation):
        return
    operator, args = node.operator, node.arguments
    if operator not in OPERATORS:
        yield said("operator %(operator)r is not allowed in definitions", operator=operator)
        return
    least, most = OPERATORS[operator]
    if len(args) < least or (most is not None and len(args) > most):
        if most is None:
            yield said(
                "%(operator)r takes at least %(least)d argument(s), got %(count)d",
                operator=operator,
                least=least,
                count=len(args),
            )
        else:
            yield said(
                "%(operator)r takes %(least)d to %(most)d argument(s), got %(count)d",
                operator=operator,
                least=least,
                most=most,
                count=len(args),
            )
        return
    if operator == "var" and not isinstance(args[0], str | int):
        yield said("'var' needs a literal name, got %(name)r", name=args[0])
    if operator in ("missing", "missing_some"):
        keys = args[1] if operator == "missing_some" else args
        if isinstance(keys, list) and len(keys) == 1 and isinstance(keys[0], list):
            keys = keys[0]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            yield said("%(operator)r needs literal keys", operator=operator)
    if operator in SCOPED and not (isinstance(args[0], Operation) and args[0].operator == "var"):
        yield said("%(operator)r must iterate over an answer ({'var': ...})", operator=operator)
    for argument in args:
        yield from _problems(argument)


def reads(rule: Any) -> list[Read]:
    """Every name the rule reads, with the list it is read from inside ``some`` & co.; a
    malformed rule gives what could be found (:func:`validate` says what is wrong)."""
    try:
        tree = _tree(rule) if _depth(rule) else None
    except (ValueError, AssertionError, TypeError):
        return []
    found: list[Read] = []
    _collect(tree, None, found)
    return found


def _collect(node: Any, scope: Read | None, found: list[Read]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, scope, found)
        return
    if not isinstance(node, Operation):
        return
    operator, args = node.operator, node.arguments
    if operator == "var" and args and isinstance(args[0], str | int):
        found.append(Read(str(args[0]), scope))
        _collect(args[1:], scope, found)  # a default may read answers too
        return
    if operator == "!" and len(args) == 1 and isinstance(args[0], Operation):
        inner = args[0]
        if inner.operator == "var" and inner.arguments and isinstance(inner.arguments[0], str):
            found.append(Read(inner.arguments[0], scope, negated=True))
            return
    if operator in ("missing", "missing_some"):
        keys = args[1:] if operator == "missing_some" else args
        if operator == "missing_some":
            _collect(args[:1], scope, found)  # how many are needed may be read too
        for key in keys:
            for name in key if isinstance(key, list) else [key]:
                if isinstance(name, str):
                    found.append(Read(name, scope))
        return
    if operator in SCOPED and len(args) == 2:
        _collect(args[0], scope, found)
        items = args[0]
        if isinstance(items, Operation) and items.operator == "var" and items.arguments:
            _collect(args[1], Read(str(items.arguments[0]), scope), found)
        return
    for argument in args:
        _collect(argument, scope, found)


def variables(rule: Any) -> set[str]:
    """The answer keys the rule reads outside ``some`` & co. (and the lists they iterate)."""
    return {read.name for read in reads(rule) if read.scope is None and read.name}
