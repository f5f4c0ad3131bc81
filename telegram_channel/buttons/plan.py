"""The buttons of a household's plan: the caseworker's ``m:{op}:{intake}:{arg}`` (build and
send the plan) and the partner's ``w:{op}:{target}:{arg}`` (work on its measures).

A button carries a one-letter op and numbers only (an intake, a measure, a need's index, a
partner's id, days, a page); bot/casework/plans.py checks again, when the tap arrives,
that the tapper holds the intake or is the partner the measure names, and that the
measure's state allows the change: a forged or replayed tap changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram_channel.buttons.codec import Board, as_int, named, pack, pattern, unpack

PLAN_PATTERN = pattern(Board.PLAN)
MEASURE_PATTERN = pattern(Board.MEASURE)


class PlanOp(StrEnum):
    """The caseworker's, on an intake."""

    VIEW = "v"  # the plan as it stands
    ADD = "a"  # a new measure: pick its kind
    KIND = "k"  # arg: the need's index in the flow's needs step
    KIND_WORDS = "t"  # type the kind instead
    BODY = "b"  # arg: the partner's user id; 0: the procuratorate itself
    DUE = "d"  # arg: due in so many days
    DUE_WORDS = "e"  # type the due date instead
    SEND = "s"  # the measures not sent yet go to their partners


class MeasureOp(StrEnum):
    """The partner's: on an intake (OPEN, ACCEPT_ALL), a measure, or a page."""

    OPEN = "o"  # target: the intake
    ACCEPT_ALL = "A"  # target: the intake
    ACCEPT = "a"  # target: the measure
    UNDER_WAY = "p"
    DONE = "d"
    NOT_POSSIBLE = "n"
    PAGE = "g"  # target: the page of /referrals


@dataclass(frozen=True)
class PlanTap:
    op: PlanOp | MeasureOp | None  # None: one this version does not know
    target: int
    arg: int


def plan_data(op: PlanOp, intake_id: int, arg: int = 0) -> str:
    return pack(Board.PLAN, op, int(intake_id), int(arg))


def measure_data(op: MeasureOp, target: int, arg: int = 0) -> str:
    return pack(Board.MEASURE, op, int(target), int(arg))


def _read(data: str | None, board: Board, ops: type[PlanOp] | type[MeasureOp]) -> PlanTap | None:
    parts = unpack(data, board, 4)
    if parts is None:
        return None
    target, arg = as_int(parts[1]), as_int(parts[2])
    if target is None or arg is None:
        return None
    return PlanTap(named(ops, parts[0]), target, arg)


def read_plan(data: str | None) -> PlanTap | None:
    """The caseworker's tap in ``data``; None when malformed (never raises)."""
    return _read(data, Board.PLAN, PlanOp)


def read_measure(data: str | None) -> PlanTap | None:
    """The partner's tap in ``data``; None when malformed (never raises)."""
    return _read(data, Board.MEASURE, MeasureOp)
