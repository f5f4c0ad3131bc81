"""The printable case form: a Word file that opens, holds what the paper file needs (the
reference, the name, the answers, the decision, room for signatures) with Chinese fonts
named for Word, is made only for someone who may open the intake, and is audited."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from bot import caseform
from bot.casework import Conflict, Denied
from bot.i18n import I18n
from command_line.cli import main as cli_main
from tests.backends import deployment
from tests.test_stats import CW, MON, World, approve, sent, w  # noqa: F401

OTHER_COUNTY, PARTNER = 3, 8


def text_of(data: bytes) -> str:
    """Every paragraph and table cell of the document, one per line."""
    doc = Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines += [cell.text for cell in row.cells]
    return "\n".join(lines)


async def approved_intake(w: World) -> tuple[int, str]:  # noqa: F811
    intake_id = await sent(w, MON, groups=["disabled"], help_wanted=["payment"])
    await approve(w, intake_id, "3000", MON + dt.timedelta(days=2))
    intake = await w.store.intakes.get(intake_id)
    assert intake is not None and intake.ref
    return intake_id, intake.ref


async def test_the_form_holds_the_reference_name_answers_and_decision(w: World) -> None:  # noqa: F811
    intake_id, ref = await approved_intake(w)
    card = await w.work.decisions.printable(CW, intake_id)
    data = caseform.docx(I18n.load().tr("en"), card, dt.date(2025, 3, 20))
    assert data[:2] == b"PK"  # a DOCX is a zip
    text = text_of(data)
    for shown in (
        "Judicial assistance application record",
        ref,
        "Zhang San",
        "Is the household registered as rural",  # a question, beside its answer
        "A person with a disability",
        "approved",
        "CN¥3,000.00",
        "Caseworker (signature)",
        "Approved by (signature)",
    ):
        assert shown in text, (shown, text)
    assert caseform.filename(card) == f"form-{ref}.docx"


async def test_chinese_runs_name_an_east_asian_font(w: World) -> None:  # noqa: F811
    intake_id, _ref = await approved_intake(w)
    card = await w.work.decisions.printable(CW, intake_id)
    doc = Document(io.BytesIO(caseform.docx(I18n.load().tr("zh_Hans"), card)))
    assert doc.paragraphs[0].text == "司法救助申请登记表"
    runs = [r for p in doc.paragraphs for r in p.runs] + [
        r
        for t in doc.tables
        for row in t.rows
        for c in row.cells
        for p in c.paragraphs
        for r in p.runs
    ]
    assert runs
    for run in runs:
        fonts = run._r.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) in (caseform.BODY_FONT, caseform.TITLE_FONT)
    assert "已批准" in text_of(caseform.docx(I18n.load().tr("zh_Hans"), card))
    # The defaults name no theme font (Word would prefer it to ours) and say Chinese.
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    fonts = defaults.find(qn("w:rPr")).find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == caseform.BODY_FONT
    assert fonts.get(qn("w:eastAsiaTheme")) is None
    assert defaults.find(qn("w:rPr")).find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"


async def test_a_uyghur_form_runs_right_to_left(w: World) -> None:  # noqa: F811
    intake_id, _ref = await approved_intake(w)
    card = await w.work.decisions.printable(CW, intake_id)
    doc = Document(io.BytesIO(caseform.docx(I18n.load().tr("ug"), card)))
    assert all(p._p.pPr.find(qn("w:bidi")) is not None for p in doc.paragraphs if p.text)
    assert any("\u0600" <= ch <= "\u06ff" for ch in doc.paragraphs[0].text)


async def test_making_the_form_is_audited_without_personal_data(w: World) -> None:  # noqa: F811
    intake_id, _ref = await approved_intake(w)
    await w.work.decisions.printable(CW, intake_id)
    [entry] = await w.store.audit.recent(5, action="intake.form_made")
    assert entry.actor == CW and entry.intake_id == intake_id
    assert entry.detail == {}
    # Kept in the audit trail, not in the card's history of what was done.
    card = await w.work.card(CW, intake_id)
    assert not any(text == "intake.form_made" for _at, _who, _kind, text in card.history)


async def test_only_someone_who_may_open_the_intake_gets_its_form(w: World) -> None:  # noqa: F811
    intake_id, _ref = await approved_intake(w)
    await w.store.roles.grant(OTHER_COUNTY, "caseworker", regions=["653226"])
    with pytest.raises(Conflict):  # another county's: as if it did not exist
        await w.work.decisions.printable(OTHER_COUNTY, intake_id)
    with pytest.raises(Denied):  # an applicant, or anyone without a staff role
        await w.work.decisions.printable(4242, intake_id)
    assert await w.store.audit.recent(5, action="intake.form_made") == []


async def test_the_command_line_writes_the_form(
    w: World,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _intake_id, ref = await approved_intake(w)
    # The command line on the test's database (a file, or PostgreSQL with its key and files).
    monkeypatch.setenv("INTAKE_DB", w.store.db.path)
    for name, value in deployment(w.store.db.path, tmp_path).items():
        monkeypatch.setenv("INTAKE_" + name.upper(), value)
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "form.docx"
    code = await asyncio.to_thread(
        cli_main, ["form", ref.lower().replace("-", ""), "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    assert ref in text_of(out.read_bytes()) and "司法救助申请登记表" in text_of(out.read_bytes())
    [entry] = await w.store.audit.recent(5, action="intake.form_made")
    assert entry.actor is None  # the command line's
    code = await asyncio.to_thread(
        cli_main, ["form", "ZZZ-ZZZ", "--out", str(tmp_path / "none.docx")]
    )
    assert code == 1 and "no application has the reference" in capsys.readouterr().err
    assert not (tmp_path / "none.docx").exists()


async def test_a_partners_clue_has_its_words_on_the_form(w: World) -> None:  # noqa: F811
    await w.store.roles.grant(PARTNER, "partner", label="Hotan County Bureau")
    ref = await w.work.send_clue(PARTNER, {"who": "Li Si", "where": "Red Star", "what": "hurt"})
    clue = await w.store.intakes.by_ref(ref)
    assert clue is not None
    card = await w.work.decisions.printable(CW, clue.id)
    text = text_of(caseform.docx(I18n.load().tr("en"), card))
    for shown in (ref, "Li Si", "Red Star", "hurt", "What happened"):
        assert shown in text, (shown, text)
