"""Security: nobody is let in where they do not belong, and nothing they send can hurt.

The authorization matrix is generated from the handlers the real ``Application`` registers:
every command, callback pattern and message handler must be declared below with the roles
allowed to use it (a new privileged handler that is not declared fails the first test), and
every operation a privileged callback dispatcher knows must have a sample. Then each
privileged command and callback is tried by a stranger, an applicant (with a sent intake), a
partner, a caseworker and an admin wherever they do not belong: each gets a refusal that
reveals nothing, and the database does not change.

Also here: forged buttons on other people's intakes, per-person rate limiting, files sent
by non-admins, over-long answers, an applicant's reply with HTML in it reaching a caseworker
escaped and split, and webhook mode with its secret token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, TypeHandler

from bot.config import ConfigError, Settings
from telegram_channel import buttons
from telegram_channel.app import build_application, open_services, start_webhook, stop_app
from telegram_channel.buttons.codec import Board, fits, pack
from telegram_channel.buttons.flows import FlowOp
from telegram_channel.buttons.plan import MeasureOp, PlanOp
from telegram_channel.guard import RateLimit
from tests.conftest import TOKEN, Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import old_referral, wait_until

FLOW = """
id: security-test
languages: [en, zh]
title: {en: Security test, zh: 安全测试}
steps:
  - id: consent
    type: consent
    text: {en: May we use your answers to help you?, zh: 我们可以用你的回答来帮助你吗？}
  - id: name
    type: text
    tags: [name, partner]
    max_length: 50
    text: {en: Your name?, zh: 你的姓名？}
  - id: village
    type: text
    tags: [region, partner]
    text: {en: Which village?, zh: 哪个村？}
  - id: phone
    type: phone
    sensitive: true
    tags: [partner]
    text: {en: Your phone?, zh: 你的电话？}
  - id: hurt
    type: choice
    text: {en: Were you injured by a crime?, zh: 你是否因犯罪受伤？}
    choices:
      - {value: "yes", label: {en: "Yes", zh: 是}}
      - {value: "no", label: {en: "No", zh: 否}}
eligibility:
  - {id: injured, when: "hurt == 'yes'", label: {en: Injured by a crime, zh: 因犯罪受伤}}
"""

ADMIN, CW, PARTNER, APPLICANT, DRAFTER, STRANGER = 1, 2, 3, 4, 6, 9
GROUP = -100888
NAME, VILLAGE = "Zhang Sanfeng-X1", "Red Star Village-X2"
QUICK = 0.05

ONLY_ADMINS = "This is only for admins."
ONLY_CASEWORKERS = "This is only for caseworkers of the procuratorate."
ONLY_PARTNERS = "This is only for liaisons of the agriculture department."
ONLY_STAFF = "This is only for caseworkers and admins."
ONLY_SUPERVISORS = "This is only for supervisors of the procuratorate."
ONLY_ADMIN_FILES = "Only admins can change the interview. Nothing was read from that file."
REFUSALS = {ONLY_ADMINS, ONLY_CASEWORKERS, ONLY_PARTNERS, ONLY_STAFF, ONLY_SUPERVISORS}

# --- the matrix ---------------------------------------------------------------------------

PUBLIC = frozenset({"stranger", "applicant", "partner", "caseworker", "admin"})
OWNER = "owner"  # anyone may tap; it acts only on the tapper's own intake
ROLES = ("stranger", "applicant", "partner", "caseworker", "admin")

#: command -> who may use it, and the arguments to try it with ({ref} is the sent intake).
COMMANDS: dict[str, tuple[frozenset[str], str]] = {
    "start": (PUBLIC, ""),
    "help": (PUBLIC, ""),
    "status": (PUBLIC, ""),
    "cancel": (PUBLIC, ""),
    "language": (PUBLIC, ""),
    "mydata": (PUBLIC, ""),
    "delete": (PUBLIC, ""),
    "correct": (PUBLIC, ""),
    "grant": (frozenset({"admin"}), f"{STRANGER} admin"),
    "revoke": (frozenset({"admin"}), f"{CW} caseworker"),
    "roles": (frozenset({"admin"}), ""),
    "flow": (frozenset({"admin"}), ""),
    "flows": (frozenset({"admin"}), ""),
    "expiry": (frozenset({"admin"}), "1"),
    "stats": (frozenset({"admin", "caseworker", "supervisor"}), ""),
    "export": (frozenset({"admin", "caseworker", "supervisor"}), ""),
    "queue": (frozenset({"caseworker", "supervisor"}), ""),
    "mine": (frozenset({"caseworker"}), ""),
    "open": (frozenset({"caseworker", "supervisor"}), "{ref}"),
    "assign": (frozenset({"supervisor"}), f"{{ref}} {CW}"),
    "find": (frozenset({"caseworker", "supervisor"}), "{ref}"),
    "referrals": (frozenset({"partner"}), ""),
    "clue": (frozenset({"partner"}), ""),
}

# fmt: off
CASEWORKER_OPS = ("q", "m", "o", "l", "cl", "to", "rl", "as", "ap", "ac", "dc", "dr", "do", "dy", "nt",
                  "rf", "rp", "rn", "er", "en", "at", "rv", "cq", "pf", "x")
# fmt: on

#: callback pattern -> who may tap, and the operations (sample data built per world below).
CALLBACKS: dict[str, tuple[frozenset[str] | str, tuple[str, ...]]] = {
    "^l:": (PUBLIC, ()),
    "^d:": (OWNER, ("y", "n", "r")),
    "^[arx]:": (OWNER, ()),
    "^y:": (OWNER, ()),  # Done under a caseworker's question: the tapper's own intake only
    "^k:": (OWNER, ()),  # a check-in after the decision: the tapper's own intake only
    "^f:": (frozenset({"admin"}), ("p", "t", "r", "a", "k")),
    "^c:": (frozenset({"caseworker"}), CASEWORKER_OPS),
    "^p:": (frozenset({"partner"}), ("a", "d", "o", "t", "r")),
    "^s:": (frozenset({"supervisor"}), ("as", "at", "ok", "rt", "ro")),
    "^e:": (frozenset({"admin", "caseworker", "supervisor"}), ("x",)),  # /export's confirmation
    "^m:": (frozenset({"caseworker"}), ("v", "a", "k", "t", "b", "d", "e", "s")),  # a plan
    "^w:": (frozenset({"partner"}), ("o", "A", "a", "p", "d", "n", "g")),  # its measures
}

#: message handlers (not commands), by their callback, and who they act for.
MESSAGES: dict[str, frozenset[str]] = {
    "AdminHandlers.upload": frozenset({"admin"}),
    # Staff commands in a group: anyone there is told to use the private chat, nothing more.
    "CaseworkerHandlers.in_group": PUBLIC,
    "ApplicantHandlers.on_edited": PUBLIC,
    "ApplicantHandlers.unknown_command": PUBLIC,
    "ApplicantHandlers.on_message": PUBLIC,
}
GUARDS = {"RateLimit"}


def registered(app: Any) -> tuple[set[str], set[str], set[str], set[str]]:
    """Commands, callback patterns, message handlers and guards the application has."""
    commands, patterns, messages, guards = set(), set(), set(), set()
    for group in app.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler):
                commands |= set(handler.commands)
            elif isinstance(handler, CallbackQueryHandler):
                assert handler.pattern is not None, f"a callback handler for everything: {handler}"
                pattern = handler.pattern
                patterns.add(pattern if isinstance(pattern, str) else pattern.pattern)
            elif isinstance(handler, MessageHandler):
                messages.add(handler.callback.__qualname__)
            elif isinstance(handler, TypeHandler):
                guards.add(type(handler.callback).__name__)
            else:
                raise AssertionError(f"a handler the matrix does not know how to judge: {handler}")
    return commands, patterns, messages, guards


def test_the_matrix_covers_every_registered_handler(tmp_path: Path) -> None:
    async def build() -> tuple[set[str], set[str], set[str], set[str], list[str]]:
        settings = Settings(token=TOKEN, db_path=str(tmp_path / "m.db"), secret_key="k")
        services = await open_services(settings)
        try:
            app = build_application(services)
            return (*registered(app), sorted(app.bot_data))
        finally:
            await services.store.close()

    commands, patterns, messages, guards, _ = asyncio.run(build())
    assert commands == set(COMMANDS), "declare new commands in COMMANDS with their roles"
    assert patterns == set(CALLBACKS), "declare new callback patterns in CALLBACKS"
    assert messages == set(MESSAGES), "declare new message handlers in MESSAGES"
    assert guards == GUARDS

    # Every operation the privileged buttons can carry has a sample in the matrix, as the
    # button codecs read them: a new one appears here before anyone writes a test for it.
    known = {
        "^c:": set(buttons.codes(buttons.CASEWORKER)),
        "^p:": set(buttons.codes(buttons.PARTNER)),
        "^s:": set(buttons.codes(buttons.SUPERVISOR)),
        "^f:": {str(op) for op in FlowOp},
        "^m:": {str(op) for op in PlanOp},
        "^w:": {str(op) for op in MeasureOp},
    }
    for pattern, ops in known.items():
        assert ops, pattern
        assert ops <= set(CALLBACKS[pattern][1]), (pattern, ops - set(CALLBACKS[pattern][1]))


# --- the world the matrix is tried in -----------------------------------------------------


@dataclass
class World:
    r: Running
    tg: FakeTelegram
    ref: str
    intake_id: int
    referral_id: int
    draft_id: int
    upload_id: int
    flow_rowid: int
    measure_id: int

    def person(self, role: str) -> FakeUser:
        ids = {
            "stranger": STRANGER,
            "applicant": APPLICANT,
            "partner": PARTNER,
            "caseworker": CW,
            "admin": ADMIN,
        }
        return self.tg.user(ids[role], language_code="en", first_name=role.title())

    def samples(self, pattern: str) -> list[str]:
        """Callback data for every operation of a privileged pattern, on real records."""
        _, ops = CALLBACKS[pattern]
        if pattern == "^c:":
            return [self._c(op) for op in ops]
        if pattern == "^p:":
            return [f"p:{op}:{self.referral_id}:0" for op in ops]
        if pattern == "^s:":  # on a proposal (none waits: a made-up id) or the intake
            on_proposal = ("ok", "rt")
            return [
                f"s:{op}:{1 if op in on_proposal else self.intake_id}:{CW if op == 'at' else 0}"
                for op in ops
            ]
        if pattern == "^f:":
            target = {
                "p": self.upload_id,
                "t": self.upload_id,
                "r": self.flow_rowid,
                "a": self.flow_rowid,
                "k": self.flow_rowid,
            }
            return [f"f:{op}:{target[op]}:0" for op in ops]
        if pattern == "^e:":  # an export waiting for its confirmation: a made-up id
            return ["e:1"]
        if pattern == "^m:":  # on the intake; a pick carries a partner, days or an index
            arg = {"b": PARTNER, "d": 30}
            return [f"m:{op}:{self.intake_id}:{arg.get(op, 0)}" for op in ops]
        if pattern == "^w:":  # on the intake, a measure (a made-up id: none exists) or a page
            return [f"w:{op}:{self.intake_id if op in 'oA' else self.measure_id}:0" for op in ops]
        raise AssertionError(pattern)

    def _c(self, op: str) -> str:
        if op in ("q", "m"):
            return f"c:{op}:0:0"
        if op == "rp":
            return f"c:rp:{self.intake_id}:{PARTNER}"
        return f"c:{op}:{self.intake_id}:0"


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


async def submit(ap: FakeUser, name: str = NAME, village: str = VILLAGE) -> str:
    await ap.ask("/start", settle=QUICK)
    await ap.tap("✅ I agree")
    await ap.wait_reply(settle=QUICK)
    await ap.ask(name, settle=QUICK)
    await ap.ask(village, settle=QUICK)
    await ap.press("📱 Share my phone number")
    await ap.wait_reply(settle=QUICK)
    await ap.tap("Yes")
    await ap.wait_reply(settle=QUICK)
    await ap.tap("📨 Send")
    replies = await ap.wait_reply()
    refs = re.findall(r"<b>([A-Z0-9]{3}-[A-Z0-9]{3})</b>", replies[-1].text or "")
    assert refs, [str(m) for m in replies]
    return refs[0]


async def snapshot(r: Running) -> dict[str, Any]:
    """Everything a privileged action could change (not ``users``: any contact updates
    the name and language the bot remembers)."""
    db = r.store.db

    async def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(x) for x in await db.fetchall(sql)]

    return {
        "intakes": await rows(
            "SELECT id, ref, status, assignee, amount_fen, decision_reason, applicant_id,"
            " deletion_requested_at, anonymised_at, state, is_clue FROM intakes ORDER BY id"
        ),
        "referrals": await rows("SELECT * FROM referrals ORDER BY id"),
        "measures": await rows("SELECT * FROM measures ORDER BY id"),
        "roles": await rows("SELECT user_id, role, label FROM roles ORDER BY user_id, role"),
        "flows": await rows("SELECT rowid, * FROM flows ORDER BY rowid"),
        "uploads": await rows("SELECT * FROM flow_uploads ORDER BY rowid"),
        "previews": await rows("SELECT * FROM previews"),
        "settings": await rows("SELECT * FROM settings ORDER BY key"),
        "pending": await rows("SELECT * FROM pending ORDER BY user_id"),
        "messages": await rows("SELECT id FROM messages ORDER BY id"),
        "consents": await rows("SELECT id FROM consents ORDER BY id"),
        "outbox": await rows("SELECT id FROM outbox ORDER BY id"),
        "audit": await rows("SELECT id FROM audit ORDER BY id"),
    }


@pytest.fixture
async def world(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[World]:
    r = Running(
        tg,
        make_settings(
            tg,
            tmp_path / "intake.db",
            admin_ids=frozenset({ADMIN}),
            caseworker_chat=GROUP,
            rate_limit=0,
        ),
    )
    await r.start()
    try:
        await r.store.flows.publish(FLOW)
        await r.store.roles.grant(CW, "caseworker")
        await r.store.roles.grant(PARTNER, "partner", label="Hotan County Bureau")
        r.app.bot_data["sender"].idle = 0.1  # type: ignore[attr-defined]
        work = r.services.casework  # type: ignore[union-attr]

        ref = await submit(tg.user(APPLICANT, language_code="en", first_name="Zhang"))
        row = await r.store.db.fetchone("SELECT id FROM intakes WHERE ref = ?", (ref,))
        assert row is not None
        iid = int(row["id"])
        await work.claim(CW, iid)
        # A referral from before the plan (an old database), still worked by its partner.
        rid = (await old_referral(r.store, iid, CW, PARTNER, "Please visit the family")).id
        # A plan with one measure for the partner, sent: what the plan buttons act on.
        plans, tr = work.plans, r.services.i18n.tr("en")  # type: ignore[union-attr]
        await plans.start(CW, iid)
        await plans.ask_kind_words(CW, iid)
        await plans.kind_words(CW, iid, "Skills training")
        await plans.pick_body(CW, iid, PARTNER, tr)
        mid = (await plans.due_in(CW, iid, 30)).id
        await plans.send(CW, iid)

        drafter = tg.user(DRAFTER, language_code="en", first_name="Ma")
        await drafter.ask("/start", settle=QUICK)
        await drafter.tap("✅ I agree")
        await drafter.wait_reply(settle=QUICK)
        await drafter.ask("Ma Draft-X3", settle=QUICK)
        draft = (await r.store.intakes.load_for_applicant(DRAFTER)).draft
        assert draft is not None

        admin_user = tg.user(ADMIN, language_code="en", first_name="Admin")
        await admin_user.send_document("flow.yaml", FLOW.replace("Your name?", "Name?").encode())
        summary = (await admin_user.wait_reply())[-1]
        publish = summary.button_data.get("🚀 Publish")
        assert publish, str(summary)
        upload_id = int(publish.split(":")[2])
        rowid = (await r.store.flows.versions())[0].rowid

        await outbox_empty(r)
        await tg.wait_idle()
        yield World(r, tg, ref, iid, rid, draft.id, upload_id, rowid, mid)
    finally:
        await r.stop()


def secrets_of(w: World) -> tuple[str, ...]:
    return (w.ref, NAME, VILLAGE, "13800000004", "Ma Draft-X3", "Please visit the family")


# --- privileged commands ------------------------------------------------------------------


async def test_privileged_commands_are_refused_where_they_do_not_belong(world: World) -> None:
    w, tg = world, world.tg
    before = await snapshot(w.r)
    files = tg.call_count("sendDocument") + tg.call_count("sendPhoto")
    tried = 0
    for role in ROLES:
        person = w.person(role)
        commands = [
            f"/{name} {args.format(ref=w.ref)}".strip()
            for name, (allowed, args) in COMMANDS.items()
            if allowed != PUBLIC and role not in allowed
        ]
        if not commands:
            continue
        for command in commands:
            await person.send(command)
        replies = await person.wait_reply(timeout=15, settle=0.2, min_messages=len(commands))
        texts = [m.text or "" for m in replies]
        assert len(texts) == len(commands), (role, commands, texts)
        for command, text in zip(commands, texts, strict=True):
            assert text in REFUSALS, (role, command, text)
            assert all(s not in text for s in secrets_of(w))
            assert not replies[texts.index(text)].buttons
        tried += len(commands)
    expected = sum(
        len(set(ROLES) - allowed) for allowed, _args in COMMANDS.values() if allowed != PUBLIC
    )
    assert tried == expected >= 40  # e.g. 6 admin commands x 4 people who are not admins

    await outbox_empty(w.r)
    assert await snapshot(w.r) == before
    assert tg.call_count("sendDocument") + tg.call_count("sendPhoto") == files


async def test_unknown_commands_are_answered_with_help(world: World) -> None:
    stranger = world.person("stranger")
    [reply] = await stranger.ask("/frobnicate now")
    assert reply.text.startswith("I do not know that command.")
    assert "/start" in reply.text and "/queue" not in reply.text  # help for what they are
    cw = world.person("caseworker")
    [reply] = await cw.ask("/frobnicate")
    assert "/queue" in reply.text


# --- privileged callbacks -----------------------------------------------------------------


async def test_privileged_callbacks_are_refused_where_they_do_not_belong(world: World) -> None:
    w, tg = world, world.tg
    before = await snapshot(w.r)
    files = tg.call_count("sendDocument") + tg.call_count("sendPhoto")
    tried = 0
    for role in ROLES:
        person = w.person(role)
        taps = [
            (pattern, data)
            for pattern, (allowed, _ops) in CALLBACKS.items()
            if allowed not in (PUBLIC, OWNER) and role not in allowed
            for data in w.samples(pattern)
        ]
        sent_before = len(person.messages)
        updates = [(pattern, data, await person.tap_data(data)) for pattern, data in taps]
        await wait_until(
            lambda p=person, us=updates: all(p.callback_answer(u) for _, _, u in us),
            15,
            f"answers to {role}'s taps",
        )
        await tg.wait_idle(settle=0.2)
        for pattern, data, update in updates:
            answer = person.callback_answer(update) or {}
            expected = {
                "^c:": ONLY_CASEWORKERS,
                "^p:": ONLY_PARTNERS,
                "^f:": ONLY_ADMINS,
                "^s:": ONLY_SUPERVISORS,
                "^e:": ONLY_STAFF,
                "^m:": ONLY_CASEWORKERS,
                "^w:": ONLY_PARTNERS,
            }
            assert answer.get("text") == expected[pattern], (role, data, answer)
        assert len(person.messages) == sent_before, (role, person.texts()[sent_before:])
        tried += len(updates)
    expected = sum(
        len(set(ROLES) - allowed) * len(ops)
        for allowed, ops in CALLBACKS.values()
        if isinstance(allowed, frozenset) and allowed != PUBLIC
    )
    assert tried == expected >= 100  # 27 operations x 4 people each

    await outbox_empty(w.r)
    assert await snapshot(w.r) == before
    assert tg.call_count("sendDocument") + tg.call_count("sendPhoto") == files


async def test_forged_buttons_on_other_peoples_intakes_change_nothing(world: World) -> None:
    """The applicant's own buttons carry an intake id; anyone else's tap with that id, or
    with a made-up one, must neither act on it nor reveal anything."""
    w, tg = world, world.tg
    before = await snapshot(w.r)
    forged = [
        f"d:{w.intake_id}:r",  # ask to delete someone else's sent intake
        f"d:{w.draft_id}:y",  # erase someone else's draft
        f"x:{w.draft_id}:y",  # withdraw someone else's draft
        f"r:{w.draft_id}:u:0",  # send someone else's draft
        f"r:{w.draft_id}:e:1",
        f"a:{w.draft_id}:1:y:0",  # answer someone else's question
        f"a:{w.draft_id}:2:s:0",
        "d:99999999:y",
        "d:abc:y",
        "a:1:2:3",
        "zz:1:2",
        "c:o:1",
        "p:a:-1",
        "f:p:x:0",
        "l:xx:0",
    ]
    for role in ("stranger", "partner", "caseworker"):
        person = w.person(role)
        seen = len(person.messages)  # the partner already holds the referral: that is theirs
        updates = [await person.tap_data(data) for data in forged]
        await tg.wait_idle(settle=0.2)
        said = person.texts()[seen:] + [
            str((person.callback_answer(u) or {}).get("text", "")) for u in updates
        ]
        for text in said:
            assert all(s not in text for s in secrets_of(w)), (role, text)
    # The applicant's own intake is not a draft: their forged draft buttons do nothing either.
    applicant = w.person("applicant")
    for data in forged[1:7]:
        await applicant.tap_data(data)
    await tg.wait_idle(settle=0.2)
    await outbox_empty(w.r)
    assert await snapshot(w.r) == before


async def test_buttons_with_digits_int_cannot_read_are_ignored_without_an_error(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """ "²" and "፩" pass ``str.isdigit`` but not ``int``: a modified client sending them in
    button data must get its tap answered and nothing else, with no traceback in the log
    (before, each one was an ERROR with the update's handling cut short), whoever it is."""
    w, tg = world, world.tg
    caplog.set_level(logging.INFO)
    before = await snapshot(w.r)
    forged = [
        "c:o:²:0",
        "c:o:፩:0",
        f"c:rp:{w.intake_id}:²",
        "c:o:٣:0",  # a real digit, but not one of ours: ids are ASCII
        "c:o:99999999999999999999999:0",
        "c:o:9999999999999999999:0",  # 19 digits: beyond what SQLite holds
        "c:o::0",
        "c:o",
        "c:" + "o:1" * 40,
        "p:a:²:0",
        "p:o:1:፩",
        "f:p:²:0",
        "a:²:1:c:0",
        "a:1:¹:c:0",
        "r:²:u:0",
        "x:፩:y",
        "d:²:y",
        "l:²:1",
    ]
    for role in ("stranger", "caseworker", "partner", "admin", "applicant"):
        person = w.person(role)
        updates = [await person.tap_data(data) for data in forged]
        await wait_until(
            lambda p=person, us=updates: all(p.callback_answer(u) for u in us),
            15,
            f"answers to {role}'s forged taps",
        )
        await tg.wait_idle(settle=0.2)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.name, r.getMessage(), r.exc_info) for r in errors]
    await outbox_empty(w.r)
    assert await snapshot(w.r) == before
    # Told apart as not valid, before any role is looked at: the same for everyone.
    for role in ("stranger", "caseworker"):
        person = w.person(role)
        for data in ("c:o:፩:0", "c:o::0"):
            update = await person.tap_data(data)
            await wait_until(lambda p=person, u=update: p.callback_answer(u), 5, "an answer")
            answer = person.callback_answer(update) or {}
            assert answer.get("text") == "That button is not valid any more.", (role, data)
    cw = w.person("caseworker")
    # And the bot goes on answering: the caseworker's queue, the applicant's status.
    queue = await cw.ask("/queue", settle=QUICK)
    assert any(w.ref in (m.text or "") for m in queue)
    status = await w.person("applicant").ask("/status", settle=QUICK)
    assert any(w.ref in (m.text or "") for m in status)


# --- abuse --------------------------------------------------------------------------------


async def test_rate_limit_answers_once_politely_then_ignores(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    r = Running(tg, make_settings(tg, tmp_path / "intake.db", rate_limit=5))
    await r.start()
    try:
        fast = tg.user(7, language_code="en", first_name="Fast")
        for _ in range(9):
            await fast.send("/help")
        replies = await fast.wait_reply(settle=0.4, min_messages=6)
        texts = [m.text or "" for m in replies]
        polite = "You are sending messages very fast. Please wait a moment, then go on."
        assert texts.count(polite) == 1, texts
        assert len(texts) == 6 and texts[-1] == polite  # 5 answers, then one warning
        await fast.send("/help")
        await fast.expect_no_reply(within=0.3)
        # Somebody else is not slowed down by them.
        other = tg.user(8, language_code="en", first_name="Calm")
        [reply] = await other.ask("/help")
        assert reply.text != polite
    finally:
        await r.stop()


async def test_rate_limit_window_unit() -> None:
    limit = RateLimit(None, limit=3, per=0.5)  # type: ignore[arg-type]
    assert [limit.allow(1, now=t) for t in (0.0, 0.1, 0.2, 0.3, 0.4)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert limit.allow(2, now=0.4)  # per person
    assert limit.allow(1, now=0.55)  # the first hit left the window
    assert not limit.allow(1, now=0.56)
    assert limit.allow(1, now=1.5) and limit.allow(1, now=1.5)
    off = RateLimit(None, limit=0, per=60)  # type: ignore[arg-type]
    assert off.limit == 0  # 0 turns it off: __call__ lets everything through


async def test_files_from_non_admins_are_never_downloaded(world: World) -> None:
    w, tg = world, world.tg
    before = await snapshot(w.r)
    gets = tg.call_count("getFile")
    for role in ("stranger", "applicant", "partner", "caseworker"):
        person = w.person(role)
        await person.send_document("flow.yaml", FLOW.encode(), mime_type="application/x-yaml")
        [reply] = await person.wait_reply()
        assert reply.text == ONLY_ADMIN_FILES
        await person.send_document("flow.yml", b"\x00\xff" * 1000, mime_type="text/yaml")
        [reply] = await person.wait_reply()
        assert reply.text == ONLY_ADMIN_FILES
    assert tg.call_count("getFile") == gets
    assert await snapshot(w.r) == before

    # An admin's huge file is refused before it is downloaded; a binary one is not a flow.
    admin_user = w.person("admin")
    await admin_user.send_document("big.yaml", b"#" * (300 * 1024))
    [reply] = await admin_user.wait_reply()
    assert "too large" in reply.text
    assert tg.call_count("getFile") == gets
    await admin_user.send_document("bin.yaml", bytes(range(256)) * 40)
    replies = await admin_user.wait_reply()
    assert "nothing was published" in replies[0].text
    assert (await snapshot(w.r))["flows"] == before["flows"]


async def test_over_long_and_unexpected_answers_are_refused(world: World) -> None:
    w, tg = world, world.tg
    newcomer = tg.user(11, language_code="en", first_name="New")
    await newcomer.ask("/start", settle=QUICK)
    await newcomer.tap("✅ I agree")
    await newcomer.wait_reply(settle=QUICK)
    gets = tg.call_count("getFile")
    for attempt in ("x" * 51, "长" * 51):
        [reply] = await newcomer.ask(attempt)
        assert reply.text.startswith("⚠️ ") and "<b>Your name?</b>" in reply.text
        assert "50" in reply.text
    await newcomer.send_document("huge.bin", b"\x00" * 100_000, mime_type="application/x-binary")
    [reply] = await newcomer.wait_reply()
    assert reply.text.startswith("⚠️ ") and "<b>Your name?</b>" in reply.text
    assert tg.call_count("getFile") == gets
    draft = (await w.r.store.intakes.load_for_applicant(newcomer.id)).draft
    assert draft is not None and draft.state.current == "name"
    assert "name" not in draft.state.answers
    [reply] = await newcomer.ask("x" * 50)
    assert "<b>Which village?</b>" in reply.text


async def test_an_applicants_reply_reaches_the_caseworker_escaped_and_split(
    world: World,
) -> None:
    w = world
    cw, ap = w.person("caseworker"), w.person("applicant")
    await cw.tap_data(f"c:as:{w.intake_id}:0")
    await cw.wait_reply()
    await cw.ask("Please tell us everything.")
    await wait_until(lambda: any("Please tell us everything." in t for t in ap.texts()))

    unit = "<script>alert('x')</script> & <b>bold</b> &amp; "
    reply = (unit * (5000 // len(unit) + 1))[:5000]
    before = len(cw.messages)
    await ap.send(reply)
    await wait_until(lambda: any("Received for application" in t for t in ap.texts()))
    await ap.tap("✔️ Done: send my answer")
    await wait_until(
        lambda: any("Open" in m.buttons[0] for m in cw.messages[before:] if m.buttons),
        15,
        "the reply with its Open button",
    )
    await outbox_empty(w.r)
    arrived = cw.messages[before:]
    assert len(arrived) >= 2, "not split"
    for message in arrived:
        text = message.text or ""
        assert len(html.unescape(re.sub(r"<[^>]+>", "", text))) <= 4096
        assert len(text) <= 4096
        assert "<script>" not in text and "<b>bold</b>" not in text
    raw = "".join(m.text or "" for m in arrived)
    assert "&lt;script&gt;" in raw and "&amp;amp;" in raw
    visible = "".join(html.unescape(re.sub(r"</?(b|i)>", "", m.text or "")) for m in arrived)
    # Casework.reply keeps the first 4000 characters (a person cannot send more than 4096).
    kept = reply[:4000].strip()
    squeeze = re.compile(r"\s+")
    assert squeeze.sub("", kept) in squeeze.sub("", visible)


def test_splitting_never_cuts_an_html_entity() -> None:
    from bot.messages import split_message

    unit = "<script>alert('x')</script> & <b>bold</b> &amp; "
    for offset in range(8):  # wherever the cut falls
        words = ("y" * offset + unit * 100)[:4000]
        text = (
            "The applicant replied on <b>ABC-DEF</b>:\n\n<i>" + html.escape(words, False) + "</i>"
        )
        chunks = split_message(text)
        assert all(len(c) <= 4096 for c in chunks)
        visible = "".join(html.unescape(re.sub(r"</?(b|i)>", "", c)) for c in chunks)
        assert words.replace(" ", "") in visible.replace(" ", "").replace("\n", ""), offset


# --- webhook mode -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_requires_the_secret_token(tg: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    secret = "s3cret-Token_42"
    url = f"http://127.0.0.1:{port}/intake-hook"
    settings = make_settings(
        tg,
        tmp_path / "intake.db",
        webhook_url=url,
        webhook_port=port,
        webhook_secret=secret,
        webhook_listen="127.0.0.1",
        rate_limit=0,
        admin_ids=frozenset({7000}),
    )
    # Without the secret, webhook mode does not start: one forged POST "from" an admin
    # saying /grant would otherwise have made anyone an admin.
    bare = dataclasses.replace(settings, webhook_secret=None)
    services = await open_services(bare)
    app = build_application(services, request_timeout=2)
    try:
        with pytest.raises(ConfigError, match="INTAKE_WEBHOOK_SECRET is not"):
            await start_webhook(app, bare)
        assert tg.calls_to("setWebhook") == []
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "something listens"
    finally:
        await stop_app(app)
        await services.store.close()

    services = await open_services(settings)
    app = build_application(services, request_timeout=2)
    try:
        await start_webhook(app, settings)
        [call] = tg.calls_to("setWebhook")
        assert call["url"] == url
        assert call["secret_token"] == secret
        assert tg.webhook_url

        person = tg.user(21, language_code="en", first_name="Hook")
        admin_user = tg.user(7000, language_code="en", first_name="Boss")

        def update(update_id: int, text: str, who: FakeUser = person) -> dict[str, Any]:
            command = text.split()[0]
            return {
                "update_id": update_id,
                "message": {
                    "message_id": update_id,
                    "date": int(time.time()),
                    "chat": who.chat,
                    "from": who.user,
                    "text": text,
                    "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
                },
            }

        async with httpx.AsyncClient(timeout=5) as client:
            before = await snapshot_users(services)
            for n, headers in enumerate(
                (
                    {},
                    {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    {"X-Telegram-Bot-Api-Secret-Token": secret + "x"},
                )
            ):
                for forged in (
                    update(10 + n, "/start"),
                    update(20 + n, "/grant 6666 admin", admin_user),
                ):
                    response = await client.post(url, json=forged, headers=headers)
                    assert response.status_code == 403
            await asyncio.sleep(0.3)
            assert tg.sent(person.chat_id) == []
            assert tg.sent(admin_user.chat_id) == []
            assert await snapshot_users(services) == before
            assert not await services.store.roles.has(6666, "admin")

            response = await client.post(
                url,
                json=update(2, "/start"),
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )
            assert response.status_code == 200
        await wait_until(
            lambda: any("✅ I agree" in m.buttons for m in tg.sent(person.chat_id)),
            10,
            "the bot's answer (the consent question) through the fake",
        )
        assert (await services.store.intakes.load_for_applicant(person.id)).draft is not None
    finally:
        await stop_app(app)
        await services.store.close()


async def snapshot_users(services: Any) -> list[tuple[Any, ...]]:
    db = services.store.db
    return [
        tuple(x)
        for x in await db.fetchall(
            "SELECT (SELECT COUNT(*) FROM intakes), (SELECT COUNT(*) FROM users),"
            " (SELECT COUNT(*) FROM audit)"
        )
    ]


def test_callback_data_telegram_would_refuse_is_never_built() -> None:
    """Telegram takes at most 64 bytes of callback data (UTF-8): a button with more would
    fail the whole message, so building it fails here, whatever the characters."""
    assert fits("a" * 64) == "a" * 64
    assert fits("审" * 21) == "审" * 21  # 63 bytes
    assert fits("🙂" * 16) == "🙂" * 16  # 64 bytes
    for too_long in ("a" * 65, "审" * 22, "🙂" * 17, "a:" + "审" * 21):
        with pytest.raises(ValueError):
            fits(too_long)
    assert pack(Board.QUESTION, 12, 3, "c", 0) == "a:12:3:c:0"
    with pytest.raises(ValueError):
        pack(Board.LANGUAGE, "审" * 22)
