"""Reading what people type: numbers, dates and phone numbers as they write them.

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
# dropped before reading.
_SUFFIXES = re.compile(
    r"\s*(?:人|口|个|個|位|岁|歲|元|块|塊|块钱|元钱|yuan|rmb|people|persons?|years?|kishi|yüen|"
    r"ئادەم|نەپەر|كىشى|يۈەن|ياش)+\s*$",
    re.IGNORECASE,
)
_ARABIC_INDIC = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def normalise(text: str) -> str:
    """Full-width to half-width, Arabic-Indic digits to ASCII, trimmed."""
    return unicodedata.normalize("NFKC", text).translate(_ARABIC_INDIC).strip()


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
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
    if digit and len(text) >= 2 and _CN_UNITS.get(text[-2], 0) >= 100:
        # A digit right after 百/千/万 counts in the next unit down, as people say it:
        # 两千五 is 2500, 一万五 is 15000 (2005 is written 两千零五).
        digit *= _CN_UNITS[text[-2]] // 10
    return total + section + (digit or 0)


def parse_number(text: str) -> Decimal | None:
    """A number as typed: '12', '1,200', '3.5', '３', '两', '五千', '3000元'."""
    s = _SUFFIXES.sub("", normalise(text)).replace(",", "").replace("，", "").replace(" ", "")
    if not s:
        return None
    cn = _chinese_number(s)
    if cn is not None:
        return Decimal(cn)
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号號]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")


def parse_date(text: str) -> dt.date | None:
    """YYYY-MM-DD and the usual local forms: 2024/3/5, 2024.3.5, 2024年3月5日, 20240305, 5.3.2024."""
    s = normalise(text)
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
    s = normalise(text)
    if not re.fullmatch(r"[+\d\s()\-.]{5,25}", s):
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


def mask(value: str) -> str:
    """Hide the middle of a sensitive value, keeping enough to recognise it."""
    if len(value) <= 4:
        return "•" * len(value)
    keep = 3 if len(value) >= 10 else 1
    return value[:keep] + "•" * (len(value) - keep - 2) + value[-2:]
