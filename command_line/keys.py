"""``intake-bot keys rotate``: a new encryption key for personal data (bot/rotation.py)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.config import Settings
from bot.crypto import key_file_for
from bot.rotation import RotationError, rotate
from command_line.cli import CliError


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    new_file = Path(args.new_secret_file) if args.new_secret_file else None
    try:
        done = asyncio.run(
            rotate(
                settings.db_path,
                settings.files_dir,
                secret=settings.secret_key,
                new_secret_file=new_file,
            )
        )
    except RotationError as err:
        raise CliError(str(err)) from None
    if done.resumed:
        print("finished the rotation that was interrupted")
    print(f"sealed again with the new key: {done.values} values, {done.files} files")
    if new_file is None:
        print(f"the new key is in {key_file_for(settings.db_path)}: back it up now")
        print("(backups made before this hold data sealed with the old key, in their own key)")
    else:
        print(f"now set INTAKE_SECRET_KEY to the secret in {new_file} before starting the bot;")
        print("the old secret opens nothing any more. Keep the new one safe, then delete the file.")
    return 0
