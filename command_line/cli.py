"""The ``intake-bot`` command.

Every mistake a user can make (a bad file, a missing token, a wrong id) ends
in a plain message on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot import redact
from bot.casework.measure_terms import BODY_KINDS
from bot.config import ConfigError, Settings, load_settings
from bot.crypto import SecretKeyError
from bot.dburl import is_postgres
from bot.flow.loader import FlowError, load_flow_file
from bot.regions import EVERYWHERE, Scope, codes
from bot.store import FlowNotFound, SchemaTooNew, Store
from bot.store.roles import ROLES

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A user's mistake: printed as one line, exit status 1."""


def _print_problems(path: str, err: FlowError) -> None:
    for problem in err.problems:
        print(f"{path}: {problem}", file=sys.stderr)


async def _with_store(settings: Settings, fn: Callable[[Store], Awaitable[int]]) -> int:
    store = await Store.open(
        settings.db_path,
        admin_ids=settings.admin_ids,
        secret=settings.secret_key,
        default_region=settings.default_region,
        files_dir=settings.files_dir,
    )
    try:
        return await fn(store)
    finally:
        await store.close()


# --- flow ------------------------------------------------------------------------------


def cmd_flow_validate(args: argparse.Namespace, settings: Settings) -> int:
    status = EXIT_OK
    for path in args.files:
        try:
            flow, _ = load_flow_file(path)
        except FlowError as err:
            _print_problems(path, err)
            status = EXIT_PROBLEMS
            continue
        asks = sum(1 for s in flow.steps if s.asks_input)
        print(
            f"{path}: ok: flow {flow.id!r}, {len(flow.steps)} steps ({asks} questions), "
            f"languages {', '.join(flow.languages)}"
        )
    return status


def cmd_flow_publish(args: argparse.Namespace, settings: Settings) -> int:
    try:
        _, source = load_flow_file(args.file)
    except FlowError as err:
        _print_problems(args.file, err)
        return EXIT_PROBLEMS

    async def run(store: Store) -> int:
        flow = await store.flows.publish(source)
        print(f"published {flow.id} version {flow.version}; new intakes use it")
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


def cmd_flow_list(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        rows = await store.flows.versions()
        print(f"{'flow':<28} {'version':>7}  {'published (UTC)':<20} {'intakes':>7}  current")
        for v in rows:
            mark = "active" if v.is_active else ("current" if v.is_current else "")
            print(f"{v.flow_id:<28} {v.version:>7}  {v.published_at:<20} {v.intakes:>7}  {mark}")
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


def cmd_flow_export(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        source = await store.flows.source(args.id, args.version)
        if args.output:
            Path(args.output).write_text(source, encoding="utf-8")
        else:
            sys.stdout.write(source if source.endswith("\n") else source + "\n")
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


def cmd_flow_rollback(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        await store.flows.rollback(args.id, args.version)
        print(f"{args.id} version {args.version} is current again; new intakes use it")
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


# --- roles -----------------------------------------------------------------------------

# The command line does not talk to Telegram; the bot sets every staff menu when it starts.
_MENU_LATER = "their command menu in Telegram changes when the bot next starts"


def _regions(given: list[str] | None) -> list[str] | None:
    """``--region`` values as division codes; CliError names one that is not."""
    if not given:
        return None
    try:
        return sorted(codes(given))
    except ValueError as bad:
        raise CliError(
            f"--region {str(bad)!r} is not a division code: give the 6 digits of a county"
            " (GB/T 2260, such as 653222), or its first 2 (province) or 4 (prefecture)"
        ) from None


def _covers(regions: tuple[str, ...] | list[str] | None) -> str:
    return "regions " + ", ".join(regions) if regions else "all regions"


def cmd_roles_grant(args: argparse.Namespace, settings: Settings) -> int:
    regions = _regions(args.region)
    if regions is not None and args.all_regions:
        raise CliError("give --region or --all-regions, not both")
    if regions is not None and args.role == "admin":
        raise CliError("an admin's role covers every region: --region is for staff roles")
    # None keeps the regions an existing role has; [] widens it back to every region.
    wanted = [] if args.all_regions else regions

    async def run(store: Store) -> int:
        new = await store.roles.grant(
            args.user_id, args.role, label=args.label, regions=wanted, kind=args.kind
        )
        what = "granted" if new else "already held; updated"
        covers = (await store.roles.scope(args.user_id, args.role)).prefixes
        print(f"{args.user_id}: {args.role} {what} ({_covers(sorted(covers or ()))})")
        print(_MENU_LATER)
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


def cmd_roles_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        if await store.roles.revoke(args.user_id, args.role):
            print(f"{args.user_id}: {args.role} revoked")
            print(_MENU_LATER)
            return EXIT_OK
        print(f"intake-bot: {args.user_id} does not have the role {args.role}", file=sys.stderr)
        return EXIT_PROBLEMS

    return asyncio.run(_with_store(settings, run))


def cmd_roles_list(args: argparse.Namespace, settings: Settings) -> int:
    async def run(store: Store) -> int:
        grants = await store.roles.grants()
        if not grants:
            print("no roles granted (admins come from INTAKE_ADMIN_IDS)")
        for g in grants:
            source = " (INTAKE_ADMIN_IDS)" if g.from_config else ""
            label = f"  {g.label}" if g.label else ""
            label += f"  ({g.kind})" if g.kind else ""
            # A role kept to regions lists them; one without covers every region, as
            # every role did before regions (its line reads as it always did).
            regions = f"  regions {','.join(g.regions)}" if g.regions else ""
            print(f"{g.user_id:>14}  {g.role:<10}{regions}{label}{source}")
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


# --- stats -----------------------------------------------------------------------------


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot import stats
    from bot.i18n import I18n, resolve
    from bot.messages import PLAIN

    i18n = I18n.load()
    lang = resolve(args.lang) if args.lang else "en"
    if lang is None:
        raise CliError(f"unknown language {args.lang!r}; choose zh, en or ug")

    regions = _regions(args.region)
    scope = Scope(frozenset(regions)) if regions else EVERYWHERE

    async def run(store: Store) -> int:
        tr = i18n.tr(lang)
        figures = await stats.figures(store, scope)
        print(stats.render(tr, PLAIN, figures))
        if args.chart:
            from bot import charts

            Path(args.chart).write_bytes(charts.png(charts.build(tr, figures)))
            print(f"chart written to {args.chart}")
        return EXIT_OK

    return asyncio.run(_with_store(settings, run))


# --- keys, backups ----------------------------------------------------------------------


def _sqlite_only(settings: Settings, what: str) -> None:
    """Backups and key rotation work on a SQLite file; PostgreSQL has its own tools."""
    if is_postgres(settings.db_path):
        raise CliError(
            f"{what} works on a SQLite database only: back up PostgreSQL with its own tools"
            " (pg_dump) and the files' folder"
        )


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from command_line.backups import cmd_backup

    _sqlite_only(settings, "backup")
    return cmd_backup(args, settings)


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from command_line.backups import cmd_restore

    _sqlite_only(settings, "restore")
    return cmd_restore(args, settings)


def _keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from command_line.keys import cmd_keys_rotate

    _sqlite_only(settings, "keys rotate")
    return cmd_keys_rotate(args, settings)


# --- run -------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from telegram_channel.app import run_bot

    settings.require_token()
    return run_bot(settings)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from telegram_channel.app import configure_logging
    from web_channel.app import serve_web

    if args.qr:
        from web_channel.qr import write_qr

        if not settings.web_public_url:
            print(
                "intake-bot: set INTAKE_WEB_PUBLIC_URL to the address people open"
                " (https://...) to make its QR code",
                file=sys.stderr,
            )
            return 2
        write_qr(settings.web_public_url, Path(args.qr))
        print(f"{args.qr}: the QR code of {settings.web_public_url}")
        return 0
    configure_logging(settings)
    asyncio.run(serve_web(settings))
    return 0


def cmd_try(args: argparse.Namespace, settings: Settings) -> int:
    from command_line.tryout import run_try

    return run_try(args, settings)


# --- parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake-bot",
        description="Judicial assistance intake bot: run it, and manage its question flows.",
        epilog="The database is INTAKE_DB (default ./intake.db).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run the bot (long polling, or a webhook if configured)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "web", help="serve only the web chat for applicants (INTAKE_WEB_PORT, default 8080)"
    )
    p.add_argument(
        "--qr",
        metavar="FILE.png",
        help="write the QR code of INTAKE_WEB_PUBLIC_URL to FILE.png instead of serving",
    )
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("try", help="walk an interview in the terminal, no Telegram needed")
    p.add_argument("file", nargs="?", help="a flow file (default: the current flow)")
    p.add_argument("--lang", help="language of the interview (zh, en, ug)")
    p.add_argument("--answers", help="YAML or JSON file: step id -> answer; no prompts")
    p.add_argument("--save", action="store_true", help="store the result as a test intake")
    p.set_defaults(func=cmd_try)

    flow = sub.add_parser("flow", help="validate, publish, list, export and roll back flows")
    fsub = flow.add_subparsers(dest="flow_command", metavar="ACTION")
    p = fsub.add_parser("validate", help="check flow files; every problem with its line")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_flow_validate)
    p = fsub.add_parser("publish", help="store FILE as the next version of its flow")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_flow_publish)
    p = fsub.add_parser("list", help="list flow versions and which is current")
    p.set_defaults(func=cmd_flow_list)
    p = fsub.add_parser("export", help="print a flow version's YAML")
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--version", type=int)
    p.add_argument("-o", "--output", metavar="FILE")
    p.set_defaults(func=cmd_flow_export)
    p = fsub.add_parser("rollback", help="make an older version current again")
    p.add_argument("id", metavar="ID")
    p.add_argument("version", type=int, metavar="VERSION")
    p.set_defaults(func=cmd_flow_rollback)
    flow.set_defaults(func=lambda a, s: _usage(flow))

    roles = sub.add_parser("roles", help="grant, revoke and list caseworker/partner/admin roles")
    rsub = roles.add_subparsers(dest="roles_command", metavar="ACTION")
    p = rsub.add_parser("grant", help="give USER_ID (a Telegram user id) a role")
    p.add_argument("user_id", type=int, metavar="USER_ID")
    p.add_argument("role", choices=ROLES)
    p.add_argument("--label", help="a partner's department or region; a caseworker's name")
    p.add_argument(
        "--kind",
        choices=sorted(BODY_KINDS),
        help="a partner's kind of body (counted in the plans' figures)",
    )
    p.add_argument(
        "--region",
        action="append",
        metavar="CODE",
        help="a region the role covers, by its GB/T 2260 code (653222 a county, 6532 a"
        " prefecture, 65 a province); repeat for several; replaces the regions it had."
        " Without it a new role covers every region and an existing one keeps its regions",
    )
    p.add_argument(
        "--all-regions",
        action="store_true",
        help="widen a role kept to regions back to every region",
    )
    p.set_defaults(func=cmd_roles_grant)
    p = rsub.add_parser("revoke", help="take a role away")
    p.add_argument("user_id", type=int, metavar="USER_ID")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(func=cmd_roles_revoke)
    p = rsub.add_parser("list", help="who has which role")
    p.set_defaults(func=cmd_roles_list)
    roles.set_defaults(func=lambda a, s: _usage(roles))

    p = sub.add_parser(
        "backup", help="copy the database and the stored files into one archive, or check one"
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--out", metavar="FILE", help="write a backup (.tar, or .tar.gz)")
    which.add_argument("--verify", metavar="FILE", help="check a backup and report its counts")
    p.add_argument("--with-key", action="store_true", help="put the key file in it too")
    p.set_defaults(func=_backup)

    p = sub.add_parser("restore", help="put a backup in place (stop the bot first)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--force", action="store_true", help="replace an existing database")
    p.set_defaults(func=_restore)

    keys = sub.add_parser("keys", help="rotate the encryption key of personal data")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    p = ksub.add_parser(
        "rotate",
        help="seal everything again with a new key (stop the bot first; resumes if interrupted)",
    )
    p.add_argument(
        "--new-secret-file",
        metavar="PATH",
        help="with INTAKE_SECRET_KEY: the new secret (a new key is written there if missing)",
    )
    p.set_defaults(func=_keys_rotate)
    keys.set_defaults(func=lambda a, s: _usage(keys))

    p = sub.add_parser("stats", help="intakes by status, week, group and help wanted; amounts")
    p.add_argument("--lang", help="language of the report (zh, en, ug; default en)")
    p.add_argument(
        "--region",
        action="append",
        metavar="CODE",
        help="count only this region (GB/T 2260 code or prefix); repeat for several",
    )
    p.add_argument(
        "--chart",
        metavar="FILE.png",
        help="also draw the figures as a PNG chart (weeks by status, regions, groups, help"
        " wanted, amounts per month), labelled in --lang",
    )
    p.set_defaults(func=cmd_stats)

    from command_line import databases, exports, forms  # they import this module

    exports.add_parser(sub)
    forms.add_parser(sub)
    databases.add_parser(sub)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit status. Called in-process by tests and by ``entry``."""
    return _main(argv)


def entry() -> None:
    """The ``intake-bot`` program: ``main``, then the process ends with its status.

    A failure must end the process, so that a supervisor sees it and starts it again: a
    thread a library left running (a database connection) would keep it alive, so then it
    ends with ``os._exit``. Only here, in the program's own process, never in ``main``: a
    caller that goes on after it (a test run) must not be ended by another's thread."""
    status = main()
    if status != EXIT_OK and _held_open():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


def _held_open(grace: float = 3.0) -> bool:
    """Whether a thread that would keep the process alive is still running ``grace``
    seconds from now (threads that are only ending, a closed connection's, are waited for:
    a caller that goes on after ``main``, such as a test, must not be ended with it)."""
    deadline = time.monotonic() + grace
    main_thread = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main_thread and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    return any(
        t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate()
    )


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    settings: Settings | None = None
    try:
        settings = load_settings()
        # Commands other than run print their own results; only warnings go to the log.
        level = settings.log_level if args.command == "run" else "WARNING"
        logging.basicConfig(
            level=getattr(logging, level, logging.WARNING),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)
        redact.install(settings)
        return int(args.func(args, settings) or 0)
    except ConfigError as err:
        print(f"intake-bot: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except (FlowNotFound, CliError) as err:
        print(f"intake-bot: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except (SchemaTooNew, SecretKeyError) as err:
        print(f"intake-bot: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except FileNotFoundError as err:
        print(f"intake-bot: no such file: {err.filename}", file=sys.stderr)
        return EXIT_PROBLEMS
    except OSError as err:
        print(f"intake-bot: {err.strerror or err}: {getattr(err, 'filename', '')}", file=sys.stderr)
        return EXIT_PROBLEMS
    except sqlite3.Error as err:
        where = f" {settings.db_path}" if settings is not None else ""
        print(f"intake-bot: cannot use the database{where}: {err}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        if type(err).__module__.split(".")[0] == "psycopg":  # PostgreSQL's driver: one line
            print(f"intake-bot: cannot use the database: {err}", file=sys.stderr)
            return EXIT_PROBLEMS
        # A bug, not a user's mistake: the traceback (through the log, so secrets are
        # hidden) helps whoever reports it, and the exit status tells the supervisor.
        logging.getLogger("command_line.cli").critical(
            "stopped by an unexpected error", exc_info=True
        )
        return EXIT_PROBLEMS


if __name__ == "__main__":
    entry()
