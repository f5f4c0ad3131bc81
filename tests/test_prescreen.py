"""The built-in flow's pre-screen, against the rules of national judicial assistance.

A caseworker reads the pre-screen's word first, so it must say what the rules say: a kind
of case the procuratorate helps in, with compensation through the courts failed, "may
qualify"; anything the rules usually exclude (social assistance already met the need, say)
"unlikely"; something not known yet "needs a caseworker's look". Belonging to a special
group (a woman in hardship, a retired soldier) moves an intake up the queue and never makes
it "may qualify". The same cases run through ``intake-bot try --answers`` as an admin would
run them (the issue's acceptance), and the ID number question checks the GB 11643 digit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
import yaml

from bot.config import Settings, load_settings
from bot.flow.engine import (
    AGREE,
    LIKELY,
    LOOK,
    UNLIKELY,
    Ask,
    Completed,
    Done,
    Input,
    Outcome,
    Picked,
    Review,
    Screening,
    Skip,
    Submit,
    Typed,
    answer,
    start,
)
from bot.flow.loader import FlowError, default_flow_source, load_flow_text
from bot.flow.model import Flow
from bot.flow.values import parse_id_number
from bot.flow.variables import values_of
from bot.i18n import I18n
from bot.messages import PLAIN, refusal_text, screening_text
from command_line.cli import main

TODAY = dt.date(2026, 11, 23)
FLOW: Flow = load_flow_text(default_flow_source())
ID_NUMBER = "620422197005010038"  # a well-formed number: its check digit fits


def pick(step: str, value: str) -> list[Input]:
    return [Picked(step, value)]


def several(step: str, *values: str) -> list[Input]:
    return [*(Picked(step, v) for v in values), Done(step)]


# A farmer injured by a crime: the court judged it, the offender has no money. Each test
# changes what its case is about.
SERIOUS_INJURY: dict[str, list[Input]] = {
    "consent": pick("consent", AGREE),
    "applying_for": pick("applying_for", "self"),
    "name": [Typed("王大山")],
    "birth_date": [Typed("1970-05-01")],
    "id_number": [Typed(ID_NUMBER)],
    "sensitive_consent": pick("sensitive_consent", AGREE),
    "county": [Typed("会宁县")],
    "township": [Typed("河畔镇")],
    "village": [Typed("张家村")],
    "rural": pick("rural", "yes"),
    "what_happened": pick("what_happened", "crime_injury"),
    "injury": pick("injury", "serious"),
    "authority": pick("authority", "court"),
    "authority_name": [Typed("会宁县人民法院")],
    "case_stage": pick("case_stage", "judged"),
    "case_number": [Skip("case_number")],
    "own_fault": pick("own_fault", "no"),
    "compensation": pick("compensation", "none"),
    "no_compensation_reason": pick("no_compensation_reason", "cannot_pay"),
    "hardship": several("hardship", "medical", "income"),
    "hardship_caused_by_case": pick("hardship_caused_by_case", "yes"),
    "medical_urgent": pick("medical_urgent", "no"),
    "household_size": [Typed("4")],
    "earners": [Typed("1")],
    "monthly_income": [Typed("900")],
    "groups": several("groups", "none"),
    "social_assistance": several("social_assistance", "none"),
    "work_ability": pick("work_ability", "some"),
    "help_wanted": several("help_wanted", "payment"),
    "phone": [Typed("13812345678")],
    "documents": [Done("documents")],
    "description": [Skip("description")],
}

# The case: a dog bite, partly paid for by the owner, by a woman in hardship.
DOG_BITE: dict[str, list[Input]] = {
    **SERIOUS_INJURY,
    "what_happened": pick("what_happened", "tort_injury"),
    "injury": pick("injury", "minor"),
    "authority": pick("authority", "none"),
    "compensation": pick("compensation", "part"),
    "no_compensation_reason": pick("no_compensation_reason", "other"),
    "groups": several("groups", "woman"),
}


def screened(answers: Mapping[str, Iterable[Input]], **override: list[Input]) -> Screening:
    """Walk the built-in flow with these answers (every question asked must have one),
    send it, and return the pre-screen."""
    plan = {**answers, **override}
    out: Outcome = start(FLOW, today=TODAY)
    for _turn in range(200):
        if not isinstance(out, Ask):
            break
        assert out.step.id in plan, f"no answer planned for {out.step.id}"
        for given in plan[out.step.id]:
            out = answer(FLOW, out.state, given, today=TODAY)
            assert out.refusal is None, (out.step.id if isinstance(out, Ask) else "", out)
    assert isinstance(out, Review), out
    done = answer(FLOW, out.state, Submit(), today=TODAY)
    assert isinstance(done, Completed)
    return done.screening


def caseworker_reads(screening: Screening, lang: str = "en") -> str:
    return screening_text(I18n.load().tr(lang), PLAIN, FLOW, lang, screening)


# --- the word and its reasons ---------------------------------------------------------


def test_a_serious_injury_by_a_crime_whose_offender_cannot_pay_may_qualify_with_the_reason() -> (
    None
):
    screening = screened(SERIOUS_INJURY)
    assert screening.eligibility == ("serious_injury",)
    assert screening.exclusions == () and screening.to_check == ()
    assert screening.verdict == LIKELY
    text = caseworker_reads(screening)
    assert text.startswith("Pre-screen: may qualify\nWhat fits the rules:\n")
    assert "Seriously injured or disabled by a crime; the offender cannot pay" in text
    assert "people at the procuratorate decide" in text
    zh = caseworker_reads(screening, "zh")
    assert zh.startswith("初步看：可能符合救助条件")
    assert "被犯罪伤成重伤或严重残疾" in zh and "最后由检察院的工作人员决定" in zh


def test_the_dog_bite_of_a_woman_in_hardship_is_unlikely_and_says_why_not_may_qualify() -> None:
    screening = screened(DOG_BITE)
    assert screening.eligibility == ()
    assert screening.exclusions == ("no_case",)
    assert screening.verdict == UNLIKELY
    assert screening.priority_reasons == ("woman_in_hardship",) and screening.priority == 3
    text = caseworker_reads(screening)
    assert "may qualify" not in text
    assert text.startswith("Pre-screen: unlikely to qualify\nWhat speaks against it:\n")
    assert "It was not reported to the police and no one went to court" in text
    assert "+3  Involves a woman in hardship" in text


def test_the_dog_bite_unsure_how_serious_or_where_the_case_is_needs_a_look() -> None:
    screening = screened(
        DOG_BITE,
        injury=pick("injury", "unsure"),
        authority=pick("authority", "unknown"),
        case_stage=pick("case_stage", "unknown"),
    )
    assert screening.verdict == LOOK
    assert screening.to_check == ("injury_unclear", "where_unknown")
    text = caseworker_reads(screening)
    assert text.startswith("Pre-screen: needs a caseworker's look\nStill open, to look at:\n")
    assert "may qualify" not in text


@pytest.mark.parametrize(
    "override",
    [
        # called a crime: a light injury is not what the rules help with
        {"what_happened": pick("what_happened", "crime_injury")},
        # reported, settled without a court: the court route was never tried
        {"authority": pick("authority", "police"), "case_stage": pick("case_stage", "closed")},
    ],
)
def test_a_special_group_never_makes_a_dog_bite_may_qualify(
    override: dict[str, list[Input]],
) -> None:
    for group in ("woman", "veteran", "disabled", "monitored", "minor"):
        screening = screened(DOG_BITE, groups=several("groups", group), **override)
        assert screening.verdict == UNLIKELY, (group, screening)
        assert screening.eligibility == ()
        assert screening.priority >= 3


def test_hardship_already_solved_by_social_assistance_is_unlikely_with_that_reason() -> None:
    screening = screened(
        SERIOUS_INJURY,
        social_assistance=several("social_assistance", "subsistence", "medical"),
        hardship_resolved=pick("hardship_resolved", "yes"),
    )
    assert screening.eligibility == ("serious_injury",)  # the kind of case still fits...
    assert screening.exclusions == ("solved_by_social_assistance",)
    assert screening.verdict == UNLIKELY  # ...but what the rules usually exclude outweighs it
    text = caseworker_reads(screening)
    assert text.startswith("Pre-screen: unlikely to qualify\n")
    assert "The hardship is already solved by social assistance" in text
    zh = caseworker_reads(screening, "zh")
    assert "家里的困难已经靠低保等社会救助解决了" in zh


def test_social_assistance_that_does_not_solve_the_hardship_leaves_it_may_qualify() -> None:
    screening = screened(
        SERIOUS_INJURY,
        social_assistance=several("social_assistance", "subsistence"),
        hardship_resolved=pick("hardship_resolved", "no"),
    )
    assert screening.verdict == LIKELY and screening.exclusions == ()


def test_the_resolved_question_is_asked_only_when_some_assistance_is_received() -> None:
    # SERIOUS_INJURY has no answer for hardship_resolved: walking it proves it was not asked.
    assert screened(SERIOUS_INJURY).verdict == LIKELY


def test_a_light_injury_by_a_crime_is_unlikely() -> None:
    screening = screened(SERIOUS_INJURY, injury=pick("injury", "minor"))
    assert screening.verdict == UNLIKELY and screening.exclusions == ("light_injury",)


def test_a_case_still_in_court_needs_a_look_even_when_the_injury_is_serious() -> None:
    screening = screened(
        SERIOUS_INJURY,
        case_stage=pick("case_stage", "ongoing"),
        no_compensation_reason=pick("no_compensation_reason", "ongoing"),
    )
    assert screening.verdict == LOOK and screening.to_check == ("case_still_open",)


def test_a_ruling_ending_enforcement_counts_as_the_courts_having_failed() -> None:
    screening = screened(
        SERIOUS_INJURY,
        what_happened=pick("what_happened", "tort_injury"),
        case_stage=pick("case_stage", "enforcement_ended"),
        no_compensation_reason=pick("no_compensation_reason", "other"),
    )
    assert screening.eligibility == ("court_could_not_collect",)
    assert screening.verdict == LIKELY


def test_a_killing_helps_the_family_that_lived_on_the_victims_income() -> None:
    killed = {
        **SERIOUS_INJURY,
        "what_happened": pick("what_happened", "crime_death"),
        "dependants": pick("dependants", "yes"),
    }
    screening = screened(killed)
    assert screening.eligibility == ("death_dependants",) and screening.verdict == LIKELY
    partly = screened(killed, dependants=pick("dependants", "partly"))
    assert partly.verdict == LOOK and partly.to_check == ("partly_dependent",)
    not_at_all = screened(killed, dependants=pick("dependants", "no"))
    assert not_at_all.verdict == UNLIKELY and not_at_all.eligibility == ()


# --- special groups raise priority, never eligibility ----------------------------------


def test_a_retired_soldier_and_a_woman_in_hardship_raise_priority_only() -> None:
    plain = screened(SERIOUS_INJURY)
    both = screened(SERIOUS_INJURY, groups=several("groups", "veteran", "woman"))
    assert plain.priority == 0
    assert both.priority == 6
    assert both.priority_reasons == ("veteran", "woman_in_hardship")
    assert (both.eligibility, both.exclusions, both.to_check) == (
        plain.eligibility,
        plain.exclusions,
        plain.to_check,
    )
    assert both.verdict == plain.verdict == LIKELY
    text = caseworker_reads(both)
    assert "+3  Involves a retired soldier" in text
    assert "+3  Involves a woman in hardship" in text


def test_no_eligibility_rule_of_the_built_in_flow_names_a_group() -> None:
    for rule in (*FLOW.eligibility, *FLOW.to_check, *FLOW.exclusions):
        assert "groups" not in rule.when.names, rule.id


def test_a_group_alone_with_nothing_else_fitting_says_no_kind_of_case_fits() -> None:
    screening = screened(
        SERIOUS_INJURY,
        groups=several("groups", "veteran"),
        case_stage=pick("case_stage", "closed"),
        no_compensation_reason=pick("no_compensation_reason", "other"),
    )
    assert screening.verdict == UNLIKELY
    assert screening.eligibility == screening.exclusions == screening.to_check == ()
    assert "None of the kinds of case the rules help in fits these answers." in caseworker_reads(
        screening
    )


# --- who applies, for whom -----------------------------------------------------------


def test_a_relative_applying_is_recorded_with_the_relationship_and_their_own_name() -> None:
    plan = {
        **SERIOUS_INJURY,
        "applying_for": pick("applying_for", "relative"),
        "relationship": pick("relationship", "spouse"),
        "applicant_name": [Typed("李秀英")],
    }
    out: Outcome = start(FLOW, today=TODAY)
    asked: list[str] = []
    while isinstance(out, Ask):
        asked.append(out.step.id)
        for given in plan[out.step.id]:
            out = answer(FLOW, out.state, given, today=TODAY)
    assert isinstance(out, Review)
    assert asked[asked.index("applying_for") + 1 : asked.index("applying_for") + 3] == [
        "relationship",
        "applicant_name",
    ]
    assert out.state.answers["relationship"] == "spouse"
    assert out.state.answers["applicant_name"] == "李秀英"
    assert "helper_role" not in asked and "relationship_other" not in asked


# --- the ID number -------------------------------------------------------------------


def test_id_numbers_are_read_as_typed_and_checked_with_the_gb_11643_digit() -> None:
    assert parse_id_number("11010519491231002X") == ("11010519491231002X", None)
    assert parse_id_number(" 110105 19491231 002x ") == ("11010519491231002X", None)
    assert parse_id_number("６２０４２２１９７００５０１００３８") == (ID_NUMBER, None)
    assert parse_id_number("620422197005010037") == (None, "check")  # last digit wrong
    assert parse_id_number("620422197050010038") == (None, "check")  # two digits swapped
    assert parse_id_number("62042219700501003") == (None, "shape")  # 17 characters
    assert parse_id_number("62042219700501003Y") == (None, "shape")
    assert parse_id_number("") == (None, "shape")


def test_a_wrong_id_number_gets_a_clear_message_and_the_question_again() -> None:
    out: Outcome = start(FLOW, today=TODAY)
    while isinstance(out, Ask) and out.step.id != "id_number":
        for given in SERIOUS_INJURY[out.step.id]:
            out = answer(FLOW, out.state, given, today=TODAY)
    assert isinstance(out, Ask) and out.step.id == "id_number"
    assert out.step.sensitive
    tr = I18n.load().tr("en")
    typo = answer(FLOW, out.state, Typed("620422197005010037"), today=TODAY)
    assert isinstance(typo, Ask) and typo.step.id == "id_number"
    assert typo.refusal is not None and typo.refusal.code == "id_number_check"
    assert refusal_text(tr, FLOW, "en", typo.refusal) == (
        "That ID card number does not add up: a digit is probably wrong or two are swapped. "
        "Please compare it with the card and send it again."
    )
    short = answer(FLOW, out.state, Typed("6204221970"), today=TODAY)
    assert isinstance(short, Ask) and short.refusal is not None
    assert refusal_text(I18n.load().tr("zh"), FLOW, "zh", short.refusal) == (
        "身份证号码一共18位：前17位是数字，最后一位是数字或X。请核对后重新发送。"
    )
    good = answer(FLOW, out.state, Typed("620422 19700501 0038"), today=TODAY)
    assert isinstance(good, Ask) and good.refusal is None
    assert good.step.id == "county"
    assert good.state.answers["id_number"] == ID_NUMBER


def test_the_id_number_may_be_skipped_when_the_card_is_not_at_hand() -> None:
    assert screened(SERIOUS_INJURY, id_number=[Skip("id_number")]).verdict == LIKELY


# --- settings in the flow's texts ----------------------------------------------------


def test_the_hotlines_and_days_in_the_flow_come_from_the_settings() -> None:
    welcome, consent = FLOW.step("welcome"), FLOW.step("consent")
    assert "12309" in FLOW.pick(welcome.text, "zh") and "12348" in FLOW.pick(welcome.text, "zh")
    assert "{settings." not in FLOW.pick(welcome.text, "ug")
    assert "30天" in FLOW.pick(consent.text, "zh")
    local = FLOW.with_values(
        {
            "procuratorate_hotline": "0943-12309",
            "legal_aid_hotline": "0943-12348",
            "draft_days": "45",
        }
    )
    assert "0943-12309" in local.pick(welcome.text, "en")
    assert "0943-12348" in local.pick(welcome.text, "en")
    assert "after 45 days" in local.pick(consent.text, "en")
    assert "45天" in local.pick(consent.text, "zh")
    assert "45 كۈنگىچە" in local.pick(consent.text, "ug")
    assert FLOW.step("consent").text == local.step("consent").text  # the template is the same


def test_a_flow_naming_an_unknown_setting_is_refused_with_the_line() -> None:
    source = default_flow_source().replace(
        "{settings.procuratorate_hotline}热线", "{settings.procuratorate_hotlin}热线"
    )
    line = next(
        n for n, text in enumerate(source.splitlines(), start=1) if "procuratorate_hotlin}" in text
    )
    with pytest.raises(FlowError) as err:
        load_flow_text(source)
    [problem] = err.value.problems
    assert problem.line == line
    assert "unknown setting 'procuratorate_hotlin'" in str(problem)
    assert "{settings.procuratorate_hotline}" in str(problem)  # what may be used instead


# --- intake-bot try --answers: the acceptance ----------------------------------

# What an admin writes for `intake-bot try --answers`: step id to answer, as typed.
TRY_SERIOUS = {
    "consent": "1",
    "applying_for": "self",
    "name": "Wang Dashan",
    "birth_date": "1970-05-01",
    "id_number": ID_NUMBER,
    "sensitive_consent": "1",
    "county": "Huining",
    "township": "Hepan",
    "village": "Zhangjia",
    "rural": "yes",
    "what_happened": "crime_injury",
    "injury": "serious",
    "authority": "court",
    "authority_name": None,
    "case_stage": "judged",
    "case_number": None,
    "own_fault": "no",
    "compensation": "none",
    "no_compensation_reason": "cannot_pay",
    "hardship": ["medical", "income"],
    "hardship_caused_by_case": "yes",
    "medical_urgent": "no",
    "household_size": "4",
    "earners": "1",
    "monthly_income": "900",
    "groups": ["none"],
    "social_assistance": ["none"],
    "work_ability": "some",
    "help_wanted": ["payment"],
    "phone": "13812345678",
    "documents": None,
    "description": None,
}
TRY_DOG_BITE = {
    **TRY_SERIOUS,
    "what_happened": "tort_injury",
    "injury": "minor",
    "authority": "none",
    "compensation": "part",
    "no_compensation_reason": "other",
    "groups": ["woman"],
}


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INTAKE_DB", str(tmp_path / "intake.db"))
    for name in ("INTAKE_CONFIG", "INTAKE_PROCURATORATE_HOTLINE", "INTAKE_LEGAL_AID_HOTLINE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run_try(tmp: Path, answers: dict[str, object], *args: str) -> tuple[int, str]:
    path = tmp / "answers.yaml"
    path.write_text(yaml.safe_dump(answers, allow_unicode=True), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["try", "--answers", str(path), *args])
    return code, out.getvalue()


def test_try_answers_a_serious_injury_by_a_crime_shows_may_qualify_with_the_reason(
    settings_env: Path,
) -> None:
    code, out = run_try(settings_env, TRY_SERIOUS, "--lang", "en")
    assert code == 0, out
    view = out[out.index("What the caseworker sees:") :]
    assert "Pre-screen: may qualify" in view
    assert "Seriously injured or disabled by a crime; the offender cannot pay" in view
    assert "people at the procuratorate decide" in view
    assert not (settings_env / "intake.db").exists()  # a try stores nothing


def test_try_answers_the_dog_bite_with_a_special_group_is_not_may_qualify(
    settings_env: Path,
) -> None:
    code, out = run_try(settings_env, TRY_DOG_BITE, "--lang", "zh")
    assert code == 0, out
    view = out[out.index("检察院工作人员看到的内容：") :]
    assert "初步看：不太可能符合救助条件" in view
    assert "初步看：可能符合救助条件" not in view
    assert "没有报警，也没有打官司" in view
    assert "涉及生活困难的妇女" in view  # the group counts for priority


def test_try_shows_the_hotline_from_the_settings(
    settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the prompt the welcome comes first, with the hotline this bot is set up with."""
    monkeypatch.setenv("INTAKE_PROCURATORATE_HOTLINE", "0943-12309")
    monkeypatch.setattr("sys.stdin", io.StringIO("quit\n"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["try", "--lang", "en"])
    assert "Call the procuratorate's hotline 0943-12309." in out.getvalue()
    assert "For free legal help, call 12348." in out.getvalue()
    assert "{settings." not in out.getvalue()


def test_the_hotlines_are_settings_with_the_national_numbers_by_default(tmp_path: Path) -> None:
    toml = tmp_path / "intake-bot.toml"
    toml.write_text('legal_aid_hotline = "0943-12348"\n', encoding="utf-8")
    defaults = Settings()
    assert (defaults.procuratorate_hotline, defaults.legal_aid_hotline) == ("12309", "12348")
    settings = load_settings(
        {"INTAKE_CONFIG": str(toml), "INTAKE_PROCURATORATE_HOTLINE": " 0943-12309 "}
    )
    assert settings.procuratorate_hotline == "0943-12309"
    assert settings.legal_aid_hotline == "0943-12348"
    assert values_of(settings, 45) == {
        "procuratorate_hotline": "0943-12309",
        "legal_aid_hotline": "0943-12348",
        "draft_days": "45",
    }
