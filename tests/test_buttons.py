"""Button data: every board's taps built and read in telegram_channel/buttons/ only.

Buttons sit in chats for weeks, and in the outbox across an upgrade: the codes earlier
versions wrote must keep meaning the same named tap. Whatever a client sends back, the
readers answer None or a tap, never an exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from telegram_channel.buttons import Tap, decode, encode
from telegram_channel.buttons.codec import Board, board_of, pattern
from telegram_channel.buttons.deletion import DeletionOp, deletion_data, read_deletion
from telegram_channel.buttons.flows import FlowOp, flow_data, read_flow
from telegram_channel.buttons.interview import (
    QuestionOp,
    QuestionTap,
    ReviewOp,
    ReviewTap,
    StopOp,
    StopTap,
    question_data,
    read,
    review_data,
    stop_data,
)
from telegram_channel.buttons.language import LanguageTap, language_data, read_language

ROOT = Path(__file__).resolve().parent.parent


def test_each_tap_is_read_back_as_the_tap_that_was_built() -> None:
    for op in QuestionOp:
        assert read(question_data(41, 3)(op, 2)) == QuestionTap(41, 3, op, 2)
    for rop in ReviewOp:
        assert read(review_data(41, rop, 5)) == ReviewTap(41, rop, 5)
    for sop in StopOp:
        assert read(stop_data(41, sop)) == StopTap(41, sop)
    for dop in DeletionOp:
        tap = read_deletion(deletion_data(41, dop))
        assert tap is not None and (tap.intake_id, tap.op) == (41, dop)
    for fop in FlowOp:
        ftap = read_flow(flow_data(fop, 9))
        assert ftap is not None and (ftap.op, ftap.target) == (fop, 9)
    for start in (True, False):
        assert read_language(language_data("ug", then_start=start)) == LanguageTap("ug", start)
    for staff in Tap:
        pressed = decode(encode(staff, 12, 7))
        assert pressed is not None and (pressed.tap, pressed.target, pressed.arg) == (staff, 12, 7)


def test_buttons_already_in_chats_keep_their_meaning() -> None:
    """The data earlier versions wrote, spelled out once here on purpose."""
    assert read("a:5:2:c:1") == QuestionTap(5, 2, QuestionOp.CHOOSE, 1)
    assert read("a:5:2:t:0") == QuestionTap(5, 2, QuestionOp.TOGGLE, 0)
    assert read("r:5:u:0") == ReviewTap(5, ReviewOp.SUBMIT, 0)
    assert read("x:5:new") == StopTap(5, StopOp.NEW)
    assert read_deletion("d:5:r") is not None and read_deletion("d:5:r").op is DeletionOp.REQUEST  # type: ignore[union-attr]
    assert read_flow("f:r:3:0") is not None and read_flow("f:r:3:0").op is FlowOp.ROLL_BACK  # type: ignore[union-attr]
    assert read_language("l:zh:1") == LanguageTap("zh", True)
    for data, tap in [
        ("c:cl:12:0", Tap.CLAIM),
        ("c:ac:12:0", Tap.CONFIRM_APPROVAL),
        ("c:dr:12:2", Tap.DECLINE_FOR),
        ("p:a:3:0", Tap.ACKNOWLEDGE),
    ]:
        pressed = decode(data)
        assert pressed is not None and pressed.tap is tap, data


@pytest.mark.parametrize(
    "data",
    [
        "",
        ":",
        "a",
        "a:",
        "a:1",
        "a:x:1:c:0",
        "a:1:1:c:²",
        "a:" + "9" * 19 + ":0:c:0",
        "r:1:u",
        "x:",
        "d:1",
        "f:p:x:0",
        "l:zh",
        "c:cl:1",
        "p:a:-:0",
        "z:1:2:3",
        "a" * 70,
        "a:1:1:c:0" + ":0" * 30,
        "审:1:2",
    ],
)
def test_forged_data_is_read_as_nothing_and_never_raises(data: str) -> None:
    assert read(data) is None
    assert read_deletion(data) is None and read_flow(data) is None
    assert read_language(data) is None
    assert decode(data) is None


def test_an_unknown_code_on_a_well_formed_button_names_no_tap() -> None:
    """A button from another version: read, but it does nothing (the handler shows the
    current question, or nothing happens)."""
    tap = read("a:5:2:zz:0")
    assert isinstance(tap, QuestionTap) and tap.op is None
    assert read_flow("f:q:3:0") is not None and read_flow("f:q:3:0").op is None  # type: ignore[union-attr]
    pressed = decode("c:zz:12:0")
    assert pressed is not None and pressed.tap is None


def test_each_board_has_its_own_first_part_and_pattern() -> None:
    assert len({b.value for b in Board}) == len(Board)
    for board in Board:
        assert board_of(f"{board}:1") is board
        assert pattern(board) == f"^{board}:"
    assert board_of("q:1") is None and board_of("ab:1") is None


def test_no_handler_spells_button_data() -> None:
    """Handlers name taps; the letters live in telegram_channel/buttons/ only."""
    for path in sorted((ROOT / "handlers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "pattern":
                assert not isinstance(node.value, ast.Constant), (path.name, node.lineno)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("pack", "unpack"):
                raise AssertionError(f"{path.name}:{node.lineno} builds button data itself")
