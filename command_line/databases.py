"""``intake-bot db copy``: move a deployment from SQLite to PostgreSQL (bot/store/transfer.py)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.config import Settings
from bot.dburl import is_postgres, postgres_driver_missing, sqlite_path
from command_line.cli import CliError


def add_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="move the database to PostgreSQL")
    dsub = db.add_subparsers(dest="db_command", metavar="ACTION")
    p = dsub.add_parser(
        "copy",
        help="copy a SQLite database into an empty PostgreSQL one and check the counts"
        " (stop the bot first)",
    )
    p.add_argument("--from", dest="source", required=True, metavar="SQLITE_PATH")
    p.add_argument("--to", dest="target", required=True, metavar="POSTGRES_URL")
    p.set_defaults(func=cmd_db_copy)
    db.set_defaults(func=lambda a, s: _usage(db))


def _usage(parser: argparse.ArgumentParser) -> int:
    from command_line.cli import _usage as usage

    return usage(parser)


def cmd_db_copy(args: argparse.Namespace, settings: Settings) -> int:
    if not is_postgres(args.target):
        raise CliError("--to must be a PostgreSQL URL: postgresql://user@host/database")
    missing = postgres_driver_missing()
    if missing:
        raise CliError(missing)
    from bot.store.transfer import CopyError, copy_to_postgres  # psycopg: the postgres extra

    source = sqlite_path(args.source)
    try:
        counts = asyncio.run(copy_to_postgres(source, args.target))
    except CopyError as err:
        raise CliError(str(err)) from None
    print(f"copied {sum(counts.values())} rows of {len(counts)} tables; every count matches")
    print(
        "the sealed data opens with the same key: set INTAKE_SECRET_KEY to it (the key file "
        "beside the SQLite file holds it) and INTAKE_FILES to the files' folder"
    )
    return 0
