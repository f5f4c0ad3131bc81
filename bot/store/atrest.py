"""Bringing a database written by an earlier version to the at-rest format, in place, at start.

Earlier versions kept most personal data in the clear (only the answers of ``sensitive``
steps, attachments and queued notifications were sealed, each with Fernet) and turned a
passphrase into the key with one unsalted SHA-256. ``Store.open`` finds such a database by
its key check (bot/store/__init__.py) and calls ``rewrite``: every stored value that is not
sealed with the current key is read (with the earlier key) and sealed again, the plain
answers kept for statistics are filled in, the key check is rewritten last, all in one
transaction; so a crash leaves the database as it was, and the next start does it again.
Then the WAL is emptied and the file rebuilt (``Database.compact``): the old bytes are
not left in free pages or WAL frames.

The same pass clears what an earlier version left of erased drafts: the Telegram id in
their audit rows, and the ``users`` row of a person with nothing else left.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.crypto import Cipher
from bot.store.intakes import _dump, _state, plain_answers
from bot.store.users import forget_user

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

_CHUNK = 500
_OK = "ok"

# Every column that holds values sealed with the data key (a BLOB in the at-rest format),
# as (table, column): a key rotation (bot/store/rotation.py) seals each of them again, and
# tests/test_rotation.py fails when a table holds a BLOB in a column not listed here or in
# HASHED. In ``settings`` only the BLOB values are sealed (the key check among them).
SEALED: tuple[tuple[str, str], ...] = (
    ("intakes", "state"),
    ("intakes", "clue"),
    ("intakes", "decision_reason"),
    ("previews", "state"),
    ("messages", "body"),
    ("referrals", "request"),
    ("referrals", "outcome"),
    ("pending", "data"),
    ("outbox", "text"),
    ("inbox", "body"),
    ("inbox", "error"),
    ("proposals", "reason"),
    ("proposals", "note"),
    ("measures", "kind_text"),
    ("measures", "reason"),
    ("settings", "value"),
    # Tables that come with other branches of the same release (the file store's rows,
    # a caseworker's kept lists): a rotation passes over a table that is not there.
    ("files", "source"),
    ("files", "transcript"),
    ("listings", "spec"),
)

# Columns of keyed hashes (HMAC under a key derived from the data key), not sealed values:
# a rotation cannot make them again without what was hashed. ``erased`` tags are kept two
# days (bot/store/users.py); those written before a rotation no longer match after it.
# The blind index (``lookup``) is made again under the new key at the next start.
HASHED: tuple[tuple[str, str], ...] = (("erased", "tag"), ("lookup", "digest"))

# Audit rows an applicant writes about their own draft; with no intake left they were
# about a draft that was erased.
_ERASED_DRAFT_ACTIONS = ("intake.started", "draft.erased")


async def rewrite(store: Store, reading: Cipher) -> int:
    """Seal, with the store's cipher, every value ``reading`` can read that is not sealed
    with it yet; returns how many were rewritten. ``reading`` is the store's cipher itself
    when only values in the clear (or in an earlier format under the same key) are to go."""
    db = store.db
    cipher = db.cipher
    assert cipher is not None
    everything = reading is not cipher  # another key: even sealed values are rewritten

    def stale(value: str | bytes | None) -> bool:
        return value is not None and (everything or isinstance(value, str))

    def text(value: str | bytes) -> bytes:
        return cipher.seal_text(reading.open_text(value))

    plain_of: dict[tuple[str, int], frozenset[str]] = {}
    for row in await db.fetchall("SELECT DISTINCT flow_id, flow_version FROM intakes"):
        key = (row["flow_id"], int(row["flow_version"]))
        try:
            plain_of[key] = (await store.flows.get(*key)).plain
        except Exception:  # a flow that no longer loads: its answers stay sealed, uncounted
            log.warning("flow %s version %d does not load: no plain answers kept", *key)
            plain_of[key] = frozenset()

    done = 0
    async with db.write() as tx:
        last = 0
        while True:
            rows = await tx.fetchall(
                "SELECT id, flow_id, flow_version, status, state, clue, decision_reason"
                " FROM intakes WHERE id > ? ORDER BY id LIMIT ?",
                (last, _CHUNK),
            )
            if not rows:
                break
            last = int(rows[-1]["id"])
            for row in rows:
                if not (stale(row["state"]) or stale(row["clue"]) or stale(row["decision_reason"])):
                    continue
                state = _state(row["state"], reading)
                plain = plain_of.get((row["flow_id"], int(row["flow_version"])), frozenset())
                await tx.execute(
                    "UPDATE intakes SET state = ?, plain_answers = ?, clue = ?,"
                    " decision_reason = ? WHERE id = ?",
                    (
                        _dump(state, cipher),
                        None if row["status"] == "draft" else plain_answers(state, plain),
                        None if row["clue"] is None else text(row["clue"]),
                        None if row["decision_reason"] is None else text(row["decision_reason"]),
                        row["id"],
                    ),
                )
                done += 1
        for row in await tx.fetchall("SELECT user_id, state FROM previews"):
            if stale(row["state"]):
                await tx.execute(
                    "UPDATE previews SET state = ? WHERE user_id = ?",
                    (_dump(_state(row["state"], reading), cipher), row["user_id"]),
                )
                done += 1
        for table, column, key in (
            ("messages", "body", "id"),
            ("referrals", "request", "id"),
            ("referrals", "outcome", "id"),
            ("pending", "data", "user_id"),
            ("outbox", "text", "id"),
        ):
            # Table and column names are the constants above, never input.
            for row in await tx.fetchall(
                f"SELECT {key} AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL"
                f" AND {column} != ''"
            ):
                if stale(row["v"]):
                    await tx.execute(
                        f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                        (text(row["v"]), row["k"]),
                    )
                    done += 1
        # Erased drafts of an earlier version: the person's id in the audit rows, their
        # users row when nothing else of theirs is left.
        marks = ",".join("?" * len(_ERASED_DRAFT_ACTIONS))
        for row in await tx.fetchall(
            "SELECT DISTINCT actor FROM audit WHERE action = 'draft.erased' AND actor IS NOT NULL"
        ):
            await forget_user(tx, int(row["actor"]))
        cursor = await tx.execute(
            "UPDATE audit SET actor = NULL WHERE intake_id IS NULL AND actor IS NOT NULL"
            f" AND action IN ({marks})",
            _ERASED_DRAFT_ACTIONS,
        )
        done += max(cursor.rowcount, 0)
        await tx.execute(
            "UPDATE settings SET value = ? WHERE key = 'key_check'", (cipher.seal_text(_OK),)
        )
    if done:
        log.info("%d stored values sealed again in place (at-rest format)", done)
        await db.compact()
    return done
