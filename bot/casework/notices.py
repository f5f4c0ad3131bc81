"""What casework tells people later, through the outbox: each notice's kind and its text.

A notice is rendered here, in its reader's language and in the markup the channel reads
(``Fmt``), and queued with the change it announces. It carries what it is (``Kind``) and
the intake and referral it names, never a channel's buttons: the channel that delivers
it draws those from the kind (an Open button, a referral's actions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import partial

from bot.casework.actions import CASEWORKER
from bot.casework.identity import People
from bot.casework.replies import Answer
from bot.casework.terms import CLUE_FIELDS, decline_text, fen_to_yuan, outcome_text
from bot.channels import is_web
from bot.config import Settings
from bot.flow.model import Flow
from bot.flow.values import strip_bidi
from bot.i18n import I18n, Tr
from bot.i18n_marks import N_
from bot.messages import Fmt, after_decline, answer_text
from bot.regions import region_text
from bot.store.casework import Case, Referral
from bot.store.outbox import OutMessage

Render = Callable[[Tr], str]
# The new-intake alerts for one intake, ready to queue in the transaction that sends it:
# called with its reference (and is_clue=, priority=, intake_id=).
Alerts = Callable[..., list[OutMessage]]


class Kind(StrEnum):
    """What a notice tells; stored with it (outbox.kind) for the channel."""

    NEW_INTAKE = "new_intake"  # the caseworkers' group: an application was sent
    NEW_CLUE = "new_clue"  # the caseworkers' group: a partner sent a clue
    STATUS_CHANGED = "status_changed"  # the applicant: in review, approved, declined
    TAKEN_OVER = "taken_over"  # the caseworker whose claim a colleague took over
    QUESTION = "question"  # the applicant: a caseworker asks
    REPLY = "reply"  # the caseworker: the applicant answered
    REPLY_PASSED = "reply_passed"  # the applicant: their answer went to the caseworker
    QUESTION_CLOSED = "question_closed"  # the applicant: the caseworker stopped waiting
    REFERRAL = "referral"  # the partner: a new referral (clue transfer)
    REFERRED = "referred"  # the applicant: the agriculture department may contact them
    REFERRAL_ACKNOWLEDGED = "referral_acknowledged"  # the caseworker who referred
    REFERRAL_DONE = "referral_done"
    REFERRAL_RETURNED = "referral_returned"
    DELETION_REQUESTED = "deletion_requested"  # the caseworker holding the intake
    DELETION_REQUESTED_UNCLAIMED = "deletion_requested_unclaimed"  # the group: nobody holds it
    DATA_ERASED = "data_erased"  # the applicant: their data is gone
    DELETION_REFUSED = "deletion_refused"  # the applicant: kept, and why
    CORRECTION = "correction"  # the caseworker holding the intake: the applicant asks to fix
    CORRECTION_UNCLAIMED = "correction_unclaimed"  # the group: nobody holds it
    DIGEST = "digest"  # a caseworker or supervisor: what is due this morning (digest.py)
    PROPOSED = "proposed"  # a supervisor: a decision waits for their approval
    PROPOSAL_CONFIRMED = "proposal_confirmed"  # the caseworker who proposed it
    PROPOSAL_RETURNED = "proposal_returned"  # the caseworker who proposed it, with the note
    ASSIGNED = "assigned"  # the caseworker a supervisor gave an intake to
    REOPENED = "reopened"  # the caseworker holding an intake a supervisor reopened
    CHECKIN = "checkin"  # the applicant: how are things, months after the decision
    CHECKIN_ALERT = "checkin_alert"  # the holder: a check-in answered "worse" or "talk"
    MEASURES = "measures"  # a partner: measures of a household's plan for them (plans.py)
    MEASURE_CHANGED = "measure_changed"  # the holder: a partner moved measures on
    MEASURE_FOR_APPLICANT = "measure_for_applicant"  # the applicant: done, or not possible


_REFERRAL_UPDATES = {
    Kind.REFERRAL_ACKNOWLEDGED: N_("acknowledged by the agriculture department"),
    Kind.REFERRAL_DONE: N_("done by the agriculture department"),
    Kind.REFERRAL_RETURNED: N_("returned by the agriculture department"),
}


def partner_summary(tr: Tr, fmt: Fmt, case: Case, flow: Flow) -> str:
    """Only what the agriculture department needs: the steps tagged ``partner``."""
    lang = flow.language_for(tr.lang)
    lines = []
    if case.is_clue:
        for key, label in CLUE_FIELDS:
            if case.clue.get(key):
                lines.append(
                    tr.labelled(fmt.b(tr.gettext(label)), fmt.esc(strip_bidi(str(case.clue[key]))))
                )
        return "\n".join(lines)
    for step in flow.tagged("partner"):
        if step.id not in case.state.answers:
            continue
        value = answer_text(tr, flow, lang, step, case.state.answers[step.id], masked=False)
        lines.append(fmt.b(flow.pick(step.text, lang)) + "\n" + fmt.esc(value))
    return "\n".join(lines)


class Notices:
    def __init__(self, people: People, i18n: I18n, settings: Settings, fmt: Fmt) -> None:
        self.people = people
        self.i18n = i18n
        self.settings = settings
        self.fmt = fmt

    def ref(self, tr: Tr, case: Case) -> str:
        """An intake's reference as every notice shows it."""
        return self.fmt.b(tr.ltr(case.ref or ""))

    async def to_applicant(self, case: Case, kind: Kind, render: Render) -> list[OutMessage]:
        """A notice to the person who sent the intake, in their language; none for a test
        intake (``intake-bot try --save``): nobody applied, so nobody is told."""
        if case.is_test:
            return []
        tr = await self.people.tr_for(case.applicant_id, case.lang)
        return [OutMessage(case.chat_id, render(tr), kind=kind, intake_id=case.id, lang=tr.lang)]

    async def to_user(
        self, user_id: int, kind: Kind, render: Render, case: Case, referral_id: int | None = None
    ) -> OutMessage:
        tr = await self.people.tr_for(user_id)
        return OutMessage(
            user_id,
            render(tr),
            kind=kind,
            intake_id=case.id,
            referral_id=referral_id,
            lang=tr.lang,
        )

    # -- the review ------------------------------------------------------------------

    async def in_review(self, case: Case) -> list[OutMessage]:
        return await self.to_applicant(
            case,
            Kind.STATUS_CHANGED,
            lambda tr: tr.gettext(
                "A caseworker is now looking at your application {ref}. You will hear from us here."
            ).format(ref=self.ref(tr, case)),
        )

    async def taken_over(self, case: Case, previous: int) -> OutMessage:
        return await self.to_user(
            previous,
            Kind.TAKEN_OVER,
            lambda tr: tr.gettext("Application {ref} has been taken over by a colleague.").format(
                ref=self.ref(tr, case)
            ),
            case,
        )

    async def question(self, case: Case, question: str) -> list[OutMessage]:
        def render(tr: Tr) -> str:
            return (
                tr.gettext("About your application {ref}, the caseworker asks:").format(
                    ref=self.ref(tr, case)
                )
                + "\n\n"
                + self.fmt.i(question)
                + "\n\n"
                + (
                    # A web applicant answers in the box under it on their page.
                    tr.gettext("Write your answer in the box below and send it.")
                    if is_web(case.applicant_id)
                    else tr.gettext(
                        "Answer here: write, send photos or files, or record a voice message. You can send several messages. When you have sent everything, tap Done."
                    )
                )
            )

        return await self.to_applicant(case, Kind.QUESTION, render)

    async def reply(self, case: Case, answer: Answer) -> list[OutMessage]:
        """The applicant's whole answer (once they tapped Done) to the caseworker who holds
        the intake, in one notice: their words, and how many files came with them (the
        card shows those); and a thank-you to the applicant."""

        def render(tr: Tr) -> str:
            parts = [tr.gettext("The applicant replied on {ref}:").format(ref=self.ref(tr, case))]
            parts += [self.fmt.i(text) for text in answer.texts]
            n = len(answer.files)
            if n:
                parts.append(
                    "📎 "
                    + tr.ngettext(
                        "{n} file sent: open the card and tap Show attachments.",
                        "{n} files sent: open the card and tap Show attachments.",
                        n,
                    ).format(n=tr.count(n))
                )
            return "\n\n".join(parts)

        out: list[OutMessage] = []
        if case.assignee is not None:
            out.append(await self.to_user(case.assignee, Kind.REPLY, render, case))
        out += await self.to_applicant(
            case,
            Kind.REPLY_PASSED,
            lambda tr: tr.gettext(
                "Thank you. Your answer was passed to the caseworker of application {ref}."
            ).format(ref=self.ref(tr, case)),
        )
        return out

    async def question_closed(self, case: Case) -> list[OutMessage]:
        return await self.to_applicant(
            case,
            Kind.QUESTION_CLOSED,
            lambda tr: tr.gettext(
                "The caseworker has closed the question about your application {ref}. What you sent is kept with it."
            ).format(ref=self.ref(tr, case)),
        )

    async def approved(self, case: Case, fen: int) -> list[OutMessage]:
        def render(tr: Tr) -> str:
            return (
                tr.gettext("Good news: your application {ref} is approved.").format(
                    ref=self.ref(tr, case)
                )
                + "\n\n"
                + tr.gettext("Assistance granted: {amount}").format(
                    amount=self.fmt.b(tr.money(fen_to_yuan(fen)))
                )
                + "\n\n"
                + tr.gettext(
                    "The procuratorate will contact you about how you receive it. No one may ask you for a fee."
                )
            )

        return await self.to_applicant(case, Kind.STATUS_CHANGED, render)

    async def declined(self, case: Case, reason: str) -> list[OutMessage]:
        """``reason``: a code from DECLINE_REASONS, read in the applicant's language, or words.
        The notice also says how to have the decision looked at again, and where else to
        turn, with the numbers from the settings."""

        def render(tr: Tr) -> str:
            return (
                tr.gettext("Your application {ref} was not approved.").format(
                    ref=self.ref(tr, case)
                )
                + "\n\n"
                + tr.gettext("Reason: {reason}").format(
                    reason=self.fmt.esc(decline_text(tr, reason))
                )
                + "\n\n"
                + "\n\n".join(self.fmt.esc(part) for part in after_decline(tr))
            )

        return await self.to_applicant(case, Kind.STATUS_CHANGED, render)

    # -- referrals -------------------------------------------------------------------

    async def referred_to(self, case: Case, body: Callable[[Tr], str]) -> list[OutMessage]:
        """The applicant hears that a partner (``body``, named in their language) was asked
        to help and may contact them; a clue's household is not told (nobody applied)."""
        if case.is_clue:
            return []
        return await self.to_applicant(
            case,
            Kind.REFERRED,
            lambda tr: tr.gettext(
                "About your application {ref}: we have also asked {body} to help your family. They may contact you."
            ).format(ref=self.ref(tr, case), body=self.fmt.b(self.fmt.esc(body(tr)))),
        )

    async def referral_update(
        self, ref: Referral, case: Case, kind: Kind, outcome: str | None
    ) -> OutMessage:
        """The caseworker who referred hears what the partner did with it."""
        what = _REFERRAL_UPDATES[kind]

        def render(tr: Tr) -> str:
            text = tr.gettext("Referral of {ref}: {what}").format(
                ref=self.ref(tr, case), what=tr.gettext(what)
            )
            if outcome:
                text += "\n\n" + self.fmt.i(outcome_text(tr, outcome))
            return text

        return await self.to_user(ref.created_by, kind, render, case, ref.id)

    # -- the caseworkers' group ------------------------------------------------------

    async def alerts_for(self, region: str | None, flow: Flow | None = None) -> Alerts:
        """The new-intake alerts for an intake of ``region``: to the caseworkers' group when
        one is configured (everyone in it reads every alert, as before regions), and to each
        caseworker whose role is kept to regions that cover ``region``, in their own
        language. Caseworkers who cover every region read the group, as before. Looked up
        now, so that the alerts can be queued inside the transaction that sends the intake."""
        readers = await self._regional(region)
        return partial(self.alerts_for_new, region=region, flow=flow, readers=readers)

    async def _regional(self, region: str | None) -> list[tuple[int, Tr]]:
        """The caseworkers kept to regions that cover ``region``, each with their language:
        those who cover every region read the group instead."""
        return [
            (g.user_id, await self.people.tr_for(g.user_id))
            for g in await self.people.store.roles.grants(CASEWORKER)
            if g.regions and g.scope.covers(region)
        ]

    def alerts_for_new(
        self,
        ref: str,
        *,
        is_clue: bool = False,
        priority: int = 0,
        intake_id: int | None = None,
        region: str | None = None,
        flow: Flow | None = None,
        readers: Sequence[tuple[int, Tr]] = (),
    ) -> list[OutMessage]:
        """The new-intake alert for the caseworkers' group, when one is configured, and for
        each of ``readers`` (user id, language) in a private chat (``alerts_for``)."""
        kind = Kind.NEW_CLUE if is_clue else Kind.NEW_INTAKE

        def render(tr: Tr) -> str:
            if is_clue:
                text = tr.gettext("New clue from the agriculture department: {ref}").format(
                    ref=self.fmt.b(ref)
                )
            else:
                text = tr.gettext("New application: {ref} (priority {priority})").format(
                    ref=self.fmt.b(ref), priority=priority
                )
            if region:
                text += "\n" + tr.labelled(
                    tr.gettext("Region"), self.fmt.esc(region_text(tr, flow, region))
                )
            return text + "\n" + tr.gettext("Send /queue to the bot to review it.")

        out = []
        chat = self.settings.caseworker_chat
        if chat is not None:
            tr = self.i18n.tr(None)  # a group has no reader: the default language
            out.append(OutMessage(chat, render(tr), kind=kind, intake_id=intake_id, lang=tr.lang))
        for user_id, tr in readers:
            out.append(
                OutMessage(user_id, render(tr), kind=kind, intake_id=intake_id, lang=tr.lang)
            )
        return out

    # -- the applicant's right to erasure --------------------------------------------

    async def deletion_requested(self, case: Case) -> list[OutMessage]:
        """To the caseworker who holds the intake, else to the group."""

        def render(tr: Tr) -> str:
            return tr.gettext(
                "The applicant of {ref} asks to delete their data. Open it to erase the data or to refuse with a reason."
            ).format(ref=self.ref(tr, case))

        if case.assignee is not None:
            return [await self.to_user(case.assignee, Kind.DELETION_REQUESTED, render, case)]
        return await self._unclaimed(case, Kind.DELETION_REQUESTED_UNCLAIMED, render)

    async def _unclaimed(self, case: Case, kind: Kind, render: Render) -> list[OutMessage]:
        """About an intake nobody holds: to the group, and to the caseworkers kept to
        regions that cover its region (as a new-intake alert goes)."""
        out = []
        chat = self.settings.caseworker_chat
        if chat is not None:
            tr = self.i18n.tr(None)
            out.append(OutMessage(chat, render(tr), kind=kind, intake_id=case.id, lang=tr.lang))
        for user_id, tr in await self._regional(case.region):
            out.append(OutMessage(user_id, render(tr), kind=kind, intake_id=case.id, lang=tr.lang))
        return out

    # -- the applicant's right to correction ------------------------------------------

    async def correction(self, case: Case, text: str) -> list[OutMessage]:
        """The applicant's words on what to correct: to the caseworker who holds the
        intake, else to the group (without the words: a group is many people)."""
        if case.assignee is not None:
            return [
                await self.to_user(
                    case.assignee,
                    Kind.CORRECTION,
                    lambda tr: (
                        tr.gettext("The applicant of {ref} asks for a correction:").format(
                            ref=self.ref(tr, case)
                        )
                        + "\n\n"
                        + self.fmt.i(text)
                    ),
                    case,
                )
            ]
        return await self._unclaimed(
            case,
            Kind.CORRECTION_UNCLAIMED,
            lambda tr: tr.gettext(
                "The applicant of {ref} asks for a correction. Open it to read what they wrote."
            ).format(ref=self.ref(tr, case)),
        )

    async def erased(self, case: Case) -> list[OutMessage]:
        return await self.to_applicant(
            case,
            Kind.DATA_ERASED,
            lambda tr: tr.gettext(
                "As you asked, your data in application {ref} has been deleted."
            ).format(ref=self.ref(tr, case)),
        )

    async def deletion_refused(self, case: Case, reason: str) -> list[OutMessage]:
        def render(tr: Tr) -> str:
            return (
                tr.gettext(
                    "Your request to delete the data of application {ref} was refused."
                ).format(ref=self.ref(tr, case))
                + "\n\n"
                + tr.gettext("Reason: {reason}").format(reason=self.fmt.esc(reason))
            )

        return await self.to_applicant(case, Kind.DELETION_REFUSED, render)

    # -- a supervisor's -----------------------------------------------------------------

    async def proposed(
        self,
        case: Case,
        supervisors: list[int],
        by: int,
        kind: str,
        fen: int | None,
        reason: str,
    ) -> Callable[[int], list[OutMessage]]:
        """The request for approval, one to each supervisor, once the proposal has its id
        (their buttons act on that proposal only)."""
        name = await self.people.name_of(by)
        readers = [await self.people.tr_for(s) for s in supervisors]

        def render(tr: Tr) -> str:
            who = self.fmt.esc(name)
            if kind == "approve":
                text = tr.gettext("{name} proposes to approve {ref} with {amount}.").format(
                    name=who,
                    ref=self.ref(tr, case),
                    amount=self.fmt.b(tr.money(fen_to_yuan(fen or 0))),
                )
            else:
                text = (
                    tr.gettext("{name} proposes to decline {ref}.").format(
                        name=who, ref=self.ref(tr, case)
                    )
                    + "\n"
                    + tr.gettext("Reason: {reason}").format(
                        reason=self.fmt.esc(decline_text(tr, reason))
                    )
                )
            return (
                text
                + "\n\n"
                + tr.gettext(
                    "The applicant is told only once you confirm. Or return it to the caseworker with a note."
                )
            )

        def notices(proposal_id: int) -> list[OutMessage]:
            return [
                OutMessage(
                    supervisor,
                    render(tr),
                    kind=Kind.PROPOSED,
                    intake_id=case.id,
                    proposal_id=proposal_id,
                    lang=tr.lang,
                )
                for supervisor, tr in zip(supervisors, readers, strict=True)
            ]

        return notices

    async def proposal_confirmed(self, case: Case, proposer: int, by: int) -> OutMessage:
        name = await self.people.name_of(by)
        return await self.to_user(
            proposer,
            Kind.PROPOSAL_CONFIRMED,
            lambda tr: tr.gettext(
                "{name} confirmed your decision on {ref}. The applicant has been told."
            ).format(name=self.fmt.esc(name), ref=self.ref(tr, case)),
            case,
        )

    async def proposal_returned(self, case: Case, proposer: int, by: int, note: str) -> OutMessage:
        name = await self.people.name_of(by)
        return await self.to_user(
            proposer,
            Kind.PROPOSAL_RETURNED,
            lambda tr: (
                tr.gettext(
                    "{name} returned your decision on {ref}. It is open again; the applicant was told nothing."
                ).format(name=self.fmt.esc(name), ref=self.ref(tr, case))
                + "\n\n"
                + self.fmt.i(note)
            ),
            case,
        )

    async def assigned(self, case: Case, to: int, by: int) -> OutMessage:
        name = await self.people.name_of(by)
        return await self.to_user(
            to,
            Kind.ASSIGNED,
            lambda tr: tr.gettext("{name} assigned application {ref} to you.").format(
                name=self.fmt.esc(name), ref=self.ref(tr, case)
            ),
            case,
        )

    async def reopened(self, case: Case, reason: str, by: int) -> list[OutMessage]:
        """The applicant hears their application is looked at again, and why; the
        caseworker who holds it, that it is back with them."""

        def to_applicant(tr: Tr) -> str:
            return (
                tr.gettext(
                    "Your application {ref} has been opened again and will be looked at once more."
                ).format(ref=self.ref(tr, case))
                + "\n\n"
                + tr.gettext("Reason: {reason}").format(reason=self.fmt.esc(reason))
                + "\n\n"
                + tr.gettext("You will hear from us here.")
            )

        out = (
            [] if case.is_clue else await self.to_applicant(case, Kind.STATUS_CHANGED, to_applicant)
        )
        if case.assignee is not None and case.assignee != by:
            name = await self.people.name_of(by)
            out.append(
                await self.to_user(
                    case.assignee,
                    Kind.REOPENED,
                    lambda tr: (
                        tr.gettext("{name} reopened {ref}; it is in review again.").format(
                            name=self.fmt.esc(name), ref=self.ref(tr, case)
                        )
                        + "\n\n"
                        + self.fmt.i(reason)
                    ),
                    case,
                )
            )
        return out
