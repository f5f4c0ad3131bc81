"""Where the file store is, for the maintenance commands (backup, restore, keys)."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings


def files_dir_of(settings: Settings) -> Path:
    """INTAKE_FILES, else the folder ``<db>.files`` beside the database (bot/files.py).

    ``Settings.files_dir`` comes with the file store's settings (branch i24-files); until
    they are merged, the default folder."""
    folder = getattr(settings, "files_dir", None)
    return Path(folder) if folder else Path(settings.db_path + ".files")
