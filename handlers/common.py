"""Pieces every audience's handlers share: keyboards, sending with retries.

Button data is built and read in telegram_channel/buttons.py.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    ForceReply,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.i18n import I18n, Tr
from bot.store import Store
from telegram_channel.transport import AnswerLost, call, message_id_of, ok_of

log = logging.getLogger(__name__)


class Button(NamedTuple):
    """An inline button of ours: a label and callback data, nothing else."""

    text: str
    callback_data: str


class Keyboard:
    """Inline buttons, kept as the Bot API's JSON will carry them.

    PTB's InlineKeyboardButton and InlineKeyboardMarkup check and freeze every one of
    their attributes: about 12 µs for each button built and as much again to turn it
    into JSON, with four or five buttons under every question (bench/run.py).
    """

    __slots__ = ("inline_keyboard",)

    def __init__(self, rows: Sequence[Sequence[Button]]) -> None:
        self.inline_keyboard: list[list[Button]] = [list(row) for row in rows]

    def to_json(self) -> dict[str, object]:
        return {
            "inline_keyboard": [
                [{"text": b.text, "callback_data": b.callback_data} for b in row]
                for row in self.inline_keyboard
            ]
        }

    def pairs(self) -> list[list[tuple[str, str]]]:
        return [[(b.text, b.callback_data) for b in row] for row in self.inline_keyboard]


Markup = Keyboard | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None
SEND_ATTEMPTS = 4

T = TypeVar("T")


async def beside(side: Awaitable[Any], main: Awaitable[T]) -> T:
    """Await ``main`` while ``side`` runs alongside it; both have finished on return.

    A tap on a button is answered with up to three Bot API calls: acknowledge the
    tap, show the answer on the question it closed, ask the next question. One
    after the other, the applicant waits three round trips to Telegram for the
    next question (about 110 ms more at 50 ms each, measured with bench/
    --api-delay); side by side, one. ``side`` must handle its own errors (the
    acknowledgement and the edits here log and carry on).
    """
    task = asyncio.ensure_future(side)
    try:
        return await main
    finally:
        await task


async def reader(store: Store, i18n: I18n, user: User) -> Tr:
    """How to speak to this Telegram user: their chosen language, else Telegram's."""
    chosen = await store.users.language(user.id)
    return i18n.tr(i18n.pick(chosen, user.language_code))


def button(label: str, data: str) -> Button:
    return Button(label, data)


def rows(buttons: Sequence[Button], per_row: int = 1) -> list[list[Button]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


Fallback = Callable[[int, str, Markup], Awaitable[None]]
# Keyed by identity, not by the Bot itself: PTB's Bot.__hash__ changes once the bot has
# called getMe (initialize), so a Bot-keyed mapping filled at build time misses later.
_fallbacks: dict[int, tuple[weakref.ref[Bot], Fallback]] = {}


def on_send_failure(bot: Bot, fallback: Fallback) -> None:
    """Where a reply goes when Telegram cannot be reached for a while: the outbox,
    whose sender keeps trying, so an outage delays a reply and loses none."""
    key = id(bot)
    _fallbacks[key] = (weakref.ref(bot, lambda _ref: _fallbacks.pop(key, None)), fallback)


def _fallback_for(bot: Bot) -> Fallback | None:
    entry = _fallbacks.get(id(bot))
    if entry is None or entry[0]() is not bot:
        return None
    return entry[1]


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
    was handed to the outbox after the retries here failed.
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
        fallback = _fallback_for(bot)
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
        params["reply_markup"] = _plain(markup)
    return params


def _plain(markup: Markup) -> object:
    """Our keyboards as JSON; PTB's markups (reply keyboards, forced replies) are turned
    into JSON by the transport, as PTB would."""
    return markup.to_json() if isinstance(markup, Keyboard) else markup


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


async def acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button tap (Telegram shows a spinner on the button until then), with a
    short notice when ``text`` is given. Only ever beside the real reply: a failure is
    logged and the reply goes on."""
    params: dict[str, object] = {"callback_query_id": query.id}
    if text:
        params["text"] = text
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
        params["reply_markup"] = _plain(markup)
    try:
        await call(message.get_bot(), "editMessageReplyMarkup", params, answer=ok_of)
    except BadRequest:
        pass  # unchanged, too old, or deleted: the buttons are checked on tap anyway
    except (TimedOut, NetworkError):
        log.info("could not edit buttons of an old message")


async def edit_text(message: Message | None, text: str, markup: Keyboard | None) -> None:
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
