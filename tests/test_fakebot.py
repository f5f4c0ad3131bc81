"""Proves the offline Bot API fake works with the REAL python-telegram-bot stack.

The end-to-end tests trust ``tests.fakebot`` to behave like Telegram; if the fake drifted from
what PTB sends or expects (form encoding, Message JSON, error mapping, offsets), those tests
would pass or fail for the wrong reasons. So here a real ``Application`` long-polls the fake
and every fake feature the e2e tests rely on is exercised once, end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakebot import BOT_ID, BOT_USERNAME, FakeTelegram

logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN = "123456:TEST-TOKEN"
GROUP_ID = -1001234567890
PDF = b"%PDF-1.4 fake judgment \x00\x01\x02 end"


def build_app(tg: FakeTelegram) -> Application:  # type: ignore[type-arg]
    """The application wiring the e2e tests use: real PTB, pointed at the fake."""
    return (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{tg.url}/bot")
        .base_file_url(f"{tg.url}/file/bot")
        .get_updates_connect_timeout(1)
        .get_updates_read_timeout(1)
        .get_updates_pool_timeout(1)
        .connect_timeout(1)
        .read_timeout(2)
        .write_timeout(2)
        .pool_timeout(1)
        .build()
    )


def seen(context: ContextTypes.DEFAULT_TYPE) -> list[Update]:
    """Updates the handlers saw, kept in bot_data so tests can inspect what PTB parsed."""
    return context.bot_data.setdefault("seen", [])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    seen(context).append(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(f"echo: {update.effective_message.text}")


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    seen(context).append(update)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("是 Yes", callback_data="yes")],
            [InlineKeyboardButton("No", callback_data="no")],
        ]
    )
    assert update.effective_message is not None
    await update.effective_message.reply_text("继续吗？", reply_markup=keyboard)


async def notify_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    seen(context).append(update)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("认领", callback_data="claim:7")]])
    await context.bot.send_message(GROUP_ID, "新案件 #7", reply_markup=keyboard)


async def phone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    seen(context).append(update)
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True)]])
    assert update.effective_message is not None
    await update.effective_message.reply_text("请分享手机号", reply_markup=keyboard)


async def two_parts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers in two messages with a pause, like a handler that writes to the DB between."""
    seen(context).append(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text("part 1")
    await asyncio.sleep(0.05)
    await update.effective_message.reply_text("part 2")


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    seen(context).append(update)
    query = update.callback_query
    assert query is not None
    await query.answer("ok")
    await query.edit_message_text(f"chose {query.data}")


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    seen(context).append(update)
    message = update.effective_message
    assert message is not None
    if message.contact:
        await message.reply_text(
            f"contact {message.contact.phone_number}", reply_markup=ReplyKeyboardRemove()
        )
    elif message.photo:
        await message.reply_text(f"photo {len(message.photo)} sizes")
    elif message.document:
        file = await context.bot.get_file(message.document.file_id)
        data = bytes(await file.download_as_bytearray())
        await message.reply_text(f"doc {len(data)} {hashlib.sha256(data).hexdigest()[:12]}")
        await message.reply_document(data, filename="回执.pdf", caption="收据")


@asynccontextmanager
async def running(tg: FakeTelegram) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """Start a real Application with long polling against the fake; always stop it cleanly."""
    app = build_app(tg)
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CommandHandler("notify", notify_group))
    app.add_handler(CommandHandler("phone", phone))
    app.add_handler(CommandHandler("two", two_parts))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(
        MessageHandler(filters.CONTACT | filters.PHOTO | filters.Document.ALL, on_media)
    )
    app.add_handler(CallbackQueryHandler(on_callback))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def app(tg: FakeTelegram) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    async with running(tg) as application:
        yield application


def updates_seen(app: Application) -> list[Update]:  # type: ignore[type-arg]
    return list(app.bot_data.get("seen", []))


async def test_echo_text(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1001, first_name="李", language_code="zh-hans")

    replies = await li.ask("你好 123")

    assert [m.text for m in replies] == ["echo: 你好 123"]
    assert replies[0].kind == "text" and replies[0].chat_id == 1001
    update = updates_seen(app)[-1]
    assert update.effective_user is not None and update.effective_user.first_name == "李"
    assert update.effective_user.language_code == "zh-hans"
    assert app.bot.username == BOT_USERNAME and app.bot.id == BOT_ID
    assert tg.tokens_seen == {TOKEN}
    assert ("getMe", {}) in tg.calls
    assert li.texts() == ["echo: 你好 123"] and li.last() is replies[0]


async def test_ask_waits_until_the_bot_has_finished_answering(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    li = tg.user(1016)
    replies = await li.ask("/two")
    assert [m.text for m in replies] == ["part 1", "part 2"]
    await tg.wait_idle()


async def test_tap_inline_button_by_label_edits_message(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    li = tg.user(1002)
    [prompt] = await li.ask("/menu")
    assert prompt.buttons == ["是 Yes", "No"]
    with pytest.raises(AssertionError, match=r"\['是 Yes', 'No'\]"):
        await li.tap("Maybe", wait=0.2)

    tap = await li.tap("是 Yes")
    [edited] = await li.wait_reply()

    assert edited is prompt
    assert edited.text == "chose yes" and edited.history == ["继续吗？"]
    assert edited.buttons == []  # editing text without reply_markup drops the keyboard
    assert li.callback_answer(tap) is not None
    assert li.callback_answer(tap)["text"] == "ok"  # type: ignore[index]


async def test_forged_callback_data_arrives(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1003)
    await li.ask("/menu")

    await li.tap_data("admin:delete_all")
    [edited] = await li.wait_reply()

    query = updates_seen(app)[-1].callback_query
    assert query is not None and query.data == "admin:delete_all"
    assert query.from_user.id == 1003
    assert edited.text == "chose admin:delete_all"


async def test_contact_photo_document_arrive_and_document_downloads(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    li = tg.user(1004, first_name="Li")

    [ask_phone] = await li.ask("/phone")
    assert ask_phone.reply_buttons == ["分享手机号"]
    await li.press("分享手机号")
    [thanks] = await li.wait_reply()
    contact = updates_seen(app)[-1].effective_message.contact  # type: ignore[union-attr]
    assert contact is not None and contact.user_id == 1004
    assert thanks.text == f"contact {li.phone_number}" and thanks.removes_keyboard
    assert li.current_reply_keyboard() == []

    await li.send_contact("+8613900000000", own=False)
    await li.wait_reply()
    other = updates_seen(app)[-1].effective_message.contact  # type: ignore[union-attr]
    assert other is not None and other.user_id is None

    await li.send_photo(caption="身份证")
    [photo_reply] = await li.wait_reply()
    photo_msg = updates_seen(app)[-1].effective_message
    assert photo_msg is not None and photo_msg.caption == "身份证"
    assert len({p.file_id for p in photo_msg.photo}) == 3
    assert photo_reply.text == "photo 3 sizes"

    await li.send_document("判决书.pdf", PDF, mime_type="application/pdf")
    replies = await li.wait_reply(min_messages=2)
    document = updates_seen(app)[-1].effective_message.document  # type: ignore[union-attr]
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "判决书.pdf",
        "application/pdf",
        len(PDF),
    )
    assert replies[0].text == f"doc {len(PDF)} {hashlib.sha256(PDF).hexdigest()[:12]}"
    uploaded = replies[1]
    assert uploaded.kind == "document" and uploaded.caption == "收据"
    assert uploaded.file_name == "回执.pdf" and uploaded.file_bytes == PDF
    assert tg.file_bytes(uploaded.file_id or "") == PDF


async def test_429_surfaces_as_retry_after(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1005)
    tg.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(li.id, "first")

    wait = caught.value.retry_after  # a timedelta: the bot opts in (PTB_TIMEDELTA)
    assert getattr(wait, "total_seconds", lambda: wait)() == 7
    assert li.messages == []  # the throttled call had no effect
    await app.bot.send_message(li.id, "second")
    assert li.texts() == ["second"]


async def test_502_surfaces_as_network_error(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1006)
    tg.fail_next("*", 502, count=2)

    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await app.bot.send_message(li.id, "x")
        assert type(caught.value) is NetworkError
        assert "Bad Gateway" in caught.value.message
    # The polling loop kept working (getUpdates is exempt from "*").
    assert (await li.ask("still there?"))[0].text == "echo: still there?"


async def test_blocked_user_gets_forbidden(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1007)
    li.block()
    with pytest.raises(Forbidden, match="blocked"):
        await app.bot.send_message(li.id, "hi")
    li.unblock()
    await app.bot.send_message(li.id, "hi")
    assert li.texts() == ["hi"]


async def test_delayed_response_times_out_but_message_was_delivered(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    li = tg.user(1008)
    tg.delay_next("sendMessage", 0.4)

    with pytest.raises(TimedOut):
        await app.bot.send_message(li.id, "slow", read_timeout=0.1)

    assert li.texts() == ["slow"]


async def test_strict_api_errors(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1009)
    with pytest.raises(BadRequest, match="parse entities"):
        await app.bot.send_message(li.id, "score 1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved"):
        await app.bot.send_message(li.id, "案号 2024-001.", parse_mode="MarkdownV2")
    sent = await app.bot.send_message(li.id, "<b>ok</b> 1 &lt; 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="not modified"):
        await app.bot.edit_message_text("<b>ok</b> 1 &lt; 2", li.id, sent.message_id)
    with pytest.raises(BadRequest, match="empty"):
        await app.bot.send_message(li.id, "")


async def test_duplicated_update_is_delivered_twice(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    li = tg.user(1010)
    tg.duplicate_next_update()

    update = await li.send("twice")
    replies = await li.wait_reply(min_messages=2)

    assert [m.text for m in replies] == ["echo: twice", "echo: twice"]
    ids = [u.update_id for u in updates_seen(app) if u.effective_message.text == "twice"]  # type: ignore[union-attr]
    assert ids == [update["update_id"], update["update_id"]]
    await li.expect_no_reply(within=0.2)  # and only twice


async def test_restarted_application_picks_up_where_the_first_left_off(
    tg: FakeTelegram,
) -> None:
    li = tg.user(1011)
    async with running(tg) as first:
        await li.ask("one")
        first_ids = [u.update_id for u in updates_seen(first)]

    down = await li.send("sent while the bot was down")
    async with running(tg) as second:
        replies = await li.wait_reply()
        assert [m.text for m in replies] == ["echo: sent while the bot was down"]
        second_ids = [u.update_id for u in updates_seen(second)]

    assert second_ids == [down["update_id"]]
    assert min(second_ids) > max(first_ids)


async def test_unconfirmed_updates_are_redelivered_after_a_crash(tg: FakeTelegram) -> None:
    li = tg.user(1012)
    update = await li.send("lost in crash")
    async with httpx.AsyncClient() as client:
        # A bot that fetched the update and died before confirming it (no offset follows).
        response = await client.post(f"{tg.url}/bot{TOKEN}/getUpdates", data={"timeout": "0"})
        assert [u["update_id"] for u in response.json()["result"]] == [update["update_id"]]

    async with running(tg) as app:
        [reply] = await li.wait_reply()
        assert reply.text == "echo: lost in crash"
        assert [u.update_id for u in updates_seen(app)] == [update["update_id"]]


async def test_long_poll_wakes_on_new_update_and_honours_offset_and_limit(
    tg: FakeTelegram,
) -> None:
    li = tg.user(1013)
    url = f"{tg.url}/bot{TOKEN}/getUpdates"
    async with httpx.AsyncClient(timeout=10) as client:
        started = asyncio.get_running_loop().time()
        poll = asyncio.create_task(client.post(url, data={"timeout": "5"}))
        await asyncio.sleep(0.05)
        first = await li.send("a")
        result = (await poll).json()["result"]
        assert [u["update_id"] for u in result] == [first["update_id"]]
        assert asyncio.get_running_loop().time() - started < 1

        second, third = await li.send("b"), await li.send("c")
        limited = await client.post(url, data={"offset": str(first["update_id"] + 1), "limit": "1"})
        assert [u["update_id"] for u in limited.json()["result"]] == [second["update_id"]]
        rest = await client.post(url, data={"offset": str(second["update_id"] + 1)})
        assert [u["update_id"] for u in rest.json()["result"]] == [third["update_id"]]
        empty = await client.post(url, data={"offset": str(third["update_id"] + 1), "timeout": "0"})
        assert empty.json() == {"ok": True, "result": []}
        assert tg.pending_updates == []


async def test_group_member_taps_button_in_group(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    li = tg.user(1014)
    group = tg.group(GROUP_ID)
    caseworker = group.member(5001, first_name="王")

    await li.send("/notify")
    [card] = await group.wait_reply()
    assert card.text == "新案件 #7" and card.buttons == ["认领"]

    await caseworker.tap_containing("认")
    [claimed] = await caseworker.wait_reply()
    query = updates_seen(app)[-1].callback_query
    assert query is not None and query.from_user.id == 5001
    assert query.message is not None and query.message.chat.id == GROUP_ID
    assert claimed.text == "chose claim:7" and group.last() is claimed


async def test_wait_reply_fails_when_the_bot_stays_silent(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    li = tg.user(1015)
    await li.send_sticker()
    with pytest.raises(AssertionError, match="was fetched"):
        await li.wait_reply(timeout=0.3)
    await li.send_voice()
    await li.expect_no_reply(within=0.1)
    await tg.wait_idle()
