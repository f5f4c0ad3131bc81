"""A caseworker's filtered lists and search results: what a list holds (``Listing``), kept
for its page buttons, and the query that reads one page of it.

A page button carries a listing's id and a page number only; the listing itself (which
statuses, regions, special groups, or the blind-index digests of a search) is kept here,
sealed, for the person who made it, and for a day. Every page is read again with the
reader's regions as they are at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from bot.crypto import open_json, seal_json
from bot.regions import Scope
from bot.store.backend import Backend
from bot.store.casework import _MORE, Case, _case
from bot.store.db import now_iso
from bot.store.intakes import _COLUMNS, FINAL_STATUSES, OPEN_STATUSES

KEEP_HOURS = 24  # a page button older than this says the list is gone
KEEP_PER_PERSON = 20


@dataclass(frozen=True)
class Listing:
    """What one list holds. A search (``digests`` or ``ref``) finds sent intakes of any
    status; a filtered queue holds ``statuses`` (the open ones unless a word said
    otherwise), narrowed to ``regions`` (codes or prefixes), to intakes with any of the
    priority rules ``groups``, and to the overdue ones. ``words`` are the filter's keys,
    to say again above each page what it holds."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    regions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    overdue: bool = False
    digests: tuple[str, ...] = ()  # hex of Cipher.blind: what was searched, never the words
    ref: str = ""
    words: tuple[str, ...] = ()

    @property
    def search(self) -> bool:
        return bool(self.digests or self.ref)

    @property
    def decided(self) -> bool:
        """Only decided (or closed) intakes: newest decision first."""
        return bool(self.statuses) and all(s in FINAL_STATUSES for s in self.statuses)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listing:
        return cls(
            statuses=tuple(data.get("statuses") or ()),
            regions=tuple(data.get("regions") or ()),
            groups=tuple(data.get("groups") or ()),
            overdue=bool(data.get("overdue")),
            digests=tuple(data.get("digests") or ()),
            ref=str(data.get("ref") or ""),
            words=tuple(data.get("words") or ()),
        )


class ListingStore:
    def __init__(self, db: Backend) -> None:
        self._db = db

    async def keep(self, user_id: int, listing: Listing) -> int:
        """Keep ``listing`` for ``user_id``'s page buttons; its id. Lists older than a day,
        and this person's beyond their last few, go."""
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=KEEP_HOURS)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        async with self._db.write() as tx:
            await tx.execute("DELETE FROM listings WHERE created_at < ?", (cutoff,))
            cursor = await tx.execute(
                "INSERT INTO listings (user_id, spec, created_at) VALUES (?, ?, ?)",
                (user_id, seal_json(self._db.cipher, asdict(listing)), now_iso()),
            )
            listing_id = int(cursor.lastrowid or 0)
            await tx.execute(
                "DELETE FROM listings WHERE user_id = ? AND id <= ?",
                (user_id, listing_id - KEEP_PER_PERSON),
            )
        return listing_id

    async def get(self, listing_id: int, user_id: int) -> Listing | None:
        """The listing, if it is ``user_id``'s and still kept."""
        row = await self._db.fetchone(
            "SELECT spec FROM listings WHERE id = ? AND user_id = ?", (listing_id, user_id)
        )
        if row is None:
            return None
        return Listing.from_dict(open_json(self._db.cipher, row["spec"]))

    async def page(
        self,
        listing: Listing,
        *,
        scope: Scope,
        reader: int,
        overdue: tuple[str, list[Any]] | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Case], int]:
        """One page of ``listing`` within ``scope`` and its size. ``overdue`` is the
        condition for overdue intakes (bot/casework/deadlines.py ``overdue_where``, on
        the alias ``i``), used when the listing asks for them."""
        where, params = _where(listing, scope, reader, overdue)
        row = await self._db.fetchone(f"SELECT COUNT(*) AS n FROM intakes i WHERE {where}", params)
        total = int(row["n"]) if row else 0
        if listing.search:
            order = "i.submitted_at DESC, i.id DESC"
        elif listing.decided:
            order = "COALESCE(i.decided_at, i.updated_at) DESC, i.id DESC"
        else:
            order = "i.priority DESC, i.submitted_at ASC, i.id ASC"
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS}{_MORE} FROM intakes i WHERE {where} ORDER BY {order}"
            " LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_case(r, self._db.cipher) for r in rows], total


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _where(
    listing: Listing, scope: Scope, reader: int, overdue: tuple[str, list[Any]] | None
) -> tuple[str, list[Any]]:
    in_scope, params = scope.where("i.region")
    parts = [in_scope]
    out: list[Any] = list(params)
    if listing.search:
        found = []
        if listing.digests:
            found.append(
                "i.id IN (SELECT intake_id FROM lookup WHERE digest IN"
                f" ({_marks(len(listing.digests))}))"
            )
            out += [bytes.fromhex(d) for d in listing.digests]
        if listing.ref:
            found.append("i.ref = ?")
            out.append(listing.ref)
        parts += ["(" + " OR ".join(found) + ")", "i.status <> 'draft'"]
        return " AND ".join(parts), out
    # Test intakes (intake-bot try --save) only in the lists of whoever claimed them.
    parts.append("(i.is_test = 0 OR i.assignee = ?)")
    out.append(reader)
    if listing.statuses:
        parts.append(f"i.status IN ({_marks(len(listing.statuses))})")
        out += listing.statuses
    if listing.regions:
        region, codes = Scope(frozenset(listing.regions)).where("i.region")
        parts.append(region)
        out += codes
    if listing.groups:
        parts.append(
            "EXISTS (SELECT 1 FROM json_each(i.screening, '$.priority_reasons') g"
            f" WHERE g.value IN ({_marks(len(listing.groups))}))"
        )
        out += listing.groups
    if listing.overdue and overdue is not None:
        parts.append(overdue[0])
        out += overdue[1]
    return " AND ".join(parts), out
