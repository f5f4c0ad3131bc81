"""The language picker's buttons: ``l:{language}:{1 to start an application after}``.

The language is checked against the ones the bot has (``bot.people``) when the tap
arrives; a forged one changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram_channel.buttons.codec import Board, pack, pattern, unpack

PATTERN = pattern(Board.LANGUAGE)


@dataclass(frozen=True)
class LanguageTap:
    lang: str
    then_start: bool  # the picker was shown before a first application


def language_data(lang: str, *, then_start: bool) -> str:
    return pack(Board.LANGUAGE, lang, int(then_start))


def read_language(data: str | None) -> LanguageTap | None:
    """The tap in ``data``; None when it is malformed or not a language button."""
    parts = unpack(data, Board.LANGUAGE, 3)
    if parts is None:
        return None
    return LanguageTap(parts[0], parts[1] == "1")
