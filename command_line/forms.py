"""``intake-bot form REF --out FILE.docx``: one intake's printable case form (bot/caseform.py),
for the paper case file. The command line reads the whole database (like ``export``); the
form's making is written in the audit all the same."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot import caseform
from bot.casework import Casework, Conflict
from bot.casework.decisions import normal_ref
from bot.config import Settings
from bot.i18n import I18n, resolve
from bot.messages import PLAIN
from bot.store import Store
from command_line.cli import CliError, _with_store


def cmd_form(args: argparse.Namespace, settings: Settings) -> int:
    lang = resolve(args.lang) if args.lang else "zh"
    if lang is None:
        raise CliError(f"unknown language {args.lang!r}; choose zh, en or ug")
    i18n = I18n.load()
    out = Path(args.out)

    async def run(store: Store) -> int:
        ref = normal_ref(args.ref)
        intake = await store.intakes.by_ref(ref) if ref else None
        if intake is None:
            raise CliError(f"no application has the reference {args.ref!r}")
        work = Casework(store, i18n, settings, fmt=PLAIN)
        try:
            card = await work.decisions.printable(None, intake.id)
        except Conflict:
            raise CliError(
                f"{ref}: no form can be made (not sent, or its personal data was erased)"
            ) from None
        out.write_bytes(caseform.docx(i18n.tr(lang), card))
        print(f"{out}: the form of {ref}")
        return 0

    return asyncio.run(_with_store(settings, run))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "form",
        help="one application's printable case form (Word), for the paper file",
        description="Write the case form of the application REF (its particulars, answers,"
        " pre-screen, attachments, decision and referrals, with room for signatures) as a"
        " Word document. Making it is written in the audit.",
    )
    p.add_argument("ref", metavar="REF", help="the application's reference, such as ABC-DEF")
    p.add_argument("--lang", help="language of the form (zh, en, ug; default zh)")
    p.add_argument("--out", required=True, metavar="FILE.docx", help="the file to write")
    p.set_defaults(func=cmd_form)
