"""Key rotation (``intake-bot keys rotate``): a new key, every sealed value and stored file
sealed again with it, the old key forgotten; resumable when interrupted.

Why it runs with the bot stopped: the bot seals with the key it opened the store with, and
a running bot would go on sealing new values with the old key behind the rotation's back.
So the command takes the bot's run lock (bot/instance.py) for as long as it runs: it is
refused while the bot runs, and the bot cannot start under it. A rotation that is killed
half-way leaves the database readable with both keys (bot/store/rotation.py): the bot can
be started again meanwhile, and the next ``keys rotate`` (the bot stopped) finishes it.

Where the keys are, step by step, with the key file beside the database (``<db>.key``):
the new key is written to ``<db>.key.new``; the rotation is recorded in the database (with
a check value for each key); the old key file is kept as ``<db>.key.old`` and the new one
takes the name ``<db>.key`` (each an atomic rename); then the values and files are sealed
again; the key check goes under the new key; ``<db>.key.old`` is removed. A crash at any
point leaves the keys where the next run (or the bot's start) finds them.

With INTAKE_SECRET_KEY instead of a key file, no key is written beside the database: the
new secret comes from a file the operator names (``--new-secret-file``; a new key is
written there if it does not exist), INTAKE_SECRET_KEY stays the old secret until the
rotation is done, and then must become the new one. The bot does not start in between.

The file store (bot/files.py, ``LocalFiles``): each file is read, sealed again and
replaced atomically (``write_sealed``: a temporary file, then a rename); its address does
not depend on the data key, so no file moves. A file that opens with the new key already is left as it is,
so a second run skips what the first did.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.crypto import KEY_BYTES, Cipher, SecretKeyError, key_file_for
from bot.files import LocalFiles
from bot.instance import InstanceLock
from bot.store import Store, key_of
from bot.store import rotation as progress

_FILE_BATCH = 100


class RotationError(RuntimeError):
    """The rotation cannot be done as asked: said in one line, nothing changed."""


@dataclass(frozen=True)
class Rotated:
    values: int  # sealed values in the database sealed again
    files: int  # stored files sealed again
    resumed: bool  # an earlier, interrupted rotation was finished


def new_secret() -> str:
    """A generated key, as the key file holds it."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) so that ``path`` is either as it was or
    complete, also after a power cut: a temporary file, flushed, renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def reseal_file(files: LocalFiles, address: str, cipher: Cipher) -> bool:
    """Seal the file at ``address`` again with ``cipher`` (its ``previous`` the old key),
    replacing it atomically; False if it opens with the new key already."""
    sealed = await files.read_sealed(address)
    if progress.sealed_with(cipher, sealed):
        return False
    await files.write_sealed(address, cipher.seal_bytes(cipher.open_bytes(sealed)))
    return True


async def rotate(
    db_path: str,
    files_dir: Path,
    *,
    secret: str | None,
    new_secret_file: Path | None = None,
    after_batch: Callable[[int], None] | None = None,
) -> Rotated:
    """Rotate the key of the database at ``db_path`` and of the files under ``files_dir``
    (see the module's docstring). ``after_batch(n)`` is told how many values and files are
    done after each committed batch (tests stop there)."""
    if secret and new_secret_file is None:
        raise RotationError(
            "INTAKE_SECRET_KEY is set: give the new secret with --new-secret-file PATH "
            "(a new key is written to PATH if it does not exist)"
        )
    if not secret and new_secret_file is not None:
        raise RotationError(
            "--new-secret-file is for a key in INTAKE_SECRET_KEY; "
            f"the key file {key_file_for(db_path)} gets a new key of its own"
        )
    if not Path(db_path).is_file():
        raise RotationError(f"there is no database at {db_path}")
    with InstanceLock(db_path):
        new_text = None if new_secret_file is None else _secret_from(new_secret_file)
        store = await Store.open(
            db_path, secret=secret, rotation_secret=new_text, seed_default_flow=False
        )
        try:
            return await _rotate(store, db_path, files_dir, secret, new_text, after_batch)
        finally:
            await store.close()


def _secret_from(path: Path) -> str:
    if not path.exists():
        write_private(path, new_secret())
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise RotationError(f"the new secret file {path} is empty")
    return text


async def _rotate(
    store: Store,
    db_path: str,
    files_dir: Path,
    secret: str | None,
    new_text: str | None,
    after_batch: Callable[[int], None] | None,
) -> Rotated:
    db = store.db
    cipher = db.cipher
    assert cipher is not None
    key = key_file_for(db_path)
    old_file = Path(db_path + ".key.old")
    new_file = Path(db_path + ".key.new")
    at = await progress.progress(db)
    resumed = at is not None
    if at is None:
        if not secret:
            # Left by a rotation that finished: the key check opened with <db>.key.
            with contextlib.suppress(FileNotFoundError):
                old_file.unlink()
            new_text = new_secret()
            write_private(new_file, new_text)
        assert new_text is not None
        new = Cipher(await key_of(db, new_text))
        if progress.opens(new, cipher.seal_text("ok")):
            raise RotationError("the new secret is the same as the one in use")
        at = await progress.begin(db, cipher, new)
        new.previous = cipher
        cipher = db.cipher = new
    if not secret:
        _swap_key_files(key, old_file, new_file)
    done = await progress.reseal(db, cipher, at, after_batch=after_batch)
    # Once more from the start, writing only what is still under the old key: nothing
    # is left behind, whatever a run before or the bot meanwhile did.
    done += await progress.reseal(db, cipher, progress.sweep(at))
    files = 0
    # Re-sealing needs no address key: no file is written under a new address.
    store_of_files = LocalFiles(files_dir, cipher, address_key=b"")
    for n, address in enumerate(list(store_of_files.addresses()), 1):
        files += await reseal_file(store_of_files, address, cipher)
        if after_batch is not None and n % _FILE_BATCH == 0:
            after_batch(done + n)
    await progress.finish(db, cipher)
    if not secret:
        with contextlib.suppress(FileNotFoundError):
            old_file.unlink()
        _sync_dir(key.parent)
    return Rotated(done, files, resumed)


def _swap_key_files(key: Path, old_file: Path, new_file: Path) -> None:
    """``<db>.key`` becomes the new key, the old one kept as ``<db>.key.old`` (each step
    atomic, and each skipped when a run before did it)."""
    if not new_file.exists():
        return  # done by a run before
    if not old_file.exists():
        if not key.exists():
            raise SecretKeyError(f"the key file {key} is missing")
        try:
            os.link(key, old_file)
        except OSError:  # a file system without hard links
            write_private(old_file, key.read_text(encoding="ascii").strip())
        _sync_dir(key.parent)
    os.replace(new_file, key)
    _sync_dir(key.parent)
