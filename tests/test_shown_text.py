"""People's words as others read them: bidi controls typed into them never reach a reader,
while the marks the bot itself puts around numbers and references for right-to-left
readers stay, and Uyghur text is shown exactly as it was written."""

from __future__ import annotations

from pathlib import Path

from bot.flow.engine import State
from bot.flow.loader import load_flow_file
from bot.i18n import I18n
from bot.messages import HTML, answer_text, review_texts

EVERY = load_flow_file(Path(__file__).parent / "flows" / "every_type.yaml")[0]
I18N = I18n.load()
CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200f\u061c"
LRM = "\u200e"
NAME = "ئايگۈل"


def test_an_answer_stored_with_an_override_is_shown_without_it_to_a_uyghur_reader() -> None:
    """Answers stored before controls were dropped on input (or by any other way in) are
    shown without them; the review keeps the bot's own LRM around the numbers."""
    tr = I18N.tr("ug")
    assert tr.rtl
    state = State(answers={"name": "\u202e" + NAME + "\u202c", "household": 4})
    [text] = review_texts(tr, HTML, EVERY, "zh", state)
    assert NAME in text
    assert not any(ch in CONTROLS for ch in text), repr(text)
    assert LRM + "1" + LRM + "." in text  # the bot's mark around the first line's number
    assert LRM + "4" + LRM in text  # and around the household size


def test_a_uyghur_name_is_shown_unchanged() -> None:
    step = EVERY.step("name")
    for lang in ("ug", "zh", "en"):
        assert answer_text(I18N.tr(lang), EVERY, "zh", step, NAME, masked=False) == NAME
