"""Counts for /stats: what the campaign reports upward, straight from the intakes."""

from __future__ import annotations

from statistics import median
from typing import Any

from bot.store.db import Database

# Applications (not a partner's clue, which is counted on its own) that were sent.
_REAL = "is_test = 0 AND is_clue = 0 AND status NOT IN ('draft', 'withdrawn', 'expired')"


def _kind(clues: bool) -> str:
    """Applications, or the clues partners sent: never one counted as the other."""
    return "is_test = 0 AND is_clue = " + ("1" if clues else "0")


class StatsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_status(self, *, clues: bool = False) -> dict[str, int]:
        rows = await self._db.fetchall(
            f"SELECT status, COUNT(*) AS n FROM intakes WHERE {_kind(clues)} GROUP BY status"
        )
        return {r["status"]: int(r["n"]) for r in rows}

    async def sent_count(self, *, clues: bool = False) -> int:
        """Applications (or clues) that were ever sent, whatever became of them since."""
        row = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM intakes WHERE {_kind(clues)} AND submitted_at IS NOT NULL"
        )
        return int(row["n"]) if row else 0

    async def by_week(self, weeks: int = 12) -> list[tuple[str, int]]:
        """Submitted intakes per ISO-like week (Monday first), newest last."""
        rows = await self._db.fetchall(
            "SELECT date(submitted_at, 'weekday 0', '-6 days') AS week, COUNT(*) AS n"
            f" FROM intakes WHERE {_REAL} AND submitted_at IS NOT NULL"
            " GROUP BY week ORDER BY week DESC LIMIT ?",
            (weeks,),
        )
        return [(r["week"], int(r["n"])) for r in reversed(rows)]

    async def by_answer(self, step_id: str) -> dict[str, int]:
        """How many intakes gave each value to one step (each value of a list counts).

        Only steps the flow keeps plain (``Flow.plain``) can be counted: the rest of the
        answers are sealed in the state, which SQL cannot read."""
        rows = await self._db.fetchall(
            "SELECT j.value AS value, COUNT(*) AS n FROM intakes i,"
            " json_each(i.plain_answers, '$.' || ?) j"
            " WHERE i.is_test = 0 AND i.is_clue = 0"
            " AND i.status NOT IN ('draft', 'withdrawn', 'expired')"
            " GROUP BY j.value",
            (step_id,),
        )
        return {str(r["value"]): int(r["n"]) for r in rows if r["value"] is not None}

    async def approved_total_fen(self, *, clues: bool = False) -> int:
        row = await self._db.fetchone(
            "SELECT COALESCE(SUM(amount_fen), 0) AS s FROM intakes"
            f" WHERE status = 'approved' AND {_kind(clues)}"
        )
        return int(row["s"]) if row else 0

    async def median_days_to_decision(self) -> float | None:
        rows = await self._db.fetchall(
            "SELECT julianday(decided_at) - julianday(submitted_at) AS d FROM intakes"
            " WHERE decided_at IS NOT NULL AND submitted_at IS NOT NULL"
            " AND is_test = 0 AND is_clue = 0"
        )
        values: list[Any] = [r["d"] for r in rows if r["d"] is not None]
        return float(median(values)) if values else None
