"""Which intake holds which file of the file store (bot/files.py), and downloads to do.

A file arrives as a Telegram id; it is downloaded at once and kept in the file store under
its content address. A row here says which intake (and which question) it belongs to, so
that ``/delete``, retention and ``/mydata`` find it. While a download fails the row keeps
Telegram's id (``source``) and when to try again; the applicant's answer counts already.

Telegram's ids of a file are not kept in the clear: the unique id (how an answer names the
file) as a keyed hash, the file id (needed only until the download succeeds) sealed.

Several rows may name one address (the same photo sent twice): a file is erased from the
store when the last row naming it goes (``forget``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass

from bot.crypto import open_text, seal_text
from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, now_iso

_ADDRESS_KEY = "files_address_key"
FIRST_TRY = 120  # seconds a new file's download is left to the handler that got it
_COLUMNS = (
    "id, intake_id, unique_id, kind, step, size, duration, address, source, tries,"
    " transcript, created_at"
)


@dataclass(frozen=True)
class FileRow:
    id: int
    intake_id: int
    unique_id: str  # the keyed hash of Telegram's unique id
    kind: str
    step: str | None
    size: int | None
    duration: int | None
    address: str | None  # None while the download waits (or when Telegram refused it)
    source: str | None  # Telegram's file id while a download is still to be tried
    tries: int
    transcript: str | None
    created_at: str

    @property
    def lost(self) -> bool:
        """Telegram refused the file for good (``give_up``): we never got it."""
        return self.address is None and self.source is None


def _later(seconds: float) -> str:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def address_key(db: Backend) -> bytes:
    """The key of the file store's content addresses: random, made once, kept sealed in
    the settings (so rotating the data key re-seals it and moves no file)."""
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_ADDRESS_KEY,))
    if row is None:
        if db.cipher is None:
            raise RuntimeError("the file store needs the database's key")
        await db.execute(
            "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (_ADDRESS_KEY, db.cipher.seal_bytes(os.urandom(32)), now_iso()),
            touches=NOBODY,
        )
        row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_ADDRESS_KEY,))
        assert row is not None
    assert db.cipher is not None
    return db.cipher.open_bytes(row["value"])


async def forget_files(tx: Tx, intake_ids: list[int]) -> None:
    """Inside the transaction that erases these intakes: their file rows go, and each file
    no other intake holds is queued for erasure from the store (``FileRecords.erasures``)."""
    if not intake_ids:
        return
    marks = ", ".join("?" for _ in intake_ids)
    rows = await tx.fetchall(
        f"SELECT DISTINCT address FROM files WHERE intake_id IN ({marks}) AND address IS NOT NULL",
        intake_ids,
    )
    await tx.execute(f"DELETE FROM files WHERE intake_id IN ({marks})", intake_ids)
    for r in rows:
        if await tx.fetchone("SELECT 1 FROM files WHERE address = ? LIMIT 1", (r["address"],)):
            continue
        await tx.execute(
            "INSERT INTO files_erase (address, queued_at) VALUES (?, ?)"
            " ON CONFLICT (address) DO NOTHING",
            (r["address"], now_iso()),
        )


class FileRecords:
    def __init__(self, db: Backend) -> None:
        self._db = db
        # Keys the hash a file's Telegram unique id is kept as (set by ``Store.open``).
        self.name_key: bytes | None = None

    def _name(self, unique_id: str) -> str:
        if self.name_key is None:
            raise RuntimeError("the file records need the store's key")
        mac = hmac.new(self.name_key, b"telegram file: " + unique_id.encode(), hashlib.sha256)
        return mac.hexdigest()

    def _row(self, r: object) -> FileRow:
        transcript = r["transcript"]  # type: ignore[index]
        return FileRow(
            r["id"],  # type: ignore[index]
            r["intake_id"],  # type: ignore[index]
            r["unique_id"],  # type: ignore[index]
            r["kind"],  # type: ignore[index]
            r["step"],  # type: ignore[index]
            r["size"],  # type: ignore[index]
            r["duration"],  # type: ignore[index]
            r["address"],  # type: ignore[index]
            None if r["source"] is None else open_text(self._db.cipher, r["source"]),  # type: ignore[index]
            r["tries"],  # type: ignore[index]
            None if transcript is None else open_text(self._db.cipher, transcript),
            r["created_at"],  # type: ignore[index]
        )

    async def record(
        self,
        intake_id: int,
        unique_id: str,
        kind: str,
        *,
        step: str | None,
        size: int | None,
        duration: int | None,
        source: str,
    ) -> FileRow:
        """The row of this file of this intake, made (waiting for its download) if new.

        Its first download is the caller's, now; the background job's turn comes only after
        ``FIRST_TRY`` seconds (it would race the caller), in case the bot stopped meanwhile."""
        await self._db.execute(
            "INSERT INTO files (intake_id, unique_id, kind, step, size, duration, source,"
            " next_try_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (intake_id, unique_id) DO NOTHING",
            (
                intake_id,
                self._name(unique_id),
                kind,
                step,
                size,
                duration,
                seal_text(self._db.cipher, source),
                _later(FIRST_TRY),
                now_iso(),
            ),
            touches=NOBODY,
        )
        found = await self.find(intake_id, unique_id)
        assert found is not None
        return found

    async def find(self, intake_id: int, unique_id: str) -> FileRow | None:
        r = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM files WHERE intake_id = ? AND unique_id = ?",
            (intake_id, self._name(unique_id)),
        )
        return None if r is None else self._row(r)

    async def of_intakes(self, intake_ids: list[int]) -> list[FileRow]:
        if not intake_ids:
            return []
        marks = ", ".join("?" for _ in intake_ids)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM files WHERE intake_id IN ({marks}) ORDER BY id",
            intake_ids,
        )
        return [self._row(r) for r in rows]

    async def stored(self, row_id: int, address: str) -> None:
        """Downloaded and kept: Telegram's id is no longer needed."""
        await self._db.execute(
            "UPDATE files SET address = ?, source = NULL, next_try_at = NULL WHERE id = ?",
            (address, row_id),
            touches=NOBODY,
        )

    async def retry_later(self, row_id: int, seconds: float) -> None:
        await self._db.execute(
            "UPDATE files SET tries = tries + 1, next_try_at = ? WHERE id = ? AND address IS NULL",
            (_later(seconds), row_id),
            touches=NOBODY,
        )

    async def give_up(self, row_id: int) -> None:
        """Telegram refuses the file for good: the row stays (the answer named a file) but
        no download is tried again."""
        await self._db.execute(
            "UPDATE files SET tries = tries + 1, next_try_at = NULL, source = NULL"
            " WHERE id = ? AND address IS NULL",
            (row_id,),
            touches=NOBODY,
        )

    async def waiting(self, limit: int = 20) -> list[FileRow]:
        """Downloads that failed and are due to be tried again."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM files WHERE address IS NULL AND next_try_at <= ?"
            " ORDER BY next_try_at LIMIT ?",
            (now_iso(), limit),
        )
        return [self._row(r) for r in rows]

    async def waiting_count(self) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM files WHERE address IS NULL AND next_try_at IS NOT NULL"
        )
        return int(row["n"]) if row else 0

    async def unheard(self, limit: int = 10) -> list[FileRow]:
        """Voice notes kept and not yet given to the transcriber."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM files WHERE kind = 'voice' AND heard = 0"
            " AND address IS NOT NULL ORDER BY id LIMIT ?",
            (limit,),
        )
        return [self._row(r) for r in rows]

    async def transcribed(self, row_id: int, text: str | None) -> None:
        """The transcriber had its try (``text`` None: it made nothing out)."""
        sealed = None if not text else seal_text(self._db.cipher, text)
        await self._db.execute(
            "UPDATE files SET transcript = ?, heard = 1 WHERE id = ?",
            (sealed, row_id),
            touches=NOBODY,
        )

    async def forget(self, intake_ids: list[int]) -> None:
        """Drop the file rows of these intakes and queue their files for erasure."""
        async with self._db.write(touches=NOBODY) as tx:
            await forget_files(tx, intake_ids)

    async def erasures(self) -> list[str]:
        """Files queued for erasure from the store."""
        rows = await self._db.fetchall("SELECT address FROM files_erase ORDER BY queued_at")
        return [str(r["address"]) for r in rows]

    async def erased(self, address: str) -> None:
        await self._db.execute(
            "DELETE FROM files_erase WHERE address = ?", (address,), touches=NOBODY
        )

    async def referenced(self, address: str) -> bool:
        row = await self._db.fetchone("SELECT 1 FROM files WHERE address = ? LIMIT 1", (address,))
        return row is not None
