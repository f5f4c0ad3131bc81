"""The rows an export reads (bot/export.py): sent applications, their referrals, measures,
check-ins and history, kept to a filter and to the reader's regions.

Each read is one page, after the last row id the caller saw (keyset paging), so that an
export of a hundred thousand intakes holds one page in memory at a time, whatever the
size of the table. Sealed values come back sealed: the caller opens them row by row.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from bot.crypto import open_text
from bot.regions import EVERYWHERE, Scope
from bot.store.audit import record
from bot.store.backend import Backend
from bot.store.db import NOBODY
from bot.store.intakes import _state

PAGE = 500


@dataclass(frozen=True)
class Filter:
    """Which intakes an export holds: sent between two days (inclusive, ISO dates, UTC),
    of a region (a division code prefix), of some statuses. None or empty: no limit."""

    since: str | None = None
    until: str | None = None
    region: str | None = None
    statuses: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """For the audit row: codes and dates, no personal data."""
        return {
            "from": self.since,
            "to": self.until,
            "region": self.region,
            "status": list(self.statuses),
        }


def _where(f: Filter, scope: Scope) -> tuple[str, list[Any]]:
    """The condition on intakes ``i`` an export of ``f`` by someone of ``scope`` reads:
    applications that were sent (no drafts, no test runs, no partners' clues)."""
    region, params = scope.where("i.region")
    parts = ["i.is_test = 0", "i.is_clue = 0", "i.submitted_at IS NOT NULL", region]
    out: list[Any] = list(params)
    if f.since:
        parts.append("substr(i.submitted_at, 1, 10) >= ?")
        out.append(f.since)
    if f.until:
        parts.append("substr(i.submitted_at, 1, 10) <= ?")
        out.append(f.until)
    if f.region:
        parts.append("substr(i.region, 1, ?) = ?")
        out += [len(f.region), f.region]
    if f.statuses:
        parts.append("i.status IN (" + ",".join("?" * len(f.statuses)) + ")")
        out += list(f.statuses)
    return " AND ".join(parts), out


class ExportStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def versions(self, f: Filter, scope: Scope = EVERYWHERE) -> list[tuple[str, int]]:
        """The flow versions the exported intakes were answered on (for their questions)."""
        where, params = _where(f, scope)
        rows = await self._db.fetchall(
            "SELECT DISTINCT i.flow_id, i.flow_version FROM intakes i WHERE "
            + where
            + " ORDER BY i.flow_id, i.flow_version",
            params,
        )
        return [(r["flow_id"], int(r["flow_version"])) for r in rows]

    async def count(self, f: Filter, scope: Scope = EVERYWHERE) -> int:
        where, params = _where(f, scope)
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM intakes i WHERE " + where, params)
        return int(row["n"]) if row else 0

    async def intakes(
        self, f: Filter, scope: Scope, after: int = 0, limit: int = PAGE
    ) -> list[sqlite3.Row]:
        """One page of intakes, oldest id first, after id ``after``; ``state`` and
        ``decision_reason`` sealed."""
        where, params = _where(f, scope)
        return await self._db.fetchall(
            "SELECT i.id, i.ref, i.flow_id, i.flow_version, i.lang, i.status, i.state,"
            " i.screening, i.priority, i.created_at, i.submitted_at, i.decided_at,"
            " i.amount_fen, i.decision_reason, i.assignee, i.region, i.anonymised_at,"
            " u.display_name AS holder_name,"
            " julianday(i.decided_at) - julianday(i.submitted_at) AS days,"
            " (SELECT k.answer FROM checkins k WHERE k.intake_id = i.id"
            "  AND k.answer IS NOT NULL ORDER BY k.answered_at DESC, k.id DESC LIMIT 1)"
            " AS last_checkin,"
            " (SELECT MAX(k.answered_at) FROM checkins k WHERE k.intake_id = i.id)"
            " AS last_checkin_at"
            " FROM intakes i LEFT JOIN users u ON u.user_id = i.assignee"
            " WHERE i.id > ? AND " + where + " ORDER BY i.id LIMIT ?",
            (after, *params, limit),
        )

    async def referrals(
        self, f: Filter, scope: Scope, after: int = 0, limit: int = PAGE
    ) -> list[sqlite3.Row]:
        """One page of the referrals (clue transfers) of the intakes ``f`` selects;
        ``request`` and ``outcome`` sealed."""
        where, params = _where(f, scope)
        return await self._db.fetchall(
            "SELECT r.id, i.ref, r.partner_id, u.display_name AS partner_name, r.status,"
            " r.request, r.outcome, r.created_at, r.updated_at"
            " FROM referrals r JOIN intakes i ON i.id = r.intake_id"
            " LEFT JOIN users u ON u.user_id = r.partner_id"
            " WHERE r.id > ? AND " + where + " ORDER BY r.id LIMIT ?",
            (after, *params, limit),
        )

    async def measures(
        self, f: Filter, scope: Scope, after: int = 0, limit: int = PAGE
    ) -> list[sqlite3.Row]:
        """One page of the plans' measures of the intakes ``f`` selects, with the body's
        label and kind; ``kind_text`` and ``reason`` sealed."""
        where, params = _where(f, scope)
        return await self._db.fetchall(
            "SELECT m.id, i.ref, i.flow_id, i.flow_version, m.kind, m.kind_text,"
            " m.partner_id, g.label AS partner_label, g.kind AS body_kind,"
            " u.display_name AS partner_name, m.state, m.reason, m.due_on, m.created_at,"
            " m.updated_at FROM measures m JOIN intakes i ON i.id = m.intake_id"
            " LEFT JOIN roles g ON g.user_id = m.partner_id AND g.role = 'partner'"
            " LEFT JOIN users u ON u.user_id = m.partner_id"
            " WHERE m.id > ? AND " + where + " ORDER BY m.id LIMIT ?",
            (after, *params, limit),
        )

    async def checkins(
        self, f: Filter, scope: Scope, after: int = 0, limit: int = PAGE
    ) -> list[sqlite3.Row]:
        """One page of the check-ins (回访) of the intakes ``f`` selects that were sent or
        stopped (one not due yet says nothing): when each was due, sent and answered, and
        the choice (a code, not personal data)."""
        where, params = _where(f, scope)
        return await self._db.fetchall(
            "SELECT k.id, k.intake_id, i.ref, k.due_at, k.sent_at, k.answer, k.answered_at,"
            " k.stopped FROM checkins k JOIN intakes i ON i.id = k.intake_id"
            " WHERE k.id > ? AND (k.sent_at IS NOT NULL OR k.stopped = 1) AND "
            + where
            + " ORDER BY k.id LIMIT ?",
            (after, *params, limit),
        )

    async def checkin_words(self, intake_ids: list[int]) -> list[tuple[int, int, str]]:
        """What the applicants of ``intake_ids`` added to their check-in answers, as
        (intake, check-in, sealed body), oldest first. An answer's conversation entry and
        its audit row (which names the check-in) are written in one transaction, so the
        n-th answer entry of an intake is the check-in of its n-th ``checkin.answered``
        row; what follows an answer entry, until the next, was added to that answer.
        Personal data: read only for an export with sensitive data."""
        if not intake_ids:
            return []
        marks = ",".join("?" * len(intake_ids))
        talk = await self._db.fetchall(
            "SELECT intake_id, kind, body FROM messages"
            f" WHERE kind IN ('checkin', 'checkin_note') AND intake_id IN ({marks})"
            " ORDER BY id",
            intake_ids,
        )
        audit = await self._db.fetchall(
            "SELECT intake_id, detail FROM audit WHERE action = 'checkin.answered'"
            f" AND intake_id IN ({marks}) ORDER BY id",
            intake_ids,
        )
        answered: dict[int, list[int]] = {}
        for a in audit:
            checkin = json.loads(a["detail"] or "{}").get("checkin")
            answered.setdefault(int(a["intake_id"]), []).append(int(checkin or 0))
        out: list[tuple[int, int, str]] = []
        seen: dict[int, int] = {}  # intake -> answer entries read so far
        for m in talk:
            intake = int(m["intake_id"])
            if m["kind"] == "checkin":
                seen[intake] = seen.get(intake, 0) + 1
            elif seen.get(intake) and seen[intake] <= len(answered.get(intake, [])):
                out.append((intake, answered[intake][seen[intake] - 1], m["body"]))
        return out

    async def history(
        self, f: Filter, scope: Scope, after: int = 0, limit: int = PAGE
    ) -> list[sqlite3.Row]:
        """One page of the audit trail of the intakes ``f`` selects (ids, statuses and
        amounts only: the audit holds no personal data)."""
        where, params = _where(f, scope)
        return await self._db.fetchall(
            "SELECT a.id, i.ref, a.at, a.actor, u.display_name AS actor_name, a.action,"
            " a.detail FROM audit a JOIN intakes i ON i.id = a.intake_id"
            " LEFT JOIN users u ON u.user_id = a.actor"
            " WHERE a.id > ? AND " + where + " ORDER BY a.id LIMIT ?",
            (after, *params, limit),
        )

    async def made(self, actor: int | None, detail: dict[str, Any]) -> None:
        """The export is accounted for like a read of every intake it holds."""
        async with self._db.write(touches=NOBODY) as tx:
            await record(tx, actor, "export.made", None, detail)

    async def asked(self, actor: int, detail: dict[str, Any]) -> int:
        """An export with phone and ID numbers, waiting for its confirmation button: the
        row's id is what the button carries."""
        async with self._db.write(touches=NOBODY) as tx:
            await record(tx, actor, "export.asked", None, detail)
            row = await tx.fetchone("SELECT last_insert_rowid() AS id")
        assert row is not None
        return int(row["id"])

    async def asking(self, audit_id: int, actor: int) -> dict[str, Any] | None:
        """The filters of ``actor``'s own waiting export ``audit_id``, once: None when it is
        someone else's, unknown, or already made."""
        row = await self._db.fetchone(
            "SELECT detail FROM audit WHERE id = ? AND actor = ? AND action = 'export.asked'",
            (audit_id, actor),
        )
        if row is None:
            return None
        done = await self._db.fetchone(
            "SELECT 1 FROM audit WHERE action = 'export.made' AND actor = ?"
            # Compared as text: the JSON number is an integer in SQLite, text in PostgreSQL.
            " AND CAST(json_extract(detail, '$.asked') AS TEXT) = ?",
            (actor, str(audit_id)),
        )
        if done is not None:
            return None
        return dict(json.loads(row["detail"] or "{}"))

    # Opened one row at a time, in the export's worker thread (bot/export.py).

    def answers(self, row: sqlite3.Row) -> dict[str, Any]:
        """The answers of an intake row of ``intakes``."""
        raw = row["state"]
        if isinstance(raw, bytes) and self._db.cipher is not None:
            data = orjson.loads(self._db.cipher.open_bytes(raw))
            return dict(data.get("answers") or {})
        return dict(_state(raw, self._db.cipher).answers)

    def opened(self, value: str | bytes | None) -> str | None:
        """A sealed text of a row (a decision's reason, a referral's request or outcome)."""
        return None if value is None else open_text(self._db.cipher, value)
