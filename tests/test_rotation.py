"""Key rotation (issue 24, point 4): ``intake-bot keys rotate`` seals every sensitive value
and every stored file again under a new key, goes on where it stopped when it is killed
half-way, and leaves nothing that opens with the old key.

The database is filled with 10,000 sealed values in every sealed column (in batches, as
the store seals them) and the file store with 1,000 sealed files; each check reads every
BLOB of every table, so a sealed column added without being listed in
bot/store/atrest.py (``SEALED``) makes these tests fail.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.crypto import Cipher, SecretKeyError, generated_key, key_file_for
from bot.files import LocalFiles
from bot.instance import AlreadyRunning, InstanceLock
from bot.rotation import RotationError, rotate
from bot.store import Store
from bot.store.atrest import HASHED, SEALED
from bot.store.backup import BackupError, backup
from bot.store.db import now_iso
from tests.helpers import console_script

INTAKES = 1_000  # x3 sealed columns
MESSAGES = 4_000
OUTBOX = 1_000
REFERRALS = 500  # x2
PROPOSALS = 500  # x2
OTHERS = 20  # previews, pending, inbox (x2)
VALUES = INTAKES * 3 + MESSAGES + OUTBOX + REFERRALS * 2 + PROPOSALS * 2 + OTHERS * 4
FILES = 1_000


class Stop(Exception):
    """Stands for the process being killed at that point."""


def stop_after(n: int) -> Any:
    def after_batch(done: int) -> None:
        if done >= n:
            raise Stop

    return after_batch


async def fill(db_path: Path, files_dir: Path, *, secret: str | None = None) -> None:
    """10,000+ sealed values in every sealed column, and 1,000 sealed files."""
    store = await Store.open(db_path, secret=secret)
    try:
        cipher = store.db.cipher
        assert cipher is not None
        flow = await store.flows.active()
        at = now_iso()

        def seal(text: str) -> bytes:
            return cipher.seal_text(text)

        async with store.db.write() as tx:
            await tx.executemany(
                "INSERT INTO intakes (id, ref, flow_id, flow_version, applicant_id, chat_id,"
                " lang, status, state, clue, decision_reason, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'zh', 'submitted', ?, ?, ?, ?, ?)",
                [
                    (
                        i,
                        f"R{i:05d}",
                        flow.id,
                        flow.version,
                        i,
                        i,
                        cipher.seal_json({"answers": {"name": f"张三{i}"}, "path": []}),
                        seal(f"clue {i}"),
                        seal(f"reason {i}"),
                        at,
                        at,
                    )
                    for i in range(1, INTAKES + 1)
                ],
            )
            await tx.executemany(
                "INSERT INTO messages (intake_id, at, author, kind, body) VALUES (?, ?, 1, 'note', ?)",
                [(i % INTAKES + 1, at, seal(f"message {i}")) for i in range(MESSAGES)],
            )
            await tx.executemany(
                "INSERT INTO outbox (chat_id, text, created_at, next_at) VALUES (?, ?, ?, ?)",
                [(i, seal(f"notice {i}"), at, at) for i in range(OUTBOX)],
            )
            await tx.executemany(
                "INSERT INTO referrals (intake_id, partner_id, status, request, outcome,"
                " created_by, created_at, updated_at) VALUES (?, 7, 'done', ?, ?, 1, ?, ?)",
                [(i + 1, seal(f"ask {i}"), seal(f"done {i}"), at, at) for i in range(REFERRALS)],
            )
            await tx.executemany(
                "INSERT INTO proposals (intake_id, kind, reason, proposed_by, proposed_at,"
                " state, note) VALUES (?, 'decline', ?, 1, ?, 'returned', ?)",
                [(i + 1, seal(f"why {i}"), at, seal(f"note {i}")) for i in range(PROPOSALS)],
            )
            await tx.execute(
                "INSERT INTO flow_uploads (id, admin_id, source, uploaded_at) VALUES (1, 1, '', ?)",
                (at,),
            )
            await tx.executemany(
                "INSERT INTO previews (user_id, upload_id, state, started_at) VALUES (?, 1, ?, ?)",
                [(i, cipher.seal_json({"answers": {}, "path": []}), at) for i in range(OTHERS)],
            )
            await tx.executemany(
                "INSERT INTO pending (user_id, kind, data, created_at) VALUES (?, 'reply', ?, ?)",
                [(i, seal(f'{{"said": {i}}}'), at) for i in range(OTHERS)],
            )
            await tx.executemany(
                "INSERT INTO inbox (update_id, chat_key, body, received_at, state, error)"
                " VALUES (?, 1, ?, ?, 'dead', ?)",
                [(i, seal(f"update {i}"), at, seal(f"error {i}")) for i in range(OTHERS)],
            )
            await tx.execute(
                "INSERT INTO erased (tag, last_update_id, erased_at) VALUES (?, 1, ?)",
                (cipher.pseudonym(42), at),
            )
    finally:
        await store.close()
    files = LocalFiles(files_dir, cipher, os.urandom(32))
    for i in range(FILES):
        await files.put(f"file {i} ".encode() * 20)


def stored_files(files_dir: Path) -> list[Path]:
    files = LocalFiles(files_dir, Cipher.generate(), b"")
    return [files.path_of(a) for a in files.addresses()]


def blobs(db_path: Path) -> Iterator[tuple[str, str, int, bytes]]:
    """Every BLOB value in the database: (table, column, row id, value)."""
    with closing(sqlite3.connect(db_path)) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                for rowid, value in conn.execute(f"SELECT rowid, {column} FROM {table}"):
                    if isinstance(value, bytes):
                        yield table, column, rowid, value


def contents(db_path: Path, files_dir: Path, cipher: Cipher) -> dict[Any, bytes]:
    """What every sealed value and file holds, opened with ``cipher`` (which must open
    every one); keyed hashes are checked to be where they are listed."""
    out: dict[Any, bytes] = {}
    for table, column, rowid, value in blobs(db_path):
        if (table, column) in HASHED:
            continue
        assert (table, column) in SEALED, f"{table}.{column} holds BLOBs but is not in SEALED"
        out[(table, column, rowid)] = cipher.open_bytes(value)
    for path in stored_files(files_dir):
        out[path.relative_to(files_dir).as_posix()] = cipher.open_bytes(path.read_bytes())
    return out


def none_opens(db_path: Path, files_dir: Path, cipher: Cipher) -> None:
    for table, column, _rowid, value in blobs(db_path):
        if (table, column) in SEALED:
            with pytest.raises(SecretKeyError):
                cipher.open_bytes(value)
    for path in stored_files(files_dir):
        with pytest.raises(SecretKeyError):
            cipher.open_bytes(path.read_bytes())


def file_key(db_path: Path) -> Cipher:
    key = generated_key(key_file_for(str(db_path)).read_text(encoding="ascii"))
    assert key is not None
    return Cipher(key)


async def test_every_column_declared_blob_is_listed_as_sealed_or_hashed(tmp_path: Path) -> None:
    """A new table with a BLOB column must say which it holds: sealed values (rotated) or
    keyed hashes (HASHED); the scans of the other tests catch sealed TEXT columns."""
    store = await Store.open(tmp_path / "intake.db")
    await store.close()
    with closing(sqlite3.connect(tmp_path / "intake.db")) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        declared = {
            (table, r[1])
            for table in tables
            for r in conn.execute(f"PRAGMA table_info({table})")
            if r[2].upper() == "BLOB"
        }
    assert declared and declared <= set(SEALED) | set(HASHED)


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "data" / "intake.db", tmp_path / "data" / "intake.db.files"


async def test_a_rotation_seals_everything_again_and_the_old_key_opens_nothing(
    paths: tuple[Path, Path],
) -> None:
    db_path, files_dir = paths
    await fill(db_path, files_dir)
    old = file_key(db_path)
    before = contents(db_path, files_dir, old)
    assert len([k for k in before if isinstance(k, tuple)]) >= VALUES
    assert len([k for k in before if isinstance(k, str)]) == FILES

    done = await rotate(str(db_path), files_dir, secret=None)

    assert done.values >= VALUES and done.files == FILES and not done.resumed
    new = file_key(db_path)
    assert contents(db_path, files_dir, new) == before
    none_opens(db_path, files_dir, old)
    names = sorted(p.name for p in db_path.parent.iterdir() if ".key" in p.name)
    assert names == ["intake.db.key"]  # the old key file is gone, no new one left over
    assert os.stat(key_file_for(str(db_path))).st_mode & 0o777 == 0o600
    store = await Store.open(db_path)  # the bot starts with the new key alone
    try:
        intake = await store.intakes.by_ref("R00007")
        assert intake is not None and intake.state.answers["name"] == "张三7"
    finally:
        await store.close()


@pytest.mark.parametrize("stop", [5_000, VALUES + 500], ids=["in-the-database", "in-the-files"])
async def test_a_rotation_stopped_half_way_is_finished_by_the_next_run(
    paths: tuple[Path, Path], stop: int
) -> None:
    db_path, files_dir = paths
    await fill(db_path, files_dir)
    old = file_key(db_path)
    before = contents(db_path, files_dir, old)

    with pytest.raises(Stop):
        await rotate(str(db_path), files_dir, secret=None, after_batch=stop_after(stop))

    # Half-way: the old key is kept beside the new one, and the bot can start and read
    # values under either key (and seals new ones with the new key).
    assert Path(f"{db_path}.key.old").exists()
    # A value under the old key in a column already done (as a bot that kept the old key
    # would write it) is found by the last pass.
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE intakes SET clue = ? WHERE id = 1", (old.seal_text("clue 1"),))
    with pytest.raises(BackupError, match="rotation"):  # a backup would need both keys
        backup(str(db_path), files_dir, db_path.parent / "b.tar")
    store = await Store.open(db_path)
    try:
        assert (await store.intakes.by_ref("R00001")) is not None
        assert (await store.intakes.by_ref("R01000")) is not None
    finally:
        await store.close()

    done = await rotate(str(db_path), files_dir, secret=None)

    assert done.resumed
    new = file_key(db_path)
    assert contents(db_path, files_dir, new) == before
    none_opens(db_path, files_dir, old)
    assert not Path(f"{db_path}.key.old").exists()


async def test_a_rotation_killed_with_sigkill_is_finished_by_the_command(
    paths: tuple[Path, Path],
) -> None:
    db_path, files_dir = paths
    await fill(db_path, files_dir)
    old = file_key(db_path)
    before = contents(db_path, files_dir, old)
    # A real process, killed by the system (kill -9) after 4,000 values are committed.
    script = (
        "import asyncio, os, signal, sys\n"
        "from pathlib import Path\n"
        "from bot.rotation import rotate\n"
        "def after(n):\n"
        "    if n >= 4000:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(rotate(sys.argv[1], Path(sys.argv[2]), secret=None, after_batch=after))\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(db_path), str(files_dir)], timeout=300, check=False
    )
    assert killed.returncode == -signal.SIGKILL

    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env.update(INTAKE_DB=str(db_path))
    again = subprocess.run(
        [console_script(), "keys", "rotate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "finished the rotation that was interrupted" in again.stdout

    new = file_key(db_path)
    assert contents(db_path, files_dir, new) == before
    none_opens(db_path, files_dir, old)


async def test_with_a_passphrase_the_new_secret_comes_from_a_file(
    paths: tuple[Path, Path], tmp_path: Path
) -> None:
    db_path, files_dir = paths
    passphrase = "correct horse battery staple"
    await fill(db_path, files_dir, secret=passphrase)
    store = await Store.open(db_path, secret=passphrase)
    old = store.db.cipher
    await store.close()
    assert old is not None
    before = contents(db_path, files_dir, old)
    secret_file = tmp_path / "new-secret"

    with pytest.raises(RotationError, match="--new-secret-file"):
        await rotate(str(db_path), files_dir, secret=passphrase)
    with pytest.raises(Stop):
        await rotate(
            str(db_path),
            files_dir,
            secret=passphrase,
            new_secret_file=secret_file,
            after_batch=stop_after(3_000),
        )
    assert os.stat(secret_file).st_mode & 0o777 == 0o600  # a new key was written there
    assert not key_file_for(str(db_path)).exists()  # and none beside the database
    # Half-way with INTAKE_SECRET_KEY: the bot does not start; the message says what to do.
    with pytest.raises(SecretKeyError, match="keys rotate"):
        await Store.open(db_path, secret=passphrase)

    done = await rotate(str(db_path), files_dir, secret=passphrase, new_secret_file=secret_file)

    assert done.resumed
    with pytest.raises(SecretKeyError):
        await Store.open(db_path, secret=passphrase)
    store = await Store.open(db_path, secret=secret_file.read_text().strip())
    await store.close()
    key = generated_key(secret_file.read_text())
    assert key is not None
    assert contents(db_path, files_dir, Cipher(key)) == before
    none_opens(db_path, files_dir, old)


async def test_a_rotation_is_refused_while_the_bot_runs(paths: tuple[Path, Path]) -> None:
    db_path, files_dir = paths
    await fill(db_path, files_dir)
    old = key_file_for(str(db_path)).read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["INTAKE_DB"] = str(db_path)
    with InstanceLock(str(db_path)):
        with pytest.raises(AlreadyRunning):
            await rotate(str(db_path), files_dir, secret=None)
        refused = subprocess.run(
            [console_script(), "keys", "rotate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert refused.returncode == 1 and "already running" in refused.stderr
    assert key_file_for(str(db_path)).read_text() == old
