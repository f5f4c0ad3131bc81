"""``intake-bot export``: the applications as an Excel workbook or a CSV file (bot/export.py),
for the reporting clerk. The command line reads the whole database (like ``stats``);
``--region`` keeps the file to a region."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path

from bot import export
from bot.config import Settings
from bot.i18n import I18n, resolve
from bot.regions import is_code
from bot.store import Store
from bot.store.exports import Filter
from command_line.cli import CliError, _with_store


def _date(text: str | None, option: str) -> str | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise CliError(f"{option} {text!r} is not a date: write it as 2026-01-31") from None


def request_of(args: argparse.Namespace) -> export.Request:
    region = args.region
    if region is not None and not is_code(region):
        raise CliError(
            f"--region {region!r} is not a division code: give the 6 digits of a county"
            " (GB/T 2260, such as 653222), or its first 2 (province) or 4 (prefecture)"
        )
    statuses = tuple(dict.fromkeys(args.status or ()))
    for status in statuses:
        if status not in export.STATUSES:
            raise CliError(f"--status {status!r}: choose from {', '.join(export.STATUSES)}")
    fmt = args.format or Path(args.out).suffix.lstrip(".").lower() or "xlsx"
    if fmt not in export.FORMATS:
        raise CliError(f"--format {fmt!r}: choose xlsx or csv")
    flt = Filter(_date(args.since, "--from"), _date(args.until, "--to"), region, statuses)
    return export.Request(flt, fmt, with_sensitive=args.with_sensitive)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    lang = resolve(args.lang) if args.lang else "zh"
    if lang is None:
        raise CliError(f"unknown language {args.lang!r}; choose zh, en or ug")
    req = request_of(args)
    out = Path(args.out)
    tr = I18n.load().tr(lang)

    async def run(store: Store) -> int:
        made = await export.export(store, tr, req, out)
        print(
            f"{out}: applications {made.intakes}, referrals {made.referrals},"
            f" measures {made.measures}, check-ins {made.checkins},"
            f" history entries {made.history}"
            + ("; with phone and ID numbers: keep the file safe" if made.sensitive else "")
        )
        return 0

    return asyncio.run(_with_store(settings, run))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="applications as an Excel workbook (xlsx) or CSV file, for reports",
        description="Write the sent applications (and, in a workbook, their referrals and"
        " history) to FILE. Phone and ID numbers are left out unless --with-sensitive is"
        " given; every export is written in the audit.",
    )
    p.add_argument("--format", choices=export.FORMATS, help="xlsx or csv (default: from --out)")
    p.add_argument("--from", dest="since", metavar="DATE", help="sent on or after (2026-01-01)")
    p.add_argument("--to", dest="until", metavar="DATE", help="sent on or before (2026-06-30)")
    p.add_argument("--region", metavar="CODE", help="a region: GB/T 2260 code or prefix")
    p.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help=f"only this status ({', '.join(export.STATUSES)}); repeat for several",
    )
    p.add_argument("--lang", help="language of the headers and labels (zh, en, ug; default zh)")
    p.add_argument(
        "--with-sensitive",
        action="store_true",
        help="include phone and ID numbers (personal data: keep the file safe)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    p.set_defaults(func=cmd_export)
