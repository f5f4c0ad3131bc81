"""Exports for upward reporting: the applications of a period and region as an Excel
workbook (XLSX) or a CSV file, for the reporting clerk's spreadsheet.

Upward reporting in public offices runs on Excel, and the usual complaint about exports
is that they time out on large data. So the rows are streamed: the store hands over one
page at a time (bot/store/exports.py), each intake's answers are opened and written in a
worker thread while the event loop goes on answering others, and the workbook writer
(bot/xlsx.py) deflates each batch of rows straight into the file. Memory stays flat
however many intakes there are (bench/export.py measures it).

What is in it:
- the intakes sheet: reference, dates, status, region, priority and its reasons (the
  special groups the campaign names), pre-screen, decision, amount, holder, days to
  decision; then one column per question of the flow (every version's questions, each
  headed with its newest text in the reader's language);
- the referrals (clue transfers to the agriculture department) of those intakes, then the
  measures of their plans;
- their history (the audit trail: who did what, when; it holds no personal data);
- their check-ins (回访): when each was due, sent and answered, and the answer (better, the
  same, worse, talk); what the applicant added in their own words only with sensitive data.
A CSV holds the intakes table only (a CSV file is one table), in UTF-8 with a BOM so that
Excel opens Chinese and Uyghur correctly; its rows carry each intake's last check-in answer
and when it was given, as the workbook's do.

The phone and ID number questions (steps of type ``phone`` and ``id_number``) are left
out unless asked for explicitly (``with_sensitive``); names stay in, as caseworkers need
them to know whom a line is about. Whoever makes an export is written in the audit
(``export.made``: the filters and the counts, no personal data).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot import xlsx
from bot.casework.checkins import CHOICE_NAMES, choice_of
from bot.casework.measure_terms import OURSELVES_NAME, STATE_NAMES, body_kind_text
from bot.casework.plans import kind_label
from bot.casework.replies import decode, piece_text
from bot.casework.terms import event_name, fen_to_yuan, referral_status
from bot.flow.model import Flow, Step
from bot.flow.values import strip_bidi
from bot.i18n import Tr, join_list
from bot.i18n_marks import N_
from bot.messages import status_name
from bot.regions import EVERYWHERE, Scope, is_code
from bot.store import Store
from bot.store.exports import Filter

FORMATS = ("xlsx", "csv")
SENSITIVE_TYPES = ("phone", "id_number")
STATUSES = ("submitted", "in_review", "awaiting_applicant", "approved", "declined", "withdrawn")

# The fixed columns of the intakes sheet, in order.
INTAKE_HEADERS = (
    N_("Reference"),
    N_("Sent on"),
    N_("Decided on"),
    N_("Status"),
    N_("Region code"),
    N_("Priority"),
    N_("Priority reasons (special groups)"),
    N_("Pre-screen"),
    N_("Decision"),
    N_("Decision reason"),
    N_("Amount (yuan)"),
    N_("Holder"),
    N_("Days to decision"),
    N_("Last check-in answer"),
    N_("Last check-in answered on"),
)
REFERRAL_HEADERS = (
    N_("Reference"),
    N_("Partner"),
    N_("Referral status"),
    N_("What was asked"),
    N_("What was done"),
    N_("Referred on"),
    N_("Last change"),
    N_("Due by"),
    N_("Kind of body"),
)
HISTORY_HEADERS = (N_("Reference"), N_("When (UTC)"), N_("Who"), N_("What"))
# The check-ins (回访) after decisions: the answer is a choice, not personal data; what the
# applicant added in their own words is, and is only in an export with sensitive data.
CHECKIN_HEADERS = (
    N_("Reference"),
    N_("Due on"),
    N_("Asked on"),
    N_("Answered on"),
    N_("Answer"),
    N_("Stopped by the applicant"),
)
CHECKIN_WORDS = N_("In their words")
SHEETS = (N_("Applications"), N_("Referrals"), N_("History"), N_("Check-ins"))
VERDICTS = {
    "likely": N_("may qualify"),
    "look": N_("needs a caseworker's look"),
    "unlikely": N_("unlikely"),
}


class BadFilter(ValueError):
    """A filter word that is none of a date, a region code, a status or a format."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


@dataclass(frozen=True)
class Request:
    """What to export: the filter, the format, and whether phone and ID numbers are in."""

    filter: Filter = field(default_factory=Filter)
    format: str = "xlsx"
    with_sensitive: bool = False


@dataclass(frozen=True)
class Made:
    """What an export wrote: how many rows of each table."""

    intakes: int
    referrals: int
    history: int
    sensitive: bool
    measures: int = 0  # the plans' measures, on the referrals sheet after the referrals
    checkins: int = 0  # check-ins sent (or stopped), on their own sheet


def parse_words(words: Sequence[str]) -> Request:
    """/export's words in any order: up to two dates (from, to), a region code, statuses,
    ``csv`` or ``xlsx``, and ``sensitive`` (phone and ID numbers, after a confirmation).
    A word that is none of these raises BadFilter."""
    dates: list[str] = []
    region: str | None = None
    statuses: list[str] = []
    fmt = "xlsx"
    sensitive = False
    for word in words:
        low = word.strip().lower()
        if not low:
            continue
        if _is_date(low) and len(dates) < 2:
            dates.append(low)
        elif is_code(low) and region is None:
            region = low
        elif low in STATUSES:
            statuses.append(low)
        elif low in FORMATS:
            fmt = low
        elif low == "sensitive":
            sensitive = True
        else:
            raise BadFilter(word)
    since = dates[0] if dates else None
    until = dates[1] if len(dates) > 1 else None
    return Request(Filter(since, until, region, tuple(dict.fromkeys(statuses))), fmt, sensitive)


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def filename(req: Request, today: dt.date | None = None) -> str:
    """The file's name: what and when, in ASCII so that every system keeps it."""
    parts = ["intakes", (today or dt.date.today()).isoformat()]
    if req.filter.region:
        parts.append(req.filter.region)
    return "-".join(parts) + "." + req.format


# -- columns -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One question's column: its step in the newest version that has it (for the header
    and the labels of choices), and every version's step of that id."""

    id: str
    header: str
    steps: dict[tuple[str, int], Step]


async def questions(
    store: Store, tr: Tr, versions: list[tuple[str, int]], with_sensitive: bool
) -> tuple[list[Question], dict[tuple[str, int], Flow]]:
    """One column per question id across the versions the intakes were answered on, in the
    order of the current flow (questions only older versions asked, after), headed by the
    newest text. Phone and ID number questions only ``with_sensitive``."""
    flows = {v: await store.flows.get(*v) for v in versions}
    current = await store.flows.active()
    order: list[Flow] = [current, *sorted(flows.values(), key=lambda f: -f.version)]
    sensitive = {
        s.id for f in [current, *flows.values()] for s in f.steps if s.type in SENSITIVE_TYPES
    }
    cols: dict[str, Question] = {}
    for flow in order:
        lang = flow.language_for(tr.lang)
        for step in flow.steps:
            if not step.asks_input or step.type == "consent" or step.id in cols:
                continue
            if step.id in sensitive and not with_sensitive:
                continue
            cols[step.id] = Question(step.id, strip_bidi(flow.pick(step.text, lang)), {})
    for key, flow in flows.items():
        for step in flow.steps:
            if step.id in cols:
                cols[step.id].steps[key] = step
    return [q for q in cols.values() if q.steps], flows


Cell = str | int | float | None
Convert = Callable[[Any], Cell]


def converter(tr: Tr, flow: Flow, step: Step) -> Convert:
    """How an answer to ``step`` becomes a spreadsheet cell: labels for choices (in the
    reader's language), numbers as numbers, a count of files. Worked out once per question
    and flow version, not once per cell: an export has millions of cells."""
    lang = flow.language_for(tr.lang)
    labels = {c.value: flow.pick(c.label, lang) for c in step.choices}
    if step.type == "choice":
        return lambda v: None if v is None else labels.get(str(v), str(v))
    if step.type == "multi_choice":
        order = list(labels)

        def many(v: Any) -> Cell:
            if v is None:
                return None
            chosen = set(v) if isinstance(v, list) else {v}
            return join_list(lang, [labels[c] for c in order if c in chosen])

        return many
    if step.type == "attachments":
        return lambda v: len(v) if isinstance(v, list) else None
    if step.type == "number":
        return lambda v: v if isinstance(v, int | float) and not isinstance(v, bool) else _text(v)
    # Typed text was cleaned of bidi controls when it was answered (bot/flow/values.py).
    return _text


def _text(v: Any) -> Cell:
    return None if v is None else str(v)


# -- writers -----------------------------------------------------------------------------


class Sheet(Protocol):
    def row(self, cells: Sequence[Any]) -> None: ...


class _Writer(Protocol):
    def sheet(self, name: str, headers: Sequence[str], widths: Sequence[int]) -> Sheet | None: ...

    def close(self) -> None: ...


class _Xlsx:
    def __init__(self, path: Path, names: Sequence[str]) -> None:
        self._book = xlsx.Workbook(path, names)

    def sheet(self, name: str, headers: Sequence[str], widths: Sequence[int]) -> Sheet:
        return self._book.sheet(headers, widths)

    def close(self) -> None:
        self._book.close()


_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
_NUMBERISH = re.compile(r"^[+\-]?[\d\s.\-]*$")


class _CsvSheet:
    def __init__(self, out: Any) -> None:
        self._w = csv.writer(out)

    def row(self, cells: Sequence[Any]) -> None:
        self._w.writerow([_csv_cell(c) for c in cells])


def _csv_cell(value: Any) -> Any:
    """A cell of the CSV: text that Excel would run as a formula (=, +, -, @ first) is
    kept text with a leading apostrophe; numbers and phone numbers as they are."""
    if isinstance(value, str) and _FORMULA_START.match(value) and not _NUMBERISH.match(value):
        return "'" + value
    return "" if value is None else value


class _Csv:
    def __init__(self, path: Path) -> None:
        # utf-8-sig: the BOM tells Excel the file is UTF-8 (else it reads Chinese as GBK).
        self._out = path.open("w", encoding="utf-8-sig", newline="")
        self._first = True

    def sheet(self, name: str, headers: Sequence[str], widths: Sequence[int]) -> Sheet | None:
        if not self._first:
            return None  # one table per file: the intakes
        self._first = False
        sheet = _CsvSheet(self._out)
        sheet.row(list(headers))
        return sheet

    def close(self) -> None:
        self._out.close()


# -- the export ----------------------------------------------------------------------------


async def export(
    store: Store,
    tr: Tr,
    req: Request,
    out: Path,
    *,
    scope: Scope = EVERYWHERE,
    actor: int | None = None,
    asked: int | None = None,
) -> Made:
    """Write the export ``req`` asks for, of the intakes ``scope`` covers, to ``out``, and
    account for it in the audit. The caller has checked the actor's role and scope."""
    f = req.filter
    xs = store.exports
    cols, flows = await questions(store, tr, await xs.versions(f, scope), req.with_sensitive)
    _ = tr.gettext
    writer: _Writer = _Xlsx(out, [_(n) for n in SHEETS]) if req.format == "xlsx" else _Csv(out)
    try:
        headers = [_(h) for h in INTAKE_HEADERS] + [q.header for q in cols]
        widths = [10, 11, 11, 12, 10, 8, 30, 16, 10, 20, 12, 14, 8, 14, 11] + [24] * len(cols)
        sheet = writer.sheet(_(SHEETS[0]), headers, widths)
        assert sheet is not None
        versions = _versions(tr, cols, flows)
        n_intakes = after = 0
        while rows := await xs.intakes(f, scope, after):
            after = int(rows[-1]["id"])
            n_intakes += len(rows)

            def write(rows: list[Any] = rows) -> None:
                for row in rows:
                    key = (row["flow_id"], int(row["flow_version"]))
                    sheet.row(_intake_cells(store, tr, row, versions[key]))

            await asyncio.to_thread(write)
        n_referrals = n_history = 0
        sheet = writer.sheet(
            _(SHEETS[1]), [_(h) for h in REFERRAL_HEADERS], [10, 16, 16, 40, 40, 11, 11, 11, 16]
        )
        n_measures = 0
        if sheet is not None:
            n_referrals = await _referrals(store, tr, req, scope, sheet)
            n_measures = await _measures(store, tr, req, scope, sheet)
        sheet = writer.sheet(_(SHEETS[2]), [_(h) for h in HISTORY_HEADERS], [10, 17, 16, 40])
        if sheet is not None:
            n_history = await _history(store, tr, req, scope, sheet)
        headers = [_(h) for h in CHECKIN_HEADERS]
        if req.with_sensitive:
            headers.append(_(CHECKIN_WORDS))
        sheet = writer.sheet(_(SHEETS[3]), headers, [10, 11, 11, 11, 24, 10, 40])
        n_checkins = 0
        if sheet is not None:
            n_checkins = await _checkins(store, tr, req, scope, sheet)
        await asyncio.to_thread(writer.close)
    except BaseException:
        try:
            writer.close()
        finally:
            out.unlink(missing_ok=True)
        raise
    made = Made(n_intakes, n_referrals, n_history, req.with_sensitive, n_measures, n_checkins)
    detail: dict[str, Any] = {
        "filter": f.to_dict(),
        "format": req.format,
        "sensitive": req.with_sensitive,
        "scope": None if scope.prefixes is None else sorted(scope.prefixes),
        "intakes": made.intakes,
        "referrals": made.referrals,
        "measures": made.measures,
        "checkins": made.checkins,
        "history": made.history,
    }
    if asked is not None:
        detail["asked"] = asked
    await xs.made(actor, detail)
    return made


@dataclass(frozen=True)
class _Version:
    """What writing a row of one flow version needs, worked out once per export."""

    flow: Flow
    lang: str
    rules: dict[str, str]  # priority rule id -> its label in the reader's language
    answers: list[tuple[str, Convert | None]]  # per question column: its id, its converter


def _versions(
    tr: Tr, cols: list[Question], flows: dict[tuple[str, int], Flow]
) -> dict[tuple[str, int], _Version]:
    out = {}
    for key, flow in flows.items():
        lang = flow.language_for(tr.lang)
        rules = {r.id: flow.pick(r.label, lang) for r in flow.priority}
        answers = [
            (q.id, converter(tr, flow, q.steps[key]) if key in q.steps else None) for q in cols
        ]
        out[key] = _Version(flow, lang, rules, answers)
    return out


def _intake_cells(store: Store, tr: Tr, row: Any, version: _Version) -> list[Any]:
    answers = store.exports.answers(row)
    status = row["status"]
    screening = _screening(row["screening"])
    reasons = [
        version.rules[r] for r in screening.get("priority_reasons", ()) if r in version.rules
    ]
    decided = status in ("approved", "declined")
    reason = store.exports.opened(row["decision_reason"]) if decided else None
    fen = row["amount_fen"]
    days = row["days"]
    holder = row["holder_name"] or (str(row["assignee"]) if row["assignee"] is not None else None)
    cells: list[Any] = [
        row["ref"],
        (row["submitted_at"] or "")[:10],
        (row["decided_at"] or "")[:10],
        status_name(tr, status),
        row["region"],
        int(row["priority"] or 0),
        join_list(version.lang, reasons) if reasons else None,
        _verdict(tr, screening),
        status_name(tr, status) if decided else None,
        strip_bidi(reason) if reason else None,
        float(fen_to_yuan(fen)) if fen is not None and status == "approved" else None,
        holder,
        round(float(days), 1) if days is not None else None,
        choice_words(tr, row["last_checkin"]) if row["last_checkin"] else None,
        (row["last_checkin_at"] or "")[:10] or None,
    ]
    get = answers.get
    cells += [None if conv is None else conv(get(qid)) for qid, conv in version.answers]
    return cells


def _screening(raw: str | None) -> dict[str, Any]:
    return dict(json.loads(raw)) if raw else {}


def _verdict(tr: Tr, screening: dict[str, Any]) -> str | None:
    if not screening:
        return None
    if screening.get("exclusions"):
        verdict = "unlikely"
    elif screening.get("to_check"):
        verdict = "look"
    else:
        verdict = "likely" if screening.get("eligibility") else "unlikely"
    return tr.gettext(VERDICTS[verdict])


async def _referrals(store: Store, tr: Tr, req: Request, scope: Scope, sheet: Sheet) -> int:
    xs = store.exports
    n = after = 0
    while rows := await xs.referrals(req.filter, scope, after):
        after = int(rows[-1]["id"])
        n += len(rows)

        def write(rows: list[Any] = rows) -> None:
            for r in rows:
                request = xs.opened(r["request"])
                outcome = xs.opened(r["outcome"])
                sheet.row(
                    [
                        r["ref"],
                        r["partner_name"] or str(r["partner_id"]),
                        referral_status(tr, r["status"]),
                        strip_bidi(request) if request else None,
                        strip_bidi(outcome) if outcome else None,
                        (r["created_at"] or "")[:10],
                        (r["updated_at"] or "")[:10],
                    ]
                )

        await asyncio.to_thread(write)
    return n


async def _measures(store: Store, tr: Tr, req: Request, scope: Scope, sheet: Sheet) -> int:
    """The plans' measures, on the referrals sheet: what, who (its kind too), where it
    stands, why not, and by when."""
    xs = store.exports
    flows: dict[tuple[str, int], Flow | None] = {}
    n = after = 0
    while rows := await xs.measures(req.filter, scope, after):
        after = int(rows[-1]["id"])
        n += len(rows)
        for r in rows:
            key = (r["flow_id"], int(r["flow_version"]))
            if key not in flows:
                try:
                    flows[key] = await store.flows.get(*key)
                except Exception:  # a version that no longer loads: the value itself
                    flows[key] = None

        def write(rows: list[Any] = rows) -> None:
            for r in rows:
                own = xs.opened(r["kind_text"])
                what = (
                    kind_label(tr, flows[(r["flow_id"], int(r["flow_version"]))], r["kind"])
                    if r["kind"]
                    else strip_bidi(own or "") or None
                )
                reason = xs.opened(r["reason"])
                if r["partner_id"] is None:
                    body = tr.gettext(OURSELVES_NAME)
                else:
                    body = r["partner_label"] or r["partner_name"] or str(r["partner_id"])
                sheet.row(
                    [
                        r["ref"],
                        body,
                        tr.gettext(STATE_NAMES[r["state"]][1]),
                        what,
                        strip_bidi(reason) if reason else None,
                        (r["created_at"] or "")[:10],
                        (r["updated_at"] or "")[:10],
                        r["due_on"],
                        body_kind_text(tr, r["body_kind"]) or None,
                    ]
                )

        await asyncio.to_thread(write)
    return n


def choice_words(tr: Tr, code: str) -> str:
    """A check-in's answer as the export reads it: the words, without the emoji."""
    choice = choice_of(code)
    return tr.gettext(CHOICE_NAMES[choice][1]) if choice is not None else code


async def _checkins(store: Store, tr: Tr, req: Request, scope: Scope, sheet: Sheet) -> int:
    """The check-ins sent (or stopped): due, sent, answered, the answer; with sensitive
    data, what the applicant added to each answer in their words (or "voice message")."""
    xs = store.exports
    n = after = 0
    while rows := await xs.checkins(req.filter, scope, after):
        after = int(rows[-1]["id"])
        n += len(rows)
        # check-in -> what was added to its answer, in order.
        words: dict[int, list[str]] = {}
        if req.with_sensitive:
            ids = sorted({int(r["intake_id"]) for r in rows if r["answered_at"]})
            for _intake, checkin, body in await xs.checkin_words(ids):
                words.setdefault(checkin, []).append(xs.opened(body) or "")

        def write(rows: list[Any] = rows, words: dict[int, list[str]] = words) -> None:
            for r in rows:
                cells: list[Any] = [
                    r["ref"],
                    (r["due_at"] or "")[:10],
                    (r["sent_at"] or "")[:10] or None,
                    (r["answered_at"] or "")[:10] or None,
                    choice_words(tr, r["answer"]) if r["answer"] else None,
                    tr.gettext("yes") if r["stopped"] else None,
                ]
                if req.with_sensitive:
                    said = words.get(int(r["id"]), [])
                    cells.append("\n".join(piece_text(tr, decode(b)) for b in said) or None)
                sheet.row(cells)

        await asyncio.to_thread(write)
    return n


async def _history(store: Store, tr: Tr, req: Request, scope: Scope, sheet: Sheet) -> int:
    xs = store.exports
    n = after = 0
    while rows := await xs.history(req.filter, scope, after):
        after = int(rows[-1]["id"])
        n += len(rows)

        def write(rows: list[Any] = rows) -> None:
            for r in rows:
                who = r["actor_name"] or (str(r["actor"]) if r["actor"] is not None else None)
                when = (r["at"] or "")[:16].replace("T", " ")
                sheet.row([r["ref"], when, who, event_name(tr, r["action"])])

        await asyncio.to_thread(write)
    return n


# -- who may export --------------------------------------------------------------------------

EXPORT_ROLES = frozenset({"admin", "caseworker", "supervisor"})


class NotAllowed(Exception):
    """Only caseworkers, supervisors and admins export."""


class Exports:
    """Exports asked for in the chat: the role and the regions are read from the database
    when the export is asked for and again when it is made (a confirmation tapped after a
    role was taken away makes nothing)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def scope(self, actor: int) -> Scope:
        """What ``actor`` may export: the regions of every role that may (an admin: all)."""
        scopes = await self.store.roles.scopes(actor)
        held = [s for role, s in scopes.items() if role in EXPORT_ROLES]
        if not held:
            raise NotAllowed()
        out = held[0]
        for s in held[1:]:
            out = out | s
        return out

    async def ask(self, actor: int, req: Request) -> int:
        """An export with phone and ID numbers, to be confirmed: the id its button carries."""
        await self.scope(actor)
        return await self.store.exports.asked(actor, _asked_detail(req))

    async def confirmed(self, actor: int, asked: int) -> Request | None:
        """The export ``actor`` asked for as ``asked``, once; None if there is none."""
        await self.scope(actor)
        detail = await self.store.exports.asking(asked, actor)
        if detail is None:
            return None
        f = detail.get("filter") or {}
        flt = Filter(f.get("from"), f.get("to"), f.get("region"), tuple(f.get("status") or ()))
        return Request(flt, str(detail.get("format") or "xlsx"), with_sensitive=True)

    async def make(
        self, actor: int, tr: Tr, req: Request, out: Path, asked: int | None = None
    ) -> Made:
        scope = await self.scope(actor)
        return await export(self.store, tr, req, out, scope=scope, actor=actor, asked=asked)


def _asked_detail(req: Request) -> dict[str, Any]:
    return {"filter": req.filter.to_dict(), "format": req.format, "sensitive": True}
