"""Backups (issue 24, point 3): ``intake-bot backup`` copies the database while the bot
writes, with the stored files and a manifest; ``--verify`` checks one and reports its
counts; ``intake-bot restore`` puts one back, refusing to overwrite data without --force
and writing nothing from a backup that does not match its manifest.

The burst: 100 applicants answer and send (through the store, with an attachment each in
the file store) while the backup is taken, half of them sending after it started.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from bot.crypto import key_file_for
from bot.files import LocalFiles
from bot.flow.engine import Screening, State, start
from bot.store import Store
from bot.store.backup import BackupError, Manifest, backup, restore, verify
from tests.helpers import console_script

APPLICANTS = 100
SCREENING = Screening(("no_income",), (), 5, ("medical",))
ADDRESS_KEY = b"k" * 32


def evidence(applicant: int) -> bytes:
    return f"a photo of the ruling of applicant {applicant} ".encode() * 50


async def apply(
    store: Store, files: LocalFiles, applicant: int, go: asyncio.Event | None
) -> str | None:
    """One applicant: a draft, three answers, a photo kept in the file store, sent."""
    flow = await store.flows.active()
    draft = await store.intakes.create_draft(
        applicant_id=applicant,
        chat_id=applicant,
        lang="zh",
        flow=flow,
        state=start(flow).state,
        update_id=1,
    )
    assert draft is not None
    answers: dict[str, object] = {}
    for n, (step, value) in enumerate(
        (("name", f"申请人{applicant}"), ("phone", f"1380000{applicant:04d}"), ("story", "…")), 2
    ):
        answers[step] = value
        await store.intakes.save_state(
            draft.id, State(answers=dict(answers), current=step, path=list(answers)), n
        )
    answers["evidence"] = await files.put(evidence(applicant))
    if go is not None:
        await go.wait()  # sends after the backup started
    final = State(answers=answers, current=None, path=list(answers))
    return await store.intakes.submit(draft, final, SCREENING, update_id=10)


def paths(root: Path) -> tuple[str, Path]:
    db = root / "intake.db"
    return str(db), Path(f"{db}.files")


async def test_a_backup_during_a_burst_restores_every_sent_intake_and_every_file(
    tmp_path: Path,
) -> None:
    db, files_dir = paths(tmp_path / "live")
    archive = tmp_path / "backups" / "intake.tar.gz"
    store = await Store.open(db)
    assert store.db.cipher is not None
    files = LocalFiles(files_dir, store.db.cipher, ADDRESS_KEY)
    started = asyncio.Event()
    sent_before: list[str] = []

    async def first(applicant: int) -> None:
        ref = await apply(store, files, applicant, None)
        assert ref is not None
        sent_before.append(ref)

    async def take() -> Manifest:
        await asyncio.gather(*(first(a) for a in range(1, APPLICANTS // 2 + 1)))
        started.set()
        return await asyncio.to_thread(backup, db, files_dir, archive, key_file=key_file_for(db))

    try:
        manifest, *later = await asyncio.gather(
            take(),
            *(apply(store, files, a, started) for a in range(APPLICANTS // 2 + 1, APPLICANTS + 1)),
        )
        assert all(later)  # every applicant sent (the burst went on beside the backup)
    finally:
        await store.close()
    assert os.stat(archive).st_mode & 0o777 == 0o600
    assert APPLICANTS // 2 <= manifest.sent <= APPLICANTS
    assert manifest.files >= manifest.sent and manifest.with_key

    checked = verify(archive)
    assert (checked.intakes, checked.sent, checked.files) == (
        manifest.intakes,
        manifest.sent,
        manifest.files,
    )

    back_db, back_files = paths(tmp_path / "restored")
    done = restore(archive, back_db, back_files, key_file_for(back_db))
    assert done.key == "restored"
    restored = await Store.open(back_db)
    try:
        assert restored.db.cipher is not None
        kept = LocalFiles(back_files, restored.db.cipher, ADDRESS_KEY)
        rows = await restored.db.fetchall("SELECT ref FROM intakes WHERE status = 'submitted'")
        refs = {r["ref"] for r in rows}
        assert len(refs) == manifest.sent
        assert set(sent_before) <= refs  # everything sent before the backup is in it
        for ref in refs:
            intake = await restored.intakes.by_ref(ref)
            assert intake is not None
            assert await kept.get(intake.state.answers["evidence"]) == evidence(intake.applicant_id)
    finally:
        await restored.close()
    # The files are restored as they were stored, byte for byte (still sealed).
    for address in kept.addresses():
        original = files.path_of(address).read_bytes()
        assert kept.path_of(address).read_bytes() == original
        name = f"files/{address[:2]}/{address[2:]}"
        assert manifest.members[name] == hashlib.sha256(original).hexdigest()
    assert os.stat(back_db).st_mode & 0o777 == 0o600


async def make_one(tmp_path: Path, applicants: int = 3) -> tuple[str, Path, Path]:
    db, files_dir = paths(tmp_path / "live")
    store = await Store.open(db)
    assert store.db.cipher is not None
    files = LocalFiles(files_dir, store.db.cipher, ADDRESS_KEY)
    try:
        for a in range(1, applicants + 1):
            await apply(store, files, a, None)
    finally:
        await store.close()
    archive = tmp_path / "intake.tar"
    backup(db, files_dir, archive)
    return db, files_dir, archive


def fingerprint(db: str) -> str:
    return hashlib.sha256(Path(db).read_bytes()).hexdigest()


async def test_a_restore_onto_an_existing_database_is_refused_without_force(
    tmp_path: Path,
) -> None:
    db, files_dir, archive = await make_one(tmp_path)
    store = await Store.open(db)  # more happens after the backup
    try:
        await store.db.execute("DELETE FROM intakes WHERE applicant_id = 1")
    finally:
        await store.close()
    before = fingerprint(db)

    with pytest.raises(BackupError, match="--force"):
        restore(archive, db, files_dir, key_file_for(db))
    assert fingerprint(db) == before

    done = restore(archive, db, files_dir, key_file_for(db), force=True)
    assert done.key == "kept"  # the backup holds no key; the one in place is kept
    store = await Store.open(db)
    try:
        assert len(await store.intakes.for_applicant(1)) == 1  # as it was in the backup
    finally:
        await store.close()


async def test_a_backup_that_does_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    _, _, archive = await make_one(tmp_path)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("files/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, io.BytesIO(data))

    with pytest.raises(BackupError, match="checksums"):
        verify(tampered)
    target, target_files = paths(tmp_path / "elsewhere")
    with pytest.raises(BackupError, match="checksums"):
        restore(tampered, target, target_files, key_file_for(target))
    assert not Path(target).exists() and not target_files.exists()  # nothing was written
    assert [p.name for p in (tmp_path / "elsewhere").iterdir()] == []


async def test_the_commands_back_up_verify_and_restore(tmp_path: Path) -> None:
    db, _, _ = await make_one(tmp_path, applicants=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    env["INTAKE_DB"] = db

    def cli(*args: str, db_path: str = db) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [console_script(), *args],
            env={**env, "INTAKE_DB": db_path},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    out = tmp_path / "nightly.tar.gz"
    made = cli("backup", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "4 intakes (4 sent), 4 files" in made.stdout
    assert "the key is not in it" in made.stdout

    checked = cli("backup", "--verify", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "ok: 4 intakes (4 sent), 4 files" in checked.stdout
    assert "files match their checksum; the database is sound" in checked.stdout

    refused = cli("restore", str(out))
    assert refused.returncode == 1
    assert "exists" in refused.stderr and "--force" in refused.stderr

    elsewhere = str(tmp_path / "new" / "intake.db")
    placed = cli("restore", str(out), db_path=elsewhere)
    assert placed.returncode == 0, placed.stderr
    assert "holds no key" in placed.stdout  # and says where to put it
    assert not key_file_for(elsewhere).exists()

    Path(key_file_for(elsewhere)).write_bytes(key_file_for(db).read_bytes())
    again = cli("restore", "--force", str(out), db_path=elsewhere)
    assert again.returncode == 0, again.stderr
    assert "the key opens the restored data" in again.stdout
