"""/export's confirmation that phone and ID numbers go in the file: ``e:{request}``.

The number is the id of the waiting request (an ``export.asked`` audit row), checked again
by ``bot.export.Exports`` when the tap arrives: that it is the tapper's, and not yet made.
"""

from __future__ import annotations

from telegram_channel.buttons.codec import Board, as_int, pack, pattern, unpack

PATTERN = pattern(Board.EXPORT)


def export_data(asked: int) -> str:
    return pack(Board.EXPORT, asked)


def read_export(data: str | None) -> int | None:
    """The request a tap confirms; None when the data is malformed or not an export's."""
    parts = unpack(data, Board.EXPORT, 2)
    return as_int(parts[0]) if parts else None
