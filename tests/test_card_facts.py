"""The facts at the top of the card, read from the default interview's answers and
written in each reader's language: who applied and for whom, age, the ID number masked,
income per head, the office handling the case."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.cards import card_texts
from bot.casework.decisions import Card
from bot.casework.facts import age_on, facts_of
from bot.flow.engine import State
from bot.flow.loader import default_flow_source, load_flow_text
from bot.i18n import I18n
from bot.messages import PLAIN
from bot.store.casework import Case
from tests.test_typography import typography_problems

I18N = I18n.load()
FLOW = load_flow_text(default_flow_source())
ID_NUMBER = "430321197503080023"
BORN = dt.date(1975, 3, 8)
AGE = age_on(BORN, dt.date.today())


def case_of(answers: dict[str, object]) -> Case:
    return Case(
        id=1,
        ref="3D3-E6F",
        flow_id=FLOW.id,
        flow_version=1,
        applicant_id=4,
        chat_id=4,
        lang="zh",
        status="submitted",
        state=State(answers=answers),
        last_update_id=1,
        created_at="2025-03-03T08:00:00+00:00",
        updated_at="2025-03-03T08:00:00+00:00",
        submitted_at="2025-03-03T08:00:00+00:00",
    )


BY_A_SON = {
    "applying_for": "relative",
    "relationship": "child",
    "applicant_name": "李明",
    "name": "李华",
    "birth_date": BORN.isoformat(),
    "id_number": ID_NUMBER,
    "household_size": 4,
    "monthly_income": 5000,
    "authority": "court",
    "authority_name": "和田县人民法院",
}


@pytest.mark.parametrize(
    ("lang", "lines"),
    [
        (
            "zh",
            [
                "申请人：李明（儿子或女儿）",
                "需要帮助的人：李华",
                f"年龄：{AGE}",
                "身份证号：430•••••••••••••23",
                "人均收入：每月¥1,250.00（4人，全家每月¥5,000.00）",
                "办案机关：法院 · 和田县人民法院",
            ],
        ),
        (
            "en",
            [
                "Applied by: 李明 (Their son or daughter)",
                "For: 李华",
                f"Age: {AGE}",
                "ID number: 430•••••••••••••23",
                "Income per person: CN¥1,250.00 a month (CN¥5,000.00 for 4 people)",
                "Handled by: The court · 和田县人民法院",
            ],
        ),
        (
            "ug",
            [
                "ئىلتىماس قىلغۇچى: 李明 (ئوغلى ياكى قىزى)",
                "ياردەمگە ئېھتىياجلىق كىشى: 李华",
                "كىملىك نومۇرى: \u200e430•••••••••••••23\u200e",
                "بىر تەرەپ قىلىۋاتقان ئورگان: سوت · 和田县人民法院",
            ],
        ),
    ],
)
def test_the_card_says_who_applied_for_whom_age_id_income_per_head_and_authority(
    lang: str, lines: list[str]
) -> None:
    text = "\n".join(card_texts(I18N.tr(lang), PLAIN, Card(case_of(BY_A_SON), FLOW, [], []), 2))
    for line in lines:
        assert line in text.splitlines(), (line, text)
    assert ID_NUMBER not in text  # masked in the answers too: Reveal shows it
    if lang == "zh":
        assert not typography_problems(text), typography_problems(text)


def test_for_themselves_and_without_the_facts_a_flow_does_not_ask() -> None:
    alone = {**BY_A_SON, "applying_for": "self", "household_size": 0}
    text = "\n".join(card_texts(I18N.tr("en"), PLAIN, Card(case_of(alone), FLOW, [], []), 2))
    assert "Applied by: 李华, for themselves" in text
    assert "For: " not in text and "Income per person" not in text  # no members: no division
    facts = facts_of(case_of({"name": "王五"}), FLOW, "en")
    assert (facts.by_self, facts.age, facts.id_number, facts.income_per_head) == (
        None,
        None,
        None,
        None,
    )
