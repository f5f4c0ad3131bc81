"""Tests for bot.flow.expr: the language, its null rules, and that it is safe.

Flow files are untrusted text, so besides the unit tests there are property-based tests
showing that arbitrary input never raises anything but ExprError and never runs code.
"""

from __future__ import annotations

import ast
import builtins
import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flow.expr import Expr, ExprError, _convert, compile_expr, evaluate, truthy

TODAY = datetime.date(2024, 6, 15)


def ev(source: str, env: dict[str, Any] | None = None, today: datetime.date = TODAY) -> Any:
    return evaluate(compile_expr(source), env or {}, today=today)


# --------------------------------------------------------------------------------------
# Literals and names


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'text'", "text"),
        ('"text"', "text"),
        ("12", 12),
        ("3.5", 3.5),
        ("true", True),
        ("false", False),
        ("null", None),
        ("True", True),
        ("False", False),
        ("None", None),
        ("[]", []),
        ("[1, 'a', null, [true]]", [1, "a", None, [True]]),
        ("  12  ", 12),
        ("(((1)))", 1),
    ],
)
def test_literals(source: str, expected: Any) -> None:
    assert ev(source) == expected
    assert type(ev(source)) is type(expected)


def test_variables_come_from_env_and_missing_is_null() -> None:
    assert ev("x", {"x": 5}) == 5
    assert ev("answer", {"answer": "yes"}) == "yes"
    assert ev("missing", {"x": 5}) is None


def test_constant_names_are_not_variables() -> None:
    # Even if the env has a key called 'true', the constant wins.
    assert ev("true", {"true": 0}) is True
    assert ev("null", {"null": 1}) is None


def test_function_names_can_be_step_ids() -> None:
    # A step called 'age' is plausible; used without a call it is a variable.
    expr = compile_expr("age >= 18 and age(birth) >= 18")
    assert expr.names == frozenset({"age", "birth"})
    assert evaluate(expr, {"age": 20, "birth": "2000-01-01"}, today=TODAY) is True


def test_names_extraction() -> None:
    expr = compile_expr(
        "applying_for == 'relative' and answer <= household_size "
        "or len(groups) > 0 and age(birth) >= today() and not true and x != null"
    )
    assert expr.names == frozenset(
        {"applying_for", "answer", "household_size", "groups", "birth", "x"}
    )
    assert compile_expr("1 + 2").names == frozenset()
    assert compile_expr("today()").names == frozenset()
    assert compile_expr("[a, [b, c]]").names == frozenset({"a", "b", "c"})


def test_expr_keeps_source_and_is_comparable() -> None:
    a = compile_expr("x == 1")
    b = compile_expr("x == 1")
    assert a.source == "x == 1"
    assert a == b
    assert hash(a) == hash(b)
    assert isinstance(a, Expr)


# --------------------------------------------------------------------------------------
# docs/flow-format.md examples


def test_flow_format_examples() -> None:
    assert ev("applying_for == 'relative'", {"applying_for": "relative"}) is True
    assert ev("applying_for == 'relative'", {"applying_for": "self"}) is False
    assert ev("applying_for == 'relative'", {}) is False

    assert ev("answer <= household_size", {"answer": 3, "household_size": 4}) is True
    assert ev("answer <= household_size", {"answer": 4, "household_size": 4}) is True
    assert ev("answer <= household_size", {"answer": 5, "household_size": 4}) is False
    assert ev("answer <= household_size", {"answer": 5}) is False  # null: false

    assert ev("'minor' in groups", {"groups": ["elderly", "minor"]}) is True
    assert ev("'minor' in groups", {"groups": ["elderly"]}) is False
    assert ev("'minor' in groups", {"groups": None}) is False
    assert ev("'minor' in groups", {}) is False

    assert ev("earners == 0", {"earners": 0}) is True
    assert ev("earners == 0", {"earners": 2}) is False
    assert ev("earners == 0", {}) is False

    assert ev("false") is False
    assert compile_expr("false").names == frozenset()


# --------------------------------------------------------------------------------------
# Comparisons


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 == 1", True),
        ("1 == 2", False),
        ("1 != 2", True),
        ("1 != 1", False),
        ("1 < 2", True),
        ("2 < 1", False),
        ("1 <= 1", True),
        ("2 <= 1", False),
        ("2 > 1", True),
        ("1 > 2", False),
        ("1 >= 1", True),
        ("1 >= 2", False),
        ("1.5 < 2", True),
        ("'a' < 'b'", True),
        ("'b' <= 'a'", False),
        ("'2024-01-31' < '2024-02-01'", True),
        ("'2024-12-31' >= '2024-02-01'", True),
        ("1 < 2 < 3", True),
        ("1 < 3 < 2", False),
        ("1 == 1 != 2", True),
        ("'1' == 1", False),
        ("[1, 2] == [1, 2]", True),
        ("true == 1", True),  # as Python
        ("true < 2", True),  # bool vs number orders as Python
    ],
)
def test_comparisons(source: str, expected: bool) -> None:
    assert ev(source) is expected


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordering_with_null_is_false(op: str) -> None:
    assert ev(f"x {op} 1") is False
    assert ev(f"1 {op} x") is False
    assert ev(f"x {op} null") is False
    assert ev(f"'a' {op} null") is False


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_ordering_between_incompatible_types_is_false(op: str) -> None:
    assert ev(f"'a' {op} 1") is False
    assert ev(f"1 {op} 'a'") is False
    assert ev(f"[1] {op} 1") is False
    assert ev(f"[1] {op} [2]") is False


def test_null_equality() -> None:
    assert ev("x == null") is True
    assert ev("x != null") is False
    assert ev("x == null", {"x": 0}) is False
    assert ev("x != null", {"x": ""}) is True
    assert ev("null == null") is True


def test_chained_comparison_evaluates_middle_once_and_short_circuits() -> None:
    # 1 < x < 3 with x null: the first link is false, so the result is false.
    assert ev("1 < x < 3") is False
    assert ev("1 < x < 3", {"x": 2}) is True
    # The second link is not evaluated after a false first one (it would raise).
    assert ev("2 < 1 < len(5)") is False
    with pytest.raises(ExprError):
        ev("1 < 2 < len(5)")


# --------------------------------------------------------------------------------------
# in / not in


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("'a' in 'cat'", True),
        ("'x' in 'cat'", False),
        ("'' in 'cat'", True),
        ("1 in [1, 2]", True),
        ("3 in [1, 2]", False),
        ("'a' in ['a', 'b']", True),
        ("[1] in [[1], 2]", True),
        ("'a' not in 'cat'", False),
        ("'x' not in 'cat'", True),
        ("3 not in [1, 2]", True),
        ("1 not in [1, 2]", False),
        ("1 in 'cat'", False),  # non-text in text: false, not an error
        ("'a' in []", False),
    ],
)
def test_membership(source: str, expected: bool) -> None:
    assert ev(source) is expected


def test_membership_null_rules() -> None:
    assert ev("'a' in x") is False
    assert ev("x in ['a']") is False
    assert ev("null in [null]") is False
    assert ev("'a' not in x") is True
    assert ev("x not in ['a']") is True


def test_membership_needs_text_or_list_container() -> None:
    with pytest.raises(ExprError, match="'in' needs"):
        ev("1 in 5")
    with pytest.raises(ExprError):
        ev("1 not in x", {"x": True})


# --------------------------------------------------------------------------------------
# Boolean operators


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("false or true", True),
        ("false or false", False),
        ("not true", False),
        ("not false", True),
        ("not null", True),
        ("not 0", True),
        ("not ''", True),
        ("not []", True),
        ("not 'x'", False),
        ("1 and 'x'", True),  # booleans, not operands
        ("0 or ''", False),
        ("1 or 0", True),
        ("x and y", False),
        ("true and true and 1", True),
        ("false or false or [1]", True),
        ("not not 3", True),
    ],
)
def test_boolean_operators(source: str, expected: bool) -> None:
    assert ev(source) is expected


def test_and_or_short_circuit() -> None:
    # The right side would raise if evaluated.
    assert ev("false and len(5) > 0") is False
    assert ev("true or len(5) > 0") is True
    assert ev("x != null and x > 3") is False
    with pytest.raises(ExprError):
        ev("true and len(5) > 0")
    with pytest.raises(ExprError):
        ev("false or len(5) > 0")


def test_precedence() -> None:
    assert ev("1 + 2 * 3") == 7
    assert ev("(1 + 2) * 3") == 9
    assert ev("not 1 == 2") is True
    assert ev("true or false and false") is True
    assert ev("(true or false) and false") is False
    assert ev("-2 * -3") == 6


# --------------------------------------------------------------------------------------
# Arithmetic


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2", 3),
        ("1.5 + 1", 2.5),
        ("5 - 7", -2),
        ("3 * 4", 12),
        ("7 / 2", 3.5),
        ("6 / 3", 2),
        ("-5", -5),
        ("+5", 5),
        ("- -5", 5),
        ("-2.5", -2.5),
        ("'ab' + 'cd'", "abcd"),
        ("[1] + [2, 3]", [1, 2, 3]),
        ("x + 1", None),
        ("1 + x", None),
        ("x - 1", None),
        ("x * 2", None),
        ("x / 2", None),
        ("2 / x", None),
        ("-x", None),
        ("+x", None),
        ("x + 'a'", None),
    ],
)
def test_arithmetic(source: str, expected: Any) -> None:
    assert ev(source) == expected


def test_arithmetic_with_variables() -> None:
    assert ev("income / members", {"income": 1200, "members": 4}) == 300
    assert ev("a + b", {"a": [1], "b": [2]}) == [1, 2]


@pytest.mark.parametrize(
    "source",
    [
        "'a' + 1",
        "1 + 'a'",
        "[1] + 1",
        "'a' + [1]",
        "'a' - 'b'",
        "'a' * 3",
        "3 * 'a'",
        "[1] * 3",
        "'a' / 2",
        "[1] - [1]",
        "true + 1",
        "1 - false",
        "true * true",
        "-'a'",
        "+[1]",
        "-true",
    ],
)
def test_arithmetic_type_errors(source: str) -> None:
    with pytest.raises(ExprError, match=r"cannot use|needs a number"):
        ev(source)


def test_division_by_zero() -> None:
    with pytest.raises(ExprError, match="division by zero"):
        ev("1 / 0")
    with pytest.raises(ExprError, match="division by zero"):
        ev("1 / x", {"x": 0.0})


def test_huge_numbers_are_refused() -> None:
    assert ev("1000000000 * 1000000000") == 10**18
    with pytest.raises(ExprError, match="too large"):
        ev("1000000000 * 1000000000 * 10")
    with pytest.raises(ExprError, match="too large"):
        ev("x * x", {"x": 10**10})
    with pytest.raises(ExprError, match="too large"):
        compile_expr("10000000000000000000")
    with pytest.raises(ExprError, match="too large"):
        compile_expr("1e400")
    with pytest.raises(ExprError, match="too large"):
        ev("x * 10.0", {"x": 1e308})
    with pytest.raises(ExprError):
        ev("x / 3", {"x": 10**400})


def test_string_and_list_growth_is_bounded() -> None:
    big = "a" * 60_000
    assert len(ev("x + 'b'", {"x": big})) == 60_001
    with pytest.raises(ExprError, match="too long"):
        ev("x + x", {"x": big})
    with pytest.raises(ExprError, match="too long"):
        ev("x + x", {"x": [0] * 60_000})


# --------------------------------------------------------------------------------------
# Functions


def test_len() -> None:
    assert ev("len('abc')") == 3
    assert ev("len('')") == 0
    assert ev("len([1, 2])") == 2
    assert ev("len(x)") == 0
    assert ev("len(null)") == 0
    assert ev("len(x) >= 2", {"x": ["a", "b"]}) is True
    for source in ("len(5)", "len(true)", "len(1.5)"):
        with pytest.raises(ExprError, match=r"len\(\) needs"):
            ev(source)


def test_today() -> None:
    assert ev("today()") == "2024-06-15"
    assert ev("today()", today=datetime.date(2001, 2, 3)) == "2001-02-03"
    assert ev("visit <= today()", {"visit": "2024-06-15"}) is True
    assert ev("visit <= today()", {"visit": "2024-06-16"}) is False


def test_today_accepts_a_datetime() -> None:
    now = datetime.datetime(2024, 6, 15, 13, 45)
    assert evaluate(compile_expr("today()"), {}, today=now) == "2024-06-15"


@pytest.mark.parametrize(
    ("born", "today", "expected"),
    [
        ("2006-06-15", datetime.date(2024, 6, 15), 18),  # birthday today
        ("2006-06-16", datetime.date(2024, 6, 15), 17),  # birthday tomorrow
        ("2006-06-14", datetime.date(2024, 6, 15), 18),  # birthday yesterday
        ("2006-07-01", datetime.date(2024, 6, 15), 17),
        ("2006-05-31", datetime.date(2024, 6, 15), 18),
        ("2024-06-15", datetime.date(2024, 6, 15), 0),
        ("1950-01-01", datetime.date(2024, 12, 31), 74),
        ("1950-12-31", datetime.date(2024, 12, 31), 74),
        ("1951-01-01", datetime.date(2024, 12, 31), 73),
        # 29 February: a year older on 1 March in common years, on the day in leap years.
        ("2000-02-29", datetime.date(2023, 2, 28), 22),
        ("2000-02-29", datetime.date(2023, 3, 1), 23),
        ("2000-02-29", datetime.date(2024, 2, 28), 23),
        ("2000-02-29", datetime.date(2024, 2, 29), 24),
        ("2025-01-01", datetime.date(2024, 6, 15), -1),  # a date in the future
    ],
)
def test_age_around_birthdays(born: str, today: datetime.date, expected: int) -> None:
    assert ev("age(b)", {"b": born}, today=today) == expected
    assert ev(f"age('{born}')", today=today) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "not a date", "2024-02-30", "2024-13-01", "20240101", "2024-W01-1", 5, True, []],
)
def test_age_of_null_or_invalid_date_is_null(value: Any) -> None:
    assert ev("age(b)", {"b": value}) is None
    assert ev("age(b) >= 18", {"b": value}) is False


def test_age_accepts_date_objects() -> None:
    assert ev("age(b)", {"b": datetime.date(2000, 6, 15)}) == 24


def test_age_in_a_condition() -> None:
    assert ev("age(birth) < 18", {"birth": "2010-01-01"}) is True
    assert ev("age(birth) < 18", {"birth": "1990-01-01"}) is False
    assert ev("age(birth) < 18", {}) is False


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("len()", "takes 1 argument"),
        ("len(1, 2)", "takes 1 argument"),
        ("today(1)", "takes 0 arguments"),
        ("age()", "takes 1 argument"),
        ("age(a, b)", "takes 1 argument"),
        ("len(x=1)", "keyword"),
        ("len(*x)", "starred"),
        ("age(**x)", "keyword"),
        ("open('f')", "unknown function 'open'"),
        ("print(1)", "unknown function 'print'"),
        ("eval('1')", "unknown function 'eval'"),
        ("x(1)", "unknown function 'x'"),
        ("(len)(x)", None),  # parenthesised name is still a Name: allowed
        ("len(x)(1)", "only len"),
        ("'abc'(1)", "only len"),
    ],
)
def test_call_rules(source: str, message: str | None) -> None:
    if message is None:
        assert ev(source, {"x": "ab"}) == 2
        return
    with pytest.raises(ExprError, match=message):
        compile_expr(source)


# --------------------------------------------------------------------------------------
# truthy


@pytest.mark.parametrize("value", [None, False, 0, 0.0, "", [], ()])
def test_truthy_false(value: Any) -> None:
    assert truthy(value) is False


@pytest.mark.parametrize("value", [True, 1, -1, 0.5, "0", "false", [0], [None], object()])
def test_truthy_true(value: Any) -> None:
    assert truthy(value) is True


# --------------------------------------------------------------------------------------
# Forbidden constructs


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('echo x')",
        "().__class__",
        "x.y",
        "x[0]",
        "x[1:2]",
        "[a for a in b]",
        "{a for a in b}",
        "{a: 1 for a in b}",
        "(a for a in b)",
        "lambda: 1",
        "open('f')",
        "f'{x}'",
        "f'plain'",
        "2**999999",
        "2 ** 2",
        "7 // 2",
        "7 % 2",
        "1 << 2",
        "1 >> 2",
        "1 | 2",
        "1 & 2",
        "1 ^ 2",
        "~1",
        "a @ b",
        "{}",
        "{1: 2}",
        "{1}",
        "()",
        "(1, 2)",
        "1, 2",
        "[*a]",
        "1 if x else 2",
        "(y := 1)",
        "await x",
        "(yield)",
        "x is None",
        "x is not None",
        "__builtins__",
        "__import__",
        "x.__class__",
        "len.__self__",
        "b'bytes'",
        "1j",
        "...",
        "[1, 2][0]",
        "'abc'.upper()",
        "getattr(x, 'y')",
        "x = 1",
        "import os",
        "",
        "   ",
        "1 +",
        "a b",
        "a\x00",
        "x" * 2001,
        "(" * 250 + "1" + ")" * 250,
        "-" * 60 + "1",
        "not " * 60 + "x",
        "[" * 60 + "]" * 60,
        " + ".join(["1"] * 60),
    ],
)
def test_forbidden_constructs_are_refused_at_compile(source: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source)
    assert str(info.value) == info.value.message
    assert info.value.message


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x.y", "attribute access is not allowed"),
        ("x[0]", "subscripts are not allowed"),
        ("[a for a in b]", "comprehensions are not allowed"),
        ("lambda: 1", "lambdas are not allowed"),
        ("f'{x}'", "f-strings are not allowed"),
        ("2**999999", r"'\*\*' is not allowed"),
        ("{}", "dictionaries are not allowed"),
        ("open('f')", "unknown function 'open'"),
        ("__import__('os')", "'__import__' is not allowed"),
        ("x" * 2001, "longer than 2000"),
        ("-" * 60 + "1", "nested too deeply"),
    ],
)
def test_error_messages_are_plain_english(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        compile_expr(source)


def test_non_string_source_is_refused() -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(123)  # type: ignore[arg-type]
    assert info.value.message == "an expression must be a string"


def test_a_lone_surrogate_is_refused_in_words() -> None:
    """A flow file may hold one ("\\ud800" in double quotes); the parser cannot read it."""
    with pytest.raises(ExprError) as info:
        compile_expr("'\ud800'")
    assert info.value.message == "expression contains characters that are not allowed"


def test_a_construct_a_later_python_adds_is_refused_by_its_name() -> None:
    """Every node Python 3.11 parses has its own message; a node added later (3.14's
    t-strings) falls to the general one, naming it. Built by hand, as 3.11 parses none."""
    with pytest.raises(ExprError) as info:
        _convert(ast.Pass(), set(), depth=0)
    assert info.value.message == "'Pass' is not allowed in an expression"


def test_moderate_nesting_is_fine() -> None:
    assert ev("(" * 100 + "1" + ")" * 100) == 1  # parentheses alone add no depth
    assert ev(" + ".join(["1"] * 40)) == 40
    assert ev("-" * 40 + "1") == 1


def test_evaluation_errors_are_expr_errors_even_for_odd_env_values() -> None:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("boom")

        __hash__ = object.__hash__

    with pytest.raises(ExprError):
        ev("x == 1", {"x": Weird()})

    def deep() -> list[Any]:
        nested: list[Any] = []
        for _ in range(100_000):
            nested = [nested]
        return nested

    # Two distinct, absurdly nested lists: comparing them exhausts the recursion limit.
    with pytest.raises(ExprError) as info:
        ev("x == y", {"x": deep(), "y": deep()})
    assert info.value.message == "a value is nested too deeply"


# --------------------------------------------------------------------------------------
# Property-based tests

PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

TOKENS = [
    "a",
    "b",
    "answer",
    "x_1",
    "true",
    "false",
    "null",
    "None",
    "0",
    "1",
    "12",
    "3.5",
    "1e400",
    "10**18",
    "'",
    '"',
    "'s'",
    '"2024-01-01"',
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ",",
    ":",
    ";",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "**",
    "//",
    "%",
    "~",
    "&",
    "|",
    "^",
    "@",
    ":=",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "for",
    "lambda",
    "yield",
    "await",
    "__import__",
    "__class__",
    "__builtins__",
    "__subclasses__",
    "os",
    "system",
    "open",
    "eval",
    "exec",
    "len",
    "today",
    "age",
    "f'",
    "{x}",
    "\\",
    "\n",
    "#",
    "\x00",
    "...",
]

token_sources = st.lists(st.sampled_from(TOKENS), max_size=25).flatmap(
    lambda toks: st.sampled_from(["", " "]).map(lambda sep: sep.join(toks))
)

VAR_NAMES = ["a", "b", "c", "answer", "age", "len"]

leaf_exprs = st.one_of(
    st.sampled_from(VAR_NAMES),
    st.sampled_from(["true", "false", "null", "True", "None", "today()"]),
    st.integers(min_value=-(10**6), max_value=10**18).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(alphabet="ab-0123456789'\"\\ ", max_size=12).map(repr),
    st.dates().map(lambda d: repr(d.isoformat())),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary_ops = ["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "in", "not in"]
    binary_ops += ["and", "or"]
    return st.one_of(
        st.tuples(children, st.sampled_from(binary_ops), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(children, st.sampled_from(["<", "=="]), children, children).map(
            lambda t: f"{t[0]} {t[1]} {t[2]} < {t[3]}"
        ),
        st.tuples(st.sampled_from(["not ", "-", "+"]), children).map(lambda t: f"({t[0]}({t[1]}))"),
        st.lists(children, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.tuples(st.sampled_from(["len", "age"]), children).map(lambda t: f"{t[0]}({t[1]})"),
    )


grammar_sources = st.recursive(leaf_exprs, _extend, max_leaves=12)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # including nan and infinities
    st.text(max_size=8),
    st.dates().map(lambda d: d.isoformat()),
)
json_values = st.recursive(json_scalars, lambda v: st.lists(v, max_size=4), max_leaves=10)
envs = st.dictionaries(st.sampled_from([*VAR_NAMES, "d", "household_size"]), json_values)


def _compile_or_none(source: str) -> Expr | None:
    try:
        expr = compile_expr(source)
    except ExprError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert str(exc) == exc.message
        return None
    assert isinstance(expr, Expr)
    assert expr.source == source
    return expr


def _evaluate_checked(expr: Expr, env: dict[str, Any], today: datetime.date) -> None:
    try:
        evaluate(expr, env, today=today)
    except ExprError as exc:
        assert isinstance(exc.message, str) and exc.message


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_compile_arbitrary_text_only_raises_expr_error(source: str) -> None:
    _compile_or_none(source)


@PROPERTY_SETTINGS
@given(token_sources)
def test_compile_token_soup_only_raises_expr_error(source: str) -> None:
    _compile_or_none(source)


@PROPERTY_SETTINGS
@given(grammar_sources)
def test_grammar_sources_compile(source: str) -> None:
    # Everything the grammar strategy builds is in the language, so property 2 below
    # really exercises evaluation rather than compile errors.
    expr = compile_expr(source)
    assert expr.names <= frozenset(VAR_NAMES)


@PROPERTY_SETTINGS
@given(st.one_of(grammar_sources, token_sources), envs, st.dates())
def test_evaluate_only_raises_expr_error(
    source: str, env: dict[str, Any], today: datetime.date
) -> None:
    expr = _compile_or_none(source)
    if expr is not None:
        _evaluate_checked(expr, env, today)


@PROPERTY_SETTINGS
@given(grammar_sources, envs)
def test_result_of_a_condition_is_a_plain_value(source: str, env: dict[str, Any]) -> None:
    try:
        value = ev(source, env)
    except ExprError:
        return
    # Results are JSON-like: never a function, module or other object from the host.
    assert_json_like(value)
    assert isinstance(truthy(value), bool)


def assert_json_like(value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            assert_json_like(item)
        return
    assert value is None or isinstance(value, bool | int | float | str | datetime.date), value


# -- "never executes code" -------------------------------------------------------------
#
# Two independent watchers are active only while compile_expr/evaluate run:
#  * an audit hook (PEP 578) records the interpreter's own events for running code
#    objects (exec/eval), imports, opening files, os.system and subprocesses;
#  * builtins.__import__/open/eval/exec/compile, os.system and subprocess.Popen are
#    replaced by recorders (compile is allowed only with ast.PyCF_ONLY_AST, which is what
#    ast.parse uses: building a tree, never bytecode).
# test_watchers_can_fail shows both really notice when something is executed.

_WATCHED_EVENTS = {"exec", "import", "open", "os.system", "subprocess.Popen", "os.exec"}
_watching = False
_events: list[tuple[str, str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching and (event in _WATCHED_EVENTS or event.startswith(("os.", "subprocess."))):
        _events.append((event, repr(args)[:80]))


sys.addaudithook(_audit)


@contextmanager
def no_code_execution() -> Iterator[list[str]]:
    """Record every attempt to run code, import, open files or start processes.

    Patches are applied and undone by hand (not with pytest's monkeypatch, which itself
    imports modules while patching and would show up as a false alarm).
    """
    global _watching
    calls: list[str] = []

    def recorder(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(f"{name}:{str(args[0])[:40] if args else ''}")
            return original(*args, **kwargs)

        return wrapper

    real_compile = builtins.compile

    def guarded_compile(source: Any, filename: Any, mode: Any, flags: int = 0, *a: Any, **k: Any):
        if not flags & ast.PyCF_ONLY_AST:
            calls.append("compile")
        return real_compile(source, filename, mode, flags, *a, **k)

    patches: list[tuple[Any, str, Any]] = [
        (builtins, name, recorder(name, getattr(builtins, name)))
        for name in ("__import__", "open", "eval", "exec")
    ]
    patches += [
        (builtins, "compile", guarded_compile),
        (os, "system", recorder("os.system", os.system)),
        (subprocess, "Popen", recorder("subprocess.Popen", subprocess.Popen)),
    ]
    originals = [(target, name, getattr(target, name)) for target, name, _ in patches]
    _events.clear()
    for target, name, replacement in patches:
        setattr(target, name, replacement)
    _watching = True
    try:
        yield calls
    finally:
        _watching = False
        for target, name, original in originals:
            setattr(target, name, original)
    calls.extend(f"audit:{event} {args}" for event, args in _events)
    _events.clear()


def test_watchers_can_fail() -> None:
    with no_code_execution() as calls:
        builtins.eval("1 + 1")
    assert "eval:1 + 1" in calls
    assert any(c.startswith("audit:exec") for c in calls)

    with no_code_execution() as calls:
        __import__("json")
    assert "__import__:json" in calls

    with no_code_execution() as calls:
        os.system("true")
    assert "os.system:true" in calls
    assert any(c.startswith("audit:os.system") for c in calls)

    with no_code_execution() as calls:
        ev("1 + 1")
    assert calls == []


# Sources that would do something observable if they were ever run as Python.
DANGEROUS = [
    "__import__('os').system('echo pwned')",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('x=1')",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "(lambda: __import__('os'))()",
    "compile('1', 'f', 'eval')",
    'f\'{__import__("os").system("id")}\'',
    "__builtins__",
    "len.__globals__",
]


@pytest.mark.parametrize("source", DANGEROUS)
def test_dangerous_sources_are_refused_and_run_nothing(
    source: str,
) -> None:
    with no_code_execution() as calls, pytest.raises(ExprError):
        compile_expr(source)
    assert calls == []


@PROPERTY_SETTINGS
@given(st.one_of(token_sources, grammar_sources, st.sampled_from(DANGEROUS)), envs)
def test_compile_and_evaluate_never_execute_code(source: str, env: dict[str, Any]) -> None:
    with no_code_execution() as calls, suppress(ExprError):
        evaluate(compile_expr(source), env, today=TODAY)
    assert calls == [], (source, calls)


# --------------------------------------------------------------------------------------
# The edges of each rule, found by mutation testing (docs/testing.md).


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 < 1", False),
        ("1 > 1", False),
        ("1 <= 1", True),
        ("1 >= 1", True),
        ("'a' < 'a'", False),
        ("'a' > 'a'", False),
        ("'a' <= 'a'", True),
        ("'a' >= 'a'", True),
        ("1 < 1.5", True),
        ("true > false", True),
        ("1 != 1", False),
        ("1 == 1.0", True),
    ],
)
def test_strict_comparisons_of_equal_values_are_false(source: str, expected: bool) -> None:
    assert ev(source) is expected


@pytest.mark.parametrize("name", ["__x", "x__", "__", "___"])
def test_names_with_double_underscores_at_either_end_are_refused(name: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(f"{name} == 1")
    assert info.value.message == f"the name '{name}' is not allowed"
    with pytest.raises(ExprError) as info:
        compile_expr(f"{name}(1)")
    assert info.value.message == f"the name '{name}' is not allowed"


@pytest.mark.parametrize("name", ["_x", "x_", "a__b", "_x_"])
def test_names_with_underscores_elsewhere_are_variables(name: str) -> None:
    assert ev(f"{name} == 1", {name: 1}) is True


def test_an_expression_of_exactly_the_longest_length_compiles() -> None:
    source = "x == " + "1" * 1995
    assert len(source) == 2000
    with pytest.raises(ExprError, match="number is too large"):  # read, not refused for length
        compile_expr(source)
    padded = "x" + " " * 1999
    assert compile_expr(padded).names == {"x"}
    with pytest.raises(ExprError) as info:
        compile_expr(padded + " ")
    assert info.value.message == "expression is longer than 2000 characters"


def test_nesting_exactly_at_the_deepest_level_compiles() -> None:
    assert ev("-" * 50 + "1") == 1
    assert ev("not " * 50 + "x", {"x": False}) is False
    nested: list[Any] = []
    for _ in range(50):
        nested = [nested]
    assert ev("[" * 51 + "]" * 51) == nested  # the innermost list holds nothing to walk
    for deeper in ("-" * 51 + "1", "not " * 51 + "x", "[" * 52 + "]" * 52):
        with pytest.raises(ExprError) as info:
            compile_expr(deeper)
        assert info.value.message == "expression is nested too deeply"


def test_the_largest_number_is_exactly_ten_to_the_eighteenth() -> None:
    assert ev("1000000000000000000") == 10**18
    assert ev("-1000000000000000000") == -(10**18)
    assert ev("x + 1", {"x": 10**18 - 1}) == 10**18
    assert ev("-x", {"x": 10**18}) == -(10**18)
    with pytest.raises(ExprError) as info:
        compile_expr("1000000000000000001")
    assert info.value.message == "number is too large"
    with pytest.raises(ExprError, match="number is too large"):
        ev("x + 1", {"x": 10**18})
    with pytest.raises(ExprError, match="number is too large"):
        ev("x - 1", {"x": -(10**18)})


def test_text_and_lists_may_grow_to_exactly_a_hundred_thousand() -> None:
    half = "a" * 50_000
    assert len(ev("x + x", {"x": half})) == 100_000
    assert len(ev("x + x", {"x": [0] * 50_000})) == 100_000
    with pytest.raises(ExprError, match="text is too long"):
        ev("x + x + 'b'", {"x": half})
    with pytest.raises(ExprError, match="list is too long"):
        ev("x + x + [1]", {"x": [0] * 50_000})


# What an admin reads next to the step when a flow file is refused (the loader shows
# ``ExprError.message``; its template is translated): every message, exactly.
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "expression is empty"),
        ("   ", "expression is empty"),
        ("1 +", "syntax error"),
        ("(1", "syntax error near character 1"),
        ("a\x00", "syntax error"),  # Python 3.11.4 on; before, a ValueError (the message below)
        ("x.y", "attribute access is not allowed"),
        ("x.y()", "attribute access is not allowed"),
        ("x[0]", "subscripts are not allowed"),
        ("[a for a in b]", "comprehensions are not allowed"),
        ("{a for a in b}", "comprehensions are not allowed"),
        ("{a: 1 for a in b}", "comprehensions are not allowed"),
        ("len(a for a in b)", "comprehensions are not allowed"),
        ("lambda: 1", "lambdas are not allowed"),
        ("(x := 1)", "assignment expressions are not allowed"),
        ("f'{x}'", "f-strings are not allowed"),
        ("{}", "dictionaries are not allowed"),
        ("{1}", "sets are not allowed"),
        ("(1, 2)", "tuples are not allowed"),
        ("[*x]", "starred expressions are not allowed"),
        ("len(*x)", "starred expressions are not allowed"),
        ("1 if x else 2", "conditional expressions are not allowed"),
        ("~x", "bitwise operators are not allowed"),
        ("2 ** 3", "the operator '**' is not allowed"),
        ("2 // 3", "the operator '//' is not allowed"),
        ("2 % 3", "the operator '%' is not allowed"),
        ("a @ b", "the operator '@' is not allowed"),
        ("2 << 3", "the operator '<<' is not allowed"),
        ("2 >> 3", "the operator '>>' is not allowed"),
        ("2 | 3", "the operator '|' is not allowed"),
        ("2 ^ 3", "the operator '^' is not allowed"),
        ("2 & 3", "the operator '&' is not allowed"),
        ("x is None", "'is' and 'is not' are not allowed; use == and !="),
        ("x is not None", "'is' and 'is not' are not allowed; use == and !="),
        ("'abc'(1)", "only len(), today() and age() can be called"),
        ("open('f')", "unknown function 'open'"),
        ("len(x=1)", "len() does not take keyword arguments"),
        ("len()", "len() takes 1 argument, got 0"),
        ("age(1, 2)", "age() takes 1 argument, got 2"),
        ("today(1)", "today() takes 0 arguments, got 1"),
        ("1e400", "number is too large"),
        ("b'x'", "literals of type 'bytes' are not allowed"),
        ("1j", "literals of type 'complex' are not allowed"),
        ("...", "literals of type 'ellipsis' are not allowed"),
    ],
)
def test_every_message_an_admin_may_read(source: str, message: str) -> None:
    with pytest.raises(ExprError) as info:
        compile_expr(source)
    assert info.value.message == message
    assert str(info.value) == message


def test_a_message_keeps_its_template_and_values_for_translation() -> None:
    with pytest.raises(ExprError) as info:
        compile_expr("today(1)")
    assert info.value.template == "{name}() takes {arity} arguments, got {n}"
    assert info.value.params == {"name": "today", "arity": 0, "n": 1}
    plain = ExprError("expression is empty")
    assert plain.params == {} and plain.message == plain.template == "expression is empty"


class _Unequal:
    """An answer whose comparison fails (none of ours does; the contract still holds)."""

    def __eq__(self, other: object) -> bool:
        raise ValueError("no")

    __hash__ = object.__hash__


# Nobody reads these in the bot (the engine lets an applicant through a rule that fails,
# see tests/test_engine.py); an admin trying a rule by hand with ``evaluate`` does.
@pytest.mark.parametrize(
    ("source", "env", "message"),
    [
        ("1 / x", {"x": 0}, "division by zero"),
        ("x + 1", {"x": 10**18}, "number is too large"),
        ("x * 10.0", {"x": 1e308}, "number is too large"),
        ("-x", {"x": "a"}, "unary '-' needs a number, got text"),
        ("+x", {"x": [1]}, "unary '+' needs a number, got list"),
        ("-x", {"x": True}, "unary '-' needs a number, got boolean"),
        ("x - 1", {"x": "a"}, "cannot use '-' on text and number"),
        ("x + y", {"x": 1.5, "y": "a"}, "cannot use '+' on number and text"),
        ("x * y", {"x": [1], "y": {}}, "cannot use '*' on list and dict"),
        ("len(x)", {"x": 3}, "len() needs a text or a list, got number"),
        ("1 in x", {"x": 5}, "'in' needs a text or a list on the right, got number"),
        ("x + x", {"x": "a" * 60_000}, "text is too long"),
        ("x + x", {"x": [0] * 60_000}, "list is too long"),
        ("x == 1", {"x": _Unequal()}, "could not evaluate the expression (ValueError)"),
    ],
)
def test_what_an_evaluation_error_says(source: str, env: dict[str, Any], message: str) -> None:
    with pytest.raises(ExprError) as info:
        ev(source, env)
    assert info.value.message == message
    assert info.value.args == (message,)


def test_a_hand_built_expression_of_unknown_nodes_is_refused() -> None:
    odd = Expr(source="x", names=frozenset(), _tree=object())  # type: ignore[arg-type]
    with pytest.raises(ExprError) as info:
        evaluate(odd, {}, today=TODAY)
    assert info.value.message == "malformed expression"


# Mutants that change nothing anyone can observe (docs/testing.md):
# equivalent: bot.flow.expr.x__compare_one__mutmut_30: ``comparable = None`` for False,
#   read only by ``if not comparable``.
# equivalent: bot.flow.expr.xǁ_Evaluatorǁ_compare__mutmut_5: zip(strict=None), and
# equivalent: bot.flow.expr.xǁ_Evaluatorǁ_compare__mutmut_8: zip() without strict, and
# equivalent: bot.flow.expr.xǁ_Evaluatorǁ_compare__mutmut_9: zip(strict=False): a compiled
#   comparison has one operand more than operators, always (ast.Compare's shape).
# equivalent: bot.flow.expr.xǁExprErrorǁ__init____mutmut_3: formatting a template with no
#   values: no message without values has braces.
# equivalent: bot.flow.expr.x__operator_symbol__mutmut_12: the fallback of
# equivalent: bot.flow.expr.x__operator_symbol__mutmut_14: _operator_symbol for an operator
# equivalent: bot.flow.expr.x__operator_symbol__mutmut_16: it does not know: it knows
#   every ast.operator of Python 3.11 but the four allowed.
# equivalent: bot.flow.expr.x__type_name__mutmut_2: "null" as a type's name in a message:
# equivalent: bot.flow.expr.x__type_name__mutmut_3: every caller answers null before it
#   names a type (null + 1 is null, len(null) is 0, 1 in null is false).
# equivalent: bot.flow.expr.x_compile_expr__mutmut_45: the message of RecursionError and
# equivalent: bot.flow.expr.x_compile_expr__mutmut_46: MemoryError while parsing, and of
# equivalent: bot.flow.expr.x_compile_expr__mutmut_47: RecursionError while converting:
# equivalent: bot.flow.expr.x_compile_expr__mutmut_48: no source of 2,000 characters makes
# equivalent: bot.flow.expr.x_compile_expr__mutmut_58: Python 3.11's parser recurse that
# equivalent: bot.flow.expr.x_compile_expr__mutmut_59: deep (its own limit of 200 nested
# equivalent: bot.flow.expr.x_compile_expr__mutmut_60: brackets is a syntax error first),
# equivalent: bot.flow.expr.x_compile_expr__mutmut_61: and _convert stops at MAX_DEPTH.
