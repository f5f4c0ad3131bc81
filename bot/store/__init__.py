"""Storage: the only place that speaks SQL.

The core talks to ``Store`` and its parts, never to a connection, so a
PostgreSQL implementation of the same methods can be added for deployments
that outgrow one machine.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bot.crypto import Cipher, Kdf, SecretKeyError, generated_key, legacy_key, read_secret
from bot.store.atrest import rewrite
from bot.store.audit import AuditStore
from bot.store.casework import CaseStore
from bot.store.db import Database, SchemaTooNew, now_iso
from bot.store.flows import FlowNotFound, FlowStore
from bot.store.housekeeping import HousekeepingStore
from bot.store.inbox import InboxStore
from bot.store.intakes import Intake, IntakeStore
from bot.store.listings import ListingStore
from bot.store.lookup import rebuild_if_needed
from bot.store.outbox import OutboxStore
from bot.store.pending import PendingStore
from bot.store.roles import RoleStore
from bot.store.stats import StatsStore
from bot.store.users import UserStore

__all__ = ["FlowNotFound", "Intake", "SchemaTooNew", "Store"]

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Database, admin_ids: frozenset[int] = frozenset()) -> None:
        self.db = db
        self.flows = FlowStore(db)
        self.intakes = IntakeStore(db, self.flows)
        self.users = UserStore(db)
        self.audit = AuditStore(db)
        self.roles = RoleStore(db, admin_ids)
        self.cases = CaseStore(db)
        self.pending = PendingStore(db)
        self.outbox = OutboxStore(db)
        self.inbox = InboxStore(db)
        self.stats = StatsStore(db)
        self.housekeeping = HousekeepingStore(db)
        self.listings = ListingStore(db)

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        seed_default_flow: bool = True,
        admin_ids: frozenset[int] = frozenset(),
        secret: str | None = None,
        default_region: str = "",
    ) -> Store:
        """Open (creating and migrating as needed) the database at ``path``.

        Personal data is encrypted with a key from ``secret`` (INTAKE_SECRET_KEY) or, when
        it is unset, from a file beside the database (bot/crypto.py). A database written by
        an earlier version is brought to that format in place first (bot/store/atrest.py).
        Sent intakes without a region (sent before regions existed) are given
        ``default_region`` (INTAKE_DEFAULT_REGION) when one is set.
        """
        db = await Database.open(path)
        try:
            db.cipher, reading = await _cipher_for(db, secret, str(path))
            store = cls(db, admin_ids)
            if reading is not None:
                await rewrite(store, reading)
            await rebuild_if_needed(store)  # the search index, under this key
            if default_region:
                await store.intakes.give_region(default_region)
            if seed_default_flow:
                await store.flows.ensure_default()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self.db.close()


_KEY_CHECK = "key_check"
_KDF = "kdf"
_OK = "ok"


async def _cipher_for(db: Database, secret: str | None, path: str) -> tuple[Cipher, Cipher | None]:
    """The cipher for this database, refusing a key that cannot read what it holds; and,
    when the database may hold data in an earlier format, the cipher that reads that data
    (for ``rewrite``), else None.

    A sealed marker is kept in the database (``key_check``): a wrong INTAKE_SECRET_KEY, or a
    lost key file, is found at start rather than when a caseworker opens a card. Its
    format tells which version wrote the data: a BLOB is this one's; TEXT (a Fernet token)
    an earlier one's, whose passphrase keys were one unsalted SHA-256 of the passphrase.
    """
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_KEY_CHECK,))
    text = read_secret(secret, path, create=row is None)
    key = generated_key(text)
    if key is None:  # a passphrase: scrypt, with the salt kept in the database
        key = (await _kdf(db)).derive(text)
    cipher = Cipher(key)
    if row is None:
        await db.execute(
            "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (_KEY_CHECK, cipher.seal_text(_OK), now_iso()),
        )
        # Nothing was sealed before, but rows may have been written without a Store.
        reading: Cipher | None = cipher
    else:
        reading = None
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_KEY_CHECK,))
    if row is None:
        raise SecretKeyError("the key check could not be stored in the database")
    value = row["value"]
    if isinstance(value, bytes):
        if cipher.open_text(value) != _OK:  # open_text raises on a wrong key
            raise SecretKeyError("the key does not match this database")
        return cipher, reading
    earlier = Cipher(legacy_key(text))
    if earlier.open(json.loads(value)) != _OK:  # open raises on a wrong key
        raise SecretKeyError("the key does not match this database")
    if generated_key(text) is None:
        log.info("re-keying the database: its passphrase key now comes from scrypt with a salt")
    return cipher, earlier


async def _kdf(db: Database) -> Kdf:
    """How this database turns a passphrase into the key; a new salt the first time."""
    row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_KDF,))
    if row is None:
        await db.execute(
            "INSERT INTO settings (key, value, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (_KDF, Kdf.new().to_json(), now_iso()),
        )
        row = await db.fetchone("SELECT value FROM settings WHERE key = ?", (_KDF,))
        assert row is not None
    return Kdf.from_json(row["value"])
