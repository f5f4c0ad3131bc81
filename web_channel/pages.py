"""The web chat's pages: read a form, call the core, show the result.

Thin like the Telegram handlers (handlers/applicant.py): a form becomes an engine input,
``bot.interview.Interview`` applies and stores it, and the page shows the turn through
web_channel/views.py. An accepted answer is stored before the redirect to the next
question (POST, then 303 to a GET), so a closed tab or a reload loses nothing; a refused
one is shown at once with its reason and the question again. Each form carries the
number of the newest input applied when it was drawn (``seq``): the input it sends is
applied as the next one, and a form sent twice is recognised as applied.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from jinja2 import Environment

from bot.casework import Casework
from bot.casework.replies import Piece
from bot.channels import is_web
from bot.flow import engine
from bot.flow.engine import Ask, Completed, Ended, Review
from bot.flow.model import Flow, Step
from bot.i18n import LANGUAGES, I18n, Tr, resolve
from bot.interview import Applicant, Interview
from bot.messages import other_ways_to_apply, refusal_text
from bot.mydata import MyData
from bot.people import People
from bot.store.casework import Conflict
from bot.store.intakes import OPEN_STATUSES
from bot.webchat import WebPeople, shown_code
from web_channel import guard
from web_channel.markup import safe_html
from web_channel.views import applications, page_of
from web_channel.words import Words

log = logging.getLogger(__name__)

_HTML_LANG = {"zh": "zh-Hans", "en": "en", "ug": "ug"}
_MOVES: dict[str, Callable[[str], engine.Input]] = {
    "agree": lambda step: engine.Picked(step, engine.AGREE),
    "decline": lambda step: engine.Picked(step, engine.DECLINE),
    "done": engine.Done,
    "skip": engine.Skip,
    "keep": engine.Keep,
    "back": engine.Back,
    "first": engine.Shorten,
    "parts": lambda step: engine.Shorten(step, whole=True),
}
_MAX_REPLY = 4000
STATUS_REFRESH = 60  # seconds


@dataclass(frozen=True)
class Upload:
    """A file a form carried: its bytes, its type as the browser said, its name."""

    data: bytes
    mime: str
    name: str


def upload_of(field: Any) -> Upload | None:
    """The file a form carries; None when it carries none (or an empty one)."""
    if not isinstance(field, FileField):
        return None
    data = field.file.read()
    if not data:
        return None
    mime = (field.content_type or "application/octet-stream").split(";")[0].strip().lower()
    return Upload(data, mime, (field.filename or "file")[-100:])


def kind_of(mime: str, step: Step | None) -> str:
    """The kind of file an upload is, as Telegram's would be: a photo, a voice note (a
    recording from the phone), a video, or a document. Where a question takes documents
    but not that kind, it is taken as a document, as Telegram takes any file sent as one."""
    kind = "document"
    if mime.startswith("image/"):
        kind = "photo"
    elif mime.startswith("audio/"):
        kind = "voice"
    elif mime.startswith("video/"):
        kind = "video"
    if step is not None and step.type == "attachments" and kind not in step.kinds:
        if kind == "voice" and "audio" in step.kinds:
            return "audio"
        if "document" in step.kinds:
            return "document"
    return kind


def attached_of(upload: Upload, step: Step | None = None) -> engine.Attached:
    """An upload as the engine's input, a file reference like Telegram's: no Telegram id to
    fetch it again by (the bytes are at hand), a unique id from its content."""
    digest = hashlib.sha256(upload.data).hexdigest()
    ref: dict[str, Any] = {
        "kind": kind_of(upload.mime, step),
        "file_id": "web:" + digest,
        "unique": "web-" + digest[:32],
        "size": len(upload.data),
    }
    if ref["kind"] != "photo":
        # The name tells a caseworker's phone how to play or open it (bill.pdf, rec.m4a).
        ref["name"] = upload.name
        ref["mime"] = upload.mime
    return engine.Attached(ref)


def browser_lang(request: web.Request) -> str | None:
    """The reader's language from the page's switch (a cookie), else the browser's
    Accept-Language, best first."""
    chosen = request.cookies.get(guard.LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    offers: list[tuple[float, int, str]] = []
    for n, part in enumerate(request.headers.get("Accept-Language", "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = resolve(tag)
        if lang is not None and q > 0:
            offers.append((-q, n, lang))
    return min(offers)[2] if offers else None


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _local(path: str | None) -> str:
    """A path on this site to go back to (never another site's address)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def given_of(form: Any) -> Callable[[Flow, engine.State], engine.Input | None]:
    """The engine input a question's (or the review's) form sends; None when the form is
    for another question than the current one (then the current one is shown again)."""
    step = str(form.get("step", ""))
    move = form.get("move")
    choice = form.get("choice")
    edit = form.get("edit")
    text = form.get("text")

    def build(flow: Flow, state: engine.State) -> engine.Input | None:
        if (state.current or "") != step:
            return None
        if not step:  # the review
            if edit is not None:
                return engine.Edit(str(edit)) if flow.has_step(str(edit)) else None
            if move == "send":
                return engine.Submit()
            if move == "back":
                return engine.Back(None)
            return None
        if choice is not None:
            choices = flow.step(step).choices
            index = int(choice) if str(choice).isdigit() else -1
            if not 0 <= index < len(choices):
                return None
            return engine.Picked(step, choices[index].value)
        if isinstance(move, str) and move in _MOVES:
            return _MOVES[move](step)
        if isinstance(text, str):
            return engine.Typed(text.replace("\r\n", "\n"))
        return None

    return build


class WebPages:
    def __init__(
        self,
        env: Environment,
        css: str,
        i18n: I18n,
        interview: Interview,
        people: People,
        casework: Casework,
        mydata: MyData,
        web: WebPeople,
        *,
        secure: bool,
        script: str = "",
    ) -> None:
        self.env = env
        self.css = css
        self.i18n = i18n
        self.interview = interview
        self.people = people
        self.casework = casework
        self.mydata = mydata
        self.web = web
        self.secure = secure
        self.script = script  # the address of chat.js (with its version), or none

    # -- drawing -------------------------------------------------------------------------

    async def _tr(self, request: web.Request) -> Tr:
        user_id = request.get(guard.USER)
        chosen = request.cookies.get(guard.LANG_COOKIE)
        if chosen not in LANGUAGES and user_id is not None:
            return await self.people.tr(user_id, browser_lang(request))
        return self.i18n.tr(self.i18n.pick(chosen, browser_lang(request)))

    def _draw(
        self, request: web.Request, tr: Tr, template: str, status: int = 200, **values: Any
    ) -> web.Response:
        # The page the language switch comes back to: this one, or (after a form) where
        # the form's answer leads.
        given = values.pop("here", "/chat")
        here = request.path_qs if request.method == "GET" else given
        body = self.env.get_template(template).render(
            w=Words(tr),
            tr=tr,
            html_lang=_HTML_LANG.get(tr.lang, tr.lang),
            dir="rtl" if tr.rtl else "ltr",
            langs=[(code, LANGUAGES[code][2]) for code in LANGUAGES if code != tr.lang],
            here=quote(here, safe="/"),
            csrf=request[guard.CSRF],
            css=self.css,
            script=self.script,
            signed_in=request.get(guard.USER) is not None,
            **values,
        )
        return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")

    def _applicant(self, request: web.Request) -> Applicant | None:
        user_id = request.get(guard.USER)
        if user_id is None or not is_web(user_id):
            return None
        return self.web.applicant(user_id, browser_lang(request))

    # -- the start, the code, the language -------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is not None and await self.interview.applications(applicant):
            return see_other("/chat")
        return self._draw(request, await self._tr(request), "home.html")

    async def start(self, request: web.Request) -> web.StreamResponse:
        """Start (or go on with) an application; someone new becomes a person of the web
        chat and is shown their resume code once."""
        form = await request.post()
        applicant = self._applicant(request)
        code = None
        if applicant is None:
            lang = browser_lang(request)
            user_id, code = await self.web.join(lang)
            # The session cookie this browser was given names the new person from now on
            # (behind https it is a __Host- cookie: no other site or subdomain can have set it).
            token = request[guard.TOKEN]
            await self.web.store.web.open_session(guard.token_hash(token), user_id)
            request[guard.USER] = user_id
            applicant = self.web.applicant(user_id, lang)
            log.info("web applicant joined")
        seq = await self.web.seq(applicant.user_id)
        turn = await self.interview.begin(applicant, seq + 1, new=form.get("new") == "1")
        if code is None:
            return see_other("/status" if turn.open_intakes else "/chat")
        tr = await self._tr(request)
        return self._draw(request, tr, "code.html", code=shown_code(code), here="/chat")

    async def new_code(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        code = await self.web.new_code(applicant.user_id)
        if code is None:
            return see_other("/")
        tr = await self._tr(request)
        return self._draw(
            request, tr, "code.html", code=shown_code(code), renewed=True, here="/status"
        )

    async def resume_form(self, request: web.Request) -> web.StreamResponse:
        return self._draw(request, await self._tr(request), "resume.html")

    async def resume(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        tr = await self._tr(request)
        address = guard.address_of(request, request.app[guard.TRUST_PROXY])
        if not request.app[guard.RESUME_TRIES].take(address):
            log.info("web resume refused: too many tries")
            return self._draw(
                request, tr, "resume.html", 429, problem="too_many_tries", here="/resume"
            )
        user_id = await self.web.resume(str(form.get("code", "")))
        if user_id is None:
            return self._draw(
                request, tr, "resume.html", 200, problem="code_unknown", here="/resume"
            )
        # A new cookie for the person: the one before (maybe seen by others) is not reused.
        token = guard.new_token()
        await self.web.store.web.open_session(guard.token_hash(token), user_id)
        response = see_other("/chat?resumed=1")
        guard.set_session_cookie(response, token, secure=self.secure)
        log.info("web applicant resumed")
        return response

    async def language(self, request: web.Request) -> web.StreamResponse:
        lang = request.match_info["lang"]
        response = see_other(_local(request.query.get("next")))
        if lang in LANGUAGES:
            response.set_cookie(
                guard.LANG_COOKIE,
                lang,
                max_age=guard.SESSION_DAYS * 86400,
                path="/",
                httponly=True,
                samesite="Lax",
                secure=self.secure,
            )
            user_id = request.get(guard.USER)
            if user_id is not None:
                await self.people.choose_language(user_id, lang)
        return response

    # -- the interview -------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        turn = await self.interview.show(applicant)
        if turn.no_draft:
            return see_other("/status")
        return await self._question(request, applicant, turn)

    async def _question(
        self, request: web.Request, applicant: Applicant, turn: Any, status: int = 200
    ) -> web.Response:
        tr = self.i18n.tr(turn.lang)
        page = page_of(tr, turn)
        news = await self.web.store.web.news(applicant.user_id)
        return self._draw(
            request,
            tr,
            "chat.html",
            status,
            page=page,
            seq=await self.web.seq(applicant.user_id),
            resumed=request.query.get("resumed") == "1",
            waiting=news.notices > 0,
            news=news.state,
            here="/chat",
        )

    async def answer(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        form = await request.post()
        seq = str(form.get("seq", ""))
        update_id = int(seq) + 1 if seq.isdigit() else 0
        if not update_id:
            return see_other("/chat")
        turn = await self.interview.apply(applicant, given_of(form), update_id)
        if turn.duplicate:
            return see_other("/chat")
        if turn.no_draft:
            return see_other("/status")
        outcome = turn.outcome
        if isinstance(outcome, Completed):
            log.info("web intake submitted")
            return see_other("/status?sent=" + quote(turn.ref or ""))
        if isinstance(outcome, Ended):
            tr = self.i18n.tr(turn.lang)
            assert turn.flow is not None
            declined = refusal_text(tr, turn.flow, turn.flow_lang, engine.Refusal("declined"))
            return self._draw(
                request,
                tr,
                "ended.html",
                declined=declined,
                other_ways=other_ways_to_apply(tr),
                here="/",
            )
        if isinstance(outcome, Ask | Review) and outcome.refusal is not None:
            return await self._question(request, applicant, turn)
        return see_other("/chat")

    async def upload(self, request: web.Request) -> web.StreamResponse:
        """A photo, a document or a voice recording for a question that takes one: applied
        like one sent in Telegram, then kept in the file store (bot/evidence.py) from the
        bytes at hand, sealed like every file there."""
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        form = await request.post()
        seq = str(form.get("seq", ""))
        sent = upload_of(form.get("file"))
        if not seq.isdigit() or sent is None:
            return see_other("/chat")
        step = str(form.get("step", ""))
        given = attached_of(sent)
        asked: list[engine.Attached] = []

        def build(flow: Flow, state: engine.State) -> engine.Input | None:
            if state.current != step or not step:
                return None
            # Its kind as the question takes it (a recording on an audio question).
            asked.append(attached_of(sent, flow.step(step)))
            return asked[-1]

        turn = await self.interview.apply(applicant, build, int(seq) + 1)
        given = asked[-1] if asked else given
        if turn.no_draft:
            return see_other("/status")

        async def fetch(_source: str) -> bytes:
            return sent.data

        # Also after a form sent twice: keeping is idempotent, and the first may have
        # stopped before its file was kept.
        await self.interview.keep_file(turn, given, fetch, applicant)
        if turn.duplicate:
            return see_other("/chat")
        outcome = turn.outcome
        if isinstance(outcome, Ask | Review) and outcome.refusal is not None:
            return await self._question(request, applicant, turn)
        log.info("web applicant sent a file")
        return see_other("/chat")

    # -- after sending -------------------------------------------------------------------

    async def status(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        tr = await self._tr(request)
        # Read first: whatever arrives while the page is drawn shows at the next look.
        news = await self.web.store.web.news(applicant.user_id)
        intakes = await self.interview.applications(applicant)
        sent = request.query.get("sent", "")
        just_sent = next((i.ref for i in intakes if i.ref and i.ref == sent), None)
        notices = await self.web.notices(applicant.user_id)
        question = await self.web.question(applicant.user_id)
        return self._draw(
            request,
            tr,
            "status.html",
            applications=applications(tr, intakes),
            has_draft=any(i.status == "draft" for i in intakes),
            just_sent=tr.ltr(just_sent) if just_sent else "",
            notices=[(n.id, safe_html(n.text)) for n in notices],
            question=question,
            question_ref=tr.ltr(question.ref or "") if question else "",
            problem=request.query.get("problem", ""),
            done=request.query.get("done", ""),
            news=news.state,
            # Open, waiting for the caseworkers: without the script, the page loads again
            # now and then, so what they send shows while it is open (with the script, it
            # looks for news instead: ``news``). Never while a box waits for the
            # applicant's words (a reload would lose them).
            refresh=STATUS_REFRESH
            if question is None and any(i.status in OPEN_STATUSES for i in intakes)
            else 0,
        )

    async def read(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        form = await request.post()
        ids = [int(v) for v in form.getall("notice", []) if str(v).isdigit()]
        await self.web.read(applicant.user_id, ids)
        return see_other("/status")

    async def reply(self, request: web.Request) -> web.StreamResponse:
        """The answer to a caseworker's question: words, and a photo or a voice recording
        if the applicant adds one, as the Telegram chat takes them (handlers/answering.py):
        the words one piece of the answer (read in the caseworker's notice), the file
        another (kept in our store), then sent to the caseworker at once (the core queues
        their notice and puts the intake back in review)."""
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        form = await request.post()
        text = str(form.get("text", "")).replace("\r\n", "\n").strip()[:_MAX_REPLY]
        sent = upload_of(form.get("file"))
        question = await self.web.question(applicant.user_id)
        if question is None:
            return see_other("/status?problem=question_closed")
        if not text and sent is None:
            return see_other("/status?problem=answer_empty")
        user_id, intake_id = applicant.user_id, question.intake_id
        try:
            if text:
                await self.casework.take_piece(user_id, intake_id, Piece(text))
            if sent is not None:
                file = attached_of(sent).ref
                await self.casework.take_piece(user_id, intake_id, Piece("", file))

                async def fetch(_source: str) -> bytes:
                    return sent.data

                # In our store before the caseworker is told: they may open it at once.
                await self.casework.evidence.keep(intake_id, file, fetch)
            await self.casework.finish_reply(user_id, intake_id)
        except Conflict:
            return see_other("/status?problem=question_closed")
        log.info("web applicant answered a caseworker's question")
        return see_other("/status?done=answer_sent")

    async def news(self, request: web.Request) -> web.StreamResponse:
        """Whether anything changed for this applicant, for an open page's script
        (web_channel/chat.js), which looks every 15 seconds while the page is in view.

        Why a look now and then rather than a stream kept open (Server-Sent Events): a
        cheap phone on a weak signal, and the proxies of mobile networks and WeChat's
        browser, drop or hold long-lived connections, and each open one costs the server a
        task; a short request every 15 seconds works through all of them. It is cheap: one
        read of the store (``WebStore.news``), and an ETag, so the browser asks "changed
        since?" and mostly gets a 304 of a few bytes. A caseworker's question reaches an
        open page within 15 seconds, which is quick for a message that waited days."""
        applicant = self._applicant(request)
        headers = {"Cache-Control": "private, no-cache", "Vary": "Cookie"}
        if applicant is None:
            return web.json_response({"state": ""}, headers=headers)
        news = await self.web.store.web.news(applicant.user_id)
        if any(tag.value == news.state for tag in request.if_none_match or ()):
            response = web.Response(status=304, headers=headers)
        else:
            response = web.json_response(
                {"state": news.state, "notices": news.notices, "question": news.question},
                headers=headers,
            )
        response.etag = news.state
        return response

    async def my_data(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        tr = await self._tr(request)
        text = await self.mydata.export(tr, applicant.user_id)
        return web.Response(
            text=text,
            content_type="text/plain",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="my-data.txt"'},
        )

    async def delete_form(self, request: web.Request) -> web.StreamResponse:
        """/delete's choices: the unfinished application, erased at once; or a request to
        erase a sent one, which a caseworker completes (bot/casework/deletions.py)."""
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        tr = await self._tr(request)
        deletable = await self.mydata.deletable(applicant.user_id)
        return self._draw(
            request,
            tr,
            "delete.html",
            draft_id=deletable.draft_id,
            sent=bool(deletable.sent),
            requestable=[(c.id, tr.ltr(c.ref or "")) for c in deletable.requestable],
            seq=await self.web.seq(applicant.user_id),
            said=request.query.get("said", ""),
        )

    async def delete(self, request: web.Request) -> web.StreamResponse:
        applicant = self._applicant(request)
        if applicant is None:
            return see_other("/")
        form = await request.post()
        tr = await self._tr(request)
        draft, sent = str(form.get("draft", "")), str(form.get("intake", ""))
        seq = str(form.get("seq", ""))
        if draft.isdigit() and seq.isdigit():
            erased = await self.mydata.erase_draft(applicant.user_id, int(draft), int(seq) + 1)
            log.info("web applicant erased a draft" if erased else "web draft erasure: none")
            said = Words(tr)("draft_deleted" if erased else "no_draft_to_delete")
            return self._draw(request, tr, "deleted.html", said=said, here="/")
        if sent.isdigit():
            try:
                case = await self.casework.request_deletion(applicant.user_id, int(sent))
            except Conflict:
                return see_other("/delete?said=cannot")
            log.info("web applicant asked for an erasure")
            return see_other("/delete?said=" + quote(case.ref or ""))
        return see_other("/delete")

    # -- errors --------------------------------------------------------------------------

    async def refused(self, request: web.Request, status: int, problem: str) -> web.Response:
        return self._draw(
            request, await self._tr(request), "problem.html", status, problem=problem, here="/"
        )


def routes(pages: WebPages) -> list[web.RouteDef]:
    return [
        web.get("/", pages.home),
        web.post("/start", pages.start),
        web.get("/chat", pages.chat),
        web.post("/answer", pages.answer),
        web.post("/upload", pages.upload),
        web.get("/status", pages.status),
        web.post("/read", pages.read),
        web.post("/reply", pages.reply),
        web.get("/news", pages.news),
        web.post("/code", pages.new_code),
        web.get("/resume", pages.resume_form),
        web.post("/resume", pages.resume),
        web.get("/lang/{lang}", pages.language),
        web.get("/mydata", pages.my_data),
        web.get("/delete", pages.delete_form),
        web.post("/delete", pages.delete),
    ]
