"""A small HTTP/1.1 keep-alive client on asyncio protocols, for the Bot API's plain calls.

Why not aiohttp for these: measured with bench/calls.py, an aiohttp request cost about
210 µs of CPU on loopback and one written straight on ``asyncio.Protocol`` about 60 µs
(35 against 160 on a quieter run); an answer makes 2.35 Bot API calls, so aiohttp alone
took about a quarter of the bot's CPU per answer. This client does only what those calls
need: one request at a time per connection, a JSON (or empty) body, a response framed by
Content-Length, chunked encoding or the end of the connection, TLS with the system's
certificates. Proxies and file uploads stay with aiohttp (``bot/transport.py`` chooses).

Failures are plain exceptions for the caller to map: ``ConnectTimeout`` and
``ReadTimeout`` (both ``TimeoutError``), ``PoolTimeout``, ``Disconnected`` and ``OSError``
(connection refused, reset), ``ProtocolError`` (an answer that is not HTTP/1.x).
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

MAX_HEAD = 64 * 1024  # status line and headers of one response
USER_AGENT = b"intake-bot (python-telegram-bot compatible)"


class ConnectTimeout(TimeoutError):
    pass


class ReadTimeout(TimeoutError):
    pass


class PoolTimeout(TimeoutError):
    pass


class Disconnected(ConnectionError):
    """The server closed the connection before the whole answer arrived."""

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # some of the answer had arrived: the request was read


class ProtocolError(Exception):
    pass


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
    """One keep-alive connection: it parses the answer to the request in flight as bytes arrive."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.alive = True
        self.idle_since = time.monotonic()
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._no_body = False
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._keep = True
        self._length: int | None = None  # Content-Length, when the answer gives one
        self._chunked = False
        self._until_close = False
        self._chunk_left = -1  # bytes of the current chunk still to come; -1: a size line next
        self._body = bytearray()
        self._got_any = False

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Nothing was asked on this connection: the server is out of step with us.
            self.alive = False
            if self.transport is not None:
                self.transport.close()
            return
        self._got_any = True
        self._buf += data
        try:
            self._parse()
        except (ProtocolError, ValueError) as exc:
            self.alive = False
            self._fail(exc if isinstance(exc, ProtocolError) else ProtocolError(str(exc)))
            if self.transport is not None:
                self.transport.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        self.transport = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._until_close and exc is None:
            # An answer framed by the end of the connection: a clean close ends it, a reset
            # would cut it short.
            waiter.set_result((self._status, bytes(self._body), False))
            return
        self._fail(
            Disconnected("the server closed the connection", answered=self._got_any),
        )

    # -- requests ------------------------------------------------------------------------

    def send(
        self, loop: asyncio.AbstractEventLoop, head: bytes, body: bytes, *, no_body: bool
    ) -> asyncio.Future[tuple[int, bytes, bool]]:
        """Write one request; the future gets (status, body, reusable)."""
        assert self.transport is not None
        self._reset()
        self._no_body = no_body
        self._waiter = loop.create_future()
        self.transport.write(head + body if body else head)
        return self._waiter

    def close(self) -> None:
        self.alive = False
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _parse(self) -> None:
        if not self._status and not self._parse_head():
            return
        if self._until_close:
            self._body += self._buf
            self._buf.clear()
            return
        if self._chunked:
            if not self._parse_chunks():
                return
        elif self._length is not None:
            if len(self._buf) < self._length:
                return
            self._body = self._buf[: self._length]
            del self._buf[: self._length]
        if self._buf:
            raise ProtocolError("more bytes than the answer announced")
        assert self._waiter is not None
        self.idle_since = time.monotonic()
        self._waiter.set_result((self._status, bytes(self._body), self._keep))

    def _parse_head(self) -> bool:
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEAD:
                    raise ProtocolError("response headers too long")
                return False
            lines = bytes(self._buf[:end]).split(b"\r\n")
            del self._buf[: end + 4]
            version, _, rest = lines[0].partition(b" ")
            if not version.startswith(b"HTTP/1."):
                raise ProtocolError("not an HTTP/1.x response")
            status = int(rest[:3])
            if 100 <= status < 200:
                continue  # 100 Continue and friends: the real answer follows
            break
        keep = version != b"HTTP/1.0"
        length: int | None = None
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip().lower()
            if name == b"content-length":
                length = int(value)
                if length < 0:
                    raise ProtocolError("negative Content-Length")
            elif name == b"transfer-encoding":
                chunked = value.endswith(b"chunked")
            elif name == b"connection":
                if b"close" in value:
                    keep = False
                elif b"keep-alive" in value:
                    keep = True
        self._status = status
        self._keep = keep
        if self._no_body or status in (204, 304):
            self._length = 0
        elif chunked:
            self._chunked = True
        elif length is not None:
            self._length = length
        else:
            self._until_close = True
            self._keep = False
        return True

    def _parse_chunks(self) -> bool:
        buf = self._buf
        while True:
            if self._chunk_left < 0:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise ProtocolError("chunk size line too long")
                    return False
                size = int(bytes(buf[:end]).split(b";", 1)[0].strip(), 16)
                del buf[: end + 2]
                if size == 0:
                    self._chunk_left = -2  # trailers next
                else:
                    self._chunk_left = size
            if self._chunk_left == -2:
                end = buf.find(b"\r\n")
                if end < 0:
                    return False
                trailer = bytes(buf[:end])
                del buf[: end + 2]
                if not trailer:
                    return True
                continue
            if len(buf) < self._chunk_left + 2:
                return False
            self._body += buf[: self._chunk_left]
            if buf[self._chunk_left : self._chunk_left + 2] != b"\r\n":
                raise ProtocolError("chunk not followed by CRLF")
            del buf[: self._chunk_left + 2]
            self._chunk_left = -1


class _Deadlines:
    """When each waiting future gives up, kept with one timer for all of them.

    Nearly every request is answered long before its read timeout, and in a burst most
    callers wait a moment for a free connection. A timer of its own for each (``call_later``
    and ``cancel``, ``asyncio.timeout`` for the wait) was about 4% of the bot's CPU in the
    500-applicant burst (bench/README). Here a deadline is a dict entry, removed when the
    future is done; the one timer is set for the earliest deadline, and when it fires it
    fails the futures that are due and is set again for the next.
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
        """One request; returns (status, body). ``target`` is the path with its query."""
        if self._closed:
            raise RuntimeError("this Http1Pool is closed")
        with_body = bool(body) or method not in ("GET", "HEAD")
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
                return await self._exchange(conn, request_head, body, method, read_timeout)
            except Disconnected as exc:
                # A reused connection the server had closed while it sat idle, and nothing of
                # an answer: the request was not read. Safe to repeat only where repeating is
                # harmless; a POST goes back to the caller, whose retries decide.
                if not reused or exc.answered or method not in ("GET", "HEAD"):
                    raise
            conn = await self._connect(origin, connect_timeout)
            return await self._exchange(conn, request_head, body, method, read_timeout)
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
            if conn.alive and conn.transport is not None and now - conn.idle_since < self.keepalive:
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
        self, conn: _Connection, head: bytes, body: bytes, method: str, read_timeout: float | None
    ) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        waiter = conn.send(loop, head, body, no_body=method == "HEAD")
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
