"""Where an intake belongs and whom it concerns: regions by the national administrative
division code (GB/T 2260).

A code is 6 digits (county: 653222 和田县); its first 2 name the province and its first
4 the prefecture, so a prefix of 2 or 4 digits covers everything under it (``6532``
covers ``653222``). Procuratorates work by jurisdiction: a staff role carries the
prefixes it covers (none: every region), an intake the code of the region it was routed
to, and every read and action on an intake checks one against the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.flow.model import Flow
    from bot.i18n import Tr

_CODE = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}")


def is_code(text: str) -> bool:
    """A division code or a prefix of one: 2, 4 or 6 digits."""
    return bool(_CODE.fullmatch(text))


def codes(texts: Iterable[str]) -> frozenset[str]:
    """The codes given (each stripped); ValueError names the first that is not one."""
    out = set()
    for text in texts:
        code = str(text).strip()
        if not is_code(code):
            raise ValueError(code)
        out.add(code)
    return frozenset(out)


def region_text(tr: Tr, flow: Flow | None, code: str | None) -> str:
    """A region as staff read it: its name where the flow's region step has a choice for
    it (in the reader's language, as the applicant saw it) and its code, which is what
    roles are granted by: "墨玉县 653222"; the code alone when the flow names none; a dash
    for an intake with no region."""
    if not code:
        return "—"
    label = flow.region_label(code) if flow is not None else None
    if label is None or flow is None:
        return tr.ltr(code)
    return f"{flow.pick(label, flow.language_for(tr.lang))} {tr.ltr(code)}"


@dataclass(frozen=True)
class Scope:
    """The regions a person's role covers: ``prefixes`` None means every region (a role
    granted without a region, as every role was before regions existed); an empty set
    means none (the person does not hold the role)."""

    prefixes: frozenset[str] | None = None

    @property
    def everywhere(self) -> bool:
        return self.prefixes is None

    def covers(self, region: str | None) -> bool:
        """Whether an intake of ``region`` is this person's business. An intake with no
        region (none was asked and no default is set) is only for those who cover every
        region."""
        if self.prefixes is None:
            return True
        return region is not None and any(region.startswith(p) for p in self.prefixes)

    def where(self, column: str) -> tuple[str, list[str]]:
        """An SQL condition on ``column`` (a column name from our own code, never input)
        for the intakes this scope covers, and its parameters."""
        if self.prefixes is None:
            return "1 = 1", []
        if not self.prefixes:
            return "1 = 0", []
        prefixes = sorted(self.prefixes)
        clause = " OR ".join(f"substr({column}, 1, {len(p)}) = ?" for p in prefixes)
        return f"({clause})", prefixes

    def __or__(self, other: Scope) -> Scope:
        if self.prefixes is None or other.prefixes is None:
            return EVERYWHERE
        return Scope(self.prefixes | other.prefixes)


EVERYWHERE = Scope(None)
NOWHERE = Scope(frozenset())
