"""The Bot API connection: where Telegram is blocked, the bot reaches it through the proxy
the environment names (HTTPS_PROXY / HTTP_PROXY, NO_PROXY), as curl and pip would."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from telegram import Bot

from bot.transport import BotApiRequest

SENT = {"message_id": 7, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "你好"}
ME = {"id": 1, "is_bot": True, "first_name": "Intake", "username": "intake_bot"}


class Listener:
    """A bare HTTP/1.1 endpoint on 127.0.0.1 that answers getMe and sendMessage and keeps
    the request line and headers it got (a proxy sees the absolute URL in the request line)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Listener:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not lines[0].split(" ")[1].endswith("/getMe"):
                    self.requests.append((lines[0], headers, body))
                result = ME if lines[0].split(" ")[1].endswith("/getMe") else SENT
                answer = json.dumps({"ok": True, "result": result}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


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
    async with Listener() as api, Listener() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://relay:s3cret@127.0.0.1:{proxy.port}")
        assert await _send(api.port) == 7
        assert await _send(api.port) == 7
        assert api.requests == []
        url = f"http://127.0.0.1:{api.port}/bot1:x/sendMessage"
        assert [line for line, _, _ in proxy.requests] == [f"POST {url} HTTP/1.1"] * 2
        _, headers, body = proxy.requests[0]
        assert headers["proxy-authorization"] == "Basic " + base64.b64encode(
            b"relay:s3cret"
        ).decode("ascii")
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"chat_id": 5, "text": "你好"}
        assert "你好".encode() in body  # UTF-8 as is, not 18 bytes of %-escapes


async def test_no_proxy_and_no_setting_go_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Listener() as api, Listener() as proxy:
        assert await _send(api.port) == 7
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        assert await _send(api.port) == 7
        assert proxy.requests == []
        assert [line for line, _, _ in api.requests] == ["POST /bot1:x/sendMessage HTTP/1.1"] * 2
