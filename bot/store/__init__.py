"""Storage: the only place that speaks SQL.

The core talks to ``Store`` and its parts, never to a connection, so a
PostgreSQL implementation of the same methods can be added for deployments
that outgrow one machine.
"""

from __future__ import annotations

from pathlib import Path

from bot.crypto import Cipher, load_key
from bot.store.audit import AuditStore
from bot.store.casework import CaseStore
from bot.store.db import Database, SchemaTooNew
from bot.store.flows import FlowNotFound, FlowStore
from bot.store.intakes import Intake, IntakeStore
from bot.store.outbox import OutboxStore
from bot.store.pending import PendingStore
from bot.store.roles import RoleStore
from bot.store.stats import StatsStore
from bot.store.users import UserStore

__all__ = ["FlowNotFound", "Intake", "SchemaTooNew", "Store"]


class Store:
    def __init__(self, db: Database, admin_ids: frozenset[int] = frozenset()) -> None:
        self.db = db
        self.flows = FlowStore(db)
        self.intakes = IntakeStore(db)
        self.users = UserStore(db)
        self.audit = AuditStore(db)
        self.roles = RoleStore(db, admin_ids)
        self.cases = CaseStore(db)
        self.pending = PendingStore(db)
        self.outbox = OutboxStore(db)
        self.stats = StatsStore(db)

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        seed_default_flow: bool = True,
        admin_ids: frozenset[int] = frozenset(),
        secret: str | None = None,
    ) -> Store:
        """Open (creating and migrating as needed) the database at ``path``.

        Sensitive answers are encrypted with ``secret`` (INTAKE_SECRET_KEY) or, when
        it is unset, with a key kept in a file beside the database.
        """
        db = await Database.open(path)
        try:
            db.cipher = Cipher(load_key(secret, str(path)))
        except BaseException:
            await db.close()
            raise
        store = cls(db, admin_ids)
        if seed_default_flow:
            try:
                await store.flows.ensure_default()
            except BaseException:
                await store.close()
                raise
        return store

    async def close(self) -> None:
        await self.db.close()
