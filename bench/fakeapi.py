"""A lean fake of the Telegram Bot API for load tests, and the applicants who drive it.

``tests/fakebot.py`` is built for correctness (it re-checks HTML, keeps every call and every
message with its history, polls for quiet periods): fine for a test of one person, too heavy for
500 people answering 34 questions each. This fake keeps only what a load test needs:

* a minimal HTTP/1.1 server on 127.0.0.1 written on ``asyncio.Protocol`` (keep-alive, one
  request at a time per connection, ``Content-Length`` bodies, form-encoded parameters: what
  python-telegram-bot's httpx client sends);
* ``getUpdates`` long polling over an in-memory queue, or, in webhook mode
  (``WebhookPush``), each update POSTed to the bot's webhook, round robin over several
  instances;
* ``sendMessage`` / ``editMessageText`` / ``editMessageReplyMarkup`` answered with a plausible
  ``Message``, and handed to the applicant of that chat as an event; every other method
  answers ``true``;
* a tap on a button carries the message it was on as the chat shows it (text, bold
  entities, the keyboard), as Telegram's callback queries do.

Applicants live in the same process and event loop as the fake: they queue updates directly
(no HTTP between them and the fake) and react to the bot's calls synchronously. All timestamps
are taken here, on one clock (``time.perf_counter``):

* ``t_queued``: the applicant queued the update;
* ``t_delivered``: the fake put it into a ``getUpdates`` response, or wrote its webhook POST
  (handed to the bot);
* ``t_first``: the bot's first sendMessage/edit to that chat after that;
* ``t_done``: the bot's call that shows the applicant what to do next: a message carrying the
  next question's keyboard (or the edited keyboard of a multiple-choice question, or the final
  "sent" message). This is when a person could act again.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

JSONDict = dict[str, Any]
clock = time.perf_counter

BOT_USER: JSONDict = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Bench Bot",
    "username": "bench_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

_EDITS = frozenset({"editmessagetext", "editmessagereplymarkup", "editmessagecaption"})
_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "


@dataclass(slots=True)
class Sent:
    """One update an applicant sent, and when things happened to it."""

    update_id: int
    chat_id: int
    t_queued: float
    t_delivered: float = 0.0
    t_first: float = 0.0
    t_done: float = 0.0


# (method, params, message_id, time) -> None
Sink = Callable[[str, JSONDict, int, float], None]


class FakeApi:
    """The Bot API as far as a load test needs it. ``start()`` in a running loop."""

    def __init__(self, delay: float = 0.0) -> None:
        # Seconds each answer to a method other than getUpdates is held back: Telegram's
        # round trip, which the loopback does not have.
        self.delay = delay
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._update_ids = itertools.count(1)
        self._pending: deque[tuple[Sent, JSONDict]] = deque()
        self._poll: asyncio.Future[None] | None = None
        self._closing = False
        self._message_ids: dict[int, int] = {}
        self._conns: set[_Conn] = set()
        self.sinks: dict[int, Sink] = {}
        self.calls: Counter[str] = Counter()
        self.strays = 0  # bot calls to chats nobody is listening to
        # Webhook mode: updates are POSTed to the bot's instances, not polled.
        self.push: WebhookPush | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._closing = True
        self._wake()
        if self.push is not None:
            self.push.close()
        if self._server is not None:
            self._server.close()
            for conn in list(self._conns):
                conn.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    # -- updates ---------------------------------------------------------------------

    def queue(self, chat_id: int, payload: JSONDict) -> Sent:
        """Queue an update (its update_id is assigned here) and wake a waiting long poll."""
        update_id = next(self._update_ids)
        payload["update_id"] = update_id
        sent = Sent(update_id, chat_id, clock())
        if self.push is not None:
            self.push.post(sent, payload)
            return sent
        self._pending.append((sent, payload))
        self._wake()
        return sent

    def _wake(self) -> None:
        if self._poll is not None and not self._poll.done():
            self._poll.set_result(None)

    async def get_updates(self, params: JSONDict) -> list[JSONDict]:
        timeout = float(params.get("timeout") or 0)
        if not self._pending and timeout > 0 and not self._closing:
            self._poll = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._poll, timeout)
            except TimeoutError:
                pass
            finally:
                self._poll = None
        limit = max(1, min(100, int(params.get("limit") or 100)))
        batch = []
        now = clock()
        while self._pending and len(batch) < limit:
            sent, payload = self._pending.popleft()
            sent.t_delivered = now
            batch.append(payload)
        return batch

    # -- methods ---------------------------------------------------------------------

    def call(self, method: str, params: JSONDict) -> Any:
        self.calls[method] += 1
        key = method.lower()
        if key == "sendmessage":
            chat_id = int(params["chat_id"])
            message_id = self._message_ids.get(chat_id, 0) + 1
            self._message_ids[chat_id] = message_id
            self._notify(chat_id, method, params, message_id)
            return self._message(chat_id, message_id, params.get("text") or "")
        if key in _EDITS:
            chat_id = int(params.get("chat_id") or 0)
            message_id = int(params.get("message_id") or 0)
            self._notify(chat_id, method, params, message_id)
            return self._message(chat_id, message_id, params.get("text") or "…")
        if key == "getme":
            return BOT_USER
        return True

    def _notify(self, chat_id: int, method: str, params: JSONDict, message_id: int) -> None:
        sink = self.sinks.get(chat_id)
        if sink is None:
            self.strays += 1
            return
        sink(method, params, message_id, clock())

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str) -> JSONDict:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Applicant"},
            "from": BOT_USER,
            "text": text,
        }


def _whole_message(buf: bytearray) -> tuple[list[str], bytes] | None:
    """The first HTTP/1.1 message in ``buf`` if it is all there (its head's lines and its
    body, by Content-Length), taken out of ``buf``; None while more is to come."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    total = end + 4 + length
    if len(buf) < total:
        return None
    body = bytes(buf[end + 4 : total])
    del buf[:total]
    return lines, body


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection from the bot."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiting = False  # a long poll is in progress on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.api._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.api._conns.discard(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.waiting:
            self._process()

    def _process(self) -> None:
        while self.transport is not None and not self.waiting:
            message = _whole_message(self.buf)
            if message is None:
                return
            lines, body = message
            target = lines[0].split(" ")[1]
            path, _, query = target.partition("?")
            method = path.rsplit("/", 1)[-1]
            params: JSONDict = dict(parse_qsl(query, keep_blank_values=True))
            if body[:1] == b"{":
                params.update(json.loads(body))
            elif body:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            if method.lower() == "getupdates":
                self.api.calls[method] += 1
                self.waiting = True
                task = asyncio.ensure_future(self.api.get_updates(params))
                task.add_done_callback(self._polled)
                return
            result = self.api.call(method, params)
            if self.api.delay > 0:
                self.waiting = True  # HTTP/1.1: later requests on this connection queue
                asyncio.get_running_loop().call_later(self.api.delay, self._delayed, result)
                return
            self._reply(result)

    def _delayed(self, result: Any) -> None:
        self.waiting = False
        self._reply(result)
        self._process()

    def _polled(self, task: asyncio.Future[list[JSONDict]]) -> None:
        self.waiting = False
        result = [] if task.cancelled() or task.exception() else task.result()
        self._reply(result)
        self._process()

    def _reply(self, result: Any) -> None:
        if self.transport is None:
            return
        body = json.dumps({"ok": True, "result": result}).encode()
        self.transport.write(_HEAD + str(len(body)).encode() + b"\r\n\r\n" + body)


# --- webhook mode ----------------------------------------------------------------------

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookPush:
    """Telegram's side of webhook mode, in front of one or several instances of the bot:
    each update is POSTed to the next instance's webhook in turn (a round robin, as nginx's
    upstream in front of several instances; README "Several instances"), over at most
    ``connections`` keep-alive connections per instance (Telegram's ``max_connections``,
    40 by default). An update waits for a free connection of its instance. An answer other
    than 200, or a connection lost before the answer, sends it to the next instance, as
    nginx's ``proxy_next_upstream`` and Telegram's retries would (``retried``).

    A minimal HTTP/1.1 client on ``asyncio.Protocol``, like the fake's server: aiohttp's
    client costs about four times the CPU per request (bench/README.md, "Transport"), and
    here the fake shares the cores with the instances."""

    def __init__(
        self, ports: list[int], secret: str, path: str = "/hook", connections: int = 40
    ) -> None:
        self.targets = [_Target(self, port, secret, path, connections) for port in ports]
        self._turn = 0
        self.retried = 0

    def post(self, sent: Sent, payload: JSONDict) -> None:
        self._send(sent, json.dumps(payload).encode())

    def _send(self, sent: Sent, body: bytes) -> None:
        target = self.targets[self._turn % len(self.targets)]
        self._turn += 1
        target.post(sent, body)

    def retry(self, sent: Sent, body: bytes) -> None:
        self.retried += 1
        asyncio.get_running_loop().call_later(0.05, self._send, sent, body)

    @property
    def posted(self) -> list[int]:
        """Updates each instance answered 200 to."""
        return [t.posted for t in self.targets]

    def close(self) -> None:
        for target in self.targets:
            target.close()


class _Target:
    """One instance's webhook: its connections and the updates waiting for one."""

    def __init__(
        self, push: WebhookPush, port: int, secret: str, path: str, connections: int
    ) -> None:
        self.push = push
        self.port = port
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{SECRET_HEADER}: {secret}\r\n"
            "Content-Length: "
        ).encode()
        self.limit = connections
        self.opened = 0
        self.idle: list[_PushConn] = []
        self.backlog: deque[tuple[Sent, bytes]] = deque()
        self.posted = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def post(self, sent: Sent, body: bytes) -> None:
        if self.idle:
            self.idle.pop().send(sent, body)
        elif self.opened < self.limit:
            self.opened += 1
            task = asyncio.ensure_future(self._open(sent, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.backlog.append((sent, body))

    async def _open(self, sent: Sent, body: bytes) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(lambda: _PushConn(self), "127.0.0.1", self.port)
        except OSError:
            self.opened -= 1
            self.push.retry(sent, body)
            return
        conn.send(sent, body)

    def free(self, conn: _PushConn) -> None:
        if self.backlog:
            conn.send(*self.backlog.popleft())
        else:
            self.idle.append(conn)

    def lost(self, conn: _PushConn) -> None:
        self.opened -= 1
        if conn in self.idle:
            self.idle.remove(conn)

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


class _PushConn(asyncio.Protocol):
    """One keep-alive connection to an instance's webhook, one POST at a time."""

    def __init__(self, target: _Target) -> None:
        self.target = target
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.current: tuple[Sent, bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, sent: Sent, body: bytes) -> None:
        assert self.transport is not None
        self.current = (sent, body)
        sent.t_delivered = clock()
        self.transport.write(self.target.head + str(len(body)).encode() + b"\r\n\r\n" + body)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        message = _whole_message(self.buf)
        if message is None:
            return
        lines, _ = message
        status = int(lines[0].split(" ")[1])
        current, self.current = self.current, None
        if current is not None:
            if status == 200:
                self.target.posted += 1
            else:
                self.target.push.retry(*current)
        self.target.free(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.target.lost(self)
        if self.current is not None:
            self.target.push.retry(*self.current)
            self.current = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# --- the applicants ---------------------------------------------------------------------

PHONE = "139 1234 5678"

# What each simulated applicant answers, by step id of the default flow. Buttons are chosen by
# their callback data (the index of the choice), never by label, so the language does not
# matter. A victim of a crime, adult, not compensated: the path most applications take.
ANSWERS: dict[str, tuple[str, Any]] = {
    "consent": ("agree", None),
    "applying_for": ("choose", 0),  # for myself
    "name": ("type", "张秀英"),
    "birth_date": ("type", "1975-03-08"),
    "guardian_consent": ("agree", None),
    "id_number": ("type", "430321197503080023"),
    "sensitive_consent": ("agree", None),
    "county": ("type", "湘潭县"),
    "township": ("type", "花石镇"),
    "village": ("type", "双峰村"),
    "rural": ("choose", 0),
    "what_happened": ("choose", 0),  # injured by a crime
    "injury": ("choose", 0),  # seriously
    "authority": ("choose", 2),  # the court
    "authority_name": ("skip", None),
    "case_stage": ("choose", 2),  # judged
    "case_number": ("skip", None),
    "own_fault": ("choose", 1),
    "compensation": ("choose", 2),  # none at all
    "no_compensation_reason": ("choose", 0),
    "hardship": ("toggle", [0]),
    "hardship_caused_by_case": ("choose", 0),
    "medical_urgent": ("choose", 0),
    "household_size": ("type", "4"),
    "earners": ("type", "1"),
    "monthly_income": ("type", "1200.5"),
    "groups": ("toggle", [3]),
    "social_assistance": ("toggle", []),
    "work_ability": ("choose", 1),
    "help_wanted": ("toggle", [0, 1]),
    "phone": ("type", PHONE),
    "documents": ("skip", None),
    "description": ("skip", None),
}
# By step type, for a step the table above does not name (a changed flow).
BY_TYPE: dict[str, tuple[str, Any]] = {
    "consent": ("agree", None),
    "choice": ("choose", 0),
    "multi_choice": ("toggle", [0]),
    "text": ("type", "测试"),
    "number": ("type", "1"),
    "date": ("type", "1980-01-01"),
    "phone": ("type", PHONE),
    "id_number": ("type", "430321197503080023"),
    "attachments": ("skip", None),
}
MAX_UPDATES = 120  # per applicant: a bot that keeps refusing cannot keep us looping


@dataclass
class Step:
    id: str
    type: str
    required: bool


def load_steps(source: str) -> list[Step]:
    """The flow's steps in order (the index is what the bot's buttons carry)."""
    import yaml

    data = yaml.safe_load(source)
    return [
        Step(str(s["id"]), str(s["type"]), bool(s.get("required", True))) for s in data["steps"]
    ]


def _updates_for(steps: list[Step]) -> list[str]:
    """The kinds of update (m = message, c = button) one applicant sends on the scripted
    path: what the echo bot is driven with, so it gets the same number and mix."""
    kinds = ["m"]  # /start
    skip = {"relationship", "helper_role", "guardian_name", "guardian_relation"}
    skip |= {"guardian_consent", "what_happened_other", "welcome"}
    skip |= {"relationship_other", "applicant_name", "dependants", "hardship_resolved"}
    for step in steps:
        if step.id in skip or step.type == "note":
            continue
        action, arg = ANSWERS.get(step.id) or BY_TYPE.get(step.type, ("skip", None))
        if action == "type":
            kinds.append("m")
        elif action == "toggle":
            kinds += ["c"] * (len(arg) + 1)
        else:
            kinds.append("c")
    return [*kinds, "c"]  # the review's Send


@dataclass
class Phase:
    """One run of N applicants against one bot; filled in by the applicants."""

    mode: str  # "interview" (intake bot, conversation baseline) or "echo"
    steps: list[Step]
    think: float  # mean think time between answers, seconds (0 = answer at once)
    done: list[Sent] = field(default_factory=list)
    finished: int = 0
    failed: int = 0
    refusals: int = 0
    active: int = 0
    loop: asyncio.AbstractEventLoop | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    echo_plan: list[str] = field(default_factory=list)


class Applicant:
    """One person answering the interview as fast as the bot lets them (or with think time)."""

    def __init__(self, api: FakeApi, phase: Phase, user_id: int) -> None:
        self.api = api
        self.phase = phase
        self.id = user_id
        self.user: JSONDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": "申请人",
            "language_code": "zh-hans",
        }
        self.chat: JSONDict = {"id": user_id, "type": "private", "first_name": "申请人"}
        self.current: Sent | None = None
        self.sent = 0
        self.own_ids = itertools.count(1_000_000)  # the applicant's own message ids
        self.toggled: dict[str, int] = {}
        self.expect_end = False
        self.last_bot_message = 1
        # The bot's newest message as the chat shows it: a tap carries it, as Telegram's do.
        self.shown: JSONDict = {"message_id": 0, "text": "…"}
        self.finished = False

    # -- sending ---------------------------------------------------------------------

    def begin(self) -> None:
        self.phase.active += 1
        self._text("/start", command=True)

    def _later(self, action: Callable[[], None]) -> None:
        if self.phase.think > 0:
            assert self.phase.loop is not None
            self.phase.loop.call_later(self.phase.rng.uniform(0, 2 * self.phase.think), action)
        else:
            action()

    def _queue(self, payload: JSONDict) -> None:
        if self.sent >= MAX_UPDATES:
            self._finish(failed=True)
            return
        self.sent += 1
        self.current = self.api.queue(self.id, payload)

    def _text(self, text: str, *, command: bool = False) -> None:
        message: JSONDict = {
            "message_id": next(self.own_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            "text": text,
        }
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        self._queue({"message": message})

    def _tap(self, data: str, message_id: int) -> None:
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat,
            "from": BOT_USER,
            "text": "…",
        }
        if self.shown["message_id"] == message_id:
            # What Telegram sends with a tap: the message with its text, formatting and
            # keyboard (PTB decodes all of it).
            message.update((k, v) for k, v in self.shown.items() if k != "message_id")
        query = {
            "id": f"{self.id}-{self.sent}",
            "from": self.user,
            "message": message,
            "chat_instance": f"ci{self.id}",
            "data": data,
        }
        self._queue({"callback_query": query})

    def _show(self, method: str, params: JSONDict, message_id: int) -> None:
        if method not in ("sendMessage", "editMessageText", "editMessageReplyMarkup"):
            return
        if message_id != self.shown["message_id"]:
            self.shown = {"message_id": message_id, "text": "…"}
        if params.get("text"):
            self.shown.update(_as_telegram(str(params["text"])))
        raw = params.get("reply_markup")
        markup = json.loads(raw) if isinstance(raw, str) else raw
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            self.shown["reply_markup"] = markup
        else:
            self.shown.pop("reply_markup", None)

    def _finish(self, *, failed: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        self.current = None
        self.phase.active -= 1
        if failed:
            self.phase.failed += 1
        else:
            self.phase.finished += 1

    def stalled(self, now: float, after: float) -> bool:
        """No answer to the last update for ``after`` seconds: give this applicant up."""
        if self.current is not None and now - self.current.t_queued > after:
            self._finish(failed=True)
            return True
        return False

    # -- receiving -------------------------------------------------------------------

    def on_call(self, method: str, params: JSONDict, message_id: int, now: float) -> None:
        sent = self.current
        if sent is None or not sent.t_delivered:
            return  # not an answer to anything we are waiting for
        if not sent.t_first:
            sent.t_first = now
        if method == "sendMessage":
            self.last_bot_message = message_id
        self._show(method, params, message_id)
        if self.phase.mode == "echo":
            if method != "sendMessage":
                return
            self._complete(sent, now)
            if self.sent >= len(self.phase.echo_plan):
                self._finish()
                return
            self._later(self._echo_next)
            return
        if self.expect_end:
            if method == "sendMessage":
                self._complete(sent, now)
                self._finish()
            return
        raw = params.get("reply_markup")
        if not raw:
            return
        markup = json.loads(raw) if isinstance(raw, str) else raw
        if "inline_keyboard" not in markup and "keyboard" not in markup:
            return  # e.g. the keyboard removal that follows the phone answer
        self._complete(sent, now)
        if str(params.get("text") or "").startswith("⚠️"):
            self.phase.refusals += 1
        self._later(lambda: self._answer(markup, message_id))

    def _complete(self, sent: Sent, now: float) -> None:
        sent.t_done = now
        self.phase.done.append(sent)
        self.current = None

    def _echo_next(self) -> None:
        if self.phase.echo_plan[self.sent] == "m":
            self._text(f"answer {self.sent}")
        else:
            self._tap(f"a:0:{self.sent}:c:0", self.last_bot_message)

    def _answer(self, markup: JSONDict, message_id: int) -> None:
        """Answer the question the bot just showed, as ANSWERS says."""
        if self.finished:
            return
        if "keyboard" in markup:  # the phone question's reply keyboard
            self._text(PHONE)
            return
        data = [b.get("callback_data") for row in markup["inline_keyboard"] for b in row]
        data = [d for d in data if d]
        review = [d for d in data if d.startswith("r:") and d.split(":")[2] == "u"]
        if review:
            self.expect_end = True
            self._tap(review[0], message_id)
            return
        question = next((d for d in data if d.startswith("a:")), None)
        if question is None:
            self._finish(failed=True)
            return
        _, intake, idx, _op, _arg = question.split(":")
        step = self.phase.steps[int(idx)]

        def tap(op: str, arg: int = 0) -> None:
            wanted = f"a:{intake}:{idx}:{op}:{arg}"
            if wanted not in data:
                self._finish(failed=True)
                return
            self._tap(wanted, message_id)

        action, arg = ANSWERS.get(step.id) or BY_TYPE.get(step.type, ("skip", None))
        if action == "type":
            self._text(str(arg))
        elif action == "agree":
            tap("y")
        elif action == "choose":
            tap("c", int(arg))
        elif action == "skip":
            tap("s")
        elif action == "toggle":
            n = self.toggled.get(step.id, 0)
            if n < len(arg):
                self.toggled[step.id] = n + 1
                tap("t", int(arg[n]))
            else:
                tap("d")
        else:
            self._finish(failed=True)


_BOLD = re.compile(r"<b>(.*?)</b>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _as_telegram(html_text: str) -> JSONDict:
    """HTML as the bot sends it, as Telegram gives it back: plain text and entities
    (bold only; offsets in characters, close enough for a load test)."""
    text, entities, at = [], [], 0
    for match in _BOLD.finditer(html_text):
        before = html.unescape(_TAG.sub("", html_text[at : match.start()]))
        inner = html.unescape(_TAG.sub("", match.group(1)))
        text.append(before)
        offset = sum(map(len, text))
        entities.append({"type": "bold", "offset": offset, "length": len(inner)})
        text.append(inner)
        at = match.end()
    text.append(html.unescape(_TAG.sub("", html_text[at:])))
    out: JSONDict = {"text": "".join(text) or "…"}
    if entities:
        out["entities"] = entities
    return out


async def run_phase(
    api: FakeApi,
    *,
    mode: str,
    steps: list[Step],
    applicants: int,
    first_id: int,
    think: float,
    timeout: float,
    stall: float,
    log: Callable[[str], None],
) -> tuple[Phase, float, float]:
    """Run ``applicants`` people through the bot at once; returns the phase, its wall time
    (first update queued to last reply) and the fake's own CPU time meanwhile."""
    loop = asyncio.get_running_loop()
    phase = Phase(mode, steps, think, loop=loop)
    phase.echo_plan = _updates_for(steps)
    people = [Applicant(api, phase, first_id + i) for i in range(applicants)]
    for person in people:
        api.sinks[person.id] = person.on_call
    cpu0, t0 = time.process_time(), clock()
    for person in people:
        if think > 0:
            loop.call_later(phase.rng.uniform(0, 2 * think), person.begin)
        else:
            person.begin()
    deadline = t0 + timeout
    next_report = t0 + 5
    await asyncio.sleep(0)
    while clock() < deadline:
        if phase.finished + phase.failed >= applicants:
            break
        await asyncio.sleep(0.05)
        now = clock()
        for person in people:
            if not person.finished:
                person.stalled(now, stall)
        if now >= next_report:
            next_report = now + 5
            log(
                f"  {len(phase.done)} updates answered, {phase.finished} applicants done,"
                f" {phase.failed} failed"
            )
    for person in people:
        if not person.finished:
            person._finish(failed=True)
        api.sinks.pop(person.id, None)
    cpu = time.process_time() - cpu0
    if phase.done:
        first = min(s.t_queued for s in phase.done)
        last = max(s.t_done for s in phase.done)
        wall = last - first
    else:
        wall = clock() - t0
    return phase, wall, cpu
