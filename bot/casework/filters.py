"""The words ``/queue`` takes after it, in the reader's language and in English: statuses,
"overdue", a region (its division code, or its name as the flow's region question
labels it) and a special group (a priority rule of the flow, by its id or label).

Pure: the words a reader may use are worked out from the flow and the reader's
catalog (``Vocabulary``), and a typed line is read against them (``read``); no I/O.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from bot.flow.model import Flow
from bot.i18n import STATUS_NAMES, Tr
from bot.i18n_marks import N_
from bot.lookup import normal_name
from bot.regions import is_code
from bot.store.intakes import OPEN_STATUSES
from bot.store.listings import Listing

# (key, the word as readers of each language type it, the statuses it lists). The key
# is the English word, accepted from every reader.
STATUS_WORDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("open", N_("open"), OPEN_STATUSES),
    ("new", N_("new"), ("submitted",)),
    ("review", N_("in review"), ("in_review",)),
    ("waiting", N_("waiting"), ("awaiting_applicant",)),
    ("decided", N_("decided"), ("approved", "declined")),
    ("approved", N_("approved"), ("approved",)),
    ("declined", N_("declined"), ("declined",)),
    ("withdrawn", N_("withdrawn"), ("withdrawn",)),
)
OVERDUE = "overdue"
OVERDUE_WORD = N_("overdue")
MAX_WORDS = 12  # a longer line is not read further
_STATUSES = {key: statuses for key, _word, statuses in STATUS_WORDS}


def _norm(text: str) -> str:
    return normal_name(unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Vocabulary:
    """Every word a reader may filter with, normalised, and what each stands for:
    ``("status", key)``, ``("overdue", "")``, ``("region", code)``, ``("group", rule id)``."""

    words: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Labels of special groups, normalised, for a part of one ("未成年人" in "涉及未成年人").
    group_labels: tuple[tuple[str, str], ...] = ()
    # What the reader is shown: status words, the overdue word, regions and groups.
    shown_statuses: tuple[tuple[str, str], ...] = ()  # (reader's word, key)
    shown_overdue: str = ""
    shown_regions: tuple[tuple[str, str], ...] = ()  # (label, code)
    shown_groups: tuple[tuple[str, str], ...] = ()  # (label, rule id)

    @classmethod
    def of(cls, tr: Tr, flow: Flow | None) -> Vocabulary:
        words: dict[str, tuple[str, str]] = {}

        def add(word: str, meaning: tuple[str, str]) -> None:
            key = _norm(word)
            if key:
                words.setdefault(key, meaning)

        statuses = []
        for key, word, shown in STATUS_WORDS:
            add(key, ("status", key))
            add(tr.gettext(word), ("status", key))
            if len(shown) == 1:  # the status as the card names it reads too
                add(tr.gettext(STATUS_NAMES[shown[0]]), ("status", key))
            statuses.append((tr.gettext(word), key))
        add(OVERDUE, ("overdue", ""))
        add(tr.gettext(OVERDUE_WORD), ("overdue", ""))
        regions: dict[str, str] = {}
        groups: list[tuple[str, str]] = []
        labels: list[tuple[str, str]] = []
        if flow is not None:
            lang = flow.language_for(tr.lang)
            for step in flow.steps:
                if step.type != "choice" or not step.choices:
                    continue
                if not all(is_code(c.value) for c in step.choices):
                    continue  # a region question: its values are division codes
                for choice in step.choices:
                    regions.setdefault(choice.value, flow.pick(choice.label, lang))
                    for label in choice.label.values():
                        add(label, ("region", choice.value))
            for rule in flow.priority:
                add(rule.id, ("group", rule.id))
                for label in rule.label.values():
                    add(label, ("group", rule.id))
                    labels.append((_norm(label), rule.id))
                groups.append((flow.pick(rule.label, lang), rule.id))
        return cls(
            words,
            tuple(labels),
            tuple(statuses),
            tr.gettext(OVERDUE_WORD),
            tuple((label, code) for code, label in regions.items()),
            tuple(groups),
        )

    def meaning(self, phrase: str) -> tuple[str, str] | None:
        """What one typed word (or words) stands for; None when nothing."""
        key = _norm(phrase)
        if not key:
            return None
        if key in self.words:
            return self.words[key]
        if key.isdigit() and is_code(key):
            return ("region", key)
        if len(key) >= 2:  # a part of a special group's label, if only one has it
            found = {rule for label, rule in self.group_labels if key in label}
            if len(found) == 1:
                return ("group", found.pop())
        return None


@dataclass(frozen=True)
class Read:
    """A typed filter line read: the listing it asks for, or the words not understood."""

    listing: Listing | None
    unknown: tuple[str, ...] = ()


def read(vocabulary: Vocabulary, text: str) -> Read:
    """Read ``text`` (what follows /queue): words of one kind are alternatives ("approved
    declined"), words of different kinds all apply ("653222 overdue"). The longest run
    of words that means something is taken first, so a name of several words is one."""
    tokens = text.replace(",", " ").replace("，", " ").replace("、", " ").split()[:MAX_WORDS]
    statuses: list[str] = []
    regions: list[str] = []
    groups: list[str] = []
    overdue = False
    keys: list[str] = []
    unknown: list[str] = []
    i = 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            meaning = vocabulary.meaning(" ".join(tokens[i:j]))
            if meaning is not None:
                break
        else:
            unknown.append(tokens[i])
            i += 1
            continue
        kind, value = meaning
        i = j
        if kind == "status":
            statuses += [s for s in _STATUSES[value] if s not in statuses]
            keys.append("status:" + value)
        elif kind == "overdue":
            overdue = True
            keys.append(OVERDUE)
        elif kind == "region":
            regions.append(value)
            keys.append("region:" + value)
        else:
            groups.append(value)
            keys.append("group:" + value)
    if unknown:
        return Read(None, tuple(unknown))
    return Read(
        Listing(
            statuses=tuple(statuses) or OPEN_STATUSES,
            regions=tuple(dict.fromkeys(regions)),
            groups=tuple(dict.fromkeys(groups)),
            overdue=overdue,
            words=tuple(dict.fromkeys(keys)),
        )
    )


def described(tr: Tr, vocabulary: Vocabulary, listing: Listing) -> list[str]:
    """The filter's words as the reader reads them, in the order typed."""
    statuses = {key: word for word, key in vocabulary.shown_statuses}
    regions = {code: label for label, code in vocabulary.shown_regions}
    groups = {rule: label for label, rule in vocabulary.shown_groups}
    out = []
    for key in listing.words:
        kind, _sep, value = key.partition(":")
        if kind == "status":
            out.append(statuses.get(value, value))
        elif kind == OVERDUE:
            out.append(vocabulary.shown_overdue)
        elif kind == "region":
            label = regions.get(value)
            code = tr.ltr(value)
            out.append(
                tr.gettext("{name} ({code})").format(name=label, code=code) if label else code
            )
        elif kind == "group":
            out.append(groups.get(value, value))
    return out
