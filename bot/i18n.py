"""Languages of the interface: gettext catalogs, locale choice, Babel formatting.

Catalogs are read from the ``.po`` files at start (no compile step, so a fresh
``pip install .`` has them), and a missing or empty catalog stops the bot at
start: Babel would otherwise fall back to English silently, and a Uyghur
reader would meet a wall of text they cannot read.

Language codes inside the bot are the short codes flows use (``zh``, ``en``,
``ug``). Telegram's ``language_code`` is mapped to them by ``resolve``.
"""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

from bot.i18n_marks import N_

# code -> (catalog directory under locales/, Babel locale for formatting, name in itself)
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "zh": ("zh_Hans", "zh_Hans_CN", "中文"),
    "en": ("en", "en", "English"),
    "ug": ("ug", "ug_CN", "ئۇيغۇرچە"),
}
DEFAULT_LANG = "zh"
SOURCE_LANG = "en"  # msgids are English

# Telegram language_code (lower case, BCP 47 as the client sends it) -> our code.
_ALIASES = {
    "zh": "zh",
    "zh-hans": "zh",
    "zh-cn": "zh",
    "zh-sg": "zh",
    "zh-hant": "zh",  # no Traditional catalog yet: Simplified reads better than English
    "zh-tw": "zh",
    "zh-hk": "zh",
    "en": "en",
    "ug": "ug",
    "ug-cn": "ug",
    "ug-arab": "ug",
}

LRM = "\u200e"

__all__ = ["DEFAULT_LANG", "LANGUAGES", "N_", "CatalogError", "I18n", "Tr", "resolve"]


class CatalogError(RuntimeError):
    """A catalog is missing or unusable; raised at start, never at render time."""


def resolve(language_code: str | None) -> str | None:
    """Our language for a Telegram language_code, or None if we have none for it."""
    if not language_code:
        return None
    code = language_code.strip().lower().replace("_", "-")
    if code in _ALIASES:
        return _ALIASES[code]
    base = code.split("-")[0]
    if base in _ALIASES:
        return _ALIASES[base]
    return None


@dataclass(frozen=True)
class Tr:
    """Everything needed to speak to one reader: their catalog and their locale."""

    lang: str
    translations: gettext.NullTranslations
    locale: Locale

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    @cached_property
    def rtl(self) -> bool:
        # Kept (in the instance's own dict, which a frozen dataclass allows): Babel looks it
        # up in the locale's data each time, and ``ltr`` asks on every number and reference.
        return self.locale.character_order == "right-to-left"

    def ltr(self, text: str) -> str:
        """Keep a reference, number or phone readable inside right-to-left text."""
        return f"{LRM}{text}{LRM}" if self.rtl else text

    def number(self, value: int | float | Decimal) -> str:
        return self.ltr(format_decimal(value, locale=self.locale))

    def money(self, amount: int | float | Decimal) -> str:
        """A yuan amount in the reader's form: ¥3,000.00 / CN¥3,000.00."""
        return self.ltr(format_currency(Decimal(str(amount)), "CNY", locale=self.locale))

    def date(self, value: dt.date | str) -> str:
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return self.ltr(format_date(value, format="medium", locale=self.locale))

    def datetime(self, value: dt.datetime | str) -> str:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return self.ltr(format_datetime(value, format="short", locale=self.locale))


def locales_dir() -> Traversable:
    """The catalogs: package data when installed, ``locales/`` in a source checkout."""
    try:
        return files("bot.locales")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "locales"


def _load_catalog(directory: str) -> Translations:
    resource = locales_dir() / directory / "LC_MESSAGES" / "messages.po"
    try:
        data = resource.read_bytes()
    except (FileNotFoundError, OSError):
        raise CatalogError(
            f"catalog missing: locales/{directory}/LC_MESSAGES/messages.po"
        ) from None
    catalog = read_po(BytesIO(data), locale=directory)
    translated = sum(1 for m in catalog if m.id and m.string and not m.fuzzy)
    if translated == 0:
        raise CatalogError(f"catalog locales/{directory} has no translated messages")
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


class I18n:
    """All catalogs, loaded once at start."""

    def __init__(self, catalogs: dict[str, gettext.NullTranslations]) -> None:
        self._by_lang = {
            lang: Tr(lang, catalogs[lang], Locale.parse(LANGUAGES[lang][1])) for lang in catalogs
        }
        for tr in self._by_lang.values():
            # Babel reads a locale's data from disk when it is first used: now, not while
            # the first applicant after a start waits (and before start-up's objects are
            # frozen out of garbage collection, telegram_channel.app.settle_memory).
            _ = tr.rtl

    @classmethod
    def load(cls, languages: tuple[str, ...] = tuple(LANGUAGES)) -> I18n:
        return cls({lang: _load_catalog(LANGUAGES[lang][0]) for lang in languages})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._by_lang)

    def tr(self, lang: str | None) -> Tr:
        return self._by_lang.get(lang or DEFAULT_LANG) or self._by_lang[DEFAULT_LANG]

    def pick(self, chosen: str | None, telegram_code: str | None) -> str:
        """The reader's language: their own choice, else Telegram's, else the default."""
        if chosen in self._by_lang:
            return chosen
        resolved = resolve(telegram_code)
        return resolved if resolved in self._by_lang else DEFAULT_LANG


def language_name(lang: str) -> str:
    return LANGUAGES[lang][2]


# Names of statuses as people read them; translated where shown.
STATUS_NAMES = {
    "draft": N_("not sent yet"),
    "submitted": N_("received, waiting for review"),
    "in_review": N_("being reviewed"),
    "awaiting_applicant": N_("waiting for your answer"),
    "approved": N_("approved"),
    "declined": N_("not approved"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("closed: not finished in time"),
}
