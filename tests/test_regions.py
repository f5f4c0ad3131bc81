"""Regions: codes, the regions a role covers, and a database of the previous version."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.flow.loader import default_flow_source
from bot.regions import EVERYWHERE, NOWHERE, Scope, codes, is_code
from bot.store import Store
from bot.store.db import migrations
from tests.backends import open_store


def test_a_prefix_covers_the_counties_under_it_and_no_other() -> None:
    xinjiang_hotan = Scope(frozenset({"6532"}))
    assert xinjiang_hotan.covers("653222")
    assert xinjiang_hotan.covers("6532")
    assert not xinjiang_hotan.covers("653101")
    assert not xinjiang_hotan.covers(None)
    assert EVERYWHERE.covers("110101") and EVERYWHERE.covers(None)
    assert not NOWHERE.covers("653222")


def test_codes_are_two_four_or_six_digits() -> None:
    assert [c for c in ("65", "6532", "653222") if is_code(c)] == ["65", "6532", "653222"]
    assert not any(is_code(c) for c in ("6", "653", "65322", "6532221", "65a2", "６５", ""))
    with pytest.raises(ValueError, match="653"):
        codes(["653222", "653"])


async def test_a_role_keeps_the_regions_it_was_granted(tmp_path: Path, db_url: str) -> None:
    store = await open_store(db_url, tmp_path)
    try:
        await store.roles.grant(7001, "caseworker", regions=["653222"])
        await store.roles.grant(7002, "caseworker")
        await store.roles.grant(7003, "supervisor", regions=["6532", "6531"])
        assert await store.roles.scope(7001, "caseworker") == Scope(frozenset({"653222"}))
        assert await store.roles.scope(7002, "caseworker") == EVERYWHERE
        assert await store.roles.scope(7001, "supervisor") == NOWHERE
        assert await store.roles.members("caseworker", "653222") == [7001, 7002]
        assert await store.roles.members("caseworker", "653101") == [7002]
        assert await store.roles.members("supervisor", "653101") == [7003]
        # Granting again without regions keeps them; with regions, replaces them.
        await store.roles.grant(7001, "caseworker", label="李")
        assert await store.roles.scope(7001, "caseworker") == Scope(frozenset({"653222"}))
        await store.roles.grant(7001, "caseworker", regions=["653101"])
        assert await store.roles.scope(7001, "caseworker") == Scope(frozenset({"653101"}))
        await store.roles.revoke(7001, "caseworker")
        assert await store.roles.scope(7001, "caseworker") == NOWHERE
        await store.roles.grant(7001, "caseworker")
        assert await store.roles.scope(7001, "caseworker") == EVERYWHERE  # nothing left over
        with pytest.raises(ValueError):
            await store.roles.grant(7004, "caseworker", regions=["65322"])
        assert await store.roles.scope(7004, "caseworker") == NOWHERE
    finally:
        await store.close()


async def test_a_database_of_the_previous_version_keeps_its_roles_and_puts_intakes_in_the_default_region(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    # The schema before regions (migrations 1 to 8), with a role and a sent intake, as a
    # running deployment has them.
    at = "2026-01-01T00:00:00Z"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for number, name, sql in [m for m in migrations() if m[0] <= 8]:
            conn.executescript(
                f"BEGIN;\n{sql}\nINSERT INTO schema_migrations VALUES ({number}, '{name}', '{at}');"
                f"\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        conn.execute(
            "INSERT INTO flows (flow_id, version, source, published_at, is_current, current_seq)"
            " VALUES ('judicial-assistance', 1, ?, ?, 1, 1)",
            (default_flow_source(), at),
        )
        conn.execute("INSERT INTO roles VALUES (7001, 'caseworker', '李', NULL, ?)", (at,))
        conn.execute(
            "INSERT INTO intakes (flow_id, flow_version, applicant_id, chat_id, lang, status,"
            " state, last_update_id, created_at, updated_at, submitted_at, ref)"
            " VALUES ('judicial-assistance', 1, 1, 1, 'zh', 'submitted', '{}', 1, ?, ?, ?,"
            " 'ACD-EFG')",
            (at, at, at),
        )
    store = await Store.open(path, default_region="653222")
    try:
        assert await store.roles.has(7001, "caseworker")
        assert await store.roles.scope(7001, "caseworker") == EVERYWHERE
        row = await store.db.fetchone("SELECT region FROM intakes WHERE ref = 'ACD-EFG'")
        assert row is not None and row["region"] == "653222"
        # The old caseworker goes on working as before: the intake is in their queue, and
        # /stats counts it. A caseworker granted its county now sees it; another county's
        # does not.
        from bot.casework import Casework
        from bot.config import Settings
        from bot.i18n import I18n
        from bot.messages import HTML
        from bot.stats import figures

        settings = Settings(token="1:x", db_path=str(path), default_region="653222")
        work = Casework(store, I18n.load(), settings, fmt=HTML)
        await store.roles.grant(7002, "caseworker", regions=["653222"])
        await store.roles.grant(7003, "caseworker", regions=["653226"])
        for uid, sees in ((7001, True), (7002, True), (7003, False)):
            cases, total = await work.decisions.queue(uid, 0, 10)
            assert ([c.ref for c in cases], total) == ((["ACD-EFG"], 1) if sees else ([], 0))
            assert (await work.decisions.find(uid, "ACD-EFG") is not None) is sees
        assert (await figures(store, await store.roles.scope(7001, "caseworker"))).sent == 1
        assert (await figures(store, await store.roles.scope(7003, "caseworker"))).sent == 0
    finally:
        await store.close()


def test_the_default_region_must_be_a_division_code() -> None:
    assert load_settings({"INTAKE_DEFAULT_REGION": "653222"}).default_region == "653222"
    assert load_settings({}).default_region == ""
    with pytest.raises(ConfigError, match="INTAKE_DEFAULT_REGION"):
        load_settings({"INTAKE_DEFAULT_REGION": "和田县"})


def test_an_intake_is_due_a_first_reply_in_7_days_then_a_result_in_90() -> None:
    import datetime as dt

    from bot.casework.deadlines import Deadline, due

    sent = "2026-01-01T09:00:00Z"
    at = dt.datetime(2026, 1, 7, 9, 0, tzinfo=dt.UTC)
    first = due("submitted", sent, at, first_reply_days=7, decision_days=90)
    assert first is not None and first.deadline is Deadline.FIRST_REPLY
    assert first.soon and not first.overdue and first.days_left(at) == 1
    later = due("submitted", sent, at + dt.timedelta(days=1), first_reply_days=7, decision_days=90)
    assert later is not None and later.overdue and not later.soon
    taken_up = due(
        "in_review", sent, at + dt.timedelta(days=1), first_reply_days=7, decision_days=90
    )
    assert taken_up is not None and taken_up.deadline is Deadline.DECISION
    assert not taken_up.overdue and not taken_up.soon
    assert due("approved", sent, at, first_reply_days=7, decision_days=90) is None


def test_roles_are_granted_by_region_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from command_line.cli import main as cli_main

    monkeypatch.setenv("INTAKE_DB", str(tmp_path / "cli.db"))
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.delenv("INTAKE_ADMIN_IDS", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("roles", "grant", "7001", "caseworker", "--region", "653222")
    assert code == 0 and "7001: caseworker granted (regions 653222)" in out
    code, out, _ = run(
        "roles", "grant", "7002", "caseworker", "--region", "653226", "--region", "6531"
    )
    assert code == 0 and "(regions 6531, 653226)" in out
    code, out, _ = run("roles", "grant", "7003", "caseworker")
    assert code == 0 and "7003: caseworker granted (all regions)" in out

    lines = [line.split() for line in run("roles", "list")[1].splitlines()]
    assert ["7001", "caseworker", "regions", "653222"] in lines
    assert ["7002", "caseworker", "regions", "6531,653226"] in lines
    assert ["7003", "caseworker"] in lines  # as every role was listed before regions

    # Granting again without --region keeps the regions; --all-regions widens them.
    code, out, _ = run("roles", "grant", "7001", "caseworker", "--label", "李")
    assert code == 0 and "already held; updated (regions 653222)" in out
    code, out, _ = run("roles", "grant", "7001", "caseworker", "--all-regions")
    assert code == 0 and "(all regions)" in out
    assert ["7001", "caseworker", "李"] in [
        line.split() for line in run("roles", "list")[1].splitlines()
    ]

    # A code that is not one is refused with what a code looks like; nothing changes.
    for bad in ("65322", "和田县", "6532221"):
        code, out, err = run("roles", "grant", "7004", "caseworker", "--region", bad)
        assert code == 1 and "is not a division code" in err and "653222" in err, err
    code, _, err = run("roles", "grant", "7004", "caseworker", "--region", "65", "--all-regions")
    assert code == 1 and "not both" in err
    code, _, err = run("roles", "grant", "7004", "admin", "--region", "65")
    assert code == 1 and "every region" in err
    assert "7004" not in run("roles", "list")[1]

    code, out, _ = run("stats", "--region", "653222")
    assert code == 0 and out.startswith("Statistics")
    code, _, err = run("stats", "--region", "6532x")
    assert code == 1 and "is not a division code" in err


async def test_an_intake_takes_the_region_of_its_flows_region_step_else_the_default(
    tmp_path: Path, db_url: str
) -> None:
    from bot.flow.engine import Screening, State

    source = (Path(__file__).parent / "flows" / "regions_flow.yaml").read_text(encoding="utf-8")
    store = await open_store(db_url, tmp_path, default_region="6532")
    try:

        async def sent(applicant: int, answers: dict[str, object]) -> str | None:
            flow = await store.flows.active()
            state = State(answers=dict(answers), path=list(answers))
            draft = await store.intakes.create_draft(
                applicant_id=applicant,
                chat_id=applicant,
                lang="zh",
                flow=flow,
                state=state,
                update_id=1,
            )
            assert draft is not None
            ref = await store.intakes.submit(draft, state, Screening((), (), 0, ()), 2)
            row = await store.db.fetchone("SELECT region FROM intakes WHERE ref = ?", (ref,))
            assert row is not None
            return row["region"]

        # The built-in flow asks no region question: the default region.
        assert await sent(1, {"name": "王"}) == "6532"
        await store.flows.publish(source)
        assert await sent(2, {"name": "阿依", "county": "653226"}) == "653226"
        # Skipped, or a value its step does not offer: the default region again.
        assert await sent(3, {"name": "买买提", "county": None}) == "6532"
        assert await sent(4, {"name": "古丽", "county": "110101"}) == "6532"
        store.intakes.default_region = ""
        assert await sent(5, {"name": "艾力"}) is None
    finally:
        await store.close()


async def test_a_partners_clue_goes_to_the_county_of_the_partner(
    tmp_path: Path, db_url: str
) -> None:
    from bot.casework import Casework
    from bot.config import Settings
    from bot.i18n import I18n
    from bot.messages import HTML

    settings = Settings(token="1:x", db_path=db_url, default_region="6532")
    store = await open_store(settings.db_path, tmp_path, default_region=settings.default_region)
    try:
        work = Casework(store, I18n.load(), settings, fmt=HTML)
        await store.roles.grant(7001, "caseworker", regions=["653222"])
        await store.roles.grant(7002, "caseworker", regions=["653226"])
        await store.roles.grant(8002, "partner", regions=["653226"])
        await store.roles.grant(8009, "partner")  # every region: the default one
        clue = {"who": "Li Si", "where": "Keriya", "what": "hurt"}
        keriya = await work.send_clue(8002, clue)
        anywhere = await work.send_clue(8009, clue)
        rows = await store.db.fetchall("SELECT ref, region FROM intakes ORDER BY id")
        assert [(r["ref"], r["region"]) for r in rows] == [(keriya, "653226"), (anywhere, "6532")]
        assert await work.decisions.find(7002, keriya) is not None
        assert await work.decisions.find(7001, keriya) is None
        # Its alert went to the county's caseworker only (no group is configured here).
        alerted = await store.db.fetchall("SELECT chat_id, kind FROM outbox ORDER BY id")
        assert [(r["chat_id"], r["kind"]) for r in alerted] == [(7002, "new_clue")]
    finally:
        await store.close()
