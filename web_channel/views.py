"""What a page shows of the core's turns: the same texts and offers as the chat, as data
for the templates (web_channel/templates/).

Nothing here decides anything about the interview: the question's text and refusal are
``bot.messages.question_text`` (as Telegram shows them), what it offers is
``bot.asking.offer``, the review's answers ``bot.messages.answer_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from bot.asking import Move, move_name, offer
from bot.flow import engine
from bot.flow.engine import Ask, Review
from bot.flow.model import Flow
from bot.i18n import Tr
from bot.interview import Turn
from bot.messages import (
    HTML,
    answer_text,
    answered_steps,
    note_text,
    question_text,
    refusal_text,
    review_texts,
    status_name,
)
from bot.store import Intake
from web_channel.markup import safe_html

# Steps answered by typing; the others by the buttons under them.
_TYPED = ("text", "number", "date", "phone", "id_number")
_NUMERIC = ("number", "phone")
# Marks before a move's name, as the chat's buttons have them (handlers/interview_view.py).
_MARKS = {
    Move.AGREE: "✅ ",
    Move.DONE: "✔️ ",
    Move.KEEP: "↩️ ",
    Move.SKIP: "⏭ ",
    Move.BACK: "⬅️ ",
    Move.SEND: "📨 ",
    Move.FIRST_PART: "✂️ ",
    Move.ALL_PARTS: "🧩 ",
}


# What a file chooser offers for each kind a question takes (FLOW_FORMAT ``kinds``).
_ACCEPT = {
    "photo": "image/*",
    "document": "application/pdf",
    "voice": "audio/*",
    "audio": "audio/*",
    "video": "video/*",
}


@dataclass(frozen=True)
class Button:
    value: str
    label: str
    main: bool = False


@dataclass(frozen=True)
class Answer:
    """One answer on the review, with the step to change it."""

    n: int
    question: str
    answer: str
    step: str


@dataclass
class Page:
    """A question or the review, as the template draws it."""

    step: str = ""  # the question's step id; empty on the review
    kind: str = ""  # the step's type, or "review"
    question: Markup = field(default_factory=Markup)
    notes: list[Markup] = field(default_factory=list)
    refusal: str = ""  # on the review (a question's is inside its text)
    typed: bool = False  # a box to type the answer in
    upload: bool = False  # a file to choose and send (a question that takes files)
    accept: str = ""  # the kinds of file the chooser offers (its ``accept``)
    voice: bool = False  # a recording may answer (a text question with ``voice: true``)
    long: bool = False  # a box of several lines
    numeric: bool = False
    max_length: int = 0
    choices: list[Button] = field(default_factory=list)
    answers: list[Button] = field(default_factory=list)
    navigation: list[Button] = field(default_factory=list)
    review: list[Answer] = field(default_factory=list)
    review_hint: Markup = field(default_factory=Markup)


def move_label(tr: Tr, move: str) -> str:
    return _MARKS.get(move, "") + move_name(tr, move)


def page_of(tr: Tr, turn: Turn) -> Page:
    """The page of the question (or review) a turn is at."""
    flow, outcome = turn.flow, turn.outcome
    assert flow is not None and isinstance(outcome, Ask | Review)
    lang = turn.flow_lang
    notes = outcome.notes or engine.notes_on_the_way(flow, outcome.state)
    page = Page(notes=[safe_html(note_text(HTML, flow, lang, n)) for n in notes])
    if isinstance(outcome, Review):
        return _review(tr, flow, lang, outcome, page)
    step = outcome.step
    page.step, page.kind = step.id, step.type
    # A page has no button to share the phone's own number: its hint says to type it (the
    # terminal's words), where that changes nothing else.
    typed_hint = step.type == "phone" and step.required
    page.question = safe_html(
        question_text(tr, HTML, flow, lang, step, outcome.state, outcome.refusal, typed=typed_hint)
    )
    offered = offer(flow, lang, outcome)
    page.typed = step.type in _TYPED
    page.upload = step.type == "attachments"
    if page.upload:
        page.accept = ",".join(dict.fromkeys(_ACCEPT[k] for k in step.kinds if k in _ACCEPT))
    page.voice = step.type == "text" and step.voice
    page.long = step.type == "text" and step.max_length > 100
    page.numeric = step.type in _NUMERIC
    page.max_length = step.max_length if step.type == "text" else 0
    for i, c in enumerate(offered.choices):
        mark = ("✅ " if c.chosen else "▫️ ") if offered.several else ""
        page.choices.append(Button(str(i), mark + c.label))
    for move in offered.answers:
        label = move_label(tr, move)
        if move == Move.DONE and offered.received:
            label = "✔️ " + tr.gettext("Done ({n} received)").format(n=offered.received)
        elif move == Move.FIRST_PART:
            label = "✂️ " + tr.ngettext(
                "Keep the first {n} character", "Keep the first {n} characters", offered.limit
            ).format(n=tr.number(offered.limit))
        elif move == Move.ALL_PARTS:
            label = "🧩 " + tr.ngettext(
                "Keep all of it, in {n} part", "Keep all of it, in {n} parts", offered.parts
            ).format(n=tr.number(offered.parts))
        page.answers.append(Button(move, label, main=move in (Move.AGREE, Move.DONE)))
    page.navigation = [Button(m, move_label(tr, m)) for m in offered.navigation]
    return page


def _review(tr: Tr, flow: Flow, lang: str, outcome: Review, page: Page) -> Page:
    page.kind = "review"
    if outcome.refusal is not None:
        page.refusal = refusal_text(tr, flow, lang, outcome.refusal)
    state = outcome.state
    for n, step in enumerate(answered_steps(flow, state), start=1):
        value = answer_text(tr, flow, lang, step, state.answers[step.id], masked=False)
        page.review.append(Answer(n, flow.pick(step.text, lang), value, step.id))
    # The heading as the chat's review has it (its first line).
    page.review_hint = safe_html(review_texts(tr, HTML, flow, lang, state)[0].split("\n\n")[0])
    page.answers = [Button(Move.SEND, move_label(tr, Move.SEND), main=True)]
    page.navigation = [Button(Move.BACK, move_label(tr, Move.BACK))]
    return page


@dataclass(frozen=True)
class Application:
    """One line of the status page."""

    ref: str
    status: str
    sent_on: str
    draft: bool


def applications(tr: Tr, intakes: list[Intake]) -> list[Application]:
    out = []
    for it in intakes:
        if it.status == "draft":
            out.append(Application("", status_name(tr, it.status), "", True))
        elif it.ref:
            when = tr.date(it.submitted_at or it.created_at)
            out.append(
                Application(
                    tr.ltr(it.ref),
                    status_name(tr, it.status),
                    tr.gettext("sent on {date}").format(date=when),
                    False,
                )
            )
    return out
