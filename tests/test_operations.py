"""What an operator meets: a broken database file, a second bot on the same database, and
secrets that must never reach the log (issue 30, findings 8, 9 and 10)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
from pathlib import Path

import pytest

from bot.config import Settings
from bot.instance import AlreadyRunning, InstanceLock
from bot.redact import HIDDEN, Redactor, secrets_of
from bot.store.outbox import OutMessage
from tests.backends import deployment, open_store
from tests.conftest import TOKEN
from tests.fakebot import FakeTelegram
from tests.helpers import wait_until
from tests.test_reliability import BotProcess, _command, _env

# --- 9. a fatal error at start ends the process -------------------------------------------


def _run_bot(tmp_path: Path, db: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = _env(tmp_path, INTAKE_BOT_TOKEN=TOKEN, INTAKE_BOT_API_URL="http://127.0.0.1:9/bot")
    env["INTAKE_DB"] = db
    return subprocess.run(
        _command(), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout
    )


def test_a_file_that_is_not_a_database_ends_the_bot_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "intake.db"
    bad.write_bytes(os.urandom(20_000))
    result = _run_bot(tmp_path, str(bad))  # before: the process never ended (timeout)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"intake-bot: cannot use the database {bad}: file is not a database"
    ]


def test_a_database_path_that_cannot_be_opened_ends_the_bot(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = _run_bot(tmp_path, str(folder))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("intake-bot: ") and str(folder) in line


# --- 10. one running bot per database ----------------------------------------------------


def test_the_run_lock_refuses_a_second_holder_and_is_freed_on_release(tmp_path: Path) -> None:
    db = str(tmp_path / "intake.db")
    first = InstanceLock(db)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning, match=rf"already running .*process {os.getpid()}"):
            InstanceLock(db).acquire()
    finally:
        first.release()
    with InstanceLock(db):  # free again
        pass
    assert (tmp_path / "intake.db.lock").stat().st_mode & 0o777 == 0o600


async def test_a_second_bot_on_the_same_database_is_refused_and_nothing_is_sent_twice(
    tg: FakeTelegram, tmp_path: Path, db_url: str
) -> None:
    queued = 50
    store = await open_store(db_url, tmp_path)
    try:
        await store.outbox.add(
            [OutMessage(chat_id=5000 + i, text=f"notice {i}") for i in range(queued)]
        )
    finally:
        await store.close()
    first = BotProcess(tg, tmp_path, "first")
    second = BotProcess(tg, tmp_path, "second")
    on_db = {"INTAKE_DB": db_url}
    for name, value in deployment(db_url, tmp_path).items():
        on_db["INTAKE_" + name.upper()] = value  # INTAKE_SECRET_KEY, INTAKE_FILES
    first.env.update(on_db)
    second.env.update(on_db)
    try:
        await first.start()
        with open(second.log_path, "ab") as log:
            second.proc = subprocess.Popen(
                _command(), env=second.env, cwd=second.cwd, stdout=log, stderr=log
            )
        assert await second.wait(15) == 1
        assert "another intake-bot is already running" in second.log()
        assert "Traceback" not in second.log()

        def sent() -> int:
            return sum(1 for c in tg.calls if c.method == "sendMessage")

        await wait_until(lambda: sent() >= queued, 15, "the queued notices")
        await asyncio.sleep(1.0)  # a second sender would have doubled them by now
        assert sent() == queued
        assert first.proc is not None and first.proc.poll() is None  # the first one serves on
    finally:
        first.cleanup()
        second.cleanup()


# --- 8. secrets never reach the log -------------------------------------------------------

PROXY_PASSWORD = "s3cretPW"


def _logged(redactor: Redactor, emit: object) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        emit(logger)  # type: ignore[operator]
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def test_secrets_are_hidden_in_messages_arguments_and_tracebacks() -> None:
    settings = Settings(token=TOKEN, webhook_secret="hook-secret-77", secret_key="my passphrase")
    env = {"HTTPS_PROXY": f"http://alice:{PROXY_PASSWORD}@proxy.example:3128"}
    redactor = Redactor(secrets_of(settings, env))

    def emit(log: logging.Logger) -> None:
        # What aiohttp's proxy error says, as the bot logged it on every retry.
        log.warning(
            "cannot reach the Telegram Bot API (%s); trying again",
            f"407, message='Proxy Authentication Required', "
            f"url='http://alice:{PROXY_PASSWORD}@proxy.example:3128'",
        )
        log.info("webhook secret is %s, key %s", "hook-secret-77", "my passphrase")
        try:
            raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            log.exception("a call failed")
        # A token-shaped value the settings do not know (another bot's).
        log.error("url /bot7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe")

    text = _logged(redactor, emit)
    for secret in (PROXY_PASSWORD, TOKEN, TOKEN.split(":")[1], "hook-secret-77", "my passphrase"):
        assert secret not in text, secret
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in text
    assert "alice" not in text
    assert f"http://{HIDDEN}@proxy.example:3128" in text  # where it went is still said
    assert "Traceback" in text and "RuntimeError" in text  # the traceback itself stays
    assert "cannot reach the Telegram Bot API" in text


def test_the_proxy_password_stays_out_of_the_running_bots_log(tmp_path: Path) -> None:
    """The bot behind a proxy that refuses it: the retries are logged, the password is not."""

    async def refusing_proxy() -> tuple[asyncio.AbstractServer, int]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]

    async def run() -> str:
        server, port = await refusing_proxy()
        env = _env(tmp_path, INTAKE_BOT_TOKEN=TOKEN)
        env["HTTPS_PROXY"] = f"http://alice:{PROXY_PASSWORD}@127.0.0.1:{port}"
        proc = await asyncio.create_subprocess_exec(
            *_command(),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        await asyncio.sleep(4)  # the first tries, 1 s then 2 s apart
        proc.terminate()
        out, _ = await proc.communicate()
        server.close()
        return out.decode()

    log = asyncio.run(run())
    assert "Proxy Authentication Required" in log, log  # the retries were logged...
    assert PROXY_PASSWORD not in log  # ...without the password
    assert TOKEN.split(":")[1] not in log


def test_secrets_of_reads_proxy_passwords_percent_encoded_or_not() -> None:
    found = secrets_of(
        Settings(token=TOKEN),
        {"HTTPS_PROXY": "http://bob:p%40ss%3Aword@h:1", "HTTP_PROXY": "user:plainpass@h:2"},
    )
    assert "p%40ss%3Aword" in found and "p@ss:word" in found and "plainpass" in found
