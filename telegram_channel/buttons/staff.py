"""Staff buttons: each named tap (``Tap.CLAIM``) tied to the core's action it takes.

A staff button is ``<board>:<code>:<id>:<arg>`` (``c:cl:12:0``: claim intake 12): the
caseworker's on an intake or a queue page, the partner's on a referral, the supervisor's
on a proposed decision (its id: a later proposal is not confirmed by an older button)
or a decided intake; ``arg`` is what
a pick carries (a reason's index, a liaison's id), 0 otherwise. The core re-checks the
actor's role and the record's state when a tap arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.casework.actions import Action, Step
from telegram_channel.buttons.codec import Board, as_int, fits, pattern, unpack

CASEWORKER = Board.CASEWORKER
PARTNER = Board.PARTNER
SUPERVISOR = Board.SUPERVISOR
CASEWORKER_PATTERN = pattern(CASEWORKER)
PARTNER_PATTERN = pattern(PARTNER)
SUPERVISOR_PATTERN = pattern(SUPERVISOR)
_BOARDS = {b.value: b for b in (CASEWORKER, PARTNER, SUPERVISOR)}


class Tap(Enum):
    """Every staff button: (prefix, code on the wire, the core's action, its step).
    Taps without an action are the channel's own: paging the queue, opening a card."""

    # the caseworker's, on an intake (QUEUE and MINE: on a page of the queue)
    QUEUE = (CASEWORKER, "q", None, None)
    MINE = (CASEWORKER, "m", None, None)
    OPEN = (CASEWORKER, "o", None, None)
    LIST = (CASEWORKER, "l", None, None)  # a page of a kept list: its id, arg the page
    CANCEL = (CASEWORKER, "x", None, None)
    CLAIM = (CASEWORKER, "cl", Action.CLAIM, Step.START)
    TAKE_OVER = (CASEWORKER, "to", Action.TAKE_OVER, Step.START)
    RELEASE = (CASEWORKER, "rl", Action.RELEASE, Step.START)
    ASK = (CASEWORKER, "as", Action.ASK, Step.START)
    APPROVE = (CASEWORKER, "ap", Action.APPROVE, Step.START)
    CONFIRM_APPROVAL = (CASEWORKER, "ac", Action.APPROVE, Step.CONFIRM)
    DECLINE = (CASEWORKER, "dc", Action.DECLINE, Step.START)
    DECLINE_FOR = (CASEWORKER, "dr", Action.DECLINE, Step.PICK)  # arg: the reason's index
    DECLINE_IN_WORDS = (CASEWORKER, "do", Action.DECLINE, Step.OWN_WORDS)
    CONFIRM_DECLINE = (CASEWORKER, "dy", Action.DECLINE, Step.CONFIRM)
    NOTE = (CASEWORKER, "nt", Action.NOTE, Step.START)
    REFER = (CASEWORKER, "rf", Action.REFER, Step.START)
    REFER_TO = (CASEWORKER, "rp", Action.REFER, Step.PICK)  # arg: the partner's user id
    REFER_NEED = (CASEWORKER, "rn", Action.REFER, Step.CONFIRM)  # arg: the need's index
    ERASE = (CASEWORKER, "er", Action.ERASE, Step.START)
    REFUSE_DELETION = (CASEWORKER, "en", Action.REFUSE_DELETION, Step.START)
    SHOW_ATTACHMENTS = (CASEWORKER, "at", Action.SHOW_ATTACHMENTS, Step.START)
    REVEAL = (CASEWORKER, "rv", Action.REVEAL_ID, Step.START)  # the intake's id only
    CLOSE_QUESTION = (CASEWORKER, "cq", Action.CLOSE_QUESTION, Step.START)
    PRINT_FORM = (CASEWORKER, "pf", Action.PRINT_FORM, Step.START)
    # the supervisor's: on a proposal (its id), and on a decided intake
    ASSIGN = (SUPERVISOR, "as", Action.ASSIGN, Step.START)
    ASSIGN_TO = (SUPERVISOR, "at", Action.ASSIGN, Step.PICK)  # arg: the caseworker's user id
    CONFIRM_DECISION = (SUPERVISOR, "ok", Action.CONFIRM_DECISION, Step.START)
    RETURN_DECISION = (SUPERVISOR, "rt", Action.RETURN_DECISION, Step.START)
    REOPEN = (SUPERVISOR, "ro", Action.REOPEN, Step.START)
    # the partner's, on a referral
    ACKNOWLEDGE = (PARTNER, "a", Action.ACKNOWLEDGE, Step.START)
    REPORT_DONE = (PARTNER, "d", Action.REPORT_DONE, Step.START)
    DONE_WITH = (PARTNER, "o", Action.REPORT_DONE, Step.PICK)  # arg: the outcome's index
    DONE_IN_WORDS = (PARTNER, "t", Action.REPORT_DONE, Step.OWN_WORDS)
    RETURN = (PARTNER, "r", Action.RETURN, Step.START)

    def __init__(self, prefix: Board, code: str, action: Action | None, step: Step | None) -> None:
        self.prefix = prefix
        self.code = code
        self.action = action
        self.step = step

    @classmethod
    def of(cls, action: Action, step: Step = Step.START) -> Tap:
        """The button that takes ``action`` at ``step``."""
        return _BY_ACTION[(action, step)]


_BY_ACTION = {(t.action, t.step): t for t in Tap if t.action is not None}
_BY_CODE = {(t.prefix, t.code): t for t in Tap}


@dataclass(frozen=True)
class Pressed:
    """A staff button as it arrived: ``tap`` is None for a well-formed button whose code
    this version does not know (from another version, or made up)."""

    prefix: Board
    tap: Tap | None
    target: int  # the intake, the referral, or the queue page
    arg: int


def encode(tap: Tap, target: int, arg: int = 0) -> str:
    """The callback data of ``tap`` on ``target``; ValueError if Telegram would refuse it."""
    return fits(f"{tap.prefix}:{tap.code}:{int(target)}:{int(arg)}")


def decode(data: str | None) -> Pressed | None:
    """A staff button's data read back; None when it is not one, or malformed (never
    raises, whatever a client sent)."""
    prefix = _BOARDS.get(data[:1], PARTNER) if data else PARTNER
    parts = unpack(data, prefix, 4)
    if parts is None:
        return None
    target, arg = as_int(parts[1]), as_int(parts[2])
    if target is None or arg is None:
        return None
    return Pressed(prefix, _BY_CODE.get((prefix, parts[0])), target, arg)


def codes(prefix: Board) -> frozenset[str]:
    """Every code ``decode`` knows under ``prefix`` (for the tests' authorization matrix)."""
    return frozenset(t.code for t in Tap if t.prefix == prefix)
