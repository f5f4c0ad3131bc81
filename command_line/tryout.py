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

This module picks the flow and the language and runs the rest: the terminal's texts
and reading of typed lines are ``command_line/terminal.py``, the walk at the prompt
or from the answers file ``command_line/walk.py``, storing a test intake
``bot/trial.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.flow.engine import Completed
from bot.flow.loader import FlowError, default_flow_source, load_flow_file, load_flow_text
from bot.flow.model import Flow
from bot.flow.variables import values_of
from bot.i18n import SOURCE_LANG, CatalogError, Hotlines, I18n, Tr, resolve
from bot.store import FlowNotFound, Store
from bot.trial import save_trial
from command_line.terminal import Terminal
from command_line.walk import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    interactive,
    read_answers,
    scripted,
)

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


# --- --save ----------------------------------------------------------------------------


async def _save(
    settings: Settings, loaded: Loaded, flow_lang: str, completed: Completed, tr: Tr
) -> tuple[str, list[str]]:
    """Store the result as a submitted test intake (``bot.trial``); (reference, lines to
    tell the user)."""
    _ = tr.gettext
    store = await Store.open(settings.db_path, secret=settings.secret_key)
    try:
        saved = await save_trial(store, loaded.flow, loaded.source, flow_lang, completed)
    finally:
        await store.close()
    told: list[str] = []
    if saved.stored_as is not None and saved.still_active is not None:
        told.append(
            _(
                "This flow was not in the database: it was stored as {id} version {version} so "
                "that the test intake can refer to it."
            ).format(id=saved.stored_as.id, version=saved.stored_as.version)
        )
        told.append(
            _("New applicants still get {id} version {version}.").format(
                id=saved.still_active.id, version=saved.still_active.version
            )
        )
    return saved.ref, told


# --- the command -----------------------------------------------------------------------


def run_try(args: argparse.Namespace, settings: Settings) -> int:
    """``intake-bot try [FILE] [--lang L] [--answers FILE] [--save]``; returns the exit
    status: 0 finished, 1 refused, unfinished or declined, 2 a usage mistake."""
    _quiet_stdout_errors()
    try:
        i18n = I18n.load(hotlines=Hotlines.of(settings))
    except CatalogError as err:
        print(f"intake-bot: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    # Until the flow says which language to use, speak the one asked for, or English.
    early = i18n.tr(resolve(args.lang) or SOURCE_LANG)
    loaded = _load(args, settings, early)
    if isinstance(loaded, int):
        return loaded
    # Texts that name a setting ({settings.procuratorate_hotline}) show this bot's values.
    flow = loaded.flow.with_values(values_of(settings))
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
    term.header(loaded.origin, args.lang, args.save)

    if args.answers:
        answers = read_answers(args.answers, tr)
        if isinstance(answers, str):
            print(answers, file=sys.stderr)
            return EXIT_PROBLEMS
        done, review = scripted(term, answers, Path(args.answers).parent)
        if isinstance(done, int):
            return done
        assert review is not None
        term.show_review(review)
    else:
        finished = interactive(term)
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
