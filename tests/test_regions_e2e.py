"""Two counties, a caseworker in each, end to end over the fake Bot API.

Two applicants answer a flow whose county question routes the application
(``tests/flows/regions_flow.yaml``, ``region: true``): one in 墨玉县 (653222), one in 于田县
(653226), both of 和田地区 (6532). Caseworker A covers 653222, B covers 653226, C the whole
prefecture, D every region (granted as every role was before regions). Each sees, finds,
opens, acts on and is alerted about only the intakes of their own regions; a reference or a
button of the other county is answered as if it did not exist and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.regions import EVERYWHERE, Scope
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import wait_until, with_text

FLOW = (Path(__file__).parent / "flows" / "regions_flow.yaml").read_text(encoding="utf-8")

ADMIN, A, B, C, D = 1, 7001, 7002, 7003, 7004
P1, P2 = 8001, 8002  # the two counties' agriculture bureaus
KARAKAX, KERIYA = "653222", "653226"
GROUP = -100888
REF_IN_TEXT = re.compile(r"<b>([A-Z0-9]{3}-[A-Z0-9]{3})</b>")
NOT_FOUND = "That application was not found."
NO_SUCH_REF = "No application has that reference."
ANSWERS = "— Answers —"  # on every intake card
QUICK = 0.05


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(
        tg,
        make_settings(
            tg, tmp_path / "intake.db", admin_ids=frozenset({ADMIN}), caseworker_chat=GROUP
        ),
    )
    await running.start()
    try:
        await running.store.flows.publish(FLOW)
        roles = running.store.roles
        await roles.grant(A, "caseworker", label="A", regions=[KARAKAX])
        await roles.grant(B, "caseworker", label="B", regions=[KERIYA])
        await roles.grant(C, "caseworker", label="C", regions=["6532"])
        await roles.grant(D, "caseworker", label="D")
        await roles.grant(P1, "partner", label="Karakax Bureau", regions=[KARAKAX])
        await roles.grant(P2, "partner", label="Keriya Bureau", regions=[KERIYA])
        for uid in (A, B, C, D):
            await running.services.casework.seen(uid, "en", f"CW{uid}")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


def staff(tg: FakeTelegram, uid: int) -> FakeUser:
    return tg.user(uid, first_name=f"CW{uid}", language_code="en")


async def showing(person: FakeUser, check: Callable[[SentMessage], bool], what: str) -> None:
    await wait_until(
        lambda: person.messages and check(person.messages[-1]),
        what=f"{what} in chat {person.chat_id}; newest: {person.messages[-1:]}",
    )


def has_button(part: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(part in b for b in m.buttons)


async def apply(tg: FakeTelegram, uid: int, name: str, county: str) -> str:
    """An applicant answers the flow, choosing ``county`` by its label; returns the ref."""
    ap = tg.user(uid, language_code="en", first_name=name)
    await ap.send("/start")
    await showing(ap, has_button("✅"), "the consent question")
    await ap.tap_containing("✅")
    await showing(ap, lambda m: "What is your name?" in (m.text or ""), "the name question")
    await ap.send(name)
    await showing(ap, has_button(county), "the county question")
    await ap.tap_containing(county)
    await showing(ap, has_button("📨"), "the summary")
    await ap.tap_containing("📨")
    await showing(ap, lambda m: bool(REF_IN_TEXT.search(m.text or "")), "the reference")
    await ap.wait_reply(settle=QUICK)
    return REF_IN_TEXT.findall(ap.messages[-1].text or "")[0]


async def reply_to(person: FakeUser, action: Any, until: str) -> str:
    """Do ``action`` (a send or a tap) and return the text of the bot's answers, once one
    containing ``until`` has arrived."""
    start = len(person.messages)
    await action
    await wait_until(
        lambda: with_text(person.messages[start:], until),
        what=f"{until!r} in chat {person.chat_id}; got {[m.text for m in person.messages]}",
    )
    await person.wait_reply(settle=QUICK)
    return "\n".join(m.text or "" for m in person.messages[start:])


async def intake(r: Running, ref: str) -> Any:
    return await r.store.db.fetchone("SELECT id, region FROM intakes WHERE ref = ?", (ref,))


async def snapshot(r: Running) -> dict[str, Any]:
    db = r.store.db
    return {
        "intakes": [
            tuple(x)
            for x in await db.fetchall(
                "SELECT id, status, assignee, amount_fen, region, decided_at FROM intakes"
                " ORDER BY id"
            )
        ],
        "audit": (await db.fetchone("SELECT COUNT(*) AS n FROM audit"))["n"],  # type: ignore[index]
        "messages": (await db.fetchone("SELECT COUNT(*) AS n FROM messages"))["n"],  # type: ignore[index]
        "pending": [tuple(x) for x in await db.fetchall("SELECT user_id, kind FROM pending")],
    }


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


async def test_each_county_sees_finds_and_acts_on_only_its_own_intakes(
    tg: FakeTelegram, r: Running
) -> None:
    ref_a = await apply(tg, 41, "Tursun", "Karakax County")
    ref_b = await apply(tg, 42, "Aynur", "Keriya County")
    one, other = await intake(r, ref_a), await intake(r, ref_b)
    assert (one["region"], other["region"]) == (KARAKAX, KERIYA)
    a, b, c, d = (staff(tg, uid) for uid in (A, B, C, D))

    # The alerts: the group reads both (everyone in it, as before); a regional caseworker
    # is told of their region's intakes only; one who covers all reads the group.
    group = tg.group(GROUP)
    await wait_until(lambda: with_text(group, ref_a) and with_text(group, ref_b), what="alerts")
    await wait_until(lambda: with_text(a, ref_a) and with_text(b, ref_b), what="direct alerts")
    await wait_until(lambda: with_text(c, ref_a) and with_text(c, ref_b), what="C's alerts")
    await outbox_empty(r)
    await tg.wait_idle()
    assert not with_text(a, ref_b) and not with_text(b, ref_a)
    assert d.messages == []
    assert "Karakax County 653222" in (with_text(a, ref_a)[-1].text or "")

    # The queue: each their own; the prefecture and the all-regions caseworker both.
    queue_a = await reply_to(a, a.send("/queue"), ref_a)
    assert ref_b not in queue_a
    assert "Karakax County" in queue_a  # the county by its label, not its code
    queue_b = await reply_to(b, b.send("/queue"), ref_b)
    assert ref_a not in queue_b
    for wide in (c, d):
        shown = await reply_to(wide, wide.send("/queue"), ref_a)
        assert ref_b in shown

    # /open: their own opens; the other county's is not found, and nothing is revealed.
    assert ANSWERS in await reply_to(a, a.send(f"/open {ref_a}"), ANSWERS)
    refused = await reply_to(a, a.send(f"/open {ref_b}"), NO_SUCH_REF)
    assert "Aynur" not in refused and ref_b not in refused
    refused = await reply_to(b, b.send(f"/open {ref_a}"), NO_SUCH_REF)
    assert "Tursun" not in refused

    # Forged buttons with the other county's intake: refused, nothing changes.
    await outbox_empty(r)
    await tg.wait_idle()
    before = await snapshot(r)
    for data in ("o", "cl", "to", "ap", "ac", "dc", "nt", "rf", "at", "as"):
        said = await reply_to(b, b.tap_data(f"c:{data}:{one['id']}:0"), NOT_FOUND)
        assert "Tursun" not in said, data
    await outbox_empty(r)
    await tg.wait_idle()
    assert await snapshot(r) == before
    assert await r.store.pending.get(B) is None

    # Their own county's buttons work: A claims A's intake.
    await reply_to(a, a.tap_data(f"c:cl:{one['id']}:0"), ANSWERS)
    row = await r.store.db.fetchone("SELECT assignee FROM intakes WHERE id = ?", (one["id"],))
    assert row is not None and row["assignee"] == A

    # A refers to the agriculture bureau of the county only; the other bureau, forged in,
    # is refused.
    await reply_to(a, a.tap_data(f"c:rf:{one['id']}:0"), "to which partner")
    offered = [m for m in a.messages if "to which partner" in (m.text or "")][-1].buttons
    assert "Karakax Bureau" in offered and "Keriya Bureau" not in offered
    await reply_to(a, a.tap_data(f"c:rp:{one['id']}:{P2}"), "no longer a partner")
    assert await r.store.pending.get(A) is None

    # A request about an intake nobody holds goes to the group and its county's caseworkers.
    work = r.services.casework  # type: ignore[union-attr]
    await work.request_deletion(42, other["id"])
    asks = "asks to delete their data"
    # (the group reads the default language: its second message about the intake)
    await wait_until(lambda: with_text(b, ref_b, asks) and len(with_text(group, ref_b)) == 2)
    await outbox_empty(r)
    await tg.wait_idle()
    assert not with_text(a, asks) and not with_text(d, asks)


async def test_stats_count_a_caseworkers_own_regions_with_a_breakdown_for_several(
    tg: FakeTelegram, r: Running
) -> None:
    await apply(tg, 41, "Tursun", "Karakax County")
    await apply(tg, 42, "Aynur", "Keriya County")
    await apply(tg, 43, "Mehmet", "Keriya County")
    a, b, c = (staff(tg, uid) for uid in (A, B, C))
    admin = tg.user(ADMIN, first_name="Admin", language_code="en")

    text_a = await reply_to(a, a.send("/stats"), "Statistics")
    assert "Applications sent: 1" in text_a and "By region" not in text_a
    text_b = await reply_to(b, b.send("/stats"), "Statistics")
    assert "Applications sent: 2" in text_b and "By region" not in text_b
    for wide in (c, admin):
        text = await reply_to(wide, wide.send("/stats"), "Statistics")
        lines = text.splitlines()
        assert "Applications sent: 3" in lines, text
        assert "<b>By region</b>" in lines, text
        assert "• Karakax County 653222: sent: 1 · approved: 0 · CN¥0.00" in lines, text
        assert "• Keriya County 653226: sent: 2 · approved: 0 · CN¥0.00" in lines, text


async def test_an_admin_grants_a_partner_its_kind_of_body_in_any_language(
    tg: FakeTelegram, r: Running
) -> None:
    """/grant USER partner [codes] [kind] [name]: the kind by its code or its name in
    any of the bot's languages, right after the region codes; said back and listed in
    /roles in the admin's language; a grant without one keeps the kind held."""
    admin = tg.user(ADMIN, first_name="Admin", language_code="en")
    said = await reply_to(
        admin,
        admin.send("/grant 7011 partner 653226 civil affairs Keriya Civil Affairs Bureau"),
        "is now",
    )
    assert said == (
        "7011 is now partner.\nRegion: 653226\nKind of body: civil affairs"
        "\nShown as: Keriya Civil Affairs Bureau"
    )
    said = await reply_to(admin, admin.send("/grant 7012 partner 653222 民政 墨玉县民政局"), "is")
    assert said.endswith("Kind of body: civil affairs\nShown as: 墨玉县民政局")
    await reply_to(admin, admin.send("/grant 7013 partner ئاياللار بىرلەشمىسى Keriya"), "is now")
    await reply_to(admin, admin.send("/grant 7014 partner legal_aid"), "is now")
    # A name that begins with a kind's name gives the kind: the answer shows the split.
    said = await reply_to(admin, admin.send("/grant 7015 partner Education Office"), "is now")
    assert said.endswith("Kind of body: education\nShown as: Office")
    grants = {g.user_id: g for g in await r.store.roles.grants("partner")}
    assert (grants[7011].kind, grants[7011].label) == (
        "civil_affairs",
        "Keriya Civil Affairs Bureau",
    )
    assert (grants[7012].kind, grants[7012].label) == ("civil_affairs", "墨玉县民政局")
    assert (grants[7013].kind, grants[7013].label) == ("womens_federation", "Keriya")
    assert (grants[7014].kind, grants[7014].label) == ("legal_aid", None)
    assert (grants[7015].kind, grants[7015].label) == ("education", "Office")
    # Again without a kind: the name changes, the kind stays.
    await reply_to(admin, admin.send("/grant 7011 partner Keriya Bureau"), "already was")
    kept = {g.user_id: g for g in await r.store.roles.grants("partner")}[7011]
    assert (kept.kind, kept.label) == ("civil_affairs", "Keriya Bureau")
    # Not a partner: the words are the name.
    await reply_to(admin, admin.send("/grant 7016 caseworker health Ma Li"), "is now")
    worker = {g.user_id: g for g in await r.store.roles.grants("caseworker")}[7016]
    assert (worker.kind, worker.label) == (None, "health Ma Li")

    # /roles shows the kind in the admin's language; the usage names the kinds.
    zh = tg.user(ADMIN, first_name="Admin", language_code="zh-hans")
    await r.store.users.set_language(ADMIN, "zh")
    roles = await reply_to(zh, zh.send("/roles"), "7011")
    assert "• 7011 · partner · 地区：653226 · Keriya Bureau · 民政" in roles.splitlines(), roles
    usage = await reply_to(zh, zh.send("/grant 7017"), "/grant")
    assert "农业农村" in usage and "妇联" in usage


async def test_an_admin_grants_a_county_in_the_chat(tg: FakeTelegram, r: Running) -> None:
    admin = tg.user(ADMIN, first_name="Admin", language_code="en")
    said = await reply_to(admin, admin.send("/grant 7005 caseworker 653226 6531 Ma Li"), "is now")
    assert said == "7005 is now caseworker.\nRegion: 6531, 653226"
    assert await r.store.roles.scope(7005, "caseworker") == Scope(frozenset({"653226", "6531"}))
    grants = {g.user_id: g for g in await r.store.roles.grants("caseworker")}
    assert grants[7005].label == "Ma Li"
    roles = await reply_to(admin, admin.send("/roles"), "7005")
    assert "• 7005 · caseworker · Region: 6531, 653226 · Ma Li" in roles.splitlines()
    # Again without a code: the name changes, the regions stay.
    await reply_to(admin, admin.send("/grant 7005 caseworker Ma Lihua"), "already was")
    assert await r.store.roles.scope(7005, "caseworker") == Scope(frozenset({"653226", "6531"}))
    # A name alone, as before regions: every region.
    await reply_to(admin, admin.send("/grant 12 partner Yutian County Bureau"), "is now partner")
    assert await r.store.roles.scope(12, "partner") == EVERYWHERE
