"""Shared fixtures: a real bot against the fake Bot API, on a real SQLite file.

Every test that uses the fake Telegram (the ``tg`` fixture, and through it ``bot``, the
``Running`` bots that ``make_settings`` configures, the ``intake-bot run`` processes of
tests/test_reliability.py) runs once on each Bot API client (``INTAKE_BOT_API_CLIENT``:
``own`` and ``stock``, telegram_channel/client.py), so that ``pytest -q`` checks both.
``--bot-api-client own`` (or ``stock``) runs them on one only.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import BOT_API_CLIENTS, Settings
from telegram_channel.app import Services, build_application, open_services, start_polling, stop_app
from tests.backends import BACKENDS, db_backend, db_url
from tests.fakebot import FakeTelegram
from tests.helpers import bot_api_client_of, runs_on

__all__ = ["db_backend", "db_url"]  # fixtures: the storage tests on both databases

logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN = "123456:TEST-TOKEN-not-a-secret"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bot-api-client",
        action="append",
        choices=BOT_API_CLIENTS,
        help="run the end-to-end tests on this Bot API client only (repeatable; default: all)",
    )
    parser.addoption(
        "--db-backend",
        action="append",
        choices=BACKENDS,
        help="run the storage tests on this database only (repeatable; default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that reaches the fake Telegram once per Bot API client, and each
    storage test (``db_url``, tests/backends.py) once per database."""
    if "db_backend" in metafunc.fixturenames:
        backends = metafunc.config.getoption("db_backend") or list(BACKENDS)
        metafunc.parametrize("db_backend", backends, indirect=True)
    if "bot_api_client" not in metafunc.fixturenames:
        return
    clients = metafunc.config.getoption("bot_api_client") or list(BOT_API_CLIENTS)
    metafunc.parametrize("bot_api_client", clients, indirect=True)


@pytest.fixture(autouse=True)
def no_thread_left_running(request: pytest.FixtureRequest) -> object:
    """Fail a test that leaves a thread running that would keep the process alive.

    Each open database (aiosqlite) has such a thread: one a test forgets to close lets the
    whole run print its summary and then never end, which CI sees only as a time-out."""
    before = set(threading.enumerate())
    yield
    left = _threads_still_running(exclude=before)
    if left:
        pytest.fail(f"{request.node.nodeid} left threads running: {', '.join(left)}")


def _threads_still_running(exclude: set[threading.Thread], grace: float = 2.0) -> list[str]:
    """Names of the non-daemon threads, not in ``exclude``, still alive after ``grace``
    seconds (a closed connection's thread is only ending, and is waited for)."""
    deadline = time.monotonic() + grace
    left = []
    for thread in threading.enumerate():
        if thread in exclude or thread.daemon or thread is threading.main_thread():
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            left.append(thread.name)
    return left


def pytest_unconfigure(config: pytest.Config) -> None:
    """A thread left running (its test failed above) must not hang the run after its
    summary: say which, and end the process with a failure."""
    left = _threads_still_running(exclude=set())
    if left:
        sys.stderr.write(f"threads left running at the end: {', '.join(left)}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(1)


@pytest.fixture
def bot_api_client(request: pytest.FixtureRequest) -> str:
    """The Bot API client this test's bots run on."""
    return str(getattr(request, "param", "own"))


@dataclass
class Running:
    """A bot being tested: the fake Telegram, the settings, and the live application."""

    tg: FakeTelegram
    settings: Settings
    services: Services | None = None
    app: object | None = None
    history: list[object] = field(default_factory=list)

    async def start(self) -> None:
        self.services = await open_services(self.settings)
        self.app = build_application(self.services, request_timeout=2)
        await start_polling(self.app, timeout=1)  # type: ignore[arg-type]

    async def stop(self) -> None:
        if self.app is not None:
            await stop_app(self.app)  # type: ignore[arg-type]
            self.app = None
        if self.services is not None:
            await self.services.store.close()
            self.services = None

    async def restart(self) -> None:
        """A new Application on the same database, as after a crash or a redeploy."""
        await self.stop()
        await self.start()

    @property
    def store(self):  # type: ignore[no-untyped-def]
        assert self.services is not None
        return self.services.store


def make_settings(tg: FakeTelegram, db: Path, **extra: object) -> Settings:
    """Settings for a bot under test. Telegram's overall 30 messages a second is lifted
    (``send_rate=0``) unless a test asks for it: the people in these tests answer far faster
    than anyone could, and a throttled reply would arrive after the test stopped listening."""
    values: dict[str, object] = {
        "send_rate": 0,
        "bot_api_client": bot_api_client_of(tg),
        **extra,
    }
    return Settings(
        token=TOKEN,
        api_url=tg.base_url,
        db_path=str(db),
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
async def tg(bot_api_client: str) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        runs_on(fake, bot_api_client)
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
