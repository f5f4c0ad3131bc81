"""Admins changing the interview in Telegram, end to end, as the people involved notice it.

A real ``Application`` long-polls the fake Bot API (``tests.fakebot``) over a real SQLite file.
An admin (from INTAKE_ADMIN_IDS) exports the flow with /flow, sends files back (broken, valid,
too large, not UTF-8), reads the summary of the change, tries the uploaded flow in a preview,
publishes it and rolls it back with /flows; applicants start and finish interviews around
those changes, across a restart; a stranger's upload is refused unread; /expiry and the
housekeeping close idle drafts; /stats and ``intake-bot stats`` report the figures.

People here read English (``language_code="en"``) unless a test says otherwise, so labels
are the msgids. The admin who reads Chinese is checked against the zh catalog's msgstr, so
the test stays right when a msgid gets (or changes) its translation.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.flow.loader import default_flow_source, load_flow_text
from bot.flow.model import Flow
from bot.flow.sandbox import Budget
from bot.i18n import I18n
from bot.store import db as store_db
from command_line.cli import main as cli_main
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import sent_intake, wait_until
from tests.test_flowcheck import TOO_LONG
from tests.test_loader import ALIASES, alias_bomb

ADMIN, ADMIN_ZH, CW, STRANGER = 1, 7, 2, 9
FLOW_ID = "judicial-assistance"

DEFAULT_SOURCE = default_flow_source()
V1 = load_flow_text(DEFAULT_SOURCE)

# Labels as an English reader sees them (handlers/applicant.py, handlers/admin.py).
AGREE, BACK, DONE, SKIP = "✅ I agree", "⬅️ Back", "✔️ Done", "⏭ Skip"
SEND = "📨 Send"
OFF = "▫️ "
PUBLISH, TRY = "🚀 Publish", "🧪 Try it"
MARK = "🧪 <b>Preview</b> · "
REVIEW = "Please check your answers before sending:"
ONLY_ADMINS = "This is only for admins."
NOT_YOURS = "Only admins can change the interview. Nothing was read from that file."
TOO_LARGE = "That file is too large for a flow (at most 256 KB). Nothing was read."
PROBLEMS = "The file has problems; nothing was published:"

# --- the files an admin sends -----------------------------------------------------------


def _replace_once(source: str, old: str, new: str) -> str:
    assert source.count(old) == 1, f"expected {old!r} exactly once in the default flow"
    return source.replace(old, new)


def _line_of(source: str, text: str, occurrence: int = 1) -> int:
    """1-based number of the ``occurrence``-th line that equals ``text``."""
    found = [n for n, line in enumerate(source.splitlines(), start=1) if line == text]
    assert len(found) >= occurrence, f"{text!r} not found {occurrence} times"
    return found[occurrence - 1]


# Broken: the township step reuses the id "county", and the name step has a key that does
# not exist. Both problems must be reported with their lines.
BROKEN = _replace_once(
    _replace_once(DEFAULT_SOURCE, "  - id: township\n", "  - id: county\n"),
    "  - id: name\n    type: text\n",
    "  - id: name\n    type: text\n    colour: red\n",
)
DUPLICATE_LINE = _line_of(BROKEN, "  - id: county", 2)
FIRST_COUNTY_LINE = _line_of(BROKEN, "  - id: county", 1)
UNKNOWN_KEY_LINE = _line_of(BROKEN, "    colour: red")

# Valid and changed: a question added (land), a text changed (county), one removed
# (case_number, optional and named by no rule).
LAND_STEP = """  - id: land
    type: choice
    text: {zh: "家里有自己种的地吗？", en: "Does the household farm its own land?", ug: "ئائىلىنىڭ ئۆزى تېرىيدىغان يېرى بارمۇ؟"}
    choices:
      - value: "yes"
        label: {zh: "有", en: "Yes, we farm", ug: "بار"}
      - value: "no"
        label: {zh: "没有", en: "No land", ug: "يوق"}

"""
NEW_COUNTY = "In which county does the household live?"


def _without_case_number(source: str) -> str:
    start = source.index("  - id: case_number\n")
    end = source.index("  - id: own_fault\n")
    # Keep the comment lines that belong to own_fault.
    comment = source.rindex("\n\n", start, end) + 2
    return source[:start] + source[comment:]


V2_SOURCE = _without_case_number(
    _replace_once(
        _replace_once(
            DEFAULT_SOURCE, "  - id: what_happened\n", LAND_STEP + "  - id: what_happened\n"
        ),
        'en: "Which county does the household live in?"',
        f'en: "{NEW_COUNTY}"',
    )
)
V2 = load_flow_text(V2_SOURCE)
assert V2.has_step("land") and not V2.has_step("case_number")


# --- the bot and helpers ----------------------------------------------------------------


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """The bot with an admin from INTAKE_ADMIN_IDS, an admin granted in the database who
    reads Chinese, and a caseworker; the default flow is version 1."""
    # The per-user rate limit is off: these people answer far faster than anyone can.
    settings = make_settings(tg, tmp_path / "intake.db", admin_ids=frozenset({ADMIN}), rate_limit=0)
    running = Running(tg, settings)
    await running.start()
    try:
        await running.store.roles.grant(ADMIN_ZH, "admin")
        await running.store.roles.grant(CW, "caseworker")
        yield running
    finally:
        await running.stop()


def admin_of(tg: FakeTelegram) -> FakeUser:
    return tg.user(ADMIN, first_name="Zhao", language_code="en")


def person(tg: FakeTelegram, user_id: int, lang: str = "en") -> FakeUser:
    return tg.user(user_id, first_name=f"P{user_id}", language_code=lang)


def describe(messages: list[SentMessage]) -> list[str]:
    return [str(m)[:300] for m in messages]


def said(replies: list[SentMessage], text: str) -> SentMessage:
    found = [m for m in replies if text in (m.text or "")]
    assert found, f"no reply with {text!r}: {describe(replies)}"
    return found[-1]


async def arrives(chat: FakeUser, *needles: str, timeout: float = 8.0) -> SentMessage:
    """Wait for a message (e.g. one the outbox delivers) containing all ``needles``."""

    def found() -> list[SentMessage]:
        return [m for m in chat.messages if all(n in (m.text or "") for n in needles)]

    await wait_until(
        found, timeout, f"{needles} in chat {chat.chat_id}; got {describe(chat.messages)}"
    )
    return found()[-1]


async def upload(who: FakeUser, source: str | bytes, name: str = "flow.yaml") -> list[SentMessage]:
    data = source.encode("utf-8") if isinstance(source, str) else source
    await who.send_document(name, data, mime_type="application/x-yaml")
    return await who.wait_reply()


async def tap(who: FakeUser, label: str, message: SentMessage | None = None) -> list[SentMessage]:
    await who.tap(label, message)
    return await who.wait_reply()


async def versions(r: Running) -> list[tuple[int, bool, int | None]]:
    """(version, active, published by) of every version of the default flow."""
    return [
        (v.version, v.is_active, v.published_by)
        for v in await r.store.flows.versions()
        if v.flow_id == FLOW_ID
    ]


async def audit(r: Running, action: str) -> list[Any]:
    return await r.store.audit.recent(action=action)


def question(flow: Flow, step_id: str, lang: str = "en") -> str:
    """A step's question as the bot shows it: bold, HTML-escaped."""
    return f"<b>{html.escape(flow.pick(flow.step(step_id).text, lang), quote=False)}</b>"


def step_asked(flow: Flow, message: SentMessage) -> str | None:
    text = message.text or ""
    for step in flow.steps:
        if step.type != "note" and question(flow, step.id) in text:
            return step.id
    return None


Action = tuple[str, Any]

# How the walker answers, unless told otherwise: an adult crime victim, plain answers.
PLAIN: dict[str, Action] = {
    "applying_for": ("tap", "For myself"),
    "name": ("say", "Li Hua"),
    "birth_date": ("say", "1975-03-08"),
    "id_number": ("say", "430321197503080023"),
    "what_happened": ("tap", "Injured by a crime"),
    "case_stage": ("tap", "The court has given its judgment"),
    "own_fault": ("tap", "No"),
    "compensation": ("tap", "None at all"),
    "groups": ("taps", [OFF + "A person with a disability", DONE]),
    "help_wanted": ("taps", [OFF + "An assistance payment (救助金)", DONE]),
    "phone": ("say", "13800001234"),
}


def _default_action(flow: Flow, step_id: str) -> Action:
    step = flow.step(step_id)
    if step.type == "consent":
        return ("tap", AGREE)
    if step.type == "choice":
        return ("tap", step.choices[0].label["en"])
    if step.type == "multi_choice":
        if step.required:
            return ("taps", [OFF + step.choices[0].label["en"], DONE])
        return ("tap", DONE)
    if step.type == "number":
        return ("say", str(int(step.min)) if step.min is not None else "1")
    if step.type == "date":
        return ("say", "1975-03-08")
    if step.type == "phone":
        return ("say", "13800001234")
    if step.type == "attachments":
        return ("tap", SKIP)
    return ("say", "Test answer")


async def _do(who: FakeUser, action: Action) -> None:
    kind, arg = action
    if kind == "say":
        await who.ask(arg)
    elif kind == "tap":
        await tap(who, arg)
    else:
        for label in arg:
            await tap(who, label)


async def walk(
    who: FakeUser,
    flow: Flow,
    *,
    until: str | None = None,
    send: bool = True,
    answers: dict[str, Action] | None = None,
    limit: int = 60,
) -> list[str]:
    """Answer whatever the bot asks in ``flow`` (from the question shown last), until the
    question ``until`` is asked, or through the review (tapping Send when ``send``).
    Returns the ids of the questions asked, in order."""
    plan = {**PLAIN, **(answers or {})}
    asked: list[str] = []
    for _ in range(limit):
        last = who.last()
        if SEND in last.buttons:  # the review (its last part carries the buttons)
            assert any(REVIEW in (m.text or "") for m in who.messages[-3:]), describe([last])
            if send:
                await tap(who, SEND)
            return asked
        step_id = step_asked(flow, last)
        assert step_id is not None, f"no question of {flow.id} last: {describe(who.messages[-3:])}"
        if asked and asked[-1] == step_id:
            raise AssertionError(f"{step_id!r} asked twice: {describe(who.messages[-3:])}")
        asked.append(step_id)
        if step_id == until:
            return asked
        await _do(who, plan.get(step_id) or _default_action(flow, step_id))
    raise AssertionError(f"the interview did not end within {limit} questions: {asked}")


def first_text(message: SentMessage) -> str:
    """The text a message had when it was sent (before any edit)."""
    return (message.history[0] if message.history else message.text) or ""


async def draft_of(r: Running, who: FakeUser) -> Any:
    view = await r.store.intakes.load_for_applicant(who.id)
    return view.draft


# --- 1. export --------------------------------------------------------------------------


async def test_flow_sends_the_current_flow_as_a_yaml_document(r: Running, tg: FakeTelegram) -> None:
    admin = admin_of(tg)
    [doc] = await admin.ask("/flow")
    assert doc.kind == "document"
    assert doc.file_name == f"{FLOW_ID}-v1.yaml"
    assert doc.document_bytes == DEFAULT_SOURCE.encode("utf-8")
    assert doc.document_bytes == (await r.store.flows.source(FLOW_ID, 1)).encode("utf-8")
    assert f"{FLOW_ID}, version 1" in (doc.text or "")
    # It says where the format is explained, and that file is there.
    assert "How to write it: docs/flow-format.md" in (doc.text or "")
    assert (Path(__file__).parent.parent / "docs" / "flow-format.md").is_file()

    # Anyone else (a caseworker too) gets one line and no file.
    for user_id in (STRANGER, CW):
        [no] = await person(tg, user_id).ask("/flow")
        assert (no.kind, no.text) == ("text", ONLY_ADMINS)
    assert tg.call_count("sendDocument") == 1


# --- 2. a broken upload -----------------------------------------------------------------


async def test_broken_upload_is_refused_at_its_lines_and_nothing_is_published(
    r: Running, tg: FakeTelegram
) -> None:
    before = await r.store.flows.versions()
    admin = admin_of(tg)
    replies = await upload(admin, BROKEN)
    text = "\n".join(m.text or "" for m in replies)
    assert text.startswith(f"⚠️ <b>{PROBLEMS}</b>"), describe(replies)
    problems = [line for line in text.splitlines() if line.startswith("• ")]
    assert f"• line {UNKNOWN_KEY_LINE}: unknown key 'colour' in a step" in problems[0], problems
    assert any(
        p.startswith(f"• line {DUPLICATE_LINE}: ")
        and "'county'" in p
        and f"line {FIRST_COUNTY_LINE}" in p
        for p in problems
    ), problems
    assert all(not m.buttons for m in replies)  # nothing to publish or try

    assert await r.store.flows.versions() == before
    assert [a.actor for a in await audit(r, "flow.published")] == [None]  # the seeded default
    # The next applicant still gets version 1.
    await person(tg, 301).ask("/start")
    assert (await draft_of(r, person(tg, 301))).flow_version == 1


async def test_broken_upload_is_refused_in_the_admins_language(
    r: Running, tg: FakeTelegram
) -> None:
    zh = I18n.load().tr("zh").gettext
    admin = tg.user(ADMIN_ZH, first_name="Zhao", language_code="zh-hans")
    replies = await upload(admin, BROKEN)
    text = "\n".join(m.text or "" for m in replies)
    assert text.startswith(f"⚠️ <b>{zh(PROBLEMS)}</b>"), describe(replies)
    problems = [line for line in text.splitlines() if line.startswith("• ")]
    assert len(problems) == 2, text
    for line, number in zip(problems, (UNKNOWN_KEY_LINE, DUPLICATE_LINE), strict=True):
        assert line.startswith("• " + zh("line {line}: {message}").format(line=number, message=""))
    for piece in fragments(zh("unknown key '{key}' in {what} (allowed: {allowed})")):
        assert piece in problems[0], (piece, problems[0])
    for piece in fragments(zh("step id '{id}' is already used at line {other}")):
        assert piece in problems[1], (piece, problems[1])
    assert await versions(r) == [(1, True, None)]


async def test_expression_and_yaml_errors_are_told_wholly_in_the_admins_language(
    r: Running, tg: FakeTelegram
) -> None:
    """A rule written wrong and a file whose layout is broken: a Chinese admin reads what
    is wrong in Chinese, with no English words from Python or the YAML reader."""
    zh = I18n.load().tr("zh").gettext
    admin = tg.user(ADMIN_ZH, first_name="Zhao", language_code="zh-hans")
    bad_rule = _replace_once(
        DEFAULT_SOURCE,
        "  - id: name\n    type: text\n",
        "  - id: name\n    type: text\n"
        '    relevant: "len(applying_for, 2) > (1"\n'
        '    constraint: "answer.upper() == 1"\n',
    )
    broken_layout = "id: x\nlanguages: [zh\nsteps:\n\t- id: a\n"
    for source, wanted in (
        (bad_rule, zh("syntax error near character {at}")),
        (bad_rule, zh("attribute access is not allowed")),
        (broken_layout, zh("YAML syntax: {error}")),
    ):
        replies = await upload(admin, source)
        text = "\n".join(m.text or "" for m in replies)
        problems = [line for line in text.splitlines() if line.startswith("• ")]
        assert problems, text
        for piece in fragments(wanted):
            assert any(piece in p for p in problems), (piece, problems)
        for line in problems:
            # Only names from the file itself (ids, keys, function names) stay in Latin.
            words = re.findall(r"[A-Za-z]{3,}", re.sub(r"'[^']*'|\w+\(\)", "", line))
            assert set(words) <= {"YAML", "relevant", "constraint", "Tab"}, (words, line)


def fragments(template: str) -> list[str]:
    """The literal parts of a ``str.format`` template (what must appear whatever the values)."""
    return [piece for piece in re.split(r"\{[a-z_]+\}", template) if piece.strip()]


# --- 3 and 4. a valid upload: the summary, then Try it ----------------------------------


async def test_valid_upload_is_summarised_and_tried_without_storing_an_intake(
    r: Running, tg: FakeTelegram
) -> None:
    # Someone is in the middle of version 1.
    mid = person(tg, 201)
    await mid.ask("/start")
    await walk(mid, V1, until="county")

    admin = admin_of(tg)
    replies = await upload(admin, V2_SOURCE)
    summary = replies[-1]
    text = summary.text or ""
    questions = sum(1 for s in V2.steps if s.asks_input)
    assert text.startswith("✅ <b>The file is valid.</b> "), describe(replies)
    assert f"Flow {FLOW_ID}: {questions} questions; languages zh, en, ug." in text
    assert "Compared with version 1, the current one:" in text
    assert "• questions added: land" in text
    assert "• questions removed: case_number" in text
    assert "• questions changed: county" in text
    assert "languages" not in text.split("the current one:")[1]  # no language changes
    assert "1 applicant is in the middle of version 1; they will finish on it." in text
    assert summary.buttons == [PUBLISH, TRY]
    assert await versions(r) == [(1, True, None)]  # nothing published yet

    # Try it: the admin walks the uploaded flow, every message marked as a preview.
    start = len(admin.messages)
    replies = await tap(admin, TRY)
    intro = said(replies, "Preview: you go through the interview as an applicant would.")
    assert "Nothing is stored as an intake. Send /cancel to stop." in intro.text
    asked = await walk(admin, V2)
    assert "land" in asked and "case_number" not in asked
    assert asked[asked.index("village") + 2] == "land"  # after rural, as in the file
    county = [m for m in admin.messages[start:] if question(V2, "county") in (m.text or "")]
    assert county and NEW_COUNTY in (county[0].text or "")

    end = admin.last()
    assert end.text.startswith(
        MARK + "The preview is finished; nothing was stored. This is what the caseworker would see:"
    ), describe([end])
    assert "Pre-screen: may qualify" in end.text
    assert "Seriously injured or disabled by a crime; the offender cannot pay" in end.text
    assert "Priority:" in end.text

    # Every question, note and the review came marked (the stricter check, edits and the
    # phone acknowledgement included, is test_every_message_of_a_preview_stays_marked).
    preview = [m for m in admin.messages[start:] if m is not intro]
    shown = [m for m in preview if step_asked(V2, m) or REVIEW in first_text(m)]
    assert len(shown) >= len(asked) + 1
    assert [m for m in shown if not first_text(m).startswith(MARK)] == []
    welcome = html.escape(V2.pick(V2.step("welcome").text, "en"), quote=False)
    assert any(first_text(m) == MARK + welcome for m in preview), describe(preview[:2])

    # Nothing was stored as an intake, the preview is gone, the applicant's count unchanged.
    assert await r.store.intakes.for_applicant(ADMIN) == []
    assert (await draft_of(r, admin)) is None
    row = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM previews")
    assert row["n"] == 0
    row = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM intakes")
    assert row["n"] == 1  # only the applicant's draft
    assert await versions(r) == [(1, True, None)]
    assert (await draft_of(r, mid)).flow_version == 1

    # Try it again and stop half-way with /cancel.
    await tap(admin, TRY, summary)
    await walk(admin, V2, until="name")
    [stopped] = await admin.ask("/cancel")
    assert stopped.text == "The preview was stopped. Nothing was stored."
    assert (await draft_of(r, admin)) is None
    assert await r.store.intakes.for_applicant(ADMIN) == []
    # After the preview, the admin's messages are no longer answers to it.
    [after] = await admin.ask("Li Hua")
    assert not (after.text or "").startswith(MARK)


MINI = """
id: mini-check
languages: [en, zh]
title: {en: Mini, zh: 小}
steps:
  - id: pet
    type: choice
    text: {en: Which pet?, zh: 什么宠物？}
    choices:
      - {value: cat, label: {en: A cat, zh: 猫}}
      - {value: dog, label: {en: A dog, zh: 狗}}
  - id: needs
    type: multi_choice
    text: {en: What do you need?, zh: 需要什么？}
    choices:
      - {value: food, label: {en: Food, zh: 食物}}
      - {value: money, label: {en: Money, zh: 钱}}
  - id: phone
    type: phone
    text: {en: Your phone?, zh: 电话？}
"""


async def test_every_message_of_a_preview_stays_marked(r: Running, tg: FakeTelegram) -> None:
    admin = admin_of(tg)
    replies = await upload(admin, MINI)
    assert "This is a new flow: publishing it makes it the interview new applicants get." in (
        replies[-1].text or ""
    )
    start = len(admin.messages)
    await tap(admin, TRY)
    await tap(admin, "A cat")
    await tap(admin, OFF + "Food")
    await tap(admin, DONE)
    await admin.ask("13800001234")
    assert REVIEW in "\n".join(m.text or "" for m in admin.messages[-3:])
    preview = admin.messages[start + 1 :]  # after the introduction
    unmarked = [m for m in preview if not (m.text or "").startswith(MARK)]
    unmarked += [m for m in preview if not first_text(m).startswith(MARK)]
    assert unmarked == [], describe(unmarked)


# --- 5. publish: new applicants get it, those in the middle finish on theirs -------------


async def test_publish_new_applicants_get_it_while_one_mid_interview_finishes_on_v1(
    r: Running, tg: FakeTelegram
) -> None:
    mid = person(tg, 201)
    await mid.ask("/start")
    asked_v1 = await walk(mid, V1, until="county")

    admin = admin_of(tg)
    summary = (await upload(admin, V2_SOURCE))[-1]
    replies = await tap(admin, PUBLISH)
    assert said(replies, "Published judicial-assistance version 2.").text == (
        "Published judicial-assistance version 2. New applicants get it now;"
        " those in the middle finish on their version."
    )
    assert summary.buttons == []  # the summary cannot be published twice
    assert await versions(r) == [(1, False, None), (2, True, ADMIN)]
    # /flows names who published it, as they go by in Telegram.
    [listing] = await admin.ask("/flows")
    assert f"{FLOW_ID} version 2 · published " in listing.text
    assert " by Zhao · " in listing.text and f"by {ADMIN} " not in listing.text
    [published] = (await audit(r, "flow.published"))[:1]
    assert (published.actor, published.detail) == (ADMIN, {"flow": FLOW_ID, "version": 2})
    assert await r.store.flows.source(FLOW_ID, 2) == V2_SOURCE

    # A new applicant gets version 2: the new county text, then the added question.
    new = person(tg, 202)
    await new.ask("/start")
    asked_v2 = await walk(new, V2, until="land")
    assert asked_v2[-1] == "land"
    county = [m for m in new.messages if question(V2, "county") in (m.text or "")]
    assert county and NEW_COUNTY in county[0].text
    assert (await draft_of(r, new)).flow_version == 2

    # The one in the middle goes on with version 1, across a restart.
    asked_v1 += (await walk(mid, V1, until="what_happened"))[1:]
    await r.restart()
    replies = await mid.ask("/start")
    assert said(replies, "Welcome back. Let us continue where you stopped.")
    asked_v1 += (await walk(mid, V1))[1:]
    assert "land" not in asked_v1 and "case_number" in asked_v1
    assert "Your application has been sent." in mid.last().text
    [intake] = await r.store.intakes.for_applicant(mid.id)
    assert (intake.status, intake.flow_version) == ("submitted", 1)
    assert "land" not in intake.state.answers and "case_number" in intake.state.answers

    # And the new one goes on with version 2 after the restart too: the added question,
    # and no case number between the case's stage and the question of fault.
    asked_v2 += (await walk(new, V2, until="own_fault", answers={"land": ("tap", "No land")}))[1:]
    assert asked_v2[-2:] == ["case_stage", "own_fault"] and "case_number" not in asked_v2
    [intake] = await r.store.intakes.for_applicant(new.id)
    assert (intake.status, intake.flow_version) == ("draft", 2)
    assert intake.state.answers["land"] == "no"
    counts = {v.version: v.intakes for v in await r.store.flows.versions() if v.flow_id == FLOW_ID}
    assert counts == {1: 1, 2: 1}


# --- 6. /flows and rollback ---------------------------------------------------------------


async def test_flows_lists_versions_and_rollback_makes_v1_current_again(
    r: Running, tg: FakeTelegram
) -> None:
    await r.store.flows.publish(V2_SOURCE, by=ADMIN)
    on_v2 = person(tg, 401)
    await on_v2.ask("/start")
    await walk(on_v2, V2, until="name")

    admin = admin_of(tg)
    [listing] = await admin.ask("/flows")
    en = I18n.load().tr("en")
    rows = {v.version: v for v in await r.store.flows.versions() if v.flow_id == FLOW_ID}
    lines = listing.text.splitlines()
    assert lines[0] == "<b>Flow versions</b>"
    # One way of writing a version throughout; who published it by name, never by a
    # number (this admin's name is not known yet: "an admin").
    assert (
        f"• {FLOW_ID} version 1 · published {en.datetime(rows[1].published_at)}"
        " by command line · 0 intakes"
    ) in lines
    assert (
        f"▶️ {FLOW_ID} version 2 · published {en.datetime(rows[2].published_at)}"
        " by an admin · 1 intake · <b>in use</b>"
    ) in lines
    assert f"by {ADMIN} " not in listing.text and " v1" not in listing.text
    make_v1 = f"↩️ Make {FLOW_ID} version 1 current"
    assert listing.buttons == [make_v1]

    # A caseworker may not list or roll back.
    [no] = await person(tg, CW).ask("/flows")
    assert no.text == ONLY_ADMINS

    # Rolling back asks first; No changes nothing.
    asked = said(await tap(admin, make_v1, listing), "Roll back")
    assert asked.text == (
        f"Roll back {FLOW_ID} to version 1? New applicants will get that version;"
        " those in the middle finish on theirs."
    )
    assert asked.buttons == ["↩️ Yes, roll back", "No, keep the current one"]
    kept = said(await tap(admin, "No, keep the current one", asked), "Nothing was changed.")
    assert kept.text == "Nothing was changed." and asked.buttons == []
    assert await versions(r) == [(1, False, None), (2, True, ADMIN)]
    assert await audit(r, "flow.rollback") == []

    asked = said(await tap(admin, make_v1, listing), "Roll back")
    replies = await tap(admin, "↩️ Yes, roll back", asked)
    assert said(replies, "is current again").text == (
        f"{FLOW_ID} version 1 is current again. New applicants get it now."
    )
    assert asked.buttons == []
    assert await versions(r) == [(1, True, None), (2, False, ADMIN)]
    [rollback] = await audit(r, "flow.rollback")
    assert (rollback.actor, rollback.detail) == (ADMIN, {"flow": FLOW_ID, "version": 1})

    # A new applicant gets version 1 again (no land question, the old county text) ...
    fresh = person(tg, 402)
    await fresh.ask("/start")
    asked = await walk(fresh, V1, until="what_happened")
    assert "land" not in asked
    county = [m for m in fresh.messages if question(V1, "county") in (m.text or "")]
    assert county and NEW_COUNTY not in county[0].text
    assert (await draft_of(r, fresh)).flow_version == 1
    # ... while the one who started on version 2 stays on it.
    asked = await walk(on_v2, V2, until="land")
    assert asked[-1] == "land" and (await draft_of(r, on_v2)).flow_version == 2

    # /flows now shows v1 in use and offers v2.
    [listing] = await admin.ask("/flows")
    assert any(line.startswith(f"▶️ {FLOW_ID} version 1 ") for line in listing.text.splitlines())
    assert listing.buttons == [f"↩️ Make {FLOW_ID} version 2 current"]


# --- 7. uploads that are refused -------------------------------------------------------


async def test_a_non_admins_upload_is_refused_unread_and_changes_nothing(
    r: Running, tg: FakeTelegram
) -> None:
    # An applicant in the middle of the interview: the file is not taken as an answer.
    mid = person(tg, 501)
    await mid.ask("/start")
    await walk(mid, V1, until="name")
    before = await r.store.flows.versions()
    for user_id in (STRANGER, CW):
        who = person(tg, user_id)
        [no] = await upload(who, V2_SOURCE)
        assert no.text == NOT_YOURS and not no.buttons
    [no] = await upload(mid, V2_SOURCE, name="my-flow.yml")
    assert no.text == NOT_YOURS
    assert (await draft_of(r, mid)).state.current == "name"

    assert tg.calls_to("getFile") == []  # the bot never fetched any of them
    assert await r.store.flows.versions() == before
    row = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM flow_uploads")
    assert row["n"] == 0

    # Buttons of an admin's upload, replayed by a stranger, do nothing either.
    admin = admin_of(tg)
    await upload(admin, V2_SOURCE)
    upload_id = (await r.store.db.fetchone("SELECT MAX(id) AS id FROM flow_uploads"))["id"]
    stranger = person(tg, STRANGER)
    for data in (f"f:p:{upload_id}:0", f"f:t:{upload_id}:0", f"f:r:{before[0].rowid}:0"):
        update = await stranger.tap_data(data)
        await stranger.expect_no_reply()
        await wait_until(lambda u=update: stranger.callback_answer(u), what="an answer")
        assert stranger.callback_answer(update).get("text") == ONLY_ADMINS
    assert await r.store.flows.versions() == before
    assert (await draft_of(r, stranger)) is None  # no preview started for them


async def test_too_large_and_not_utf8_files_are_refused_clearly(
    r: Running, tg: FakeTelegram
) -> None:
    admin = admin_of(tg)
    big = DEFAULT_SOURCE.encode("utf-8")
    big = big * (256 * 1024 // len(big) + 1)
    assert len(big) > 256 * 1024
    [no] = await upload(admin, big)
    assert no.text == TOO_LARGE
    assert tg.calls_to("getFile") == []  # refused from its size, without downloading

    gbk = MINI.replace("宠物", "宠物们").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    for data in (gbk, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"):
        replies = await upload(admin, data)
        text = "\n".join(m.text or "" for m in replies)
        assert text == f"⚠️ <b>{PROBLEMS}</b>\n• line 1: the file is not UTF-8 text", text
    assert await versions(r) == [(1, True, None)]
    row = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM flow_uploads")
    assert row["n"] == 0


# --- 8. idle drafts expire ------------------------------------------------------------------


async def test_expiry_set_by_an_admin_closes_idle_drafts_and_tells_the_applicant(
    r: Running, tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = admin_of(tg)
    [shown] = await admin.ask("/expiry")
    assert shown.text == (
        "Unfinished applications are closed after 30 days without answers."
        " To change it: /expiry DAYS"
    )
    [bad] = await admin.ask("/expiry 0")
    assert bad.text == "Please give a number of days from 1 to 365."
    [one] = await admin.ask("/expiry 1")
    assert one.text == "Unfinished applications are now closed after 1 day without answers."
    [done] = await admin.ask("/expiry 3")
    assert done.text == "Unfinished applications are now closed after 3 days without answers."
    housekeeping = r.services.housekeeping
    assert await housekeeping.draft_days() == 3
    changes = await audit(r, "settings.draft_days")
    assert [(a.actor, a.detail) for a in changes] == [(ADMIN, {"days": 3}), (ADMIN, {"days": 1})]
    for user_id in (STRANGER, CW):
        [no] = await person(tg, user_id).ask("/expiry 1")
        assert no.text == ONLY_ADMINS
    assert await housekeeping.draft_days() == 3

    # The consent says the days a draft now waits: the flow names the setting.
    shown_v1 = V1.with_values({**V1.values, "draft_days": "3"})
    idle = person(tg, 601)
    await idle.ask("/start")
    await walk(idle, shown_v1, until="birth_date")
    assert (await draft_of(r, idle)).state.answers["name"] == "Li Hua"
    consent = [m for m in idle.messages if "Before we start" in (m.text or "")]
    assert consent and "deleted after 3 days without activity" in first_text(consent[0])

    # Four days later someone else starts; then the housekeeping runs.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    set_clock(monkeypatch, later)
    fresh = person(tg, 602)
    await fresh.ask("/start")
    await walk(fresh, shown_v1, until="birth_date")
    assert await housekeeping.expire_drafts(now=later) == 1

    [closed] = await r.store.intakes.for_applicant(idle.id)
    assert closed.status == "expired" and closed.state.answers == {}
    [still] = await r.store.intakes.for_applicant(fresh.id)
    assert still.status == "draft" and still.state.answers["name"] == "Li Hua"
    told = await arrives(idle, "was not finished for 3 days")
    assert told.text == (
        "Your application was not finished for 3 days, so it was closed and your answers were"
        " deleted. Send /start to begin again."
    )
    assert not [m for m in fresh.messages if "was not finished" in (m.text or "")]
    assert [a.intake_id for a in await audit(r, "draft.expired")] == [closed.id]
    # Running it again changes nothing; /start begins a new application.
    assert await housekeeping.expire_drafts(now=later) == 0
    await idle.ask("/start")
    assert (await draft_of(r, idle)).id != closed.id


def set_clock(monkeypatch: pytest.MonkeyPatch, at: dt.datetime) -> None:
    """Make every module of the bot store times as if it were ``at``."""
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    clocked = [
        module
        for name, module in sorted(sys.modules.items())
        if name.split(".")[0] == "bot" and getattr(module, "now_iso", None) is store_db.now_iso
    ]
    assert clocked, "no module of the bot takes its time from bot.store.db.now_iso"
    for module in clocked:
        monkeypatch.setattr(module, "now_iso", lambda: stamp)


# --- 9. statistics ------------------------------------------------------------------------


async def submitted(r: Running, applicant: int, groups: list[str], help_wanted: list[str]) -> int:
    """A submitted intake on the current flow, as the interview leaves it."""
    answers: dict[str, Any] = {
        "name": f"Applicant {applicant}",
        "rural": "yes",
        "what_happened": "crime_injury",
        "groups": groups,
        "help_wanted": help_wanted,
    }
    intake_id, _ref = await sent_intake(r.store, answers, applicant=applicant, lang="en")
    return intake_id


async def test_stats_for_caseworkers_and_admins_and_on_the_command_line(
    r: Running,
    tg: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = await submitted(r, 701, ["disabled", "minor"], ["payment", "legal"])
    await submitted(r, 702, ["disabled"], ["payment"])
    work = r.services.casework
    await work.claim(CW, first)
    await work.approve(CW, first, "3000")
    await person(tg, 703).ask("/start")  # a draft: counted by status only

    en = I18n.load().tr("en")
    week = en.date(dt.date.today() - dt.timedelta(days=dt.date.today().weekday()))
    expected = [
        "Applications sent: 2",
        "• not sent yet: 1",
        "• received, waiting for review: 1",
        "• approved: 1",
        f"• week of {week}: 2",
        "• A person with a disability: 2",
        "• A child under 18: 1",
        "• An assistance payment (救助金): 2",
        "• Free legal help (legal aid): 1",
        "Total approved: CN¥3,000.00",
        "Median time from sending to decision: 0 days",
    ]
    for user_id in (CW, ADMIN):
        replies = await person(tg, user_id).ask("/stats")
        text = "\n".join(m.text or "" for m in replies)
        assert text.startswith("<b>Statistics</b>"), text
        for shown in [
            *expected,
            "<b>By status</b>",
            "<b>Sent per week</b>",
            question(V1, "groups"),
            question(V1, "help_wanted"),
        ]:
            assert shown in text.splitlines(), (shown, text)
        assert "• A retired soldier (veteran)" not in text  # nobody chose it
    [no] = await person(tg, STRANGER).ask("/stats")
    assert no.text == "This is only for caseworkers and admins."

    # The same figures from the command line, in plain text.
    monkeypatch.setenv("INTAKE_DB", r.settings.db_path)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(Path(r.settings.db_path).parent)  # no developer's intake-bot.toml
    capsys.readouterr()
    code = await asyncio.to_thread(cli_main, ["stats"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Statistics"
    for shown in [
        *expected,
        "By status",
        "Sent per week",
        V1.step("groups").text["en"],
        V1.step("help_wanted").text["en"],
    ]:
        assert shown in lines, (shown, out)
    assert "<b>" not in out


async def test_publish_tapped_twice_makes_one_version(r: Running, tg: FakeTelegram) -> None:
    admin = admin_of(tg)
    summary = (await upload(admin, V2_SOURCE))[-1]
    await admin.tap(PUBLISH, summary)
    await admin.tap(PUBLISH, summary)  # before the first tap took the buttons away
    await admin.wait_reply()
    await admin.expect_no_reply(0.3)
    assert await versions(r) == [(1, False, None), (2, True, ADMIN)]
    assert len(await audit(r, "flow.published")) == 2  # the seeded default and version 2


async def test_a_file_saved_by_windows_notepad_is_read_as_the_same_flow(
    r: Running, tg: FakeTelegram
) -> None:
    """UTF-8 with a byte order mark and CRLF line ends: valid, and nothing changed."""
    admin = admin_of(tg)
    data = b"\xef\xbb\xbf" + DEFAULT_SOURCE.replace("\n", "\r\n").encode("utf-8")
    summary = (await upload(admin, data, name="judicial-assistance-v1.YAML"))[-1]
    assert summary.text.startswith("✅ <b>The file is valid.</b>"), describe([summary])
    assert "• no changes" in summary.text
    assert "0 applicants are in the middle of version 1" in summary.text
    assert summary.buttons == [PUBLISH, TRY]


# --- 11. files built to freeze the bot (issue 30, finding 5) --------------------------------


async def _at_consent(tg: FakeTelegram, user_id: int) -> FakeUser:
    """An applicant looking at the consent question, about to tap I agree."""
    who = person(tg, user_id)
    await who.ask("/start")
    assert AGREE in who.last().buttons, describe(who.messages[-2:])
    return who


async def test_an_alias_bomb_is_refused_at_its_line_while_another_applicant_is_answered(
    r: Running, tg: FakeTelegram
) -> None:
    applicant = await _at_consent(tg, 601)
    admin = admin_of(tg)
    # Sent together: before, reading the 36 KB file held the bot for 46 s and 1.8 GB.
    await admin.send_document("bomb.yaml", alias_bomb().encode(), mime_type="application/x-yaml")
    await applicant.tap(AGREE)
    answered = await applicant.wait_reply(timeout=2.0)
    assert step_asked(V1, answered[-1]) == "applying_for", describe(answered)

    replies = await admin.wait_reply(timeout=10.0)
    text = "\n".join(m.text or "" for m in replies)
    assert text == f"⚠️ <b>{PROBLEMS}</b>\n• line 5: {html.escape(ALIASES, quote=False)}", text
    assert all(not m.buttons for m in replies)
    assert await versions(r) == [(1, True, None)]
    row = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM flow_uploads")
    assert row["n"] == 0


async def test_an_upload_over_its_time_budget_ends_with_a_message_and_others_are_answered(
    r: Running, tg: FakeTelegram
) -> None:
    r.services.flow_checker.budget = Budget(seconds=0.05)
    applicant = await _at_consent(tg, 602)
    admin = admin_of(tg)
    await admin.send_document("flow.yaml", V2_SOURCE.encode(), mime_type="application/x-yaml")
    await applicant.tap(AGREE)
    answered = await applicant.wait_reply(timeout=2.0)
    assert step_asked(V1, answered[-1]) == "applying_for", describe(answered)

    [stopped] = await admin.wait_reply(timeout=10.0)
    assert stopped.text == "⚠️ " + TOO_LONG.format(seconds="0.05")
    assert not stopped.buttons
    assert await versions(r) == [(1, True, None)]
    row = await r.store.db.fetchone("SELECT COUNT(*) AS n FROM flow_uploads")
    assert row["n"] == 0

    # With the normal budget the same file is checked and summarised as usual.
    r.services.flow_checker.budget = Budget()
    replies = await upload(admin, V2_SOURCE)
    assert replies[-1].text.startswith("✅ <b>The file is valid.</b> "), describe(replies)
    assert replies[-1].buttons == [PUBLISH, TRY]
