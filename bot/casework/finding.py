"""Finding intakes: ``/find`` by reference, name, phone number (or its last 4 digits) or ID
number, and ``/queue`` with filters, decided intakes included; long lists in pages.

A search never opens the sealed answers: it looks the typed words' keyed hashes up in
the blind index (bot/lookup.py, bot/store/lookup.py). Each list is kept for its page
buttons (bot/store/listings.py), so a button carries an id and a page number only; every
page is read again with the caseworker's role and regions as they are then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.casework.actions import CASEWORKER, SUPERVISOR
from bot.casework.deadlines import overdue_where
from bot.casework.decisions import normal_ref
from bot.casework.filters import Vocabulary, read
from bot.casework.identity import Denied, People
from bot.config import Settings
from bot.flow.model import Flow
from bot.i18n import Tr
from bot.lookup import query_terms
from bot.regions import Scope
from bot.store import Store
from bot.store.casework import Case, Conflict
from bot.store.flows import FlowNotFound
from bot.store.intakes import REF_ALPHABET
from bot.store.listings import Listing
from bot.store.lookup import digests


@dataclass(frozen=True)
class Page:
    """One page of a kept list: its id (for the page buttons), what it holds, and its
    intakes, each with the flow it was answered on."""

    listing_id: int
    listing: Listing
    entries: list[tuple[Case, Flow]]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.size - 1) // self.size)


class UnknownFilter(Exception):
    """Words after /queue that are no filter; ``vocabulary`` says what is."""

    def __init__(self, words: tuple[str, ...], vocabulary: Vocabulary) -> None:
        super().__init__("unknown filter")
        self.words = words
        self.vocabulary = vocabulary


def _looks_like_ref(ref: str) -> bool:
    code = ref.replace("-", "")
    return len(ref) == 7 and ref[3] == "-" and all(c in REF_ALPHABET for c in code)


class Finding:
    def __init__(self, store: Store, people: People, settings: Settings) -> None:
        self.store = store
        self.people = people
        self.settings = settings

    async def vocabulary(self, tr: Tr) -> Vocabulary:
        """The filter words for this reader, from the interview new applicants get."""
        try:
            flow: Flow | None = await self.store.flows.active()
        except FlowNotFound:
            flow = None
        return Vocabulary.of(tr, flow)

    async def _scope(self, actor: int) -> Scope:
        """The regions ``actor`` reads in as a caseworker or a supervisor (both, if both);
        Denied with neither role."""
        scopes = await self.store.roles.scopes(actor)
        held = [scopes[r] for r in (CASEWORKER, SUPERVISOR) if r in scopes]
        if not held:
            raise Denied(CASEWORKER)
        return held[0] if len(held) == 1 else held[0] | held[1]

    async def find(self, actor: int, text: str, size: int) -> Page | None:
        """The first page of what ``text`` finds in the regions of the caseworker or
        supervisor; None when nothing was typed that could be looked for."""
        await self._scope(actor)
        ref = normal_ref(text)
        looked_for = query_terms(text)
        hashes = tuple(d.hex() for d in digests(self.store.db.cipher, looked_for))
        listing = Listing(digests=hashes, ref=ref if _looks_like_ref(ref) else "")
        if not listing.search:
            return None
        return await self._first(actor, listing, size)

    async def queue(self, actor: int, tr: Tr, text: str, size: int) -> Page:
        """The first page of the queue as ``text`` filters it; UnknownFilter for words
        that are none."""
        await self._scope(actor)
        vocabulary = await self.vocabulary(tr)
        got = read(vocabulary, text)
        if got.listing is None:
            raise UnknownFilter(got.unknown, vocabulary)
        return await self._first(actor, got.listing, size)

    async def page(self, actor: int, listing_id: int, page: int, size: int) -> Page:
        """Another page of a kept list of this caseworker's or supervisor's."""
        await self._scope(actor)
        listing = await self.store.listings.get(listing_id, actor)
        if listing is None:
            raise Conflict("list_gone")
        return await self._read(actor, listing_id, listing, max(0, page), size)

    async def _first(self, actor: int, listing: Listing, size: int) -> Page:
        listing_id = await self.store.listings.keep(actor, listing)
        return await self._read(actor, listing_id, listing, 0, size)

    async def _read(
        self, actor: int, listing_id: int, listing: Listing, page: int, size: int
    ) -> Page:
        scope = await self._scope(actor)
        overdue = None
        if listing.overdue:
            overdue = overdue_where(
                dt.datetime.now(dt.UTC),
                first_reply_days=self.settings.first_reply_days,
                decision_days=self.settings.decision_days,
            )
        cases, total = await self.store.listings.page(
            listing, scope=scope, reader=actor, overdue=overdue, limit=size, offset=page * size
        )
        if not cases and page > 0 and total:  # the list shrank: its last page
            page = (total - 1) // size
            cases, total = await self.store.listings.page(
                listing, scope=scope, reader=actor, overdue=overdue, limit=size, offset=page * size
            )
        flows = [await self.store.flows.get(c.flow_id, c.flow_version) for c in cases]
        return Page(listing_id, listing, list(zip(cases, flows, strict=True)), total, page, size)
