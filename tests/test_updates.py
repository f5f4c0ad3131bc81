"""The quick reading of updates gives the very objects PTB's ``Update.de_json`` gives."""

from __future__ import annotations

import copy
import datetime as dtm
import json
import pickle
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot, Message, TelegramObject, Update
from telegram._utils.datetime import extract_tzinfo_from_defaults
from telegram.ext import Defaults, ExtBot

from telegram_channel import updates
from telegram_channel.intake_bot import IntakeBot
from telegram_channel.transport import BotApiRequest
from telegram_channel.updates import decode

APPLICANT = {"id": 1001, "is_bot": False, "first_name": "秀英", "language_code": "zh-hans"}
CHAT = {"id": 1001, "type": "private", "first_name": "秀英"}
BOT_USER = {
    "id": 42,
    "is_bot": True,
    "first_name": "司法救助",
    "username": "intake_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
QUESTION = {
    "message_id": 77,
    "date": 1764500000,
    "chat": CHAT,
    "from": BOT_USER,
    "text": "第 3 题，共 20 题\n家里一共几口人？",
    "entities": [{"type": "bold", "offset": 0, "length": 12}],
}

# What nearly all traffic is: read the quick way.
COMMON: dict[str, dict[str, Any]] = {
    "typed answer": {
        "update_id": 1,
        "message": {
            "message_id": 78,
            "date": 1764500010,
            "chat": CHAT,
            "from": APPLICANT,
            "text": "张秀英",
        },
    },
    "/start": {
        "update_id": 2,
        "message": {
            "message_id": 1,
            "date": 1764500000,
            "chat": CHAT,
            "from": APPLICANT,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    },
    "tap": {
        "update_id": 3,
        "callback_query": {
            "id": "4382bfdwdsb323b2d9",
            "from": APPLICANT,
            "message": QUESTION,
            "chat_instance": "-7429",
            "data": "a:12:3:c:1",
        },
    },
    "tap on an edited question": {
        "update_id": 4,
        "callback_query": {
            "id": "5",
            "from": APPLICANT,
            "message": {**QUESTION, "edit_date": 1764500020, "entities": []},
            "chat_instance": "-7429",
            "data": "r:12:u:0",
        },
    },
    "every name field": {
        "update_id": 5,
        "message": {
            "message_id": 79,
            "date": 1764500030,
            "chat": {**CHAT, "last_name": "张", "username": "xiuying"},
            "from": {
                **APPLICANT,
                "last_name": "张",
                "username": "xiuying",
                "is_premium": True,
                "added_to_attachment_menu": False,
            },
            "text": "好",
        },
    },
    "group": {
        "update_id": 6,
        "message": {
            "message_id": 5,
            "date": 1764500040,
            "chat": {"id": -100123, "type": "supergroup", "title": "县检察院"},
            "from": APPLICANT,
            "text": "/status",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    },
    "a type PTB does not know yet": {
        "update_id": 7,
        "message": {
            "message_id": 80,
            "date": 1764500050,
            "chat": {**CHAT, "type": "future_kind"},
            "from": APPLICANT,
            "text": "a",
            "entities": [{"type": "future_entity", "offset": 0, "length": 1}],
        },
    },
}

# Anything else: left to PTB, so it comes out exactly as before.
UNUSUAL: dict[str, dict[str, Any]] = {
    "contact": {
        "update_id": 10,
        "message": {
            "message_id": 81,
            "date": 1764500060,
            "chat": CHAT,
            "from": APPLICANT,
            "contact": {"phone_number": "+8613912345678", "first_name": "秀英", "user_id": 1001},
        },
    },
    "photo": {
        "update_id": 11,
        "message": {
            "message_id": 82,
            "date": 1764500070,
            "chat": CHAT,
            "from": APPLICANT,
            "photo": [{"file_id": "f", "file_unique_id": "u", "width": 90, "height": 90}],
            "caption": "判决书",
        },
    },
    "a field Telegram added later": {
        "update_id": 12,
        "message": {
            "message_id": 83,
            "date": 1764500080,
            "chat": CHAT,
            "from": APPLICANT,
            "text": "x",
            "brand_new_field": {"a": 1},
        },
    },
    "a link in the text": {
        "update_id": 13,
        "message": {
            "message_id": 84,
            "date": 1764500090,
            "chat": CHAT,
            "from": APPLICANT,
            "text": "see",
            "entities": [{"type": "text_link", "offset": 0, "length": 3, "url": "https://a.cn"}],
        },
    },
    "tap on a message too old to show": {
        "update_id": 14,
        "callback_query": {
            "id": "6",
            "from": APPLICANT,
            "message": {"message_id": 1, "date": 0, "chat": CHAT},
            "chat_instance": "-7429",
            "data": "a:1:1:c:0",
        },
    },
    "tap on an inline message": {
        "update_id": 15,
        "callback_query": {
            "id": "7",
            "from": APPLICANT,
            "inline_message_id": "AAA",
            "chat_instance": "-7429",
            "data": "x",
        },
    },
    "edited message": {
        "update_id": 16,
        "edited_message": {
            "message_id": 78,
            "date": 1764500010,
            "edit_date": 1764500100,
            "chat": CHAT,
            "from": APPLICANT,
            "text": "张秀英 改",
        },
    },
    "blocked by the user": {
        "update_id": 17,
        "my_chat_member": {
            "chat": CHAT,
            "from": APPLICANT,
            "date": 1764500110,
            "old_chat_member": {"user": BOT_USER, "status": "member"},
            "new_chat_member": {"user": BOT_USER, "status": "kicked", "until_date": 0},
        },
    },
    "a date that is not whole seconds": {
        "update_id": 19,
        "message": {**COMMON["typed answer"]["message"], "date": 1764500010.5},
    },
}


def _same(ours: object, ptb: object, bot: Bot, path: str = "update") -> None:
    """Attribute by attribute, private ones included, down through every object and tuple.

    Each object of ours must carry ``bot`` where PTB's carries the bot that read it. An
    object of ours may be PTB's class with ``updates._DefaultsOnRead`` mixed in (defaults read late).
    """
    if isinstance(ours, updates._DefaultsOnRead):
        assert type(ours)._ptb is type(ptb), path
    else:
        assert type(ours) is type(ptb), path
    if isinstance(ptb, Update) and isinstance(ours, Update):
        # Quick ones come with what PTB keeps once it is first asked for: ask both.
        for update in (ours, ptb):
            _ = update.effective_user, update.effective_chat, update.effective_message
    if isinstance(ptb, TelegramObject):
        assert isinstance(ours, TelegramObject)
        assert ours._bot is (None if ptb._bot is None else bot), path
        for name in ptb._get_attrs_names(include_private=True):
            if name != "_bot":
                _same(getattr(ours, name), getattr(ptb, name), bot, f"{path}.{name}")
    elif isinstance(ptb, tuple):
        assert isinstance(ours, tuple)
        assert len(ours) == len(ptb), path
        for i, (a, b) in enumerate(zip(ours, ptb, strict=True)):
            _same(a, b, bot, f"{path}[{i}]")
    elif isinstance(ptb, dtm.datetime):
        assert ours == ptb and ours.tzinfo == ptb.tzinfo, path  # type: ignore[union-attr]
    else:
        assert ours == ptb, f"{path}: {ours!r} != {ptb!r}"


BOTS = {
    "bot": Bot("123:abc"),
    "bot with a time zone": ExtBot("123:abc", defaults=Defaults(tzinfo=ZoneInfo("Asia/Shanghai"))),
}


@pytest.mark.parametrize("bot", BOTS.values(), ids=BOTS.keys())
@pytest.mark.parametrize("data", COMMON.values(), ids=COMMON.keys())
def test_common_updates_are_read_into_what_ptb_makes(data: dict, bot: Bot) -> None:
    ptb = Update.de_json(copy.deepcopy(data), bot)
    kept = copy.deepcopy(data)
    ours = updates._read_common(data, bot, extract_tzinfo_from_defaults(bot))
    assert data == kept  # the answer it was read from is left as it was
    _same(ours, ptb, bot)
    assert ours.to_dict() == ptb.to_dict()
    _same(decode(data, bot), ptb, bot)


@pytest.mark.parametrize("data", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_anything_else_is_left_to_ptb(data: dict) -> None:
    bot = BOTS["bot"]
    with pytest.raises(updates._NotCommon):
        updates._read_common(copy.deepcopy(data), bot, None)
    ours = decode(copy.deepcopy(data), bot)
    ptb = Update.de_json(copy.deepcopy(data), bot)
    _same(ours, ptb, bot)
    assert ours.to_dict() == ptb.to_dict()


KEYBOARD = {"inline_keyboard": [[{"text": "为我自己", "callback_data": "a:12:3:c:0"}]]}


@pytest.mark.parametrize(
    "tapped",
    [QUESTION, {**QUESTION, "link_preview_options": {"is_disabled": True}}],
    ids=["the quick way", "PTB's way"],
)
def test_the_keyboard_of_a_tapped_message_is_not_read(tapped: dict) -> None:
    """No handler reads it (a tap is checked against the database), and PTB would make
    objects of every button; all the rest of the message is read as PTB reads it."""
    bot = BOTS["bot"]
    tap = copy.deepcopy(COMMON["tap"])
    tap["callback_query"]["message"] = {**tapped, "reply_markup": KEYBOARD}
    ours = decode(copy.deepcopy(tap), bot)
    assert ours.callback_query.message.reply_markup is None  # type: ignore[union-attr]
    del tap["callback_query"]["message"]["reply_markup"]
    _same(ours, Update.de_json(tap, bot), bot)


def test_a_new_field_still_reaches_the_handlers_in_api_kwargs() -> None:
    update = decode(copy.deepcopy(UNUSUAL["a field Telegram added later"]), BOTS["bot"])
    assert update.message is not None
    assert update.message.api_kwargs == {"brand_new_field": {"a": 1}}
    assert update.message.text == "x"


def test_read_objects_are_frozen_and_answer_like_ptbs() -> None:
    bot = BOTS["bot"]
    tap = decode(copy.deepcopy(COMMON["tap"]), bot)
    query = tap.callback_query
    assert query is not None and query.message is not None
    assert tap.effective_user is query.from_user
    assert tap.effective_chat is query.message.chat
    assert query.message.get_bot() is bot
    assert query.message.chat_id == 1001
    assert query.message.text_html.startswith("<b>第 3 题，共 20 题</b>")
    assert query == Update.de_json(copy.deepcopy(COMMON["tap"]), bot).callback_query
    with pytest.raises(AttributeError):
        query.data = "forged"  # type: ignore[misc]


def test_what_a_message_did_not_set_reads_as_ptbs_default() -> None:
    """A quick message sets only the fields the update has; every other attribute, read
    later, is what PTB's constructor gives, and the message stays frozen."""
    bot = BOTS["bot"]
    data = COMMON["typed answer"]
    ours = decode(copy.deepcopy(data), bot).message
    ptb = Update.de_json(copy.deepcopy(data), bot).message
    assert isinstance(ours, Message) and ptb is not None
    with pytest.raises(AttributeError):
        object.__getattribute__(ours, "caption")  # not set: it reads through the defaults
    for name in ptb._get_attrs_names(include_private=True):
        if name != "_bot":
            assert getattr(ours, name) == getattr(ptb, name), name
    assert ours.photo == () and ours.caption is None and ours.sticker is None
    assert ours.effective_attachment is None
    assert ours.effective_attachment is None  # again: now what PTB kept from the first read
    assert not hasattr(ours, "no_such_field")
    with pytest.raises(AttributeError, match="no_such_field"):
        _ = ours.no_such_field  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        ours.caption = "forged"  # type: ignore[misc]
    restored = copy.deepcopy(ours)
    assert restored == ours and restored.text == ours.text and restored.caption is None


def test_objects_read_without_de_json_compare_and_hash_like_ptbs() -> None:
    """Equal to the objects PTB makes both ways round, and hashed alike, so that they find
    each other in a set or as keys; pickled, they come back whole."""
    bot = BOTS["bot"]
    for data in COMMON.values():
        ours = decode(copy.deepcopy(data), bot)
        ptb = Update.de_json(copy.deepcopy(data), bot)
        pairs = [(ours, ptb), (ours.effective_user, ptb.effective_user)]
        pairs += [(ours.effective_chat, ptb.effective_chat)]
        pairs += [(ours.effective_message, ptb.effective_message)]
        for a, b in pairs:
            assert isinstance(a, updates._DefaultsOnRead) and type(a)._ptb is type(b)
            assert a == b and b == a and hash(a) == hash(b) and {a} == {b}
        bot_less = Update.de_json(copy.deepcopy(data), None)
        back = pickle.loads(pickle.dumps(updates._read_common(copy.deepcopy(data), None, None)))
        assert back == bot_less and back.to_dict() == bot_less.to_dict()


def test_a_broken_update_fails_as_in_ptb() -> None:
    broken = {"update_id": 20, "message": {"message_id": 1, "chat": CHAT, "text": "x"}}
    with pytest.raises(KeyError):
        Update.de_json(copy.deepcopy(broken), BOTS["bot"])
    with pytest.raises(KeyError):
        decode(copy.deepcopy(broken), BOTS["bot"])


GET_UPDATES_CALLS = [
    {},
    {"timeout": 10},
    {"timeout": dtm.timedelta(seconds=7)},
    {"timeout": dtm.timedelta(seconds=0.5)},
    {"timeout": 10, "read_timeout": 2.5},
    {"timeout": 10, "read_timeout": None},
    {"offset": 5, "limit": 100, "allowed_updates": ["message", "callback_query"]},
    {"offset": 5, "api_kwargs": {"future_option": True}},
]
CALL_IDS = [
    "plain",
    "long poll",
    "timedelta",
    "part second",
    "read timeout",
    "no read timeout",
    "offset",
    "api_kwargs",
]


@pytest.mark.parametrize("kwargs", GET_UPDATES_CALLS, ids=CALL_IDS)
async def test_get_updates_sends_what_ptb_sends(kwargs: dict) -> None:
    """On the bot's own connection getUpdates skips Bot._post: the same body, URL and
    read timeout reach the connection as when PTB builds the call, the same updates come
    back."""
    answer = [copy.deepcopy(COMMON["tap"]), copy.deepcopy(UNUSUAL["contact"])]
    ptb_request, our_request = BotApiRequest(), BotApiRequest()
    seen: dict[str, Any] = {}

    async def do_request(url: str, method: str, request_data: Any = None, **timeouts: Any) -> Any:
        seen["ptb"] = (url, request_data.parameters, timeouts["read_timeout"])
        return 200, json.dumps({"ok": True, "result": answer}).encode()

    async def post_json(url: str, params: dict, *, read_timeout: Any) -> Any:
        seen["ours"] = (url, json.loads(json.dumps(params)), read_timeout)
        return copy.deepcopy(answer)

    ptb_request.do_request = do_request  # type: ignore[method-assign]
    our_request.post_json = post_json  # type: ignore[method-assign]
    ptb_bot = ExtBot("123:abc", get_updates_request=ptb_request)
    our_bot = IntakeBot("123:abc", get_updates_request=our_request)
    ptb_updates = await ptb_bot.get_updates(**kwargs)
    our_updates = await our_bot.get_updates(**kwargs)
    assert seen["ours"] == seen["ptb"]
    for ours, ptb in zip(our_updates, ptb_updates, strict=True):
        _same(ours, ptb, our_bot)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"timeout": 10},
        {"timeout": dtm.timedelta(seconds=7)},
        {"timeout": 10, "read_timeout": 2.5},
        {"timeout": 10, "read_timeout": None},
        {"offset": 5, "limit": 100, "allowed_updates": ["message", "callback_query"]},
    ],
    ids=["plain", "long poll", "timedelta", "read timeout", "no read timeout", "offset"],
)
async def test_get_updates_on_another_connection_goes_through_ptb(kwargs: dict) -> None:
    """Another request class (a test's, PTB's own): the same parameters and timeouts to
    ``_post`` as ExtBot.get_updates, the same updates back."""
    answer = [copy.deepcopy(COMMON["tap"]), copy.deepcopy(UNUSUAL["contact"])]
    seen: dict[str, Any] = {}
    bots = {"ExtBot": ExtBot("123:abc"), "IntakeBot": IntakeBot("123:abc")}
    for name, bot in bots.items():

        async def _post(method: str, data: dict, **options: Any) -> list[dict]:
            seen[name] = (method, data, options)  # noqa: B023
            return copy.deepcopy(answer)

        bot._post = _post  # type: ignore[method-assign]
        seen[name + " updates"] = await bot.get_updates(**kwargs)

    assert seen["IntakeBot"] == seen["ExtBot"]
    for ours, ptb in zip(seen["IntakeBot updates"], seen["ExtBot updates"], strict=True):
        _same(ours, ptb, bots["IntakeBot"])


async def test_after_a_batch_the_next_poll_waits_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load updates come in batches: the poll after one that brought updates waits
    up to POLL_GAP; a poll after an empty one, or long after a batch, does not wait."""
    request = BotApiRequest()
    answers = [[copy.deepcopy(COMMON["tap"])], [], [copy.deepcopy(COMMON["typed answer"])], []]

    async def post_json(url: str, params: dict, *, read_timeout: Any) -> Any:
        return answers.pop(0)

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    request.post_json = post_json  # type: ignore[method-assign]
    monkeypatch.setattr("telegram_channel.intake_bot.asyncio.sleep", sleep)
    bot = IntakeBot("123:abc", get_updates_request=request)
    assert len(await bot.get_updates(timeout=10)) == 1
    assert slept == []  # the first poll goes at once
    assert await bot.get_updates(timeout=10) == ()
    assert len(slept) == 1 and 0 < slept[0] <= IntakeBot.POLL_GAP
    assert len(await bot.get_updates(timeout=10)) == 1  # after an empty poll: at once
    assert len(slept) == 1
    bot._batch_at -= IntakeBot.POLL_GAP  # the batch was handled long ago
    await bot.get_updates(timeout=10)
    assert len(slept) == 1
