"""A household's plan (一户一策) in the core and the store, without Telegram.

- only the caseworker who holds the intake adds measures and sends the plan;
- each partner is sent one card with its own measures only; the procuratorate's own
  measures are accepted when the plan is sent;
- a partner moves only its own measures, and only forward (a measure not possible is
  never done after); the holder hears of every change, the applicant of done and not
  possible;
- the caseworker's own words and a partner's reason are sealed at rest, and go when the
  intake is erased (kind, body and state stay for the figures);
- /stats counts measures by kind, body and state, and those overdue; the export lists them;
- /referrals pages a partner's households, open ones first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.casework import Casework, Conflict, Denied, Kind
from bot.casework.measure_terms import MeasureState, read_body_kind
from bot.casework.plans import PAGE_SIZE, needs_step, parse_due
from bot.config import Settings
from bot.export import Request, export
from bot.flow.engine import Screening, State
from bot.flow.loader import default_flow_source
from bot.i18n import I18n
from bot.messages import HTML
from bot.mydata import export_text
from bot.stats import figures, render
from bot.store import Store
from bot.store.casework import Case
from tests.backends import open_store
from tests.helpers import old_referral

HOTAN = "653222"
CW, CW2, AGRI, HR = 11, 12, 21, 22
I18N = I18n.load()
TODAY = dt.date.today()


@dataclass
class World:
    store: Store
    work: Casework


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    settings = Settings(token="1:x", db_path=db_url)
    store = await open_store(settings.db_path, tmp_path)
    try:
        await store.roles.grant(CW, "caseworker", regions=[HOTAN])
        await store.roles.grant(CW2, "caseworker", regions=[HOTAN])
        await store.roles.grant(AGRI, "partner", label="Agri", regions=[HOTAN], kind="agriculture")
        await store.roles.grant(HR, "partner", label="HR", kind="human_resources")
        work = Casework(store, I18N, settings, fmt=HTML)
        for staff in (CW, CW2, AGRI, HR):
            await work.seen(staff, "en", f"Staff {staff}")
        yield World(store, work)
    finally:
        await store.close()


_applicants = iter(range(1000, 100000))


async def approved(w: World) -> Case:
    applicant = next(_applicants)
    state = State(answers={"help_wanted": ["training", "loan"]})
    draft = await w.store.intakes.create_draft(
        applicant_id=applicant,
        chat_id=applicant,
        lang="en",
        flow=await w.store.flows.active(),
        state=state,
        update_id=1,
    )
    assert draft is not None
    assert await w.store.intakes.submit(draft, state, Screening((), (), 0, ()), update_id=2)
    await w.store.db.execute("UPDATE intakes SET region = ? WHERE id = ?", (HOTAN, draft.id))
    await w.work.claim(CW, draft.id)
    await w.work.approve(CW, draft.id, "3000")
    await w.store.db.execute("DELETE FROM outbox")  # the decision's own notices
    case = await w.store.cases.get(draft.id)
    assert case is not None
    return case


async def measure(
    w: World, case: Case, kind: int | str, body: int, days: int = 30, actor: int = CW
) -> int:
    """A measure through the caseworker's three steps: a need's index or own words."""
    plans, tr = w.work.plans, I18N.tr("en")
    await plans.start(actor, case.id)
    if isinstance(kind, int):
        await plans.pick_kind(actor, case.id, kind)
    else:
        await plans.ask_kind_words(actor, case.id)
        await plans.kind_words(actor, case.id, kind)
    await plans.pick_body(actor, case.id, body, tr)
    return (await plans.due_in(actor, case.id, days, TODAY)).id


async def queued(w: World) -> list[tuple[int, str, str]]:
    """What the outbox holds: (chat, kind, text), oldest first."""
    return [(q.chat_id, str(q.kind), q.text) for q in await w.store.outbox.due(100)]


async def test_only_the_holder_builds_and_sends_the_plan(world: World) -> None:
    w = world
    case = await approved(w)
    plans = w.work.plans
    tr = I18N.tr("en")
    suggested = await plans.suggestions(CW, case.id, tr)
    assert [s.label for s in suggested if s.chosen] == ["Skills training", "A low-interest loan"]
    with pytest.raises(Conflict) as other:
        await plans.start(CW2, case.id)
    assert other.value.code == "claimed_by_other"
    # A forged body (someone who is no partner) is refused; HR covers every region.
    await plans.start(CW, case.id)
    await plans.pick_kind(CW, case.id, 3)
    with pytest.raises(Conflict):
        await plans.pick_body(CW, case.id, CW2, tr)
    assert [b for b, _ in await plans.bodies(CW, case.id, tr)] == [0, AGRI, HR]
    # A due date not offered is refused.
    await plans.pick_body(CW, case.id, AGRI, tr)
    with pytest.raises(Conflict):
        await plans.due_in(CW, case.id, 7, TODAY)

    # A referral from before the plan (an old database) is shown beside the measures.
    await old_referral(w.store, case.id, CW, AGRI, "Please visit")
    training = await measure(w, case, 3, AGRI)
    own = await measure(w, case, "Poverty-return monitoring", AGRI, 60)
    loan = await measure(w, case, 6, HR, 90)
    ours = await measure(w, case, 2, 0)
    assert not [n for n in await queued(w) if n[1] == Kind.MEASURES]  # none until sent
    with pytest.raises(Conflict):
        await plans.send(CW2, case.id)
    sent = await plans.send(CW, case.id)
    assert [m.id for m in sent] == [training, own, loan, ours]
    got = {m.id: m.state for m in await w.store.measures.of_intake(case.id)}
    assert got[ours] == MeasureState.ACCEPTED and got[training] == MeasureState.PROPOSED
    notices = await queued(w)
    notices = [n for n in notices if n[1] == Kind.MEASURES]
    assert sorted((chat, kind) for chat, kind, _ in notices) == [
        (AGRI, Kind.MEASURES),
        (HR, Kind.MEASURES),
    ]
    to_agri = next(text for chat, _, text in notices if chat == AGRI)
    to_hr = next(text for chat, _, text in notices if chat == HR)
    assert "Skills training" in to_agri and "Poverty-return monitoring" in to_agri
    assert "low-interest" not in to_agri.split("What is asked of you:")[1]
    assert "low-interest" in to_hr and "Skills training" not in to_hr.split("asked of you:")[1]
    with pytest.raises(Conflict) as again:
        await plans.send(CW, case.id)
    assert again.value.code == "nothing_to_send"
    # The plan as the caseworker reads it: each measure, and the referral beside them.
    text = plans.plan_text(tr, await plans.view(CW, case.id, tr))
    assert "1. <b>Skills training</b> · Agri · by " in text and "🆕 proposed" in text
    assert "4. <b>Free legal help (legal aid)</b> · This procuratorate" in text
    assert "👍 accepted" in text and "not sent yet" not in text
    assert "• Agri: sent, not yet acknowledged" in text


async def test_referring_from_the_card_sends_one_partner_a_measure_at_once(
    world: World,
) -> None:
    """The card's "refer" is a measure of the plan: of a need the applicant chose (or the
    caseworker's words), for the partner picked, due in 30 days, sent to that partner at
    once while the rest of the plan waits for its Send; the applicant hears who may call."""
    w = world
    case = await approved(w)
    plans, tr = w.work.plans, I18N.tr("en")
    asked = await plans.asked_for(tr, case)
    assert [(s.index, s.label) for s in asked] == [
        (3, "Skills training"),
        (6, "A low-interest loan"),
    ]
    draft = await measure(w, case, 2, 0)  # the procuratorate's own, not sent yet
    with pytest.raises(Conflict) as other:
        await plans.refer(CW2, case.id, AGRI, need=3)
    assert other.value.code == "claimed_by_other"
    with pytest.raises(Conflict) as nobody:
        await plans.refer(CW, case.id, CW2, need=3)
    assert nobody.value.code == "not_a_partner"
    with pytest.raises(Conflict) as forged:
        await plans.refer(CW, case.id, AGRI, need=99)
    assert forged.value.code == "not_found"
    with pytest.raises(Denied):
        await plans.refer(AGRI, case.id, AGRI, need=3)

    m = await plans.refer(CW, case.id, AGRI, need=3, today=TODAY)
    assert (m.kind, m.kind_text, m.partner_id, m.state) == ("training", None, AGRI, "proposed")
    assert m.due_on == (TODAY + dt.timedelta(days=30)).isoformat() and m.sent_at is not None
    words = await plans.refer(CW, case.id, HR, "Find a job in the county town", today=TODAY)
    assert (words.kind, words.kind_text) == (None, "Find a job in the county town")
    # Only the referred measures went; the plan's draft still waits for Send.
    unsent = [x.id for x in await w.store.measures.of_intake(case.id) if x.sent_at is None]
    assert unsent == [draft]
    assert await w.store.cases.referrals(case.id) == []
    notices = await queued(w)
    assert [(chat, kind) for chat, kind, _ in notices] == [
        (AGRI, Kind.MEASURES),
        (case.chat_id, Kind.REFERRED),
        (HR, Kind.MEASURES),
        (case.chat_id, Kind.REFERRED),
    ]
    assert "Skills training" in notices[0][2] and "What is asked of you:" in notices[0][2]
    assert "we have also asked <b>Agri</b>" in notices[1][2]
    assert "Find a job in the county town" in notices[2][2]
    # The partner works it with the measure buttons, as any measure of the plan.
    assert [x.id for x in await plans.accept_all(AGRI, case.id)] == [m.id]
    await plans.change(AGRI, [m.id], MeasureState.DONE)
    card = await plans.partner_card(AGRI, case.id, tr)
    assert [x.state for x in card.measures] == ["done"]
    text = plans.plan_text(tr, await plans.view(CW, case.id, tr))
    assert "<b>Skills training</b> · Agri · by " in text and "✅ done" in text
    assert "<b>Find a job in the county town</b> · HR" in text


async def test_partners_move_only_their_own_measures_forward(world: World) -> None:
    w = world
    case = await approved(w)
    plans = w.work.plans
    training = await measure(w, case, 3, AGRI)
    monitoring = await measure(w, case, "Poverty-return monitoring", AGRI)
    loan = await measure(w, case, 6, HR)
    await plans.send(CW, case.id)
    await w.store.db.execute("DELETE FROM outbox")

    with pytest.raises(Conflict) as not_theirs:
        await plans.change(HR, [training], MeasureState.DONE)
    assert not_theirs.value.code == "not_found"
    with pytest.raises(Denied):
        await plans.change(CW, [training], MeasureState.DONE)  # not a partner at all
    accepted = await plans.accept_all(AGRI, case.id)
    assert [m.id for m in accepted] == [training, monitoring]
    with pytest.raises(Conflict):
        await plans.accept_all(AGRI, case.id)  # nothing proposed is left
    await plans.change(AGRI, [training], MeasureState.IN_PROGRESS)
    await plans.change(AGRI, [training], MeasureState.DONE)
    await plans.ask_why(AGRI, monitoring)
    assert (await w.store.pending.get(AGRI)).kind == "pl_why"  # type: ignore[union-attr]
    await plans.change(AGRI, [monitoring], MeasureState.NOT_POSSIBLE, "No places this year")
    assert await w.store.pending.get(AGRI) is None
    for to in (MeasureState.DONE, MeasureState.ACCEPTED, MeasureState.IN_PROGRESS):
        with pytest.raises(Conflict) as moved_on:
            await plans.change(AGRI, [monitoring], to)
        assert moved_on.value.code == "wrong_status"
    with pytest.raises(Conflict):
        await plans.ask_why(AGRI, training)  # done: nothing to return
    states = {m.id: m.state for m in await w.store.measures.of_intake(case.id)}
    assert states == {training: "done", monitoring: "not_possible", loan: "proposed"}

    # The holder heard each change; the applicant of the done and the not possible.
    notices = await queued(w)
    kinds = [(chat, kind) for chat, kind, _ in notices]
    assert kinds.count((CW, Kind.MEASURE_CHANGED)) == 4
    to_applicant = [text for chat, kind, text in notices if chat == case.chat_id]
    assert len(to_applicant) == 2
    assert "Skills training" in to_applicant[0] and "done" in to_applicant[0]
    # The partner wrote why for the family to read (it was asked for so): they read it.
    assert "could not be done" in to_applicant[1]
    assert "Why: <i>No places this year</i>" in to_applicant[1]
    # The history: the audit rows name the measure, never the words.
    actions = [
        r["action"]
        for r in await w.store.db.fetchall(
            "SELECT action FROM audit WHERE intake_id = ? AND action LIKE 'measure.%'", (case.id,)
        )
    ]
    assert actions.count("measure.added") == 3 and "measure.not_possible" in actions
    card = await w.work.card(CW, case.id)
    assert ("event", "measure.done") in [(k, t) for _a, _w, k, t in card.history]

    # /status, in the applicant's words.
    lines = await plans.applicant_lines(I18N.tr("en"), case.id)
    assert lines[0].startswith("<b>Skills training</b> — Agri: done")
    assert lines[2].startswith("<b>A low-interest loan</b> — HR: planned, by ")
    assert lines[1] == (
        "<b>Poverty-return monitoring</b> — Agri: could not be done\n"
        "   Why: <i>No places this year</i>"
    )
    zh = await plans.applicant_lines(I18N.tr("zh"), case.id)
    assert zh[1].startswith("<b>Poverty-return monitoring</b> — Agri：没能办成")
    assert zh[1].endswith("原因：<i>No places this year</i>")
    assert zh[2].startswith("<b>低息贷款</b> — HR：")
    # A reason written before partners were asked to write it for the family (an older
    # database) stays with the staff: /status says only that it could not be done.
    await w.store.db.execute("UPDATE measures SET reason_shown = 0 WHERE id = ?", (monitoring,))
    lines = await plans.applicant_lines(I18N.tr("en"), case.id)
    assert lines[1] == "<b>Poverty-return monitoring</b> — Agri: could not be done"
    staff = plans.plan_text(I18N.tr("en"), await plans.view(CW, case.id, I18N.tr("en")))
    assert "<i>No places this year</i>" in staff


async def test_words_are_sealed_and_erasure_clears_them(world: World) -> None:
    w = world
    case = await approved(w)
    own = await measure(w, case, "Monitoring-X7", AGRI)
    await w.work.plans.send(CW, case.id)
    await w.work.plans.change(AGRI, [own], MeasureState.NOT_POSSIBLE, "Reason-Y8")
    row = await w.store.db.fetchone("SELECT kind_text, reason FROM measures WHERE id = ?", (own,))
    assert row is not None
    for value in (row["kind_text"], row["reason"]):
        assert isinstance(value, bytes) and b"X7" not in value and b"Y8" not in value
    text = await export_text(w.store, I18N.tr("en"), case.applicant_id)
    assert "Monitoring-X7 — Agri: could not be done" in text and "Reason-Y8" in text

    # The applicant asks for erasure and the caseworker completes it.
    await w.work.request_deletion(case.applicant_id, case.id)
    await w.work.erase(CW, case.id)
    (m,) = await w.store.measures.of_intake(case.id)
    assert (m.kind_text, m.reason, m.state, m.partner_id) == (None, None, "not_possible", AGRI)
    # The partner no longer sees the household.
    assert await w.work.plans.partner_page(AGRI, 0, I18N.tr("en")) == ([], 0)
    with pytest.raises(Conflict):
        await w.work.plans.partner_card(AGRI, case.id, I18N.tr("en"))


async def test_a_plan_holds_a_handful_of_measures(world: World) -> None:
    w = world
    case = await approved(w)
    for _ in range(20):
        await measure(w, case, 3, AGRI)
    with pytest.raises(Conflict) as full:
        await measure(w, case, 3, AGRI)
    assert full.value.code == "too_many"
    view = await w.work.plans.view(CW, case.id, I18N.tr("ug"))
    assert len(w.work.plans.plan_text(I18N.tr("ug"), view)) < 4096


async def test_figures_and_export_count_the_measures(world: World, tmp_path: Path) -> None:
    w = world
    case = await approved(w)
    plans = w.work.plans
    training = await measure(w, case, 3, AGRI)
    await measure(w, case, 3, HR)
    await measure(w, case, "Counselling at home", 0)
    await plans.send(CW, case.id)
    await plans.change(AGRI, [training], MeasureState.DONE)
    # One of them is past its date and not finished.
    await w.store.db.execute(
        "UPDATE measures SET due_on = '2020-01-01' WHERE partner_id = ?", (HR,)
    )
    f = await figures(w.store)
    assert f.measures is not None
    assert f.measures.by_kind == {"training": 2, "own": 1}
    assert f.measures.by_body == {0: 1, AGRI: 1, HR: 1}
    assert f.measures.by_state == {"done": 1, "proposed": 1, "accepted": 1}
    assert f.measures.overdue == 1
    text = render(I18N.tr("en"), HTML, f)
    assert "Help measures in the households' plans: 3" in text
    assert "Past their due date and not finished: 1" in text
    assert "Skills training: 2" in text and "Agri (agriculture and rural affairs): 1" in text
    assert "This procuratorate: 1" in text

    out = tmp_path / "x.xlsx"
    made = await export(w.store, I18N.tr("en"), Request(), out)
    assert made.measures == 3
    sheet = load_workbook(out).worksheets[1]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][-2:] == ["Due by", "Kind of body"]
    assert rows[1][:4] == [case.ref, "Agri", "done", "Skills training"]
    assert rows[1][-1] == "agriculture and rural affairs"
    assert rows[3][1:4] == ["This procuratorate", "accepted", "Counselling at home"]


async def test_a_partner_pages_its_households_open_ones_first(world: World) -> None:
    w = world
    cases = [await approved(w) for _ in range(PAGE_SIZE + 2)]
    for case in cases:
        await measure(w, case, 3, AGRI)
        await w.work.plans.send(CW, case.id)
    first = (await w.store.measures.of_intake(cases[0].id))[0].id
    await w.work.plans.change(AGRI, [first], MeasureState.DONE)
    tr = I18N.tr("en")
    page, total = await w.work.plans.partner_page(AGRI, 0, tr)
    assert total == PAGE_SIZE + 2 and len(page) == PAGE_SIZE
    assert cases[0].id not in [c.case.id for c in page]  # finished: last
    last, _ = await w.work.plans.partner_page(AGRI, 1, tr)
    assert [c.case.id for c in last][-1] == cases[0].id
    # HR has none of them.
    none, total = await w.work.plans.partner_page(HR, 0, tr)
    assert none == [] and total == 0


def test_a_typed_due_date() -> None:
    today = dt.date(2027, 1, 10)
    assert parse_due("2027-03-01", today) == dt.date(2027, 3, 1)
    assert parse_due("2027/3/1", today) == dt.date(2027, 3, 1)
    assert parse_due("2027年3月1日", today) == dt.date(2027, 3, 1)
    assert parse_due("2027-01-09", today) is None  # the past
    assert parse_due("2031-01-01", today) is None  # too far
    assert parse_due("2027-02-30", today) is None
    assert parse_due("next week", today) is None
    assert parse_due("２０２７-03-01", today) is None  # full-width digits are not taken


def test_a_partners_kind_is_read_by_its_code_or_its_name_in_any_language() -> None:
    readers = [I18N.tr(lang) for lang in I18N.languages]
    assert read_body_kind(readers, ["human_resources", "Hotan", "HR"]) == (
        "human_resources",
        ["Hotan", "HR"],
    )
    assert read_body_kind(readers, ["Human", "Resources", "and", "Social", "Security", "x"]) == (
        "human_resources",
        ["x"],
    )
    assert read_body_kind(readers, ["人力资源和社会保障", "和田县人社局"]) == (
        "human_resources",
        ["和田县人社局"],
    )
    assert read_body_kind(readers, ["قانۇن", "ياردىمى", "مەركىزى"]) == ("legal_aid", [])
    assert read_body_kind(readers, ["和田县农业农村局"]) == (None, ["和田县农业农村局"])
    assert read_body_kind(readers, []) == (None, [])


async def test_an_older_copy_of_the_built_in_flow_still_offers_the_applicants_needs(
    world: World,
) -> None:
    """A database given the built-in flow before the ``needs`` tag keeps that copy (and
    its intakes keep their version): the plan takes the needs from the step the built-in
    flow tags now, of the same id and values. A flow of the admin's own is not guessed."""
    w = world
    old = default_flow_source().replace("tags: [stats, partner, needs]", "tags: [stats, partner]")
    assert old != default_flow_source()
    published = await w.store.flows.publish(old)
    assert published.tagged("needs") == [] and needs_step(published) is not None
    case = await approved(w)
    assert case.flow_version == published.version
    tr = I18N.tr("en")
    suggested = await w.work.plans.suggestions(CW, case.id, tr)
    assert [s.label for s in suggested if s.chosen] == ["Skills training", "A low-interest loan"]
    m = await w.work.plans.refer(CW, case.id, AGRI, need=3)
    assert m.kind == "training"
    text = w.work.plans.plan_text(tr, await w.work.plans.view(CW, case.id, tr))
    assert "<b>Skills training</b> · Agri" in text

    # Another flow with a step of that id: no needs unless it tags them.
    own = old.replace("id: judicial-assistance", "id: our-own-interview", 1)
    assert needs_step(await w.store.flows.publish(own)) is None
