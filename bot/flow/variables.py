"""Settings a flow's texts may name: ``{settings.procuratorate_hotline}`` and the like.

A hotline or a number of days written into a flow drifts from the real one when an
operator changes it (``/expiry 45`` while the consent text still says 30 days). So a
text names the setting instead, and the value is filled in when the text is shown.
Only the names below may be used: the loader refuses any other, with its line, so a
typo is caught when the file is checked rather than shown to an applicant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.config import Settings

#: What a flow text may name, with what each one is. Adding a name here makes it usable.
NAMES: dict[str, str] = {
    "procuratorate_hotline": "the procuratorate's hotline (INTAKE_PROCURATORATE_HOTLINE)",
    "legal_aid_hotline": "the legal aid hotline (INTAKE_LEGAL_AID_HOTLINE)",
    "draft_days": "days an unfinished application waits (INTAKE_DRAFT_DAYS, or /expiry)",
}

# `{settings.NAME}`; a NAME is looked up, anything else in braces is left alone.
PLACEHOLDER = re.compile(r"\{settings\.([^{}]*)\}")
MARK = "{settings."


def values_of(settings: Settings, draft_days: int | None = None) -> dict[str, str]:
    """The values to fill in, from the settings (and the admin's /expiry, if set)."""
    return {
        "procuratorate_hotline": settings.procuratorate_hotline,
        "legal_aid_hotline": settings.legal_aid_hotline,
        "draft_days": str(settings.draft_days if draft_days is None else draft_days),
    }


#: The values a flow shows until the bot's own settings are given to it.
DEFAULTS: Mapping[str, str] = values_of(Settings())


def unknown_names(text: str) -> list[tuple[str, int]]:
    """The names in ``text`` that a flow may not use, each with where it starts, in
    order (a ``{settings.`` without its closing brace counts, as what follows it)."""
    bad: list[tuple[str, int]] = []
    start = text.find(MARK)
    while start >= 0:
        match = PLACEHOLDER.match(text, start)
        if match is None:
            rest = text[start + len(MARK) :].split()
            bad.append((rest[0] if rest else "", start))
        elif match.group(1) not in NAMES:
            bad.append((match.group(1), start))
        start = text.find(MARK, start + 1)
    return bad


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every known name replaced by its value."""
    if MARK not in text:
        return text

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        return DEFAULTS.get(name, match.group(0))

    return PLACEHOLDER.sub(one, text)
