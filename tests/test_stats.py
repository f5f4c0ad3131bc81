"""The figures behind /stats and ``intake-bot stats``, on a real store, without Telegram.

Intakes are made the way the bot makes them (the store's draft and submit, the Casework
service's claim, approve and decline); times are set by making the bot's clock say so.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from bot import stats
from bot.casework import Casework
from bot.config import Settings
from bot.flow.engine import State
from bot.i18n import I18n
from bot.messages import HTML, PLAIN
from bot.store import Store
from bot.store import db as store_db
from bot.store.outbox import OutMessage
from tests.backends import open_store
from tests.helpers import sent_intake

CW = 2
UTC = dt.UTC


@dataclass
class World:
    store: Store
    work: Casework
    monkeypatch: pytest.MonkeyPatch

    def at(self, when: dt.datetime) -> None:
        """From now on the bot stores times as if it were ``when``."""
        stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for module in _CLOCKED:
            self.monkeypatch.setattr(module, "now_iso", lambda: stamp)


def _clocked() -> list[Any]:
    """The bot's modules that take the time from ``bot.store.db.now_iso``."""
    real = store_db.now_iso
    return [
        module
        for name, module in sorted(sys.modules.items())
        if name.split(".")[0] == "bot" and getattr(module, "now_iso", None) is real
    ]


_CLOCKED = _clocked()


@pytest.fixture
async def w(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url)
    store = await open_store(settings.db_path, tmp_path)
    try:
        await store.roles.grant(CW, "caseworker")
        yield World(store, Casework(store, I18n.load(), settings, fmt=HTML), monkeypatch)
    finally:
        await store.close()


_people = count(1000)


async def draft(w: World, answers: dict[str, Any] | None = None, *, is_test: bool = False) -> Any:
    applicant = next(_people)
    flow = await w.store.flows.active()
    state = State(answers=dict(answers or {}), path=list(answers or {}))
    made = await w.store.intakes.create_draft(
        applicant_id=applicant,
        chat_id=applicant,
        lang="en",
        flow=flow,
        state=state,
        update_id=1,
        is_test=is_test,
    )
    assert made is not None
    return made


async def sent(
    w: World,
    when: dt.datetime,
    *,
    groups: list[str] | None = None,
    help_wanted: list[str] | None = None,
    rural: str = "yes",
    is_test: bool = False,
) -> int:
    """An intake sent at ``when`` with these answers; returns its id."""
    w.at(when)
    answers: dict[str, Any] = {"name": "Zhang San", "rural": rural}
    if groups is not None:
        answers["groups"] = groups
    if help_wanted is not None:
        answers["help_wanted"] = help_wanted
    intake_id, _ref = await sent_intake(
        w.store, answers, applicant=next(_people), lang="en", is_test=is_test
    )
    return intake_id


async def approve(w: World, intake_id: int, amount: str, when: dt.datetime) -> None:
    w.at(when)
    await w.work.claim(CW, intake_id)
    await w.work.approve(CW, intake_id, amount)


async def decline(w: World, intake_id: int, when: dt.datetime) -> None:
    w.at(when)
    await w.work.claim(CW, intake_id)
    await w.work.decline(CW, intake_id, "compensated")


MON = dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


async def world_of_intakes(w: World) -> dict[str, int]:
    """Two weeks of intakes in every state, and one test intake that must count nowhere."""
    ids = {
        "a": await sent(w, MON, groups=["disabled", "minor"], help_wanted=["payment", "legal"]),
        "b": await sent(
            w, MON + dt.timedelta(days=6, hours=14), groups=["disabled"], help_wanted=["payment"]
        ),  # Sunday evening: still the week of Mar 3
        "c": await sent(w, MON + dt.timedelta(days=7), groups=["none"], help_wanted=["job"]),
        "d": await sent(w, MON + dt.timedelta(days=8), groups=["veteran"], rural="no"),
        "e": await sent(w, MON + dt.timedelta(days=8), groups=["woman"], help_wanted=["loan"]),
        "withdrawn": await sent(w, MON + dt.timedelta(days=9), groups=["elderly"]),
    }
    await approve(w, ids["a"], "3000", MON + dt.timedelta(days=2))  # 2 days
    await approve(
        w, ids["b"], "1,234.50", MON + dt.timedelta(days=6, hours=14) + dt.timedelta(days=4)
    )
    await decline(w, ids["c"], MON + dt.timedelta(days=7 + 10))  # 10 days
    await w.work.claim(CW, ids["d"])  # in review, not decided
    gone = await w.store.intakes.get(ids["withdrawn"])
    assert await w.store.intakes.withdraw(gone, gone.applicant_id, 3)
    # Drafts: one open, one withdrawn, one expired; none of them was ever sent.
    w.at(MON + dt.timedelta(days=9))
    await draft(w, {"groups": ["minor"]})
    stopped = await draft(w, {"groups": ["minor"]})
    assert await w.store.intakes.withdraw(stopped, stopped.applicant_id, 2)
    idle = await draft(w, {"groups": ["minor"]})
    cutoff = (MON + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await w.store.intakes.expire_draft(idle.id, cutoff, OutMessage(idle.chat_id, "closed"))
    # A caseworker's test intake, approved for a large amount: counted nowhere.
    test = await sent(w, MON, groups=["disabled"], help_wanted=["payment"], is_test=True)
    await approve(w, test, "99999", MON + dt.timedelta(days=1))
    return ids


# --- the store's counts -----------------------------------------------------------------


async def test_counts_by_status_exclude_test_intakes(w: World) -> None:
    await world_of_intakes(w)
    assert await w.store.stats.by_status() == {
        "approved": 2,
        "declined": 1,
        "in_review": 1,
        "submitted": 1,
        "withdrawn": 2,  # one sent, then withdrawn; one withdrawn as a draft
        "draft": 1,
        "expired": 1,
    }
    assert await w.store.stats.sent_count() == 6


async def test_sent_per_week_starts_on_monday(w: World) -> None:
    await world_of_intakes(w)
    # Withdrawn intakes are left out of the weekly counts, test intakes too.
    assert await w.store.stats.by_week() == [("2025-03-03", 2), ("2025-03-10", 3)]
    assert await w.store.stats.by_week(weeks=1) == [("2025-03-10", 3)]


async def test_answers_are_counted_by_value_each_list_item_once(w: World) -> None:
    await world_of_intakes(w)
    assert await w.store.stats.by_answer("groups") == {
        "disabled": 2,
        "minor": 1,
        "none": 1,
        "veteran": 1,
        "woman": 1,
    }  # not the drafts' "minor", not the withdrawn one's "elderly"
    assert await w.store.stats.by_answer("help_wanted") == {
        "payment": 2,
        "legal": 1,
        "job": 1,
        "loan": 1,
    }
    assert await w.store.stats.by_answer("rural") == {"yes": 4, "no": 1}
    assert await w.store.stats.by_answer("not_a_step") == {}


async def test_approved_total_and_median_days_to_a_decision(w: World) -> None:
    await world_of_intakes(w)
    assert await w.store.stats.approved_total_fen() == 300000 + 123450
    # Decided after 2, 4 and 10 days (approved, approved, declined): the middle one.
    assert await w.store.stats.median_days_to_decision() == pytest.approx(4.0)


async def test_median_of_an_even_number_of_decisions_is_the_mean_of_the_middle_two(
    w: World,
) -> None:
    for days in (1, 2, 5, 30):
        intake = await sent(w, MON, groups=["none"], help_wanted=["payment"])
        await approve(w, intake, "100", MON + dt.timedelta(days=days))
    assert await w.store.stats.median_days_to_decision() == pytest.approx(3.5)


async def test_an_empty_store_has_no_figures(w: World) -> None:
    assert await w.store.stats.by_status() == {}
    assert await w.store.stats.by_week() == []
    assert await w.store.stats.by_answer("groups") == {}
    assert await w.store.stats.approved_total_fen() == 0
    assert await w.store.stats.median_days_to_decision() is None
    assert await w.store.stats.sent_count() == 0


async def test_a_partners_clue_is_counted_apart_from_applications(w: World) -> None:
    await world_of_intakes(w)
    partner = 3
    await w.store.roles.grant(partner, "partner", label="County Bureau")
    w.at(MON + dt.timedelta(days=8))
    await w.work.send_clue(
        partner, {"who": "Li Si", "where": "Red Star", "what": "hurt, cannot pay"}
    )
    [clue] = [c for c in await w.store.cases.queue(limit=20) if c.is_clue]
    await approve(w, clue.id, "500", MON + dt.timedelta(days=9))

    # The applications' figures are as they were, the clue's are its own.
    assert await w.store.stats.sent_count() == 6
    assert (await w.store.stats.by_status())["approved"] == 2
    assert await w.store.stats.by_week() == [("2025-03-03", 2), ("2025-03-10", 3)]
    assert await w.store.stats.approved_total_fen() == 300000 + 123450
    assert await w.store.stats.median_days_to_decision() == pytest.approx(4.0)
    assert await w.store.stats.sent_count(clues=True) == 1
    assert await w.store.stats.by_status(clues=True) == {"approved": 1}
    assert await w.store.stats.approved_total_fen(clues=True) == 50000

    plain = stats.render(I18n.load().tr("en"), PLAIN, await stats.figures(w.store))
    report = plain.splitlines()
    assert "Applications sent: 6" in report and "Total approved: CN¥4,234.50" in report
    clues = plain[plain.index("Clues from the agriculture department") :].splitlines()
    assert clues[1:] == ["Clues sent: 1", "• approved: 1", "Approved for them: CN¥500.00"]


# --- the text people read ---------------------------------------------------------------


async def test_the_report_in_english_plain_and_html(w: World) -> None:
    await world_of_intakes(w)
    en = I18n.load().tr("en")
    figures = await stats.figures(w.store)
    plain = stats.render(en, PLAIN, figures).splitlines()
    assert plain[0] == "Statistics"
    # Six were sent; drafts, the withdrawn draft and the expired one never were.
    assert "Applications sent: 6" in plain
    for line in (
        "By status",
        "• not sent yet: 1",
        "• received, waiting for review: 1",
        "• being reviewed: 1",
        "• approved: 2",
        "• not approved: 1",
        "• withdrawn: 2",
        "• closed: not finished in time: 1",
        "Sent per week",
        "• week of Mar 3, 2025: 2",
        "• week of Mar 10, 2025: 3",
        "Does any of this apply to the person who needs help or the household?",
        "• A person with a disability: 2",
        "• A child under 18: 1",
        "• A retired soldier (veteran): 1",
        "• None of these: 1",
        "What help is needed most?",
        "• An assistance payment (救助金): 2",
        "• Help finding a job: 1",
        "Total approved: CN¥4,234.50",
        "Median time from sending to decision: 4 days",
    ):
        assert line in plain, (line, plain)
    # Statuses come in the order of the lifecycle.
    order = [plain.index(s) for s in ("• not sent yet: 1", "• approved: 2", "• withdrawn: 2")]
    assert order == sorted(order)
    assert "• An older person (60 or over)" not in "\n".join(plain)  # only the withdrawn one

    marked = stats.render(en, HTML, figures)
    assert marked.startswith("<b>Statistics</b>\n")
    assert "<b>By status</b>" in marked and "<b>What help is needed most?</b>" in marked


async def test_the_report_in_chinese_uses_its_catalog_and_formats(w: World) -> None:
    await world_of_intakes(w)
    zh = I18n.load().tr("zh")
    text = stats.render(zh, PLAIN, await stats.figures(w.store))
    assert zh.gettext("Total approved: {amount}").format(amount=zh.money(4234.5)) in text
    assert "¥4,234.50" in text
    assert "需要帮助的人或家里，有下面这些情况吗？" in text  # the flow's own Chinese
    assert "• 残疾人：2" in text  # Chinese punctuation between a Chinese label and its count
    assert "• " + zh.gettext("approved") + "：2" in text
    # A declined application is counted under the word on the caseworker's button.
    assert "• 不予救助：1" in text and zh.gettext("Decline") == "不予救助"
    assert "没有批准" not in text


async def test_a_fractional_median_and_nothing_decided(w: World) -> None:
    en = I18n.load().tr("en")
    text = stats.render(en, PLAIN, await stats.figures(w.store))
    assert "Applications sent: 0" in text
    assert "Total approved: CN¥0.00" in text
    assert "No application has been decided yet." in text
    assert "By status" not in text

    for hours in (24, 48):  # 1 and 2 days: the median is 1.5
        intake = await sent(w, MON, groups=["none"], help_wanted=["payment"])
        await approve(w, intake, "100", MON + dt.timedelta(hours=hours))
    text = stats.render(en, PLAIN, await stats.figures(w.store))
    assert "Median time from sending to decision: 1.5 days" in text
    assert "Total approved: CN¥200.00" in text
