"""Files applicants send, fetched from Telegram into our store (bot/evidence.py).

``fetcher`` is the channel's half of keeping a file: Telegram's getFile, then the download
from its file URL. Telegram's Bot API serves files up to 20 MB to a bot; the interview
refuses larger ones before they get here (bot/flow/engine.py, ``file_refusal``).
``retry_downloads`` is the background job that tries again the downloads that failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram import Bot
from telegram.error import BadRequest

from bot.evidence import Fetch, Unfetchable

log = logging.getLogger(__name__)

DOWNLOADS_EVERY = 30  # seconds between tries of the downloads that failed


def seconds(duration: Any) -> int | None:
    """A voice note's length in whole seconds (python-telegram-bot gives a timedelta or an
    int, depending on its version)."""
    if isinstance(duration, dt.timedelta):
        return int(duration.total_seconds())
    if isinstance(duration, int):
        return duration
    return None


def fetcher(bot: Bot) -> Fetch:
    """Telegram's getFile and the download. A 400 (the file is too big for a bot, or its
    id is no longer valid) will not change: ``Unfetchable``; anything else is tried again."""

    async def fetch(file_id: str) -> bytes:
        try:
            file = await bot.get_file(file_id)
        except BadRequest as exc:
            raise Unfetchable(_reason(exc)) from None
        return bytes(await file.download_as_bytearray())

    return fetch


def _reason(exc: BadRequest) -> str:
    """Why Telegram refused a file, in words that name no file."""
    return "too big for a bot" if "too big" in str(exc).lower() else "refused by Telegram"


async def retry_downloads(context: Any) -> None:
    services = context.application.bot_data["services"]
    try:
        done = await services.casework.evidence.retry_due(fetcher(context.bot))
    except Exception:
        log.exception("retrying file downloads failed")
        return
    if done:
        log.info("%d files downloaded on a later try", done)
    try:  # voice notes not heard yet (a transcriber set, the bot stopped before)
        await services.casework.evidence.transcribe_due()
    except Exception:
        log.exception("transcribing voice notes failed")
