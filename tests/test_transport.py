"""The Bot API connection: where Telegram is blocked, the bot reaches it through the proxy
the environment names (HTTPS_PROXY / HTTP_PROXY, NO_PROXY), as curl and pip would."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from telegram import Bot

from bot.transport import BotApiRequest
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


async def _send(port: int) -> int:
    """What a reply does: sendMessage through the bot's transport."""
    bot = Bot("1:x", base_url=f"http://127.0.0.1:{port}/bot", request=BotApiRequest())
    async with bot:
        return (await bot.send_message(5, "你好")).message_id


async def test_calls_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with listener() as api, listener() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://relay:s3cret@127.0.0.1:{proxy.port}")
        assert await _send(api.port) == 7
        assert await _send(api.port) == 7
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


async def test_no_proxy_and_no_setting_go_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    async with listener() as api, listener() as proxy:
        assert await _send(api.port) == 7
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert await _send(api.port) == 7
        assert _calls(proxy) == []
        assert [line for line, _, _ in _calls(api)] == ["POST /bot1:x/sendMessage HTTP/1.1"] * 2
