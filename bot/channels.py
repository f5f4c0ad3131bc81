"""Which channel a person reaches the bot by, told from their id alone.

Telegram user ids have at most 52 significant bits. People of the web chat get ids from
``WEB_BASE`` up, so one ``users`` table, one ``intakes.applicant_id`` and one outbox serve
both channels and an id can never name a Telegram user and a web applicant at once. The
Telegram sender leaves the outbox rows of web applicants alone; the web chat shows them
on its pages instead.
"""

from __future__ import annotations

TELEGRAM = "telegram"
WEB = "web"

WEB_BASE = 1 << 60


def is_web(user_id: int) -> bool:
    return user_id >= WEB_BASE


def channel_of(user_id: int) -> str:
    return WEB if is_web(user_id) else TELEGRAM
