"""Which Bot API client the bot runs on (``INTAKE_BOT_API_CLIENT``): our own, or PTB's stock one.

- ``own`` (the default): ``BotApiRequest`` for calls and for getUpdates (plain calls over
  telegram_channel/http1.py), updates read by ``telegram_channel.updates.decode``, and
  ``SendLimiter`` (telegram_channel/sendlimit.py). Each replaced a stock part where
  profiling showed that part taking much of the bot's CPU per update (bench/README.md).
- ``stock``: python-telegram-bot as shipped: ``HTTPXRequest`` for calls and for getUpdates,
  ``Update.de_json``, ``AIORateLimiter`` with the same limits and retries. Nothing in the
  core or the handlers needs the own client: the end-to-end tests run on both.

A proxy makes it ``stock`` whatever the setting says: where the environment names one for
the Bot API's URL (``HTTPS_PROXY``, ``HTTP_PROXY`` for an http:// URL, ``ALL_PROXY``; not
when ``NO_PROXY`` covers the host), httpx goes through it (HTTP proxies and their tunnels;
SOCKS with python-telegram-bot[socks]), and one INFO line says why, naming the variable,
never its value (which may hold the proxy's password).

With several instances on one PostgreSQL database (``pace`` given), either client's calls
are paced for the bot as a whole, through the database (``SharedSendLimiter``,
telegram_channel/sendpace.py): Telegram's limits are the bot's, not an instance's.

Whichever the client, the inbox, the per-chat order, the senders and the outbox are the
same. The senders tell an answer lost on the way back from a call that never went out on
both (``telegram_channel.transport.call``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import proxy_bypass_environment

from telegram import Update
from telegram.ext import AIORateLimiter, BaseRateLimiter
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import BOT_API_CLIENTS, ConfigError, Settings
from bot.store.sendpace import SendPaceStore
from telegram_channel.intake_bot import UpdateReader
from telegram_channel.sendlimit import SendLimiter
from telegram_channel.sendpace import SharedSendLimiter
from telegram_channel.transport import BotApiRequest
from telegram_channel.updates import decode

log = logging.getLogger(__name__)

OWN, STOCK = BOT_API_CLIENTS
GROUP_RATE = 20  # messages a minute to one group chat: Telegram's limit
MAX_RETRIES = 3  # tries again after a flood wait (429), per call


@dataclass(frozen=True)
class Proxy:
    """The proxy the environment names for the Bot API: the variable, and its value."""

    variable: str
    url: str


def proxy_for(api_url: str, env: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy the environment names for ``api_url``, as curl reads it: ``<scheme>_proxy``
    (lower case first), then ``ALL_PROXY``; None when there is none or ``NO_PROXY`` covers
    the host."""
    env = os.environ if env is None else env
    parts = urlsplit(api_url)
    scheme = (parts.scheme or "https").lower()
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        value = env.get(name, "").strip()
        if value:
            break
    else:
        return None
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    if parts.hostname and no_proxy and proxy_bypass_environment(parts.hostname, {"no": no_proxy}):
        return None
    return Proxy(name, value if "://" in value else "http://" + value)


@dataclass(frozen=True)
class Client:
    """What the Application is built with: the request objects for the bot's calls and for
    getUpdates, the rate limiter, and how updates are read."""

    name: str
    calls: BaseRequest
    polling: BaseRequest
    rate_limiter: BaseRateLimiter[Any]
    read_update: UpdateReader


def build_client(
    settings: Settings,
    *,
    pool: int,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    pace: SendPaceStore | None = None,
) -> Client:
    """The Bot API client ``settings`` ask for (``stock`` wherever a proxy is named), with
    ``pool`` connections for calls and one for getUpdates; ``timeout``, when given, bounds
    every phase of a call (the tests' short-lived bots). ``pace``: the send pace shared by
    several instances on one PostgreSQL database, which then paces the calls."""
    if settings.bot_api_client not in BOT_API_CLIENTS:
        raise ConfigError(
            f"INTAKE_BOT_API_CLIENT must be one of {', '.join(BOT_API_CLIENTS)},"
            f" not {settings.bot_api_client!r}"
        )
    proxy = proxy_for(settings.api_url, env)
    name = settings.bot_api_client
    if proxy is not None:
        host = urlsplit(settings.api_url).hostname or settings.api_url
        log.info(
            "%s names a proxy for %s: the bot uses python-telegram-bot's stock Bot API"
            " client (httpx), which goes through it",
            proxy.variable,
            host,
        )
        name = STOCK
    limits: dict[str, Any] = {
        "overall_max_rate": settings.send_rate,
        "group_max_rate": GROUP_RATE if settings.send_rate else 0,
        "max_retries": MAX_RETRIES,
    }
    short: dict[str, float | None] = {}
    if timeout is not None:
        short = {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "write_timeout": timeout,
            "pool_timeout": timeout,
        }
    # A call waits up to 30 s for a free connection when none was asked for: under load
    # they are all busy for a moment, and a reply is better late than lost.
    calls_timeouts = {"pool_timeout": 30.0, **short}
    shared = SharedSendLimiter(pace, **limits) if pace is not None else None
    if name == OWN:
        return Client(
            OWN,
            calls=BotApiRequest(connection_pool_size=pool, **calls_timeouts),
            polling=BotApiRequest(connection_pool_size=1, **short),
            rate_limiter=shared or SendLimiter(**limits),
            read_update=decode,
        )
    via = proxy.url if proxy is not None else None
    try:
        calls = HTTPXRequest(connection_pool_size=pool, proxy=via, **calls_timeouts)
        polling = HTTPXRequest(connection_pool_size=1, proxy=via, **short)
    except RuntimeError as exc:  # a SOCKS proxy without python-telegram-bot[socks]
        variable = proxy.variable if proxy is not None else "the proxy"
        raise ConfigError(f"{variable}: {exc}") from None
    return Client(
        STOCK,
        calls=calls,
        polling=polling,
        rate_limiter=shared or AIORateLimiter(**limits),
        read_update=Update.de_json,
    )
