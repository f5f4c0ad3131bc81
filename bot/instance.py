"""One running bot per SQLite database.

Two ``intake-bot run`` on the same file would each poll Telegram and each send every queued
notification (the outbox is read by both). The embedded database serves one process, so the
bot takes an exclusive lock on a file beside it for as long as it runs; a second one is
refused with a message that says what to do. The lock is the operating system's
(``flock``): a bot killed with -9 leaves no stale lock behind. Command-line tools (roles,
flows, stats) do not take it: they are meant to be used while the bot runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from bot.config import ConfigError


class AlreadyRunning(ConfigError):
    """Another process holds the database's run lock."""


def lock_path_for(db_path: str) -> Path:
    return Path(db_path + ".lock")


class InstanceLock:
    """Held from ``acquire`` to ``release`` (or the end of the process)."""

    def __init__(self, db_path: str) -> None:
        self.path = lock_path_for(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (process {holder})" if holder else ""
            raise AlreadyRunning(
                f"another intake-bot is already running on {self.path.name[:-5]}{who}: "
                "stop it first; one database serves one running bot"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the lock
        self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip() or "0") or None
    return None
