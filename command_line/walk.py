"""Walking an interview through the engine in the terminal: at a prompt, or from a file.

Interactively, each typed line is read by the ``Terminal`` and applied; scripted
(``--answers FILE``), a mapping of step id to answer is fed in flow order and the first
answer the engine refuses stops the walk, naming its step. Both end with the
``Completed`` interview, or an exit status; nothing here stores anything.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.asking import skippable, stays_open
from bot.flow import engine
from bot.flow.engine import (
    Ask,
    Completed,
    Done,
    Ended,
    Input,
    Outcome,
    Refusal,
    Review,
    Skip,
    Submit,
    Typed,
)
from bot.flow.model import Flow, Step
from bot.i18n import Tr
from bot.messages import refusal_text
from command_line.terminal import QUIT, Terminal, attached, consent_input, toggles

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


# --- interactive -----------------------------------------------------------------------


def interactive(term: Terminal) -> Completed | int:
    """Ask until the applicant sends (Completed), or return the exit status of a stop."""
    _ = term.tr.gettext
    flow = term.flow
    term.usage()
    outcome: Ask | Review = engine.start(flow)
    term.show(outcome)
    if isinstance(outcome, Review):
        term.review_hint()
    while True:
        line = term.read_line()
        if line is None:
            term.say(_("The input ended before the interview was finished. Nothing was stored."))
            return EXIT_PROBLEMS
        if term.command(line) == QUIT:
            term.say(_("Stopped. Nothing was stored."))
            return EXIT_PROBLEMS
        if isinstance(outcome, Review):
            given = term.review_input(line, outcome)
            if given is None:
                term.review_hint()
                continue
            result = engine.answer(flow, outcome.state, given)
        else:
            inputs = term.inputs(outcome, line)
            if isinstance(inputs, str):
                term.refused(inputs)
                continue
            result = feed(flow, outcome, inputs)
        if isinstance(result, Completed):
            return result
        if isinstance(result, Ended):
            term.declined()
            return EXIT_PROBLEMS
        if isinstance(outcome, Ask) and stays_open(outcome.step.id, result):
            assert isinstance(result, Ask)
            term.show_pending(result)  # a toggle or a file: the question stays open
        else:
            term.show(result)
            if isinstance(result, Review):
                term.review_hint()
        outcome = result


def feed(flow: Flow, outcome: Ask | Review, inputs: list[Input]) -> Outcome:
    """Apply inputs in turn; stop at the first that is refused or that leaves the question."""
    result: Outcome = outcome
    for given in inputs:
        assert isinstance(result, Ask | Review)
        before = result.step.id if isinstance(result, Ask) else None
        result = engine.answer(flow, result.state, given)
        if (
            isinstance(result, Ask)
            and result.refusal is not None
            and isinstance(outcome, Ask)
            and result.step.id == outcome.step.id
            and len(inputs) > 1
        ):
            # One refused number of "1 3 9" leaves the marks as they were: all or nothing.
            # (A single input refused keeps what the engine kept: a story too long.)
            return Ask(outcome.step, outcome.state, refusal=result.refusal, changed=False)
        if not isinstance(result, Ask) or result.step.id != before:
            break
    return result


# --- scripted: --answers ---------------------------------------------------------------


class _AnswersLoader(yaml.SafeLoader):
    """YAML that keeps every plain value as typed: ``no`` stays the word no (a choice
    value), ``0123`` stays a phone number, ``2024-03-05`` a date as text. Only null is
    recognised, because null means "skip this question"."""


_AnswersLoader.yaml_implicit_resolvers = {}
_AnswersLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null",
    re.compile(r"^(?:~|null|Null|NULL|)$"),
    ["~", "n", "N", ""],
)


def read_answers(path: str, tr: Tr) -> dict[str, Any] | str:
    """The answers file as a mapping, or a message saying why it is not one."""
    _ = tr.gettext
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_AnswersLoader)
    except yaml.YAMLError as exc:
        return _("{path}: not YAML or JSON: {error}").format(path=path, error=str(exc))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return _("{path}: must be a mapping of step ids to answers.").format(path=path)
    return {str(k): v for k, v in data.items()}


def _scripted_inputs(step: Step, value: Any, base: Path, tr: Tr) -> list[Input] | str:
    """The inputs that give ``value`` as the answer to ``step``, or why they cannot."""
    _ = tr.gettext
    if value is None:
        return [Skip(step.id)]
    if isinstance(value, dict):
        return _("an answer must be a text, a number or a list")
    if step.type == "multi_choice":
        items = value if isinstance(value, list) else None
        inputs: list[Input] = (
            [Typed(str(v)) for v in dict.fromkeys(str(v) for v in items)]
            if items is not None
            else toggles(str(value))
        )
        return [*inputs, Done(step.id)]
    if step.type == "attachments":
        paths = value if isinstance(value, list) else [value]
        found: list[Input] = []
        for item in paths:
            path = Path(str(item)).expanduser()
            path = path if path.is_absolute() else base / path
            if not path.is_file():
                return _("There is no file {path}.").format(path=str(item))
            found.append(attached(path))
        return [*found, Done(step.id)]
    if isinstance(value, list):
        return _("only a question with several answers or files takes a list")
    if step.type == "consent":
        return [consent_input(step, str(value), tr)]
    return [Typed(str(value))]


def scripted(
    term: Terminal, answers: Mapping[str, Any], base: Path
) -> tuple[Completed | int, Review | None]:
    """Feed the answers in flow order; (Completed or exit status, the last review)."""
    _ = term.tr.gettext
    flow, tr = term.flow, term.tr
    outcome: Outcome = engine.start(flow)
    # Every question is asked at most once going forward; the bound only guards the loop.
    for _turn in range(len(flow.steps) + 1):
        if not isinstance(outcome, Ask):
            break
        step = outcome.step
        if step.id not in answers:
            if not skippable(step):
                print(
                    _("No answer for step {step} ({question}), and it must be answered.").format(
                        step=step.id, question=flow.pick(step.text, term.lang)
                    ),
                    file=sys.stderr,
                )
                return EXIT_PROBLEMS, None
            inputs: list[Input] | str = [Skip(step.id)]
        else:
            inputs = _scripted_inputs(step, answers[step.id], base, tr)
        if isinstance(inputs, str):
            _report_refused(term, step, answers.get(step.id), inputs)
            return EXIT_PROBLEMS, None
        result = feed(flow, outcome, inputs)
        if isinstance(result, Ended):
            term.declined()
            return EXIT_PROBLEMS, None
        if isinstance(result, Ask) and (result.refusal is not None or result.step.id == step.id):
            refusal = result.refusal or Refusal("")
            _report_refused(
                term,
                step,
                answers.get(step.id),
                refusal_text(tr, flow, term.lang, refusal, typed=True),
            )
            return EXIT_PROBLEMS, None
        outcome = result
    if not isinstance(outcome, Review):  # pragma: no cover - the bound above is generous
        return EXIT_PROBLEMS, None
    unused = [key for key in answers if key not in outcome.state.answers]
    if unused:
        term.say(
            _("Not used, because these questions were not asked: {steps}").format(
                steps=tr.join(unused)
            )
        )
        term.say()
    review = outcome
    completed = engine.answer(flow, review.state, Submit())
    assert isinstance(completed, Completed)
    return completed, review


def _report_refused(term: Terminal, step: Step, value: Any, reason: str) -> None:
    _ = term.tr.gettext
    shown = json.dumps(value, ensure_ascii=False)
    print(
        _("Step {step}: the answer {answer} was refused: {reason}").format(
            step=step.id, answer=shown, reason=reason
        ),
        file=sys.stderr,
    )
