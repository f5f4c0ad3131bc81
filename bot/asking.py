"""What a question offers the applicant, whatever channel draws it: answers and moves.

The chat draws an ``Offer`` as buttons, the terminal ``try`` command as numbered lines
and words; both ask it here, so a question never offers in one what it lacks in the
other, and a move has one name in both. The rules of which step takes which move (Keep
only where an earlier answer can be kept as it is, Skip only on an optional question,
Done where answers are collected) live here and in the engine, never in a channel.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flow.engine import Ask, Outcome, State, text_parts
from bot.flow.model import Flow, Step
from bot.i18n import Tr
from bot.i18n_marks import N_


class Move:
    """What a question (or the review) takes besides an answer. The values are the
    English words the terminal takes for them."""

    AGREE = "agree"
    DECLINE = "decline"
    DONE = "done"
    KEEP = "keep"
    SKIP = "skip"
    BACK = "back"
    SEND = "send"  # on the review
    CHANGE = "change"  # on the review: change an answer
    FIRST_PART = "first"  # an answer too long: keep its first part, up to the limit
    ALL_PARTS = "parts"  # an answer too long: keep all of it, in parts


# What each move is called, in every channel (the chat puts an emoji before it).
_NAMES = {
    Move.AGREE: N_("I agree"),
    Move.DECLINE: N_("I do not agree"),
    Move.DONE: N_("Done"),
    Move.KEEP: N_("Keep my answer"),
    Move.SKIP: N_("Skip"),
    Move.BACK: N_("Back"),
    Move.SEND: N_("Send"),
    Move.CHANGE: N_("Change an answer"),
    Move.FIRST_PART: N_("Keep the first part"),
    Move.ALL_PARTS: N_("Keep all of it, in parts"),
}
# What the review offers, in order.
REVIEW_MOVES = (Move.SEND, Move.CHANGE, Move.BACK)


# Moving about the interview rather than answering: shown together, after the answers.
NAVIGATION = (Move.KEEP, Move.SKIP, Move.BACK)
# Steps that collect answers (toggles, files) until Done: the question stays open meanwhile.
COLLECTING = ("multi_choice", "attachments")
# Steps whose earlier answer is kept some other way: a consent is given again, and what a
# collecting step had is marked again (``State.pending``) for Done to keep.
_NO_KEEP = ("consent", *COLLECTING)


@dataclass(frozen=True)
class Choice:
    """One answer of a choice question, at its position in the step's choices."""

    label: str
    chosen: bool = False  # several may be chosen: this one is, so far


@dataclass(frozen=True)
class Offer:
    """What the question being asked offers: answers to pick and moves, in order."""

    choices: tuple[Choice, ...] = ()
    several: bool = False  # any number of the choices may be chosen (then Done)
    moves: tuple[str, ...] = (Move.BACK,)
    share_phone: bool = False  # the channel may offer to share the phone's own number
    received: int = 0  # files collected so far (attachments)
    # An answer that was too long, kept: the limit, and how many parts it makes.
    limit: int = 0
    parts: int = 0

    @property
    def answers(self) -> tuple[str, ...]:
        """The moves that answer the question (agree, decline, done)."""
        return tuple(m for m in self.moves if m not in NAVIGATION)

    @property
    def navigation(self) -> tuple[str, ...]:
        """The moves about the interview (keep, skip, back)."""
        return tuple(m for m in self.moves if m in NAVIGATION)


def move_name(tr: Tr, move: str) -> str:
    return tr.gettext(_NAMES[move])


def skippable(step: Step) -> bool:
    """An optional question may be left unanswered; a consent never is."""
    return not step.required and step.type != "consent"


def offer(flow: Flow, lang: str, ask: Ask) -> Offer:
    """What ``ask``'s question offers, its labels in ``lang``."""
    step, state = ask.step, ask.state
    kind = step.type
    moves: list[str] = []
    choices: tuple[Choice, ...] = ()
    received = limit = parts = 0
    if kind == "consent":
        moves += (Move.AGREE, Move.DECLINE)
    elif kind == "choice":
        choices = tuple(Choice(flow.pick(c.label, lang)) for c in step.choices)
    elif kind == "multi_choice":
        chosen = state.pending
        choices = tuple(Choice(flow.pick(c.label, lang), c.value in chosen) for c in step.choices)
        moves.append(Move.DONE)
    elif kind == "attachments":
        received = len(state.pending)
        if received:
            moves.append(Move.DONE)
    elif kind == "text" and state.pending and isinstance(state.pending[0], str):
        limit = step.max_length
        parts = len(text_parts(state.pending[0], limit))
        moves += (Move.FIRST_PART, Move.ALL_PARTS)
    if ask.has_previous and kind not in _NO_KEEP:
        moves.append(Move.KEEP)
    if skippable(step):
        moves.append(Move.SKIP)
    moves.append(Move.BACK)
    return Offer(
        choices,
        several=kind == "multi_choice",
        moves=tuple(moves),
        share_phone=kind == "phone",
        received=received,
        limit=limit,
        parts=parts,
    )


def stays_open(step_id: str | None, outcome: Outcome | None) -> bool:
    """The input was taken and the question ``step_id`` is still asked, collecting more (a
    toggle, a file): a channel shows what it has so far rather than a new question."""
    return (
        isinstance(outcome, Ask)
        and outcome.refusal is None
        and outcome.step.id == step_id
        and outcome.step.type in COLLECTING
    )


def answered(step: Step, state: State) -> bool:
    """``step`` has its answer in ``state`` and the interview has gone on from it."""
    return step.id in state.answers and state.current != step.id


def left_step(flow: Flow, before: State, outcome: Outcome | None) -> Step | None:
    """The question the applicant was on ``before`` an input, if the input took them off
    it (answered, skipped, gone back, or the interview ended); None if they are still on it
    or were on none."""
    current = before.current
    if current is None or not flow.has_step(current):
        return None
    if isinstance(outcome, Ask) and outcome.step.id == current:
        return None
    return flow.step(current)
