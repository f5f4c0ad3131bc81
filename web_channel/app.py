"""Builds and serves the web chat: an aiohttp application over the core's services.

``intake-bot run`` serves it beside Telegram when ``INTAKE_WEB_PORT`` is set;
``intake-bot web`` serves it alone. Every request passes the guards of
web_channel/guard.py (session, CSRF, rate limits) and every response gets the security
headers: a strict Content-Security-Policy (no script but the site's own chat.js, nothing
inline but the one style block, by its hash), no framing, no sniffing, and no caching of
pages that hold answers. The script (web_channel/chat.js) is served here too, under a name
that changes with its content, so a phone keeps it for a year and fetches it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import Mapping
from importlib.resources import files

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.config import Settings
from bot.dburl import is_postgres
from bot.flow.engine import DOWNLOAD_LIMIT_MB
from bot.instance import InstanceLock
from bot.services import Services, open_services
from bot.webchat import WebPeople
from web_channel import guard
from web_channel.pages import WebPages, routes

log = logging.getLogger(__name__)

# Bodies: a form of answers is a few KB; the longest answer a flow takes is a few thousand
# characters, three bytes each in Chinese. Only an upload may be larger: up to the largest
# file any question takes (engine.DOWNLOAD_LIMIT_MB), and a little for the form around it.
MAX_BODY = 64 * 1024
MAX_UPLOAD = DOWNLOAD_LIMIT_MB * 1024 * 1024 + MAX_BODY
UPLOADS = ("/upload", "/reply")
WEB_PORT = 8080  # ``intake-bot web`` without INTAKE_WEB_PORT
RESUME_TRIES = 10  # resume codes one address may try per ten minutes
# An open page looks for news every 15 s (chat.js): 4 a minute. A session may look a few
# times more than that (two tabs, a page brought back to view), counted apart from the
# forms and pages, so the limits on those never trip on an open page.
POLLS_PER_MINUTE = 12
NEWS = "/news"
STATIC = "/static/"


def _css() -> str:
    return files("web_channel").joinpath("page.css").read_text(encoding="utf-8").strip()


def _script() -> bytes:
    return files("web_channel").joinpath("chat.js").read_bytes()


def build_web_app(services: Services) -> web.Application:
    settings = services.settings
    css = _css()
    script = _script()
    script_path = STATIC + "chat.js?v=" + hashlib.sha256(script).hexdigest()[:12]
    env = Environment(
        loader=PackageLoader("web_channel", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    secure = settings.web_public_url.startswith("https://")
    web_people = WebPeople(services.store)
    pages = WebPages(
        env,
        css,
        services.i18n,
        services.interview,
        services.people,
        services.casework,
        services.mydata,
        web_people,
        secure=secure,
        script=script_path,
    )
    policy = guard.csp(css)
    rate = settings.web_rate_limit
    # A session's forms (each answer is one, its page the redirect after it); an address's
    # requests of every kind: a family or a village office may share one.
    by_session = guard.Bucket(rate, 60.0)
    by_address = guard.Bucket(rate * 5, 60.0)
    polls = guard.Bucket(POLLS_PER_MINUTE if rate else 0, 60.0)
    polls_by_address = guard.Bucket(POLLS_PER_MINUTE * rate, 60.0)  # many phones, one office
    in_order = guard.InOrder()

    async def chat_js(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=script,
            content_type="text/javascript",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    @web.middleware
    async def guarded(request: web.Request, handler: guard.Handler) -> web.StreamResponse:
        if request.path.startswith(STATIC):
            # The same for everyone, kept by the browser: no session, no cookie.
            if not by_address.take(guard.address_of(request, settings.web_trust_proxy)):
                return web.Response(status=429)
            return await handler(request)
        token = request.cookies.get(guard.cookie_name(secure))
        fresh = not guard.valid_token(token)
        if fresh:
            token = guard.new_token()
        assert token is not None
        request[guard.TOKEN] = token
        request[guard.CSRF] = guard.csrf_of(token)

        async def as_who() -> web.StreamResponse:
            # Read at the request's turn: a form sent twice at once finds what the first did.
            request[guard.USER] = (
                None if fresh else await services.store.web.session_user(guard.token_hash(token))
            )
            return await handler(request)

        address = guard.address_of(request, settings.web_trust_proxy)
        response: web.StreamResponse
        if request.path == NEWS:
            # Its own counts: an open page's looks never use up the forms' and pages'.
            if not polls_by_address.take(address) or not polls.take(token):
                return web.json_response({}, status=429)
            return await as_who()
        try:
            posting = request.method == "POST"
            limit = MAX_UPLOAD if request.path in UPLOADS else MAX_BODY
            if posting and (request.content_length is None or request.content_length > limit):
                # A form says how long it is; only an upload may be longer than a form.
                raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=0)
            if not by_address.take(address) or (posting and not by_session.take(token)):
                log.info("web request refused: rate limit")
                response = await pages.refused(request, 429, "too_many_requests")
            elif posting and not guard.forms_match(
                _field(await request.post(), "csrf"), request[guard.CSRF]
            ):
                log.info("web form refused: no or wrong CSRF token")
                response = await pages.refused(request, 403, "form_too_old")
            elif posting:
                async with in_order.turn(token):
                    response = await as_who()
            else:
                response = await as_who()
        except web.HTTPNotFound:
            response = await pages.refused(request, 404, "not_found")
        except web.HTTPRequestEntityTooLarge:
            log.info("web form refused: too large")
            response = await pages.refused(request, 413, "too_large")
        if fresh:
            guard.set_session_cookie(response, token, secure=secure)
        return response

    async def headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = policy
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        # A page may say otherwise (the script, kept for a year; the news, asked again).
        response.headers.setdefault("Cache-Control", "no-store")

    app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[guarded])
    app[guard.TRUST_PROXY] = settings.web_trust_proxy
    app[guard.RESUME_TRIES] = guard.Bucket(RESUME_TRIES, 600.0)
    app.on_response_prepare.append(headers)
    app.add_routes(routes(pages))
    app.router.add_get(STATIC + "chat.js", chat_js)
    return app


def _field(form: Mapping[str, object], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def start_web(services: Services) -> web.AppRunner:
    """Serve the web chat on INTAKE_WEB_LISTEN:INTAKE_WEB_PORT until ``stop_web``."""
    settings = services.settings
    runner = web.AppRunner(build_web_app(services), access_log=None)  # addresses and paths
    await runner.setup()
    port = settings.web_port or WEB_PORT
    await web.TCPSite(runner, settings.web_listen, port).start()
    log.info("web chat served on %s:%d", settings.web_listen, port)
    return runner


async def stop_web(runner: web.AppRunner) -> None:
    await runner.cleanup()


async def serve_web(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """``intake-bot web``: the web chat alone, until ``stop`` (or SIGINT/SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    postgres = is_postgres(settings.db_path)
    # SQLite serves one process: the web chat alone holds its run lock, as the bot would.
    # On PostgreSQL it may run beside `intake-bot run` and beside other web instances
    # (README, "Several instances"): what they write is not seen in memory, so none is kept.
    with contextlib.nullcontext() if postgres else InstanceLock(settings.db_path):
        services = await open_services(settings)
        if postgres:
            services.store.db.views.disable()
        try:
            runner = await start_web(services)
            # Without Telegram's Application its jobs do not run: the upkeep applicants'
            # data needs (idle drafts expire, decided intakes are anonymised) runs here.
            upkeep = asyncio.create_task(_housekeeping(services, stop), name="web-housekeeping")
            try:
                await stop.wait()
            finally:
                upkeep.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await upkeep
                await stop_web(runner)
        finally:
            await services.store.close()


HOUSEKEEPING_EVERY = 3600.0  # seconds, as beside Telegram (telegram_channel/app.py)


async def _housekeeping(services: Services, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 30.0)
            return
        try:
            async with services.store.db.exclusive("housekeeping") as mine:
                if mine:
                    await services.housekeeping.run()
                    await services.store.web.forget_sessions(guard.SESSION_DAYS)
                else:  # another instance is at it; an admin's /expiry reaches this one
                    await services.housekeeping.refresh_flow_values()
        except Exception:
            log.exception("housekeeping failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HOUSEKEEPING_EVERY)
