"""A small HTTP/1.1 keep-alive client on asyncio protocols, for the Bot API's plain calls.

Why not aiohttp for these: per call it cost several times the CPU of a client written on
``asyncio.Protocol`` (bench/calls.py; the figures are in bench/README.md, "Transport"),
and every answer to an applicant makes two or three Bot API calls. This client does only
what those calls need: GET and POST, one request at a time per connection, a JSON (or
empty) body, TLS with the system's certificates. Proxies and file uploads stay with
aiohttp (``telegram_channel/transport.py`` chooses). It is the ``own`` Bot API client's
(telegram_channel/client.py).

Answers are read by llhttp, Node.js's HTTP parser, through httptools: framed by
Content-Length, by chunks (with extensions or trailers, split anywhere between reads) or
by the end of the connection. What could be read two ways is refused as llhttp refuses it:
two Content-Length headers, Content-Length beside Transfer-Encoding, a malformed chunk.
Bytes after a complete answer do not spoil it: the answer is returned and the connection
closed instead of reused, since whatever follows would be read as the next answer.

Failures are plain exceptions for the caller to map, and each says whether the request
may have reached the server. Before it was written (not applied): ``ConnectTimeout``,
``PoolTimeout``, ``OSError`` from connecting (refused, unreachable, TLS). After (it may
have been applied): ``ReadTimeout``, ``Disconnected`` (a reset included),
``ProtocolError``. The only request repeated here is a GET on a reused connection that
closed without a word of answer.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools

MAX_HEAD = 64 * 1024  # status line and headers of one response
USER_AGENT = b"intake-bot (python-telegram-bot compatible)"


class ConnectTimeout(TimeoutError):
    pass


class ReadTimeout(TimeoutError):
    """The request was written and no whole answer came in time."""


class PoolTimeout(TimeoutError):
    pass


class Disconnected(ConnectionError):
    """The server closed the connection before the whole answer arrived."""

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # some of the answer had arrived: the request was read


class ProtocolError(Exception):
    """The answer is not one HTTP/1.1 (or 1.0) response that llhttp accepts as it is."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> bytes:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (host if self.port == default else f"{host}:{self.port}").encode("idna")


class _Connection(asyncio.Protocol):
    """One keep-alive connection: llhttp reads the answer to the request in flight as its
    bytes arrive, and calls back here with its parts.

    The framing, chunked encoding with its extensions and trailers, and the refusals (two
    Content-Length headers, Content-Length beside Transfer-Encoding, a malformed chunk)
    are llhttp's. What is decided here: an interim answer (1xx) is skipped; an answer
    without length or chunks ends with the connection; anything after a complete answer
    leaves that answer good and the connection unfit for another request.
    """

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.alive = True
        self.idle_since = time.monotonic()
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0  # of the final answer, once its head has been read
        self._interim = False  # the head read is a 1xx: the real answer follows
        self._framed = False  # a Content-Length or chunks: the answer ends by itself
        self._body: list[bytes] = []
        self._head_bytes = 0
        self._got_any = False
        self._done = False

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Nothing was asked on this connection, or the answer is complete: the server
            # is out of step with us. The answer stands; the connection is not used again.
            self.close()
            return
        self._got_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.close()
            if not self._done:
                self._fail(ProtocolError(str(exc) or type(exc).__name__))
            return
        except httptools.HttpParserUpgrade:
            self.close()
            self._fail(ProtocolError("an answer switching protocols (Upgrade)"))
            return
        if not self._status and not self._done:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self.close()
                self._fail(ProtocolError("response headers too long"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        self.transport = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._status and not self._framed and exc is None:
            # An answer framed by the end of the connection: a clean close ends it, a reset
            # would cut it short.
            waiter.set_result((self._status, self._payload(), False))
            return
        self._fail(Disconnected("the server closed the connection", answered=self._got_any))

    # -- llhttp's callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._done:
            self.alive = False  # a second answer to one request

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 14 and name.lower() == b"content-length":
            self._framed = True
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            # Chunked when it is the last coding (llhttp's rule too); else to the close.
            self._framed = value.rstrip().lower().endswith(b"chunked")

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:
            self._interim, self._framed = True, False  # 100 Continue and friends
            return
        self._status = status
        if status in (204, 304):
            self._framed = True  # no body, whatever the headers say

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._done = True
        keep = self._parser.should_keep_alive()
        if not keep:
            self.alive = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self.idle_since = time.monotonic()
            waiter.set_result((self._status, self._payload(), keep))

    # -- requests ------------------------------------------------------------------------

    def send(
        self, loop: asyncio.AbstractEventLoop, head: bytes, body: bytes
    ) -> asyncio.Future[tuple[int, bytes, bool]]:
        """Write one request; the future gets (status, body, reusable)."""
        assert self.transport is not None
        self._reset()
        self._waiter = loop.create_future()
        self.transport.write(head + body if body else head)
        return self._waiter

    def close(self) -> None:
        self.alive = False
        if self.transport is not None:
            self.transport.close()

    def _payload(self) -> bytes:
        body = self._body
        return body[0] if len(body) == 1 else b"".join(body)

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)


class _Deadlines:
    """When each waiting future gives up, kept with one timer for all of them.

    Nearly every request is answered long before its read timeout, and in a burst most
    callers wait a moment for a free connection. A timer of its own for each (``call_later``
    and ``cancel``, ``asyncio.timeout`` for the wait) was a visible share of the bot's CPU
    in a burst (the figures are in bench/README.md). Here a deadline is a dict entry,
    removed when the future is done; the one timer is set for the earliest deadline, and
    when it fires it fails the futures that are due and is set again for the next.
    """

    def __init__(self) -> None:
        self._due: dict[asyncio.Future[Any], tuple[float, Callable[[Any, float], None], float]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._at = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
        seconds: float,
        expire: Callable[[Any, float], None],
    ) -> None:
        """In ``seconds``, unless the future is done or discarded by then, ``expire(future,
        seconds)``."""
        when = loop.time() + seconds
        self._due[future] = (when, expire, seconds)
        if when < self._at or loop is not self._loop:
            self._arm(loop, when)

    def discard(self, future: asyncio.Future[Any]) -> None:
        self._due.pop(future, None)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._loop, self._at = loop, when
        self._timer = loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer, self._at = None, math.inf
        loop = self._loop
        assert loop is not None
        now = loop.time()
        soonest = math.inf
        for future, (when, expire, seconds) in list(self._due.items()):
            if future.done():
                del self._due[future]
            elif when <= now:
                del self._due[future]
                expire(future, seconds)
            elif when < soonest:
                soonest = when
        if soonest < math.inf:
            self._arm(loop, soonest)


class Http1Pool:
    """Up to ``size`` keep-alive connections (all origins together), reused last-in first-out.

    Callers beyond ``size`` wait in turn, first come first served: a connection given back
    goes straight to the longest waiting caller.
    """

    def __init__(
        self, *, size: int = 16, keepalive: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.size = size
        self.keepalive = keepalive
        self._ssl = ssl_context
        self._free = size  # connections no request holds (idle or yet to be opened)
        self._queue: deque[asyncio.Future[None]] = deque()  # callers waiting for one
        self._deadlines = _Deadlines()
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._heads: dict[tuple[str, Origin, str, bytes], bytes] = {}  # request line and headers
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def request(
        self,
        method: str,
        origin: Origin,
        target: str,
        *,
        body: bytes = b"",
        content_type: bytes = b"application/json",
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        pool_timeout: float | None = None,
    ) -> tuple[int, bytes]:
        """One request, GET or POST; returns (status, body). ``target`` is the path with
        its query."""
        if self._closed:
            raise RuntimeError("this Http1Pool is closed")
        if method not in ("GET", "POST"):
            raise ValueError(f"{method}: only GET and POST (an answer to HEAD has no body)")
        with_body = bool(body) or method == "POST"
        key = (method, origin, target, content_type if with_body else b"")
        start = self._heads.get(key)
        if start is None:
            start = _head_start(method, origin, target, content_type if with_body else None)
            if len(self._heads) < 512:
                self._heads[key] = start
        request_head = (start + str(len(body)).encode() + b"\r\n\r\n") if with_body else start
        if self._free:  # nobody is waiting whenever one is free (see _release)
            self._free -= 1
        else:
            await self._wait_for_one(pool_timeout)
        try:
            conn, reused = self._take(origin)
            if conn is None:
                conn = await self._connect(origin, connect_timeout)
            try:
                return await self._exchange(conn, request_head, body, read_timeout)
            except Disconnected as exc:
                # A reused connection closed with nothing of an answer: most likely the server
                # closed it while it sat idle, but it may have read the request. Asked again
                # only where that is harmless (a GET); a POST goes back to the caller, as
                # written and maybe applied.
                if not reused or exc.answered or method != "GET":
                    raise
            conn = await self._connect(origin, connect_timeout)
            return await self._exchange(conn, request_head, body, read_timeout)
        finally:
            self._release()

    async def _wait_for_one(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._queue.append(turn)
        if timeout is not None:
            self._deadlines.add(loop, turn, timeout, _no_connection)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self._release()  # handed a connection just as the caller was cancelled
            raise
        finally:
            self._deadlines.discard(turn)

    def _release(self) -> None:
        queue = self._queue
        while queue:
            turn = queue.popleft()
            if not turn.done():  # not given up (pool timeout) or cancelled meanwhile
                turn.set_result(None)
                return
        self._free += 1

    def _take(self, origin: Origin) -> tuple[_Connection | None, bool]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            transport = conn.transport
            if (
                conn.alive
                and transport is not None
                and not transport.is_closing()
                and now - conn.idle_since < self.keepalive
            ):
                return conn, True
            conn.close()
        return None, False

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = origin.scheme == "https"
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin),
                    origin.host,
                    origin.port,
                    ssl=self._ssl_context() if tls else None,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"could not connect within {timeout} s") from None
        return conn

    async def _exchange(
        self, conn: _Connection, head: bytes, body: bytes, read_timeout: float | None
    ) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        waiter = conn.send(loop, head, body)
        if read_timeout is not None:
            self._deadlines.add(loop, waiter, read_timeout, _expire)
        try:
            status, payload, reusable = await waiter
        except BaseException:
            conn.close()  # mid-answer: the connection cannot be trusted for the next request
            raise
        finally:
            if read_timeout is not None:
                self._deadlines.discard(waiter)
        if reusable and conn.alive and not self._closed:
            self._idle.setdefault(conn.origin, deque()).append(conn)
        else:
            conn.close()
        return status, payload

    async def close(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


def _head_start(method: str, origin: Origin, target: str, content_type: bytes | None) -> bytes:
    """The request line and headers up to the body's length (or to the end, with no body)."""
    head = [
        method.encode("ascii"),
        b" ",
        target.encode("ascii"),
        b" HTTP/1.1\r\nHost: ",
        origin.host_header,
        b"\r\nUser-Agent: ",
        USER_AGENT,
        b"\r\n",
    ]
    if content_type is None:
        head.append(b"\r\n")
    else:
        head += [b"Content-Type: ", content_type, b"\r\nContent-Length: "]
    return b"".join(head)


def _expire(waiter: asyncio.Future[tuple[int, bytes, bool]], seconds: float) -> None:
    if not waiter.done():
        waiter.set_exception(ReadTimeout(f"no answer within {seconds} s"))


def _no_connection(turn: asyncio.Future[None], seconds: float) -> None:
    if not turn.done():
        turn.set_exception(PoolTimeout(f"no free connection to the Bot API within {seconds} s"))
