"""The bot's send pace shared by several instances on one PostgreSQL database (issue 27).

Telegram's flood limits are the bot's, not an instance's: two instances pacing themselves
at 30 a second send 60 together, and a flood wait Telegram gave one holds for the other
too. So the pace is kept in ``send_pace`` (migration 0019): per limit key (``all``,
``group:<chat>``) the GCRA's theoretical arrival time, and under ``pause`` the end of the
latest flood wait, all in seconds by the DATABASE's clock, so that instances on machines
whose clocks differ still agree. One statement reserves a call's slot and says how long to
wait for it; the send limiter (telegram_channel/sendpace.py) sleeps that long.

Only used on PostgreSQL (the statements are its own, not SQLite's; SQLite has one process,
which paces itself in memory). A reservation runs on a pooled connection in autocommit,
not behind this instance's write lock: it is one atomic upsert (PostgreSQL locks the row
across instances), and a send should not wait for a slow write of the store's to end.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.backend import Backend

PAUSE = "pause"

# The call's slot: after the key's last slot by one interval, not before now nor before a
# flood wait ends; up to ``burst`` seconds of slots may be taken ahead of time (aiolimiter's
# bucket of max_rate calls), never ahead of the flood wait's end.
_RESERVE = """
WITH clock AS (
    SELECT extract(epoch FROM clock_timestamp())::float8 AS now
), start AS (
    SELECT clock.now, GREATEST(clock.now, COALESCE(p.next_at, 0)) AS at,
           COALESCE(p.next_at, 0) - clock.now AS paused
    FROM clock LEFT JOIN send_pace p ON p.key = 'pause'
)
INSERT INTO send_pace AS pace (key, next_at)
SELECT ?, start.at + ? FROM start
ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(pace.next_at, EXCLUDED.next_at - ?) + ?
RETURNING GREATEST(pace.next_at - ?, (SELECT at FROM start)) - (SELECT now FROM start) AS wait,
          (SELECT paused FROM start) AS paused
"""

_PAUSE = """
INSERT INTO send_pace (key, next_at) VALUES ('pause', extract(epoch FROM clock_timestamp()) + ?)
ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(send_pace.next_at, EXCLUDED.next_at)
"""

_PAUSED = """
SELECT COALESCE(MAX(next_at), 0) - extract(epoch FROM clock_timestamp())::float8 AS paused
FROM send_pace WHERE key = 'pause'
"""


@dataclass(frozen=True)
class Slot:
    """A reserved call: seconds to wait before it leaves (0 or less: at once), and how long
    the bot's flood wait still lasts (0 or less: none)."""

    wait: float
    paused: float


class SendPaceStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def reserve(self, key: str, interval: float, burst: float) -> Slot:
        """Take the next slot of ``key``, one per ``interval`` seconds with a burst of
        ``burst`` seconds' worth, for every instance on this database together."""
        self._postgres_only()
        row = await self._db.fetchone(_RESERVE, (key, interval, interval, interval, burst))
        if row is None:  # an upsert with RETURNING gives its row
            raise RuntimeError("the send pace's reservation returned no row")
        return Slot(float(row["wait"]), float(row["paused"]))

    async def paused(self) -> float:
        """Seconds the bot's flood wait still lasts (0 or less: none), reserving nothing."""
        self._postgres_only()
        row = await self._db.fetchone(_PAUSED)
        return float(row["paused"]) if row else 0.0

    async def pause(self, seconds: float) -> None:
        """Telegram asked for a flood wait of ``seconds``: no instance sends before it ends
        (a later end than one already kept wins)."""
        self._postgres_only()
        await self._db.execute(_PAUSE, (seconds,))

    async def forget_past(self) -> int:
        """Drop the limits whose last slot is an hour past (a group chat written to once):
        a key without a row paces as one whose slot is past."""
        self._postgres_only()
        return await self._db.execute(
            "DELETE FROM send_pace WHERE next_at < extract(epoch FROM clock_timestamp()) - 3600"
        )

    def _postgres_only(self) -> None:
        if self._db.dialect != "postgresql":
            raise RuntimeError("the shared send pace is kept in PostgreSQL only")
