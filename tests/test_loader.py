"""Loading and validating flow files (docs/flow-format.md, "Validation").

An admin fixing a file needs every problem at once, each on the right line; a file with any
problem must never load, and loading untrusted text must never run anything.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest

from bot.flow.loader import (
    MAX_CHOICES,
    MAX_FILE_BYTES,
    MAX_NODES,
    MAX_PROBLEMS,
    MAX_RULES,
    MAX_STEPS,
    FlowError,
    Phrase,
    Problem,
    default_flow_source,
    load_flow_file,
    load_flow_text,
)
from bot.i18n import I18n

FLOWS = Path(__file__).parent / "flows"
PWNED = Path("/tmp/intake_bot_flow_pwned")  # what broken_forbidden.yaml would create

MINIMAL = """\
id: tiny
languages: [zh, en]
title: {zh: 测试, en: Test}
steps:
  - id: name
    type: text
    text: {zh: 名字？, en: Your name?}
"""


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(FlowError) as caught:
        load_flow_file(path)
    return caught.value.problems


def problems_in(source: str) -> list[Problem]:
    with pytest.raises(FlowError) as caught:
        load_flow_text(source)
    return caught.value.problems


# --- files that load -------------------------------------------------------------------


def test_the_default_flow_loads_in_three_languages() -> None:
    flow = load_flow_text(default_flow_source())
    assert flow.id == "judicial-assistance"
    assert flow.languages == ("zh", "en", "ug")
    assert flow.steps[0].id == "welcome" and flow.steps[0].type == "note"
    assert flow.step("consent").type == "consent"
    for step in flow.steps:
        assert set(step.text) == {"zh", "en", "ug"}, step.id
        assert all(step.text.values()), step.id
        for choice in step.choices:
            assert set(choice.label) == {"zh", "en", "ug"}, (step.id, choice.value)
    assert flow.step("phone").sensitive
    assert [s.id for s in flow.tagged("name")] == ["name"]
    assert {r.id for r in flow.eligibility} >= {"serious_injury", "court_could_not_collect"}
    assert {r.id for r in flow.exclusions} >= {"fully_compensated", "own_fault"}
    assert {r.id for r in flow.to_check} >= {"injury_unclear", "case_still_open"}
    assert flow.step("id_number").sensitive and flow.step("id_number").type == "id_number"
    # Every text of the flow, rule labels and help included, is in all three languages.
    for rule in (*flow.eligibility, *flow.exclusions, *flow.to_check, *flow.priority):
        assert set(rule.label) == {"zh", "en", "ug"}, rule.id
    for step in flow.steps:
        for text in (step.help, step.constraint_message):
            assert text is None or set(text) == {"zh", "en", "ug"}, step.id
    assert {r.id: r.points for r in flow.priority}["urgent_medical"] == 5


def test_the_default_flow_keeps_yes_and_no_choice_values_as_words() -> None:
    flow = load_flow_text(default_flow_source())
    assert [c.value for c in flow.step("rural").choices] == ["yes", "no", "unsure"]
    assert [c.value for c in flow.step("medical_urgent").choices] == ["yes", "no"]


def test_the_example_from_the_format_page_loads() -> None:
    flow, source = load_flow_file(FLOWS / "example.yaml")
    assert source.startswith("id: judicial-assistance")
    assert flow.id == "judicial-assistance"
    assert flow.languages == ("zh", "en")
    assert flow.title == {"zh": "司法救助申请", "en": "Judicial assistance application"}
    assert [s.id for s in flow.steps] == [
        "consent",
        "applying_for",
        "relationship",
        "household_size",
        "earners",
        "groups",
        "phone",
    ]
    applying = flow.step("applying_for")
    assert applying.text == {"zh": "您为谁申请？", "en": "Who are you applying for?"}
    assert [c.value for c in applying.choices] == ["self", "relative"]
    assert flow.step("relationship").relevant is not None
    assert flow.step("relationship").max_length == 50
    assert (flow.step("household_size").min, flow.step("household_size").max) == (1, 30)
    assert flow.step("earners").constraint_message == {
        "zh": "不能多于家庭人数。",
        "en": "That is more than the household size.",
    }
    assert flow.step("groups").required is False
    assert flow.step("phone").sensitive is True
    assert [r.id for r in flow.eligibility] == ["no_income"]
    assert [r.id for r in flow.exclusions] == ["none_yet"]
    # a priority rule without an id gets one, and keeps its points
    assert [(r.id, r.points) for r in flow.priority] == [("priority_1", 3)]


def test_the_every_type_test_flow_loads_with_every_step_type() -> None:
    flow, _ = load_flow_file(FLOWS / "every_type.yaml")
    assert {s.type for s in flow.steps} == {
        "note",
        "consent",
        "text",
        "number",
        "date",
        "phone",
        "choice",
        "multi_choice",
        "attachments",
    }
    assert flow.step("name").max_length == 10
    assert flow.step("income").integer is False
    assert flow.step("household").integer is True
    # a YAML date and the word today both come out as something the engine can read
    assert (flow.step("birth").min, flow.step("birth").max) == ("1900-01-01", "today")
    assert flow.step("papers").max_files == 2
    assert [c.value for c in flow.step("paid").choices] == ["yes", "no"]
    assert flow.step("kind_other").required is False
    assert flow.step("name").line == 15
    assert [r.id for r in flow.priority] == ["medical", "priority_2", "elderly"]


def test_every_field_of_every_step_as_loaded() -> None:
    """What the engine reads of each step, defaults included (max_length 1000, max_files
    10, integer, required), so a default changed in the loader is noticed here."""
    flow, _ = load_flow_file(FLOWS / "every_type.yaml")
    got = [
        (
            s.id,
            s.required,
            s.sensitive,
            s.max_length,
            s.max_files,
            s.integer,
            s.min,
            s.max,
            s.relevant.source if s.relevant else None,
            s.constraint.source if s.constraint else None,
            (s.constraint_message or {}).get("en"),
            s.line,
        )
        for s in flow.steps
    ]
    none_of_them = "'None of these' goes alone."
    assert got == [
        ("intro", True, False, 1000, 10, True, None, None, None, None, None, 7),
        ("consent", True, False, 1000, 10, True, None, None, None, None, None, 11),
        ("name", True, False, 10, 10, True, None, None, None, None, None, 15),
        ("household", True, False, 1000, 10, True, 1, 10, None, None, None, 20),
        (
            "earners",
            True,
            False,
            1000,
            10,
            True,
            0,
            None,
            None,
            "answer <= household",
            "That is more than the household size.",
            26,
        ),
        ("income", True, False, 1000, 10, False, 0, 100000, None, None, None, 33),
        ("birth", True, False, 1000, 10, True, "1900-01-01", "today", None, None, None, 40),
        ("phone", True, True, 1000, 10, True, None, None, None, None, None, 46),
        ("kind", True, False, 1000, 10, True, None, None, None, None, None, 51),
        ("kind_other", False, False, 1000, 10, True, None, None, "kind == 'other'", None, None, 59),
        (
            "injury_note",
            True,
            False,
            1000,
            10,
            True,
            None,
            None,
            "kind == 'injury'",
            None,
            None,
            65,
        ),
        ("needs", True, False, 1000, 10, True, None, None, None, None, None, 70),
        (
            "groups",
            False,
            False,
            1000,
            10,
            True,
            None,
            None,
            None,
            "not ('none' in answer and len(answer) > 1)",
            none_of_them,
            78,
        ),
        ("paid", True, False, 1000, 10, True, None, None, None, None, None, 89),
        ("papers", True, False, 1000, 2, True, None, None, None, None, None, 96),
        ("comment", False, False, 1000, 10, True, None, None, None, None, None, 101),
    ]


def test_a_note_or_a_consent_is_required_whatever_it_says() -> None:
    flow = load_flow_text(
        HEAD
        + "  - {id: n, type: note, text: {zh: 注, en: n}}\n"
        + "  - {id: c, type: consent, text: {zh: 同意, en: ok}}\n"
        + "  - {id: t, type: text, required: false, text: {zh: 问, en: q}}\n"
    )
    assert [s.required for s in flow.steps] == [True, True, False]


def test_a_question_mark_inside_a_flow_mapping_is_part_of_the_text() -> None:
    source = """\
id: question-marks
languages: [zh, en]
title: {zh: 测试？, en: Is this a test?}
steps:
  - id: applying_for
    type: choice
    text: {zh: 您为谁申请？, en: Who are you applying for?}
    help: {zh: 不清楚？, en: Not sure? Ask us?x}
    choices:
      - {value: self, label: {zh: 本人？, en: Me?}}
      - {value: other, label: {zh: 别人, en: Someone else?}}
"""
    flow = load_flow_text(source)
    assert flow.title["en"] == "Is this a test?"
    step = flow.step("applying_for")
    assert step.text == {"zh": "您为谁申请？", "en": "Who are you applying for?"}
    assert step.help == {"zh": "不清楚？", "en": "Not sure? Ask us?x"}
    assert [c.label["en"] for c in step.choices] == ["Me?", "Someone else?"]


def test_yaml_booleans_stay_words_as_choice_values() -> None:
    source = (
        MINIMAL
        + """\
  - id: paid
    type: choice
    text: {zh: 拿到了吗？, en: Paid?}
    choices:
      - {value: yes, label: {zh: 是, en: Yes}}
      - {value: no, label: {zh: 否, en: No}}
      - {value: on, label: {zh: 开, en: On}}
      - {value: off, label: {zh: 关, en: Off}}
      - {value: 1.0, label: {zh: 一, en: One}}
"""
    )
    values = [c.value for c in load_flow_text(source).step("paid").choices]
    assert values == ["yes", "no", "on", "off", "1.0"]
    assert all(isinstance(v, str) for v in values)


def test_a_version_is_only_set_when_asked() -> None:
    assert load_flow_text(MINIMAL).version == 0
    assert load_flow_text(MINIMAL, version=3).version == 3
    # and nothing else changes with it
    source = (FLOWS / "every_type.yaml").read_text(encoding="utf-8")
    source += "to_check:\n  - {id: look, when: \"kind == 'other'\", label: {zh: 看, en: look}}\n"
    assert load_flow_text(source, version=3) == replace(load_flow_text(source), version=3)


# --- one problem per file, on the right line -------------------------------------------

BROKEN = {
    "broken_yaml_syntax.yaml": (7, "YAML syntax: mapping values are not allowed here"),
    "broken_unknown_key.yaml": (
        8,
        "unknown key 'max_lenght' in a step (allowed: constraint, constraint_message, help, id,"
        " max_length, region, relevant, required, sensitive, tags, text, type, voice)",
    ),
    "broken_missing_key.yaml": (8, "a step is missing the key 'text'"),
    "broken_flow_id.yaml": (
        2,
        "flow id 'Judicial Assistance' is not allowed: use [a-z][a-z0-9_-]*",
    ),
    "broken_step_id.yaml": (8, "step id 'home-town' is not allowed: use [a-z][a-z0-9_]*"),
    "broken_duplicate_step.yaml": (8, "step id 'name' is already used at line 5"),
    "broken_duplicate_choice.yaml": (11, "choice value 'yes' appears twice"),
    "broken_missing_language.yaml": (8, "the text of step 'name' has no text in 'en'"),
    "broken_expr_syntax.yaml": (11, "constraint of step 'earners': syntax error near character 11"),
    "broken_forbidden.yaml": (10, "relevant of step 'town': attribute access is not allowed"),
    "broken_later_step.yaml": (
        8,
        "constraint of step 'earners': 'household' is not a step that comes before this one",
    ),
    "broken_unknown_step.yaml": (
        10,
        "when of rule 'poor': 'income' is not a step that comes before this one",
    ),
    "broken_min_max.yaml": (8, "min of step 'household' is above its max"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_file_reports_its_problem_on_the_right_line(name: str) -> None:
    line, message = BROKEN[name]
    problems = problems_of(FLOWS / name)
    assert [p.line for p in problems] == [line], [str(p) for p in problems]
    assert problems[0].message == message
    assert str(problems[0]) == f"line {line}: {message}"
    assert "Traceback" not in str(problems[0])


def test_every_broken_file_in_the_folder_is_checked() -> None:
    on_disk = {p.name for p in FLOWS.glob("broken_*.yaml")} - {"broken_several.yaml"}
    assert on_disk == set(BROKEN)


def test_a_file_with_several_problems_reports_all_of_them_at_once() -> None:
    problems = problems_of(FLOWS / "broken_several.yaml")
    found = [(p.line, p.message) for p in problems]
    expected = [
        (2, "flow id 'Broken Several' is not allowed: use [a-z][a-z0-9_-]*"),
        (8, "the text of step 'name' has no text in 'en'"),
        (
            9,
            "unknown key 'colour' in a step (allowed: constraint, constraint_message, help, id,"
            " max_length, region, relevant, required, sensitive, tags, text, type, voice)",
        ),
        (10, "step id 'name' is already used at line 6"),
        (13, "min of step 'name' is above its max"),
        (17, "relevant of step 'kind': 'later' is not a step that comes before this one"),
        (21, "choice value 'injury' appears twice"),
        (24, "constraint of step 'later': syntax error"),
        (26, "a step is missing the key 'text'"),
        (28, "relevant of step 'evil': attribute access is not allowed"),
    ]
    assert [line for line, _ in found] == [line for line, _ in expected], found
    assert found == expected
    # the exception's own text lists them all, one line each, in file order
    with pytest.raises(FlowError) as caught:
        load_flow_file(FLOWS / "broken_several.yaml")
    assert str(caught.value).splitlines() == [str(p) for p in problems]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("", 1, "the file is empty"),
        ("id: x\nlanguages: [zh\n", 3, "YAML syntax"),
        ("- just\n- a list\n", 1, "the flow must be a mapping"),
        (MINIMAL.replace("title: {zh: 测试, en: Test}\n", ""), 1, "missing the key 'title'"),
        (MINIMAL + "colour: blue\n", 8, "unknown key 'colour' in the flow"),
        (MINIMAL.replace("type: text", "type: essay"), 6, "unknown step type 'essay'"),
        (MINIMAL.replace("[zh, en]", "[zh, en, zh]"), 2, "language 'zh' is listed twice"),
        (MINIMAL.replace("en: Your name?", "en: ' '"), 7, "is empty in 'en'"),
        (MINIMAL + "    relevant: \"answer == 'x'\"\n", 8, "'answer' can only be used"),
        (MINIMAL + "    max_length: 0\n", 8, "max_length of step 'name' must be between 1"),
    ],
)
def test_more_problems_are_reported_with_their_line(source: str, line: int, message: str) -> None:
    problems = problems_in(source)
    assert [p.line for p in problems] == [line], [str(p) for p in problems]
    assert message in problems[0].message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(MINIMAL.replace("Test", "测试").encode("gbk"))
    problems = problems_of(path)
    assert [str(p) for p in problems] == ["line 1: the file is not UTF-8 text"]


def test_a_huge_file_is_refused_before_parsing() -> None:
    problems = problems_in(MINIMAL + "#" * (300 * 1024))
    assert len(problems) == 1
    assert "too large" in problems[0].message


def test_a_date_min_above_max_is_reported() -> None:
    source = (
        MINIMAL
        + """\
  - id: when
    type: date
    text: {zh: 哪天？, en: When?}
    min: 2025-01-01
    max: 2024-01-01
"""
    )
    problems = problems_in(source)
    assert [(p.line, p.message) for p in problems] == [(11, "min of step 'when' is above its max")]


# --- nothing in a flow file ever runs --------------------------------------------------


def test_a_forbidden_construct_is_refused_and_never_executed() -> None:
    PWNED.unlink(missing_ok=True)
    problems = problems_of(FLOWS / "broken_forbidden.yaml")
    assert problems and all(p.line == 10 for p in problems)
    assert not PWNED.exists()


def test_python_yaml_tags_are_refused_and_never_executed() -> None:
    PWNED.unlink(missing_ok=True)
    for source in (
        f'id: !!python/object/apply:os.system ["touch {PWNED}"]\n' + MINIMAL.split("\n", 1)[1],
        MINIMAL.replace("Your name?", f'!!python/object/apply:os.system ["touch {PWNED}"]'),
        MINIMAL + f"eligibility: !!python/object/apply:os.system ['touch {PWNED}']\n",
    ):
        with pytest.raises(FlowError):
            load_flow_text(source)
    assert not PWNED.exists()


# --- files built to keep the bot busy (issue 30, finding 5) -----------------------------

BOMB_HEAD = "id: bomb\nlanguages: [en]\ntitle: {en: Bomb}\nsteps:\n"
ALIASES = (
    "anchors and aliases (& and *) are not allowed in a flow file; write each value out in full"
)


def alias_bomb(n: int = 2000) -> str:
    """36 KB: one step with ``n`` aliased choices, aliased ``n`` times (4 million choices)."""
    step = (
        "  - &s\n    id: s\n    type: choice\n    text: {en: Q}\n    choices:\n"
        "      - &c {value: a, label: {en: A}}\n"
    )
    return BOMB_HEAD + step + "      - *c\n" * (n - 1) + "  - *s\n" * (n - 1)


def aliased_rules(n: int = 20_000) -> str:
    """138 KB: one rule written once and aliased ``n - 1`` times."""
    return (
        MINIMAL
        + "eligibility:\n  - &r {id: r, when: \"name == 'x'\", label: {zh: 是, en: yes}}\n"
        + "  - *r\n" * (n - 1)
    )


def test_the_alias_bomb_is_refused_at_its_first_anchor_without_building_anything() -> None:
    source = alias_bomb()
    assert 35_000 < len(source.encode()) < 37_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        problems = problems_in(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Before: 4 million choices walked, 46 s and 1.8 GB, 4 million problems.
    assert [str(p) for p in problems] == [f"line 5: {ALIASES}"]
    assert peak < 2 * 1024 * 1024, peak
    assert time.perf_counter() - started < 5


def test_twenty_thousand_aliased_rules_are_refused_at_the_anchor() -> None:
    source = aliased_rules()
    assert len(source.encode()) > 130_000
    problems = problems_in(source)
    assert [str(p) for p in problems] == [f"line 9: {ALIASES}"]


@pytest.mark.parametrize(
    "nested",
    [
        "[" * 1000 + "]" * 1000,  # lists in lists, written inline
        "{a: " * 1000 + "x" + "}" * 1000,  # mappings in mappings
        "- " * 1000 + "x",  # a block list whose item is a list whose item ...
    ],
    ids=["lists", "mappings", "block"],
)
def test_nesting_a_thousand_deep_is_a_problem_not_a_recursion_error(nested: str) -> None:
    source = MINIMAL + "    help:\n      " + nested + "\n"
    problems = problems_in(source)
    assert [(p.line, p.message) for p in problems] == [
        (9, "the file is nested too deeply (at most 50 levels)")
    ]


def test_an_anchor_anywhere_is_refused_with_its_line_and_the_message_is_translated() -> None:
    source = MINIMAL.replace("title: {zh: 测试, en: Test}", "title: &t {zh: 测试, en: Test}")
    source += "    help: *t\n"
    problems = problems_in(source)
    assert [p.line for p in problems] == [3]
    zh = I18n.load().tr("zh").gettext
    assert problems[0].render(zh) == zh("line {line}: {message}").format(
        line=3, message=zh(ALIASES)
    )
    assert zh(ALIASES) != ALIASES


def _steps(n: int, choices: int = 2) -> str:
    options = "".join(
        f"      - {{value: v{i}, label: {{zh: 选{i}, en: c{i}}}}}\n" for i in range(choices)
    )
    return "".join(
        f"  - id: s{k}\n    type: choice\n    text: {{zh: 问, en: q}}\n    choices:\n{options}"
        for k in range(n)
    )


def test_too_many_steps_choices_and_rules_are_problems_at_the_line_of_the_list() -> None:
    head = "id: big\nlanguages: [zh, en]\ntitle: {zh: 大, en: Big}\nsteps:\n"
    problems = problems_in(head + _steps(MAX_STEPS + 1))
    assert [(p.line, p.message) for p in problems] == [
        (5, f"the flow has too many steps ({MAX_STEPS + 1}; at most {MAX_STEPS})")
    ]
    problems = problems_in(head + _steps(1, MAX_CHOICES + 1))
    assert [(p.line, p.message) for p in problems] == [
        (9, f"step 's0' has too many choices ({MAX_CHOICES + 1}; at most {MAX_CHOICES})")
    ]
    rule = "  - {id: r%d, when: \"name == 'x'\", label: {zh: 是, en: yes}}\n"
    rules = "exclusions:\n" + "".join(rule % i for i in range(MAX_RULES + 1))
    problems = problems_in(MINIMAL + rules)
    assert [(p.line, p.message) for p in problems] == [
        (9, f"exclusions has too many rules ({MAX_RULES + 1}; at most {MAX_RULES})")
    ]


def test_a_file_of_too_many_values_is_refused_where_the_budget_runs_out() -> None:
    source = MINIMAL + "    tags: [" + ", ".join(["name"] * MAX_NODES) + "]\n"
    problems = problems_in(source)
    assert [(p.line, p.message) for p in problems] == [
        (8, f"the file has too many values (at most {MAX_NODES})")
    ]


def test_problems_stop_at_a_screenful_with_a_note_saying_so() -> None:
    source = MINIMAL + "    tags: [" + ", ".join(["colour"] * 5000) + "]\n"
    problems = problems_in(source)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].message == (
        f"checking stopped after {MAX_PROBLEMS} problems; fix these and send the file again"
    )


def test_loading_flows_again_and_again_does_not_keep_them_in_memory() -> None:
    source = default_flow_source()
    load_flow_text(source)
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(10):
            load_flow_text(source)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Before: every scalar of every load stayed in a module-wide YAML constructor.
    assert after - before < 100_000, after - before


def test_a_version_published_with_anchors_still_loads_but_a_stored_bomb_does_not() -> None:
    """Versions published before anchors were refused must go on loading for the intakes
    on them; each alias still counts as the values it stands for."""
    source = MINIMAL.replace("title: {zh: 测试, en: Test}", "title: &t {zh: 测试, en: Test}")
    source += "    help: *t\n"
    assert load_flow_text(source, published=True).step("name").help == {"zh": "测试", "en": "Test"}
    started = time.perf_counter()
    problems = [(p.line, p.message) for p in _problems_published(alias_bomb())]
    # the alias on line 2010 is the one that takes the count past the budget
    assert problems == [(2010, f"the file has too many values (at most {MAX_NODES})")]
    assert time.perf_counter() - started < 5


def test_an_alias_counts_the_values_of_its_anchor_only() -> None:
    """An anchor late in a large stored version stands for its own three values, not for
    every value read before it."""
    source = (
        MINIMAL
        + "    tags: ["
        + ", ".join(["name"] * 19_000)
        + "]\n  - id: other\n    type: text\n    text: &t {zh: 甲, en: a}\n    help: *t\n"
    )
    assert load_flow_text(source, published=True).step("other").help == {"zh": "甲", "en": "a"}


def _problems_published(source: str) -> list[Problem]:
    with pytest.raises(FlowError) as caught:
        load_flow_text(source, published=True)
    return caught.value.problems


def test_pointers_to_the_flow_format_name_the_file_that_explains_it() -> None:
    """The code and the clue flow send an admin to docs/flow-format.md, which is there
    (the file was once called FLOW_FORMAT.md, at the top of the repository)."""
    root = Path(__file__).resolve().parent.parent
    assert (root / "docs" / "flow-format.md").is_file()
    sources = [*sorted((root / "bot").rglob("*.py")), root / "bot" / "flows" / "clue.yaml"]
    stale = [str(p.relative_to(root)) for p in sources if "FLOW_FORMAT" in p.read_text("utf-8")]
    assert not stale, stale


# --- every problem, exactly where it is and as it reads ----------------------------------
# Found by mutation testing (docs/testing.md): the tests above read problems with ``in``,
# so a changed word or a problem pointing at the wrong node went unnoticed.

HEAD = "id: tiny\nlanguages: [zh, en]\ntitle: {zh: 测试, en: Test}\nsteps:\n"
SETTINGS = "{settings.procuratorate_hotline}, {settings.legal_aid_hotline}, {settings.draft_days}"
STEP_TYPES_SAID = (
    "note, consent, text, number, date, phone, id_number, choice, multi_choice, attachments"
)
CONSENT = "  - id: consent\n    type: consent\n    text: {zh: 同意, en: ok}\n"


def _typed(step_type: str, extra: str = "", text: str = "{zh: 问, en: q}") -> str:
    return f"{HEAD}  - id: s\n    type: {step_type}\n    text: {text}\n{extra}"


def _choice(choice: str) -> str:
    return _typed("choice", f"    choices:\n      - {choice}\n")


def _rule(kind: str, rule: str) -> str:
    return f"{MINIMAL}{kind}:\n  - {rule}\n"


EXACTLY: dict[str, tuple[str, list[tuple[int, str]]]] = {
    "a step that is not a mapping": (
        HEAD + "  - just a word\n",
        [(5, "each step must be a mapping with id, type and text")],
    ),
    "a key that is not a word": (MINIMAL + "    1: x\n", [(8, "keys must be words, not 1")]),
    "a key twice": (
        MINIMAL + "    help: {zh: 帮, en: help}\n    help: {zh: 帮, en: help}\n",
        [(9, "key 'help' appears twice")],
    ),
    "no steps": (
        HEAD.replace("steps:\n", "steps: []\n"),
        [(4, "steps must be a list with at least one step")],
    ),
    "steps not a list": (
        HEAD.replace("steps:\n", "steps: x\n"),
        [(4, "steps must be a list with at least one step")],
    ),
    "a type that is a list": (
        _typed("[text]"),
        [(6, f"unknown step type 'None' (known: {STEP_TYPES_SAID})")],
    ),
    "a text that is a word": (
        MINIMAL + "    help: just text\n",
        [(8, "the help of step 'name' must be a mapping of keys to values")],
    ),
    "a text empty in one language": (
        MINIMAL + "    help: {zh: '', en: help}\n",
        [(8, "the help of step 'name' is empty in 'zh'")],
    ),
    "a text that is a list in one language": (
        MINIMAL + "    help: {zh: [a], en: help}\n",
        [(8, "the help of step 'name' (zh) must be a single value")],
    ),
    "a text too long": (
        MINIMAL + "    help: {zh: " + "长" * 4001 + ", en: help}\n",
        [(8, "the help of step 'name' is too long in 'zh' (at most 4000 characters)")],
    ),
    "a text of exactly the longest length": (
        MINIMAL + "    help: {zh: " + "长" * 4000 + ", en: h}\n",
        [],
    ),
    "an unknown setting": (
        MINIMAL + "    help: {zh: '{settings.nope}', en: help}\n",
        [
            (
                8,
                "the help of step 'name' names an unknown setting 'nope' in 'zh'"
                f" (a text may name: {SETTINGS})",
            )
        ],
    ),
    "an unknown setting on the second line of a block": (
        MINIMAL
        + "    help:\n      zh: |\n        第一行\n        第二行 {settings.nope}\n      en: h\n",
        [
            (
                11,
                "the help of step 'name' names an unknown setting 'nope' in 'zh'"
                f" (a text may name: {SETTINGS})",
            )
        ],
    ),
    "required as a word": (
        MINIMAL + "    required: maybe\n",
        [(8, "required of step 'name' must be true or false")],
    ),
    "required as a list": (
        MINIMAL + "    required: [true]\n",
        [(8, "required of step 'name' must be a single value")],
    ),
    "max_length as a word": (
        MINIMAL + "    max_length: long\n",
        [(8, "max_length of step 'name' must be a whole number")],
    ),
    "max_length as true": (
        MINIMAL + "    max_length: true\n",
        [(8, "max_length of step 'name' must not be true/false")],
    ),
    "max_length above its limit": (
        MINIMAL + "    max_length: 4001\n",
        [(8, "max_length of step 'name' must be between 1 and 4000")],
    ),
    "max_length at its limit": (MINIMAL + "    max_length: 4000\n", []),
    "relevant written as true": (MINIMAL + "    relevant: true\n", []),
    "relevant written as a number": (MINIMAL + "    relevant: 0\n", []),
    "a constraint naming no step": (
        MINIMAL + '    constraint: "nope == 1"\n',
        [(8, "constraint of step 'name': 'nope' is not a step that comes before this one")],
    ),
    "a constraint that is a list": (
        MINIMAL + "    constraint: [a]\n",
        [(8, "constraint of step 'name' must be a single value")],
    ),
    "languages as a word": (
        MINIMAL.replace("languages: [zh, en]", "languages: zh"),
        [(2, "languages must be a list such as [zh, en]")],
    ),
    "no languages listed": (
        MINIMAL.replace("languages: [zh, en]", "languages: []"),
        [(2, "languages must be a list such as [zh, en]")],
    ),
    "a language code in capitals": (
        MINIMAL.replace("languages: [zh, en]", "languages: [zh, EN]"),
        [
            (2, "language code 'EN' is not allowed: use [a-z]{2,3}(-[a-z0-9]{2,8})*"),
            (3, "unknown key 'en' in the title (allowed: zh)"),
            (7, "unknown key 'en' in the text of step 'name' (allowed: zh)"),
        ],
    ),
    "no languages key": (
        MINIMAL.replace("languages: [zh, en]\n", ""),
        [(1, "the flow is missing the key 'languages'")],
    ),
    "a flow id that is a number": (
        MINIMAL.replace("id: tiny", "id: 12"),
        [(1, "flow id must be text")],
    ),
    "a number's min as a word": (
        _typed("number", "    min: few\n"),
        [(8, "min of step 's' must be a number")],
    ),
    "a number's max as true": (
        _typed("number", "    max: true\n"),
        [(8, "max of step 's' must be a number")],
    ),
    "a number's bounds with decimals": (_typed("number", "    min: 0.5\n    max: 1.5\n"), []),
    "a number's min above its max": (
        _typed("number", "    min: 2\n    max: 1\n"),
        [(8, "min of step 's' is above its max")],
    ),
    "a date's min as a word": (
        _typed("date", "    min: yesterday\n"),
        [(8, "min of step 's' must be a date like 2024-01-31, or today")],
    ),
    "a date that does not exist": (
        _typed("date", "    min: '2024-02-30'\n"),
        [(8, "min of step 's' must be a date like 2024-01-31, or today")],
    ),
    "a date's bounds as text and today": (
        _typed("date", "    min: '2024-01-31'\n    max: today\n"),
        [],
    ),
    "a date's min with a time": (_typed("date", "    min: 2024-01-31 10:00:00\n"), []),
    "a choice step without choices": (_typed("choice"), [(5, "step 's' needs choices")]),
    "choices as a word": (
        _typed("choice", "    choices: x\n"),
        [(8, "choices must be a list of {value, label} items")],
    ),
    "a choice without a label": (
        _choice("{value: a}"),
        [(9, "a choice is missing the key 'label'")],
    ),
    "a choice value that is a list": (
        _choice("{value: [a], label: {zh: 甲, en: a}}"),
        [(9, "a choice value must be a single value")],
    ),
    "a choice value too long for a button": (
        _choice("{value: " + "a" * 25 + ", label: {zh: 甲, en: a}}"),
        [(9, f"choice value '{'a' * 25}' is too long (at most 24 letters)")],
    ),
    "a choice value of exactly the longest length": (
        _choice("{value: " + "a" * 24 + ", label: {zh: 甲, en: a}}"),
        [],
    ),
    "tags as a word": (
        MINIMAL + "    tags: stats\n",
        [(8, "tags must be a list such as [partner, stats]")],
    ),
    "a tag in a list": (MINIMAL + "    tags: [[stats]]\n", [(8, "a tag must be a single value")]),
    "max_files above its limit": (
        HEAD + CONSENT + "  - id: p\n    type: attachments\n    text: {zh: 照片, en: p}\n"
        "    max_files: 51\n",
        [(11, "max_files of step 'p' must be between 1 and 50")],
    ),
    "max_files at its limit": (
        HEAD + CONSENT + "  - id: p\n    type: attachments\n    text: {zh: 照片, en: p}\n"
        "    max_files: 50\n",
        [],
    ),
    "a sensitive question before consent": (
        _typed("phone", "    sensitive: true\n"),
        [(5, "step 's' asks for sensitive information before any consent step")],
    ),
    "attachments before consent": (
        _typed("attachments"),
        [(5, "step 's' asks for sensitive information before any consent step")],
    ),
    "a consent that may not be asked is no consent": (
        HEAD
        + CONSENT.replace("type: consent", "type: consent\n    relevant: 'true'")
        + "  - id: phone\n    type: phone\n    sensitive: true\n    text: {zh: 电话, en: p}\n",
        [(9, "step 'phone' asks for sensitive information before any consent step")],
    ),
    "nothing asked": (_typed("note"), [(5, "the flow has no step that asks anything")]),
    "rules as a mapping": (
        MINIMAL + "eligibility: {id: a}\n",
        [(8, "eligibility must be a list of rules")],
    ),
    "a rule without an id": (
        _rule("eligibility", "{when: 'true', label: {zh: 是, en: y}}"),
        [(9, "a rule in eligibility is missing the key 'id'")],
    ),
    "a rule id twice": (
        _rule("exclusions", "{id: a, when: 'true', label: {zh: 是, en: y}}")
        + "  - {id: a, when: 'true', label: {zh: 是, en: y}}\n",
        [(10, "rule id 'a' appears twice")],
    ),
    "points as a word": (
        _rule("priority", "{when: 'true', points: many, label: {zh: 是, en: y}}"),
        [(9, "points of a rule in priority must be a whole number")],
    ),
    "points outside priority": (
        _rule("eligibility", "{id: a, when: 'true', points: 3, label: {zh: 是, en: y}}"),
        [(9, "unknown key 'points' in a rule in eligibility (allowed: id, label, when)")],
    ),
    "a rule naming no step": (
        _rule("to_check", "{id: a, when: 'nope', label: {zh: 是, en: y}}"),
        [(9, "when of rule 'a': 'nope' is not a step that comes before this one")],
    ),
    "a tab": ("id: x\n\tlanguages: [zh]\n", [(2, "YAML syntax: a tab: indent with spaces only")]),
    "a key without its colon": (
        "id: x\nlanguages\ntitle: y\n",
        [(3, "YAML syntax: a line without the colon after its key")],
    ),
    "a quote not closed": ("id: 'x\n", [(2, "YAML syntax: the file ends inside a text or a list")]),
    "a [ not closed": ("id: [x\n", [(2, "YAML syntax: a list in [ ] that is not closed")]),
    "a { not closed": ("id: {x: y\n", [(2, "YAML syntax: a mapping in { } that is not closed")]),
    "an indentation that goes back too far": (
        "id: x\nsteps:\n  - a: 1\n b: 2\n",
        [(4, "YAML syntax: the indentation does not line up with the lines above")],
    ),
    "a tag on a value": (
        MINIMAL + "    required: !!foo x\n",
        [(1, "YAML syntax: a tag (!name) the flow format does not have")],
    ),
    "something else PyYAML refuses": (
        "id: `x\n",
        [
            (
                1,
                "YAML syntax: the layout is broken here (check the indentation, colons, quotes"
                " and brackets)",
            )
        ],
    ),
    "a list": ("- a\n", [(1, "the flow must be a mapping of keys to values")]),
    "a choice that is a word, then two alike": (
        _typed(
            "choice",
            "    choices:\n      - a\n" + "      - {value: x, label: {zh: 甲, en: a}}\n" * 2,
        ),
        [
            (9, "a choice must be a mapping of keys to values"),
            (11, "choice value 'x' appears twice"),
        ],
    ),
    "a choice label without a language": (
        _choice("{value: a, label: {zh: 甲}}"),
        [(9, "the label of a choice of 's' has no text in 'en'")],
    ),
    "every choice's problem, one after another": (
        _typed(
            "choice",
            "    choices:\n      - {value: [x], label: {zh: 甲, en: a}}\n"
            + "      - {value: a, label: {zh: 甲, en: a}}\n" * 3
            + "      - {value: "
            + "b" * 25
            + ", label: {zh: 甲, en: a}}\n",
        ),
        [
            (9, "a choice value must be a single value"),
            (11, "choice value 'a' appears twice"),
            (12, "choice value 'a' appears twice"),
            (13, f"choice value '{'b' * 25}' is too long (at most 24 letters)"),
        ],
    ),
    "a rule that is a word, then one naming no step": (
        MINIMAL + "eligibility:\n  - x\n  - {id: a, when: 'nope', label: {zh: 是, en: y}}\n",
        [
            (9, "a rule in eligibility must be a mapping of keys to values"),
            (10, "when of rule 'a': 'nope' is not a step that comes before this one"),
        ],
    ),
    "a rule id in capitals": (
        _rule("eligibility", "{id: Bad-Id, when: 'true', label: {zh: 是, en: y}}"),
        [(9, "rule id 'Bad-Id' is not allowed: use [a-z][a-z0-9_]*")],
    ),
    "max_length at its lowest": (MINIMAL + "    max_length: 1\n", []),
    "a rule to check without its label": (
        _rule("to_check", "{id: a, when: 'true'}"),
        [(9, "a rule in to_check is missing the key 'label'")],
    ),
    "a flow without its id": (
        MINIMAL.replace("id: tiny\n", ""),
        [(1, "the flow is missing the key 'id'")],
    ),
    "a key that is a list, then a bad text": (
        MINIMAL + "    [a]: x\n    help: {zh: '', en: h}\n",
        [(8, "keys must be words, not None"), (9, "the help of step 'name' is empty in 'zh'")],
    ),
    "a key twice, then an unknown one": (
        MINIMAL + "    text: {zh: 又, en: again}\n    colour: red\n",
        [
            (8, "key 'text' appears twice"),
            (
                9,
                "unknown key 'colour' in a step (allowed: constraint, constraint_message, help,"
                " id, max_length, region, relevant, required, sensitive, tags, text, type, voice)",
            ),
        ],
    ),
    "a bad language code, then good ones": (
        MINIMAL.replace("[zh, en]", "[zh, EN, en]"),
        [(2, "language code 'EN' is not allowed: use [a-z]{2,3}(-[a-z0-9]{2,8})*")],
    ),
    "a language listed twice": (
        MINIMAL.replace("[zh, en]", "[zh, zh, en]"),
        [(2, "language 'zh' is listed twice")],
    ),
    "a rule written as a date": (
        MINIMAL + "    relevant: 2024-01-01\n",
        [(8, "relevant of step 'name' has the wrong kind of value")],
    ),
    "a number's min equal to its max": (_typed("number", "    min: 5\n    max: 5\n"), []),
    "a date from today to a day past": (
        _typed("date", "    min: today\n    max: 2020-01-01\n"),
        [],
    ),
    "integer as a word": (
        _typed("number", "    integer: maybe\n"),
        [(8, "integer of step 's' must be true or false")],
    ),
    "a text in none of the languages": (
        MINIMAL + "    help: {}\n",
        [
            (8, "the help of step 'name' has no text in 'zh'"),
            (8, "the help of step 'name' has no text in 'en'"),
        ],
    ),
    "a text that is lists in both languages": (
        MINIMAL + "    help: {zh: [a], en: [b]}\n",
        [
            (8, "the help of step 'name' (zh) must be a single value"),
            (8, "the help of step 'name' (en) must be a single value"),
        ],
    ),
    "a text empty in both languages": (
        MINIMAL + "    help: {zh: '', en: ' '}\n",
        [
            (8, "the help of step 'name' is empty in 'zh'"),
            (8, "the help of step 'name' is empty in 'en'"),
        ],
    ),
    "an unknown type with keys of other types": (
        _typed("essay", "    choices: []\n    min: 1\n"),
        [(6, f"unknown step type 'essay' (known: {STEP_TYPES_SAID})")],
    ),
    "a step without its id": (
        HEAD + "  - type: choice\n    text: {zh: 问}\n    choices:\n"
        "      - {value: a, label: {zh: 甲}}\n",
        [
            (5, "a step is missing the key 'id'"),
            (6, "the text of a step has no text in 'en'"),
            (8, "the label of a choice of '?' has no text in 'en'"),
        ],
    ),
    "a constraint message without a language": (
        MINIMAL + "    constraint: \"answer != 'x'\"\n    constraint_message: {zh: 不行}\n",
        [(9, "the constraint_message of step 'name' has no text in 'en'")],
    ),
    "sensitive as a word": (
        MINIMAL + "    sensitive: maybe\n",
        [(8, "sensitive of step 'name' must be true or false")],
    ),
    "a multi_choice step without choices": (
        _typed("multi_choice"),
        [(5, "step 's' needs choices")],
    ),
    "the file is empty": ("", [(1, "the file is empty")]),
    "a tag in a list, then an unknown one": (
        MINIMAL + "    tags: [[x], nope]\n",
        [
            (8, "a tag must be a single value"),
            (8, "unknown tag 'nope' (known: name, partner, stats, region, needs)"),
        ],
    ),
    "an unknown tag, and another": (
        MINIMAL + "    tags: [nope, nada]\n",
        [
            (8, "unknown tag 'nope' (known: name, partner, stats, region, needs)"),
            (8, "unknown tag 'nada' (known: name, partner, stats, region, needs)"),
        ],
    ),
    "answer in a relevant rule": (
        MINIMAL + "    relevant: \"answer == 'x'\"\n",
        [(8, "relevant of step 'name': 'answer' can only be used in a constraint")],
    ),
    "answer in a screening rule": (
        _rule("eligibility", "{id: a, when: 'answer == 1', label: {zh: 是, en: y}}"),
        [(9, "when of rule 'a': 'answer' can only be used in a constraint")],
    ),
    "a rule without its label": (
        _rule("exclusions", "{id: a, when: 'true'}"),
        [(9, "a rule in exclusions is missing the key 'label'")],
    ),
    "a rule's label without a language": (
        _rule("exclusions", "{id: a, when: 'true', label: {zh: 是}}"),
        [(9, "the label of rule 'a' has no text in 'en'")],
    ),
    "a character YAML does not take": (
        "id: x\x07\n",
        [
            (
                1,
                "YAML syntax: the layout is broken here (check the indentation, colons, quotes"
                " and brackets)",
            )
        ],
    ),
    # PyYAML's words are read, not the file's own: the line shown with the error quotes
    # another of them.
    "a quote not closed around PyYAML's own words": (
        "id: 'mapping values are not allowed here\n",
        [(2, "YAML syntax: the file ends inside a text or a list")],
    ),
}


@pytest.mark.parametrize("case", sorted(EXACTLY))
def test_each_problem_reads_exactly_and_points_at_its_line(case: str) -> None:
    source, expected = EXACTLY[case]
    if not expected:
        load_flow_text(source)
        return
    assert [(p.line, p.message) for p in problems_in(source)] == expected


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("id: *x\n", "line 1: YAML syntax: an alias (*name) with no anchor (&name)"),
        ("a: &x 1\nb: &x 2\n", "line 2: YAML syntax: an anchor (&name) used twice"),
    ],
)
def test_a_stored_version_with_anchors_gone_wrong_is_a_yaml_problem(source: str, said: str) -> None:
    """Versions published before anchors were refused still load (see above), so what
    can go wrong with anchors is said in plain words too."""
    with pytest.raises(FlowError) as caught:
        load_flow_text(source, published=True)
    assert [str(p) for p in caught.value.problems] == [said]


def test_a_problem_is_rendered_with_every_part_translated() -> None:
    """Each nested part of a message goes through gettext, and the line's own words too."""
    (problem,) = problems_in(MINIMAL + "    help: {zh: '', en: help}\n")
    marked = problem.render(lambda t: f"<{t}>")
    assert marked == "<line 8: <<the help of <step 'name'>> is empty in 'zh'>>"
    assert str(problem) == "line 8: the help of step 'name' is empty in 'zh'"
    assert problem.render(lambda t: t) == str(problem)


def test_a_phrase_reads_as_its_template_filled_and_one_without_values_as_written() -> None:
    assert str(Phrase("step '{id}'", {"id": "name"})) == "step 'name'"
    assert str(Phrase("a mapping in { } that is not closed")) == (
        "a mapping in { } that is not closed"
    )
    nested = Phrase("the text of {what}", {"what": Phrase("step '{id}'", {"id": "x"})})
    german = {"the text of {what}": "der Text von {what}", "step '{id}'": "Schritt '{id}'"}
    assert nested.render(lambda t: german.get(t, t)) == "der Text von Schritt 'x'"
    zh = I18n.load().tr("zh").gettext
    assert Phrase("a mapping in { } that is not closed").render(zh) == zh(
        "a mapping in { } that is not closed"
    )


def test_a_rule_in_priority_without_an_id_is_numbered() -> None:
    flow = load_flow_text(
        MINIMAL
        + "priority:\n"
        + "  - {when: 'true', points: 2, label: {zh: 是, en: y}}\n"
        + "  - {id: named, when: 'true', points: 0, label: {zh: 是, en: y}}\n"
        + "  - {when: 'true', points: 5, label: {zh: 是, en: y}}\n"
    )
    assert [(r.id, r.points) for r in flow.priority] == [
        ("priority_1", 2),
        ("named", 0),
        ("priority_3", 5),
    ]
    assert [r.when.source for r in flow.priority] == ["true"] * 3
    assert [r.label for r in flow.priority] == [{"zh": "是", "en": "y"}] * 3


def test_a_step_is_required_and_not_sensitive_unless_it_says_so() -> None:
    flow = load_flow_text(
        MINIMAL + "  - {id: more, type: text, required: false, sensitive: false,"
        " text: {zh: 多, en: more}}\n"
    )
    assert (flow.step("name").required, flow.step("name").sensitive) == (True, False)
    assert (flow.step("more").required, flow.step("more").sensitive) == (False, False)


def test_rules_outside_priority_have_no_points_and_a_rule_may_be_written_as_true() -> None:
    flow = load_flow_text(
        MINIMAL.replace("    type: text\n", "    type: text\n    relevant: false\n")
        + "  - id: more\n    type: text\n    relevant: true\n    text: {zh: 多, en: more}\n"
        + "eligibility:\n  - {id: a, when: \"name == 'x'\", label: {zh: 是, en: y}}\n"
    )
    assert (flow.eligibility[0].id, flow.eligibility[0].points) == ("a", 0)
    assert flow.eligibility[0].when.source == "name == 'x'"
    relevant = [flow.step(s).relevant for s in ("name", "more")]
    assert [r.source if r else None for r in relevant] == ["false", "true"]


def test_each_limit_of_a_file_is_reached_exactly_before_it_is_a_problem() -> None:
    """A flow of exactly the size allowed loads; one more and it is a problem."""
    # 256 KB in all
    pad = MAX_FILE_BYTES - len(MINIMAL.encode())
    load_flow_text(MINIMAL + "#" * pad)
    assert [str(p) for p in problems_in(MINIMAL + "#" * (pad + 1))] == [
        "line 1: the file is too large (at most 256 KB)"
    ]
    # 20,000 values: MINIMAL holds 27, the list of tags one more
    tags = MAX_NODES - 28
    load_flow_text(MINIMAL + "    tags: [" + ", ".join(["name"] * tags) + "]\n")
    too_many = MINIMAL + "    tags: [" + ", ".join(["name"] * (tags + 1)) + "]\n"
    assert [str(p) for p in problems_in(too_many)] == [
        "line 8: the file has too many values (at most 20000)"
    ]

    # 50 levels: the flow, steps, a step, its help, then lists down to the text at 50
    def nested(n: int) -> str:
        return MINIMAL + "    help: {zh: 帮, en: " + "[" * n + "x" + "]" * n + "}\n"

    assert [str(p) for p in problems_in(nested(45))] == [
        "line 8: the help of step 'name' (en) must be a single value"
    ]
    assert [str(p) for p in problems_in(nested(46))] == [
        "line 8: the file is nested too deeply (at most 50 levels)"
    ]


def test_as_many_steps_choices_and_rules_as_allowed_load() -> None:
    head = "id: big\nlanguages: [zh, en]\ntitle: {zh: 大, en: Big}\nsteps:\n"
    assert len(load_flow_text(head + _steps(MAX_STEPS)).steps) == MAX_STEPS
    assert len(load_flow_text(head + _steps(1, MAX_CHOICES)).steps[0].choices) == MAX_CHOICES
    rule = "  - {id: r%d, when: \"name == 'x'\", label: {zh: 是, en: yes}}\n"
    rules = "to_check:\n" + "".join(rule % i for i in range(MAX_RULES))
    assert len(load_flow_text(MINIMAL + rules).to_check) == MAX_RULES


# Mutants that change nothing anyone can observe (docs/testing.md):
# equivalent: bot.flow.loader.x_default_flow_source__mutmut_1: encoding=None is the
#   locale's, UTF-8 wherever Python 3.11 runs with a UTF-8 or C locale (PEP 538), and
# equivalent: bot.flow.loader.x_default_flow_source__mutmut_9: "UTF-8" is "utf-8" to codecs.
# equivalent: bot.flow.loader.x_load_flow_file__mutmut_6: (the same)
# equivalent: bot.flow.loader.x_yaml_problem__mutmut_19: "XX XX" between the context and
#   the problem: every phrase looked for lies inside one of them.
# equivalent: bot.flow.loader.x_yaml_problem__mutmut_21: str(None) for an error without
#   context or problem (a ReaderError): neither its words nor "None" holds a phrase.
# equivalent: bot.flow.loader.xǁ_Checkerǁbound__mutmut_4: a bound that is a list or a
#   mapping built into one: refused with the same words as None.
# equivalent: bot.flow.loader.xǁ_Checkerǁexpression__mutmut_50: ok = None or True once
# equivalent: bot.flow.loader.xǁ_Checkerǁexpression__mutmut_51: a problem is added: with a
# equivalent: bot.flow.loader.xǁ_Checkerǁexpression__mutmut_64: problem no flow is made, so
#   the expression returned is never used.
# equivalent: bot.flow.loader.xǁ_Checkerǁflag__mutmut_9: (the same: None comes with a problem)
# equivalent: bot.flow.loader.xǁ_Checkerǁrules__mutmut_116: answer_ok=None for False: read
#   only as ``not answer_ok``.
# equivalent: bot.flow.loader.xǁ_Checkerǁrules__mutmut_175: a rule kept without its when
#   or id: each of those is missing with a problem, and then no flow is made.
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_9: raw_type "" for None before a
#   type is read: without a type key neither is shown or compared.
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_159: answer_ok=None for False (as above).
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_294: the type of a step of unknown
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_313: type as "XXXX" for "": either is
#   not "date", so a bound is read as a number.
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_400: a step made when only one of
#   its id and type is missing: each missing comes with a problem, and no flow is made.
# equivalent: bot.flow.loader.xǁ_Checkerǁexpression__mutmut_65: (the same as 50, 51, 64)
# equivalent: bot.flow.loader.xǁ_Checkerǁexpression__mutmut_67: (the same)
# equivalent: bot.flow.loader.xǁ_Checkerǁrules__mutmut_153: points read outside priority:
#   there a points key is unknown, so it is never among the keys read.
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_32: a YAML error with neither mark
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_35: (PyYAML's composer, parser and
#   scanner always give one), said at line 1.
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁcompose_node__mutmut_10: getattr without a
#   default: every event compose_node meets has an anchor, None or not.
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁcompose_node__mutmut_35: the size of an alias
#   to an anchor never seen: PyYAML refuses that alias next, whatever it counted.
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁcompose_node__mutmut_63: no parent for the
#   resolver: it resolves by path only when path resolvers are added, and none are.
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁscan_plain__mutmut_8: the letter shown for
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁscan_plain__mutmut_9: a question mark: any
#   that is no break, space or bracket does.
# equivalent: bot.flow.loader.xǁ_Checkerǁflow__mutmut_110: consent_seen None for False:
#   read only as a condition.
# equivalent: bot.flow.loader.xǁ_Checkerǁflow__mutmut_184: a flow id missing always comes
#   with a problem, so "or" and "and" there both end in no flow.
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_64: yaml_problem(None) for an
#   error with no marks (a ReaderError): both are said in the general words.
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_112: "the flow is not valid", the
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_113: fallback of a flow refused
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_114: without a problem: every way
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_115: to no flow adds one first.
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_116: (the same)
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_117: (the same)
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_118: (the same)
# equivalent: bot.flow.loader.x_load_flow_text__mutmut_119: (the same)
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁcompose_node__mutmut_36: no parent, or no
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁcompose_node__mutmut_37: index, for the
# equivalent: bot.flow.loader.xǁFlowYamlLoaderǁcompose_node__mutmut_64: resolver (as 63).
# equivalent: bot.flow.loader.xǁ_Checkerǁ__init____mutmut_2: languages None for (): read
#   only as a condition until flow() sets them.
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_438: a note or a consent is
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_440: required whatever this line
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_441: says: neither may have a
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_442: required key, so the flag is
# equivalent: bot.flow.loader.xǁ_Checkerǁstep__mutmut_443: always its default, true.
# equivalent: bot.flow.loader.xǁ_Checkerǁident__mutmut_25: strip("XX^$XX"): no pattern
#   starts or ends with an X.
# equivalent: bot.flow.loader.xǁ_Checkerǁvalue__mutmut_2: deep=None, and
# equivalent: bot.flow.loader.xǁ_Checkerǁvalue__mutmut_4: deep left out, and
# equivalent: bot.flow.loader.xǁ_Checkerǁvalue__mutmut_5: deep=False: value() is only
#   asked of a single value (a ScalarNode), which has nothing deeper to build.
# equivalent: bot.flow.loader.xǁ_Refusedǁ__init____mutmut_2: the text of _Refused, caught
# equivalent: bot.flow.loader.xǁ_Refusedǁ__init____mutmut_3: inside load_flow_text, never shown.
