"""What staff read: queue lines and the intake card, in the reader's language.

A caseworker with forty intakes decides from these texts, so the card puts
what decides first (status, priority and why, the pre-screen reasons), then
every answer, then referrals and history. Markup is the channel's (``Fmt``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.casework.checkins import choice_text
from bot.casework.deadlines import Due, due_text
from bot.casework.decisions import Card, Filed
from bot.casework.facts import facts_of
from bot.casework.measure_terms import OURSELVES_NAME, state_text
from bot.casework.plans import kind_name
from bot.casework.replies import decode, piece_text
from bot.casework.terms import (
    BY_APPLICANT,
    CLUE_FIELDS,
    decline_text,
    event_name,
    fen_to_yuan,
    outcome_text,
    referral_status,
)
from bot.channels import WEB
from bot.flow.model import Flow
from bot.flow.values import mask, strip_bidi
from bot.i18n import Tr, join_list
from bot.i18n_marks import N_
from bot.messages import Fmt, answer_text, split_message, status_name, verdict_lines
from bot.store.casework import Case

# Where the applicant reads "waiting for your answer", the caseworker waits for the applicant.
_STAFF_STATUS = {"awaiting_applicant": N_("waiting for the applicant's answer")}


def staff_status(tr: Tr, status: str) -> str:
    """A status as a caseworker reads it."""
    if status in _STAFF_STATUS:
        return tr.gettext(_STAFF_STATUS[status])
    return status_name(tr, status)


def _days(since: str | None, today: dt.date | None = None) -> int:
    if not since:
        return 0
    day = dt.date.fromisoformat(since[:10])
    return max(0, ((today or dt.date.today()) - day).days)


def applicant_name(case: Case, flow: Flow) -> str:
    if case.is_clue:
        return strip_bidi(str(case.clue.get("who") or ""))
    for step in flow.tagged("name"):
        value = case.state.answers.get(step.id)
        if value:
            return strip_bidi(str(value))
    return ""


def region(case: Case, flow: Flow, lang: str | None = None) -> str:
    """Where they live, from the steps tagged ``region``; a choice (the county question that
    routes by region) by its label in ``lang``, not its code."""
    if case.is_clue:
        return strip_bidi(str(case.clue.get("where") or ""))
    parts = []
    for s in flow.tagged("region"):
        value = case.state.answers.get(s.id)
        if not value:
            continue
        choice = s.choice(value) if isinstance(value, str) else None
        lang = lang or flow.languages[0]
        parts.append(flow.pick(choice.label, lang) if choice is not None else str(value))
    return strip_bidi(" ".join(parts))


def age_text(tr: Tr, days: int) -> str:
    if days == 0:
        return tr.gettext("today")
    return tr.ngettext("{n} day", "{n} days", days).format(n=days)


def priority_reasons(tr: Tr, case: Case, flow: Flow) -> list[str]:
    lang = flow.language_for(tr.lang)
    rules = {r.id: r for r in flow.priority}
    if case.screening is None:
        return []
    return [
        flow.pick(rules[rid].label, lang) for rid in case.screening.priority_reasons if rid in rules
    ]


def queue_line(
    tr: Tr,
    fmt: Fmt,
    n: int,
    case: Case,
    flow: Flow,
    actor: int,
    due: Due | None = None,
    names: Mapping[int | None, str] | None = None,
) -> str:
    """One intake of the queue; ``due``: its deadline, marked when past or near; with
    ``names`` (a supervisor's), who holds it."""
    _ = tr.gettext
    bits = [f"{n}. " + fmt.b(tr.ltr(case.ref or ""))]
    if case.is_test:
        bits.append("🧪 " + _("test"))
    if case.is_clue:
        bits.append("🔎 " + _("clue"))
    bits.append(age_text(tr, _days(case.submitted_at)))
    bits.append("★" + tr.number(case.priority))
    line = " · ".join(bits)
    if due is not None and (due.overdue or due.soon):
        line += "\n    " + due_text(tr, due)
    reasons = priority_reasons(tr, case, flow)
    detail = [fmt.esc(staff_status(tr, case.status))]
    if case.assignee == actor:
        detail.append(_("claimed by you"))
    elif case.assignee is not None and names and case.assignee in names:
        detail.append(_("held by {name}").format(name=fmt.esc(names[case.assignee])))
    elif case.assignee is not None:
        detail.append(_("claimed by a colleague"))
    if case.proposal_id is not None:
        detail.append("⚖️ " + _("decision waiting for a supervisor"))
    where = region(case, flow, flow.language_for(tr.lang))
    if where:
        detail.append(fmt.esc(where))
    line += "\n    " + " · ".join(detail)
    if reasons:
        line += "\n    " + fmt.esc(join_list(flow.language_for(tr.lang), reasons))
    return line


def card_texts(tr: Tr, fmt: Fmt, card: Card, actor: int) -> list[str]:
    """The intake card, split into messages that fit Telegram's limit."""
    _ = tr.gettext
    case, flow = card.case, card.flow
    lang = flow.language_for(tr.lang)
    out: list[str] = []
    head = fmt.b(tr.ltr(case.ref or ""))
    name = applicant_name(case, flow)
    if name:
        head += " · " + fmt.esc(name)
    if case.is_clue:
        head += " · 🔎 " + _("clue from the agriculture department")
    if case.channel == WEB:  # they read the bot's answers on a web page, not in Telegram
        head += " · 🌐 " + _("web chat")
    out.append(head)
    if case.is_test:
        out.append(
            "🧪 "
            + fmt.b(_("Test application (intake-bot try --save)."))
            + "\n"
            + fmt.esc(_("Nobody applied: nobody is told what is done on it."))
        )
    status = fmt.esc(staff_status(tr, case.status))
    sent = _("sent {age} ago").format(age=age_text(tr, _days(case.submitted_at)))
    if _days(case.submitted_at) == 0:
        sent = _("sent today")
    out.append(_("Status: {status}").format(status=status) + " · " + sent)
    if case.assignee == actor:
        out.append(_("Claimed by you"))
    elif case.assignee is not None:
        out.append(_("Claimed by {name}").format(name=fmt.esc(card.names[case.assignee])))
    else:
        out.append(_("Not claimed yet"))
    if case.deletion_requested_at:
        out.append("🗑 " + fmt.b(_("The applicant asked to delete their data.")))
    if case.anonymised_at:
        out.append(_("The personal data of this application has been erased."))
    if case.status == "approved" and case.amount_fen is not None:
        out.append(_("Approved: {amount}").format(amount=tr.money(fen_to_yuan(case.amount_fen))))
    if case.proposal_id is not None:
        out.append("⚖️ " + fmt.b(_("A decision is waiting for a supervisor's approval.")))
    if case.status == "declined" and case.decision_reason:
        out.append(
            _("Declined: {reason}").format(reason=fmt.esc(decline_text(tr, case.decision_reason)))
        )

    out += decision_lines(tr, fmt, card)

    if case.screening is not None and not case.is_clue:
        rules = {r.id: r for r in flow.priority}
        prio = [
            _("{label} (+{points})").format(
                label=fmt.esc(flow.pick(rules[r].label, lang)), points=tr.count(rules[r].points)
            )
            for r in case.screening.priority_reasons
            if r in rules
        ]
        line = fmt.b(_("Priority {score}").format(score=tr.count(case.priority)))
        if prio:
            # Labels in the flow's language, punctuation in the reader's.
            line = tr.labelled(line, join_list(lang, prio))
        out.append(line)
        out += verdict_lines(tr, fmt, flow, lang, case.screening)

    out.append("")
    out.append(fmt.b("— " + _("Answers") + " —"))
    if case.is_clue:
        for key, label in CLUE_FIELDS:
            if case.clue.get(key):
                out.append(fmt.i(_(label)) + "\n" + fmt.esc(strip_bidi(str(case.clue[key]))))
    for step in flow.steps:
        if not step.asks_input or step.type == "consent" or step.id not in case.state.answers:
            continue
        answer = case.state.answers[step.id]
        if step.type == "id_number" and answer:
            value = tr.ltr(mask(str(answer)))  # shown whole by Reveal only (audited)
        else:
            value = answer_text(tr, flow, lang, step, answer, masked=False)
        line = fmt.i(flow.pick(step.text, lang)) + "\n" + fmt.esc(value)
        heard = (
            card.transcripts.get(str(answer.get("unique"))) if isinstance(answer, dict) else None
        )
        if heard:
            line += "\n" + machine_transcription(tr, fmt, heard)
        out.append(line)

    if card.referrals:
        out.append("")
        out.append(fmt.b("— " + _("Referrals to the agriculture department") + " —"))
        for ref in card.referrals:
            who = card.partners.get(ref.partner_id) or f"#{ref.partner_id}"
            line = "• " + tr.labelled(fmt.esc(who), fmt.esc(referral_status(tr, ref.status)))
            if ref.outcome:
                line += "\n   " + fmt.i(outcome_text(tr, ref.outcome))
            out.append(line)

    if card.measures:
        out.append("")
        out.append(fmt.b("— " + _("Household plan") + " —"))
        for m in card.measures:
            who = (
                tr.gettext(OURSELVES_NAME)
                if m.partner_id is None
                else card.partners.get(m.partner_id) or f"#{m.partner_id}"
            )
            parts = [
                fmt.esc(kind_name(tr, card.flow, m)),
                fmt.esc(who),
                tr.gettext("by {date}").format(date=tr.date(m.due_on)),
                fmt.esc(state_text(tr, m.state)),
            ]
            out.append("• " + " · ".join(parts))

    if card.history:
        out.append("")
        out.append(fmt.b("— " + _("History") + " —"))
        for at, who, kind, text in card.history:
            when = tr.datetime(at)
            if kind == "event":
                out.append(f"{when} · {fmt.esc(event_name(tr, text))}")
            else:
                label = {
                    "question": _("question"),
                    "reply": _("reply"),
                    "note": _("note"),
                    "correction": _("correction asked for"),
                    "checkin": _("check-in answer"),
                    "checkin_note": _("check-in, in their words"),
                }.get(kind, kind)
                author = (
                    _("applicant") if kind in BY_APPLICANT else fmt.esc(card.names.get(who, "—"))
                )
                heard = None
                if kind in ("reply", "checkin_note"):
                    piece = decode(text)
                    text = piece_text(tr, piece)
                    if piece.file is not None:
                        heard = card.transcripts.get(str(piece.file.get("unique")))
                elif kind == "checkin":
                    text = choice_text(tr, text)
                line = f"{when} · {label} ({author}):\n" + fmt.i(strip_bidi(text))
                if heard:
                    line += "\n" + machine_transcription(tr, fmt, heard)
                out.append(line)
    return split_message("\n".join(out))


def decision_lines(tr: Tr, fmt: Fmt, card: Card) -> list[str]:
    """What a decision turns on, at the top of the card: who applied and for whom, age,
    the ID number (masked: Reveal shows it), income per head, the office handling it."""
    _ = tr.gettext
    case, flow = card.case, card.flow
    facts = facts_of(case, flow, flow.language_for(tr.lang))
    out: list[str] = []
    if facts.by_self:
        alone = _("{name}, for themselves").format(name=fmt.esc(facts.for_whom or "—"))
        out.append(tr.labelled(_("Applied by"), alone))
    elif facts.by_self is False:
        who = fmt.esc(facts.applicant or "—")
        if facts.relation:
            who = _("{name} ({relation})").format(name=who, relation=fmt.esc(facts.relation))
        out.append(tr.labelled(_("Applied by"), who))
        if facts.for_whom:
            out.append(tr.labelled(_("For"), fmt.esc(facts.for_whom)))
    if facts.age is not None:
        out.append(tr.labelled(_("Age"), tr.count(facts.age)))
    if facts.id_number is not None and not case.anonymised_at:
        out.append(tr.labelled(_("ID number"), fmt.esc(tr.ltr(mask(facts.id_number)))))
    per_head = facts.income_per_head
    if per_head is not None and facts.income is not None and facts.members:
        out.append(
            tr.labelled(
                _("Income per person"),
                _("{amount} a month ({income} for {members})").format(
                    amount=fmt.b(tr.money(per_head)),
                    income=tr.money(facts.income),
                    members=tr.ngettext("{n} person", "{n} people", facts.members).format(
                        n=tr.count(facts.members)
                    ),
                ),
            )
        )
    if facts.authority:
        out.append(tr.labelled(_("Handled by"), fmt.esc(facts.authority)))
    return out


def machine_transcription(tr: Tr, fmt: Fmt, heard: str) -> str:
    """A voice answer's machine transcription, beside the recording, never instead of it:
    marked as the machine's, for a machine may mishear."""
    label = fmt.i(tr.gettext("Machine transcription, may be wrong:"))
    return label + " " + fmt.esc(strip_bidi(heard))


CAPTION_QUESTION = 200  # of a caption's question, at most (Telegram allows 1024 in all)


def attachment_caption(tr: Tr, card: Card, filed: Filed) -> str:
    """A file sent again to the caseworker, captioned with the intake's reference and the
    question it answers (plain text: a caption is sent without markup)."""
    flow = card.flow
    question = filed.question
    if filed.step_id is not None and flow.has_step(filed.step_id):
        question = flow.pick(flow.step(filed.step_id).text, flow.language_for(tr.lang))
    question = strip_bidi(" ".join(question.split()))
    if len(question) > CAPTION_QUESTION:
        question = question[: CAPTION_QUESTION - 1] + "…"
    caption = str(filed.file.get("caption") or "")
    head = (
        f"{tr.ltr(card.case.ref or '')} · {question}" if question else tr.ltr(card.case.ref or "")
    )
    if caption:
        head += "\n" + strip_bidi(caption)[:CAPTION_QUESTION]
    return head
