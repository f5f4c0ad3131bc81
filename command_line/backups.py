"""``intake-bot backup`` and ``intake-bot restore`` (bot/store/backup.py)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.config import Settings
from bot.crypto import SecretKeyError, key_file_for
from bot.instance import InstanceLock
from bot.store import Store
from bot.store.backup import BackupError, Manifest, backup, restore, verify
from command_line.cli import CliError


def _many(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _counts(m: Manifest) -> str:
    key = "with the key" if m.with_key else "without the key"
    return (
        f"{_many(m.intakes, 'intake', 'intakes')} ({m.sent} sent),"
        f" {_many(m.files, 'file', 'files')}, schema {m.schema_version}, {key}, made {m.created_at}"
    )


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.verify:
            manifest = verify(Path(args.verify))
            print(f"{args.verify}: ok: {_counts(manifest)}")
            matching = _many(len(manifest.members), "file matches its", "files match their")
            print(f"{matching} checksum; the database is sound")
            return 0
        key_file = None
        if args.with_key:
            if settings.secret_key:
                raise CliError(
                    "the key is INTAKE_SECRET_KEY, not a file: it cannot go in the backup;"
                    " keep it apart, where you keep the secret"
                )
            key_file = key_file_for(settings.db_path)
        manifest = backup(settings.db_path, settings.files_dir, Path(args.out), key_file=key_file)
    except BackupError as err:
        raise CliError(str(err)) from None
    print(f"backup written to {args.out}: {_counts(manifest)}")
    if not manifest.with_key:
        where = (
            "INTAKE_SECRET_KEY"
            if settings.secret_key
            else f"the key file {key_file_for(settings.db_path)}"
        )
        print(f"the key is not in it: without {where} the backup cannot be read; keep it apart")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    key_file = key_file_for(settings.db_path)
    try:
        with InstanceLock(settings.db_path):
            done = restore(
                Path(args.file),
                settings.db_path,
                settings.files_dir,
                key_file,
                force=args.force,
            )
    except BackupError as err:
        raise CliError(str(err)) from None
    print(f"restored {settings.db_path} from {args.file}: {_counts(done.manifest)}")
    if done.key == "restored":
        print(f"the key from the backup is in {key_file}")
    elif done.key == "kept-different":
        print(f"{key_file} is kept as it was: it differs from the key in the backup")
    elif settings.secret_key:
        pass
    elif done.key == "absent":
        print(
            f"the backup holds no key: put the key file back at {key_file} from where you keep"
            " it, or set INTAKE_SECRET_KEY to that key, before starting the bot"
        )
        return 0
    problem = asyncio.run(_opens(settings))
    if problem:
        print(f"warning: the key does not open the restored data: {problem}")
        print("put the key the backup was made with in place before starting the bot")
    else:
        print("the key opens the restored data")
    return 0


async def _opens(settings: Settings) -> str | None:
    """None when the key in place opens the restored database, else why not."""
    try:
        store = await Store.open(
            settings.db_path, secret=settings.secret_key, seed_default_flow=False
        )
    except SecretKeyError as err:
        return str(err)
    await store.close()
    return None
