"""A small, exact JsonLogic evaluator for the conditions in form and workflow definitions.

Definitions (YAML) carry conditions in JsonLogic (https://jsonlogic.com): "show this field if",
"this form applies if", "this attachment is required if". This module evaluates them and checks
them statically. It is our own because answer keys contain dots (``move.new_address``) and the
definitions checker needs :func:`validate` and :func:`variables`.

Rules
    A rule is a mapping with exactly one key, the operator, whose value is the argument list (a
    non-list value is a single argument: ``{"var": "x"}`` is ``{"var": ["x"]}``). A list
    evaluates element by element. Every other value, including ``{}`` and a mapping with two or
    more keys, is a literal and comes back unchanged.

Values follow json-logic-js (JavaScript semantics), with these deliberate differences:

* Integers stay Python ints and are exact (JavaScript rounds past 2**53); ``int op int`` is an
  int, and ``/`` is an int when the division is exact. A number read from a string is a
  JavaScript number: an int up to 2**53, a (rounded) float beyond. Integer zero has no sign, so
  ``1 / -0`` is +Infinity (JavaScript: -Infinity); ``-0.0`` keeps its sign. Infinity and NaN
  are Python floats, and division or remainder by zero gives them as JavaScript does instead
  of raising.
* ``==`` / ``===`` compare two lists or two mappings by content (strictly, element by element);
  JavaScript compares their identity, so ``[1] == [1]`` is false there and true here.
* ``var`` resolves dotted names by the longest key prefix (see :func:`evaluate`), and never
  indexes into a string (JavaScript's ``"abc".0`` is ``"a"``).
* ``if`` needs at least two arguments, and ``and``, ``or``, ``max``, ``min``, ``*`` at least
  one (json-logic-js quietly returns ``null``, ``-Infinity`` or throws): those are arity
  errors here. ``*`` of one argument is that argument as a number.
* The initial value of ``reduce`` is evaluated (json-logic-js passes it through unevaluated).
* ``var`` names and ``missing``/``missing_some`` keys must be literal, so that
  :func:`variables` is complete: see :func:`validate`.
* Any other Python object in data or rules (a ``datetime.date`` from YAML, say) behaves as a
  JavaScript object whose string form is ``str(value)``; a ``date`` is also accepted wherever a
  date is expected.

Truthiness: ``None``, ``False``, ``0``, ``0.0``, NaN, ``""`` and ``[]`` are false; everything
else (``"0"``, ``{}``, ``[0]``) is true.

Loose equality (``==``, ``!=``), JavaScript's abstract equality:

* same kind (null, boolean, number, string, object) compares by value, as ``===`` does;
* ``None`` equals only ``None`` (``None == 0`` and ``None == ""`` are false);
* a boolean is first turned into ``0``/``1``: ``True == 1`` and ``True == "1"`` are true,
  ``True == "true"`` is false;
* a number and a string compare as numbers: ``1 == "1"``, ``0 == ""``, ``10 == "0xA"``,
  ``1 == " 1 "``; a non-numeric string is NaN and equal to nothing;
* a list or mapping against a number or string is first turned into a string (a list joins
  its elements with commas, a mapping is ``"[object Object]"``): ``[1] == 1``, ``[1, 2] == "1,2"``.

Strict equality (``===``, ``!==``): same kind and same value, with ``1 === 1.0`` (one number
type) but ``True !== 1``; NaN is unequal to everything.

Comparisons (``<`` ``<=`` ``>`` ``>=``): two strings compare by UTF-16 code units; otherwise both
sides become numbers (``None`` is 0, ``"12"`` is 12, ``"abc"`` is NaN and every comparison with
NaN is false). ``<`` and ``<=`` take a third argument for "between": ``a < b < c``.

Arithmetic: ``+`` and ``*`` read numbers like JavaScript's ``parseFloat`` (``"12abc"`` is 12,
``None`` is NaN); ``-``, ``/``, ``%``, ``max``, ``min`` like ``Number()`` (``None`` is 0,
``"12abc"`` is NaN). ``%`` takes the sign of the dividend, as in JavaScript.

Custom operators:

* ``count``: the length of a list, mapping or string; 0 for anything else (``None``).
* ``years_between [from, to]``: whole years from ``from`` to ``to`` (ISO ``YYYY-MM-DD`` strings
  or dates), counting a birthday on the day itself, so it is an age. A 29 February birthday
  falls on 1 March in common years (28 February is still the day before). Negative when ``to``
  is before ``from`` (minus the years from ``to`` to ``from``). ``None`` when either date is
  missing or invalid. Japanese law (年齢計算ニ関スル法律 with Civil Code art. 143) counts an
  age as reached at the end of the day before the birthday, so the day an age is "reached"
  (年齢到達日) is the day before it (28 February for a 29 February birth in common years):
  the legal age on a day D is ``years_between`` of the birth date and D + 1 day. Rules that
  need it (介護保険 from the day one reaches 65; the school year of a child born on 1 April)
  must pass the following day as the reference date.
* ``days_between [from, to]``: ``to`` minus ``from`` in days; ``None`` if either is invalid.
* ``today []``: today's date in Japan (Asia/Tokyo, always UTC+9) as ``YYYY-MM-DD``, or the
  ``today`` given to :func:`evaluate`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final

from portal.clock import JAPAN, today_in_japan

__all__ = [
    "JST",
    "MAX_DEPTH",
    "OPERATORS",
    "LogicError",
    "element_variables",
    "evaluate",
    "loose_equal",
    "strict_equal",
    "truthy",
    "validate",
    "variables",
]

#: Japan Standard Time, from :mod:`portal.clock`.
JST: Final = JAPAN

#: How deeply rules may nest, counting every list and mapping: deeper rules are rejected
#: (this also catches self-referencing YAML anchors) so evaluation never hits Python's limit.
MAX_DEPTH: Final = 100

#: Every operator with its (least, most) number of arguments; ``None`` is "no limit".
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
        "max": (1, None),
        "min": (1, None),
        "+": (0, None),
        "-": (1, 2),
        "*": (1, None),
        "/": (2, 2),
        "%": (2, 2),
        "in": (2, 2),
        "cat": (0, None),
        "merge": (0, None),
        "some": (2, 2),
        "all": (2, 2),
        "none": (2, 2),
        "map": (2, 2),
        "filter": (2, 2),
        "reduce": (2, 3),
        "count": (1, 1),
        "years_between": (2, 2),
        "days_between": (2, 2),
        "today": (0, 0),
    }
)

#: Operators whose second argument is evaluated against each element of the first.
_SCOPED: Final = frozenset({"some", "all", "none", "map", "filter", "reduce"})


class LogicError(ValueError):
    """A malformed rule: an unknown operator, a wrong number of arguments, a ``var`` name that
    is not literal, or a non-list where a list is needed. The message names the operator and
    where it is (a JSON Pointer into the rule); ``problems`` lists every problem found."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


# -- values ------------------------------------------------------------------------------------


def _is_array(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _is_rule(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1


def _is_key(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _arguments(raw: Any) -> list[Any]:
    return list(raw) if _is_array(raw) else [raw]


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: None, False, 0, NaN, "" and [] are false; all else (``{}``) true."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0 and value == value  # NaN is the one value unequal to itself
    if isinstance(value, str) or _is_array(value):
        return len(value) > 0
    return True


def _kind(value: Any) -> str:
    """The JavaScript type: null, boolean, number, string or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


_JS_SPACE: Final = "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)
_DECIMAL: Final = re.compile(
    r"[+-]?(?:Infinity|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
)
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_RADIX: Final = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_RADIX_BASE: Final = {"x": 16, "o": 8, "b": 2}
_EXACT: Final = 2**53


def _decimal(text: str) -> int | float:
    """The value of text matching ``_DECIMAL``, as JavaScript reads it: a double, kept as an
    int when it is an integer literal that a double holds exactly (up to 2**53)."""
    if text.lstrip("+-") == "Infinity":
        return -math.inf if text.startswith("-") else math.inf
    if _INTEGER.fullmatch(text) and len(text) < 20:
        number = int(text)
        if abs(number) <= _EXACT:
            return number
    return float(text)


def _to_number(value: Any) -> int | float:
    """JavaScript's ``Number(value)``."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str):
        value = _to_string(value)
    text = value.strip(_JS_SPACE)
    if not text:
        return 0
    if _DECIMAL.fullmatch(text):
        return _decimal(text)
    if match := _RADIX.fullmatch(text):
        digits = match.group(1)
        number = int(digits[1:], _RADIX_BASE[digits[0].lower()])
        return number if number <= _EXACT else _as_float(number)
    return math.nan


def _parse_float(value: Any) -> int | float:
    """JavaScript's ``parseFloat(value)``: the longest numeric prefix of its string form."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    match = _DECIMAL.match(_to_string(value).lstrip(_JS_SPACE))
    return _decimal(match.group()) if match else math.nan


def _float_to_string(number: float) -> str:
    """JavaScript's ``String(number)`` for a float: shortest round-trip digits, JS layout."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exponent = repr(abs(number)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    stripped = digits.rstrip("0")
    # number = int(stripped) * 10 ** (n - k): k digits, the point after the n-th digit.
    k = len(stripped)
    n = len(digits) - len(fraction) + (int(exponent) if exponent else 0)
    digits = stripped
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        power = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
        text = digits + power if k == 1 else digits[0] + "." + digits[1:] + power
    return sign + text


def _to_string(value: Any) -> str:
    """JavaScript's ``String(value)``; other Python objects give ``str(value)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # longer than Python's limit for str(int)
            return _float_to_string(_as_float(value))
    if isinstance(value, float):
        return _float_to_string(value)
    if isinstance(value, str):
        return value
    if _is_array(value):
        return ",".join(_join_part(item) for item in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _join_part(value: Any) -> str:
    """How ``Array.prototype.join`` writes an element: null is the empty string."""
    return "" if value is None else _to_string(value)


def _to_primitive(value: Any) -> Any:
    return _to_string(value) if _kind(value) == "object" else value


def strict_equal(a: Any, b: Any) -> bool:
    """``===``: same kind, same value; lists and mappings compare by content."""
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind != "object":
        return bool(a == b)
    if _is_array(a) or _is_array(b):
        return (
            _is_array(a)
            and _is_array(b)
            and len(a) == len(b)
            and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and a.keys() == b.keys()
            and all(strict_equal(a[key], b[key]) for key in a)
        )
    return bool(a == b)


def loose_equal(a: Any, b: Any) -> bool:
    """``==``: JavaScript's abstract equality (see the module documentation)."""
    kind_a, kind_b = _kind(a), _kind(b)
    if kind_a == kind_b:
        return strict_equal(a, b)
    if "null" in (kind_a, kind_b):
        return False
    if kind_a == "boolean":
        return loose_equal(int(a), b)
    if kind_b == "boolean":
        return loose_equal(a, int(b))
    if kind_a == "object":
        return loose_equal(_to_string(a), b)
    if kind_b == "object":
        return loose_equal(a, _to_string(b))
    return bool(_to_number(a) == _to_number(b))  # a number and a string


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _less(a: Any, b: Any, *, or_equal: bool = False) -> bool:
    """JavaScript's ``a < b`` (or ``a <= b``)."""
    a, b = _to_primitive(a), _to_primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return _utf16(a) <= _utf16(b) if or_equal else _utf16(a) < _utf16(b)
    x, y = _to_number(a), _to_number(b)
    return x <= y if or_equal else x < y


def _as_float(number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def _add(a: int | float, b: int | float) -> int | float:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return _as_float(a) + _as_float(b)


def _subtract(a: int | float, b: int | float) -> int | float:
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    return _as_float(a) - _as_float(b)


def _multiply(a: int | float, b: int | float) -> int | float:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return _as_float(a) * _as_float(b)


def _divide(a: int | float, b: int | float) -> int | float:
    if isinstance(a, int) and isinstance(b, int) and b != 0:
        quotient, remainder = divmod(a, b)
        if remainder == 0:
            return quotient
        try:
            return a / b
        except OverflowError:
            return math.inf if (a < 0) == (b < 0) else -math.inf
    x, y = _as_float(a), _as_float(b)
    if y == 0:
        if x == 0 or math.isnan(x):
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def _remainder(a: int | float, b: int | float) -> int | float:
    """JavaScript's ``%``: the sign of the dividend; NaN for a zero divisor."""
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            return math.nan
        result = abs(a) % abs(b)
        return -result if a < 0 else result
    x, y = _as_float(a), _as_float(b)
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or y == 0:
        return math.nan
    if math.isinf(y):
        return x
    return math.fmod(x, y)


def _extreme(values: list[Any], pick: Callable[[list[int | float]], int | float]) -> int | float:
    numbers = [_to_number(value) for value in values]
    if any(isinstance(number, float) and math.isnan(number) for number in numbers):
        return math.nan
    return pick(numbers)


def _in(needle: Any, haystack: Any) -> bool:
    if isinstance(haystack, str):
        return haystack != "" and _to_string(needle) in haystack
    if _is_array(haystack):
        return any(strict_equal(needle, item) for item in haystack)
    return False


def _merge(values: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for value in values:
        if _is_array(value):
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def _count(value: Any) -> int:
    if isinstance(value, str | Mapping) or _is_array(value):
        return len(value)
    return 0


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


def _years_between(values: list[Any]) -> int | None:
    start, end = _as_date(values[0]), _as_date(values[1])
    if start is None or end is None:
        return None
    return _whole_years(start, end)


def _days_between(values: list[Any]) -> int | None:
    start, end = _as_date(values[0]), _as_date(values[1])
    if start is None or end is None:
        return None
    return (end - start).days


# -- data lookup -------------------------------------------------------------------------------

_NOT_FOUND: Final = object()
_INDEX: Final = re.compile(r"0|[1-9][0-9]*")


def _lookup(data: Any, name: str) -> Any:
    """The value at a dotted name, or ``_NOT_FOUND``: the longest dotted prefix of the name that
    is a key of the data, then the remaining segments through mappings and lists."""
    if name == "":
        return data
    segments = name.split(".")
    if isinstance(data, Mapping):
        for length in range(len(segments), 0, -1):
            key = ".".join(segments[:length])
            if key in data:
                return _walk(data[key], segments[length:])
        return _NOT_FOUND
    return _walk(data, segments)


def _walk(value: Any, segments: list[str]) -> Any:
    for segment in segments:
        if isinstance(value, Mapping):
            if segment not in value:
                return _NOT_FOUND
            value = value[segment]
        elif _is_array(value) and _INDEX.fullmatch(segment) and len(segment) < 19:
            if int(segment) >= len(value):
                return _NOT_FOUND
            value = value[int(segment)]
        else:
            return _NOT_FOUND
    return value


# -- evaluation --------------------------------------------------------------------------------


class _Evaluator:
    """Evaluates a rule already checked by :func:`validate`."""

    def __init__(self, today: date | None) -> None:
        self._today = today

    def today(self) -> date:
        if self._today is None:
            self._today = today_in_japan()
        return self._today

    def apply(self, rule: Any, data: Any) -> Any:
        if _is_array(rule):
            return [self.apply(item, data) for item in rule]
        if not _is_rule(rule):
            return rule
        ((operator, raw),) = rule.items()
        arguments = _arguments(raw)
        special = _SPECIAL.get(operator)
        if special is not None:
            return special(self, arguments, data)
        return _PLAIN[operator]([self.apply(argument, data) for argument in arguments])

    def each(self, rule: Any, data: Any) -> list[Any] | None:
        """The list a scoped operator iterates over, or None when it is not a list."""
        items = self.apply(rule, data)
        return list(items) if _is_array(items) else None

    def missing(self, keys: list[Any], data: Any) -> list[Any]:
        """The keys whose value is absent, None or "" (other values among keys are skipped)."""
        absent = []
        for key in keys:
            if _is_key(key):
                value = _lookup(data, str(key))
                if value is _NOT_FOUND or value is None or (isinstance(value, str) and not value):
                    absent.append(key)
        return absent


def _var(ev: _Evaluator, args: list[Any], data: Any) -> Any:
    value = _lookup(data, str(args[0]))
    if value is _NOT_FOUND:
        return ev.apply(args[1], data) if len(args) > 1 else None
    return value


def _missing(ev: _Evaluator, args: list[Any], data: Any) -> list[Any]:
    values = [ev.apply(argument, data) for argument in args]
    keys = values[0] if values and _is_array(values[0]) else values
    return ev.missing(keys, data)


def _missing_some(ev: _Evaluator, args: list[Any], data: Any) -> list[Any]:
    need = ev.apply(args[0], data)
    options = ev.each(args[1], data) or []
    absent = ev.missing(options, data)
    return [] if _less(need, len(options) - len(absent), or_equal=True) else absent


def _if(ev: _Evaluator, args: list[Any], data: Any) -> Any:
    index = 0
    while index + 1 < len(args):
        if truthy(ev.apply(args[index], data)):
            return ev.apply(args[index + 1], data)
        index += 2
    return ev.apply(args[index], data) if index < len(args) else None


def _and(ev: _Evaluator, args: list[Any], data: Any) -> Any:
    value = None
    for argument in args:
        value = ev.apply(argument, data)
        if not truthy(value):
            return value
    return value


def _or(ev: _Evaluator, args: list[Any], data: Any) -> Any:
    value = None
    for argument in args:
        value = ev.apply(argument, data)
        if truthy(value):
            return value
    return value


def _some(ev: _Evaluator, args: list[Any], data: Any) -> bool:
    items = ev.each(args[0], data) or []
    return any(truthy(ev.apply(args[1], item)) for item in items)


def _all(ev: _Evaluator, args: list[Any], data: Any) -> bool:
    items = ev.each(args[0], data)
    return bool(items) and all(truthy(ev.apply(args[1], item)) for item in items or [])


def _none(ev: _Evaluator, args: list[Any], data: Any) -> bool:
    return not _some(ev, args, data)


def _map(ev: _Evaluator, args: list[Any], data: Any) -> list[Any]:
    return [ev.apply(args[1], item) for item in ev.each(args[0], data) or []]


def _filter(ev: _Evaluator, args: list[Any], data: Any) -> list[Any]:
    return [item for item in ev.each(args[0], data) or [] if truthy(ev.apply(args[1], item))]


def _reduce(ev: _Evaluator, args: list[Any], data: Any) -> Any:
    items = ev.each(args[0], data)
    accumulator = ev.apply(args[2], data) if len(args) > 2 else None
    for item in items or []:
        accumulator = ev.apply(args[1], {"current": item, "accumulator": accumulator})
    return accumulator


def _today(ev: _Evaluator, args: list[Any], data: Any) -> str:
    return ev.today().isoformat()


_SPECIAL: Final[dict[str, Callable[[_Evaluator, list[Any], Any], Any]]] = {
    "var": _var,
    "missing": _missing,
    "missing_some": _missing_some,
    "if": _if,
    "?:": _if,
    "and": _and,
    "or": _or,
    "some": _some,
    "all": _all,
    "none": _none,
    "map": _map,
    "filter": _filter,
    "reduce": _reduce,
    "today": _today,
}


def _plus(values: list[Any]) -> int | float:
    total: int | float = 0
    for value in values:
        total = _add(total, _parse_float(value))
    return total


def _times(values: list[Any]) -> int | float:
    product = _parse_float(values[0])
    for value in values[1:]:
        product = _multiply(product, _parse_float(value))
    return product


def _minus(values: list[Any]) -> int | float:
    if len(values) == 1:
        return -_to_number(values[0])
    return _subtract(_to_number(values[0]), _to_number(values[1]))


def _between(values: list[Any], *, or_equal: bool) -> bool:
    if len(values) == 2:
        return _less(values[0], values[1], or_equal=or_equal)
    return _less(values[0], values[1], or_equal=or_equal) and _less(
        values[1], values[2], or_equal=or_equal
    )


_PLAIN: Final[dict[str, Callable[[list[Any]], Any]]] = {
    "==": lambda v: loose_equal(v[0], v[1]),
    "!=": lambda v: not loose_equal(v[0], v[1]),
    "===": lambda v: strict_equal(v[0], v[1]),
    "!==": lambda v: not strict_equal(v[0], v[1]),
    "!": lambda v: not truthy(v[0]),
    "!!": lambda v: truthy(v[0]),
    "<": lambda v: _between(v, or_equal=False),
    "<=": lambda v: _between(v, or_equal=True),
    ">": lambda v: _less(v[1], v[0]),
    ">=": lambda v: _less(v[1], v[0], or_equal=True),
    "max": lambda v: _extreme(v, max),
    "min": lambda v: _extreme(v, min),
    "+": _plus,
    "-": _minus,
    "*": _times,
    "/": lambda v: _divide(_to_number(v[0]), _to_number(v[1])),
    "%": lambda v: _remainder(_to_number(v[0]), _to_number(v[1])),
    "in": lambda v: _in(v[0], v[1]),
    "cat": lambda v: "".join(_join_part(value) for value in v),
    "merge": _merge,
    "count": lambda v: _count(v[0]),
    "years_between": _years_between,
    "days_between": _days_between,
}

assert set(_SPECIAL) | set(_PLAIN) == set(OPERATORS)


def evaluate(
    rule: Any,
    data: Mapping[str, Any] | None,
    *,
    today: date | None = None,
    checked: bool = False,
) -> Any:
    """Evaluate a JsonLogic rule against the data (a flat mapping whose keys may contain dots).

    ``{"var": "a.b.c"}`` finds the longest dotted prefix that is a key of the data (``"a.b"``
    before ``"a"``), then walks the remaining segments through mappings (by key) and lists (by
    index ``0``, ``1``...). A name that is not found gives the default (``{"var": ["a", 0]}``)
    or None; a key present with the value None gives None, as in json-logic-js.
    ``{"var": ""}`` is the whole data. Inside ``some``, ``all``, ``none``, ``map`` and
    ``filter`` the data is each element in turn; inside ``reduce`` it is
    ``{"current": element, "accumulator": value so far}``.

    ``today`` stands in for the current date in Japan (``{"today": []}``).

    Raises :class:`LogicError` when :func:`validate` finds a problem, whatever the data.
    Well-formed rules never raise, whatever the (JSON-like) data. ``checked=True`` skips that
    validation for rules already validated, such as those of loaded definitions (which the
    checker validated before they could be stored): it is the hot path of every page.
    """
    if not checked:
        problems = validate(rule)
        if problems:
            raise LogicError(problems)
    return _Evaluator(today).apply(rule, {} if data is None else data)


# -- static analysis ---------------------------------------------------------------------------

_Path = tuple[str | int, ...]


def _pointer(path: _Path) -> str:
    """The JSON Pointer (RFC 6901) of a place in a rule; the whole rule is ``""``."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in path)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _arity_problem(operator: str, count: int) -> str | None:
    least, most = OPERATORS[operator]
    if least <= count and (most is None or count <= most):
        return None
    if most is None:
        expected = f"at least {least}"
    elif least == most:
        expected = str(least)
    else:
        expected = f"{least} or {most}" if most == least + 1 else f"{least} to {most}"
    plural = "" if expected in ("1", "at least 1") else "s"
    return f"{operator!r} takes {expected} argument{plural}, got {count}"


def _operands(
    node: Mapping[Any, Any], path: _Path, depth: int
) -> tuple[Any, list[Any], list[_Path], int]:
    """A rule's operator, its arguments, their paths, and the depth they are at."""
    ((operator, raw),) = node.items()
    if _is_array(raw):
        args = list(raw)
        return operator, args, [(*path, operator, i) for i in range(len(args))], depth + 2
    return operator, [raw], [(*path, operator)], depth + 1


@dataclass
class _Analysis:
    """One walk over a rule: its problems and the data keys it reads."""

    problems: list[str] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)
    element_variables: set[str] = field(default_factory=set)

    def problem(self, path: _Path, message: str) -> None:
        where = _pointer(path) or "the top of the rule"
        self.problems.append(f"{message} (at {where})")

    def read(self, key: str | int, element: bool) -> None:
        name = str(key)
        if name:
            (self.element_variables if element else self.variables).add(name)

    def walk(self, node: Any, path: _Path, element: bool, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.problem(path, f"the rule nests more than {MAX_DEPTH} levels deep")
            return
        if _is_array(node):
            for index, item in enumerate(node):
                self.walk(item, (*path, index), element, depth + 1)
            return
        if not _is_rule(node):
            return
        operator, args, paths, depth = _operands(node, path, depth)
        if not isinstance(operator, str) or operator not in OPERATORS:
            self.problem(path, f"unknown operator {_show(operator)}")
            self.walk_all(args, paths, element, depth)
            return
        arity = _arity_problem(operator, len(args))
        if arity:
            self.problem(path, arity)
            self.walk_all(args, paths, element, depth)
            return
        if operator == "var":
            if _is_key(args[0]):
                self.read(args[0], element)
            else:
                self.problem(
                    paths[0],
                    f"'var' needs a literal string or integer name, got {_show(args[0])}",
                )
            self.walk_all(args[1:], paths[1:], element, depth)
        elif operator == "missing":
            if len(args) == 1:
                self.keys(operator, args[0], paths[0], element, depth)
            else:
                for argument, where in zip(args, paths, strict=True):
                    self.key(operator, argument, where, element)
        elif operator == "missing_some":
            self.walk(args[0], paths[0], element, depth)
            options = args[1]
            if _is_array(options) or (_is_rule(options) and "merge" in options):
                self.keys(operator, options, paths[1], element, depth)
            else:
                self.problem(
                    paths[1],
                    "'missing_some' needs a list of keys as its second argument, "
                    f"got {_show(options)}",
                )
        elif operator in _SCOPED:
            self.walk(args[0], paths[0], element, depth)
            self.walk(args[1], paths[1], True, depth)
            self.walk_all(args[2:], paths[2:], element, depth)
        else:
            self.walk_all(args, paths, element, depth)

    def walk_all(self, args: list[Any], paths: list[_Path], element: bool, depth: int) -> None:
        for argument, where in zip(args, paths, strict=True):
            self.walk(argument, where, element, depth)

    def key(self, operator: str, value: Any, path: _Path, element: bool) -> None:
        if _is_key(value):
            self.read(value, element)
        else:
            self.problem(
                path, f"{operator!r} keys must be literal strings or integers, got {_show(value)}"
            )

    def keys(self, operator: str, node: Any, path: _Path, element: bool, depth: int) -> None:
        """Keys for ``missing``: a key, a list of keys, or ``merge``/``if``/``?:`` of those
        (the conditions of ``if`` may be any rule)."""
        if depth > MAX_DEPTH:
            self.problem(path, f"the rule nests more than {MAX_DEPTH} levels deep")
        elif node is None:
            return
        elif _is_array(node):
            for index, item in enumerate(node):
                self.key(operator, item, (*path, index), element)
        elif _is_rule(node) and next(iter(node)) in ("merge", "if", "?:"):
            inner, args, paths, depth = _operands(node, path, depth)
            arity = _arity_problem(inner, len(args))
            if arity:
                self.problem(path, arity)
            for index, (argument, where) in enumerate(zip(args, paths, strict=True)):
                condition = inner != "merge" and index % 2 == 0 and index + 1 < len(args)
                if condition:
                    self.walk(argument, where, element, depth)
                else:
                    self.keys(operator, argument, where, element, depth)
        else:
            self.key(operator, node, path, element)


def _analyse(rule: Any) -> _Analysis:
    analysis = _Analysis()
    analysis.walk(rule, (), False, 1)
    return analysis


def validate(rule: Any) -> list[str]:
    """Every problem found in the rule without data; empty when the rule is sound.

    Problems: an unknown operator; a wrong number of arguments (see :data:`OPERATORS`); a
    ``var`` name that is not a literal string or integer; a ``missing`` key that is not literal
    (``missing`` takes literal keys, a list of them, or one ``merge``/``if``/``?:`` expression
    choosing among literal keys and lists of keys); a ``missing_some`` second argument that is
    not a list of literal keys (or a ``merge`` of them); nesting deeper than :data:`MAX_DEPTH`.
    Each message names the operator and ends with where it is, as a JSON Pointer into the rule.
    """
    return _analyse(rule).problems


def variables(rule: Any) -> set[str]:
    """The data keys the rule reads: names given to ``var`` (as written, dots and all; ints
    as strings; not ``""``, the whole data) and keys named by ``missing``/``missing_some``.

    Reads inside the per-element rule of ``some``/``all``/``none``/``map``/``filter``/``reduce``
    are of the element, not the data: they are in :func:`element_variables` instead. The array
    those operators iterate over, and the initial value of ``reduce``, are read from the data.
    A malformed rule gives what could be found; :func:`validate` says what is wrong.
    """
    return _analyse(rule).variables


def element_variables(rule: Any) -> set[str]:
    """Names read from elements inside ``some``/``all``/``none``/``map``/``filter`` (``"age"``
    for ``{"some": [{"var": "people"}, {">=": [{"var": "age"}, 65]}]}``) and ``reduce``
    (``"current"``, ``"accumulator"``, ``"current.amount"``...), at any depth of nesting."""
    return _analyse(rule).element_variables
