"""The web chat's people: resume codes, and what a web applicant's pages are made of.

The interview itself is ``bot.interview.Interview``, exactly as in Telegram; this module
gives a web applicant what Telegram gives for free: an identity (a person in the store,
bot/store/web.py) and a way back to it on another phone, the resume code. A code is 8
characters from the references' alphabet, which has no letters that read like digits, so
it is read out and typed without mistakes. Only a slow hash of it is kept (scrypt, the
same for everyone so that a code finds its person): a stolen database does not give the
codes away, and a key rotation does not change them.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from bot.casework.desk import Awaiting
from bot.channels import WEB
from bot.interview import Applicant
from bot.store import Store
from bot.store.intakes import REF_ALPHABET
from bot.store.web import WebNotice

CODE_LENGTH = 8
# 16 MiB and some tens of milliseconds per hash: nothing for one person resuming, a wall
# for anyone trying all 25^8 codes against a copy of the database.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
_SALT = b"intake-bot web resume code v1"


def new_code() -> str:
    return "".join(secrets.choice(REF_ALPHABET) for _ in range(CODE_LENGTH))


def shown_code(code: str) -> str:
    """As people read it: two groups of four."""
    return f"{code[:4]}-{code[4:]}"


def clean_code(typed: str) -> str | None:
    """A typed code as stored: spaces and dashes dropped, upper case; None if it cannot be
    one (wrong length or a character the alphabet lacks)."""
    code = "".join(ch for ch in typed.upper() if ch not in " -\u00a0\t")
    if len(code) != CODE_LENGTH or any(ch not in REF_ALPHABET for ch in code):
        return None
    return code


def code_hash(code: str) -> str:
    return hashlib.scrypt(code.encode(), salt=_SALT, **_SCRYPT).hex()


async def hash_code(code: str) -> str:
    """``code_hash`` off the event loop: it takes tens of milliseconds on purpose."""
    return await asyncio.to_thread(code_hash, code)


@dataclass(frozen=True)
class Question:
    """A caseworker's question waiting for this applicant's answer."""

    intake_id: int
    ref: str | None


class WebPeople:
    def __init__(self, store: Store) -> None:
        self.store = store

    def applicant(self, user_id: int, browser_lang: str | None) -> Applicant:
        """The interview's applicant for a web person: their chat is themselves (notices
        for it wait in the outbox for their page)."""
        return Applicant(user_id, user_id, browser_lang, channel=WEB)

    async def join(self, lang: str | None) -> tuple[int, str]:
        """A new web applicant: their id and resume code (shown to them once)."""
        while True:
            code = new_code()
            user_id = await self.store.web.new_person(await hash_code(code), lang)
            if user_id is not None:
                return user_id, code

    async def new_code(self, user_id: int) -> str | None:
        """A fresh resume code for someone who lost theirs (the old one stops working)."""
        if not await self.store.web.is_person(user_id):
            return None
        while True:
            code = new_code()
            if await self.store.web.set_code(user_id, await hash_code(code)):
                return code

    async def resume(self, typed: str) -> int | None:
        code = clean_code(typed)
        if code is None:
            return None
        return await self.store.web.person_by_code(await hash_code(code))

    async def seq(self, user_id: int) -> int:
        """The newest input applied for this person. A page's form carries it; the input
        it sends is applied as the next one, so a form sent twice (a double tap, a resent
        POST) is recognised as applied, as Telegram's update ids are."""
        view = await self.store.intakes.load_for_applicant(user_id)
        newest = view.last_update_id
        if view.draft is not None:
            newest = max(newest, view.draft.last_update_id)
        for intake in await self.store.intakes.for_applicant(user_id):
            newest = max(newest, intake.last_update_id)
        return newest

    async def question(self, user_id: int) -> Question | None:
        """The caseworker's question this person is asked to answer, if one is open."""
        pending = await self.store.pending.get(user_id)
        if pending is None or pending.kind != Awaiting.REPLY or pending.intake_id is None:
            return None
        intake = await self.store.intakes.get(pending.intake_id)
        if intake is None or intake.applicant_id != user_id:
            return None
        return Question(intake.id, intake.ref)

    async def notices(self, user_id: int) -> list[WebNotice]:
        return await self.store.web.notices(user_id)

    async def read(self, user_id: int, ids: list[int]) -> int:
        return await self.store.web.notices_read(user_id, ids)
