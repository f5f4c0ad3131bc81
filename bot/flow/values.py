"""Reading what people type: numbers, dates, phone and ID numbers as they write them.

A rural applicant on a phone keyboard writes "３人", "两", "2024年3月5日" or
"138 1234 5678"; refusing those would be refusing the person, so this module
accepts the usual forms and normalises them. Each parser returns None for text
it cannot read, and the engine turns that into a refusal.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
# Units people add after a number ("3人", "四口人", "两个人", "5000元", "5000 yuan");
# dropped from the end before reading, in lower case.
_UNITS = (
    *("人", "口", "个", "個", "位", "岁", "歲", "元", "块", "塊", "块钱", "元钱"),
    *("yuan", "rmb", "people", "person", "persons", "year", "years", "kishi", "yüen"),
    *("ئادەم", "نەپەر", "كىشى", "يۈەن", "ياش"),
)
# By their last letter, longest first (块钱 before 块): most answers end in a digit, and
# are let through with one dictionary lookup.
_UNITS_BY_LAST: dict[str, tuple[str, ...]] = {
    last: tuple(sorted((u for u in _UNITS if u[-1] == last), key=len, reverse=True))
    for last in {u[-1] for u in _UNITS}
}
# Typed numbers, dates and phone numbers are short; anything longer is none of them, and
# is refused before any work that grows with its length (a 4096-character message of
# spaces cost a backtracking regex seconds, with every other applicant waiting).
MAX_VALUE_CHARS = 100
# A decimal digit (Unicode category Nd, in a str pattern) other than 0-9.
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")

# Bidirectional formatting characters: embeddings and overrides, isolates, the marks and
# the Arabic letter mark. Typed into a name they reorder what a caseworker reads after
# it (U+202E before "Ali" shows it backwards, and turns the rest of the line); the bot adds
# its own marks around references and numbers when it writes (``Tr.ltr``), never inside
# people's text.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_NO_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS))
# Characters that show nothing although they are not formatting or spaces: Hangul fillers,
# the Braille blank, the combining grapheme joiner, variation selectors, the Khmer and
# Mongolian inherent vowels and selectors (Unicode's Default_Ignorable_Code_Point, less
# what the categories below already hold). A "name" made of them is an empty answer.
_BLANK = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"})
_ASCII_INVISIBLE = "".join(map(chr, range(0x21))) + "\x7f"


def _invisible(ch: str) -> bool:
    return (
        ch in _BLANK
        or unicodedata.category(ch) in _INVISIBLE_CATEGORIES
        or "\U000e0100" <= ch <= "\U000e01ef"  # variation selectors supplement
    )


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional formatting characters; people's text only (the
    bot's own LRM marks are added after it)."""
    return text if text.isascii() else text.translate(_NO_BIDI)


def clean_text(text: str) -> str:
    """Free text as it is kept and shown: bidi controls removed, invisible characters
    (spaces, zero-width and other formatting characters, fillers) trimmed from both
    ends. Empty when nothing visible was typed, which callers refuse like no answer.

    Invisible characters inside the text stay: a zero-width joiner holds an emoji or a
    word of some scripts together. Linear in the length of ``text``.
    """
    if text.isascii():
        return text.strip(_ASCII_INVISIBLE)
    s = text.translate(_NO_BIDI)
    start, end = 0, len(s)
    while start < end and _invisible(s[start]):
        start += 1
    while end > start and _invisible(s[end - 1]):
        end -= 1
    return s[start:end]


def _ascii_digit(m: re.Match[str]) -> str:
    return str(unicodedata.decimal(m.group()))


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), decimal digits of every script (Arabic-Indic,
    Devanagari, Thai...) to ASCII, bidi controls and invisible ends dropped.

    Characters that look like digits but are not decimal digits (Ethiopic ፩, Roman
    numerals) stay as they are, so the parsers below refuse them instead of guessing;
    NFKC has already read superscripts and circled digits as the digits they show.
    """
    s = clean_text(unicodedata.normalize("NFKC", text))
    return s if s.isascii() else _OTHER_DIGIT.sub(_ascii_digit, s)


def _short(text: str) -> str | None:
    """``text`` normalised, or None when it is too long to be a number, date or phone."""
    if len(text) > MAX_VALUE_CHARS * 4:
        return None  # not even looked at: NFKC alone would take time on a megabyte
    s = normalise(text)
    return s if len(s) <= MAX_VALUE_CHARS else None


def _drop_units(s: str) -> str:
    """``s`` without the unit words at its end ("3 个人" -> "3").

    A loop, not a regex: each turn removes at least one character of a string already
    cut to MAX_VALUE_CHARS, so the work is bounded whatever was typed.
    """
    s = s.rstrip()
    while s:
        for unit in _UNITS_BY_LAST.get(s[-1].lower(), ()):
            if s[-len(unit) :].lower() == unit:
                s = s[: -len(unit)].rstrip()
                break
        else:
            break
    return s


def _chinese_number(text: str) -> int | None:
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            if digit:  # 三四 is "three or four", not a number to guess from
                return None
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            if unit == 10000:
                # 五百万 is 500 ten-thousands, 一万万 ten thousand of them; 万五 one and a half.
                total = ((total + section + (digit or 0)) or 1) * unit
                section, digit = 0, None
            else:
                # A unit with no digit before it counts once: 十五, and 一千零十 (1010).
                section += (digit or 1) * unit
                digit = None
    if digit and len(text) >= 2 and _CN_UNITS.get(text[-2], 0) >= 100:
        # A digit right after 百/千/万 counts in the next unit down, as people say it:
        # 两千五 is 2500, 一万五 is 15000 (2005 is written 两千零五).
        digit *= _CN_UNITS[text[-2]] // 10
    return total + section + (digit or 0)


def parse_number(text: str) -> Decimal | None:
    """A number as typed: '12', '1,200', '3.5', '３', '٣', '两', '五千', '3000元'."""
    short = _short(text)
    if short is None:
        return None
    s = _drop_units(short).replace(",", "").replace(" ", "")
    if not s:
        return None
    cn = _chinese_number(s)
    if cn is not None:
        return Decimal(cn)
    if not _DECIMAL.fullmatch(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def parse_index(text: str, count: int) -> int | None:
    """A position from 1 to ``count`` typed as a number ("2", "٢"), zero-based; else None."""
    s = normalise(text) if len(text) <= MAX_VALUE_CHARS else ""
    if not (s.isascii() and s.isdigit()) or len(s) > 6:
        return None
    n = int(s)
    return n - 1 if 1 <= n <= count else None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号號]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


def parse_date(text: str) -> dt.date | None:
    """YYYY-MM-DD and the usual local forms: 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, 5.3.2024."""
    s = _short(text)
    if s is None:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            break
    else:
        m = _DMY.match(s)
        if not m:
            return None
        d, mo, y = (int(g) for g in m.groups())
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


def parse_phone(text: str) -> str | None:
    """A phone number, normalised: Chinese mobiles as 11 digits, others with their prefix.

    Accepts spaces, dashes and brackets, +86/0086 before a mobile number, a
    landline with its area code (0xx-xxxxxxxx), and international numbers.
    """
    s = _short(text)
    if s is None or not re.fullmatch(r"[+\d\s()\-.]{5,25}", s):
        return None
    plus = s.startswith("+")
    digits = re.sub(r"\D", "", s)
    if digits.startswith("00"):
        digits, plus = digits[2:], True
    if not plus and len(digits) == 13 and digits.startswith("861"):
        digits, plus = digits[2:], False
    elif plus and digits.startswith("86"):
        digits, plus = digits[2:], False
        if not digits.startswith("1") or len(digits) != 11:
            digits = "0" + digits  # a landline written with +86 drops its leading 0
    if not plus and len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return digits
    if not plus and digits.startswith("0") and 10 <= len(digits) <= 12:
        return digits  # landline with area code
    if plus and 8 <= len(digits) <= 15:
        return "+" + digits
    return None


# GB 11643-1999, the citizen identity number: 17 digits and a check character computed
# from them (ISO 7064 MOD 11-2), X standing for 10.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def parse_id_number(text: str) -> tuple[str | None, str | None]:
    """A resident ID number as (normalised number, None), or (None, why not):
    ``"shape"`` when it is not 17 digits and a digit or X, ``"check"`` when its last
    character does not fit the others (a digit mistyped or two swapped).

    Spaces, dashes, full-width digits and a small x are read as people type them.
    """
    s = _short(text)
    if s is None:
        return None, "shape"
    s = re.sub(r"[\s\-]", "", s).upper()
    if not _ID_SHAPE.fullmatch(s):
        return None, "shape"
    total = sum(int(d) * w for d, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != s[17]:
        return None, "check"
    return s, None


def mask(value: str) -> str:
    """Hide the middle of a sensitive value, keeping enough to recognise it."""
    if len(value) <= 4:
        return "•" * len(value)
    keep = 3 if len(value) >= 10 else 1
    return value[:keep] + "•" * (len(value) - keep - 2) + value[-2:]
