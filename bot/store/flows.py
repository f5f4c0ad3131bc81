"""Published flow versions.

A flow is parsed once per (id, version) and kept: versions never change after
publishing, and parsing YAML on every update would cost more than the rest of
an answer together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from bot.flow.engine import with_version
from bot.flow.loader import default_flow_source, load_flow_text
from bot.flow.model import Flow
from bot.flow.variables import DEFAULTS
from bot.store.audit import record
from bot.store.backend import Backend
from bot.store.db import now_iso

DEFAULT_FLOW_ID = "judicial-assistance"


class FlowNotFound(LookupError):
    pass


@dataclass(frozen=True)
class FlowVersion:
    rowid: int
    flow_id: str
    version: int
    published_at: str
    published_by: int | None
    is_current: bool
    is_active: bool
    intakes: int


class FlowStore:
    def __init__(self, db: Backend) -> None:
        self._db = db
        self._cache: dict[tuple[str, int], Flow] = {}
        self._loading = asyncio.Lock()
        # What `{settings.NAME}` in flow texts shows (bot/flow/variables.py); the running
        # bot gives its own with ``use_values``.
        self._values: dict[str, str] = dict(DEFAULTS)

    def use_values(self, values: Mapping[str, str]) -> None:
        """Fill flow texts from ``values`` from now on: every flow handed out, those
        already parsed too, shows them (a hotline or /expiry changed, say)."""
        self._values = dict(values)
        self._cache = {key: flow.with_values(self._values) for key, flow in self._cache.items()}

    async def get(self, flow_id: str, version: int) -> Flow:
        key = (flow_id, version)
        flow = self._cache.get(key)
        if flow is not None:
            return flow
        # One load per version: hundreds of applicants starting at once after a restart
        # must not each parse the same YAML while the first parse is still waiting.
        async with self._loading:
            flow = self._cache.get(key)
            if flow is None:
                row = await self._db.fetchone(
                    "SELECT source FROM flows WHERE flow_id = ? AND version = ?", key
                )
                if row is None:
                    raise FlowNotFound(f"{flow_id} version {version}")
                flow = with_version(load_flow_text(row["source"], published=True), version)
                flow = flow.with_values(self._values)
                self._cache[key] = flow
        return flow

    # -- files uploaded in the chat, before they are published --------------------------

    async def upload(self, admin_id: int, source: str) -> int:
        """Keep a validated file an admin sent, so Publish and Try it can refer to it by id."""
        return await self._db.insert(
            "INSERT INTO flow_uploads (admin_id, source, uploaded_at) VALUES (?, ?, ?)",
            (admin_id, source, now_iso()),
        )

    async def uploaded(self, upload_id: int) -> tuple[int, str] | None:
        """(admin id, source) of an upload."""
        row = await self._db.fetchone(
            "SELECT admin_id, source FROM flow_uploads WHERE id = ?", (upload_id,)
        )
        return None if row is None else (int(row["admin_id"]), str(row["source"]))

    async def upload_flow(self, upload_id: int) -> Flow:
        key = ("\0upload", upload_id)
        flow = self._cache.get(key)
        if flow is None:
            found = await self.uploaded(upload_id)
            if found is None:
                raise FlowNotFound(f"upload {upload_id}")
            flow = load_flow_text(found[1]).with_values(self._values)
            self._cache[key] = flow
        return flow

    async def drafts_on(self, flow_id: str, version: int) -> int:
        row = await self._db.fetchone(
            "SELECT COUNT(*) AS n FROM intakes WHERE flow_id = ? AND flow_version = ?"
            " AND status = 'draft'",
            (flow_id, version),
        )
        return int(row["n"]) if row else 0

    async def by_rowid(self, rowid: int) -> tuple[str, int] | None:
        row = await self._db.fetchone(
            "SELECT flow_id, version FROM flows WHERE rowid = ?", (rowid,)
        )
        return None if row is None else (str(row["flow_id"]), int(row["version"]))

    async def active(self) -> Flow:
        """The flow new intakes start on: the one made current most recently."""
        row = await self._db.fetchone(
            "SELECT flow_id, version FROM flows WHERE is_current = 1 "
            "ORDER BY current_seq DESC LIMIT 1"
        )
        if row is None:
            raise FlowNotFound("no flow is published")
        return await self.get(row["flow_id"], row["version"])

    async def current_version(self, flow_id: str) -> int | None:
        row = await self._db.fetchone(
            "SELECT version FROM flows WHERE flow_id = ? AND is_current = 1", (flow_id,)
        )
        return None if row is None else int(row["version"])

    async def version_with_source(self, flow_id: str, source: str) -> int | None:
        """The newest stored version of ``flow_id`` whose YAML is exactly ``source``."""
        row = await self._db.fetchone(
            "SELECT MAX(version) AS v FROM flows WHERE flow_id = ? AND source = ?",
            (flow_id, source),
        )
        return None if row is None or row["v"] is None else int(row["v"])

    async def source(self, flow_id: str | None = None, version: int | None = None) -> str:
        """The YAML of a version (default: the current version of the active flow)."""
        if flow_id is None:
            flow_id = (await self.active()).id
        if version is None:
            version = await self.current_version(flow_id)
            if version is None:
                raise FlowNotFound(f"there is no flow '{flow_id}'")
        row = await self._db.fetchone(
            "SELECT source FROM flows WHERE flow_id = ? AND version = ?", (flow_id, version)
        )
        if row is None:
            raise FlowNotFound(f"{flow_id} version {version}")
        return str(row["source"])

    async def publish(
        self, source: str, by: int | None = None, *, make_current: bool = True
    ) -> Flow:
        """Store a validated file as the next version of its id and make it current.

        ``make_current=False`` only stores it (a test intake needs its flow stored,
        but trying a flow must not switch real applicants onto it).
        """
        published = await self._publish(source, by, make_current=make_current, first=False)
        assert published is not None
        return published

    async def _publish(
        self, source: str, by: int | None, *, make_current: bool, first: bool
    ) -> Flow | None:
        """``first``: only if no flow is stored yet (else None), checked in the same
        transaction: instances starting at once on a new database store one default."""
        flow = load_flow_text(source)  # raises FlowError: nothing is stored
        at = now_iso()
        async with self._db.write() as tx:
            # Versions are numbered from what is stored: one publisher at a time.
            await tx.serialize("flows")
            if first and await tx.fetchone("SELECT 1 FROM flows LIMIT 1") is not None:
                return None
            row = await tx.fetchone(
                "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM flows WHERE flow_id = ?",
                (flow.id,),
            )
            version = int(row["v"]) if row else 1
            if make_current:
                await tx.execute(
                    "UPDATE flows SET is_current = 0 WHERE flow_id = ? AND is_current = 1",
                    (flow.id,),
                )
                await tx.execute(
                    "INSERT INTO flows (flow_id, version, source, published_at, published_by,"
                    " is_current, made_current_at, current_seq) VALUES (?, ?, ?, ?, ?, 1, ?,"
                    " (SELECT COALESCE(MAX(current_seq), 0) + 1 FROM flows))",
                    (flow.id, version, source, at, by, at),
                )
            else:
                await tx.execute(
                    "INSERT INTO flows (flow_id, version, source, published_at, published_by,"
                    " is_current) VALUES (?, ?, ?, ?, ?, 0)",
                    (flow.id, version, source, at, by),
                )
            await record(
                tx,
                by,
                "flow.published" if make_current else "flow.stored",
                None,
                {"flow": flow.id, "version": version},
            )
        published = with_version(flow, version).with_values(self._values)
        self._cache[(flow.id, version)] = published
        return published

    async def rollback(self, flow_id: str, version: int, by: int | None = None) -> None:
        """Make an older (or any) version current again; intakes keep their own version."""
        async with self._db.write() as tx:
            await tx.serialize("flows")
            row = await tx.fetchone(
                "SELECT 1 FROM flows WHERE flow_id = ? AND version = ?", (flow_id, version)
            )
            if row is None:
                raise FlowNotFound(f"{flow_id} version {version}")
            await tx.execute(
                "UPDATE flows SET is_current = 0 WHERE flow_id = ? AND is_current = 1", (flow_id,)
            )
            await tx.execute(
                "UPDATE flows SET is_current = 1, made_current_at = ?,"
                " current_seq = (SELECT COALESCE(MAX(current_seq), 0) + 1 FROM flows)"
                " WHERE flow_id = ? AND version = ?",
                (now_iso(), flow_id, version),
            )
            await record(tx, by, "flow.rollback", None, {"flow": flow_id, "version": version})

    async def versions(self) -> list[FlowVersion]:
        rows = await self._db.fetchall(
            "SELECT f.rowid AS rowid, f.flow_id, f.version, f.published_at, f.published_by,"
            " f.is_current, f.current_seq,"
            " (SELECT COUNT(*) FROM intakes i WHERE i.flow_id = f.flow_id"
            "  AND i.flow_version = f.version) AS intakes"
            " FROM flows f ORDER BY f.flow_id, f.version"
        )
        active = max(
            (r for r in rows if r["is_current"]),
            key=lambda r: r["current_seq"],
            default=None,
        )
        return [
            FlowVersion(
                rowid=int(r["rowid"]),
                flow_id=r["flow_id"],
                version=int(r["version"]),
                published_at=r["published_at"],
                published_by=r["published_by"],
                is_current=bool(r["is_current"]),
                is_active=active is not None
                and (r["flow_id"], r["version"]) == (active["flow_id"], active["version"]),
                intakes=int(r["intakes"]),
            )
            for r in rows
        ]

    async def ensure_default(self) -> Flow | None:
        """Publish the embedded default flow as version 1 when no flow exists yet."""
        row = await self._db.fetchone("SELECT 1 FROM flows LIMIT 1")
        if row is not None:
            return None
        return await self._publish(default_flow_source(), None, make_current=True, first=True)
