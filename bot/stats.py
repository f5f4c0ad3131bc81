"""Statistics for admins and caseworkers: the figures a campaign reports upward.

The same text serves /stats in the chat (HTML) and ``intake-bot stats`` (plain).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.casework.checkins import Choice, choice_text
from bot.casework.measure_terms import (
    OURSELVES,
    OURSELVES_NAME,
    MeasureState,
    body_kind_text,
    state_text,
)
from bot.casework.plans import kind_label
from bot.casework.terms import fen_to_yuan
from bot.flow.model import Flow
from bot.i18n import Tr
from bot.messages import Fmt, status_name
from bot.regions import EVERYWHERE, Scope, region_text
from bot.store import Store
from bot.store.measures import MeasureCounts
from bot.store.stats import RegionCount

STATUS_ORDER = (
    "draft",
    "submitted",
    "in_review",
    "awaiting_applicant",
    "approved",
    "declined",
    "withdrawn",
    "expired",
)


@dataclass(frozen=True)
class Figures:
    flow: Flow
    by_status: dict[str, int]
    sent: int  # ever submitted (drafts, expired drafts and withdrawn drafts never were)
    by_week: list[tuple[str, int]]
    by_step: list[tuple[str, dict[str, int]]]  # (step id, value -> count) for steps tagged stats
    approved_fen: int
    median_days: float | None
    # A partner's clue is not an application: its figures are apart.
    clues_sent: int = 0
    clues_by_status: dict[str, int] | None = None
    clues_approved_fen: int = 0
    # Applications by region; shown when there are several (someone who covers one
    # county sees that county's figures above, and no breakdown).
    by_region: tuple[RegionCount, ...] = ()
    # Answers to the return visits after decisions (bot/casework/checkins.py), by choice.
    checkins: dict[str, int] = field(default_factory=dict)
    # For the chart (bot/charts.py): each week's applications by where they stand now,
    # and the amount approved (fen) in each month of decision.
    by_week_status: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    approved_by_month: list[tuple[str, int]] = field(default_factory=list)
    # The households' plans (bot/casework/plans.py): measures by kind, body and state.
    measures: MeasureCounts | None = None
    # partner id -> (label, kind of body)
    bodies: dict[int, tuple[str, str | None]] = field(default_factory=dict)


async def figures(store: Store, scope: Scope = EVERYWHERE) -> Figures:
    """The figures of the regions ``scope`` covers (a county's caseworker: that county)."""
    flow = await store.flows.active()
    st = store.stats
    by_step = [(s.id, await st.by_answer(s.id, scope=scope)) for s in flow.tagged("stats")]
    return Figures(
        flow=flow,
        by_status=await st.by_status(scope=scope),
        sent=await st.sent_count(scope=scope),
        by_week=await st.by_week(scope=scope),
        by_step=by_step,
        approved_fen=await st.approved_total_fen(scope=scope),
        median_days=await st.median_days_to_decision(scope=scope),
        clues_sent=await st.sent_count(clues=True, scope=scope),
        clues_by_status=await st.by_status(clues=True, scope=scope),
        clues_approved_fen=await st.approved_total_fen(clues=True, scope=scope),
        by_region=tuple(await st.by_region(scope=scope)),
        checkins=await store.checkins.counts(scope),
        by_week_status=await st.by_week_status(scope=scope),
        approved_by_month=await st.approved_by_month(scope=scope),
        measures=await store.measures.counts(scope, today=dt.date.today().isoformat()),
        bodies={
            g.user_id: (g.label or str(g.user_id), g.kind)
            for g in await store.roles.grants("partner")
        },
    )


def render(tr: Tr, fmt: Fmt, f: Figures) -> str:
    _ = tr.gettext
    flow = f.flow
    lang = flow.language_for(tr.lang)
    lines = [fmt.b(_("Statistics"))]
    lines.append(_("Applications sent: {n}").format(n=tr.number(f.sent)))
    if f.by_status:
        lines.append("")
        lines.append(fmt.b(_("By status")))
    for status in STATUS_ORDER:
        if f.by_status.get(status):
            lines.append(
                "• " + tr.labelled(fmt.esc(status_name(tr, status)), tr.number(f.by_status[status]))
            )
    if len(f.by_region) > 1:
        lines.append("")
        lines.append(fmt.b(_("By region")))
        for r in f.by_region:
            figures = _("sent: {sent} · approved: {approved} · {amount}").format(
                sent=tr.number(r.sent),
                approved=tr.number(r.approved),
                amount=tr.money(fen_to_yuan(r.approved_fen)),
            )
            lines.append("• " + tr.labelled(fmt.esc(region_text(tr, flow, r.region)), figures))
    if f.by_week:
        lines.append("")
        lines.append(fmt.b(_("Sent per week")))
        for week, n in f.by_week:
            lines.append("• " + _("week of {date}: {n}").format(date=tr.date(week), n=tr.number(n)))
    for step_id, counts in f.by_step:
        if not counts or not flow.has_step(step_id):
            continue
        step = flow.step(step_id)
        lines.append("")
        lines.append(fmt.b(flow.pick(step.text, lang)))
        for choice in step.choices:
            if counts.get(choice.value):
                label = flow.pick(choice.label, lang)
                lines.append("• " + tr.labelled(fmt.esc(label), tr.number(counts[choice.value])))
    lines.append("")
    lines.append(_("Total approved: {amount}").format(amount=tr.money(fen_to_yuan(f.approved_fen))))
    if f.median_days is None:
        lines.append(_("No application has been decided yet."))
    else:
        days = round(f.median_days, 1)
        lines.append(
            tr.ngettext(
                "Median time from sending to decision: {days} day",
                "Median time from sending to decision: {days} days",
                round(days),
            ).format(days=tr.count(days))
        )
    if f.checkins:
        lines.append("")
        lines.append(fmt.b(_("Check-in answers after the decision")))
        for choice in Choice:
            if f.checkins.get(choice):
                lines.append(
                    "• "
                    + tr.labelled(fmt.esc(choice_text(tr, choice)), tr.number(f.checkins[choice]))
                )
    if f.measures is not None and f.measures.by_state:
        lines += _measures(tr, fmt, f, f.measures)
    if f.clues_sent:
        lines.append("")
        lines.append(fmt.b(_("Clues from the agriculture department")))
        lines.append(_("Clues sent: {n}").format(n=tr.number(f.clues_sent)))
        for status in STATUS_ORDER:
            n = (f.clues_by_status or {}).get(status)
            if n:
                lines.append(f"• {fmt.esc(status_name(tr, status))}: {tr.number(n)}")
        if f.clues_approved_fen:
            lines.append(
                _("Approved for them: {amount}").format(
                    amount=tr.money(fen_to_yuan(f.clues_approved_fen))
                )
            )
    return "\n".join(lines)


def _measures(tr: Tr, fmt: Fmt, f: Figures, m: MeasureCounts) -> list[str]:
    """The plans' measures: by state, by kind of help, by body; and those overdue."""
    _ = tr.gettext
    total = sum(m.by_state.values())
    lines = ["", fmt.b(_("Help measures in the households' plans: {n}").format(n=tr.number(total)))]
    for state in MeasureState:
        if m.by_state.get(state):
            lines.append(
                "• " + tr.labelled(fmt.esc(state_text(tr, state)), tr.number(m.by_state[state]))
            )
    lines.append(
        tr.ngettext(
            "Past their due date and not finished: {n}",
            "Past their due date and not finished: {n}",
            m.overdue,
        ).format(n=tr.number(m.overdue))
    )
    lines += ["", fmt.b(_("Measures by kind of help"))]
    for kind, n in sorted(m.by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append("• " + tr.labelled(fmt.esc(kind_label(tr, f.flow, kind)), tr.number(n)))
    lines += ["", fmt.b(_("Measures by who is responsible"))]
    for body, n in sorted(m.by_body.items(), key=lambda kv: (-kv[1], kv[0])):
        label, kind = f.bodies.get(body, (str(body), None))
        name = _(OURSELVES_NAME) if body == OURSELVES else label
        if body != OURSELVES and kind:
            name += f" ({body_kind_text(tr, kind)})"
        lines.append("• " + tr.labelled(fmt.esc(name), tr.number(n)))
    return lines
