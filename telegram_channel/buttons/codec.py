"""The shape every button's callback data shares: ``<board>:<part>:<part>...``.

Telegram carries at most 64 bytes of callback data and any client can forge it, so a
button carries a short code and numbers only, never a value to trust: whoever reads a
tap re-reads the record and the actor's role from the database. The first part says
which board of buttons a tap came from, and so which handler takes it; the codes are
the ones earlier versions wrote, so buttons already sitting in chats and in the outbox
go on working. Code names boards and taps; only this package spells their letters.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

MAX_CALLBACK_BYTES = 64

_Named = TypeVar("_Named", bound="StrEnum")


class Board(StrEnum):
    """Where a button sits, as the first part of its data."""

    QUESTION = "a"  # under a question of the interview
    REVIEW = "r"  # under the interview's review
    STOP = "x"  # /cancel's confirmation, or the offer of a new application
    DELETION = "d"  # /delete's confirmation
    LANGUAGE = "l"  # the language picker
    FLOW = "f"  # an admin's flow file: publish, try, roll back
    CASEWORKER = "c"  # on an intake card or a page of the queue
    PARTNER = "p"  # on a referral
    ANSWER = "y"  # Done, under a caseworker's question or the applicant's answer to it
    SUPERVISOR = "s"  # on a proposed decision or a decided intake
    CHECKIN = "k"  # under a check-in after the decision: an answer, Skip, or Stop
    EXPORT = "e"  # /export's confirmation that phone and ID numbers go in the file
    PLAN = "m"  # a household's plan, as its caseworker builds and sends it
    MEASURE = "w"  # a partner's measures of a plan: accept, under way, done, not possible


def pattern(*boards: Board) -> str:
    """The callback pattern a handler registers to take the taps of ``boards``."""
    if len(boards) == 1:
        return f"^{boards[0]}:"
    return "^[" + "".join(boards) + "]:"


def board_of(data: str | None) -> Board | None:
    """The board a tap came from; None for data that is none of ours."""
    if not data or len(data) < 2 or data[1] != ":":
        return None
    try:
        return Board(data[0])
    except ValueError:
        return None


def pack(board: Board, *parts: str | int) -> str:
    """A button's data; ValueError if Telegram would refuse it."""
    return fits(":".join([board, *[str(p) for p in parts]]))


def fits(data: str) -> str:
    """``data`` if Telegram takes it as a button's callback data, else ValueError."""
    if len(data) > MAX_CALLBACK_BYTES // 4 and len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError("callback data over 64 bytes")
    return data


def unpack(data: str | None, board: Board, size: int) -> list[str] | None:
    """The parts after the board of ``board:a:b``, or None when it is not that board's
    or malformed (never raises, whatever a client sent)."""
    if not data or len(data) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":", size)
    if parts[0] != board or len(parts) != size:
        return None
    return parts[1:]


def named(kind: type[_Named], code: str) -> _Named | None:
    """The member of ``kind`` a code on the wire names; None for one this version does
    not know (from another version, or made up)."""
    try:
        return kind(code)
    except ValueError:
        return None


_ID = re.compile(r"-?[0-9]{1,18}")


def as_int(text: str) -> int | None:
    """An id or count in button data or a command's arguments: ASCII digits only.

    ``str.isdigit`` is true for "²" and "፩", which ``int`` refuses with a ValueError,
    and for any length: a forged button must not raise, and an id SQLite cannot hold
    (19 digits and more) is none of ours.
    """
    return int(text) if _ID.fullmatch(text) else None
