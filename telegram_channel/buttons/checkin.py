"""The buttons of a check-in after the decision: ``k:{checkin}:{op}``.

A button carries the check-in's id and a one-letter op only; ``bot.casework.checkins``
checks again, when the tap arrives, that the tapper is the intake's applicant and that
the check-in still takes an answer: a forged or replayed tap changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.casework.checkins import Choice
from telegram_channel.buttons.codec import Board, as_int, named, pack, pattern, unpack

PATTERN = pattern(Board.CHECKIN)


class CheckinOp(StrEnum):
    BETTER = "b"
    SAME = "s"
    WORSE = "w"
    TALK = "t"
    SKIP = "n"  # no words to add
    STOP = "x"  # no more check-ins


CHOSEN = {
    CheckinOp.BETTER: Choice.BETTER,
    CheckinOp.SAME: Choice.SAME,
    CheckinOp.WORSE: Choice.WORSE,
    CheckinOp.TALK: Choice.TALK,
}
OP_OF = {choice: op for op, choice in CHOSEN.items()}


@dataclass(frozen=True)
class CheckinTap:
    checkin_id: int
    op: CheckinOp | None  # None: one this version does not know (nothing happens)


def checkin_data(checkin_id: int, op: CheckinOp) -> str:
    return pack(Board.CHECKIN, checkin_id, op)


def read_checkin(data: str | None) -> CheckinTap | None:
    """The tap in ``data``; None when it is malformed or not a check-in button."""
    parts = unpack(data, Board.CHECKIN, 3)
    checkin_id = as_int(parts[0]) if parts else None
    if parts is None or checkin_id is None:
        return None
    return CheckinTap(checkin_id, named(CheckinOp, parts[1]))
