"""What a question offers (bot/asking.py), and that the chat and the terminal show the same.

An admin walks a flow with ``intake-bot try`` to see what applicants will meet, so the
terminal must number exactly the answers the chat puts on buttons, in the same order;
both draw them from ``bot.asking.offer``. The rules of which question takes Keep, Skip
and Done are checked here without Telegram.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.asking import Move, offer
from bot.flow.engine import Ask, State
from bot.flow.loader import default_flow_source, load_flow_file, load_flow_text
from bot.flow.model import Flow
from bot.i18n import I18n
from command_line.terminal import Terminal
from handlers.interview_view import InterviewView
from telegram_channel.buttons.interview import QuestionOp
from telegram_channel.keyboards import Keyboard

FLOWS = Path(__file__).parent / "flows"
EVERY: Flow = load_flow_file(FLOWS / "every_type.yaml")[0]
DEFAULT: Flow = load_flow_text(default_flow_source())
I18N = I18n.load()


def ask(
    flow: Flow, step_id: str, *, before: object = None, pending: list[object] | None = None
) -> Ask:
    """``step_id`` asked, answered ``before`` earlier if given, with ``pending`` collected."""
    answers = {} if before is None else {step_id: before}
    state = State(answers=answers, current=step_id, pending=list(pending or []))
    return Ask(flow.step(step_id), state)


@pytest.mark.parametrize(
    ("step_id", "before", "pending", "answers", "navigation"),
    [
        ("consent", None, [], (Move.AGREE, Move.DECLINE), (Move.BACK,)),
        ("consent", True, [], (Move.AGREE, Move.DECLINE), (Move.BACK,)),  # agreed again
        ("name", None, [], (), (Move.BACK,)),
        ("name", "Li", [], (), (Move.KEEP, Move.BACK)),
        ("kind_other", None, [], (), (Move.SKIP, Move.BACK)),
        ("phone", "13812345678", [], (), (Move.KEEP, Move.BACK)),
        ("kind", None, [], (), (Move.BACK,)),
        # What a question collecting answers had is marked again; Done keeps it.
        ("needs", ["money"], ["money"], (Move.DONE,), (Move.BACK,)),
        ("groups", None, [], (Move.DONE,), (Move.SKIP, Move.BACK)),
        ("papers", None, [], (), (Move.BACK,)),  # Done only once a file is in
        ("papers", None, [{"kind": "photo"}], (Move.DONE,), (Move.BACK,)),
    ],
)
def test_which_question_offers_which_moves(
    step_id: str,
    before: object,
    pending: list[object],
    answers: tuple[str, ...],
    navigation: tuple[str, ...],
) -> None:
    offered = offer(EVERY, "en", ask(EVERY, step_id, before=before, pending=pending))
    assert offered.answers == answers
    assert offered.navigation == navigation
    assert offered.share_phone == (step_id == "phone")
    assert offered.received == len(pending if step_id == "papers" else [])


def chat_answers(flow: Flow, lang: str, question: Ask) -> list[str]:
    """The labels of the answer buttons the chat puts under ``question``, marks taken off."""
    markup = InterviewView(I18N).question_markup(I18N.tr(lang), flow, lang, 1, question)
    if not isinstance(markup, Keyboard):
        return []  # the phone question's keyboard: no answers to pick
    answer_ops = {QuestionOp.CHOOSE, QuestionOp.TOGGLE, QuestionOp.AGREE, QuestionOp.DECLINE}
    labels = []
    for row in markup.inline_keyboard:
        for b in row:
            if b.callback_data.split(":")[3] in answer_ops:
                labels.append(b.text.removeprefix("✅ ").removeprefix("▫️ "))
    return labels


def terminal_answers(
    flow: Flow, lang: str, question: Ask, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """The answers the terminal numbers under ``question``, in order, marks taken off."""
    Terminal(flow, I18N.tr(lang), lang).show_choices(question)
    lines = capsys.readouterr().out.splitlines()
    numbers = [line.strip().split(". ", 1) for line in lines]
    assert [int(n) for n, _label in numbers] == list(range(1, len(numbers) + 1))
    return [label.removeprefix("[x] ").removeprefix("[ ] ") for _n, label in numbers]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("flow", [EVERY, DEFAULT], ids=["every_type", "default"])
def test_the_terminal_numbers_the_answers_the_chat_shows(
    flow: Flow, lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for step in flow.steps:
        if not step.asks_input:
            continue
        chosen = [step.choices[0].value] if step.type == "multi_choice" else []
        question = ask(flow, step.id, pending=chosen)
        shown = chat_answers(flow, lang, question)
        assert terminal_answers(flow, lang, question, capsys) == shown, step.id
        if step.type in ("choice", "multi_choice", "consent"):
            assert shown, f"{step.id}: no answers to pick"
