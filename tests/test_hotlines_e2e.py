"""Nobody is turned away without a next door, and the numbers on it are the settings' own.

A declined applicant reads how to ask the procuratorate to look at the decision again (its
hotline, 12309, or in person at the service hall), next to free legal aid (12348) and the
village committee; someone who does not agree to this chat keeping their answers reads that
they can apply in person or by phone all the same. A county that uses its own lines sets
``INTAKE_LEGAL_AID_HOTLINE`` and ``INTAKE_PROCURATORATE_HOTLINE`` once, and every one of these
texts, and ``/help``, shows them: the catalogs hold a placeholder, never a number.

The bot, the flow and the caseworker are those of tests/test_casework_e2e.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.config import ConfigError, load_settings
from bot.i18n import LANGUAGES
from command_line.cli import main as cli_main
from tests.conftest import Running, make_settings
from tests.fakebot import FakeTelegram, FakeUser
from tests.helpers import wait_until, with_text
from tests.test_casework_e2e import (
    ANSWERS,
    CLAIM,
    COMPENSATED,
    CW,
    DECLINE,
    FLOW,
    YES_DECLINE,
    arrives,
    cw_of,
    said,
    say,
    submit,
    tap,
)

ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def running(tg: FakeTelegram, db: Path, **settings: object) -> AsyncIterator[Running]:
    """The casework test bot with a caseworker (Wang), on ``settings``."""
    r = Running(tg, make_settings(tg, db, **settings))
    await r.start()
    try:
        await r.store.flows.publish(FLOW)
        await r.store.roles.grant(CW, "caseworker")
        await r.services.casework.seen(CW, "en", "Wang")  # type: ignore[union-attr]
        yield r
    finally:
        await r.stop()


async def declined(tg: FakeTelegram, ap: FakeUser, lang: str, needle: str = "12348") -> str:
    """``ap`` applies in ``lang``; Wang declines (compensation received); the text of the
    notice, known by its reference and ``needle``."""
    cw = cw_of(tg)
    ref = await submit(ap, lang=lang)
    card = said(await say(cw, f"/open {ref}", until=ANSWERS), ANSWERS)
    await tap(cw, CLAIM, card, until="Claimed by you")
    menu = said(await tap(cw, DECLINE, until="declined?"), "declined?")
    await tap(cw, COMPENSATED, menu, until=f"Decline <b>{ref}</b>?")
    await tap(cw, YES_DECLINE, until=f"<b>{ref}</b> is declined.")
    return (await arrives(ap, ref, needle)).text or ""


async def consent_declined(ap: FakeUser, no: str) -> str:
    """``ap`` starts and taps ``no`` on the consent question; what the bot says then."""
    await ap.send("/start")
    await ap.tap(no)
    await wait_until(lambda: with_text(ap, "/start"), what="the answer to not agreeing")
    return with_text(ap, "/start")[-1].text or ""


async def test_a_declined_applicant_reads_how_to_ask_for_a_review_and_where_else_to_turn(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with running(tg, tmp_path / "intake.db"):
        zhang = tg.user(4, language_code="zh", first_name="张")
        told = await declined(tg, zhang, "zh")
        # One word for the decision, the one on the caseworker's button.
        assert "不予救助" in told and "没有批准" not in told
        # Whom to ask to look again, and how: the procuratorate's line or in person.
        assert (
            "如果觉得这个决定不对，可以请检察院重新审查（申请复查）：拨打12309，"
            "或者到作出决定的检察院的检察服务大厅，当面说明您对决定有异议。"
        ) in told
        # Beside it, as before: free legal aid and help with living costs.
        assert "免费法律援助，请拨打12348。" in told and "村委会" in told

        ma = tg.user(6, language_code="en", first_name="Ma")
        told = await declined(tg, ma, "en")
        assert "ask the procuratorate to look at it again (a review): call 12309" in told
        assert "go in person to the service hall of the procuratorate that decided" in told
        assert "free legal aid, call 12348" in told and "village committee" in told


async def test_not_agreeing_leaves_applying_in_person_or_by_phone_open(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    async with running(tg, tmp_path / "intake.db"):
        li = tg.user(7, language_code="zh", first_name="李")
        said_zh = await consent_declined(li, "我不同意")
        assert said_zh == (
            "您没有同意，所以什么都没有保存。\n\n"
            "不用这个聊天也可以申请：到县检察院的检察服务大厅当面申请，或者拨打12309电话申请。\n\n"
            "如果改主意了，请发送 /start。"
        )
        ma = tg.user(8, language_code="en", first_name="Ma")
        said_en = await consent_declined(ma, "I do not agree")
        assert "in person at the service hall of your county procuratorate" in said_en
        assert "by phone on 12309" in said_en


async def test_the_numbers_people_read_are_the_ones_the_settings_give(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    """INTAKE_LEGAL_AID_HOTLINE and INTAKE_PROCURATORATE_HOTLINE change every text that
    names them: /help, declining consent, and a decline."""
    env = {
        "INTAKE_LEGAL_AID_HOTLINE": "09032012348",
        "INTAKE_PROCURATORATE_HOTLINE": "09035512309",
    }
    from_env = load_settings(env)
    local = {
        "legal_aid_hotline": from_env.legal_aid_hotline,
        "procuratorate_hotline": from_env.procuratorate_hotline,
    }
    async with running(tg, tmp_path / "intake.db", **local):
        ma = tg.user(8, language_code="en", first_name="Ma")
        help_text = (await ma.ask("/help"))[-1].text or ""
        assert "Free legal advice: call 09032012348." in help_text
        assert "call 09035512309" in help_text
        assert "12348" not in help_text.replace("09032012348", "")

        li = tg.user(7, language_code="zh", first_name="李")
        assert "拨打09035512309电话申请" in await consent_declined(li, "我不同意")

        zhang = tg.user(4, language_code="zh", first_name="张")
        told = await declined(tg, zhang, "zh", needle="09035512309")
        assert "拨打09035512309" in told and "请拨打09032012348" in told
        assert "拨打12309" not in told and "拨打12348" not in told


def test_a_hotline_that_cannot_be_dialled_stops_the_bot_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    defaults = load_settings({})
    assert (defaults.legal_aid_hotline, defaults.procuratorate_hotline) == ("12348", "12309")
    assert load_settings({"INTAKE_LEGAL_AID_HOTLINE": " 96178 "}).legal_aid_hotline == "96178"
    # A county's own line, with its area code, as it is written on the wall of the hall.
    local = load_settings({"INTAKE_PROCURATORATE_HOTLINE": "0943-1234567"})
    assert local.procuratorate_hotline == "0943-1234567"
    for name in ("INTAKE_LEGAL_AID_HOTLINE", "INTAKE_PROCURATORATE_HOTLINE"):
        for bad in ("12", "0991-2309", "12 348", "1234567890123456", "call 12309", "１２３０９"):
            with pytest.raises(ConfigError, match=f"{name} must be a phone number: 3 to 15"):
                load_settings({name: bad})
    # As the operator meets it: one line, before anything is opened.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.setenv("INTAKE_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("INTAKE_DB", str(tmp_path / "intake.db"))
    monkeypatch.setenv("INTAKE_PROCURATORATE_HOTLINE", "12309-1")
    assert cli_main(["run"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "intake-bot: INTAKE_PROCURATORATE_HOTLINE must be a phone number: 3 to 15 digits"
        " (for example 12348), or an area code, a dash and the local number (for example"
        " 0943-1234567), not '12309-1'"
    ]
    assert not (tmp_path / "intake.db").exists()


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_no_catalog_writes_a_hotline_into_its_texts(lang: str) -> None:
    """A number written into a text would drift from the settings: texts name a placeholder."""
    path = ROOT / "locales" / LANGUAGES[lang][0] / "LC_MESSAGES" / "messages.po"
    catalog = read_po(BytesIO(path.read_bytes()), locale=LANGUAGES[lang][0])
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in (*ids, *strings):
            assert "12348" not in text and "12309" not in text, (lang, text)
