"""The interview engine, driven with plain inputs over tests/flows/every_type.yaml and the
default judicial-assistance flow. Every call goes through ``send``, which also checks that the
engine never changes the state object it was given.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flow.engine import (
    AGREE,
    DECLINE,
    LIKELY,
    LOOK,
    UNLIKELY,
    Ask,
    Attached,
    Back,
    Completed,
    Done,
    Edit,
    Ended,
    Input,
    Keep,
    Outcome,
    Picked,
    Review,
    Screening,
    SharedContact,
    Shorten,
    Skip,
    State,
    Submit,
    Typed,
    Unsupported,
    answer,
    current,
    is_relevant,
    screen,
    start,
    text_parts,
    with_version,
)
from bot.flow.loader import default_flow_source, load_flow_file, load_flow_text
from bot.flow.model import Flow

TODAY = dt.date(2026, 11, 23)
FLOWS = Path(__file__).parent / "flows"
EVERY: Flow = load_flow_file(FLOWS / "every_type.yaml")[0]
DEFAULT: Flow = load_flow_text(default_flow_source())

PHOTO_A = {"kind": "photo", "file_id": "a"}
PHOTO_B = {"kind": "photo", "file_id": "b"}
PHOTO_C = {"kind": "photo", "file_id": "c"}

# Good answers for every_type.yaml, by step id.
GOOD: dict[str, list[Input]] = {
    "consent": [Picked("consent", AGREE)],
    "name": [Typed("张三")],
    "household": [Typed("4")],
    "earners": [Typed("0")],
    "income": [Typed("1500.5")],
    "birth": [Typed("1950-01-02")],
    "phone": [Typed("+86 138 1234 5678")],
    "kind": [Picked("kind", "injury")],
    "kind_other": [Typed("被骗了")],
    "needs": [Picked("needs", "medical"), Picked("needs", "money"), Done("needs")],
    "groups": [Done("groups")],
    "paid": [Picked("paid", "no")],
    "papers": [Attached(PHOTO_A), Done("papers")],
    "comment": [Skip("comment")],
}


def send(flow: Flow, state: State, given: Input) -> Outcome:
    """One input; the state handed in must come back untouched."""
    before = copy.deepcopy(state.to_dict())
    out = answer(flow, state, given, today=TODAY)
    assert state.to_dict() == before, f"the engine changed the state it was given on {given}"
    return out


def ok(flow: Flow, outcome: Outcome, *inputs: Input) -> Outcome:
    """Apply inputs that must all be accepted."""
    for one in inputs:
        outcome = send(flow, outcome.state, one)
        refusal = getattr(outcome, "refusal", None)
        assert refusal is None, (one, refusal)
    return outcome


def walk(
    flow: Flow,
    answers: Mapping[str, Iterable[Input]],
    *,
    until: str | None = None,
    override: Mapping[str, Iterable[Input]] | None = None,
) -> Outcome:
    """Answer from the start until the review (or until step ``until`` is asked)."""
    plan = {**answers, **(override or {})}
    out: Outcome = start(flow, today=TODAY)
    asked = 0
    while isinstance(out, Ask) and out.step.id != until:
        assert out.step.id in plan, f"no answer planned for {out.step.id}"
        out = ok(flow, out, *plan[out.step.id])
        asked += 1
        assert asked < 100
    if until is not None:
        assert isinstance(out, Ask) and out.step.id == until
    return out


def refused(flow: Flow, outcome: Outcome, given: Input, code: str) -> Ask | Review:
    out = send(flow, outcome.state, given)
    assert isinstance(out, Ask | Review)
    assert out.refusal is not None and out.refusal.code == code, (given, out.refusal)
    assert out.changed is False
    assert out.state is outcome.state  # nothing to store
    if isinstance(outcome, Ask):
        assert isinstance(out, Ask) and out.step.id == outcome.step.id
    return out


def asked(out: Outcome, step_id: str) -> Ask:
    assert isinstance(out, Ask), out
    assert out.step.id == step_id, (out.step.id, step_id)
    return out


# --- the whole interview ---------------------------------------------------------------


def test_start_shows_the_intro_note_with_the_first_question() -> None:
    out = start(EVERY, today=TODAY)
    asked(out, "consent")
    assert [n.id for n in out.notes] == ["intro"]
    assert out.state.current == "consent"
    assert out.state.answers == {}
    assert out.has_previous is False


def test_good_answers_reach_the_review_and_submit_with_screening() -> None:
    review = walk(EVERY, GOOD)
    assert isinstance(review, Review)
    assert review.state.current is None
    assert review.state.answers == {
        "consent": True,
        "name": "张三",
        "household": 4,
        "earners": 0,
        "income": 1500.5,
        "birth": "1950-01-02",
        "phone": "13812345678",
        "kind": "injury",
        "needs": ["money", "medical"],  # in the order of the choices, not of the taps
        "groups": [],
        "paid": "no",
        "papers": [PHOTO_A],
        "comment": None,
    }
    # the state is plain JSON: it is stored with the draft
    assert json.loads(json.dumps(review.state.to_dict())) == review.state.to_dict()
    done = send(EVERY, review.state, Submit())
    assert isinstance(done, Completed)
    assert done.state.answers == review.state.answers
    assert done.screening.eligibility == ("no_income", "injury_unpaid")
    assert done.screening.exclusions == ()
    assert done.screening.priority == 6  # medical 5 + elderly 1 (76 years old)
    assert done.screening.priority_reasons == ("medical", "elderly")


def test_screening_counts_a_priority_rule_without_an_id_and_an_exclusion() -> None:
    review = walk(
        EVERY,
        GOOD,
        override={
            "birth": [Typed("2015-06-01")],
            "earners": [Typed("2")],
            "needs": [Picked("needs", "legal"), Done("needs")],
            "groups": [Picked("groups", "minor"), Done("groups")],
            "paid": [Picked("paid", "yes")],
        },
    )
    done = send(EVERY, review.state, Submit())
    assert isinstance(done, Completed)
    assert done.screening.eligibility == ()
    assert done.screening.exclusions == ("compensated",)
    assert done.screening.priority == 3
    assert done.screening.priority_reasons == ("priority_2",)


# --- each type takes good input --------------------------------------------------------


@pytest.mark.parametrize(
    ("step_id", "given", "value"),
    [
        ("name", Typed("  李四  "), "李四"),
        ("name", Typed("一二三四五六七八九十"), "一二三四五六七八九十"),  # exactly max_length
        ("household", Typed("４"), 4),
        ("household", Typed("两"), 2),
        ("household", Typed("十"), 10),
        ("household", Typed("3人"), 3),
        ("household", Typed("1"), 1),
        ("income", Typed("1500.5"), 1500.5),
        ("income", Typed("两千五"), 2500),
        ("income", Typed("3000元"), 3000),
        ("income", Typed("0"), 0),
        ("income", Typed("100000"), 100000),
        ("birth", Typed("1950年1月2日"), "1950-01-02"),
        ("birth", Typed("1900-01-01"), "1900-01-01"),
        ("birth", Typed("2026-11-23"), "2026-11-23"),  # max: today, inclusive
        ("phone", Typed("+86 138 1234 5678"), "13812345678"),
        ("phone", Typed("010-6552 1234"), "01065521234"),
        ("phone", SharedContact("+8613812345678"), "13812345678"),
        ("kind", Picked("kind", "other"), "other"),
        ("kind", Typed("2"), "property"),  # the number of the button
        ("kind", Typed("Injured"), "injury"),  # its label, in any language and case
        ("kind", Typed("受伤"), "injury"),
        ("kind", Typed("SOMETHING ELSE"), "other"),
        ("kind", Typed("property"), "property"),  # its value
        ("paid", Typed("yes"), "yes"),
        ("paid", Picked("paid", "no"), "no"),
        ("paid", Typed("否"), "no"),
    ],
)
def test_a_step_accepts_good_input(step_id: str, given: Input, value: Any) -> None:
    at = walk(EVERY, GOOD, until=step_id)
    out = send(EVERY, at.state, given)
    assert getattr(out, "refusal", None) is None
    assert out.state.answers[step_id] == value
    assert type(out.state.answers[step_id]) is type(value)  # 4, not Decimal('4')
    assert out.state.current != step_id
    assert out.state.path[-1] == step_id


def test_a_whole_number_step_stores_an_int_and_a_decimal_step_a_float() -> None:
    at = walk(EVERY, GOOD, until="income")
    assert type(at.state.answers["household"]) is int
    out = send(EVERY, at.state, Typed("12.75"))
    assert out.state.answers["income"] == 12.75


def test_a_number_too_long_to_be_one_is_refused_not_stored_as_infinity() -> None:
    """JSON has no Infinity: stored, it would come back as something else (or nothing).
    Past 100 characters an answer is no number at all (and is not worked on: see
    test_values), so a float never overflows; a long integer below that is kept exactly."""
    flow = load_flow_text(
        "id: t\nlanguages: [en]\ntitle: {en: T}\nsteps:\n"
        "  - {id: amount, type: number, integer: false, text: {en: How much?}}\n"
        "  - {id: note, type: text, text: {en: Anything else?}}\n"
    )
    first = start(flow)
    refused(flow, first, Typed("9" * 400 + ".5"), "not_a_number")
    refused(flow, first, Typed("9" * 400), "not_a_number")
    whole = send(flow, first.state, Typed("9" * 99))  # an int: JSON keeps it exactly
    assert whole.state.answers["amount"] == int("9" * 99)


# --- an answer too long is kept, to keep its first part or all of it in parts ------------


def test_an_answer_too_long_is_kept_and_its_first_part_or_all_of_it_taken() -> None:
    at = walk(EVERY, GOOD, until="name")
    story = "一二三四五六七，八九十一"  # 12 characters; the name takes at most 10
    out = asked(send(EVERY, at.state, Typed(story)), "name")
    assert out.refusal is not None and out.refusal.code == "too_long"
    assert out.refusal.params == {"max": 10, "length": 12}
    assert out.changed and out.state.pending == [story]  # stored, nothing thrown away
    assert "name" not in out.state.answers

    first = asked(send(EVERY, out.state, Shorten("name")), "household")
    assert first.state.answers["name"] == "一二三四五六七，"  # cut after the comma
    assert first.state.pending == []
    whole = asked(send(EVERY, out.state, Shorten("name", whole=True)), "household")
    assert whole.state.answers["name"] == "一二三四五六七，\n\n八九十一"
    # With nothing kept (or on another question) the buttons are out of date.
    refused(EVERY, at, Shorten("name"), "moved_on")
    refused(EVERY, first, Shorten("name"), "moved_on")
    # A shorter answer instead is taken as any answer is.
    shorter = asked(send(EVERY, out.state, Typed("李华")), "household")
    assert shorter.state.answers["name"] == "李华" and shorter.state.pending == []


def test_text_parts_end_where_a_reader_pauses_and_drop_nothing() -> None:
    story = "We lost the harvest. My husband was hurt, badly. " * 40
    parts = text_parts(story, 1000)
    assert all(len(p) <= 1000 for p in parts) and len(parts) == 2
    assert parts[0].endswith(".")
    assert " ".join(parts).split() == story.split()
    assert text_parts("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert text_parts("short", 10) == ["short"]


# --- and refuses bad input with the right reason ---------------------------------------


@pytest.mark.parametrize(
    ("step_id", "given", "code", "params"),
    [
        ("consent", Typed("yes"), "use_buttons", {}),
        ("consent", Skip("consent"), "required", {}),
        ("consent", Back(), "at_start", {}),
        ("name", Typed(""), "empty", {}),
        ("name", Typed("   "), "empty", {}),
        # Nothing visible is no answer: zero-width characters, fillers, bidi controls.
        ("name", Typed("\u200b\u200c\u2060\ufeff"), "empty", {}),
        ("name", Typed("\u3164"), "empty", {}),  # the Hangul filler "blank name"
        ("name", Typed("\u2800 \u00ad"), "empty", {}),
        ("name", Typed("\u202e\u2066\u200f"), "empty", {}),
        ("name", Skip("name"), "required", {}),
        ("name", Unsupported("sticker"), "wrong_kind", {"kind": "sticker"}),
        ("name", Attached(PHOTO_A), "wrong_kind", {"kind": "photo"}),
        ("name", SharedContact("13812345678"), "wrong_kind", {"kind": "contact"}),
        ("name", Picked("kind", "injury"), "moved_on", {}),
        ("name", Done("needs"), "moved_on", {}),
        ("name", Keep("name"), "moved_on", {}),  # nothing to keep yet
        ("name", Submit(), "moved_on", {}),
        ("name", Edit("household"), "moved_on", {}),
        ("household", Typed("很多"), "not_a_number", {}),
        ("household", Typed("three"), "not_a_number", {}),
        ("household", Typed("2.5"), "not_whole", {}),
        ("household", Typed("0"), "too_small", {"min": 1}),
        ("household", Typed("11"), "too_large", {"max": 10}),
        ("income", Typed("-1"), "too_small", {"min": 0}),
        ("income", Typed("100000.01"), "too_large", {"max": 100000}),
        ("birth", Typed("昨天"), "not_a_date", {}),
        ("birth", Typed("2024-02-30"), "not_a_date", {}),
        ("birth", Typed("1899-12-31"), "date_too_early", {"min": "1900-01-01"}),
        ("birth", Typed("2026-11-24"), "date_too_late", {"max": "2026-11-23"}),
        ("phone", Typed("12345"), "not_a_phone", {}),
        ("phone", Typed("打我电话"), "not_a_phone", {}),
        ("phone", SharedContact("not a number"), "not_a_phone", {}),
        ("kind", Typed("maybe"), "use_buttons", {}),
        ("kind", Typed("4"), "use_buttons", {}),  # there are three buttons
        # isdigit() says yes to these and int() raised a ValueError: refused, politely.
        ("kind", Typed("፩"), "use_buttons", {}),
        ("kind", Typed("፪"), "use_buttons", {}),
        ("kind", Typed("99999999999999999999999"), "use_buttons", {}),
        ("needs", Typed("፩"), "use_buttons", {}),
        ("household", Typed("፩"), "not_a_number", {}),
        ("household", Typed("1" + " " * 4094 + "x"), "not_a_number", {}),
        ("kind", Done("kind"), "use_buttons", {}),
        ("kind", Attached(PHOTO_A), "wrong_kind", {"kind": "photo"}),
        ("needs", SharedContact("13812345678"), "wrong_kind", {"kind": "contact"}),
        ("consent", Attached({"kind": "document"}), "wrong_kind", {"kind": "document"}),
        ("kind", Picked("kind", "theft"), "moved_on", {}),  # not one of its choices
        ("needs", Done("needs"), "choose_one", {}),
        ("needs", Skip("needs"), "required", {}),
        ("needs", Typed("a pony"), "use_buttons", {}),
        ("papers", Done("papers"), "need_file", {}),
        ("papers", Typed("here they are"), "send_files", {}),
        ("papers", Unsupported("voice"), "wrong_kind", {"kind": "voice"}),
    ],
)
def test_a_step_refuses_bad_input(
    step_id: str, given: Input, code: str, params: dict[str, Any]
) -> None:
    at = walk(EVERY, GOOD, until=step_id)
    out = refused(EVERY, at, given, code)
    assert out.refusal is not None
    assert out.refusal.params == params
    assert out.refusal.message is None


@pytest.mark.parametrize(
    ("typed", "value"), [("2", "property"), ("٢", "property"), ("３", "other")]
)
def test_a_choice_typed_as_its_number_in_any_digits(typed: str, value: str) -> None:
    at = walk(EVERY, GOOD, until="kind")
    out = ok(EVERY, at, Typed(typed))
    assert out.state.answers["kind"] == value


def test_a_text_answer_is_kept_without_bidi_controls_and_invisible_ends() -> None:
    """An override in a name would turn it, and the line it is shown in, around on the
    caseworker's card; the bot's own marks are added when it writes, never stored."""
    at = walk(EVERY, GOOD, until="name")
    out = ok(EVERY, at, Typed("\u200b\u202eilA\u202c\u3164"))
    assert out.state.answers["name"] == "ilA"


def test_a_uyghur_name_is_kept_exactly_as_typed() -> None:
    at = walk(EVERY, GOOD, until="name")
    name = "ئابدۇرېھىم"
    out = ok(EVERY, at, Typed(name))
    assert out.state.answers["name"] == name


def test_a_constraint_on_an_earlier_answer_refuses_with_the_flows_message() -> None:
    at = walk(EVERY, GOOD, until="earners")  # household is 4
    out = refused(EVERY, at, Typed("5"), "constraint")
    assert out.refusal is not None
    assert out.refusal.message == {
        "zh": "不能多于家庭人数。",
        "en": "That is more than the household size.",
    }
    asked(ok(EVERY, at, Typed("4")), "income")


# --- multi_choice and attachments ------------------------------------------------------


def test_multi_choice_toggles_until_done() -> None:
    at = walk(EVERY, GOOD, until="needs")
    out = send(EVERY, at.state, Picked("needs", "medical"))
    asked(out, "needs")
    assert out.changed and out.state.pending == ["medical"]
    out = send(EVERY, out.state, Picked("needs", "money"))
    assert out.state.pending == ["money", "medical"]
    out = send(EVERY, out.state, Picked("needs", "medical"))  # tapped again: off
    assert out.state.pending == ["money"]
    out = send(EVERY, out.state, Typed("Legal aid"))  # a typed label toggles too
    assert out.state.pending == ["money", "legal"]
    out = send(EVERY, out.state, Typed("1"))  # and a typed number
    assert out.state.pending == ["legal"]
    assert "needs" not in out.state.answers  # nothing is answered before Done
    out = send(EVERY, out.state, Done("needs"))
    asked(out, "groups")
    assert out.state.answers["needs"] == ["legal"]
    assert out.state.pending == []


def test_an_optional_multi_choice_may_be_done_empty_or_skipped() -> None:
    at = walk(EVERY, GOOD, until="groups")
    assert ok(EVERY, at, Done("groups")).state.answers["groups"] == []
    assert ok(EVERY, at, Skip("groups")).state.answers["groups"] is None


def test_a_multi_choice_constraint_refuses_with_the_flows_message() -> None:
    at = walk(EVERY, GOOD, until="groups")
    out = ok(EVERY, at, Picked("groups", "minor"), Picked("groups", "none"))
    out = refused(EVERY, out, Done("groups"), "constraint")
    assert out.refusal is not None and out.refusal.message is not None
    assert out.refusal.message["en"] == "'None of these' goes alone."
    assert out.state.pending == ["minor", "none"]  # what they chose is still there to fix
    out = ok(EVERY, out, Picked("groups", "none"), Done("groups"))
    assert out.state.answers["groups"] == ["minor"]


def test_attachments_collect_files_up_to_the_limit() -> None:
    at = walk(EVERY, GOOD, until="papers")
    out = ok(EVERY, at, Attached(PHOTO_A), Attached(PHOTO_B))
    asked(out, "papers")
    assert out.state.pending == [PHOTO_A, PHOTO_B]
    out = refused(EVERY, out, Attached(PHOTO_C), "too_many_files")
    assert out.refusal is not None and out.refusal.params == {"max": 2}
    out = ok(EVERY, out, Done("papers"))
    assert out.state.answers["papers"] == [PHOTO_A, PHOTO_B]
    asked(out, "comment")


def test_an_optional_text_can_be_skipped_and_is_stored_as_null() -> None:
    at = walk(EVERY, GOOD, until="comment")
    out = ok(EVERY, at, Skip("comment"))
    assert isinstance(out, Review)
    assert "comment" in out.state.answers and out.state.answers["comment"] is None


# --- notes and relevance ---------------------------------------------------------------


def test_a_relevant_note_is_shown_with_the_next_question() -> None:
    at = walk(EVERY, GOOD, until="kind")
    out = asked(ok(EVERY, at, Picked("kind", "injury")), "needs")
    assert [n.id for n in out.notes] == ["injury_note"]
    out = asked(ok(EVERY, at, Picked("kind", "property")), "needs")
    assert out.notes == ()


def test_an_irrelevant_step_is_skipped_and_a_relevant_one_asked() -> None:
    at = walk(EVERY, GOOD, until="kind")
    skipped = ok(EVERY, at, Picked("kind", "property"))
    asked(skipped, "needs")
    assert "kind_other" not in skipped.state.answers
    relevant = asked(ok(EVERY, at, Picked("kind", "other")), "kind_other")
    assert relevant.step.required is False
    out = ok(EVERY, relevant, Skip("kind_other"))
    asked(out, "needs")
    assert out.state.answers["kind_other"] is None


# --- going back ------------------------------------------------------------------------


def test_back_asks_the_previous_question_again_showing_the_old_answer() -> None:
    at = walk(EVERY, GOOD, until="earners")
    back = asked(send(EVERY, at.state, Back()), "household")
    assert back.previous == 4 and back.has_previous
    # Keep accepts the old answer and moves on
    kept = asked(ok(EVERY, back, Keep("household")), "earners")
    assert kept.state.answers["household"] == 4
    # or a new answer replaces it
    changed = asked(ok(EVERY, back, Typed("6")), "earners")
    assert changed.state.answers["household"] == 6


def test_back_walks_all_the_way_to_the_first_question_and_no_further() -> None:
    out = walk(EVERY, GOOD, until="household")
    out = asked(ok(EVERY, out, Back()), "name")
    assert out.previous == "张三"
    out = asked(ok(EVERY, out, Back()), "consent")
    refused(EVERY, out, Back(), "at_start")


def test_back_over_a_multi_choice_restores_what_was_chosen() -> None:
    at = walk(EVERY, GOOD, until="groups")
    back = asked(ok(EVERY, at, Back()), "needs")
    assert back.previous == ["money", "medical"]
    assert back.state.pending == ["money", "medical"]  # shown as ticked
    out = ok(EVERY, back, Picked("needs", "money"), Done("needs"))
    assert out.state.answers["needs"] == ["medical"]


def test_changing_an_answer_drops_a_later_answer_that_is_no_longer_relevant() -> None:
    at = walk(EVERY, GOOD, until="needs", override={"kind": [Picked("kind", "other")]})
    assert at.state.answers["kind_other"] == "被骗了"
    out = asked(ok(EVERY, at, Back()), "kind_other")
    assert out.previous == "被骗了"
    out = asked(ok(EVERY, out, Back()), "kind")
    assert out.previous == "other"
    out = asked(ok(EVERY, out, Picked("kind", "property")), "needs")
    assert "kind_other" not in out.state.answers
    review = walk(EVERY, GOOD, override={"kind": [Picked("kind", "property")]})
    done = send(EVERY, review.state, Submit())
    assert isinstance(done, Completed) and "kind_other" not in done.state.answers


def test_keep_refuses_an_old_answer_that_no_longer_fits_a_changed_earlier_one() -> None:
    at = walk(EVERY, GOOD, until="income", override={"earners": [Typed("3")]})
    out = asked(ok(EVERY, at, Back(), Back()), "household")
    out = asked(ok(EVERY, out, Typed("2")), "earners")
    assert out.previous == 3
    out = refused(EVERY, out, Keep("earners"), "constraint")
    assert (
        out.refusal is not None and out.refusal.message == EVERY.step("earners").constraint_message
    )
    assert ok(EVERY, out, Typed("2")).state.answers["earners"] == 2


# --- changing an answer from the review ------------------------------------------------


def test_edit_from_the_review_returns_to_the_review() -> None:
    review = walk(EVERY, GOOD)
    edit = asked(send(EVERY, review.state, Edit("household")), "household")
    assert edit.previous == 4 and edit.state.editing
    out = ok(EVERY, edit, Typed("5"))
    assert isinstance(out, Review)
    assert out.state.answers == {**review.state.answers, "household": 5}
    assert out.state.editing is False


def test_edit_asks_a_newly_relevant_step_before_the_review() -> None:
    review = walk(EVERY, GOOD)
    edit = asked(send(EVERY, review.state, Edit("kind")), "kind")
    out = asked(ok(EVERY, edit, Picked("kind", "other")), "kind_other")
    assert out.notes == ()
    out = ok(EVERY, out, Typed("被骗了"))
    assert isinstance(out, Review)
    assert out.state.answers["kind"] == "other"
    assert out.state.answers["kind_other"] == "被骗了"
    # and changing it back drops that answer again
    out = ok(EVERY, out, Edit("kind"), Picked("kind", "injury"))
    assert isinstance(out, Review) and "kind_other" not in out.state.answers


def test_edit_reasks_a_later_answer_that_no_longer_fits() -> None:
    review = walk(EVERY, GOOD, override={"earners": [Typed("3")]})
    out = ok(EVERY, review, Edit("household"), Typed("2"))
    out = asked(out, "earners")
    assert out.previous == 3
    out = ok(EVERY, out, Typed("1"))
    assert isinstance(out, Review)
    assert (out.state.answers["household"], out.state.answers["earners"]) == (2, 1)


def test_back_while_editing_returns_to_the_review_unchanged() -> None:
    review = walk(EVERY, GOOD)
    edit = ok(EVERY, review, Edit("needs"), Picked("needs", "legal"))
    out = send(EVERY, edit.state, Back())
    assert isinstance(out, Review)
    assert out.state.answers == review.state.answers
    assert out.state.pending == [] and out.state.editing is False


def test_back_while_editing_cannot_leave_a_newly_relevant_step_unanswered() -> None:
    review = walk(DEFAULT, DEFAULT_VICTIM)
    out = ok(DEFAULT, review, Edit("what_happened"), Picked("what_happened", "other"))
    asked(out, "what_happened_other")  # required, and now relevant
    out = send(DEFAULT, out.state, Back())
    out = asked(out, "what_happened_other")
    assert out.state.answers["what_happened"] == "other"
    out = ok(DEFAULT, out, Typed("房子被人烧了"))
    assert isinstance(out, Review)
    done = send(DEFAULT, out.state, Submit())
    assert isinstance(done, Completed)
    assert done.state.answers["what_happened_other"] == "房子被人烧了"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        (Edit("intro"), "moved_on"),  # a note asks nothing
        (Edit("kind_other"), "moved_on"),  # not relevant on these answers
        (Edit("no_such_step"), "moved_on"),
        (Picked("kind", "other"), "moved_on"),
        (Done("needs"), "moved_on"),
        (Typed("hello"), "use_buttons"),
        (Attached(PHOTO_A), "wrong_kind"),
        (Unsupported("voice"), "wrong_kind"),
    ],
)
def test_the_review_refuses_what_it_cannot_take(given: Input, code: str) -> None:
    review = walk(EVERY, GOOD)
    out = refused(EVERY, review, given, code)
    assert isinstance(out, Review)


def test_back_from_the_review_asks_the_last_question() -> None:
    review = walk(EVERY, GOOD)
    out = asked(send(EVERY, review.state, Back()), "comment")
    assert out.has_previous and out.previous is None


def test_current_shows_where_the_applicant_is_without_changing_anything() -> None:
    at = walk(EVERY, GOOD, until="birth")
    now = current(EVERY, at.state, today=TODAY)
    asked(now, "birth")
    assert now.changed is False and now.state is at.state
    review = walk(EVERY, GOOD)
    again = current(EVERY, review.state, today=TODAY)
    assert isinstance(again, Review) and again.changed is False
    assert again.state is review.state


# --- consent ---------------------------------------------------------------------------


def test_declining_consent_ends_the_interview_keeping_nothing() -> None:
    at = start(EVERY, today=TODAY)
    out = send(EVERY, at.state, Picked("consent", DECLINE))
    assert isinstance(out, Ended)
    assert out.reason == "declined"
    assert out.step is not None and out.step.id == "consent"
    assert out.state.answers == {} and out.state.path == []


def test_declining_the_guardian_consent_for_a_young_child_ends_the_interview() -> None:
    at = walk(
        DEFAULT,
        DEFAULT_VICTIM,
        until="guardian_consent",
        override={"birth_date": [Typed("2016-02-01")]},
    )
    assert at.state.answers["guardian_name"] == "李梅"
    out = send(DEFAULT, at.state, Picked("guardian_consent", DECLINE))
    assert isinstance(out, Ended) and out.state.answers == {}


# --- the default flow's screening on realistic applicants ------------------------------

DEFAULT_VICTIM: dict[str, list[Input]] = {
    "consent": [Picked("consent", AGREE)],
    "applying_for": [Picked("applying_for", "self")],
    "relationship": [Picked("relationship", "grandparent")],
    "applicant_name": [Typed("王老汉")],
    "helper_role": [Typed("村委会主任")],
    "name": [Typed("王大山")],
    "birth_date": [Typed("1970年5月1日")],
    "guardian_name": [Typed("李梅")],
    "guardian_relation": [Typed("母亲")],
    "guardian_consent": [Picked("guardian_consent", AGREE)],
    "id_number": [Typed("620422197005010038")],
    "sensitive_consent": [Picked("sensitive_consent", AGREE)],
    "county": [Typed("会宁县")],
    "township": [Typed("河畔镇")],
    "village": [Typed("张家村")],
    "rural": [Picked("rural", "yes")],
    "what_happened": [Picked("what_happened", "crime_injury")],
    "what_happened_other": [Typed("别的事")],
    "injury": [Picked("injury", "serious")],
    "dependants": [Picked("dependants", "yes")],
    "authority": [Picked("authority", "court")],
    "authority_name": [Skip("authority_name")],
    "case_stage": [Picked("case_stage", "judged")],
    "case_number": [Skip("case_number")],
    "own_fault": [Picked("own_fault", "no")],
    "compensation": [Picked("compensation", "none")],
    "no_compensation_reason": [Picked("no_compensation_reason", "cannot_pay")],
    "hardship": [Picked("hardship", "medical"), Picked("hardship", "income"), Done("hardship")],
    "hardship_caused_by_case": [Picked("hardship_caused_by_case", "yes")],
    "medical_urgent": [Picked("medical_urgent", "yes")],
    "household_size": [Typed("四口人")],
    "earners": [Typed("0")],
    "monthly_income": [Typed("300元")],
    "groups": [Picked("groups", "disabled"), Done("groups")],
    "social_assistance": [Done("social_assistance")],
    "hardship_resolved": [Picked("hardship_resolved", "no")],
    "work_ability": [Picked("work_ability", "none")],
    "help_wanted": [Picked("help_wanted", "payment"), Done("help_wanted")],
    "phone": [Typed("138 1234 5678")],
    "documents": [Done("documents")],
    "description": [Skip("description")],
}


def submit(flow: Flow, review: Outcome) -> Completed:
    assert isinstance(review, Review)
    done = send(flow, review.state, Submit())
    assert isinstance(done, Completed)
    return done


def test_default_flow_an_injured_victim_without_compensation_is_eligible_and_urgent() -> None:
    review = walk(DEFAULT, DEFAULT_VICTIM)
    answers = review.state.answers
    for not_asked in ("relationship", "helper_role", "guardian_name", "guardian_consent"):
        assert not_asked not in answers
    assert answers["household_size"] == 4 and answers["monthly_income"] == 300
    assert answers["phone"] == "13812345678"
    assert answers["id_number"] == "620422197005010038"
    screening = submit(DEFAULT, review).screening
    # A serious injury, the offender cannot pay: the disability raises priority only.
    assert screening.eligibility == ("serious_injury",)
    assert screening.exclusions == () and screening.to_check == ()
    assert screening.verdict == "likely"
    assert screening.priority == 11  # urgent medical 5 + disability 3 + no income 3
    assert screening.priority_reasons == ("urgent_medical", "disability", "no_income")


def test_answers_to_steps_the_flow_does_not_have_are_not_seen_by_its_rules() -> None:
    """A stored draft may hold an answer to a step the flow no longer has; the rules see
    the flow's own steps only, and reading answers never changes the flow."""
    review = walk(DEFAULT, DEFAULT_VICTIM)
    before = dict(DEFAULT.unanswered)
    plain = screen(DEFAULT, review.state.answers, today=TODAY)
    stray = {**review.state.answers, "an_old_step": "x"}
    assert screen(DEFAULT, stray, today=TODAY) == plain
    assert DEFAULT.unanswered == before and set(before) == {s.id for s in DEFAULT.steps}
    assert all(value is None for value in before.values())


def test_default_flow_a_fully_compensated_victim_is_flagged() -> None:
    review = walk(
        DEFAULT,
        DEFAULT_VICTIM,
        override={
            "compensation": [Picked("compensation", "full")],
            "medical_urgent": [Picked("medical_urgent", "no")],
            "earners": [Typed("2")],
            "groups": [Picked("groups", "none"), Done("groups")],
        },
    )
    assert "no_compensation_reason" not in review.state.answers  # not asked when paid in full
    screening = submit(DEFAULT, review).screening
    assert screening.eligibility == ()
    assert screening.exclusions == ("fully_compensated",)
    assert screening.verdict == "unlikely"
    assert screening.priority == 0 and screening.priority_reasons == ()


def test_default_flow_a_relative_applying_for_a_child_whose_parent_was_killed() -> None:
    review = walk(
        DEFAULT,
        DEFAULT_VICTIM,
        override={
            "applying_for": [Picked("applying_for", "relative")],
            "birth_date": [Typed("2015-09-01")],  # 11 years old on TODAY
            "what_happened": [Picked("what_happened", "crime_death")],
            "case_stage": [Picked("case_stage", "enforcement_ended")],
            "compensation": [Picked("compensation", "part")],
            "no_compensation_reason": [Picked("no_compensation_reason", "refused_offer")],
            "medical_urgent": [Picked("medical_urgent", "no")],
            "earners": [Typed("1")],
            "groups": [Done("groups")],
        },
    )
    answers = review.state.answers
    assert answers["relationship"] == "grandparent" and answers["applicant_name"] == "王老汉"
    assert answers["guardian_name"] == "李梅" and answers["guardian_consent"] is True
    screening = submit(DEFAULT, review).screening
    assert screening.eligibility == ("death_dependants",)
    assert screening.exclusions == ("refused_offer",)
    assert screening.verdict == "unlikely"  # what the rules usually exclude outweighs
    assert screening.priority == 5  # minor 3 + relative killed 2
    assert screening.priority_reasons == ("minor", "relative_killed")


# --- state -----------------------------------------------------------------------------


def test_state_round_trips_through_json() -> None:
    at = walk(EVERY, GOOD, until="papers")
    mid = ok(EVERY, at, Attached(PHOTO_A))
    review = walk(EVERY, GOOD)
    editing = ok(EVERY, review, Edit("needs"), Picked("needs", "legal"))
    for state in (mid.state, editing.state, review.state, State()):
        data = json.loads(json.dumps(state.to_dict(), ensure_ascii=False))
        again = State.from_dict(data)
        assert again == state
        assert again.to_dict() == state.to_dict()
    # an interview goes on the same way from a stored state
    stored = State.from_dict(json.loads(json.dumps(mid.state.to_dict())))
    assert (
        ok(EVERY, mid, Done("papers")).state
        == ok(EVERY, Ask(mid.step, stored), Done("papers")).state
    )
    assert editing.state.editing and editing.state.pending == ["money", "medical", "legal"]


def test_state_from_an_empty_or_partial_dict() -> None:
    assert State.from_dict({}) == State()
    partial = State.from_dict({"answers": {"name": "x"}, "current": "household"})
    assert partial.answers == {"name": "x"} and partial.path == [] and not partial.editing


INPUTS = st.sampled_from(
    [
        Typed("3"),
        Typed("0"),
        Typed("hello"),
        Typed("2026-01-01"),
        Typed("13812345678"),
        Typed(""),
        Typed("1"),
        Picked("consent", AGREE),
        Picked("kind", "other"),
        Picked("needs", "money"),
        Picked("groups", "none"),
        Picked("groups", "minor"),
        Picked("paid", "yes"),
        Done("needs"),
        Done("groups"),
        Done("papers"),
        Skip("kind_other"),
        Skip("comment"),
        Keep("household"),
        Typed("一二三四五六七，八九十一"),
        Shorten("name"),
        Shorten("name", whole=True),
        Attached(PHOTO_A),
        SharedContact("+8613812345678"),
        Unsupported("sticker"),
        Back(),
        Edit("kind"),
        Edit("household"),
        Submit(),
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.booleans(), st.lists(INPUTS, max_size=40))
def test_any_sequence_of_inputs_keeps_the_state_consistent(
    from_review: bool, inputs: list[Input]
) -> None:
    out: Outcome = walk(EVERY, GOOD) if from_review else start(EVERY, today=TODAY)
    for given_input in inputs:
        if isinstance(out, Completed | Ended):
            break
        out = send(EVERY, out.state, given_input)  # never mutates what it was given
        state = out.state
        json.dumps(state.to_dict())  # always storable
        assert set(state.answers) <= {s.id for s in EVERY.steps}
        if isinstance(out, Ask):
            assert state.current == out.step.id and out.step.asks_input
        if isinstance(out, Review):
            assert state.current is None and not state.editing
        if isinstance(out, Completed | Review):
            # the review is only reached with every relevant question answered
            for step in EVERY.steps:
                if step.asks_input:
                    relevant = is_relevant(EVERY, step, state.answers, TODAY)
                    assert (step.id in state.answers) == relevant, step.id


# --- the edges of the interview's rules --------------------------------------------------
# Found by mutation testing (docs/testing.md): each is a rule a mutant broke unnoticed.

EDGES: Flow = load_flow_text(
    """
id: edges
languages: [en]
title: {en: Edges}
steps:
  - id: age
    type: number
    text: {en: How old are you?}
  - id: role
    type: choice
    text: {en: Who are you?}
    constraint: "answer != 'child' or age < 18"
    constraint_message: {en: A child is under 18.}
    choices:
      - {value: adult, label: {en: An adult}}
      - {value: child, label: {en: A child}}
  - id: odd
    type: text
    relevant: "age + 'x' == 1"
    text: {en: Asked when its rule cannot be worked out}
  - id: nick
    type: text
    constraint: "answer + 1 > 0"
    text: {en: A rule that cannot be worked out lets the answer through}
eligibility:
  - {id: broken, when: "nick * nick == 1", label: {en: Never holds}}
  - {id: adult, when: "age >= 18", label: {en: An adult}}
exclusions:
  - {id: broken_too, when: "nick - 1 == 0", label: {en: Never holds}}
to_check:
  - {id: broken_three, when: "-nick", label: {en: Never holds}}
priority:
  - {id: broken_four, when: "len(age) > 0", points: 7, label: {en: Never holds}}
"""
)


def test_a_constraint_on_a_single_choice_refuses_a_tap_and_a_typed_label() -> None:
    at = ok(EDGES, start(EDGES, today=TODAY), Typed("30"))
    asked(at, "role")
    for tapped_or_typed in (Picked("role", "child"), Typed("A child"), Typed("2")):
        out = refused(EDGES, at, tapped_or_typed, "constraint")
        assert out.refusal is not None and out.refusal.message == {"en": "A child is under 18."}
    young = ok(EDGES, start(EDGES, today=TODAY), Typed("12"), Picked("role", "child"))
    assert young.state.answers["role"] == "child"


def test_rules_that_cannot_be_worked_out_let_the_applicant_through_but_never_hold() -> None:
    """A relevant rule that fails asks the question, a constraint that fails takes the
    answer (the loader refused every rule that does not parse; these fail on the answers
    only), and a screening rule that fails does not hold."""
    out = ok(EDGES, start(EDGES, today=TODAY), Typed("30"), Picked("role", "adult"))
    asked(out, "odd")
    review = ok(EDGES, out, Typed("x"), Typed("Ali"))
    assert isinstance(review, Review)
    assert review.state.answers == {"age": 30, "role": "adult", "odd": "x", "nick": "Ali"}
    done = send(EDGES, review.state, Submit())
    assert isinstance(done, Completed)
    assert done.screening.eligibility == ("adult",)
    assert done.screening.exclusions == ()
    assert done.screening.to_check == ()
    assert done.screening.priority == 0 and done.screening.priority_reasons == ()


def test_a_state_whose_question_was_removed_by_a_new_version_goes_on_from_the_start() -> None:
    """A new version published while someone was half-way: their question is gone. They
    are asked again from the first question, with every answer kept to confirm."""
    at = walk(EVERY, GOOD, until="birth")
    gone = State.from_dict({**at.state.to_dict(), "current": "removed_step"})
    now = current(EVERY, gone, today=TODAY)
    asked(now, "consent")
    assert [n.id for n in now.notes] == ["intro"]
    assert now.has_previous and now.previous is True
    assert now.state.answers == at.state.answers
    assert gone.current == "removed_step"  # the state given is left alone
    # an answer sent meanwhile goes to the question asked now
    out = asked(send(EVERY, gone, Picked("consent", AGREE)), "name")
    assert out.previous == "张三"
    typed = asked(send(EVERY, gone, Typed("1950-01-02")), "consent")
    assert typed.refusal is not None and typed.refusal.code == "use_buttons"


def test_a_stale_back_is_refused_where_the_applicant_is() -> None:
    at = walk(EVERY, GOOD, until="income")
    refused(EVERY, at, Back("household"), "moved_on")  # tapped on an older question
    refused(EVERY, at, Back(None), "moved_on")  # Back from a review shown earlier
    asked(send(EVERY, at.state, Back("income")), "earners")
    asked(send(EVERY, at.state, Back()), "earners")  # typed: wherever they are
    review = walk(EVERY, GOOD)
    refused(EVERY, review, Back("comment"), "moved_on")
    asked(send(EVERY, review.state, Back(None)), "comment")


def test_back_passes_over_questions_no_longer_relevant_or_no_longer_in_the_flow() -> None:
    at = walk(EVERY, GOOD, until="needs", override={"kind": [Picked("kind", "other")]})
    assert at.state.path[-2:] == ["kind", "kind_other"]
    # kind_other no longer relevant (as after an answer changed under it), and a step a
    # new version removed, both left in the path
    data = at.state.to_dict()
    stale = State.from_dict(
        {
            **data,
            "answers": {**data["answers"], "kind": "injury"},
            "path": [*data["path"], "removed_step"],
        }
    )
    back = asked(send(EVERY, stale, Back()), "kind")
    assert back.state.path == data["path"][:-2]
    # and at the start, nothing is left to go back to
    first = walk(EVERY, GOOD, until="consent")
    refused(EVERY, first, Back(), "at_start")


def test_a_multi_choice_refuses_a_value_it_does_not_have() -> None:
    at = walk(EVERY, GOOD, until="needs")
    refused(EVERY, at, Picked("needs", "pony"), "moved_on")
    refused(EVERY, at, Picked("kind", "injury"), "moved_on")  # another question's button


@pytest.mark.parametrize(
    ("step_id", "given", "code"),
    [
        ("consent", Typed("yes"), "use_buttons"),
        ("consent", Picked("consent", "maybe"), "use_buttons"),
        ("consent", Done("consent"), "use_buttons"),
        ("consent", Skip("consent"), "required"),
        ("kind", Done("kind"), "use_buttons"),
        ("kind", Shorten("kind"), "moved_on"),
        ("name", Picked("name", "x"), "type_answer"),
        ("name", Done("name"), "type_answer"),
        ("household", Done("household"), "type_answer"),
        ("household", SharedContact("13812345678"), "wrong_kind"),
        ("household", Attached(PHOTO_A), "wrong_kind"),
        ("household", Shorten("household"), "moved_on"),
        ("household", Keep("household"), "moved_on"),  # nothing answered to keep
        ("phone", Picked("phone", "13812345678"), "type_answer"),
        ("papers", Picked("papers", "x"), "send_files"),
        ("papers", Skip("papers"), "required"),
        ("needs", Edit("needs"), "moved_on"),
        ("needs", Submit(), "moved_on"),
    ],
)
def test_each_kind_of_question_says_how_to_answer_it(step_id: str, given: Input, code: str) -> None:
    at = walk(EVERY, GOOD, until=step_id)
    out = refused(EVERY, at, given, code)
    assert out.refusal is not None
    if code == "wrong_kind":
        assert out.refusal.params == {
            "kind": "contact" if isinstance(given, SharedContact) else "photo"
        }
    else:
        assert out.refusal.params == {}


def test_typing_the_number_of_the_last_choice_picks_it() -> None:
    at = walk(EVERY, GOOD, until="paid")
    assert ok(EVERY, at, Typed("2")).state.answers["paid"] == "no"
    refused(EVERY, at, Typed("3"), "use_buttons")
    refused(EVERY, at, Typed("0"), "use_buttons")
    needs = walk(EVERY, GOOD, until="needs")
    assert ok(EVERY, needs, Typed("3")).state.pending == ["legal"]


@pytest.mark.parametrize(
    ("born", "points"),
    [("1966-11-23", 6), ("1966-11-24", 5), ("1966-11-22", 6)],
)
def test_age_is_counted_on_the_date_given_to_the_engine(born: str, points: int) -> None:
    """60 on the day of the 60th birthday (TODAY is 2026-11-23), not the day after."""
    review = walk(EVERY, GOOD, override={"birth": [Typed(born)]})
    done = send(EVERY, review.state, Submit())
    assert isinstance(done, Completed)
    assert done.screening.priority == points
    assert ("elderly" in done.screening.priority_reasons) == (points == 6)
    # the date given is the one used: a day later, the younger one is 60 too
    later = answer(EVERY, review.state, Submit(), today=TODAY + dt.timedelta(days=1))
    assert isinstance(later, Completed) and later.screening.priority == 6


def test_a_birth_date_of_today_is_taken_and_tomorrow_refused() -> None:
    at = walk(EVERY, GOOD, until="birth")
    assert ok(EVERY, at, Typed("2026-11-23")).state.answers["birth"] == "2026-11-23"
    refused(EVERY, at, Typed("2026-11-24"), "date_too_late")
    tomorrow = answer(EVERY, at.state, Typed("2026-11-24"), today=TODAY + dt.timedelta(days=1))
    assert isinstance(tomorrow, Ask) and tomorrow.refusal is None


def test_screening_round_trips_through_json_and_reads_what_an_older_row_lacks() -> None:
    screening = Screening(
        eligibility=("no_income", "injury_unpaid"),
        exclusions=("compensated",),
        priority=8,
        priority_reasons=("medical", "priority_2"),
        to_check=("look",),
    )
    data = json.loads(json.dumps(screening.to_dict()))
    assert data == {
        "eligibility": ["no_income", "injury_unpaid"],
        "exclusions": ["compensated"],
        "to_check": ["look"],
        "priority": 8,
        "priority_reasons": ["medical", "priority_2"],
    }
    assert Screening.from_dict(data) == screening
    empty = Screening.from_dict({})
    assert empty == Screening((), (), 0, (), ())
    assert empty.verdict == UNLIKELY
    assert Screening.from_dict({"priority": "3", "to_check": None}).priority == 3


@pytest.mark.parametrize(
    ("eligibility", "exclusions", "to_check", "verdict"),
    [
        (("a",), (), (), LIKELY),
        ((), (), (), UNLIKELY),
        (("a",), ("b",), (), UNLIKELY),
        (("a",), (), ("c",), LOOK),
        ((), (), ("c",), LOOK),
        (("a",), ("b",), ("c",), UNLIKELY),
    ],
)
def test_the_verdict_weighs_what_speaks_against_first(
    eligibility: tuple[str, ...],
    exclusions: tuple[str, ...],
    to_check: tuple[str, ...],
    verdict: str,
) -> None:
    assert Screening(eligibility, exclusions, 0, (), to_check).verdict == verdict


def test_with_version_numbers_a_copy_and_leaves_the_flow_alone() -> None:
    published = with_version(EVERY, 7)
    assert published.version == 7 and EVERY.version == 0
    assert published.steps == EVERY.steps
    assert published.step("papers") is EVERY.step("papers")
    assert published.position("comment") == len(EVERY.steps) - 1
    assert with_version(published, 8).version == 8 and published.version == 7


CHAIN: Flow = load_flow_text(
    """
id: chain
languages: [en]
title: {en: Chain}
steps:
  - id: hurt
    type: choice
    text: {en: Were you hurt?}
    choices:
      - {value: "yes", label: {en: "Yes"}}
      - {value: "no", label: {en: "No"}}
  - id: where
    type: text
    relevant: "hurt == 'yes'"
    text: {en: Where?}
  - id: treated
    type: text
    relevant: "where != null"
    text: {en: Where were you treated?}
  - id: treated_note
    type: note
    relevant: "hurt == 'yes'"
    text: {en: Keep the hospital's papers.}
  - id: motto
    type: text
    required: false
    constraint: "len(answer) > 2"
    text: {en: Anything to add (three letters or more)?}
  - id: idn
    type: id_number
    required: false
    text: {en: Your ID number}
"""
)


def test_an_answer_dropped_as_no_longer_relevant_drops_what_hung_on_it() -> None:
    """hurt → where → treated: changing hurt to no drops where, and with it treated,
    in the same pass (the rules see where as unanswered at once)."""
    out = ok(
        CHAIN,
        start(CHAIN, today=TODAY),
        Picked("hurt", "yes"),
        Typed("leg"),
        Typed("county hospital"),
    )
    asked(out, "motto")
    assert [n.id for n in out.notes] == ["treated_note"]
    review = ok(CHAIN, out, Skip("motto"), Skip("idn"))
    assert isinstance(review, Review)
    changed = ok(CHAIN, review, Edit("hurt"), Picked("hurt", "no"))
    assert isinstance(changed, Review)
    assert changed.notes == ()  # notes passed again while editing are not shown again
    assert changed.state.answers == {"hurt": "no", "motto": None, "idn": None}
    done = send(CHAIN, changed.state, Submit())
    assert isinstance(done, Completed) and "treated" not in done.state.answers


def test_an_optional_answer_left_empty_is_not_held_to_its_constraint() -> None:
    at = ok(CHAIN, start(CHAIN, today=TODAY), Picked("hurt", "no"))
    asked(at, "motto")
    refused(CHAIN, at, Typed("ok"), "constraint")
    assert ok(CHAIN, at, Typed("fine")).state.answers["motto"] == "fine"
    assert ok(CHAIN, at, Skip("motto")).state.answers["motto"] is None


@pytest.mark.parametrize(
    ("typed", "code"),
    [("110101199003077775", "id_number_check"), ("1101011990", "not_an_id_number")],
)
def test_an_id_number_says_whether_a_digit_is_wrong_or_it_is_no_id_number(
    typed: str, code: str
) -> None:
    at = ok(CHAIN, start(CHAIN, today=TODAY), Picked("hurt", "no"), Skip("motto"))
    asked(at, "idn")
    refused(CHAIN, at, Typed(typed), code)
    done = ok(CHAIN, at, Typed("110101 19900307 7774"))
    assert done.state.answers["idn"] == "110101199003077774"


def test_a_choice_is_typed_as_its_value_or_its_label_in_any_case() -> None:
    at = walk(EVERY, GOOD, until="kind")
    assert ok(EVERY, at, Typed("property")).state.answers["kind"] == "property"
    assert ok(EVERY, at, Typed("LOST PROPERTY")).state.answers["kind"] == "property"
    assert ok(EVERY, at, Typed("财产损失")).state.answers["kind"] == "property"


def test_a_typed_choice_on_a_multi_choice_toggles_it() -> None:
    at = walk(EVERY, GOOD, until="needs")
    out = ok(EVERY, at, Typed("3"), Typed("1"))
    assert out.state.pending == ["money", "legal"]  # in the order of the choices
    out = ok(EVERY, out, Typed("legal"))
    assert out.state.pending == ["money"]


def test_back_to_attachments_brings_the_files_sent_back() -> None:
    at = walk(EVERY, GOOD, until="comment")
    back = asked(send(EVERY, at.state, Back()), "papers")
    assert back.state.pending == [PHOTO_A]
    assert ok(EVERY, back, Done("papers")).state.answers["papers"] == [PHOTO_A]


def test_optional_attachments_may_be_done_with_none() -> None:
    flow = load_flow_text(
        "id: f\nlanguages: [en]\ntitle: {en: F}\nsteps:\n"
        "  - {id: ok, type: consent, text: {en: OK?}}\n"
        "  - {id: files, type: attachments, required: false, text: {en: Files?}}\n"
    )
    at = ok(flow, start(flow, today=TODAY), Picked("ok", AGREE))
    review = ok(flow, at, Done("files"))
    assert isinstance(review, Review) and review.state.answers["files"] == []


def test_changing_the_last_answer_from_the_review_keeps_the_path_as_it_was() -> None:
    review = walk(EVERY, GOOD)
    again = ok(EVERY, review, Edit("comment"), Typed("谢谢"))
    assert isinstance(again, Review)
    assert again.state.path == review.state.path
    assert again.state.answers["comment"] == "谢谢"
    assert again.state.editing is False and again.state.pending == []


def test_a_file_without_a_kind_is_called_a_file() -> None:
    review = walk(EVERY, GOOD)
    out = refused(EVERY, review, Attached({"file_id": "x"}), "wrong_kind")
    assert out.refusal is not None and out.refusal.params == {"kind": "file"}
    at = walk(EVERY, GOOD, until="kind")
    out = refused(EVERY, at, SharedContact("13812345678"), "wrong_kind")
    assert out.refusal is not None and out.refusal.params == {"kind": "contact"}


def test_shorten_needs_a_text_answer_kept_back() -> None:
    at = walk(EVERY, GOOD, until="name")
    refused(EVERY, at, Shorten("name"), "moved_on")  # nothing too long was sent


def test_the_refusal_on_the_review_leaves_it_as_it_is() -> None:
    review = walk(EVERY, GOOD)
    out = refused(EVERY, review, Typed("hello"), "use_buttons")
    assert isinstance(out, Review) and out.refusal is not None and out.refusal.params == {}


DAYS: Flow = load_flow_text(
    """
id: days
languages: [en]
title: {en: Days}
steps:
  - id: early
    type: text
    relevant: "today() < '2000-01-01'"
    text: {en: Asked only before 2000}
  - id: born
    type: date
    max: today
    text: {en: When were you born?}
  - id: work
    type: text
    relevant: "age(born) < 60"
    text: {en: What work do you do?}
  - id: hearing
    type: date
    min: today
    constraint: "answer >= today()"
    constraint_message: {en: That day has passed.}
    text: {en: When is the hearing?}
eligibility:
  - {id: senior, when: "age(born) >= 60", label: {en: Sixty or older}}
exclusions:
  - {id: minor, when: "age(born) < 18", label: {en: Under 18}}
to_check:
  - {id: ninety, when: "age(born) >= 90", label: {en: Ninety or older}}
priority:
  - {id: eighty, when: "age(born) >= 80", points: 2, label: {en: Eighty or older}}
"""
)
NEXT_DAY = TODAY + dt.timedelta(days=1)
# 59 on TODAY, 60 on NEXT_DAY
TURNING_SIXTY = "1966-11-24"


def on(day: dt.date, state: State, given: Input) -> Outcome:
    return answer(DAYS, state, given, today=day)


def test_every_rule_sees_the_day_given_to_the_engine() -> None:
    """Relevance, date bounds, constraints and each list of screening rules."""
    asked(start(DAYS, today=dt.date(1999, 12, 31)), "early")
    at = asked(start(DAYS, today=TODAY), "born")
    old = asked(on(TODAY, at.state, Typed("1930-06-01")), "hearing")  # 96: no work question
    refused(DAYS, old, Typed("2026-11-22"), "date_too_early")
    review = on(TODAY, old.state, Typed("2026-11-23"))
    assert isinstance(review, Review)
    done = on(TODAY, review.state, Submit())
    assert isinstance(done, Completed)
    assert done.screening == Screening(("senior",), (), 2, ("eighty",), ("ninety",))
    young = asked(on(TODAY, at.state, Typed("2010-01-01")), "work")
    review = ok(DAYS, young, Typed("school"), Typed("2027-01-05"))
    done = on(TODAY, review.state, Submit())
    assert isinstance(done, Completed)
    assert done.screening == Screening((), ("minor",), 0, (), ())


def test_answers_are_screened_on_the_day_they_are_sent() -> None:
    """Reviewed the day before a 60th birthday, sent on it: the question for people under
    60 is no longer theirs; it is dropped, cannot be changed, and Back passes it by."""
    at = asked(start(DAYS, today=TODAY), "born")
    work = asked(on(TODAY, at.state, Typed(TURNING_SIXTY)), "work")
    review = ok(DAYS, work, Typed("farmer"), Typed("2026-12-01"))
    assert isinstance(review, Review) and review.state.answers["work"] == "farmer"
    done = on(NEXT_DAY, review.state, Submit())
    assert isinstance(done, Completed)
    assert "work" not in done.state.answers and done.screening.eligibility == ("senior",)
    edit = on(NEXT_DAY, review.state, Edit("work"))
    assert isinstance(edit, Review) and edit.refusal is not None
    assert edit.refusal.code == "moved_on"
    hearing = asked(on(NEXT_DAY, review.state, Back(None)), "hearing")
    asked(on(NEXT_DAY, hearing.state, Back()), "born")
    asked(on(TODAY, hearing.state, Back()), "work")


def test_an_answer_kept_must_still_fit_on_the_day_it_is_kept() -> None:
    review = walk_days(TURNING_SIXTY, "farmer", "2026-12-01")
    hearing = asked(on(TODAY, review.state, Back(None)), "hearing")
    later = on(dt.date(2026, 12, 2), hearing.state, Keep("hearing"))
    assert isinstance(later, Ask) and later.refusal is not None
    assert later.refusal.code == "constraint" and later.refusal.params == {}
    assert later.refusal.message == {"en": "That day has passed."}
    assert isinstance(on(TODAY, hearing.state, Keep("hearing")), Review)


def walk_days(born: str, work: str, hearing: str) -> Outcome:
    out = ok(DAYS, start(DAYS, today=TODAY), Typed(born), Typed(work), Typed(hearing))
    assert isinstance(out, Review)
    return out


def test_a_question_removed_while_away_is_found_again_on_the_day_given() -> None:
    removed = {"current": "removed_step", "path": ["born", "work"]}
    # 50 in 2000: the work question still theirs; 60 in 2000: dropped
    kept = State.from_dict({**removed, "answers": {"born": "1950-01-01", "work": "x"}})
    now = current(DAYS, kept, today=dt.date(2000, 1, 1))
    assert asked(now, "born").state.answers == {"born": "1950-01-01", "work": "x"}
    dropped = State.from_dict({**removed, "answers": {"born": "1940-01-01", "work": "x"}})
    now = current(DAYS, dropped, today=dt.date(2000, 1, 1))
    assert asked(now, "born").state.answers == {"born": "1940-01-01"}
    # an answer sent meanwhile goes to the question asked on that day
    out = asked(on(TODAY, dropped, Typed("1990-01-01")), "work")
    assert out.state.answers == {"born": "1990-01-01"}
    # and to the first question of the flow, where that is the one asked
    chain = State.from_dict({"answers": {"hurt": "yes"}, "current": "removed_step"})
    assert asked(send(CHAIN, chain, Picked("hurt", "no")), "motto").state.answers == {"hurt": "no"}


def test_back_while_editing_asks_a_first_question_a_new_version_added() -> None:
    editing = State.from_dict(
        {"answers": {"motto": None, "idn": None}, "current": "motto", "editing": True}
    )
    asked(send(CHAIN, editing, Back()), "hurt")


def test_back_and_edit_reach_a_question_whose_rule_cannot_be_worked_out() -> None:
    at = ok(EDGES, start(EDGES, today=TODAY), Typed("30"), Picked("role", "adult"))
    nick = asked(ok(EDGES, at, Typed("x")), "nick")
    asked(send(EDGES, nick.state, Back()), "odd")
    review = ok(EDGES, nick, Typed("Ali"))
    asked(send(EDGES, review.state, Edit("odd")), "odd")


SHORT: Flow = load_flow_text(
    """
id: short
languages: [en]
title: {en: Short}
steps:
  - id: story
    type: text
    max_length: 12
    constraint: "not ('secret' in answer)"
    constraint_message: {en: Leave the secret out.}
    text: {en: What happened?}
  - id: amount
    type: number
    integer: false
    text: {en: How much?}
"""
)


def test_a_shortened_answer_is_held_to_the_constraint_too() -> None:
    at = asked(start(SHORT, today=TODAY), "story")
    long = send(SHORT, at.state, Typed("secret plan, and more words after it"))
    assert isinstance(long, Ask) and long.refusal is not None and long.refusal.code == "too_long"
    for whole in (False, True):
        out = refused(SHORT, long, Shorten("story", whole=whole), "constraint")
        assert out.refusal is not None and out.refusal.message == {"en": "Leave the secret out."}
        assert out.state.pending == long.state.pending  # still there to choose again
    fine = send(SHORT, at.state, Typed("a plain story, and more words after it"))
    taken = ok(SHORT, fine, Shorten("story"))
    assert taken.state.answers["story"] == "a plain stor"  # no pause in the last third


def test_a_whole_number_on_a_decimal_step_is_kept_whole_however_large() -> None:
    """80 times 万 is 10**320: beyond a float, kept as the whole number it is."""
    at = ok(SHORT, start(SHORT, today=TODAY), Typed("short"))
    asked(at, "amount")
    assert ok(SHORT, at, Typed("万" * 80)).state.answers["amount"] == 10**320
    assert ok(SHORT, at, Typed("一万万")).state.answers["amount"] == 100_000_000
    assert ok(SHORT, at, Typed("2.5")).state.answers["amount"] == 2.5


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("", 5, [""]),
        ("aaaa bb", 7, ["aaaa bb"]),  # exactly the limit: one part, even with a space in it
        ("a bcdefghijk", 10, ["a bcdefghi", "jk"]),  # a space too early to cut at
        ("abcdef ghijklmnop", 12, ["abcdef ghijk", "lmnop"]),  # before the last third
        ("abcdefghi jklmnop", 12, ["abcdefghi", "jklmnop"]),  # in the last third
    ],
)
def test_text_parts_cut_only_in_the_last_third(text: str, limit: int, parts: list[str]) -> None:
    assert text_parts(text, limit) == parts


# Mutants that change nothing anyone can observe (docs/testing.md):
# equivalent: bot.flow.engine.x__at_review__mutmut_20: refuse(None, ...) on the review:
# equivalent: bot.flow.engine.x__at_review__mutmut_41: refuse() reads the flow only to
# equivalent: bot.flow.engine.x__at_review__mutmut_60: find the question asked, and on the
# equivalent: bot.flow.engine.x__at_review__mutmut_71: review none is.
# equivalent: bot.flow.engine.x__at_review__mutmut_81: (the same)
# equivalent: bot.flow.engine.x__accept__mutmut_9: pending = None, and
# equivalent: bot.flow.engine.x__back__mutmut_2: pending = None: _advance sets pending
#   again whatever it finds (the question's, or [] on the review).
# equivalent: bot.flow.engine.x__back__mutmut_5: _advance from None, and
# equivalent: bot.flow.engine.x_current__mutmut_11: from None, and
# equivalent: bot.flow.engine.x_answer__mutmut_10: from None: steps[None:] is steps[0:].
# equivalent: bot.flow.engine.x_answer__mutmut_162: Skip on a note or a consent: notes are
# equivalent: bot.flow.engine.x_answer__mutmut_163: never asked, and the loader makes
# equivalent: bot.flow.engine.x_answer__mutmut_164: both required, so ``step.required``
# equivalent: bot.flow.engine.x_answer__mutmut_165: has already refused it.
# equivalent: bot.flow.engine.x_start__mutmut_3: _advance from None (steps[None:]).
# equivalent: bot.flow.engine.x_answer__mutmut_265: the day for reading a typed choice,
# equivalent: bot.flow.engine.x_answer__mutmut_335: single or multiple: only dates use it.
# equivalent: bot.flow.engine.x_screen__mutmut_24: on_error=None for False (as above).
# equivalent: bot.flow.engine.x_screen__mutmut_35: (the same)
# equivalent: bot.flow.engine.x_answer__mutmut_415: the last refusal of a multi_choice
# equivalent: bot.flow.engine.x_answer__mutmut_416: step ("use the buttons"): every input
# equivalent: bot.flow.engine.x_answer__mutmut_417: but a tap, a typed answer and Done
# equivalent: bot.flow.engine.x_answer__mutmut_418: was answered before it (moved_on,
# equivalent: bot.flow.engine.x_answer__mutmut_419: required, wrong_kind), so no input
# equivalent: bot.flow.engine.x_answer__mutmut_420: reaches it.
# equivalent: bot.flow.engine.x_answer__mutmut_421: (the same)
# equivalent: bot.flow.engine.x_answer__mutmut_422: (the same)
# equivalent: bot.flow.engine.x_screen__mutmut_13: on_error=None for False in screen():
# equivalent: bot.flow.engine.x_screen__mutmut_45: read only as a condition, both false.
# equivalent: bot.flow.engine.x_with_version__mutmut_6: replace() keeping the flow's index
#   dict: the steps are the same, so __post_init__ fills it with what it holds.
# equivalent: bot.flow.engine.x__read_typed__mutmut_69: the refusal of a number beyond a
# equivalent: bot.flow.engine.x__read_typed__mutmut_70: float: no answer reaches it (a
# equivalent: bot.flow.engine.x__read_typed__mutmut_71: float overflows past 309 digits,
#   answers stop at 100 characters, Chinese numbers are whole); kept for what JSON cannot
#   write (bot/jsoncodec.py).
# equivalent: bot.flow.engine.x_text_parts__mutmut_18: found > 0, and
# equivalent: bot.flow.engine.x_text_parts__mutmut_19: found >= 1: a break at 0 is only
#   looked for when limit * 2 // 3 is 0 (a limit of 1), and cutting after it is cutting
#   at the limit, as when none is found.


def test_changing_an_answer_on_a_later_day_checks_the_others_on_that_day() -> None:
    """Days after the review, a changed birth date: the question for people under 60 is
    dropped (60 now), and the hearing date, past now, is asked again."""
    review = walk_days(TURNING_SIXTY, "farmer", "2026-12-01")
    later = dt.date(2026, 12, 5)
    edit = asked(on(later, review.state, Edit("born")), "born")
    again = asked(on(later, edit.state, Typed(TURNING_SIXTY)), "hearing")
    assert "work" not in again.state.answers
    assert again.has_previous and again.previous == "2026-12-01"


NEVER = "{type: note, relevant: \"today() < '2000-01-01'\", text: {en: Never}}"
# Each kind of question, each with a constraint that refuses one answer unless the day is
# before 2000, and a note after it shown only before 2000: the day given must reach every
# rule, whatever kind of answer moved the interview on.
EVERY_DAY: Flow = load_flow_text(
    "id: every-day\nlanguages: [en]\ntitle: {en: Every day}\nsteps:\n"
    + "".join(
        f"  - {{id: {sid}, type: {kind}, text: {{en: Q}}{extra}}}\n  - {{id: never_{sid}, {NEVER[1:]}\n"
        for sid, kind, extra in [
            ("c", "consent", ""),
            (
                "t",
                "text",
                ", max_length: 5, constraint: \"not ('x' in answer) or today() < '2000'\"",
            ),
            ("n", "number", ", constraint: \"answer != 7 or today() < '2000'\""),
            ("d", "date", ", constraint: \"answer != '2020-01-01' or today() < '2000'\""),
            ("p", "phone", ", constraint: \"answer != '13812345678' or today() < '2000'\""),
            (
                "i",
                "id_number",
                ", constraint: \"answer != '110101199003077774' or today() < '2000'\"",
            ),
            (
                "ch",
                "choice",
                ", choices: [{value: a, label: {en: A}}, {value: b, label: {en: B}}],"
                " constraint: \"answer != 'b' or today() < '2000'\"",
            ),
            (
                "m",
                "multi_choice",
                ", required: false, choices: [{value: a, label: {en: A}},"
                " {value: b, label: {en: B}}], constraint: \"not ('b' in answer) or today() < '2000'\"",
            ),
            ("m2", "multi_choice", ", choices: [{value: a, label: {en: A}}]"),
            ("f", "attachments", ", required: false"),
            ("f2", "attachments", ""),
            ("o", "text", ", required: false"),
        ]
    )
)


def test_the_day_given_reaches_every_rule_after_every_kind_of_answer() -> None:
    def step(out: Outcome, step_id: str, refused_input: Input | None, *good: Input) -> Outcome:
        at = asked(out, step_id)
        assert at.notes == ()
        if refused_input is not None:
            refused(EVERY_DAY, at, refused_input, "constraint")
        return ok(EVERY_DAY, at, *good)

    out: Outcome = start(EVERY_DAY, today=TODAY)
    out = step(out, "c", None, Picked("c", AGREE))
    assert asked(out, "t").notes == ()
    with_x = send(EVERY_DAY, out.state, Typed("abxdefgh"))
    refused(EVERY_DAY, with_x, Shorten("t"), "constraint")  # "abxde" holds the x
    too_long = send(EVERY_DAY, out.state, Typed("abcdefgh"))
    out = step(too_long, "t", Typed("x"), Shorten("t"))
    out = step(out, "n", Typed("7"), Typed("8"))
    out = step(out, "d", Typed("2020-01-01"), Typed("2020-01-02"))
    out = step(out, "p", Typed("13812345678"), SharedContact("13912345678"))
    out = step(out, "i", Typed("110101199003077774"), Typed("11010519491231002X"))
    out = step(out, "ch", Picked("ch", "b"), Picked("ch", "a"))
    at_m = asked(out, "m")
    refused(EVERY_DAY, ok(EVERY_DAY, at_m, Picked("m", "b")), Done("m"), "constraint")
    out = step(out, "m", None, Done("m"))  # nothing chosen, and that may be
    out = step(out, "m2", None, Picked("m2", "a"), Done("m2"))
    out = step(out, "f", None, Done("f"))
    out = step(out, "f2", None, Attached(PHOTO_A), Done("f2"))
    out = step(out, "o", None, Skip("o"))
    assert isinstance(out, Review) and out.notes == ()
    # Back and Keep, and the kept answer is checked on the day given
    back = asked(send(EVERY_DAY, out.state, Back(None)), "o")
    review = ok(EVERY_DAY, back, Keep("o"))
    assert isinstance(review, Review) and review.notes == ()
    # a typed choice, and a multi_choice typed
    typed = State.from_dict({**out.state.to_dict(), "current": "ch", "editing": True})
    assert isinstance(ok(EVERY_DAY, Ask(EVERY_DAY.step("ch"), typed), Typed("A")), Review)


def test_notes_after_the_last_question_are_shown_with_the_review() -> None:
    flow = load_flow_text(
        "id: f\nlanguages: [en]\ntitle: {en: F}\nsteps:\n"
        "  - {id: q, type: text, text: {en: Q?}}\n"
        "  - {id: bye, type: note, text: {en: Thank you.}}\n"
    )
    review = send(flow, start(flow, today=TODAY).state, Typed("a"))
    assert isinstance(review, Review) and [n.id for n in review.notes] == ["bye"]
