"""The admin's side in the chat: roles, flows (upload, try, publish, roll back), draft
expiry, and the statistics admins share with caseworkers.

Every command checks the admin role in the database (or INTAKE_ADMIN_IDS) when it runs,
here to answer early and again in the core (``bot/administration.py``,
``bot/flowadmin.py``); anyone else gets one polite line and nothing is read or changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import charts, stats
from bot.administration import DRAFT_DAYS, Administration, NotStaff
from bot.casework.measure_terms import BODY_KINDS, body_kind_text, read_body_kind
from bot.flow.loader import MAX_FILE_BYTES, FlowError
from bot.flow.sandbox import CheckStopped
from bot.flow.values import clean_text, strip_bidi
from bot.flowadmin import Checked, FlowAdmin, NotAdmin
from bot.i18n import Tr
from bot.interview import Applicant, Interview, Turn
from bot.messages import HTML, split_message
from bot.people import People
from bot.regions import is_code
from bot.store import FlowNotFound
from telegram_channel.buttons import as_int
from telegram_channel.buttons.flows import PATTERN, FlowOp, flow_data, read_flow
from telegram_channel.keyboards import Keyboard, button
from telegram_channel.menu import CommandMenus
from telegram_channel.sending import acknowledge, edit_markup, send

log = logging.getLogger(__name__)


Render = Callable[[Update, ContextTypes.DEFAULT_TYPE, Turn], Awaitable[None]]


class AdminHandlers:
    def __init__(
        self,
        people: People,
        admin: Administration,
        flows: FlowAdmin,
        interview: Interview,
        render: Render,
        menus: CommandMenus,
    ) -> None:
        self.people = people
        self.admin = admin
        self.flows = flows
        self.interview = interview
        # The applicant's renderer: a preview shows exactly what applicants see.
        self.render = render
        # The "/" menu of the person whose roles change follows at once.
        self.menus = menus

    async def _admin(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> tuple[int, Tr] | None:
        """The admin's id and language, or None after telling a non-admin no."""
        user = update.effective_user
        if user is None:
            return None
        tr = await self.people.tr(user.id, user.language_code)
        if not await self.admin.is_admin(user.id):
            await self._only_admins(ctx, user.id, tr)
            return None
        if await self.people.staff_seen(user.id, user.language_code):
            await self.menus.refresh(ctx.bot, user.id)  # in the language now theirs
        return user.id, tr

    async def _only_admins(self, ctx: ContextTypes.DEFAULT_TYPE, user_id: int, tr: Tr) -> None:
        await send(ctx.bot, user_id, tr.gettext("This is only for admins."))

    async def grant(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        user_id, role, label = _role_args(ctx.args or [])
        if user_id is None or not self.admin.is_role(role):
            await send(
                ctx.bot,
                actor,
                _(
                    "Usage: /grant USER_ID ROLE [region codes] [name], where ROLE is caseworker, supervisor, partner or admin. A region code is 6 digits (653222), or its first 2 or 4 digits for everything under it; none: every region."
                )
                + "\n"
                + _(
                    "For a partner, its kind of body may follow the region codes: {kinds}. For example: /grant 7001 partner 653222 civil affairs Hotan County Civil Affairs Bureau"
                ).format(kinds=", ".join(body_kind_text(tr, k) for k in BODY_KINDS)),
            )
            return
        regions, label = _regions_first(label) if role != "admin" else (None, label)
        kind = None
        if role == "partner":
            readers = [self.people.i18n.tr(lang) for lang in self.people.i18n.languages]
            kind, rest = read_body_kind(readers, (label or "").split())
            label = " ".join(rest) or None
        try:
            new = await self.admin.grant(actor, user_id, role, label, regions, kind)
        except NotAdmin:  # revoked since the check above
            await self._only_admins(ctx, actor, tr)
            return
        text = (
            _("{user} is now {role}.") if new else _("{user} already was {role}; details updated.")
        ).format(user=user_id, role=role)
        if regions:
            text += "\n" + tr.labelled(_("Region"), ", ".join(sorted(set(regions))))
        if kind:
            # The kind is read off the front of the words: say how they were split.
            text += "\n" + tr.labelled(_("Kind of body"), body_kind_text(tr, kind))
            if label:
                text += "\n" + tr.labelled(_("Shown as"), HTML.esc(strip_bidi(label)))
        await send(ctx.bot, actor, text)
        await self.menus.refresh(ctx.bot, user_id)

    async def revoke(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        user_id, role, _label = _role_args(ctx.args or [])
        if user_id is None or not self.admin.is_role(role):
            await send(ctx.bot, actor, _("Usage: /revoke USER_ID ROLE"))
            return
        try:
            removed = await self.admin.revoke(actor, user_id, role)
        except NotAdmin:
            await self._only_admins(ctx, actor, tr)
            return
        text = (
            _("{user} is no longer {role}.")
            if removed
            else _("{user} did not have the role {role}.")
        )
        await send(ctx.bot, actor, text.format(user=user_id, role=role))
        if removed:
            await self.menus.refresh(ctx.bot, user_id)

    async def roles(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        _ = tr.gettext
        try:
            grants = await self.admin.grants(actor)
        except NotAdmin:
            await self._only_admins(ctx, actor, tr)
            return
        if not grants:
            await send(ctx.bot, actor, _("No roles are granted yet."))
            return
        lines = ["<b>" + _("Roles") + "</b>"]
        for g in grants:
            line = f"• {g.user_id} · {g.role}"
            if g.regions:  # none: every region
                line += " · " + tr.labelled(_("Region"), ", ".join(g.regions))
            if g.label:
                line += " · " + HTML.esc(strip_bidi(g.label))
            if g.kind:
                line += " · " + HTML.esc(body_kind_text(tr, g.kind))
            if g.from_config:
                line += " · " + _("(from INTAKE_ADMIN_IDS)")
            lines.append(line)
        await send(ctx.bot, actor, "\n".join(lines))

    # -- flows ---------------------------------------------------------------------------

    async def export(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        flow, source = await self.flows.export(actor)
        caption = (
            tr.gettext(
                "The current flow: {id}, version {version}. Edit it and send it back to me as a file to change the interview."
            ).format(id=flow.id, version=flow.version)
            + "\n"
            + tr.gettext("How to write it: docs/flow-format.md in the bot's code.")
        )
        await ctx.bot.send_document(
            actor,
            document=source.encode("utf-8"),
            filename=f"{flow.id}-v{flow.version}.yaml",
            caption=caption,
        )

    async def upload(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """A .yaml file sent to the bot: only an admin's is read at all."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.document is None:
            return
        tr = await self.people.tr(user.id, user.language_code)
        _ = tr.gettext
        if not await self.flows.is_admin(user.id):
            await send(
                ctx.bot,
                user.id,
                _("Only admins can change the interview. Nothing was read from that file."),
            )
            return
        doc = message.document
        if self.flows.too_large(doc.file_size):
            await send(
                ctx.bot,
                user.id,
                _(
                    "That file is too large for a flow (at most {size} KB). Nothing was read."
                ).format(size=tr.count(MAX_FILE_BYTES // 1024)),
            )
            return
        try:
            data = bytes(await (await doc.get_file()).download_as_bytearray())
            checked = await self.flows.check(user.id, data)
        except FlowError as err:
            lines = ["⚠️ <b>" + _("The file has problems; nothing was published:") + "</b>"]
            lines += ["• " + HTML.esc(p.render(_)) for p in err.problems[:40]]
            if len(err.problems) > 40:
                lines.append(_("…and {n} more.").format(n=len(err.problems) - 40))
            for chunk in split_message("\n".join(lines)):
                await send(ctx.bot, user.id, chunk)
            return
        except CheckStopped as stopped:
            await send(ctx.bot, user.id, "⚠️ " + HTML.esc(stopped.render(_)))
            return
        except TelegramError:
            await send(ctx.bot, user.id, _("I could not download that file. Please send it again."))
            return
        await send(
            ctx.bot, user.id, self.summary(tr, checked), self.upload_markup(tr, checked.upload_id)
        )

    def summary(self, tr: Tr, checked: Checked) -> str:
        _ = tr.gettext
        flow = checked.flow
        questions = sum(1 for s in flow.steps if s.asks_input)
        lines = [
            tr.sentences(
                "✅ <b>" + _("The file is valid.") + "</b>",
                _("Flow {id}: {n} questions; languages {languages}.").format(
                    id=HTML.esc(flow.id), n=tr.count(questions), languages=tr.join(flow.languages)
                ),
            )
        ]
        if checked.current is None or checked.changes is None:
            lines.append(
                _("This is a new flow: publishing it makes it the interview new applicants get.")
            )
        else:
            c = checked.changes
            lines.append(
                _("Compared with version {version}, the current one:").format(
                    version=checked.current.version
                )
            )
            if c.empty:
                lines.append("• " + _("no changes"))
            for label, items in (
                (_("questions added"), c.added),
                (_("questions removed"), c.removed),
                (_("questions changed"), c.changed),
                (_("languages added"), c.languages_added),
                (_("languages removed"), c.languages_removed),
            ):
                if items:
                    lines.append("• " + tr.labelled(label, HTML.esc(tr.join(items))))
            if c.rules_changed:
                lines.append("• " + _("eligibility, exclusion or priority rules changed"))
            lines.append(
                tr.ngettext(
                    "{n} applicant is in the middle of version {version}; they will finish on it.",
                    "{n} applicants are in the middle of version {version}; they will finish on it.",
                    checked.drafts_on_current,
                ).format(n=checked.drafts_on_current, version=checked.current.version)
            )
        return "\n".join(lines)

    def upload_markup(self, tr: Tr, upload_id: int) -> Keyboard:
        _ = tr.gettext
        return Keyboard(
            [
                [button("🚀 " + _("Publish"), flow_data(FlowOp.PUBLISH, upload_id))],
                [button("🧪 " + _("Try it"), flow_data(FlowOp.TRY, upload_id))],
            ]
        )

    async def versions(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        await self._send_versions(ctx, actor, tr)

    async def _send_versions(self, ctx: ContextTypes.DEFAULT_TYPE, actor: int, tr: Tr) -> None:
        _ = tr.gettext
        rows = await self.flows.versions(actor)
        lines = ["<b>" + _("Flow versions") + "</b>"]
        keys = []
        for v in rows:
            if v.published_by is None:
                by = _("command line")
            else:
                by = HTML.esc(await self.flows.publisher(v.published_by) or _("an admin"))
            line = tr.ngettext(
                "{id} version {version} · published {when} by {by} · {n} intake",
                "{id} version {version} · published {when} by {by} · {n} intakes",
                v.intakes,
            ).format(
                id=HTML.esc(v.flow_id),
                version=v.version,
                when=tr.datetime(v.published_at),
                by=by,
                n=v.intakes,
            )
            if v.is_active:
                line = "▶️ " + line + " · <b>" + _("in use") + "</b>"
            elif v.is_current:
                line = "• " + line + " · " + _("current of its flow")
            else:
                line = "• " + line
                keys.append(
                    [
                        button(
                            "↩️ "
                            + _("Make {id} version {version} current").format(
                                id=v.flow_id, version=v.version
                            ),
                            flow_data(FlowOp.CONFIRM_ROLL_BACK, v.rowid),
                        )
                    ]
                )
            lines.append(line)
        await send(ctx.bot, actor, "\n".join(lines), Keyboard(keys) if keys else None)

    async def on_button(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        tr = await self.people.tr(user.id, user.language_code)
        _ = tr.gettext
        tap = read_flow(query.data)
        if tap is None or not await self.flows.is_admin(user.id):
            await acknowledge(query, _("This is only for admins."))
            return
        await acknowledge(query)
        message = query.message if isinstance(query.message, Message) else None
        try:
            if tap.op is FlowOp.PUBLISH:
                flow = await self.flows.publish(
                    user.id, tap.target, user.full_name, user.language_code
                )
                await edit_markup(message, None)
                await send(
                    ctx.bot,
                    user.id,
                    _(
                        "Published {id} version {version}. New applicants get it now; those in the middle finish on their version."
                    ).format(id=HTML.esc(flow.id), version=flow.version),
                )
            elif tap.op is FlowOp.TRY:
                turn = await self.interview.start_preview(
                    Applicant(user.id, user.id, user.language_code), tap.target
                )
                await send(
                    ctx.bot,
                    user.id,
                    _(
                        "Preview: you go through the interview as an applicant would. Nothing is stored as an intake. Send /cancel to stop."
                    ),
                )
                await self.render(update, ctx, turn)
            elif tap.op is FlowOp.CONFIRM_ROLL_BACK:
                flow_id, version = await self.flows.version_at(user.id, tap.target)
                await send(
                    ctx.bot,
                    user.id,
                    _(
                        "Roll back {id} to version {version}? New applicants will get that version; those in the middle finish on theirs."
                    ).format(id=HTML.esc(flow_id), version=version),
                    Keyboard(
                        [
                            [
                                button(
                                    "↩️ " + _("Yes, roll back"),
                                    flow_data(FlowOp.ROLL_BACK, tap.target),
                                )
                            ],
                            [
                                button(
                                    _("No, keep the current one"),
                                    flow_data(FlowOp.KEEP_CURRENT, tap.target),
                                )
                            ],
                        ]
                    ),
                )
            elif tap.op is FlowOp.KEEP_CURRENT:
                await edit_markup(message, None)
                await send(ctx.bot, user.id, _("Nothing was changed."))
            elif tap.op is FlowOp.ROLL_BACK:
                flow_id, version = await self.flows.rollback(user.id, tap.target)
                await edit_markup(message, None)
                await send(
                    ctx.bot,
                    user.id,
                    _("{id} version {version} is current again. New applicants get it now.").format(
                        id=HTML.esc(flow_id), version=version
                    ),
                )
            else:
                raise FlowNotFound(str(tap.op))
        except FlowNotFound:
            await send(ctx.bot, user.id, _("That file or version no longer exists."))
        except NotAdmin:
            await send(ctx.bot, user.id, _("This is only for admins."))

    # -- statistics and settings ------------------------------------------------------

    async def stats(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if user is None:
            return
        tr = await self.people.tr(user.id, user.language_code)
        try:
            figures = await self.admin.statistics(user.id)
        except NotStaff:
            await send(ctx.bot, user.id, tr.gettext("This is only for caseworkers and admins."))
            return
        text = stats.render(tr, HTML, figures)
        for chunk in split_message(text):
            await send(ctx.bot, user.id, chunk)
        await self._chart(ctx, user.id, tr, figures)

    async def _chart(
        self, ctx: ContextTypes.DEFAULT_TYPE, chat_id: int, tr: Tr, figures: stats.Figures
    ) -> None:
        """The same figures drawn (bot/charts.py), as a picture after the text: drawn in a
        worker thread, so the bot goes on answering others meanwhile."""
        if not figures.sent:
            return  # nothing to draw: the text said so
        chart = charts.build(tr, figures)
        png = await asyncio.to_thread(charts.png, chart)
        try:
            await ctx.bot.send_photo(chat_id, photo=png, caption=chart.title)
        except TelegramError:
            log.warning("the chart of /stats could not be sent", exc_info=True)

    async def expiry(self, update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        who = await self._admin(update, ctx)
        if who is None:
            return
        actor, tr = who
        days = as_int(ctx.args[0]) if ctx.args else None
        try:
            await self._expiry(ctx, actor, tr, days)
        except NotAdmin:
            await self._only_admins(ctx, actor, tr)

    async def _expiry(
        self, ctx: ContextTypes.DEFAULT_TYPE, actor: int, tr: Tr, days: int | None
    ) -> None:
        _ = tr.gettext
        if days is None:
            current = await self.admin.draft_days(actor)
            await send(
                ctx.bot,
                actor,
                tr.ngettext(
                    "Unfinished applications are closed after {n} day without answers. To change it: /expiry DAYS",
                    "Unfinished applications are closed after {n} days without answers. To change it: /expiry DAYS",
                    current,
                ).format(n=tr.count(current)),
            )
            return
        if not self.admin.fits_draft_days(days):
            low, high = DRAFT_DAYS
            await send(
                ctx.bot,
                actor,
                _("Please give a number of days from {min} to {max}.").format(
                    min=tr.count(low), max=tr.count(high)
                ),
            )
            return
        await self.admin.set_draft_days(actor, days)
        await send(
            ctx.bot,
            actor,
            tr.ngettext(
                "Unfinished applications are now closed after {n} day without answers.",
                "Unfinished applications are now closed after {n} days without answers.",
                days,
            ).format(n=tr.count(days)),
        )


def build_handlers(
    people: People,
    admin: Administration,
    flows: FlowAdmin,
    interview: Interview,
    render: Render,
    menus: CommandMenus,
) -> list[BaseHandler]:
    h = AdminHandlers(people, admin, flows, interview, render, menus)
    private = filters.ChatType.PRIVATE
    yaml_file = filters.Document.FileExtension("yaml") | filters.Document.FileExtension("yml")
    return [
        CommandHandler("grant", h.grant, filters=private),
        CommandHandler("revoke", h.revoke, filters=private),
        CommandHandler("roles", h.roles, filters=private),
        CommandHandler("flow", h.export, filters=private),
        CommandHandler("flows", h.versions, filters=private),
        CommandHandler("stats", h.stats, filters=private),
        CommandHandler("expiry", h.expiry, filters=private),
        MessageHandler(private & yaml_file, h.upload),
        CallbackQueryHandler(h.on_button, pattern=PATTERN),
    ]


def _role_args(args: list[str]) -> tuple[int | None, str, str | None]:
    """``USER_ID ROLE [label ...]`` of /grant and /revoke; the role in lower case."""
    user_id = as_int(args[0]) if args else None
    role = args[1].lower() if len(args) > 1 else ""
    label = clean_text(" ".join(args[2:])) or None
    return user_id, role, label


def _regions_first(label: str | None) -> tuple[list[str] | None, str | None]:
    """/grant's ``[region ...] [name]``: the division codes that open it (653222 6532 …),
    then the name; no code: None (a new role covers every region, a held one keeps its)."""
    words = (label or "").split()
    codes = []
    while words and is_code(words[0]):
        codes.append(words.pop(0))
    return (codes or None), (" ".join(words) or None)
