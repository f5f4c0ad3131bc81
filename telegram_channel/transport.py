"""Our own Bot API request class, the readers of its answers, and ``call`` for the bot's calls.

``call`` is how the bot's own calls go out, on either Bot API client.

``BotApiRequest`` is the ``own`` client's (telegram_channel/client.py): plain calls go
through ``telegram_channel/http1.py``, file uploads through aiohttp, which knows multipart
bodies. Measured with bench/, PTB's default httpx transport spent most of the bot's CPU per
answer inside the HTTP client (an answer is up to three Bot API calls: acknowledge the tap,
close the old question, ask the next); aiohttp did the same work for a fraction of that,
and http1 for a fraction of aiohttp's (the figures are in bench/README.md). The app layer
and the senders use this module; the core does not.

Proxies: the bot itself runs on the ``stock`` client when the environment names one
(telegram_channel/client.py). Used on its own, ``BotApiRequest`` still honours
``HTTPS_PROXY`` (or ``https_proxy``; ``NO_PROXY`` too) through aiohttp, read once per URL,
not by aiohttp on every call: with ``trust_env`` aiohttp looks up the environment and
~/.netrc in a worker thread for each request, two thread hops that cost more CPU than the
request itself.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.request import getproxies, proxy_bypass

import aiohttp
import httpx
from multidict import CIMultiDict
from telegram import Bot, TelegramObject
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData
from yarl import URL

from bot import jsoncodec
from telegram_channel import http1

_JSON = CIMultiDict({"Content-Type": "application/json"})


class AnswerLost(NetworkError):
    """The request went out to the Bot API and no whole answer came back: the connection
    dropped, the answer was not HTTP that can be read one way only, or it came too late.

    Telegram may have applied the call. The Bot API has no idempotency key, so sending it
    again could deliver the message twice: a sender counts it as sent and does not repeat
    it. Where repeating is harmless (getUpdates, an edit) a caller may still treat it as
    any ``NetworkError``. Failures before the request went out (no connection, none free
    in the pool) stay plain ``NetworkError`` and ``TimedOut``, safe to try again.
    """


class AnswerTimedOut(AnswerLost, TimedOut):
    """``AnswerLost`` for want of time: the request went out and the read timeout passed.
    Also a ``TimedOut``, as PTB expects of a timeout (its polling retries those at once)."""


def _telegram_object(value: object) -> object:
    """What PTB's own methods send for a PTB object in the parameters (a reply keyboard,
    a forced reply): its Bot API JSON."""
    if isinstance(value, TelegramObject):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not a Bot API value")


@dataclass(frozen=True)
class _Route:
    """Where one Bot API URL goes, worked out once per URL (a handful per bot)."""

    url: URL
    proxy: URL | None
    origin: http1.Origin
    target: str  # path and query, as the request line carries them

    @classmethod
    def of(cls, url: str) -> _Route:
        parsed = URL(url, encoded=True)
        origin = http1.Origin(parsed.scheme, parsed.host or "", parsed.port or 443)
        return cls(parsed, _env_proxy(parsed), origin, parsed.raw_path_qs)


def _env_proxy(url: URL) -> URL | None:
    """The proxy the environment names for this URL's host (HTTPS_PROXY, NO_PROXY, ...).

    Read once per URL, not by aiohttp on every call. Credentials stay in the proxy's URL
    (``http://user:password@host:port``): aiohttp turns them into Proxy-Authorization,
    for a tunnel (https) and a plain request alike.
    """
    if url.host is not None and proxy_bypass(url.host):
        return None
    named = getproxies().get(url.scheme)
    return URL(named) if named else None


def _value(given: Any, default: float | None) -> float | None:
    return default if isinstance(given, DefaultValue) else given


def _read_limit(read: float | None, write: float | None) -> float | None:
    """How long to wait for the answer. Writes are buffered: a body that cannot be
    written shows as an answer that does not come, so both limits apply to the read."""
    return None if read is None and write is None else max(read or 0, write or 0)


class BotApiRequest(BaseRequest):
    """HTTP/1.1 keep-alive requests to the Bot API: ``http1`` for plain calls, aiohttp for
    uploads and proxies. ``connection_pool_size`` bounds each of the two."""

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
        self._http1: http1.Http1Pool | None = None
        self._routes: dict[str, _Route] = {}
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

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
                sock_read=_read_limit(read, write),
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
        if self._http1 is None:
            self._http1 = http1.Http1Pool(size=self._pool_size, keepalive=30.0)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        if self._http1 is not None:
            await self._http1.close()
        self._http1 = None

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
            raise RuntimeError("This BotApiRequest is not initialized!")
        read = _value(read_timeout, self._read_timeout)
        write = _value(write_timeout, self._write_timeout)
        connect = _value(connect_timeout, self._connect_timeout)
        pool = _value(pool_timeout, self._pool_timeout)
        route = self._route(url)
        files = request_data.multipart_data if request_data is not None else None
        data: Any = None
        headers = None
        if request_data is not None and files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, part in files.items():
                filename, content, mime = part if len(part) == 3 else (*part, None)  # type: ignore[misc]
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        elif request_data is not None:
            # One JSON body (the Bot API takes application/json for every call without
            # an upload): PTB's form encoding would JSON-encode each keyboard on its own
            # and then percent-encode the whole body, Chinese text at 9 bytes a character.
            data = jsoncodec.dumps(request_data.parameters, _telegram_object)
            headers = _JSON
        if route.proxy is None and not files:
            return await self._via_http1(method, route, data or b"", read, write, connect, pool)
        return await self._via_aiohttp(method, route, data, headers, read, write, connect, pool)

    async def post_json(
        self,
        url: str,
        params: dict[str, object],
        *,
        read_timeout: Any = DEFAULT_NONE,
        answer: Reader | None = None,
    ) -> Any:
        """One Bot API call with a JSON body; its ``result`` (as ``answer`` reads it:
        ``result_of`` by default), or the error PTB would raise.

        What ``Bot._post`` does for the bot's own calls, without building a
        ``RequestData`` of ``RequestParameter`` objects first (a large part of a call's
        CPU, bench/calls.py). The caller passes plain JSON values only.
        """
        route = self._route(url)
        body = jsoncodec.dumps(params, _telegram_object)
        read, write = _value(read_timeout, self._read_timeout), self._write_timeout
        connect, pool = self._connect_timeout, self._pool_timeout
        try:
            if route.proxy is None:
                code, payload = await self._via_http1(
                    "POST", route, body, read, write, connect, pool
                )
            else:
                code, payload = await self._via_aiohttp(
                    "POST", route, body, _JSON, read, write, connect, pool
                )
        except TelegramError:
            raise
        except Exception as exc:
            raise NetworkError(f"Unknown error in HTTP implementation: {exc!r}") from exc
        return (answer or result_of)(code, payload)

    def _route(self, url: str) -> _Route:
        route = self._routes.get(url)
        if route is None:
            route = _Route.of(url)
            if len(self._routes) < 512:
                self._routes[url] = route
        return route

    async def _via_aiohttp(
        self,
        method: str,
        route: _Route,
        data: Any,
        headers: CIMultiDict[str] | None,
        read: float | None,
        write: float | None,
        connect: float | None,
        pool: float | None,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This BotApiRequest is not initialized!")
        timeout = self._timeout(read, write, connect, pool)
        try:
            async with self._session.request(
                method,
                route.url,
                data=data,
                headers=headers,
                timeout=timeout,
                proxy=route.proxy,
            ) as resp:
                return resp.status, await resp.read()
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ConnectionTimeoutError):  # no connection: not sent
                raise TimedOut(f"aiohttp: {type(exc).__name__}") from exc
            raise AnswerTimedOut(f"aiohttp: {type(exc).__name__}") from exc
        except asyncio.CancelledError:
            raise
        except (
            aiohttp.ClientConnectorError,  # refused, unreachable, TLS, the proxy unreachable
            aiohttp.ClientHttpProxyError,  # the proxy would not open a tunnel
            aiohttp.ClientConnectionResetError,  # the connection closed before writing
        ) as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientResponseError,
            aiohttp.ClientOSError,
        ) as exc:
            raise AnswerLost(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    async def _via_http1(
        self,
        method: str,
        route: _Route,
        body: bytes,
        read: float | None,
        write: float | None,
        connect: float | None,
        pool: float | None,
    ) -> tuple[int, bytes]:
        if self._http1 is None:
            raise RuntimeError("This BotApiRequest is not initialized!")
        try:
            return await self._http1.request(
                method,
                route.origin,
                route.target,
                body=body,
                connect_timeout=connect,
                read_timeout=_read_limit(read, write),
                pool_timeout=pool,
            )
        except http1.ReadTimeout as exc:
            raise AnswerTimedOut(f"ReadTimeout: {exc}") from exc
        except TimeoutError as exc:  # connecting, or waiting for a connection: not sent
            raise TimedOut(f"{type(exc).__name__}: {exc}") from exc
        except (http1.Disconnected, http1.ProtocolError) as exc:
            raise AnswerLost(f"{type(exc).__name__}: {exc}") from exc
        except OSError as exc:  # connecting: not sent
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc


Reader = Callable[[int, bytes], Any]
"""What a call's caller makes of the HTTP status and body of the Bot API's answer."""

# How the Bot API begins a successful answer (``{"ok":true,"result":...``), with or without
# the blanks other JSON writers put in; a sent or edited Message begins with its id.
_SUCCESS = re.compile(rb'\{\s*"ok"\s*:\s*true\s*,')
_MESSAGE_ID = re.compile(
    rb'\{\s*"ok"\s*:\s*true\s*,\s*"result"\s*:\s*\{\s*"message_id"\s*:\s*(\d{1,19})\s*[,}]'
)


def ok_of(code: int, payload: bytes) -> Any:
    """For a call whose result nobody reads (an acknowledgement, an edit): True when the
    Bot API says it succeeded, else the error ``result_of`` raises.

    A sent or edited Message is the largest answer the bot gets: matching the start of
    it costs a small fraction of decoding it (bench/README.md). A failure is read in full
    as before.
    """
    if 200 <= code <= 299 and _SUCCESS.match(payload):
        return True
    return result_of(code, payload)


def message_id_of(code: int, payload: bytes) -> Any:
    """sendMessage's result as far as the bot reads it, ``{"message_id": n}``; anything
    but a success that begins with the message's id (as the Bot API writes it) is read
    in full by ``result_of``."""
    if 200 <= code <= 299:
        found = _MESSAGE_ID.match(payload)
        if found is not None:
            return {"message_id": int(found[1])}
    return result_of(code, payload)


def result_of(code: int, payload: bytes) -> Any:
    """The ``result`` of a Bot API answer, or the exception PTB 22's
    ``BaseRequest._request_wrapper`` raises for it (tests/test_transport.py holds the two
    side by side for every status the Bot API gives)."""
    try:
        answer = json.loads(payload.decode("utf-8", "replace"))
    except ValueError as exc:
        answer, parse_error = None, exc
    else:
        parse_error = None
    if 200 <= code <= 299:
        if not isinstance(answer, dict):
            raise TelegramError("Invalid server response") from parse_error
        return answer["result"]
    try:
        message = f"{HTTPStatus(code).phrase} ({code})"
    except ValueError:
        message = f"Unknown HTTPError ({code})"
    if isinstance(answer, dict):
        message = answer.get("description") or message
        parameters = answer.get("parameters")
        if parameters:
            if parameters.get("migrate_to_chat_id"):
                raise ChatMigrated(parameters["migrate_to_chat_id"])
            if parameters.get("retry_after"):
                raise RetryAfter(parameters["retry_after"])
            message += f". The server response contained unknown parameters: {parameters}"
    else:
        message += f". Parsing the server response {payload!r} failed"
    error: TelegramError
    if code == HTTPStatus.FORBIDDEN:
        error = Forbidden(message)
    elif code in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        error = InvalidToken(message)
    elif code == HTTPStatus.BAD_REQUEST:
        error = BadRequest(message)
    elif code == HTTPStatus.CONFLICT:
        error = Conflict(message)
    else:
        error = NetworkError(message)
    if parse_error is not None:
        raise error from TelegramError("Invalid server response")
    raise error


async def call(
    bot: Bot, method: str, params: dict[str, object], *, answer: Reader | None = None
) -> Any:
    """A Bot API call of the bot's own (sendMessage, the edits, answerCallbackQuery) and
    its ``result`` as plain JSON, through the bot's rate limiter and its retries.

    On our own connection (``BotApiRequest``) the call skips ``Bot._post``: decoding the
    Message that sendMessage and the edits return cost about as much CPU as the HTTP call
    itself, and no handler reads more of it than the id; building PTB's RequestData of
    RequestParameter objects for the parameters cost a good part of what remained
    (bench/calls.py; the figures are in bench/README.md). Answers are read as PTB reads
    them (``result_of``), or only as far as the caller needs (``answer``: ``ok_of``,
    ``message_id_of``); errors always in full. ``params`` holds JSON values; a PTB object
    in it (a reply keyboard) is sent as its JSON.

    On any other request class (the ``stock`` client's ``HTTPXRequest``, a test's) the call
    goes through PTB's ``_post`` and gets the whole result, and PTB's own errors, but for
    one: an answer lost after the request went out (httpx's read timeout, a connection cut
    or garbled while the answer was read) is raised as ``AnswerLost`` (``AnswerTimedOut``
    for the timeout), as our own connection raises it, so that the senders do not send
    again what Telegram may have shown.
    """
    request = bot.request
    if not isinstance(request, BotApiRequest):
        try:
            return await bot._post(method, params)
        except NetworkError as exc:
            lost = _as_lost(exc)
            if lost is None:
                raise
            raise lost from exc
    url = f"{bot.base_url}/{method}"
    limiter = getattr(bot, "rate_limiter", None)
    if limiter is None:
        return await request.post_json(url, params, answer=answer)
    return await limiter.process_request(
        callback=request.post_json,
        args=(url, params),
        kwargs={"answer": answer},
        endpoint=method,
        data=params,
        rate_limit_args=None,
    )


# What httpx raises once the request was written: the answer timed out, the connection
# broke while it was read, or what came back was not one HTTP answer.
_HTTPX_LOST = (httpx.ReadError, httpx.RemoteProtocolError)


def _as_lost(exc: NetworkError) -> AnswerLost | None:
    """``AnswerLost`` for PTB's error about a call whose answer was lost on the way back
    (told by the httpx error it was raised from), else None."""
    if isinstance(exc, AnswerLost):
        return None
    cause = exc.__cause__
    if isinstance(cause, httpx.ReadTimeout):
        return AnswerTimedOut(f"httpx.{type(cause).__name__}: {cause}")
    if isinstance(cause, _HTTPX_LOST):
        return AnswerLost(f"httpx.{type(cause).__name__}: {cause}")
    return None
