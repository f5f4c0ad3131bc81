"""The buttons of /delete: ``d:{intake}:{op}``.

The intake is checked again against the one tapping (their own draft, their own
application) by ``bot.privacy`` and ``bot.casework`` when the tap arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from telegram_channel.buttons.codec import Board, as_int, named, pack, pattern, unpack

PATTERN = pattern(Board.DELETION)


class DeletionOp(StrEnum):
    ERASE_DRAFT = "y"  # delete the unfinished application now
    KEEP = "n"
    REQUEST = "r"  # ask a caseworker to delete a sent application


@dataclass(frozen=True)
class DeletionTap:
    intake_id: int
    op: DeletionOp | None  # None (unknown) is taken as KEEP


def deletion_data(intake_id: int, op: DeletionOp) -> str:
    return pack(Board.DELETION, intake_id, op)


def read_deletion(data: str | None) -> DeletionTap | None:
    """The tap in ``data``; None when it is malformed or not a /delete button."""
    parts = unpack(data, Board.DELETION, 3)
    intake_id = as_int(parts[0]) if parts else None
    if parts is None or intake_id is None:
        return None
    return DeletionTap(intake_id, named(DeletionOp, parts[1]))
