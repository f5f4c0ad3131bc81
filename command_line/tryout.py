"""``intake-bot try``: walk an interview in the terminal, as the bot would ask it.

Admins need to walk a flow before they publish it, and a newcomer should see
what the bot does without a Telegram token. So this command runs the same pure
engine the bot runs and prints the same texts (``bot.messages``, in plain
form): a question here reads exactly as it will in the chat, a refusal is the
one the applicant will meet, and the review and the caseworker's pre-screen
come out of the same code. Only the input differs: numbers and words typed at
a prompt instead of buttons, file paths instead of photos.

Nothing is stored unless ``--save`` is given: trying a flow must not create a
database, and must not change which flow real applicants get.

``--answers FILE`` feeds a mapping of step id to answer instead of prompts, so
a flow can be checked by a script; the exit status says whether every answer
was accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.flow import engine
from bot.flow.engine import (
    Ask,
    Attached,
    Back,
    Completed,
    Done,
    Edit,
    Ended,
    Input,
    Keep,
    Outcome,
    Picked,
    Refusal,
    Review,
    Skip,
    Submit,
    Typed,
)
from bot.flow.loader import FlowError, default_flow_source, load_flow_file, load_flow_text
from bot.flow.model import Flow, Step
from bot.flow.values import parse_index
from bot.i18n import SOURCE_LANG, CatalogError, I18n, Tr, language_name, resolve
from bot.messages import (
    PLAIN,
    answered_steps,
    note_text,
    question_text,
    refusal_text,
    review_texts,
    screening_text,
)
from bot.store import FlowNotFound, Store

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

# The "applicant" of intakes stored with --save. Telegram user ids are positive, so
# 0 can never be a real person, and every test intake is also marked is_test.
TRY_APPLICANT = 0

RULE = "─" * 40
PROMPT = "> "

# Several numbers on one line toggle several answers of a multi_choice question.
_NUMBERS = re.compile(r"^\s*\d+(?:[\s,，、;]+\d+)*\s*$")
_SEPARATORS = re.compile(r"[\s,，、;]+")


# --- the flow to try -------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """The flow being tried, and where it came from.

    ``source`` is the YAML for a flow that may not be in the database yet (a file,
    or the embedded default); it is None for a flow read from the database, which
    is stored already and carries its version.
    """

    flow: Flow
    source: str | None
    origin: str


def _load(args: argparse.Namespace, settings: Settings, tr: Tr) -> Loaded | int:
    """FILE, else the active flow of an existing database, else the embedded default."""
    _ = tr.gettext
    if args.file:
        try:
            flow, source = load_flow_file(args.file)
        except FlowError as err:
            _print_problems(args.file, err, tr)
            return EXIT_PROBLEMS
        return Loaded(flow, source, _("the file {path}").format(path=args.file))
    if Path(settings.db_path).exists():
        stored = asyncio.run(_active_flow(settings))
        if stored is not None:
            origin = _("version {version} in {db}").format(
                version=stored.version, db=settings.db_path
            )
            return Loaded(stored, None, origin)
    source = default_flow_source()
    try:
        flow = load_flow_text(source)
    except FlowError as err:  # only if the package itself is broken; say so plainly
        _print_problems("judicial-assistance.yaml", err, tr)
        return EXIT_PROBLEMS
    return Loaded(flow, source, _("the built-in default flow"))


async def _active_flow(settings: Settings) -> Flow | None:
    # seed_default_flow=False: trying must not write a flow into someone's database.
    store = await Store.open(settings.db_path, seed_default_flow=False, secret=settings.secret_key)
    try:
        return await store.flows.active()
    except FlowNotFound:
        return None
    finally:
        await store.close()


def _print_problems(path: str, err: FlowError, tr: Tr) -> None:
    for problem in err.problems:
        print(f"{path}: {problem.render(tr.gettext)}", file=sys.stderr)


def _languages(requested: str | None, flow: Flow, i18n: I18n) -> tuple[str, str] | None:
    """(interface language, flow language), or None for a language we cannot show.

    Without --lang the interview runs in the flow's first language, as it does for
    a reader whose own language the flow lacks.
    """
    if requested is None:
        flow_lang = flow.languages[0]
        return (flow_lang if flow_lang in i18n.languages else SOURCE_LANG), flow_lang
    code = resolve(requested) or requested.strip().lower()
    if code in i18n.languages:
        return code, flow.language_for(code)
    if code in flow.languages:  # the flow speaks it though the bot's own texts do not
        return SOURCE_LANG, code
    return None


def _language_name(code: str) -> str:
    try:
        return language_name(code)
    except KeyError:
        return code


# --- the terminal ----------------------------------------------------------------------


class Terminal:
    """Prints outcomes as the bot would say them, and reads typed lines into inputs."""

    def __init__(self, flow: Flow, tr: Tr, flow_lang: str) -> None:
        self.flow = flow
        self.tr = tr
        self.lang = flow_lang
        _ = tr.gettext
        # English command words always work; the words on the bot's buttons too.
        self.words: dict[str, str] = {
            "back": "back",
            "skip": "skip",
            "keep": "keep",
            "done": "done",
            "quit": "quit",
            "exit": "quit",
            "send": "send",
            "change": "change",
        }
        for msgid, command in (
            ("Back", "back"),
            ("Skip", "skip"),
            ("Keep my answer", "keep"),
            ("Done", "done"),
            ("Send", "send"),
            ("Change an answer", "change"),
        ):
            self.words.setdefault(_(msgid).strip().casefold(), command)
        self._local = {
            "back": _("Back"),
            "skip": _("Skip"),
            "keep": _("Keep my answer"),
            "done": _("Done"),
            "send": _("Send"),
            "change": _("Change an answer"),
        }

    # -- output ---------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        print(text)

    def word(self, command: str) -> str:
        """A command as the help shows it: the English word, and the local one if any."""
        local = self._local.get(command)
        if local and self.tr.lang != SOURCE_LANG and local.casefold() != command:
            return f"{command} / {local}"
        return command

    def header(self, loaded: Loaded, requested_lang: str | None, save: bool) -> None:
        _ = self.tr.gettext
        self.say(RULE)
        self.say(self.flow.pick(self.flow.title, self.lang))
        self.say(
            _("Trying the flow {id} from {origin}.").format(id=self.flow.id, origin=loaded.origin)
        )
        if save:
            self.say(_("When you send it, the intake is stored as a test intake."))
        if requested_lang and self.lang != (resolve(requested_lang) or requested_lang):
            self.say(
                _(
                    "This flow has no texts in {language}; its questions are shown in {shown}."
                ).format(
                    language=_language_name(resolve(requested_lang) or requested_lang),
                    shown=_language_name(self.lang),
                )
            )
        self.say(RULE)

    def usage(self) -> None:
        """How to answer at a prompt; shown once, before the first question."""
        _ = self.tr.gettext
        self.say(
            _(
                "Type your answer and press Enter. Where answers are numbered, type the number. "
                "Where several answers may be chosen, type their numbers (for example 1 3) to "
                "mark or unmark them, then an empty line or {done}."
            ).format(done=self.word("done"))
        )
        self.say(
            _(
                "Where photos or files are asked for, type the path of a file, one per line, "
                "then an empty line or {done}."
            ).format(done=self.word("done"))
        )
        self.say(
            _(
                "Commands: {back} goes to the previous question, {skip} leaves out a question "
                "that may be skipped, {keep} keeps the answer you gave before, {quit} stops."
            ).format(
                back=self.word("back"),
                skip=self.word("skip"),
                keep=self.word("keep"),
                quit=self.word("quit"),
            )
        )
        self.say(RULE)

    def show(self, outcome: Ask | Review) -> None:
        for note in outcome.notes:
            self.say(note_text(PLAIN, self.flow, self.lang, note))
            self.say()
        if isinstance(outcome, Review):
            self.show_review(outcome)
            return
        step, state = outcome.step, outcome.state
        self.say(question_text(self.tr, PLAIN, self.flow, self.lang, step, state, outcome.refusal))
        self.show_choices(outcome)

    def show_choices(self, outcome: Ask) -> None:
        step, state = outcome.step, outcome.state
        _ = self.tr.gettext
        if step.type == "consent":
            self.say(f"  1. {_('I agree')}")
            self.say(f"  2. {_('I do not agree')}")
        elif step.type == "choice":
            for n, choice in enumerate(step.choices, start=1):
                self.say(f"  {n}. {self.flow.pick(choice.label, self.lang)}")
        elif step.type == "multi_choice":
            for n, choice in enumerate(step.choices, start=1):
                mark = "[x]" if choice.value in state.pending else "[ ]"
                self.say(f"  {n}. {mark} {self.flow.pick(choice.label, self.lang)}")

    def show_pending(self, outcome: Ask) -> None:
        """After a toggle or a file: what is collected so far, as the bot's edited message."""
        if outcome.step.type == "multi_choice":
            self.show_choices(outcome)
        else:
            n = len(outcome.state.pending)
            self.say(self.tr.ngettext("{n} file received.", "{n} files received.", n).format(n=n))

    def show_review(self, outcome: Review) -> None:
        if outcome.refusal is not None:
            self.say("⚠️ " + refusal_text(self.tr, self.flow, self.lang, outcome.refusal))
            self.say()
        for chunk in review_texts(self.tr, PLAIN, self.flow, self.lang, outcome.state):
            self.say(chunk)

    def review_hint(self) -> None:
        _ = self.tr.gettext
        self.say(
            _(
                "Type {send} to send, {change} and a number to change that answer "
                "(for example: change 2), or {back} to go back."
            ).format(send=self.word("send"), change=self.word("change"), back=self.word("back"))
        )

    def refused(self, message: str) -> None:
        self.say("⚠️ " + message)

    def caseworker_view(self, completed: Completed) -> None:
        """The pre-screen as a caseworker gets it: why the applicant may or may not qualify,
        and the priority score with every reason and its points."""
        _ = self.tr.gettext
        tr, flow, lang = self.tr, self.flow, self.lang
        screening = completed.screening
        self.say(RULE)
        self.say(_("What the caseworker sees:"))
        self.say()
        self.say(screening_text(tr, PLAIN, flow, lang, screening))
        self.say(RULE)

    # -- input ----------------------------------------------------------------------

    def command(self, line: str) -> str | None:
        return self.words.get(line.strip().casefold())

    def inputs(self, outcome: Ask, line: str) -> list[Input] | str:
        """What one typed line means on this question: inputs for the engine, or a
        message when the terminal itself cannot take it."""
        _ = self.tr.gettext
        step = outcome.step
        command = self.command(line)
        if command == "back":
            return [Back()]
        if command == "skip":
            return [Skip(step.id)]
        if command == "keep":
            if not outcome.has_previous:
                return _("There is no earlier answer to keep.")
            return [Keep(step.id)]
        if step.type in ("multi_choice", "attachments") and (command == "done" or not line.strip()):
            return [Done(step.id)]
        if step.type == "consent":
            return [_consent(step, line, self.tr)]
        if step.type == "multi_choice":
            return list(_toggles(line))
        if step.type == "attachments":
            path = Path(line.strip()).expanduser()
            if not path.is_file():
                return _("There is no file {path}.").format(path=line.strip())
            return [_attached(path)]
        return [Typed(line)]

    def review_input(self, line: str, outcome: Review) -> Input | None:
        """``send``, ``back``, ``change N`` (or just N) on the review; None if it is none."""
        command = self.command(line)
        if command == "send":
            return Submit()
        if command == "back":
            return Back()
        text = line.strip().casefold()
        number = text
        for word, meaning in self.words.items():
            if meaning == "change" and text.startswith(word):
                number = text[len(word) :].strip()
                break
        steps = answered_steps(self.flow, outcome.state)
        index = parse_index(number, len(steps))
        return None if index is None else Edit(steps[index].id)


def _consent(step: Step, text: str, tr: Tr) -> Input:
    """1 / 2, or the words on the bot's buttons; anything else is refused by the engine."""
    said = text.strip().casefold()
    if said in {"1", "agree", "yes", "y", "true", tr.gettext("I agree").casefold()}:
        return Picked(step.id, engine.AGREE)
    if said in {"2", "decline", "no", "n", "false", tr.gettext("I do not agree").casefold()}:
        return Picked(step.id, engine.DECLINE)
    return Typed(text)


def _toggles(text: str) -> list[Input]:
    """'1 3' or '1,3' toggles answers 1 and 3; anything else is one label or value."""
    if _NUMBERS.match(text):
        return [Typed(t) for t in _SEPARATORS.split(text.strip()) if t]
    return [Typed(text)]


def _attached(path: Path) -> Attached:
    return Attached({"kind": "document", "path": str(path.resolve()), "name": path.name})


def _read_line(term: Terminal) -> str | None:
    """One line from stdin, or None at its end. Piped lines are echoed after the prompt
    so that the output reads as a transcript of the interview."""
    try:
        line = input(PROMPT)
    except EOFError:
        print()
        return None
    if not sys.stdin.isatty():
        term.say(line)
    term.say()
    return line


# --- interactive -----------------------------------------------------------------------


def _interactive(term: Terminal) -> Completed | int:
    """Ask until the applicant sends (Completed), or return the exit status of a stop."""
    _ = term.tr.gettext
    flow = term.flow
    term.usage()
    outcome: Ask | Review = engine.start(flow)
    term.show(outcome)
    if isinstance(outcome, Review):
        term.review_hint()
    while True:
        line = _read_line(term)
        if line is None:
            term.say(_("The input ended before the interview was finished. Nothing was stored."))
            return EXIT_PROBLEMS
        if term.command(line) == "quit":
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
            result = _feed(flow, outcome, inputs)
        if isinstance(result, Completed):
            return result
        if isinstance(result, Ended):
            declined = refusal_text(term.tr, flow, term.lang, Refusal("declined"))
            term.say(declined)
            return EXIT_PROBLEMS
        if (
            isinstance(result, Ask)
            and isinstance(outcome, Ask)
            and result.step.id == outcome.step.id
            and result.refusal is None
            and result.step.type in ("multi_choice", "attachments")
        ):
            term.show_pending(result)  # a toggle or a file: the question stays open
        else:
            term.show(result)
            if isinstance(result, Review):
                term.review_hint()
        outcome = result


def _feed(flow: Flow, outcome: Ask | Review, inputs: list[Input]) -> Outcome:
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
        ):
            # One refused number of "1 3 9" leaves the marks as they were: all or nothing.
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


def _read_answers(path: str, tr: Tr) -> dict[str, Any] | str:
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
            else _toggles(str(value))
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
            found.append(_attached(path))
        return [*found, Done(step.id)]
    if isinstance(value, list):
        return _("only a question with several answers or files takes a list")
    if step.type == "consent":
        return [_consent(step, str(value), tr)]
    return [Typed(str(value))]


def _scripted(
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
            if step.required or step.type == "consent":
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
        result = _feed(flow, outcome, inputs)
        if isinstance(result, Ended):
            term.say(refusal_text(tr, flow, term.lang, Refusal("declined")))
            return EXIT_PROBLEMS, None
        if isinstance(result, Ask) and (result.refusal is not None or result.step.id == step.id):
            refusal = result.refusal or Refusal("")
            _report_refused(
                term, step, answers.get(step.id), refusal_text(tr, flow, term.lang, refusal)
            )
            return EXIT_PROBLEMS, None
        outcome = result
    if not isinstance(outcome, Review):  # pragma: no cover - the bound above is generous
        return EXIT_PROBLEMS, None
    unused = [key for key in answers if key not in outcome.state.answers]
    if unused:
        term.say(
            _("Not used, because these questions were not asked: {steps}").format(
                steps=", ".join(unused)
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


# --- --save ----------------------------------------------------------------------------


async def _save(
    settings: Settings, loaded: Loaded, flow_lang: str, completed: Completed, tr: Tr
) -> tuple[str, list[str]]:
    """Store the result as a submitted test intake; (reference, lines to tell the user).

    An intake refers to a published flow version, so a file that is not in the
    database yet is published first. Publishing makes a version current, and real
    applicants must not start on a flow someone is only trying: the flow that was
    active before is made current again at once.
    """
    _ = tr.gettext
    told: list[str] = []
    store = await Store.open(settings.db_path, secret=settings.secret_key)
    try:
        flow = loaded.flow
        if loaded.source is not None:
            flow = await _stored(store, flow, loaded.source, told, tr)
        view = await store.intakes.load_for_applicant(TRY_APPLICANT)
        if view.draft is not None:  # left by an interrupted earlier try: it would be reused
            await store.intakes.discard_draft(view.draft, TRY_APPLICANT, "try", 0)
        draft = await store.intakes.create_draft(
            applicant_id=TRY_APPLICANT,
            chat_id=TRY_APPLICANT,
            lang=flow_lang,
            flow=flow,
            state=completed.state,
            is_test=True,
        )
        assert draft is not None  # update id 0 is never a duplicate
        ref = await store.intakes.submit(draft, completed.state, completed.screening, 1)
        assert ref is not None
        return ref, told
    finally:
        await store.close()


async def _stored(store: Store, flow: Flow, source: str, told: list[str], tr: Tr) -> Flow:
    """The stored version with this exact source, storing it (not current) if there is none."""
    _ = tr.gettext
    stored = await store.flows.version_with_source(flow.id, source)
    if stored is not None:
        return await store.flows.get(flow.id, stored)
    active = await store.flows.active()
    published = await store.flows.publish(source, make_current=False)
    told.append(
        _(
            "This flow was not in the database: it was stored as {id} version {version} so "
            "that the test intake can refer to it."
        ).format(id=published.id, version=published.version)
    )
    told.append(
        _("New applicants still get {id} version {version}.").format(
            id=active.id, version=active.version
        )
    )
    return published


# --- the command -----------------------------------------------------------------------


def run_try(args: argparse.Namespace, settings: Settings) -> int:
    """``intake-bot try [FILE] [--lang L] [--answers FILE] [--save]``; returns the exit
    status: 0 finished, 1 refused, unfinished or declined, 2 a usage mistake."""
    _quiet_stdout_errors()
    try:
        i18n = I18n.load()
    except CatalogError as err:
        print(f"intake-bot: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    # Until the flow says which language to use, speak the one asked for, or English.
    early = i18n.tr(resolve(args.lang) or SOURCE_LANG)
    loaded = _load(args, settings, early)
    if isinstance(loaded, int):
        return loaded
    flow = loaded.flow
    langs = _languages(args.lang, flow, i18n)
    if langs is None:
        choices = sorted(set(i18n.languages) | set(flow.languages))
        print(
            early.gettext("Unknown language {lang}. Choose one of: {choices}.").format(
                lang=args.lang, choices=", ".join(choices)
            ),
            file=sys.stderr,
        )
        return EXIT_USAGE
    ui_lang, flow_lang = langs
    tr = i18n.tr(ui_lang)
    _ = tr.gettext
    term = Terminal(flow, tr, flow_lang)
    term.header(loaded, args.lang, args.save)

    if args.answers:
        answers = _read_answers(args.answers, tr)
        if isinstance(answers, str):
            print(answers, file=sys.stderr)
            return EXIT_PROBLEMS
        done, review = _scripted(term, answers, Path(args.answers).parent)
        if isinstance(done, int):
            return done
        assert review is not None
        term.show_review(review)
    else:
        finished = _interactive(term)
        if isinstance(finished, int):
            return finished
        done = finished
        term.say(_("Thank you. Your application has been sent."))

    term.caseworker_view(done)
    if args.save:
        ref, told = asyncio.run(_save(settings, loaded, flow_lang, done, tr))
        for line in told:
            term.say(line)
        term.say(_("Stored as a test intake in {db}.").format(db=settings.db_path))
        term.say(_("Your reference: {ref}").format(ref=tr.ltr(ref)))
    else:
        term.say(_("This was a try: nothing was stored. Use --save to store it as a test intake."))
    return EXIT_OK


def _quiet_stdout_errors() -> None:
    """A terminal that cannot show Chinese or Uyghur gets '?' instead of a traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure: Callable[..., None] | None = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a stream already in use
                reconfigure(errors="replace")


__all__ = ["run_try"]
