"""Chinese and Uyghur written as their readers write them.

Chinese: full-width punctuation (：（），) next to Chinese characters, no space between
Chinese sentences, and counts inside a sentence without thousands separators ("最多5000个字";
Babel decides the digits, the catalog the sentence). Lists: 、 between items, or ； when an
item itself holds a 、; Uyghur lists take the Arabic comma "،". The catalog is scanned as a
whole; the texts the code puts together from pieces (cards, statistics, hints) are checked
as they are shown.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.cards import card_texts
from bot.casework.decisions import Card
from bot.flow.engine import Refusal, Screening, State
from bot.flow.loader import load_flow_text
from bot.i18n import I18n, join_list
from bot.messages import PLAIN, answer_text, question_text, refusal_text
from bot.store.casework import Case
from tests.test_casework_e2e import FLOW as CASEWORK_FLOW

ROOT = Path(__file__).resolve().parent.parent
I18N = I18n.load()

# Chinese characters and the CJK and full-width punctuation around them.
CHINESE = "[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]"
HALF_WIDTH_BESIDE_CHINESE = re.compile(rf"{CHINESE} *[:(),]|[:(),] *{CHINESE}")
SPACE_AFTER_A_SENTENCE = re.compile(r"。 |(?<=[\u3400-\u9fff])\. ")
GROUPED_COUNT = re.compile(rf"\d,\d{{3}}(?:,\d{{3}})* *{CHINESE}")


def typography_problems(text: str) -> list[str]:
    """What a native writer would correct in ``text``, each with where it is."""
    found = []
    for pattern, what in (
        (HALF_WIDTH_BESIDE_CHINESE, "half-width punctuation beside Chinese"),
        (SPACE_AFTER_A_SENTENCE, "a space after a Chinese sentence"),
        (GROUPED_COUNT, "a thousands separator in a Chinese count"),
    ):
        found += [f"{what}: …{m.group(0)}…" for m in pattern.finditer(text)]
    return found


def test_the_check_finds_what_the_issue_saw() -> None:
    for seen in (
        "优先级 9: 受伤(+5)",
        "新增问题: q1",
        "最多5,000个字",
        "请输入回答。 这个问题也可以跳过。",
    ):
        assert typography_problems(seen), seen
    for right in (
        "优先级9分：受伤（+5）",
        "新增问题：q1",
        "最多5000个字",
        "请输入回答。这个问题也可以跳过。",
    ):
        assert not typography_problems(right), right
    # Latin text inside a Chinese message keeps its own punctuation.
    assert not typography_problems("languages 必须是列表，例如 [zh, en]")
    assert not typography_problems("请按这样写日期：2024-03-05（年-月-日）。")


def test_the_chinese_catalog_writes_chinese_punctuation() -> None:
    path = ROOT / "locales" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
    catalog = read_po(BytesIO(path.read_bytes()), locale="zh_Hans")
    problems = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            problems += [(text, p) for p in typography_problems(text or "")]
    assert not problems, problems


def test_a_count_inside_a_chinese_sentence_has_no_thousands_separator() -> None:
    flow = load_flow_text(CASEWORK_FLOW)
    too_long = Refusal("too_long", {"max": 5000, "length": 5200})
    zh = refusal_text(I18N.tr("zh"), flow, "zh", too_long)
    assert zh == "太长了：最多5000个字，您写了5200个字。"
    # English groups its thousands; the amounts of money keep Babel's form in Chinese too.
    assert "at most 5,000 characters" in refusal_text(I18N.tr("en"), flow, "en", too_long)
    assert I18N.tr("zh").money(3000) == "¥3,000.00"


def test_a_hint_follows_the_sentence_before_it_without_a_space() -> None:
    flow = load_flow_text(LISTS)
    step = flow.step("comment")
    zh = question_text(I18N.tr("zh"), PLAIN, flow, "zh", step, State())
    assert "请输入您的回答。这个问题也可以跳过。" in zh, zh
    assert not typography_problems(zh)
    en = question_text(I18N.tr("en"), PLAIN, flow, "en", step, State())
    assert "Type your answer. You can also skip this question." in en


def test_the_card_reads_as_chinese() -> None:
    """The priority line a Chinese caseworker reads, and the rest of the card."""
    flow = load_flow_text(CASEWORK_FLOW)
    case = Case(
        id=1,
        ref="3D3-E6F",
        flow_id=flow.id,
        flow_version=1,
        applicant_id=4,
        chat_id=4,
        lang="zh",
        status="submitted",
        state=State(answers={"name": "张三", "village": "红星村", "hurt": "yes"}),
        last_update_id=1,
        created_at="2025-03-03T08:00:00+00:00",
        updated_at="2025-03-03T08:00:00+00:00",
        submitted_at="2025-03-03T08:00:00+00:00",
        screening=Screening(("injured",), (), 5, ("rural", "injury")),
        priority=5,
    )
    text = "\n".join(card_texts(I18N.tr("zh"), PLAIN, Card(case, flow, [], []), actor=2))
    assert "优先级5分：农村家庭（+3）、受伤（+2）" in text, text
    assert not typography_problems(text), typography_problems(text)
    en = "\n".join(card_texts(I18N.tr("en"), PLAIN, Card(case, flow, [], []), actor=2))
    assert "Priority 5: Rural household (+3), Injury (+2)" in en


LISTS = """
id: lists
languages: [zh, en, ug]
title: {zh: 列表, en: Lists, ug: تىزىملىك}
steps:
  - id: consent
    type: consent
    text: {zh: 同意吗？, en: Do you agree?, ug: قوشۇلامسىز؟}
  - id: who
    type: multi_choice
    text: {zh: 谁来申请？, en: Who applies?, ug: كىم ئىلتىماس قىلىدۇ؟}
    choices:
      - {value: self, label: {zh: 我自己, en: Myself, ug: ئۆزۈم}}
      - {value: cadre, label: {zh: 村干部、帮扶干部, en: "A village or aid official", ug: "كەنت كادىرى، ياردەم كادىرى"}}
      - {value: family, label: {zh: 家里人, en: Family, ug: ئائىلىدىكىلەر}}
  - id: comment
    type: text
    required: false
    text: {zh: 还有什么要说的？, en: Anything else?, ug: يەنە نېمە دېمەكچىسىز؟}
"""


@pytest.mark.parametrize(
    ("lang", "chosen", "shown"),
    [
        ("zh", ["self", "family"], "我自己、家里人"),
        # A label that holds a 、 would read as two items: the items are set apart with ；.
        ("zh", ["self", "cadre", "family"], "我自己；村干部、帮扶干部；家里人"),
        ("ug", ["self", "family"], "ئۆزۈم، ئائىلىدىكىلەر"),
        ("ug", ["self", "cadre"], "ئۆزۈم؛ كەنت كادىرى، ياردەم كادىرى"),
        ("en", ["self", "family"], "Myself, Family"),
    ],
)
def test_lists_are_joined_as_their_language_joins_them(
    lang: str, chosen: list[str], shown: str
) -> None:
    flow = load_flow_text(LISTS)
    step = flow.step("who")
    for reader in ("zh", "en", "ug"):  # the labels' language decides, whoever reads them
        assert answer_text(I18N.tr(reader), flow, lang, step, chosen, masked=False) == shown


def test_a_uyghur_list_never_takes_the_latin_comma() -> None:
    ug = I18N.tr("ug")
    assert ug.join(["ئۆزۈم", "ئائىلىدىكىلەر", "قوشنىلار"]) == "ئۆزۈم، ئائىلىدىكىلەر، قوشنىلار"
    assert "," not in join_list("ug", ["a", "b"])
    assert ug.labelled("ھالىتى", "تەستىقلاندى") == "ھالىتى: تەستىقلاندى"


def test_chinese_glue_between_pieces_is_full_width() -> None:
    zh = I18N.tr("zh")
    assert zh.labelled("新增问题", zh.join(["q1", "q2"])) == "新增问题：q1、q2"
    assert zh.sentences("文件没有问题。", "流程 x：3个问题。") == "文件没有问题。流程 x：3个问题。"
    assert zh.count(12345) == "12345" and I18N.tr("en").count(12345) == "12,345"


@pytest.mark.parametrize(
    ("msgid", "natural"),
    [
        (
            "Type your question for the applicant of {ref}. They will get it in their chat.",
            "请输入要问申请人的问题（申请 {ref}），对方会在聊天里收到。",
        ),
        (
            "You released {ref}; it is back in the queue.",
            "已把申请 {ref} 放回队列，其他同事可以接手。",
        ),
    ],
)
def test_staff_prompts_read_as_natural_chinese(msgid: str, natural: str) -> None:
    """The issue's "请输入要问申请 3D3-E6F 申请人的问题" and "您已释放"."""
    assert I18N.tr("zh").gettext(msgid) == natural


def test_a_declined_application_has_one_name_in_chinese() -> None:
    """The button, the status in /status and /stats, the card and the notice say the same."""
    zh = I18N.tr("zh")
    term = zh.gettext("Decline")
    assert term == "不予救助"
    assert zh.gettext("not approved") == term
    assert term in zh.gettext("Declined: {reason}")
    assert term in zh.gettext("Your application {ref} was not approved.")
