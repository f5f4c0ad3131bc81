"""The interview in a terminal: outcomes printed as the bot says them, typed lines read as inputs.

The texts are the chat's own (``bot.messages``, in plain form) and so is what a question
offers (``bot.asking``): the same answers, in the same order, and the moves by the same
names. Only the input differs: numbers and words typed at a prompt instead of buttons,
file paths instead of photos.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.asking import REVIEW_MOVES, Move, move_name, offer, skippable
from bot.flow import engine
from bot.flow.engine import (
    Ask,
    Attached,
    Back,
    Completed,
    Done,
    Edit,
    Input,
    Keep,
    Picked,
    Review,
    Shorten,
    Skip,
    Submit,
    Typed,
)
from bot.flow.model import Flow, Step
from bot.flow.values import parse_index
from bot.i18n import SOURCE_LANG, Tr, language_name, resolve
from bot.messages import (
    PLAIN,
    answered_steps,
    note_text,
    other_ways_to_apply,
    question_text,
    refusal_text,
    review_texts,
    screening_text,
)

RULE = "─" * 40
PROMPT = "> "
QUIT = "quit"

# The words typed for a move (the English ones; the local ones are its name).
_COMMANDS = (Move.BACK, Move.SKIP, Move.KEEP, Move.DONE, Move.SEND, Move.CHANGE)
# Offered only after an answer too long for its question.
_LONG = (Move.FIRST_PART, Move.ALL_PARTS)
# Several numbers on one line toggle several answers of a multi_choice question.
_NUMBERS = re.compile(r"^\s*\d+(?:[\s,，、;]+\d+)*\s*$")
_SEPARATORS = re.compile(r"[\s,，、;]+")
# A word and the number of an answer on the review: "change 2", "改 3", "修改3".
_CHANGE_N = re.compile(r"^(\D*?)\s*(\d+)$")


def language_label(code: str) -> str:
    try:
        return language_name(code)
    except KeyError:
        return code


class Terminal:
    """Prints outcomes as the bot would say them, and reads typed lines into inputs."""

    def __init__(self, flow: Flow, tr: Tr, flow_lang: str) -> None:
        self.flow = flow
        self.tr = tr
        self.lang = flow_lang
        # English command words always work; the names of the bot's buttons too.
        self.words: dict[str, str] = {command: command for command in _COMMANDS}
        self.words.update({QUIT: QUIT, "exit": QUIT})
        for command in (*_COMMANDS, *_LONG):
            self.words.setdefault(command, command)
            self.words.setdefault(move_name(tr, command).strip().casefold(), command)

    # -- output ---------------------------------------------------------------------

    def say(self, text: str = "") -> None:
        print(text)

    def word(self, command: str) -> str:
        """A command as the help shows it: the English word, and the local one if any."""
        if command == QUIT:
            return command
        local = move_name(self.tr, command)
        if local and self.tr.lang != SOURCE_LANG and local.casefold() != command:
            return f"{command} / {local}"
        return command

    def header(self, origin: str, requested_lang: str | None, save: bool) -> None:
        _ = self.tr.gettext
        self.say(RULE)
        self.say(self.flow.pick(self.flow.title, self.lang))
        self.say(_("Trying the flow {id} from {origin}.").format(id=self.flow.id, origin=origin))
        if save:
            self.say(_("When you send it, the intake is stored as a test intake."))
        if requested_lang and self.lang != (resolve(requested_lang) or requested_lang):
            self.say(
                _(
                    "This flow has no texts in {language}; its questions are shown in {shown}."
                ).format(
                    language=language_label(resolve(requested_lang) or requested_lang),
                    shown=language_label(self.lang),
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
            ).format(done=self.word(Move.DONE))
        )
        self.say(
            _(
                "Where photos or files are asked for, type the path of a file, one per line, "
                "then an empty line or {done}."
            ).format(done=self.word(Move.DONE))
        )
        self.say(
            _(
                "Commands: {back} goes to the previous question, {skip} leaves out a question "
                "that may be skipped, {keep} keeps the answer you gave before, {quit} stops."
            ).format(
                back=self.word(Move.BACK),
                skip=self.word(Move.SKIP),
                keep=self.word(Move.KEEP),
                quit=self.word(QUIT),
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
        self.say(
            question_text(
                self.tr, PLAIN, self.flow, self.lang, step, state, outcome.refusal, typed=True
            )
        )
        self.show_choices(outcome)

    def show_choices(self, outcome: Ask) -> None:
        """The question's answers, numbered as the chat's buttons are ordered."""
        offered = offer(self.flow, self.lang, outcome)
        n = 0
        for n, choice in enumerate(offered.choices, start=1):
            mark = ("[x] " if choice.chosen else "[ ] ") if offered.several else ""
            self.say(f"  {n}. {mark}{choice.label}")
        for move in offered.answers:
            if move in (Move.AGREE, Move.DECLINE):  # typed as numbers after the choices
                n += 1
                self.say(f"  {n}. {move_name(self.tr, move)}")
            elif move in _LONG:  # typed as their word
                self.say(f"  {self.word(move)}")

    def show_pending(self, outcome: Ask) -> None:
        """After a toggle or a file: what is collected so far, as the bot's edited message."""
        if outcome.step.type == "multi_choice":
            self.show_choices(outcome)
        else:
            n = len(outcome.state.pending)
            self.say(self.tr.ngettext("{n} file received.", "{n} files received.", n).format(n=n))

    def show_review(self, outcome: Review) -> None:
        if outcome.refusal is not None:
            self.say(
                "⚠️ " + refusal_text(self.tr, self.flow, self.lang, outcome.refusal, typed=True)
            )
            self.say()
        for chunk in review_texts(self.tr, PLAIN, self.flow, self.lang, outcome.state, typed=True):
            self.say(chunk)

    def review_hint(self) -> None:
        _ = self.tr.gettext
        send, change, back = (self.word(move) for move in REVIEW_MOVES)
        self.say(
            _(
                "Type {send} to send, {change} and a number to change that answer "
                "(for example: change 2), or {back} to go back."
            ).format(send=send, change=change, back=back)
        )

    def refused(self, message: str) -> None:
        self.say("⚠️ " + message)

    def declined(self) -> None:
        """Consent declined: the interview ends, as the chat says it."""
        self.say(refusal_text(self.tr, self.flow, self.lang, engine.Refusal("declined")))
        self.say(other_ways_to_apply(self.tr))

    def caseworker_view(self, completed: Completed) -> None:
        """The pre-screen as a caseworker gets it: why the applicant may or may not qualify,
        and the priority score with every reason and its points."""
        _ = self.tr.gettext
        self.say(RULE)
        self.say(_("What the caseworker sees:"))
        self.say()
        self.say(screening_text(self.tr, PLAIN, self.flow, self.lang, completed.screening))
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
        if command == Move.BACK:
            return [Back()]
        if command == Move.SKIP:
            return [Skip(step.id)]
        if command == Move.KEEP:
            if not outcome.has_previous:
                return _("There is no earlier answer to keep.")
            return [Keep(step.id)]
        if command in _LONG and step.type == "text" and outcome.state.pending:
            return [Shorten(step.id, whole=command == Move.ALL_PARTS)]
        if step.type in ("multi_choice", "attachments") and (
            command == Move.DONE or not line.strip()
        ):
            return [Done(step.id)]
        if not line.strip() and skippable(step):
            return [Skip(step.id)]  # an empty line leaves an optional question unanswered
        if step.type == "consent":
            return [consent_input(step, line, self.tr)]
        if step.type == "multi_choice":
            return list(toggles(line))
        if step.type == "attachments":
            path = Path(line.strip()).expanduser()
            if not path.is_file():
                return _("There is no file {path}.").format(path=line.strip())
            return [attached(path)]
        return [Typed(line)]

    def review_input(self, line: str, outcome: Review) -> Input | None:
        """``send``, ``back``, ``change N`` (or just N) on the review; None if it is none."""
        command = self.command(line)
        if command == Move.SEND:
            return Submit()
        if command == Move.BACK:
            return Back()
        text = line.strip().casefold()
        number = text
        said = _CHANGE_N.match(text)
        if said is not None and self.means_change(said.group(1)):
            number = said.group(2)
        steps = answered_steps(self.flow, outcome.state)
        index = parse_index(number, len(steps))
        return None if index is None else Edit(steps[index].id)

    def means_change(self, word: str) -> bool:
        """Whether ``word`` (before the number of "change 2", "改 3", "修改 3") asks to change
        an answer: nothing, the English word, or the button's name or any part of it, as a
        person shortens it ("改" of "修改回答")."""
        word = word.strip().casefold()
        if not word or word in ("change", "edit"):
            return True
        local = move_name(self.tr, Move.CHANGE).casefold()
        return word in local or (word in self.words and self.words[word] == Move.CHANGE)

    def read_line(self) -> str | None:
        """One line from stdin, or None at its end. Piped lines are echoed after the
        prompt so that the output reads as a transcript of the interview."""
        try:
            line = input(PROMPT)
        except EOFError:
            print()
            return None
        if not sys.stdin.isatty():
            self.say(line)
        self.say()
        return line


def consent_input(step: Step, text: str, tr: Tr) -> Input:
    """1 / 2, or the words on the bot's buttons; anything else is refused by the engine."""
    said = text.strip().casefold()
    if said in {"1", "agree", "yes", "y", "true", move_name(tr, Move.AGREE).casefold()}:
        return Picked(step.id, engine.AGREE)
    if said in {"2", "decline", "no", "n", "false", move_name(tr, Move.DECLINE).casefold()}:
        return Picked(step.id, engine.DECLINE)
    return Typed(text)


def toggles(text: str) -> list[Input]:
    """'1 3' or '1,3' toggles answers 1 and 3; anything else is one label or value."""
    if _NUMBERS.match(text):
        return [Typed(t) for t in _SEPARATORS.split(text.strip()) if t]
    return [Typed(text)]


def attached(path: Path) -> Attached:
    return Attached({"kind": "document", "path": str(path.resolve()), "name": path.name})
