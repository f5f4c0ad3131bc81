"""What a sent intake can be found by, and what a caseworker's search looks for: names,
phone numbers, their last 4 digits and ID numbers, each in one normal form.

The answers themselves are sealed at rest (bot/crypto.py); the store keeps only a keyed
hash of each normal form here (``Cipher.blind``, the ``lookup`` table), so a caseworker
who types "李大山", "1234" or an ID number finds the intake without the table being read
and opened row by row, and without the database holding any of them in the clear.
Matching is exact on the normal form: a blind index cannot find a part of a name.

Which answers count: a ``phone`` step's (the number, and its last 4 digits), an
``id_number`` step's, and a text step tagged ``name`` (the person the application is
for; docs/flow-format.md). A partner's clue is found by its "who".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.flow.model import Flow
from bot.flow.values import normalise, parse_id_number, parse_phone, strip_bidi

NAME, PHONE, PHONE4, ID = "name", "phone", "phone4", "id"
KINDS = (NAME, PHONE, PHONE4, ID)

Term = tuple[str, str]  # (kind, normal form)

# What people put between the parts of a name, or not: spaces of every width, the
# middle dots of transcribed names (买买提·艾力), dashes, dots, apostrophes, commas.
_BETWEEN = re.compile(r"[\s·•‧・･.\-_'’‘`,，、]+")
_NOT_DIGITS = re.compile(r"\D")
MAX_QUERY = 100  # longer than any name, phone or ID number: not looked at


def normal_name(text: str) -> str:
    """A name as it is compared: full-width as half-width (NFKC), one case, without
    what stands between its parts; "" when nothing is left."""
    if len(text) > MAX_QUERY * 4:
        return ""
    s = unicodedata.normalize("NFKC", strip_bidi(text)).casefold()
    s = _BETWEEN.sub("", s)
    return "".join(ch for ch in s if unicodedata.category(ch)[0] != "C")


def phone_digits(number: str) -> str:
    """A stored phone number (``parse_phone``'s form) as digits only."""
    return _NOT_DIGITS.sub("", number)


def phone_terms(number: str) -> list[Term]:
    digits = phone_digits(number)
    if len(digits) < 4:
        return []
    return [(PHONE, digits), (PHONE4, digits[-4:])]


def terms(flow: Flow, answers: Mapping[str, Any]) -> set[Term]:
    """What an intake on ``flow`` with ``answers`` can be found by."""
    out: set[Term] = set()
    for step in flow.steps:
        value = answers.get(step.id)
        if not isinstance(value, str) or not value:
            continue
        if step.type == "phone":
            out.update(phone_terms(value))
        elif step.type == "id_number":
            number, _why = parse_id_number(value)
            if number:
                out.add((ID, number))
        elif "name" in step.tags and step.type == "text":
            name = normal_name(value)
            if name:
                out.add((NAME, name))
    return out


def clue_terms(clue: Mapping[str, Any]) -> set[Term]:
    """What a partner's clue can be found by: the person it is about."""
    name = normal_name(str(clue.get("who") or ""))
    return {(NAME, name)} if name else set()


def query_terms(text: str) -> list[Term]:
    """What a caseworker's ``/find`` words may be: an ID number, a phone number, the last
    4 digits of one, or a name (a reference is looked up as it is, bot/casework)."""
    if len(text) > MAX_QUERY * 4:
        return []
    out: list[Term] = []
    number, _why = parse_id_number(text)
    if number:
        out.append((ID, number))
    phone = parse_phone(text)
    if phone:
        out.append((PHONE, phone_digits(phone)))
    digits = _BETWEEN.sub("", normalise(text))
    if len(digits) == 4 and digits.isdigit():
        out.append((PHONE4, digits))
    if not out:
        name = normal_name(text)
        if name and not name.isdigit():
            out.append((NAME, name))
    return out
