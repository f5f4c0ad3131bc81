"""A key rotation in the database: every sealed value sealed again under the new key, in
batches, with where it has got to recorded in ``settings`` in the same transaction as each
batch, so that a rotation killed half-way goes on from there when run again.

While the record is there, the store opens values with either key, the new one first
(``Cipher.previous``; ``Store.open`` finds both keys by the two check values the record
holds), and seals with the new one. The key check itself is sealed again last, in the
transaction that removes the record: until then it still names the old key.
bot/rotation.py drives it (key files, the file store); the columns are listed in
bot/store/atrest.py (``SEALED``).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.crypto import Cipher, SecretKeyError
from bot.store.atrest import SEALED
from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, now_iso

ROTATION = "key_rotation"  # the settings row of a rotation under way
KEY_CHECK = "key_check"
_OK = "ok"
BATCH = 500


@dataclass(frozen=True)
class Progress:
    """A rotation under way: a value sealed with each key (to tell the keys apart), and the
    next column (index into ``SEALED``) and row id from which values are still to be done."""

    old_check: bytes
    new_check: bytes
    column: int = 0
    last: int | None = None  # None: from the first row (row ids may be 0 or below)

    def to_json(self) -> str:
        return json.dumps(
            {
                "old_check": base64.b64encode(self.old_check).decode("ascii"),
                "new_check": base64.b64encode(self.new_check).decode("ascii"),
                "column": self.column,
                "last": self.last,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Progress:
        data = json.loads(text)
        return cls(
            base64.b64decode(data["old_check"]),
            base64.b64decode(data["new_check"]),
            int(data["column"]),
            None if data["last"] is None else int(data["last"]),
        )


def opens(cipher: Cipher, check: bytes) -> bool:
    """Whether ``check`` was sealed with this very key (not its ``previous``)."""
    try:
        return _alone(cipher).open_bytes(check) == _OK.encode()
    except SecretKeyError:
        return False


def sealed_with(cipher: Cipher, sealed: bytes) -> bool:
    """Whether ``sealed`` opens with this very key (not its ``previous``)."""
    try:
        _alone(cipher).open_bytes(sealed)
    except SecretKeyError:
        return False
    return True


def _alone(cipher: Cipher) -> Cipher:
    if cipher.previous is None:
        return cipher
    alone = copy.copy(cipher)
    alone.previous = None
    return alone


async def progress(db: Backend) -> Progress | None:
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (ROTATION,))
    return None if row is None else Progress.from_json(row["value"])


async def begin(db: Backend, old: Cipher, new: Cipher) -> Progress:
    """Record that a rotation from ``old`` to ``new`` is under way (before any value is
    sealed with ``new``)."""
    started = Progress(old.seal_text(_OK), new.seal_text(_OK))
    await db.execute(
        "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)",
        (ROTATION, started.to_json(), now_iso()),
        touches=NOBODY,
    )
    return started


async def reseal(
    db: Backend,
    cipher: Cipher,
    at: Progress,
    *,
    batch: int = BATCH,
    after_batch: Callable[[int], None] | None = None,
) -> int:
    """Seal again with ``cipher`` (the new key, the old one as its ``previous``) every
    sealed value from where ``at`` says on that the new key does not open yet; returns how
    many. ``after_batch(n)`` is told the count so far after each committed batch.

    A second call from the start (``sweep``) finds what the first left: so a value is not
    left under the old key even if the list of columns changed between two runs."""
    alone = _alone(cipher)

    def again(value: bytes) -> bytes | None:
        try:
            alone.open_bytes(value)
            return None  # sealed with the new key already
        except SecretKeyError:
            return cipher.seal_bytes(cipher.open_bytes(value))

    done = 0
    tables = {r["name"] for r in await db.fetchall("SELECT name FROM sqlite_master")}
    for index in range(at.column, len(SEALED)):
        table, column = SEALED[index]
        if table not in tables:
            continue
        last = at.last if index == at.column else None
        while True:
            async with db.write() as tx:
                # Table and column names are the constants of SEALED, never input.
                after = "1" if last is None else "rowid > ?"
                rows = await tx.fetchall(
                    f"SELECT rowid AS k, {column} AS v FROM {table} WHERE {after}"
                    f"{_SKIP.get(table, '')} ORDER BY rowid LIMIT ?",
                    (batch,) if last is None else (last, batch),
                )
                if not rows:
                    await _record(tx, replace(at, column=index + 1, last=None))
                    break
                last = int(rows[-1]["k"])
                sealed = [(again(r["v"]), r["k"]) for r in rows if isinstance(r["v"], bytes)]
                changed = [(value, k) for value, k in sealed if value is not None]
                await tx.executemany(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", changed)
                await _record(tx, replace(at, column=index, last=last))
            done += len(changed)
            if after_batch is not None:
                after_batch(done)
    return done


def sweep(at: Progress) -> Progress:
    """Where a last pass over every sealed column starts (see ``reseal``)."""
    return Progress(at.old_check, at.new_check)


# The key check is sealed again only by ``finish``: until then it names the old key.
_SKIP = {"settings": f" AND key <> '{KEY_CHECK}'"}


async def _record(tx: Tx, at: Progress) -> None:
    await tx.execute(
        "UPDATE settings SET value = ?, changed_at = ? WHERE key = ?",
        (at.to_json(), now_iso(), ROTATION),
    )


async def finish(db: Backend, cipher: Cipher) -> None:
    """The rotation is over: the key check under the new key, the record gone (together),
    then the old values' bytes out of the WAL and free pages (``Database.compact``)."""
    async with db.write(touches=NOBODY) as tx:
        await tx.execute(
            "UPDATE settings SET value = ?, changed_at = ? WHERE key = ?",
            (_alone(cipher).seal_text(_OK), now_iso(), KEY_CHECK),
        )
        await tx.execute("DELETE FROM settings WHERE key = ?", (ROTATION,))
    await db.compact()
