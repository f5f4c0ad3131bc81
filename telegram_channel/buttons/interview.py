"""The interview's buttons as callback data: built for the view and read back, here only.

A button on a question carries ``a:{intake}:{position of the step}:{op}:{choice}``, one on
the review ``r:{intake}:{op}:{position}``, one on the stop confirmation
``x:{intake}:{op}``: short opaque ids, never a value to trust. The intake, the step
and the choice are checked again against the applicant's draft when the tap arrives
(``bot.interview.Interview.apply``): a tap on an older question, another intake's
button or a forged one is answered with the current question and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.asking import Move
from bot.flow import engine
from bot.flow.model import Flow
from telegram_channel.buttons.codec import (
    Board,
    as_int,
    board_of,
    fits,
    named,
    pack,
    pattern,
    unpack,
)


class QuestionOp(StrEnum):
    """What a button under a question does."""

    CHOOSE = "c"  # picks a choice (its position is the last part)
    TOGGLE = "t"  # marks or unmarks a choice of a question that takes several
    AGREE = "y"
    DECLINE = "n"
    DONE = "d"
    KEEP = "k"
    SKIP = "s"
    BACK = "b"
    FIRST_PART = "p"  # an answer too long: keep its first part
    ALL_PARTS = "w"  # an answer too long: keep the whole of it, in parts


class ReviewOp(StrEnum):
    """What a button under the review does."""

    SUBMIT = "u"
    CHANGE = "m"  # shows the answers to pick one to change (only the buttons change)
    EDIT = "e"  # changes the answer to the step at the position given
    CLOSE = "z"  # back from that list to the review's own buttons
    BACK = "b"


class StopOp(StrEnum):
    """What a button of /cancel's confirmation (or the offer of a new application) does."""

    YES = "y"
    NO = "n"
    NEW = "new"  # another application, while earlier ones are still open


# The button of each move a question offers (bot.asking).
MOVE_OPS = {
    Move.AGREE: QuestionOp.AGREE,
    Move.DECLINE: QuestionOp.DECLINE,
    Move.DONE: QuestionOp.DONE,
    Move.KEEP: QuestionOp.KEEP,
    Move.SKIP: QuestionOp.SKIP,
    Move.BACK: QuestionOp.BACK,
    Move.FIRST_PART: QuestionOp.FIRST_PART,
    Move.ALL_PARTS: QuestionOp.ALL_PARTS,
}

# The button of each move the review offers.
REVIEW_OPS = {Move.SEND: ReviewOp.SUBMIT, Move.CHANGE: ReviewOp.CHANGE, Move.BACK: ReviewOp.BACK}

# What the buttons that name no choice mean to the engine. Only the tapped one's input is
# built: a tap is the bot's most frequent update, and building every one showed in its
# CPU (bench/README.md).
_OP_INPUTS: dict[QuestionOp, Callable[[str], engine.Input]] = {
    QuestionOp.AGREE: lambda step: engine.Picked(step, engine.AGREE),
    QuestionOp.DECLINE: lambda step: engine.Picked(step, engine.DECLINE),
    QuestionOp.DONE: engine.Done,
    QuestionOp.SKIP: engine.Skip,
    QuestionOp.KEEP: engine.Keep,
    QuestionOp.BACK: engine.Back,
    QuestionOp.FIRST_PART: engine.Shorten,
    QuestionOp.ALL_PARTS: lambda step: engine.Shorten(step, whole=True),
}


# --- on a question -----------------------------------------------------------------------


def question_data(intake_id: int, position: int) -> Callable[..., str]:
    """The data of the buttons under one question: ``data(op, choice=0)``."""
    head = f"{Board.QUESTION}:{intake_id}:{position}:"

    def data(op: QuestionOp, choice: int = 0) -> str:
        return fits(f"{head}{op}:{choice}")

    return data


@dataclass(frozen=True)
class QuestionTap:
    intake_id: int
    position: int  # of the step in its flow
    op: QuestionOp | None  # None: a code this version does not know
    choice: int

    def input(self, flow: Flow, state: engine.State) -> engine.Input | None:
        """What the tap means to the engine on ``flow``; None for a step, a choice or an
        op that does not exist."""
        if not 0 <= self.position < len(flow.steps):
            return None
        step = flow.steps[self.position]
        if self.op in (QuestionOp.CHOOSE, QuestionOp.TOGGLE):
            if not 0 <= self.choice < len(step.choices):
                return None
            return engine.Picked(step.id, step.choices[self.choice].value)
        make = None if self.op is None else _OP_INPUTS.get(self.op)
        return None if make is None else make(step.id)


def read_question(data: str) -> QuestionTap | None:
    """The tap in ``data``, or None when the data is malformed."""
    parts = unpack(data, Board.QUESTION, 5)
    if parts is None:
        return None
    intake_id, position, choice = as_int(parts[0]), as_int(parts[1]), as_int(parts[3])
    if intake_id is None or position is None or choice is None:
        return None
    return QuestionTap(intake_id, position, named(QuestionOp, parts[2]), choice)


# --- on the review -----------------------------------------------------------------------


def review_data(intake_id: int, op: ReviewOp, position: int = 0) -> str:
    return pack(Board.REVIEW, intake_id, op, position)


@dataclass(frozen=True)
class ReviewTap:
    intake_id: int
    op: ReviewOp | None  # None: a code this version does not know
    position: int

    def input(self, flow: Flow, state: engine.State) -> engine.Input | None:
        """What the tap means to the engine; None for one that does not exist (and for
        CHANGE and CLOSE, which change only the buttons)."""
        if self.op == ReviewOp.SUBMIT:
            return engine.Submit()
        if self.op == ReviewOp.BACK:
            return engine.Back(None)
        if self.op == ReviewOp.EDIT and 0 <= self.position < len(flow.steps):
            return engine.Edit(flow.steps[self.position].id)
        return None


def read_review(data: str) -> ReviewTap | None:
    parts = unpack(data, Board.REVIEW, 4)
    if parts is None:
        return None
    intake_id, position = as_int(parts[0]), as_int(parts[2])
    if intake_id is None or position is None:
        return None
    return ReviewTap(intake_id, named(ReviewOp, parts[1]), position)


# --- on the stop confirmation ------------------------------------------------------------


def stop_data(intake_id: int, op: StopOp) -> str:
    return pack(Board.STOP, intake_id, op)


@dataclass(frozen=True)
class StopTap:
    intake_id: int
    op: StopOp | None  # YES, NEW; anything else is taken as NO


def read_stop(data: str) -> StopTap | None:
    parts = unpack(data, Board.STOP, 3)
    intake_id = as_int(parts[0]) if parts else None
    if parts is None or intake_id is None:
        return None
    return StopTap(intake_id, named(StopOp, parts[1]))


# --- any of them ---------------------------------------------------------------------------

PATTERN = pattern(Board.QUESTION, Board.REVIEW, Board.STOP)

_READERS: dict[Board, Callable[[str], QuestionTap | ReviewTap | StopTap | None]] = {
    Board.QUESTION: read_question,
    Board.REVIEW: read_review,
    Board.STOP: read_stop,
}


def read(data: str | None) -> QuestionTap | ReviewTap | StopTap | None:
    """A tap on any of the interview's buttons; None when it is malformed or not one."""
    board = board_of(data)
    reader = None if board is None else _READERS.get(board)
    return None if reader is None or data is None else reader(data)
