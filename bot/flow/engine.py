"""The interview engine: pure data in, data out.

``start(flow)`` and ``answer(flow, state, input)`` return what happens next as
plain objects (ask this step, refuse with this reason, show the review, done);
the Telegram handlers, the terminal ``try`` command and the tests all render
those objects their own way. Nothing here does I/O, so every rule of the
interview is tested without Telegram, and a crash can never leave the engine
half-way: the caller stores the returned state, or nothing happened.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

from bot.flow.expr import Expr, ExprError, evaluate, truthy
from bot.flow.model import Flow, Step, Text
from bot.flow.values import (
    clean_text,
    normalise,
    parse_date,
    parse_id_number,
    parse_index,
    parse_number,
    parse_phone,
)

AGREE = "agree"
DECLINE = "decline"


# --- state -----------------------------------------------------------------------------


@dataclass
class State:
    """Where one applicant is in one flow; stored as JSON with the draft.

    ``answers`` holds accepted answers by step id (skipped steps are absent, an
    optional step left empty holds None); ``path`` the input steps answered, in
    order, so Back can walk it; ``pending`` what a multi_choice or attachments
    step has collected before Done; ``editing`` is set when the applicant came
    from the review screen to change one answer, so the flow returns there.
    """

    answers: dict[str, Any] = field(default_factory=dict)
    current: str | None = None
    path: list[str] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)
    editing: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "current": self.current,
            "path": self.path,
            "pending": self.pending,
            "editing": self.editing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(
            answers=dict(data.get("answers") or {}),
            current=data.get("current"),
            path=list(data.get("path") or []),
            pending=list(data.get("pending") or []),
            editing=bool(data.get("editing")),
        )

    def copy(self) -> State:
        return State.from_dict(self.to_dict())

    @property
    def at_review(self) -> bool:
        return self.current is None


# --- inputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    """A text message."""

    text: str


@dataclass(frozen=True)
class Picked:
    """A button tapped on the question of ``step``: a choice, a toggle, agree/decline."""

    step: str
    value: str


@dataclass(frozen=True)
class Done:
    """Finished a multi_choice or attachments step."""

    step: str


@dataclass(frozen=True)
class Skip:
    """Left an optional question unanswered."""

    step: str


@dataclass(frozen=True)
class Keep:
    """Kept the answer given before, on a question asked again after going back."""

    step: str


@dataclass(frozen=True)
class Shorten:
    """What to do with a text answer that was too long (kept in ``State.pending``): keep
    its first part, up to the limit, or all of it, cut into parts of at most the limit."""

    step: str
    whole: bool = False


@dataclass(frozen=True)
class SharedContact:
    phone: str


@dataclass(frozen=True)
class Attached:
    """A photo or document; ``ref`` is what the channel needs to fetch it again."""

    ref: dict[str, Any]


@dataclass(frozen=True)
class Unsupported:
    """Something the flow cannot take here: a sticker, a voice message, a location."""

    kind: str


@dataclass(frozen=True)
class Back:
    """Go back one question. ``step`` is where Back was tapped (None: on the review;
    ANY: wherever the applicant is, for a typed Back)."""

    step: str | None = "*"


ANY = "*"


@dataclass(frozen=True)
class Edit:
    """From the review screen: change the answer to ``step``."""

    step: str


@dataclass(frozen=True)
class Submit:
    pass


Input = (
    Typed
    | Picked
    | Done
    | Skip
    | Keep
    | Shorten
    | SharedContact
    | Attached
    | Unsupported
    | Back
    | Edit
    | Submit
)


# --- outcomes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why an input was not accepted. ``code`` picks the message; ``params`` fill it."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    message: Text | None = None  # a flow's own constraint_message


# The pre-screen's one word. It is a first look for the caseworker, never a decision.
LIKELY = "likely"  # a kind of case the rules help in, nothing against it, nothing open
LOOK = "look"  # something is open (or fits and is open): a caseworker looks first
UNLIKELY = "unlikely"  # something speaks against it, or no kind of case fits


@dataclass(frozen=True)
class Screening:
    """The pre-screen a caseworker sees: rule ids that held, and the priority score.

    Priority only orders the queue: a rule there (a special group, say) never changes
    the verdict, which comes from the eligibility, exclusion and to-check rules alone.
    """

    eligibility: tuple[str, ...]
    exclusions: tuple[str, ...]
    priority: int
    priority_reasons: tuple[str, ...]
    to_check: tuple[str, ...] = ()

    @property
    def verdict(self) -> str:
        """LIKELY, LOOK or UNLIKELY. Whatever speaks against a case outweighs what fits
        (the rules say "usually not given" for those); what fits counts only when
        nothing is left open."""
        if self.exclusions:
            return UNLIKELY
        if self.to_check:
            return LOOK
        return LIKELY if self.eligibility else UNLIKELY

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligibility": list(self.eligibility),
            "exclusions": list(self.exclusions),
            "to_check": list(self.to_check),
            "priority": self.priority,
            "priority_reasons": list(self.priority_reasons),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Screening:
        return cls(
            eligibility=tuple(data.get("eligibility") or ()),
            exclusions=tuple(data.get("exclusions") or ()),
            priority=int(data.get("priority") or 0),
            priority_reasons=tuple(data.get("priority_reasons") or ()),
            to_check=tuple(data.get("to_check") or ()),
        )


@dataclass(frozen=True)
class Ask:
    """Ask ``step`` (again, with ``refusal`` when the input was refused).

    ``notes`` are note steps passed on the way, to show before the question;
    ``changed`` says whether the state differs from the one given (so the
    caller knows whether there is anything to store).
    """

    step: Step
    state: State
    notes: tuple[Step, ...] = ()
    refusal: Refusal | None = None
    changed: bool = True

    @property
    def previous(self) -> Any:
        """The answer given before, when the question is asked again."""
        return self.state.answers.get(self.step.id)

    @property
    def has_previous(self) -> bool:
        return self.step.id in self.state.answers


@dataclass(frozen=True)
class Review:
    """Every question is answered: show the answers with Submit and Change."""

    state: State
    notes: tuple[Step, ...] = ()
    refusal: Refusal | None = None
    changed: bool = True


@dataclass(frozen=True)
class Completed:
    """Submitted: the answers are final and screened."""

    state: State
    screening: Screening


@dataclass(frozen=True)
class Ended:
    """The interview ended without an intake (consent declined); nothing is kept."""

    state: State
    reason: str
    step: Step | None = None


Outcome = Ask | Review | Completed | Ended


# --- the engine ------------------------------------------------------------------------


def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


def _env(flow: Flow, answers: dict[str, Any]) -> dict[str, Any]:
    """What the rules see: every step of the flow, None where it has no answer.

    A copy of the flow's all-None mapping and an update, rather than a comprehension over
    the steps: every answer builds it, and this is the cheaper way (bench/README.md). An
    answer to a step the flow does not have comes along unseen: the loader lets a rule name
    only steps of its flow.
    """
    env = flow.unanswered.copy()
    env.update(answers)
    return env


def _holds(expr: Expr, env: dict[str, Any], today: dt.date, *, on_error: bool) -> bool:
    try:
        return truthy(evaluate(expr, env, today=today))
    except ExprError:
        # A rule that cannot be evaluated on these answers must not block the
        # applicant; the loader already refused every rule that cannot parse.
        return on_error


def is_relevant(flow: Flow, step: Step, answers: dict[str, Any], today: dt.date) -> bool:
    if step.relevant is None:
        return True
    return _holds(step.relevant, _env(flow, answers), today, on_error=True)


def _relevant(step: Step, env: dict[str, Any], today: dt.date) -> bool:
    return step.relevant is None or _holds(step.relevant, env, today, on_error=True)


def _purge(flow: Flow, answers: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """Drop answers of steps that are no longer relevant (in order, as later ones depend).

    Returns what the rules see of the answers left (``_env``), built once, not once per
    rule: every answer walks the whole flow here.
    """
    env = _env(flow, answers)
    for step in flow.steps:
        if step.id in answers and not _relevant(step, env, today):
            del answers[step.id]
            env[step.id] = None
    return env


def _enter(step: Step, state: State) -> None:
    state.current = step.id
    if step.type == "multi_choice" or step.type == "attachments":
        prev = state.answers.get(step.id)
        state.pending = list(prev) if isinstance(prev, list) else []
    else:
        state.pending = []


def _advance(flow: Flow, state: State, start: int, today: dt.date) -> Ask | Review:
    env = _purge(flow, state.answers, today)
    notes: list[Step] = []
    for step in flow.steps[start:]:
        if not _relevant(step, env, today):
            continue
        if step.type == "note":
            if not state.editing:
                notes.append(step)
            continue
        if (
            state.editing
            and step.id in state.answers
            and _check(flow, state, step, state.answers[step.id], today) is None
        ):
            continue  # answered, and still fits what was changed
        _enter(step, state)
        return Ask(step, state, tuple(notes))
    state.current = None
    state.pending = []
    state.editing = False
    return Review(state, tuple(notes))


def start(flow: Flow, *, today: dt.date | None = None) -> Ask | Review:
    """Begin an interview: the notes up to the first question, and that question."""
    return _advance(flow, State(), 0, _today(today))


def current(flow: Flow, state: State, *, today: dt.date | None = None) -> Ask | Review:
    """What the applicant should see now (on resume, or when a stale button arrives)."""
    if state.current is None:
        return Review(state, changed=False)
    if not flow.has_step(state.current):
        return _advance(flow, state.copy(), 0, _today(today))
    return Ask(flow.step(state.current), state, changed=False)


def notes_on_the_way(flow: Flow, state: State, *, today: dt.date | None = None) -> tuple[Step, ...]:
    """The notes passed on the way to the current question, after the last one answered:
    what ``answer`` returned with it. A channel that draws each question anew from the
    stored state (the web chat, after a redirect) shows them above it from here."""
    if state.current is None or state.editing or not flow.has_step(state.current):
        return ()
    start = 0
    if state.path and flow.has_step(state.path[-1]):
        start = flow.position(state.path[-1]) + 1
    env = _env(flow, state.answers)
    day = _today(today)
    return tuple(
        s
        for s in flow.steps[start : flow.position(state.current)]
        if s.type == "note" and _relevant(s, env, day)
    )


def refuse(flow: Flow, state: State, code: str, **params: Any) -> Ask | Review:
    """Show where the applicant is, with a refusal (a stale button, a wrong kind of input)."""
    refusal = Refusal(code, params)
    if state.current is None:
        return Review(state, refusal=refusal, changed=False)
    return Ask(flow.step(state.current), state, refusal=refusal, changed=False)


def _accept(flow: Flow, state: State, step: Step, value: Any, today: dt.date) -> Ask | Review:
    new = state.copy()
    new.answers[step.id] = value
    if not new.path or new.path[-1] != step.id:
        new.path.append(step.id)
    new.pending = []
    return _advance(flow, new, flow.position(step.id) + 1, today)


def _check(flow: Flow, state: State, step: Step, value: Any, today: dt.date) -> Refusal | None:
    if step.constraint is None or value is None or isinstance(value, dict):
        return None  # a voice answer (a recording): no constraint can read it
    env = _env(flow, state.answers)
    env["answer"] = value
    if _holds(step.constraint, env, today, on_error=True):
        return None
    return Refusal("constraint", {}, step.constraint_message)


def _date_bound(bound: Any, today: dt.date) -> dt.date | None:
    if bound is None:
        return None
    return today if bound == "today" else dt.date.fromisoformat(bound)


def _read_typed(step: Step, text: str, today: dt.date) -> tuple[Any, Refusal | None]:
    """Turn typed text into the step's value, or say why it cannot be one."""
    raw = text.strip()
    if step.type == "text":
        # Kept as typed, less bidi controls and invisible ends: an answer of nothing but
        # zero-width characters or fillers is no answer.
        raw = clean_text(text)
        if not raw:
            return None, Refusal("empty")
        if len(raw) > step.max_length:
            return None, Refusal("too_long", {"max": step.max_length, "length": len(raw)})
        return raw, None
    if step.type == "number":
        number = parse_number(raw)
        if number is None:
            return None, Refusal("not_a_number")
        if step.integer and number != number.to_integral_value():
            return None, Refusal("not_whole")
        if step.min is not None and number < step.min:
            return None, Refusal("too_small", {"min": step.min})
        if step.max is not None and number > step.max:
            return None, Refusal("too_large", {"max": step.max})
        value: Any = int(number) if step.integer or number == int(number) else float(number)
        if isinstance(value, float) and not math.isfinite(value):
            return None, Refusal("not_a_number")  # beyond a float: JSON would lose it
        return value, None
    if step.type == "date":
        date = parse_date(raw)
        if date is None:
            return None, Refusal("not_a_date")
        lo, hi = _date_bound(step.min, today), _date_bound(step.max, today)
        if lo is not None and date < lo:
            return None, Refusal("date_too_early", {"min": lo.isoformat()})
        if hi is not None and date > hi:
            return None, Refusal("date_too_late", {"max": hi.isoformat()})
        return date.isoformat(), None
    if step.type == "phone":
        phone = parse_phone(raw)
        if phone is None:
            return None, Refusal("not_a_phone")
        return phone, None
    if step.type == "id_number":
        number, problem = parse_id_number(raw)
        if number is None:
            return None, Refusal("id_number_check" if problem == "check" else "not_an_id_number")
        return number, None
    # choice and multi_choice (``answer`` refuses typing on the other types itself):
    # typing the label or its number works too, as some keyboards hide buttons.
    picked = _match_choice(step, raw)
    if picked is None:
        return None, Refusal("use_buttons")
    return picked, None


# Where a part may end, best first: after a sentence, a line, a clause, a word.
_PART_ENDS = ("。！？!?\n", ".；;", "，,、", " ")


def text_parts(text: str, limit: int) -> list[str]:
    """``text`` cut into parts of at most ``limit`` characters, each ending where a
    reader would pause (a sentence's end, else a comma, else a space) when one is in the
    last third of the part; nothing is dropped but the spaces at a cut."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        at = limit
        for ends in _PART_ENDS:
            found = max(rest.rfind(ch, limit * 2 // 3, limit) for ch in ends)
            if found >= 0:
                at = found + 1
                break
        parts.append(rest[:at].strip())
        rest = rest[at:].strip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _match_choice(step: Step, raw: str) -> str | None:
    index = parse_index(raw, len(step.choices))
    if index is not None:
        return step.choices[index].value
    s = normalise(raw).casefold()
    for choice in step.choices:
        if s == choice.value or any(s == label.casefold() for label in choice.label.values()):
            return choice.value
    return None


def _in_choice_order(step: Step, values: list[str]) -> list[str]:
    return [c.value for c in step.choices if c.value in values]


def answer(flow: Flow, state: State, given: Input, *, today: dt.date | None = None) -> Outcome:
    """Apply one input to the interview and say what happens next."""
    day = _today(today)
    if state.current is not None and not flow.has_step(state.current):
        state = state.copy()
        _advance(flow, state, 0, day)
    if isinstance(given, Back):
        if given.step != ANY and given.step != state.current:
            return refuse(flow, state, "moved_on")
        return _back(flow, state, day)
    if state.current is None:
        return _at_review(flow, state, given, day)
    step = flow.step(state.current)

    if isinstance(given, Picked | Done | Skip | Keep | Shorten) and given.step != step.id:
        return refuse(flow, state, "moved_on")
    if isinstance(given, Shorten):
        if step.type != "text" or not state.pending or not isinstance(state.pending[0], str):
            return refuse(flow, state, "moved_on")
        parts = text_parts(state.pending[0], step.max_length)
        value = "\n\n".join(parts) if given.whole else parts[0]
        refusal = _check(flow, state, step, value, day)
        if refusal:
            return Ask(step, state, refusal=refusal, changed=False)
        return _accept(flow, state, step, value, day)
    if isinstance(given, Edit | Submit):
        return refuse(flow, state, "moved_on")
    if isinstance(given, Keep):
        if step.id not in state.answers:
            return refuse(flow, state, "moved_on")
        kept = state.answers[step.id]
        # An earlier answer may have changed since: the kept one must still fit.
        refusal = _check(flow, state, step, kept, day)
        if refusal:
            return Ask(step, state, refusal=refusal, changed=False)
        return _accept(flow, state, step, kept, day)
    if isinstance(given, Skip):
        if step.required or step.type in ("note", "consent"):
            return refuse(flow, state, "required")
        return _accept(flow, state, step, None, day)
    if isinstance(given, Unsupported):
        return refuse(flow, state, "wrong_kind", kind=given.kind)
    if step.type in ("consent", "choice", "multi_choice") and (
        isinstance(given, Attached | SharedContact)
    ):
        return refuse(flow, state, "wrong_kind", kind=sent_kind(given))

    if step.type == "consent":
        if isinstance(given, Picked) and given.value == AGREE:
            return _accept(flow, state, step, True, day)
        if isinstance(given, Picked) and given.value == DECLINE:
            return Ended(State(), "declined", step)
        return refuse(flow, state, "use_buttons")

    if step.type == "choice":
        if isinstance(given, Picked):
            value: Any = given.value if step.choice(given.value) else None
            if value is None:
                return refuse(flow, state, "moved_on")
        elif isinstance(given, Typed):
            value, refusal = _read_typed(step, given.text, day)
            if refusal:
                return Ask(step, state, refusal=refusal, changed=False)
        else:
            return refuse(flow, state, "use_buttons")
        refusal = _check(flow, state, step, value, day)
        if refusal:
            return Ask(step, state, refusal=refusal, changed=False)
        return _accept(flow, state, step, value, day)

    if step.type == "multi_choice":
        if isinstance(given, Picked | Typed):
            if isinstance(given, Picked):
                picked = given.value if step.choice(given.value) else None
                if picked is None:
                    return refuse(flow, state, "moved_on")
            else:
                picked, refusal = _read_typed(step, given.text, day)
                if refusal:
                    return Ask(step, state, refusal=refusal, changed=False)
            new = state.copy()
            if picked in new.pending:
                new.pending.remove(picked)
            else:
                new.pending.append(picked)
            new.pending = _in_choice_order(step, new.pending)
            return Ask(step, new)
        if isinstance(given, Done):
            chosen = _in_choice_order(step, state.pending)
            if not chosen:
                if step.required:
                    return refuse(flow, state, "choose_one")
                return _accept(flow, state, step, [], day)
            refusal = _check(flow, state, step, chosen, day)
            if refusal:
                return Ask(step, state, refusal=refusal, changed=False)
            return _accept(flow, state, step, chosen, day)
        return refuse(flow, state, "use_buttons")

    if step.type == "attachments":
        if isinstance(given, Attached):
            if len(state.pending) >= step.max_files:
                return refuse(flow, state, "too_many_files", max=step.max_files)
            refusal = file_refusal(step, given.ref)
            if refusal is not None:
                return Ask(step, state, refusal=refusal, changed=False)
            new = state.copy()
            new.pending.append(given.ref)
            return Ask(step, new)
        if isinstance(given, Done):
            if not state.pending and step.required:
                return refuse(flow, state, "need_file")
            return _accept(flow, state, step, list(state.pending), day)
        return refuse(flow, state, "send_files")

    # text, number, date, phone, id_number
    if isinstance(given, SharedContact):
        if step.type != "phone":
            return refuse(flow, state, "wrong_kind", kind="contact")
        phone = parse_phone(given.phone)
        if phone is None:
            return refuse(flow, state, "not_a_phone")
        value, refusal = phone, None
    elif isinstance(given, Typed):
        value, refusal = _read_typed(step, given.text, day)
        if refusal is not None and refusal.code == "too_long":
            # Kept, not thrown away: the applicant chooses to keep its first part or all
            # of it in parts (``Shorten``), or sends a shorter answer.
            new = state.copy()
            new.pending = [clean_text(given.text)]
            return Ask(step, new, refusal=refusal)
    elif isinstance(given, Attached):
        if step.type == "text" and step.voice and given.ref.get("kind") == "voice":
            # A voice answer: kept as the recording (its file reference); no constraint
            # can read it.
            refusal = file_refusal(step, given.ref)
            if refusal is not None:
                return Ask(step, state, refusal=refusal, changed=False)
            return _accept(flow, state, step, dict(given.ref), day)
        return refuse(flow, state, "wrong_kind", kind=sent_kind(given))
    else:
        return refuse(flow, state, "type_answer")
    if refusal is None:
        refusal = _check(flow, state, step, value, day)
    if refusal:
        return Ask(step, state, refusal=refusal, changed=False)
    return _accept(flow, state, step, value, day)


def _back(flow: Flow, state: State, today: dt.date) -> Ask | Review:
    new = state.copy()
    if new.editing:
        # Changing one answer from the review: Back returns to the review, unless the
        # new answer made another question relevant (or an answer no longer fit):
        # that one is asked first, so the review never shows an incomplete intake.
        new.pending = []
        return _advance(flow, new, 0, today)
    while new.path:
        prev = new.path.pop()
        if flow.has_step(prev) and is_relevant(flow, flow.step(prev), new.answers, today):
            step = flow.step(prev)
            _enter(step, new)
            return Ask(step, new)
    return refuse(flow, state, "at_start")


def _at_review(flow: Flow, state: State, given: Input, today: dt.date) -> Outcome:
    if isinstance(given, Submit):
        final = state.copy()
        _purge(flow, final.answers, today)
        return Completed(final, screen(flow, final.answers, today=today))
    if isinstance(given, Edit):
        if not flow.has_step(given.step):
            return refuse(flow, state, "moved_on")
        step = flow.step(given.step)
        if not step.asks_input or not is_relevant(flow, step, state.answers, today):
            return refuse(flow, state, "moved_on")
        new = state.copy()
        new.editing = True
        _enter(step, new)
        return Ask(step, new)
    if isinstance(given, Picked | Done | Skip | Keep | Shorten):
        return refuse(flow, state, "moved_on")
    kind = sent_kind(given)
    if kind is not None:
        return refuse(flow, state, "wrong_kind", kind=kind)
    return refuse(flow, state, "use_buttons")


# Telegram's Bot API lets a bot download files up to this size (getFile): a larger file
# cannot be kept, whatever the flow allows.
DOWNLOAD_LIMIT_MB = 20
_MB = 1024 * 1024


def file_refusal(step: Step, ref: dict[str, Any]) -> Refusal | None:
    """Why a file cannot be taken on ``step``: a kind the step does not take, or too large
    (for the step's ``max_size``, or for Telegram's download limit)."""
    kind = str(ref.get("kind") or "document")
    if step.type == "attachments" and kind not in step.kinds:
        return Refusal("file_kind", {"kinds": list(step.kinds)})
    size = ref.get("size")
    if isinstance(size, int) and size > DOWNLOAD_LIMIT_MB * _MB:
        return Refusal("telegram_limit", {"max": DOWNLOAD_LIMIT_MB})
    if isinstance(size, int) and size > step.max_size * _MB:
        return Refusal("file_too_big", {"max": step.max_size})
    return None


def sent_kind(given: Input) -> str | None:
    """What kind of thing was sent, when it is not typed words or a tap: a photo, a file,
    a contact, a sticker... (a channel answers those briefly where they do not fit)."""
    if isinstance(given, Attached):
        return str(given.ref.get("kind") or "file")
    if isinstance(given, SharedContact):
        return "contact"
    if isinstance(given, Unsupported):
        return given.kind
    return None


def screen(flow: Flow, answers: dict[str, Any], *, today: dt.date | None = None) -> Screening:
    """Evaluate eligibility, exclusion and priority rules over final answers."""
    day = _today(today)
    env = _env(flow, answers)
    eligible = tuple(r.id for r in flow.eligibility if _holds(r.when, env, day, on_error=False))
    excluded = tuple(r.id for r in flow.exclusions if _holds(r.when, env, day, on_error=False))
    open_ = tuple(r.id for r in flow.to_check if _holds(r.when, env, day, on_error=False))
    prio = [r for r in flow.priority if _holds(r.when, env, day, on_error=False)]
    return Screening(
        eligibility=eligible,
        exclusions=excluded,
        priority=sum(r.points for r in prio),
        priority_reasons=tuple(r.id for r in prio),
        to_check=open_,
    )


def with_version(flow: Flow, version: int) -> Flow:
    """The same flow, numbered as a published version."""
    return replace(flow, version=version, _index={})
