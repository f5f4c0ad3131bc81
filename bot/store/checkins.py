"""Check-ins after a decision (回访): when each is due, whether it went out, its answer.

The rows of an intake are written in the transaction that decides it (``schedule``, from
``CaseStore.apply``), so a decision is never stored without its return visits. A due
check-in is queued in the outbox in the same transaction that marks it sent, guarded by
``sent_at IS NULL``: a restart, a catch-up run or two runs at once send it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.crypto import seal_json, seal_text
from bot.regions import EVERYWHERE, Scope
from bot.store.audit import record
from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, now_iso
from bot.store.outbox import OutMessage, enqueue

# The answers a check-in takes, as stored (and counted by /stats).
CHOICES = ("better", "same", "worse", "talk")


@dataclass(frozen=True)
class Checkin:
    id: int
    intake_id: int
    due_at: str
    sent_at: str | None
    answer: str | None
    answered_at: str | None
    stopped: bool
    # Of the intake, read with it: who is asked, in what chat, and who holds the intake.
    applicant_id: int = 0
    chat_id: int = 0
    ref: str = ""
    lang: str | None = None
    assignee: int | None = None
    region: str | None = None
    status: str = ""

    @property
    def open(self) -> bool:
        """Sent, not answered yet, and not stopped: its buttons still answer it."""
        return self.sent_at is not None and self.answer is None and not self.stopped


_SELECT = (
    "SELECT k.id, k.intake_id, k.due_at, k.sent_at, k.answer, k.answered_at, k.stopped,"
    " i.applicant_id, i.chat_id, i.ref, i.lang, i.assignee, i.region, i.status"
    " FROM checkins k JOIN intakes i ON i.id = k.intake_id"
)


def _checkin(r: Any) -> Checkin:
    return Checkin(
        int(r["id"]),
        int(r["intake_id"]),
        r["due_at"],
        r["sent_at"],
        r["answer"],
        r["answered_at"],
        bool(r["stopped"]),
        int(r["applicant_id"] or 0),
        int(r["chat_id"] or 0),
        r["ref"] or "",
        r["lang"],
        r["assignee"],
        r["region"],
        r["status"],
    )


async def _entry(tx: Tx, intake_id: int, author: int, kind: str, body: bytes, at: str) -> None:
    """One conversation entry of the intake (as bot/store/casework.py writes them)."""
    await tx.execute(
        "INSERT INTO messages (intake_id, at, author, kind, body) VALUES (?, ?, ?, ?, ?)",
        (intake_id, at, author, kind, body),
    )


async def schedule(tx: Tx, intake_id: int, due: Sequence[str]) -> None:
    """Inside a decision's transaction: the check-ins of ``intake_id`` at ``due`` (UTC ISO
    times). Check-ins not sent yet from an earlier decision (reopened since) give way to
    these; none when the applicant stopped them before."""
    await tx.execute(
        "DELETE FROM checkins WHERE intake_id = ? AND sent_at IS NULL AND stopped = 0",
        (intake_id,),
    )
    if not due or await tx.fetchone(
        "SELECT 1 FROM checkins WHERE intake_id = ? AND stopped = 1", (intake_id,)
    ):
        return
    await tx.executemany(
        "INSERT INTO checkins (intake_id, due_at) VALUES (?, ?)", [(intake_id, at) for at in due]
    )


async def unschedule(tx: Tx, intake_id: int, *, erase: bool = False) -> None:
    """Inside a reopening's transaction: the check-ins not sent go (a stop the applicant
    asked for stays, and holds for the next decision). Inside an erasure's: every one not
    answered goes (those answered stay, a choice code each, for the figures)."""
    if erase:
        sql = "DELETE FROM checkins WHERE intake_id = ? AND answer IS NULL"
    else:
        sql = "DELETE FROM checkins WHERE intake_id = ? AND sent_at IS NULL AND stopped = 0"
    await tx.execute(sql, (intake_id,))


class CheckinStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def get(self, checkin_id: int) -> Checkin | None:
        row = await self._db.fetchone(f"{_SELECT} WHERE k.id = ?", (checkin_id,))
        return _checkin(row) if row else None

    async def due(self, now: str, limit: int = 200) -> list[Checkin]:
        """Check-ins due at ``now`` (UTC ISO) and not sent, oldest first; of intakes still
        decided (not erased, not reopened)."""
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE k.due_at <= ? AND k.sent_at IS NULL AND k.stopped = 0"
            " AND i.anonymised_at IS NULL AND i.status IN ('approved', 'declined')"
            " ORDER BY k.due_at, k.id LIMIT ?",
            (now, limit),
        )
        return [_checkin(r) for r in rows]

    async def of_intake(self, intake_id: int) -> list[Checkin]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE k.intake_id = ? ORDER BY k.due_at, k.id", (intake_id,)
        )
        return [_checkin(r) for r in rows]

    async def send_once(self, checkin_id: int, message: OutMessage, now: str) -> bool:
        """Queue ``message`` as check-in ``checkin_id`` and mark it sent, unless it was
        sent, stopped or unscheduled meanwhile; True if this call queued it."""
        async with self._db.write(touches=NOBODY) as tx:
            cursor = await tx.execute(
                "UPDATE checkins SET sent_at = ? WHERE id = ? AND sent_at IS NULL AND stopped = 0",
                (now, checkin_id),
            )
            if cursor.rowcount != 1:
                return False
            row = await tx.fetchone("SELECT intake_id FROM checkins WHERE id = ?", (checkin_id,))
            assert row is not None
            await record(tx, None, "checkin.sent", int(row["intake_id"]), {"checkin": checkin_id})
            await enqueue(tx, [message])
        return True

    async def answer(
        self, checkin_id: int, applicant: int, choice: str, notify: list[OutMessage]
    ) -> bool:
        """The applicant's choice on an open check-in: kept on the check-in, on the
        intake's conversation (sealed) and in the audit trail (the choice only), with the
        notices it causes; False when it is not open any more (answered, stopped)."""
        at = now_iso()
        async with self._db.write(touches=applicant) as tx:
            cursor = await tx.execute(
                "UPDATE checkins SET answer = ?, answered_at = ? WHERE id = ?"
                " AND sent_at IS NOT NULL AND answer IS NULL AND stopped = 0"
                " AND intake_id IN (SELECT id FROM intakes WHERE applicant_id = ?)",
                (choice, at, checkin_id, applicant),
            )
            if cursor.rowcount != 1:
                return False
            row = await tx.fetchone("SELECT intake_id FROM checkins WHERE id = ?", (checkin_id,))
            assert row is not None
            intake_id = int(row["intake_id"])
            await _entry(tx, intake_id, applicant, "checkin", seal_text(tx.cipher, choice), at)
            await record(
                tx,
                applicant,
                "checkin.answered",
                intake_id,
                {"checkin": checkin_id, "choice": choice},
            )
            await enqueue(tx, notify)
            # The bot now waits for words or a voice note to add (or Skip).
            await tx.execute(
                "INSERT INTO pending (user_id, kind, intake_id, ref_id, data, created_at)"
                " VALUES (?, 'checkin', ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
                " kind = excluded.kind, intake_id = excluded.intake_id,"
                " ref_id = excluded.ref_id, data = excluded.data,"
                " created_at = excluded.created_at",
                (applicant, intake_id, checkin_id, seal_json(tx.cipher, {}), at),
            )
        return True

    async def add_words(
        self, intake_id: int, applicant: int, body: str, kind: str, notify: list[OutMessage]
    ) -> None:
        """What the applicant added to a check-in's answer (words, or a voice note's file
        id): a sealed conversation entry; the audit row says only what kind it was."""
        async with self._db.write(touches=applicant) as tx:
            await _entry(
                tx, intake_id, applicant, "checkin_note", seal_text(tx.cipher, body), now_iso()
            )
            await record(tx, applicant, "checkin.note", intake_id, {"kind": kind})
            await enqueue(tx, notify)
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (applicant,))

    async def stop(self, intake_id: int, applicant: int) -> int:
        """No more check-ins on ``intake_id`` (its applicant's one tap): those not sent are
        marked stopped, and the open one closes. Returns how many were stopped."""
        async with self._db.write(touches=applicant) as tx:
            owner = await tx.fetchone(
                "SELECT 1 FROM intakes WHERE id = ? AND applicant_id = ?", (intake_id, applicant)
            )
            if owner is None:
                return 0
            cursor = await tx.execute(
                "UPDATE checkins SET stopped = 1 WHERE intake_id = ? AND answer IS NULL"
                " AND stopped = 0",
                (intake_id,),
            )
            if cursor.rowcount:
                await record(tx, applicant, "checkin.stopped", intake_id, {})
            await tx.execute(
                "DELETE FROM pending WHERE user_id = ? AND kind = 'checkin'", (applicant,)
            )
            return int(cursor.rowcount)

    async def counts(self, scope: Scope = EVERYWHERE) -> dict[str, int]:
        """Check-in answers by choice, in ``scope``'s regions (test intakes left out)."""
        region, params = scope.where("i.region")
        rows = await self._db.fetchall(
            "SELECT k.answer AS answer, COUNT(*) AS n FROM checkins k"
            " JOIN intakes i ON i.id = k.intake_id"
            f" WHERE k.answer IS NOT NULL AND i.is_test = 0 AND {region} GROUP BY k.answer",
            params,
        )
        return {str(r["answer"]): int(r["n"]) for r in rows}
