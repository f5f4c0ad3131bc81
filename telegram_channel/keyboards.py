"""Inline keyboards as the Bot API carries them, and the markups a message may have.

PTB's ``InlineKeyboardButton`` and ``InlineKeyboardMarkup`` check and freeze every one of
their attributes, and are turned back into JSON on the way out; with four or five buttons
under every question, building and encoding them was a visible part of each answer's CPU
(bench/README.md, "Why the code is shaped this way"). Our buttons are a label and callback
data, kept as the JSON they become. What the button data say is built and read in
telegram_channel/buttons.py, which also checks that they fit Telegram's 64 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from telegram import ForceReply, ReplyKeyboardMarkup, ReplyKeyboardRemove


class Button(NamedTuple):
    """An inline button of ours: a label and callback data, nothing else."""

    text: str
    callback_data: str


class Keyboard:
    """Inline buttons, kept as the Bot API's JSON will carry them."""

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


def button(label: str, data: str) -> Button:
    return Button(label, data)


def rows(buttons: Sequence[Button], per_row: int = 1) -> list[list[Button]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def markup_json(markup: Markup) -> object:
    """A message's ``reply_markup`` parameter: our keyboards as their JSON; PTB's markups
    (reply keyboards, forced replies) as they are, for the transport to turn into JSON as
    PTB would."""
    return markup.to_json() if isinstance(markup, Keyboard) else markup
