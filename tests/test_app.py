"""How the Application is put together from the settings: limits, transport, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import POOL_SIZE, build_application, open_services
from bot.config import ConfigError, Settings, load_settings
from bot.transport import AiohttpRequest


async def _app(tmp_path: Path, **settings: object):  # type: ignore[no-untyped-def]
    services = await open_services(
        Settings(token="1:x", db_path=str(tmp_path / "intake.db"), **settings)  # type: ignore[arg-type]
    )
    return services, build_application(services)


async def test_shipped_limits_follow_telegram(tmp_path: Path) -> None:
    services, app = await _app(tmp_path)
    try:
        limiter = app.bot.rate_limiter
        assert limiter._base_limiter is not None and limiter._base_limiter.max_rate == 30
        assert limiter._group_max_rate == 20 and limiter._max_retries == 3
        assert isinstance(app.bot.request, AiohttpRequest)
        assert app.bot.request._pool_size == POOL_SIZE
    finally:
        await services.store.close()


async def test_paid_broadcast_rate_and_no_limit(tmp_path: Path) -> None:
    services, app = await _app(tmp_path, send_rate=1000)
    try:
        assert app.bot.rate_limiter._base_limiter.max_rate == 1000
    finally:
        await services.store.close()
    services, app = await _app(tmp_path, send_rate=0)
    try:
        assert app.bot.rate_limiter._base_limiter is None
        assert app.bot.rate_limiter._max_retries == 3  # flood waits are still retried
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
