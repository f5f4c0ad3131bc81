"""The web chat, as an applicant with a phone's browser would notice it: plain form posts
through aiohttp's test client, against a real SQLite file and the core's real services.

The whole built-in interview is walked in Chinese and in Uyghur by reading each page's
form and answering what it asks; a bad answer is refused with the chat's own words and
the question asked again; Back goes back; Send gives a reference and puts the intake in
the caseworkers' queue. A fresh browser comes back with the resume code; forms without the
session's token are refused; pages carry a strict CSP, are small, and escape answers.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import html
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from bot.cards import card_texts
from bot.channels import WEB, is_web
from bot.config import Settings
from bot.flow import engine
from bot.flow.loader import default_flow_source, load_flow_text
from bot.i18n import I18n
from bot.messages import HTML
from bot.services import Services, open_services
from command_line.cli import main
from tests.backends import deployment, fresh_postgres, open_store
from tests.helpers import wait_until
from web_channel.app import build_web_app, serve_web

CAW = 9001  # a caseworker, in Telegram


@dataclass
class Form:
    """The question form of a page: what it asks and the buttons it offers."""

    step: str
    kind: str
    hidden: dict[str, str]
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)
    typed: bool = False

    def button(self, name: str, value: str | None = None) -> tuple[str, str]:
        for n, v, _label in self.buttons:
            if n == name and (value is None or v == value):
                return n, v
        raise AssertionError(f"no button {name}={value} on {self.step}: {self.buttons}")

    def has(self, name: str, value: str) -> bool:
        return any(n == name and v == value for n, v, _ in self.buttons)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self.inside = False
        self.button: dict[str, str] | None = None
        self.label = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "q":
            self.form = Form(a.get("data-step", ""), a.get("data-type", ""), {})
            self.inside = True
        elif self.inside and self.form is not None:
            if tag == "input" and a.get("type") == "hidden":
                self.form.hidden[a["name"]] = a.get("value", "")
            elif tag in ("input", "textarea") and a.get("name") == "text":
                self.form.typed = True
            elif tag == "button":
                self.button, self.label = a, ""

    def handle_data(self, data: str) -> None:
        if self.button is not None:
            self.label += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self.button is not None and self.form is not None:
            b = self.button
            self.form.buttons.append((b.get("name", ""), b.get("value", ""), self.label.strip()))
            self.button = None
        elif tag == "form":
            self.inside = False


def form_of(page: str) -> Form:
    reader = _Reader()
    reader.feed(page)
    assert reader.form is not None, page[:2000]
    return reader.form


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert m is not None
    return m.group(1)


def warning_of(page: str) -> str:
    """The refusal at the top of the question (as the chat shows it, after ⚠️)."""
    m = re.search(r"⚠️ ([^<]+)", page)
    return html.unescape(m.group(1)).strip() if m else ""


# What a walk answers, by kind of question; the name is an answer with markup in it.
NAME = "<script>alert(1)</script>王小明"
TYPED = {
    "name": NAME,
    "text": "张家村",
    "date": "1975-03-08",
    "number": "1",
    "phone": "13812345678",
}


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    # A walk answers faster than anyone could: the limits have a test of their own.
    settings = Settings(db_path=str(tmp_path / "intake.db"), web_rate_limit=0)
    services = await open_services(settings)
    try:
        await services.store.roles.grant(CAW, "caseworker")
        yield services
    finally:
        await services.store.close()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_web_app(services))) as c:
        yield c


async def fresh_client(services: Services) -> TestClient:
    c = TestClient(TestServer(build_web_app(services)))
    await c.start_server()
    return c


async def start(client: TestClient, lang: str) -> tuple[str, str]:
    """Open the start page in a browser set to ``lang``, tap Start: (code, first page)."""
    headers = {"Accept-Language": lang}
    home = await client.get("/", headers=headers)
    assert home.status == 200
    page = await client.post("/start", data={"csrf": csrf_of(await home.text())}, headers=headers)
    assert page.status == 200
    text = await page.text()
    m = re.search(r'id="code">([A-Z0-9]{4}-[A-Z0-9]{4})<', text)
    assert m is not None, text
    chat = await client.get("/chat", headers=headers)
    assert chat.status == 200
    return m.group(1), await chat.text()


async def send(client: TestClient, form: Form, lang: str, **fields: str) -> tuple[int, str]:
    """Post the form (its hidden fields and ``fields``), following the redirect."""
    data = {**form.hidden, **fields}
    r = await client.post("/answer", data=data, headers={"Accept-Language": lang})
    return r.status, await r.text()


async def walk(client: TestClient, page: str, lang: str, steps: list[str], until: str = "") -> str:
    """Answer every question until the review, or the question ``until`` (recording each
    step id in ``steps``)."""
    for _ in range(80):
        form = form_of(page)
        assert not warning_of(page), (form.step, warning_of(page))
        if form.kind == "review" or form.step == until:
            return page
        steps.append(form.step)
        if form.kind == "consent":
            fields = dict([form.button("move", "agree")])
        elif form.kind == "choice":
            fields = dict([form.button("choice", "0")])
        elif form.kind == "multi_choice":
            _, page = await send(client, form, lang, **dict([form.button("choice", "0")]))
            form = form_of(page)
            fields = dict([form.button("move", "done")])
        elif form.has("move", "skip"):
            fields = dict([form.button("move", "skip")])
        else:
            assert form.typed, form
            fields = {"move": "typed", "text": TYPED.get(form.step, TYPED.get(form.kind, "是"))}
        status, page = await send(client, form, lang, **fields)
        assert status == 200
    raise AssertionError("the interview did not end")


# --- the whole interview ---------------------------------------------------------------


async def test_whole_interview_in_chinese_refused_back_review_submit_queue(
    client: TestClient, services: Services
) -> None:
    tr = I18n.load().tr("zh")
    _, page = await start(client, "zh-CN,zh;q=0.9,en;q=0.5")
    assert '<html lang="zh-Hans" dir="ltr">' in page
    assert "您好！" in page  # the welcome note, above the first question
    form = form_of(page)
    assert form.step == "consent"
    assert form.buttons == [
        ("move", "agree", "✅ 我同意"),
        ("move", "decline", "我不同意"),
        ("move", "back", "⬅️ 返回"),
    ]
    # Words where a button is wanted: the chat's refusal, and the same question again.
    status, page = await send(client, form, "zh", move="typed", text="好的")
    assert status == 200
    assert warning_of(page) == tr.gettext("Please tap one of the buttons under the question.")
    assert form_of(page).step == "consent"

    steps: list[str] = []
    _, page = await send(client, form_of(page), "zh", move="agree")
    assert form_of(page).step == "applying_for"
    # The consent is stored before the next question is shown.
    [person] = [u for u in await _web_people(services)]
    view = await services.store.intakes.load_for_applicant(person)
    assert view.draft is not None and view.draft.state.answers == {"consent": True}
    assert view.draft.channel == WEB

    _, page = await send(client, form_of(page), "zh", choice="0")
    assert form_of(page).step == "name"
    _, page = await send(client, form_of(page), "zh", move="typed", text=NAME)
    form = form_of(page)
    assert form.step == "birth_date"
    status, page = await send(client, form, "zh", move="typed", text="去年三月")
    assert warning_of(page) == tr.gettext("Please send a date like 2024-03-05 (year-month-day).")
    assert form_of(page).step == "birth_date"
    # Back: the name question again, with the answer before.
    _, page = await send(client, form_of(page), "zh", move="back")
    assert form_of(page).step == "name"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;王小明" in page
    assert "<script>" not in page
    _, page = await send(client, form_of(page), "zh", move="keep")
    assert form_of(page).step == "birth_date"

    review = await walk(client, page, "zh", steps)
    assert {"birth_date", "id_number", "documents", "description"} <= set(steps)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;王小明" in review
    assert "<script>" not in review
    form = form_of(review)
    assert form.has("edit", "name") and form.has("move", "send")
    # Change an answer from the review, and come back to it.
    _, page = await send(client, form, "zh", edit="name")
    form = form_of(page)
    assert form.step == "name"
    _, page = await send(client, form, "zh", move="typed", text="王小红")
    review_again = form_of(page)
    assert review_again.kind == "review" and "王小红" in page

    r = await client.post("/answer", data={**review_again.hidden, "move": "send"})
    assert r.status == 200 and r.url.path == "/status"
    sent = await r.text()
    ref = r.url.query["sent"]
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", ref)
    assert tr.gettext("Thank you. Your application has been sent.") in sent
    assert ref in sent

    # Open and waiting: without the script the page loads again now and then (with it,
    # the script looks for news instead, and a refresh would be a whole load).
    assert '<noscript><meta http-equiv="refresh" content="60"></noscript>' in sent
    # In the caseworkers' queue, from the web, like any other intake.
    intake = await services.store.intakes.by_ref(ref)
    assert intake is not None and intake.status == "submitted" and intake.channel == WEB
    assert is_web(intake.applicant_id)
    cases, total = await services.casework.queue(CAW, 0, 10)
    assert [c.ref for c in cases] == [ref] and total == 1
    # The caseworker's card says the applicant came by the web chat.
    card = await services.casework.card(CAW, intake.id)
    head = card_texts(I18n.load().tr("zh"), HTML, card, CAW)[0]
    assert "🌐 " + tr.gettext("web chat") in head

    # The same Send again (a double tap): applied already, nothing changes.
    r = await client.post("/answer", data={**review_again.hidden, "move": "send"})
    assert r.status == 200 and r.url.path == "/status"
    assert len(await services.store.intakes.for_applicant(intake.applicant_id)) == 1


async def _web_people(services: Services) -> list[int]:
    rows = await services.store.db.fetchall("SELECT user_id FROM web_people")
    return [int(r["user_id"]) for r in rows]


async def test_whole_interview_in_uyghur_right_to_left(
    client: TestClient, services: Services
) -> None:
    tr = I18n.load().tr("ug")
    _, page = await start(client, "ug-CN,ug;q=0.9")
    assert '<html lang="ug" dir="rtl">' in page
    assert ("move", "agree", "✅ " + tr.gettext("I agree")) in form_of(page).buttons
    steps: list[str] = []
    review = await walk(client, page, "ug", steps)
    assert tr.gettext("Please check your answers before sending:") in html.unescape(review)
    r = await client.post("/answer", data={**form_of(review).hidden, "move": "send"})
    assert r.url.path == "/status"
    assert html.escape(tr.gettext("Thank you. Your application has been sent.")) in await r.text()
    [intake] = await services.store.intakes.for_applicant((await _web_people(services))[0])
    assert intake.status == "submitted" and intake.lang == "ug"


# --- coming back -----------------------------------------------------------------------


async def test_resume_with_the_code_in_a_fresh_browser(
    client: TestClient, services: Services
) -> None:
    code, page = await start(client, "zh-CN")
    _, page = await send(client, form_of(page), "zh", move="agree")
    _, page = await send(client, form_of(page), "zh", choice="0")
    assert form_of(page).step == "name"

    other = await fresh_client(services)
    try:
        r = await other.get("/chat")
        assert r.url.path == "/"  # nobody yet in this browser
        home = await r.text()
        # A wrong code is refused with why; the code as people type it is taken.
        r = await other.post("/resume", data={"csrf": csrf_of(home), "code": "AAAA-AAAA"})
        tr = I18n.load().tr("zh")
        assert warning_of(await r.text()) == tr.gettext(
            "That code was not found. Please check it and type it again."
        )
        typed = " " + code.lower().replace("-", " ") + " "
        r = await other.post("/resume", data={"csrf": csrf_of(home), "code": typed})
        assert r.status == 200 and r.url.path == "/chat"
        page = await r.text()
        assert form_of(page).step == "name"
        assert tr.gettext("Welcome back. Let us continue where you stopped.") in page
    finally:
        await other.close()
    # Only a hash of the code is kept.
    rows = await services.store.db.fetchall("SELECT code_hash FROM web_people")
    assert code.replace("-", "") not in str([dict(r) for r in rows])


async def test_a_form_sent_twice_answers_once(client: TestClient, services: Services) -> None:
    _, page = await start(client, "zh-CN")
    _, page = await send(client, form_of(page), "zh", move="agree")
    _, page = await send(client, form_of(page), "zh", choice="0")
    form = form_of(page)
    _, first = await send(client, form, "zh", move="typed", text="王小明")
    _, again = await send(client, form, "zh", move="typed", text="王小明")
    assert form_of(first).step == form_of(again).step == "birth_date"
    view = await services.store.intakes.load_for_applicant((await _web_people(services))[0])
    assert view.draft is not None and "birth_date" not in view.draft.state.answers


# --- safety ----------------------------------------------------------------------------


async def test_forms_without_the_sessions_token_are_refused(client: TestClient) -> None:
    _, page = await start(client, "en")
    form = form_of(page)
    no_token = {k: v for k, v in form.hidden.items() if k != "csrf"}
    r = await client.post("/answer", data={**no_token, "move": "agree"})
    assert r.status == 403
    r = await client.post("/answer", data={**no_token, "csrf": "0" * 32, "move": "agree"})
    assert r.status == 403
    # Another browser's token is not this session's.
    async with TestClient(TestServer(client.server.app)) as other:
        other_token = csrf_of(await (await other.get("/")).text())
    r = await client.post("/answer", data={**form.hidden, "csrf": other_token, "move": "agree"})
    assert r.status == 403
    r = await client.get("/chat")
    assert form_of(await r.text()).step == "consent"  # nothing was applied


async def test_pages_are_small_strict_and_their_cookie_is_private(client: TestClient) -> None:
    r = await client.get("/", headers={"Accept-Language": "zh-CN"})
    body = await r.read()
    assert len(body) < 50 * 1024
    policy = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "http://" not in body.decode()
    # One script, the site's own file, nothing inline; with it the page is still small.
    [script] = re.findall(r"<script[^>]*>", body.decode())
    src = re.fullmatch(r'<script src="(/static/chat\.js\?v=[0-9a-f]{12})" defer>', script)
    assert src is not None, script
    js = await client.get(src[1])
    assert js.status == 200 and js.content_type == "text/javascript"
    assert "immutable" in js.headers["Cache-Control"] and "Set-Cookie" not in js.headers
    code = await js.read()
    assert len(gzip.compress(body)) + len(gzip.compress(code)) < 50 * 1024
    # Plain ES5 for old and in-app browsers: no modules, no arrows, no let or const.
    source = code.decode()
    assert "import " not in source and "=>" not in source
    assert not re.search(r"\b(let|const|class)\s", source)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    # Every page offers the other languages; the choice outweighs the browser's.
    assert 'href="/lang/ug?next=/"' in body.decode() and 'href="/lang/en?next=/"' in body.decode()
    r = await client.get("/lang/ug?next=/resume", headers={"Accept-Language": "zh-CN"})
    assert r.url.path == "/resume"
    page = await r.text()
    assert '<html lang="ug" dir="rtl">' in page and 'href="/lang/zh?next=/resume"' in page


async def test_language_switch_and_secure_cookie_behind_https(tmp_path: Path) -> None:
    settings = Settings(
        db_path=str(tmp_path / "intake.db"), web_public_url="https://jiuzhu.example.cn"
    )
    services = await open_services(settings)
    try:
        async with TestClient(TestServer(build_web_app(services))) as c:
            r = await c.get("/")
            # Behind https: a __Host- cookie, which no other site or subdomain can set.
            cookie = r.headers["Set-Cookie"]
            assert cookie.startswith("__Host-ib_session=") and "Secure" in cookie
            assert "Path=/" in cookie and "Domain" not in cookie
            r = await c.get("/lang/ug?next=/resume", allow_redirects=False)
            assert r.status == 303 and r.headers["Location"] == "/resume"
            assert "ib_lang=ug" in r.headers["Set-Cookie"] and "Secure" in r.headers["Set-Cookie"]
            # Only this site's pages to go back to.
            r = await c.get("/lang/en?next=https://evil.example/", allow_redirects=False)
            assert r.headers["Location"] == "/"
            r = await c.get("/lang/en?next=//evil.example/", allow_redirects=False)
            assert r.headers["Location"] == "/"
    finally:
        await services.store.close()


async def test_bodies_and_requests_are_limited(tmp_path: Path) -> None:
    settings = Settings(db_path=str(tmp_path / "intake.db"), web_rate_limit=5)
    services = await open_services(settings)
    try:
        async with TestClient(TestServer(build_web_app(services))) as c:
            home = await (await c.get("/")).text()
            r = await c.post("/resume", data={"csrf": csrf_of(home), "code": "x" * 100_000})
            assert r.status == 413
            csrf = csrf_of(home)
            statuses = [
                (await c.post("/resume", data={"csrf": csrf, "code": "x"})).status for _ in range(6)
            ]
            assert statuses[0] == 200 and statuses[-1] == 429
    finally:
        await services.store.close()


# --- after sending ---------------------------------------------------------------------


async def test_a_caseworkers_question_reaches_the_page_and_is_answered(
    client: TestClient, services: Services
) -> None:
    _, page = await start(client, "zh-CN")
    review = await walk(client, page, "zh", [])
    r = await client.post("/answer", data={**form_of(review).hidden, "move": "send"})
    ref = r.url.query["sent"]
    intake = await services.store.intakes.by_ref(ref)
    assert intake is not None
    await services.casework.claim(CAW, intake.id)
    await services.casework.ask(CAW, intake.id, "请把<户口本>拍照发来")

    # Nothing of it went to Telegram's sender: the page shows it.
    assert await services.store.outbox.due() == [] or all(
        not is_web(m.chat_id) for m in await services.store.outbox.due()
    )
    status = await (await client.get("/status")).text()
    assert "请把&lt;户口本&gt;拍照发来" in status
    assert 'id="reply"' in status
    assert 'http-equiv="refresh"' not in status  # it would lose what is being typed
    csrf = csrf_of(status)
    r = await client.post("/reply", data={"csrf": csrf, "text": "户口本在村委会，下周拍"})
    assert r.status == 200 and "done=answer_sent" in str(r.url)
    case = await services.store.cases.get(intake.id)
    assert case is not None and case.status == "in_review"
    assert 'id="reply"' not in await r.text()
    # Read: the notices leave.
    page = await r.text()
    ids = re.findall(r'name="notice" value="(\d+)"', page)
    assert ids
    r = await client.post("/read", data={"csrf": csrf, "notice": ids})
    assert "请把&lt;户口本&gt;" not in await r.text()


# A 1x1 PNG, as a phone's camera would send a (much larger) photo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def test_a_photo_for_the_papers_question_is_kept_in_the_file_store(
    client: TestClient, services: Services
) -> None:
    tr = I18n.load().tr("zh")
    _, page = await start(client, "zh-CN")
    # On the way: the phone question says to type the number (a page cannot share it).
    page = await walk(client, page, "zh", [], until="phone")
    assert tr.gettext("Type the number.") in page
    assert (
        tr.gettext("Type the number, or tap the button below to share this phone's number.")
        not in page
    )
    page = await walk(client, page, "zh", [], until="documents")
    assert 'id="upload"' in page and 'enctype="multipart/form-data"' in page
    hidden = form_of(page).hidden
    upload = FormData()
    for name, value in hidden.items():
        upload.add_field(name, value)
    upload.add_field("file", PNG, filename="hukou.png", content_type="image/png")
    r = await client.post("/upload", data=upload)
    assert r.status == 200 and r.url.path == "/chat"
    page = await r.text()
    form = form_of(page)
    assert form.step == "documents"
    assert tr.ngettext("{n} file received.", "{n} files received.", 1).format(n=1) in page
    _, page = await send(client, form, "zh", **dict([form.button("move", "done")]))
    review = await walk(client, page, "zh", [])
    assert tr.ngettext("{n} file", "{n} files", 1).format(n=tr.count(1)) in review
    r = await client.post("/answer", data={**form_of(review).hidden, "move": "send"})
    intake = await services.store.intakes.by_ref(r.url.query["sent"])
    assert intake is not None
    [ref] = intake.state.answers["documents"]
    assert ref["kind"] == "photo" and ref["size"] == len(PNG)
    assert await services.casework.evidence.content(intake.id, ref) == PNG


async def test_delete_a_draft_at_once_and_ask_to_delete_a_sent_one(
    client: TestClient, services: Services
) -> None:
    tr = I18n.load().tr("zh")
    _, page = await start(client, "zh-CN")
    _, page = await send(client, form_of(page), "zh", move="agree")
    person = (await _web_people(services))[0]
    page = await (await client.get("/delete")).text()
    assert html.escape(tr.gettext("Yes, delete my answers")) in page
    seq = re.search(r'name="seq" value="(\d+)"', page)
    draft = re.search(r'name="draft" value="(\d+)"', page)
    assert seq is not None and draft is not None
    r = await client.post("/delete", data={"csrf": csrf_of(page), "seq": seq[1], "draft": draft[1]})
    assert tr.gettext("Your unfinished application and its answers were deleted.") in (
        await r.text()
    )
    # Nothing of them is left: no intake, no person, no code.
    assert await services.store.intakes.for_applicant(person) == []
    assert await _web_people(services) == []
    r = await client.get("/chat")
    assert r.url.path == "/"

    # A sent application: a caseworker completes its deletion.
    _, page = await start(client, "zh-CN")
    review = await walk(client, page, "zh", [])
    r = await client.post("/answer", data={**form_of(review).hidden, "move": "send"})
    ref = r.url.query["sent"]
    page = await (await client.get("/delete")).text()
    intake = re.search(r'name="intake" value="(\d+)"', page)
    assert intake is not None
    r = await client.post("/delete", data={"csrf": csrf_of(page), "intake": intake[1]})
    assert 'id="asked"' in await r.text() and ref in await r.text()
    case = await services.store.cases.get(int(intake[1]))
    assert case is not None and case.deletion_requested_at is not None


# --- serving -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_serving(http: aiohttp.ClientSession, port: int) -> None:
    """Until the web chat on ``port`` answers its first page."""

    async def serving() -> bool:
        try:
            async with http.get(f"http://127.0.0.1:{port}/") as resp:
                return resp.status == 200
        except aiohttp.ClientConnectionError:
            return False

    await wait_until(serving, 10, what="the web chat")


async def test_intake_bot_web_serves_the_chat_alone_until_stopped(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(db_path=str(tmp_path / "intake.db"), web_port=port)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_web(settings, stop))
    try:
        async with aiohttp.ClientSession() as http:
            await wait_serving(http, port)
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        stop.set()
        if not task.done():
            task.cancel()


def test_the_qr_code_of_the_public_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [k for k in os.environ if k.startswith("INTAKE_")]:
        monkeypatch.delenv(name)
    png = tmp_path / "poster.png"
    assert main(["web", "--qr", str(png)]) == 2
    assert "INTAKE_WEB_PUBLIC_URL" in capsys.readouterr().err
    monkeypatch.setenv("INTAKE_WEB_PUBLIC_URL", "https://jiuzhu.example.cn/")
    assert main(["web", "--qr", str(png)]) == 0
    assert "https://jiuzhu.example.cn" in capsys.readouterr().out
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 200


async def test_a_double_tap_on_start_makes_one_person(
    client: TestClient, services: Services
) -> None:
    home = await (await client.get("/", headers={"Accept-Language": "zh-CN"})).text()
    data = {"csrf": csrf_of(home)}
    first, second = await asyncio.gather(
        client.post("/start", data=data), client.post("/start", data=data)
    )
    assert {first.status, second.status} == {200}
    assert len(await _web_people(services)) == 1


def test_notes_on_the_way_are_those_before_the_current_question() -> None:
    """A page drawn anew from the stored state shows the notes the answer passed: the
    welcome before the first question, none once it is answered."""
    flow = load_flow_text(default_flow_source())
    first = engine.start(flow)
    assert [s.id for s in engine.notes_on_the_way(flow, first.state)] == ["welcome"]
    assert [s.id for s in first.notes] == ["welcome"]  # what the chat shows with it
    agreed = engine.answer(flow, first.state, engine.Picked("consent", engine.AGREE))
    assert engine.notes_on_the_way(flow, agreed.state) == ()


# --- with the script on: news for an open page, recordings, files in a reply -----------


def news_of(page: str) -> str:
    m = re.search(r'<main tabindex="-1" data-news="([0-9a-f]+)"', page)
    assert m is not None, page[:3000]
    return m.group(1)


async def sent_application(client: TestClient, services: Services) -> int:
    _, page = await start(client, "zh-CN")
    review = await walk(client, page, "zh", [])
    r = await client.post("/answer", data={**form_of(review).hidden, "move": "send"})
    intake = await services.store.intakes.by_ref(r.url.query["sent"])
    assert intake is not None
    return intake.id


async def test_an_open_page_learns_of_a_caseworkers_question_cheaply(
    client: TestClient, services: Services
) -> None:
    # Nobody yet: nothing to tell, and nothing read.
    r = await client.get("/news")
    assert r.status == 200 and await r.json() == {"state": ""}
    intake_id = await sent_application(client, services)
    status = await (await client.get("/status")).text()
    drawn = news_of(status)
    r = await client.get("/news")
    assert r.status == 200 and r.headers["Cache-Control"] == "private, no-cache"
    assert await r.json() == {"state": drawn, "notices": 0, "question": False}
    # Asked again with what it has: nothing changed, a 304 without a body.
    r = await client.get("/news", headers={"If-None-Match": r.headers["ETag"]})
    assert r.status == 304 and await r.read() == b""

    await services.casework.claim(CAW, intake_id)
    await services.casework.ask(CAW, intake_id, "请把户口本拍照发来")
    r = await client.get("/news", headers={"If-None-Match": f'"{drawn}"'})
    assert r.status == 200
    news = await r.json()
    assert news["state"] != drawn and news["question"] is True and news["notices"] >= 1
    # The page drawn now is the state the news named (the script draws it in place).
    status = await (await client.get("/status")).text()
    assert news_of(status) == news["state"] and 'id="reply"' in status
    # A question's page of a draft has the banner ready, hidden until news comes.
    r = await client.post("/start", data={"csrf": csrf_of(status), "new": "1"})
    chat = await (await client.get("/chat")).text()
    assert re.search(r'<p class="warn" id="news">', chat)  # a message waits: shown
    assert news_of(chat) == news["state"]


async def test_looking_for_news_never_uses_up_the_limits_of_pages(tmp_path: Path) -> None:
    settings = Settings(db_path=str(tmp_path / "intake.db"), web_rate_limit=2)
    services = await open_services(settings)
    try:
        async with TestClient(TestServer(build_web_app(services))) as c:
            home = await (await c.get("/")).text()
            await c.post("/start", data={"csrf": csrf_of(home)})
            # Ten pages a minute for the address (5 x 2): the looks are counted apart.
            looks = [(await c.get("/news")).status for _ in range(12)]
            assert looks == [200] * 12
            assert (await c.get("/chat")).status == 200
            # Past a dozen a minute a page is told to wait (the script then looks less often).
            assert (await c.get("/news")).status == 429
            assert (await c.get("/chat")).status == 200
    finally:
        await services.store.close()


async def test_a_voice_recording_answers_a_question_that_takes_one(
    client: TestClient, services: Services
) -> None:
    tr = I18n.load().tr("zh")
    _, page = await start(client, "zh-CN")
    page = await walk(client, page, "zh", [], until="description")
    # Words, or a recording from the phone's own recorder.
    assert '<input id="v" type="file" name="file" accept="audio/*" capture>' in page
    assert 'id="voice"' in page and form_of(page).typed
    recording = b"OggS\x00\x02" + bytes(range(256)) * 40
    upload = FormData()
    for name, value in form_of(page).hidden.items():
        upload.add_field(name, value)
    upload.add_field("file", recording, filename="rec.ogg", content_type="audio/ogg")
    r = await client.post("/upload", data=upload)
    assert r.status == 200 and r.url.path == "/chat"
    review = await r.text()
    assert form_of(review).kind == "review"
    assert "🎤 " + tr.gettext("voice message") in review
    r = await client.post("/answer", data={**form_of(review).hidden, "move": "send"})
    intake = await services.store.intakes.by_ref(r.url.query["sent"])
    assert intake is not None
    ref = intake.state.answers["description"]
    assert ref["kind"] == "voice" and ref["size"] == len(recording)
    assert await services.casework.evidence.content(intake.id, ref) == recording
    # Kept sealed, like a Telegram voice note: the bytes are nowhere on disk as sent.
    files = services.store.files
    assert files is not None
    kept = [p.read_bytes() for p in Path(files.root).rglob("*") if p.is_file()]  # type: ignore[attr-defined]
    assert kept and not any(recording[:64] in k for k in kept)


async def test_a_recording_where_only_words_are_taken_is_refused(
    client: TestClient, services: Services
) -> None:
    _, page = await start(client, "zh-CN")
    page = await walk(client, page, "zh", [], until="name")
    assert 'id="voice"' not in page
    upload = FormData()
    for name, value in form_of(page).hidden.items():
        upload.add_field(name, value)
    upload.add_field("file", b"OggS-not-a-name", filename="rec.ogg", content_type="audio/ogg")
    r = await client.post("/upload", data=upload)
    page = await r.text()
    assert form_of(page).step == "name" and warning_of(page)
    person = (await _web_people(services))[0]
    view = await services.store.intakes.load_for_applicant(person)
    assert view.draft is not None and "name" not in view.draft.state.answers


async def test_a_reply_with_a_photo_reaches_the_caseworker_with_the_file_kept(
    client: TestClient, services: Services
) -> None:
    intake_id = await sent_application(client, services)
    await services.casework.claim(CAW, intake_id)
    await services.casework.ask(CAW, intake_id, "请把户口本拍照发来")
    status = await (await client.get("/status")).text()
    assert 'enctype="multipart/form-data" class="box" id="reply"' in status
    reply = FormData()
    reply.add_field("csrf", csrf_of(status))
    reply.add_field("text", "这是户口本")
    reply.add_field("file", PNG, filename="hukou.png", content_type="image/png")
    r = await client.post("/reply", data=reply)
    assert r.status == 200 and "done=answer_sent" in str(r.url)
    case = await services.store.cases.get(intake_id)
    assert case is not None and case.status == "in_review"
    words, photo = [
        m for m in await services.store.cases.conversation(intake_id) if m.kind == "reply"
    ]
    assert words.body == "这是户口本" and '"kind": "photo"' in photo.body
    ref = {"unique": "web-" + hashlib.sha256(PNG).hexdigest()[:32]}
    assert await services.casework.evidence.content(intake_id, ref) == PNG


class RoundRobinBrowser:
    """One browser behind a load balancer that hands each request to the next web
    instance (nginx's round robin): the same cookie goes to all of them."""

    def __init__(self, http: aiohttp.ClientSession, ports: list[int]) -> None:
        self.http = http
        self.bases = [f"http://127.0.0.1:{port}" for port in ports]
        self.turn = 0
        self.served: list[str] = []

    def _next(self) -> str:
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        self.served.append(base)
        return base

    async def get(self, path: str, **kwargs: object) -> aiohttp.ClientResponse:
        return await self.http.get(self._next() + path, **kwargs)  # type: ignore[arg-type]

    async def post(self, path: str, **kwargs: object) -> aiohttp.ClientResponse:
        return await self.http.post(self._next() + path, **kwargs)  # type: ignore[arg-type]


async def test_two_web_instances_on_one_postgresql_serve_one_person_in_turn(
    tmp_path: Path,
) -> None:
    """Several `intake-bot web` on one PostgreSQL database (README, "Several instances"):
    neither refuses the other, and what one wrote the other shows at once, so a person
    whose every page comes from the other instance still goes through to one application."""
    async with fresh_postgres() as url:
        ports = [free_port(), free_port()]
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(
                serve_web(
                    Settings(
                        db_path=url, web_port=port, web_rate_limit=0, **deployment(url, tmp_path)
                    ),
                    stop,
                )
            )
            for port in ports
        ]
        try:
            jar = aiohttp.CookieJar(unsafe=True)  # cookies of 127.0.0.1
            async with aiohttp.ClientSession(cookie_jar=jar) as http:
                for port in ports:
                    await wait_serving(http, port)
                browser = RoundRobinBrowser(http, ports)
                _, page = await start(browser, "zh-CN")  # type: ignore[arg-type]
                steps: list[str] = []
                review = await walk(browser, page, "zh", steps)  # type: ignore[arg-type]
                r = await browser.post("/answer", data={**form_of(review).hidden, "move": "send"})
                assert r.status == 200
                sent = await r.text()
            assert len(set(browser.served)) == 2 and len(steps) > 10
            store = await open_store(url, tmp_path)
            try:
                people = await store.db.fetchall("SELECT user_id FROM web_people")
                [person] = [int(r["user_id"]) for r in people]
                [intake] = await store.intakes.for_applicant(person)
                assert intake.status == "submitted" and intake.ref in sent
                # Every question answered, on whichever instance: each is on the path.
                assert set(steps) <= set(intake.state.path)
            finally:
                await store.close()
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 10)
        finally:
            stop.set()
            for task in tasks:
                if not task.done():
                    task.cancel()
