"""A household's plan (一户一策): its measures, who carries each out, and where each stands.

Every change re-reads the measures inside its ``BEGIN IMMEDIATE`` transaction and checks
there who acts (the caseworker who holds the intake builds and sends the plan; only the
partner a measure names changes its state) and from which state (a measure not possible
is never marked done), so a stale, replayed or forged button changes nothing. The audit
row (the intake's history) and the notices are written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.crypto import Cipher, open_text, seal_text
from bot.regions import EVERYWHERE, Scope
from bot.store.audit import record
from bot.store.backend import Backend, Tx
from bot.store.casework import Conflict, intake_key
from bot.store.db import now_iso
from bot.store.outbox import OutMessage, enqueue


class MeasureState(StrEnum):
    """proposed -> accepted -> in progress -> done | not possible (as stored)."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_POSSIBLE = "not_possible"


OPEN_STATES = (MeasureState.PROPOSED, MeasureState.ACCEPTED, MeasureState.IN_PROGRESS)
CLOSED_STATES = (MeasureState.DONE, MeasureState.NOT_POSSIBLE)
# Where each state may go, and from where: a measure not possible is never done after.
NEXT: dict[MeasureState, tuple[MeasureState, ...]] = {
    MeasureState.ACCEPTED: (MeasureState.PROPOSED,),
    MeasureState.IN_PROGRESS: (MeasureState.PROPOSED, MeasureState.ACCEPTED),
    MeasureState.DONE: OPEN_STATES,
    MeasureState.NOT_POSSIBLE: OPEN_STATES,
}


# Intake statuses a plan can be built on: in review (with the decision) or decided.
PLANNABLE = ("in_review", "awaiting_applicant", "approved", "declined")
# Measures a plan holds at most: a household's plan is a handful, and each message that
# lists them stays well within Telegram's 4096 characters.
MAX_MEASURES = 20


@dataclass(frozen=True)
class Measure:
    id: int
    intake_id: int
    kind: str | None  # a need's value of the flow; None: ``kind_text`` says it
    kind_text: str | None
    partner_id: int | None  # None: the procuratorate itself
    due_on: str  # YYYY-MM-DD
    state: str
    reason: str | None  # why it was not possible
    created_by: int
    created_at: str
    sent_at: str | None
    updated_at: str
    closed_at: str | None
    # The reason was written for the household to read (it is shown to them): the partner
    # was asked for it in words the family understands (migration 0016).
    reason_shown: bool = False

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


def _measure(r: Any, cipher: Cipher | None) -> Measure:
    return Measure(
        int(r["id"]),
        int(r["intake_id"]),
        r["kind"],
        None if r["kind_text"] is None else open_text(cipher, r["kind_text"]),
        r["partner_id"],
        r["due_on"],
        r["state"],
        None if r["reason"] is None else open_text(cipher, r["reason"]),
        int(r["created_by"]),
        r["created_at"],
        r["sent_at"],
        r["updated_at"],
        r["closed_at"],
        bool(r["reason_shown"]),
    )


@dataclass(frozen=True)
class MeasureCounts:
    """Measures by kind, body and state, and those past their due date and still open."""

    by_kind: dict[str, int]
    by_body: dict[int, int]  # partner id; 0: the procuratorate itself
    by_state: dict[str, int]
    overdue: int


Notify = Callable[[list[Measure]], list[OutMessage]]
# The measures a partner sees: sent to them, of intakes not erased.
_SEEN = " WHERE m.partner_id = ? AND m.sent_at IS NOT NULL AND i.anonymised_at IS NULL"


async def _holder(tx: Tx, intake_id: int, actor: int) -> None:
    """Inside a caseworker's write: the intake is theirs and a plan can be built on it
    (the intake's changes one at a time: ``intake_key``)."""
    await tx.serialize(intake_key(intake_id))
    row = await tx.fetchone(
        "SELECT status, assignee, anonymised_at, is_test FROM intakes WHERE id = ?",
        (intake_id,),
    )
    if row is None:
        raise Conflict("not_found")
    if row["status"] not in PLANNABLE or row["anonymised_at"] or row["is_test"]:
        raise Conflict("wrong_status")
    if row["assignee"] != actor:
        raise Conflict("not_claimed" if row["assignee"] is None else "claimed_by_other")


class MeasureStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def get(self, measure_id: int) -> Measure | None:
        row = await self._db.fetchone("SELECT * FROM measures WHERE id = ?", (measure_id,))
        return _measure(row, self._db.cipher) if row else None

    async def of_intake(self, intake_id: int) -> list[Measure]:
        rows = await self._db.fetchall(
            "SELECT * FROM measures WHERE intake_id = ? ORDER BY id", (intake_id,)
        )
        return [_measure(r, self._db.cipher) for r in rows]

    async def of_partner(self, partner_id: int, intake_id: int) -> list[Measure]:
        """The measures of ``intake_id`` sent to ``partner_id``: all that partner sees
        (none once the intake's data is erased)."""
        rows = await self._db.fetchall(
            "SELECT * FROM measures WHERE intake_id = ? AND partner_id = ?"
            " AND sent_at IS NOT NULL AND intake_id NOT IN"
            " (SELECT id FROM intakes WHERE anonymised_at IS NOT NULL) ORDER BY id",
            (intake_id, partner_id),
        )
        return [_measure(r, self._db.cipher) for r in rows]

    async def partner_intakes(
        self, partner_id: int, offset: int, limit: int
    ) -> tuple[list[tuple[int, bool]], int]:
        """A page of the intakes with measures sent to ``partner_id``: (intake id, whether
        any of its measures is still open), open ones first, newest first; and how many
        there are in all."""
        marks = ",".join("?" * len(OPEN_STATES))
        rows = await self._db.fetchall(
            f"SELECT m.intake_id, MAX(m.state IN ({marks})) AS still_open, MAX(m.id) AS last"
            f" FROM measures m JOIN intakes i ON i.id = m.intake_id{_SEEN}"
            " GROUP BY m.intake_id ORDER BY still_open DESC, last DESC LIMIT ? OFFSET ?",
            (*OPEN_STATES, partner_id, limit, offset),
        )
        total = await self._db.fetchone(
            "SELECT COUNT(DISTINCT m.intake_id) AS n FROM measures m"
            f" JOIN intakes i ON i.id = m.intake_id{_SEEN}",
            (partner_id,),
        )
        return [(int(r["intake_id"]), bool(r["still_open"])) for r in rows], int(
            total["n"] if total else 0
        )

    async def add(
        self,
        intake_id: int,
        actor: int,
        *,
        kind: str | None,
        kind_text: str | None,
        partner_id: int | None,
        due_on: str,
    ) -> Measure:
        """A measure proposed in the plan of an intake ``actor`` holds; its partner hears
        of it when the plan is sent (``send``)."""
        at = now_iso()
        async with self._db.write() as tx:
            measure_id = await _insert(
                tx, intake_id, actor, kind, kind_text, partner_id, due_on, at, sent=False
            )
            await record(
                tx,
                actor,
                "measure.added",
                intake_id,
                {"measure": measure_id, "kind": kind or "own", "partner": partner_id},
            )
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))
        return Measure(
            measure_id,
            intake_id,
            kind,
            kind_text,
            partner_id,
            due_on,
            MeasureState.PROPOSED,
            None,
            actor,
            at,
            None,
            at,
            None,
        )

    async def refer(
        self,
        intake_id: int,
        actor: int,
        partner_id: int,
        *,
        kind: str | None,
        kind_text: str | None,
        due_on: str,
        notify: Notify,
    ) -> Measure:
        """A measure for ``partner_id`` added to the plan and sent to them at once (the
        card's "refer"): one transaction, so the partner gets its card exactly when the
        measure exists, and the plan's other unsent measures stay as they are."""
        at = now_iso()
        cipher = self._db.cipher
        async with self._db.write() as tx:
            measure_id = await _insert(
                tx, intake_id, actor, kind, kind_text, partner_id, due_on, at, sent=True
            )
            facts = {"measure": measure_id, "kind": kind or "own", "partner": partner_id}
            await record(tx, actor, "measure.added", intake_id, {**facts, "referred": True})
            await record(tx, actor, "measure.sent", intake_id, {"measures": [measure_id]})
            row = await tx.fetchone("SELECT * FROM measures WHERE id = ?", (measure_id,))
            measure = _measure(row, cipher)
            await enqueue(tx, notify([measure]))
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))
        return measure

    async def send(self, intake_id: int, actor: int, notify: Notify) -> list[Measure]:
        """The measures of the plan not sent yet go to their partners (``notify`` renders
        the cards, one per partner); those of the procuratorate itself are accepted at
        once. Returns the measures sent."""
        at = now_iso()
        async with self._db.write() as tx:
            await _holder(tx, intake_id, actor)
            rows = await tx.fetchall(
                "SELECT * FROM measures WHERE intake_id = ? AND sent_at IS NULL ORDER BY id",
                (intake_id,),
            )
            if not rows:
                raise Conflict("nothing_to_send")
            await tx.execute(
                "UPDATE measures SET sent_at = ?, updated_at = ?,"
                " state = CASE WHEN partner_id IS NULL AND state = 'proposed'"
                " THEN 'accepted' ELSE state END WHERE intake_id = ? AND sent_at IS NULL",
                (at, at, intake_id),
            )
            sent = [
                _measure(r, self._db.cipher)
                for r in await tx.fetchall(
                    "SELECT * FROM measures WHERE intake_id = ? AND sent_at = ? ORDER BY id",
                    (intake_id, at),
                )
            ]
            await record(
                tx,
                actor,
                "measure.sent",
                intake_id,
                {"measures": [m.id for m in sent]},
            )
            await enqueue(tx, notify(sent))
        return sent

    async def change(
        self,
        measure_ids: Sequence[int],
        actor: int,
        to: MeasureState,
        notify: Notify,
        reason: str | None = None,
    ) -> list[Measure]:
        """The partner ``actor`` moves their measures ``measure_ids`` to ``to``: each must
        be theirs, sent to them, and in a state ``to`` may follow. Conflict when none of
        them may change (so a replayed tap is told, and changes nothing)."""
        at = now_iso()
        cipher = self._db.cipher
        allowed_from = NEXT[to]
        async with self._db.write() as tx:
            changed: list[Measure] = []
            for measure_id in sorted(set(measure_ids)):  # taken in one order: no deadlock
                await tx.serialize(f"measure:{measure_id}")
            for measure_id in measure_ids:
                row = await tx.fetchone("SELECT * FROM measures WHERE id = ?", (measure_id,))
                if row is None or row["partner_id"] != actor or row["sent_at"] is None:
                    raise Conflict("not_found")
                if row["state"] not in allowed_from:
                    continue
                closes = to in CLOSED_STATES
                # A reason is asked for in words the family understands: they read it.
                await tx.execute(
                    "UPDATE measures SET state = ?, updated_at = ?,"
                    " reason = COALESCE(?, reason), closed_at = ?,"
                    " reason_shown = COALESCE(?, reason_shown)"
                    " WHERE id = ?",
                    (
                        to,
                        at,
                        None if reason is None else seal_text(cipher, reason),
                        at if closes else None,
                        None if reason is None else 1,
                        measure_id,
                    ),
                )
                await record(
                    tx, actor, f"measure.{to}", int(row["intake_id"]), {"measure": measure_id}
                )
                after = await tx.fetchone("SELECT * FROM measures WHERE id = ?", (measure_id,))
                changed.append(_measure(after, cipher))
            if not changed:
                raise Conflict("wrong_status")
            await enqueue(tx, notify(changed))
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))
        return changed

    async def counts(self, scope: Scope = EVERYWHERE, today: str = "") -> MeasureCounts:
        """Measures of sent plans in ``scope``'s regions (test intakes left out), by kind
        (own words counted as one kind), body and state; and those open past ``today``."""
        region, params = scope.where("i.region")
        base = (
            " FROM measures m JOIN intakes i ON i.id = m.intake_id"
            f" WHERE i.is_test = 0 AND {region}"
        )

        async def grouped(expr: str) -> dict[Any, int]:
            rows = await self._db.fetchall(
                f"SELECT {expr} AS k, COUNT(*) AS n{base} GROUP BY k", params
            )
            return {r["k"]: int(r["n"]) for r in rows}

        marks = ",".join("?" * len(OPEN_STATES))
        late = await self._db.fetchone(
            f"SELECT COUNT(*) AS n{base} AND m.state IN ({marks}) AND m.due_on < ?",
            (*params, *OPEN_STATES, today),
        )
        return MeasureCounts(
            by_kind=await grouped("COALESCE(m.kind, 'own')"),
            by_body=await grouped("COALESCE(m.partner_id, 0)"),
            by_state=await grouped("m.state"),
            overdue=int(late["n"]) if late and today else 0,
        )


async def _insert(
    tx: Tx,
    intake_id: int,
    actor: int,
    kind: str | None,
    kind_text: str | None,
    partner_id: int | None,
    due_on: str,
    at: str,
    *,
    sent: bool,
) -> int:
    """A measure added to the plan of an intake ``actor`` holds (``sent``: sent at once,
    as a referral is); its id. A plan holds at most ``MAX_MEASURES``."""
    await _holder(tx, intake_id, actor)
    held = await tx.fetchone("SELECT COUNT(*) AS n FROM measures WHERE intake_id = ?", (intake_id,))
    if held is not None and int(held["n"]) >= MAX_MEASURES:
        raise Conflict("too_many")
    cursor = await tx.execute(
        "INSERT INTO measures (intake_id, kind, kind_text, partner_id, due_on,"
        " created_by, created_at, sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            intake_id,
            kind,
            None if kind_text is None else seal_text(tx.cipher, kind_text),
            partner_id,
            due_on,
            actor,
            at,
            at if sent else None,
            at,
        ),
    )
    return int(cursor.lastrowid or 0)
