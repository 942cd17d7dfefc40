"""Conditions in definitions: the library evaluates them over nested answers, with our date
operators, our list operators over groups, and no rule ever true because an answer is missing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.definitions.logic import (
    JST,
    OPERATORS,
    Condition,
    LogicError,
    Read,
    evaluate,
    nest,
    reads,
    truthy,
    validate,
    variables,
)

TODAY = date(2025, 4, 1)


def run(rule: Any, data: Mapping[str, Any] | None = None) -> Any:
    return evaluate(rule, {} if data is None else data, today=TODAY)


def same(actual: Any, expected: Any) -> bool:
    """Equal and of the same type (so 3 is not 3.0 and True is not 1)."""
    return type(actual) is type(expected) and actual == expected


def both(a: Any, b: Any) -> dict[str, Any]:
    return {"a": a, "b": b}


A, B = {"var": "a"}, {"var": "b"}
AGE = {"years_between": [{"var": "birthdate"}, {"today": []}]}
CHILD = {"<": [AGE, 18]}
MEMBERS = {"var": "move.members"}


# -- answers nested by their dotted keys ------------------------------------------------------


def test_answers_are_nested_by_their_dotted_keys() -> None:
    answers = {
        "move.scope": "between",
        "move.new_address": {"prefecture": "東京都", "municipality_code": "131016"},
        "move.members": [{"name": "山田花子", "birthdate": "2015-06-01", "kana": ""}],
        "household.kokuho": False,
        "move.note": "",
        "move.date": None,
    }
    assert nest(answers) == {
        "move": {
            "scope": "between",
            "new_address": {"prefecture": "東京都", "municipality_code": "131016"},
            "members": [{"name": "山田花子", "birthdate": "2015-06-01"}],
        },
        "household": {"kokuho": False},
    }
    assert nest(nest(answers)) is not None


def test_var_reads_a_dotted_key_and_a_part_of_an_address() -> None:
    answers = {"move.new_address": {"municipality_code": "131016"}, "move.scope": "within"}
    assert run({"var": "move.scope"}, answers) == "within"
    assert run({"==": [{"var": "move.new_address.municipality_code"}, "131016"]}, answers)
    assert run({"var": "move.new_address.ward"}, answers) is None


def test_equal_conditions_are_evaluated_once_per_nested_answers() -> None:
    answers = nest({"move.scope": "between"})
    first = Condition.of({"==": [{"var": "move.scope"}, "between"]})
    second = Condition.of({"==": [{"var": "move.scope"}, "between"]})
    assert first is not second and first.key == second.key
    assert evaluate(first, answers, today=TODAY) is True
    assert answers.results == {(first.key, TODAY): True}
    assert evaluate(second, answers, today=TODAY) is True
    assert len(answers.results) == 1
    assert evaluate(first, nest({"move.scope": "within"}), today=TODAY) is False
    assert [Condition.of(rule) for rule in (None, True, False)] == [None, True, False]


# -- a missing answer never makes a rule true --------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        CHILD,
        {"!": CHILD},
        {">=": [AGE, 18]},
        {"!": {"var": "birthdate"}},
        {"==": [{"var": "birthdate"}, None]},
        {"!=": [{"var": "birthdate"}, "2000-01-01"]},
        {"!==": [{"var": "birthdate"}, "2000-01-01"]},
        {"in": [{"var": "birthdate"}, ["2000-01-01"]]},
        {"!": {"in": ["dog", {"var": "pets"}]}},
        {"<=": [0, {"days_between": [{"var": "birthdate"}, {"today": []}]}, 10]},
        {"or": [False, {"!": CHILD}]},
        {"and": [True, {"!": CHILD}]},
        {"if": [CHILD, False, True]},
        {"?:": [CHILD, False, True]},
        {"!": {"and": [True, CHILD]}},
        {"<": [{"count": {"var": "pets"}}, 1]},
        {"!": {"some": [{"var": "pets"}, True]}},
        {"all": [{"var": "pets"}, True]},
    ],
    ids=repr,
)
def test_no_rule_holds_over_a_missing_answer(rule: Any) -> None:
    for answers in ({}, {"birthdate": None}, {"birthdate": ""}):
        assert not truthy(run(rule, answers)), answers


def test_a_known_answer_still_decides() -> None:
    assert run({"or": [{"var": "x"}, True]}) is True
    assert run({"and": [{"var": "x"}, False]}) is False
    assert run({"!": {"and": [CHILD, False]}}) is True
    assert run({"if": [True, "yes", {"var": "x"}]}) == "yes"
    assert run({"!": {"var": "kokuho"}}, {"kokuho": False}) is True
    assert run({"!=": [{"var": "scope"}, "within"]}, {"scope": "between"}) is True


def test_presence_is_tested_explicitly() -> None:
    assert run({"!!": {"var": "x"}}) is False
    assert run({"!": {"!!": {"var": "x"}}}) is True
    assert run({"missing": ["x", "y"]}, {"y": 1}) == ["x"]
    assert run({"var": ["x", 0]}) == 0  # a default is given on purpose


def test_a_prefilled_question_shows_while_its_answer_is_missing() -> None:
    """How the workflows write "ask it only if the sign-in did not give it"."""
    rule = {"or": [{"var": "filing.proxy"}, {"missing": ["principal.address"]}]}
    assert truthy(run(rule, {"filing.proxy": False}))
    assert truthy(run(rule, {"filing.proxy": False, "principal.address": None}))
    assert not truthy(run(rule, {"filing.proxy": False, "principal.address": {"city": "千代田区"}}))
    assert truthy(run(rule, {"filing.proxy": True, "principal.address": {"city": "千代田区"}}))
    assert not truthy(run({"!": {"var": "principal.address"}}, {}))  # why '!' will not do


def test_values_the_library_cannot_compare_are_unknown() -> None:
    assert run({"<": [{"var": "x"}, 18]}, {"x": "abc"}) is None
    assert run({"in": ["a", {"var": "x"}]}, {"x": 3}) is False


# -- some / all / none / filter / map over a group --------------------------------------------

FAMILY = {
    "move.members": [
        {"name": "祖父", "birthdate": "1950-01-01"},
        {"name": "子", "birthdate": "2015-06-01"},
    ]
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"some": [MEMBERS, CHILD]}, True),
        ({"all": [MEMBERS, CHILD]}, False),
        ({"none": [MEMBERS, CHILD]}, False),
        ({"some": [MEMBERS, {">=": [AGE, 65]}]}, True),
        ({"filter": [MEMBERS, CHILD]}, [{"name": "子", "birthdate": "2015-06-01"}]),
        ({"map": [MEMBERS, {"var": "name"}]}, ["祖父", "子"]),
        ({"count": MEMBERS}, 2),
    ],
    ids=repr,
)
def test_list_operators_over_a_group(rule: Any, expected: Any) -> None:
    assert same(run(rule, FAMILY), expected)


def test_a_member_without_a_date_of_birth_is_neither_child_nor_adult() -> None:
    elder = {"move.members": [{"name": "祖父", "birthdate": "1950-01-01"}, {"name": "?"}]}
    assert run({"some": [MEMBERS, CHILD]}, elder) is None
    assert run({"all": [MEMBERS, {">=": [AGE, 18]}]}, elder) is None
    assert run({"none": [MEMBERS, CHILD]}, elder) is None
    assert run({"some": [MEMBERS, {">=": [AGE, 65]}]}, elder) is True
    assert run({"filter": [MEMBERS, CHILD]}, elder) == []


def test_a_misspelt_name_inside_some_is_never_true() -> None:
    """The bug this design fixes: ``birthdat`` read as 0 made a member born in 1950 a child."""
    rule = {"some": [MEMBERS, {"<": [{"years_between": [{"var": "birthdat"}, {"today": []}]}, 18]}]}
    assert not truthy(run(rule, {"move.members": [{"birthdate": "1950-01-01"}]}))


def test_list_operators_over_no_list() -> None:
    assert run({"some": [MEMBERS, CHILD]}, {"move.members": []}) is False
    assert run({"all": [MEMBERS, CHILD]}, {"move.members": []}) is False
    assert run({"none": [MEMBERS, CHILD]}, {"move.members": []}) is True
    for operator in ("some", "all", "none", "filter", "map"):
        assert run({operator: [MEMBERS, CHILD]}) is None
    assert run({"some": [{"var": "pets"}, {"==": [{"var": ""}, "dog"]}]}, {"pets": ["dog"]})


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
    rule = {">=": [AGE, 65]}
    assert run(rule, {"birthdate": "1960-04-01"}) is True
    assert run(rule, {"birthdate": "1960-04-02"}) is False
    assert run({"days_between": [{"today": []}, "2025-04-15"]}) == 14


def test_today_defaults_to_the_date_in_japan() -> None:
    before = datetime.now(JST).date().isoformat()
    value = evaluate({"today": []}, {})
    after = datetime.now(JST).date().isoformat()
    assert value in (before, after)
    assert JST.utcoffset(None) == timedelta(hours=9)


# -- validate, reads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"foo": [1]}, "Operator 'foo' is unknown"),
        ({"==": [1]}, "'==' takes 2 to 2 argument(s), got 1"),
        ({"!": [1, 2]}, "'!' takes 1 to 1 argument(s), got 2"),
        ({"and": []}, "'and' takes at least 1 argument(s), got 0"),
        ({"today": [1]}, "'today' takes 0 to 0 argument(s), got 1"),
        ({"years_between": ["2000-01-01"]}, "'years_between' takes 2 to 2 argument(s), got 1"),
        ({"reduce": [[1], {"var": "current"}, 0]}, "operator 'reduce' is not allowed"),
        ({"substr": ["abc", 1]}, "operator 'substr' is not allowed"),
        ({"var": {"cat": ["a", "b"]}}, "'var' needs a literal name"),
        ({"missing": [{"var": "x"}]}, "'missing' needs literal keys"),
        ({"some": [[1, 2], True]}, "'some' must iterate over an answer"),
        ({"and": [True, {"==": [1, 2], "<": [1, 2]}]}, "not a JsonLogic rule"),
    ],
    ids=repr,
)
def test_validate_names_each_fault(rule: Any, problem: str) -> None:
    problems = [str(found) for found in validate(rule)]
    assert any(problem in found for found in problems), problems
    with pytest.raises(LogicError):
        evaluate(rule, {})


def test_validate_refuses_a_self_referencing_rule() -> None:
    rule: dict[str, Any] = {"and": []}
    rule["and"].append(rule)
    assert [str(problem) for problem in validate(rule)] == [
        "the rule nests more than 60 levels deep"
    ]
    assert reads(rule) == []


def test_every_allowed_operator_is_known_to_the_library() -> None:
    for operator in OPERATORS:
        least = OPERATORS[operator][0]
        rule = {operator: [{"var": "members"}, True] if least == 2 else [1] * least}
        assert not any("unknown" in str(p) for p in validate(rule)), operator


def test_reads_name_the_list_each_element_is_read_from() -> None:
    rule = {
        "and": [
            {"==": [{"var": "move.scope"}, "between"]},
            {"some": [MEMBERS, {"some": [{"var": "pets"}, {"var": "kind"}]}]},
            {"missing": ["move.date"]},
        ]
    }
    members = Read("move.members")
    assert reads(rule) == [
        Read("move.scope"),
        members,
        Read("pets", members),
        Read("kind", Read("pets", members)),
        Read("move.date"),
    ]
    assert variables(rule) == {"move.scope", "move.members", "move.date"}


@pytest.mark.parametrize(
    ("rule", "names"),
    [
        ({"var": ["move.scope", {"var": "move.usual_scope"}]}, {"move.scope", "move.usual_scope"}),
        ({"missing_some": [{"var": "needed"}, ["a", "b"]]}, {"needed", "a", "b"}),
    ],
    ids=repr,
)
def test_reads_find_names_in_every_argument(rule: Any, names: set[str]) -> None:
    """What a ``var`` falls back to, how many answers ``missing_some`` needs: read as well,
    so the checker asks that those answers exist too."""
    assert variables(rule) == names


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
