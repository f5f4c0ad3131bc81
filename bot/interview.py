"""The applicant's interview as a service: load, apply one input, store, say what next.

Handlers call this with an already-parsed input and render the ``Turn`` they
get back. Every accepted input is stored before ``apply`` returns, so the
reply that follows never announces something the database does not hold. What
the interview does outside its questions is decided here too: what an update
applied again shows (``again``), what a message with nothing in progress gets
(``unprompted``), what /cancel does (``cancel``); what a question offers is
``bot/asking.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from bot.channels import TELEGRAM
from bot.evidence import Evidence, Fetch, refs_in
from bot.flow import engine
from bot.flow.engine import Ask, Completed, Ended, Input, Outcome, Review, State
from bot.flow.model import Flow, Step
from bot.i18n import I18n, resolve
from bot.store import Intake, Store
from bot.store.intakes import OPEN_STATUSES, ApplicantView
from bot.store.outbox import OutMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applicant:
    user_id: int
    chat_id: int
    telegram_lang: str | None = (
        None  # the language the channel reports (Accept-Language on the web)
    )
    channel: str = TELEGRAM  # bot/channels.py: recorded on the intakes they start


@dataclass(frozen=True)
class Turn:
    """What happened on one input, for the handler to render."""

    lang: str  # the reader's interface language
    flow_lang: str  # the language flow texts are shown in
    flow: Flow | None = None
    outcome: Outcome | None = None
    intake: Intake | None = None
    duplicate: bool = False  # the update was already applied: say nothing
    resumed: bool = False  # /start on a draft in progress
    ref: str | None = None  # the reference given on submit
    no_draft: bool = False  # nothing in progress: offer /start (and show status)
    open_intakes: tuple[Intake, ...] = ()  # /start with sent applications still open
    # A message outside any interview from someone with a role: their help, for these roles.
    help_for: frozenset[str] | None = None
    # What was sent when it was not words or a tap (a photo, a file, a sticker...): the
    # answer to it is brief, never the whole question again for each photo of an album.
    sent_kind: str | None = None


@dataclass(frozen=True)
class Stopping:
    """What /cancel did: a preview ends at once; a draft stops only once confirmed."""

    lang: str
    preview_ended: bool = False
    draft_id: int | None = None  # the draft to confirm stopping; None with neither: nothing


def consent_hash(step: Step) -> str:
    """Identifies the consent text agreed to: any change to it, in any language, changes it."""
    text = json.dumps([step.text, step.help], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class Interview:
    def __init__(
        self,
        store: Store,
        i18n: I18n,
        alerts: Callable[[str | None, Flow | None], Awaitable[Callable[..., list[OutMessage]]]]
        | None = None,
        evidence: Evidence | None = None,
    ) -> None:
        self.store = store
        self.i18n = i18n
        # Where files sent as answers are kept (bot/evidence.py); None: not kept.
        self.evidence = evidence
        # The new-intake alerts for caseworkers of an intake's region and flow
        # (Notices.alerts_for), queued in the submit transaction.
        self.alerts = alerts

    def _langs(
        self, chosen: str | None, applicant: Applicant, flow: Flow | None
    ) -> tuple[str, str]:
        lang = self.i18n.pick(chosen, applicant.telegram_lang)
        if flow is None:
            return lang, lang
        # Flow texts: the reader's own language if the flow has it, else the flow's first.
        reader = chosen or resolve(applicant.telegram_lang)
        return lang, flow.language_for(reader)

    async def begin(self, applicant: Applicant, update_id: int, *, new: bool = False) -> Turn:
        """/start: resume the draft in progress; else show the applications still open
        (unless ``new``: they asked for another one); else start on the active flow."""
        view = await self.store.intakes.load_for_applicant(applicant.user_id)
        if view.draft is None and not new:
            waiting = [
                i
                for i in await self.store.intakes.for_applicant(applicant.user_id)
                if i.status in OPEN_STATUSES
            ]
            if waiting:
                lang, _ = self._langs(view.chosen_lang, applicant, None)
                return Turn(lang, lang, open_intakes=tuple(waiting))
        if view.draft is not None:
            draft = view.draft
            flow = await self._flow_of(draft)
            lang, flow_lang = self._langs(view.chosen_lang, applicant, flow)
            # The same /start delivered again (it may be the one that created this draft):
            # say nothing. Recording the resume makes its own redelivery recognisable too.
            if update_id and (
                await self._applied_before(applicant, draft.last_update_id, update_id)
                or not await self._save(view, draft.state, update_id)
            ):
                return Turn(lang, flow_lang, duplicate=True)
            outcome = engine.current(flow, draft.state)
            return Turn(lang, flow_lang, flow, outcome, draft, resumed=True)
        flow = await self.store.flows.active()
        lang, flow_lang = self._langs(view.chosen_lang, applicant, flow)
        first = engine.start(flow)
        intake = await self.store.intakes.create_draft(
            applicant_id=applicant.user_id,
            chat_id=applicant.chat_id,
            lang=flow_lang,
            flow=flow,
            state=first.state,
            update_id=update_id,
            channel=applicant.channel,
        )
        if intake is None:
            return Turn(lang, flow_lang, duplicate=True)
        log.info("draft %d started", intake.id)
        return Turn(lang, flow_lang, flow, first, intake)

    async def show(self, applicant: Applicant) -> Turn:
        """Where the applicant is now, changing nothing."""
        view = await self.store.intakes.load_for_applicant(applicant.user_id)
        if view.draft is None:
            lang, _ = self._langs(view.chosen_lang, applicant, None)
            return Turn(lang, lang, no_draft=True)
        flow = await self._flow_of(view.draft)
        lang, flow_lang = self._langs(view.chosen_lang, applicant, flow)
        return Turn(lang, flow_lang, flow, engine.current(flow, view.draft.state), view.draft)

    async def stale(self, applicant: Applicant) -> Turn:
        """A button that is not (or no longer) valid: the current question, with why."""
        turn = await self.show(applicant)
        if turn.flow is None or turn.intake is None:
            return turn
        outcome = engine.refuse(turn.flow, turn.intake.state, "moved_on")
        return Turn(turn.lang, turn.flow_lang, turn.flow, outcome, turn.intake)

    async def at_review(self, applicant: Applicant, intake_id: int) -> Turn | None:
        """The review of ``intake_id``, if that is where the applicant is (for buttons that
        only change what the review shows); else None."""
        turn = await self.show(applicant)
        if (
            not isinstance(turn.outcome, Review)
            or turn.intake is None
            or turn.intake.id != intake_id
        ):
            return None
        return turn

    async def again(self, applicant: Applicant) -> Turn | None:
        """What to show for an update applied again after a restart (``Turn.duplicate``
        said it was done already, but its reply may never have gone out): where the
        applicant is now, so that their next message answers the question they see;
        None when nothing is in progress."""
        turn = await self.show(applicant)
        return None if turn.no_draft or turn.duplicate else turn

    async def unprompted(self, applicant: Applicant, update_id: int, lang: str) -> Turn:
        """A message from someone with nothing in progress and no prompt waiting for it
        (``apply`` said ``no_draft``): staff get their help; someone who never applied
        wants to begin ("hello" before /start); anyone else is told nothing is in
        progress. ``lang`` is the turn's language from ``apply``."""
        roles = await self.store.roles.roles_of(applicant.user_id)
        if roles:
            return Turn(lang, lang, no_draft=True, help_for=frozenset(roles))
        if not await self.store.intakes.for_applicant(applicant.user_id):
            return await self.begin(applicant, update_id)
        return Turn(lang, lang, no_draft=True)

    async def applications(self, applicant: Applicant) -> list[Intake]:
        """The applicant's applications, for /status: drafts and sent ones alike."""
        return await self.store.intakes.for_applicant(applicant.user_id)

    async def cancel(self, applicant: Applicant) -> Stopping:
        """/cancel: a preview ends at once (nothing of it is kept); a draft's answers are
        deleted only once the applicant confirms (``withdraw_draft``)."""
        turn = await self.show(applicant)
        if turn.intake is None:
            return Stopping(turn.lang)
        if turn.intake.is_preview:
            await self.end_preview(applicant)
            return Stopping(turn.lang, preview_ended=True)
        return Stopping(turn.lang, draft_id=turn.intake.id)

    async def _flow_of(self, draft: Intake) -> Flow:
        if draft.is_preview:
            return await self.store.flows.upload_flow(-draft.id)
        return await self.store.flows.get(draft.flow_id, draft.flow_version)

    async def _save(self, view: ApplicantView, state: State, update_id: int) -> bool:
        """Store the new state of the draft in ``view`` (the view it was worked out from)."""
        draft = view.draft
        if draft is None:
            raise ValueError("no draft to save")
        if draft.is_preview:
            return await self.store.intakes.save_preview(
                draft.applicant_id, state, update_id, view=view
            )
        return await self.store.intakes.save_state(draft.id, state, update_id, view=view)

    async def start_preview(self, applicant: Applicant, upload_id: int) -> Turn:
        """An admin tries an uploaded flow in the chat: an interview that stores no intake."""
        flow = await self.store.flows.upload_flow(upload_id)
        chosen = await self.store.users.language(applicant.user_id)
        lang, flow_lang = self._langs(chosen, applicant, flow)
        first = engine.start(flow)
        await self.store.intakes.start_preview(applicant.user_id, upload_id, first.state)
        view = await self.store.intakes.load_for_applicant(applicant.user_id)
        return Turn(lang, flow_lang, flow, first, view.draft)

    async def end_preview(self, applicant: Applicant) -> bool:
        return await self.store.intakes.end_preview(applicant.user_id)

    async def apply(
        self,
        applicant: Applicant,
        given: Input | Callable[[Flow, State], Input | None],
        update_id: int,
        *,
        intake_id: int | None = None,
    ) -> Turn:
        """Apply one input to the applicant's draft and store the result.

        ``given`` may be a function of the draft's flow and state, for buttons that name
        a step or a choice by position; it returns None for one that does not
        exist. ``intake_id`` comes from a button: a button of another (older)
        intake, or a made-up one, is answered with the current question and
        changes nothing.
        """
        view = await self.store.intakes.load_for_applicant(applicant.user_id)
        draft = view.draft
        if draft is None:
            lang, _ = self._langs(view.chosen_lang, applicant, None)
            if await self._already_applied(applicant, view, update_id):
                # e.g. Send or "I do not agree" delivered again: the draft it ended is gone,
                # and "nothing in progress" would contradict what the applicant was just told.
                return Turn(lang, lang, duplicate=True)
            return Turn(lang, lang, no_draft=True)
        flow = await self._flow_of(draft)
        lang, flow_lang = self._langs(view.chosen_lang, applicant, flow)
        if update_id and await self._applied_before(applicant, draft.last_update_id, update_id):
            return Turn(lang, flow_lang, duplicate=True)
        if callable(given):
            given = given(flow, draft.state)
        if given is None or (intake_id is not None and intake_id != draft.id):
            outcome: Outcome = engine.refuse(flow, draft.state, "moved_on")
            return Turn(lang, flow_lang, flow, outcome, draft)

        outcome = engine.answer(flow, draft.state, given)
        sent = engine.sent_kind(given)
        if draft.is_preview:
            return await self._preview_turn(
                applicant, view, flow, outcome, update_id, lang, flow_lang, sent
            )
        if isinstance(outcome, Completed):
            priority = outcome.screening.priority
            notify: Callable[[str], list[OutMessage]] | None = None
            if self.alerts:
                region = self.store.intakes.region_for(flow, outcome.state.answers)
                alert = await self.alerts(region, flow)
                notify = partial(alert, priority=priority, intake_id=draft.id)

            ref = await self.store.intakes.submit(
                draft, outcome.state, outcome.screening, update_id, notify
            )
            if ref is None:
                return Turn(lang, flow_lang, duplicate=True)
            log.info("intake %d submitted", draft.id)
            return Turn(lang, flow_lang, flow, outcome, draft, ref=ref)
        if isinstance(outcome, Ended):
            erased = await self.store.intakes.discard_draft(
                draft, applicant.user_id, "consent_declined", update_id
            )
            if not erased:
                return Turn(lang, flow_lang, duplicate=True)
            return Turn(lang, flow_lang, flow, outcome, draft)
        if (
            isinstance(given, engine.Picked)
            and given.value == engine.AGREE
            and isinstance(outcome, Ask | Review)
            and outcome.refusal is None
        ):
            consent = flow.step(given.step)
            await self.store.intakes.record_consent(
                draft, consent.id, consent_hash(consent), flow_lang
            )
        if (
            isinstance(outcome, Ask | Review)
            and outcome.changed
            and not await self._save(view, outcome.state, update_id)
        ):
            return Turn(lang, flow_lang, duplicate=True)
        return Turn(lang, flow_lang, flow, outcome, draft, sent_kind=sent)

    async def keep_file(
        self, turn: Turn, given: Input, fetch: Fetch, applicant: Applicant | None = None
    ) -> None:
        """After ``apply`` stored an answer that is a file (a photo, a document, a voice
        answer): keep the file in our store (bot/evidence.py). A refused file, or one sent
        to an admin's preview, is not kept."""
        if self.evidence is None or not isinstance(given, engine.Attached):
            return
        draft, outcome = turn.intake, turn.outcome
        if turn.duplicate and applicant is not None:
            # Applied before the bot stopped, maybe before its file was kept: the file is
            # kept now if the draft holds it (keeping is idempotent).
            draft = (await self.store.intakes.load_for_applicant(applicant.user_id)).draft
            if draft is None:
                return
            state = draft.state
        elif isinstance(outcome, Ask | Review) and outcome.refusal is None:
            state = outcome.state
        else:
            return
        if draft is None or draft.is_preview:
            return
        unique = given.ref.get("unique")
        step = None
        if any(r.get("unique") == unique for r in refs_in(state.pending)):
            step = state.current
        else:
            for step_id, value in state.answers.items():
                if any(r.get("unique") == unique for r in refs_in(value)):
                    step = step_id
                    break
        if step is None:
            return
        await self.evidence.keep(draft.id, given.ref, fetch, step=step)

    async def _preview_turn(
        self,
        applicant: Applicant,
        view: ApplicantView,
        flow: Flow,
        outcome: Outcome,
        update_id: int,
        lang: str,
        flow_lang: str,
        sent: str | None = None,
    ) -> Turn:
        """A preview ends at submit or decline without storing anything else."""
        if isinstance(outcome, Completed | Ended):
            await self.store.intakes.end_preview(applicant.user_id)
        elif outcome.changed and not await self._save(view, outcome.state, update_id):
            return Turn(lang, flow_lang, duplicate=True)
        return Turn(lang, flow_lang, flow, outcome, view.draft, sent_kind=sent)

    async def withdraw_draft(
        self, applicant: Applicant, intake_id: int, update_id: int
    ) -> bool | None:
        """Withdraw the draft ``intake_id``: True when done, False when there is no such
        draft, None when this update was already applied (say nothing)."""
        view = await self.store.intakes.load_for_applicant(applicant.user_id)
        if view.draft is None or view.draft.id != intake_id:
            if await self._already_applied(applicant, view, update_id):
                return None
            return False
        if not await self.store.intakes.withdraw(view.draft, applicant.user_id, update_id):
            return None if update_id else False
        return True

    async def _already_applied(
        self, applicant: Applicant, view: ApplicantView, update_id: int
    ) -> bool:
        """With no draft in progress: was ``update_id`` already applied (it may be the very
        update that submitted, withdrew or erased the last draft)? Asked per update
        (``claim_update``): an older id than the newest applied may be one another
        instance received late, not a repeat."""
        if not update_id:
            return False
        if update_id == view.last_update_id:
            return True
        if await self.store.intakes.was_applied(applicant.user_id, update_id):
            return True
        # The update that erased their last draft (declined consent, /delete) took their
        # rows with it; the erasure keeps the newest update id under a pseudonym a while.
        return update_id <= await self.store.users.erased_update(applicant.user_id)

    async def _applied_before(self, applicant: Applicant, newest: int, update_id: int) -> bool:
        """Whether ``update_id`` was applied to the draft whose newest applied update is
        ``newest``: in order (the usual case) it is newer and this costs no read; an older
        one is asked of the record per update, as it may be another instance's, late."""
        if update_id > newest:
            return False
        if update_id == newest:
            return True
        return await self.store.intakes.was_applied(applicant.user_id, update_id)
