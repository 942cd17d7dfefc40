"""The JsonLogic evaluator for definition conditions: every operator, table by table, then the
properties that must hold for any value or any rule built from the operators' grammar."""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.definitions.logic import (
    JST,
    MAX_DEPTH,
    OPERATORS,
    LogicError,
    element_variables,
    evaluate,
    loose_equal,
    strict_equal,
    truthy,
    validate,
    variables,
)

TODAY = date(2025, 4, 1)
NAN = math.nan
INF = math.inf


def run(rule: Any, data: Mapping[str, Any] | None = None) -> Any:
    return evaluate(rule, {} if data is None else data, today=TODAY)


def same(actual: Any, expected: Any) -> bool:
    """Equal, of the same type (so 3 is not 3.0 and True is not 1), and NaN is NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[k], expected[k]) for k in expected
        )
    return bool(actual == expected)


def both(a: Any, b: Any) -> dict[str, Any]:
    """Data holding two values, so that lists and mappings are compared, not evaluated."""
    return {"a": a, "b": b}


A, B = {"var": "a"}, {"var": "b"}


class Recording(dict[str, Any]):
    """Data that remembers which keys were looked up, to show what was not evaluated."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []

    def __contains__(self, key: object) -> bool:
        self.asked.append(str(key))
        return super().__contains__(key)


# -- truthiness -----------------------------------------------------------------------------

TRUTHINESS = [
    (None, False),
    (False, False),
    (0, False),
    (0.0, False),
    (-0.0, False),
    (NAN, False),
    ("", False),
    ([], False),
    ((), False),
    (True, True),
    (1, True),
    (-1, True),
    (0.5, True),
    (INF, True),
    ("0", True),
    ("false", True),
    (" ", True),
    ([0], True),
    ([[]], True),
    ({}, True),
    ({"a": 0}, True),
    (date(2025, 1, 1), True),
]


@pytest.mark.parametrize(("value", "expected"), TRUTHINESS, ids=repr)
def test_truthiness(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
    data = {"v": value}
    assert run({"!!": [{"var": "v"}]}, data) is expected
    assert run({"!": [{"var": "v"}]}, data) is (not expected)
    assert run({"if": [{"var": "v"}, "yes", "no"]}, data) == ("yes" if expected else "no")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"!": True}, False),  # a non-list is the single argument
        ({"!": [True]}, False),
        ({"!": [[]]}, True),  # the one argument is an empty list
        ({"!": [[0]]}, False),
        ({"!!": [[]]}, False),
        ({"!!": ["0"]}, True),
        ({"!!": {}}, True),  # {} is a literal, and truthy
        ({"!!": [{"a": 1, "b": 2}]}, True),  # so is any mapping with two keys
        ({"!": {"!": 0}}, False),
    ],
    ids=repr,
)
def test_not(rule: Any, expected: bool) -> None:
    assert run(rule) is expected


# -- literals and lists ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [None, True, 0, 1.5, "x", "", {}, {"a": 1, "b": 2}, [], [1, "a", None], date(2025, 1, 1)],
    ids=repr,
)
def test_literals_come_back_unchanged(literal: Any) -> None:
    assert same(run(literal), literal)
    assert validate(literal) == []


def test_lists_evaluate_element_by_element() -> None:
    rule = [{"var": "a"}, 1, [{"+": [1, 1]}, {"a": 1, "b": 2}]]
    assert run(rule, {"a": "x"}) == ["x", 1, [2, {"a": 1, "b": 2}]]


def test_a_list_argument_is_spread_and_a_nested_list_is_one_argument() -> None:
    assert run({"merge": [1, 2]}) == [1, 2]
    assert run({"merge": [[1, 2]]}) == [1, 2]
    assert run({"count": [[1, 2, 3]]}) == 3
    with pytest.raises(LogicError, match=r"'count' takes 1 argument, got 3"):
        run({"count": [1, 2, 3]})


# -- var ------------------------------------------------------------------------------------

DATA: dict[str, Any] = {
    "a": 1,
    "a.b": {"c": "from a.b"},
    "move.new_address": {"municipality_code": "131016", "postal_code": "1000001"},
    "list": [10, {"x": 20}, [30, 31]],
    "null": None,
    "empty": "",
    "zero": 0,
    "false": False,
    "nested": {"deep": {"er": "yes", "3": "three"}},
    "1": "one",
    "dotted.key": {"inner.dot": 5},
    "text": "abc",
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"var": "a"}, 1),
        ({"var": ["a"]}, 1),
        ({"var": "a.b"}, {"c": "from a.b"}),
        ({"var": "a.b.c"}, "from a.b"),  # "a.b" is a longer prefix than "a"
        ({"var": "move.new_address.municipality_code"}, "131016"),
        ({"var": "move.new_address"}, {"municipality_code": "131016", "postal_code": "1000001"}),
        ({"var": "move"}, None),
        ({"var": "move.new_address.nope"}, None),
        ({"var": "list.0"}, 10),
        ({"var": "list.1.x"}, 20),
        ({"var": "list.2.1"}, 31),
        ({"var": "list.3"}, None),
        ({"var": "list.-1"}, None),
        ({"var": "list.01"}, None),
        ({"var": "list.99999999999999999999"}, None),
        ({"var": "list.x"}, None),
        ({"var": "list.1.x.y"}, None),
        ({"var": "nested.deep.er"}, "yes"),
        ({"var": "nested.deep.3"}, "three"),
        ({"var": "nested.deep.nope"}, None),
        ({"var": "a.c"}, None),  # 1 has no parts
        ({"var": "text.0"}, None),  # strings are not indexed
        ({"var": "dotted.key.inner.dot"}, None),  # past the first key, one segment a step
        ({"var": "null"}, None),
        ({"var": "empty"}, ""),
        ({"var": "zero"}, 0),
        ({"var": "false"}, False),
        ({"var": 1}, "one"),
        ({"var": "1"}, "one"),
        ({"var": "nope"}, None),
        ({"var": ["nope", 5]}, 5),
        ({"var": ["nope", None]}, None),
        ({"var": ["nope", {"+": [1, 2]}]}, 3),  # the default is a rule
        ({"var": ["nope", {"var": "a"}]}, 1),
        ({"var": ["a.b.nope", "default"]}, "default"),  # no falling back to "a"
        ({"var": ["list.9", "default"]}, "default"),
        ({"var": ["null", 5]}, None),  # present with None: json-logic-js gives null
        ({"var": ["null.x", 5]}, 5),  # but walking through None finds nothing
        ({"var": ["zero", 5]}, 0),
        ({"var": ["empty", 5]}, ""),
    ],
    ids=repr,
)
def test_var(rule: Any, expected: Any) -> None:
    assert same(run(rule, DATA), expected)


def test_var_of_the_empty_name_is_the_whole_data() -> None:
    assert run({"var": ""}, DATA) is DATA
    assert run({"var": ["", 0]}, DATA) is DATA
    assert run({"var": ""}, None) == {}


def test_the_longest_prefix_wins_and_is_final() -> None:
    data = {"a": {"b": {"c": "short"}}, "a.b": {"c": "long"}}
    assert run({"var": "a.b.c"}, data) == "long"
    assert run({"var": "a.b"}, data) == {"c": "long"}
    assert run({"var": "a"}, data) == {"b": {"c": "short"}}
    shadowed = {"a": {"b": {"c": "short"}}, "a.b": {}}
    assert run({"var": "a.b.c"}, shadowed) is None
    assert run({"var": "a.b.c.d"}, {"a.b.c": {"d": 1}, "a.b": {"c": {"d": 2}}}) == 1


def test_var_reads_data_values_and_never_evaluates_them() -> None:
    data = {"rule": {"var": "secret"}, "secret": "leaked"}
    assert run({"var": "rule"}, data) == {"var": "secret"}


def test_var_with_an_index_too_long_for_python_to_read() -> None:
    assert run({"var": ["list." + "9" * 5000, "none"]}, DATA) == "none"


def test_var_on_any_mapping() -> None:
    assert run({"var": "a.b"}, MappingProxyType({"a.b": 2})) == 2


# -- missing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"missing": []}, {}, []),
        ({"missing": "a"}, {}, ["a"]),
        ({"missing": "a"}, {"a": "apple"}, []),
        ({"missing": ["a", "b"]}, {"a": "apple"}, ["b"]),
        ({"missing": ["a", "b"]}, {"b": "banana"}, ["a"]),
        ({"missing": ["a", "b"]}, {}, ["a", "b"]),
        ({"missing": [["a", "b"]]}, {"b": 1}, ["a"]),  # one list of keys
        ({"missing": ["a"]}, {"a": None}, ["a"]),
        ({"missing": ["a"]}, {"a": ""}, ["a"]),
        ({"missing": ["a"]}, {"a": 0}, []),
        ({"missing": ["a"]}, {"a": False}, []),
        ({"missing": ["a"]}, {"a": []}, []),
        ({"missing": ["a"]}, {"a": " "}, []),
        ({"missing": ["a.b"]}, {"a": "apple"}, ["a.b"]),
        ({"missing": ["a.b"]}, {"a": {"c": "apple cake"}}, ["a.b"]),
        ({"missing": ["a.b"]}, {"a": {"b": "apple brownie"}}, []),
        ({"missing": ["a.b", "a.c"]}, {"a": {"b": "apple brownie"}}, ["a.c"]),
        ({"missing": ["move.new_address.postal_code"]}, DATA, []),
        ({"missing": ["move.new_address.building"]}, DATA, ["move.new_address.building"]),
        ({"missing": [1, "x"]}, {"1": "one"}, ["x"]),
        ({"missing": ["list.0", "list.5"]}, DATA, ["list.5"]),
    ],
    ids=repr,
)
def test_missing(rule: Any, data: dict[str, Any], expected: list[Any]) -> None:
    assert run(rule, data) == expected


VIN_RULE = {"missing": {"merge": ["vin", {"if": [{"var": "financing"}, ["apr"], []]}]}}


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        (VIN_RULE, {"financing": True}, ["vin", "apr"]),
        (VIN_RULE, {"financing": False}, ["vin"]),
        (VIN_RULE, {"financing": True, "vin": "X", "apr": 3}, []),
        ({"missing": {"if": [{"var": "f"}, "a", "b"]}}, {"f": 1}, ["a"]),
        ({"missing": {"if": [{"var": "f"}, "a", "b"]}}, {"f": 0}, ["b"]),
        ({"missing": {"if": [{"var": "f"}, "a"]}}, {"f": 0}, []),  # no key
        ({"missing": {"?:": [{"var": "f"}, ["a", "b"], []]}}, {"f": 1, "a": 1}, ["b"]),
        ({"missing": {"merge": [["a"], {"merge": ["b", ["c"]]}]}}, {"b": 1}, ["a", "c"]),
        ({"missing": {"merge": ["a", {"if": [{"var": "f"}, "b"]}]}}, {}, ["a"]),
    ],
    ids=repr,
)
def test_missing_with_keys_chosen_by_merge_and_if(
    rule: Any, data: dict[str, Any], expected: list[Any]
) -> None:
    assert run(rule, data) == expected


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"missing_some": [1, ["a", "b", "c"]]}, {"a": "apple"}, []),
        ({"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple"}, ["b", "c"]),
        ({"missing_some": [2, ["a", "b", "c"]]}, {"a": "apple", "c": "x"}, []),
        ({"missing_some": [1, ["a", "b"]]}, {}, ["a", "b"]),
        ({"missing_some": [0, ["a"]]}, {}, []),
        ({"missing_some": [0, []]}, {}, []),
        ({"missing_some": [1, []]}, {}, []),  # nothing missing, though short of one
        ({"missing_some": [{"var": "n"}, ["a", "b"]]}, {"n": 2, "a": 1}, ["b"]),
        ({"missing_some": ["1", ["a", "b"]]}, {"a": 1}, []),
        ({"missing_some": [1, {"merge": ["a", ["b"]]}]}, {}, ["a", "b"]),
    ],
    ids=repr,
)
def test_missing_some(rule: Any, data: dict[str, Any], expected: list[Any]) -> None:
    assert run(rule, data) == expected


def test_missing_and_if_are_friends() -> None:
    rule = {
        "if": [
            {"merge": [{"missing": ["name"]}, {"missing_some": [1, ["phone", "email"]]}]},
            "incomplete",
            "ok",
        ]
    }
    assert run(rule, {"name": "山田", "email": "a@example.jp"}) == "ok"
    assert run(rule, {"name": "山田"}) == "incomplete"
    assert run(rule, {"phone": "03"}) == "incomplete"


# -- if, and, or ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"if": [True, "apple"]}, "apple"),
        ({"if": [False, "apple"]}, None),
        ({"if": [True, "apple", "banana"]}, "apple"),
        ({"if": [False, "apple", "banana"]}, "banana"),
        ({"if": [[], "apple", "banana"]}, "banana"),
        ({"if": [[1], "apple", "banana"]}, "apple"),
        ({"if": ["", "apple", "banana"]}, "banana"),
        ({"if": ["0", "apple", "banana"]}, "apple"),
        ({"if": [{"+": "0"}, "apple", "banana"]}, "banana"),
        ({"if": [{"+": "1"}, "apple", "banana"]}, "apple"),
        ({"if": [0, "apple", "banana"]}, "banana"),
        ({"if": [-1, "apple", "banana"]}, "apple"),
        ({"if": [3.1416, "apple", "banana"]}, "apple"),
        ({"if": [{">": [2, 1]}, "apple", "banana"]}, "apple"),
        ({"if": [{">": [1, 2]}, "apple", "banana"]}, "banana"),
        ({"if": [True, {"cat": ["ap", "ple"]}, {"cat": ["ba", "na", "na"]}]}, "apple"),
        ({"if": [False, {"cat": ["ap", "ple"]}, {"cat": ["ba", "na", "na"]}]}, "banana"),
        ({"if": [True, "apple", True, "banana"]}, "apple"),
        ({"if": [False, "apple", True, "banana"]}, "banana"),
        ({"if": [False, "apple", False, "banana"]}, None),
        ({"if": [False, "apple", False, "banana", "carrot"]}, "carrot"),
        ({"if": [False, "apple", True, "banana", "carrot"]}, "banana"),
        ({"if": [False, "a", False, "b", False, "c"]}, None),
        ({"if": [False, "a", False, "b", False, "c", "d"]}, "d"),
        ({"if": [False, "a", False, "b", True, "c", "d"]}, "c"),
        ({"if": [True, "a", True, "b", True, "c", "d"]}, "a"),
        ({"?:": [True, 1, 2]}, 1),
        ({"?:": [False, 1, 2]}, 2),
        ({"?:": [{}, 1, 2]}, 1),
    ],
    ids=repr,
)
def test_if(rule: Any, expected: Any) -> None:
    assert same(run(rule), expected)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"and": [True, True]}, True),
        ({"and": [True, False]}, False),
        ({"and": [True]}, True),
        ({"and": [1, 3]}, 3),
        ({"and": [3, False]}, False),
        ({"and": [False, 3]}, False),
        ({"and": [True, "a", 3]}, 3),
        ({"and": [1, 0, 2]}, 0),
        ({"and": [1, "", 2]}, ""),
        ({"and": [[], 1]}, []),
        ({"and": ["0", [0]]}, [0]),
        ({"or": [True, False]}, True),
        ({"or": [False, False]}, False),
        ({"or": [False]}, False),
        ({"or": [1, 3]}, 1),
        ({"or": [3, False]}, 3),
        ({"or": [False, 3]}, 3),
        ({"or": [0, "", "x"]}, "x"),
        ({"or": [0, ""]}, ""),
        ({"or": [[], None]}, None),
        ({"or": [None, []]}, []),
        ({"and": {"var": "a"}}, 7),
    ],
    ids=repr,
)
def test_and_or_return_the_deciding_value(rule: Any, expected: Any) -> None:
    assert same(run(rule, {"a": 7}), expected)


@pytest.mark.parametrize(
    ("rule", "asked"),
    [
        ({"and": [{"var": "f"}, {"var": "never"}]}, ["f"]),
        ({"or": [{"var": "t"}, {"var": "never"}]}, ["t"]),
        ({"and": [{"var": "t"}, {"var": "f"}, {"var": "never"}]}, ["t", "f"]),
        ({"if": [{"var": "t"}, {"var": "then"}, {"var": "never"}]}, ["t", "then"]),
        ({"if": [{"var": "f"}, {"var": "never"}, {"var": "else"}]}, ["f", "else"]),
        ({"if": [{"var": "t"}, 1, {"var": "never"}, 2, 3]}, ["t"]),
        ({"var": ["t", {"var": "never"}]}, ["t"]),  # the default only when needed
    ],
    ids=repr,
)
def test_short_circuits(rule: Any, asked: list[str]) -> None:
    data = Recording(t=True, f=False, then="then", **{"else": "else"})
    run(rule, data)
    assert data.asked == asked


@pytest.mark.parametrize(
    ("operator", "stop_at", "expected"),
    [("some", True, True), ("all", False, False), ("none", True, False)],
)
def test_element_operators_stop_at_the_deciding_element(
    operator: str, stop_at: bool, expected: bool
) -> None:
    elements = [Recording(hit=not stop_at), Recording(hit=stop_at), Recording(hit=stop_at)]
    assert run({operator: [{"var": "xs"}, {"var": "hit"}]}, {"xs": elements}) is expected
    assert [e.asked for e in elements] == [["hit"], ["hit"], []]


# -- equality -------------------------------------------------------------------------------

LOOSE = [
    (1, 1, True),
    (1, 1.0, True),
    (1, 2, False),
    (1, "1", True),
    ("1", 1, True),
    (1, "1.0", True),
    (1.5, "1.5", True),
    (100, "1e2", True),
    (0, "", True),
    (0, " ", True),
    (1, " 1 ", True),
    (10, "0xA", True),
    (5, "0b101", True),
    (1, "1abc", False),
    (1, "１", False),  # only ASCII digits are numbers
    (1, "1_0", False),
    (INF, "Infinity", True),
    (NAN, NAN, False),
    (NAN, "NaN", False),
    (None, None, True),
    (None, 0, False),
    (None, "", False),
    (None, False, False),
    (None, [], False),
    (None, "null", False),
    (True, True, True),
    (True, 1, True),
    (True, "1", True),
    (True, 2, False),
    (True, "true", False),
    (False, 0, True),
    (False, "", True),
    (False, "0", True),
    (False, [], True),
    (False, None, False),
    ("a", "a", True),
    ("a", "A", False),
    ("1", "1.0", False),  # two strings compare as strings
    ("", "", True),
    ([1], 1, True),
    ([1], "1", True),
    ([1, 2], "1,2", True),
    ([], "", True),
    ([], 0, True),
    ([None], "", True),
    ([[1, 2], 3], "1,2,3", True),
    ({}, "[object Object]", True),
    ({"a": 1}, 1, False),
    ([1], [1], True),  # content, where JavaScript would compare identity
    ([1], [1.0], True),
    ([1], ["1"], False),
    ({"a": [1]}, {"a": [1]}, True),
    ({"a": 1}, {"a": 1, "b": 2}, False),
    ([], {}, False),
    (date(2025, 4, 1), "2025-04-01", True),  # a YAML date is its ISO string
]


@pytest.mark.parametrize(("a", "b", "expected"), LOOSE, ids=repr)
def test_loose_equality(a: Any, b: Any, expected: bool) -> None:
    assert loose_equal(a, b) is expected
    assert loose_equal(b, a) is expected
    assert run({"==": [A, B]}, both(a, b)) is expected
    assert run({"!=": [A, B]}, both(a, b)) is (not expected)


STRICT = [
    (1, 1, True),
    (1, 1.0, True),
    (1, "1", False),
    (True, 1, False),
    (True, True, True),
    (None, None, True),
    (None, False, False),
    ("a", "a", True),
    (NAN, NAN, False),
    ([1], [1], True),
    ([1], [1.0], True),
    ([True], [1], False),
    ([1, [2]], [1, [2]], True),
    ([1, 2], [2, 1], False),
    ({"a": 1}, {"a": 1}, True),
    ({"a": 1}, {"a": True}, False),
    ({"a": 1}, {"b": 1}, False),
    ([1], (1,), True),
    (date(2025, 4, 1), date(2025, 4, 1), True),
    (date(2025, 4, 1), "2025-04-01", False),
]


@pytest.mark.parametrize(("a", "b", "expected"), STRICT, ids=repr)
def test_strict_equality(a: Any, b: Any, expected: bool) -> None:
    assert strict_equal(a, b) is expected
    assert strict_equal(b, a) is expected
    assert run({"===": [A, B]}, both(a, b)) is expected
    assert run({"!==": [A, B]}, both(a, b)) is (not expected)


def test_equality_of_literals() -> None:
    assert run({"===": [0, "0"]}) is False
    assert run({"===": [0, {"+": "0"}]}) is True
    assert run({"==": [[1, 2], [1, 2]]}) is True  # literal lists are evaluated to new lists


# -- comparisons ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"<": [1, 2]}, True),
        ({"<": [2, 1]}, False),
        ({"<": [1, 1]}, False),
        ({"<=": [1, 1]}, True),
        ({"<=": [2, 1]}, False),
        ({">": [2, 1]}, True),
        ({">": [1, 1]}, False),
        ({">=": [1, 1]}, True),
        ({">=": [0, 1]}, False),
        ({"<": [1, 2, 3]}, True),
        ({"<": [1, 1, 3]}, False),
        ({"<": [1, 4, 3]}, False),
        ({"<=": [1, 1, 3]}, True),
        ({"<=": [1, 3, 3]}, True),
        ({"<=": [1, 4, 3]}, False),
        ({"<": ["10", "9"]}, True),  # two strings: by character
        ({"<": [10, "9"]}, False),  # otherwise by number
        ({"<": ["10", 9]}, False),
        ({"<": ["a", "b"]}, True),
        ({"<": ["B", "a"]}, True),
        ({"<": ["a", 1]}, False),
        ({">=": ["a", 1]}, False),  # NaN compares false both ways
        ({"<=": [NAN, NAN]}, False),
        ({"<": [None, 1]}, True),
        ({">=": [None, 0]}, True),
        ({"<": [False, True]}, True),
        ({"<": [[2], 10]}, True),
        ({"<": [{"a": 1, "b": 2}, 1]}, False),
        ({">": [INF, 1e308]}, True),
        ({"<": [2**70, 2**70 + 1]}, True),  # exact beyond 2**53
        ({"<": ["2024-12-31", "2025-01-01"]}, True),  # ISO dates order as strings
        ({"<": ["\U0001f600", "\uff01"]}, True),  # UTF-16 code units, as in JavaScript
        ({">=": [{"years_between": ["1960-04-01", "2025-04-01"]}, 65]}, True),
    ],
    ids=repr,
)
def test_comparisons(rule: Any, expected: bool) -> None:
    assert run(rule) is expected


# -- arithmetic -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"+": [1, 2]}, 3),
        ({"+": [1, 2, 3, 4]}, 10),
        ({"+": []}, 0),
        ({"+": "3.14"}, 3.14),
        ({"+": "3"}, 3),
        ({"+": ["1", "1"]}, 2),
        ({"+": ["12abc", 1]}, 13),  # parseFloat reads a numeric prefix
        ({"+": [" 1e2x", 0]}, 100.0),
        ({"+": [None, 1]}, NAN),  # parseFloat("null")
        ({"+": [True, 1]}, NAN),
        ({"+": [[5], 1]}, 6),
        ({"+": [1.5, 1]}, 2.5),
        ({"+": [0.1, 0.2]}, 0.30000000000000004),
        ({"+": [2**63, 2**63]}, 2**64),
        ({"-": [5, 2]}, 3),
        ({"-": [2]}, -2),
        ({"-": ["-2"]}, 2),
        ({"-": ["5", "2"]}, 3),
        ({"-": [None, 1]}, -1),  # Number(null) is 0
        ({"-": [True]}, -1),
        ({"-": ["12abc", 1]}, NAN),
        ({"-": [1.5, 0.5]}, 1.0),
        ({"*": [2, 3]}, 6),
        ({"*": ["2", "3"]}, 6),
        ({"*": [2, 3, 4]}, 24),
        ({"*": "2"}, 2),
        ({"*": [2, 0.5]}, 1.0),
        ({"*": [2**60, 2**60]}, 2**120),
        ({"*": [1e308, 10]}, INF),
        ({"*": [10**400, 0.5]}, INF),
        ({"/": [6, 3]}, 2),
        ({"/": [7, 2]}, 3.5),
        ({"/": ["6", "3"]}, 2),
        ({"/": [1, 0]}, INF),
        ({"/": [-1, 0]}, -INF),
        ({"/": [1, -0.0]}, -INF),
        ({"/": [0, 0]}, NAN),
        ({"/": [1.5, 0.5]}, 3.0),
        ({"/": [10**400, 3]}, INF),
        ({"/": [1, None]}, INF),
        ({"%": [7, 3]}, 1),
        ({"%": [-7, 3]}, -1),  # the sign of the dividend, as in JavaScript
        ({"%": [7, -3]}, 1),
        ({"%": [6, 3]}, 0),
        ({"%": [7.5, 2]}, 1.5),
        ({"%": [-7.5, 2]}, -1.5),
        ({"%": [1, 0]}, NAN),
        ({"%": [INF, 2]}, NAN),
        ({"%": [5, INF]}, 5.0),
        ({"%": ["7", "3"]}, 1),
        ({"max": [1, 3, 2]}, 3),
        ({"max": [1]}, 1),
        ({"max": ["3", 1]}, 3),
        ({"max": [1, "a"]}, NAN),
        ({"max": [1, 2.5]}, 2.5),
        ({"min": [1, 3, 2]}, 1),
        ({"min": [-1, 2]}, -1),
        ({"min": [None, 1]}, 0),
        ({"min": [[], 1]}, 0),
    ],
    ids=repr,
)
def test_arithmetic(rule: Any, expected: Any) -> None:
    assert same(run(rule), expected)


# -- strings and lists ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"in": ["Spring", "Springfield"]}, True),
        ({"in": ["i", "team"]}, False),
        ({"in": ["区", "千代田区"]}, True),
        ({"in": ["", "abc"]}, True),
        ({"in": ["", ""]}, False),  # json-logic-js: an empty haystack finds nothing
        ({"in": [1, "123"]}, True),  # the needle becomes a string
        ({"in": [None, "nullable"]}, True),
        ({"in": ["a", ["a", "b"]]}, True),
        ({"in": ["c", ["a", "b"]]}, False),
        ({"in": [1, ["1"]]}, False),  # strict membership
        ({"in": [1, [1.0]]}, True),
        ({"in": [True, [1]]}, False),
        ({"in": [None, [None]]}, True),
        ({"in": [[1], [[1]]]}, True),
        ({"in": ["a", None]}, False),
        ({"in": ["a", 5]}, False),
        ({"in": ["a", {"merge": []}]}, False),
        ({"cat": ["I love", " pie"]}, "I love pie"),
        ({"cat": "solo"}, "solo"),
        ({"cat": []}, ""),
        ({"cat": ["a", 1, 2.5, True, None, [1, 2], [None, "x"]]}, "a12.5true1,2,x"),
        (
            {"cat": [1.0, -0.0, 1e21, 1e20, 1e-7, 0.000001, 123.456]},
            "101e+21" + "1" + "0" * 20 + "1e-70.000001123.456",
        ),
        ({"cat": [NAN, INF, -INF]}, "NaNInfinity-Infinity"),
        ({"cat": [{}]}, "[object Object]"),
        ({"cat": [date(2025, 4, 1)]}, "2025-04-01"),
        ({"merge": []}, []),
        ({"merge": [[1]]}, [1]),
        ({"merge": [[1], []]}, [1]),
        ({"merge": [[1], [2, 3]]}, [1, 2, 3]),
        ({"merge": [1, [2, [3]]]}, [1, 2, [3]]),
        ({"merge": 1}, [1]),
        ({"merge": [None, "a"]}, [None, "a"]),
        ({"count": [[1, 2, 3]]}, 3),
        ({"count": [[]]}, 0),
        ({"count": None}, 0),
        ({"count": "abc"}, 3),
        ({"count": 5}, 0),
        ({"count": {"merge": [1, 2]}}, 2),
    ],
    ids=repr,
)
def test_strings_and_lists(rule: Any, expected: Any) -> None:
    assert same(run(rule), expected)


def test_count_of_a_data_list() -> None:
    data = {"household.children": [{"name": "太郎"}, {"name": "花子"}], "tuple": (1, 2)}
    assert run({"count": {"var": "household.children"}}, data) == 2
    assert run({"count": {"var": "household.pets"}}, data) == 0
    assert run({"count": {"var": "tuple"}}, data) == 2
    assert run({"count": {"var": "household.children.0"}}, data) == 1  # a mapping's keys


# -- some, all, none, map, filter, reduce ---------------------------------------------------

PEOPLE: dict[str, Any] = {
    "people": [{"name": "A", "age": 70}, {"name": "B", "age": 30}],
    "nums": [1, 2, 3],
    "empty": [],
    "text": "abc",
    "start": 10,
    "households": [
        {"members": [{"age": 40}, {"age": 8}]},
        {"members": [{"age": 81}]},
    ],
    "dotted": [{"a.b": 1}, {"a.b": 2, "a": {"b": 9}}],
}
SENIOR = {">=": [{"var": "age"}, 65]}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"some": [{"var": "people"}, SENIOR]}, True),
        ({"all": [{"var": "people"}, SENIOR]}, False),
        ({"none": [{"var": "people"}, SENIOR]}, False),
        ({"all": [{"var": "people"}, {">": [{"var": "age"}, 18]}]}, True),
        ({"none": [{"var": "people"}, {">": [{"var": "age"}, 90]}]}, True),
        ({"some": [{"var": "empty"}, True]}, False),
        ({"all": [{"var": "empty"}, True]}, False),  # all of nothing is false
        ({"none": [{"var": "empty"}, True]}, True),
        ({"some": [{"var": "nope"}, True]}, False),
        ({"all": [{"var": "nope"}, True]}, False),
        ({"none": [{"var": "nope"}, True]}, True),
        ({"some": [{"var": "text"}, True]}, False),  # strings are not iterated
        ({"all": [[1, 2, 3], {">": [{"var": ""}, 0]}]}, True),
        ({"some": [[-1, 0], {">": [{"var": ""}, 0]}]}, False),
        ({"map": [{"var": "nums"}, {"*": [{"var": ""}, 2]}]}, [2, 4, 6]),
        ({"map": [{"var": "people"}, {"var": "name"}]}, ["A", "B"]),
        ({"map": [{"var": "nope"}, 1]}, []),
        ({"map": [[[1, 2], [3]], {"var": "0"}]}, [1, 3]),
        ({"map": [{"var": "dotted"}, {"var": "a.b"}]}, [1, 2]),  # longest prefix per element
        ({"map": [[1], {"var": "nums"}]}, [None]),  # the outer data is out of reach
        ({"filter": [{"var": "nums"}, {"%": [{"var": ""}, 2]}]}, [1, 3]),
        ({"filter": [{"var": "people"}, SENIOR]}, [{"name": "A", "age": 70}]),
        ({"filter": [{"var": "nope"}, True]}, []),
        ({"reduce": [{"var": "nums"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, 6),
        (
            {
                "reduce": [
                    {"var": "nums"},
                    {"+": [{"var": "current"}, {"var": "accumulator"}]},
                    {"var": "start"},
                ]
            },
            16,
        ),
        ({"reduce": [{"var": "nums"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}]}, NAN),
        ({"reduce": [{"var": "nope"}, {"var": "current"}, "initial"]}, "initial"),
        ({"reduce": [{"var": "empty"}, {"var": "current"}]}, None),
        (
            {
                "reduce": [
                    {"var": "people"},
                    {"max": [{"var": "current.age"}, {"var": "accumulator"}]},
                    0,
                ]
            },
            70,
        ),
        (
            {"some": [{"var": "households"}, {"some": [{"var": "members"}, SENIOR]}]},
            True,
        ),
        (
            {"all": [{"var": "households"}, {"some": [{"var": "members"}, SENIOR]}]},
            False,
        ),
        (
            {"map": [{"var": "households"}, {"count": {"var": "members"}}]},
            [2, 1],
        ),
    ],
    ids=repr,
)
def test_element_operators(rule: Any, expected: Any) -> None:
    assert same(run(rule, PEOPLE), expected)


# -- custom operators: dates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "years"),
    [
        ("2000-01-15", "2025-01-14", 24),
        ("2000-01-15", "2025-01-15", 25),  # the birthday itself counts
        ("2000-01-15", "2025-01-16", 25),
        ("2000-12-31", "2001-01-01", 0),
        ("2000-12-31", "2001-12-31", 1),
        ("2000-01-15", "2000-01-15", 0),
        ("2000-02-29", "2001-02-28", 0),  # a 29 February birthday...
        ("2000-02-29", "2001-03-01", 1),  # ...falls on 1 March in common years
        ("2000-02-29", "2004-02-28", 3),
        ("2000-02-29", "2004-02-29", 4),  # and on the day in leap years
        ("2000-02-28", "2001-02-28", 1),
        ("2000-03-01", "2001-02-28", 0),
        ("2000-03-01", "2001-03-01", 1),
        ("1960-04-02", "2025-04-01", 64),
        ("1960-04-01", "2025-04-01", 65),
        ("2019-04-01", "2025-04-01", 6),  # by law 6 on 31 March: pass the day after
        ("2025-01-15", "2000-01-15", -25),  # the other way round: negative
        ("2025-01-14", "2000-01-15", -24),
        ("2001-03-01", "2000-02-29", -1),
        ("2000-02-30", "2025-01-01", None),
        ("2000-13-01", "2025-01-01", None),
        ("2000-00-10", "2025-01-01", None),
        ("0000-01-01", "2025-01-01", None),
        ("2000-1-1", "2025-01-01", None),
        ("20000101", "2025-01-01", None),
        ("2000-01-01T00:00:00", "2025-01-01", None),
        (" 2000-01-01", "2025-01-01", None),
        ("２０００-01-01", "2025-01-01", None),
        ("", "2025-01-01", None),
        (None, "2025-01-01", None),
        ("2000-01-01", None, None),
        (20000101, "2025-01-01", None),
        (["2000-01-01"], "2025-01-01", None),
        (date(2000, 1, 1), "2020-01-01", 20),
        (datetime(2000, 1, 2, 23, 59), date(2020, 1, 1), 19),
    ],
    ids=repr,
)
def test_years_between(start: Any, end: Any, years: int | None) -> None:
    assert same(run({"years_between": [A, B]}, both(start, end)), years)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2024-02-28", "2024-03-01", 2),
        ("2023-02-28", "2023-03-01", 1),
        ("2024-03-01", "2024-02-28", -2),
        ("2025-04-01", "2025-04-01", 0),
        ("2024-12-31", "2025-01-01", 1),
        ("2000-01-01", "2025-01-01", 9132),
        ("2023-02-29", "2024-01-01", None),
        ("2024-01-01", "soon", None),
        (None, "2024-01-01", None),
        (date(2025, 3, 31), "2025-04-01", 1),
    ],
    ids=repr,
)
def test_days_between(start: Any, end: Any, days: int | None) -> None:
    assert same(run({"days_between": [A, B]}, both(start, end)), days)


def test_today_is_the_given_date() -> None:
    assert run({"today": []}) == "2025-04-01"
    assert evaluate({"today": []}, {}, today=date(2024, 2, 29)) == "2024-02-29"
    rule = {">=": [{"years_between": [{"var": "birthdate"}, {"today": []}]}, 65]}
    assert run(rule, {"birthdate": "1960-04-01"}) is True
    assert run(rule, {"birthdate": "1960-04-02"}) is False
    assert run(rule, {}) is False  # null >= 65
    assert run({"days_between": [{"today": []}, "2025-04-15"]}) == 14


def test_today_defaults_to_the_date_in_japan() -> None:
    before = datetime.now(JST).date().isoformat()
    value = evaluate({"today": []}, {})
    after = datetime.now(JST).date().isoformat()
    assert value in (before, after)
    assert JST.utcoffset(None) == timedelta(hours=9)


def test_today_is_read_once_per_evaluation() -> None:
    assert evaluate({"==": [{"today": []}, {"today": []}]}, {}) is True


# -- validate and LogicError ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "problems"),
    [
        ({"foo": [1]}, ["unknown operator 'foo' (at the top of the rule)"]),
        ({"Var": "a"}, ["unknown operator 'Var' (at the top of the rule)"]),
        ({1: 2}, ["unknown operator 1 (at the top of the rule)"]),
        ({"==": [1]}, ["'==' takes 2 arguments, got 1 (at the top of the rule)"]),
        ({"==": [1, 2, 3]}, ["'==' takes 2 arguments, got 3 (at the top of the rule)"]),
        ({"!": [1, 2]}, ["'!' takes 1 argument, got 2 (at the top of the rule)"]),
        ({"!": []}, ["'!' takes 1 argument, got 0 (at the top of the rule)"]),
        ({"if": [True]}, ["'if' takes at least 2 arguments, got 1 (at the top of the rule)"]),
        ({"if": []}, ["'if' takes at least 2 arguments, got 0 (at the top of the rule)"]),
        ({"?:": [1, 2]}, ["'?:' takes 3 arguments, got 2 (at the top of the rule)"]),
        ({"and": []}, ["'and' takes at least 1 argument, got 0 (at the top of the rule)"]),
        ({"or": []}, ["'or' takes at least 1 argument, got 0 (at the top of the rule)"]),
        ({"<": [1]}, ["'<' takes 2 or 3 arguments, got 1 (at the top of the rule)"]),
        ({"<=": [1, 2, 3, 4]}, ["'<=' takes 2 or 3 arguments, got 4 (at the top of the rule)"]),
        ({">": [1, 2, 3]}, ["'>' takes 2 arguments, got 3 (at the top of the rule)"]),
        ({"max": []}, ["'max' takes at least 1 argument, got 0 (at the top of the rule)"]),
        ({"*": []}, ["'*' takes at least 1 argument, got 0 (at the top of the rule)"]),
        ({"-": [1, 2, 3]}, ["'-' takes 1 or 2 arguments, got 3 (at the top of the rule)"]),
        ({"some": [[1]]}, ["'some' takes 2 arguments, got 1 (at the top of the rule)"]),
        ({"reduce": [[1]]}, ["'reduce' takes 2 or 3 arguments, got 1 (at the top of the rule)"]),
        ({"today": None}, ["'today' takes 0 arguments, got 1 (at the top of the rule)"]),
        ({"today": [1]}, ["'today' takes 0 arguments, got 1 (at the top of the rule)"]),
        ({"var": []}, ["'var' takes 1 or 2 arguments, got 0 (at the top of the rule)"]),
        ({"var": ["a", 1, 2]}, ["'var' takes 1 or 2 arguments, got 3 (at the top of the rule)"]),
        (
            {"years_between": ["2000-01-01"]},
            ["'years_between' takes 2 arguments, got 1 (at the top of the rule)"],
        ),
        (
            {"var": {"cat": ["a", "b"]}},
            ["'var' needs a literal string or integer name, got {'cat': ['a', 'b']} (at /var)"],
        ),
        ({"var": [None]}, ["'var' needs a literal string or integer name, got None (at /var/0)"]),
        ({"var": [True]}, ["'var' needs a literal string or integer name, got True (at /var/0)"]),
        ({"var": 1.5}, ["'var' needs a literal string or integer name, got 1.5 (at /var)"]),
        ({"var": [["a"]]}, ["'var' needs a literal string or integer name, got ['a'] (at /var/0)"]),
        (
            {"missing": [{"var": "k"}]},
            [
                "'missing' keys must be literal strings or integers, "
                "got {'var': 'k'} (at /missing/0)"
            ],
        ),
        (
            {"missing": ["a", ["b"]]},
            ["'missing' keys must be literal strings or integers, got ['b'] (at /missing/1)"],
        ),
        (
            {"missing": [["a", None]]},
            ["'missing' keys must be literal strings or integers, got None (at /missing/0/1)"],
        ),
        (
            {"missing": {"merge": ["a", {"cat": ["b", "c"]}]}},
            [
                "'missing' keys must be literal strings or integers, "
                "got {'cat': ['b', 'c']} (at /missing/merge/1)"
            ],
        ),
        (
            {"missing": {"if": [{"bogus": 1}, "a"]}},
            ["unknown operator 'bogus' (at /missing/if/0)"],
        ),
        (
            {"missing": {"if": ["a"]}},
            ["'if' takes at least 2 arguments, got 1 (at /missing)"],
        ),
        (
            {"missing_some": [1, "a"]},
            [
                "'missing_some' needs a list of keys as its second argument, "
                "got 'a' (at /missing_some/1)"
            ],
        ),
        (
            {"missing_some": [1, {"var": "keys"}]},
            [
                "'missing_some' needs a list of keys as its second argument, "
                "got {'var': 'keys'} (at /missing_some/1)"
            ],
        ),
        (
            {"missing_some": [1, [{"var": "k"}]]},
            [
                "'missing_some' keys must be literal strings or integers, "
                "got {'var': 'k'} (at /missing_some/1/0)"
            ],
        ),
        (
            {"and": [{"==": [1, 1]}, {"or": [{"bogus": []}]}]},
            ["unknown operator 'bogus' (at /and/1/or/0)"],
        ),
        ({"and": [{"/": [1]}]}, ["'/' takes 2 arguments, got 1 (at /and/0)"]),
        ({"/": [{"x~y": 1}, 2]}, ["unknown operator 'x~y' (at /~1/0)"]),
        ({"map": [[1], {"nope": 1}]}, ["unknown operator 'nope' (at /map/1)"]),
        ({"if": [1, [2, {"==": []}]]}, ["'==' takes 2 arguments, got 0 (at /if/1/1)"]),
        (
            {"and": [{"bogus": {"==": [1]}}, {"var": {"var": "x"}}]},
            [
                "unknown operator 'bogus' (at /and/0)",
                "'==' takes 2 arguments, got 1 (at /and/0/bogus)",
                "'var' needs a literal string or integer name, got {'var': 'x'} (at /and/1/var)",
            ],
        ),
        ({"a": {"bogus": 1}, "b": 2}, []),  # a mapping with two keys is a literal
        ({"var": ["a", {"bogus": 1}]}, ["unknown operator 'bogus' (at /var/1)"]),
    ],
    ids=repr,
)
def test_validate(rule: Any, problems: list[str]) -> None:
    assert validate(rule) == problems
    if problems:
        with pytest.raises(LogicError) as raised:
            run(rule, DATA)
        assert raised.value.problems == problems
        assert str(raised.value) == "; ".join(problems)
        assert isinstance(raised.value, ValueError)
    else:
        run(rule, DATA)


def test_logic_error_takes_one_problem_or_many() -> None:
    assert LogicError("one").problems == ["one"]
    assert str(LogicError(["one", "two"])) == "one; two"


def test_problems_in_untaken_branches_still_raise() -> None:
    with pytest.raises(LogicError, match="'bogus'"):
        run({"or": [True, {"bogus": 1}]})
    with pytest.raises(LogicError, match="'=='"):
        run({"if": [True, 1, {"==": [1]}]})


def nest(depth: int, operator: str = "!!") -> Any:
    rule: Any = True
    for _ in range(depth):
        rule = {operator: [rule]}
    return rule


def test_depth_limit() -> None:
    # Each {"!!": [...]} is two levels, a mapping and a list, above the innermost value.
    deepest = nest((MAX_DEPTH - 1) // 2)
    assert validate(deepest) == []
    assert run(deepest) is True
    too_deep = nest((MAX_DEPTH + 1) // 2)
    pointer = "/!!/0" * ((MAX_DEPTH + 1) // 2)
    assert validate(too_deep) == [
        f"the rule nests more than {MAX_DEPTH} levels deep (at {pointer})"
    ]
    with pytest.raises(LogicError, match="nests more than"):
        run(too_deep)


def test_depth_limit_counts_literal_lists() -> None:
    deep_list: Any = 1
    for _ in range(MAX_DEPTH):
        deep_list = [deep_list]
    assert len(validate(deep_list)) == 1
    assert validate(deep_list[0]) == []


def test_a_rule_that_contains_itself_is_rejected_not_recursed() -> None:
    loop: list[Any] = [1]
    loop.append({"!": loop})
    with pytest.raises(LogicError, match="nests more than"):
        run({"and": loop})


def with_frames_left(frames: int, call: Callable[[], Any]) -> Any:
    """Call from deep in the stack, as from a request, with only so many frames to spare."""

    def descend(depth: int) -> Any:
        return descend(depth - 1) if depth else call()

    return descend(sys.getrecursionlimit() - len(inspect.stack(0)) - frames)


def flat_nest(depth: int, operator: str) -> Any:
    rule: Any = 1
    for _ in range(depth):
        rule = {operator: rule}
    return rule


@pytest.mark.parametrize(
    "rule",
    [
        nest((MAX_DEPTH - 1) // 2),
        flat_nest(MAX_DEPTH - 1, "!!"),  # the non-list form: one level each
        flat_nest(MAX_DEPTH - 1, "and"),
        flat_nest(MAX_DEPTH - 1, "-"),
        flat_nest(MAX_DEPTH - 1, "cat"),
    ],
    ids=["!", "!!", "and", "-", "cat"],
)
def test_the_deepest_rules_need_few_stack_frames(rule: Any) -> None:
    assert validate(rule) == []
    with_frames_left(300, lambda: run(rule))
    with pytest.raises(LogicError):
        with_frames_left(300, lambda: run([[rule]]))


# -- variables ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "data_names", "element_names"),
    [
        (True, set(), set()),
        ({"var": "a"}, {"a"}, set()),
        ({"var": ["a.b", 1]}, {"a.b"}, set()),
        (
            {"var": "move.new_address.municipality_code"},
            {"move.new_address.municipality_code"},
            set(),
        ),
        ({"var": ""}, set(), set()),
        ({"var": 0}, {"0"}, set()),
        ({"var": ["a", {"var": "b"}]}, {"a", "b"}, set()),
        (
            {"and": [{"var": "a"}, {"or": [{"var": "b"}, {"!": {"var": "c"}}]}]},
            {"a", "b", "c"},
            set(),
        ),
        ({"if": [{"var": "a"}, {"var": "b"}, [{"var": "c"}]]}, {"a", "b", "c"}, set()),
        ({"missing": ["a", "b"]}, {"a", "b"}, set()),
        ({"missing": "a"}, {"a"}, set()),
        ({"missing": [["a", 1]]}, {"a", "1"}, set()),
        ({"missing_some": [1, ["a", "b"]]}, {"a", "b"}, set()),
        ({"missing_some": [{"var": "n"}, ["a"]]}, {"n", "a"}, set()),
        (VIN_RULE, {"vin", "apr", "financing"}, set()),
        ({"some": [{"var": "people"}, SENIOR]}, {"people"}, {"age"}),
        ({"map": [[1, 2], {"var": ""}]}, set(), set()),
        (
            {
                "reduce": [
                    {"var": "nums"},
                    {"+": [{"var": "current"}, {"var": "accumulator"}]},
                    {"var": "start"},
                ]
            },
            {"nums", "start"},
            {"current", "accumulator"},
        ),
        (
            {"some": [{"var": "households"}, {"some": [{"var": "members"}, SENIOR]}]},
            {"households"},
            {"members", "age"},
        ),
        (
            {"filter": [{"var": "xs"}, {"missing": ["name"]}]},
            {"xs"},
            {"name"},
        ),
        (
            {"and": [{"var": "a"}, {"var": "a"}, {"all": [{"var": "a"}, {"var": "a"}]}]},
            {"a"},
            {"a"},
        ),
        ({"and": [{"var": "a"}, {"bogus": [{"var": "b"}]}]}, {"a", "b"}, set()),  # best effort
        ({"var": {"cat": ["a", "b"]}}, set(), set()),
        ({"a": {"var": "x"}, "b": 1}, set(), set()),  # a literal reads nothing
    ],
    ids=repr,
)
def test_variables(rule: Any, data_names: set[str], element_names: set[str]) -> None:
    assert variables(rule) == data_names
    assert element_variables(rule) == element_names


def test_the_operators_are_the_ones_tested_here() -> None:
    tested = {
        "var", "missing", "missing_some", "if", "?:", "==", "!=", "===", "!==", "!", "!!", "and",
        "or", "<", "<=", ">", ">=", "max", "min", "+", "-", "*", "/", "%", "in", "cat", "merge",
        "some", "all", "none", "map", "filter", "reduce", "count", "years_between",
        "days_between", "today",
    }  # fmt: skip
    assert set(OPERATORS) == tested


# -- properties -----------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["", "0", "1", " 1 ", "0x10", "1e3", "-2.5", "abc", "Infinity", "2025-04-01"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=10,
)
NUMBERS = st.integers() | st.floats(allow_nan=False)
FEW = settings(max_examples=200, deadline=None)


@given(VALUES)
def test_double_negation_is_truthiness_and_negation_its_opposite(value: Any) -> None:
    data = {"v": value}
    assert run({"!!": [{"var": "v"}]}, data) is truthy(value)
    assert run({"!": [{"var": "v"}]}, data) is (not truthy(value))
    assert run({"!": {"!": {"!!": {"var": "v"}}}}, data) is truthy(value)


@given(VALUES)
def test_truthiness_is_falsy_only_for_the_javascript_few(value: Any) -> None:
    falsy = (
        value is None
        or value is False
        or (isinstance(value, int | float) and not isinstance(value, bool) and not value)
        or (isinstance(value, float) and math.isnan(value))
        or value == ""
        or (isinstance(value, list) and not value)
    )
    assert truthy(value) is (not falsy)


@given(st.lists(VALUES, min_size=1, max_size=5))
def test_and_or_return_one_of_their_arguments(values: list[Any]) -> None:
    data = {f"v{i}": value for i, value in enumerate(values)}
    names = [{"var": f"v{i}"} for i in range(len(values))]
    conjunction = run({"and": names}, data)
    disjunction = run({"or": names}, data)
    falsy = [v for v in values if not truthy(v)]
    truthy_ = [v for v in values if truthy(v)]
    assert conjunction is (falsy[0] if falsy else values[-1])
    assert disjunction is (truthy_[0] if truthy_ else values[-1])
    assert truthy(conjunction) is all(map(truthy, values))
    assert truthy(disjunction) is any(map(truthy, values))


@given(VALUES, VALUES)
def test_de_morgan(a: Any, b: Any) -> None:
    data = both(a, b)
    assert run({"!": {"and": [A, B]}}, data) is run({"or": [{"!": A}, {"!": B}]}, data)
    assert run({"!": {"or": [A, B]}}, data) is run({"and": [{"!": A}, {"!": B}]}, data)


@given(NUMBERS, NUMBERS, NUMBERS)
def test_comparisons_agree_with_python_on_numbers(a: Any, b: Any, c: Any) -> None:
    data = {"a": a, "b": b, "c": c}
    C = {"var": "c"}
    assert run({"<": [A, B]}, data) is (a < b)
    assert run({"<=": [A, B]}, data) is (a <= b)
    assert run({">": [A, B]}, data) is (a > b)
    assert run({">=": [A, B]}, data) is (a >= b)
    assert run({"==": [A, B]}, data) is (a == b)
    assert run({"===": [A, B]}, data) is (a == b)
    assert run({"!=": [A, B]}, data) is (a != b)
    assert run({"!==": [A, B]}, data) is (a != b)
    assert run({"<": [A, B, C]}, data) is (a < b < c)
    assert run({"<=": [A, B, C]}, data) is (a <= b <= c)
    assert same(run({"max": [A, B, C]}, data), max(a, b, c))
    assert same(run({"min": [A, B, C]}, data), min(a, b, c))


@given(VALUES, VALUES)
def test_equalities_are_symmetric_and_consistent(a: Any, b: Any) -> None:
    assert loose_equal(a, b) is loose_equal(b, a)
    assert strict_equal(a, b) is strict_equal(b, a)
    if strict_equal(a, b):
        assert loose_equal(a, b)
    data = both(a, b)
    assert run({"!=": [A, B]}, data) is (not run({"==": [A, B]}, data))
    assert run({"!==": [A, B]}, data) is (not run({"===": [A, B]}, data))


@given(st.integers(), st.integers())
def test_integer_arithmetic_is_exact(a: int, b: int) -> None:
    data = both(a, b)
    assert same(run({"+": [A, B]}, data), a + b)
    assert same(run({"-": [A, B]}, data), a - b)
    assert same(run({"*": [A, B]}, data), a * b)
    assert same(run({"-": [A]}, data), -a)
    if abs(a) <= 2**53 and abs(b) <= 2**53:  # what a JavaScript number holds exactly
        assert same(run({"+": [{"cat": [A]}, {"cat": [B]}]}, data), a + b)  # through strings
        assert run({"==": [A, {"cat": [A]}]}, data) is True
    if b:
        quotient = run({"/": [A, B]}, data)
        if a % b == 0:
            assert same(quotient, a // b)
        else:
            assert isinstance(quotient, float)
        truncated = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        assert same(run({"%": [A, B]}, data), a - b * truncated)
    else:
        assert math.isnan(run({"%": [A, B]}, data))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_survive_a_round_trip_through_strings(number: float) -> None:
    assert run({"==": [A, {"cat": [A]}]}, {"a": number}) is True
    assert run({"+": {"cat": [A]}}, {"a": number}) == number


@given(st.lists(st.text(max_size=5), max_size=5), st.lists(st.lists(SCALARS, max_size=3)))
def test_cat_and_merge_agree_with_python(texts: list[str], lists: list[list[Any]]) -> None:
    assert run({"cat": [{"var": "t"}]}, {"t": texts}) == ",".join(texts)
    assert run({"cat": [{"var": f"t.{i}"} for i in range(len(texts))]}, {"t": texts}) == "".join(
        texts
    )
    merged = run({"merge": [{"var": f"l.{i}"} for i in range(len(lists))]}, {"l": lists})
    assert same(merged, [item for part in lists for item in part])


@given(st.text(max_size=4), st.text(min_size=1, max_size=8))
def test_in_is_substring_for_strings(needle: str, haystack: str) -> None:
    assert run({"in": [A, B]}, both(needle, haystack)) is (needle in haystack)


@given(st.lists(st.one_of(SCALARS, st.just("x")), max_size=5), SCALARS)
def test_in_is_strict_membership_for_lists(items: list[Any], needle: Any) -> None:
    expected = any(strict_equal(needle, item) for item in items)
    assert run({"in": [B, A]}, both(items, needle)) is expected


LITERAL = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "0", "x", 0.5])
)


@given(
    st.lists(st.tuples(LITERAL | st.lists(LITERAL, max_size=2), VALUES), min_size=1, max_size=4),
    VALUES,
)
def test_if_with_literal_conditions_picks_the_first_true_branch(
    branches: list[tuple[Any, Any]], otherwise: Any
) -> None:
    rule: list[Any] = []
    data: dict[str, Any] = {"otherwise": otherwise}
    for index, (condition, value) in enumerate(branches):
        data[f"b{index}"] = value
        rule += [condition, {"var": f"b{index}"}]
    first = next((i for i, (condition, _) in enumerate(branches) if truthy(condition)), None)
    chosen = otherwise if first is None else data[f"b{first}"]
    assert run({"if": [*rule, {"var": "otherwise"}]}, data) is chosen
    assert run({"if": rule}, data) is (None if first is None else chosen)
    condition = branches[0][0]
    expected = data["b0"] if truthy(condition) else otherwise
    assert run({"?:": [condition, {"var": "b0"}, {"var": "otherwise"}]}, data) is expected


KEY_TEXT = st.text(alphabet="ab.0_区", min_size=1, max_size=6)


@given(st.dictionaries(KEY_TEXT, VALUES, min_size=1, max_size=6), st.data())
def test_var_of_a_stored_key_returns_its_value(data: dict[str, Any], draw: st.DataObject) -> None:
    key = draw.draw(st.sampled_from(sorted(data)))
    assert run({"var": key}, data) is data[key]
    assert run({"var": [key, "default"]}, data) is data[key]
    assert run({"missing": [key]}, data) == ([key] if data[key] is None or data[key] == "" else [])


@given(st.dictionaries(KEY_TEXT, VALUES, max_size=6), KEY_TEXT)
def test_var_of_an_absent_name_is_the_default(data: dict[str, Any], name: str) -> None:
    segments = name.split(".")
    prefixes = {".".join(segments[:n]) for n in range(1, len(segments) + 1)}
    data = {key: value for key, value in data.items() if key not in prefixes}
    assert run({"var": [name, "default"]}, data) == "default"
    assert run({"var": name}, data) is None
    assert run({"missing": name}, data) == [name]


SEGMENT = st.one_of(st.text(alphabet="xyz区", min_size=1, max_size=3), st.integers(0, 2))


@given(KEY_TEXT, st.lists(SEGMENT, max_size=4), VALUES, st.dictionaries(KEY_TEXT, VALUES))
def test_var_walks_from_the_longest_prefix(
    prefix: str, path: list[str | int], value: Any, others: dict[str, Any]
) -> None:
    nested = value
    for segment in reversed(path):
        nested = [None] * segment + [nested] if isinstance(segment, int) else {segment: nested}
    name = ".".join([prefix, *map(str, path)])
    # Shorter prefixes do not matter; a longer one would win, so none is a key.
    longer = [k for k in others if len(k) > len(prefix) and (name + ".").startswith(k + ".")]
    data = {k: v for k, v in others.items() if k not in longer}
    data[prefix] = nested
    assert run({"var": name}, data) is value


# A small grammar of rules that records, as it builds, which names each one reads from the
# data and which from elements of lists. Built = (rule, data names, element names).
Built = tuple[Any, frozenset[str], frozenset[str]]
NONE: frozenset[str] = frozenset()
NAMES = st.sampled_from(["a", "b", "a.b", "a.b.c", "move.new_address", "xs", "xs.0", "区", "n"])


def _leaf_var(name: str | int) -> Built:
    return {"var": name}, frozenset({str(name)}), NONE


def _combine(operator: str, parts: list[Built], spread: bool = True) -> Built:
    rule = {operator: [p[0] for p in parts]}
    if not spread and len(parts) == 1 and not isinstance(parts[0][0], list):
        rule = {operator: parts[0][0]}
    return (
        rule,
        frozenset().union(*(p[1] for p in parts)),
        frozenset().union(*(p[2] for p in parts)),
    )


def _scoped(operator: str, over: Built, body: Built, initial: Built | None) -> Built:
    args = [over[0], body[0]] + ([initial[0]] if initial else [])
    data_names = over[1] | (initial[1] if initial else NONE)
    element_names = over[2] | body[1] | body[2] | (initial[2] if initial else NONE)
    return {operator: args}, data_names, element_names


LEAVES: st.SearchStrategy[Built] = st.one_of(
    LITERAL.map(lambda v: (v, NONE, NONE)),
    st.lists(LITERAL, max_size=3).map(lambda v: (v, NONE, NONE)),
    (NAMES | st.integers(0, 2)).map(_leaf_var),
    st.just(({"var": ""}, NONE, NONE)),
    st.just(({"today": []}, NONE, NONE)),
    st.lists(NAMES, max_size=3).map(lambda ks: ({"missing": ks}, frozenset(ks), NONE)),
    st.tuples(st.integers(0, 3), st.lists(NAMES, max_size=3)).map(
        lambda t: ({"missing_some": [t[0], t[1]]}, frozenset(t[1]), NONE)
    ),
)

FIXED = {
    1: ["!", "!!", "-", "count"],
    2: ["==", "!=", "===", "!==", "<", "<=", ">", ">=", "-", "/", "%", "in", "years_between",
        "days_between"],
    3: ["<", "<="],
}  # fmt: skip
VARIADIC = ["and", "or", "max", "min", "+", "*", "cat", "merge"]
SCOPED = ["some", "all", "none", "map", "filter"]


def _extend(inner: st.SearchStrategy[Built]) -> st.SearchStrategy[Built]:
    fixed = st.one_of(
        *(
            st.tuples(st.sampled_from(ops), st.lists(inner, min_size=n, max_size=n), st.booleans())
            for n, ops in FIXED.items()
        )
    ).map(lambda t: _combine(t[0], t[1], spread=t[2]))
    return st.one_of(
        fixed,
        st.tuples(st.sampled_from(VARIADIC), st.lists(inner, min_size=1, max_size=4)).map(
            lambda t: _combine(*t)
        ),
        st.lists(inner, min_size=2, max_size=5).map(lambda parts: _combine("if", parts)),
        st.lists(inner, min_size=3, max_size=3).map(lambda parts: _combine("?:", parts)),
        st.tuples(NAMES, inner).map(
            lambda t: ({"var": [t[0], t[1][0]]}, t[1][1] | {t[0]}, t[1][2])
        ),
        st.tuples(st.sampled_from(SCOPED), inner, inner).map(lambda t: _scoped(*t, None)),
        st.tuples(inner, inner, st.none() | inner).map(lambda t: _scoped("reduce", *t)),
        st.tuples(NAMES, NAMES, inner).map(
            lambda t: (
                {"missing": {"merge": [t[0], {"if": [t[2][0], [t[1]], []]}]}},
                t[2][1] | {t[0], t[1]},
                t[2][2],
            )
        ),
    )


RULES = st.recursive(LEAVES, _extend, max_leaves=12)
ELEMENT = st.fixed_dictionaries(
    {}, optional={"a": VALUES, "b": SCALARS, "n": st.integers(-3, 3), "xs": st.lists(SCALARS)}
)
DATA_VALUES = VALUES | st.lists(ELEMENT, max_size=3) | st.dates().map(date.isoformat)
ANSWERS = st.dictionaries(NAMES | st.sampled_from(["move", "a.b.c.d"]), DATA_VALUES, max_size=8)


@FEW
@given(RULES)
def test_variables_are_the_names_the_grammar_put_in(built: Built) -> None:
    rule, data_names, element_names = built
    assert variables(rule) == data_names
    assert element_variables(rule) == element_names


@FEW
@given(RULES, ANSWERS, st.dates())
def test_rules_from_the_grammar_are_valid_and_evaluate_on_any_data(
    built: Built, data: dict[str, Any], today: date
) -> None:
    rule = built[0]
    assert validate(rule) == []
    evaluate(rule, data, today=today)


@FEW
@given(RULES)
def test_one_fault_anywhere_is_one_problem(built: Built) -> None:
    rule = built[0]
    [problem] = validate({"and": [rule, {"bogus": [rule]}]})
    assert problem == "unknown operator 'bogus' (at /and/1)"
    [problem] = validate({"!": [rule, rule]})
    assert problem.startswith("'!' takes 1 argument, got 2")
    assert variables({"bogus": [rule]}) == built[1]


ANY_RULE = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from([*OPERATORS, "bogus", "var", "missing", "missing_some"]),
            inner | st.lists(inner, max_size=4),
            min_size=1,
            max_size=1,
        )
    ),
    max_leaves=15,
)


@FEW
@given(ANY_RULE, ANSWERS)
def test_evaluate_raises_exactly_when_validate_finds_a_problem(rule: Any, data: Any) -> None:
    problems = validate(rule)
    try:
        evaluate(rule, data, today=TODAY)
    except LogicError as error:
        assert error.problems == problems
        assert problems
    else:
        assert problems == []


def add_years(day: date, years: int) -> date:
    """The anniversary: 29 February becomes 1 March in common years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


YEARS = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@given(YEARS, st.integers(0, 120))
def test_years_between_a_date_and_its_anniversary(day: date, years: int) -> None:
    anniversary = add_years(day, years)
    before = anniversary - timedelta(days=1)
    rule = {"years_between": [A, B]}
    assert run(rule, both(day.isoformat(), anniversary.isoformat())) == years
    assert run(rule, both(day.isoformat(), before.isoformat())) == max(years - 1, 0)
    assert run(rule, both(day, anniversary)) == years  # dates as well as ISO strings


@given(YEARS, YEARS)
def test_years_between_counts_anniversaries(start: date, end: date) -> None:
    result = run({"years_between": [A, B]}, both(start.isoformat(), end.isoformat()))
    assert result == -run({"years_between": [A, B]}, both(end.isoformat(), start.isoformat()))
    if start <= end:
        assert add_years(start, result) <= end < add_years(start, result + 1)
    days = run({"days_between": [A, B]}, both(start.isoformat(), end.isoformat()))
    assert days == (end - start).days
