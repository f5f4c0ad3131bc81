"""Telegram's "/" command menu and /help, as each reader finds them.

A real ``Application`` serves the fake Bot API (``tests.fakebot``), which keeps what
``setMyCommands`` set per scope and language and forgets what ``deleteMyCommands``
deleted, as Telegram does. At every start (long polling and webhook) each language gets
the applicants' menu and each staff member's own chat gets the commands of every role
they hold, in their language; /grant, /revoke and /language change it at once; a role
taken away from the command line while the bot was down is taken back at the next start.
Every /help lists exactly the commands its reader may use, judged by the authorization
matrix of tests/test_security.py rather than by the table the bot reads. A staff command
in the caseworkers' group is answered with the way to the private chat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands import BY_ROLE, EVERYONE, ROLE_TITLES, for_roles
from bot.i18n import I18n, language_name
from bot.store.roles import ROLES
from telegram_channel.app import build_application, open_services, start_webhook, stop_app
from tests.conftest import Running, make_settings
from tests.fakebot import BOT_USERNAME, FakeTelegram, FakeUser
from tests.helpers import wait_until
from tests.test_security import COMMANDS, PUBLIC, free_port

ADMIN, CW, PARTNER, CW2, CW3, APPLICANT = 1, 2, 3, 5, 6, 9
GROUP = -100555
PRIVATE_CHATS = {"type": "all_private_chats"}
I18N = I18n.load()


def chat(user_id: int) -> dict[str, object]:
    return {"type": "chat", "chat_id": user_id}


def menu(tg: FakeTelegram, scope: dict[str, object], lang: str = "") -> list[tuple[str, str]]:
    """The menu Telegram keeps for ``scope`` and ``lang`` ("" = any language); [] if none."""
    key = (json.dumps(scope, sort_keys=True), lang)
    return [(c["command"], c["description"]) for c in tg.commands.get(key, [])]


def may_use(roles: set[str]) -> set[str]:
    """What the security matrix lets someone holding ``roles`` (none: an applicant) use."""
    who = roles or {"applicant"}
    return {name for name, (allowed, _args) in COMMANDS.items() if allowed & who}


async def menu_is(
    tg: FakeTelegram, scope: dict[str, object], names: set[str], lang: str = ""
) -> list[tuple[str, str]]:
    """Wait until the menu of ``scope`` offers exactly ``names``; returns it."""
    await wait_until(
        lambda: {name for name, _ in menu(tg, scope, lang)} == names,
        what=f"the menu of {scope} ({lang or 'any language'}) to offer {sorted(names)};"
        f" it offers {menu(tg, scope, lang)}",
    )
    return menu(tg, scope, lang)


def in_language(lang: str, *pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """(command, msgid) as a reader of ``lang`` sees them in the menu."""
    tr = I18N.tr(lang)
    return [(name, tr.gettext(msgid)) for name, msgid in pairs]


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    """The bot with an admin from INTAKE_ADMIN_IDS and a caseworkers' group."""
    running = Running(
        tg,
        make_settings(
            tg,
            tmp_path / "intake.db",
            admin_ids=frozenset({ADMIN}),
            caseworker_chat=GROUP,
            rate_limit=0,
        ),
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


# --- the table ----------------------------------------------------------------------------


def test_every_command_is_offered_to_exactly_those_who_may_use_it() -> None:
    """The menu and /help read bot/commands.py; the handlers are judged by the matrix of
    tests/test_security.py (which checks it against every registered CommandHandler)."""
    assert tuple(BY_ROLE) == ROLES == tuple(ROLE_TITLES)
    offered = {c.name for c in EVERYONE} | {c.name for cmds in BY_ROLE.values() for c in cmds}
    assert offered == set(COMMANDS)
    for name, (allowed, _args) in COMMANDS.items():
        if allowed == PUBLIC:
            assert name in {c.name for c in EVERYONE}, name
            continue
        for role in ROLES:
            assert (name in {c.name for c in BY_ROLE[role]}) == (role in allowed), (name, role)
    for roles in ({"caseworker"}, {"partner"}, {"admin"}, {"caseworker", "admin"}, set()):
        names = [c.name for c in for_roles(roles)]
        assert len(names) == len(set(names)), names  # /stats once for a caseworker-admin
        assert set(names) == may_use(roles), roles
    for lang in I18N.languages:  # Telegram takes 1 to 256 characters
        for c in {*EVERYONE, *(c for cmds in BY_ROLE.values() for c in cmds)}:
            assert 1 <= len(I18N.tr(lang).gettext(c.about)) <= 256, (lang, c)


# --- at start -----------------------------------------------------------------------------


async def test_at_start_every_language_gets_the_applicants_menu_and_staff_their_own(
    tg: FakeTelegram, r: Running
) -> None:
    everyone = may_use(set())
    for lang in I18N.languages:
        shown = await menu_is(tg, PRIVATE_CHATS, everyone, lang)
        assert shown[0] == in_language(lang, ("start", "begin, or go on with your application"))[0]
        assert ("delete", I18N.tr(lang).gettext("delete your data")) in shown
    assert menu(tg, PRIVATE_CHATS, "zh")[0] == ("start", "开始申请，或者接着填")
    assert menu(tg, PRIVATE_CHATS, "en")[0] == ("start", "begin, or go on with your application")
    # Phones set to a language the bot does not speak: the default language (Chinese).
    assert await menu_is(tg, PRIVATE_CHATS, everyone) == menu(tg, PRIVATE_CHATS, "zh")
    # Nothing is served in groups: no menu there, and none for everyone everywhere.
    assert menu(tg, {"type": "default"}) == []
    assert menu(tg, {"type": "all_group_chats"}) == []

    # The admin from INTAKE_ADMIN_IDS has never written: their menu is in the default
    # language, their own commands first.
    shown = await menu_is(tg, chat(ADMIN), may_use({"admin"}))
    assert shown[:3] == in_language(
        "zh",
        ("grant", "give a role: caseworker, supervisor, partner or admin"),
        ("revoke", "take a role away"),
        ("roles", "who has which role"),
    )
    assert shown[-1] == ("help", I18N.tr("zh").gettext("what each command does"))


async def test_roles_changed_while_the_bot_was_down_reach_the_menu_at_the_next_start(
    tg: FakeTelegram, r: Running
) -> None:
    # As `intake-bot roles grant` would, beside the bot: the menu follows at the next start.
    await r.store.roles.grant(CW, "caseworker")
    await r.store.roles.grant(CW, "partner")
    await r.restart()
    both = await menu_is(tg, chat(CW), may_use({"caseworker", "partner"}))
    assert [name for name, _ in both][:8] == [
        "queue", "mine", "open", "find", "stats", "export", "referrals", "clue",
    ]  # fmt: skip

    await r.store.roles.revoke(CW, "caseworker")
    await r.store.roles.revoke(CW, "partner")
    await r.restart()
    await wait_until(lambda: menu(tg, chat(CW)) == [], what="the staff menu taken back")
    assert {"type": "chat", "chat_id": CW} in [c["scope"] for c in tg.calls_to("deleteMyCommands")]
    assert await menu_is(tg, PRIVATE_CHATS, may_use(set()), "zh")


async def test_webhook_mode_sets_the_menus_too(tg: FakeTelegram, tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(
        tg,
        tmp_path / "intake.db",
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_port=port,
        webhook_secret="s3cret-Token_42",
        webhook_listen="127.0.0.1",
        admin_ids=frozenset({ADMIN}),
    )
    services = await open_services(settings)
    app = build_application(services, request_timeout=2)
    try:
        await start_webhook(app, settings)
        for lang in I18N.languages:
            await menu_is(tg, PRIVATE_CHATS, may_use(set()), lang)
        await menu_is(tg, chat(ADMIN), may_use({"admin"}))
    finally:
        await stop_app(app)
        await services.store.close()


async def test_a_menu_telegram_refuses_does_not_stop_the_bot(
    tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tg.fail_next("setMyCommands", 400, count=1000, description="Bad Request: not today")
    boss = 4242424242
    running = Running(tg, make_settings(tg, tmp_path / "intake.db", admin_ids=frozenset({boss})))
    with caplog.at_level(logging.WARNING, logger="telegram_channel.menu"):
        await running.start()
        try:
            await wait_until(
                lambda: tg.call_count("setMyCommands") >= len(I18N.languages) + 2,
                what="every menu tried",
            )
            person = tg.user(APPLICANT * 1000, language_code="en", first_name="Ma")
            [helped] = await person.ask("/help")
            assert "/start — begin, or go on with your application" in helped.text
        finally:
            await running.stop()
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert any("applicants' command menu" in w for w in warnings), warnings
    assert any("staff member's command menu" in w for w in warnings), warnings
    assert not [w for w in warnings if str(boss) in w or str(APPLICANT * 1000) in w], warnings
    assert menu(tg, PRIVATE_CHATS, "en") == []


# --- roles and languages change it at once ------------------------------------------------


async def test_a_granted_caseworker_gets_their_menu_in_their_language_and_revoking_removes_it(
    tg: FakeTelegram, r: Running
) -> None:
    admin = tg.user(ADMIN, language_code="en", first_name="Admin")
    zhao = tg.user(CW2, language_code="zh-hans", first_name="Zhao")
    caseworker = may_use({"caseworker"})

    # Zhao reads Uyghur best, on a phone set to Chinese: the choice wins.
    await zhao.ask("/language")
    await zhao.tap(language_name("ug"))
    await zhao.wait_reply()
    assert menu(tg, chat(CW2)) == []  # not staff: the applicants' menu serves them
    await admin.ask(f"/grant {CW2} caseworker")
    shown = await menu_is(tg, chat(CW2), caseworker)
    assert shown[:5] == in_language(
        "ug",
        ("queue", "open applications, most urgent first"),
        ("mine", "applications you have claimed"),
        ("open", "an application by its reference"),
        ("find", "find applications by name, phone number, its last 4 digits or ID number"),
        ("stats", "figures: applications, decisions and amounts"),
    )
    assert shown[0][1] != "open applications, most urgent first"

    # Zhao switches to English: the menu follows.
    await zhao.ask("/language")
    await zhao.tap(language_name("en"))
    await wait_until(
        lambda: menu(tg, chat(CW2))[:1] == [("queue", "open applications, most urgent first")],
        what="the menu in English",
    )

    # A second role adds its commands; revoking one takes only its own away.
    await admin.ask(f"/grant {CW2} partner")
    await menu_is(tg, chat(CW2), may_use({"caseworker", "partner"}))
    await admin.ask(f"/revoke {CW2} caseworker")
    await menu_is(tg, chat(CW2), may_use({"partner"}))
    await admin.ask(f"/revoke {CW2} partner")
    await wait_until(lambda: menu(tg, chat(CW2)) == [], what="the staff menu deleted")
    assert tg.calls_to("deleteMyCommands")[-1]["scope"] == chat(CW2)
    # What is left for Zhao is the applicants' menu of all private chats.
    assert {name for name, _ in menu(tg, PRIVATE_CHATS, "zh")} == may_use(set())


async def test_a_new_caseworkers_menu_follows_the_language_their_telegram_reports(
    tg: FakeTelegram, r: Running
) -> None:
    admin = tg.user(ADMIN, language_code="en", first_name="Admin")
    qian = tg.user(CW3, language_code="en", first_name="Qian")
    await admin.ask(f"/grant {CW3} caseworker")
    # Never written to the bot: the default language.
    shown = await menu_is(tg, chat(CW3), may_use({"caseworker"}))
    assert shown[0] == ("queue", I18N.tr("zh").gettext("open applications, most urgent first"))
    # Their first /queue tells the bot their Telegram speaks English.
    await qian.ask("/queue")
    await wait_until(
        lambda: menu(tg, chat(CW3))[:1] == [("queue", "open applications, most urgent first")],
        what="the menu in English",
    )
    # So does an admin's from INTAKE_ADMIN_IDS, at their first admin command (the /grant).
    await wait_until(
        lambda: (
            menu(tg, chat(ADMIN))[:1]
            == [("grant", "give a role: caseworker, supervisor, partner or admin")]
        ),
        what="the admin's menu in English",
    )


# --- /help --------------------------------------------------------------------------------


def listed(help_text: str) -> list[str]:
    """The commands a /help lists, in order."""
    return [line.split()[0][1:] for line in help_text.splitlines() if line.startswith("/")]


async def test_each_readers_help_lists_exactly_the_commands_they_may_use(
    tg: FakeTelegram, r: Running
) -> None:
    people: dict[int, set[str]] = {
        APPLICANT: set(),
        CW: {"caseworker"},
        PARTNER: {"partner"},
        CW2: {"caseworker", "admin"},
        ADMIN: {"admin"},  # from INTAKE_ADMIN_IDS
    }
    for user_id, roles in people.items():
        if user_id != ADMIN:
            for role in roles:
                await r.store.roles.grant(user_id, role)
    for user_id, roles in people.items():
        person = tg.user(user_id, language_code="en", first_name=f"P{user_id}")
        [helped] = await person.ask("/help")
        names = listed(helped.text)
        assert len(names) == len(set(names)), (roles, names)
        assert set(names) == may_use(roles), (roles, names)
        for role in ROLES:
            heading = "<b>" + I18N.tr("en").gettext(ROLE_TITLES[role]) + "</b>"
            assert (heading in helped.text) == (role in roles), (role, roles)
    admin = tg.user(ADMIN)
    [helped] = await admin.ask("/help")
    for line in (
        "/grant USER_ID ROLE — give a role: caseworker, supervisor, partner or admin",
        "/revoke USER_ID ROLE — take a role away",
        "/roles — who has which role",
        "/flow — the current interview, as a file to edit and send back",
        "/flows — the interview's versions, and going back to an earlier one",
        "/expiry — how many days unfinished applications wait",
        "/stats — figures: applications, decisions and amounts",
    ):
        assert line in helped.text, line
    [helped] = await tg.user(CW).ask("/help")
    assert "/open ABC-DEF — an application by its reference" in helped.text
    assert "/stats — figures: applications, decisions and amounts" in helped.text


# --- the caseworkers' group ---------------------------------------------------------------


async def test_staff_commands_in_the_caseworkers_group_point_to_the_private_chat(
    tg: FakeTelegram, r: Running
) -> None:
    await r.store.roles.grant(CW, "caseworker")
    group = tg.group(GROUP)
    wang = group.member(CW, first_name="Wang", language_code="en")
    [answer] = await wang.ask("/queue")
    assert answer.chat_id == GROUP
    assert answer.text == (
        "Applications are shown only in a private chat with me, so that people's details"
        f" stay out of the group. Open @{BOT_USERNAME} and send /queue there."
    )
    # Another bot's command, or an applicant's, is not ours to answer in a group: the only
    # answer is the one to the staff command after them (a chat's updates go in order).
    await wang.send("/queue@another_bot")
    await wang.send("/start")
    [answer] = await wang.ask(f"/mine@{BOT_USERNAME}")
    assert answer.text.endswith("send /mine there.")

    # In the reader's language; nothing about any application either way.
    li = group.member(CW2, first_name="Li", language_code="zh-hans")
    [answer] = await li.ask("/open ABC-DEF")
    assert answer.text == (
        "为了不让申请人的信息出现在群里，申请只在和我的私聊中显示。"
        f"请打开 @{BOT_USERNAME}，在那里发送 /open。"
    )
    # In the private chat the same command is served.
    private: FakeUser = tg.user(CW)
    [queue] = await private.ask("/queue")
    assert queue.text == "The queue is empty: no open applications."
