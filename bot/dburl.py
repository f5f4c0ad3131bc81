"""What ``INTAKE_DB`` names: a SQLite file (a path, or ``sqlite:///path``), the default,
or a PostgreSQL database (``postgresql://user@host/db``). Kept apart from bot/store so that
the settings can read it without opening the storage package."""

from __future__ import annotations

from importlib.util import find_spec

_POSTGRES = ("postgresql://", "postgres://")
_SQLITE = "sqlite:///"


def is_postgres(url: str) -> bool:
    return url.startswith(_POSTGRES)


def sqlite_path(url: str) -> str:
    """The file of a SQLite URL (``sqlite:///data/intake.db`` is data/intake.db, and
    ``sqlite:////srv/intake.db`` /srv/intake.db), or the path given as it is."""
    return url[len(_SQLITE) :] if url.startswith(_SQLITE) else url


def postgres_driver_missing() -> str | None:
    """What to install to use PostgreSQL, when its driver (an optional extra) is not
    installed; None when it is. Said at start, before anything opens, rather than as an
    ImportError's traceback from deep in the storage package."""
    if find_spec("psycopg") is not None and find_spec("psycopg_pool") is not None:
        return None
    return (
        "PostgreSQL needs its driver, the postgres extra: pip install 'intake-bot[postgres]'"
        " (from a checkout: pip install '.[postgres]')"
    )
