"""The admin's buttons on a flow file: ``f:{op}:{upload or version}:0``.

The number is a row id, checked again (that it exists, and that the one tapping is an
admin) by ``bot.administration`` when the tap arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram_channel.buttons.codec import Board, as_int, named, pack, pattern, unpack

PATTERN = pattern(Board.FLOW)


class FlowOp(StrEnum):
    PUBLISH = "p"  # an uploaded file, checked and waiting
    TRY = "t"  # the same, walked through as an applicant would
    ROLL_BACK = "r"  # an earlier published version made current again ("Yes" below)
    CONFIRM_ROLL_BACK = "a"  # on /flows: asks "roll back X to version N?" before doing it
    KEEP_CURRENT = "k"  # "No" on that question: nothing changes


@dataclass(frozen=True)
class FlowTap:
    op: FlowOp | None  # None: a code this version does not know
    target: int  # the upload's id (PUBLISH, TRY) or the version's row (the others)


def flow_data(op: FlowOp, target: int) -> str:
    return pack(Board.FLOW, op, target, 0)


def read_flow(data: str | None) -> FlowTap | None:
    """The tap in ``data``; None when it is malformed or not a flow button."""
    parts = unpack(data, Board.FLOW, 4)
    target = as_int(parts[1]) if parts else None
    if parts is None or target is None:
        return None
    return FlowTap(named(FlowOp, parts[0]), target)
