"""Intakes: drafts being answered, and submitted intakes on their way to a decision.

The applicant's hot path is two awaited calls: ``load_for_applicant`` (one
read: the user's chosen language and their open draft) and ``save_state``
(one autocommit UPDATE that is also the duplicate check: it only applies
when the Telegram update is newer than the last one applied to the draft).
The view a save produced is kept (bot/store/views.py), so the next answer
usually finds it without the read.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import jsoncodec
from bot.channels import TELEGRAM
from bot.crypto import Cipher, open_answers
from bot.flow.engine import Screening, State
from bot.flow.model import Flow
from bot.lookup import terms
from bot.store import lookup
from bot.store.audit import record
from bot.store.backend import Backend, Tx
from bot.store.db import NOBODY, Guard, Touches, now_iso
from bot.store.files import forget_files
from bot.store.flows import FlowNotFound, FlowStore
from bot.store.outbox import OutMessage, enqueue
from bot.store.users import forget_user

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: a reference is read out over the phone.
REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
OPEN_STATUSES = ("submitted", "in_review", "awaiting_applicant")
FINAL_STATUSES = ("approved", "declined", "withdrawn", "expired")


def new_ref() -> str:
    code = "".join(secrets.choice(REF_ALPHABET) for _ in range(6))
    return f"{code[:3]}-{code[3:]}"


@dataclass
class Intake:
    id: int
    ref: str | None
    flow_id: str
    flow_version: int
    applicant_id: int
    chat_id: int
    lang: str
    status: str
    state: State
    last_update_id: int
    created_at: str
    updated_at: str
    submitted_at: str | None = None
    screening: Screening | None = None
    priority: int = 0
    is_test: bool = False
    is_preview: bool = False  # an admin trying an uploaded flow: not an intake at all
    channel: str = TELEGRAM  # how the applicant reached the bot (bot/channels.py)

    def answered(self, state: State, update_id: int, at: str) -> Intake:
        """This draft after an answer was saved. What ``dataclasses.replace`` gives, without
        its walk over the fields, a third of the cost, once per answer."""
        return Intake(
            **{
                **self.__dict__,
                "state": state,
                "last_update_id": max(self.last_update_id, update_id),
                "updated_at": at,
            }
        )


_COLUMNS = (
    "i.id, i.ref, i.flow_id, i.flow_version, i.applicant_id, i.chat_id, i.lang, i.status,"
    " i.state, i.last_update_id, i.created_at, i.updated_at, i.submitted_at, i.screening,"
    " i.priority, i.is_test, i.channel"
)


def _state(raw: str | bytes, cipher: Cipher | None) -> State:
    if isinstance(raw, bytes):
        if cipher is None:
            raise ValueError("a sealed state cannot be read without the key")
        return State.from_dict(json.loads(cipher.open_bytes(raw)))
    # Written before the whole state was sealed (rewritten at start, bot/store/atrest.py).
    data = json.loads(raw)
    if cipher is not None:
        data["answers"] = open_answers(cipher, data.get("answers") or {})
        data["pending"] = cipher.open(data.get("pending") or [])
    return State.from_dict(data)


def _intake(row: Any, cipher: Cipher | None = None) -> Intake:
    return Intake(
        id=int(row["id"]),
        ref=row["ref"],
        flow_id=row["flow_id"],
        flow_version=int(row["flow_version"]),
        applicant_id=int(row["applicant_id"]),
        chat_id=int(row["chat_id"]),
        lang=row["lang"],
        status=row["status"],
        state=_state(row["state"], cipher),
        last_update_id=int(row["last_update_id"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        screening=Screening.from_dict(json.loads(row["screening"])) if row["screening"] else None,
        priority=int(row["priority"]),
        is_test=bool(row["is_test"]),
        channel=row["channel"] or TELEGRAM,
    )


def _preview(user_id: int, row: Any, cipher: Cipher | None) -> Intake:
    upload = int(row["p_upload"])
    return Intake(
        id=-upload,  # never a real intake id: buttons of a preview cannot touch an intake
        ref=None,
        flow_id="",
        flow_version=0,
        applicant_id=user_id,
        chat_id=user_id,
        lang="",
        status="draft",
        state=_state(row["p_state"], cipher),
        last_update_id=int(row["p_update"]),
        created_at=row["p_started"],
        updated_at=row["p_started"],
        is_preview=True,
    )


def _dump(state: State, cipher: Cipher | None) -> str | bytes:
    """The state as stored: all of it sealed, as one value (one AES-GCM operation for the
    whole state of a finished interview), so that no answer, nothing a step has
    collected so far and not the path is in the clear. Plain JSON only without a cipher
    (a Database opened without a Store)."""
    data = jsoncodec.dumps(state.to_dict())
    return data.decode() if cipher is None else cipher.seal_bytes(data)


def plain_answers(state: State, plain: frozenset[str]) -> str | None:
    """The answers kept in the clear beside the sealed state, for statistics in SQL: those of
    ``plain`` steps (``Flow.plain``: choice codes), as JSON; None when there are none."""
    kept = {k: v for k, v in state.answers.items() if k in plain and v is not None}
    return jsoncodec.dumps_text(kept) if kept else None


@dataclass(frozen=True)
class ApplicantView:
    """What one read tells the applicant handler: the chosen language and the open draft
    (or the admin's preview of an uploaded flow, which takes its place while it runs)."""

    chosen_lang: str | None
    draft: Intake | None
    last_update_id: int
    # When it was read (Views' clock): a save worked out from it may keep its result.
    seen: int = field(default=0, compare=False)


class IntakeStore:
    def __init__(self, db: Backend, flows: FlowStore) -> None:
        self._db = db
        self._flows = flows  # which answers of a sent intake are kept plain
        self._views = db.views
        # The region of an intake whose flow asks none (INTAKE_DEFAULT_REGION; Store.open
        # sets it). Empty: such an intake has no region (staff who cover all see it).
        self.default_region = ""

    def region_for(self, flow: Flow | None, answers: Mapping[str, Any]) -> str | None:
        """The region an intake with ``answers`` belongs to: its flow's region step's
        answer, else the default region, else none. A division code is not personal
        data: it is stored in the clear, so that every list can be kept to a region."""
        routed = flow.region_of(answers) if flow is not None else None
        return routed or self.default_region or None

    async def load_for_applicant(self, user_id: int) -> ApplicantView:
        """The applicant's view; kept (not read again) while no write can have changed it.

        Callers treat it as read-only: the same objects are given to the next answer."""
        kept: ApplicantView | None = self._views.get(user_id)
        if kept is not None:
            return kept
        seen = self._views.reading()
        rows = await self._db.fetchall(
            "SELECT u.lang AS chosen_lang, COALESCE(u.last_update_id, 0) AS user_update,"
            " p.upload_id AS p_upload, p.state AS p_state, p.last_update_id AS p_update,"
            " p.started_at AS p_started, " + _COLUMNS + " FROM (SELECT ? AS uid) q"
            " LEFT JOIN users u ON u.user_id = q.uid"
            " LEFT JOIN intakes i ON i.applicant_id = q.uid AND i.status = 'draft'"
            " LEFT JOIN previews p ON p.user_id = q.uid",
            (user_id,),
        )
        row = rows[0]
        if row["p_upload"] is not None:
            draft: Intake | None = _preview(user_id, row, self._db.cipher)
        else:
            draft = _intake(row, self._db.cipher) if row["id"] is not None else None
        view = ApplicantView(row["chosen_lang"], draft, int(row["user_update"]), seen)
        self._views.keep(user_id, seen, view)
        return view

    async def _save(
        self,
        sql: str,
        params: tuple[Any, ...],
        user_id: int,
        update_id: int,
        view: ApplicantView | None,
        saved: Callable[[], Intake] | None,
        touches: Touches = None,
    ) -> bool:
        """Run a save's UPDATE of ``user_id``'s draft as the application of ``update_id``
        (``record_applied``: False, nothing written, if it was applied before); keep the view
        it leaves (``view`` with the draft ``saved()`` gives) when nothing else touched it
        meanwhile. Without ``view`` the write drops ``touches``' views."""
        if view is None or saved is None:
            return await self._claimed(sql, params, user_id, update_id, touches)

        writing = self._views.writing(user_id, view.seen)
        applied = False
        try:
            applied = await self._claimed(sql, params, user_id, update_id, NOBODY)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # cancelled: it may still commit, unseen
                self._views.hold()
            raise
        finally:
            seen = self._views.written(writing, applied)
        if seen is not None:
            self._views.keep(user_id, seen, dataclasses.replace(view, draft=saved(), seen=seen))
        return applied

    async def _claimed(
        self,
        sql: str,
        params: tuple[Any, ...],
        user_id: int | None,
        update_id: int,
        touches: Touches,
        intake_id: int = 0,
    ) -> bool:
        """The UPDATE and the record that ``update_id`` was applied for ``user_id`` (None:
        for the applicant of ``intake_id``), in one transaction: both or neither (the
        UPDATE finding no row undoes the record). One call to SQLite's writer thread, as
        the UPDATE alone was (``Database.execute``'s guard)."""
        if not update_id:
            return await self._db.execute(sql, params, touches=touches) == 1
        at = now_iso()
        if user_id is None:
            guard: Guard = (
                "INSERT INTO applied (user_id, update_id, applied_at)"
                " SELECT applicant_id, ?, ? FROM intakes WHERE id = ?"
                " ON CONFLICT (user_id, update_id) DO NOTHING",
                (update_id, at, intake_id),
            )
        else:
            guard = (_APPLIED, (user_id, update_id, at))
        return await self._db.execute(sql, params, touches=touches, guard=guard) == 1

    async def was_applied(self, user_id: int, update_id: int) -> bool:
        """Whether ``update_id`` was applied for this person (kept ``KEEP_DONE`` days)."""
        row = await self._db.fetchone(
            "SELECT 1 FROM applied WHERE user_id = ? AND update_id = ?", (user_id, update_id)
        )
        return row is not None

    # -- previews of uploaded flows ------------------------------------------------------

    async def start_preview(self, user_id: int, upload_id: int, state: State) -> None:
        await self._db.execute(
            "INSERT INTO previews (user_id, upload_id, state, started_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET upload_id = excluded.upload_id,"
            " state = excluded.state, started_at = excluded.started_at",
            (user_id, upload_id, _dump(state, self._db.cipher), now_iso()),
            touches=user_id,
        )

    async def save_preview(
        self,
        user_id: int,
        state: State,
        update_id: int,
        *,
        view: ApplicantView | None = None,
    ) -> bool:
        """Store the preview's new state; ``view`` is the one it was worked out from."""
        sql = (
            "UPDATE previews SET state = ?, last_update_id = CASE WHEN last_update_id < ?"
            " THEN ? ELSE last_update_id END WHERE user_id = ?"
        )
        params = (_dump(state, self._db.cipher), update_id, update_id, user_id)
        draft = view.draft if view is not None else None
        if view is None or draft is None or not draft.is_preview:
            return await self._save(sql, params, user_id, update_id, None, None, user_id)
        return await self._save(
            sql,
            params,
            user_id,
            update_id,
            view,
            lambda: dataclasses.replace(
                draft, state=state, last_update_id=max(draft.last_update_id, update_id)
            ),
        )

    async def end_preview(self, user_id: int) -> bool:
        return (
            await self._db.execute(
                "DELETE FROM previews WHERE user_id = ?", (user_id,), touches=user_id
            )
            == 1
        )

    async def get(self, intake_id: int) -> Intake | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM intakes i WHERE i.id = ?", (intake_id,)
        )
        return _intake(row, self._db.cipher) if row else None

    async def by_ref(self, ref: str) -> Intake | None:
        row = await self._db.fetchone(
            f"SELECT {_COLUMNS} FROM intakes i WHERE i.ref = ?", (ref.strip().upper(),)
        )
        return _intake(row, self._db.cipher) if row else None

    async def for_applicant(self, user_id: int) -> list[Intake]:
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM intakes i WHERE i.applicant_id = ? ORDER BY i.id DESC",
            (user_id,),
        )
        return [_intake(r, self._db.cipher) for r in rows]

    async def create_draft(
        self,
        *,
        applicant_id: int,
        chat_id: int,
        lang: str,
        flow: Flow,
        state: State,
        update_id: int = 0,
        is_test: bool = False,
        channel: str = TELEGRAM,
    ) -> Intake | None:
        """Start a draft; None when this update was already applied (a duplicate).
        ``channel``: how the applicant came (bot/channels.py), shown on the card."""
        at = now_iso()
        async with self._db.write(touches=applicant_id) as tx:
            if not await claim_update(tx, applicant_id, update_id, at):
                return None
            existing = await tx.fetchone(
                f"SELECT {_COLUMNS} FROM intakes i WHERE i.applicant_id = ? AND i.status = 'draft'",
                (applicant_id,),
            )
            if existing is not None:
                return _intake(existing, self._db.cipher)
            cursor = await tx.execute(
                "INSERT INTO intakes (flow_id, flow_version, applicant_id, chat_id, lang, status,"
                " state, current_step, last_update_id, created_at, updated_at, is_test, channel)"
                " VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)",
                (
                    flow.id,
                    flow.version,
                    applicant_id,
                    chat_id,
                    lang,
                    _dump(state, self._db.cipher),
                    state.current,
                    update_id,
                    at,
                    at,
                    int(is_test),
                    None if channel == TELEGRAM else channel,
                ),
            )
            intake_id = int(cursor.lastrowid or 0)
            await record(
                tx,
                applicant_id,
                "intake.started",
                intake_id,
                {"flow": flow.id, "version": flow.version},
            )
        return Intake(
            id=intake_id,
            ref=None,
            flow_id=flow.id,
            flow_version=flow.version,
            applicant_id=applicant_id,
            chat_id=chat_id,
            lang=lang,
            status="draft",
            state=state,
            last_update_id=update_id,
            created_at=at,
            updated_at=at,
            is_test=is_test,
            channel=channel,
        )

    async def save_state(
        self,
        intake_id: int,
        state: State,
        update_id: int,
        *,
        view: ApplicantView | None = None,
    ) -> bool:
        """Store a draft's new state; False if this update was already applied.

        ``view`` is the applicant's view the state was worked out from: given, the view
        this save leaves is kept for the next answer, holding ``state`` itself. So the
        state must be one a read gives back equal (the engine's are: JSON's types only)
        and must not be changed afterwards (the engine makes a new one for each answer)."""
        at = now_iso()
        sql = (
            "UPDATE intakes SET state = ?, current_step = ?, updated_at = ?,"
            " last_update_id = CASE WHEN last_update_id < ? THEN ? ELSE last_update_id END"
            " WHERE id = ? AND status = 'draft'"
        )
        stored = _dump(state, self._db.cipher)
        params = (stored, state.current, at, update_id, update_id, intake_id)
        draft = view.draft if view is not None else None
        if view is None or draft is None or draft.id != intake_id or draft.is_preview:
            # whose draft: its row says (anyone's view may hold it)
            return await self._claimed(sql, params, None, update_id, None, intake_id)
        return await self._save(
            sql,
            params,
            draft.applicant_id,
            update_id,
            view,
            lambda: draft.answered(state, update_id, at),
        )

    async def submit(
        self,
        intake: Intake,
        state: State,
        screening: Screening,
        update_id: int,
        notify_for: Callable[[str], list[OutMessage]] | None = None,
    ) -> str | None:
        """Turn the draft into a submitted intake; returns its new reference, or None
        if this update was already applied or the draft is no longer a draft.
        ``notify_for(ref)`` gives the alerts to queue with it (the caseworkers' group).
        The answers its flow keeps plain for statistics (``Flow.plain``) are stored beside
        the sealed state, and the region it belongs to (``region_for``) with them."""
        at = now_iso()
        try:
            flow: Flow | None = await self._flows.get(intake.flow_id, intake.flow_version)
        except FlowNotFound:
            flow = None
        plain = flow.plain if flow is not None else frozenset()
        region = self.region_for(flow, state.answers)
        try:
            return await self._submit(
                intake, state, screening, update_id, notify_for, at, flow, plain, region
            )
        except _NotApplied:
            return None

    async def _submit(
        self,
        intake: Intake,
        state: State,
        screening: Screening,
        update_id: int,
        notify_for: Callable[[str], list[OutMessage]] | None,
        at: str,
        flow: Flow | None,
        plain: frozenset[str],
        region: str | None,
    ) -> str:
        async with self._db.write(touches=intake.applicant_id) as tx:
            if not await record_applied(tx, intake.applicant_id, update_id, at):
                raise _NotApplied
            for _ in range(10):
                ref = new_ref()
                taken = await tx.fetchone("SELECT 1 FROM intakes WHERE ref = ?", (ref,))
                if taken is None:
                    break
            cursor = await tx.execute(
                "UPDATE intakes SET status = 'submitted', ref = ?, state = ?, current_step = NULL,"
                " plain_answers = ?, screening = ?, priority = ?, submitted_at = ?,"
                " updated_at = ?, last_update_id = CASE WHEN last_update_id < ? THEN ?"
                " ELSE last_update_id END, region = ? WHERE id = ? AND status = 'draft'",
                (
                    ref,
                    _dump(state, self._db.cipher),
                    plain_answers(state, plain),
                    json.dumps(screening.to_dict()),
                    screening.priority,
                    at,
                    at,
                    update_id,
                    update_id,
                    region,
                    intake.id,
                ),
            )
            if cursor.rowcount != 1:
                raise _NotApplied  # undoes the claim
            if flow is not None:  # what a caseworker can find it by (bot/lookup.py)
                await lookup.index(tx, self._db.cipher, intake.id, terms(flow, state.answers))
            await record(
                tx,
                intake.applicant_id,
                "intake.submitted",
                intake.id,
                {"ref": ref, "priority": screening.priority},
            )
            if notify_for is not None:
                await enqueue(tx, notify_for(ref))
        return ref

    async def correct_answers(
        self, intake_id: int, actor: int, changes: dict[str, Any], allowed_from: tuple[str, ...]
    ) -> bool:
        """A caseworker corrects answers of a sent intake, as its applicant asked
        (/correct): the sealed state, the answers kept plain for statistics and what it can
        be found by change together, with an audit row naming the steps (not the values).
        False when the intake is not in ``allowed_from`` (or holds no personal data now)."""
        async with self._db.write() as tx:
            row = await tx.fetchone(
                "SELECT flow_id, flow_version, state FROM intakes WHERE id = ? AND status IN"
                f" ({','.join('?' * len(allowed_from))}) AND anonymised_at IS NULL"
                " AND is_clue = 0",
                (intake_id, *allowed_from),
            )
            if row is None:
                return False
            flow = await self._flows.get(row["flow_id"], int(row["flow_version"]))
            state = _state(row["state"], self._db.cipher)
            state = dataclasses.replace(state, answers={**state.answers, **changes})
            await tx.execute(
                "UPDATE intakes SET state = ?, plain_answers = ?, updated_at = ? WHERE id = ?",
                (
                    _dump(state, self._db.cipher),
                    plain_answers(state, flow.plain),
                    now_iso(),
                    intake_id,
                ),
            )
            await lookup.index(tx, self._db.cipher, intake_id, terms(flow, state.answers))
            await record(tx, actor, "intake.corrected", intake_id, {"steps": sorted(changes)})
        return True

    async def give_region(self, region: str) -> int:
        """Put every sent intake that has no region in ``region``; how many there were."""
        async with self._db.write() as tx:
            cursor = await tx.execute(
                "UPDATE intakes SET region = ? WHERE region IS NULL AND status <> 'draft'",
                (region,),
            )
        return cursor.rowcount

    async def discard_draft(self, intake: Intake, actor: int, reason: str, update_id: int) -> bool:
        """Erase a draft and every answer in it (consent declined, or /delete on a draft).

        The person's Telegram id goes too: from the audit rows about the draft (the erasure
        itself is recorded without it), and their ``users`` row when they have no other
        intake and no role."""
        person = intake.applicant_id
        async with self._db.write(touches=person) as tx:
            if not await claim_update(tx, person, update_id, now_iso()):
                return False
            if not await tx.fetchone(
                "SELECT 1 FROM intakes WHERE id = ? AND status = 'draft'", (intake.id,)
            ):
                return False
            await tx.execute(
                "UPDATE audit SET actor = NULL WHERE intake_id = ? AND actor = ?",
                (intake.id, person),
            )
            await forget_files(tx, [intake.id])
            await tx.execute("DELETE FROM intakes WHERE id = ?", (intake.id,))
            who = None if actor == person else actor
            await record(tx, who, "draft.erased", None, {"reason": reason})
            await forget_user(tx, person)
        return True

    async def expire_draft(self, intake_id: int, cutoff: str, notice: OutMessage) -> bool:
        """Close a draft idle since before ``cutoff``: its answers are erased, the
        applicant is told (in the same transaction)."""
        async with self._db.write() as tx:
            cursor = await tx.execute(
                "UPDATE intakes SET status = 'expired', state = ?, current_step = NULL,"
                " updated_at = ? WHERE id = ? AND status = 'draft' AND updated_at < ?",
                (_dump(State(), self._db.cipher), now_iso(), intake_id, cutoff),
            )
            if cursor.rowcount != 1:
                return False
            await forget_files(tx, [intake_id])
            await record(tx, None, "draft.expired", intake_id, {})
            await enqueue(tx, [notice])
        return True

    async def record_consent(
        self, intake: Intake, step_id: str, text_sha256: str, lang: str
    ) -> None:
        """Which consent text this person agreed to, in which language, and when."""
        if intake.is_preview:
            return
        await self._db.execute(
            "INSERT INTO consents (intake_id, applicant_id, step_id, text_sha256, lang, agreed_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (intake.id, intake.applicant_id, step_id, text_sha256, lang, now_iso()),
            touches=NOBODY,
        )

    async def consents(self, intake_id: int) -> list[dict[str, Any]]:
        rows = await self._db.fetchall(
            "SELECT step_id, text_sha256, lang, agreed_at FROM consents WHERE intake_id = ?"
            " ORDER BY id",
            (intake_id,),
        )
        return [dict(r) for r in rows]

    async def request_deletion(self, intake: Intake, notify: list[OutMessage]) -> bool:
        """The applicant asks to erase a sent intake; a caseworker completes or refuses it."""
        async with self._db.write(touches=intake.applicant_id) as tx:
            cursor = await tx.execute(
                "UPDATE intakes SET deletion_requested_at = ?, updated_at = ? WHERE id = ?"
                " AND applicant_id = ? AND status != 'draft' AND anonymised_at IS NULL"
                " AND deletion_requested_at IS NULL",
                (now_iso(), now_iso(), intake.id, intake.applicant_id),
            )
            if cursor.rowcount != 1:
                return False
            await record(tx, intake.applicant_id, "deletion.requested", intake.id, {})
            await enqueue(tx, notify)
        return True

    async def withdraw(self, intake: Intake, actor: int, update_id: int = 0) -> bool:
        """The applicant withdraws a draft or a submitted intake; answers of a draft are
        erased (nothing a person stopped doing is kept), a submitted intake keeps its record."""
        async with self._db.write(touches=intake.applicant_id) as tx:
            if not await claim_update(tx, intake.applicant_id, update_id, now_iso()):
                return False
            if intake.status == "draft":
                cursor = await tx.execute(
                    "UPDATE intakes SET status = 'withdrawn', state = ?, current_step = NULL,"
                    " updated_at = ? WHERE id = ? AND status = 'draft'",
                    (_dump(State(), self._db.cipher), now_iso(), intake.id),
                )
            else:
                cursor = await tx.execute(
                    "UPDATE intakes SET status = 'withdrawn', updated_at = ?"
                    " WHERE id = ? AND status = 'submitted'",
                    (now_iso(), intake.id),
                )
            if cursor.rowcount != 1:
                return False
            await record(tx, actor, "intake.withdrawn", intake.id, {"from": intake.status})
        return True


_APPLIED = (
    "INSERT INTO applied (user_id, update_id, applied_at) VALUES (?, ?, ?)"
    " ON CONFLICT (user_id, update_id) DO NOTHING"
)


class _NotApplied(Exception):
    """Rolls back a claimed update whose write found nothing to change."""


async def record_applied(tx: Tx, user_id: int, update_id: int, at: str) -> bool:
    """Record, in the transaction that applies it, that ``update_id`` is applied for this
    user; False if it already was (delivered twice, or replayed after a crash). An update
    without an id (0: a made-up one, as in ``intake-bot try``) is always new.

    Per update, not "the newest id seen": an older update that another instance receives
    after a newer one was applied (issue 27) is still new."""
    if not update_id:
        return True
    cursor = await tx.execute(_APPLIED, (user_id, update_id, at))
    return bool(cursor.rowcount == 1)


async def claim_update(tx: Tx, user_id: int, update_id: int, at: str) -> bool:
    """``record_applied`` for a write that starts or ends a person's draft: their
    ``users`` row is made if need be and its ``last_update_id`` keeps the newest id, for
    the erasure's record (``forget_user``) and the web chat's numbering."""
    await tx.execute(
        "INSERT INTO users (user_id, created_at, last_update_id) VALUES (?, ?, 0)"
        " ON CONFLICT (user_id) DO NOTHING",
        (user_id, at),
    )
    if not await record_applied(tx, user_id, update_id, at):
        return False
    if not update_id:
        return True
    await tx.execute(
        "UPDATE users SET last_update_id = ? WHERE user_id = ? AND last_update_id < ?",
        (update_id, user_id, update_id),
    )
    return True
