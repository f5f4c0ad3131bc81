"""The web chat's people and sessions, and the notices waiting for them.

A web applicant has no Telegram account: ``web_people`` gives them an id (above every
Telegram id, bot/channels.py) and keeps only a hash of their resume code. A session is a
random cookie whose hash names the person. Notices the core queues for a web applicant
(a caseworker's question, a decision) wait in the outbox like any other, untouched by the
Telegram sender, until the applicant's page has shown them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass

from bot.channels import WEB_BASE
from bot.crypto import open_text
from bot.store.db import NOBODY, Database, now_iso


@dataclass(frozen=True)
class WebNotice:
    id: int
    text: str  # as the core wrote it for the reader (bold and italics as HTML tags)
    kind: str | None
    intake_id: int | None
    created_at: str


@dataclass(frozen=True)
class News:
    """What an open page of a web applicant may have to show anew: a digest of their
    waiting notices, an open question and their applications' statuses (``state``, the
    same while nothing changed), and how many notices wait."""

    state: str
    notices: int
    question: bool


class WebStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def new_person(self, code_hash: str, lang: str | None) -> int | None:
        """A new web applicant with this resume code's hash; None if the hash is taken (a
        code drawn twice: the caller draws another)."""
        at = now_iso()
        async with self._db.write(touches=NOBODY) as tx:
            # Numbered from the highest so far: one at a time across web instances.
            await tx.serialize("web_people")
            if await tx.fetchone("SELECT 1 FROM web_people WHERE code_hash = ?", (code_hash,)):
                return None
            row = await tx.fetchone(
                "SELECT COALESCE(MAX(user_id), ?) + 1 AS next FROM web_people", (WEB_BASE,)
            )
            user_id = int(row["next"]) if row else WEB_BASE + 1
            await tx.execute(
                "INSERT INTO web_people (user_id, code_hash, created_at) VALUES (?, ?, ?)",
                (user_id, code_hash, at),
            )
            await tx.execute(
                "INSERT INTO users (user_id, lang, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, lang, at),
            )
        return user_id

    async def set_code(self, user_id: int, code_hash: str) -> bool:
        """A new resume code for ``user_id`` (the old one stops working)."""
        try:
            changed = await self._db.execute(
                "UPDATE web_people SET code_hash = ? WHERE user_id = ?",
                (code_hash, user_id),
                touches=NOBODY,
            )
        except sqlite3.IntegrityError:  # drawn twice
            return False
        return changed == 1

    async def person_by_code(self, code_hash: str) -> int | None:
        row = await self._db.fetchone(
            "SELECT user_id FROM web_people WHERE code_hash = ?", (code_hash,)
        )
        return None if row is None else int(row["user_id"])

    async def is_person(self, user_id: int) -> bool:
        row = await self._db.fetchone("SELECT 1 FROM web_people WHERE user_id = ?", (user_id,))
        return row is not None

    async def open_session(self, token_hash: str, user_id: int) -> None:
        at = now_iso()
        await self._db.execute(
            "INSERT INTO web_sessions (token_hash, user_id, created_at, seen_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (token_hash) DO UPDATE SET"
            " user_id = excluded.user_id, seen_at = excluded.seen_at",
            (token_hash, user_id, at, at),
            touches=NOBODY,
        )

    async def session_user(self, token_hash: str) -> int | None:
        row = await self._db.fetchone(
            "SELECT s.user_id FROM web_sessions s JOIN web_people p ON p.user_id = s.user_id"
            " WHERE s.token_hash = ?",
            (token_hash,),
        )
        return None if row is None else int(row["user_id"])

    async def end_session(self, token_hash: str) -> None:
        await self._db.execute(
            "DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,), touches=NOBODY
        )

    async def forget_sessions(self, days: int) -> int:
        """Sessions opened more than ``days`` ago: their cookies have expired."""
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return await self._db.execute(
            "DELETE FROM web_sessions WHERE created_at < ?", (cutoff,), touches=NOBODY
        )

    async def notices(self, user_id: int, limit: int = 20) -> list[WebNotice]:
        """What the core queued for this web applicant and the page has not shown yet."""
        rows = await self._db.fetchall(
            "SELECT id, text, kind, intake_id, created_at FROM outbox WHERE chat_id = ?"
            " ORDER BY id LIMIT ?",
            (user_id, limit),
        )
        cipher = self._db.cipher
        return [
            WebNotice(
                int(r["id"]),
                open_text(cipher, r["text"]),
                r["kind"],
                r["intake_id"],
                r["created_at"],
            )
            for r in rows
        ]

    async def notices_read(self, user_id: int, ids: list[int]) -> int:
        """The applicant has read these notices: they leave the outbox, as delivered ones do."""
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        return await self._db.execute(
            f"DELETE FROM outbox WHERE chat_id = ? AND id IN ({marks})",
            (user_id, *ids),
            touches=NOBODY,
        )

    async def news(self, user_id: int) -> News:
        """One cheap read for a page that asks every few seconds whether anything changed
        (web_channel/pages.py, ``news``): the newest waiting notice and how many wait, the
        open prompt, and the statuses of the sent applications. Only a digest leaves."""
        row = await self._db.fetchone(
            "SELECT (SELECT COALESCE(MAX(id), 0) || ':' || COUNT(*) FROM outbox"
            " WHERE chat_id = ?) AS notices,"
            " (SELECT kind || ':' || COALESCE(CAST(intake_id AS TEXT), '') FROM pending"
            " WHERE user_id = ?) AS asked,"
            " (SELECT group_concat(id || '=' || status, ',') FROM"
            " (SELECT id, status FROM intakes WHERE applicant_id = ? AND status != 'draft'"
            " ORDER BY id) AS s) AS statuses",
            (user_id, user_id, user_id),
        )
        notices = str(row["notices"]) if row else "0:0"
        asked = str(row["asked"] or "") if row else ""
        statuses = str(row["statuses"] or "") if row else ""
        digest = hashlib.sha256(f"{notices}|{asked}|{statuses}".encode()).hexdigest()[:20]
        return News(digest, int(notices.split(":")[1]), asked.startswith("reply:"))
