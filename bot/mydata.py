"""A person's rights over what the bot holds about them: a copy to keep, and erasure.

PIPL gives people the right to see and copy their personal information; ``export_text``
is that copy, in their language, with protected answers opened for them. A draft is
erased at once on request; a sent intake is part of a case file, so erasing it is a
request a caseworker completes or refuses (``Casework.request_deletion``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.casework.checkins import choice_text
from bot.casework.measure_terms import OURSELVES_NAME, STATE_FOR_APPLICANT
from bot.casework.plans import kind_name
from bot.casework.replies import decode, piece_text
from bot.flow.model import Flow
from bot.flow.values import strip_bidi
from bot.i18n import Tr, language_name
from bot.i18n_marks import N_
from bot.messages import PLAIN, answer_text, status_name
from bot.store import Store
from bot.store.casework import Case
from bot.store.files import FileRow
from bot.store.flows import FlowNotFound


@dataclass(frozen=True)
class Deletable:
    """What /delete offers someone: their draft, erased at once; else the sent
    applications still holding their data, whose erasure a caseworker completes."""

    draft_id: int | None = None
    sent: tuple[Case, ...] = ()

    @property
    def requestable(self) -> tuple[Case, ...]:
        """The sent applications whose erasure has not been asked for yet."""
        return tuple(c for c in self.sent if c.deletion_requested_at is None)


class MyData:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def export(self, tr: Tr, user_id: int) -> str:
        """Everything held about ``user_id``, as a text file in ``tr``'s language."""
        return await export_text(self.store, tr, user_id)

    async def deletable(self, user_id: int) -> Deletable:
        draft = (await self.store.intakes.load_for_applicant(user_id)).draft
        if draft is not None and not draft.is_preview:
            return Deletable(draft_id=draft.id)
        sent = []
        for intake in await self.store.intakes.for_applicant(user_id):
            case = await self.store.cases.get(intake.id)
            if case is not None and case.ref and case.anonymised_at is None:
                sent.append(case)
        return Deletable(sent=tuple(sent))

    async def erase_draft(self, user_id: int, intake_id: int, update_id: int) -> bool:
        """Erase the draft ``intake_id`` of ``user_id`` with every answer in it; False when
        it is not their draft in progress (or this update already erased it)."""
        draft = (await self.store.intakes.load_for_applicant(user_id)).draft
        if draft is None or draft.is_preview or draft.id != intake_id:
            return False
        if not await self.store.intakes.discard_draft(
            draft, user_id, "applicant_deleted", update_id
        ):
            return False
        await self.store.erase_files()  # the photos, files and voice notes it held
        await self.store.db.checkpoint()  # the erased answers leave the WAL too
        return True


def _consent_text(flow: Flow | None, tr: Tr, consent: dict[str, Any]) -> str:
    """What was agreed to, as the question asked it in the reader's language (a step id
    means nothing to them); the id only when the flow no longer has that step."""
    step_id = str(consent["step_id"])
    if flow is None or not flow.has_step(step_id):
        return step_id
    return " ".join(flow.pick(flow.step(step_id).text, flow.language_for(tr.lang)).split())


_FILE_KINDS = {
    "photo": N_("photo"),
    "document": N_("file"),
    "voice": N_("voice message"),
    "audio": N_("audio"),
    "video": N_("video"),
}


def _files_lines(tr: Tr, flow: Flow | None, rows: list[FileRow]) -> list[str]:
    """The files we keep of an application: kind, size, date, and the question each answers."""
    if not rows:
        return []
    _ = tr.gettext
    lines = ["", _("Files you sent (kept by us, encrypted):")]
    for row in rows:
        kind = _(_FILE_KINDS.get(row.kind, _FILE_KINDS["document"]))
        parts = [kind]
        if row.size:
            parts.append(tr.file_size(row.size))
        if row.duration is not None and row.kind == "voice":
            parts.append(tr.ltr(f"{row.duration // 60}:{row.duration % 60:02d}"))
        parts.append(tr.datetime(row.created_at))
        if row.step and flow is not None and flow.has_step(row.step):
            lang = flow.language_for(tr.lang)
            question = " ".join(flow.pick(flow.step(row.step).text, lang).split())
            parts.append(_("for the question: {question}").format(question=question))
        elif row.step is None:
            parts.append(_("in an answer to a caseworker's question"))
        if row.lost:
            parts.append(_("Telegram did not give it to us"))
        elif row.address is None:
            parts.append(_("still being fetched from Telegram"))
        lines.append("- " + ", ".join(parts))
        if row.transcript:
            lines.append("  " + _("Machine transcription, may be wrong:") + " " + row.transcript)
    return lines


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
        lines += _files_lines(tr, flow, await store.file_records.of_intakes([intake.id]))
        consents = await store.intakes.consents(intake.id)
        if consents:
            lines.append("")
            lines.append(_("Consents you gave:"))
            for c in consents:
                lines.append(f"- {tr.datetime(c['agreed_at'])}: {_consent_text(flow, tr, c)}")
        talk = await store.cases.conversation(intake.id)
        if talk:
            lines.append("")
            lines.append(_("Messages about this application:"))
            names = {
                "question": _("question"),
                "reply": _("reply"),
                "correction": _("correction asked for"),
                "checkin_note": _("check-in, in your words"),
            }
            for entry in talk:
                if entry.kind in names:
                    said = strip_bidi(entry.body)
                    if entry.kind in (
                        "reply",
                        "checkin_note",
                    ):  # words, or a file sent in an answer
                        said = piece_text(tr, decode(entry.body))
                    lines.append(f"- {tr.datetime(entry.at)} {names[entry.kind]}: {said}")
        checkins = await store.checkins.of_intake(intake.id)
        if checkins:
            lines.append("")
            lines.append(_("Check-ins after the decision (how things are):"))
            for c in checkins:
                if c.answer:
                    state = _("answered: {answer}").format(answer=choice_text(tr, c.answer))
                elif c.stopped:
                    state = _("stopped at your request")
                elif c.sent_at:
                    state = _("sent, not answered")
                else:
                    state = _("planned")
                lines.append(f"- {tr.date(c.due_at[:10])}: {state}")
        measures = [m for m in await store.measures.of_intake(intake.id) if m.sent_at]
        if measures:
            lines.append("")
            lines.append(_("The help planned for your family:"))
            labels = {g.user_id: g.label for g in await store.roles.grants("partner")}
            for m in measures:
                who = _(OURSELVES_NAME) if m.partner_id is None else labels.get(m.partner_id)
                state = _(STATE_FOR_APPLICANT.get(m.state, m.state))
                lines.append(
                    f"- {kind_name(tr, flow, m)} — {strip_bidi(who or '—')}: {state}"
                    f" ({tr.date(m.due_on)})"
                )
                if m.reason:
                    lines.append(f"  {strip_bidi(m.reason)}")
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
