"""Scheduled care of the data: idle drafts expire, old decided intakes are anonymised, and
what was kept only to recognise repeated updates is forgotten.

People are told when an unfinished application is closed, and nothing they
wrote in it is kept: a draft nobody finishes is exactly the data the law says
not to keep.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.casework.terms import DECLINE_REASONS
from bot.config import Settings
from bot.flow.variables import values_of
from bot.i18n import I18n
from bot.store import Store
from bot.store.inbox import KEEP_DEAD, KEEP_DONE
from bot.store.outbox import OutMessage

log = logging.getLogger(__name__)

ERASED_DAYS = 2  # Telegram delivers an update again for up to a day


def _ago(days: int, now: dt.datetime | None = None) -> str:
    at = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Housekeeping:
    def __init__(self, store: Store, i18n: I18n, settings: Settings) -> None:
        self.store = store
        self.i18n = i18n
        self.settings = settings

    async def draft_days(self) -> int:
        """Days a draft waits for an answer: the admin's setting, else INTAKE_DRAFT_DAYS."""
        days = await self.store.housekeeping.draft_days()
        return self.settings.draft_days if days is None else days

    async def set_draft_days(self, actor: int, days: int) -> None:
        if not await self.store.roles.has(actor, "admin"):
            raise PermissionError("admin")
        await self.store.housekeeping.set_draft_days(actor, days)
        self.store.flows.use_values(values_of(self.settings, days))

    async def refresh_flow_values(self) -> None:
        """Give flow texts the settings they name (``{settings.draft_days}`` and the
        like, bot/flow/variables.py): at start, and on each expiry round, so that a
        change made through another instance reaches this one too."""
        self.store.flows.use_values(values_of(self.settings, await self.draft_days()))

    async def expire_drafts(self, now: dt.datetime | None = None) -> int:
        """Close drafts idle for longer than the admin-set number of days; tell each applicant."""
        days = await self.draft_days()
        self.store.flows.use_values(values_of(self.settings, days))
        cutoff = _ago(days, now)
        expired = 0
        for idle in await self.store.housekeeping.idle_drafts(cutoff):
            tr = self.i18n.tr(self.i18n.pick(idle.chosen, idle.lang))
            text = tr.ngettext(
                "Your application was not finished for {n} day, so it was closed and your answers were deleted. Send /start to begin again.",
                "Your application was not finished for {n} days, so it was closed and your answers were deleted. Send /start to begin again.",
                days,
            ).format(n=days)
            if await self.store.intakes.expire_draft(
                idle.id, cutoff, OutMessage(idle.chat_id, text)
            ):
                expired += 1
        # A preview nobody finished is not kept either.
        await self.store.housekeeping.drop_previews(_ago(1, now))
        await self.store.erase_files()  # their files; and any an interrupted erasure left
        if expired:
            log.info("%d idle drafts expired", expired)
            await self.store.db.checkpoint()
        return expired

    async def anonymise_decided(self, now: dt.datetime | None = None) -> int:
        """Decided intakes older than the retention period keep their figures, not their people."""
        cutoff = _ago(self.settings.retain_days, now)
        codes = tuple(code for code, _label in DECLINE_REASONS)
        done = 0
        for intake_id in await self.store.cases.due_for_anonymising(cutoff):
            if await self.store.cases.anonymise(intake_id, None, "intake.anonymised", [], codes):
                done += 1
        await self.store.erase_files()
        if done:
            log.info("%d decided intakes anonymised after the retention period", done)
            await self.store.db.checkpoint()
        return done

    async def prune_inbox(self, now: dt.datetime | None = None) -> int:
        """Forget the ids of updates applied days ago (Telegram re-sends an update for a
        day at most), and dead letters after a month."""
        return await self.store.inbox.prune(_ago(KEEP_DONE, now), _ago(KEEP_DEAD, now))

    async def run(self) -> None:
        await self.expire_drafts()
        await self.anonymise_decided()
        await self.forget_erased()
        await self.prune_inbox()
        if self.store.db.dialect == "postgresql":  # several instances' shared send pace
            await self.store.send_pace.forget_past()

    async def forget_erased(self, now: dt.datetime | None = None) -> int:
        """Erased people are recognised (for updates delivered again) for two days only."""
        return await self.store.users.forget_erased(_ago(ERASED_DAYS, now))
