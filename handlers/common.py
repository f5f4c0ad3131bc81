"""What every audience's handlers share: whom they speak to, and button data.

Sending, editing, acknowledging and keyboards are the Telegram channel's
(telegram_channel/sending.py, telegram_channel/keyboards.py).

Callback data is at most 64 bytes and any client can forge it, so it carries
only short opaque ids (``prefix:id:...`` with numbers), never a value to
trust: every handler re-reads the intake and the actor's role from the
database when a button arrives.
"""

from __future__ import annotations

import re

from telegram import User

from bot.i18n import I18n, Tr
from bot.store import Store

MAX_CALLBACK_BYTES = 64


async def reader(store: Store, i18n: I18n, user: User) -> Tr:
    """How to speak to this Telegram user: their chosen language, else Telegram's."""
    chosen = await store.users.language(user.id)
    return i18n.tr(i18n.pick(chosen, user.language_code))


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
