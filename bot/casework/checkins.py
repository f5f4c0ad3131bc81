"""Return visits (回访, "一次救助，长期关怀"): months after a decision, the bot asks the
household how things are and whether the help arrived.

At each offset of ``INTAKE_CHECKIN_DAYS`` after the decision (30, 90 and 180 days by
default) the applicant gets a short message in their language with four answers (better,
the same, worse, I need to talk to someone) and a button that stops check-ins. Declined
applications are visited too: a return visit then asks whether the person found other
help, which is as much the procuratorate's concern (a decline may have been for lack of
a paper the person has since found). Test intakes and partners' clues get none: nobody
applied.

The schedule lives in the database (bot/store/checkins.py), written with the decision;
a periodic job (and one at start) sends what is due through the outbox, each check-in
marked sent in the transaction that queues it, so a restart between scheduling and
sending loses none and doubles none. "Worse" and "talk" alert the caseworker who holds
the intake (or, while nobody does, the caseworkers of its region) with an Open button.
Every answer lands on the intake's history: a conversation entry (sealed) and an audit
row ``checkin.answered`` with the choice only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum

from bot.casework.actions import CASEWORKER
from bot.casework.identity import People
from bot.casework.notices import Kind
from bot.casework.replies import Piece, encode, piece_text
from bot.casework.terms import MAX_REPLY
from bot.config import Settings
from bot.flow.values import clean_text
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.messages import Fmt
from bot.store import Store
from bot.store.casework import Conflict
from bot.store.checkins import Checkin
from bot.store.outbox import OutMessage

# The pending prompt of an applicant who may add words to their check-in's answer (set
# with the answer, bot/store/checkins.py).
CHECKIN = "checkin"
# Check-ins a run sends at most; the next run (minutes later) sends the rest.
BATCH = 200
# How long after an answer the bot takes the applicant's next message as words added to
# it: a message weeks later is about something else.
WORDS_WITHIN = dt.timedelta(days=2)


class Choice(StrEnum):
    """An answer to a check-in, as stored and counted."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"
    TALK = "talk"


# Choices that tell the caseworker at once.
ALERTS = (Choice.WORSE, Choice.TALK)
# How the applicant's buttons and the caseworker's history name each choice.
CHOICE_NAMES = {
    Choice.BETTER: ("🙂", N_("Better")),
    Choice.SAME: ("😐", N_("The same")),
    Choice.WORSE: ("😟", N_("Worse")),
    Choice.TALK: ("📞", N_("I need to talk to someone")),
}


def choice_of(code: str) -> Choice | None:
    try:
        return Choice(code)
    except ValueError:
        return None


def choice_text(tr: Tr, code: str) -> str:
    """A choice as people read it ("🙂 Better"); the code itself for one unknown."""
    choice = choice_of(code)
    if choice is None:
        return code
    emoji, name = CHOICE_NAMES[choice]
    return f"{emoji} {tr.gettext(name)}"


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def due_times(decided: dt.datetime, days: Sequence[int]) -> tuple[str, ...]:
    """When each check-in of a decision made at ``decided`` is due (UTC ISO)."""
    return tuple(iso(decided + dt.timedelta(days=d)) for d in sorted(set(days)) if d > 0)


class Checkins:
    def __init__(self, store: Store, people: People, settings: Settings, fmt: Fmt) -> None:
        self.store = store
        self.people = people
        self.settings = settings
        self.fmt = fmt

    def schedule_for(
        self, *, is_test: bool, is_clue: bool, now: dt.datetime | None = None
    ) -> tuple[str, ...]:
        """The check-ins a decision made ``now`` schedules (``Change.checkins``)."""
        if is_test or is_clue:
            return ()
        return due_times(now or dt.datetime.now(dt.UTC), self.settings.checkin_days)

    # -- sending ---------------------------------------------------------------------

    async def send_due(self, now: dt.datetime | None = None) -> int:
        """Queue every check-in due at ``now``; returns how many this call queued (a
        check-in another run queued first is not queued again)."""
        at = iso(now or dt.datetime.now(dt.UTC))
        sent = 0
        for checkin in await self.store.checkins.due(at, BATCH):
            if await self.store.checkins.send_once(checkin.id, await self.message(checkin), at):
                sent += 1
        return sent

    async def message(self, checkin: Checkin) -> OutMessage:
        tr = await self.people.tr_for(checkin.applicant_id, checkin.lang)
        return OutMessage(
            checkin.chat_id,
            self.text(tr, checkin),
            kind=Kind.CHECKIN,
            intake_id=checkin.intake_id,
            lang=tr.lang,
            checkin_id=checkin.id,
        )

    def text(self, tr: Tr, checkin: Checkin) -> str:
        _ = tr.gettext
        ref = self.fmt.b(tr.ltr(checkin.ref))
        if checkin.status == "declined":
            ask = _(
                "Hello! This is about your application {ref} for judicial assistance. How are things now? Did you find other help?"
            )
        else:
            ask = _(
                "Hello! This is about your application {ref} for judicial assistance. How are things now? Did the help arrive?"
            )
        return (
            "👋 "
            + ask.format(ref=ref)
            + "\n\n"
            + _(
                "Tap one answer below. If you need to talk to someone, tap that: a caseworker will contact you."
            )
        )

    # -- the applicant's answer --------------------------------------------------------

    async def open_checkin(self, applicant: int, checkin_id: int) -> Checkin:
        """A check-in sent to ``applicant`` that still takes an answer; Conflict else."""
        checkin = await self.store.checkins.get(checkin_id)
        if checkin is None or checkin.applicant_id != applicant or applicant == 0:
            raise Conflict("not_found")
        if checkin.stopped:
            raise Conflict("stopped")
        if not checkin.open:
            raise Conflict("answered")
        return checkin

    async def answer(self, applicant: int, checkin_id: int, code: str) -> Checkin:
        """The applicant's tap: kept on the history; "worse" and "talk" alert the holder.
        The bot then waits for words or a voice note to add (or Skip)."""
        choice = choice_of(code)
        if choice is None:
            raise Conflict("not_found")
        checkin = await self.open_checkin(applicant, checkin_id)
        notify = await self.alerts(checkin, choice) if choice in ALERTS else []
        if not await self.store.checkins.answer(checkin_id, applicant, choice, notify):
            raise Conflict("answered")
        return checkin

    async def add_words(
        self, applicant: int, checkin_id: int, piece: Piece, now: dt.datetime | None = None
    ) -> Checkin:
        """Words or a voice note (kept as the channel's file id) added to an answer; the
        holder hears of them when the answer alerted them. Conflict("stale") more than
        WORDS_WITHIN after the answer: the message is not taken for it."""
        checkin = await self.store.checkins.get(checkin_id)
        if checkin is None or checkin.applicant_id != applicant or checkin.answer is None:
            raise Conflict("not_found")
        answered = dt.datetime.fromisoformat(str(checkin.answered_at).replace("Z", "+00:00"))
        if (now or dt.datetime.now(dt.UTC)) - answered > WORDS_WITHIN:
            raise Conflict("stale")
        if piece.file is None:
            piece = Piece(clean_text(piece.text)[:MAX_REPLY])
            if not piece.text:
                raise Conflict("empty")
        elif piece.text:
            caption = clean_text(piece.text)[:MAX_REPLY]
            piece = Piece(caption, piece.file | {"caption": caption})
        notify: list[OutMessage] = []
        choice = choice_of(checkin.answer)
        if choice in ALERTS:
            notify = await self.words_alerts(checkin, piece)
        await self.store.checkins.add_words(
            checkin.intake_id, applicant, encode(piece), piece.kind, notify
        )
        return checkin

    async def skip(self, applicant: int) -> None:
        """No words to add: the bot stops waiting for them."""
        pending = await self.store.pending.get(applicant)
        if pending is not None and pending.kind == CHECKIN:
            await self.store.pending.clear(applicant)

    async def stop(self, applicant: int, checkin_id: int) -> Checkin:
        """One tap: no more check-ins on this application. Conflict when the check-in is
        not the tapper's."""
        checkin = await self.store.checkins.get(checkin_id)
        if checkin is None or checkin.applicant_id != applicant or applicant == 0:
            raise Conflict("not_found")
        await self.store.checkins.stop(checkin.intake_id, applicant)
        return checkin

    # -- who is told -------------------------------------------------------------------

    async def holders(self, checkin: Checkin) -> list[int]:
        """The caseworker who holds the intake while they still cover its region, else
        every caseworker of its region (roles as the database says now)."""
        local = await self.store.roles.members(CASEWORKER, checkin.region)
        if checkin.assignee is not None and checkin.assignee in local:
            return [checkin.assignee]
        return local

    async def alerts(self, checkin: Checkin, choice: Choice) -> list[OutMessage]:
        out = []
        for uid in await self.holders(checkin):
            tr = await self.people.tr_for(uid)
            ref = self.fmt.b(tr.ltr(checkin.ref))
            if choice is Choice.TALK:
                text = tr.gettext(
                    "⚠️ Check-in (回访) on {ref}: the applicant asks to talk to someone. Please contact them."
                )
            else:
                text = tr.gettext(
                    "⚠️ Check-in (回访) on {ref}: the applicant says things are worse. Please contact them."
                )
            out.append(
                OutMessage(
                    uid,
                    text.format(ref=ref),
                    kind=Kind.CHECKIN_ALERT,
                    intake_id=checkin.intake_id,
                    lang=tr.lang,
                )
            )
        return out

    async def words_alerts(self, checkin: Checkin, piece: Piece) -> list[OutMessage]:
        out = []
        for uid in await self.holders(checkin):
            tr = await self.people.tr_for(uid)
            head = tr.gettext("The applicant of {ref} added to their check-in answer:").format(
                ref=self.fmt.b(tr.ltr(checkin.ref))
            )
            said = self.fmt.i(piece_text(tr, piece))
            out.append(
                OutMessage(
                    uid,
                    head + "\n\n" + said,
                    kind=Kind.CHECKIN_ALERT,
                    intake_id=checkin.intake_id,
                    lang=tr.lang,
                )
            )
        return out
