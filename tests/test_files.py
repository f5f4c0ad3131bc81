"""The file store (bot/files.py): what is kept is sealed, found again, stored once, and gone
when erased; a half-written file never sits under an address."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.crypto import Cipher, SecretKeyError
from bot.files import FileMissing, LocalFiles
from bot.store import Store
from tests.backends import open_store

PHOTO = b"\xff\xd8\xff\xe0 a photo of a hospital bill \xff\xd9"


def files(root: Path) -> LocalFiles:
    return LocalFiles(root, Cipher.generate(), os.urandom(32))


async def test_a_file_comes_back_as_it_was_put(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    address = await store.put(PHOTO)
    assert await store.get(address) == PHOTO
    assert list(store.addresses()) == [address]


async def test_on_disk_it_is_sealed(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    address = await store.put(PHOTO)
    raw = store.path_of(address).read_bytes()
    assert PHOTO not in raw and b"hospital" not in raw
    # The address is keyed: not the plain SHA-256 anyone could compute from the bytes.
    import hashlib

    assert address != hashlib.sha256(PHOTO).hexdigest()


async def test_the_same_bytes_are_kept_once(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    first = await store.put(PHOTO)
    before = store.path_of(first).read_bytes()
    assert await store.put(PHOTO) == first
    assert store.path_of(first).read_bytes() == before  # not written again
    other = await store.put(PHOTO + b"!")
    assert other != first
    assert sorted(store.addresses()) == sorted([first, other])


async def test_another_address_key_gives_other_addresses(tmp_path: Path) -> None:
    assert await files(tmp_path / "a").put(PHOTO) != await files(tmp_path / "b").put(PHOTO)


async def test_files_and_folders_are_for_the_bot_only(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    address = await store.put(PHOTO)
    path = store.path_of(address)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o700


async def test_a_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way leaves nothing under the address, and no temporary file."""
    store = files(tmp_path / "f")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        await store.put(PHOTO)
    monkeypatch.undo()
    assert list(store.addresses()) == []
    assert [p for p in (tmp_path / "f").rglob("*") if p.is_file()] == []
    address = await store.put(PHOTO)  # and it works once the disk does
    assert await store.get(address) == PHOTO


async def test_a_missing_file_is_said_so(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    with pytest.raises(FileMissing):
        await store.get("ab" * 32)
    with pytest.raises(ValueError):
        await store.get("../../etc/passwd")


async def test_delete_erases_the_file(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    address = await store.put(PHOTO)
    await store.delete(address)
    assert not store.path_of(address).exists()
    assert list(store.addresses()) == []
    with pytest.raises(FileMissing):
        await store.get(address)
    await store.delete(address)  # twice: nothing happens


async def test_a_wrong_key_does_not_open_a_file(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    address = await store.put(PHOTO)
    other = LocalFiles(tmp_path / "f", Cipher.generate(), os.urandom(32))
    with pytest.raises(SecretKeyError):
        await other.get(address)


async def test_reseal_keeps_the_address_and_opens_with_the_new_key(tmp_path: Path) -> None:
    store = files(tmp_path / "f")
    address = await store.put(PHOTO)
    new = Cipher.generate()
    await store.reseal(address, new)
    store.cipher = new
    assert await store.get(address) == PHOTO


async def test_the_store_keeps_files_beside_the_database_with_a_stable_address_key(
    tmp_path: Path,
) -> None:
    db = tmp_path / "intake.db"
    store = await Store.open(db)
    try:
        assert store.files is not None
        assert store.files.root == tmp_path / "intake.db.files"
        address = await store.files.put(PHOTO)
    finally:
        await store.close()
    again = await Store.open(db)
    try:
        assert again.files is not None
        assert again.files.address_of(PHOTO) == address
        assert await again.files.get(address) == PHOTO
    finally:
        await again.close()


async def test_an_erasure_erases_a_file_only_when_nothing_holds_it(
    tmp_path: Path, db_url: str
) -> None:
    store = await open_store(db_url, tmp_path)
    try:
        assert store.files is not None
        address = await store.files.put(PHOTO)
        for intake_id in (1, 2):  # the same photo, sent for two applications
            row = await store.file_records.record(
                intake_id,
                "uniq1",
                "photo",
                step="papers",
                size=len(PHOTO),
                duration=None,
                source="FILE-ID-1",
            )
            await store.file_records.stored(row.id, address)
        await store.file_records.forget([1])
        assert await store.erase_files() == 0  # the other application still holds it
        assert await store.files.get(address) == PHOTO

        await store.file_records.forget([2])
        store.landing.add(address)  # being stored again at this moment: left alone
        assert await store.erase_files() == 0
        assert await store.file_records.erasures() == [address]
        store.landing.discard(address)
        assert await store.erase_files() == 1
        assert list(store.files.addresses()) == []
        assert await store.file_records.erasures() == []
    finally:
        await store.close()


async def test_telegrams_ids_of_a_file_are_not_kept_in_the_clear(
    tmp_path: Path, db_url: str
) -> None:
    store = await open_store(db_url, tmp_path)
    try:
        row = await store.file_records.record(
            1, "AgADUNIQUE77", "photo", step=None, size=1, duration=None, source="AgACFILEID99"
        )
        assert row.source == "AgACFILEID99"  # read back for the download
        raw = await store.db.fetchone("SELECT unique_id, source FROM files WHERE id = ?", (row.id,))
        assert raw is not None
        assert "AgADUNIQUE77" not in raw["unique_id"] and isinstance(raw["source"], bytes)
        assert await store.file_records.find(1, "AgADUNIQUE77") is not None
    finally:
        await store.close()
