"""Evidence kept on our side (issue 24), end to end over the fake Bot API.

A photo, a PDF and a voice note sent during the interview are downloaded when they arrive
and kept sealed in the file store beside the database: their bytes are nowhere in the
clear (not in the files folder, not in the database or its WAL). A caseworker gets them
uploaded from our store after Telegram has dropped its copies. ``/delete`` of a draft, and
a caseworker's erasure of a sent application (anonymisation), erase them from disk.
A download that fails is tried again without asking the applicant again; a file too big
for the question, or of a kind it does not take, is refused in plain words.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import transcribe
from telegram_channel.downloads import fetcher
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage, Upload
from tests.helpers import wait_until, with_text

FLOW = """
id: evidence-test
languages: [en]
title: {en: Evidence test}
steps:
  - id: consent
    type: consent
    text: {en: May we keep what you send us?}
  - id: story
    type: text
    voice: true
    text: {en: What happened?}
  - id: papers
    type: attachments
    max_files: 4
    max_size: 1
    text: {en: Send photos or files of your papers.}
"""

CW, GROUP = 2, -100555
REF = re.compile(r"<b>([A-Z0-9]{3}-[A-Z0-9]{3})</b>")
# Bytes no one could mistake for anything else, to look for on disk.
PHOTO = b"\xff\xd8\xff\xe0PHOTO-OF-A-HOSPITAL-BILL-7Q2X\xff\xd9"
PDF = b"%PDF-1.4\nCOURT-RULING-TEXT-Z9K4 judgment of the county court\n%%EOF"
VOICE = b"OggS\x00VOICE-NOTE-MY-SON-WAS-HURT-W3RD" * 4
SECRETS = (b"HOSPITAL-BILL-7Q2X", b"COURT-RULING-TEXT-Z9K4", b"VOICE-NOTE-MY-SON-WAS-HURT-W3RD")


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(
        tg, make_settings(tg, tmp_path / "intake.db", caseworker_chat=GROUP, rate_limit=0)
    )
    await running.start()
    try:
        await running.store.flows.publish(FLOW)
        await running.store.roles.grant(CW, "caseworker")
        await running.services.casework.seen(CW, "en", "Wang")  # type: ignore[union-attr]
        yield running
    finally:
        await running.stop()


def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "intake.db.files"


def on_disk(tmp_path: Path) -> dict[str, bytes]:
    """Every file the bot wrote: the database, its WAL, and the file store."""
    return {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}


def nowhere_in_clear(tmp_path: Path, *secrets: bytes) -> None:
    for name, data in on_disk(tmp_path).items():
        for secret in secrets:
            assert secret not in data, f"{secret!r} found in the clear in {name}"


def stored_files(tmp_path: Path) -> list[Path]:
    root = files_dir(tmp_path)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def newest(person: FakeUser, check: str, what: str) -> SentMessage:
    await wait_until(
        lambda: person.messages and check in (person.messages[-1].text or ""),
        what=f"{what}; newest: {person.messages[-1:]}",
    )
    return person.messages[-1]


async def until_button(person: FakeUser, prefix: str, what: str) -> SentMessage:
    await wait_until(
        lambda: person.messages and any(b.startswith(prefix) for b in person.messages[-1].buttons),
        what=f"{what}; newest: {person.messages[-1:]}",
    )
    return person.messages[-1]


async def to_papers(ap: FakeUser, *, voice: bool = True) -> None:
    """/start, agree, answer the story with a voice note (or words): the papers question."""
    await ap.send("/start")
    await until_button(ap, "✅", "the consent question")
    await ap.tap_containing("✅")
    await newest(ap, "What happened?", "the story question")
    if voice:
        await ap.send_voice(duration=42, data=VOICE)
    else:
        await ap.send("My son was hurt.")
    await newest(ap, "Send photos or files", "the papers question")


async def send_papers(ap: FakeUser) -> None:
    await ap.send_photo(PHOTO)
    await until_button(ap, "✔️", "the Done button after the photo")
    start = len(ap.messages)
    await ap.send_document("ruling.pdf", PDF)
    await wait_until(lambda: len(ap.messages) > start, what="the answer to the PDF")
    await until_button(ap, "✔️", "the Done button after the PDF")


async def kept(r: Running, n: int) -> None:
    async def stored() -> bool:
        rows = await r.store.db.fetchall("SELECT address FROM files WHERE address IS NOT NULL")
        return len(rows) == n

    await wait_until(stored, what=f"{n} files kept")


async def heard(r: Running, n: int) -> None:
    """Wait until ``n`` voice notes were given to the transcriber (off the handler's path)."""

    async def done() -> bool:
        rows = await r.store.db.fetchall("SELECT id FROM files WHERE heard = 1")
        return len(rows) == n

    await wait_until(done, what=f"{n} voice notes transcribed")


async def submit(r: Running, ap: FakeUser) -> str:
    await to_papers(ap)
    await send_papers(ap)
    await ap.tap_containing("✔️")
    review = await until_button(ap, "📨", "the review")
    assert "🎤 voice message (0:42)" in (review.text or "")
    await ap.tap_containing("📨")
    await wait_until(
        lambda: REF.search(ap.messages[-1].text or "") is not None, what="the reference"
    )
    return REF.findall(ap.messages[-1].text or "")[0]


async def test_files_are_kept_sealed_and_reach_the_caseworker_from_our_store(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    ap = tg.user(4101, language_code="en", first_name="Aysha")
    ref = await submit(r, ap)
    await kept(r, 3)

    # On disk: three sealed files under content addresses, nothing in the clear anywhere.
    paths = stored_files(tmp_path)
    assert len(paths) == 3
    assert all(re.fullmatch(r"[0-9a-f]{62}", p.name) for p in paths)
    nowhere_in_clear(tmp_path, *SECRETS)
    await r.store.db.checkpoint()
    nowhere_in_clear(tmp_path, *SECRETS)

    # Telegram drops its copies: the caseworker still gets every file, from our store.
    tg.forget_all_files()
    cw = tg.user(CW, first_name="Wang", language_code="en")
    card = (await cw.ask(f"/open {ref}"))[-1]
    assert "🎤 voice message (0:42)" in (card.text or "")
    assert "Machine transcription" not in (card.text or "")  # none is claimed by default
    show = [b for b in card.buttons if b.startswith("📎")]
    assert show == ["📎 Show attachments (3)"]
    start = len(cw.messages)
    await cw.tap(show[0], card)
    await wait_until(lambda: len(cw.messages) - start >= 3, what="three files uploaded")
    sent = cw.messages[start:]
    by_kind = {m.kind: m for m in sent}
    assert set(by_kind) == {"voice", "photo", "document"}
    for kind, original in (("photo", PHOTO), ("document", PDF), ("voice", VOICE)):
        message = by_kind[kind]
        assert isinstance(message.params[kind], Upload), f"the {kind} was not uploaded"
        assert message.file_bytes == original
        assert ref in (message.text or "")  # captioned with the reference
    assert by_kind["document"].file_name == "ruling.pdf"

    # The applicant's copy of their data lists the files.
    theirs = await ap.ask("/mydata")
    export = [m for m in theirs if m.kind == "document"]
    assert export, [str(m) for m in theirs]
    listing = (export[-1].file_bytes or b"").decode()
    assert "Files you sent" in listing
    assert "voice message" in listing and "photo" in listing and "file" in listing
    assert "What happened?" in listing and "Send photos or files of your papers." in listing

    # Erasure of the sent application (anonymisation) erases the files from disk.
    menu = (await ap.ask("/delete"))[-1]
    await ap.tap(f"🗑 Ask to delete {ref}", menu)
    await ap.wait_reply()
    card = (await cw.ask(f"/open {ref}"))[-1]
    await cw.tap("🗑 Erase the data", card)
    await wait_until(lambda: with_text(cw.messages, "was erased"), what="the erasure")
    assert stored_files(tmp_path) == []
    assert await r.store.db.fetchall("SELECT id FROM files") == []
    assert await r.store.db.fetchall("SELECT address FROM files_erase") == []


async def test_delete_of_a_draft_erases_its_files(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    ap = tg.user(4102, language_code="en", first_name="Aysha")
    await to_papers(ap)
    await send_papers(ap)
    await kept(r, 3)
    assert len(stored_files(tmp_path)) == 3
    nowhere_in_clear(tmp_path, *SECRETS)

    confirm = (await ap.ask("/delete"))[-1]
    await ap.tap("🗑 Yes, delete my answers", confirm)
    replies = await ap.wait_reply()
    assert "were deleted" in replies[-1].text
    assert stored_files(tmp_path) == []
    assert await r.store.db.fetchall("SELECT id FROM files") == []


async def test_a_file_another_application_holds_stays(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    """The same photo in two applications is stored once, and erasing one keeps it."""
    one, two = tg.user(4103, language_code="en"), tg.user(4104, language_code="en")
    for ap in (one, two):
        await to_papers(ap, voice=False)
        await ap.send_photo(PHOTO)
        await until_button(ap, "✔️", "the Done button")
    await kept(r, 2)
    assert len(stored_files(tmp_path)) == 1
    confirm = (await one.ask("/delete"))[-1]
    await one.tap("🗑 Yes, delete my answers", confirm)
    await one.wait_reply()
    [path] = stored_files(tmp_path)
    assert r.store.files is not None
    assert await r.store.files.get(path.parent.name + path.name) == PHOTO


async def test_a_failed_download_is_tried_again_and_the_answer_counts(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    ap = tg.user(4105, language_code="en")
    await to_papers(ap, voice=False)
    tg.fail_next("getFile", status=502, count=2)
    await ap.send_photo(PHOTO)
    # The answer counts at once: the applicant can tap Done and is not asked again.
    await until_button(ap, "✔️", "the Done button")
    draft = (await r.store.intakes.load_for_applicant(ap.id)).draft
    assert draft is not None and len(draft.state.pending) == 1

    async def failed_once() -> bool:
        rows = await r.store.db.fetchall("SELECT tries FROM files WHERE address IS NULL")
        return [row["tries"] for row in rows] == [1]

    await wait_until(failed_once, what="the download waiting to be tried again")
    assert await r.store.file_records.waiting_count() == 1
    assert stored_files(tmp_path) == []
    # The background job tries again (run here at once, rather than waiting its turn).
    evidence = r.services.casework.evidence  # type: ignore[union-attr]
    fetch = fetcher(r.app.bot)  # type: ignore[attr-defined]
    assert await evidence.retry_due(fetch) == 0  # not due yet: it waits, backing off
    for arrived in (0, 1):  # Telegram fails once more, then the file arrives
        await r.store.db.execute("UPDATE files SET next_try_at = '2000-01-01T00:00:00Z'")
        assert await evidence.retry_due(fetch) == arrived
    assert await r.store.file_records.waiting_count() == 0
    [path] = stored_files(tmp_path)
    assert PHOTO not in path.read_bytes()


async def test_files_too_big_or_of_the_wrong_kind_are_refused_in_plain_words(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    ap = tg.user(4106, language_code="en")
    await to_papers(ap, voice=False)
    big = b"%PDF-1.4\n" + b"x" * (1024 * 1024 + 10)
    start = len(ap.messages)
    await ap.send_document("big.pdf", big)
    await wait_until(lambda: len(ap.messages) > start, what="the refusal")
    replies = ap.messages[start:]
    assert with_text(replies, "That file is too big: this question takes files up to 1 MB.")
    start = len(ap.messages)
    await ap.send_voice(duration=3)
    await wait_until(lambda: len(ap.messages) > start, what="the refusal of a voice note")
    assert with_text(ap.messages[start:], "This question takes only a photo, a file.")
    assert await r.store.db.fetchall("SELECT id FROM files") == []
    draft = (await r.store.intakes.load_for_applicant(ap.id)).draft
    assert draft is not None and draft.state.pending == []


class StubTranscriber:
    """A stand-in speech-to-text engine: only the plumbing is tested, not hearing."""

    async def transcribe(self, audio: bytes, mime: str | None) -> str | None:
        return "my son was hurt at the market" if b"VOICE-NOTE" in audio else None


async def test_a_configured_transcriber_shows_its_text_beside_the_recording(
    tg: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine registered under a name and chosen by INTAKE_TRANSCRIBER, as a deployment
    would plug one in (bot/transcribe.py)."""
    monkeypatch.setitem(transcribe.ENGINES, "stub", lambda settings: StubTranscriber())
    settings = make_settings(
        tg, tmp_path / "intake.db", caseworker_chat=GROUP, rate_limit=0, transcriber="stub"
    )
    r = Running(tg, settings)
    await r.start()
    try:
        await r.store.flows.publish(FLOW)
        await r.store.roles.grant(CW, "caseworker")
        await transcribed_card(tg, r, tmp_path)
    finally:
        await r.stop()


async def transcribed_card(tg: FakeTelegram, r: Running, tmp_path: Path) -> None:
    ap = tg.user(4107, language_code="en")
    ref = await submit(r, ap)
    await kept(r, 3)
    await heard(r, 1)
    cw = tg.user(CW, first_name="Wang", language_code="en")
    card = (await cw.ask(f"/open {ref}"))[-1]
    text = card.text or ""
    assert "🎤 voice message (0:42)" in text
    assert "Machine transcription, may be wrong:" in text
    assert "my son was hurt at the market" in text
    nowhere_in_clear(tmp_path, b"my son was hurt at the market")


async def arrives(person: FakeUser, *needles: str) -> SentMessage:
    await wait_until(
        lambda: with_text(person.messages, *needles),
        what=f"{needles} in chat {person.chat_id}; got {[m.text for m in person.messages[-3:]]}",
    )
    return with_text(person.messages, *needles)[-1]


async def test_a_voice_answer_to_a_caseworker_is_kept_played_and_transcribed(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    class Stub:
        async def transcribe(self, audio: bytes, mime: str | None) -> str | None:
            return "the bill is five thousand yuan"

    ap = tg.user(4108, language_code="en")
    ref = await submit(r, ap)
    await kept(r, 3)
    r.services.casework.evidence.transcriber = Stub()  # type: ignore[union-attr]
    cw = tg.user(CW, first_name="Wang", language_code="en")
    card = (await cw.ask(f"/open {ref}"))[-1]
    await cw.tap("🙋 Claim", card)
    card = await arrives(cw, "Claimed by you")
    await cw.tap("❓ Ask the applicant", card)
    await arrives(cw, "question for the applicant")
    await cw.send("Do you have the hospital bill?")
    await arrives(cw, "Your question was sent")
    await arrives(ap, ref, "the caseworker asks")

    answer = b"OggS\x00ANSWER-ABOUT-THE-BILL-K8P1" * 3
    await ap.send_voice(duration=65, data=answer)
    count = await arrives(ap, "Received for application", ": 1 message.")
    await kept(r, 4)
    await ap.tap("✔️ Done: send my answer", count)
    await arrives(cw, ref, "The applicant replied on")
    await heard(r, 2)
    nowhere_in_clear(tmp_path, b"ANSWER-ABOUT-THE-BILL-K8P1", b"the bill is five thousand yuan")

    tg.forget_all_files()
    card = (await cw.ask(f"/open {ref}"))[-1]
    text = card.text or ""
    assert "reply (applicant):\n<i>🎤 voice message (1:05)</i>" in text
    assert "Machine transcription, may be wrong:</i> the bill is five thousand yuan" in text
    show = [b for b in card.buttons if b.startswith("📎")]
    assert show == ["📎 Show attachments (4)"]
    start = len(cw.messages)
    await cw.tap(show[0], card)
    await wait_until(lambda: len(cw.messages) - start >= 4, what="four files uploaded")
    voices = [m for m in cw.messages[start:] if m.kind == "voice"]
    assert [m.file_bytes for m in voices] == [VOICE, answer]
    assert all(isinstance(m.params["voice"], Upload) for m in voices)


async def test_an_expired_draft_takes_its_files_with_it(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    import datetime as dt

    ap = tg.user(4109, language_code="en")
    await to_papers(ap)
    await send_papers(ap)
    await kept(r, 3)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    housekeeping = r.services.housekeeping  # type: ignore[union-attr]
    assert await housekeeping.expire_drafts(now=later) == 1
    assert stored_files(tmp_path) == []
    assert await r.store.db.fetchall("SELECT id FROM files") == []


async def test_a_file_telegram_refuses_is_not_tried_again_and_the_caseworker_is_told(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    ap = tg.user(4110, language_code="en")
    await to_papers(ap, voice=False)
    tg.fail_next("getFile", status=400, description="Bad Request: file is too big")
    await ap.send_photo(PHOTO)
    await until_button(ap, "✔️", "the Done button")

    async def given_up() -> bool:
        rows = await r.store.db.fetchall("SELECT tries, next_try_at FROM files")
        return [(x["tries"], x["next_try_at"]) for x in rows] == [(1, None)]

    await wait_until(given_up, what="the download given up")
    assert await r.store.file_records.waiting_count() == 0
    await ap.tap_containing("✔️")
    await until_button(ap, "📨", "the review")
    await ap.tap_containing("📨")
    await wait_until(lambda: REF.search(ap.messages[-1].text or ""), what="the reference")
    ref = REF.findall(ap.messages[-1].text or "")[0]
    cw = tg.user(CW, first_name="Wang", language_code="en")
    card = (await cw.ask(f"/open {ref}"))[-1]
    await cw.tap("📎 Show attachments (1)", card)
    told = await arrives(cw, "could not be fetched from Telegram")
    assert told.text == (
        "1 file could not be fetched from Telegram (too big for a bot, or no longer there)."
        " Ask the applicant to send it again."
    )
