"""Messages that must reach someone later, and their delivery state.

A notification is written in the same transaction as the change it
announces, so a decision is never stored without its message nor announced
without being stored. The sender deletes a row once Telegram has it: what
was said to a person does not linger in the database.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.channels import WEB_BASE
from bot.crypto import open_text, seal_text
from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, now_iso

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)
#: Seconds a claimed message waits before another sender may take it (``claim``): longer
#: than a send takes, flood waits apart (those reschedule it themselves).
LEASE = 120.0
_FIELDS = (
    "id, chat_id, text, buttons, attempts, kind, intake_id, referral_id, lang, opens,"
    " proposal_id, checkin_id"
)


@dataclass(frozen=True)
class OutMessage:
    """A notice to queue: its text as the reader will read it, and what it is about.

    The core says what a notice is (``kind``, bot/casework/notices.py) and which intake
    and referral it names; the channel that delivers it turns that into its buttons, in
    the reader's language (``lang``). ``buttons`` are the channel's own, already built
    (a reply it could not send at once); the core leaves them empty.
    """

    chat_id: int
    text: str
    buttons: Buttons = field(default_factory=list)
    kind: str | None = None
    intake_id: int | None = None
    referral_id: int | None = None
    lang: str | None = None
    # The intakes a notice lists (a digest), as (id, reference): the channel draws an Open
    # button for each. References are not personal data; the ids are opaque.
    opens: tuple[tuple[int, str], ...] = ()
    proposal_id: int | None = None  # a decision a supervisor is asked to approve
    checkin_id: int | None = None  # a check-in the applicant answers (its buttons)


@dataclass(frozen=True)
class Queued:
    id: int
    chat_id: int
    text: str
    buttons: Buttons  # as stored: rows queued by earlier versions carry theirs here
    attempts: int
    kind: str | None = None
    intake_id: int | None = None
    referral_id: int | None = None
    lang: str | None = None
    opens: tuple[tuple[int, str], ...] = ()
    proposal_id: int | None = None
    checkin_id: int | None = None


def _later(seconds: float) -> str:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def enqueue(tx: Tx, messages: list[OutMessage]) -> None:
    if not messages:
        return
    tx.enqueued = True
    at = now_iso()
    # Notifications quote answers (a referral carries the phone number): encrypted at rest
    # like the answers themselves, so neither the file nor its WAL holds them in the clear.
    cipher = tx.cipher
    await tx.executemany(
        "INSERT INTO outbox (chat_id, text, buttons, kind, intake_id, referral_id, lang,"
        " opens, proposal_id, checkin_id, created_at, next_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                m.chat_id,
                seal_text(cipher, m.text),
                json.dumps(m.buttons, ensure_ascii=False) if m.buttons else None,
                m.kind,
                m.intake_id,
                m.referral_id,
                m.lang,
                json.dumps([list(o) for o in m.opens]) if m.opens else None,
                m.proposal_id,
                m.checkin_id,
                at,
                at,
            )
            for m in messages
        ],
    )


class OutboxStore:
    def __init__(self, db: Backend) -> None:
        self._db = db
        #: This process's claims are marked with it (``keep``).
        self.sender = secrets.token_hex(8)

    async def add(self, messages: list[OutMessage]) -> None:
        async with self._db.write(touches=NOBODY) as tx:
            await enqueue(tx, messages)

    async def due(self, limit: int = 50) -> list[Queued]:
        """The messages due now, oldest first, as they are (a look: nothing is claimed)."""
        rows = await self._db.fetchall(
            "SELECT " + _FIELDS + " FROM outbox WHERE next_at <= ? AND chat_id < ?"
            " ORDER BY id LIMIT ?",
            (now_iso(), WEB_BASE, limit),
        )
        return self._queued(rows)

    async def claim(self, limit: int = 50, lease: float = LEASE) -> list[Queued]:
        """The messages due now, oldest first, taken for sending: another sender takes one
        only ``lease`` seconds on (its sender died before ``delivered`` or ``retry_later``),
        so that of several instances on one PostgreSQL database one sends each. One atomic
        UPDATE; on PostgreSQL its rows are picked ``FOR UPDATE SKIP LOCKED``, so a second
        instance takes the next ones instead of waiting for the first's."""
        now = now_iso()
        skip = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        async with self._db.write(touches=NOBODY) as tx:
            rows = await tx.fetchall(
                "UPDATE outbox SET claimed_until = ?, claimed_by = ? WHERE id IN (SELECT id"
                " FROM outbox WHERE next_at <= ? AND chat_id < ? AND (claimed_until IS NULL OR"
                " claimed_until < ?) ORDER BY id LIMIT ?" + skip + ")"
                " AND (claimed_until IS NULL OR claimed_until < ?) RETURNING " + _FIELDS,
                (_later(lease), self.sender, now, WEB_BASE, now, limit, now),
            )
        return sorted(self._queued(rows), key=lambda q: q.id)

    async def keep(self, item_ids: Sequence[int], lease: float = LEASE) -> set[int]:
        """Renew this sender's claim on messages it took and has not sent yet; returns
        those still its own (another sender took the others once the lease was over)."""
        if not item_ids:
            return set()
        marks = ",".join("?" * len(item_ids))
        async with self._db.write(touches=NOBODY) as tx:
            rows = await tx.fetchall(
                f"UPDATE outbox SET claimed_until = ? WHERE id IN ({marks}) AND claimed_by = ?"
                " RETURNING id",
                (_later(lease), *item_ids, self.sender),
            )
        return {int(r["id"]) for r in rows}

    async def release(self, item_ids: Sequence[int] = ()) -> None:
        """Give claimed messages back (none named: every claim, for a single instance at
        start, whose earlier run was stopped or killed while sending)."""
        if item_ids:
            marks = ",".join("?" * len(item_ids))
            sql, params = f"WHERE id IN ({marks})", tuple(item_ids)
        else:
            sql, params = "WHERE claimed_until IS NOT NULL", ()
        await self._db.execute(
            "UPDATE outbox SET claimed_until = NULL, claimed_by = NULL " + sql,
            params,
            touches=NOBODY,
        )

    def _queued(self, rows: list[Any]) -> list[Queued]:
        cipher = self._db.cipher
        return [
            Queued(
                r["id"],
                r["chat_id"],
                open_text(cipher, r["text"]),
                [[(b[0], b[1]) for b in row] for row in json.loads(r["buttons"] or "[]")],
                r["attempts"],
                r["kind"],
                r["intake_id"],
                r["referral_id"],
                r["lang"],
                tuple((int(o[0]), str(o[1])) for o in json.loads(r["opens"] or "[]")),
                r["proposal_id"],
                r["checkin_id"],
            )
            for r in rows
        ]

    async def pending_count(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM outbox")
        return int(row["n"]) if row else 0

    async def next_due(self) -> str | None:
        row = await self._db.fetchone("SELECT MIN(next_at) AS at FROM outbox")
        return row["at"] if row else None

    async def delivered(self, item_id: int) -> None:
        await self._db.execute("DELETE FROM outbox WHERE id = ?", (item_id,), touches=NOBODY)

    async def retry_later(self, item_id: int, seconds: float, error: str) -> None:
        await self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?,"
            " claimed_until = NULL, claimed_by = NULL WHERE id = ?",
            (_later(seconds), error[:200], item_id),
            touches=NOBODY,
        )
