"""The audit trail: who did what to which intake, and when.

Audit rows are written inside the same transaction as the change they
describe, so there is never a change without its row. ``detail`` holds ids,
statuses and amounts, never answers or other personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, now_iso


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: int | None
    action: str
    intake_id: int | None
    detail: dict[str, Any]


async def record(
    tx: Tx,
    actor: int | None,
    action: str,
    intake_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO audit (at, actor, action, intake_id, detail) VALUES (?, ?, ?, ?, ?)",
        (now_iso(), actor, action, intake_id, json.dumps(detail or {}, ensure_ascii=False)),
    )


class AuditStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def read(self, actor: int | None, intake_id: int, action: str) -> None:
        """Someone read an intake (opened its card, revealed its ID number): reading
        personal data is accounted for like changing it."""
        async with self._db.write(touches=NOBODY) as tx:
            await record(tx, actor, action, intake_id)

    async def for_intake(self, intake_id: int) -> list[AuditEntry]:
        rows = await self._db.fetchall(
            "SELECT at, actor, action, intake_id, detail FROM audit WHERE intake_id = ?"
            " ORDER BY id",
            (intake_id,),
        )
        return [_entry(r) for r in rows]

    async def recent(self, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
        if action is None:
            rows = await self._db.fetchall(
                "SELECT at, actor, action, intake_id, detail FROM audit ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        else:
            rows = await self._db.fetchall(
                "SELECT at, actor, action, intake_id, detail FROM audit WHERE action = ?"
                " ORDER BY id DESC LIMIT ?",
                (action, limit),
            )
        return [_entry(r) for r in rows]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        intake_id=row["intake_id"],
        detail=json.loads(row["detail"] or "{}"),
    )
