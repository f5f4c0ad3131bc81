"""Decisions a second person must approve (``INTAKE_APPROVAL``): the caseworker's proposal,
and the supervisor's confirmation or return.

A proposal waits beside its intake, which stays in review meanwhile (no status of its
own: every query on statuses goes on working). Confirming writes the decision itself and
the proposal's new state in one transaction, checked there: a proposal already settled,
or confirmed by the person who proposed it, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.crypto import open_text, seal_text
from bot.store.backend import Backend
from bot.store.casework import Case, CaseStore, Change, Conflict
from bot.store.db import now_iso
from bot.store.outbox import OutMessage, enqueue

KINDS = ("approve", "decline")


@dataclass(frozen=True)
class Proposal:
    id: int
    intake_id: int
    kind: str  # approve or decline
    amount_fen: int | None
    reason: str | None  # a decline's reason code or words (sealed at rest)
    proposed_by: int
    proposed_at: str
    state: str  # pending, confirmed or returned
    settled_by: int | None = None
    settled_at: str | None = None
    note: str | None = None  # why it was returned (sealed at rest)


class ProposalStore:
    def __init__(self, db: Backend, cases: CaseStore) -> None:
        self._db = db
        self._cases = cases

    def _proposal(self, r: Any) -> Proposal:
        cipher = self._db.cipher
        return Proposal(
            r["id"],
            r["intake_id"],
            r["kind"],
            r["amount_fen"],
            None if r["reason"] is None else open_text(cipher, r["reason"]),
            r["proposed_by"],
            r["proposed_at"],
            r["state"],
            r["settled_by"],
            r["settled_at"],
            None if r["note"] is None else open_text(cipher, r["note"]),
        )

    async def get(self, proposal_id: int) -> Proposal | None:
        row = await self._db.fetchone("SELECT * FROM proposals WHERE id = ?", (proposal_id,))
        return self._proposal(row) if row else None

    async def for_intake(self, intake_id: int) -> list[Proposal]:
        rows = await self._db.fetchall(
            "SELECT * FROM proposals WHERE intake_id = ? ORDER BY id", (intake_id,)
        )
        return [self._proposal(r) for r in rows]

    async def propose(
        self,
        intake_id: int,
        actor: int,
        change: Change,
        *,
        kind: str,
        amount_fen: int | None = None,
        reason: str | None = None,
        notify_for: Callable[[int], list[OutMessage]],
    ) -> tuple[Case, Proposal]:
        """Keep the caseworker's decision as a proposal; ``change`` is checked and audited
        on the intake (it must be theirs, open to a decision, with no proposal waiting), and
        ``notify_for(proposal_id)`` gives the notices that ask for approval."""
        if kind not in KINDS:
            raise ValueError(kind)
        at = now_iso()
        change.unproposed = True
        async with self._db.write() as tx:
            case = await self._cases.apply(tx, intake_id, actor, change)
            cursor = await tx.execute(
                "INSERT INTO proposals (intake_id, kind, amount_fen, reason, proposed_by,"
                " proposed_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    intake_id,
                    kind,
                    amount_fen,
                    None if reason is None else seal_text(self._db.cipher, reason),
                    actor,
                    at,
                ),
            )
            proposal_id = int(cursor.lastrowid or 0)
            await enqueue(tx, notify_for(proposal_id))
        case.proposal_id = proposal_id
        proposal = Proposal(proposal_id, intake_id, kind, amount_fen, reason, actor, at, "pending")
        return case, proposal

    async def settle(
        self,
        proposal_id: int,
        actor: int,
        change: Change,
        *,
        confirm: bool,
        note: str | None = None,
    ) -> tuple[Case, Proposal]:
        """Confirm the proposal (``change`` is then the decision) or return it (``change``
        puts the note on the intake). Raises Conflict ``stale`` when it is no longer
        waiting, ``own_proposal`` when ``actor`` made it: a second person approves."""
        at = now_iso()
        state = "confirmed" if confirm else "returned"
        async with self._db.write() as tx:
            await tx.serialize(f"proposal:{proposal_id}")  # then its intake's, in apply
            row = await tx.fetchone("SELECT * FROM proposals WHERE id = ?", (proposal_id,))
            if row is None:
                raise Conflict("not_found")
            proposal = self._proposal(row)
            if proposal.state != "pending":
                raise Conflict("stale")
            if proposal.proposed_by == actor:
                raise Conflict("own_proposal")
            await tx.execute(
                "UPDATE proposals SET state = ?, settled_by = ?, settled_at = ?, note = ?"
                " WHERE id = ? AND state = 'pending'",
                (
                    state,
                    actor,
                    at,
                    None if note is None else seal_text(self._db.cipher, note),
                    proposal_id,
                ),
            )
            case = await self._cases.apply(tx, proposal.intake_id, actor, change)
        case.proposal_id = None
        settled = Proposal(
            proposal.id,
            proposal.intake_id,
            proposal.kind,
            proposal.amount_fen,
            proposal.reason,
            proposal.proposed_by,
            proposal.proposed_at,
            state,
            actor,
            at,
            note,
        )
        return case, settled
