"""Button data, built and read here only: named taps in, short strings out, and back.

Telegram carries at most 64 bytes of callback data and any client can forge it, so a
button carries a short code and numbers only (``c:cl:12:0``: claim intake 12), never a
value to trust: the core re-reads the record and the actor's role from the database when
a tap arrives. The codes are the ones earlier versions wrote, so buttons already sitting
in chats and in the outbox go on working; code names them (``Tap.CLAIM``), never spells them.

Staff buttons are ``<prefix>:<code>:<id>:<arg>``: the caseworker's (``c``) on an intake
or a queue page, the partner's (``p``) on a referral; ``arg`` is what a pick carries (a
reason's index, a liaison's id), 0 otherwise. The applicant's buttons (``a``, ``r``,
``x``, ``d``, ``l``) and the admin's (``f``) are laid out by their handlers with ``pack``
and read with ``unpack`` and ``as_int`` below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from bot.casework.actions import Action, Step

MAX_CALLBACK_BYTES = 64

CASEWORKER = "c"
PARTNER = "p"


class Tap(Enum):
    """Every staff button: (prefix, code on the wire, the core's action, its step).
    Taps without an action are the channel's own: paging the queue, opening a card."""

    # the caseworker's, on an intake (QUEUE and MINE: on a page of the queue)
    QUEUE = (CASEWORKER, "q", None, None)
    MINE = (CASEWORKER, "m", None, None)
    OPEN = (CASEWORKER, "o", None, None)
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
    NOTE = (CASEWORKER, "nt", Action.NOTE, Step.START)
    REFER = (CASEWORKER, "rf", Action.REFER, Step.START)
    REFER_TO = (CASEWORKER, "rp", Action.REFER, Step.PICK)  # arg: the liaison's user id
    ERASE = (CASEWORKER, "er", Action.ERASE, Step.START)
    REFUSE_DELETION = (CASEWORKER, "en", Action.REFUSE_DELETION, Step.START)
    SHOW_ATTACHMENTS = (CASEWORKER, "at", Action.SHOW_ATTACHMENTS, Step.START)
    # the partner's, on a referral
    ACKNOWLEDGE = (PARTNER, "a", Action.ACKNOWLEDGE, Step.START)
    REPORT_DONE = (PARTNER, "d", Action.REPORT_DONE, Step.START)
    DONE_WITH = (PARTNER, "o", Action.REPORT_DONE, Step.PICK)  # arg: the outcome's index
    DONE_IN_WORDS = (PARTNER, "t", Action.REPORT_DONE, Step.OWN_WORDS)
    RETURN = (PARTNER, "r", Action.RETURN, Step.START)

    def __init__(self, prefix: str, code: str, action: Action | None, step: Step | None) -> None:
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

    prefix: str
    tap: Tap | None
    target: int  # the intake, the referral, or the queue page
    arg: int


def encode(tap: Tap, target: int, arg: int = 0) -> str:
    """The callback data of ``tap`` on ``target``; ValueError if Telegram would refuse it."""
    return fits(f"{tap.prefix}:{tap.code}:{int(target)}:{int(arg)}")


def decode(data: str | None) -> Pressed | None:
    """A staff button's data read back; None when it is not one, or malformed (never
    raises, whatever a client sent)."""
    parts = unpack(data, data[:1] if data else "", 4)
    if parts is None or data is None or data[:1] not in (CASEWORKER, PARTNER):
        return None
    target, arg = as_int(parts[1]), as_int(parts[2])
    if target is None or arg is None:
        return None
    prefix = data[:1]
    return Pressed(prefix, _BY_CODE.get((prefix, parts[0])), target, arg)


def codes(prefix: str) -> frozenset[str]:
    """Every code ``decode`` knows under ``prefix`` (for the tests' authorization matrix)."""
    return frozenset(t.code for t in Tap if t.prefix == prefix)


# --- the lower layer: any prefix ---------------------------------------------------------


def pack(*parts: str | int) -> str:
    return fits(":".join([str(p) for p in parts]))  # a list: join makes one anyway


def fits(data: str) -> str:
    """``data`` if Telegram takes it as a button's callback data, else ValueError."""
    if len(data) > MAX_CALLBACK_BYTES // 4 and len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError("callback data over 64 bytes")
    return data


def unpack(data: str | None, prefix: str, size: int) -> list[str] | None:
    """Split ``prefix:a:b`` into its parts, or None when it is not ours or malformed."""
    if not data or len(data) > MAX_CALLBACK_BYTES:
        return None
    parts = data.split(":", size)
    if parts[0] != prefix or len(parts) != size:
        return None
    return parts[1:]


_ID = re.compile(r"-?[0-9]{1,18}")


def as_int(text: str) -> int | None:
    """An id or count in button data or a command's arguments: ASCII digits only.

    ``str.isdigit`` is true for "²" and "፩", which ``int`` refuses with a ValueError,
    and for any length: a forged button must not raise, and an id SQLite cannot hold
    (19 digits and more) is none of ours.
    """
    return int(text) if _ID.fullmatch(text) else None
