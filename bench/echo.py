"""The ceiling of the plumbing: a bare echo bot on the same python-telegram-bot machinery.

One handler for messages and one for button taps, each answering with exactly one
sendMessage; nothing stored, nothing rendered. ``bench/botproc.py`` gives it the intake bot's
plumbing: the same concurrency (256 updates at once), the same Bot API request class and pool
size as ``telegram_channel.app`` builds, and the same long polling, so the difference between the two is
the intake bot's own work: reading and writing SQLite, running the interview, rendering
questions, and the extra calls a button needs (answerCallbackQuery, the edit that shows the
answer).
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    await context.bot.send_message(update.effective_chat.id, message.text or "…")


async def echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    await context.bot.send_message(update.effective_chat.id, query.data or "…")


def build_echo(
    token: str,
    base_url: str,
    *,
    concurrency: int = 256,
    customise: Callable[[ApplicationBuilder], ApplicationBuilder] | None = None,
) -> Application:
    builder = ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(concurrency)
    if customise is not None:
        builder = customise(builder)  # the intake bot's request class (bench/botproc.py)
    app = builder.build()
    app.add_handler(MessageHandler(filters.ALL, echo_message))
    app.add_handler(CallbackQueryHandler(echo_button))
    return app
