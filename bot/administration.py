"""What admins do besides editing flows: grant and revoke roles, set how long drafts wait,
and (with caseworkers) read the statistics.

Every operation checks the actor's role in the database when it runs, whatever command
carried it (a channel may check first, to answer a stranger early, but need not).
"""

from __future__ import annotations

import operator
from functools import reduce

from bot import stats
from bot.casework.measure_terms import BODY_KINDS
from bot.flowadmin import NotAdmin
from bot.housekeeping import Housekeeping
from bot.store import Store
from bot.store.roles import ROLES, Grant

__all__ = ["DRAFT_DAYS", "ROLES", "Administration", "Grant", "NotAdmin", "NotStaff"]

DRAFT_DAYS = (1, 365)  # the fewest and most days an admin may give drafts
# Who reads the statistics: those who report the campaign's figures upward.
_STATISTICS_ROLES = frozenset({"admin", "caseworker", "supervisor"})


class NotStaff(Exception):
    """Only caseworkers and admins may do this."""


class Administration:
    def __init__(self, store: Store, housekeeping: Housekeeping) -> None:
        self.store = store
        self.housekeeping = housekeeping

    async def is_admin(self, user_id: int) -> bool:
        return await self.store.roles.has(user_id, "admin")

    async def require(self, actor: int) -> None:
        if not await self.is_admin(actor):
            raise NotAdmin()

    # -- roles -----------------------------------------------------------------------

    @staticmethod
    def is_role(role: str) -> bool:
        return role in ROLES

    async def grant(
        self,
        actor: int,
        user_id: int,
        role: str,
        label: str | None,
        regions: list[str] | None = None,
        kind: str | None = None,
    ) -> bool:
        """Give ``role`` to ``user_id``; True if it is new (a label is updated either way).
        ``regions`` (division codes) replace the regions it covers; None keeps them (a new
        role covers every region). ``kind``: a partner's kind of body (a code of
        BODY_KINDS; None keeps the one it has). Raises ValueError for a role that does not
        exist, or a kind that is none or not a partner's."""
        if kind is not None and (kind not in BODY_KINDS or role != "partner"):
            raise ValueError(kind)
        await self.require(actor)
        return await self.store.roles.grant(
            user_id, role, label=label, by=actor, regions=regions, kind=kind
        )

    async def revoke(self, actor: int, user_id: int, role: str) -> bool:
        """Take ``role`` from ``user_id``; False if they did not have it."""
        await self.require(actor)
        return await self.store.roles.revoke(user_id, role, by=actor)

    async def grants(self, actor: int) -> list[Grant]:
        """Who has which role, those from INTAKE_ADMIN_IDS included."""
        await self.require(actor)
        return await self.store.roles.grants()

    # -- how long drafts wait ----------------------------------------------------------

    async def draft_days(self, actor: int) -> int:
        await self.require(actor)
        return await self.housekeeping.draft_days()

    @staticmethod
    def fits_draft_days(days: int) -> bool:
        low, high = DRAFT_DAYS
        return low <= days <= high

    async def set_draft_days(self, actor: int, days: int) -> None:
        """Raises ValueError outside ``DRAFT_DAYS``."""
        if not self.fits_draft_days(days):
            raise ValueError(days)
        await self.require(actor)
        await self.housekeeping.set_draft_days(actor, days)

    # -- statistics --------------------------------------------------------------------

    async def statistics(self, actor: int) -> stats.Figures:
        """The figures of the regions the person covers in the roles that may see them."""
        scopes = await self.store.roles.scopes(actor)
        held = [scope for role, scope in scopes.items() if role in _STATISTICS_ROLES]
        if not held:
            raise NotStaff()
        return await stats.figures(self.store, reduce(operator.or_, held))
