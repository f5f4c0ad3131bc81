"""Small helpers the end-to-end tests share."""

from __future__ import annotations

import asyncio
import shutil
import sys
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.flow.engine import Screening, State
from tests.fakebot import FakeTelegram, SentMessage

NOT_SCREENED = Screening((), (), 0, ())

# The fake Telegram of a test -> the Bot API client its bots run on (set by the ``tg``
# fixture). Here, not in conftest.py: pytest loads that file as a module of its own, beside
# the ``tests.conftest`` the test modules import, and the two would keep two of these.
_CLIENT_OF: weakref.WeakKeyDictionary[FakeTelegram, str] = weakref.WeakKeyDictionary()


def runs_on(tg: FakeTelegram, client: str) -> None:
    """The bots of the test on ``tg`` run on this Bot API client."""
    _CLIENT_OF[tg] = client


def bot_api_client_of(tg: FakeTelegram) -> str:
    """The Bot API client the bots of a test on this fake Telegram run on ("own" unless the
    ``tg`` fixture said otherwise)."""
    return _CLIENT_OF.get(tg, "own")


async def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` (sync or async) until it holds; fail with ``what`` after ``timeout``.

    Notifications arrive through the outbox sender, not as a reply to the update that
    caused them, so tests wait for them instead of sleeping a fixed time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def with_text(chat: Any, *needles: str) -> list[SentMessage]:
    """The messages (of a chat, or a list) whose text contains every one of ``needles``."""
    messages = chat if isinstance(chat, list) else chat.messages
    return [m for m in messages if all(n in (m.text or "") for n in needles)]


def console_script() -> str:
    """The installed ``intake-bot`` command of this interpreter's environment."""
    beside = Path(sys.executable).parent / "intake-bot"
    found = str(beside) if beside.is_file() else shutil.which("intake-bot")
    assert found, "the intake-bot console script is not installed"
    return found


async def sent_intake(
    store: Any,
    answers: dict[str, Any] | None = None,
    *,
    applicant: int,
    lang: str = "zh",
    screening: Screening = NOT_SCREENED,
    is_test: bool = False,
) -> tuple[int, str]:
    """An application sent as the interview leaves it, stored directly (for the tests
    of what comes after the interview): its id and reference. Its region is the one its
    flow routes the answers to, else the store's default region. Written by no Telegram
    update (update id 0), so that none of the fake Telegram's ids counts as applied."""
    answers = dict(answers or {})
    state = State(answers=answers, path=list(answers))
    draft = await store.intakes.create_draft(
        applicant_id=applicant,
        chat_id=applicant,
        lang=lang,
        flow=await store.flows.active(),
        state=state,
        update_id=0,
        is_test=is_test,
    )
    assert draft is not None
    ref = await store.intakes.submit(draft, state, screening, update_id=0)
    assert ref is not None
    return int(draft.id), str(ref)


async def old_referral(
    store: Any, intake_id: int, caseworker: int, partner: int, request: str
) -> Any:
    """A referral as a database from before the household's plan holds it (one message,
    one report): the bot now refers by adding a measure, but such rows stay workable by
    their partner. Written as the bot wrote them then, with the partner's notice as the
    outbox queued it (so its buttons are the old referral's)."""
    from bot.casework.notices import Kind
    from bot.store.outbox import OutMessage

    return await store.cases.refer(
        intake_id,
        caseworker,
        partner,
        request,
        lambda referral_id: [
            OutMessage(
                partner,
                "A referral from the procuratorate (clue transfer)\n\nWhat is asked:\n" + request,
                kind=Kind.REFERRAL,
                intake_id=intake_id,
                referral_id=referral_id,
                lang="en",
            )
        ],
    )
