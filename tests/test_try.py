"""``intake-bot try``: an interview walked in the terminal through the bot's own engine and texts.

An admin trusts this command to show what applicants will meet before a flow is published,
so the tests check the real texts (questions, refusals, review, the caseworker's pre-screen)
in English and Chinese, that nothing is stored unless ``--save`` is given, and that a script
can rely on the exit status of ``--answers``. Two tests run the installed console script
with piped input; the others call ``command_line.cli.main`` in-process, which is much faster.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.flow.engine import Refusal
from bot.flow.loader import default_flow_source, load_flow_file, load_flow_text
from bot.i18n import I18n
from bot.messages import refusal_text
from bot.store import Store
from command_line.cli import main

FLOWS = Path(__file__).parent / "flows"
EVERY = FLOWS / "every_type.yaml"
SCRIPT = Path(sys.executable).parent / "intake-bot"
CJK = re.compile(r"[\u4e00-\u9fff]")
REF = re.compile(r"([A-Z0-9]{3}-[A-Z0-9]{3})")

# The default flow in English: a letter for a number, Back, a skipped question, a change
# from the review, then Send. Each line answers one prompt.
DEFAULT_WALK_EN = [
    "1",  # consent: I agree
    "1",  # applying for myself
    "Zhang San",
    "1990-05-17",
    "1",  # sensitive consent
    "skip",  # the ID number (optional)
    "Hebei County",
    "Dongcun Town",
    "Xicun",
    "1",  # rural: yes
    "1",  # what happened: injured by a crime
    "1",  # injury: serious
    "3",  # handled by: the court
    "skip",  # which court (optional)
    "1",  # case stage: still being handled
    "back",  # from the case number back to the case stage
    "The court has given its judgment",  # the label works as well as the number
    "skip",  # case number (optional)
    "2",  # own fault: no
    "3",  # compensation: none at all
    "1",  # why: no money to pay
    "1 4",  # hardship: medical costs and basic living
    "",  # done
    "1",  # caused by the case: yes
    "1",  # urgent medical treatment: yes
    "four",  # refused: not a number
    "4",
    "0",  # earners
    "1500",
    "",  # groups: none (optional)
    "skip",  # social assistance
    "3",  # cannot work
    "1,2",  # help wanted
    "done",
    "13812345678",
    "done",  # no documents (optional)
    "skip",  # description
    "change 1",  # on the review: change who the application is for
    "2",  # a family member: the relationship and who applies become relevant
    "3",  # their son or daughter
    "Zhang Xiaosan",
    "send",
]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database path that does not exist yet, for main() in-process."""
    path = tmp_path / "try.db"
    monkeypatch.setenv("INTAKE_DB", str(path))
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no intake-bot.toml of the developer's is read
    return path


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    lines: list[str] | None = None,
) -> tuple[int, str, str]:
    """``intake-bot`` in-process with ``lines`` piped to its stdin."""
    text = "".join(line + "\n" for line in lines or [])
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def script(
    tmp_path: Path, *argv: str, lines: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed console script, with piped input and its own database."""
    env = {k: v for k, v in os.environ.items() if k != "INTAKE_CONFIG"}
    env["INTAKE_DB"] = str(tmp_path / "script.db")
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [str(SCRIPT), "try", *argv],
        input="".join(line + "\n" for line in lines or []),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
        timeout=30,
        check=False,
    )


async def intakes(db: Path) -> list[tuple[str, str, str, int, bool]]:
    """(ref, status, flow id, version, is_test) of every intake in the database."""
    store = await Store.open(db, seed_default_flow=False)
    try:
        rows = await store.db.fetchall("SELECT id FROM intakes ORDER BY id")
        out = []
        for row in rows:
            intake = await store.intakes.get(int(row["id"]))
            assert intake is not None
            out.append(
                (
                    intake.ref or "",
                    intake.status,
                    intake.flow_id,
                    intake.flow_version,
                    intake.is_test,
                )
            )
        return out
    finally:
        await store.close()


def between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


# --- the default flow, for real --------------------------------------------------------


def test_script_walks_the_default_flow_in_english_and_stores_nothing(tmp_path: Path) -> None:
    result = script(tmp_path, "--lang", "en", lines=DEFAULT_WALK_EN)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    # How to answer is shown once, before the first question.
    assert out.count("Commands: back goes to the previous question") == 1
    assert out.index("Commands:") < out.index("Who are you applying for?")
    # Questions with their numbered choices, as on the bot's buttons.
    assert "Who are you applying for?" in out
    assert "  1. For myself\n  2. For a family member\n" in out
    assert "  1. I agree\n  2. I do not agree" in out
    # The refusal is the bot's own, and the question is asked again.
    refused = out.index("⚠️ Please send a number, for example 3.")
    assert "How many people are in the household?" in out[refused:]
    # Back asked the case stage again, showing the answer given before.
    assert "Your answer before: Still being handled: investigated, reviewed or tried" in out
    # The multi_choice marks.
    assert "  1. [x] High medical costs" in out
    assert "  4. [x] Basic living (food, housing)" in out
    # The review, after the change: the relationship question was asked and is listed.
    review = out[out.rindex("Please check your answers before sending:") :]
    assert "1. Who are you applying for?\n    → For a family member" in review
    assert "2. What are you to the person who needs help?\n    → Their son or daughter" in review
    assert "3. What is your own name?\n    → Zhang Xiaosan" in review
    # The phone is shown whole on the review, as in the bot: the applicant checks it there.
    assert "13812345678" in review and "138••••••78" not in review
    assert "Type send to send" in review
    # The caseworker's view.
    view = out[out.index("What the caseworker sees:") :]
    assert "Pre-screen: may qualify" in view
    assert "Seriously injured or disabled by a crime; the offender cannot pay" in view
    assert "What speaks against it:" not in view
    assert "people at the procuratorate decide" in view
    assert "Priority: 8 points" in view
    assert "+5  Someone urgently needs medical treatment" in view
    assert "+3  No one in the household earns money" in view
    assert "nothing was stored" in out
    assert not (tmp_path / "script.db").exists()


def test_script_answers_file_with_save_stores_one_test_intake(tmp_path: Path) -> None:
    papers = tmp_path / "id-card.jpg"
    papers.write_bytes(b"\xff\xd8 not really a photo")
    answers = tmp_path / "answers.json"
    answers.write_text(
        '{"consent": true, "name": "Li", "household": 3, "earners": 0, "income": 1500.5,'
        ' "birth": "1950-01-02", "phone": "13812345678", "kind": "injury",'
        ' "needs": ["Medical help"], "groups": null, "paid": "no",'
        ' "papers": ["id-card.jpg"], "comment": null}',
        encoding="utf-8",
    )
    result = script(tmp_path, str(EVERY), "--answers", str(answers), "--lang", "en", "--save")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Please check your answers before sending:" in out
    assert "→ 1 file" in out
    assert "Priority: 6 points" in out  # medical 5 + older person 1
    assert "Injured and not compensated" in out
    # The file was not published: it is now, for the intake's sake, but does not
    # replace the flow real applicants get.
    assert "was stored as every-type version 1" in out
    assert "New applicants still get judicial-assistance version 1" in out
    match = REF.search(out[out.index("Your reference") :])
    assert match is not None

    rows = asyncio.run(intakes(tmp_path / "script.db"))
    assert rows == [(match.group(1), "submitted", "every-type", 1, True)]

    async def active() -> str:
        store = await Store.open(tmp_path / "script.db")
        try:
            return (await store.flows.active()).id
        finally:
            await store.close()

    assert asyncio.run(active()) == "judicial-assistance"


# --- Chinese ---------------------------------------------------------------------------


def test_default_flow_speaks_chinese_by_default(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = load_flow_text(default_flow_source())
    tr = I18n.load().tr("zh")
    code, out, _ = run(capsys, monkeypatch, "try", lines=["1", "1", "张三", "去年", "返回"])
    assert code == 1  # the input ended before the interview did
    assert flow.pick(flow.title, "zh") in out
    assert flow.pick(flow.step("applying_for").text, "zh") in out  # 您是为谁申请？
    assert "  1. 为我自己" in out
    not_a_date = refusal_text(tr, flow, "zh", Refusal("not_a_date"))
    assert CJK.search(not_a_date)
    assert "⚠️ " + not_a_date in out
    # 返回 (the bot's Back button) goes back, as does "back".
    asked = out.split("需要帮助的人叫什么名字？")
    assert len(asked) == 3  # asked, and asked again after 返回
    assert "张三" in asked[-1]  # with the answer given before
    assert not env.exists()


def test_answers_in_chinese_show_the_caseworker_view_in_chinese(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "consent: agree\nname: 李四\nhousehold: 2\nearners: 1\nincome: 800\n"
        "birth: 2010-06-01\nphone: 13812345678\nkind: 受伤\nneeds: [2, 3]\n"
        "groups: [未成年人]\npaid: no\npapers: a.jpg\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, monkeypatch, "try", str(EVERY), "--answers", str(answers))
    assert code == 0, err
    assert "测试流程" in out
    view = out[out.rindex("受伤未获赔偿") - 200 :]
    assert "受伤未获赔偿" in view
    assert "+5  需要医疗" in view
    assert "+3  涉及未成年人" in view
    tr = I18n.load().tr("zh")
    assert (
        tr.ngettext("Priority: {points} point", "Priority: {points} points", 8).format(
            points=tr.number(8)
        )
        in view
    )
    assert not env.exists()


# --- a test flow with every step type --------------------------------------------------


def test_every_step_type_interactively(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = []
    for name in ("one.jpg", "two.pdf", "three.png"):
        (tmp_path / name).write_bytes(b"x")
        files.append(str(tmp_path / name))
    lines = [
        "maybe",  # consent: refused, use the numbers
        "1",
        "A name far too long",  # max_length 10
        "Li",
        "x",  # not a number
        "3",
        "5",  # more than the household: the flow's own constraint message
        "0",
        "1500.5",
        "1950-01-02",
        "123",  # not a phone number
        "13812345678",
        "Injured",  # a choice by its label; the injury note follows
        "",  # needs: done with nothing chosen is refused
        "1 2",
        "1",  # unmark Money
        "",
        "1 3",  # groups: minor and "none of these" together
        "done",  # refused by the constraint
        "3",
        "done",
        "back",  # from "Were you compensated?" back to the groups
        "keep",  # keep [minor]
        "2",  # paid: no
        "done",  # papers: at least one is needed
        str(tmp_path / "missing.jpg"),
        *files,  # the third is one too many
        "done",
        "",  # comment: an empty line skips an optional question
        "change 2",  # household
        "4",
        "what now?",  # not a review command
        "send",
    ]
    code, out, err = run(capsys, monkeypatch, "try", str(EVERY), "--lang", "en", lines=lines)
    assert code == 0, err
    assert "Hello, this is a test." in out
    # No "tap" where there is nothing to tap: the terminal's own words.
    assert "⚠️ That is not one of the answers. Please type the number of one of them." in out
    assert "Please tap" not in out and "Tap one" not in out
    assert "An empty line skips this question." in out
    assert "⚠️ That is too long: at most 10 characters, yours has 19." in out
    assert "⚠️ Please send a number, for example 3." in out
    assert "⚠️ That is more than the household size." in out
    assert "⚠️ That does not look like a phone number." in out
    assert "Please have your medical records ready." in out
    assert "⚠️ Please choose at least one: type its number, then an empty line." in out
    assert "  2. [x] Medical help" in out
    assert "⚠️ 'None of these' goes alone." in out
    assert "Chosen so far: A minor" in out  # asked again after back
    assert "⚠️ Please send at least one photo or file first." in out
    assert "⚠️ There is no file" in out
    assert "2 files received." in out
    assert "⚠️ That is enough files: at most 2." in out
    assert "Type send to send" in out.split("what now?")[1]
    review = out[out.rindex("Please check your answers before sending:") :]
    assert "2. How many people live in your household?\n    → 4" in review
    assert "→ 2 files" in review
    assert "→ Medical help" in review
    view = out[out.index("What the caseworker sees:") :]
    assert "No one in the household earns an income" in view
    assert "Injured and not compensated" in view
    assert "Priority: 9 points" in view  # medical 5, minor 3, older person 1
    assert not env.exists()


def test_in_chinese_an_empty_line_skips_and_gai_n_changes_an_answer(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Chinese reader at the terminal: a name too long kept in part, an optional question
    left with an empty line, and "改 2" (change 2) on the review asks the second question
    again."""
    (tmp_path / "a.jpg").write_bytes(b"x")
    lines = [
        "1",  # consent
        "一二三四五六七，八九十一",  # 12 characters; the name takes 10
        "first",  # keep the first part
        "3",
        "0",
        "800",
        "1950-01-02",
        "13812345678",
        "1",  # injured
        "2",  # needs: medical
        "",
        "",  # groups: optional, nothing chosen
        "2",  # paid: no
        str(tmp_path / "a.jpg"),
        "",
        "",  # comment: optional, skipped with an empty line
        "改 2",  # change the household size
        "4",
        "发送",
    ]
    code, out, err = run(capsys, monkeypatch, "try", str(EVERY), "--lang", "zh", lines=lines)
    assert code == 0, (err, out)
    review = out[out.rindex("请核对") if "请核对" in out else 0 :]
    assert "家里有几口人？\n    → 4" in review, review
    # The name too long was kept, and its first part taken by typing "first".
    assert "  first / 只留前面一部分\n  parts / 全部留下，分成几段" in out
    assert "你叫什么名字？\n    → 一二三四五六七，" in review, review
    assert "还有什么要说的吗？\n    → （没有回答）" in review, review
    assert out.count("家里有几口人？") >= 3  # asked, on the review, asked again, review
    assert "发一个空行就跳过这个问题。" in out  # how to skip, where there is no Skip button
    assert not env.exists()


def test_declining_consent_ends_without_an_intake(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, "try", str(EVERY), "--lang", "en", lines=["2"])
    assert code == 1
    assert "You did not agree, so nothing was saved." in out
    # The door is not closed: the same help in person or by phone, as the chat says.
    assert "in person at the service hall of your county procuratorate" in out
    assert "by phone on 12309" in out


def test_the_number_to_apply_by_phone_is_the_one_the_settings_give(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A county with its own line sets it once; try shows what applicants would read."""
    monkeypatch.setenv("INTAKE_PROCURATORATE_HOTLINE", "09035512309")
    code, out, _ = run(capsys, monkeypatch, "try", str(EVERY), "--lang", "zh", lines=["2"])
    assert code == 1
    assert "到县检察院的检察服务大厅当面申请，或者拨打09035512309电话申请。" in out
    assert "拨打12309" not in out


def test_quit_stops(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, "try", str(EVERY), "--lang", "en", lines=["1", "quit"])
    assert code == 1
    assert "Stopped. Nothing was stored." in out


# --- --answers -------------------------------------------------------------------------

GOOD_ANSWERS = """\
consent: agree
name: Li
household: 3
earners: 0
income: 1500.50
birth: 1950-01-02
phone: 13812345678
kind: 1
kind_other: not asked, because kind is not other
needs: [Medical help, money]
groups: ~
paid: no
papers: [a.jpg, b.jpg]
comment: null
no_such_step: 1
"""


def answers_file(tmp_path: Path, text: str) -> Path:
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    path = tmp_path / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_answers_file_runs_without_prompts(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = answers_file(tmp_path, GOOD_ANSWERS)
    code, out, err = run(
        capsys, monkeypatch, "try", str(EVERY), "--answers", str(path), "--lang", "en"
    )
    assert code == 0, err
    assert "> " not in out  # no prompts
    assert "Not used, because these questions were not asked: kind_other, no_such_step" in out
    review = out[out.index("Please check your answers before sending:") :]
    assert "→ Money, Medical help" in review
    assert "→ 1,500.5" in review
    assert "→ No" in review  # "no" stays the choice value, not YAML's false
    assert "Priority: 6 points" in out
    assert "Already compensated" not in out
    assert not env.exists()


@pytest.mark.parametrize(
    ("change", "step", "reason"),
    [
        ("household: 3", "household: 11", "That number is too large: it must be at most 10."),
        ("earners: 0", "earners: 4", "That is more than the household size."),
        ("kind: 1", "kind: 7", "That is not one of the answers."),
        ("groups: ~", "groups: [1, 3]", "'None of these' goes alone."),
        ("papers: [a.jpg, b.jpg]", "papers: [a.jpg, nope.jpg]", "There is no file nope.jpg."),
    ],
)
def test_a_refused_answer_fails_naming_the_step(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    change: str,
    step: str,
    reason: str,
) -> None:
    path = answers_file(tmp_path, GOOD_ANSWERS.replace(change, step))
    code, out, err = run(
        capsys, monkeypatch, "try", str(EVERY), "--answers", str(path), "--lang", "en"
    )
    assert code == 1
    step_id, _, _value = step.partition(": ")
    assert f"Step {step_id}: the answer" in err
    assert reason in err
    assert "What the caseworker sees" not in out


def test_a_missing_required_answer_fails(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = answers_file(tmp_path, GOOD_ANSWERS.replace("phone: 13812345678\n", ""))
    code, _, err = run(
        capsys, monkeypatch, "try", str(EVERY), "--answers", str(path), "--lang", "en"
    )
    assert code == 1
    assert "No answer for step phone (Your phone number)" in err


def test_declined_consent_in_answers_fails(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = answers_file(tmp_path, GOOD_ANSWERS.replace("consent: agree", "consent: false"))
    code, out, _ = run(
        capsys, monkeypatch, "try", str(EVERY), "--answers", str(path), "--lang", "en"
    )
    assert code == 1
    assert "You did not agree, so nothing was saved." in out


def test_an_answers_file_that_is_not_a_mapping(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = answers_file(tmp_path, "- just\n- a list\n")
    code, _, err = run(
        capsys, monkeypatch, "try", str(EVERY), "--answers", str(path), "--lang", "en"
    )
    assert code == 1
    assert "must be a mapping of step ids to answers" in err


# --- --save, the database, and mistakes ------------------------------------------------


def test_save_of_the_default_flow_uses_the_stored_version(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        capsys, monkeypatch, "try", "--lang", "en", "--save", lines=DEFAULT_WALK_EN
    )
    assert code == 0, err
    assert "was stored as" not in out  # the embedded default is version 1 already
    ref = REF.search(out[out.index("Your reference") :])
    assert ref is not None
    assert asyncio.run(intakes(env)) == [
        (ref.group(1), "submitted", "judicial-assistance", 1, True)
    ]

    # The database exists now: without FILE, its active flow is tried, and without
    # --save a second walk adds nothing.
    code, out, err = run(capsys, monkeypatch, "try", "--lang", "en", lines=DEFAULT_WALK_EN)
    assert code == 0, err
    assert f"version 1 in {env}" in out
    assert len(asyncio.run(intakes(env))) == 1


def test_save_again_of_a_published_file_does_not_publish_it_twice(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = answers_file(tmp_path, GOOD_ANSWERS)
    argv = ("try", str(EVERY), "--answers", str(path), "--lang", "en", "--save")
    code, out, err = run(capsys, monkeypatch, *argv)
    assert code == 0, err
    assert "was stored as every-type version 1" in out
    code, out, err = run(capsys, monkeypatch, *argv)
    assert code == 0, err
    assert "was stored as" not in out
    rows = asyncio.run(intakes(env))
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [("submitted", "every-type", 1, True)] * 2


def test_unknown_language_is_a_usage_error(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "try", "--lang", "fr")
    assert code == 2
    assert "Unknown language fr. Choose one of: en, ug, zh." in err


def test_a_flow_file_with_problems_is_reported_like_flow_validate(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = FLOWS / "broken_several.yaml"
    code, out, err = run(capsys, monkeypatch, "try", str(broken))
    assert code == 1
    assert out == ""
    assert err.startswith(f"{broken}: line ")
    assert not env.exists()


def test_the_test_flow_is_the_one_the_tests_expect() -> None:
    """Guards the assumptions above about tests/flows/every_type.yaml."""
    flow, _ = load_flow_file(EVERY)
    assert flow.languages == ("zh", "en")
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
