"""The applicant's Done under a caseworker's question: ``y:{intake}:d``.

The intake is checked again against the one tapping (their own application, a question
still open) by ``bot.casework`` when the tap arrives: a forged or replayed Done changes
nothing.
"""

from __future__ import annotations

from telegram_channel.buttons.codec import Board, as_int, pack, pattern, unpack

PATTERN = pattern(Board.ANSWER)
DONE = "d"


def done_data(intake_id: int) -> str:
    return pack(Board.ANSWER, intake_id, DONE)


def read_done(data: str | None) -> int | None:
    """The intake whose answer is done; None when ``data`` is malformed or not a Done."""
    parts = unpack(data, Board.ANSWER, 3)
    if parts is None or parts[1] != DONE:
        return None
    return as_int(parts[0])
