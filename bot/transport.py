"""The Bot API connection: python-telegram-bot's request interface over aiohttp.

Measured with bench/, PTB's default httpx transport spent about three quarters
of the bot's CPU time per answer inside the HTTP client (an answer is three
Bot API calls: acknowledge the tap, close the old question, ask the next).
aiohttp's client does the same work for a fraction of that. Only app.py uses
this module; it is the app layer, not the core.

Proxies: where Telegram is only reachable through one, set ``HTTPS_PROXY`` (or
``https_proxy``; ``NO_PROXY`` is honoured). It is read once per host, not by
aiohttp on every call: with ``trust_env`` aiohttp looks up the environment and
~/.netrc in a worker thread for each request, two thread hops that cost more
CPU than the request itself.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.request import getproxies, proxy_bypass

import aiohttp
from multidict import CIMultiDict
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

_JSON = CIMultiDict({"Content-Type": "application/json"})
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class _Proxy:
    url: URL | None = None


def _env_proxy(url: URL) -> _Proxy:
    """The proxy the environment names for this URL's host (HTTPS_PROXY, NO_PROXY, ...).

    Credentials stay in the proxy's URL (``http://user:password@host:port``): aiohttp
    turns them into Proxy-Authorization, for a tunnel (https) and a plain request alike.
    """
    if url.host is not None and proxy_bypass(url.host):
        return _Proxy()
    named = getproxies().get(url.scheme)
    return _Proxy(URL(named) if named else None)


def _value(given: Any, default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


class AiohttpRequest(BaseRequest):
    """HTTP/1.1 keep-alive requests to the Bot API through one aiohttp session."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 16,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}
        self._proxies: dict[URL, _Proxy] = {}

    def _timeout(
        self, read: float | None, write: float | None, connect: float | None, pool: float | None
    ) -> aiohttp.ClientTimeout:
        key = (read, write, connect, pool)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=None if pool is None and connect is None else (pool or 0) + (connect or 0),
                sock_connect=connect,
                sock_read=None if read is None and write is None else max(read or 0, write or 0),
            )
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(  # type: ignore[override]
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = _value(read_timeout, self._read_timeout)
        write = _value(write_timeout, self._write_timeout)
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, self._pool_timeout)
        timeout = self._timeout(read, write, connect, pool)
        data: Any = None
        headers = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, part in files.items():
                    filename, content, mime = part if len(part) == 3 else (*part, None)  # type: ignore[misc]
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                # One JSON body (the Bot API takes application/json for every call without
                # an upload): PTB's form encoding would JSON-encode each keyboard on its own
                # and then percent-encode the whole body, Chinese text at 9 bytes a character.
                data = _json(request_data.parameters).encode()
                headers = _JSON
        target = self._urls.get(url)
        if target is None:
            target = URL(url, encoded=True)
            if len(self._urls) < 512:
                self._urls[url] = target
        proxy = self._proxies.get(target.origin())
        if proxy is None:
            proxy = self._proxies[target.origin()] = _env_proxy(target)
        try:
            async with self._session.request(
                method,
                target,
                data=data,
                headers=headers,
                timeout=timeout,
                proxy=proxy.url,
            ) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:
            raise TimedOut(f"aiohttp: {type(exc).__name__}") from exc
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
