"""A partner's clue (线索移送 the other way): a short built-in interview, then the queue.

The three questions are a flow like the applicants' (bot/flows/clue.yaml), run by the
same engine; where the partner is in it is kept with their pending prompt (sealed, like
the answers), so a restart between two questions loses nothing. The last answer sends
the clue: it enters the review queue as a submitted intake marked as a clue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from bot.casework.actions import PARTNER
from bot.casework.identity import People
from bot.casework.notices import Notices
from bot.casework.terms import CLUE_FIELDS, MAX_TYPED
from bot.flow import engine
from bot.flow.engine import Ask, State, Typed
from bot.flow.loader import load_flow_text
from bot.flow.model import Flow
from bot.flow.values import clean_text
from bot.i18n import Tr
from bot.messages import Fmt, note_text, refusal_text
from bot.store import Store
from bot.store.outbox import OutMessage

AWAITING_CLUE = "p_clue"  # the pending prompt that holds a clue being answered


@cache
def clue_flow() -> Flow:
    """The built-in clue interview, as shipped in the package."""
    flow = load_flow_text((files("bot.flows") / "clue.yaml").read_text(encoding="utf-8"))
    asked = [s.id for s in flow.steps if s.asks_input]
    if asked != [key for key, _label in CLUE_FIELDS]:
        raise RuntimeError(f"bot/flows/clue.yaml must ask {CLUE_FIELDS}, it asks {asked}")
    return flow


@dataclass(frozen=True)
class Question:
    """The next question of a clue, as its partner reads it (notes first)."""

    text: str
    first: bool  # the first of the interview: the channel says how to stop


class Clues:
    def __init__(self, store: Store, people: People, notices: Notices, fmt: Fmt) -> None:
        self.store = store
        self.people = people
        self.notices = notices
        self.fmt = fmt

    async def begin(self, actor: int, tr: Tr) -> Question:
        """/clue: the first question; the interview waits for its answer."""
        await self.people.require(actor, PARTNER)
        first = engine.start(clue_flow())
        assert isinstance(first, Ask)  # the flow asks three questions
        await self.store.pending.set(actor, AWAITING_CLUE, data={"state": first.state.to_dict()})
        return self._question(tr, first, first=True)

    async def answer(self, actor: int, tr: Tr, data: dict[str, Any], text: str) -> Question | str:
        """One typed answer: the next question, or the clue's reference once it is sent.

        ``data`` is what the pending prompt holds: the interview's state (or, from an
        earlier version, the answers so far, which are replayed)."""
        await self.people.require(actor, PARTNER)
        flow = clue_flow()
        state = _state_of(flow, data)
        # Cut like every other text staff type; the flow's own limit never refuses it.
        outcome = engine.answer(flow, state, Typed(clean_text(text)[:MAX_TYPED]))
        if isinstance(outcome, Ask):
            if outcome.refusal is None:
                await self.store.pending.set(
                    actor, AWAITING_CLUE, data={"state": outcome.state.to_dict()}
                )
            return self._question(tr, outcome, first=False)
        answers = {k: str(v) for k, v in outcome.state.answers.items() if v is not None}
        return await self.send_clue(actor, answers)

    def _question(self, tr: Tr, ask: Ask, *, first: bool) -> Question:
        flow = clue_flow()
        lang = flow.language_for(tr.lang)
        parts = [note_text(self.fmt, flow, lang, note) for note in ask.notes]
        if ask.refusal is not None:
            parts.append("⚠️ " + self.fmt.esc(refusal_text(tr, flow, lang, ask.refusal)))
        parts.append(self.fmt.esc(flow.pick(ask.step.text, lang)))
        return Question("\n\n".join(parts), first)

    async def send_clue(self, actor: int, clue: dict[str, str]) -> str:
        """A partner's clue enters the review queue as an intake marked as a clue."""
        await self.people.require(actor, PARTNER)
        flow = await self.store.flows.active()
        lang = await self.people.lang_of(actor)
        clue = {k: clean_text(v)[:MAX_TYPED] for k, v in clue.items() if k in dict(CLUE_FIELDS)}

        region = await self._region_of(actor)
        alerts = await self.notices.alerts_for(region, flow)

        def notify(intake_id: int, ref: str) -> list[OutMessage]:
            return alerts(ref, is_clue=True, intake_id=intake_id)

        _, ref = await self.store.cases.add_clue(
            partner_id=actor,
            flow_id=flow.id,
            flow_version=flow.version,
            lang=lang,
            clue=clue,
            priority=0,
            notify=notify,
            region=region,
        )
        return ref

    async def _region_of(self, actor: int) -> str | None:
        """A clue's region: the partner's own, when their role is kept to one (a county's
        liaison sends clues about that county); else the default region, else none."""
        scope = await self.store.roles.scope(actor, PARTNER)
        if scope.prefixes is not None and len(scope.prefixes) == 1:
            return next(iter(scope.prefixes))
        return self.store.intakes.region_for(None, {})


def _state_of(flow: Flow, data: dict[str, Any]) -> State:
    if isinstance(data.get("state"), dict):
        return State.from_dict(data["state"])
    # Kept by an earlier version: the answers so far, by field. Asked again in order.
    outcome: engine.Outcome = engine.start(flow)
    for key, _label in CLUE_FIELDS:
        if key not in data or not isinstance(outcome, Ask):
            break
        outcome = engine.answer(flow, outcome.state, Typed(str(data[key])))
    return outcome.state
