"""Storage: the only place that speaks SQL.

The core talks to ``Store`` and its parts, never to a connection. The database is SQLite
(bot/store/db.py, the default) or PostgreSQL (bot/store/pg.py), chosen by the URL given
to ``Store.open`` (bot/store/backend.py); the parts speak to either through ``Backend``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from bot.crypto import Cipher, Kdf, SecretKeyError, generated_key, legacy_key, read_secret
from bot.dburl import is_postgres
from bot.files import LocalFiles
from bot.store import rotation
from bot.store.atrest import rewrite
from bot.store.audit import AuditStore
from bot.store.backend import Backend, open_database
from bot.store.casework import CaseStore
from bot.store.checkins import CheckinStore
from bot.store.db import SchemaTooNew, now_iso
from bot.store.digests import DigestStore
from bot.store.exports import ExportStore
from bot.store.files import FileRecords, address_key
from bot.store.flows import FlowNotFound, FlowStore
from bot.store.housekeeping import HousekeepingStore
from bot.store.inbox import InboxStore
from bot.store.intakes import Intake, IntakeStore
from bot.store.listings import ListingStore
from bot.store.lookup import rebuild_if_needed
from bot.store.measures import MeasureStore
from bot.store.outbox import OutboxStore
from bot.store.pending import PendingStore
from bot.store.proposals import ProposalStore
from bot.store.roles import RoleStore
from bot.store.sendpace import SendPaceStore
from bot.store.stats import StatsStore
from bot.store.users import UserStore
from bot.store.web import WebStore

__all__ = ["FlowNotFound", "Intake", "SchemaTooNew", "Store"]

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Backend, admin_ids: frozenset[int] = frozenset()) -> None:
        self.db = db
        self.flows = FlowStore(db)
        self.intakes = IntakeStore(db, self.flows)
        self.users = UserStore(db)
        self.audit = AuditStore(db)
        self.roles = RoleStore(db, admin_ids)
        self.cases = CaseStore(db)
        self.proposals = ProposalStore(db, self.cases)
        self.pending = PendingStore(db)
        self.outbox = OutboxStore(db)
        self.inbox = InboxStore(db)
        self.stats = StatsStore(db)
        self.housekeeping = HousekeepingStore(db)
        self.digests = DigestStore(db)
        self.checkins = CheckinStore(db)
        self.measures = MeasureStore(db)
        self.exports = ExportStore(db)
        self.file_records = FileRecords(db)
        # The file store (attachments, voice): set by ``open``, which knows the key.
        self.files: LocalFiles | None = None
        # Addresses being written and not yet named by a row: never erased meanwhile. A
        # write (``put``) and an erasure's check-then-delete hold ``files_lock``, so a file
        # stored again while its last holder is erased is never lost between the two.
        self.landing: set[str] = set()
        self.files_lock = asyncio.Lock()
        self.listings = ListingStore(db)
        self.web = WebStore(db)
        # The bot's send pace, shared by several instances on PostgreSQL (issue 27).
        self.send_pace = SendPaceStore(db)

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        seed_default_flow: bool = True,
        admin_ids: frozenset[int] = frozenset(),
        secret: str | None = None,
        default_region: str = "",
        rotation_secret: str | None = None,
        files_dir: str | Path | None = None,
    ) -> Store:
        """Open (creating and migrating as needed) the database at ``path``: a SQLite file
        (a path or ``sqlite:///path``) or a PostgreSQL URL (``postgresql://user@host/db``).
        PostgreSQL has no folder beside it: its key comes from ``secret`` and its files go to
        ``files_dir``, both required (every instance of the bot must share them).

        Personal data is encrypted with a key from ``secret`` (INTAKE_SECRET_KEY) or, when
        it is unset, from a file beside the database (bot/crypto.py). A database written by
        an earlier version is brought to that format in place first (bot/store/atrest.py).
        Sent intakes without a region (sent before regions existed) are given
        ``default_region`` (INTAKE_DEFAULT_REGION) when one is set. Attachments are kept
        sealed in ``files_dir`` (INTAKE_FILES), by default a folder ``<db>.files`` beside it.
        While a key rotation is under way (bot/rotation.py) values open with either key;
        ``rotation_secret`` is the new secret when the keys are not in key files.
        """
        path = str(path)
        if is_postgres(path) and not (secret and files_dir):
            raise SecretKeyError(
                "a PostgreSQL database needs INTAKE_SECRET_KEY and INTAKE_FILES: there is no "
                "folder beside it for the key file and the files"
            )
        db = await open_database(path)
        try:
            db.cipher, reading = await _cipher_for(db, secret, path, rotation_secret)
            store = cls(db, admin_ids)
            folder = Path(files_dir) if files_dir else files_dir_for(path)
            key = await address_key(db)
            store.files = LocalFiles(folder, db.cipher, key)
            store.file_records.name_key = key
            if reading is not None:
                await rewrite(store, reading)
            store.intakes.default_region = default_region
            await rebuild_if_needed(store)  # the search index, under this key
            if default_region:
                await store.intakes.give_region(default_region)
            if seed_default_flow:
                await store.flows.ensure_default()
        except BaseException:
            await db.close()
            raise
        return store

    async def erase_files(self) -> int:
        """Erase from the file store the files queued by an erasure (``forget_files``), unless
        a row names the address again (the same file sent since). Returns how many."""
        if self.files is None:
            return 0
        done = 0
        for address in await self.file_records.erasures():
            async with self.files_lock:
                if address in self.landing:
                    continue  # being stored again: the next run finds it held
                if not await self.file_records.referenced(address):
                    try:
                        await self.files.delete(address)
                    except OSError as exc:  # still queued: the next run tries again
                        log.error("a file could not be erased (%s)", type(exc).__name__)
                        continue
                    done += 1
            await self.file_records.erased(address)
        return done

    async def close(self) -> None:
        await self.db.close()


def files_dir_for(db_path: str) -> Path:
    """Where attachments are kept by default: a folder beside the database."""
    return Path(db_path + ".files")


_KEY_CHECK = "key_check"
_KDF = "kdf"
_OK = "ok"


async def _cipher_for(
    db: Backend, secret: str | None, path: str, rotation_secret: str | None = None
) -> tuple[Cipher, Cipher | None]:
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
    under_way = await rotation.progress(db)
    if under_way is not None:
        return await _rotating(db, under_way, secret, path, [text, rotation_secret]), None
    cipher = Cipher(await key_of(db, text))
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


async def key_of(db: Backend, text: str) -> bytes:
    """The key a secret stands for in this database (a generated key, or a passphrase
    through scrypt with the database's salt)."""
    key = generated_key(text)
    if key is None:  # a passphrase: scrypt, with the salt kept in the database
        key = (await _kdf(db)).derive(text)
    return key


async def _rotating(
    db: Backend,
    under_way: rotation.Progress,
    secret: str | None,
    path: str,
    secrets: list[str | None],
) -> Cipher:
    """The cipher while a key rotation is under way: the new key, the old one behind it.
    Each is found by the check value the rotation recorded for it, among the secrets
    given and, when the key is kept in a file, the key files a rotation leaves."""
    if not secret:
        for name in (".key.old", ".key.new"):
            kept = Path(path + name)
            if kept.is_file():
                secrets.append(kept.read_text(encoding="ascii").strip())
    new = old = None
    for text in dict.fromkeys(t for t in secrets if t):
        candidate = Cipher(await key_of(db, text))
        if new is None and rotation.opens(candidate, under_way.new_check):
            new = candidate
        elif old is None and rotation.opens(candidate, under_way.old_check):
            old = candidate
    if new is None or old is None:
        raise SecretKeyError(
            "a key rotation is under way and not finished: run `intake-bot keys rotate` "
            "again to finish it (with INTAKE_SECRET_KEY still the old secret and "
            "--new-secret-file the new one, if the key is not in a key file)"
        )
    new.previous = old
    return new


async def _kdf(db: Backend) -> Kdf:
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
