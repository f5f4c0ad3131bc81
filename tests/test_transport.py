"""The Bot API connection: where Telegram is blocked, the bot reaches it through the proxy
the environment names (HTTPS_PROXY / HTTP_PROXY, NO_PROXY), as curl and pip would."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from collections.abc import Awaitable, Callable

import pytest
from telegram import Bot
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from telegram_channel.intake_bot import IntakeBot
from telegram_channel.sending import send
from telegram_channel.sendlimit import SendLimiter
from telegram_channel.transport import (
    AnswerLost,
    AnswerTimedOut,
    BotApiRequest,
    call,
    message_id_of,
    ok_of,
    result_of,
)
from tests.httpserver import Server, framed, parse

SENT = {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "你好"}
ME = {"id": 1, "is_bot": True, "first_name": "Intake", "username": "intake_bot"}


async def _telegram(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
    result = ME if parse(request)[0].split(" ")[1].endswith("/getMe") else SENT
    writer.write(framed(json.dumps({"ok": True, "result": result}).encode()))
    return True


def listener() -> Server:
    """An endpoint that answers getMe and sendMessage and keeps what it got (a proxy sees
    the absolute URL in the request line)."""
    return Server(_telegram)


def _calls(server: Server) -> list[tuple[str, dict[str, str], bytes]]:
    """Requests but getMe: request line, headers, body."""
    return [p for p in map(parse, server.requests) if not p[0].split(" ")[1].endswith("/getMe")]


@pytest.fixture(autouse=True)
def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def _send(port: int, via: str) -> int:
    """sendMessage through the bot's transport: as PTB's methods send it (uploads,
    getUpdates), or as the handlers' replies do (``telegram_channel.transport.call``)."""
    bot = Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot", request=BotApiRequest())
    async with bot:
        if via == "call":
            return (await call(bot, "sendMessage", {"chat_id": 5, "text": "你好"}))["message_id"]
        return (await bot.send_message(5, "你好")).message_id


both_paths = pytest.mark.parametrize("via", ["ptb", "call"])


@both_paths
async def test_calls_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    async with listener() as api, listener() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://relay:s3cret@127.0.0.1:{proxy.port}")
        assert await _send(api.port, via) == 7
        assert await _send(api.port, via) == 7
        assert _calls(api) == []
        url = f"http://127.0.0.1:{api.port}/bot1:x/sendMessage"
        assert [line for line, _, _ in _calls(proxy)] == [f"POST {url} HTTP/1.1"] * 2
        _, headers, body = _calls(proxy)[0]
        assert headers["proxy-authorization"] == "Basic " + base64.b64encode(
            b"relay:s3cret"
        ).decode("ascii")
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"chat_id": 5, "text": "你好"}
        assert "你好".encode() in body  # UTF-8 as is, not 18 bytes of %-escapes


@both_paths
async def test_no_proxy_and_no_setting_go_direct(monkeypatch: pytest.MonkeyPatch, via: str) -> None:
    async with listener() as api, listener() as proxy:
        assert await _send(api.port, via) == 7
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert await _send(api.port, via) == 7
        assert _calls(proxy) == []
        assert [line for line, _, _ in _calls(api)] == ["POST /bot1:x/sendMessage HTTP/1.1"] * 2


class _Canned(BaseRequest):
    """A request class that answers with one fixed (status, body): PTB's own mapping."""

    def __init__(self, code: int, payload: bytes) -> None:
        self.answer = (code, payload)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, *args: object, **kwargs: object) -> tuple[int, bytes]:
        return self.answer


async def _outcome(pending: Awaitable[object]) -> object:
    """The result, or the exception's kind and message."""
    try:
        return ("result", await pending)
    except TelegramError as exc:
        return (type(exc), str(exc))


ANSWERS = [
    (200, {"ok": True, "result": {"message_id": 7}}),
    (200, {"ok": True, "result": True}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: message is not modified"}),
    (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    ),
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    (404, {"ok": False, "error_code": 404, "description": "Not Found"}),
    (
        409,
        {"ok": False, "error_code": 409, "description": "Conflict: terminated by other getUpdates"},
    ),
    (429, {"ok": False, "description": "Too Many Requests", "parameters": {"retry_after": 7}}),
    (400, {"ok": False, "description": "migrated", "parameters": {"migrate_to_chat_id": -100}}),
    (400, {"ok": False, "description": "odd", "parameters": {"something": 1}}),
    (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    (502, b"<html>502 Bad Gateway</html>"),
    (599, b""),
    (200, b"<html>not JSON</html>"),
]


@pytest.mark.parametrize(("code", "answer"), ANSWERS)
async def test_answers_become_what_ptb_makes_of_them(code: int, answer: object) -> None:
    """The handlers' calls skip PTB's request building, not its reading of answers: every
    status the Bot API gives ends as the same result or the same exception, so RetryAfter
    still reaches the rate limiter and Forbidden still means "blocked"."""
    payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()

    async def ours() -> object:
        return result_of(code, payload)

    ptb = await _outcome(_Canned(code, payload).post("http://x/bot1:x/sendMessage"))
    assert await _outcome(ours()) == ptb


def _read(reader: Callable[[int, bytes], object], code: int, payload: bytes) -> object:
    try:
        return ("result", reader(code, payload))
    except TelegramError as exc:
        return (type(exc), str(exc))


@pytest.mark.parametrize(("code", "answer"), ANSWERS)
def test_answers_read_only_in_part_fail_as_in_full(code: int, answer: object) -> None:
    """The readers that skip most of a success (an acknowledgement, an edit, a sent
    message's id) raise on every failure exactly what PTB would."""
    payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    whole = _read(result_of, code, payload)
    if whole[0] != "result":
        assert _read(ok_of, code, payload) == whole
        assert _read(message_id_of, code, payload) == whole
    else:
        assert _read(ok_of, code, payload) == ("result", True)
        result = whole[1]
        expected = {"message_id": 7} if isinstance(result, dict) else result
        assert _read(message_id_of, code, payload) == ("result", expected)


A_MESSAGE = {
    "message_id": 9007199254740993,  # above 2**53: read as an int, not through a float
    "from": {"id": 1, "is_bot": True, "first_name": "Bot", "username": "bot"},
    "chat": {"id": 5, "first_name": "阿依古丽", "type": "private"},
    "date": 1700000000,
    "text": "您是为自己申请，还是替家人申请？",
    "reply_markup": {"inline_keyboard": [[{"text": "为我自己", "callback_data": "a:1"}]]},
}


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"ok": True, "result": A_MESSAGE}, ensure_ascii=False, separators=(",", ":")),
        json.dumps({"ok": True, "result": A_MESSAGE}),
        '{ "ok" : true , "result" : { "message_id" : 9007199254740993 } }',
    ],
    ids=["as the Bot API writes it", "with blanks and escapes", "id alone"],
)
def test_a_sent_message_is_read_for_its_id_only(payload: str) -> None:
    assert message_id_of(200, payload.encode()) == {"message_id": 9007199254740993}
    assert ok_of(200, payload.encode()) is True


def test_a_message_written_in_another_order_is_read_in_full() -> None:
    later = {k: v for k, v in A_MESSAGE.items() if k != "message_id"} | {"message_id": 12}
    payload = json.dumps({"ok": True, "result": later}).encode()
    assert message_id_of(200, payload) == result_of(200, payload)
    assert message_id_of(200, payload)["message_id"] == 12  # type: ignore[index]


async def test_the_bots_sends_get_the_new_messages_id_through_the_send_limiter() -> None:
    request = BotApiRequest()
    answer = json.dumps({"ok": True, "result": A_MESSAGE}, separators=(",", ":")).encode()

    async def canned(*args: object, **kwargs: object) -> tuple[int, bytes]:
        return 200, answer

    request._via_http1 = canned  # type: ignore[method-assign]
    bot = ExtBot("1:x", request=request, rate_limiter=SendLimiter(max_retries=1))
    await request.initialize()
    try:
        sent = await call(bot, "sendMessage", {"chat_id": 5, "text": "x"}, answer=message_id_of)
        edited = await call(bot, "editMessageText", {"chat_id": 5, "text": "y"}, answer=ok_of)
        whole = await call(bot, "sendMessage", {"chat_id": 5, "text": "z"})
    finally:
        await request.shutdown()
    assert sent == {"message_id": 9007199254740993}
    assert edited is True
    assert whole == A_MESSAGE


# --- a request that may have been applied, told from one that cannot have been ----------


async def _two_lengths(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
    body = json.dumps({"ok": True, "result": SENT}).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), len(body) + 1, body)
    )
    return True


async def _never(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
    await asyncio.sleep(5)
    return False


async def _hangs_up(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
    return False  # reads the request, closes without a word


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _post(url: str, **timeouts: float) -> object:
    request = BotApiRequest(read_timeout=0.3, **timeouts)
    await request.initialize()
    try:
        return await _outcome(request.post_json(url, {"chat_id": 5, "text": "你好"}))
    finally:
        await request.shutdown()


@pytest.mark.parametrize("route", ["direct", "proxy"])
async def test_a_lost_answer_is_told_from_a_request_that_never_went_out(
    monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """Sent and then no whole answer (unreadable, cut off, too late): ``AnswerLost``, which
    the senders never repeat. No connection to send it on: a plain ``NetworkError`` or
    ``TimedOut``, safe to try again. The same through aiohttp, for a proxy."""

    def url(port: int) -> str:
        if route == "proxy":
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
            return "http://api.telegram.invalid/bot1:x/sendMessage"
        return f"http://127.0.0.1:{port}/bot1:x/sendMessage"

    for answer in (_two_lengths, _hangs_up):
        async with Server(answer) as server:
            kind, _ = await _post(url(server.port))  # type: ignore[misc]
        assert issubclass(kind, AnswerLost) and not issubclass(kind, TimedOut), answer
    async with Server(_never) as server:
        kind, _ = await _post(url(server.port))  # type: ignore[misc]
    assert issubclass(kind, AnswerTimedOut) and issubclass(kind, TimedOut)
    assert issubclass(kind, AnswerLost)
    kind, _ = await _post(url(_closed_port()))  # type: ignore[misc]
    assert issubclass(kind, NetworkError) and not issubclass(kind, AnswerLost)

    # No free connection in time: a timeout, and the request never went out.
    release = asyncio.Event()

    async def held(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        await release.wait()
        return await _telegram(writer, request, n)

    async with Server(held) as server:
        request = BotApiRequest(connection_pool_size=1, pool_timeout=0.05, connect_timeout=0.1)
        await request.initialize()
        to = url(server.port)
        first = asyncio.ensure_future(request.post_json(to, {"chat_id": 5, "text": "a"}))
        await asyncio.sleep(0.05)
        kind, _ = await _outcome(request.post_json(to, {"chat_id": 5, "text": "b"}))  # type: ignore[misc]
        release.set()
        await first
        await request.shutdown()
    assert issubclass(kind, TimedOut) and not issubclass(kind, AnswerLost)
    assert len(server.requests) == 1  # "b" never went out


async def test_on_the_stock_client_a_lost_answer_is_told_from_a_request_that_never_went_out() -> (
    None
):
    """INTAKE_BOT_API_CLIENT=stock: the bot's calls go through PTB's ``HTTPXRequest``, and
    ``call`` tells the senders the same as on our own connection: sent and then no whole
    answer is ``AnswerLost`` (``AnswerTimedOut`` for the read timeout); no connection is a
    plain ``NetworkError``, safe to try again."""

    async def outcome(port: int) -> object:
        request = HTTPXRequest(read_timeout=0.3)
        bot = ExtBot("1:x", base_url=f"http://127.0.0.1:{port}/bot", request=request)
        try:
            return await _outcome(call(bot, "sendMessage", {"chat_id": 5, "text": "你好"}))
        finally:
            await request.shutdown()

    for answer in (_two_lengths, _hangs_up):
        async with Server(answer) as server:
            kind, _ = await outcome(server.port)  # type: ignore[misc]
        assert issubclass(kind, AnswerLost) and not issubclass(kind, TimedOut), answer
        assert len(server.requests) == 1
    async with Server(_never) as server:
        kind, _ = await outcome(server.port)  # type: ignore[misc]
    assert issubclass(kind, AnswerTimedOut) and issubclass(kind, TimedOut)
    kind, _ = await outcome(_closed_port())  # type: ignore[misc]
    assert issubclass(kind, NetworkError) and not issubclass(kind, AnswerLost)
    async with Server(_telegram) as server:
        assert await outcome(server.port) == ("result", SENT)


async def test_a_send_is_repeated_only_while_it_cannot_have_been_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``telegram_channel.sending.send``: a 502 is tried again and arrives; an answer that reads two
    ways is not (Telegram may have shown the message), nor handed to the outbox."""
    caplog.set_level(logging.WARNING)
    deferred: list[str] = []

    async def outbox(chat_id: int, text: str, markup: object) -> None:
        deferred.append(text)

    async def telegram(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        if b"bad gateway" in request and sum(b"bad gateway" in r for r in server.requests) == 1:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return True
        if b"two lengths" in request:
            return await _two_lengths(writer, request, n)
        return await _telegram(writer, request, n)

    async with Server(telegram) as server:
        request = BotApiRequest()
        bot = IntakeBot("1:x", base_url=f"http://127.0.0.1:{server.port}/bot", request=request)
        bot.defer_failed_replies(outbox)
        await request.initialize()
        try:
            assert await send(bot, 5, "bad gateway") == 7
            assert await send(bot, 5, "two lengths") is None
        finally:
            await request.shutdown()
    sent = [body for _, _, body in _calls(server)]
    assert sum(b"bad gateway" in body for body in sent) == 2
    assert sum(b"two lengths" in body for body in sent) == 1
    assert deferred == []
    assert any("answer was lost" in rec.getMessage() for rec in caplog.records)
    assert not any("two lengths" in rec.getMessage() for rec in caplog.records)
