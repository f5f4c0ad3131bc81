"""Personal data at rest (issue 30, findings 1 and 13).

Everything a person answered, and every message, clue, referral text and reason about them,
is sealed in the database; only the choice codes a flow keeps for statistics stay plain.
The checks read the bytes of the SQLite file, its WAL and its shared-memory index, as
someone who copied them would (``grep``). Beside them: the files' modes, the key from a
passphrase (scrypt with a stored salt), a database left by the previous version (answers
in the clear, a passphrase key made by one unsalted SHA-256) brought to the new format in
place, and erasure taking the person's Telegram id out of the audit trail and ``users``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import sqlite3
import stat
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.casework.measure_terms import MeasureState
from bot.crypto import SecretKeyError, key_file_for
from bot.flow.engine import Screening, State
from bot.flow.loader import default_flow_source
from bot.store import Store
from bot.store.db import migrations
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram
from tests.helpers import old_referral, wait_until
from tests.test_privacy import (
    CW,
    GROUP,
    PARTNER,
    arrives,
    caseworker,
    outbox_empty,
    phone_of,
    raw_bytes,
    submit,
    walk,
)

PASSPHRASE = "correct horse battery staple"


def found(db: Path, *needles: str) -> list[str]:
    """Which of ``needles`` are in the clear (UTF-8 or UTF-16) in the database's files."""
    out = []
    for name, data in raw_bytes(db).items():
        for needle in needles:
            if needle.encode() in data or needle.encode("utf-16-le") in data:
                out.append(f"{needle!r} in {name}")
    return out


def modes(db: Path) -> dict[str, int]:
    return {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
        if p.exists()
    }


@pytest.fixture
async def r(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(
        tg, make_settings(tg, tmp_path / "intake.db", caseworker_chat=GROUP, rate_limit=0)
    )
    await running.start()
    try:
        await running.store.roles.grant(CW, "caseworker")
        await running.store.roles.grant(PARTNER, "partner", label="County Bureau")
        running.app.bot_data["sender"].idle = 0.1  # type: ignore[attr-defined]
        yield running
    finally:
        await running.stop()


# --- 1. what a person answered ----------------------------------------------------------

CHILD_BORN = (dt.date.today() - dt.timedelta(days=10 * 365 + 40)).isoformat()
TYPED = {
    "name": "Aynur Tohtiwa-Q7",
    "birth_date": CHILD_BORN,
    "guardian_name": "Guli Ahmatjan-R3",
    "guardian_relation": "Aunt-By-Marriage-X9",
    "id_number": "43032119681102001X",
    "county": "Shufu-Xian-K4",
    "township": "Tokzak-Zhen-M8",
    "village": "Bostan-Cun-P2",
    "case_number": "Shu-Jian-2024-4471",
    "household_size": "7",
    "earners": "2",
    "monthly_income": "483917.5",
    "description": "Hit by a tractor driver who fled, Z5-story",
}


async def test_no_answer_of_the_interview_is_in_the_clear_in_the_files(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    ap = tg.user(4101, language_code="en", first_name="Aynur")
    ref = await submit(r, ap, TYPED)
    [intake] = await r.store.intakes.for_applicant(ap.id)
    answers = intake.state.answers
    # Every one of them was asked and is stored, readable through the store.
    for step in (
        "name",
        "birth_date",
        "guardian_name",
        "id_number",
        "county",
        "village",
        "case_number",
    ):
        assert answers[step] == TYPED[step], step
    assert answers["description"] == TYPED["description"]
    assert answers["monthly_income"] == 483917.5 and answers["phone"] == phone_of(ap)
    [photo] = answers["documents"]
    secrets = [
        *(v for k, v in TYPED.items() if k not in ("household_size", "earners")),
        phone_of(ap),
        photo["file_id"],
        photo["unique"],
    ]
    await wait_until(lambda: tg.group(GROUP).messages, what="the group's alert")
    await outbox_empty(r)
    assert found(db, *secrets) == []
    assert modes(db) == {"intake.db": 0o600, "intake.db-wal": 0o600, "intake.db-shm": 0o600}

    # The choice codes kept for statistics are plain, beside the sealed state, and counted.
    row = await r.store.db.fetchone(
        "SELECT state, plain_answers FROM intakes WHERE ref = ?", (ref,)
    )
    assert row is not None and isinstance(row["state"], bytes)
    plain = json.loads(row["plain_answers"])
    stats = ("rural", "what_happened", "authority", "groups", "help_wanted")
    assert plain == {k: answers[k] for k in stats}
    assert plain["groups"] == ["monitored"]  # the first choice, as walk() taps
    assert await r.store.stats.by_answer("groups") == {"monitored": 1}
    assert await r.store.stats.by_answer("county") == {}  # free text is never counted

    await r.stop()
    assert found(db, *secrets) == []
    await r.start()
    [again] = await r.store.intakes.for_applicant(ap.id)
    assert again.state == intake.state


# --- 2. what is said and done about them ------------------------------------------------

QUESTION = "Do you still have the Q-hospital-bill-7731?"
REPLY = "Yes, the R-bill-from-Kashgar-5520 is here"
NOTE = "N-village-head-vouches-3391"
REQUEST = "Req-please-visit-the-Tohti-family-8841"
RETURNED = "Ret-not-our-county-6612"
WHY_NOT = "Why-the-family-moved-away-5127"
OLD_REQUEST = "Old-req-check-monitoring-3390"
DECLINED = "Dec-injured-at-work-not-a-crime-2290"
CLUE = {"who": "Clue-Who-Memet-Ali-1177", "where": "Clue-Where-Yengi-Cun-4455", "what": "Clue-What"}
TYPING = "Pend-Who-Half-Typed-9981"


async def test_casework_texts_are_not_in_the_clear_in_the_files(
    tg: FakeTelegram, r: Running, tmp_path: Path
) -> None:
    db = tmp_path / "intake.db"
    work = r.services.casework  # type: ignore[union-attr]
    ap = tg.user(4102, language_code="en", first_name="Li")
    ref = await submit(r, ap, {"name": "Li Hua"})
    [intake] = await r.store.intakes.for_applicant(ap.id)

    # A question and the applicant's reply, through the chat.
    cw = caseworker(tg)
    await cw.ask(f"/open {ref}")
    await cw.tap("🙋 Claim")
    await cw.wait_reply()
    await cw.tap("❓ Ask the applicant")
    await cw.wait_reply()
    await cw.ask(QUESTION)
    await arrives(ap, QUESTION)
    await ap.send(REPLY)
    await ap.tap("✔️ Done: send my answer", await arrives(ap, "Received for application"))
    await arrives(cw, "The applicant replied")
    await work.note(CW, intake.id, NOTE)

    # A referral (a measure of the plan) and why it is not possible; an old referral and
    # its return; a partner's clue, and one being typed; a decline in words.
    measure = await work.refer(CW, intake.id, PARTNER, REQUEST)
    await work.plans.change(PARTNER, [measure.id], MeasureState.NOT_POSSIBLE, WHY_NOT)
    referral = await old_referral(r.store, intake.id, CW, PARTNER, OLD_REQUEST)
    await work.return_referral(PARTNER, referral.id, RETURNED)
    clue_ref = await work.send_clue(PARTNER, CLUE)
    await r.store.pending.set(PARTNER, "p_clue", data={"who": TYPING})
    await work.decline(CW, intake.id, DECLINED)
    await outbox_empty(r)

    texts = (QUESTION, REPLY, NOTE, REQUEST, WHY_NOT, OLD_REQUEST, RETURNED, DECLINED, TYPING)
    texts = (*texts, *CLUE.values())
    assert found(db, *texts) == []
    await r.stop()
    assert found(db, *texts) == []

    # All of it reads back through the store, as the cards and /mydata show it.
    await r.start()
    talk = [(e.kind, e.body) for e in await r.store.cases.conversation(intake.id)]
    assert talk == [("question", QUESTION), ("reply", REPLY), ("note", NOTE)]
    [back] = await r.store.cases.referrals(intake.id)
    assert (back.request, back.status, back.outcome) == (OLD_REQUEST, "returned", RETURNED)
    [kept] = await r.store.measures.of_intake(intake.id)
    assert (kept.kind_text, kept.state, kept.reason) == (REQUEST, "not_possible", WHY_NOT)
    case = await r.store.cases.get(intake.id)
    assert case is not None and case.decision_reason == DECLINED
    clue = await r.store.intakes.by_ref(clue_ref)
    assert clue is not None
    clue_case = await r.store.cases.get(clue.id)
    assert clue_case is not None and clue_case.clue == CLUE
    typing = await r.store.pending.get(PARTNER)
    assert typing is not None and typing.data == {"who": TYPING}
    mine = (await arrives(ap, "was not approved")).text
    assert DECLINED in mine


# --- 3. the files' modes ----------------------------------------------------------------


async def test_the_database_and_its_wal_and_shm_are_private_to_the_bots_user(
    tmp_path: Path,
) -> None:
    db = tmp_path / "intake.db"
    store = await Store.open(db)
    try:
        await store.users.set_language(1, "en")
        assert modes(db) == {"intake.db": 0o600, "intake.db-wal": 0o600, "intake.db-shm": 0o600}
    finally:
        await store.close()
    # A database an earlier version made readable by everyone is narrowed at the next start.
    db.chmod(0o644)
    store = await Store.open(db)
    try:
        await store.users.set_language(1, "ug")
        assert modes(db) == {"intake.db": 0o600, "intake.db-wal": 0o600, "intake.db-shm": 0o600}
    finally:
        await store.close()


# --- 4. the key from a passphrase -------------------------------------------------------


async def test_a_passphrase_goes_through_scrypt_with_a_salt_kept_in_the_database(
    tmp_path: Path,
) -> None:
    from bot.crypto import Kdf  # new with this change: the other tests run without it

    db = tmp_path / "intake.db"
    store = await Store.open(db, secret=PASSPHRASE)
    try:
        await store.pending.set(7, "p_clue", data={"who": "Salted-Who-4412"})
        row = await store.db.fetchone("SELECT value FROM settings WHERE key = 'kdf'")
        assert row is not None
        kdf = Kdf.from_json(row["value"])
        assert len(kdf.salt) == 16 and kdf.n >= 2**14
    finally:
        await store.close()
    assert not key_file_for(str(db)).exists()

    # The same passphrase and the stored salt open it again.
    store = await Store.open(db, secret=PASSPHRASE)
    try:
        typed = await store.pending.get(7)
        assert typed is not None and typed.data == {"who": "Salted-Who-4412"}
    finally:
        await store.close()

    # The key depends on the salt: another salt gives another key, and neither is the
    # unsalted SHA-256 an earlier version used.
    other = Kdf(bytes(16), kdf.n, kdf.r, kdf.p)
    assert kdf.derive(PASSPHRASE) != other.derive(PASSPHRASE)
    assert kdf.derive(PASSPHRASE) != hashlib.sha256(PASSPHRASE.encode()).digest()
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE settings SET value = ? WHERE key = 'kdf'", (other.to_json(),))
    with pytest.raises(SecretKeyError, match="INTAKE_SECRET_KEY"):
        await Store.open(db, secret=PASSPHRASE)
    with pytest.raises(SecretKeyError):
        await Store.open(db, secret="not the passphrase")


# --- 5. a database left by the previous version ------------------------------------------

OLD = {
    "name": "Old-Name-Tursun-5531",
    "county": "Old-County-Yarkand-2284",
    "story": "Old-Story-beaten-at-market-7710",
    "born": "1961-07-19",
    "question": "Old-Question-receipt-3306",
    "reply": "Old-Reply-lost-it-4417",
    "request": "Old-Request-seedlings-5528",
    "outcome": "Old-Outcome-delivered-6639",
    "reason": "Old-Reason-compensated-by-court-7740",
    "clue": "Old-Clue-Who-Hasan-8851",
    "typing": "Old-Typing-amount-9962",
    "preview": "Old-Preview-answer-1073",
    "draft": "Old-Draft-answer-2184",
    "notice": "Old-Notice-text-3295",
}
OLD_PHONE = "13912345678"
ERASED = 6001  # a person whose draft the previous version erased


def legacy_database(db: Path, fernet: Fernet) -> None:
    """A database as the previous version left it: schema 4; answers in the clear but the
    phone (a Fernet token of its own); conversation, referral texts, clue, reason and
    pending data in the clear; a queued notification sealed with Fernet; the key check a
    Fernet token as TEXT; an erased draft's audit rows and users row with the person's id."""

    def sealed(value: Any) -> dict[str, str]:
        return {"$enc": fernet.encrypt(json.dumps(value).encode()).decode()}

    at = "2025-01-02T03:04:05Z"
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        for number, name, sql in migrations()[:4]:
            conn.executescript(
                f"BEGIN;\n{sql}\nINSERT INTO schema_migrations VALUES ({number}, '{name}', '{at}');"
                f"\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        run = conn.execute
        run("BEGIN")
        run(
            "INSERT INTO flows (flow_id, version, source, published_at, is_current, current_seq)"
            " VALUES ('judicial-assistance', 1, ?, ?, 1, 1)",
            (default_flow_source(), at),
        )
        for user in (5001, 5002, ERASED):
            run("INSERT INTO users (user_id, lang, created_at) VALUES (?, 'en', ?)", (user, at))
        answers = {
            "name": OLD["name"],
            "birth_date": OLD["born"],
            "county": OLD["county"],
            "description": OLD["story"],
            "phone": sealed(OLD_PHONE),
            "groups": ["veteran", "minor"],
            "rural": "yes",
        }
        state = {"answers": answers, "current": None, "path": list(answers), "pending": []}
        run(
            "INSERT INTO intakes (id, ref, flow_id, flow_version, applicant_id, chat_id, lang,"
            " status, state, created_at, updated_at, submitted_at, decision_reason, decided_at)"
            " VALUES (1, 'AAA-CCC', 'judicial-assistance', 1, 5001, 5001, 'en', 'declined', ?,"
            " ?, ?, ?, ?, ?)",
            (json.dumps(state), at, at, at, OLD["reason"], at),
        )
        draft = {"answers": {"name": OLD["draft"]}, "current": "birth_date", "path": ["name"]}
        run(
            "INSERT INTO intakes (id, flow_id, flow_version, applicant_id, chat_id, lang, status,"
            " state, current_step, created_at, updated_at) VALUES (2, 'judicial-assistance', 1,"
            " 5002, 5002, 'en', 'draft', ?, 'birth_date', ?, ?)",
            (json.dumps(draft), at, at),
        )
        run(
            "INSERT INTO intakes (id, ref, flow_id, flow_version, applicant_id, chat_id, lang,"
            " status, state, created_at, updated_at, submitted_at, is_clue, clue) VALUES (3,"
            " 'DDD-EEE', 'judicial-assistance', 1, ?, ?, 'en', 'submitted', ?, ?, ?, ?, 1, ?)",
            (
                PARTNER,
                PARTNER,
                json.dumps({"answers": {}}),
                at,
                at,
                at,
                json.dumps({"who": OLD["clue"]}),
            ),
        )
        run(
            "INSERT INTO messages (intake_id, at, author, kind, body) VALUES"
            " (1, ?, ?, 'question', ?), (1, ?, 5001, 'reply', ?)",
            (at, CW, OLD["question"], at, OLD["reply"]),
        )
        run(
            "INSERT INTO referrals (intake_id, partner_id, status, request, outcome, created_by,"
            " created_at, updated_at) VALUES (1, ?, 'done', ?, ?, ?, ?, ?)",
            (PARTNER, OLD["request"], OLD["outcome"], CW, at, at),
        )
        run(
            "INSERT INTO pending (user_id, kind, intake_id, data, created_at)"
            " VALUES (?, 'cw_amount', 1, ?, ?)",
            (CW, json.dumps({"amount": OLD["typing"]}), at),
        )
        token = fernet.encrypt(OLD["notice"].encode()).decode()
        run(
            "INSERT INTO outbox (chat_id, text, created_at, next_at) VALUES (5001, ?, ?, ?)",
            ("$enc:" + token, at, at),
        )
        run(
            "INSERT INTO flow_uploads (id, admin_id, source, uploaded_at) VALUES (1, 1, ?, ?)",
            (default_flow_source(), at),
        )
        preview = {"answers": {"name": OLD["preview"]}, "current": "birth_date", "path": ["name"]}
        run(
            "INSERT INTO previews (user_id, upload_id, state, started_at) VALUES (1, 1, ?, ?)",
            (json.dumps(preview), at),
        )
        run(
            "INSERT INTO audit (at, actor, action, intake_id, detail) VALUES"
            " (?, ?, 'intake.started', NULL, '{}'), (?, ?, 'draft.erased', NULL, ?),"
            " (?, 5001, 'intake.submitted', 1, '{}'), (?, ?, 'intake.declined', 1, '{}')",
            (at, ERASED, at, ERASED, '{"reason": "applicant_deleted"}', at, at, CW),
        )
        run(
            "INSERT INTO settings (key, value, changed_at) VALUES ('key_check', ?, ?)",
            (json.dumps(sealed("ok")), at),
        )
        run("COMMIT")


@pytest.mark.parametrize("keyed_by", ["passphrase", "key file"])
async def test_a_database_of_the_previous_version_is_sealed_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, keyed_by: str
) -> None:
    db = tmp_path / "intake.db"
    if keyed_by == "passphrase":
        secret: str | None = PASSPHRASE
        old_key = base64.urlsafe_b64encode(hashlib.sha256(PASSPHRASE.encode()).digest())
    else:
        secret = None
        old_key = Fernet.generate_key()
        key_file_for(str(db)).write_text(old_key.decode() + "\n", encoding="ascii")
    legacy_database(db, Fernet(old_key))
    assert found(db, OLD["name"], OLD["question"])  # the search works on the old file

    caplog.set_level(logging.INFO)
    store = await Store.open(db, secret=secret)
    try:
        # Everything reads back as before.
        [sent] = await store.intakes.for_applicant(5001)
        assert sent.state.answers["name"] == OLD["name"]
        assert sent.state.answers["phone"] == OLD_PHONE
        case = await store.cases.get(1)
        assert case is not None and case.decision_reason == OLD["reason"]
        talk = [e.body for e in await store.cases.conversation(1)]
        assert talk == [OLD["question"], OLD["reply"]]
        [referral] = await store.cases.referrals(1)
        assert (referral.request, referral.outcome) == (OLD["request"], OLD["outcome"])
        clue = await store.cases.get(3)
        assert clue is not None and clue.clue == {"who": OLD["clue"]}
        typing = await store.pending.get(CW)
        assert typing is not None and typing.data == {"amount": OLD["typing"]}
        [queued] = await store.outbox.due()
        assert queued.text == OLD["notice"]
        draft = (await store.intakes.load_for_applicant(5002)).draft
        assert draft is not None and draft.state.answers == {"name": OLD["draft"]}
        preview = (await store.intakes.load_for_applicant(1)).draft
        assert preview is not None and preview.state.answers == {"name": OLD["preview"]}
        # Statistics count the choice codes of the sent intake as before.
        assert await store.stats.by_answer("groups") == {"veteran": 1, "minor": 1}
        # The erased draft's person is gone from the audit trail and from users.
        actors = [a.actor for a in await store.audit.recent()]
        assert ERASED not in actors and CW in actors and 5001 in actors
        assert await store.db.fetchone("SELECT 1 FROM users WHERE user_id = ?", (ERASED,)) is None
    finally:
        await store.close()

    # None of the old plain bytes is left in the file or its WAL.
    assert found(db, *OLD.values(), OLD_PHONE) == []
    said = [rec.getMessage() for rec in caplog.records if rec.name.startswith("bot.")]
    assert any("sealed again in place" in m for m in said), said
    assert (keyed_by == "passphrase") == any("re-keying" in m for m in said), said
    assert not any(PASSPHRASE in m or old_key.decode() in m for m in said)

    # Opened again with the same secret: readable, and nothing more to do.
    caplog.clear()
    store = await Store.open(db, secret=secret)
    try:
        [sent] = await store.intakes.for_applicant(5001)
        assert sent.state.answers["county"] == OLD["county"]
    finally:
        await store.close()
    assert not any("sealed again" in rec.getMessage() for rec in caplog.records)
    if keyed_by == "passphrase":
        # Re-keyed: the old unsalted derivation (given as the key it made) opens nothing.
        with pytest.raises(SecretKeyError):
            await Store.open(db, secret=old_key.decode())


# --- 6. erasure -------------------------------------------------------------------------


async def person_traces(r: Running, user_id: int) -> dict[str, list[Any]]:
    """Rows that still carry the person's Telegram id."""
    db = r.store.db
    audit = await db.fetchall("SELECT action, detail FROM audit WHERE actor = ?", (user_id,))
    details = await db.fetchall(
        "SELECT action, detail FROM audit WHERE detail LIKE ?", (f"%{user_id}%",)
    )
    users = await db.fetchall("SELECT user_id FROM users WHERE user_id = ?", (user_id,))
    return {
        "audit": [tuple(a) for a in audit],
        "detail": [tuple(d) for d in details],
        "users": [tuple(u) for u in users],
    }


NOTHING: dict[str, list[Any]] = {"audit": [], "detail": [], "users": []}


async def test_delete_of_a_draft_leaves_no_row_with_the_persons_id(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4103, language_code="en", first_name="Qurbanjan")
    await walk(r, ap, {"name": "Qurbanjan Q"}, until="village")
    assert (await person_traces(r, ap.id))["audit"]  # the draft's start names them
    confirm = (await ap.ask("/delete"))[-1]
    await ap.tap("🗑 Yes, delete my answers", confirm)
    replies = await ap.wait_reply()
    assert "were deleted" in replies[-1].text
    assert await person_traces(r, ap.id) == NOTHING
    erased = await r.store.audit.recent(action="draft.erased")
    assert [(a.actor, a.detail) for a in erased] == [(None, {"reason": "applicant_deleted"})]

    # Declining the consent erases the draft the same way; the tap delivered again is
    # still known as applied (answered once), though their row is gone.
    other = tg.user(4104, language_code="en", first_name="Ma")
    await other.ask("/start")
    before = len(other.messages)
    tg.duplicate_next_update()
    await other.tap("I do not agree")
    await other.wait_reply()
    await tg.wait_idle()
    assert [m.text for m in other.messages[before:]] == [
        "You did not agree, so nothing was saved.\n\n"
        "You can still apply without this chat: in person at the service hall of your county"
        " procuratorate, or by phone on 12309.\n\n"
        "If you change your mind, send /start."
    ]
    assert await person_traces(r, other.id) == NOTHING

    # What lets it be recognised is a keyed hash of the id, not the id, kept two days.
    tags = [row["tag"] for row in await r.store.db.fetchall("SELECT tag FROM erased")]
    assert len(tags) == 2 and all(str(ap.id).encode() not in t for t in tags)
    keeper = r.services.housekeeping  # type: ignore[union-attr]
    assert await keeper.forget_erased() == 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    assert await keeper.forget_erased(now=later) == 2


async def sent_intake(r: Running, user_id: int, name: str, *, update_id: int) -> int:
    """A submitted intake written directly (the interview is not what is tested here)."""
    flow = await r.store.flows.active()
    state = State(answers={"consent": True, "name": name, "phone": "13700000000"})
    draft = await r.store.intakes.create_draft(
        applicant_id=user_id,
        chat_id=user_id,
        lang="en",
        flow=flow,
        state=state,
        update_id=update_id,
    )
    assert draft is not None
    ref = await r.store.intakes.submit(draft, state, Screening((), (), 0, ()), update_id + 1)
    assert ref is not None
    return draft.id


async def test_erasure_of_a_sent_intake_leaves_no_row_with_the_persons_id(
    tg: FakeTelegram, r: Running
) -> None:
    ap = tg.user(4105, language_code="en", first_name="Li")
    ref = await submit(r, ap, {"name": "Li Erased"})
    intake_id = (await r.store.intakes.by_ref(ref)).id  # type: ignore[union-attr]
    await r.services.casework.request_deletion(ap.id, intake_id)  # type: ignore[union-attr]
    await r.services.casework.erase(CW, intake_id)  # type: ignore[union-attr]
    assert await person_traces(r, ap.id) == NOTHING
    actors = [a.actor for a in await r.store.audit.for_intake(intake_id)]
    assert CW in actors  # staff stay in the trail

    # Someone with another application keeps their row until that one goes too.
    first = await sent_intake(r, 6002, "Ma One", update_id=1)
    second = await sent_intake(r, 6002, "Ma Two", update_id=3)
    for intake_id in (first, second):
        await r.services.casework.request_deletion(6002, intake_id)  # type: ignore[union-attr]
        await r.services.casework.erase(CW, intake_id)  # type: ignore[union-attr]
        left = await person_traces(r, 6002)
        assert left["users"] == ([(6002,)] if intake_id == first else [])
    assert await person_traces(r, 6002) == NOTHING
