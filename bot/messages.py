"""What people read: questions, refusals, answers and the review, in their language.

Shared by the Telegram handlers and the terminal ``try`` command so that both
say exactly the same thing. ``Fmt`` decides only the markup: HTML for
Telegram (every dynamic part escaped), plain text for a terminal.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from bot.flow.engine import LIKELY, LOOK, Ask, Refusal, Review, Screening, State
from bot.flow.model import Flow, Step
from bot.flow.values import mask, strip_bidi
from bot.i18n import STATUS_NAMES, Tr, join_list
from bot.i18n_marks import N_

TELEGRAM_LIMIT = 4096
CHUNK = 3800  # room for a header and markup under Telegram's limit


@dataclass(frozen=True)
class Fmt:
    """The markup of the channel that shows a text, chosen by that channel: the core
    writes bold, italics and people's words (escaped) through it, never tags of its own."""

    html: bool

    def esc(self, text: str) -> str:
        return html.escape(text, quote=False) if self.html else text

    def b(self, text: str) -> str:
        return f"<b>{self.esc(text)}</b>" if self.html else text

    def i(self, text: str) -> str:
        return f"<i>{self.esc(text)}</i>" if self.html else text


HTML = Fmt(True)
PLAIN = Fmt(False)

_REFUSALS = {
    "empty": N_("Please type an answer."),
    "too_long": N_("That is too long: at most {max} characters, yours has {length}."),
    "not_a_number": N_("Please send a number, for example 3."),
    "not_whole": N_("Please send a whole number, without a decimal point."),
    "too_small": N_("That number is too small: it must be at least {min}."),
    "too_large": N_("That number is too large: it must be at most {max}."),
    "not_a_date": N_("Please send a date like 2024-03-05 (year-month-day)."),
    "date_too_early": N_("That date is too early: it must be {min} or later."),
    "date_too_late": N_("That date is too late: it must be {max} or earlier."),
    "not_a_phone": N_("That does not look like a phone number. Please send it like 13812345678."),
    "not_an_id_number": N_(
        "An ID card number has 18 characters: 17 digits, then a digit or X. Please check it and send it again."
    ),
    "id_number_check": N_(
        "That ID card number does not add up: a digit is probably wrong or two are swapped. Please compare it with the card and send it again."
    ),
    "use_buttons": N_("Please tap one of the buttons under the question."),
    "type_answer": N_("Please type your answer as a message."),
    "send_files": N_("Please send a photo or a file, or tap Done."),
    "too_many_files": N_("That is enough files: at most {max}. Tap Done to go on."),
    "file_too_big": N_(
        "That file is too big: this question takes files up to {max} MB. Please send a smaller photo, or the document in several parts."
    ),
    "telegram_limit": N_(
        "That file is bigger than {max} MB. Telegram does not let us receive files that big. Please send a smaller photo, or a photo of each page."
    ),
    "need_file": N_("Please send at least one photo or file first."),
    "choose_one": N_("Please choose at least one, then tap Done."),
    "required": N_("This question needs an answer."),
    "constraint": N_("That answer does not fit. Please check it."),
    "moved_on": N_("That button belongs to an earlier question. Here is the current one."),
    "at_start": N_("This is the first question; there is nothing before it."),
    "declined": N_("You did not agree, so nothing was saved."),
}

_KINDS = {
    "sticker": N_("a sticker"),
    "voice": N_("a voice message"),
    "video": N_("a video"),
    "video_note": N_("a video message"),
    "audio": N_("an audio file"),
    "location": N_("a location"),
    "photo": N_("a photo"),
    "document": N_("a file"),
    "contact": N_("a contact"),
    "poll": N_("a poll"),
    "animation": N_("an animation"),
    "file": N_("a file"),
}

_HINTS = {
    "text": N_("Type your answer."),
    "number": N_("Type a number."),
    "date": N_("Type the date, for example 1980-05-17."),
    "phone": N_("Type the number, or tap the button below to share this phone's number."),
    "id_number": N_("Type the 18 characters of the number."),
    "choice": N_("Tap one answer."),
    "multi_choice": N_("Tap every answer that fits, then tap Done."),
    "consent": N_("Tap one of the buttons."),
    "attachments": N_("Send photos or files one by one, then tap Done."),
}


# Where there are no buttons to tap (the terminal ``try``): what a question's hint and a
# refusal say instead; answers are numbered there, and an empty line ends or skips.
_TYPED_HINTS = {
    "phone": N_("Type the number."),
    "choice": N_("Type the number of one answer."),
    "multi_choice": N_("Type the numbers of every answer that fits, then an empty line."),
    "consent": N_("Type 1 or 2."),
    "attachments": N_("Type the path of a file, one per line, then an empty line."),
}
_TYPED_REFUSALS = {
    "use_buttons": N_("That is not one of the answers. Please type the number of one of them."),
    "choose_one": N_("Please choose at least one: type its number, then an empty line."),
    "too_many_files": N_("That is enough files: at most {max}. Type an empty line to go on."),
}


def refusal_text(tr: Tr, flow: Flow, lang: str, refusal: Refusal, *, typed: bool = False) -> str:
    """Why an answer was not taken; ``typed`` where answers are typed, not tapped."""
    _ = tr.gettext
    if refusal.code == "constraint" and refusal.message:
        return flow.pick(refusal.message, lang)
    if refusal.code == "wrong_kind":
        kind = _(_KINDS.get(str(refusal.params.get("kind")), _KINDS["file"]))
        return _("This question cannot take {kind}.").format(kind=kind)
    if refusal.code == "file_kind":
        kinds = [_(_KINDS.get(str(k), _KINDS["file"])) for k in refusal.params.get("kinds", [])]
        return _("This question takes only {kinds}. Please send one of those.").format(
            kinds=join_list(tr.lang, kinds)
        )
    template = (_TYPED_REFUSALS.get(refusal.code) if typed else None) or _REFUSALS.get(
        refusal.code, N_("That answer was not accepted.")
    )
    params = {k: _param(tr, v) for k, v in refusal.params.items()}
    return _(template).format(**params)


def _param(tr: Tr, value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return tr.count(value)  # inside a sentence: "最多5000个字"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return tr.date(value)
    return str(value)


def voice_label(tr: Tr, ref: dict[str, Any]) -> str:
    """A voice answer as a review, a summary or a card shows it: "🎤 voice message (0:42)"."""
    seconds = ref.get("duration")
    label = "🎤 " + tr.gettext("voice message")
    if isinstance(seconds, int) and seconds >= 0:
        label += " (" + tr.ltr(f"{seconds // 60}:{seconds % 60:02d}") + ")"
    return label


def answer_text(tr: Tr, flow: Flow, lang: str, step: Step, value: Any, *, masked: bool) -> str:
    """An answer as the reader should see it (plain text; the caller escapes)."""
    _ = tr.gettext
    if value is None:
        return _("(no answer)")
    if step.type == "consent":
        return _("Agreed")
    if step.type == "choice":
        choice = step.choice(str(value))
        return flow.pick(choice.label, lang) if choice else str(value)
    if step.type == "multi_choice":
        labels = [flow.pick(c.label, lang) for c in step.choices if c.value in (value or [])]
        if not labels:
            return _("(none)")
        return join_list(lang, labels)  # the labels' language, whoever reads them
    if isinstance(value, dict) and value.get("kind") == "voice":
        return voice_label(tr, value)
    if step.type == "attachments":
        n = len(value or [])
        if n == 0:
            return _("(none)")
        return tr.ngettext("{n} file", "{n} files", n).format(n=tr.count(n))
    if masked and step.sensitive:
        return tr.ltr(mask(str(value)))
    if step.type == "number":
        return tr.number(value)
    if step.type == "date":
        return tr.date(str(value))
    if step.type == "phone":
        return tr.ltr(str(value))
    # Typed by a person: bidi controls kept from before they were dropped on input would
    # turn what follows on the reader's line.
    return strip_bidi(str(value))


def question_text(
    tr: Tr,
    fmt: Fmt,
    flow: Flow,
    lang: str,
    step: Step,
    state: State,
    refusal: Refusal | None = None,
    *,
    typed: bool = False,
) -> str:
    """The message that asks ``step``: the refusal if any, the question, help and a hint
    (``typed``: for a channel without buttons, where answers are typed)."""
    _ = tr.gettext
    parts: list[str] = []
    if refusal is not None:
        parts.append("⚠️ " + fmt.esc(refusal_text(tr, flow, lang, refusal, typed=typed)))
    parts.append(fmt.b(flow.pick(step.text, lang)))
    if step.help:
        parts.append(fmt.i(flow.pick(step.help, lang)))
    if step.type == "multi_choice" and state.pending:
        chosen = answer_text(tr, flow, lang, step, state.pending, masked=False)
        parts.append(fmt.esc(_("Chosen so far: {answers}").format(answers=chosen)))
    elif step.type == "attachments" and state.pending:
        n = len(state.pending)
        parts.append(
            fmt.esc(tr.ngettext("{n} file received.", "{n} files received.", n).format(n=n))
        )
    elif step.type == "text" and state.pending:
        parts.append(
            fmt.esc(
                _(
                    "What you wrote is kept. Keep its first part, or all of it in parts, or send a shorter answer."
                )
            )
        )
    elif step.asks_input and step.id in state.answers and step.type != "consent":
        before = answer_text(tr, flow, lang, step, state.answers[step.id], masked=True)
        parts.append(fmt.esc(_("Your answer before: {answer}").format(answer=before)))
    hint = (_TYPED_HINTS.get(step.type) if typed else None) or _HINTS.get(step.type)
    if hint and refusal is None:
        line = _(hint)
        if not step.required and typed and step.type != "consent":
            line += "\n" + _("An empty line skips this question.")
        elif not step.required:
            line = tr.sentences(line, _("You can also skip this question."))
        parts.append(fmt.i(line))
    return "\n\n".join(parts)


def brief_text(tr: Tr, fmt: Fmt, flow: Flow, lang: str, outcome: Ask | Review) -> str:
    """What a photo, a file or a sticker gets where the question above it stays asked: a
    line or two, never the whole question again (an album of ten photos would repeat it
    ten times down a small screen). The question is named short, to find it above."""
    _ = tr.gettext
    if isinstance(outcome, Review):
        kind = str(outcome.refusal.params.get("kind", "file")) if outcome.refusal else "file"
        return "⚠️ " + fmt.esc(
            _("The summary cannot take {kind}.").format(kind=_(_KINDS.get(kind, _KINDS["file"])))
            + "\n"
            + _("Please use the buttons under the summary above.")
        )
    step, state = outcome.step, outcome.state
    if outcome.refusal is None:  # a file taken at a question that collects them
        n = len(state.pending)
        return "✔️ " + fmt.esc(
            tr.ngettext("{n} file received.", "{n} files received.", n).format(n=tr.number(n))
            + "\n"
            + _("Send more, or tap Done.")
        )
    line = "⚠️ " + fmt.esc(refusal_text(tr, flow, lang, outcome.refusal))
    if step.type == "attachments":
        return line  # its buttons come with it: Done is what to tap next
    return (
        line
        + "\n"
        + fmt.esc(_("Please answer the question above:"))
        + " "
        + fmt.b(short_label(flow.pick(step.text, lang)))
    )


def note_text(fmt: Fmt, flow: Flow, lang: str, step: Step) -> str:
    parts = [fmt.esc(flow.pick(step.text, lang))]
    if step.help:
        parts.append(fmt.i(flow.pick(step.help, lang)))
    return "\n\n".join(parts)


def answered_steps(flow: Flow, state: State) -> list[Step]:
    return [s for s in flow.steps if s.asks_input and s.type != "consent" and s.id in state.answers]


def review_texts(
    tr: Tr, fmt: Fmt, flow: Flow, lang: str, state: State, *, typed: bool = False
) -> list[str]:
    """The review screen, split into messages that fit Telegram's limit.

    Only the applicant reads it, to check their answers before sending: a sensitive answer
    (their phone) is shown whole, or a typo in it could not be seen. Elsewhere in their
    chat (the answered question, "your answer before") it stays masked."""
    _ = tr.gettext
    lines = [fmt.b(_("Please check your answers before sending:"))]
    for n, step in enumerate(answered_steps(flow, state), start=1):
        value = answer_text(tr, flow, lang, step, state.answers[step.id], masked=False)
        question = flow.pick(step.text, lang)
        lines.append(f"{tr.ltr(str(n))}. {fmt.esc(question)}\n    → {fmt.b(value)}")
    if not typed:  # where answers are typed, the channel says its own words for these
        lines.append(fmt.i(_("If everything is right, tap Send. To fix something, tap Change.")))
    return split_message("\n\n".join(lines))


def split_message(text: str, limit: int = CHUNK) -> list[str]:
    """Split a message to fit Telegram's limit: at paragraphs, then lines; a single line
    longer than the limit is cut, and loses its markup so no tag is left open."""
    if len(text) <= limit:
        return [text]
    pieces: list[tuple[str, str]] = []  # (separator before it, text)
    for para in text.split("\n\n"):
        if len(para) <= limit:
            pieces.append(("\n\n", para))
            continue
        for n, line in enumerate(para.split("\n")):
            sep = "\n\n" if n == 0 else "\n"
            if len(line) <= limit:
                pieces.append((sep, line))
            else:
                pieces += [(sep, cut) for cut in _cut(_TAG.sub("", line), limit)]
    chunks: list[str] = []
    current = ""
    for sep, piece in pieces:
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) > limit and current:
            chunks.append(current)
            current = piece
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


_TAG = re.compile(r"</?(b|i|u|s|code|pre)>")
_OPEN_ENTITY = re.compile(r"&[#\w]{0,8}$")


def _cut(text: str, limit: int) -> list[str]:
    """Cut escaped text into pieces of at most ``limit``, never inside an entity (&lt;)."""
    out = []
    while len(text) > limit:
        at = limit
        m = _OPEN_ENTITY.search(text[:at])
        if m and ";" in text[m.start() : m.start() + 10]:
            at = m.start()
        out.append(text[:at])
        text = text[at:]
    return [*out, text] if text else out


def status_name(tr: Tr, status: str) -> str:
    return tr.gettext(STATUS_NAMES.get(status, status))


# -- where else to turn: the numbers come from the settings (Tr.hotlines) ------------------


def hotlines_text(tr: Tr) -> str:
    """Whom to call, as /help ends: free legal aid, and the procuratorate itself."""
    return tr.gettext(
        "Free legal advice: call {legal_aid}. To ask the procuratorate, or to apply by phone: call {procuratorate}."
    ).format(
        legal_aid=tr.phone(tr.hotlines.legal_aid),
        procuratorate=tr.phone(tr.hotlines.procuratorate),
    )


def other_ways_to_apply(tr: Tr) -> str:
    """For someone who does not agree to this chat keeping their data: the same help is
    open to them without it, in person or by phone."""
    return tr.gettext(
        "You can still apply without this chat: in person at the service hall of your county procuratorate, or by phone on {procuratorate}."
    ).format(procuratorate=tr.phone(tr.hotlines.procuratorate))


def after_decline(tr: Tr) -> list[str]:
    """What a declined applicant can do next: ask the procuratorate to look again, get free
    legal aid, and ask about help with living costs. One paragraph each."""
    return [
        tr.gettext(
            "If you think the decision is wrong, you can ask the procuratorate to look at it again (a review): call {procuratorate}, or go in person to the service hall of the procuratorate that decided, and say you object to the decision."
        ).format(procuratorate=tr.phone(tr.hotlines.procuratorate)),
        tr.gettext(
            "Where else to turn: free legal aid, call {legal_aid}. For living costs, ask your village committee or the township office about subsistence allowance (低保) or temporary relief."
        ).format(legal_aid=tr.phone(tr.hotlines.legal_aid)),
    ]


def short_label(text: str, limit: int = 40) -> str:
    """A question shortened to fit on a button."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_VERDICTS = {
    LIKELY: N_("Pre-screen: may qualify"),
    LOOK: N_("Pre-screen: needs a caseworker's look"),
}
_UNLIKELY = N_("Pre-screen: unlikely to qualify")


def verdict_lines(tr: Tr, fmt: Fmt, flow: Flow, lang: str, screening: Screening) -> list[str]:
    """The pre-screen's word (may qualify, needs a look, unlikely), what fits the rules,
    what is open and what speaks against it, each in the flow's plain words; and that
    people decide. Shared by the caseworker's card and the try/preview view, so the two
    never say different things about one intake."""
    _ = tr.gettext
    lines = [fmt.b(_(_VERDICTS.get(screening.verdict, _UNLIKELY)))]
    sections = (
        (N_("What fits the rules:"), flow.eligibility, screening.eligibility),
        (N_("Still open, to look at:"), flow.to_check, screening.to_check),
        (N_("What speaks against it:"), flow.exclusions, screening.exclusions),
    )
    for heading, rules, held in sections:
        labels = [flow.pick(r.label, lang) for r in rules if r.id in held]
        if labels:
            lines.append(_(heading))
            lines += ["  • " + fmt.esc(label) for label in labels]
    if not screening.eligibility and not screening.to_check and not screening.exclusions:
        lines.append(_("None of the kinds of case the rules help in fits these answers."))
    lines.append(fmt.i(_("This is only the bot's first look: people at the procuratorate decide.")))
    return lines


def screening_text(tr: Tr, fmt: Fmt, flow: Flow, lang: str, screening: Screening) -> str:
    """The pre-screen as a caseworker gets it: the verdict with its reasons, and the
    priority score with its reasons."""
    lines = verdict_lines(tr, fmt, flow, lang, screening)
    lines.append("")
    points = screening.priority
    lines.append(
        fmt.b(
            tr.ngettext("Priority: {points} point", "Priority: {points} points", points).format(
                points=tr.count(points)
            )
        )
    )
    for rule in flow.priority:
        if rule.id in screening.priority_reasons:
            lines.append(f"  +{tr.number(rule.points)}  {fmt.esc(flow.pick(rule.label, lang))}")
    return "\n".join(lines)
