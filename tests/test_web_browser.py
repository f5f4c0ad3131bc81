"""The web chat in a real browser: headless Chromium (Debian's ``chromium``, driven by
Playwright), as on an applicant's phone, with JavaScript off (plain forms) and on (the
pages' one script, web_channel/chat.js, sends forms without reloads and looks for news).

The whole built-in interview in Chinese and in Uyghur, a refused answer, Back, Send, a
reload of the status page, a caseworker's question arriving, and coming back with the code
in a fresh browser; with JavaScript on, the interview without a page load, a recording,
and the caseworker's question appearing on the open page. A screenshot of each page is written under the tests' output folder
(``INTAKE_TEST_OUTPUT``, default ``test-output/``), in ``web/<test>/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, Route, async_playwright

from bot.i18n import I18n
from bot.services import Services
from tests import test_web
from tests.test_web import CAW
from web_channel.app import build_web_app

services = test_web.services  # the web chat on a fresh database, as test_web.py has it
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
OUTPUT = Path(os.environ.get("INTAKE_TEST_OUTPUT", "test-output")) / "web"
# A cheap phone's screen.
PHONE = {"width": 360, "height": 740}
TYPED = {"name": "王小明", "date": "1975-03-08", "number": "1", "phone": "13812345678"}


@pytest.fixture
async def server(services: Services) -> AsyncIterator[TestServer]:
    server = TestServer(build_web_app(services))
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


class Phone:
    """One browser context (a phone), its pages screenshotted in order."""

    def __init__(self, context: BrowserContext, page: Page, folder: Path) -> None:
        self.context, self.page, self.folder = context, page, folder
        self.shots = 0

    async def shot(self, what: str) -> None:
        self.shots += 1
        await self.page.screenshot(
            path=str(self.folder / f"{self.shots:03d}-{what}.png"), full_page=True
        )

    async def step(self) -> tuple[str, str]:
        form = self.page.locator("form#q")
        if not await form.count():
            return "", ""
        return (
            await form.get_attribute("data-step") or "",
            await form.get_attribute("data-type") or "",
        )

    async def tap(self, selector: str) -> None:
        await self.page.locator(selector).first.click()
        await self.page.wait_for_load_state()

    async def type_answer(self, text: str) -> None:
        await self.page.fill("form#q #a", text)
        await self.tap('form#q button[value="typed"]')

    async def warning(self) -> str:
        found = self.page.locator(".warn, #question")
        return " ".join(await found.all_inner_texts())


async def phone(browser: Browser, locale: str, folder: str) -> Phone:
    context = await browser.new_context(
        locale=locale, java_script_enabled=False, viewport=PHONE, is_mobile=True
    )
    page = await context.new_page()
    out = OUTPUT / folder
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return Phone(context, page, out)


async def walk(p: Phone, until: str = "") -> None:
    """Answer each question as the page offers it, to the review (or ``until``)."""
    for _ in range(80):
        step, kind = await p.step()
        await p.shot(step or "page")
        if kind == "review" or (until and step == until):
            return
        if kind == "consent":
            await p.tap('form#q button[value="agree"]')
        elif kind == "choice":
            await p.tap('form#q button[name="choice"][value="0"]')
        elif kind == "multi_choice":
            await p.tap('form#q button[name="choice"][value="0"]')
            await p.tap('form#q button[value="done"]')
        elif await p.page.locator('form#q button[value="skip"]').count():
            await p.tap('form#q button[value="skip"]')
        else:
            await p.type_answer(TYPED.get(step, TYPED.get(kind, "张家村")))
    raise AssertionError("the interview did not end")


async def start(p: Phone, server: TestServer) -> str:
    await p.page.goto(str(server.make_url("/")))
    await p.shot("home")
    await p.tap("form[action='/start'] button")
    await p.shot("code")
    code = (await p.page.inner_text("#code")).strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    await p.tap("a.main")
    return code


async def send(p: Phone) -> str:
    await p.tap('form#q button[value="send"]')
    await p.shot("sent")
    return (await p.page.inner_text("#ref")).strip()


async def test_the_whole_interview_in_chinese_with_javascript_off(
    browser: Browser, server: TestServer, services: Services
) -> None:
    tr = I18n.load().tr("zh")
    p = await phone(browser, "zh-CN", "zh")
    try:
        await start(p, server)
        assert await p.page.get_attribute("html", "lang") == "zh-Hans"
        await walk(p, until="birth_date")
        # A bad date: the chat's refusal, and the same question again.
        await p.type_answer("去年三月")
        await p.shot("refused")
        assert tr.gettext("Please send a date like 2024-03-05 (year-month-day).") in (
            await p.warning()
        )
        assert (await p.step())[0] == "birth_date"
        # Back: the name question again, then on.
        await p.tap('form#q button[value="back"]')
        await p.shot("back")
        assert (await p.step())[0] == "name"
        await p.tap('form#q button[value="keep"]')
        await walk(p)
        [ref] = re.findall(r"[A-Z0-9]{3}-[A-Z0-9]{3}", await send(p))
        intake = await services.store.intakes.by_ref(ref)
        assert intake is not None and intake.status == "submitted" and intake.channel == "web"
        # A reload shows the status again; a caseworker's question arrives on it.
        await p.page.goto(str(server.make_url("/status")))
        assert intake.ref in await p.page.inner_text("main")
        # Without a script the open page loads itself again now and then.
        assert await p.page.locator("head meta[http-equiv=refresh]").count() == 1
        await services.casework.claim(CAW, intake.id)
        await services.casework.ask(CAW, intake.id, "请把户口本拍照发来")
        await p.page.reload()
        await p.shot("question")
        assert "请把户口本拍照发来" in await p.page.inner_text("main")
        await p.page.fill("#reply textarea", "户口本在村委会，下周拍")
        await p.tap("#reply button")
        await p.shot("answered")
        case = await services.store.cases.get(intake.id)
        assert case is not None and case.status == "in_review"
    finally:
        await p.context.close()


async def test_the_whole_interview_in_uyghur_right_to_left(
    browser: Browser, server: TestServer, services: Services
) -> None:
    tr = I18n.load().tr("ug")
    p = await phone(browser, "ug-CN", "ug")
    try:
        await start(p, server)
        assert await p.page.get_attribute("html", "dir") == "rtl"
        await walk(p)
        assert tr.gettext("Please check your answers before sending:") in await p.page.inner_text(
            "main"
        )
        await send(p)
        assert tr.gettext("Thank you. Your application has been sent.") in (
            await p.page.inner_text("main")
        )
    finally:
        await p.context.close()


async def test_coming_back_with_the_code_in_a_fresh_browser(
    browser: Browser, server: TestServer
) -> None:
    first = await phone(browser, "zh-CN", "resume-first")
    try:
        code = await start(first, server)
        await walk(first, until="name")
    finally:
        await first.context.close()
    other = await phone(browser, "zh-CN", "resume-other")
    try:
        await other.page.goto(str(server.make_url("/")))
        await other.tap("a[href='/resume']")
        await other.page.fill("#code", code.lower())
        await other.shot("typed-code")
        await other.tap("form[action='/resume'] button")
        await other.shot("resumed")
        assert (await other.step())[0] == "name"
    finally:
        await other.context.close()


class Swapping(Phone):
    """A phone with JavaScript on: a tap sends the form in the background and the next
    page is drawn in place (web_channel/chat.js); it waits for that, not for a load."""

    async def tap(self, selector: str) -> None:
        await self.page.evaluate("document.body.setAttribute('data-old', '1')")
        await self.page.locator(selector).first.click()
        await self.page.wait_for_function(
            "() => !document.body.hasAttribute('data-old') && !document.documentElement.className"
        )

    async def same_document(self) -> bool:
        """Still the page first loaded: no load since (a mark left on the window stays)."""
        return bool(await self.page.evaluate("window.__kept === 1"))


async def test_with_javascript_on_no_page_loads_and_the_question_arrives_at_once(
    browser: Browser, server: TestServer, services: Services
) -> None:
    tr = I18n.load().tr("zh")
    context = await browser.new_context(
        locale="zh-CN", java_script_enabled=True, viewport=PHONE, is_mobile=True
    )
    out = OUTPUT / "zh-javascript"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    page = await context.new_page()
    p = Swapping(context, page, out)
    loads: list[str] = []  # whole pages loaded (not the addresses the script shows)
    page.on("load", lambda loaded: loads.append(loaded.url))
    try:
        # A clock the test moves on: the page's look for news every 15 s comes at once.
        # (It stands in for the page's own clocks, so a mark on the window and the loads
        # counted by the browser say whether a page was loaded whole.)
        await page.clock.install()
        await page.goto(str(server.make_url("/")))
        await page.evaluate("window.__kept = 1")
        await p.shot("home")
        await p.tap("form[action='/start'] button")
        await p.shot("code")
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", (await page.inner_text("#code")).strip())
        await p.tap("a.main")
        await walk(p, until="name")
        # A typed question: its box has the focus, ready for the answer.
        assert await page.evaluate("document.activeElement.id") == "a"

        # No signal: the page stays as it is, with the words typed, and says to tap again.
        async def no_signal(route: Route) -> None:
            await route.abort("internetdisconnected")

        await page.route("**/answer", no_signal)
        await page.fill("form#q #a", TYPED["name"])
        await page.locator('form#q button[value="typed"]').click()
        await page.wait_for_selector("#offline", state="visible")
        await p.shot("not-sent")
        assert await page.input_value("form#q #a") == TYPED["name"]
        await page.unroute("**/answer", no_signal)
        await p.tap('form#q button[value="typed"]')
        assert await page.is_hidden("#offline")
        await p.type_answer("去年三月")
        await p.shot("refused")
        assert tr.gettext("Please send a date like 2024-03-05 (year-month-day).") in (
            await p.warning()
        )
        await p.tap('form#q button[value="back"]')
        assert (await p.step())[0] == "name"
        await p.tap('form#q button[value="keep"]')
        assert (await p.step())[0] == "birth_date"
        await walk(p, until="description")
        # A recording where the question takes one, sent like any form.
        await page.set_input_files(
            "#v", {"name": "rec.ogg", "mimeType": "audio/ogg", "buffer": b"OggS" + b"\x01" * 900}
        )
        await p.tap("#voice button")
        await p.shot("review")
        assert "🎤 " + tr.gettext("voice message") in await page.inner_text("main")
        # Change an answer from the review, and back to the review.
        await p.tap('form#q button[name="edit"][value="name"]')
        assert (await p.step())[0] == "name"
        await p.type_answer("王小红")
        assert (await p.step())[1] == "review" and "王小红" in await page.inner_text("main")
        await p.tap('form#q button[value="send"]')
        await p.shot("sent")
        [ref] = re.findall(r"[A-Z0-9]{3}-[A-Z0-9]{3}", await page.inner_text("#ref"))
        assert "/status?sent=" in page.url
        assert await p.same_document()

        # The caseworker asks; the open page shows it at its next look, without a reload.
        intake = await services.store.intakes.by_ref(ref)
        assert intake is not None
        await services.casework.claim(CAW, intake.id)
        await services.casework.ask(CAW, intake.id, "请把户口本拍照发来")
        await page.clock.fast_forward(16_000)
        await page.wait_for_selector("#reply textarea", timeout=10_000)
        await p.shot("question")
        assert "请把户口本拍照发来" in await page.inner_text("main")
        await page.fill("#reply textarea", "户口本在村委会，下周拍")
        await p.tap("#reply button")
        await p.shot("answered")
        assert tr.gettext("Your answer was sent to the caseworker.") in (
            await page.inner_text("main")
        )
        case = await services.store.cases.get(intake.id)
        assert case is not None and case.status == "in_review"
        assert await p.same_document()
        # The language switch: Uyghur, right to left, drawn in place.
        await p.tap("header a[lang='ug']")
        await p.shot("uyghur")
        assert await page.get_attribute("html", "dir") == "rtl"
        assert await page.get_attribute("html", "lang") == "ug"
        assert I18n.load().tr("ug").gettext("Your applications") in await page.inner_text("main")
        # The browser's Back goes a page back, drawn in place too.
        await page.go_back()
        await page.wait_for_function("() => !document.documentElement.className")
        assert await p.same_document()
        assert loads == [str(server.make_url("/"))]  # the one load: the first page
        # Loaded whole, the open applications page has the script, and no timed reload.
        await page.goto(str(server.make_url("/status")))
        assert "noscript" in await page.content()
        assert await page.locator("head meta[http-equiv=refresh]").count() == 0
    finally:
        await context.close()
