"""The review of submitted intakes: queue queries and checked state changes.

Every change re-reads the intake inside a ``BEGIN IMMEDIATE`` transaction and
checks its status and assignee there, so a stale or replayed button, or two
caseworkers acting at once, can never decide an intake twice. The audit row,
the conversation entry and the notifications are written in the same
transaction as the change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.crypto import Cipher, open_json, open_text, seal_json, seal_text
from bot.flow.engine import State
from bot.lookup import clue_terms
from bot.regions import EVERYWHERE, Scope
from bot.store import lookup
from bot.store.audit import record
from bot.store.backend import Backend, Tx
from bot.store.checkins import schedule, unschedule
from bot.store.db import now_iso
from bot.store.files import forget_files
from bot.store.intakes import _COLUMNS, OPEN_STATUSES, Intake, _dump, _intake, new_ref
from bot.store.outbox import OutMessage, enqueue
from bot.store.users import forget_user

_MORE = (
    ", i.assignee, i.is_clue, i.clue, i.decided_at, i.amount_fen, i.decision_reason,"
    " i.deletion_requested_at, i.anonymised_at, i.region,"
    " (SELECT p.id FROM proposals p WHERE p.intake_id = i.id AND p.state = 'pending')"
    " AS proposal_id"
)


class Conflict(Exception):
    """The intake is not in a state that allows the action (code says why)."""

    def __init__(self, code: str, intake: Case | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.intake = intake


@dataclass
class Case(Intake):
    """An intake as the review sees it: with assignee, decision and clue details."""

    assignee: int | None = None
    is_clue: bool = False
    clue: dict[str, Any] = field(default_factory=dict)
    decided_at: str | None = None
    amount_fen: int | None = None
    decision_reason: str | None = None
    deletion_requested_at: str | None = None
    anonymised_at: str | None = None
    region: str | None = None  # the division code it belongs to (bot/regions.py)
    proposal_id: int | None = None  # a decision waiting for a supervisor (store/proposals.py)


def _case(row: Any, cipher: Cipher | None) -> Case:
    base = _intake(row, cipher)
    return Case(
        **base.__dict__,
        assignee=row["assignee"],
        is_clue=bool(row["is_clue"]),
        clue=open_json(cipher, row["clue"]) if row["clue"] else {},
        decided_at=row["decided_at"],
        amount_fen=row["amount_fen"],
        decision_reason=(
            None if row["decision_reason"] is None else open_text(cipher, row["decision_reason"])
        ),
        deletion_requested_at=row["deletion_requested_at"],
        anonymised_at=row["anonymised_at"],
        region=row["region"],
        proposal_id=row["proposal_id"],
    )


@dataclass(frozen=True)
class Entry:
    at: str
    author: int | None
    kind: str
    body: str


@dataclass(frozen=True)
class Referral:
    id: int
    intake_id: int
    partner_id: int
    status: str
    request: str
    outcome: str | None
    created_by: int
    created_at: str
    updated_at: str


def _referral(r: Any, cipher: Cipher | None) -> Referral:
    return Referral(
        r["id"],
        r["intake_id"],
        r["partner_id"],
        r["status"],
        open_text(cipher, r["request"]),
        None if r["outcome"] is None else open_text(cipher, r["outcome"]),
        r["created_by"],
        r["created_at"],
        r["updated_at"],
    )


@dataclass
class Change:
    """One checked change to an intake, applied atomically by ``CaseStore.change``."""

    action: str  # audit action, e.g. "intake.approved"
    allowed_from: tuple[str, ...]  # statuses the intake must be in
    to: str | None = None  # new status, if it changes
    need_assignee: int | None = None  # the intake must be claimed by this user
    # The assignee the caller saw when it decided to act (compare-and-set): a claim must not
    # silently replace a colleague's claim made in the meantime.
    expect_assignee: tuple[int | None, ...] | None = None
    sets: dict[str, Any] = field(default_factory=dict)  # other columns to set
    detail: dict[str, Any] = field(default_factory=dict)  # audit detail (no personal data)
    entry: tuple[str, str] | None = None  # (kind, body) for the conversation
    notify: list[OutMessage] = field(default_factory=list)
    pending: tuple[int, str] | None = None  # (user, kind): a typed answer now expected
    clear_pending: int | None = None  # the user whose pending prompt is answered
    # No decision may wait for a supervisor (store/proposals.py): while one does, the
    # caseworker neither decides again nor asks the applicant.
    unproposed: bool = False
    # A decision's check-ins (bot/casework/checkins.py): when each is due, UTC ISO times.
    checkins: tuple[str, ...] = ()


_SETTABLE = {"assignee", "decided_at", "amount_fen", "decision_reason", "updated_at"}


def _queue_where(assignee: int | None, scope: Scope) -> tuple[str, list[Any]]:
    marks = ",".join("?" * len(OPEN_STATUSES))
    region, in_region = scope.where("i.region")
    sql = f"i.status IN ({marks}) AND {region}"
    params: list[Any] = [*OPEN_STATUSES, *in_region]
    if assignee is not None:
        # Their own list holds the test intakes they claimed too (marked as tests).
        sql += " AND i.assignee = ?"
        params.append(assignee)
    else:
        sql += " AND i.is_test = 0"
    return sql, params


class CaseStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def get(self, intake_id: int) -> Case | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS}{_MORE} FROM intakes i WHERE i.id = ?", (intake_id,)
        )
        return _case(row, self._db.cipher) if row else None

    async def queue(
        self,
        *,
        limit: int,
        offset: int = 0,
        assignee: int | None = None,
        scope: Scope = EVERYWHERE,
    ) -> list[Case]:
        """Open intakes in ``scope``'s regions: higher priority first, then older first."""
        where, params = _queue_where(assignee, scope)
        sql = (
            f"SELECT {_COLUMNS}{_MORE} FROM intakes i WHERE {where}"
            " ORDER BY i.priority DESC, i.submitted_at ASC, i.id ASC LIMIT ? OFFSET ?"
        )
        rows = await self._db.fetchall(sql, [*params, limit, offset])
        return [_case(r, self._db.cipher) for r in rows]

    async def queue_size(self, assignee: int | None = None, scope: Scope = EVERYWHERE) -> int:
        where, params = _queue_where(assignee, scope)
        row = await self._db.fetchone(f"SELECT COUNT(*) AS n FROM intakes i WHERE {where}", params)
        return int(row["n"]) if row else 0

    async def due(self, where: tuple[str, list[Any]]) -> list[Case]:
        """The open intakes that meet a deadline condition (``where``: SQL over the alias
        ``i`` and its parameters, from bot/casework/deadlines.py), test intakes left out,
        oldest first."""
        sql, params = where
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS}{_MORE} FROM intakes i WHERE {sql} AND i.is_test = 0"
            " ORDER BY i.submitted_at ASC, i.id ASC",
            params,
        )
        return [_case(r, self._db.cipher) for r in rows]

    async def conversation(self, intake_id: int) -> list[Entry]:
        rows = await self._db.fetchall(
            "SELECT at, author, kind, body FROM messages WHERE intake_id = ? ORDER BY id",
            (intake_id,),
        )
        cipher = self._db.cipher
        return [Entry(r["at"], r["author"], r["kind"], open_text(cipher, r["body"])) for r in rows]

    async def change(self, intake_id: int, actor: int, change: Change) -> Case:
        """Apply ``change`` if the intake allows it now; raise Conflict otherwise."""
        async with self._db.write() as tx:
            return await self.apply(tx, intake_id, actor, change)

    async def apply(self, tx: Tx, intake_id: int, actor: int, change: Change) -> Case:
        """``change`` inside the caller's write transaction (a proposal confirmed is the
        decision itself, written with the proposal's new state)."""
        at = now_iso()
        # Read, checked, written: one change of an intake at a time, whichever instance.
        await tx.serialize(intake_key(intake_id))
        row = await tx.fetchone(
            f"SELECT {_COLUMNS}{_MORE} FROM intakes i WHERE i.id = ?", (intake_id,)
        )
        if row is None:
            raise Conflict("not_found")
        case = _case(row, self._db.cipher)
        need = change.need_assignee
        # On an open intake, "claim it first" says more than "wrong status".
        if need is not None and case.status in OPEN_STATUSES and case.assignee != need:
            raise Conflict("not_claimed" if case.assignee is None else "claimed_by_other", case)
        if case.status not in change.allowed_from:
            raise Conflict("wrong_status", case)
        if need is not None and case.assignee != need:
            raise Conflict("not_claimed" if case.assignee is None else "claimed_by_other", case)
        if change.unproposed and case.proposal_id is not None:
            raise Conflict("proposed", case)
        if change.expect_assignee is not None and case.assignee not in change.expect_assignee:
            taken = case.assignee not in (None, actor)
            raise Conflict("claimed_by_other" if taken else "wrong_status", case)
        sets = dict(change.sets)
        sets["updated_at"] = at
        if change.to is not None:
            sets["status"] = change.to
        cols = [c for c in sets if c in _SETTABLE or c == "status"]
        assignment = ", ".join(f"{c} = ?" for c in cols)
        values = [sets[c] for c in cols]
        if "decision_reason" in cols and sets["decision_reason"] is not None:
            # A reason code or the caseworker's own words: sealed either way.
            at_reason = cols.index("decision_reason")
            values[at_reason] = seal_text(self._db.cipher, values[at_reason])
        await tx.execute(f"UPDATE intakes SET {assignment} WHERE id = ?", [*values, intake_id])
        await record(tx, actor, change.action, intake_id, change.detail)
        if change.entry is not None:
            kind, body = change.entry
            await _entry(tx, intake_id, actor, kind, seal_text(self._db.cipher, body), at)
        if change.notify:
            await enqueue(tx, change.notify)
        if change.pending is not None:
            await set_pending(tx, change.pending[0], change.pending[1], intake_id)
        if change.clear_pending is not None:
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (change.clear_pending,))
        if change.to in ("approved", "declined"):
            await schedule(tx, intake_id, change.checkins)
        elif change.to in OPEN_STATUSES and case.status not in OPEN_STATUSES:
            await unschedule(tx, intake_id)  # reopened: asked again after the next decision
        if change.to is not None and change.to != "awaiting_applicant":
            # The question is closed: the applicant's next message is not taken for it.
            await tx.execute(
                "DELETE FROM pending WHERE intake_id = ? AND kind = 'reply'", (intake_id,)
            )
        for key, value in sets.items():
            setattr(case, key, value)
        return case

    async def add_reply(
        self, intake_id: int, applicant: int, body: str, kind: str, update_id: int | None = None
    ) -> str:
        """One piece of the applicant's answer to an open question, kept at once (sealed);
        ``kind`` (text, photo, ...) is all the audit row says of it. The message that
        carried it (``update_id``) is kept once, applied again after a restart or not.
        Returns the intake's reference."""
        detail: dict[str, Any] = {"kind": kind}
        if update_id is not None:
            detail["update"] = update_id
        async with self._db.write() as tx:
            await tx.serialize(intake_key(intake_id))
            row = await tx.fetchone(
                "SELECT ref, status, applicant_id FROM intakes WHERE id = ?", (intake_id,)
            )
            if row is None or row["applicant_id"] != applicant:
                raise Conflict("not_found")
            if update_id is not None and await tx.fetchone(
                "SELECT 1 FROM audit WHERE intake_id = ? AND action = 'intake.reply_received'"
                # Compared as text: the JSON number is an integer in SQLite, text in PostgreSQL.
                " AND CAST(json_extract(detail, '$.update') AS TEXT) = ?",
                (intake_id, str(update_id)),
            ):
                return str(row["ref"])
            if row["status"] != "awaiting_applicant":
                raise Conflict("wrong_status")
            await _entry(
                tx, intake_id, applicant, "reply", seal_text(self._db.cipher, body), now_iso()
            )
            await record(tx, applicant, "intake.reply_received", intake_id, detail)
        return str(row["ref"])

    async def add_note(
        self, intake_id: int, actor: int, kind: str, body: str, notify: list[OutMessage]
    ) -> None:
        async with self._db.write() as tx:
            await _entry(tx, intake_id, actor, kind, seal_text(self._db.cipher, body), now_iso())
            await record(tx, actor, f"intake.{kind}", intake_id, {})
            if notify:
                await enqueue(tx, notify)
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))

    # -- erasure -----------------------------------------------------------------------

    async def anonymise(
        self,
        intake_id: int,
        actor: int | None,
        action: str,
        notify: list[OutMessage],
        keep_reasons: tuple[str, ...],
    ) -> bool:
        """Erase everything personal in an intake, keeping what statistics need.

        Answers (the plain ones for statistics too, as before), the conversation, the
        clue, typed reasons and the applicant's Telegram id go (from the audit rows about
        it as well, and their ``users`` row when nothing else of theirs is left); status,
        dates, amount, screening, a decline reason code and consent records stay.
        An open intake becomes withdrawn.
        """
        at = now_iso()
        cipher = self._db.cipher
        async with self._db.write() as tx:
            await tx.serialize(intake_key(intake_id))
            row = await tx.fetchone(
                "SELECT decision_reason, applicant_id FROM intakes WHERE id = ?"
                " AND anonymised_at IS NULL AND status != 'draft'",
                (intake_id,),
            )
            if row is None:
                return False
            if notify:
                await enqueue(tx, notify)
            marks = ",".join("?" * len(OPEN_STATUSES))
            stored = row["decision_reason"]
            said = None if stored is None else open_text(cipher, stored)
            # A reason code stays, in the clear like the other figures: it names no one.
            kept = said if said in keep_reasons else None
            await tx.execute(
                "UPDATE intakes SET state = ?, plain_answers = NULL, clue = NULL,"
                " decision_reason = ?, anonymised_at = ?, deletion_requested_at = NULL,"
                " applicant_id = 0, chat_id = 0, updated_at = ?,"
                f" status = CASE WHEN status IN ({marks}) THEN 'withdrawn' ELSE status END"
                " WHERE id = ?",
                (
                    _dump(State(), cipher),
                    kept,
                    at,
                    at,
                    *OPEN_STATUSES,
                    intake_id,
                ),
            )
            # The Telegram id goes from the consent records and the audit trail too.
            await tx.execute(
                "UPDATE consents SET applicant_id = 0 WHERE intake_id = ?", (intake_id,)
            )
            await tx.execute(
                "UPDATE audit SET actor = NULL WHERE intake_id = ? AND actor = ?",
                (intake_id, row["applicant_id"]),
            )
            await tx.execute("DELETE FROM messages WHERE intake_id = ?", (intake_id,))
            await forget_files(tx, [intake_id])
            await tx.execute(
                "UPDATE proposals SET reason = NULL, note = NULL WHERE intake_id = ?", (intake_id,)
            )
            await tx.execute("DELETE FROM pending WHERE intake_id = ?", (intake_id,))
            await unschedule(tx, intake_id, erase=True)
            # A measure's own words and a partner's reason go; kind, body, state stay.
            await tx.execute(
                "UPDATE measures SET kind_text = NULL, reason = NULL WHERE intake_id = ?",
                (intake_id,),
            )
            await lookup.forget(tx, intake_id)  # nothing personal finds it any more
            await tx.execute(
                "UPDATE referrals SET request = '', outcome = NULL WHERE intake_id = ?",
                (intake_id,),
            )
            await record(tx, actor, action, intake_id, {})
            await forget_user(tx, int(row["applicant_id"]))
        return True

    async def refuse_deletion(self, intake_id: int, actor: int, notify: list[OutMessage]) -> bool:
        async with self._db.write() as tx:
            cursor = await tx.execute(
                "UPDATE intakes SET deletion_requested_at = NULL, updated_at = ? WHERE id = ?"
                " AND deletion_requested_at IS NOT NULL",
                (now_iso(), intake_id),
            )
            if cursor.rowcount != 1:
                return False
            await record(tx, actor, "deletion.refused", intake_id, {})
            await enqueue(tx, notify)
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))
        return True

    async def due_for_anonymising(self, cutoff: str) -> list[int]:
        rows = await self._db.fetchall(
            "SELECT id FROM intakes WHERE anonymised_at IS NULL"
            " AND status IN ('approved', 'declined', 'withdrawn', 'expired')"
            " AND COALESCE(decided_at, updated_at) < ?",
            (cutoff,),
        )
        return [int(r["id"]) for r in rows]

    # -- referrals -------------------------------------------------------------------

    async def referrals(self, intake_id: int) -> list[Referral]:
        rows = await self._db.fetchall(
            "SELECT * FROM referrals WHERE intake_id = ? ORDER BY id", (intake_id,)
        )
        return [_referral(r, self._db.cipher) for r in rows]

    async def referral(self, referral_id: int) -> Referral | None:
        row = await self._db.fetchone("SELECT * FROM referrals WHERE id = ?", (referral_id,))
        return _referral(row, self._db.cipher) if row else None

    async def referrals_for_partner(
        self, partner_id: int, open_only: bool = True
    ) -> list[Referral]:
        sql = "SELECT * FROM referrals WHERE partner_id = ?"
        if open_only:
            sql += " AND status IN ('sent', 'acknowledged')"
        rows = await self._db.fetchall(sql + " ORDER BY id", (partner_id,))
        return [_referral(r, self._db.cipher) for r in rows]

    async def refer(
        self,
        intake_id: int,
        actor: int,
        partner_id: int,
        request: str,
        notify_for: Any,
    ) -> Referral:
        """Create a referral; ``notify_for(referral_id)`` renders its notifications."""
        at = now_iso()
        async with self._db.write() as tx:
            await tx.serialize(intake_key(intake_id))
            row = await tx.fetchone("SELECT status FROM intakes WHERE id = ?", (intake_id,))
            if row is None:
                raise Conflict("not_found")
            if row["status"] in ("draft", "withdrawn", "expired"):
                raise Conflict("wrong_status")
            cursor = await tx.execute(
                "INSERT INTO referrals (intake_id, partner_id, status, request, created_by,"
                " created_at, updated_at) VALUES (?, ?, 'sent', ?, ?, ?, ?)",
                (intake_id, partner_id, seal_text(self._db.cipher, request), actor, at, at),
            )
            referral_id = int(cursor.lastrowid or 0)
            await record(
                tx,
                actor,
                "referral.sent",
                intake_id,
                {"referral": referral_id, "partner": partner_id},
            )
            await enqueue(tx, notify_for(referral_id))
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))
        return Referral(referral_id, intake_id, partner_id, "sent", request, None, actor, at, at)

    async def update_referral(
        self,
        referral_id: int,
        actor: int,
        *,
        allowed_from: tuple[str, ...],
        to: str,
        outcome: str | None,
        notify_for: Any,
    ) -> Referral:
        at = now_iso()
        async with self._db.write() as tx:
            await tx.serialize(f"referral:{referral_id}")
            row = await tx.fetchone("SELECT * FROM referrals WHERE id = ?", (referral_id,))
            if row is None:
                raise Conflict("not_found")
            ref = _referral(row, self._db.cipher)
            if ref.partner_id != actor:
                raise Conflict("not_yours")
            if ref.status not in allowed_from:
                raise Conflict("wrong_status")
            await tx.execute(
                "UPDATE referrals SET status = ?, outcome = COALESCE(?, outcome), updated_at = ?"
                " WHERE id = ?",
                (
                    to,
                    None if outcome is None else seal_text(self._db.cipher, outcome),
                    at,
                    referral_id,
                ),
            )
            await record(tx, actor, f"referral.{to}", ref.intake_id, {"referral": referral_id})
            updated = Referral(
                ref.id,
                ref.intake_id,
                ref.partner_id,
                to,
                ref.request,
                outcome if outcome is not None else ref.outcome,
                ref.created_by,
                ref.created_at,
                at,
            )
            await enqueue(tx, notify_for(updated))
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (actor,))
        return updated

    # -- clues -----------------------------------------------------------------------

    async def add_clue(
        self,
        *,
        partner_id: int,
        flow_id: str,
        flow_version: int,
        lang: str,
        clue: dict[str, Any],
        priority: int,
        notify: Any,
        region: str | None = None,
    ) -> tuple[int, str]:
        """A partner's clue enters the queue as a submitted intake marked as a clue, in
        ``region``; ``notify(intake_id, ref)`` gives the alerts to queue with it."""
        at = now_iso()
        async with self._db.write() as tx:
            for _ in range(10):
                ref = new_ref()
                if await tx.fetchone("SELECT 1 FROM intakes WHERE ref = ?", (ref,)) is None:
                    break
            cursor = await tx.execute(
                "INSERT INTO intakes (ref, flow_id, flow_version, applicant_id, chat_id, lang,"
                " status, state, priority, created_at, updated_at, submitted_at, is_clue, clue,"
                " screening, region)"
                " VALUES (?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (
                    ref,
                    flow_id,
                    flow_version,
                    partner_id,
                    partner_id,
                    lang,
                    _dump(State(), self._db.cipher),
                    priority,
                    at,
                    at,
                    at,
                    seal_json(self._db.cipher, clue),
                    json.dumps(
                        {
                            "eligibility": [],
                            "exclusions": [],
                            "priority": priority,
                            "priority_reasons": [],
                        }
                    ),
                    region,
                ),
            )
            intake_id = int(cursor.lastrowid or 0)
            await lookup.index(tx, self._db.cipher, intake_id, clue_terms(clue))
            await record(tx, partner_id, "clue.received", intake_id, {"ref": ref})
            await enqueue(tx, notify(intake_id, ref))
            await tx.execute("DELETE FROM pending WHERE user_id = ?", (partner_id,))
        return intake_id, ref


def intake_key(intake_id: int) -> str:
    """What a write transaction serializes on (``Tx.serialize``) to read an intake, check
    it and change it: on SQLite its one writer does that already; several instances on one
    PostgreSQL database would otherwise both pass the check (two claims of one intake)."""
    return f"intake:{intake_id}"


async def _entry(
    tx: Tx, intake_id: int, author: int, kind: str, body: str | bytes, at: str
) -> None:
    """One conversation entry; ``body`` as stored (sealed)."""
    await tx.execute(
        "INSERT INTO messages (intake_id, at, author, kind, body) VALUES (?, ?, ?, ?, ?)",
        (intake_id, at, author, kind, body),
    )


async def set_pending(tx: Tx, user_id: int, kind: str, intake_id: int | None) -> None:
    await tx.execute(
        "INSERT INTO pending (user_id, kind, intake_id, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET kind = excluded.kind,"
        " intake_id = excluded.intake_id, ref_id = NULL, data = NULL,"
        " created_at = excluded.created_at",
        (user_id, kind, intake_id, now_iso()),
    )
