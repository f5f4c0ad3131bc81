"""One household, one plan (一户一策): the help measures decided for an intake, tracked to done.

"From blood transfusion to blood making" (输血 → 造血): beyond the payment, the caseworker
who holds an intake builds the household's plan from the needs the applicant chose (the
choices of the flow's step tagged ``needs``) or in their own words; each measure names the
body responsible (the procuratorate itself, 本院, or a registered partner: agriculture,
human resources, civil affairs, ...) and a due date. Sending the plan gives each partner
one card with the decision, what is asked of them and by when, and the least personal data
they need (the steps tagged ``partner``); each partner sees and changes only its own
measures, and a measure not possible says why (sealed). The caseworker who holds the
intake hears of every change through the outbox; the applicant hears when a measure is
done or cannot be done, and reads the whole plan in /status.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from bot.casework.actions import CASEWORKER, PARTNER
from bot.casework.decisions import Decisions
from bot.casework.identity import People
from bot.casework.measure_terms import (
    BODY_KINDS,
    DUE_DAYS,
    OURSELVES,
    OURSELVES_NAME,
    OWN_KIND,
    OWN_KIND_NAME,
    STATE_FOR_APPLICANT,
    MeasureState,
    body_kind_text,
    state_text,
)
from bot.casework.notices import Kind, Notices, partner_summary
from bot.casework.terms import MAX_TYPED, fen_to_yuan, referral_status
from bot.flow.loader import default_flow_source, load_flow_text
from bot.flow.model import Flow, Step
from bot.flow.values import clean_text, strip_bidi
from bot.i18n import Tr
from bot.i18n_marks import N_
from bot.messages import Fmt, status_name
from bot.store import Store
from bot.store.casework import Case, Conflict
from bot.store.measures import Measure
from bot.store.outbox import OutMessage

# What the core waits for from someone building or working on a plan (``pending.kind``).
DRAFT = "pl_draft"  # taps: the kind, the body, the due date of a measure being added
KIND_WORDS = "pl_kind"  # the caseworker types the measure's kind
DUE_WORDS = "pl_due"  # the caseworker types the due date
WHY_WORDS = "pl_why"  # the partner types why a measure is not possible (ref: the measure)
PLAN_WAITS = frozenset({DRAFT, KIND_WORDS, DUE_WORDS, WHY_WORDS})
# Intakes on a page of a partner's /referrals.
PAGE_SIZE = 5
# How far ahead a typed due date may be.
LATEST_DUE = dt.timedelta(days=3 * 366)
# A measure made with the card's "refer" is due in so many days (a caseworker who needs
# another date builds the measure in the plan instead).
REFER_DUE_DAYS = DUE_DAYS[0]
# How the applicant hears of a partner with no label or kind.
SOME_BODY = N_("a department that can help")


def needs_step(flow: Flow) -> Step | None:
    """The step whose choices are the kinds of help a plan is made of (tagged ``needs``).

    A database keeps the copy of the built-in flow it was first given (the store seeds the
    built-in flow only into an empty database), and intakes keep the version they were
    answered on: a copy from before the ``needs`` tag has none. For such a copy, the step
    the built-in flow shipped now tags ``needs`` is taken, when the copy has a step of that
    id whose choices are among its values (the kinds stay the same codes). A flow of the
    admin's own has no such fallback: it declares its needs (docs/flow-format.md)."""
    for step in flow.tagged("needs"):
        if step.choices:
            return step
    shipped = _shipped_needs()
    if shipped is None or flow.id != shipped[0] or not flow.has_step(shipped[1]):
        return None
    step = flow.step(shipped[1])
    values = {c.value for c in step.choices}
    return step if values and values <= shipped[2] else None


@functools.cache
def _shipped_needs() -> tuple[str, str, frozenset[str]] | None:
    """The built-in flow's id, the id of its step tagged ``needs`` and that step's values."""
    shipped = load_flow_text(default_flow_source())
    for step in shipped.tagged("needs"):
        if step.choices:
            return shipped.id, step.id, frozenset(c.value for c in step.choices)
    return None


def kind_name(tr: Tr, flow: Flow | None, m: Measure) -> str:
    """A measure's kind in the reader's language: the need's label, or the words typed."""
    if m.kind is None:
        return strip_bidi(m.kind_text or "") or tr.gettext(OWN_KIND_NAME)
    step = needs_step(flow) if flow is not None else None
    if step is not None:
        lang = flow.language_for(tr.lang) if flow is not None else tr.lang
        for choice in step.choices:
            if choice.value == m.kind:
                return flow.pick(choice.label, lang) if flow is not None else m.kind
    return m.kind


def parse_due(text: str, today: dt.date) -> dt.date | None:
    """A typed due date (2027-03-01, 2027/3/1, 2027.3.1, 2027年3月1日), from today on."""
    cleaned = clean_text(text)
    for sep in ("年", "月", "/", "."):
        cleaned = cleaned.replace(sep, "-")
    cleaned = cleaned.replace("日", "").strip("- ")
    parts = cleaned.split("-")
    if len(parts) != 3 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
        return None
    try:
        due = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None
    if due < today or due > today + LATEST_DUE:
        return None
    return due


@dataclass(frozen=True)
class Suggestion:
    index: int  # the choice's position in the needs step: what a button carries
    label: str
    chosen: bool  # the applicant asked for it


@dataclass(frozen=True)
class PlanView:
    """An intake's plan as its caseworker reads it, and what they may do on it."""

    case: Case
    flow: Flow
    measures: list[Measure]
    bodies: dict[int, str]  # partner id -> name; 0: the procuratorate itself
    holds: bool  # the reader holds the intake: they may add and send
    unsent: int
    # The intake's referrals (one message, one report each), as (partner, status): shown
    # with the plan, so that everything asked of partners is in one place.
    referrals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PartnerCard:
    """What a partner reads of one household: the decision, its measures, who to call."""

    case: Case
    measures: list[Measure]
    text: str


class Plans:
    def __init__(
        self, store: Store, people: People, decisions: Decisions, notices: Notices, fmt: Fmt
    ) -> None:
        self.store = store
        self.people = people
        self.decisions = decisions
        self.notices = notices
        self.fmt = fmt

    # -- reading ---------------------------------------------------------------------

    async def _flow(self, case: Case) -> Flow:
        return await self.store.flows.get(case.flow_id, case.flow_version)

    async def body_names(self, tr: Tr, measures: Sequence[Measure]) -> dict[int, str]:
        """Each body a plan names, as people read it (a partner by its label)."""
        names = {OURSELVES: tr.gettext(OURSELVES_NAME)}
        grants = {g.user_id: g for g in await self.store.roles.grants(PARTNER)}
        for m in measures:
            if m.partner_id is not None and m.partner_id not in names:
                g = grants.get(m.partner_id)
                label = g.label if g is not None and g.label else None
                names[m.partner_id] = strip_bidi(label or await self.people.name_of(m.partner_id))
        return names

    async def view(self, actor: int, intake_id: int, tr: Tr) -> PlanView:
        case = await self.decisions.open_case(actor, intake_id)
        measures = await self.store.measures.of_intake(intake_id)
        labels = {g.user_id: g.label for g in await self.store.roles.grants(PARTNER)}
        referrals = []
        for r in await self.store.cases.referrals(intake_id):
            who = labels.get(r.partner_id) or await self.people.name_of(r.partner_id)
            referrals.append((strip_bidi(who), r.status))
        return PlanView(
            case,
            await self._flow(case),
            measures,
            await self.body_names(tr, measures),
            case.assignee == actor,
            sum(1 for m in measures if m.sent_at is None),
            tuple(referrals),
        )

    async def held(self, actor: int, intake_id: int) -> Case:
        """An intake ``actor`` holds, on which a plan can be built now."""
        case = await self.decisions.open_case(actor, intake_id)
        if (
            case.is_test
            or case.anonymised_at
            or case.status
            not in (
                "in_review",
                "awaiting_applicant",
                "approved",
                "declined",
            )
        ):
            raise Conflict("wrong_status", case)
        if case.assignee != actor:
            raise Conflict("not_claimed" if case.assignee is None else "claimed_by_other", case)
        return case

    async def suggestions(self, actor: int, intake_id: int, tr: Tr) -> list[Suggestion]:
        """The kinds to pick from: the needs the applicant chose first, then the others."""
        case = await self.held(actor, intake_id)
        flow = await self._flow(case)
        step = needs_step(flow)
        if step is None:
            return []
        lang = flow.language_for(tr.lang)
        answer = case.state.answers.get(step.id)
        chosen = set(answer if isinstance(answer, list) else [answer] if answer else [])
        out = [
            Suggestion(n, flow.pick(c.label, lang), c.value in chosen)
            for n, c in enumerate(step.choices)
        ]
        return sorted(out, key=lambda s: not s.chosen)

    async def bodies(self, actor: int, intake_id: int, tr: Tr) -> list[tuple[int, str]]:
        """Who may carry a measure out: the procuratorate itself, then the partners whose
        regions cover the intake's, each with its kind."""
        case = await self.held(actor, intake_id)
        out = [(OURSELVES, tr.gettext(OURSELVES_NAME))]
        for g in await self.store.roles.grants(PARTNER):
            if not g.scope.covers(case.region):
                continue
            name = strip_bidi(g.label or await self.people.name_of(g.user_id))
            kind = body_kind_text(tr, g.kind)
            out.append((g.user_id, f"{name} ({kind})" if kind else name))
        return out

    # -- the caseworker builds the plan ----------------------------------------------

    async def start(self, actor: int, intake_id: int) -> Case:
        """A new measure: the draft is held until its kind, body and due date are given."""
        case = await self.held(actor, intake_id)
        await self.store.pending.set(actor, DRAFT, intake_id, data={})
        return case

    async def forget_typing(self, actor: int) -> None:
        """Nothing of the plan is awaited from ``actor`` any more (their words were
        refused): their next message is read afresh, not as the plan's answer."""
        await self.store.pending.clear(actor)

    async def _draft(self, actor: int, intake_id: int) -> dict[str, object]:
        held = await self.store.pending.get(actor)
        if held is None or held.kind not in PLAN_WAITS or held.intake_id != intake_id:
            raise Conflict("stale")
        return dict(held.data)

    async def pick_kind(self, actor: int, intake_id: int, index: int) -> Case:
        case = await self.held(actor, intake_id)
        step = needs_step(await self._flow(case))
        if step is None or not 0 <= index < len(step.choices):
            raise Conflict("not_found", case)
        draft = await self._draft(actor, intake_id)
        draft.update(kind=step.choices[index].value, text=None)
        await self.store.pending.set(actor, DRAFT, intake_id, data=draft)
        return case

    async def ask_kind_words(self, actor: int, intake_id: int) -> Case:
        case = await self.held(actor, intake_id)
        draft = await self._draft(actor, intake_id)
        await self.store.pending.set(actor, KIND_WORDS, intake_id, data=draft)
        return case

    async def kind_words(self, actor: int, intake_id: int, text: str) -> Case:
        case = await self.held(actor, intake_id)
        draft = await self._draft(actor, intake_id)
        draft.update(kind=None, text=clean_text(text)[:MAX_TYPED])
        await self.store.pending.set(actor, DRAFT, intake_id, data=draft)
        return case

    async def pick_body(self, actor: int, intake_id: int, body: int, tr: Tr) -> Case:
        if body not in {uid for uid, _name in await self.bodies(actor, intake_id, tr)}:
            raise Conflict("not_a_partner")
        case = await self.held(actor, intake_id)
        draft = await self._draft(actor, intake_id)
        if "kind" not in draft:
            raise Conflict("stale", case)
        draft["body"] = body
        await self.store.pending.set(actor, DRAFT, intake_id, data=draft)
        return case

    async def ask_due_words(self, actor: int, intake_id: int) -> Case:
        case = await self.held(actor, intake_id)
        draft = await self._draft(actor, intake_id)
        await self.store.pending.set(actor, DUE_WORDS, intake_id, data=draft)
        return case

    async def due_in(
        self, actor: int, intake_id: int, days: int, today: dt.date | None = None
    ) -> Measure:
        if days not in DUE_DAYS:
            raise Conflict("not_found")
        today = today or dt.date.today()
        return await self.add(actor, intake_id, today + dt.timedelta(days=days))

    async def add(self, actor: int, intake_id: int, due: dt.date) -> Measure:
        """The measure the draft describes, due on ``due``, into the plan."""
        await self.held(actor, intake_id)
        draft = await self._draft(actor, intake_id)
        if "kind" not in draft or "body" not in draft:
            raise Conflict("stale")
        body = int(str(draft["body"]))
        if body != OURSELVES and not (await self.store.roles.scope(body, PARTNER)).covers(
            (await self.held(actor, intake_id)).region
        ):
            raise Conflict("not_a_partner")
        kind = draft.get("kind")
        return await self.store.measures.add(
            intake_id,
            actor,
            kind=None if kind is None else str(kind),
            kind_text=None if kind is not None else str(draft.get("text") or ""),
            partner_id=None if body == OURSELVES else body,
            due_on=due.isoformat(),
        )

    async def send(self, actor: int, intake_id: int) -> list[Measure]:
        """The measures not sent yet go to their partners, one card each."""
        case = await self.held(actor, intake_id)
        flow = await self._flow(case)
        unsent = [m for m in await self.store.measures.of_intake(intake_id) if m.sent_at is None]
        partners = sorted({m.partner_id for m in unsent if m.partner_id is not None})
        readers = {p: await self.people.tr_for(p) for p in partners}
        all_measures = await self.store.measures.of_intake(intake_id)
        names = {p: await self.body_names(tr, all_measures) for p, tr in readers.items()}

        def notify(sent: list[Measure]) -> list[OutMessage]:
            out = []
            for p in partners:
                mine = [m for m in sent if m.partner_id == p]
                if not mine:
                    continue
                tr = readers[p]
                text = (
                    self.fmt.b(tr.gettext("New measures for a household from the procuratorate"))
                    + "\n\n"
                    + self.partner_text(tr, case, flow, mine, names[p])
                )
                out.append(OutMessage(p, text, kind=Kind.MEASURES, intake_id=case.id, lang=tr.lang))
            return out

        return await self.store.measures.send(intake_id, actor, notify)

    # -- the card's "refer": a measure for one partner, sent at once -----------------

    async def referable(self, actor: int, intake_id: int, partner_id: int) -> Case:
        """An intake ``actor`` holds, and a partner whose regions cover it."""
        case = await self.held(actor, intake_id)
        if not (await self.store.roles.scope(partner_id, PARTNER)).covers(case.region):
            raise Conflict("not_a_partner", case)
        return case

    async def asked_for(self, tr: Tr, case: Case) -> list[Suggestion]:
        """The needs the applicant chose (the flow's ``needs`` step), in the reader's
        language: what a referral offers first."""
        flow = await self._flow(case)
        step = needs_step(flow)
        if step is None:
            return []
        answer = case.state.answers.get(step.id)
        chosen = set(answer if isinstance(answer, list) else [answer] if answer else [])
        lang = flow.language_for(tr.lang)
        return [
            Suggestion(n, flow.pick(c.label, lang), True)
            for n, c in enumerate(step.choices)
            if c.value in chosen
        ]

    async def refer(
        self,
        actor: int,
        intake_id: int,
        partner_id: int,
        words: str | None = None,
        *,
        need: int | None = None,
        today: dt.date | None = None,
    ) -> Measure:
        """The card's "refer": one measure for ``partner_id`` in the intake's plan, of the
        flow's need at index ``need`` or in the caseworker's ``words``, due in
        REFER_DUE_DAYS, and sent to that partner at once (only that one: the rest of the
        plan waits for its own Send). The partner works it with the measure buttons; the
        applicant hears that the partner may contact them."""
        case = await self.referable(actor, intake_id, partner_id)
        flow = await self._flow(case)
        kind: str | None = None
        kind_text: str | None = None
        if need is not None:
            step = needs_step(flow)
            if step is None or not 0 <= need < len(step.choices):
                raise Conflict("not_found", case)
            kind = step.choices[need].value
        else:
            kind_text = clean_text(words or "")[:MAX_TYPED]
            if not kind_text:
                raise Conflict("empty", case)
        due = (today or dt.date.today()) + dt.timedelta(days=REFER_DUE_DAYS)
        tr = await self.people.tr_for(partner_id)
        grant = next(
            (g for g in await self.store.roles.grants(PARTNER) if g.user_id == partner_id), None
        )
        label = strip_bidi(grant.label or "") if grant is not None else ""
        body_kind = grant.kind if grant is not None else None
        to_applicant = await self.notices.referred_to(
            case,
            lambda reader: label or body_kind_text(reader, body_kind) or reader.gettext(SOME_BODY),
        )
        names = {OURSELVES: tr.gettext(OURSELVES_NAME)}

        def notify(sent: list[Measure]) -> list[OutMessage]:
            text = (
                self.fmt.b(tr.gettext("New measures for a household from the procuratorate"))
                + "\n\n"
                + self.partner_text(tr, case, flow, sent, names)
            )
            card = OutMessage(partner_id, text, kind=Kind.MEASURES, intake_id=case.id, lang=tr.lang)
            return [card, *to_applicant]

        return await self.store.measures.refer(
            intake_id,
            actor,
            partner_id,
            kind=kind,
            kind_text=kind_text,
            due_on=due.isoformat(),
            notify=notify,
        )

    # -- the partner's side ----------------------------------------------------------

    async def partner_card(self, actor: int, intake_id: int, tr: Tr) -> PartnerCard:
        """The household as ``actor`` (a partner) reads it: only its own measures."""
        await self.people.require(actor, PARTNER)
        measures = await self.store.measures.of_partner(actor, intake_id)
        case = await self.store.cases.get(intake_id)
        if not measures or case is None:
            raise Conflict("not_found")
        names = await self.body_names(tr, measures)
        text = self.partner_text(tr, case, await self._flow(case), measures, names)
        return PartnerCard(case, measures, text)

    async def partner_page(self, actor: int, page: int, tr: Tr) -> tuple[list[PartnerCard], int]:
        """A page of /referrals: the households with measures for ``actor``, open first."""
        await self.people.require(actor, PARTNER)
        ids, total = await self.store.measures.partner_intakes(actor, page * PAGE_SIZE, PAGE_SIZE)
        cards = [await self.partner_card(actor, intake_id, tr) for intake_id, _open in ids]
        return cards, total

    async def change(
        self, actor: int, measure_ids: Sequence[int], to: MeasureState, reason: str | None = None
    ) -> list[Measure]:
        """A partner moves its measures on; the holder hears of each change, the applicant
        of a measure done or not possible."""
        await self.people.require(actor, PARTNER)
        if to == MeasureState.NOT_POSSIBLE and not clean_text(reason or ""):
            raise Conflict("empty")  # a measure is returned with why, always
        first = await self.store.measures.get(measure_ids[0]) if measure_ids else None
        if first is None or first.partner_id != actor:
            raise Conflict("not_found")
        case = await self.store.cases.get(first.intake_id)
        if case is None or case.anonymised_at:
            raise Conflict("not_found")
        flow = await self._flow(case)
        holder = case.assignee or first.created_by
        holder_tr = await self.people.tr_for(holder)
        applicant_tr = await self.people.tr_for(case.applicant_id, case.lang)
        names_h = await self.body_names(holder_tr, [first])
        names_a = await self.body_names(applicant_tr, [first])
        if reason is not None:
            reason = clean_text(reason)[:MAX_TYPED]

        def notify(changed: list[Measure]) -> list[OutMessage]:
            out = [
                OutMessage(
                    holder,
                    self.holder_text(holder_tr, case, flow, changed, names_h),
                    kind=Kind.MEASURE_CHANGED,
                    intake_id=case.id,
                    lang=holder_tr.lang,
                )
            ]
            told = [m for m in changed if m.state in (MeasureState.DONE, MeasureState.NOT_POSSIBLE)]
            if told and not case.is_test and not case.is_clue and case.chat_id:
                out.append(
                    OutMessage(
                        case.chat_id,
                        self.applicant_notice(applicant_tr, case, flow, told, names_a),
                        kind=Kind.MEASURE_FOR_APPLICANT,
                        intake_id=case.id,
                        lang=applicant_tr.lang,
                    )
                )
            return out

        return await self.store.measures.change(measure_ids, actor, to, notify, reason)

    async def accept_all(self, actor: int, intake_id: int) -> list[Measure]:
        """Every measure of ``intake_id`` proposed to ``actor``, accepted with one tap."""
        await self.people.require(actor, PARTNER)
        mine = await self.store.measures.of_partner(actor, intake_id)
        ids = [m.id for m in mine if m.state == MeasureState.PROPOSED]
        if not ids:
            raise Conflict("wrong_status")
        return await self.change(actor, ids, MeasureState.ACCEPTED)

    async def ask_why(self, actor: int, measure_id: int) -> Measure:
        """A partner returns a measure: the bot waits for why, typed."""
        await self.people.require(actor, PARTNER)
        m = await self.store.measures.get(measure_id)
        if m is None or m.partner_id != actor or m.sent_at is None:
            raise Conflict("not_found")
        if not m.open:
            raise Conflict("wrong_status")
        await self.store.pending.set(actor, WHY_WORDS, m.intake_id, ref_id=measure_id)
        return m

    # -- texts -----------------------------------------------------------------------

    def measure_line(
        self, tr: Tr, flow: Flow, m: Measure, names: dict[int, str], *, body: bool = True
    ) -> str:
        fmt = self.fmt
        parts = [fmt.b(fmt.esc(kind_name(tr, flow, m)))]
        if body:
            parts.append(fmt.esc(names.get(m.partner_id or OURSELVES, "—")))
        parts.append(tr.gettext("by {date}").format(date=tr.date(m.due_on)))
        parts.append(fmt.esc(state_text(tr, m.state)))
        line = " · ".join(parts)
        if m.state == MeasureState.NOT_POSSIBLE and m.reason:
            line += "\n   " + fmt.i(fmt.esc(strip_bidi(m.reason)))
        return line

    def decision_line(self, tr: Tr, case: Case) -> str:
        _ = tr.gettext
        if case.status == "approved" and case.amount_fen is not None:
            return _("Decision: approved, {amount}").format(
                amount=tr.money(fen_to_yuan(case.amount_fen))
            )
        if case.status == "approved":
            return _("Decision: approved")
        if case.status == "declined":
            return _("Decision: no assistance payment")
        return _("Decision: not made yet ({status})").format(status=status_name(tr, case.status))

    def partner_text(
        self, tr: Tr, case: Case, flow: Flow, measures: Sequence[Measure], names: dict[int, str]
    ) -> str:
        fmt = self.fmt
        _ = tr.gettext
        lines = [
            fmt.b(tr.ltr(case.ref or "")) + " · " + fmt.esc(self.decision_line(tr, case)),
            "",
            partner_summary(tr, fmt, case, flow),
            "",
            fmt.b(_("What is asked of you:")),
        ]
        for n, m in enumerate(measures, 1):
            lines.append(f"{n}. " + self.measure_line(tr, flow, m, names, body=False))
        return "\n".join(lines)

    def plan_text(self, tr: Tr, v: PlanView) -> str:
        fmt = self.fmt
        _ = tr.gettext
        lines = [
            fmt.b(_("Plan for {ref}").format(ref=tr.ltr(v.case.ref or ""))),
            fmt.esc(self.decision_line(tr, v.case)),
            "",
        ]
        if not v.measures:
            lines.append(_("No measures yet. Add the help this household needs."))
        for n, m in enumerate(v.measures, 1):
            line = f"{n}. " + self.measure_line(tr, v.flow, m, v.bodies)
            if m.sent_at is None:
                line += " · " + fmt.i(_("not sent yet"))
            lines.append(line)
        if v.referrals:
            lines += ["", fmt.b(_("Referrals to the agriculture department"))]
            lines += [
                "• " + tr.labelled(fmt.esc(who), fmt.esc(referral_status(tr, status)))
                for who, status in v.referrals
            ]
        return "\n".join(lines)

    def holder_text(
        self, tr: Tr, case: Case, flow: Flow, changed: Sequence[Measure], names: dict[int, str]
    ) -> str:
        head = tr.gettext("Plan for {ref}: a partner reported").format(
            ref=self.fmt.b(tr.ltr(case.ref or ""))
        )
        return (
            head + "\n" + "\n".join("• " + self.measure_line(tr, flow, m, names) for m in changed)
        )

    def applicant_line(self, tr: Tr, flow: Flow | None, m: Measure, names: dict[int, str]) -> str:
        """One measure as the household reads it: what, who, where it stands, by when."""
        fmt = self.fmt
        what = fmt.b(fmt.esc(kind_name(tr, flow, m)))
        who = fmt.esc(names.get(m.partner_id or OURSELVES, "—"))
        where = fmt.esc(tr.gettext(STATE_FOR_APPLICANT.get(m.state, m.state)))
        if m.open:
            return tr.gettext("{what} — {who}: {state}, by {date}").format(
                what=what, who=who, state=where, date=tr.date(m.due_on)
            )
        line = tr.gettext("{what} — {who}: {state}").format(what=what, who=who, state=where)
        # Why not, when the partner wrote it for the family (as a decline's reason is);
        # a reason written before it was asked for so stays with the staff.
        if m.state == MeasureState.NOT_POSSIBLE and m.reason and m.reason_shown:
            line += "\n   " + tr.labelled(
                fmt.esc(tr.gettext("Why")), fmt.i(fmt.esc(strip_bidi(m.reason)))
            )
        return line

    def applicant_notice(
        self, tr: Tr, case: Case, flow: Flow, changed: Sequence[Measure], names: dict[int, str]
    ) -> str:
        head = tr.gettext("News about the help for your application {ref}:").format(
            ref=self.fmt.b(tr.ltr(case.ref or ""))
        )
        lines = [head, *("• " + self.applicant_line(tr, flow, m, names) for m in changed)]
        lines.append("")
        lines.append(tr.gettext("Send /status to see the whole plan."))
        return "\n".join(lines)

    async def applicant_lines(self, tr: Tr, intake_id: int) -> list[str]:
        """/status: the intake's plan (measures sent), each in plain words."""
        measures = [
            m for m in await self.store.measures.of_intake(intake_id) if m.sent_at is not None
        ]
        if not measures:
            return []
        case = await self.store.cases.get(intake_id)
        if case is None:
            return []
        flow = await self._flow(case)
        names = await self.body_names(tr, measures)
        return [self.applicant_line(tr, flow, m, names) for m in measures]


def kind_label(tr: Tr, flow: Flow | None, kind: str) -> str:
    """A kind as counted (a need's value, or ``own``), in the reader's language."""
    if kind == OWN_KIND:
        return tr.gettext(OWN_KIND_NAME)
    step = needs_step(flow) if flow is not None else None
    if flow is not None and step is not None:
        for choice in step.choices:
            if choice.value == kind:
                return flow.pick(choice.label, flow.language_for(tr.lang))
    return kind


__all__ = [
    "BODY_KINDS",
    "CASEWORKER",
    "DUE_DAYS",
    "PLAN_WAITS",
    "PartnerCard",
    "PlanView",
    "Plans",
    "Suggestion",
    "kind_label",
    "kind_name",
    "needs_step",
    "parse_due",
]
