"""Counts for /stats: what the campaign reports upward, straight from the intakes."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Any

from bot.regions import EVERYWHERE, Scope
from bot.store.backend import Backend

# Applications (not a partner's clue, which is counted on its own) that were sent.
_REAL = "is_test = 0 AND is_clue = 0 AND status NOT IN ('draft', 'withdrawn', 'expired')"


def _kind(clues: bool) -> str:
    """Applications, or the clues partners sent: never one counted as the other."""
    return "is_test = 0 AND is_clue = " + ("1" if clues else "0")


@dataclass(frozen=True)
class RegionCount:
    """One region's line of the breakdown: applications sent, approved, and the amount."""

    region: str | None
    sent: int
    approved: int
    approved_fen: int


class StatsStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    # Every count takes the ``scope`` of the person asking (bot/regions.py): a county's
    # caseworker counts that county's intakes only.

    async def by_status(self, *, clues: bool = False, scope: Scope = EVERYWHERE) -> dict[str, int]:
        region, params = scope.where("region")
        rows = await self._db.fetchall(
            f"SELECT status, COUNT(*) AS n FROM intakes WHERE {_kind(clues)} AND {region}"
            " GROUP BY status",
            params,
        )
        return {r["status"]: int(r["n"]) for r in rows}

    async def sent_count(self, *, clues: bool = False, scope: Scope = EVERYWHERE) -> int:
        """Applications (or clues) that were ever sent, whatever became of them since."""
        region, params = scope.where("region")
        row = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM intakes WHERE {_kind(clues)} AND submitted_at IS NOT NULL"
            f" AND {region}",
            params,
        )
        return int(row["n"]) if row else 0

    async def by_week(self, weeks: int = 12, scope: Scope = EVERYWHERE) -> list[tuple[str, int]]:
        """Submitted intakes per ISO-like week (Monday first), newest last."""
        region, params = scope.where("region")
        rows = await self._db.fetchall(
            "SELECT date(submitted_at, 'weekday 0', '-6 days') AS week, COUNT(*) AS n"
            f" FROM intakes WHERE {_REAL} AND submitted_at IS NOT NULL AND {region}"
            " GROUP BY week ORDER BY week DESC LIMIT ?",
            (*params, weeks),
        )
        return [(r["week"], int(r["n"])) for r in reversed(rows)]

    async def by_answer(self, step_id: str, scope: Scope = EVERYWHERE) -> dict[str, int]:
        """How many intakes gave each value to one step (each value of a list counts).

        Only steps the flow keeps plain (``Flow.plain``) can be counted: the rest of the
        answers are sealed in the state, which SQL cannot read."""
        region, params = scope.where("i.region")
        rows = await self._db.fetchall(
            "SELECT j.value AS value, COUNT(*) AS n FROM intakes i,"
            " json_each(i.plain_answers, '$.' || ?) j"
            " WHERE i.is_test = 0 AND i.is_clue = 0"
            f" AND i.status NOT IN ('draft', 'withdrawn', 'expired') AND {region}"
            " GROUP BY j.value",
            (step_id, *params),
        )
        return {str(r["value"]): int(r["n"]) for r in rows if r["value"] is not None}

    async def approved_total_fen(self, *, clues: bool = False, scope: Scope = EVERYWHERE) -> int:
        region, params = scope.where("region")
        row = await self._db.fetchone(
            "SELECT COALESCE(SUM(amount_fen), 0) AS s FROM intakes"
            f" WHERE status = 'approved' AND {_kind(clues)} AND {region}",
            params,
        )
        return int(row["s"]) if row else 0

    async def median_days_to_decision(self, scope: Scope = EVERYWHERE) -> float | None:
        region, params = scope.where("region")
        rows = await self._db.fetchall(
            "SELECT julianday(decided_at) - julianday(submitted_at) AS d FROM intakes"
            " WHERE decided_at IS NOT NULL AND submitted_at IS NOT NULL"
            f" AND is_test = 0 AND is_clue = 0 AND {region}",
            params,
        )
        values: list[Any] = [r["d"] for r in rows if r["d"] is not None]
        return float(median(values)) if values else None

    async def by_region(self, scope: Scope = EVERYWHERE) -> list[RegionCount]:
        """Applications sent in each region of ``scope`` (none: last), with those approved
        and the amount approved."""
        region, params = scope.where("region")
        rows = await self._db.fetchall(
            "SELECT region, COUNT(*) AS n,"
            " SUM(CASE WHEN status = 'approved' THEN 1 ELSE 0 END) AS approved,"
            " COALESCE(SUM(CASE WHEN status = 'approved' THEN amount_fen END), 0) AS fen"
            f" FROM intakes WHERE {_kind(False)} AND submitted_at IS NOT NULL AND {region}"
            " GROUP BY region ORDER BY region IS NULL, region",
            params,
        )
        return [
            RegionCount(r["region"], int(r["n"]), int(r["approved"]), int(r["fen"])) for r in rows
        ]

    async def by_week_status(
        self, weeks: int = 12, scope: Scope = EVERYWHERE
    ) -> list[tuple[str, dict[str, int]]]:
        """Applications sent per week (Monday first), split by where each stands now; the
        newest ``weeks`` weeks that had any, oldest first. For the chart of /stats."""
        region, params = scope.where("region")
        rows = await self._db.fetchall(
            "SELECT date(submitted_at, 'weekday 0', '-6 days') AS week, status, COUNT(*) AS n"
            f" FROM intakes WHERE {_kind(False)} AND submitted_at IS NOT NULL AND {region}"
            " AND date(submitted_at, 'weekday 0', '-6 days') IN ("
            "  SELECT DISTINCT date(submitted_at, 'weekday 0', '-6 days') AS w FROM intakes"
            f"  WHERE {_kind(False)} AND submitted_at IS NOT NULL AND {region}"
            "  ORDER BY w DESC LIMIT ?)"
            " GROUP BY week, status ORDER BY week",
            (*params, *params, weeks),
        )
        out: dict[str, dict[str, int]] = {}
        for r in rows:
            out.setdefault(r["week"], {})[r["status"]] = int(r["n"])
        return list(out.items())

    async def approved_by_month(
        self, months: int = 12, scope: Scope = EVERYWHERE
    ) -> list[tuple[str, int]]:
        """The amount approved (fen) in each month of decision ("2026-03"), the newest
        ``months`` months that had any, oldest first."""
        region, params = scope.where("region")
        rows = await self._db.fetchall(
            "SELECT strftime('%Y-%m', decided_at) AS month, SUM(amount_fen) AS fen"
            f" FROM intakes WHERE status = 'approved' AND {_kind(False)}"
            f" AND decided_at IS NOT NULL AND amount_fen IS NOT NULL AND {region}"
            " GROUP BY month ORDER BY month DESC LIMIT ?",
            (*params, months),
        )
        return [(r["month"], int(r["fen"])) for r in reversed(rows)]
