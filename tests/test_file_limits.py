"""Limits on files per flow step (``max_size``, ``kinds``) and voice answers (``voice``):
what the loader accepts, what the engine refuses, and what the applicant is told."""

from __future__ import annotations

import pytest

from bot.flow import engine
from bot.flow.engine import Ask, Attached, Picked, Review, State
from bot.flow.loader import FlowError, load_flow_text
from bot.i18n import I18n
from bot.messages import PLAIN, answer_text, refusal_text, review_texts

FLOW = """
id: limits
languages: [zh, en]
title: {zh: 测试, en: Test}
steps:
  - id: consent
    type: consent
    text: {zh: 同意吗？, en: Agree?}
  - id: story
    type: text
    voice: true
    text: {zh: 发生了什么？, en: What happened?}
  - id: name
    type: text
    text: {zh: 名字？, en: Your name?}
  - id: papers
    type: attachments
    max_size: 5
    kinds: [photo, document, voice]
    text: {zh: 材料？, en: Papers?}
  - id: photos
    type: attachments
    text: {zh: 照片？, en: Photos?}
"""
MB = 1024 * 1024


def flow_and_state(at: str):  # type: ignore[no-untyped-def]
    flow = load_flow_text(FLOW)
    state = State(current=at)
    return flow, state


def voice(size: int = 30_000, duration: int = 42) -> Attached:
    return Attached({"kind": "voice", "unique": "v1", "size": size, "duration": duration})


def test_the_loader_reads_the_keys_and_their_defaults() -> None:
    flow = load_flow_text(FLOW)
    assert flow.step("story").voice and not flow.step("name").voice
    assert flow.step("papers").max_size == 5
    assert flow.step("papers").kinds == ("photo", "document", "voice")
    assert flow.step("photos").max_size == 20
    assert flow.step("photos").kinds == ("photo", "document")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("max_size: 21", "max_size of step 'papers' must be between 1 and 20"),
        ("kinds: [photo, sticker]", "unknown kind of file 'sticker'"),
        ("kinds: photo", "kinds must be a list"),
    ],
)
def test_the_loader_says_what_is_wrong(key: str, problem: str) -> None:
    text = FLOW.replace("    max_size: 5\n", f"    {key}\n")
    with pytest.raises(FlowError) as caught:
        load_flow_text(text)
    assert any(problem in str(p) for p in caught.value.problems), caught.value.problems


def test_voice_is_not_a_key_of_other_steps() -> None:
    text = FLOW.replace("    kinds: [photo, document, voice]\n", "    voice: true\n")
    with pytest.raises(FlowError):
        load_flow_text(text)


def test_a_voice_answer_to_a_voice_step_is_kept_as_the_recording() -> None:
    flow, state = flow_and_state("story")
    out = engine.answer(flow, state, voice())
    assert isinstance(out, Ask) and out.refusal is None and out.step.id == "name"
    assert out.state.answers["story"]["kind"] == "voice"
    tr = I18n.load().tr("en")
    shown = answer_text(
        tr, flow, "en", flow.step("story"), out.state.answers["story"], masked=False
    )
    assert shown == "🎤 voice message (0:42)"
    zh = I18n.load().tr("zh_Hans")
    assert (
        answer_text(zh, flow, "zh", flow.step("story"), out.state.answers["story"], masked=False)
        == "🎤 语音 (0:42)"
    )


def test_a_voice_answer_where_none_is_taken_is_refused_as_before() -> None:
    flow, state = flow_and_state("name")
    out = engine.answer(flow, state, voice())
    assert isinstance(out, Ask) and out.refusal is not None
    assert out.refusal.code == "wrong_kind"
    tr = I18n.load().tr("en")
    assert refusal_text(tr, flow, "en", out.refusal) == "This question cannot take a voice message."


def test_a_file_over_the_steps_size_is_refused_and_the_question_stays() -> None:
    flow, state = flow_and_state("papers")
    big = Attached({"kind": "document", "unique": "d1", "size": 6 * MB})
    out = engine.answer(flow, state, big)
    assert isinstance(out, Ask) and out.step.id == "papers" and not out.changed
    assert out.refusal is not None and out.refusal.code == "file_too_big"
    assert out.state.pending == []
    tr = I18n.load().tr("en")
    assert refusal_text(tr, flow, "en", out.refusal).startswith(
        "That file is too big: this question takes files up to 5 MB."
    )
    ok = engine.answer(flow, state, Attached({"kind": "document", "unique": "d2", "size": MB}))
    assert isinstance(ok, Ask) and ok.refusal is None and len(ok.state.pending) == 1


def test_a_file_over_telegrams_limit_is_explained() -> None:
    flow, state = flow_and_state("photos")
    out = engine.answer(flow, state, Attached({"kind": "document", "unique": "d", "size": 25 * MB}))
    assert isinstance(out, Ask) and out.refusal is not None
    assert out.refusal.code == "telegram_limit"
    zh = I18n.load().tr("zh_Hans")
    text = refusal_text(zh, flow, "zh", out.refusal)
    assert "20 MB" in text and "Telegram" in text


def test_a_kind_the_step_does_not_take_is_refused_naming_what_it_takes() -> None:
    flow, state = flow_and_state("photos")
    out = engine.answer(flow, state, voice())
    assert isinstance(out, Ask) and out.refusal is not None and out.refusal.code == "file_kind"
    en = I18n.load().tr("en")
    assert refusal_text(en, flow, "en", out.refusal) == (
        "This question takes only a photo, a file. Please send one of those."
    )
    # Where the flow takes voice notes among the papers, they are collected like files.
    flow, state = flow_and_state("papers")
    took = engine.answer(flow, state, voice())
    assert isinstance(took, Ask) and took.refusal is None and len(took.state.pending) == 1


def test_the_review_shows_a_voice_answer() -> None:
    flow, state = flow_and_state("consent")
    out = engine.answer(flow, state, Picked("consent", engine.AGREE))
    out = engine.answer(flow, out.state, voice(duration=75))
    out = engine.answer(flow, out.state, engine.Typed("Li"))
    for n, step in enumerate(("papers", "photos")):
        photo = Attached({"kind": "photo", "unique": f"p{n}", "size": 1000})
        out = engine.answer(flow, out.state, photo)
        out = engine.answer(flow, out.state, engine.Done(step))
    assert isinstance(out, Review)
    tr = I18n.load().tr("en")
    review = "\n".join(review_texts(tr, PLAIN, flow, "en", out.state))
    assert "🎤 voice message (1:15)" in review
