"""An offline fake of the Telegram Bot API, and people to talk to the bot through it.

Why this exists: the end-to-end tests must run the *real* python-telegram-bot ``Application``
(long polling, request encoding, error mapping, retries) without touching the network. Mocking
``Bot`` methods would skip exactly the layers that break in production (form encoding, JSON
parsing of results, 429/5xx mapping, update offsets after a restart), so instead this module
serves the Bot API over HTTP on 127.0.0.1 and PTB talks to it unchanged::

    async with FakeTelegram() as tg:
        app = (
            ApplicationBuilder()
            .token("123:TEST")
            .base_url(f"{tg.url}/bot")
            .base_file_url(f"{tg.url}/file/bot")
            .build()
        )
        ...  # start app, then:
        li = tg.user(1001, first_name="Li")
        replies = await li.ask("/start")
        await li.tap("同意")

The server runs inside the caller's asyncio event loop (tornado on asyncio), so tests need no
threads. It does not depend on pytest: a benchmark or a kill -9 test can run the bot as a
subprocess against ``FakeTelegram(port=0).url``.

Behaviour copied from the real Bot API on purpose (so bugs show up offline, not in production):
editing text without ``reply_markup`` removes the inline keyboard; an edit that changes nothing
is ``400 message is not modified``; answering a callback query twice is a 400; malformed
HTML / MarkdownV2 is ``400 can't parse entities`` (disable with ``strict_parse_mode=False``);
callback_data over 64 bytes is ``400 BUTTON_DATA_INVALID``; texts over 4096 / captions over 1024
characters are rejected; ``getUpdates`` is a 409 while a webhook is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, NamedTuple, Self

import tornado.httpserver
import tornado.httputil
import tornado.iostream
import tornado.netutil
import tornado.web

__all__ = [
    "BOT_ID",
    "BOT_USER",
    "BOT_USERNAME",
    "ApiError",
    "Call",
    "FakeGroup",
    "FakeTelegram",
    "FakeUser",
    "SentMessage",
    "StoredFile",
    "Upload",
]

JSONDict = dict[str, Any]

BOT_ID = 999000
BOT_USERNAME = "intake_test_bot"
BOT_USER: JSONDict = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Intake Test Bot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

#: How long the bot must have been quiet before a wait considers its answer complete. Long
#: enough to cover a DB write between two sends, short enough to keep the suite fast.
DEFAULT_SETTLE = 0.15
_POLL_STEP = 0.01

#: Parameters that PTB sends as plain strings (it JSON-encodes only non-strings). Decoding these
#: as JSON would turn a user's text "123" into an int, so they are never decoded.
# fmt: off
_STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "url", "file_id", "language_code",
    "emoji", "phone_number", "first_name", "last_name", "vcard", "title", "address",
    "description", "short_description", "name", "question", "action", "secret_token",
    "ip_address", "business_connection_id", "message_effect_id", "inline_message_id",
    "document", "photo", "audio", "voice", "video", "animation", "sticker", "video_note",
    "thumbnail",
})
# fmt: on

#: ``send<Kind>`` methods that create a message carrying a file under the parameter ``kind``.
_FILE_KINDS = ("photo", "document", "audio", "voice", "video", "animation", "sticker", "video_note")
#: Keys of a Message object that hold its content; used for forward/copy and kind detection.
_CONTENT_KEYS = (*_FILE_KINDS, "text", "contact", "location", "venue", "poll", "dice")
_CONTENT_EXTRA_KEYS = ("caption", "entities", "caption_entities", "media_group_id")

# fmt: off
_HTML_TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji", "tg-time",
})
# fmt: on
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_MDV2_NEVER_BARE = frozenset(".!#+-={}")

_ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

#: Methods that never act on a chat's messages; blocking a chat does not affect them.
_CHATLESS_OK = frozenset({"getchat", "getchatmember", "setchatmenubutton", "getchatmenubutton"})


class ApiError(Exception):
    """A Bot API error response; raised by method implementations, turned into JSON."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.parameters = parameters


class Call(NamedTuple):
    """One Bot API call the bot made, as decoded by the fake (unpacks as ``method, params``)."""

    method: str
    params: JSONDict


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request; stands in for the file in :attr:`Call.params`."""

    filename: str
    mime_type: str
    data: bytes


@dataclass
class StoredFile:
    """A file the fake can serve through ``getFile`` and the download route."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class SentMessage:
    """A message the bot sent; edits and deletions update it in place.

    ``text`` is the text, or the caption of a media message, exactly as the bot sent it (with
    its HTML/Markdown markup; the fake does not render entities). ``history`` holds the earlier
    texts, oldest first, so a test can see what an edit replaced.
    """

    chat_id: int
    message_id: int
    kind: str
    text: str | None
    reply_markup: JSONDict | None
    parse_mode: str | None
    date: int
    chat: JSONDict
    content: JSONDict
    params: JSONDict
    file_id: str | None = None
    file_name: str | None = None
    file_bytes: bytes | None = None
    mime_type: str | None = None
    media_group_id: str | None = None
    forwarded_from: tuple[int, int] | None = None
    history: list[str | None] = field(default_factory=list)
    edits: int = 0
    deleted: bool = False

    @property
    def caption(self) -> str | None:
        """The caption of a media message (``None`` for text messages)."""
        return None if self.kind == "text" else self.text

    @property
    def inline_buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row, flattened."""
        if not self.reply_markup or "inline_keyboard" not in self.reply_markup:
            return []
        return [button for row in self.reply_markup["inline_keyboard"] for button in row]

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline keyboard, flattened."""
        return [button.get("text", "") for button in self.inline_buttons]

    @property
    def button_data(self) -> dict[str, str | None]:
        """Inline button label -> callback_data (``None`` for URL and other buttons)."""
        return {b.get("text", ""): b.get("callback_data") for b in self.inline_buttons}

    @property
    def reply_keyboard(self) -> list[JSONDict]:
        """Reply keyboard buttons as dicts (``{"text": ...}``), flattened."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return []
        return [
            button if isinstance(button, dict) else {"text": str(button)}
            for row in self.reply_markup["keyboard"]
            for button in row
        ]

    @property
    def reply_buttons(self) -> list[str]:
        """Labels of the reply keyboard, including ``request_contact`` ones."""
        return [button.get("text", "") for button in self.reply_keyboard]

    @property
    def removes_keyboard(self) -> bool:
        """True if this message carried ``ReplyKeyboardRemove``."""
        return bool(self.reply_markup and self.reply_markup.get("remove_keyboard"))

    @property
    def document_bytes(self) -> bytes | None:
        """Bytes of the uploaded or re-sent file (documents, photos, ...), if known."""
        return self.file_bytes

    def to_api(self) -> JSONDict:
        """The Message object as the Bot API returns it to the bot."""
        message: JSONDict = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": dict(self.chat),
            "from": dict(BOT_USER),
            **json.loads(json.dumps(self.content)),
        }
        if self.edits:
            message["edit_date"] = int(time.time())
        # The Bot API echoes only inline keyboards; reply keyboards are not part of Message.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = json.loads(json.dumps(self.reply_markup))
        return message

    def __str__(self) -> str:
        extra = f" buttons={self.buttons}" if self.buttons else ""
        extra += f" reply_buttons={self.reply_buttons}" if self.reply_buttons else ""
        gone = " (deleted)" if self.deleted else ""
        return f"#{self.message_id} {self.kind}{gone}: {self.text!r}{extra}"


@dataclass
class _Fault:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    description: str | None


@dataclass
class _Delay:
    method: str
    seconds: float
    remaining: int
    apply_first: bool


#: How ``FakeTelegram.frame_next`` may write an answer, byte for byte (each piece its own
#: write, a moment apart, so the client reads them apart): ``chunked-split`` and
#: ``trailers`` are valid HTTP/1.1, ``junk-after`` a valid answer with stray bytes after
#: it, ``two-lengths`` an answer that reads two ways, which a careful client refuses.
_FRAMINGS = frozenset({"chunked-split", "trailers", "junk-after", "two-lengths"})


@dataclass
class _Framing:
    method: str
    how: str
    remaining: int


@dataclass
class _QueuedUpdate:
    update: JSONDict
    chat_id: int | None
    duplicate: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


def _matches(pattern: str, method: str) -> bool:
    if pattern == "*":
        return method.lower() != "getupdates"
    return pattern.lower() == method.lower()


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _visible_len(text: str, parse_mode: str | None) -> int:
    if parse_mode and parse_mode.lower() == "html":
        return len(html.unescape(_HTML_TAG_RE.sub("", text)))
    if parse_mode and parse_mode.lower() == "markdownv2":
        return len(re.sub(r"\\(.)", r"\1", text))
    return len(text)


def _check_html(text: str) -> None:
    """Reject what Telegram's HTML parser rejects: unknown/unbalanced tags, a bare ``<``."""
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        offset = len(text[:start].encode())
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: Unsupported start tag at byte offset {offset}",
            )
        closing, name = match.group(1), match.group(2).lower()
        if name not in _HTML_TAGS:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" '
                f"at byte offset {offset}",
            )
        if closing:
            if not stack or stack[-1] != name:
                raise ApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unexpected end tag "{name}" '
                    f"at byte offset {offset}",
                )
            stack.pop()
        else:
            stack.append(name)
        pos = match.end()
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1]}"',
        )


def _check_markdown_v2(text: str) -> None:
    """Reject the MarkdownV2 mistake bots actually make: an unescaped reserved character.

    Only characters that never start an entity are checked (``.!#+-={}``), outside code spans
    and link URLs; that catches user data pasted without ``escape_markdown``.
    """
    in_code = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "`":
            in_code = not in_code
        elif not in_code and char == "]" and text[i + 1 : i + 2] == "(":
            close = text.find(")", i + 2)
            i = close + 1 if close != -1 else len(text)
            continue
        elif not in_code and char == "!" and text[i + 1 : i + 2] == "[":
            pass
        elif not in_code and char in _MDV2_NEVER_BARE:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: Character '{char}' is reserved and must be "
                "escaped with the preceding '\\'",
            )
        i += 1


class _ApiHandler(tornado.web.RequestHandler):
    """Serves ``/bot<token>/<method>``; all logic lives in :class:`FakeTelegram`."""

    fake: FakeTelegram
    closed: asyncio.Event

    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.closed = asyncio.Event()

    def on_connection_close(self) -> None:
        # The client gave up (timeout or PTB cancelling a long poll): updates must not count
        # as delivered to it, and delayed effects may have to be dropped.
        self.closed.set()

    async def get(self, token: str, method: str) -> None:
        params: JSONDict = {}
        for name, values in self.request.arguments.items():
            if values:
                params[name] = _decode_param(name, values[-1].decode("utf-8", "replace"))
        if self.request.body and self.request.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            try:
                body = json.loads(self.request.body)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self.set_status(400, reason="Bad Request")
                self.finish(
                    {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"}
                )
                return
            params.update(body)
        for name, parts in self.request.files.items():
            if parts:
                part = parts[-1]
                params[name] = Upload(
                    filename=part.filename or name,
                    mime_type=part.content_type or "application/octet-stream",
                    data=bytes(part.body),
                )
        status, body = await self.fake._handle_api(token, method, params, self.closed)
        if self.closed.is_set():
            return
        framing = self.fake._take_framing(method)
        if framing is not None:
            await self._write_raw(status, body, framing)
            return
        self.set_status(status, reason=_reason(status))
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    async def post(self, token: str, method: str) -> None:
        await self.get(token, method)

    async def _write_raw(self, status: int, body: bytes, how: str) -> None:
        """The answer written by hand, as ``frame_next`` asked; the connection is closed
        after it (announced in the answer where the client could otherwise reuse it)."""
        head = f"HTTP/1.1 {status} {_reason(status)}\r\nContent-Type: application/json\r\n"
        size = f"{len(body):x}\r\n".encode()
        chunked = (head + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
        length = f"Content-Length: {len(body)}\r\n".encode()
        if how == "chunked-split":  # the last chunk's line in one read, the final CRLF in the next
            pieces = [chunked + size + body[:10], body[10:] + b"\r\n0\r\n", b"\r\n"]
        elif how == "trailers":
            pieces = [chunked + size + body + b"\r\n0\r\nX-Request-Id: 7\r\n\r\n"]
        elif how == "junk-after":  # a keep-alive answer, then bytes nobody asked for
            pieces = [head.encode() + length + b"\r\n" + body + b"\r\n0\r\n\r\n"]
        else:  # two-lengths: the second one byte more than the body
            extra = f"Content-Length: {len(body) + 1}\r\n".encode()
            pieces = [head.encode() + length + extra + b"\r\n" + body]
        stream = self.detach()
        try:
            for piece in pieces:
                await stream.write(piece)
                await asyncio.sleep(0.02)
        except tornado.iostream.StreamClosedError:
            pass
        finally:
            stream.close()


class _FileHandler(tornado.web.RequestHandler):
    """Serves ``/file/bot<token>/<file_path>`` with the stored bytes."""

    fake: FakeTelegram

    def initialize(self, fake: FakeTelegram) -> None:
        self.fake = fake

    async def get(self, token: str, path: str) -> None:
        self.fake._tokens_seen.add(token)
        if self.fake.token is not None and token != self.fake.token:
            self.set_status(401)
            self.finish(b"Unauthorized")
            return
        stored = self.fake._files_by_path.get(path)
        if stored is None:
            self.set_status(404)
            self.finish(b"Not Found")
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.data)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _decode_param(name: str, raw: str) -> Any:
    if name in _STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    return None


class FakeTelegram:
    """A fake Telegram Bot API server for the real PTB ``Application``.

    Build the app with ``.base_url(f"{tg.url}/bot").base_file_url(f"{tg.url}/file/bot")``.
    State (queued updates, update ids, files, sent messages) lives for the whole lifetime of the
    object, so a test can stop one ``Application`` and start another on the same fake to
    simulate a restart; unconfirmed updates are then delivered again, as Telegram does.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        strict_parse_mode: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        #: If set, requests with another token get 401 (PTB raises ``InvalidToken``).
        self.token = token
        self.strict_parse_mode = strict_parse_mode
        #: Every API call the bot made, in order, including failed and injected ones.
        self.calls: list[Call] = []
        #: Answers to callback queries: callback_query_id -> answerCallbackQuery params.
        self.answers: dict[str, JSONDict] = {}
        #: Stored by setMyCommands: (scope JSON, language_code) -> commands.
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        #: Stored by setChatMenuButton: chat_id (None = default) -> menu button.
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.webhook_url: str = ""
        self.blocked: set[int] = set()
        #: How often getUpdates handed out each update id (a re-delivery counts again).
        self.deliveries: dict[int, int] = {}

        self._server: tornado.httpserver.HTTPServer | None = None
        self._closing = asyncio.Event()
        self._tokens_seen: set[str] = set()
        self._update_ids = itertools.count(1)
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(1)
        self._media_group_seq = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._pending: list[_QueuedUpdate] = []
        self._redeliver: list[_QueuedUpdate] = []
        self._duplicate_next = False
        self._last_queued_id = 0
        self._max_delivered_id = 0
        self._wakeup = asyncio.Event()
        self._faults: list[_Fault] = []
        self._delays: list[_Delay] = []
        self._framings: list[_Framing] = []
        self._messages: dict[int, dict[int, SentMessage]] = {}
        self._log: dict[int, list[tuple[str, SentMessage]]] = {}
        self._user_messages: dict[tuple[int, int], JSONDict] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._callback_chats: dict[str, int] = {}
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._last_activity = 0.0
        self._chat_activity: dict[int, float] = {}
        self._inflight = 0
        self._chat_inflight: dict[int, int] = {}
        self._handlers_running = 0
        self._methods: dict[str, Callable[[JSONDict, asyncio.Event], Any]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "sendmediagroup": self._send_media_group,
            "getfile": self._get_file,
            "forwardmessage": self._forward_message,
            "copymessage": self._copy_message,
            "sendchataction": self._true,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "close": self._true,
            "logout": self._true,
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (valid after :meth:`start`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_url``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass to ``ApplicationBuilder.base_file_url``."""
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0 = ephemeral) in the running event loop."""
        app = tornado.web.Application(
            [
                (r"/bot([^/]+)/([A-Za-z_]+)", _ApiHandler, {"fake": self}),
                (r"/file/bot([^/]+)/(.+)", _FileHandler, {"fake": self}),
            ],
            log_function=lambda _handler: None,
        )
        self._closing = asyncio.Event()
        self._wakeup = asyncio.Event()
        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app, idle_connection_timeout=30)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop listening, end pending long polls and delays, close all connections."""
        if self._server is None:
            return
        self._closing.set()
        self._wakeup.set()
        self._server.stop()
        deadline = asyncio.get_running_loop().time() + 2
        while self._handlers_running and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(_POLL_STEP)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.close_all_connections(), 2)
        self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ people and chats

    def user(
        self,
        user_id: int,
        first_name: str = "Li",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        *,
        last_name: str | None = None,
        phone_number: str | None = None,
    ) -> FakeUser:
        """A person in a private chat with the bot (chat id == user id); cached per id."""
        if user_id in self._users:
            return self._users[user_id]
        info: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            info["last_name"] = last_name
        if username:
            info["username"] = username
        if language_code:
            info["language_code"] = language_code
        chat: JSONDict = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self._chats[user_id] = chat
        phone = phone_number or f"+86138{user_id % 10**8:08d}"
        person = FakeUser(self, info, chat, phone)
        self._users[user_id] = person
        return person

    def group(self, chat_id: int, title: str = "Caseworkers") -> FakeGroup:
        """A group chat (e.g. the caseworkers' group); cached per id."""
        if chat_id in self._groups:
            return self._groups[chat_id]
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        chat: JSONDict = {"id": chat_id, "type": kind, "title": title}
        self._chats[chat_id] = chat
        grp = FakeGroup(self, chat)
        self._groups[chat_id] = grp
        return grp

    def block(self, chat_id: int) -> None:
        """The person blocked the bot: sends/edits to this chat get 403 from now on."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """The person unblocked the bot."""
        self.blocked.discard(chat_id)

    # ------------------------------------------------------------------ inspection

    def sent(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """Messages the bot sent to ``chat_id``, oldest first (current state after edits)."""
        messages = sorted(self._messages.get(chat_id, {}).values(), key=lambda m: m.message_id)
        return [m for m in messages if include_deleted or not m.deleted]

    def calls_to(self, method: str) -> list[JSONDict]:
        """Params of every call of ``method`` (case-insensitive), in order."""
        return [c.params for c in self.calls if c.method.lower() == method.lower()]

    def call_count(self, method: str) -> int:
        """How often the bot called ``method``."""
        return len(self.calls_to(method))

    @property
    def tokens_seen(self) -> set[str]:
        """Tokens the bot used (the fake does not validate them unless ``token`` was given)."""
        return set(self._tokens_seen)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by the bot."""
        return [q.update for q in self._pending]

    def forget_file(self, file_id: str) -> None:
        """Telegram drops its copy of a file: getFile, the download and a re-send by its id
        fail from now on (a file kept only as a Telegram id is lost)."""
        stored = self._files.pop(file_id, None)
        if stored is not None:
            self._files_by_path.pop(stored.file_path, None)

    def forget_all_files(self) -> None:
        """Telegram drops every file it holds (see ``forget_file``)."""
        self._files.clear()
        self._files_by_path.clear()

    def file_bytes(self, file_id: str) -> bytes:
        """The stored content of any file the fake knows (uploaded by the bot or a person)."""
        return self._files[file_id].data

    def chat_events(self, chat_id: int) -> list[tuple[str, SentMessage]]:
        """Everything the bot did to ``chat_id``'s messages: ("sent"|"edited"|"deleted", msg)."""
        return list(self._log.get(chat_id, []))

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int = 502,
        count: int = 1,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with HTTP ``status``.

        ``method="*"`` matches any method except getUpdates. A 429 carries
        ``parameters.retry_after`` (default 1 s), which PTB turns into ``RetryAfter``; 5xx map to
        ``NetworkError``, 403 to ``Forbidden``, 400 to ``BadRequest``. The failing call has no
        effect (the message is not sent).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(_Fault(method, status, count, retry_after, description))

    def delay_next(
        self, method: str, seconds: float, count: int = 1, *, apply_first: bool = True
    ) -> None:
        """Delay the response to the next ``count`` calls of ``method`` (``"*"`` = any).

        With ``apply_first`` (default) the call takes effect at once and only the response is
        late: the realistic "Telegram delivered the message but the client timed out" case that
        tempts a bot into sending twice. With ``apply_first=False`` the call is held and then
        dropped if the client gave up meanwhile.
        """
        self._delays.append(_Delay(method, seconds, count, apply_first))

    def frame_next(self, method: str, how: str, count: int = 1) -> None:
        """Write the answer to the next ``count`` calls of ``method`` (``"*"`` = any) by
        hand, after the call took effect: ``chunked-split`` (chunked, the read split between
        the last chunk's ``0\\r\\n`` and the final ``\\r\\n``), ``trailers`` (chunked with
        a trailer), ``junk-after`` (a complete keep-alive answer followed by stray bytes),
        ``two-lengths`` (two different Content-Length headers). The connection closes after."""
        if how not in _FRAMINGS:
            raise ValueError(f"unknown framing {how!r}: one of {sorted(_FRAMINGS)}")
        self._framings.append(_Framing(method, how, count))

    def _take_framing(self, method: str) -> str | None:
        for framing in self._framings:
            if _matches(framing.method, method):
                framing.remaining -= 1
                if framing.remaining <= 0:
                    self._framings.remove(framing)
                return framing.how
        return None

    def duplicate_next_update(self) -> None:
        """Deliver the next queued update twice: once normally and, after the bot confirmed
        it, once more with the same update_id (as Telegram re-delivers after a crash)."""
        self._duplicate_next = True

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if _matches(fault.method, method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _take_delay(self, method: str) -> _Delay | None:
        for delay in self._delays:
            if _matches(delay.method, method):
                delay.remaining -= 1
                if delay.remaining <= 0:
                    self._delays.remove(delay)
                return delay
        return None

    # ------------------------------------------------------------------ updates

    def queue_update(self, payload: JSONDict, chat_id: int | None = None) -> JSONDict:
        """Queue a raw update (``update_id`` is assigned here) and wake a waiting long poll."""
        update = {"update_id": next(self._update_ids), **payload}
        queued = _QueuedUpdate(update, chat_id, duplicate=self._duplicate_next)
        self._duplicate_next = False
        self._pending.append(queued)
        self._last_queued_id = queued.update_id
        self._notify()
        return update

    def _notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            confirmed = [q for q in self._pending if q.update_id < offset]
            self._pending = [q for q in self._pending if q.update_id >= offset]
        elif offset < 0:
            keep = -offset
            confirmed = self._pending[:-keep] if len(self._pending) > keep else []
            self._pending = self._pending[-keep:]
        else:
            return
        for queued in confirmed:
            if queued.duplicate:
                self._redeliver.append(_QueuedUpdate(queued.update, queued.chat_id))

    def _deliverable(self, limit: int) -> list[_QueuedUpdate]:
        batch = sorted(self._redeliver + self._pending, key=lambda q: q.update_id)
        return batch[:limit]

    def message_id_for(self, chat_id: int) -> int:
        """Next message id in ``chat_id`` (shared by the person's and the bot's messages)."""
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def chat_dict(self, chat_id: int) -> JSONDict:
        """The Chat object for ``chat_id`` (known people/groups, else a plausible default)."""
        if chat_id in self._chats:
            return dict(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"}

    # ------------------------------------------------------------------ waiting

    def _touch(self, chat_id: int | None) -> None:
        now = asyncio.get_running_loop().time()
        self._last_activity = now
        if chat_id is not None:
            self._chat_activity[chat_id] = now

    def _quiet_for(self, settle: float, chat_id: int | None = None) -> bool:
        now = asyncio.get_running_loop().time()
        if chat_id is None:
            return self._inflight == 0 and now - self._last_activity >= settle
        return (
            self._chat_inflight.get(chat_id, 0) == 0
            and now - self._chat_activity.get(chat_id, 0.0) >= settle
        )

    def _all_delivered(self) -> bool:
        return self._max_delivered_id >= self._last_queued_id and not self._redeliver

    async def wait_idle(self, timeout: float = 5.0, settle: float = DEFAULT_SETTLE) -> None:
        """Wait until every queued update was fetched and the bot made no call for ``settle``.

        Raises ``AssertionError`` on timeout (e.g. no Application is polling).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._all_delivered() and self._quiet_for(settle):
                return
            await asyncio.sleep(_POLL_STEP)
        raise AssertionError(
            f"bot not idle after {timeout}s: {len(self._pending)} unconfirmed update(s), "
            f"last queued update {self._last_queued_id}, last delivered "
            f"{self._max_delivered_id}, {self._inflight} call(s) in flight; "
            f"recent calls: {self._recent_calls()}"
        )

    def _recent_calls(self, n: int = 8) -> list[str]:
        calls = [c for c in self.calls if c.method.lower() != "getupdates"][-n:]
        return [f"{c.method}({_short(c.params)})" for c in calls]

    # ------------------------------------------------------------------ HTTP entry point

    async def _handle_api(
        self, token: str, method: str, params: JSONDict, closed: asyncio.Event
    ) -> tuple[int, bytes]:
        self._handlers_running += 1
        try:
            return await self._handle_api_inner(token, method, params, closed)
        finally:
            self._handlers_running -= 1

    async def _handle_api_inner(
        self, token: str, method: str, params: JSONDict, closed: asyncio.Event
    ) -> tuple[int, bytes]:
        self.calls.append(Call(method, params))
        self._tokens_seen.add(token)
        key = method.lower()
        polling = key == "getupdates"
        chat_id = self._chat_of_call(key, params)
        if not polling:
            self._inflight += 1
            if chat_id is not None:
                self._chat_inflight[chat_id] = self._chat_inflight.get(chat_id, 0) + 1
            self._touch(chat_id)
        try:
            if self.token is not None and token != self.token:
                return _error(ApiError(401, "Unauthorized"))
            fault = self._take_fault(method)
            if fault is not None:
                parameters = (
                    {"retry_after": fault.retry_after} if fault.retry_after is not None else None
                )
                if fault.status == 429:
                    description = fault.description or (
                        f"Too Many Requests: retry after {fault.retry_after}"
                    )
                else:
                    description = fault.description or _ERROR_DESCRIPTIONS.get(
                        fault.status, _reason(fault.status)
                    )
                return _error(ApiError(fault.status, description, parameters))
            delay = self._take_delay(method)
            if delay is not None and not delay.apply_first:
                await self._sleep(delay.seconds)
                if closed.is_set():
                    return _error(ApiError(499, "client gave up; call dropped"))
            try:
                result = await self._dispatch(key, params, closed)
            except ApiError as err:
                status, body = _error(err)
            else:
                status, body = 200, json.dumps({"ok": True, "result": result}).encode()
            if delay is not None and delay.apply_first:
                await self._sleep(delay.seconds)
            return status, body
        finally:
            if not polling:
                self._inflight -= 1
                if chat_id is not None:
                    self._chat_inflight[chat_id] -= 1
                self._touch(chat_id)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early if the fake stops (so stop() never waits on a delay)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _chat_of_call(self, key: str, params: JSONDict) -> int | None:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None and key == "answercallbackquery":
            return self._callback_chats.get(str(params.get("callback_query_id")))
        return chat_id

    async def _dispatch(self, key: str, params: JSONDict, closed: asyncio.Event) -> Any:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id in self.blocked and key not in _CHATLESS_OK:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        handler = self._methods.get(key)
        if handler is None and key.startswith("send"):
            return self._send_generic(key[4:], params)
        if handler is None:
            return True
        result = handler(params, closed)
        if inspect.isawaitable(result):
            result = await result
        return result

    # ------------------------------------------------------------------ methods

    def _true(self, params: JSONDict, closed: asyncio.Event) -> bool:
        return True

    def _get_me(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        return dict(BOT_USER)

    async def _get_updates(self, params: JSONDict, closed: asyncio.Event) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset")) or 0
        limit = max(1, min(100, _as_int(params.get("limit")) or 100))
        timeout = float(params.get("timeout") or 0)
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._deliverable(limit) and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0 or closed.is_set():
                break
            waiters = [
                asyncio.ensure_future(self._wakeup.wait()),
                asyncio.ensure_future(closed.wait()),
                asyncio.ensure_future(self._closing.wait()),
            ]
            _, pending = await asyncio.wait(
                waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()
        if closed.is_set():
            return []
        batch = self._deliverable(limit)
        for queued in batch:
            if queued in self._redeliver:
                self._redeliver.remove(queued)
            self._max_delivered_id = max(self._max_delivered_id, queued.update_id)
            self.deliveries[queued.update_id] = self.deliveries.get(queued.update_id, 0) + 1
            self._touch(queued.chat_id)
        return [queued.update for queued in batch]

    def _delete_webhook(self, params: JSONDict, closed: asyncio.Event) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
            self._redeliver.clear()
            self._max_delivered_id = self._last_queued_id
        return True

    def _set_webhook(self, params: JSONDict, closed: asyncio.Event) -> bool:
        self.webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._pending.clear()
            self._redeliver.clear()
        return True

    def _get_webhook_info(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSONDict, closed: asyncio.Event) -> bool:
        self.commands[self._commands_key(params)] = list(params.get("commands") or [])
        return True

    def _get_my_commands(self, params: JSONDict, closed: asyncio.Event) -> list[JSONDict]:
        return self.commands.get(self._commands_key(params), [])

    def _delete_my_commands(self, params: JSONDict, closed: asyncio.Event) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_chat_menu_button(self, params: JSONDict, closed: asyncio.Event) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        self.menu_buttons[_as_int(params.get("chat_id"))] = button
        return True

    def _get_chat_menu_button(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        chat_id = _as_int(params.get("chat_id"))
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"}))

    def _get_chat(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None or chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return {
            **self._chats[chat_id],
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        chat_id = _as_int(params.get("chat_id"))
        user_id = _as_int(params.get("user_id"))
        if chat_id is None or user_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        person = self._users.get(user_id)
        user = dict(person.user) if person else {"id": user_id, "is_bot": False, "first_name": "?"}
        if chat_id in self._groups:
            status = self._groups[chat_id].statuses.get(user_id, "left")
        else:
            status = "member" if chat_id == user_id else "left"
        member: JSONDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            for flag in (
                "can_be_edited",
                "is_anonymous",
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
            ):
                member[flag] = flag not in ("can_be_edited", "is_anonymous")
        elif status == "kicked":
            member["until_date"] = 0
        return member

    # --- sending

    def _require_chat(self, params: JSONDict) -> int:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _check_text(self, text: str | None, parse_mode: str | None, *, caption: bool) -> None:
        limit = 1024 if caption else 4096
        if not caption and not (text or "").strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if text is None:
            return
        if _visible_len(text, parse_mode) > limit:
            what = "message caption" if caption else "message"
            raise ApiError(400, f"Bad Request: {what} is too long")
        if self.strict_parse_mode and parse_mode:
            if parse_mode.lower() == "html":
                _check_html(text)
            elif parse_mode.lower() == "markdownv2":
                _check_markdown_v2(text)

    @staticmethod
    def _check_markup(markup: Any) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed")
        return markup

    def _store_sent(
        self,
        chat_id: int,
        kind: str,
        content: JSONDict,
        params: JSONDict,
        *,
        stored: StoredFile | None = None,
        forwarded_from: tuple[int, int] | None = None,
        reply_markup: JSONDict | None = None,
    ) -> SentMessage:
        text = content.get("text", content.get("caption"))
        message = SentMessage(
            chat_id=chat_id,
            message_id=self.message_id_for(chat_id),
            kind=kind,
            text=text,
            reply_markup=reply_markup,
            parse_mode=params.get("parse_mode"),
            date=int(time.time()),
            chat=self.chat_dict(chat_id),
            content=content,
            params=params,
            file_id=stored.file_id if stored else None,
            file_name=stored.file_name if stored else None,
            file_bytes=stored.data if stored else None,
            mime_type=stored.mime_type if stored else None,
            media_group_id=content.get("media_group_id"),
            forwarded_from=forwarded_from,
        )
        self._messages.setdefault(chat_id, {})[message.message_id] = message
        self._log.setdefault(chat_id, []).append(("sent", message))
        return message

    def _send_message(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        chat_id = self._require_chat(params)
        text = params.get("text")
        text = None if text is None else str(text)
        self._check_text(text, params.get("parse_mode"), caption=False)
        markup = self._check_markup(params.get("reply_markup"))
        message = self._store_sent(chat_id, "text", {"text": text}, params, reply_markup=markup)
        return message.to_api()

    def _send_generic(self, kind_camel: str, params: JSONDict) -> Any:
        kind = re.sub(r"(?<!^)([A-Z])", r"_\1", kind_camel).lower()
        chat_id = self._require_chat(params)
        caption = params.get("caption")
        self._check_text(caption, params.get("parse_mode"), caption=True)
        markup = self._check_markup(params.get("reply_markup"))
        content: JSONDict = {}
        stored: StoredFile | None = None
        if kind in _FILE_KINDS:
            stored = self._input_file(params.get(kind), kind)
            content[kind] = self._file_object(kind, stored)
        elif kind == "contact":
            content["contact"] = {
                "phone_number": str(params.get("phone_number", "")),
                "first_name": str(params.get("first_name", "")),
            }
        elif kind == "location":
            content["location"] = {
                "latitude": float(params.get("latitude", 0)),
                "longitude": float(params.get("longitude", 0)),
            }
        if caption is not None:
            content["caption"] = caption
        message = self._store_sent(
            chat_id, kind, content, params, stored=stored, reply_markup=markup
        )
        return message.to_api()

    def _send_media_group(self, params: JSONDict, closed: asyncio.Event) -> list[JSONDict]:
        chat_id = self._require_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media must include 2-10 items")
        group_id = f"mg{next(self._media_group_seq)}"
        results = []
        for item in media:
            kind = str(item.get("type", "document"))
            ref = item.get("media")
            if isinstance(ref, str) and ref.startswith("attach://"):
                ref = params.get(ref[len("attach://") :])
            stored = self._input_file(ref, kind)
            self._check_text(item.get("caption"), item.get("parse_mode"), caption=True)
            content: JSONDict = {kind: self._file_object(kind, stored), "media_group_id": group_id}
            if item.get("caption") is not None:
                content["caption"] = item["caption"]
            item_params = {**params, "parse_mode": item.get("parse_mode"), "media": item}
            message = self._store_sent(chat_id, kind, content, item_params, stored=stored)
            results.append(message.to_api())
        return results

    def _input_file(self, value: Any, kind: str) -> StoredFile:
        """Resolve a file parameter: an upload becomes a new stored file; a file_id must be
        known (as on Telegram, where a wrong one is a 400); a URL gets an empty placeholder."""
        if isinstance(value, Upload):
            return self.store_file(value.data, kind, file_name=value.filename, mime=value.mime_type)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or kind
            return self.store_file(b"", kind, file_name=name, mime=None)
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def store_file(
        self,
        data: bytes,
        kind: str = "document",
        *,
        file_name: str | None = None,
        mime: str | None = None,
    ) -> StoredFile:
        """Store bytes under a fresh file_id so getFile and the download route serve them."""
        n = next(self._file_seq)
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[-1]
        elif kind == "photo":
            suffix = ".jpg"
        stored = StoredFile(
            file_id=f"FAKE-{kind}-{n:06d}-{BOT_ID}",
            file_unique_id=f"uniq{kind}{n:06d}",
            data=data,
            file_path=f"{kind}s/file_{n}{suffix}",
            file_name=file_name,
            mime_type=mime,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _file_object(kind: str, stored: StoredFile) -> Any:
        base: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if kind == "photo":
            return [{**base, "width": 1280, "height": 960}]
        if kind in ("document", "audio", "voice", "video", "animation"):
            if stored.file_name and kind != "voice":
                base["file_name"] = stored.file_name
            if stored.mime_type:
                base["mime_type"] = stored.mime_type
        if kind in ("audio", "voice", "video", "animation", "video_note"):
            base["duration"] = 1
        if kind in ("video", "animation", "sticker"):
            base.update(width=512, height=512)
        if kind == "video_note":
            base["length"] = 240
        if kind == "sticker":
            base.update(type="regular", is_animated=False, is_video=False)
        return base

    def _find_message(self, params: JSONDict, *, action: str) -> SentMessage:
        chat_id = self._require_chat(params)
        message_id = _as_int(params.get("message_id"))
        message = self._messages.get(chat_id, {}).get(message_id or -1)
        if message is None or message.deleted:
            raise ApiError(400, f"Bad Request: message to {action} not found")
        return message

    def _apply_edit(
        self, message: SentMessage, *, text: str | None, markup: JSONDict | None, params: JSONDict
    ) -> Any:
        if message.text == text and message.reply_markup == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        if message.text != text:
            message.history.append(message.text)
        message.text = text
        if text is not None:
            message.content["text" if message.kind == "text" else "caption"] = text
        if "parse_mode" in params:
            message.parse_mode = params.get("parse_mode")
        message.reply_markup = markup
        message.edits += 1
        self._log.setdefault(message.chat_id, []).append(("edited", message))
        return message.to_api()

    def _edit_message_text(self, params: JSONDict, closed: asyncio.Event) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, action="edit")
        if message.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = str(params.get("text") or "")
        self._check_text(text, params.get("parse_mode"), caption=False)
        markup = self._check_markup(params.get("reply_markup"))
        return self._apply_edit(message, text=text, markup=markup, params=params)

    def _edit_message_caption(self, params: JSONDict, closed: asyncio.Event) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, action="edit")
        if message.kind == "text":
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = params.get("caption")
        self._check_text(caption, params.get("parse_mode"), caption=True)
        markup = self._check_markup(params.get("reply_markup"))
        return self._apply_edit(message, text=caption, markup=markup, params=params)

    def _edit_message_reply_markup(self, params: JSONDict, closed: asyncio.Event) -> Any:
        if params.get("inline_message_id"):
            return True
        message = self._find_message(params, action="edit")
        markup = self._check_markup(params.get("reply_markup"))
        return self._apply_edit(message, text=message.text, markup=markup, params={})

    def _delete_message(self, params: JSONDict, closed: asyncio.Event) -> bool:
        chat_id = self._require_chat(params)
        message_id = _as_int(params.get("message_id")) or -1
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is not None and not message.deleted:
            message.deleted = True
            self._log.setdefault(chat_id, []).append(("deleted", message))
            return True
        if self._user_messages.pop((chat_id, message_id), None) is not None:
            return True
        raise ApiError(400, "Bad Request: message to delete not found")

    def _delete_messages(self, params: JSONDict, closed: asyncio.Event) -> bool:
        for message_id in params.get("message_ids") or []:
            with contextlib.suppress(ApiError):
                self._delete_message({**params, "message_id": message_id}, closed)
        return True

    def _answer_callback_query(self, params: JSONDict, closed: asyncio.Event) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._callback_chats or query_id in self.answers:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.answers[query_id] = params
        return True

    def _get_file(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _source_message(self, params: JSONDict) -> tuple[int, int, JSONDict]:
        from_chat = _as_int(params.get("from_chat_id"))
        message_id = _as_int(params.get("message_id"))
        if from_chat is None or message_id is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        original = self._user_messages.get((from_chat, message_id))
        if original is None:
            sent = self._messages.get(from_chat, {}).get(message_id)
            if sent is None or sent.deleted:
                raise ApiError(400, "Bad Request: message to copy not found")
            original = sent.to_api()
        return from_chat, message_id, original

    def _resend(self, params: JSONDict, *, forward: bool) -> SentMessage:
        chat_id = self._require_chat(params)
        from_chat, message_id, original = self._source_message(params)
        content = {k: original[k] for k in (*_CONTENT_KEYS, *_CONTENT_EXTRA_KEYS) if k in original}
        content.pop("media_group_id", None)
        kind = next((k for k in _CONTENT_KEYS if k in content), "unknown")
        if forward:
            content["forward_origin"] = {
                "type": "user",
                "date": original.get("date", 0),
                "sender_user": original.get("from", dict(BOT_USER)),
            }
        elif "caption" in params:
            content["caption"] = params["caption"]
        file_obj = content.get(kind)
        if isinstance(file_obj, list) and file_obj:
            file_obj = file_obj[-1]
        stored = None
        if isinstance(file_obj, dict) and "file_id" in file_obj:
            stored = self._files.get(file_obj["file_id"])
        markup = None if forward else self._check_markup(params.get("reply_markup"))
        return self._store_sent(
            chat_id,
            kind,
            content,
            params,
            stored=stored,
            forwarded_from=(from_chat, message_id),
            reply_markup=markup,
        )

    def _forward_message(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        return self._resend(params, forward=True).to_api()

    def _copy_message(self, params: JSONDict, closed: asyncio.Event) -> JSONDict:
        return {"message_id": self._resend(params, forward=False).message_id}


def _error(err: ApiError) -> tuple[int, bytes]:
    payload: JSONDict = {"ok": False, "error_code": err.status, "description": err.description}
    if err.parameters:
        payload["parameters"] = err.parameters
    return err.status, json.dumps(payload).encode()


def _short(params: JSONDict, width: int = 80) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "reply_markup")
    return text if len(text) <= width else text[: width - 3] + "..."


class _ChatView:
    """Read side of one chat: what the bot sent there, and waiting for its next answer."""

    def __init__(self, tg: FakeTelegram, chat: JSONDict) -> None:
        self.tg = tg
        self.chat = chat
        self.chat_id: int = int(chat["id"])
        self._mark = 0
        self._awaiting = False
        self._last_update_id = 0

    @property
    def messages(self) -> list[SentMessage]:
        """All (not deleted) messages the bot sent to this chat, oldest first."""
        return self.tg.sent(self.chat_id)

    def last(self) -> SentMessage:
        """The newest message the bot sent to this chat (``AssertionError`` if none)."""
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1]

    def texts(self) -> list[str]:
        """Texts (or captions) of all messages the bot sent here."""
        return [m.text or "" for m in self.messages]

    def _begin(self, update_id: int = 0) -> None:
        # Replies are counted from the first update not yet waited for, so two sends followed
        # by one wait_reply() return the answers to both.
        if not self._awaiting:
            self._mark = len(self.tg._log.get(self.chat_id, []))
            self._awaiting = True
        self._last_update_id = max(self._last_update_id, update_id)

    def _new_messages(self) -> list[SentMessage]:
        seen: dict[int, SentMessage] = {}
        for event, message in self.tg._log.get(self.chat_id, [])[self._mark :]:
            if event in ("sent", "edited") and not message.deleted:
                seen.setdefault(id(message), message)
        # As the chat shows them, top to bottom: the bot may edit an older message while
        # it sends a new one, and which call Telegram gets first is not fixed.
        return sorted(seen.values(), key=lambda m: m.message_id)

    async def wait_reply(
        self, timeout: float = 5.0, *, settle: float = DEFAULT_SETTLE, min_messages: int = 1
    ) -> list[SentMessage]:
        """Wait for the bot's answer: at least ``min_messages`` new or edited messages in this
        chat, then ``settle`` seconds without the bot touching the chat. Returns them (current
        state, in the chat's order). ``AssertionError`` on timeout, with the bot's
        recent calls, so a failing test says what the bot did instead.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            new = self._new_messages()
            if (
                len(new) >= min_messages
                and self.tg._max_delivered_id >= self._last_update_id
                and self.tg._quiet_for(settle, self.chat_id)
            ):
                self._mark = len(self.tg._log.get(self.chat_id, []))
                self._awaiting = False
                return new
            await asyncio.sleep(_POLL_STEP)
        new = self._new_messages()
        delivered = self.tg._max_delivered_id >= self._last_update_id
        raise AssertionError(
            f"chat {self.chat_id}: expected >= {min_messages} new bot message(s) within "
            f"{timeout}s, got {[str(m) for m in new]}; update {self._last_update_id} "
            f"{'was' if delivered else 'was NOT'} fetched by the bot; "
            f"recent bot calls: {self.tg._recent_calls()}"
        )

    async def expect_no_reply(self, within: float = 0.3) -> None:
        """Assert the bot sends or edits nothing here for ``within`` seconds (after the last
        update was fetched), e.g. after a forged callback it must ignore."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(within, 5.0)
        while self.tg._max_delivered_id < self._last_update_id and loop.time() < deadline:
            await asyncio.sleep(_POLL_STEP)
        await asyncio.sleep(within)
        new = self._new_messages()
        self._mark = len(self.tg._log.get(self.chat_id, []))
        self._awaiting = False
        if new:
            raise AssertionError(
                f"chat {self.chat_id}: expected no reply, got {[str(m) for m in new]}"
            )


class FakeGroup(_ChatView):
    """A group chat such as the caseworkers' group; ``member()`` plays people inside it."""

    def __init__(self, tg: FakeTelegram, chat: JSONDict) -> None:
        super().__init__(tg, chat)
        #: user_id -> chat member status reported by getChatMember ("member", "administrator",
        #: "creator", "left", "kicked"); people added via member() are "member" by default.
        self.statuses: dict[int, str] = {}
        self._members: dict[int, FakeUser] = {}

    def member(
        self,
        user_id: int,
        first_name: str = "Caseworker",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        *,
        status: str = "member",
    ) -> FakeUser:
        """A person acting in this group (their messages and taps have this group as chat)."""
        if user_id not in self._members:
            person = self.tg.user(user_id, first_name, language_code, username)
            self._members[user_id] = FakeUser(self.tg, person.user, self.chat, person.phone_number)
            self.statuses.setdefault(user_id, status)
        return self._members[user_id]


class FakeUser(_ChatView):
    """A person talking to the bot. Every action queues one update and returns it.

    Use ``ask()`` for "send and wait for the answer", or an action followed by ``wait_reply()``.
    """

    def __init__(self, tg: FakeTelegram, user: JSONDict, chat: JSONDict, phone_number: str) -> None:
        super().__init__(tg, chat)
        self.user = user
        self.id: int = int(user["id"])
        self.first_name: str = str(user["first_name"])
        self.phone_number = phone_number

    # --- queueing

    async def _queue(self, payload: JSONDict) -> JSONDict:
        update = self.tg.queue_update(payload, self.chat_id)
        self._begin(int(update["update_id"]))
        await asyncio.sleep(0)  # let a waiting long poll pick it up
        return update

    def _message(self, content: JSONDict) -> JSONDict:
        message = {
            "message_id": self.tg.message_id_for(self.chat_id),
            "date": int(time.time()),
            "chat": dict(self.chat),
            "from": dict(self.user),
            **content,
        }
        self.tg._user_messages[(self.chat_id, message["message_id"])] = message
        return message

    async def send(self, text: str) -> JSONDict:
        """A text message; ``/cmd args`` gets a ``bot_command`` entity so CommandHandler
        matches."""
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return await self._queue({"message": self._message(content)})

    async def ask(
        self, text: str, timeout: float = 5.0, *, settle: float = DEFAULT_SETTLE
    ) -> list[SentMessage]:
        """Send ``text`` and return the bot's answer (see :meth:`wait_reply`)."""
        await self.send(text)
        return await self.wait_reply(timeout, settle=settle)

    async def send_contact(
        self,
        phone_number: str | None = None,
        own: bool = True,
        *,
        first_name: str | None = None,
        user_id: int | None = None,
    ) -> JSONDict:
        """A shared contact; ``own`` sets ``contact.user_id`` to this person (as Telegram does
        for "share my phone number"), otherwise it is someone else's card."""
        contact: JSONDict = {
            "phone_number": phone_number or self.phone_number,
            "first_name": first_name or self.first_name,
        }
        if own:
            contact["user_id"] = self.id
        elif user_id is not None:
            contact["user_id"] = user_id
        return await self._queue({"message": self._message({"contact": contact})})

    async def send_photo(self, data: bytes | None = None, caption: str | None = None) -> JSONDict:
        """A photo with three sizes, each a fresh stored file (downloadable via getFile)."""
        sizes = []
        for width, height in ((90, 67), (320, 240), (1280, 960)):
            blob = data if data is not None and width == 1280 else None
            if blob is None:
                marker = f"fake-photo-{len(self.tg._files) + 1}-{width}x{height}".encode()
                blob = b"\xff\xd8\xff\xe0" + marker + b"\xff\xd9"
            stored = self.tg.store_file(blob, "photo", mime="image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": len(blob),
                    "width": width,
                    "height": height,
                }
            )
        content: JSONDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return await self._queue({"message": self._message(content)})

    async def send_document(
        self,
        filename: str,
        data: bytes,
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> JSONDict:
        """A document; its bytes are stored so the bot can getFile + download them."""
        stored = self.tg.store_file(data, "document", file_name=filename, mime=mime_type)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        content: JSONDict = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return await self._queue({"message": self._message(content)})

    async def send_sticker(self, emoji: str = "👍") -> JSONDict:
        """A sticker (something the intake flow does not expect)."""
        stored = self.tg.store_file(b"RIFFfakewebp", "sticker", mime="image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._queue({"message": self._message({"sticker": sticker})})

    async def send_voice(self, duration: int = 3, data: bytes = b"OggSfakevoice") -> JSONDict:
        """A voice note (people who cannot type well may send these)."""
        stored = self.tg.store_file(data, "voice", mime="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return await self._queue({"message": self._message({"voice": voice})})

    async def send_location(self, latitude: float = 30.66, longitude: float = 104.06) -> JSONDict:
        """A shared location."""
        location = {"latitude": latitude, "longitude": longitude}
        return await self._queue({"message": self._message({"location": location})})

    # --- buttons

    def _candidates(self, message: SentMessage | None) -> list[SentMessage]:
        return [message] if message is not None else list(reversed(self.messages))

    async def _find_button(
        self,
        match: Callable[[str], bool],
        message: SentMessage | None,
        what: str,
        wait: float,
    ) -> tuple[SentMessage, JSONDict]:
        """The newest matching inline button. Waits up to ``wait`` seconds for it to appear:
        a handler that sends several messages may pause between them for longer than the
        settle period of :meth:`wait_reply` on a busy machine."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            for candidate in self._candidates(message):
                for button in candidate.inline_buttons:
                    if match(button.get("text", "")):
                        return candidate, button
            if loop.time() >= deadline:
                break
            await asyncio.sleep(_POLL_STEP)
        available = {m.message_id: m.buttons for m in self._candidates(message) if m.buttons}
        raise AssertionError(
            f"no inline button {what} in chat {self.chat_id}; buttons by message id: {available}"
        )

    async def _tap_button(self, message: SentMessage, button: JSONDict) -> JSONDict:
        data = button.get("callback_data")
        if data is None:
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        return await self._callback(str(data), message.to_api())

    async def _callback(self, data: str, message: JSONDict) -> JSONDict:
        query_id = f"{self.id}{next(self.tg._callback_seq):06d}"
        self.tg._callback_chats[query_id] = self.chat_id
        payload = {
            "callback_query": {
                "id": query_id,
                "from": dict(self.user),
                "message": message,
                "chat_instance": f"ci{self.chat_id}",
                "data": data,
            }
        }
        return await self._queue(payload)

    async def tap(
        self, label: str, message: SentMessage | None = None, *, wait: float = 5.0
    ) -> JSONDict:
        """Tap the inline button labelled exactly ``label`` on the newest bot message having
        one (or on ``message``), waiting up to ``wait`` seconds for it to be shown.
        ``AssertionError`` lists the buttons if there is none."""
        found, button = await self._find_button(
            lambda text: text == label, message, f"{label!r}", wait
        )
        return await self._tap_button(found, button)

    async def tap_containing(
        self, substr: str, message: SentMessage | None = None, *, wait: float = 5.0
    ) -> JSONDict:
        """Like :meth:`tap`, matching the first button whose label contains ``substr``."""
        found, button = await self._find_button(
            lambda text: substr in text, message, f"containing {substr!r}", wait
        )
        return await self._tap_button(found, button)

    async def tap_data(self, data: str, message_id: int | None = None) -> JSONDict:
        """A callback query with arbitrary (possibly forged or stale) data, as a modified
        client could send. Attached to message ``message_id``, else the newest bot message,
        else a made-up message."""
        sent = self.tg._messages.get(self.chat_id, {})
        if message_id is not None and message_id in sent:
            message = sent[message_id].to_api()
        elif message_id is None and self.messages:
            message = self.messages[-1].to_api()
        else:
            message = {
                "message_id": message_id or 1,
                "date": int(time.time()),
                "chat": dict(self.chat),
                "from": dict(BOT_USER),
                "text": "",
            }
        return await self._callback(data, message)

    def callback_answer(self, update: JSONDict) -> JSONDict | None:
        """The answerCallbackQuery params the bot sent for a tap (None if not answered yet)."""
        query_id = update.get("callback_query", {}).get("id")
        return self.tg.answers.get(str(query_id))

    def current_reply_keyboard(self) -> list[JSONDict]:
        """Buttons of the reply keyboard currently shown (the newest one not removed since)."""
        for message in reversed(self.tg.sent(self.chat_id, include_deleted=True)):
            if message.removes_keyboard:
                return []
            if message.reply_keyboard:
                return message.reply_keyboard
        return []

    async def press(self, label: str, *, wait: float = 5.0) -> JSONDict:
        """Press a reply-keyboard button: ``request_contact`` shares the own phone number,
        ``request_location`` a location, anything else sends the label as text. Waits up to
        ``wait`` seconds for the keyboard to be shown."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            keyboard = self.current_reply_keyboard()
            for button in keyboard:
                if button.get("text") == label:
                    if button.get("request_contact"):
                        return await self.send_contact(self.phone_number, own=True)
                    if button.get("request_location"):
                        return await self.send_location()
                    return await self.send(label)
            if loop.time() >= deadline:
                break
            await asyncio.sleep(_POLL_STEP)
        labels = [b.get("text") for b in keyboard]
        raise AssertionError(
            f"no reply keyboard button {label!r} in chat {self.chat_id}; shown: {labels}"
        )

    def block(self) -> None:
        """This person blocks the bot (sends to them get 403)."""
        self.tg.block(self.chat_id)

    def unblock(self) -> None:
        """This person unblocks the bot."""
        self.tg.unblock(self.chat_id)
