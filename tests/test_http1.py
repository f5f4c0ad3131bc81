"""The small HTTP/1.1 client that carries the Bot API's plain calls: every way a server may
frame, delay, refuse or drop an answer ends in the answer or in a clear error, never in a
reply silently lost or a request waiting for ever."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import struct
import tempfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from telegram_channel import http1
from telegram_channel.transport import BotApiRequest
from tests.httpserver import Answer, Server, framed

OK = {"ok": True, "result": {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}}}


def origin(server: Server, scheme: str = "http") -> http1.Origin:
    return http1.Origin(scheme, "127.0.0.1", server.port)


async def one_get_fails(answer: Answer, error: type[Exception]) -> None:
    """A GET to a server answering so ends in ``error`` within the read timeout."""
    async with Server(answer) as server:
        pool = http1.Http1Pool(size=1)
        with pytest.raises(error):
            await pool.request("GET", origin(server), "/", read_timeout=2)
        await pool.close()


def holding_the_first(release: asyncio.Event, paths: list[bytes] | None = None) -> Answer:
    """Answers each request with its number, the first only once ``release`` is set; the
    path of each request answered goes to ``paths``."""

    async def held(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        if n == 1:
            await release.wait()
        if paths is not None:
            paths.append(request.split(b" ")[1])
        writer.write(framed(str(n).encode()))
        return True

    return held


async def plain(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
    writer.write(framed(json.dumps({"n": n}).encode()))
    return True


async def test_answers_come_back_whole_and_the_connection_is_kept() -> None:
    async with Server(plain) as server:
        port = server.port
        pool = http1.Http1Pool(size=4)
        first = await pool.request("POST", origin(server), "/bot1:x/sendMessage", body=b'{"a":1}')
        second = await pool.request("POST", origin(server), "/bot1:x/sendMessage", body=b"{}")
        await pool.close()
    assert first == (200, b'{"n": 1}')
    assert second == (200, b'{"n": 2}')
    assert server.connections == 1
    head = server.requests[0].split(b"\r\n")
    assert head[0] == b"POST /bot1:x/sendMessage HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}".encode() in head
    assert b"Content-Type: application/json" in head
    assert server.requests[0].endswith(b'\r\n\r\n{"a":1}')


async def test_a_chunked_answer_in_pieces_is_put_back_together() -> None:
    async def chunked(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"5;ext=1\r\n\xe4\xbd\xa0\xe5\xa5", b"\r\n5\r\n\xbd abc\r\n", b"0\r\n\r\n"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        return True

    async with Server(chunked) as server:
        pool = http1.Http1Pool(size=1)
        answers = [await pool.request("GET", origin(server), "/file") for _ in range(2)]
        await pool.close()
    assert answers == [(200, "你好 abc".encode())] * 2
    assert server.connections == 1


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'8;ext=1\r\n{"ok":tr\r\n6\r\nue,"n"\r\n3\r\n:1}\r\n0\r\n\r\n'
)
WITH_TRAILERS = CHUNKED[:-2] + b"X-Request-Id: 7\r\nX-Other: a\r\n\r\n"


@pytest.mark.parametrize("answer", [CHUNKED, WITH_TRAILERS], ids=["chunked", "with trailers"])
async def test_a_chunked_answer_split_at_any_byte_is_read_whole(answer: bytes) -> None:
    """Whatever byte a read ends on (between the last chunk's ``0\\r\\n`` and the final
    ``\\r\\n`` too) and whether trailers follow: the same answer, on the same connection."""
    cuts = range(1, len(answer))

    async def split(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        cut = cuts[n - 1]
        writer.write(answer[:cut])
        await writer.drain()
        await asyncio.sleep(0.003)  # the client reads the first part on its own
        writer.write(answer[cut:])
        return True

    async with Server(split) as server:
        pool = http1.Http1Pool(size=1)
        for _ in cuts:
            reply = await pool.request("POST", origin(server), "/sendMessage", body=b"{}")
            assert reply == (200, b'{"ok":true,"n":1}'), _
        await pool.close()
    assert server.connections == 1


@pytest.mark.parametrize("later", [False, True], ids=["in the same read", "a moment later"])
async def test_bytes_after_a_complete_answer_leave_it_good_and_the_connection_unused(
    later: bool,
) -> None:
    async def junk_after_the_first(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(framed(b'{"n":%d}' % n))
        if n == 1:
            if later:
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.write(b"\r\n0\r\n\r\n")
        return True

    async with Server(junk_after_the_first) as server:
        pool = http1.Http1Pool(size=1)
        first = await pool.request("POST", origin(server), "/sendMessage", body=b"{}")
        await asyncio.sleep(0.1)
        second = await pool.request("POST", origin(server), "/sendMessage", body=b"{}")
        await pool.close()
    assert (first, second) == ((200, b'{"n":1}'), (200, b'{"n":2}'))
    assert server.connections == 2  # the first connection was not used again


CHUNKS = b'7\r\n{"n":1}\r\n0\r\n\r\n'


@pytest.mark.parametrize(
    "rest",
    [
        b'Content-Length: 8\r\nContent-Length: 7\r\n\r\n{"n":1}',
        b'Content-Length: 7\r\nContent-Length: 8\r\n\r\n{"n":1}',
        b"Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKS,
        b"Transfer-Encoding: chunked\r\nContent-Length: 7\r\n\r\n" + CHUNKS,
    ],
    ids=["two lengths", "two lengths, the shorter first", "length and chunks", "chunks and length"],
)
async def test_an_answer_that_reads_two_ways_is_refused(rest: bytes) -> None:
    async def ambiguous(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\n" + rest)
        return True

    async with Server(ambiguous) as server:
        pool = http1.Http1Pool(size=1)
        with pytest.raises(http1.ProtocolError):
            await pool.request("POST", origin(server), "/sendMessage", body=b"{}", read_timeout=1)
        await pool.close()
    assert len(server.requests) == 1  # and not asked again


async def test_an_answer_that_ends_with_the_connection_is_read_to_the_end() -> None:
    async def closing(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 100_000)
        return False

    async with Server(closing) as server:
        pool = http1.Http1Pool(size=2)
        for _ in range(2):
            assert await pool.request("GET", origin(server), "/") == (200, b"x" * 100_000)
        await pool.close()
    assert server.connections == 2  # nothing is reused after Connection: close


async def test_an_answer_cut_short_by_a_reset_is_an_error_not_a_short_answer() -> None:
    async def reset(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 1000)
        await writer.drain()
        await asyncio.sleep(0.05)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST: the rest of the answer never comes
        return False

    await one_get_fails(reset, http1.Disconnected)


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    async def once(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(framed(b"{}", b"Connection: keep-alive"))
        await writer.drain()
        return False  # then the server closes it, as Telegram does after a while

    async with Server(once) as server:
        pool = http1.Http1Pool(size=2)
        assert await pool.request("POST", origin(server), "/a", body=b"{}") == (200, b"{}")
        await asyncio.sleep(0.05)
        assert await pool.request("POST", origin(server), "/b", body=b"{}") == (200, b"{}")
        await pool.close()
    assert server.connections == 2


async def test_connections_idle_too_long_are_dropped() -> None:
    async with Server(plain) as server:
        pool = http1.Http1Pool(size=2, keepalive=0.05)
        await pool.request("GET", origin(server), "/")
        await asyncio.sleep(0.1)
        await pool.request("GET", origin(server), "/")
        await pool.close()
    assert server.connections == 2


async def test_a_request_dropped_unanswered_is_repeated_only_when_that_is_harmless() -> None:
    async def drops_the_second(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        if n == 2:
            writer.transport.abort()  # read the request, closed without a word
            return False
        writer.write(framed(b"{}"))
        return True

    async with Server(drops_the_second) as server:
        pool = http1.Http1Pool(size=1)
        await pool.request("GET", origin(server), "/")
        # A GET on the reused connection: asked again on a new one.
        assert await pool.request("GET", origin(server), "/") == (200, b"{}")
        server.requests.clear()
        server.connections = 0
        await pool.request("POST", origin(server), "/", body=b"{}")  # number 1 again
        with pytest.raises(http1.Disconnected):
            await pool.request("POST", origin(server), "/sendMessage", body=b"{}")
        await pool.close()
    # The POST was not sent twice: a message must not go out twice behind the caller's back.
    assert sum(b"/sendMessage" in r for r in server.requests) == 1


async def test_no_answer_in_time_is_a_timeout_and_the_connection_is_not_reused() -> None:
    async def slow(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        if n == 1:
            await asyncio.sleep(1)
        writer.write(framed(b"{}"))
        return True

    async with Server(slow) as server:
        pool = http1.Http1Pool(size=1)
        with pytest.raises(http1.ReadTimeout):
            await pool.request("GET", origin(server), "/", read_timeout=0.05)
        assert await pool.request("GET", origin(server), "/", read_timeout=2) == (200, b"{}")
        await pool.close()
    assert server.connections == 2


async def test_a_full_pool_makes_callers_wait_then_gives_up_after_the_pool_timeout() -> None:
    release = asyncio.Event()
    async with Server(holding_the_first(release)) as server:
        pool = http1.Http1Pool(size=1)
        first = asyncio.ensure_future(pool.request("GET", origin(server), "/"))
        await asyncio.sleep(0.05)
        with pytest.raises(http1.PoolTimeout):
            await pool.request("GET", origin(server), "/", pool_timeout=0.05)
        waiting = asyncio.ensure_future(pool.request("GET", origin(server), "/", pool_timeout=2))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        release.set()
        assert await first == (200, b"1")
        assert await waiting == (200, b"2")
        await pool.close()
    assert server.connections == 1


async def test_waiting_callers_get_a_connection_in_turn_and_a_cancelled_one_gives_it_on() -> None:
    """First come, first served; a caller that gives up (cancelled, or its pool timeout)
    neither takes a connection nor keeps one from the callers after it."""
    release = asyncio.Event()
    order: list[bytes] = []
    async with Server(holding_the_first(release, order)) as server:
        pool = http1.Http1Pool(size=1)
        first = asyncio.ensure_future(pool.request("GET", origin(server), "/first"))
        await asyncio.sleep(0.05)
        callers = {}
        for name in ("a", "gone", "timed-out", "b", "c"):
            timeout = 0.05 if name == "timed-out" else None
            callers[name] = asyncio.ensure_future(
                pool.request("GET", origin(server), f"/{name}", pool_timeout=timeout)
            )
            await asyncio.sleep(0)
        callers["gone"].cancel()
        with pytest.raises(http1.PoolTimeout):
            await callers.pop("timed-out")
        release.set()
        assert await first == (200, b"1")
        for name in ("a", "b", "c"):
            assert (await callers[name])[0] == 200
        assert callers["gone"].cancelled()
        assert order == [b"/first", b"/a", b"/b", b"/c"]
        assert pool._free == 1 and not pool._queue  # nothing held, nobody left waiting
        await pool.close()
    assert server.connections == 1


async def test_a_connection_handed_over_as_its_caller_is_cancelled_goes_to_the_next() -> None:
    pool = http1.Http1Pool(size=1)
    pool._free = 0  # one request holds the only connection
    a = asyncio.ensure_future(pool._wait_for_one(None))
    b = asyncio.ensure_future(pool._wait_for_one(None))
    await asyncio.sleep(0)
    pool._release()  # the connection goes to a ...
    a.cancel()  # ... which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await a
    await asyncio.wait_for(b, 1)  # b has it
    assert pool._free == 0
    pool._release()
    assert pool._free == 1


async def test_each_deadline_holds_whatever_order_the_requests_came_in() -> None:
    """One timer serves every deadline: a short read timeout set after a long one still
    fires on time, the long one after it, and answers in time leave nothing behind."""

    async def silent(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        if b"/slow" in request:
            await asyncio.sleep(5)
        writer.write(framed(b"{}"))
        return True

    async with Server(silent) as server:
        pool = http1.Http1Pool(size=8)
        loop = asyncio.get_running_loop()
        started = loop.time()
        ended: dict[str, float] = {}

        async def timed(name: str, seconds: float) -> None:
            with pytest.raises(http1.ReadTimeout):
                await pool.request("GET", origin(server), "/slow", read_timeout=seconds)
            ended[name] = loop.time() - started

        long = asyncio.ensure_future(timed("long", 0.6))
        await asyncio.sleep(0.05)
        short = asyncio.ensure_future(timed("short", 0.1))
        answers = [pool.request("GET", origin(server), "/", read_timeout=3) for _ in range(5)]
        assert await asyncio.gather(*answers) == [(200, b"{}")] * 5
        assert len(pool._deadlines._due) == 2  # the answered ones are gone at once
        await asyncio.gather(long, short)
        assert 0.1 <= ended["short"] < 0.5
        assert 0.6 <= ended["long"] < 1.0
        assert not pool._deadlines._due
        await pool.close()


async def test_something_that_is_not_http_is_an_error_not_a_hang() -> None:
    async def garbage(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        return True

    await one_get_fails(garbage, http1.ProtocolError)


def _self_signed() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for 127.0.0.1: the server's context, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as f:
        f.write(pem)
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        f.flush()
        server.load_cert_chain(f.name)
    client = ssl.create_default_context(cadata=pem.decode("ascii"))
    return server, client


async def test_https_is_verified_and_kept_alive() -> None:
    server_tls, client_tls = _self_signed()
    async with Server(plain, tls=server_tls) as server:
        pool = http1.Http1Pool(size=1, ssl_context=client_tls)
        for n in (1, 2):
            assert await pool.request("GET", origin(server, "https"), "/") == (
                200,
                json.dumps({"n": n}).encode(),
            )
        await pool.close()
        assert server.connections == 1
        # A client that does not trust the certificate does not talk to that server.
        strict = http1.Http1Pool(size=1)
        with pytest.raises(ssl.SSLCertVerificationError):
            await strict.request("GET", origin(server, "https"), "/", connect_timeout=5)
        await strict.close()
    assert len(server.requests) == 2


async def test_the_bot_sends_through_it_and_maps_failures_to_ptb_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def telegram(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        if b"/getMe " in request:
            me = {"id": 1, "is_bot": True, "first_name": "Intake", "username": "intake_bot"}
            writer.write(framed(json.dumps({"ok": True, "result": me}).encode()))
        elif b"slow" in request:
            await asyncio.sleep(1)
        else:
            writer.write(framed(json.dumps(OK).encode()))
        return True

    async with Server(telegram) as server:
        port = server.port
        request = BotApiRequest(read_timeout=0.2)
        bot = Bot("1:x", base_url=f"http://127.0.0.1:{server.port}/bot", request=request)
        async with bot:
            assert (await bot.send_message(5, "你好")).message_id == 7
            with pytest.raises(TimedOut):
                await bot.send_message(5, "slow")
        sent = [r for r in server.requests if b"/sendMessage " in r]
        assert json.loads(sent[0].split(b"\r\n\r\n", 1)[1]) == {"chat_id": 5, "text": "你好"}
    refused = Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot", request=BotApiRequest())
    await refused.request.initialize()
    with pytest.raises(NetworkError):
        await refused.send_message(5, "nobody listens")
    await refused.request.shutdown()
