"""orjson writes what the standard library wrote, or hands over to it."""

from __future__ import annotations

import dataclasses
import datetime as dtm
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import jsoncodec
from telegram_channel.transport import _telegram_object

BEFORE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

A_STATE = {
    "answers": {
        "name": "张秀英",
        "birth_date": "1975-03-08",
        "hardship": ["medical"],
        "household_size": 4,
        "monthly_income": 1200.5,
        "phone": {"$enc": "gAAAAABrDmI5869t=="},
        "description": 'a "quoted" line\nand a tab\t, a \\ and \u2028 and \x00',
        "case_number": None,
        "consent": True,
    },
    "current": None,
    "path": ["name", "birth_date"],
    "pending": [],
    "editing": False,
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)  # not JSON: see the last test
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal as values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def test_a_draft_state_is_written_exactly_as_before() -> None:
    assert jsoncodec.dumps_text(A_STATE) == BEFORE.encode(A_STATE)
    assert json.loads(jsoncodec.dumps_text(A_STATE)) == A_STATE


@given(json_values)
def test_any_json_value_reads_back_as_what_the_standard_library_wrote(value: Any) -> None:
    ours = jsoncodec.dumps(value)
    assert same(json.loads(ours), json.loads(BEFORE.encode(value)))
    assert same(json.loads(ours), value)


def test_what_orjson_refuses_goes_to_the_standard_library() -> None:
    big = {"id": 2**70, "nan": float("nan"), 1: "int key"}
    assert jsoncodec.dumps(big) == BEFORE.encode(big).encode()
    assert json.loads(jsoncodec.dumps({"id": -(2**64)}))["id"] == -(2**64)


def test_a_telegram_object_in_the_parameters_is_sent_as_its_json() -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("跳过", callback_data="a:1:2:s:0")]])
    params = {"chat_id": 5, "text": "<b>几口人？</b>", "reply_markup": markup}
    sent = jsoncodec.dumps(params, _telegram_object)
    assert (
        sent
        == json.dumps(
            params, ensure_ascii=False, separators=(",", ":"), default=_telegram_object
        ).encode()
    )
    assert json.loads(sent)["reply_markup"]["inline_keyboard"][0][0]["text"] == "跳过"


def test_what_json_cannot_write_is_still_refused() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    for value in (Point(1), dtm.datetime(2026, 12, 1), {1, 2}, object()):
        with pytest.raises(TypeError):
            jsoncodec.dumps({"v": value}, _telegram_object)
        with pytest.raises(TypeError):
            jsoncodec.dumps({"v": value})


def test_nan_and_infinity_are_written_as_null() -> None:
    """Not JSON, and nothing the bot writes has them (the engine refuses such numbers)."""
    assert jsoncodec.dumps([math.nan, math.inf, -math.inf]) == b"[null,null,null]"
