"""``intake-bot db copy``: a SQLite deployment moved to PostgreSQL, end to end, through the
command line; then opened there with the same key, as the bot would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from bot.crypto import key_file_for
from bot.flow.engine import State
from bot.store import Store
from command_line.cli import main
from tests.backends import fresh_postgres, open_store
from tests.helpers import sent_intake

ANSWERS = {"consent": True, "name": "张三", "household": 4, "earners": 0, "needs": ["money"]}


async def _deployment(path: Path) -> dict[str, object]:
    """A SQLite deployment with something in most tables: what the copy must carry."""
    store = await Store.open(path)
    try:
        await store.roles.grant(2, "caseworker", label="王芳")
        await store.users.saw(7, "zh")
        one, ref = await sent_intake(store, ANSWERS, applicant=7)
        _, other = await sent_intake(store, {"consent": True, "name": "李四"}, applicant=8)
        draft = await store.intakes.create_draft(
            applicant_id=9,
            chat_id=9,
            lang="ug",
            flow=await store.flows.active(),
            state=State(answers={"name": "阿依古丽"}, current="household", path=["name"]),
            update_id=5,
        )
        assert draft is not None
        versions = await store.flows.versions()
        return {
            "one": one,
            "ref": ref,
            "other": other,
            "draft": draft.id,
            "rowid": versions[0].rowid,
        }
    finally:
        await store.close()


async def _counts(url: str) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        out = {}
        for (table,) in await cur.fetchall():
            c = await conn.execute(f'SELECT COUNT(*) FROM "{table}"')
            row = await c.fetchone()
            assert row is not None
            out[table] = int(row[0])
        return out


def test_a_deployment_moves_to_postgresql_and_opens_there_with_the_same_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.delenv("INTAKE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "intake.db"
    made = asyncio.run(_deployment(path))
    key = key_file_for(str(path)).read_text(encoding="ascii").strip()

    async def scenario() -> None:
        async with fresh_postgres() as url:
            code = await asyncio.to_thread(main, ["db", "copy", "--from", str(path), "--to", url])
            out, err = capsys.readouterr()
            assert code == 0, err
            counts = await _counts(url)
            # Each table's count is printed, and is what the target holds.
            for table in ("intakes", "audit", "flows", "settings", "roles", "lookup"):
                assert f"{table} " in out
                assert any(
                    line.split() == [table, str(counts[table])] for line in out.splitlines()
                ), (table, out)
            assert counts["intakes"] == 3 and counts["lookup"] > 0
            assert "every count matches" in out

            # The bot opens it with the same key: the sealed answers read as they were.
            store = await open_store(url, tmp_path, secret=key)
            try:
                sent = await store.intakes.by_ref(str(made["ref"]))
                assert sent is not None and sent.id == made["one"]
                assert sent.state.answers["name"] == "张三"
                view = await store.intakes.load_for_applicant(9)
                assert view.draft is not None and view.draft.state.answers["name"] == "阿依古丽"
                assert (await store.flows.by_rowid(int(made["rowid"]))) is not None
                # New rows take ids after the copied ones.
                _, ref = await sent_intake(store, {"consent": True}, applicant=10)
                new = await store.intakes.by_ref(ref)
                assert new is not None and new.id > max(int(made["one"]), int(made["draft"]))
            finally:
                await store.close()

            # A second copy into it is refused, and leaves it as it is.
            before = await _counts(url)
            code = await asyncio.to_thread(main, ["db", "copy", "--from", str(path), "--to", url])
            out, err = capsys.readouterr()
            assert code == 1 and "not empty" in err
            assert await _counts(url) == before

    asyncio.run(scenario())


def test_the_target_must_be_a_postgresql_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    code = main(["db", "copy", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "b.db")])
    assert code == 1
    assert "PostgreSQL URL" in capsys.readouterr().err
