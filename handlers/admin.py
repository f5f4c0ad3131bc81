"""The admin's side in the chat: roles (and, with the flow editor, flows).

Every command re-checks the admin role in the database (or INTAKE_ADMIN_IDS)
when it runs; anyone else gets one polite line and nothing is read or changed.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.i18n import I18n, Tr
from bot.messages import HTML
from bot.store import Store
from bot.store.roles import ROLES
from handlers.common import as_int, send

log = logging.getLogger(__name__)


class AdminHandlers:
    def __init__(self, store: Store, i18n: I18n) -> None:
        self.store = store
        self.i18n = i18n

    async def _admin(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> tuple[int, Tr] | None:
        """The admin's id and language, or None after telling a non-admin no."""
        user = update.effective_user
        if user is None:
            return None
        chosen = await self.store.users.language(user.id)
        tr = self.i18n.tr(self.i18n.pick(chosen, user.language_code))
        if not await self.store.roles.has(user.id, "admin"):
            await send(ctx.bot, user.id, tr.gettext("This is only for admins."))
            return None
        return user.id, tr

    async def grant(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        args = ctx.args or []
        user_id = as_int(args[0]) if args else None
        role = args[1].lower() if len(args) > 1 else ""
        if user_id is None or role not in ROLES:
            await send(
                ctx.bot,
                actor,
                _(
                    "Usage: /grant USER_ID ROLE [name or region], where ROLE is caseworker, partner or admin."
                ),
            )
            return
        label = " ".join(args[2:]).strip() or None
        new = await self.store.roles.grant(user_id, role, label=label, by=actor)
        text = (
            _("{user} is now {role}.") if new else _("{user} already was {role}; details updated.")
        )
        await send(ctx.bot, actor, text.format(user=user_id, role=role))

    async def revoke(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        args = ctx.args or []
        user_id = as_int(args[0]) if args else None
        role = args[1].lower() if len(args) > 1 else ""
        if user_id is None or role not in ROLES:
            await send(ctx.bot, actor, _("Usage: /revoke USER_ID ROLE"))
            return
        removed = await self.store.roles.revoke(user_id, role, by=actor)
        text = (
            _("{user} is no longer {role}.")
            if removed
            else _("{user} did not have the role {role}.")
        )
        await send(ctx.bot, actor, text.format(user=user_id, role=role))

    async def roles(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        grants = await self.store.roles.grants()
        if not grants:
            await send(ctx.bot, actor, _("No roles are granted yet."))
            return
        lines = ["<b>" + _("Roles") + "</b>"]
        for g in grants:
            line = f"• {g.user_id} · {g.role}"
            if g.label:
                line += " · " + HTML.esc(g.label)
            if g.from_config:
                line += " · " + _("(from INTAKE_ADMIN_IDS)")
            lines.append(line)
        await send(ctx.bot, actor, "\n".join(lines))


def build_handlers(store: Store, i18n: I18n) -> list[BaseHandler]:
    h = AdminHandlers(store, i18n)
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("grant", h.grant, filters=private),
        CommandHandler("revoke", h.revoke, filters=private),
        CommandHandler("roles", h.roles, filters=private),
    ]
