"""Privacy: sensitive data protected at rest, consent recorded, the applicant's rights kept.

An applicant walks the default flow (``bot/flows/judicial-assistance.yaml``) in English
through the real bot and the fake Bot API; then the raw bytes of the SQLite file and its
write-ahead log are searched for what must not be there in the clear (the phone number,
the photo's file_id, an erased draft's answers), the consent records are read back, and
/mydata, /delete, the caseworker's erasure or refusal, and the retention jobs are exercised.
Finally the log records of a whole interview and its casework are searched for the token,
the phone number and the applicant's words.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.casework.terms import READS
from bot.config import Settings
from bot.crypto import SecretKeyError, key_file_for
from bot.flow.loader import default_flow_source, load_flow_text
from bot.flow.variables import DEFAULTS, fill
from bot.interview import consent_hash
from bot.store import Store
from telegram_channel.app import configure_logging
from tests.conftest import TOKEN, Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser, SentMessage
from tests.helpers import sent_intake, wait_until, with_text

DEFAULT = load_flow_text(default_flow_source())
AGREE, SEND, SHARE = "✅ I agree", "📨 Send", "📱 Share my phone number"
CW, PARTNER, GROUP = 2, 3, -100321
QUICK = 0.05
REF = re.compile(r"<b>([A-Z0-9]{3}-[A-Z0-9]{3})</b>")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NUMBERS = {"household_size": "3", "earners": "1", "monthly_income": "500"}


# --- helpers ----------------------------------------------------------------------------


async def arrives(person: Any, *needles: str, timeout: float = 10.0) -> SentMessage:
    await wait_until(
        lambda: with_text(person, *needles),
        timeout,
        f"{needles} in chat {person.chat_id}; got {person.texts()[-4:]}",
    )
    return with_text(person, *needles)[-1]


async def outbox_empty(r: Running) -> None:
    async def empty() -> bool:
        return await r.store.outbox.pending_count() == 0

    await wait_until(empty, what="an empty outbox")


def phone_of(person: FakeUser) -> str:
    """The phone number as the bot stores it (the contact's, without +86)."""
    return person.phone_number.removeprefix("+86")


async def current_step(r: Running, person: FakeUser) -> str | None:
    draft = (await r.store.intakes.load_for_applicant(person.id)).draft
    return None if draft is None else draft.state.current


def button_with(message: SentMessage, pattern: str) -> str:
    """The callback data of the button on ``message`` whose data matches ``pattern``."""
    for data in message.button_data.values():
        if data and re.search(pattern, data):
            return data
    raise AssertionError(f"no button matching {pattern!r} on {message}")


async def walk(
    r: Running,
    person: FakeUser,
    answers: dict[str, str] | None = None,
    *,
    until: str | None = None,
    photo: bool = True,
) -> list[SentMessage]:
    """/start, then answer the default flow step by step (reading the current step from
    the database) until the review, or until the step ``until`` is asked. Choices take the
    first option; typed answers come from ``answers`` or are made up; the phone is shared
    with the contact button. Returns the bot's last answer."""
    answers = answers or {}
    replies = await person.ask("/start", settle=QUICK)
    for _ in range(80):
        last = person.messages[-1]
        if SEND in last.buttons:
            return replies
        step_id = await current_step(r, person)
        assert step_id is not None, [str(m) for m in replies]
        if step_id == until:
            return replies
        step = DEFAULT.step(step_id)
        if step.type == "consent":
            await person.tap(AGREE)
        elif step.type == "choice":
            await person.tap_data(button_with(last, r":c:0$"), last.message_id)
        elif step.type == "multi_choice":
            await person.tap_data(button_with(last, r":t:0$"), last.message_id)
            await person.wait_reply(settle=QUICK)
            await person.tap_data(button_with(last, r":d:0$"), last.message_id)
        elif step.type == "phone":
            if "phone" in answers:
                await person.send(answers["phone"])
            else:
                await person.press(SHARE)
        elif step.type == "attachments":
            if photo:
                await person.send_photo()
                shown = (await person.wait_reply(settle=QUICK))[-1]
                await person.tap_data(button_with(shown, r":d:0$"), shown.message_id)
            else:
                await person.tap_data(button_with(last, r":s:0$"), last.message_id)
        elif step.type == "number":
            await person.send(answers.get(step_id, NUMBERS.get(step_id, "1")))
        elif step.type == "date":
            await person.send(answers.get(step_id, "1975-03-08"))
        elif step.type == "id_number":
            await person.send(answers.get(step_id, "430321197503080023"))
        else:
            await person.send(answers.get(step_id, f"{step_id} answer"))
        replies = await person.wait_reply(settle=QUICK)
    raise AssertionError("the interview did not end")


async def submit(r: Running, person: FakeUser, answers: dict[str, str] | None = None) -> str:
    """The whole default flow, sent; returns the reference."""
    await walk(r, person, answers)
    await person.tap(SEND)
    replies = await person.wait_reply()
    refs = REF.findall(replies[-1].text or "")
    assert refs, [str(m) for m in replies]
    return refs[0]


async def intake_row(r: Running, ref: str) -> dict[str, Any]:
    row = await r.store.db.fetchone("SELECT * FROM intakes WHERE ref = ?", (ref,))
    assert row is not None, ref
    return dict(row)


def raw_bytes(db: Path) -> dict[str, bytes]:
    """The database file, its write-ahead log and shared-memory index, as stored on disk."""
    out = {}
    for path in (db, *(Path(str(db) + end) for end in ("-wal", "-shm", "-journal"))):
        if path.exists():
            out[path.name] = path.read_bytes()
    assert db.name in out
    return out


def absent(db: Path, *secrets: str) -> None:
    for name, data in raw_bytes(db).items():
        for secret in secrets:
            for form in {secret.encode(), secret.encode("utf-16-le")}:
                assert form not in data, f"{secret!r} found in the clear in {name}"


def present(db: Path, text: str) -> bool:
    return any(text.encode() in data for data in raw_bytes(db).values())


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(
        tg, make_settings(tg, tmp_path / "intake.db", caseworker_chat=GROUP, rate_limit=0)
    )
    await running.start()
    try:
        await running.store.roles.grant(CW, "caseworker")
        running.app.bot_data["sender"].idle = 0.1  # type: ignore[attr-defined]
        yield running
    finally:
        await running.stop()


def caseworker(tg: FakeTelegram) -> FakeUser:
    return tg.user(CW, language_code="en", first_name="Wang")


# --- 1. encryption at rest --------------------------------------------------------------


async def test_sensitive_answers_and_attachments_are_encrypted_at_rest(
    tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.crypto")
    db = tmp_path / "intake.db"
    r = Running(tg, make_settings(tg, db, caseworker_chat=GROUP, rate_limit=0))
    await r.start()
    try:
        await r.store.roles.grant(CW, "caseworker")
        key_file = key_file_for(str(db))
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert any(
            rec.levelno == logging.WARNING
            and "back it up" in rec.getMessage()
            and str(key_file) in rec.getMessage()
            for rec in caplog.records
        ), [rec.getMessage() for rec in caplog.records]

        ap = tg.user(4001, language_code="en", first_name="Li")
        phone = phone_of(ap)
        ref = await submit(r, ap, {"name": "Li Hua"})
        [intake] = await r.store.intakes.for_applicant(ap.id)
        [photo] = intake.state.answers["documents"]
        assert intake.state.answers["phone"] == phone  # readable through the store
        stored = (await intake_row(r, ref))["state"]
        assert isinstance(stored, bytes)  # the whole state is sealed, as one value
        for secret in (phone, photo["file_id"], "Li Hua"):
            assert secret.encode() not in stored

        # The applicant's own review shows their phone whole, so they can check it; the
        # answered question above it keeps it masked; the caseworker's card shows it.
        review = "\n".join(m.text or "" for m in ap.messages if "Please check" in (m.text or ""))
        assert phone in review and "••" not in review
        assert "✔️ 138••••••01" in ap.texts()
        card = "\n".join(m.text or "" for m in await caseworker(tg).ask(f"/open {ref}"))
        assert phone in card
        # Views that do not need it never show it: the queue, the group's alert, the receipt.
        queue = "\n".join(m.text or "" for m in await caseworker(tg).ask("/queue"))
        assert ref in queue and phone not in queue and phone[-4:] not in queue
        await wait_until(lambda: tg.group(GROUP).messages, what="the group's alert")
        assert not any(phone in t or "Li Hua" in t for t in tg.group(GROUP).texts())
        assert not any(phone in t for t in ap.texts() if "Please check" not in t)

        await wait_until(lambda: tg.group(GROUP).messages, what="the group's alert")
        absent(db, phone, photo["file_id"], photo["unique"])

        # A referral carries the phone to the partner: through the outbox, still not in
        # the clear on disk (queued notifications are encrypted too).
        await r.store.roles.grant(PARTNER, "partner", label="County Bureau")
        work = r.services.casework  # type: ignore[union-attr]
        await work.claim(CW, intake.id)  # referring adds a measure to the holder's plan
        await work.refer(CW, intake.id, PARTNER, "Please visit the family")
        await arrives(tg.user(PARTNER, language_code="en"), "Please visit the family", phone)
        await outbox_empty(r)
        absent(db, phone, photo["file_id"], photo["unique"])
        await r.stop()
        absent(db, phone, photo["file_id"], photo["unique"])
        assert present(db, ref)  # the search itself works: the reference is plain

        # A restart with the key file reads everything back.
        await r.start()
        [intake] = await r.store.intakes.for_applicant(ap.id)
        assert intake.state.answers["phone"] == phone
        assert intake.state.answers["documents"][0]["file_id"] == photo["file_id"]
    finally:
        await r.stop()


async def test_a_key_from_the_environment_and_a_wrong_key(tg: FakeTelegram, tmp_path: Path) -> None:
    db = tmp_path / "intake.db"
    secret = "correct horse battery staple"
    r = Running(tg, make_settings(tg, db, rate_limit=0, secret_key=secret))
    await r.start()
    try:
        ap = tg.user(4002, language_code="en", first_name="Ma")
        await walk(r, ap, {"phone": "13912345678"}, until="documents")
        assert not key_file_for(str(db)).exists()  # INTAKE_SECRET_KEY set: no key file
        await r.restart()
        draft = (await r.store.intakes.load_for_applicant(ap.id)).draft
        assert draft is not None and draft.state.answers["phone"] == "13912345678"
    finally:
        await r.stop()
    absent(db, "13912345678")

    # A wrong key is refused when the database is opened, before anyone reads a card.
    with pytest.raises(SecretKeyError, match="INTAKE_SECRET_KEY"):
        await Store.open(db, secret="not the key")
    # Without the key (no setting, no key file) nothing new is made up: the data would be lost.
    with pytest.raises(SecretKeyError, match="missing"):
        await Store.open(db)
    assert not key_file_for(str(db)).exists()
    reopened = await Store.open(db, secret=secret)
    await reopened.close()


# --- 2. consent records -----------------------------------------------------------------


async def consent_rows(r: Running, intake_id: int) -> list[dict[str, Any]]:
    rows = await r.store.db.fetchall(
        "SELECT applicant_id, step_id, text_sha256, lang, agreed_at FROM consents"
        " WHERE intake_id = ? ORDER BY id",
        (intake_id,),
    )
    return [dict(x) for x in rows]


async def test_consent_records_for_an_adult(tg: FakeTelegram, r: Running) -> None:
    ap = tg.user(4003, language_code="en", first_name="Li")
    await walk(r, ap, until="county")
    [intake] = await r.store.intakes.for_applicant(ap.id)
    rows = await consent_rows(r, intake.id)
    assert [x["step_id"] for x in rows] == ["consent", "sensitive_consent"]
    for row in rows:
        assert row["applicant_id"] == ap.id
        assert row["text_sha256"] == consent_hash(DEFAULT.step(row["step_id"]))
        assert row["lang"] == "en" and ISO.match(row["agreed_at"])
    assert rows[0]["text_sha256"] != rows[1]["text_sha256"]
    assert "guardian_name" not in intake.state.answers
    assert await r.store.intakes.consents(intake.id) == [
        {k: v for k, v in row.items() if k != "applicant_id"} for row in rows
    ]


async def test_a_child_under_14_needs_the_guardians_consent_and_details(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4004, language_code="en", first_name="Ayşe")
    ten = (dt.date.today() - dt.timedelta(days=10 * 365 + 30)).isoformat()
    answers = {"birth_date": ten, "guardian_name": "Guli Ahmat", "guardian_relation": "mother"}
    await walk(r, ap, answers, until="county")
    [intake] = await r.store.intakes.for_applicant(ap.id)
    assert intake.state.answers["guardian_name"] == "Guli Ahmat"
    assert intake.state.answers["guardian_relation"] == "mother"
    assert intake.state.answers["guardian_consent"] is True
    rows = await consent_rows(r, intake.id)
    assert [x["step_id"] for x in rows] == ["consent", "guardian_consent", "sensitive_consent"]
    assert rows[1]["text_sha256"] == consent_hash(DEFAULT.step("guardian_consent"))
    guardian_q = html.escape(DEFAULT.step("guardian_consent").text["en"], quote=False)
    assert with_text(ap, guardian_q.split("\n")[0])

    # A 15-year-old gets the guardian's details asked, but no guardian's consent.
    teen = tg.user(4005, language_code="en", first_name="Bo")
    fifteen = (dt.date.today() - dt.timedelta(days=15 * 365 + 30)).isoformat()
    await walk(r, teen, {"birth_date": fifteen}, until="county")
    [intake] = await r.store.intakes.for_applicant(teen.id)
    assert "guardian_name" in intake.state.answers
    assert "guardian_consent" not in intake.state.answers
    rows = await consent_rows(r, intake.id)
    assert [x["step_id"] for x in rows] == ["consent", "sensitive_consent"]


# --- 3. /mydata and /delete -------------------------------------------------------------


async def test_mydata_sends_everything_held_with_the_phone_unmasked(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4006, language_code="en", first_name="Li")
    ref = await submit(r, ap, {"name": "Li Hua", "county": "Xiangtan County"})
    sent = len(ap.messages)
    await ap.send("/mydata")
    await wait_until(lambda: len(ap.messages) > sent, what="the /mydata file")
    doc = ap.messages[-1]
    assert doc.kind == "document" and doc.file_name == "my-data.txt"
    text = (doc.document_bytes or b"").decode("utf-8")
    for shown in (ref, "Li Hua", "Xiangtan County", phone_of(ap)):
        assert shown in text, (shown, text)
    assert "••" not in text
    # The consents given, as the questions asked them, in the reader's language; no step ids.
    consents = text[text.index("Consents you gave:") :].split("\n\n")[0]
    for step_id in ("consent", "sensitive_consent"):
        asked = " ".join(fill(DEFAULT.step(step_id).text["en"], DEFAULTS).split())
        assert asked in consents, (asked, consents)
    assert "sensitive_consent" not in text and "- consent" not in text
    for step_id in ("name", "county", "phone"):
        assert f"{step_id}:" not in text and f"- {step_id}\n" not in text

    # Somebody else gets only their own (empty) record.
    other = tg.user(4007, language_code="en", first_name="Ma")
    await other.send("/mydata")
    await wait_until(lambda: other.messages, what="the stranger's file")
    theirs = (other.messages[-1].document_bytes or b"").decode("utf-8")
    assert "We hold no application from you." in theirs
    assert ref not in theirs and "Li Hua" not in theirs and phone_of(ap) not in theirs


DISTINCT_NAME = "Qurbanjan Zhyx-9K2"
DISTINCT_COUNTY = "Wuxqiang-County-7Q"


async def test_delete_erases_a_draft_leaving_no_trace_in_the_file(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    ap = tg.user(4008, language_code="en", first_name="Qurbanjan")
    answers = {"name": DISTINCT_NAME, "county": DISTINCT_COUNTY}
    await walk(r, ap, answers, until="village")
    [draft] = await r.store.intakes.for_applicant(ap.id)
    assert draft.state.answers["name"] == DISTINCT_NAME  # really stored before /delete

    # "No" keeps it.
    confirm = (await ap.ask("/delete"))[-1]
    assert "Delete your unfinished application" in confirm.text
    await ap.tap("No, keep them", confirm)
    await ap.wait_reply()
    assert (await r.store.intakes.for_applicant(ap.id))[0].id == draft.id

    confirm = (await ap.ask("/delete"))[-1]
    data = confirm.button_data["🗑 Yes, delete my answers"]
    assert data == f"d:{draft.id}:y"
    await ap.tap("🗑 Yes, delete my answers", confirm)
    replies = await ap.wait_reply()
    assert "were deleted" in replies[-1].text
    assert await r.store.intakes.for_applicant(ap.id) == []
    assert await r.store.intakes.consents(draft.id) == []
    assert [a.action for a in await r.store.audit.recent(action="draft.erased")] == ["draft.erased"]
    for conn in ("_reader", "_writer"):  # deleted rows are overwritten, on every connection
        cursor = await getattr(r.store.db, conn).execute("PRAGMA secure_delete")
        assert (await cursor.fetchone())[0] == 1
    absent(db, DISTINCT_NAME, DISTINCT_COUNTY)
    await r.stop()
    absent(db, DISTINCT_NAME, DISTINCT_COUNTY)

    # Replaying the old confirmation changes nothing and reveals nothing.
    await r.start()
    await ap.tap_data(data, confirm.message_id)
    replies = await ap.wait_reply()
    assert [m.text for m in replies] == ["There is no unfinished application to delete."]


async def request_deletion(ap: FakeUser, ref: str) -> None:
    menu = (await ap.ask("/delete"))[-1]
    assert "caseworker completes its deletion" in menu.text
    await ap.tap(f"🗑 Ask to delete {ref}", menu)
    replies = await ap.wait_reply()
    assert f"Your request to delete <b>{ref}</b> was passed to a caseworker" in replies[-1].text
    again = (await ap.ask("/delete"))[-1]
    assert "already with a caseworker" in again.text and not again.buttons


async def test_delete_of_a_sent_intake_is_completed_by_a_caseworker(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    ap = tg.user(4009, language_code="en", first_name="Qurbanjan")
    ref = await submit(r, ap, {"name": DISTINCT_NAME, "county": DISTINCT_COUNTY})
    iid = (await intake_row(r, ref))["id"]
    await request_deletion(ap, ref)
    group = tg.group(GROUP)  # the group reads the default language (zh)
    await wait_until(lambda: len(with_text(group, ref)) == 2, what="the group told of the request")
    assert (await intake_row(r, ref))["deletion_requested_at"]

    cw = caseworker(tg)
    card = (await cw.ask(f"/open {ref}"))[-1]
    assert "🗑 Erase the data" in card.buttons and "Refuse deletion" in card.buttons
    await cw.tap("🗑 Erase the data", card)
    replies = await cw.wait_reply()
    assert f"The data of <b>{ref}</b> was erased" in replies[-1].text
    await arrives(ap, ref, "your data in application", "has been deleted")

    row = await intake_row(r, ref)
    assert row["anonymised_at"] and row["applicant_id"] == 0 and row["chat_id"] == 0
    case = await r.store.cases.get(iid)
    assert case is not None and case.state.answers == {}
    changes = [a.action for a in await r.store.audit.for_intake(iid) if a.action not in READS]
    assert changes[-2:] == ["deletion.requested", "intake.erased"]
    assert await r.store.intakes.for_applicant(ap.id) == []
    await outbox_empty(r)
    absent(db, DISTINCT_NAME, DISTINCT_COUNTY, phone_of(ap))
    # The erased intake no longer offers erasure, nor a second request.
    card = (await cw.ask(f"/open {ref}"))[-1]
    assert "🗑 Erase the data" not in card.buttons
    replies = await ap.ask("/delete")
    assert [m.text for m in replies] == ["We hold no application from you. Nothing to delete."]


async def test_a_caseworker_may_refuse_deletion_with_a_reason(tg: FakeTelegram, r: Running) -> None:
    ap = tg.user(4010, language_code="en", first_name="Ma")
    ref = await submit(r, ap, {"name": "Ma Li"})
    iid = (await intake_row(r, ref))["id"]
    await request_deletion(ap, ref)
    cw = caseworker(tg)
    card = (await cw.ask(f"/open {ref}"))[-1]
    await cw.tap("Refuse deletion", card)
    prompt = (await cw.wait_reply())[-1]
    assert f"Type why the data of <b>{ref}</b> must be kept" in prompt.text
    replies = await cw.ask("The case is still open in court <appeal> & more")
    assert f"The applicant of <b>{ref}</b> was told why their data is kept." in replies[-1].text
    told = await arrives(ap, ref, "was refused")
    assert "Reason: The case is still open in court &lt;appeal&gt; &amp; more" in told.text

    row = await intake_row(r, ref)
    assert row["deletion_requested_at"] is None and row["anonymised_at"] is None
    case = await r.store.cases.get(iid)
    assert case is not None and case.state.answers["name"] == "Ma Li"
    actions = [a.action for a in await r.store.audit.for_intake(iid) if a.action not in READS]
    assert actions[-2:] == ["deletion.requested", "deletion.refused"]
    # The applicant may ask again later.
    menu = (await ap.ask("/delete"))[-1]
    assert f"🗑 Ask to delete {ref}" in menu.buttons


# --- 4. retention -----------------------------------------------------------------------


async def stored_intake(r: Running, user_id: int, name: str) -> int:
    """A submitted intake written directly (the interview is not what is tested here)."""
    answers = {"consent": True, "name": name, "phone": "13700000000"}
    intake_id, _ref = await sent_intake(r.store, answers, applicant=user_id, lang="en")
    return intake_id


async def test_retention_anonymises_decided_intakes_and_expires_idle_drafts(
    tg: FakeTelegram, r: Running
) -> None:
    work, keeper = r.services.casework, r.services.housekeeping  # type: ignore[union-attr]
    decided = await stored_intake(r, 5001, "Decided Person")
    approved = await stored_intake(r, 5002, "Approved Person")
    still_open = await stored_intake(r, 5003, "Open Person")
    in_review = await stored_intake(r, 5004, "Reviewed Person")
    await work.claim(CW, decided)
    await work.decline(CW, decided, "compensated")
    await work.claim(CW, approved)
    await work.approve(CW, approved, "3000")
    await work.claim(CW, in_review)

    assert await keeper.anonymise_decided() == 0  # within the retention period: kept
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=r.settings.retain_days + 1)
    assert await keeper.anonymise_decided(now=future) == 2
    for iid in (decided, approved):
        case = await r.store.cases.get(iid)
        assert case is not None and case.anonymised_at and case.state.answers == {}
        assert case.applicant_id == 0
        assert [a.action for a in await r.store.audit.for_intake(iid)][-1] == "intake.anonymised"
    row = await r.store.db.fetchone(
        "SELECT amount_fen, decision_reason FROM intakes WHERE id = ?", (approved,)
    )
    assert row is not None and row["amount_fen"] == 300000  # the figures stay
    row = await r.store.db.fetchone(
        "SELECT status, decision_reason FROM intakes WHERE id = ?", (decided,)
    )
    assert row is not None and tuple(row) == ("declined", "compensated")
    for iid, name in ((still_open, "Open Person"), (in_review, "Reviewed Person")):
        case = await r.store.cases.get(iid)
        assert case is not None and case.anonymised_at is None
        assert case.state.answers["name"] == name and case.state.answers["phone"] == "13700000000"
    assert await keeper.anonymise_decided(now=future) == 0  # done once

    # Drafts idle for longer than the set number of days are closed, answers erased.
    ap = tg.user(4011, language_code="en", first_name="Li")
    await walk(r, ap, {"name": "Idle Draft"}, until="birth_date")
    assert await keeper.expire_drafts() == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=await keeper.draft_days() + 1)
    assert await keeper.expire_drafts(now=later) == 1
    [gone] = await r.store.intakes.for_applicant(ap.id)
    assert gone.status == "expired" and gone.state.answers == {}
    assert "draft.expired" in [a.action for a in await r.store.audit.for_intake(gone.id)]
    await arrives(ap, "was not finished for", "/start")

    # Both run on a schedule.
    jobs = [job.callback.__name__ for job in r.app.job_queue.jobs()]  # type: ignore[attr-defined]
    assert "_housekeeping" in jobs


# --- 5. logs ----------------------------------------------------------------------------


async def interview_and_casework(tg: FakeTelegram, r: Running) -> tuple[str, ...]:
    """A whole interview, casework around it, /mydata and an error path; returns what
    must not be logged."""
    ap = tg.user(4012, language_code="en", first_name="Li")
    phone = phone_of(ap)
    story = "Zyxwv-Secret-Story-88"
    ref = await submit(r, ap, {"name": DISTINCT_NAME, "description": story})
    cw = caseworker(tg)
    await cw.ask(f"/open {ref}")
    await cw.tap("🙋 Claim")
    await cw.wait_reply()
    await cw.tap("❓ Ask the applicant")
    await cw.wait_reply()
    await cw.ask("Do you have the hospital bill?")
    await arrives(ap, "Do you have the hospital bill?")
    await ap.send(f"Yes, call me on {phone}")
    await ap.tap("✔️ Done: send my answer", await arrives(ap, "Received for application"))
    await arrives(cw, "The applicant replied")
    await ap.ask("/mydata")
    await outbox_empty(r)
    tg.fail_next("sendMessage", status=400, count=1)  # an error path, logged with a traceback
    await ap.send("/status")
    await arrives(ap, "Sorry, something went wrong")
    return (TOKEN, TOKEN.split(":")[1], phone, phone[-8:], DISTINCT_NAME, story)


def leaks(records: list[logging.LogRecord], secrets: tuple[str, ...]) -> list[str]:
    found = []
    for rec in records:
        text = rec.getMessage() + (rec.exc_text or "")
        if rec.exc_info:
            text += logging.Formatter().formatException(rec.exc_info)
        found += [
            f"{secret!r} in {rec.name} {rec.levelname}" for secret in secrets if secret in text
        ]
    return found


async def test_logs_carry_no_token_no_phone_and_no_answer(
    tg: FakeTelegram, r: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """Our own code at DEBUG, the libraries at the production level (INFO), httpx as
    ``intake-bot run`` sets it (WARNING: its request lines carry the token)."""
    configure_logging(r.settings)
    caplog.set_level(logging.DEBUG)
    for library in ("telegram", "aiosqlite", "tornado", "asyncio"):
        caplog.set_level(logging.INFO, logger=library)
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING

    secrets = await interview_and_casework(tg, r)
    assert any(rec.name.startswith(("bot.", "handlers.")) for rec in caplog.records)
    assert any(rec.levelno >= logging.ERROR for rec in caplog.records), "no error path ran"
    assert leaks(caplog.records, secrets) == []


async def test_logs_carry_no_answer_even_at_debug_level(
    tg: FakeTelegram, r: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    configure_logging(Settings(token=TOKEN, log_level="DEBUG"))
    secrets = await interview_and_casework(tg, r)
    assert leaks(caplog.records, secrets) == []
