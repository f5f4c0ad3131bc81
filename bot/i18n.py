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
from collections.abc import Iterable
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
from babel.units import format_unit

from bot.config import Settings
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

# How items of a list are joined, per language: the usual separator, and the stronger one
# used when an item already holds the usual one ("村干部、帮扶干部" among other labels would
# otherwise read as two items). Babel's list patterns give Uyghur the Latin comma.
_LIST_SEPARATORS = {
    "zh": ("、", "；"),
    "ug": ("، ", "؛ "),
    "en": (", ", "; "),
}
# Languages whose sentences follow one another without a space ("。这个", not "。 这个").
_NO_SPACE_BETWEEN_SENTENCES = frozenset({"zh"})
# Languages whose writers give counts inside a sentence without thousands separators
# ("最多5000个字", not "5,000个字"); figures standing alone keep Babel's form.
_UNGROUPED_COUNTS = frozenset({"zh"})

__all__ = [
    "DEFAULT_LANG",
    "LANGUAGES",
    "N_",
    "CatalogError",
    "Hotlines",
    "I18n",
    "Tr",
    "join_list",
    "resolve",
]


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


def join_list(lang: str, items: Iterable[str]) -> str:
    """Items joined as a writer of ``lang`` joins them (``lang`` is the items' language)."""
    items = list(items)
    usual, stronger = _LIST_SEPARATORS.get(lang, _LIST_SEPARATORS["en"])
    mark = usual.strip()
    return (stronger if any(mark in item for item in items) else usual).join(items)


@dataclass(frozen=True)
class Hotlines:
    """The phone numbers texts name, from the settings (INTAKE_LEGAL_AID_HOTLINE,
    INTAKE_PROCURATORATE_HOTLINE): filled in when a text is shown, never written into a
    catalog, so a county with its own line changes it in one place and no text drifts."""

    legal_aid: str = "12348"
    procuratorate: str = "12309"

    @classmethod
    def of(cls, settings: Settings) -> Hotlines:
        return cls(settings.legal_aid_hotline, settings.procuratorate_hotline)


DEFAULT_HOTLINES = Hotlines()


@dataclass(frozen=True)
class Tr:
    """Everything needed to speak to one reader: their catalog, their locale, and the
    numbers the texts give them to call."""

    lang: str
    translations: gettext.NullTranslations
    locale: Locale
    hotlines: Hotlines = DEFAULT_HOTLINES

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
        """A figure standing on its own (an answer, a line of statistics), in Babel's form."""
        return self.ltr(format_decimal(value, locale=self.locale))

    def count(self, value: int | float | Decimal) -> str:
        """A number inside a sentence ("at most {max} characters"): Babel's digits, and its
        grouping only where the language's writers group counts in running text."""
        grouped = self.lang not in _UNGROUPED_COUNTS
        return self.ltr(format_decimal(value, locale=self.locale, group_separator=grouped))

    def phone(self, number: str) -> str:
        """A number to dial, kept whole and in reading order."""
        return self.ltr(number)

    def join(self, items: Iterable[str]) -> str:
        """A list in the reader's language (``join_list``)."""
        return join_list(self.lang, items)

    def sentences(self, *parts: str) -> str:
        """Sentences one after another, with a space between them where the language
        puts one."""
        gap = "" if self.lang in _NO_SPACE_BETWEEN_SENTENCES else " "
        return gap.join(p for p in parts if p)

    def labelled(self, label: str, value: str) -> str:
        """``label: value``, with the reader's colon (the catalog decides: "：" in Chinese)."""
        return self.gettext("{label}: {value}").format(label=label, value=value)

    def money(self, amount: int | float | Decimal) -> str:
        """A yuan amount in the reader's form: ¥3,000.00 / CN¥3,000.00."""
        return self.ltr(format_currency(Decimal(str(amount)), "CNY", locale=self.locale))

    def file_size(self, size: int) -> str:
        """A file's size as people read it: "340 kB", "1.2 MB" (Babel's units)."""
        if size >= 1024 * 1024:
            value, unit = round(size / (1024 * 1024), 1), "digital-megabyte"
        else:
            value, unit = max(1, round(size / 1024)), "digital-kilobyte"
        return self.ltr(format_unit(value, unit, length="short", locale=self.locale))

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

    def __init__(
        self, catalogs: dict[str, gettext.NullTranslations], hotlines: Hotlines = DEFAULT_HOTLINES
    ) -> None:
        self.hotlines = hotlines
        self._by_lang = {
            lang: Tr(lang, catalogs[lang], Locale.parse(LANGUAGES[lang][1]), hotlines)
            for lang in catalogs
        }
        for tr in self._by_lang.values():
            # Babel reads a locale's data from disk when it is first used: now, not while
            # the first applicant after a start waits (and before start-up's objects are
            # frozen out of garbage collection, telegram_channel.app.settle_memory).
            _ = tr.rtl

    @classmethod
    def load(
        cls, languages: tuple[str, ...] = tuple(LANGUAGES), *, hotlines: Hotlines = DEFAULT_HOTLINES
    ) -> I18n:
        """Every catalog; ``hotlines`` from the settings (``Hotlines.of``)."""
        return cls({lang: _load_catalog(LANGUAGES[lang][0]) for lang in languages}, hotlines)

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
