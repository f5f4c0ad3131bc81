"""Builds and serves the python-telegram-bot Application, wired to the core.

The Bot API client (telegram_channel/client.py), the inbox, the per-chat order, the
guards, every audience's handlers and the outbox sender are put together here.

Updates run concurrently, but never two of the same chat at once: a chat's
updates wait for each other in arrival order (``PerChatUpdateProcessor``),
so an applicant who taps twice quickly is answered in order, while other
applicants never wait for them.

Every update comes from the inbox (telegram_channel/inbox.py): committed before Telegram may forget
it, marked done once its handlers ran, and, if the bot stopped first, applied at the
next start before polling or the webhook bring anything newer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import Application, ApplicationBuilder, BaseUpdateProcessor

from bot import redact
from bot.config import ConfigError, Settings
from bot.dburl import is_postgres
from bot.export import Exports
from bot.instance import InstanceLock
from bot.services import Services, open_services  # re-exported: tests and bench use them here
from bot.store import FlowNotFound
from telegram_channel.client import build_client
from telegram_channel.inbox import Inbox, Skipped
from telegram_channel.intake_bot import IntakeBot
from telegram_channel.shared import SharedChats

log = logging.getLogger(__name__)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, strictly in order within one chat; each update marked done
    (``on_done``: the inbox) once its handlers ran, and a ``Skipped`` one not run at all."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self.on_done: Callable[[object], None] | None = None
        # Several instances on one PostgreSQL database: a chat's lock across them too.
        # (telegram_channel/shared.py: the chat and the update's id; whether to apply it)
        self.chat_lock: Callable[[int, int], AbstractAsyncContextManager[bool]] | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Skipped):
            # A dead letter or a re-delivery: PTB saw it (its offset moved), nothing runs.
            coroutine.close()  # type: ignore[attr-defined]
            return
        await self._in_order(update, coroutine)
        # Not reached when cancelled (the bot stopping): still pending, applied next start.
        # PTB's process_update hands a handler's error to the error handler and returns.
        if self.on_done is not None:
            self.on_done(update)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = None
        if isinstance(update, Update):
            if update.effective_chat is not None:
                key = update.effective_chat.id
            elif update.effective_user is not None:
                key = update.effective_user.id
        if key is None:
            await coroutine
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                if self.chat_lock is None or not isinstance(update, Update):
                    await coroutine
                else:
                    async with self.chat_lock(key, update.update_id) as go:
                        if go:
                            await coroutine
                        else:  # applied already (or another instance's now)
                            coroutine.close()  # type: ignore[attr-defined]
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                # Forget idle chats: memory must not grow with the number of applicants.
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def build_application(services: Services, *, request_timeout: float | None = None) -> Application:
    """The Application on the Bot API client the settings choose (telegram_channel/client.py),
    with the inbox, the guards, every audience's handlers and the outbox sender wired in.
    ``request_timeout`` bounds every phase of a Bot API call (the tests' short-lived bots)."""
    from handlers import (
        admin,
        answering,
        applicant,
        caseworker,
        checkins,
        exports,
        language,
        partner,
        plans,
        privacy,
        supervisor,
    )
    from handlers.router import PendingRouter
    from telegram_channel.downloads import DOWNLOADS_EVERY, retry_downloads
    from telegram_channel.guard import RateLimit, Watchdog
    from telegram_channel.menu import CommandMenus
    from telegram_channel.outbox import OutboxSender, defer_to_outbox
    from telegram_channel.staff_buttons import NoticeButtons

    settings = services.settings
    # Of several instances, the send rate is the bot's: paced through the database.
    pace = services.store.send_pace if several_instances(settings) else None
    client = build_client(
        settings, pool=pool_size(settings.send_rate), timeout=request_timeout, pace=pace
    )
    telegram = IntakeBot(
        settings.require_token(),
        base_url=settings.api_url,
        base_file_url=settings.file_url,
        request=client.calls,
        get_updates_request=client.polling,
        rate_limiter=client.rate_limiter,
        read_update=client.read_update,
    )
    # A reply the senders cannot get through after their retries goes to the outbox.
    telegram.defer_failed_replies(partial(defer_to_outbox, services.store.outbox))
    processor = PerChatUpdateProcessor(256)
    builder = ApplicationBuilder().bot(telegram).concurrent_updates(processor)
    app = builder.build()
    app.bot_data["services"] = services
    inbox = Inbox(services.store, services.casework.tr_for, read_update=client.read_update)
    app.bot_data["inbox"] = inbox
    processor.on_done = inbox.done
    app.bot_data["watchdog"] = watchdog = Watchdog()
    telegram.use_inbox(inbox, watchdog.progressed)
    limiter = RateLimit(services.people, limit=settings.rate_limit, per=60.0)
    app.add_handler(limiter.handler(), group=-1)
    app.bot_data["menus"] = menus = CommandMenus(services.people, services.i18n)
    cw_handlers, cw = caseworker.build_handlers(services.casework, menus)
    p_handlers, pt = partner.build_handlers(services.casework, menus)
    sv_handlers, sv = supervisor.build_handlers(services.casework, cw)
    privacy_handlers, pv = privacy.build_handlers(
        services.interview, services.people, services.mydata, services.casework
    )
    answer_handlers, ans = answering.build_handlers(services.casework)
    checkin_handlers, ck = checkins.build_handlers(services.casework)
    plan_handlers, pl = plans.build_handlers(services.casework)
    router = PendingRouter(
        services.people,
        [
            ans.on_typed,
            ck.on_typed,
            cw.on_typed,
            sv.on_typed,
            pt.on_typed,
            pl.on_typed,
            pv.on_typed,
        ],
    )
    main, fallback, view = applicant.build_handlers(
        services.interview, services.people, services.i18n, router
    )
    lang_handlers, lang = language.build_handlers(
        services.interview, services.people, services.i18n, view.render, menus
    )
    view.offer_language = lang.offer_if_unknown
    view.plan_lines = services.casework.plans.applicant_lines
    # Commands and button prefixes are distinct, so the order only decides how many
    # handlers PTB asks before the right one: the applicants' (nearly every update) first.
    for handler in [
        *main,
        *lang_handlers,
        *privacy_handlers,
        *admin.build_handlers(
            services.people,
            services.administration,
            services.flows,
            services.interview,
            view.render,
            menus,
        ),
        *cw_handlers,
        *exports.build_handlers(services.people, Exports(services.store)),
        *answer_handlers,
        *checkin_handlers,
        *sv_handlers,
        *p_handlers,
        *plan_handlers,
        *fallback,  # last: unknown commands and interview answers
    ]:
        app.add_handler(handler)
    app.add_error_handler(_on_error)
    if app.job_queue is not None:
        app.job_queue.run_repeating(_housekeeping, interval=HOUSEKEEPING_EVERY, first=30)
        app.job_queue.run_repeating(watchdog.check, interval=30, first=30)
        # Files whose download failed when they arrived (telegram_channel/downloads.py).
        app.job_queue.run_repeating(
            one_at_a_time("downloads", retry_downloads), interval=DOWNLOADS_EVERY, first=10
        )
        # The morning digest at INTAKE_DIGEST_TIME in INTAKE_TIMEZONE; and, shortly after
        # a start, today's if its time passed while the bot was down (sent once either way).
        at = settings.digest_time.replace(tzinfo=settings.zone)
        app.job_queue.run_daily(_digest, time=at, name=DIGEST_JOB)
        app.job_queue.run_once(_digest_catch_up, when=DIGEST_CATCH_UP, name=DIGEST_JOB)
        # Check-ins after decisions that are due: every few minutes, and soon after a start
        # (the schedule is in the database; each is sent once whatever the restarts).
        app.job_queue.run_repeating(
            _checkins, interval=CHECKIN_EVERY, first=CHECKIN_FIRST, name=CHECKIN_JOB
        )
    sender = OutboxSender(services.store.outbox, app.bot, buttons=NoticeButtons(services.i18n))
    app.bot_data["sender"] = sender
    services.store.db.on_outbox = sender.kick
    return app


POOL_SIZE = 16  # connections to the Bot API at Telegram's default 30 messages/s
MAX_POOL_SIZE = 128


def pool_size(send_rate: int) -> int:
    """Connections to keep to the Bot API for a send rate (``INTAKE_SEND_RATE``; 0 = none).

    Each call holds a connection for a round trip to Telegram, and an answer takes two or
    three calls, most of them counted by the rate: at Telegram's round trips about rate / 8
    connections are busy at once. Measured with bench/ at such round trips, too few
    connections capped the bot far below its CPU, and enough let it run to it; on loopback
    their number made no difference (the figures are in bench/README.md). 16 at the
    default rate, more for paid broadcasts.
    """
    if send_rate <= 0:
        return MAX_POOL_SIZE // 2
    return max(POOL_SIZE, min(MAX_POOL_SIZE, send_rate // 8))


def one_at_a_time(
    job: str, callback: Callable[[Any], Awaitable[None]]
) -> Callable[[Any], Awaitable[None]]:
    """A job run by one instance at a time of several on one database (the others skip
    that run): a file is fetched once, not once per instance."""

    async def run(context: Any) -> None:
        services: Services = context.application.bot_data["services"]
        try:
            async with services.store.db.exclusive(job) as mine:
                if mine:
                    await callback(context)
        except Exception:
            log.exception("the %s job failed", job)

    return run


HOUSEKEEPING_EVERY = 3600  # seconds between expiry and retention runs


async def _housekeeping(context: Any) -> None:
    services: Services = context.application.bot_data["services"]
    try:
        async with services.store.db.exclusive("housekeeping") as mine:
            if mine:
                await services.housekeeping.run()
            else:  # another instance is at it; an admin's /expiry there reaches this one
                await services.housekeeping.refresh_flow_values()
    except Exception:
        log.exception("housekeeping failed")


DIGEST_JOB = "morning digest"
DIGEST_CATCH_UP = 60  # seconds after a start: the missed digest waits for the replay
DIGEST_RETRY = 300  # seconds before a failed digest run is tried again
DIGEST_TRIES = 5


async def _digest(context: Any) -> None:
    await _send_digest(context, late=False)


async def _digest_catch_up(context: Any) -> None:
    await _send_digest(context, late=True)


async def _send_digest(context: Any, *, late: bool) -> None:
    """Today's digests (``late``: only if their time passed; after a start or a failure).
    A failed run is tried again a few times: each person still gets one, once."""
    services: Services = context.application.bot_data["services"]
    digests = services.casework.digests
    try:
        # Of several instances one at a time: each person's digest is sent once anyway.
        async with services.store.db.exclusive("digests") as mine:
            sent = await (digests.catch_up() if late else digests.morning()) if mine else 0
    except Exception:
        tries = int(getattr(context.job, "data", None) or 0) + 1
        log.exception("the morning digest failed (try %d of %d)", tries, DIGEST_TRIES)
        if tries < DIGEST_TRIES and context.job_queue is not None:
            context.job_queue.run_once(
                _digest_catch_up, when=DIGEST_RETRY, data=tries, name=DIGEST_JOB
            )
        return
    if sent or not late:
        log.info("morning digest: %d queued", sent)


CHECKIN_JOB = "check-ins"
CHECKIN_EVERY = 300  # seconds between runs that send the check-ins due
CHECKIN_FIRST = 45  # seconds after a start: after the inbox's replay


async def _checkins(context: Any) -> None:
    """Queue the check-ins due now; a failed run is simply the next one's work."""
    services: Services = context.application.bot_data["services"]
    try:
        async with services.store.db.exclusive("check-ins") as mine:
            sent = await services.casework.checkins.send_due() if mine else 0
    except Exception:
        log.exception("sending the check-ins due failed")
        return
    if sent:
        log.info("check-ins: %d queued", sent)


async def _on_error(update: object, context: Any) -> None:
    # Never log the update itself: it carries what people wrote.
    err = context.error
    log.error("error while handling an update: %s", type(err).__name__, exc_info=err)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private" or update.effective_user is None:
        return
    services: Services = context.application.bot_data["services"]
    user = update.effective_user
    try:
        chosen = await services.store.users.language(user.id)
        tr = services.i18n.tr(services.i18n.pick(chosen, user.language_code))
        await context.bot.send_message(
            update.effective_chat.id,
            tr.gettext(
                "Sorry, something went wrong on our side. Please send your last answer again; what you answered before is kept."
            ),
        )
    except Exception:
        log.warning("could not tell the user about the error")


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs request URLs, and Telegram's URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # At DEBUG, python-telegram-bot logs every update and API call and aiosqlite every
    # statement with its parameters: what people wrote. Our own loggers say what happened.
    for noisy in ("telegram", "aiosqlite", "apscheduler"):
        logger = logging.getLogger(noisy)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
    # The scheduler announces every housekeeping job at INFO; only its problems matter here.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Libraries quote URLs in their errors (a proxy's, with its password; the Bot API's,
    # with the token): every line is cleaned where it leaves.
    redact.install(settings)


def several_instances(settings: Settings) -> bool:
    """Whether other instances may serve this database too: several instances share one
    PostgreSQL database in webhook mode only (README, "Several instances"); long polling
    has one consumer, and SQLite one process."""
    return is_postgres(settings.db_path) and bool(settings.webhook_url)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM), then shut down cleanly.

    Holds the database's run lock throughout (``bot.instance``): a second bot on the same
    database is refused before it opens anything; except in webhook mode on PostgreSQL,
    where several instances may serve one database behind a load balancer. Whatever fails on the way up, what was
    opened is closed again, so the error ends the process instead of leaving it hanging
    on a database thread."""
    if settings.webhook_url:
        settings.require_webhook_secret()  # before anything is opened or reached
    postgres = is_postgres(settings.db_path)
    several = several_instances(settings)
    with contextlib.nullcontext() if postgres else InstanceLock(settings.db_path):
        services = await open_services(settings)
        try:
            if postgres and not several:  # the same lock, held in the database (bot/store/pg.py)
                await services.store.db.hold_run_lock()  # type: ignore[attr-defined]
            if not several:  # alone: what an earlier run took for sending is free again
                await services.store.outbox.release()
            else:  # what another instance wrote is not seen here: nothing is kept
                services.store.db.views.disable()
            await _serve(services, settings, stop or asyncio.Event())
        finally:
            await services.store.close()


async def _serve(services: Services, settings: Settings, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    app = build_application(services)
    several = several_instances(settings)
    if several:
        await join_instances(app, services)
    thresholds = gc.get_threshold()
    try:
        if not await reach_telegram(app, settings, stop):
            return
        if settings.webhook_url:
            await start_webhook(app, settings)
            log.info("bot started (webhook on port %d)", settings.webhook_port)
        else:
            await start_polling(app)
            log.info("bot started (long polling)")
        web = None
        if settings.web_port:
            # The web chat beside Telegram, on the same services (web_channel/app.py).
            from web_channel.app import start_web, stop_web

            web = await start_web(services)
        thresholds = await settle_memory(services)
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            if web is not None:
                await stop_web(web)
        await stop_app(app)
    finally:
        # Closes the HTTP sessions too when Telegram was never reached (app not initialised).
        await app.bot.shutdown()
        # Undoes settle_memory, for a caller that goes on (the tests).
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        if several:  # what is still pending here is taken over at once
            with contextlib.suppress(Exception):
                await services.store.inbox.leave()


HEARTBEAT_EVERY = 5.0  # seconds between an instance's "alive" (bot/store/inbox.py)
SWEEP_EVERY = 10.0  # seconds between looks for what a dead instance left in the inbox


async def join_instances(app: Application, services: Services) -> None:
    """Several instances on one PostgreSQL database: this one gets a name, says it is
    alive before it receives anything (so its updates are never taken for a dead one's),
    applies each chat's updates in order across instances (telegram_channel/shared.py),
    and takes over, every few seconds, what an instance that died had received."""
    inbox: Inbox = app.bot_data["inbox"]
    store = services.store.inbox
    store.owner = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    await store.beat()
    log.info("instance %s: joined the others on this database", store.owner)
    processor = app.update_processor
    if isinstance(processor, PerChatUpdateProcessor):
        catch_up = partial(inbox.catch_up, bot=app.bot, apply=app.process_update)
        processor.chat_lock = SharedChats(services.store.db, store, catch_up).hold
    if app.job_queue is not None:
        # Also as soon as the jobs start (before the webhook takes updates): reaching
        # Telegram may have taken longer than an instance may be quiet.
        app.job_queue.run_repeating(_beat, interval=HEARTBEAT_EVERY, first=0)
        app.job_queue.run_repeating(_sweep, interval=SWEEP_EVERY, first=SWEEP_EVERY)


async def _beat(context: Any) -> None:
    services: Services = context.application.bot_data["services"]
    try:
        await services.store.inbox.beat()
    except Exception as exc:
        log.warning("could not tell the other instances this one is alive: %s", type(exc).__name__)


async def _sweep(context: Any) -> None:
    """Queue what a dead instance received and did not apply (one instance at a time)."""
    services: Services = context.application.bot_data["services"]
    try:
        async with services.store.db.exclusive("inbox sweep") as mine:
            if mine:
                await replay(context.application)
    except Exception:
        log.exception("taking over a stopped instance's updates failed")


async def reach_telegram(app: Application, settings: Settings, stop: asyncio.Event) -> bool:
    """Check the token with Telegram before starting, waiting out a network that is not up
    yet (a village server after a power cut) instead of dying with a traceback. A rejected
    token is final: say so in one line. False if asked to stop while waiting."""
    where = urlsplit(settings.api_url).netloc or settings.api_url
    delay = 1.0
    while True:
        try:
            await app.bot.initialize()
            return True
        except InvalidToken:
            raise ConfigError(
                f"the Bot API at {where} rejected INTAKE_BOT_TOKEN: copy the token again from"
                " @BotFather (and check INTAKE_BOT_API_URL if you set it)"
            ) from None
        except (NetworkError, TimedOut) as err:
            reason = str(err).replace(settings.token or "\0", "***")
            log.warning(
                "cannot reach the Telegram Bot API at %s (%s); trying again in %d s",
                where,
                reason,
                delay,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
        delay = min(delay * 2, 60.0)


# Container allocations between young collections, and how often older ones follow.
GC_THRESHOLDS = (20_000, 50, 100)


async def settle_memory(services: Services) -> tuple[int, int, int]:
    """Keep what start-up built (PTB, catalogues, the parsed flow) out of later garbage
    collections, and collect less often while serving. Returns the thresholds it replaced.

    Measured with bench/ (gc callbacks in the bot's process): each full collection walked
    all of start-up's objects, a pause that stalled every chat in flight; frozen, they
    only walk what serving has allocated since, a fraction of that. An update allocates a
    thousand or so short-lived objects: at Python's default thresholds the young
    generation was collected every few updates, each time catching the updates in flight
    and moving them to older generations, which were then collected in turn. At
    ``GC_THRESHOLDS`` collecting took a fraction of that CPU, for a slightly larger heap
    (the figures are in bench/README.md). Called once the bot serves.
    """
    with contextlib.suppress(FlowNotFound):
        await services.store.flows.active()  # parsed now, so that it is frozen too
    gc.collect()
    gc.freeze()
    replaced = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    return replaced


async def replay(app: Application) -> int:
    """Queue what the inbox holds from before the last stop, oldest first: each chat's
    updates are applied in order, before anything newer of that chat (the processor takes
    the queue in order). Returns how many."""
    inbox: Inbox = app.bot_data["inbox"]
    updates = await inbox.replay(app.bot)
    for update in updates:
        await app.update_queue.put(update)
    return len(updates)


async def start_polling(app: Application, *, timeout: int = 30) -> None:
    await app.initialize()
    await app.start()
    await replay(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=timeout, drop_pending_updates=False)
    app.bot_data["sender"].start()
    app.bot_data["menus"].start(app.bot)


async def start_webhook(app: Application, settings: Settings) -> None:
    """Serve Telegram's webhook calls with our own server (telegram_channel/webhook.py): the secret
    token is required, and checked before a body is read."""
    from telegram_channel.webhook import WebhookServer

    server = WebhookServer(app, app.bot_data["inbox"], settings)  # refuses no secret
    await app.initialize()
    await app.start()
    await replay(app)
    await server.start()
    app.bot_data["webhook"] = server
    # Nothing polls: a quiet webhook is not a failing one, so the polling watchdog rests.
    app.bot_data["watchdog"].after = math.inf
    await app.bot.set_webhook(
        url=settings.webhook_url or "",
        secret_token=settings.require_webhook_secret(),
        drop_pending_updates=False,
    )
    app.bot_data["sender"].start()
    app.bot_data["menus"].start(app.bot)


async def stop_app(app: Application) -> None:
    server = app.bot_data.pop("webhook", None)
    if server is not None:
        await server.stop()
    sender = app.bot_data.get("sender")
    if sender is not None:
        await sender.stop()
    menus = app.bot_data.get("menus")
    if menus is not None:
        await menus.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    inbox = app.bot_data.get("inbox")
    if inbox is not None:
        await inbox.flush()
    services = app.bot_data.get("services")
    if services is not None:  # a transcription under way is done again at the next start
        await services.casework.evidence.stop()
    await app.shutdown()


def run_bot(settings: Settings) -> int:
    configure_logging(settings)
    asyncio.run(serve(settings))
    return 0
