"""A flow's region question (docs/flow-format.md, `region: true`): which step routes an
intake, what the loader refuses, and the region a sent intake is given."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.flow.loader import (
    FlowError,
    Problem,
    default_flow_source,
    load_flow_file,
    load_flow_text,
)

FLOWS = Path(__file__).parent / "flows"

HEAD = """\
id: tiny
languages: [zh, en]
title: {zh: 测试, en: Test}
steps:
"""
COUNTY = """\
  - id: county
    type: choice
    region: true
    text: {zh: 哪个县？, en: Which county?}
    choices:
      - {value: "653222", label: {zh: 墨玉县, en: Karakax}}
      - {value: "6532", label: {zh: 别的县, en: Another county}}
"""


def problems_in(source: str) -> list[Problem]:
    with pytest.raises(FlowError) as caught:
        load_flow_text(source)
    return caught.value.problems


def test_the_region_step_gives_the_region_and_its_name() -> None:
    flow, _source = load_flow_file(FLOWS / "regions_flow.yaml")
    assert flow.region_step is not None and flow.region_step.id == "county"
    assert flow.region_of({"county": "653226"}) == "653226"
    assert flow.region_of({"county": None}) is None
    assert flow.region_of({}) is None
    assert flow.region_of({"county": "110101"}) is None  # not one of its choices
    label = flow.region_label("653226")
    assert label is not None and label["zh"] == "于田县"
    assert flow.region_label("110101") is None and flow.region_label(None) is None


def test_a_flow_without_a_region_step_routes_nothing() -> None:
    flow = load_flow_text(HEAD + COUNTY.replace("    region: true\n", ""))
    assert flow.region_step is None
    assert flow.region_of({"county": "653222"}) is None


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (
            HEAD + COUNTY.replace('"6532"', '"65322"'),
            11,
            "choice value '65322' of the region step 'county' must be a division code",
        ),
        (
            HEAD + COUNTY.replace('"653222"', "hotan"),
            10,
            "choice value 'hotan' of the region step 'county' must be a division code",
        ),
        (
            HEAD + COUNTY.replace("type: choice", "type: multi_choice"),
            7,
            "region: true is only for a choice step",
        ),
        (
            HEAD
            + "  - id: town\n    type: text\n    region: true\n"
            + "    text: {zh: 哪个镇？, en: Which town?}\n",
            7,
            "region: true is only for a choice step",
        ),
        (
            HEAD + COUNTY + COUNTY.replace("id: county", "id: county2"),
            12,
            "step 'county2' is a second region step; a flow routes by one (the first is 'county')",
        ),
        (HEAD + COUNTY.replace("region: true", "region: yes please"), 7, "region of step 'county'"),
    ],
)
def test_the_loader_refuses_a_region_step_that_cannot_route(
    source: str, line: int, message: str
) -> None:
    problems = problems_in(source)
    assert [p.line for p in problems] == [line], [str(p) for p in problems]
    assert message in problems[0].message


def test_the_county_question_of_the_interview_page_routes_the_built_in_flow() -> None:
    """docs/the-interview.md shows admins the county question that routes by region; put in
    place of the built-in `county`, it loads, and its labels name the regions."""
    page = (Path(__file__).parent.parent / "docs" / "the-interview.md").read_text("utf-8")
    found = re.search(r"```yaml\n(  - id: county\n.*?)```", page, re.S)
    assert found is not None
    source = default_flow_source()
    start, end = source.index("  - id: county\n"), source.index("  - id: township")
    flow = load_flow_text(source[:start] + found.group(1) + "\n" + source[end:])
    assert flow.region_step is not None and flow.region_step.id == "county"
    assert flow.region_label("653226") == {
        "zh": "于田县",
        "en": "Keriya County (Yutian)",
        "ug": "كېرىيە ناھىيىسى",
    }
    assert flow.region_of({"county": "6532"}) == "6532"
