"""The words of a household's plan (一户一策): the states a measure goes through, the
kinds of body that carry measures out, and how each reads in the reader's language.

Pure data, shared by the store's callers, the channel, /stats and the export.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.store.measures import CLOSED_STATES, NEXT, OPEN_STATES, MeasureState

__all__ = ["CLOSED_STATES", "NEXT", "OPEN_STATES", "MeasureState"]


# As staff and partners read a state.
STATE_NAMES: dict[str, tuple[str, str]] = {
    MeasureState.PROPOSED: ("🆕", N_("proposed")),
    MeasureState.ACCEPTED: ("👍", N_("accepted")),
    MeasureState.IN_PROGRESS: ("⏳", N_("under way")),
    MeasureState.DONE: ("✅", N_("done")),
    MeasureState.NOT_POSSIBLE: ("⛔", N_("not possible")),
}
# As the applicant reads a state, in plain words.
STATE_FOR_APPLICANT: dict[str, str] = {
    MeasureState.PROPOSED: N_("planned"),
    MeasureState.ACCEPTED: N_("they have agreed to do it"),
    MeasureState.IN_PROGRESS: N_("being done now"),
    MeasureState.DONE: N_("done"),
    MeasureState.NOT_POSSIBLE: N_("could not be done"),
}

# The kinds of body a partner may be registered as (``intake-bot roles grant --kind``).
BODY_KINDS: dict[str, str] = {
    "agriculture": N_("agriculture and rural affairs"),
    "human_resources": N_("human resources and social security"),
    "civil_affairs": N_("civil affairs"),
    "education": N_("education"),
    "womens_federation": N_("women's federation"),
    "legal_aid": N_("legal aid centre"),
    "health": N_("health"),
    "other": N_("other"),
}
# The body that is the procuratorate itself (本院), as stored: no partner.
OURSELVES = 0
OURSELVES_NAME = N_("This procuratorate")
# A measure's kind typed by the caseworker (not one of the flow's needs), as counted.
OWN_KIND = "own"
OWN_KIND_NAME = N_("other (own words)")
# Due in so many days: the caseworker's buttons.
DUE_DAYS = (30, 60, 90)


def state_text(tr: Tr, state: str) -> str:
    emoji, name = STATE_NAMES.get(state, ("", state))
    return f"{emoji} {tr.gettext(name)}" if emoji else state


def body_kind_text(tr: Tr, kind: str | None) -> str:
    return tr.gettext(BODY_KINDS[kind]) if kind in BODY_KINDS else ""


def _folded(text: str) -> str:
    return " ".join(text.replace("_", " ").casefold().split())


def read_body_kind(readers: Iterable[Tr], words: Sequence[str]) -> tuple[str | None, list[str]]:
    """A partner's kind of body at the start of ``words`` (an admin's /grant): its code
    (``civil_affairs``) or its name in any language ``readers`` read (民政, civil affairs,
    خەلق ئىشلىرى), the longest that fits; and the words after it. None and all the words
    when they do not begin with one."""
    names: dict[str, str] = {}
    for code, name in BODY_KINDS.items():
        names[_folded(code)] = code
        for tr in readers:
            names[_folded(tr.gettext(name))] = code
    for n in range(len(words), 0, -1):
        code = names.get(_folded(" ".join(words[:n])))
        if code is not None:
            return code, list(words[n:])
    return None, list(words)
