"""Backups of the SQLite store: one archive with the database, the file store and a manifest.

Why this way: copying the database file while the bot writes can catch half a transaction
(the file and its WAL change under the copy). SQLite's online backup API copies it page by
page inside one read transaction, from a connection of its own: the copy is the database as
one commit left it, and the bot (WAL mode: readers do not block the writer) goes on meanwhile.
The files are copied after the database, as they are on disk (still sealed): a file the
copy names was stored before its row was written, so it is there; one erased meanwhile may
be missing, as it should.

The archive (a tar file, gzip-compressed when its name ends in .gz or .tgz) holds
``intake.db``, ``files/ab/cdef…`` and, only when asked (``--with-key``), the key file
``intake.db.key``; then ``manifest.json``: the format, when it was made, the schema version,
counts (intakes, sent intakes, files) and the SHA-256 of every member. Without the key a
stolen backup holds only sealed values: keep the key apart from the backups.

Checking (``verify``) and restoring unpack into a private temporary folder and check
every member against the manifest, open the database read-only and run SQLite's integrity
check, and count again, before anything is written where the bot's data lives.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.store.db import migrations

FORMAT = 1
MANIFEST = "manifest.json"
DB = "intake.db"
KEY = "intake.db.key"
_FILE = re.compile(r"files/([0-9a-f]{2})/([0-9a-f]{62})")
_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """The backup cannot be made, checked or restored: said in one line."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    schema_version: int
    intakes: int
    sent: int
    files: int
    with_key: bool
    members: dict[str, str]  # name -> SHA-256 (hex)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "created_at": self.created_at,
                "schema_version": self.schema_version,
                "counts": {"intakes": self.intakes, "sent": self.sent, "files": self.files},
                "with_key": self.with_key,
                "members": self.members,
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise BackupError(f"the backup is in format {data.get('format')!r}, not {FORMAT}")
            counts = data["counts"]
            return cls(
                str(data["created_at"]),
                int(data["schema_version"]),
                int(counts["intakes"]),
                int(counts["sent"]),
                int(counts["files"]),
                bool(data["with_key"]),
                {str(k): str(v) for k, v in data["members"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise BackupError(f"the backup's manifest cannot be read: {err}") from None


# -- making one ---------------------------------------------------------------------------


def backup(db_path: str, files_dir: Path, out: Path, *, key_file: Path | None = None) -> Manifest:
    """Write a backup of the database at ``db_path`` and the files under ``files_dir`` to
    ``out`` (mode 0600, replaced atomically); with ``key_file``, the key too."""
    if not Path(db_path).is_file():
        raise BackupError(f"there is no database at {db_path}")
    if key_file is not None and not key_file.is_file():
        raise BackupError(f"there is no key file {key_file} to put in the backup")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as work:
        copy = Path(work) / DB
        _copy_database(db_path, copy)
        if _rotating(copy):
            raise BackupError(
                "a key rotation is under way: finish it (intake-bot keys rotate) first;"
                " a copy now would need both keys"
            )
        schema, intakes, sent = _facts(copy)
        tmp = out.with_name(f".{out.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        members: dict[str, str] = {}
        try:
            with os.fdopen(fd, "wb") as raw:
                mode = "w:gz" if out.name.endswith((".gz", ".tgz")) else "w"
                with tarfile.open(fileobj=raw, mode=mode) as tar:  # type: ignore[call-overload]
                    members[DB] = _add_file(tar, DB, copy)
                    files = 0
                    for path, name in _stored(files_dir):
                        try:
                            data = path.read_bytes()
                        except FileNotFoundError:  # erased since it was listed
                            continue
                        members[name] = _add(tar, name, data)
                        files += 1
                    if key_file is not None:
                        members[KEY] = _add(tar, KEY, key_file.read_bytes())
                    manifest = Manifest(
                        dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        schema,
                        intakes,
                        sent,
                        files,
                        key_file is not None,
                        members,
                    )
                    _add(tar, MANIFEST, manifest.to_json().encode())
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, out)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
    os.chmod(out, 0o600)
    return manifest


def _copy_database(db_path: str, copy: Path) -> None:
    """The database as one commit left it, by SQLite's online backup API, from a
    connection of its own (the bot's go on writing)."""
    os.close(os.open(copy, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    with (
        closing(sqlite3.connect(db_path, timeout=30)) as src,
        closing(sqlite3.connect(copy)) as dst,
    ):
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst)  # all pages in one step: one read transaction, one snapshot
        dst.execute("PRAGMA journal_mode = DELETE")  # one file, not a WAL beside it


def _rotating(db: Path) -> bool:
    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT 1 FROM settings WHERE key = 'key_rotation'").fetchone()
    return row is not None


def _facts(db: Path) -> tuple[int, int, int]:
    """(schema version, intakes, sent intakes) of a database file, opened read-only."""
    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        schema = int(conn.execute("PRAGMA user_version").fetchone()[0])
        intakes, sent = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(status <> 'draft'), 0) FROM intakes"
        ).fetchone()
    return schema, int(intakes), int(sent)


def _stored(files_dir: Path) -> list[tuple[Path, str]]:
    """Every stored file (``root/ab/cdef…``) and its name in the archive."""
    out = []
    if files_dir.is_dir():
        for folder in sorted(files_dir.iterdir()):
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    name = f"files/{folder.name}/{path.name}"
                    if _FILE.fullmatch(name) and path.is_file():
                        out.append((path, name))
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> str:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    tar.addfile(info, _Reader(data))
    return hashlib.sha256(data).hexdigest()


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> str:
    """A large member (the database) streamed from its file, not read into memory."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
        info = tarfile.TarInfo(name)
        info.size = fh.tell()
        info.mode = 0o600
        info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
        fh.seek(0)
        tar.addfile(info, fh)
    return digest.hexdigest()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._at + n
        out = bytes(self._data[self._at : end])
        self._at += len(out)
        return out


# -- checking and restoring ---------------------------------------------------------------


def verify(archive: Path) -> Manifest:
    """Check the backup ``archive`` whole (see the module's docstring) without writing
    anywhere but a private temporary folder; its manifest when it is sound."""
    with tempfile.TemporaryDirectory(prefix="intake-backup-") as work:
        return _unpack(archive, Path(work))


def _unpack(archive: Path, into: Path) -> Manifest:
    """Unpack ``archive`` into the folder ``into`` and check it against its manifest."""
    if not archive.is_file():
        raise BackupError(f"there is no backup at {archive}")
    found: dict[str, str] = {}
    manifest_text: str | None = None
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                name = member.name
                if not member.isfile() or not _allowed(name):
                    raise BackupError(f"the backup holds {name!r}, which no backup holds")
                if name in found or (name == MANIFEST and manifest_text is not None):
                    raise BackupError(f"the backup holds {name!r} twice")
                source = tar.extractfile(member)
                assert source is not None
                if name == MANIFEST:
                    manifest_text = source.read(1 << 24).decode("utf-8")
                    continue
                found[name] = _write(source, into / name)
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise BackupError(f"{archive} is not a readable backup: {err}") from None
    if manifest_text is None:
        raise BackupError("the backup has no manifest.json")
    manifest = Manifest.from_json(manifest_text)
    if set(found) != set(manifest.members):
        missing = sorted(set(manifest.members) - set(found))
        extra = sorted(set(found) - set(manifest.members))
        raise BackupError(
            f"the backup does not hold what its manifest lists: missing {missing[:3]},"
            f" not listed {extra[:3]}"
        )
    wrong = sorted(name for name, digest in found.items() if manifest.members[name] != digest)
    if wrong:
        raise BackupError(f"checksums do not match for {len(wrong)} member(s), e.g. {wrong[0]}")
    if DB not in found:
        raise BackupError("the backup holds no database")
    if (KEY in found) != manifest.with_key:
        raise BackupError("the manifest and the backup disagree on the key")
    _check_database(into / DB, manifest)
    return manifest


def _allowed(name: str) -> bool:
    return name in (MANIFEST, DB, KEY) or _FILE.fullmatch(name) is not None


def _write(source: IO[bytes], path: Path) -> str:
    """Copy ``source`` to ``path`` (mode 0600, folders 0700); its SHA-256."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _check_database(db: Path, manifest: Manifest) -> None:
    latest = migrations()[-1][0]
    try:
        with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise BackupError(f"the backup's database is damaged: {result}")
        schema, intakes, sent = _facts(db)
    except sqlite3.DatabaseError as err:
        raise BackupError(f"the backup's database cannot be read: {err}") from None
    if schema != manifest.schema_version:
        raise BackupError("the backup's database is not the schema its manifest names")
    if schema > latest:
        raise BackupError(
            f"the backup's schema is version {schema}, newer than this program knows"
            f" ({latest}): restore it with a newer intake-bot"
        )
    if (intakes, sent) != (manifest.intakes, manifest.sent):
        raise BackupError("the backup's database does not hold the intakes its manifest counts")
    if manifest.files != sum(1 for name in manifest.members if name.startswith("files/")):
        raise BackupError("the backup does not hold the files its manifest counts")


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    key: str  # what became of the key: "restored", "kept", "kept-different", "absent"


def occupied(db_path: str, files_dir: Path) -> list[str]:
    """What a restore would overwrite: the database (and its WAL), stored files."""
    found = [
        name
        for name in (db_path, db_path + "-wal")
        if Path(name).is_file() and Path(name).stat().st_size > 0
    ]
    if files_dir.is_dir() and any(files_dir.iterdir()):
        found.append(str(files_dir))
    return found


def restore(
    archive: Path, db_path: str, files_dir: Path, key_file: Path, *, force: bool = False
) -> Restored:
    """Put the backup ``archive`` in place of the database at ``db_path`` and the files
    under ``files_dir``. Refused when there is data there, unless ``force``; nothing is
    written there before the whole backup is checked. The key in the backup (if any) is
    written to ``key_file`` only when there is none; see ``Restored.key``. The caller
    holds the bot's run lock (bot/instance.py)."""
    there = occupied(db_path, files_dir)
    if there and not force:
        raise BackupError(
            f"{there[0]} exists: a restore would overwrite it; stop the bot and add --force"
            " to replace it with the backup"
        )
    target = Path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".restore-"))
    try:
        manifest = _unpack(archive, staging)
        for name in (db_path, db_path + "-wal", db_path + "-shm", db_path + "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        os.replace(staging / DB, target)
        os.chmod(target, 0o600)
        if files_dir.exists():
            shutil.rmtree(files_dir)
        files_dir.parent.mkdir(parents=True, exist_ok=True)
        unpacked = staging / "files"
        if unpacked.is_dir():
            shutil.move(str(unpacked), str(files_dir))
        else:
            files_dir.mkdir(mode=0o700)
        os.chmod(files_dir, 0o700)
        key = "absent"
        if manifest.with_key:
            packed = (staging / KEY).read_bytes()
            if not key_file.exists():
                _private_copy(packed, key_file)
                key = "restored"
            else:
                key = "kept" if key_file.read_bytes() == packed else "kept-different"
        elif key_file.exists():
            key = "kept"
        _sync(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Restored(manifest, key)


def _private_copy(data: bytes, path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _sync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
