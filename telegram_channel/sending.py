"""Sending, editing and acknowledging: retried while Telegram cannot have shown the message.

Never repeated once it may have: a call whose answer was lost counts as done.

Every call goes through ``telegram_channel.transport.call``, on whichever Bot API client the
bot runs (telegram_channel/client.py), through its rate limiter. A reply that cannot get
through after the retries here goes to the bot's ``reply_fallback`` (the outbox, set when
the Application is built: telegram_channel/app.py), whose sender keeps trying.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from telegram import Bot, CallbackQuery, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from telegram_channel.intake_bot import IntakeBot
from telegram_channel.keyboards import Keyboard, Markup, markup_json
from telegram_channel.transport import AnswerLost, call, message_id_of, ok_of

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4

T = TypeVar("T")


async def beside(side: Awaitable[Any], main: Awaitable[T]) -> T:
    """Await ``main`` while ``side`` runs alongside it; both have finished on return.

    A tap on a button is answered with up to three Bot API calls: acknowledge the
    tap, show the answer on the question it closed, ask the next question. One
    after the other, the applicant waits three round trips to Telegram for the
    next question; side by side, one. ``side`` must handle its own errors (the
    acknowledgement and the edits here log and carry on).
    """
    task = asyncio.ensure_future(side)
    try:
        return await main
    finally:
        await task


async def send(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: Markup = None,
    *,
    parse_mode: str | None = ParseMode.HTML,
) -> int | None:
    """Send a message, retrying network errors and Telegram's flood waits.

    Retried only while Telegram cannot have shown it: no connection, or an error the Bot
    API answered (429, 5xx). Once the request went out and its answer was lost
    (``AnswerLost``) Telegram may have shown it, and the Bot API cannot be asked: the
    message counts as sent, neither repeated nor queued, so the person never gets it twice.

    Returns the new message's id; None when the chat cannot be reached at all
    (blocked, deleted), when the answer that carried its id was lost, or when the message
    was handed to the bot's ``reply_fallback`` after the retries here failed.
    """
    try:
        return await _send(bot, chat_id, text, markup, parse_mode)
    except AnswerLost as exc:
        log.warning(
            "a reply went out but its answer was lost (%s); not sent again", type(exc).__name__
        )
        return None
    except (TimedOut, NetworkError) as exc:
        if isinstance(exc, BadRequest | Forbidden):
            raise
        fallback = bot.reply_fallback if isinstance(bot, IntakeBot) else None
        if fallback is None:
            raise
        log.warning("reply deferred to the outbox after %s", type(exc).__name__)
        await fallback(chat_id, text, markup)
        return None


_NO_PREVIEW = {"is_disabled": True}


def message_params(
    text: str, markup: Markup, parse_mode: str | None, **where: int
) -> dict[str, object]:
    params: dict[str, object] = {**where, "text": text, "link_preview_options": _NO_PREVIEW}
    if parse_mode is not None:
        params["parse_mode"] = parse_mode
    if markup is not None:
        params["reply_markup"] = markup_json(markup)
    return params


async def _send(
    bot: Bot, chat_id: int, text: str, markup: Markup, parse_mode: str | None
) -> int | None:
    delay = 0.5
    params = message_params(text, markup, parse_mode, chat_id=chat_id)
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            sent = await call(bot, "sendMessage", params, answer=message_id_of)
            return sent.get("message_id") if isinstance(sent, dict) else None
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            await asyncio.sleep(min(seconds, 60))
        except Forbidden:
            log.warning("chat unreachable (blocked or deleted)")
            return None
        except (BadRequest, AnswerLost):
            raise
        except (TimedOut, NetworkError):
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise NetworkError("sending failed after retries")


async def acknowledge(
    query: CallbackQuery, text: str | None = None, *, alert: bool = False
) -> None:
    """Answer a button tap (Telegram shows a spinner on the button until then), with a
    short notice when ``text`` is given (in a box to close, when ``alert``: shown to the
    one who tapped only, and kept nowhere in the chat). Only ever beside the real reply:
    a failure is logged and the reply goes on."""
    params: dict[str, object] = {"callback_query_id": query.id}
    if text:
        params["text"] = text
        if alert:
            params["show_alert"] = True
    try:
        await call(query.get_bot(), "answerCallbackQuery", params, answer=ok_of)
    except Exception as exc:
        log.info("could not acknowledge a button tap (%s)", type(exc).__name__)


async def edit_markup(message: Message | None, markup: Keyboard | None) -> None:
    """Change or remove a message's buttons; a message that cannot be edited is left alone."""
    if message is None:
        return
    params: dict[str, object] = {"chat_id": message.chat_id, "message_id": message.message_id}
    if markup is not None:
        params["reply_markup"] = markup_json(markup)
    try:
        await call(message.get_bot(), "editMessageReplyMarkup", params, answer=ok_of)
    except BadRequest:
        pass  # unchanged, too old, or deleted: the buttons are checked on tap anyway
    except (TimedOut, NetworkError):
        log.info("could not edit buttons of an old message")


async def edit_text(message: Message | None, text: str, markup: Keyboard | None) -> None:
    """Change a message's text (and buttons); one that cannot be edited is left alone."""
    if message is None:
        return
    params = message_params(
        text, markup, ParseMode.HTML, chat_id=message.chat_id, message_id=message.message_id
    )
    try:
        await call(message.get_bot(), "editMessageText", params, answer=ok_of)
    except BadRequest:
        pass
    except (TimedOut, NetworkError):
        log.info("could not edit an old message")
