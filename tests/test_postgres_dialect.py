"""What differs between SQLite and PostgreSQL, kept in one place (bot/store/sqlpg.py,
bot/store/migrations_pg), and the settings that choose PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest

from bot.config import ConfigError, load_settings
from bot.instance import AlreadyRunning
from bot.redact import secrets_of
from bot.store.db import migrations
from bot.store.pg import pg_migrations
from bot.store.sqlpg import translate
from command_line.cli import main
from tests.backends import fresh_postgres, open_store

IDS = frozenset({("intakes", "id"), ("flows", "rowid")})


def test_parameters_and_percent_signs_take_psycopgs_form_outside_quotes() -> None:
    sql = "SELECT strftime('%Y-%m', at) AS m, 'a?b' AS q FROM t WHERE x = ? AND y LIKE ?"
    assert translate(sql) == (
        "SELECT strftime('%%Y-%%m', at) AS m, 'a?b' AS q FROM t WHERE x = %s AND y LIKE %s"
    )


def test_an_insert_returns_the_generated_key_as_sqlites_row_id() -> None:
    assert translate("INSERT INTO intakes (a) VALUES (?)", IDS) == (
        "INSERT INTO intakes (a) VALUES (%s) RETURNING id"
    )
    assert translate("INSERT INTO flows (a) VALUES (?)", IDS).endswith(" RETURNING rowid")
    # a table without one, and an INSERT that returns something itself, are left alone
    assert translate("INSERT INTO settings (k) VALUES (?)", IDS) == (
        "INSERT INTO settings (k) VALUES (%s)"
    )
    kept = "INSERT INTO intakes (a) VALUES (?) RETURNING a"
    assert translate(kept, IDS) == "INSERT INTO intakes (a) VALUES (%s) RETURNING a"


def test_insert_or_ignore_does_nothing_on_a_conflict() -> None:
    assert translate("INSERT OR IGNORE INTO digests (a) VALUES (?)") == (
        "INSERT INTO digests (a) VALUES (%s) ON CONFLICT DO NOTHING"
    )


def test_each_sqlite_migration_has_its_postgresql_one() -> None:
    assert [(n, name) for n, name, _ in pg_migrations()] == [
        (n, name) for n, name, _ in migrations()
    ]


async def test_sqlites_functions_answer_alike_on_postgresql(db_url: str, tmp_path: Path) -> None:
    """The SQLite functions the store calls give the same answers on both databases."""
    store = await open_store(db_url, tmp_path)
    try:
        row = await store.db.fetchone(
            "SELECT julianday('2026-03-02T12:00:00Z') - julianday('2026-03-01T00:00:00Z') AS d,"
            " strftime('%Y-%m', '2026-03-02T12:00:00Z') AS month,"
            " date('2026-03-04T09:00:00Z', 'weekday 0', '-6 days') AS monday,"
            " date('2026-03-08T09:00:00Z', 'weekday 0', '-6 days') AS sunday_s,"
            ' json_extract(\'{"update": 12, "a": {"b": "x"}}\', \'$.a.b\') AS b,'
            " MAX(3, ?) AS bigger",
            (5,),
        )
        assert row is not None
        assert row["d"] == pytest.approx(1.5)
        assert (row["month"], row["monday"], row["sunday_s"]) == (
            "2026-03",
            "2026-03-02",
            "2026-03-02",
        )
        assert (row["b"], row["bigger"]) == ("x", 5)
        rows = await store.db.fetchall(
            "SELECT j.value AS value FROM json_each(?, '$.needs') j ORDER BY j.value",
            ('{"needs": ["money", "school"], "one": "x"}',),
        )
        assert [r["value"] for r in rows] == ["money", "school"]
        joined = await store.db.fetchone(
            "SELECT group_concat(v, ',') AS j FROM"
            " (SELECT 'a' AS v UNION ALL SELECT 'b' UNION ALL SELECT 'c') t"
        )
        assert joined is not None and sorted(joined["j"].split(",")) == ["a", "b", "c"]
        one = await store.db.fetchall(
            "SELECT j.value AS value FROM json_each(?, '$.one') j", ('{"one": "x"}',)
        )
        assert [r["value"] for r in one] == ["x"]
    finally:
        await store.close()


def test_intake_db_names_sqlite_or_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"INTAKE_DB": "sqlite:///data/intake.db"}
    assert load_settings(env).db_path == "data/intake.db"
    url = "postgresql://bot:s3cret-pw@db.example/intake"
    with pytest.raises(ConfigError, match="INTAKE_SECRET_KEY and INTAKE_FILES"):
        load_settings({"INTAKE_DB": url})
    settings = load_settings(
        {"INTAKE_DB": url, "INTAKE_SECRET_KEY": "k" * 43 + "=", "INTAKE_FILES": str(tmp_path)}
    )
    assert settings.db_path == url
    assert "s3cret-pw" in secrets_of(settings, env={})  # kept out of the log


def test_backups_and_key_rotation_say_they_are_for_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.setenv("INTAKE_DB", "postgresql://bot@127.0.0.1:5432/intake")
    monkeypatch.setenv("INTAKE_SECRET_KEY", "k" * 43 + "=")
    monkeypatch.setenv("INTAKE_FILES", str(tmp_path / "files"))
    for argv in (["backup", "--out", "b.tar"], ["restore", "b.tar"], ["keys", "rotate"]):
        assert main(argv) == 1
        assert "SQLite database only" in capsys.readouterr().err
    assert not (tmp_path / "b.tar").exists()


async def test_without_a_postgresql_server_the_storage_tests_fail_not_skip() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(pytest.fail.Exception, match="no PostgreSQL answers"):
        async with fresh_postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres"):
            pass


async def test_one_running_bot_per_postgresql_database(tmp_path: Path) -> None:
    async with fresh_postgres() as url:
        first = await open_store(url, tmp_path)
        second = await open_store(url, tmp_path)
        try:
            await first.db.hold_run_lock()  # type: ignore[attr-defined]
            with pytest.raises(AlreadyRunning, match="already running"):
                await second.db.hold_run_lock()  # type: ignore[attr-defined]
            await first.close()  # a bot that stops (or dies) lets the next one run
            await second.db.hold_run_lock()  # type: ignore[attr-defined]
        finally:
            await first.close()
            await second.close()


async def test_commits_are_durable_even_where_the_server_says_otherwise(tmp_path: Path) -> None:
    async with fresh_postgres() as url:
        name = url.rsplit("/", 1)[1]
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        store = await open_store(url, tmp_path)
        try:
            for _ in range(3):  # whichever connection of the pool answers
                row = await store.db.fetchone("SHOW synchronous_commit")
                assert row is not None and row[0] == "on"
            async with store.db.write() as tx:
                row = await tx.fetchone("SHOW synchronous_commit")
                assert row is not None and row[0] == "on"
        finally:
            await store.close()


def test_without_the_driver_postgresql_is_refused_in_one_line_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pip install .` alone has no PostgreSQL driver (it is the postgres extra): the bot
    and `db copy` say what to install instead of an ImportError's traceback."""
    import bot.dburl

    real = bot.dburl.find_spec
    monkeypatch.setattr(
        bot.dburl, "find_spec", lambda name: None if name.startswith("psycopg") else real(name)
    )
    url = "postgresql://bot@db.example/intake"
    env = {"INTAKE_DB": url, "INTAKE_SECRET_KEY": "k" * 44, "INTAKE_FILES": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"pip install 'intake-bot\[postgres\]'"):
        load_settings(env)
    monkeypatch.chdir(tmp_path)
    for name in ("INTAKE_DB", "INTAKE_CONFIG", "INTAKE_SECRET_KEY", "INTAKE_FILES"):
        monkeypatch.delenv(name, raising=False)
    assert main(["db", "copy", "--from", str(tmp_path / "intake.db"), "--to", url]) == 1
    err = capsys.readouterr().err
    assert "pip install 'intake-bot[postgres]'" in err and "Traceback" not in err
