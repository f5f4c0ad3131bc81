"""Reads getUpdates' answer into PTB's ``Update`` objects, the common ones without ``de_json``.

PTB's ``Update.de_json`` looks up every field any message could have and assigns each of a
Message's 130 or so attributes through ``TelegramObject.__setattr__``: about 100 µs for a
typed answer and 140 µs for a tap, a tenth of all the CPU an update costs the bot. Nearly
every update is one of those two, and uses a handful of fields. For them, each object is
PTB's class with ``_Late`` mixed in, given only the fields the update has; any other
attribute reads as the default PTB's constructor gives it: about 15 µs for a typed answer
and 21 for a tap, PTB's ``effective_*`` read (timeit, this machine).

Anything else (a photo, a contact, a field this module does not list, a field PTB would
reject) goes to ``Update.de_json`` as before, so an unusual update costs what it did and
comes out exactly as PTB makes it, but for the keyboard of a tapped message (below).
``tests/test_updates.py`` holds both ways to the same objects, attribute by attribute.

``IntakeBot.get_updates`` commits each answer to the inbox (telegram_channel/inbox.py) before it
returns it, so that the offset the next poll confirms never names an update that is only
in memory; and marks polling as working (for the watchdog) only then. It also sends the
long poll itself the way the bot's other calls
go (``telegram_channel.transport``), not through ``Bot._post``, and after a poll that brought updates
waits ``POLL_GAP`` before the next one, so that under load updates come in batches.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import math
import time
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from telegram import CallbackQuery, Chat, Message, MessageEntity, TelegramObject, Update, User
from telegram._utils.datetime import extract_tzinfo_from_defaults, from_timestamp
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.enum import get_member
from telegram._utils.types import JSONDict, ODVInput
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import ExtBot

from telegram_channel.transport import BotApiRequest

if TYPE_CHECKING:
    from telegram_channel.inbox import Inbox

log = logging.getLogger(__name__)

_set = object.__setattr__


class _Unusual(Exception):
    """The update has something the quick way does not handle: PTB decodes it."""


def _defaults(prototype: TelegramObject) -> dict[str, Any]:
    """Every attribute of one PTB object at the value PTB's constructor gave it."""
    skip = {"_bot", "_id_attrs", "api_kwargs"}
    return {
        name: getattr(prototype, name)
        for name in prototype._get_attrs_names(include_private=True)
        if name not in skip
    }


class _Late:
    """Mixed into a PTB class: an attribute the update did not set reads as PTB's default.

    PTB's constructors set every attribute: 116 for a Message, 31 for an Update, 18 for a
    User, about 200 for a tap. Setting them, even from C, was the largest part of reading an
    update (a third of its 48 µs for a tap, timeit; 4% of the bot's CPU in the burst), and
    a handler reads a handful. Here only the update's own fields and a few that filters
    read on every update (``_eager``) are set; any other attribute costs nothing until it is
    read, and then gives the default of a prototype PTB built (``_late_defaults``).
    """

    __slots__ = ()
    _ptb: ClassVar[type[TelegramObject]]
    _late_defaults: ClassVar[dict[str, Any]]
    _eager: ClassVar[dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        # Python calls this only when the slot was never set, or the name is not a slot.
        try:
            return self._late_defaults[name]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None

    def __hash__(self) -> int:
        # As PTB's: an object of ours and an equal one PTB made hash alike.
        id_attrs = self._id_attrs  # type: ignore[attr-defined]
        return hash((self._ptb, id_attrs)) if id_attrs else object.__hash__(self)

    @classmethod
    def make(cls, fields: dict[str, Any], id_attrs: tuple[object, ...], bot: Any) -> Any:
        obj = cls.__new__(cls)
        for name, value in cls._eager.items():
            _set(obj, name, value)
        for name, value in fields.items():
            _set(obj, name, value)
        _set(obj, "_id_attrs", id_attrs)
        _set(obj, "api_kwargs", MappingProxyType({}))
        _set(obj, "_bot", bot)
        return obj


def _eager(defaults: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: defaults[name] for name in ("_frozen", *names)}


_UTC = dtm.UTC


class _User(_Late, User):
    __slots__ = ()
    _ptb = User
    _late_defaults = _defaults(User(id=1, first_name="x", is_bot=False))
    _eager = _eager(_late_defaults, "last_name", "username")  # for full names


class _Chat(_Late, Chat):
    __slots__ = ()
    _ptb = Chat
    _late_defaults = _defaults(Chat(id=1, type=ChatType.PRIVATE))
    _eager = _eager(_late_defaults)


class _MessageEntity(_Late, MessageEntity):
    __slots__ = ()
    _ptb = MessageEntity
    _late_defaults = _defaults(MessageEntity(type=MessageEntityType.BOLD, offset=0, length=1))
    _eager = _eager(_late_defaults)


class _Message(_Late, Message):
    __slots__ = ()
    _ptb = Message
    _late_defaults = _defaults(
        Message(message_id=1, date=dtm.datetime(2000, 1, 1, tzinfo=_UTC), chat=Chat(1, "private"))
    )
    # Read by the handlers' filters on nearly every message (entities about ten times).
    _eager = _eager(_late_defaults, "entities", "document", "photo", "contact", "reply_to_message")


class _CallbackQuery(_Late, CallbackQuery):
    __slots__ = ()
    _ptb = CallbackQuery
    _late_defaults = _defaults(
        CallbackQuery(id="1", from_user=User(1, "x", False), chat_instance="1")
    )
    _eager = _eager(_late_defaults, "game_short_name")


class _Update(_Late, Update):
    __slots__ = ()
    _ptb = Update
    _late_defaults = _defaults(Update(update_id=1))
    # What the handlers' filters ask of every update (channel_post several times each).
    _eager = _eager(
        _late_defaults,
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
        "guest_message",
        "callback_query",
    )


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
    return _User.make(fields, (fields["id"],), bot)  # type: ignore[no-any-return]


def _chat(data: object, bot: Any) -> Chat:
    fields = dict(_check(data, _CHAT_FIELDS, ("id", "type")))
    fields["type"] = get_member(ChatType, fields["type"], fields["type"])
    return _Chat.make(fields, (fields["id"],), bot)  # type: ignore[no-any-return]


def _entity(data: object, bot: Any) -> MessageEntity:
    fields = dict(_check(data, _ENTITY_FIELDS, ("type", "offset", "length")))
    fields["type"] = get_member(MessageEntityType, fields["type"], fields["type"])
    return _MessageEntity.make(  # type: ignore[no-any-return]
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
    fields: dict[str, Any] = {
        "message_id": raw["message_id"],
        "date": _time(raw["date"], tz),
        "chat": chat,
    }
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
    return _Message.make(fields, (fields["message_id"], chat), bot)  # type: ignore[no-any-return]


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
    return _CallbackQuery.make(fields, (fields["id"],), bot)  # type: ignore[no-any-return]


def _quick(data: object, bot: Any, tz: dtm.tzinfo | None) -> Update:
    raw = _check(data, _UPDATE_FIELDS, ("update_id",))
    fields: dict[str, Any] = {"update_id": raw["update_id"]}
    if "message" in raw:
        message = fields["message"] = _message(raw["message"], bot, tz)
        user, chat = message.from_user, message.chat
    if "callback_query" in raw:
        query = fields["callback_query"] = _query(raw["callback_query"], bot, tz)
        message, user = query.message, query.from_user
        chat = message.chat if message is not None else None
    if len(fields) != 2:  # none, or two kinds at once: not something Telegram sends
        raise _Unusual
    # What PTB's effective_user, _chat and _message would work out on first use (each
    # asks up to a dozen attributes), as they keep it.
    fields["_effective_user"] = user
    fields["_effective_chat"] = chat
    fields["_effective_message"] = message
    return _Update.make(fields, (fields["update_id"],), bot)  # type: ignore[no-any-return]


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
    """PTB's ExtBot, reading the updates of getUpdates with ``decode`` into the inbox."""

    __slots__ = ("_batch_at", "_failures", "_inbox", "_polled")

    #: Seconds from a getUpdates that brought updates to the next one. Each poll costs
    #: the bot about as much CPU as a reply; with no gap, a busy bot on a fast link polls
    #: about once per two updates. 5 ms brings that to one poll per eight updates and
    #: about 8% more updates per CPU-second (bench/README), for at most 5 ms more wait,
    #: only for updates that arrive just after a batch. Idle polls wait for nothing.
    POLL_GAP = 0.005
    #: Longest wait, in seconds, before fetching again answers that could not be stored.
    MAX_BACKOFF = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_at = -math.inf
        self._failures = 0
        self._inbox: Inbox | None = None
        self._polled: Callable[[], None] | None = None

    def use_inbox(self, inbox: Inbox, polled: Callable[[], None] | None = None) -> None:
        """Commit each answer of getUpdates to ``inbox`` before returning it (without one,
        updates are only decoded, as PTB would); call ``polled`` once one was read and
        stored: polling works (the watchdog's mark)."""
        self._inbox = inbox
        self._polled = polled

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
        if self._inbox is None:
            updates = tuple(decode(item, self) for item in result)
        else:
            try:
                updates = await self._inbox.receive(result, self)
            except Exception as exc:
                # Not stored, so not returned: the offset stays, and Telegram sends them
                # again. PTB would poll again at once; wait, longer each time, instead.
                self._failures += 1
                wait = min(self.MAX_BACKOFF, 0.5 * 2**self._failures)
                log.error(
                    "could not store the updates Telegram sent (%s); fetching them again in %.0f s",
                    type(exc).__name__,
                    wait,
                )
                await asyncio.sleep(wait)
                return ()
            self._failures = 0
        self._batch_at = time.monotonic() if updates else -math.inf
        for update in updates:
            self.insert_callback_data(update)
        if self._polled is not None:
            self._polled()
        return updates
