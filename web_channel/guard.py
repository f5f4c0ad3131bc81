"""What every request of the web chat passes: the session cookie, the CSRF check, the rate
limits and the security headers.

A visitor gets a random session cookie on their first request (HttpOnly, SameSite=Lax,
Secure behind https); only its SHA-256 is stored, once it is tied to a person. Every form
carries a token derived from that cookie, which a page of another site cannot read, so a
form posted from elsewhere is refused (403). Requests are counted per session and per
address in small token buckets; a resume code can be tried only a few times per address.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

COOKIE = "ib_session"
# Behind https: a __Host- cookie, which the browser takes only from this very host, over
# https, for the whole site; no subdomain or other site can set it.
SECURE_COOKIE = "__Host-ib_session"
LANG_COOKIE = "ib_lang"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
SESSION_DAYS = 180
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(token: str) -> str:
    return hmac.new(token.encode(), b"intake-bot web form", hashlib.sha256).hexdigest()[:32]


def style_hash(css: str) -> str:
    """The CSP source of the page's one inline style block."""
    digest = hashlib.sha256(css.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def csp(css: str) -> str:
    """No script but the site's own file (web_channel/chat.js): nothing inline, nothing
    from elsewhere; the one inline style block by its hash."""
    return (
        "default-src 'self'; script-src 'self'; style-src "
        + style_hash(css)
        + "; img-src 'self' data:; form-action 'self'; frame-ancestors 'none';"
        " base-uri 'none'; object-src 'none'"
    )


class Bucket:
    """Token buckets by key: ``capacity`` requests at once, refilled over ``per`` seconds."""

    def __init__(self, capacity: int, per: float, *, most: int = 50_000) -> None:
        self.capacity = capacity
        self.rate = capacity / per if per else 0.0
        self.most = most  # keys kept; idle ones are forgotten first
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float | None = None) -> bool:
        if self.capacity <= 0:
            return True
        now = time.monotonic() if now is None else now
        tokens, at = self._state.get(key, (float(self.capacity), now))
        tokens = min(float(self.capacity), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._state[key] = (tokens, now)
            return False
        self._state[key] = (tokens - 1.0, now)
        if len(self._state) > self.most:
            self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        full = self.capacity / self.rate if self.rate else 0.0
        for key, (_, at) in list(self._state.items()):
            if now - at >= full:
                del self._state[key]
        while len(self._state) > self.most:  # all busy: the oldest go
            del self._state[next(iter(self._state))]


class InOrder:
    """One session's forms are applied one after the other, as one Telegram chat's updates
    are (telegram_channel/app.py): a double tap on Start makes one person, not two. Locks
    of idle sessions are forgotten, so memory does not grow with the number of visitors."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def address_of(request: web.Request, trust_proxy: bool) -> str:
    """The client's address; nginx's X-Real-IP only when told to trust it."""
    if trust_proxy:
        real = request.headers.get("X-Real-IP", "").strip()
        if real:
            return real
    return request.remote or "?"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid_token(token: str | None) -> bool:
    return token is not None and _TOKEN.fullmatch(token) is not None


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def set_session_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    response.set_cookie(
        cookie_name(secure),
        token,
        max_age=SESSION_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def forms_match(sent: str | None, expected: str) -> bool:
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


# What the guards leave on a request for the pages: the session cookie, the form token
# derived from it, and the person the session names (None: nobody yet).
TOKEN = web.RequestKey("token", str)
CSRF = web.RequestKey("csrf", str)
USER = web.RequestKey("user_id", int)  # absent or None: nobody yet
TRUST_PROXY = web.AppKey("trust_proxy", bool)
RESUME_TRIES = web.AppKey("resume_tries", Bucket)
