"""The file store: attachments and voice notes kept on our side, sealed, by content address.

Why: a Telegram ``file_id`` is only a loan. If the bot's token changes or Telegram drops the
file, the evidence is gone, and it can never be archived with the case (PIPL Art. 36). So
every photo, document and voice note is downloaded when it arrives and kept here.

The interface (``FileStore``) is small so that an object store (S3-compatible, e.g. MinIO
in the country) can implement it later; ``LocalFiles`` keeps files in a folder beside the
database (``INTAKE_FILES``, default ``<db>.files``).

Addresses: the hex HMAC-SHA256 of the PLAINTEXT under an *address key*. Equal files get one
address (stored once), and the address reveals nothing about the content to someone who
does not hold the key (a plain SHA-256 would let anyone check "is this ruling in there?").
The address key is a random value kept sealed in the database's settings
(``bot/store/files.py``), not derived from the data key: rotating the data key re-seals the
files in place and moves none of them.

On disk: ``root/ab/cdef…`` (the first two hex digits name a folder), each file sealed with
``Cipher.seal_bytes`` (AES-256-GCM, a random nonce), files 0600 and folders 0700, written to
a temporary file and renamed so that a crash never leaves half a file under an address.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from bot.crypto import Cipher

ADDRESS = re.compile(r"[0-9a-f]{64}")
_TMP = ".tmp-"


class FileMissing(LookupError):
    """No file is stored under this address (never stored, or erased)."""


class FileStore(Protocol):
    """Where attachments are kept. Every method may be called from the event loop."""

    async def put(self, data: bytes) -> str:
        """Keep ``data``; return its content address (the same for the same bytes)."""
        ...

    async def get(self, address: str) -> bytes:
        """The bytes kept under ``address``; ``FileMissing`` if there are none."""
        ...

    async def delete(self, address: str) -> None:
        """Erase the file under ``address``; nothing happens if there is none."""
        ...

    def addresses(self) -> Iterator[str]:
        """Every address stored (for backups, key rotation and checks)."""
        ...


def address_of(address_key: bytes, data: bytes) -> str:
    return hmac.new(address_key, data, hashlib.sha256).hexdigest()


def _check(address: str) -> str:
    if not ADDRESS.fullmatch(address):
        raise ValueError("not a file address")
    return address


class LocalFiles:
    """Files in a folder: ``root/ab/cdef…``, each sealed with ``cipher``.

    ``address_key`` keys the content addresses (see the module's docstring); without one,
    a key derived from nothing secret would reveal content hashes, so it is required
    wherever files are written for real (``bot/store/files.py`` keeps it in the database).
    """

    def __init__(self, root: Path, cipher: Cipher, address_key: bytes) -> None:
        self.root = Path(root)
        self.cipher = cipher
        self._address_key = address_key

    # -- paths -------------------------------------------------------------------------------

    def path_of(self, address: str) -> Path:
        """Where the sealed file for ``address`` lives (it may not exist)."""
        _check(address)
        return self.root / address[:2] / address[2:]

    def address_of(self, data: bytes) -> str:
        return address_of(self._address_key, data)

    # -- the interface -----------------------------------------------------------------------

    async def put(self, data: bytes) -> str:
        address = self.address_of(data)
        path = self.path_of(address)
        if path.exists():  # the same bytes are already kept: stored once
            return address
        sealed = self.cipher.seal_bytes(data)
        await asyncio.to_thread(self._write, path, sealed)
        return address

    async def get(self, address: str) -> bytes:
        return self.cipher.open_bytes(await self.read_sealed(address))

    async def delete(self, address: str) -> None:
        path = self.path_of(address)
        await asyncio.to_thread(self._unlink, path)

    def addresses(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for entry in sorted(folder.iterdir()):
                address = folder.name + entry.name
                if ADDRESS.fullmatch(address) and entry.is_file():
                    yield address

    # -- for backups and key rotation (bytes as stored, still sealed) -----------------------

    async def read_sealed(self, address: str) -> bytes:
        path = self.path_of(address)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise FileMissing(address) from None

    async def write_sealed(self, address: str, sealed: bytes) -> None:
        """Replace the sealed bytes under ``address`` atomically (key rotation, restore)."""
        await asyncio.to_thread(self._write, self.path_of(address), sealed)

    async def reseal(self, address: str, new: Cipher) -> None:
        """Open the file with this store's cipher and seal it again with ``new``, in place."""
        data = self.cipher.open_bytes(await self.read_sealed(address))
        await self.write_sealed(address, new.seal_bytes(data))

    # -- disk --------------------------------------------------------------------------------

    def _folder(self, path: Path) -> None:
        for folder in (self.root, path.parent):
            if not folder.is_dir():
                with contextlib.suppress(FileExistsError):
                    os.makedirs(folder, mode=0o700)
                os.chmod(folder, 0o700)

    def _write(self, path: Path, sealed: bytes) -> None:
        self._folder(path)
        tmp = path.parent / (_TMP + os.urandom(8).hex())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(sealed)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _sync_dir(path.parent)

    def _unlink(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            _sync_dir(path.parent)
        with contextlib.suppress(OSError):  # only when empty
            path.parent.rmdir()


def _sync_dir(folder: Path) -> None:
    """The rename (or unlink) itself reaches the disk, not only the file's bytes."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
