"""Webhook mode: Telegram POSTs each update to us; our own small aiohttp server takes it.

Whoever finds the URL can POST to it, so nothing is read before the caller proved it is
Telegram: the ``X-Telegram-Bot-Api-Secret-Token`` header must equal the secret given to
``setWebhook`` (compared in constant time), else 403 without reading the body. A body
larger than ``MAX_BODY`` is refused (413) by its Content-Length before it is read, and by
aiohttp's ``client_max_size`` while reading one that does not say its length: an update
is a few kilobytes, and a dozen very large POSTs once took the bot's memory from tens of
megabytes past a gigabyte.

An update is committed to the inbox (telegram_channel/inbox.py) before Telegram hears 200, so a crash
after the answer loses nothing; a body that is not an update gets 400 and a log line that
says its size, never its content. The update is then applied like a polled one, through
the Application's queue and its per-chat order.
"""

from __future__ import annotations

import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram.ext import Application

from bot.config import Settings
from telegram_channel.inbox import Inbox, Skipped, Unreadable, update_id_of

log = logging.getLogger(__name__)

#: Largest body read, in bytes. Telegram's updates are far smaller.
MAX_BODY = 1 << 20
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LINGER = 2.0
SHUTDOWN = 5.0


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


class WebhookServer:
    def __init__(self, app: Application, inbox: Inbox, settings: Settings) -> None:
        secret = settings.require_webhook_secret()
        self.app = app
        self.inbox = inbox
        self._secret = secret.encode()
        self._listen = settings.webhook_listen
        self._port = settings.webhook_port
        self._path = webhook_path(settings.webhook_url or "")
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        server = web.Application(client_max_size=MAX_BODY)
        server.router.add_post(self._path, self._handle)
        # No access log: it would name every caller, and nobody needs a line per update.
        # A refused body is discarded for at most LINGER seconds, and stopping waits at
        # most SHUTDOWN seconds for the calls in progress.
        self._runner = web.AppRunner(
            server,
            access_log=None,
            handle_signals=False,
            lingering_time=LINGER,
            shutdown_timeout=SHUTDOWN,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._listen, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            log.warning("the webhook refused a body of %d bytes", request.content_length)
            return web.Response(status=413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.warning("the webhook refused a body larger than %d bytes", MAX_BODY)
            return web.Response(status=413)
        try:
            data = json.loads(body)
            update_id_of(data)
        except (ValueError, Unreadable):
            log.warning("the webhook got a body that is not an update (%d bytes)", len(body))
            return web.Response(status=400)
        try:
            updates = await self.inbox.receive([data], self.app.bot)
        except Exception as exc:
            # Not stored: Telegram will send it again.
            log.error("could not store an update from the webhook (%s)", type(exc).__name__)
            return web.Response(status=500)
        for update in updates:
            if not isinstance(update, Skipped):
                await self.app.update_queue.put(update)
        return web.Response(status=200)
