"""Shared fixtures: a real bot against the fake Bot API, on a real SQLite file."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Settings
from telegram_channel.app import Services, build_application, open_services, start_polling, stop_app
from tests.fakebot import FakeTelegram

logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN = "123456:TEST-TOKEN-not-a-secret"


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
    values: dict[str, object] = {"send_rate": 0, **extra}
    return Settings(
        token=TOKEN,
        api_url=tg.base_url,
        db_path=str(db),
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(tg, make_settings(tg, tmp_path / "intake.db"))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
