"""Storage: the only place that speaks SQL.

The core talks to ``Store`` and its parts, never to a connection, so a
PostgreSQL implementation of the same methods can be added for deployments
that outgrow one machine.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.crypto import Cipher, KeyError_, key_file_for, load_key
from bot.store.audit import AuditStore
from bot.store.casework import CaseStore
from bot.store.db import Database, SchemaTooNew, now_iso
from bot.store.flows import FlowNotFound, FlowStore
from bot.store.inbox import InboxStore
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
        self.inbox = InboxStore(db)
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
            db.cipher = await _cipher_for(db, secret, str(path))
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


_KEY_CHECK = "key_check"


async def _cipher_for(db: Database, secret: str | None, path: str) -> Cipher:
    """The cipher for this database, refusing a key that cannot read what it holds.

    A sealed marker is kept in the database: a wrong INTAKE_SECRET_KEY, or a lost
    key file, is found at start rather than when a caseworker opens a card.
    """
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_KEY_CHECK,))
    if row is not None and not secret and not key_file_for(path).exists():
        raise KeyError_(
            f"the key file {key_file_for(path)} is missing, but the database holds protected "
            "answers: restore the file from your backup, or set INTAKE_SECRET_KEY to that key"
        )
    cipher = Cipher(load_key(secret, path))
    if row is None:
        await db.execute(
            "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)",
            (_KEY_CHECK, json.dumps(cipher.seal("ok")), now_iso()),
        )
    elif cipher.open(json.loads(row["value"])) != "ok":  # open() raises on a wrong key
        raise KeyError_("the key does not match this database")
    return cipher
