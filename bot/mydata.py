"""Everything the bot holds about one person, as a file they can read and keep.

PIPL gives people the right to see and copy their personal information; this
is that copy, in their language, with protected answers opened for them.
"""

from __future__ import annotations

from bot.flow.model import Flow
from bot.flow.values import strip_bidi
from bot.i18n import Tr, language_name
from bot.messages import PLAIN, answer_text, status_name
from bot.store import Store
from bot.store.flows import FlowNotFound


async def export_text(store: Store, tr: Tr, user_id: int) -> str:
    _ = tr.gettext
    lines = [_("Your data held by the judicial assistance bot"), "=" * 40, ""]
    lines.append(_("Telegram user id: {id}").format(id=user_id))
    chosen = await store.users.language(user_id)
    if chosen:
        lines.append(_("Language you chose: {language}").format(language=language_name(chosen)))
    intakes = await store.intakes.for_applicant(user_id)
    if not intakes:
        lines += ["", _("We hold no application from you.")]
    for intake in intakes:
        lines.append("")
        title = intake.ref or _("application not sent yet")
        lines.append(f"## {title} — {status_name(tr, intake.status)}")
        lines.append(_("Started: {date}").format(date=tr.datetime(intake.created_at)))
        if intake.submitted_at:
            lines.append(_("Sent: {date}").format(date=tr.datetime(intake.submitted_at)))
        try:
            flow: Flow | None = await store.flows.get(intake.flow_id, intake.flow_version)
        except FlowNotFound:
            flow = None
        if flow is not None and intake.state.answers:
            lang = flow.language_for(tr.lang)
            lines.append("")
            lines.append(_("Your answers:"))
            for step in flow.steps:
                if step.id in intake.state.answers and step.asks_input:
                    value = answer_text(
                        tr, flow, lang, step, intake.state.answers[step.id], masked=False
                    )
                    lines.append(f"- {flow.pick(step.text, lang)}")
                    lines.append(f"  {value}")
        consents = await store.intakes.consents(intake.id)
        if consents:
            lines.append("")
            lines.append(_("Consents you gave:"))
            for c in consents:
                lines.append(f"- {c['step_id']}: {tr.datetime(c['agreed_at'])}")
        talk = await store.cases.conversation(intake.id)
        if talk:
            lines.append("")
            lines.append(_("Messages about this application:"))
            names = {"question": _("question"), "reply": _("reply")}
            for entry in talk:
                if entry.kind in names:
                    lines.append(
                        f"- {tr.datetime(entry.at)} {names[entry.kind]}: {strip_bidi(entry.body)}"
                    )
        referrals = await store.cases.referrals(intake.id)
        if referrals:
            lines.append("")
            n = len(referrals)
            lines.append(
                tr.ngettext(
                    "Referred to the agriculture department once.",
                    "Referred to the agriculture department {n} times.",
                    n,
                ).format(n=n)
            )
    lines += ["", _("To delete your data, send /delete in the chat.")]
    return PLAIN.esc("\n".join(lines)) + "\n"
