"""The applicant's answer to a caseworker's question, as it arrives: several pieces.

People answer as they talk on the phone: a few words, two photos of a bill, a voice
message, one after another. Each piece is kept on its own as a ``reply`` entry of the
intake's conversation (sealed at rest like every entry) the moment it arrives, in order,
so nothing is lost whether the applicant then taps Done or the caseworker closes the
question. Words are kept as typed; a file is kept as a reference (its kind, Telegram's ids
for it, a name or a caption), marked so that no typed words can read as one; its bytes are
downloaded into our own file store as it arrives (bot/evidence.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.flow.values import strip_bidi
from bot.i18n import Tr
from bot.i18n_marks import N_

# Before a file's JSON in a conversation entry. Typed words never start with it: they are
# kept through ``clean_text``, which trims every control character from their ends.
FILE_MARK = "\x1e"

# The kinds of files an answer may hold, as the card names them.
FILE_KINDS = {
    "photo": ("📷", N_("photo")),
    "document": ("📄", N_("file")),
    "voice": ("🎤", N_("voice message")),
    "audio": ("🎵", N_("audio")),
    "video": ("🎬", N_("video")),
}


@dataclass(frozen=True)
class Piece:
    """One message of an answer: words, or a file (with the words written on it)."""

    text: str = ""
    file: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        """What it is, for the audit row (never its content)."""
        return "text" if self.file is None else str(self.file.get("kind", "document"))


@dataclass(frozen=True)
class Answer:
    """What arrived since the caseworker's last question."""

    question: str
    pieces: list[Piece] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.pieces if p.file is None and p.text]

    @property
    def files(self) -> list[dict[str, Any]]:
        return [p.file for p in self.pieces if p.file is not None]


def encode(piece: Piece) -> str:
    """The body of the conversation entry that keeps ``piece``."""
    if piece.file is None:
        return piece.text
    return FILE_MARK + json.dumps(piece.file, ensure_ascii=False, sort_keys=True)


def decode(body: str) -> Piece:
    """A ``reply`` entry's body read back (entries of earlier versions are words)."""
    if body.startswith(FILE_MARK):
        try:
            file = json.loads(body[len(FILE_MARK) :])
        except ValueError:
            return Piece(body[len(FILE_MARK) :])
        if isinstance(file, dict):
            return Piece(str(file.get("caption") or ""), file)
    return Piece(body)


def since_question(entries: Sequence[tuple[str, str]]) -> Answer:
    """The reply pieces after the last question, from (kind, body) entries in order."""
    question, pieces = "", []
    for kind, body in entries:
        if kind == "question":
            question, pieces = body, []
        elif kind == "reply":
            pieces.append(decode(body))
    return Answer(question, pieces)


def file_label(tr: Tr, file: dict[str, Any]) -> str:
    """A file of an answer as the card lists it: "📷 photo", "📄 bill.pdf"."""
    emoji, name = FILE_KINDS.get(str(file.get("kind")), FILE_KINDS["document"])
    shown = strip_bidi(str(file.get("name") or "")) or tr.gettext(name)
    seconds = file.get("duration")
    if file.get("kind") == "voice" and isinstance(seconds, int) and seconds >= 0:
        shown += " (" + tr.ltr(f"{seconds // 60}:{seconds % 60:02d}") + ")"
    return f"{emoji} {shown}"


def piece_text(tr: Tr, piece: Piece) -> str:
    """A piece as the card's history shows it (plain text; the caller escapes)."""
    if piece.file is None:
        return strip_bidi(piece.text)
    label = file_label(tr, piece.file)
    return f"{label}: {strip_bidi(piece.text)}" if piece.text else label
