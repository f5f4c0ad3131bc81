"""Reads getUpdates' answer into PTB's ``Update`` objects, the common ones without ``de_json``.

PTB's ``Update.de_json`` looks up every field any message could have and assigns each of a
Message's 130 or so attributes through ``TelegramObject.__setattr__``: about 100 µs for a
typed answer and 140 µs for a tap, a tenth of all the CPU an update costs the bot. Nearly
every update is one of those two, and uses a handful of fields. For them, each object is
built from a blank copied off one PTB made (every attribute at PTB's default, as PTB's own
``__deepcopy__`` builds objects) and then given the fields the update has: about 35 µs
for a typed answer, 40 for a tap (timeit, this machine).

Anything else (a photo, a contact, a field this module does not list, a field PTB would
reject) goes to ``Update.de_json`` as before, so an unusual update costs what it did and
comes out exactly as PTB makes it, but for the keyboard of a tapped message (below).
``tests/test_updates.py`` holds both ways to the same objects, attribute by attribute.

``IntakeBot.get_updates`` also sends the long poll itself the way the bot's other calls
go (``bot.transport``), not through ``Bot._post``, and after a poll that brought updates
waits ``POLL_GAP`` before the next one, so that under load updates come in batches.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import math
import operator
import time
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from types import MappingProxyType, MemberDescriptorType
from typing import Any

from telegram import CallbackQuery, Chat, Message, MessageEntity, TelegramObject, Update, User
from telegram._utils.datetime import extract_tzinfo_from_defaults, from_timestamp
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.enum import get_member
from telegram._utils.types import JSONDict, ODVInput
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import ExtBot

from bot.transport import BotApiRequest

_set = object.__setattr__


_call = operator.call
_drain = deque  # deque(iterable, 0) runs an iterator to its end, keeping nothing


def _setter(cls: type, name: str) -> Callable[[object, object], None]:
    """How to set ``name`` on a ``cls``: its slot's descriptor when it has one (every PTB
    attribute does), else ``object.__setattr__`` as before."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            if isinstance(found, MemberDescriptorType):
                return found.__set__
            break
    return lambda obj, value: _set(obj, name, value)


class _Unusual(Exception):
    """The update has something the quick way does not handle: PTB decodes it."""


class _Blank:
    """Every attribute of one PTB class at the value PTB's constructor gives it by default."""

    def __init__(self, prototype: TelegramObject) -> None:
        self.cls = type(prototype)
        skip = {"_bot", "_id_attrs", "api_kwargs"}
        self.defaults = tuple(
            (name, getattr(prototype, name))
            for name in prototype._get_attrs_names(include_private=True)
            if name not in skip
        )
        # Each slot's own setter, called from C (map) rather than a Python loop of
        # object.__setattr__: 7.5 µs against 13 for a Message's 116 attributes (timeit).
        self._setters = tuple(_setter(self.cls, name) for name, _ in self.defaults)
        self._values = tuple(value for _, value in self.defaults)

    def make(self, fields: dict[str, Any], id_attrs: tuple[object, ...], bot: Any) -> Any:
        obj = self.cls.__new__(self.cls)
        _drain(map(_call, self._setters, repeat(obj, len(self._setters)), self._values), 0)
        for name, value in fields.items():
            _set(obj, name, value)
        _set(obj, "_id_attrs", id_attrs)
        _set(obj, "api_kwargs", MappingProxyType({}))
        _set(obj, "_bot", bot)
        return obj


_UTC = dtm.UTC
_USER = _Blank(User(id=1, first_name="x", is_bot=False))
_CHAT = _Blank(Chat(id=1, type=ChatType.PRIVATE))
_ENTITY = _Blank(MessageEntity(type=MessageEntityType.BOLD, offset=0, length=1))
_MESSAGE_DEFAULTS = dict(
    _Blank(
        Message(message_id=1, date=dtm.datetime(2000, 1, 1, tzinfo=_UTC), chat=Chat(1, "private"))
    ).defaults
)
# Set on every message although the update may not have them: the handlers' filters read
# them on nearly every update (entities about ten times a message), and a set slot reads
# faster than a default found by ``_Message.__getattr__``.
_MESSAGE_EAGER = {
    name: _MESSAGE_DEFAULTS[name]
    for name in ("_frozen", "entities", "document", "photo", "contact", "reply_to_message")
}


class _Message(Message):
    """PTB's Message whose attributes the update did not set read as PTB's defaults.

    A Message has 116 attributes. Setting every one of them to its default took a quarter of
    reading a tap (12 of 48 µs, timeit), and a handler reads a handful; here an attribute
    that was not set costs nothing until it is read, and then gives PTB's default (from the
    same prototype ``_Blank`` reads). ``Update.de_json`` still makes the unusual updates.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        # Python calls this only when the slot was never set, or the name is not a slot.
        try:
            return _MESSAGE_DEFAULTS[name]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None


def _make_message(fields: dict[str, Any], id_attrs: tuple[object, ...], bot: Any) -> Message:
    obj = _Message.__new__(_Message)
    for name, value in fields.items():
        _set(obj, name, value)
    _set(obj, "_id_attrs", id_attrs)
    _set(obj, "api_kwargs", MappingProxyType({}))
    _set(obj, "_bot", bot)
    return obj


_QUERY = _Blank(CallbackQuery(id="1", from_user=User(1, "x", False), chat_instance="1"))
_UPDATE = _Blank(Update(update_id=1))

# Fields read as they come: JSON name = attribute name, a plain value in PTB too.
_USER_FIELDS = frozenset(
    {
        "id",
        "is_bot",
        "first_name",
        "last_name",
        "username",
        "language_code",
        "is_premium",
        "added_to_attachment_menu",
        # getMe's, plain values too: a User carrying them need not go the slow way
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "can_connect_to_business",
        "has_main_web_app",
    }
)
_CHAT_FIELDS = frozenset({"id", "type", "title", "username", "first_name", "last_name"})
_ENTITY_FIELDS = frozenset({"type", "offset", "length"})
_MESSAGE_FIELDS = frozenset({"message_id", "date", "chat", "from", "text", "entities", "edit_date"})
# A tap comes with the whole message it was on, keyboard included, and PTB would turn every
# button into objects (about 15 µs each) that no handler reads: a tapped button is checked
# against the database, never against what the client says the keyboard was. So the
# keyboard of a tapped message is not read: ``query.message.reply_markup`` is always None.
_TAPPED_FIELDS = _MESSAGE_FIELDS | {"reply_markup"}
_QUERY_FIELDS = frozenset({"id", "from", "chat_instance", "message", "data"})
_UPDATE_FIELDS = frozenset({"update_id", "message", "callback_query"})


def _check(data: object, allowed: frozenset[str], required: Sequence[str]) -> dict[str, Any]:
    if type(data) is not dict or not data.keys() <= allowed:
        raise _Unusual
    for name in required:
        if name not in data:
            raise _Unusual
    return data


def _user(data: object, bot: Any) -> User:
    fields = _check(data, _USER_FIELDS, ("id", "first_name", "is_bot"))
    return _USER.make(fields, (fields["id"],), bot)  # type: ignore[no-any-return]


def _chat(data: object, bot: Any) -> Chat:
    fields = dict(_check(data, _CHAT_FIELDS, ("id", "type")))
    fields["type"] = get_member(ChatType, fields["type"], fields["type"])
    return _CHAT.make(fields, (fields["id"],), bot)  # type: ignore[no-any-return]


def _entity(data: object, bot: Any) -> MessageEntity:
    fields = dict(_check(data, _ENTITY_FIELDS, ("type", "offset", "length")))
    fields["type"] = get_member(MessageEntityType, fields["type"], fields["type"])
    return _ENTITY.make(  # type: ignore[no-any-return]
        fields, (fields["type"], fields["offset"], fields["length"]), bot
    )


def _time(value: object, tz: dtm.tzinfo | None) -> dtm.datetime:
    if type(value) is not int or value == 0:  # 0: an inaccessible message, PTB's own type
        raise _Unusual
    return from_timestamp(value, tzinfo=tz)  # type: ignore[return-value]


def _message(data: object, bot: Any, tz: dtm.tzinfo | None, *, tapped: bool = False) -> Message:
    raw = _check(
        data, _TAPPED_FIELDS if tapped else _MESSAGE_FIELDS, ("message_id", "date", "chat")
    )
    chat = _chat(raw["chat"], bot)
    fields = _MESSAGE_EAGER.copy()
    fields["message_id"] = raw["message_id"]
    fields["date"] = _time(raw["date"], tz)
    fields["chat"] = chat
    if "from" in raw:
        fields["from_user"] = _user(raw["from"], bot)
    if "text" in raw:
        fields["text"] = raw["text"]
    if "entities" in raw:
        entities = raw["entities"]
        if type(entities) is not list:
            raise _Unusual
        fields["entities"] = tuple(_entity(e, bot) for e in entities)
    if "edit_date" in raw:
        fields["edit_date"] = _time(raw["edit_date"], tz)
    return _make_message(fields, (fields["message_id"], chat), bot)


def _query(data: object, bot: Any, tz: dtm.tzinfo | None) -> CallbackQuery:
    raw = _check(data, _QUERY_FIELDS, ("id", "from", "chat_instance"))
    fields: dict[str, Any] = {
        "id": raw["id"],
        "from_user": _user(raw["from"], bot),
        "chat_instance": raw["chat_instance"],
    }
    if "message" in raw:
        fields["message"] = _message(raw["message"], bot, tz, tapped=True)
    if "data" in raw:
        fields["data"] = raw["data"]
    return _QUERY.make(fields, (fields["id"],), bot)  # type: ignore[no-any-return]


def _quick(data: object, bot: Any, tz: dtm.tzinfo | None) -> Update:
    raw = _check(data, _UPDATE_FIELDS, ("update_id",))
    fields: dict[str, Any] = {"update_id": raw["update_id"]}
    if "message" in raw:
        fields["message"] = _message(raw["message"], bot, tz)
    if "callback_query" in raw:
        fields["callback_query"] = _query(raw["callback_query"], bot, tz)
    if len(fields) != 2:  # none, or two kinds at once: not something Telegram sends
        raise _Unusual
    return _UPDATE.make(fields, (fields["update_id"],), bot)  # type: ignore[no-any-return]


def decode(data: JSONDict, bot: Any) -> Update:
    """One update of getUpdates' answer, as ``Update.de_json(data, bot)`` makes it, but for
    the keyboard of a tapped message (None)."""
    try:
        return _quick(data, bot, extract_tzinfo_from_defaults(bot))
    except _Unusual:
        query = data.get("callback_query")
        message = query.get("message") if isinstance(query, dict) else None
        if isinstance(message, dict):
            message.pop("reply_markup", None)
        return Update.de_json(data, bot)


def _json_value(value: object) -> object:
    """As PTB sends a getUpdates parameter: a timedelta as seconds, whole ones as an int."""
    if isinstance(value, dtm.timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    return value


class IntakeBot(ExtBot[None]):
    """PTB's ExtBot, reading the updates of getUpdates with ``decode``."""

    __slots__ = ("_batch_at",)

    #: Seconds from a getUpdates that brought updates to the next one. Each poll costs
    #: the bot about as much CPU as a reply; with no gap, a busy bot on a fast link polls
    #: about once per two updates. 5 ms brings that to one poll per eight updates and
    #: about 8% more updates per CPU-second (bench/README), for at most 5 ms more wait,
    #: only for updates that arrive just after a batch. Idle polls wait for nothing.
    POLL_GAP = 0.005

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_at = -math.inf

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: int | dtm.timedelta | None = None,
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        early = self._batch_at + self.POLL_GAP - time.monotonic()
        if early > 0:
            await asyncio.sleep(early)
        # As Bot.get_updates: the long poll's wait comes on top of the read timeout.
        if isinstance(read_timeout, DefaultValue):
            waited = self._request[0].read_timeout or 0
        else:
            waited = read_timeout or 0
        if isinstance(timeout, dtm.timedelta):
            waited += timeout.total_seconds()
        elif timeout:
            waited += timeout
        data: JSONDict = {
            "timeout": timeout,
            "offset": offset,
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        request = self._request[0]
        if isinstance(request, BotApiRequest) and all(
            isinstance(t, DefaultValue) for t in (write_timeout, connect_timeout, pool_timeout)
        ):
            # The long poll as the bot's other calls go: JSON straight to the connection,
            # not through Bot._post's RequestData (about 40 µs a call, bench/calls.py).
            data.update(api_kwargs or {})
            params = {k: _json_value(v) for k, v in data.items() if v is not None}
            result = await request.post_json(
                f"{self.base_url}/getUpdates", params, read_timeout=waited
            )
        else:
            result = await self._post(
                "getUpdates",
                data,
                read_timeout=waited,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
            )
        updates = tuple(decode(item, self) for item in result)
        self._batch_at = time.monotonic() if updates else -math.inf
        for update in updates:
            self.insert_callback_data(update)
        return updates
