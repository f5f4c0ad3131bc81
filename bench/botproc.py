"""One bot under test, in a process of its own (started by ``bench/run.py``).

    python bench/botproc.py --kind intake|conversation|echo --api-url URL --workdir DIR \
        [--bot-api-client own|stock]
    python bench/botproc.py --setup --seed 100000 --workdir DIR   # database + drafts, exit
    ... [--db postgresql://...] [--webhook-port PORT]   # PostgreSQL; webhook mode

Prints ``READY`` on stdout once polling runs, serves until SIGTERM, stops cleanly and prints
one JSON line (its peak RSS, CPU time, and the profile when asked). Logging goes to stderr at
WARNING. The intake bot is the real Application: ``telegram_channel.app.open_services`` +
``build_application`` + ``start_polling`` / ``stop_app``, configured through
``bot.config.Settings`` with ``rate_limit=0`` (the per-user limit, 30 updates a minute, would
otherwise stop a simulated applicant who answers as fast as the bot replies), on the Bot API
client ``--bot-api-client`` names (``own``, the default, or ``stock``).

``--db`` puts the intake bot on a PostgreSQL database instead of ``workdir/intake.db``.
``--webhook-port`` serves Telegram's webhook instead of polling, through
``telegram_channel.app.serve`` itself, as ``intake-bot run`` does: on PostgreSQL that is
the several-instances mode (a chat's advisory lock across instances, no applicant views
kept), whether one instance runs or several, so that one and two compare alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

TOKEN = "123456:BENCH-TOKEN-not-a-secret"
# On PostgreSQL the key comes from the settings (INTAKE_SECRET_KEY): a bench key, not a secret.
BENCH_KEY = "b" * 43 + "="
WEBHOOK_SECRET = "bench-webhook-secret"
SEEDED_FIRST_ID = 5_000_000_000  # Telegram user ids of the stored drafts
log = logging.getLogger("bench.bot")


def _settings(api_url: str, args: argparse.Namespace, bot_api_client: str = "own") -> Any:
    from bot.config import Settings
    from bot.dburl import is_postgres

    # PostgreSQL has no folder beside it for the key and the files (INTAKE_SECRET_KEY,
    # INTAKE_FILES): the key is the bench's, the files go into the work directory.
    db_path = _db_path(args)
    postgres: dict[str, Any] = {}
    if is_postgres(db_path):
        postgres = {"secret_key": BENCH_KEY, "files": str(Path(args.workdir) / "files")}
    return Settings(
        token=TOKEN,
        api_url=f"{api_url}/bot",
        db_path=db_path,
        rate_limit=0,
        log_level="WARNING",
        bot_api_client=bot_api_client,
        **postgres,
    )


def _db_path(args: argparse.Namespace) -> str:
    return args.db or str(Path(args.workdir) / "intake.db")


def parse_what_if(items: list[str]) -> dict[str, Any]:
    """``--what-if concurrency=32 --what-if pool=8 --what-if sniffio --what-if warm
    --what-if one_call_per_tap``: experiments only, never the shipped configuration."""
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        if key in ("concurrency", "pool"):
            out[key] = int(value)
        elif key in ("sniffio", "warm", "one_call_per_tap") and not value:
            out[key] = True
        else:
            raise SystemExit(f"unknown --what-if {item!r}")
    return out


def customise(builder: Any, what_if: dict[str, Any]) -> Any:
    """Apply ``pool`` to a baseline's ApplicationBuilder."""
    if "pool" in what_if:
        builder = builder.connection_pool_size(int(what_if["pool"]))
    return builder


def intake_like_request(what_if: dict[str, Any]) -> Any:
    """For the echo bot, the ceiling of the intake bot's plumbing: a Bot API request object
    of the class and pool size the own client uses (``BotApiRequest``; PTB's httpx default
    only for a commit that has none)."""
    from telegram.request import HTTPXRequest

    import telegram_channel.app

    size = int(what_if.get("pool", shipped_pool(telegram_channel.app)))
    cls = own_request_class()
    if cls is None:
        return HTTPXRequest(connection_pool_size=size)
    try:
        return cls(connection_pool_size=size, pool_timeout=30.0)
    except TypeError:
        return cls()


def own_request_class() -> Any:
    """The own client's request class, where it lives now or where older commits kept it;
    None for a commit that has none. An echo bot that silently fell back to httpx measured
    the stock plumbing, not ours (ten times the CPU per update)."""
    import importlib

    for where in ("telegram_channel.transport", "telegram_channel.app", "bot.app"):
        try:
            cls = getattr(importlib.import_module(where), "BotApiRequest", None)
        except ImportError:
            continue
        if cls is not None:
            return cls
    return None


def shipped_pool(app_module: Any) -> int:
    """The connections telegram_channel.app gives the intake bot in the bench (send_rate=0: no limit)."""
    if hasattr(app_module, "pool_size"):
        return int(app_module.pool_size(0))
    return int(getattr(app_module, "POOL_SIZE", 256))


def apply_what_if_to_intake(what_if: dict[str, Any]) -> None:
    """Change what ``telegram_channel.app.build_application`` builds, without touching its code:
    ``concurrency`` = updates handled at once (shipped: 256), ``pool`` = connections to the
    Bot API (telegram_channel.app's ``pool_size``, or ``POOL_SIZE`` in older commits);
    ``one_call_per_tap`` = a tap on an interview question is answered with the next question
    only, as the echo bot answers, without acknowledging it or closing the question."""
    from telegram.ext import ApplicationBuilder

    import telegram_channel.app

    if what_if.get("one_call_per_tap"):
        _one_call_per_tap()

    if "concurrency" in what_if:
        n = int(what_if["concurrency"])
        original = telegram_channel.app.PerChatUpdateProcessor

        class Processor(original):  # type: ignore[misc, valid-type]
            def __init__(self, max_concurrent_updates: int = 256) -> None:
                super().__init__(n)

        telegram_channel.app.PerChatUpdateProcessor = Processor  # type: ignore[misc]
    pool = what_if.get("pool")
    if pool is not None and hasattr(telegram_channel.app, "pool_size"):
        size = int(pool)
        telegram_channel.app.pool_size = lambda send_rate: size  # type: ignore[attr-defined]
        pool = None
    elif pool is not None and hasattr(telegram_channel.app, "POOL_SIZE"):
        telegram_channel.app.POOL_SIZE = int(pool)  # type: ignore[attr-defined]
        pool = None
    if pool is None:
        return

    class Builder(ApplicationBuilder):  # type: ignore[type-arg]
        """Commits that let PTB build its own httpx pool: set its size."""

        def __init__(self) -> None:
            super().__init__()
            super().connection_pool_size(int(pool))

        def connection_pool_size(self, size: int) -> Any:
            return super().connection_pool_size(int(pool))

    telegram_channel.app.ApplicationBuilder = Builder  # type: ignore[misc]


def _one_call_per_tap() -> None:
    """What the two calls the shipped bot adds to a tap cost: Telegram's spinner would turn
    until it times out, and the old question would keep its buttons and not show the answer."""
    import handlers.applicant
    import handlers.interview_view

    plain_acknowledge = handlers.applicant.acknowledge

    async def acknowledge(query: Any, text: str | None = None) -> None:
        if text:  # a notice the applicant reads still goes
            await plain_acknowledge(query, text)

    async def close_question(self: Any, turn: Any, step: Any, message: Any) -> None:
        return None

    handlers.applicant.acknowledge = acknowledge  # type: ignore[assignment]
    handlers.interview_view.InterviewView.close_question = close_question  # type: ignore[method-assign]


async def start_intake(args: argparse.Namespace) -> tuple[Any, Any]:
    from telegram_channel.app import (
        build_application,
        open_services,
        settle_memory,
        start_polling,
        stop_app,
    )

    apply_what_if_to_intake(args.what_if)
    settings = _settings(args.api_url, args, args.bot_api_client)
    if args.limiter == "off":
        # The fake is not Telegram: the figure wanted is the bot's own capacity, so the
        # shipped 30 messages/s (INTAKE_SEND_RATE) is lifted; retries are kept.
        settings = dataclasses.replace(settings, send_rate=0)
    if args.webhook_port:
        return None, await _serve_webhook(settings, args.webhook_port)
    services = await open_services(settings)
    try:
        if args.what_if.get("warm"):
            # What a cache warmed at start (or filled once under a lock) would do: the first
            # updates after a restart otherwise each parse the flow's YAML (~55 ms, ~1 MB).
            await services.store.flows.active()
        app = build_application(services)
        await start_polling(app, timeout=10)
        await settle_memory(services)  # as telegram_channel.app.serve does once the bot serves
    except BaseException:
        await services.store.close()  # its threads would keep this process alive
        raise

    async def stop() -> None:
        await stop_app(app)
        await services.store.close()

    return app, stop


async def _serve_webhook(settings: Any, port: int) -> Any:
    """``telegram_channel.app.serve`` as ``intake-bot run`` calls it, in webhook mode; ready
    once the webhook listens and ``settle_memory`` has run (it follows the webhook's start)."""
    import gc

    from telegram_channel.app import GC_THRESHOLDS, serve

    settings = dataclasses.replace(
        settings,
        webhook_url="https://bench.invalid/hook",
        webhook_port=port,
        webhook_listen="127.0.0.1",
        webhook_secret=WEBHOOK_SECRET,
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(settings, stop))
    deadline = time.monotonic() + 60
    while True:
        if serving.done():
            serving.result()  # its error, if it failed
            raise RuntimeError("the bot stopped before it served")
        if gc.get_threshold() == GC_THRESHOLDS and await _listening(port):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the webhook did not listen within 60 s")
        await asyncio.sleep(0.05)

    async def stop_bot() -> None:
        stop.set()
        await serving

    return stop_bot


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def _start_plain(app: Any) -> Any:
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=10)

    async def stop() -> None:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()  # flushes PicklePersistence

    return stop


async def start_conversation(args: argparse.Namespace) -> tuple[Any, Any]:
    from baseline_conversation import build_conversation

    path = str(Path(args.workdir) / "conversationbot.pickle")
    app = build_conversation(
        TOKEN, f"{args.api_url}/bot", path, customise=lambda b: customise(b, args.what_if)
    )
    return app, await _start_plain(app)


async def start_echo(args: argparse.Namespace) -> tuple[Any, Any]:
    from echo import build_echo

    app = build_echo(
        TOKEN,
        f"{args.api_url}/bot",
        concurrency=int(args.what_if.get("concurrency", 256)),
        customise=lambda b: b.request(intake_like_request(args.what_if)),
    )
    return app, await _start_plain(app)


# --- profiling -------------------------------------------------------------------------------


class Profile:
    """pyinstrument if installed (statistical, low overhead), else cProfile."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.kind = "none"
        self._p: Any = None

    def start(self) -> None:
        try:
            from pyinstrument import Profiler

            self._p = Profiler(interval=0.002, async_mode="disabled")
            self.kind = "pyinstrument"
        except ImportError:
            import cProfile

            self._p = cProfile.Profile()
            self.kind = "cProfile"
        self._p.start() if self.kind == "pyinstrument" else self._p.enable()

    def stop(self) -> dict[str, Any]:
        if self.kind == "pyinstrument":
            self._p.stop()
            return self._pyinstrument()
        self._p.disable()
        return self._cprofile()

    def _pyinstrument(self) -> dict[str, Any]:
        session = self._p.last_session
        root = session.root_frame()
        (self.out.with_suffix(".txt")).write_text(
            self._p.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
        )
        with contextlib.suppress(Exception):
            self.out.with_suffix(".html").write_text(self._p.output_html(), encoding="utf-8")
        session.save(str(self.out.with_suffix(".pyisession")))
        own: dict[str, float] = {}
        total: dict[str, float] = {}

        def walk(frame: Any, above: frozenset[str]) -> None:
            if frame.is_synthetic:
                return
            key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
            kids = [c for c in frame.children if not c.is_synthetic]
            own[key] = own.get(key, 0.0) + frame.time - sum(c.time for c in kids)
            if key not in above:  # recursion counts once
                total[key] = total.get(key, 0.0) + frame.time
            for child in kids:
                walk(child, above | {key})

        layers: dict[str, float] = {}

        def by_layer(frame: Any, layer: str) -> None:
            if frame.is_synthetic:
                return
            layer = _layer(frame, layer)
            kids = [c for c in frame.children if not c.is_synthetic]
            layers[layer] = layers.get(layer, 0.0) + frame.time - sum(c.time for c in kids)
            for child in kids:
                by_layer(child, layer)

        if root is not None:
            walk(root, frozenset())
            by_layer(root, "event loop, PTB dispatch, other")
        duration = session.duration or 1e-9
        top_self = sorted(own.items(), key=lambda kv: -kv[1])[:25]
        top_total = sorted(total.items(), key=lambda kv: -kv[1])[:40]
        return {
            "profiler": "pyinstrument (main thread, wall-clock samples)",
            "duration_s": round(duration, 3),
            "idle_pct": round(100 * layers.get("idle (waiting in select)", 0.0) / duration, 1),
            "layers": {
                k: round(100 * v / duration, 1)
                for k, v in sorted(layers.items(), key=lambda kv: -kv[1])
            },
            "self": [[k, round(100 * v / duration, 2)] for k, v in top_self],
            "total": [[k, round(100 * v / duration, 2)] for k, v in top_total],
            "files": [str(self.out.with_suffix(s)) for s in (".txt", ".html", ".pyisession")],
        }

    def _cprofile(self) -> dict[str, Any]:
        import pstats

        self._p.dump_stats(str(self.out.with_suffix(".prof")))
        stats = pstats.Stats(self._p)
        rows = stats.stats  # type: ignore[attr-defined]
        whole = sum(v[2] for v in rows.values()) or 1e-9
        by_self = sorted(rows.items(), key=lambda kv: -kv[1][2])[:25]
        by_total = sorted(rows.items(), key=lambda kv: -kv[1][3])[:40]

        def name(key: tuple[str, int, str]) -> str:
            return f"{key[2]} ({Path(key[0]).name}:{key[1]})"

        return {
            "profiler": "cProfile (main thread, deterministic; % of all own time)",
            "self": [[name(k), round(100 * v[2] / whole, 2)] for k, v in by_self],
            "total": [[name(k), round(100 * v[3] / whole, 2)] for k, v in by_total],
            "files": [str(self.out.with_suffix(".prof"))],
        }


# Where the time of a sample goes: the deepest of these frames on its stack decides.
_HTTP = (
    "HTTP client (httpx/httpcore/anyio/h11, aiohttp, telegram_channel/transport.py,"
    " telegram_channel/http1.py)"
)
_LAYERS: list[tuple[str, str, str]] = [
    # (path fragment, function or "" for any, layer)
    ("telegram/ext/_updater.py", "", "getUpdates polling (Updater)"),
    ("telegram/_bot.py", "_post", "PTB request/response (encode params, decode JSON, de_json)"),
    ("telegram/request/", "", "PTB request/response (encode params, decode JSON, de_json)"),
    ("httpx/", "", _HTTP),
    ("httpcore/", "", _HTTP),
    ("aiohttp/", "", _HTTP),
    ("/telegram_channel/transport.py", "", _HTTP),
    ("/telegram_channel/http1.py", "", _HTTP),
    ("yaml/", "", "YAML parsing (flow loading)"),
    ("/bot/", "", "bot core (interview, engine, store, i18n, messages)"),
    ("/handlers/", "", "handlers (parse update, render, keyboards)"),
    ("/telegram_channel/", "", "Telegram channel (reading updates, inbox, sending)"),
    ("aiosqlite/", "", "aiosqlite (main-thread side: queue, futures)"),
    ("selectors.py", "select", "idle (waiting in select)"),
]


def _layer(frame: Any, current: str) -> str:
    path = frame.file_path or ""
    for fragment, function, layer in _LAYERS:
        if fragment in path and (not function or frame.function == function):
            if layer == _HTTP and current.startswith("getUpdates"):
                return current  # the long poll's own HTTP is part of polling
            return layer
    return current


# --- serving ---------------------------------------------------------------------------------


class DbAwaits:
    """Counts the calls the bot awaits on aiosqlite (each is a round trip to its thread:
    ``execute``, ``fetchall``, ``commit``, ...): every awaited call funnels through
    ``Connection._execute``. The issue aims for at most three per answer."""

    def __init__(self) -> None:
        import aiosqlite.core

        self.count = 0
        original = aiosqlite.core.Connection._execute
        counter = self

        async def counted(conn: Any, fn: Any, *a: Any, **kw: Any) -> Any:
            counter.count += 1
            return await original(conn, fn, *a, **kw)

        aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]


class HeldLocks:
    """How long each PostgreSQL instance held its two locks while serving: the write lock
    (``PgDatabase._lock``: one write transaction at a time per instance, as SQLite's single
    writer) and the lock of the connection that takes the chats' advisory locks
    (``_locker_lock``). A lock held nearly all the time is where the instance queues."""

    def __init__(self) -> None:
        from bot.store import pg

        self.held = {"write": 0.0, "chat_locks": 0.0}
        original = pg.PgDatabase.__init__
        held = self.held

        def init(db: Any, *a: Any, **kw: Any) -> None:
            original(db, *a, **kw)
            db._lock = _TimedLock(held, "write")
            db._locker_lock = _TimedLock(held, "chat_locks")

        pg.PgDatabase.__init__ = init  # type: ignore[method-assign]

    def reset(self) -> None:
        for key in self.held:
            self.held[key] = 0.0


class Statements:
    """Each statement the store sends to PostgreSQL (``PgDatabase._run`` and ``_rows``):
    how often, and how long it took as the instance saw it (the round trip, the server's
    work, and the wait for a CPU on a busy machine). The slowest in total say where an
    instance's database time goes."""

    def __init__(self) -> None:
        from bot.store import pg

        self.spent: dict[str, list[float]] = {}
        spent = self.spent
        for name in ("_run", "_rows"):
            original = getattr(pg.PgDatabase, name)

            def timed(db: Any, conn: Any, sql: str, params: Any, _original: Any = original) -> Any:
                return _timed(spent, _original(db, conn, sql, params), sql)

            setattr(pg.PgDatabase, name, timed)

    def top(self, n: int = 8) -> list[list[Any]]:
        rows = sorted(self.spent.items(), key=lambda kv: -kv[1][1])[:n]
        return [
            [sql, int(count), round(total, 2), round(1000 * total / count, 3)]
            for sql, (count, total) in rows
        ]


async def _timed(spent: dict[str, list[float]], call: Any, sql: str) -> Any:
    started = time.perf_counter()
    try:
        return await call
    finally:
        key = " ".join(sql.split())[:110]
        entry = spent.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started


class _TimedLock(asyncio.Lock):
    def __init__(self, held: dict[str, float], key: str) -> None:
        super().__init__()
        self._held, self._key, self._since = held, key, 0.0

    async def acquire(self) -> bool:
        await super().acquire()
        self._since = time.perf_counter()
        return True

    def release(self) -> None:
        self._held[self._key] += time.perf_counter() - self._since
        super().release()


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    starters = {"intake": start_intake, "conversation": start_conversation, "echo": start_echo}
    # aiosqlite's round trips; PostgreSQL has none of them.
    awaits = DbAwaits() if args.kind == "intake" and not args.db else None
    locks = HeldLocks() if args.db else None
    statements = Statements() if args.db else None
    _app, stop_bot = await starters[args.kind](args)
    if awaits is not None:
        awaits.count = 0  # from here on: serving updates only
    if locks is not None:
        locks.reset()
    if statements is not None:
        statements.spent.clear()
    serving = time.perf_counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    profile = Profile(Path(args.workdir) / f"profile-{args.kind}") if args.profile else None
    if profile is not None:
        profile.start()
    print("READY", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    except TimeoutError:
        log.error("no SIGTERM within %ss: stopping on my own", args.max_seconds)
    result: dict[str, Any] = {}
    if awaits is not None:
        result["db_awaits"] = awaits.count
    if locks is not None:
        served = time.perf_counter() - serving
        result["serving_s"] = round(served, 2)
        result["locks_held_share"] = {k: round(v / served, 3) for k, v in locks.held.items()}
    if statements is not None:
        # [statement, times, seconds in all, ms each]
        result["slowest_statements"] = statements.top()
    if profile is not None:
        result["profile"] = profile.stop()
    t0 = time.perf_counter()
    await asyncio.wait_for(stop_bot(), 60)
    result["shutdown_s"] = round(time.perf_counter() - t0, 3)
    return result


async def seed(args: argparse.Namespace) -> dict[str, Any]:
    """Create the database (migrations, default flow) and store ``args.seed`` drafts, as if
    that many people had started and not finished. Run before the bot under test starts, in
    another process, so the bot always starts on an existing database, as after a restart.

    Each is a realistic draft a few questions in (consent given, who for, name, birth date,
    ID number, county),
    with its user row and its audit row, written through the store's own connection in
    batches of 10,000 per transaction.
    """
    from bot.flow import engine
    from bot.store.db import now_iso
    from bot.store.intakes import _dump
    from telegram_channel.app import open_services

    services = await open_services(_settings("http://127.0.0.1:9", args))
    store = services.store
    flow = await store.flows.active()
    outcome: Any = engine.start(flow)
    for given in (
        engine.Picked("consent", engine.AGREE),
        engine.Picked("applying_for", "self"),
        engine.Typed("王某某"),
        engine.Typed("1968-11-02"),
        engine.Picked("sensitive_consent", engine.AGREE),
        engine.Typed("43032119681102001X"),
        engine.Typed("湘潭县"),
    ):
        outcome = engine.answer(flow, outcome.state, given)
    state = outcome.state
    if state.current != "township" or getattr(outcome, "refusal", None) is not None:
        raise RuntimeError(f"the seeded draft is not where it should be: {state.current}")
    # Sealed as the bot stores a draft (one copy of one value: the bench reads, never
    # compares, the seeded drafts).
    blob = _dump(state, store.db.cipher)
    lang = "zh"
    at = now_iso()
    t0 = time.perf_counter()
    batch = 10_000
    for start in range(0, args.seed, batch):
        ids = range(SEEDED_FIRST_ID + start, SEEDED_FIRST_ID + min(start + batch, args.seed))
        async with store.db.write() as tx:
            await tx.executemany(
                "INSERT INTO users (user_id, created_at, last_update_id) VALUES (?, ?, 1)",
                [(uid, at) for uid in ids],
            )
            await tx.executemany(
                "INSERT INTO intakes (flow_id, flow_version, applicant_id, chat_id, lang, status,"
                " state, current_step, last_update_id, created_at, updated_at, is_test)"
                " VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, 1, ?, ?, 0)",
                [
                    (flow.id, flow.version, uid, uid, lang, blob, state.current, at, at)
                    for uid in ids
                ],
            )
            await tx.execute(
                "INSERT INTO audit (at, actor, action, intake_id, detail)"
                " SELECT ?, applicant_id, 'intake.started', id, ? FROM intakes"
                " WHERE applicant_id >= ? AND applicant_id < ?",
                (
                    at,
                    json.dumps({"flow": flow.id, "version": flow.version}),
                    ids.start,
                    ids.stop,
                ),
            )
    if not args.db:
        await store.db.checkpoint()
    # Not on PostgreSQL, where it is VACUUM: on tables still empty (the inbox always is) it
    # records them as empty, and the statements the bot prepares while they are small then
    # keep sequential scans as they grow, until an ANALYZE (this machine's server runs
    # without autovacuum): a single instance read about 10,000 rows by sequential scans per
    # update. A new deployment's tables were never vacuumed, which the planner reads as
    # "size unknown" and answers with index scans.
    await store.close()
    return {"seeded": args.seed, "seconds": round(time.perf_counter() - t0, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["intake", "conversation", "echo"], default="intake")
    parser.add_argument("--api-url", default="")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--limiter", choices=["off", "shipped"], default="off")
    parser.add_argument(
        "--bot-api-client",
        choices=["own", "stock"],
        default="own",
        help="the intake bot's INTAKE_BOT_API_CLIENT",
    )
    parser.add_argument(
        "--setup", action="store_true", help="create the database, store --seed drafts, exit"
    )
    parser.add_argument("--seed", type=int, default=0, help="drafts to store with --setup")
    parser.add_argument(
        "--db", default="", help="the intake bot's PostgreSQL URL (else workdir/intake.db)"
    )
    parser.add_argument(
        "--webhook-port",
        type=int,
        default=0,
        help="serve the webhook on this port (telegram_channel.app.serve) instead of polling",
    )
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--what-if", action="append", default=[])
    args = parser.parse_args()
    args.what_if = parse_what_if(args.what_if)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="[bot] %(levelname)s %(name)s: %(message)s"
    )
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    result = asyncio.run(seed(args) if args.setup else serve(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["ru_maxrss_kb"] = usage.ru_maxrss
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 3)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
