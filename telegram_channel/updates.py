"""Our own update reader: common updates into PTB's ``Update`` objects without ``de_json``.

PTB's ``Update.de_json`` looks up every field any message could have and assigns each of a
Message's 130 or so attributes through ``TelegramObject.__setattr__``; for the two kinds of
update nearly every one is (a typed answer, a tap on a button) that was a tenth of all the
CPU an update cost the bot, for a handful of fields read (the figures are in
bench/README.md, "Why the code is shaped this way"). For those two, each object is PTB's
class with ``_DefaultsOnRead`` mixed in, given only the fields the update has; any other
attribute reads as the default PTB's constructor gives it.

Anything else (a photo, a contact, a field this module does not list, a field PTB would
reject) is ``_NotCommon`` and goes to ``Update.de_json`` as before, so it comes out exactly
as PTB makes it, but for the keyboard of a tapped message (below). ``tests/test_updates.py``
holds both ways to the same objects, attribute by attribute.

This is the reader of the ``own`` Bot API client; ``stock`` reads every update with
``Update.de_json`` (telegram_channel/client.py). ``IntakeBot`` (telegram_channel/intake_bot.py)
calls the one it was given.
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from telegram import CallbackQuery, Chat, Message, MessageEntity, TelegramObject, Update, User
from telegram._utils.datetime import extract_tzinfo_from_defaults, from_timestamp
from telegram._utils.enum import get_member
from telegram._utils.types import JSONDict
from telegram.constants import ChatType, MessageEntityType

_set = object.__setattr__


class _NotCommon(Exception):
    """The update has something ``_read_common`` does not read: PTB's ``de_json`` reads it."""


def _defaults(prototype: TelegramObject) -> dict[str, Any]:
    """Every attribute of one PTB object at the value PTB's constructor gave it."""
    skip = {"_bot", "_id_attrs", "api_kwargs"}
    return {
        name: getattr(prototype, name)
        for name in prototype._get_attrs_names(include_private=True)
        if name not in skip
    }


class _DefaultsOnRead:
    """Mixed into a PTB class: an attribute the update did not set reads as PTB's default.

    PTB's constructors set every attribute: 116 for a Message, 31 for an Update, 18 for a
    User, about 200 for a tap. Setting them, even from C, was the largest part of reading an
    update, and a handler reads a handful. Here only the update's own fields and a few that
    filters read on every update (``_preset``) are set; any other attribute costs nothing
    until it is read, and then gives the default of a prototype PTB built
    (``_ptb_defaults``).
    """

    __slots__ = ()
    _ptb: ClassVar[type[TelegramObject]]
    _ptb_defaults: ClassVar[dict[str, Any]]
    _preset: ClassVar[dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        # Python calls this only when the slot was never set, or the name is not a slot.
        try:
            return self._ptb_defaults[name]
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
        for name, value in cls._preset.items():
            _set(obj, name, value)
        for name, value in fields.items():
            _set(obj, name, value)
        _set(obj, "_id_attrs", id_attrs)
        _set(obj, "api_kwargs", MappingProxyType({}))
        _set(obj, "_bot", bot)
        return obj


def _preset_of(defaults: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: defaults[name] for name in ("_frozen", *names)}


_UTC = dtm.UTC


class _User(_DefaultsOnRead, User):
    __slots__ = ()
    _ptb = User
    _ptb_defaults = _defaults(User(id=1, first_name="x", is_bot=False))
    _preset = _preset_of(_ptb_defaults, "last_name", "username")  # for full names


class _Chat(_DefaultsOnRead, Chat):
    __slots__ = ()
    _ptb = Chat
    _ptb_defaults = _defaults(Chat(id=1, type=ChatType.PRIVATE))
    _preset = _preset_of(_ptb_defaults)


class _MessageEntity(_DefaultsOnRead, MessageEntity):
    __slots__ = ()
    _ptb = MessageEntity
    _ptb_defaults = _defaults(MessageEntity(type=MessageEntityType.BOLD, offset=0, length=1))
    _preset = _preset_of(_ptb_defaults)


class _Message(_DefaultsOnRead, Message):
    __slots__ = ()
    _ptb = Message
    _ptb_defaults = _defaults(
        Message(message_id=1, date=dtm.datetime(2000, 1, 1, tzinfo=_UTC), chat=Chat(1, "private"))
    )
    # Read by the handlers' filters on nearly every message (entities about ten times).
    _preset = _preset_of(
        _ptb_defaults, "entities", "document", "photo", "contact", "reply_to_message"
    )


class _CallbackQuery(_DefaultsOnRead, CallbackQuery):
    __slots__ = ()
    _ptb = CallbackQuery
    _ptb_defaults = _defaults(
        CallbackQuery(id="1", from_user=User(1, "x", False), chat_instance="1")
    )
    _preset = _preset_of(_ptb_defaults, "game_short_name")


class _Update(_DefaultsOnRead, Update):
    __slots__ = ()
    _ptb = Update
    _ptb_defaults = _defaults(Update(update_id=1))
    # What the handlers' filters ask of every update (channel_post several times each).
    _preset = _preset_of(
        _ptb_defaults,
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
        # getMe's, plain values too: a User carrying them need not go to de_json
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
# button into objects that no handler reads: a tapped button is checked
# against the database, never against what the client says the keyboard was. So the
# keyboard of a tapped message is not read: ``query.message.reply_markup`` is always None.
_TAPPED_FIELDS = _MESSAGE_FIELDS | {"reply_markup"}
_QUERY_FIELDS = frozenset({"id", "from", "chat_instance", "message", "data"})
_UPDATE_FIELDS = frozenset({"update_id", "message", "callback_query"})


def _check(data: object, allowed: frozenset[str], required: Sequence[str]) -> dict[str, Any]:
    if type(data) is not dict or not data.keys() <= allowed:
        raise _NotCommon
    for name in required:
        if name not in data:
            raise _NotCommon
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
        raise _NotCommon
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
            raise _NotCommon
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


def _read_common(data: object, bot: Any, tz: dtm.tzinfo | None) -> Update:
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
        raise _NotCommon
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
        return _read_common(data, bot, extract_tzinfo_from_defaults(bot))
    except _NotCommon:
        query = data.get("callback_query")
        message = query.get("message") if isinstance(query, dict) else None
        if isinstance(message, dict):
            message.pop("reply_markup", None)
        return Update.de_json(data, bot)
