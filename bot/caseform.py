"""The printable case form: one intake as a Word document (DOCX) for the paper case file.

A procuratorate keeps a paper file for each case, and offices edit and print Word
documents. So the form is laid out as such a registration form (登记表) is: a title,
then tables of the applicant's particulars, the answers (each question in the reader's
language beside its answer), the bot's pre-screen, the attachments, the decision and the
referrals, and at the end room for the caseworker's and the approver's signatures and
dates, to be signed by hand.

Word picks a Chinese font only when a run names one for East Asian text (``w:eastAsia``):
without it, Chinese may come out in a Western font's fallback. So every run names SimSun
(宋体, the body font of official documents), the title SimHei (黑体). A Uyghur reader's
form runs right to left, in a font that Windows has for Uyghur.

The ID number is masked as on the card (showing it whole is a read of its own, audited);
``bot.casework.decisions.Decisions.printable`` checks who may have the form and audits it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT, WD_TABLE_DIRECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from bot.cards import applicant_name, priority_reasons, staff_status
from bot.casework.decisions import Card
from bot.casework.facts import facts_of
from bot.casework.replies import FILE_KINDS
from bot.casework.terms import CLUE_FIELDS, decline_text, fen_to_yuan, outcome_text, referral_status
from bot.flow.values import mask, strip_bidi
from bot.i18n import Tr
from bot.messages import PLAIN, answer_text, verdict_lines
from bot.regions import region_text

BODY_FONT = "SimSun"  # 宋体
TITLE_FONT = "SimHei"  # 黑体
LATIN_FONT = "Times New Roman"
UYGHUR_FONT = "Microsoft Uighur"  # comes with Windows
_LANG_TAGS = {"zh_Hans": "zh-CN", "ug": "ug-CN", "en": "en-US"}


def filename(card: Card) -> str:
    """The file's name: ASCII, so that every system and mail program keeps it."""
    return f"form-{card.case.ref or card.case.id}.docx"


def docx(tr: Tr, card: Card, today: dt.date | None = None) -> bytes:
    """The form of ``card`` in the reader's language, as the bytes of a DOCX file."""
    return _Form(tr, card, today or dt.date.today()).build()


class _Form:
    def __init__(self, tr: Tr, card: Card, today: dt.date) -> None:
        self.tr = tr
        self.card = card
        self.today = today
        self.lang = card.flow.language_for(tr.lang)
        self.doc = Document()
        self.rtl = tr.rtl

    # -- the document ------------------------------------------------------------------

    def build(self) -> bytes:
        _ = self.tr.gettext
        self._page()
        self._title()
        self._section(_("Applicant's particulars"), self._particulars())
        self._section(_("Answers"), self._answers())
        self._section(_("Pre-screen by the bot"), self._prescreen())
        files = self._files()
        self._section(_("Attachments"), files or [(_("(none)"), "")])
        self._section(_("Decision"), self._decision())
        if self.card.referrals:
            self._section(_("Referrals to the agriculture department"), self._referrals())
        self._signatures()
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()

    def _page(self) -> None:
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin = section.bottom_margin = Cm(2.2)
        normal = self.doc.styles["Normal"]
        normal.font.size = Pt(11)
        _fonts(normal.element.get_or_add_rPr(), BODY_FONT, self.rtl)
        # The template's defaults name theme fonts, which Word prefers to named ones: the
        # defaults name ours instead, and say that East Asian text is Chinese.
        rpr = self.doc.styles.element.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault"))
        rpr = rpr.find(qn("w:rPr")) if rpr is not None else None
        if rpr is not None:
            fonts = rpr.find(qn("w:rFonts"))
            if fonts is not None:
                for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    fonts.attrib.pop(qn(theme), None)
            _fonts(rpr, BODY_FONT, rtl=False)
            lang = rpr.find(qn("w:lang"))
            if lang is None:
                lang = OxmlElement("w:lang")
                rpr.append(lang)  # the last of these defaults
            lang.set(qn("w:val"), _LANG_TAGS.get(self.tr.lang, "zh-CN"))
            lang.set(qn("w:eastAsia"), "zh-CN")
            lang.set(qn("w:bidi"), "ug-CN")

    def _title(self) -> None:
        _ = self.tr.gettext
        title = self._para(_("Judicial assistance application record"), size=18, bold=True)
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for run in title.runs:
            _fonts(run._r.get_or_add_rPr(), TITLE_FONT, self.rtl)
        line = "    ".join(
            (
                self.tr.labelled(_("Reference"), self.tr.ltr(self.card.case.ref or "")),
                self.tr.labelled(_("Printed on"), self.tr.date(self.today)),
            )
        )
        self._para(line, size=10).alignment = WD_ALIGN_PARAGRAPH.CENTER

    def _section(self, heading: str, rows: Sequence[tuple[str, str]]) -> None:
        self._para(heading, size=13, bold=True, before=10)
        self._table(rows, (Cm(5.0), Cm(11.0)))

    # -- what goes in it -----------------------------------------------------------------

    def _particulars(self) -> list[tuple[str, str]]:
        _ = self.tr.gettext
        tr, card = self.tr, self.card
        case, flow = card.case, card.flow
        facts = facts_of(case, flow, self.lang)
        rows = [
            (_("Reference"), tr.ltr(case.ref or "")),
            (_("Name"), applicant_name(case, flow) or "—"),
        ]
        if facts.by_self is False:
            who = facts.applicant or "—"
            if facts.relation:
                who = _("{name} ({relation})").format(name=who, relation=facts.relation)
            rows.append((_("Applied by"), who))
        if facts.age is not None:
            rows.append((_("Age"), tr.count(facts.age)))
        if facts.id_number is not None:
            rows.append((_("ID number"), tr.ltr(mask(facts.id_number))))
        rows.append((_("Region"), region_text(tr, flow, case.region)))
        if case.submitted_at:
            rows.append((_("Sent on"), tr.date(case.submitted_at)))
        if facts.authority:
            rows.append((_("Handled by"), facts.authority))
        return rows

    def _answers(self) -> list[tuple[str, str]]:
        tr, card = self.tr, self.card
        flow, answers = card.flow, card.case.state.answers
        rows = []
        if card.case.is_clue:  # a partner's clue: what they wrote, no interview
            for key, label in CLUE_FIELDS:
                if card.case.clue.get(key):
                    rows.append((tr.gettext(label), strip_bidi(str(card.case.clue[key]))))
        for step in flow.steps:
            if not step.asks_input or step.type == "consent" or step.id not in answers:
                continue
            value = answers[step.id]
            if step.type == "id_number" and value:
                text = tr.ltr(mask(str(value)))
            else:
                text = answer_text(tr, flow, self.lang, step, value, masked=False)
            rows.append((strip_bidi(flow.pick(step.text, self.lang)), text))
        return rows

    def _prescreen(self) -> list[tuple[str, str]]:
        _ = self.tr.gettext
        case, flow = self.card.case, self.card.flow
        if case.screening is None:
            return [(_("Pre-screen by the bot"), _("(none)"))]
        lines = verdict_lines(self.tr, PLAIN, flow, self.lang, case.screening)
        reasons = priority_reasons(self.tr, case, flow)
        priority = self.tr.count(case.priority)
        if reasons:
            priority = self.tr.labelled(priority, self.tr.join(reasons))
        return [
            (_("Result"), "\n".join(line.strip() for line in lines)),
            (_("Priority"), priority),
        ]

    def _files(self) -> list[tuple[str, str]]:
        _ = self.tr.gettext
        rows = []
        for n, filed in enumerate(self.card.files, start=1):
            kind = str(filed.file.get("kind") or "document")
            word = _(FILE_KINDS.get(kind, FILE_KINDS["document"])[1])
            name = strip_bidi(str(filed.file.get("name") or ""))
            question = filed.question
            flow = self.card.flow
            if filed.step_id is not None and flow.has_step(filed.step_id):
                question = flow.pick(flow.step(filed.step_id).text, self.lang)
            what = f"{word} {name}".strip()
            rows.append((f"{self.tr.count(n)}. {what}", strip_bidi(question)))
        return rows

    def _decision(self) -> list[tuple[str, str]]:
        _ = self.tr.gettext
        tr, card = self.tr, self.card
        case = card.case
        rows = [(_("Status"), staff_status(tr, case.status))]
        if case.decided_at:
            rows.append((_("Decided on"), tr.date(case.decided_at)))
        if case.status == "approved" and case.amount_fen is not None:
            rows.append((_("Amount approved"), tr.money(fen_to_yuan(case.amount_fen))))
        if case.status == "declined" and case.decision_reason:
            rows.append((_("Reason"), decline_text(tr, case.decision_reason)))
        if case.assignee is not None:
            rows.append((_("Caseworker"), card.names.get(case.assignee, "—")))
        return rows

    def _referrals(self) -> list[tuple[str, str]]:
        tr, card = self.tr, self.card
        rows = []
        for ref in card.referrals:
            who = card.partners.get(ref.partner_id) or f"#{ref.partner_id}"
            lines = [referral_status(tr, ref.status), strip_bidi(ref.request)]
            if ref.outcome:
                lines.append(outcome_text(tr, ref.outcome))
            rows.append((who, "\n".join(line for line in lines if line)))
        return rows

    def _signatures(self) -> None:
        _ = self.tr.gettext
        self._para(_("Signatures"), size=13, bold=True, before=14)
        rows = [
            (_("Caseworker (signature)"), "", _("Date"), ""),
            (_("Approved by (signature)"), "", _("Date"), ""),
        ]
        table = self._table(rows, (Cm(4.2), Cm(5.3), Cm(2.0), Cm(4.5)))
        for row in table.rows:
            row.height = Cm(1.6)

    # -- layout --------------------------------------------------------------------------

    def _para(
        self, text: str, *, size: float = 11, bold: bool = False, before: float = 0
    ) -> Paragraph:
        para = self.doc.add_paragraph()
        para.paragraph_format.space_before = Pt(before)
        run = para.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold
        _fonts(run._r.get_or_add_rPr(), BODY_FONT, self.rtl)
        if self.rtl:
            _right_to_left(para)
        return para

    def _table(self, rows: Sequence[Sequence[str]], widths: Sequence[Cm]) -> Table:
        table = self.doc.add_table(rows=0, cols=len(widths))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        if self.rtl:
            table.table_direction = WD_TABLE_DIRECTION.RTL
        for cells in rows:
            row = table.add_row()
            for i, (cell, text) in enumerate(zip(row.cells, cells, strict=True)):
                cell.width = widths[i]
                para = cell.paragraphs[0]
                run = para.add_run(text)
                run.bold = i % 2 == 0 and len(widths) == 2  # the label column
                _fonts(run._r.get_or_add_rPr(), BODY_FONT, self.rtl)
                if self.rtl:
                    _right_to_left(para)
        return table


def _fonts(rpr: object, east_asian: str, rtl: bool) -> None:
    """Name the fonts of a run (or a style): Western text, East Asian text (w:eastAsia,
    which Word needs to draw Chinese in a Chinese font), and complex script (Uyghur)."""
    from docx.oxml.text.font import CT_RPr

    assert isinstance(rpr, CT_RPr)
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:cs"), UYGHUR_FONT)
    if rtl:
        rpr.get_or_add_rtl()


# What follows w:bidi in a paragraph's properties (ECMA-376 CT_PPrBase), for its place.
_AFTER_BIDI = (
    "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
    "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
    "w:pPrChange",
)  # fmt: skip


def _right_to_left(para: Paragraph) -> None:
    """A paragraph of a right-to-left language: it starts on the right."""
    ppr = para._p.get_or_add_pPr()
    if ppr.find(qn("w:bidi")) is None:
        ppr.insert_element_before(OxmlElement("w:bidi"), *_AFTER_BIDI)
