"""How the Application is put together from the settings: limits, transport, configuration."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import os
import re
import socket
from pathlib import Path

import aiohttp
import pytest
from telegram import Update
from telegram.ext import AIORateLimiter, CallbackQueryHandler, CommandHandler, MessageHandler
from telegram.request import HTTPXRequest

from bot.config import ConfigError, Settings, load_settings
from telegram_channel.app import GC_THRESHOLDS, build_application, open_services, serve
from telegram_channel.sendlimit import SendLimiter
from telegram_channel.transport import BotApiRequest
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram
from tests.helpers import console_script, wait_until
from tests.httpserver import Server, parse


async def _app(tmp_path: Path, **settings: object):  # type: ignore[no-untyped-def]
    services = await open_services(
        Settings(token="1:x", db_path=str(tmp_path / "intake.db"), **settings)  # type: ignore[arg-type]
    )
    return services, build_application(services)


async def test_shipped_limits_follow_telegram(tmp_path: Path) -> None:
    services, app = await _app(tmp_path)
    try:
        limiter = app.bot.rate_limiter
        assert isinstance(limiter, SendLimiter)
        assert limiter.overall is not None and limiter.overall.max_rate == 30
        assert limiter.group_rate == 20 and limiter.max_retries == 3
        assert isinstance(app.bot.request, BotApiRequest)
        assert app.bot.request._pool_size == 16
    finally:
        await services.store.close()


async def test_the_stock_client_keeps_the_same_limits(tmp_path: Path) -> None:
    """INTAKE_BOT_API_CLIENT=stock: python-telegram-bot as shipped, with Telegram's limits
    and the flood-wait retries of the own client."""
    services, app = await _app(tmp_path, bot_api_client="stock")
    try:
        limiter = app.bot.rate_limiter
        assert isinstance(limiter, AIORateLimiter)
        assert limiter._base_limiter is not None and limiter._base_limiter.max_rate == 30
        assert limiter._group_max_rate == 20 and limiter._max_retries == 3
        assert isinstance(app.bot.request, HTTPXRequest)
        assert isinstance(app.bot._request[0], HTTPXRequest)  # getUpdates too
        assert app.bot.read_update == Update.de_json
        assert app.bot_data["inbox"].read_update == Update.de_json
    finally:
        await services.store.close()


async def test_paid_broadcast_rate_and_no_limit(tmp_path: Path) -> None:
    services, app = await _app(tmp_path, send_rate=1000)
    try:
        assert app.bot.rate_limiter.overall.max_rate == 1000
        # Calls in flight grow with the rate: each holds a connection for a round trip.
        assert app.bot.request._pool_size == 125
    finally:
        await services.store.close()
    services, app = await _app(tmp_path, send_rate=0)
    try:
        assert app.bot.rate_limiter.overall is None
        assert app.bot.rate_limiter.max_retries == 3  # flood waits are still retried
    finally:
        await services.store.close()


async def test_each_update_has_one_handler_whatever_their_order(tmp_path: Path) -> None:
    """telegram_channel.app puts the applicants' handlers first (they get nearly every update); that is
    only safe while no two handlers before the fallbacks claim the same command or the
    same button prefix."""
    services, app = await _app(tmp_path)
    try:
        handlers = app.handlers[0]
        commands = [c for h in handlers if isinstance(h, CommandHandler) for c in h.commands]
        assert len(commands) == len(set(commands)) > 10
        prefixes = [h.pattern.pattern for h in handlers if isinstance(h, CallbackQueryHandler)]
        for data in (
            "a:1:2:c:0",
            "r:1:u:0",
            "x:0:new",
            "c:1:2",
            "p:1:2",
            "f:p:1:0",
            "l:zh:0",
            "d:1:y",
        ):
            assert sum(re.match(p, data) is not None for p in prefixes) == 1, data
        # the last three: edited messages, unknown commands, answers typed in the interview
        assert all(isinstance(h, MessageHandler) for h in handlers[-3:])
    finally:
        await services.store.close()


def test_settings_from_environment_and_file(tmp_path: Path) -> None:
    toml = tmp_path / "intake-bot.toml"
    toml.write_text('db = "from-file.db"\nadmin_ids = [1, 2]\nsend_rate = 100\n', encoding="utf-8")
    settings = load_settings(
        {"INTAKE_CONFIG": str(toml), "INTAKE_BOT_TOKEN": "123:abc", "INTAKE_SEND_RATE": "500"}
    )
    assert settings.token == "123:abc"
    assert settings.db_path == "from-file.db"
    assert settings.admin_ids == frozenset({1, 2})
    assert settings.send_rate == 500  # the environment wins over the file
    assert settings.file_url.endswith("/file/bot")
    with pytest.raises(ConfigError, match="INTAKE_BOT_TOKEN"):
        Settings().require_token()
    with pytest.raises(ConfigError, match="INTAKE_RATE_LIMIT"):
        load_settings({"INTAKE_RATE_LIMIT": "many"})
    assert settings.bot_api_client == "own"
    assert load_settings({"INTAKE_BOT_API_CLIENT": "Stock"}).bot_api_client == "stock"
    with pytest.raises(ConfigError, match="INTAKE_BOT_API_CLIENT must be one of own, stock"):
        load_settings({"INTAKE_BOT_API_CLIENT": "fast"})


# --- a proxy: the stock client, through it ----------------------------------------------

PROXY_PASSWORD = "pr0xy-Passw0rd"


def _forwarding_proxy(upstream: aiohttp.ClientSession, seen: list[tuple[str, str]]) -> Server:
    """A plain-HTTP forward proxy (no CONNECT: the fake Telegram speaks http): each request
    in absolute form goes on to its URL, the answer comes back; ``seen`` keeps each request
    line and its Proxy-Authorization."""

    async def forward(writer: asyncio.StreamWriter, request: bytes, n: int) -> bool:
        line, headers, body = parse(request)
        method, target, _ = line.split(" ", 2)
        seen.append((line, headers.get("proxy-authorization", "")))
        passed = {k: v for k, v in headers.items() if k == "content-type"}
        try:
            async with upstream.request(method, target, data=body, headers=passed) as answer:
                payload = await answer.read()
                status = answer.status
        except aiohttp.ClientError:  # the fake Telegram stopped under a long poll
            return False
        writer.write(
            f"HTTP/1.1 {status} Answer\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        return True

    return Server(forward)


async def test_with_a_proxy_the_bot_runs_on_the_stock_client_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Where Telegram is reachable only through a proxy, the bot runs on python-telegram-bot's
    stock client (httpx), whatever INTAKE_BOT_API_CLIENT says, and says why in one line
    that names the variable, not the proxy's password; and it serves through the proxy."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    caplog.set_level(logging.INFO)
    seen: list[tuple[str, str]] = []
    async with (
        aiohttp.ClientSession() as upstream,
        _forwarding_proxy(upstream, seen) as proxy,
        FakeTelegram() as tg,
    ):
        monkeypatch.setenv("HTTP_PROXY", f"http://relay:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}")
        running = Running(tg, make_settings(tg, tmp_path / "intake.db", bot_api_client="own"))
        await running.start()
        try:
            assert isinstance(running.app.bot.request, HTTPXRequest)  # type: ignore[attr-defined]
            li = tg.user(4, language_code="en")
            replies = await li.ask("/start", timeout=10)
            assert any("✅ I agree" in m.buttons for m in replies), [str(m) for m in replies]
        finally:
            await running.stop()
    credentials = "Basic " + base64.b64encode(f"relay:{PROXY_PASSWORD}".encode()).decode()
    methods = {line.split(" ")[1].rsplit("/", 1)[-1] for line, _ in seen}
    assert {"getMe", "getUpdates", "sendMessage"} <= methods, methods
    assert all(auth == credentials for _, auth in seen)
    said = [r.getMessage() for r in caplog.records if r.name == "telegram_channel.client"]
    assert said == [
        "HTTP_PROXY names a proxy for 127.0.0.1: the bot uses python-telegram-bot's stock"
        " Bot API client (httpx), which goes through it"
    ]
    assert PROXY_PASSWORD not in caplog.text


# --- starting without Telegram ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_bot_waits_for_the_network_and_then_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bot_api_client: str
) -> None:
    """A village server often boots before its network: the bot says what it waits for and
    starts serving once Telegram answers, instead of dying with a traceback."""
    caplog.set_level(logging.WARNING, logger="telegram_channel.app")
    port = _free_port()
    settings = Settings(
        token="123:SECRET-TOKEN",
        api_url=f"http://127.0.0.1:{port}/bot",
        db_path=str(tmp_path / "intake.db"),
        send_rate=0,
        bot_api_client=bot_api_client,
    )
    stop = asyncio.Event()
    thresholds = gc.get_threshold()
    task = asyncio.create_task(serve(settings, stop))
    try:
        await wait_until(
            lambda: "cannot reach the Telegram Bot API" in caplog.text, 10, "a warning"
        )
        assert not task.done()
        async with FakeTelegram(port=port) as tg:
            li = tg.user(4, language_code="en")
            await wait_until(lambda: tg.calls, 10, "the bot to reach Telegram")
            replies = await li.ask("/start", timeout=10)
            assert any("✅ I agree" in m.buttons for m in replies), [str(m) for m in replies]
            assert gc.get_threshold() == GC_THRESHOLDS  # serving: collects less often
            stop.set()
            await asyncio.wait_for(task, 10)
    finally:
        stop.set()
        if not task.done():
            task.cancel()
    assert "SECRET-TOKEN" not in caplog.text
    assert "Traceback" not in caplog.text
    # Stopped: the process's collector is as it was (unfrozen, its own thresholds).
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0


async def test_a_rejected_token_is_one_line_and_the_command_exits(
    tmp_path: Path, bot_api_client: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    async with FakeTelegram(token="123:RIGHT") as tg:
        env.update(
            INTAKE_BOT_TOKEN="999:WRONG-SECRET",
            INTAKE_BOT_API_URL=tg.base_url,
            INTAKE_DB=str(tmp_path / "intake.db"),
            INTAKE_BOT_API_CLIENT=bot_api_client,
        )
        process = await asyncio.create_subprocess_exec(
            console_script(),
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    stderr = err.decode()
    assert process.returncode == 1, stderr
    assert stderr.splitlines()[-1] == (
        f"intake-bot: the Bot API at 127.0.0.1:{tg.port} rejected INTAKE_BOT_TOKEN: copy the"
        " token again from @BotFather (and check INTAKE_BOT_API_URL if you set it)"
    )
    assert "Traceback" not in stderr and "Unclosed" not in stderr
    assert "WRONG-SECRET" not in stderr + out.decode()


def test_the_file_store_and_the_transcriber_settings(tmp_path: Path) -> None:
    """Files go beside the database unless INTAKE_FILES says where; no transcription is
    claimed unless INTAKE_TRANSCRIBER names an engine that is registered."""
    from bot import transcribe

    plain = load_settings({"INTAKE_DB": str(tmp_path / "x.db")})
    assert plain.files_dir == tmp_path / "x.db.files"
    assert plain.transcriber == "none" and transcribe.transcriber_for(plain) is None
    elsewhere = load_settings({"INTAKE_FILES": str(tmp_path / "evidence")})
    assert elsewhere.files_dir == tmp_path / "evidence"
    with pytest.raises(ConfigError, match="INTAKE_TRANSCRIBER names no known engine"):
        transcribe.transcriber_for(load_settings({"INTAKE_TRANSCRIBER": "whisper"}))
