"""A streaming writer of Excel workbooks (Office Open XML, .xlsx) for exports.

Why not XlsxWriter, the usual choice: measured with bench/export.py, its per-cell path (a
call, a check and a regex or two for every cell) made an export of 100,000 applications
take 32 s of CPU, over the 30 s the export must finish in on one core; writing each row as
one string costs a fraction of that. The subset written here is small and fixed: inline
strings and numbers, a bold header row, column widths and a frozen first row and column;
no shared strings, formulas or dates. Rows go straight into the deflated member of the zip
file, so memory does not grow with the number of rows. Tests read every file back with
openpyxl.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import quoteattr

MAX_SHEET_NAME = 31
MAX_CELL_CHARS = 32767
_FLUSH_ROWS = 256

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"

# Characters XML 1.0 cannot carry (Excel writes them as _xHHHH_), the markup characters, and
# text that looks like such an escape already (its underscore is escaped, as Excel does).
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"(_x[0-9A-Fa-f]{4}_)")
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _text(value: str) -> str:
    if len(value) > MAX_CELL_CHARS:
        value = value[:MAX_CELL_CHARS]
    if not _SPECIAL.search(value):
        return value
    value = _ESCAPE_LIKE.sub(r"_x005F\1", value)
    value = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_name(name: str) -> str:
    """A name Excel accepts for a sheet: at most 31 characters, none of []:*?/\\."""
    return _BAD_NAME.sub(" ", name).strip()[:MAX_SHEET_NAME] or "Sheet"


class Sheet:
    """One worksheet being written: rows in order, each a sequence of cells (str, int,
    float, or None for an empty cell)."""

    def __init__(self, out: IO[bytes], headers: Sequence[str], widths: Sequence[int]) -> None:
        self._out = out
        self._buf: list[str] = []
        self._refs: list[str] = []
        self._n = 1
        cols = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(widths)
        )
        out.write(
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
                '<sheetViews><sheetView workbookViewId="0">'
                '<pane xSplit="1" ySplit="1" topLeftCell="B2" activePane="bottomRight"'
                ' state="frozen"/><selection pane="bottomRight"/></sheetView></sheetViews>'
                '<sheetFormatPr defaultRowHeight="15"/>'
                + (f"<cols>{cols}</cols>" if cols else "")
                + "<sheetData>"
            ).encode()
        )
        self._row(list(headers), ' s="1"')

    def _letters(self, n: int) -> list[str]:
        while len(self._refs) < n:
            self._refs.append(column_letters(len(self._refs)))
        return self._refs

    def row(self, cells: Sequence[Any]) -> None:
        self._row(cells, "")

    def _row(self, cells: Sequence[Any], style: str) -> None:
        n = str(self._n)
        letters = self._letters(len(cells))
        parts = [f'<row r="{n}">']
        for col, value in enumerate(cells):
            if value is None or value == "":
                continue
            ref = letters[col] + n
            if isinstance(value, str):
                parts.append(
                    f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">'
                    f"{_text(value)}</t></is></c>"
                )
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>')
            else:
                parts.append(f'<c r="{ref}"{style}><v>{value!r}</v></c>')
        parts.append("</row>")
        self._buf.append("".join(parts))
        self._n += 1
        if len(self._buf) >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            self._out.write("".join(self._buf).encode())
            self._buf.clear()

    def close(self) -> None:
        self.flush()
        self._out.write(b"</sheetData></worksheet>")
        self._out.close()


class Workbook:
    """A workbook of the sheets named up front, written one after the other."""

    def __init__(self, path: Path, names: Sequence[str]) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=3)
        self._names = [sheet_name(n) for n in names]
        self._next = 0
        self._open: Sheet | None = None
        self._package()

    def _put(self, member: str, xml: str) -> None:
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        self._zip.writestr(member, head + xml)

    def _package(self) -> None:
        sheets = range(1, len(self._names) + 1)
        self._put(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels"'
            ' ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml"'
                f' ContentType="{_CT}.worksheet+xml"/>'
                for i in sheets
            )
            + f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            "</Types>",
        )
        self._put(
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1"'
            f' Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        self._put(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
            "<sheets>"
            + "".join(
                f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
                for i, name in zip(sheets, self._names, strict=True)
            )
            + "</sheets></workbook>",
        )
        self._put(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_PKG}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{_REL}/worksheet"'
                f' Target="worksheets/sheet{i}.xml"/>'
                for i in sheets
            )
            + f'<Relationship Id="rId{len(self._names) + 1}" Type="{_REL}/styles"'
            ' Target="styles.xml"/></Relationships>',
        )
        self._put(
            "xl/styles.xml",
            f'<styleSheet xmlns="{_MAIN}">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
            "</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>",
        )

    def sheet(self, headers: Sequence[str], widths: Sequence[int] = ()) -> Sheet:
        """The next sheet of those named, its header row written; the one before is done."""
        if self._open is not None:
            self._open.close()
        self._next += 1
        if self._next > len(self._names):
            raise ValueError("more sheets than were named")
        member = self._zip.open(f"xl/worksheets/sheet{self._next}.xml", "w", force_zip64=True)
        self._open = Sheet(member, headers, widths)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None
        while self._next < len(self._names):  # a sheet never begun is still a valid one
            self.sheet(())
            assert self._open is not None
            self._open.close()
            self._open = None
        self._zip.close()
