"""The morning digest: each caseworker and supervisor with something due hears of it once
a day, in one message, and nobody else is written to.

The 12309 service promises a procedural reply within 7 days and a result within 3
months (bot/casework/deadlines.py). Nothing reminded anyone of that: an intake nobody
claimed could sit past both without a word. Each morning (``INTAKE_DIGEST_TIME`` in
``INTAKE_TIMEZONE``) every open intake past a deadline or due within DUE_SOON_DAYS is
told to those who can act on it: the caseworker who holds it, or, while nobody holds it,
every caseworker of its region; and every supervisor whose regions cover it.

A person's digest is queued in the outbox together with the record that it was sent
(bot/store/digests.py), so a restart, a catch-up run after a late start, or two runs at
once never send a second one the same day. The channel draws an Open button for each
intake listed (``OutMessage.opens``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.casework.actions import CASEWORKER, SUPERVISOR
from bot.casework.deadlines import Due, due, due_text, due_where
from bot.casework.identity import People
from bot.casework.notices import Kind
from bot.config import Settings
from bot.i18n import Tr
from bot.messages import CHUNK, Fmt
from bot.store import Store
from bot.store.casework import Case
from bot.store.outbox import OutMessage

# Intakes listed by name in one digest; the rest are counted ("and 12 more").
SHOWN = 15
# Days for which the record of sent digests is kept (only today's matters).
KEEP_DAYS = 7
# The most a digest's head and lines may take, leaving room for its foot under one
# message's limit (bot/messages.py).
BUDGET = CHUNK - 300


@dataclass(frozen=True)
class Item:
    """An intake that is due, and how."""

    case: Case
    due: Due


@dataclass
class Reader:
    """One person's share of the morning: what they are told about."""

    user_id: int
    caseworker: bool = False
    items: list[Item] = field(default_factory=list)


class Digests:
    def __init__(self, store: Store, people: People, settings: Settings, fmt: Fmt) -> None:
        self.store = store
        self.people = people
        self.settings = settings
        self.fmt = fmt

    # -- when ------------------------------------------------------------------------

    def day(self, now: dt.datetime) -> dt.date:
        """The deployment's date at ``now``: a digest a person a day of it."""
        return now.astimezone(self.settings.zone).date()

    def past_time(self, now: dt.datetime) -> bool:
        """Whether today's digest time has passed at ``now`` (in the deployment's zone): a
        bot started later that day sends what it missed."""
        return now.astimezone(self.settings.zone).time() >= self.settings.digest_time

    # -- what ------------------------------------------------------------------------

    async def due_now(self, now: dt.datetime) -> list[Item]:
        """Every open intake past a deadline or due soon at ``now``, nearest deadline first
        (the longest overdue at the top)."""
        s = self.settings
        days = {"first_reply_days": s.first_reply_days, "decision_days": s.decision_days}
        items = []
        for case in await self.store.cases.due(due_where(now, **days)):
            found = due(case.status, case.submitted_at, now, **days)
            if found is not None and (found.overdue or found.soon):
                items.append(Item(case, found))
        items.sort(key=lambda item: (item.due.at, item.case.id))
        return items

    async def readers(self, items: Sequence[Item]) -> dict[int, Reader]:
        """Who is told of each item: the caseworker who holds it (while they still hold the
        role over its region), else every caseworker of its region; and every supervisor of
        its region. Roles and regions as the database says now."""
        caseworkers = await self.store.roles.grants(CASEWORKER)
        supervisors = await self.store.roles.grants(SUPERVISOR)
        is_caseworker = {g.user_id for g in caseworkers}
        out: dict[int, Reader] = {}
        for item in items:
            region = item.case.region
            local = {g.user_id for g in caseworkers if g.scope.covers(region)}
            holder = item.case.assignee
            told = {holder} if holder in local else local
            told |= {g.user_id for g in supervisors if g.scope.covers(region)}
            for uid in told:
                if uid is None:
                    continue
                reader = out.setdefault(uid, Reader(uid, uid in is_caseworker))
                reader.items.append(item)
        return out

    # -- sending ---------------------------------------------------------------------

    async def morning(self, now: dt.datetime | None = None) -> int:
        """Queue today's digest for everyone with something due who has not had it yet;
        returns how many were queued by this call."""
        now = now or dt.datetime.now(dt.UTC)
        day = self.day(now)
        await self.store.digests.forget_before((day - dt.timedelta(days=KEEP_DAYS)).isoformat())
        had = await self.store.digests.sent_on(day.isoformat())
        readers = await self.readers(await self.due_now(now))
        sent = 0
        for uid in sorted(readers.keys() - had):
            message = await self.message(readers[uid], day)
            if await self.store.digests.send_once(uid, day.isoformat(), message):
                sent += 1
        await self.store.digests.finished(day.isoformat())
        return sent

    async def catch_up(self, now: dt.datetime | None = None) -> int:
        """After a start or a failed run: today's digests, if their time has passed and
        today's run did not go through (the bot was down at digest time, or the run failed
        half-way: those it reached are not written to again). Nothing before that time, and
        nothing once the morning's run went through: someone with nothing due then is not
        written to later in the day."""
        now = now or dt.datetime.now(dt.UTC)
        if (
            not self.past_time(now)
            or await self.store.digests.ran_on() == self.day(now).isoformat()
        ):
            return 0
        return await self.morning(now)

    async def message(self, reader: Reader, day: dt.date) -> OutMessage:
        tr = await self.people.tr_for(reader.user_id)
        others = {i.case.assignee for i in reader.items} - {None, reader.user_id}
        text, shown = self.text(tr, reader, day, await self.people.names_of(others))
        return OutMessage(
            reader.user_id,
            text,
            kind=Kind.DIGEST,
            lang=tr.lang,
            opens=tuple((i.case.id, i.case.ref or "") for i in shown),
        )

    def text(
        self, tr: Tr, reader: Reader, day: dt.date, names: dict[int | None, str]
    ) -> tuple[str, list[Item]]:
        """The digest as ``reader`` reads it, and the intakes it lists by name: counts,
        then one line an intake (its reference, how far past or before its deadline, which
        deadline, who holds it), at most SHOWN of them and never more than one message
        holds; the rest are counted."""
        _ = tr.gettext
        fmt = self.fmt
        items = reader.items
        overdue = sum(1 for i in items if i.due.overdue)
        soon = len(items) - overdue
        counts = []
        if overdue:
            counts.append(
                "⚠️ "
                + tr.ngettext("{n} overdue", "{n} overdue", overdue).format(n=tr.count(overdue))
            )
        if soon:
            counts.append(
                "⏳ " + tr.ngettext("{n} due soon", "{n} due soon", soon).format(n=tr.count(soon))
            )
        head = [
            "⏰ " + fmt.b(_("Deadlines on {date}").format(date=tr.date(day))),
            " · ".join(counts),
            "",
        ]
        lines = []
        for n, item in enumerate(items[:SHOWN], start=1):
            case = item.case
            bits = [f"{n}. " + fmt.b(tr.ltr(case.ref or "")), due_text(tr, item.due)]
            if case.assignee is None:
                bits.append(_("not claimed yet"))
            elif case.assignee != reader.user_id:
                name = fmt.esc(names.get(case.assignee, "—"))
                bits.append(_("claimed by {name}").format(name=name))
            lines.append(" · ".join(bits))
        while lines and len("\n".join(head + lines)) > BUDGET:  # only with very long names
            lines.pop()
        foot = []
        more = len(items) - len(lines)
        if more:
            foot.append(
                tr.ngettext("…and {n} more", "…and {n} more", more).format(n=tr.count(more))
            )
        foot += ["", _("Tap an application below to open it.")]
        if reader.caseworker:
            foot.append(_("Send /queue to see every open application."))
        return "\n".join(head + lines + foot), items[: len(lines)]
