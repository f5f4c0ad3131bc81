"""An interview walked outside any chat (``intake-bot try --save``), stored as a test intake.

An intake refers to a published flow version, so a flow that is not in the database yet
is published first; publishing makes a version current, and real applicants must not
start on a flow someone is only trying, so it is stored without becoming current. The
intake belongs to no one (``TRY_APPLICANT``) and is marked as a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.flow.engine import Completed
from bot.flow.model import Flow
from bot.store import Store

# The "applicant" of test intakes. Telegram user ids are positive, so 0 can never be a
# real person, and every test intake is also marked is_test.
TRY_APPLICANT = 0


@dataclass(frozen=True)
class Saved:
    ref: str
    # Set when the flow had to be stored for the intake to refer to it: the version it
    # became, and the one new applicants still get.
    stored_as: Flow | None = None
    still_active: Flow | None = None


async def save_trial(
    store: Store, flow: Flow, source: str | None, flow_lang: str, completed: Completed
) -> Saved:
    """Store ``completed`` as a submitted test intake on ``flow``. ``source`` is the flow's
    YAML when it may not be in the database yet (a file, the built-in default); None for
    a flow read from the database, which is stored already."""
    stored_as = still_active = None
    if source is not None:
        version = await store.flows.version_with_source(flow.id, source)
        if version is not None:
            flow = await store.flows.get(flow.id, version)
        else:
            still_active = await store.flows.active()
            flow = stored_as = await store.flows.publish(source, make_current=False)
    view = await store.intakes.load_for_applicant(TRY_APPLICANT)
    if view.draft is not None:  # left by an interrupted earlier try: it would be reused
        await store.intakes.discard_draft(view.draft, TRY_APPLICANT, "try", 0)
    draft = await store.intakes.create_draft(
        applicant_id=TRY_APPLICANT,
        chat_id=TRY_APPLICANT,
        lang=flow_lang,
        flow=flow,
        state=completed.state,
        is_test=True,
    )
    assert draft is not None  # update id 0 is never a duplicate
    # No update carried it (0): each try is new, never taken for a repeat of the last.
    ref = await store.intakes.submit(draft, completed.state, completed.screening, 0)
    assert ref is not None
    return Saved(ref, stored_as, still_active)
