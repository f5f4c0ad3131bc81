"""The flow model: what a validated flow file becomes.

A flow is immutable once loaded, so one parsed copy per (id, version) can be
shared by every applicant on that version (the loader's output is cached by the
store layer; parsing YAML on every update would dominate the cost of an answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.flow.variables import DEFAULTS, fill

if TYPE_CHECKING:
    from bot.flow.expr import Expr

# A text is a mapping from language code to a non-empty string.
Text = dict[str, str]

STEP_TYPES = (
    "note",
    "consent",
    "text",
    "number",
    "date",
    "phone",
    "id_number",
    "choice",
    "multi_choice",
    "attachments",
)

# Tags an admin may put on a step so the rest of the system knows what it holds
# without hard-coding step ids of one particular flow.
KNOWN_TAGS = (
    "name",  # the person's name: shown as the title of the caseworker's card
    "partner",  # shared with the agriculture department on a referral
    "stats",  # counted by value in /stats (choice and multi_choice steps)
    "region",  # where they live: shown in queue lines and referral summaries
    "needs",  # the help wanted: its choices are the kinds of a household's plan's measures
)


# What an attachments step may take (``kinds``); the first two unless the flow says.
FILE_KINDS = ("photo", "document", "voice", "audio", "video")


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class Step:
    id: str
    type: str
    text: Text
    help: Text | None = None
    required: bool = True
    relevant: Expr | None = None
    constraint: Expr | None = None
    constraint_message: Text | None = None
    sensitive: bool = False
    tags: tuple[str, ...] = ()
    # A choice step whose values are division codes (bot/regions.py): its answer is the
    # region an intake belongs to, and so which staff see it. At most one per flow.
    region: bool = False
    # type-specific
    choices: tuple[Choice, ...] = ()
    max_length: int = 1000
    min: Any = None  # number, or ISO date / "today" for date steps
    max: Any = None
    integer: bool = True
    max_files: int = 10
    # attachments: the largest file in MB (Telegram lets a bot download up to 20), and the
    # kinds of file taken (photo, document, voice, audio, video).
    max_size: int = 20
    kinds: tuple[str, ...] = ("photo", "document")
    # text: a voice message is taken as the answer (kept as a recording).
    voice: bool = False
    line: int = 0

    @property
    def asks_input(self) -> bool:
        return self.type != "note"

    def choice(self, value: str) -> Choice | None:
        for c in self.choices:
            if c.value == value:
                return c
        return None


@dataclass(frozen=True)
class Rule:
    id: str  # priority rules without an id get "priority_N" at load
    when: Expr
    label: Text
    points: int = 0


@dataclass(frozen=True)
class Flow:
    id: str
    languages: tuple[str, ...]
    title: Text
    steps: tuple[Step, ...]
    eligibility: tuple[Rule, ...] = ()
    exclusions: tuple[Rule, ...] = ()
    priority: tuple[Rule, ...] = ()
    version: int = 0  # assigned on publish; 0 for a file not yet published
    # What fills `{settings.NAME}` in texts (bot/flow/variables.py): the built-in defaults
    # until the running bot gives its own settings (``with_values``).
    values: Mapping[str, str] = field(default_factory=lambda: DEFAULTS, compare=False, repr=False)
    # Rules whose holding means "a caseworker should look first" (an extension).
    to_check: tuple[Rule, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({s.id: i for i, s in enumerate(self.steps)})

    @cached_property
    def unanswered(self) -> dict[str, None]:
        """Every step's id, in order, without an answer: what rules see before any answer.
        Copy it before changing it."""
        return dict.fromkeys(self._index)

    @cached_property
    def plain(self) -> frozenset[str]:
        """Steps whose answers are also kept in the clear, for statistics counted in SQL:
        choice and multi_choice steps tagged ``stats`` and not ``sensitive``. They hold
        only choice codes. Every answer is encrypted at rest (bot/crypto.py), these too."""
        return frozenset(
            s.id
            for s in self.steps
            if "stats" in s.tags and s.type in ("choice", "multi_choice") and not s.sensitive
        )

    def step(self, step_id: str) -> Step:
        return self.steps[self._index[step_id]]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._index

    def position(self, step_id: str) -> int:
        return self._index[step_id]

    @cached_property
    def region_step(self) -> Step | None:
        """The step whose answer routes an intake to a region (``region: true``), if any."""
        return next((s for s in self.steps if s.region), None)

    def region_of(self, answers: Mapping[str, Any]) -> str | None:
        """The region the answers route to: the region step's answer, when it gave one."""
        step = self.region_step
        value = answers.get(step.id) if step is not None else None
        return value if isinstance(value, str) and step is not None and step.choice(value) else None

    def region_label(self, code: str | None) -> Text | None:
        """The region step's label for ``code`` (和田县 for 653221), when it has one."""
        step = self.region_step
        choice = step.choice(code) if step is not None and code else None
        return choice.label if choice is not None else None

    def tagged(self, tag: str) -> list[Step]:
        return [s for s in self.steps if tag in s.tags]

    def pick(self, text: Text | None, lang: str) -> str:
        """The text in the reader's language, else in the flow's fallback language, with
        the settings it names filled in."""
        if not text:
            return ""
        chosen = text.get(lang) or text.get(self.languages[0]) or next(iter(text.values()), "")
        return fill(chosen, self.values)

    def with_values(self, values: Mapping[str, str]) -> Flow:
        """The same flow, its texts filled from ``values`` (bot/flow/variables.py)."""
        if dict(values) == dict(self.values):
            return self
        return replace(self, values=dict(values), _index={})

    def language_for(self, lang: str | None) -> str:
        """The flow language closest to a reader's language code."""
        if lang:
            lang = lang.lower().replace("_", "-")
            if lang in self.languages:
                return lang
            base = lang.split("-")[0]
            if base in self.languages:
                return base
        return self.languages[0]
