"""The workbook writer (bot/xlsx.py), read back with openpyxl as Excel would read it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

from bot.xlsx import Workbook, column_letters, sheet_name


def test_column_letters() -> None:
    assert [column_letters(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


def test_cells_come_back_as_written(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    book = Workbook(out, ["申请", "a/b[c]:d*e?f" + "x" * 40])
    sheet = book.sheet(["编号", "金额", "说明"], [10, 12, 30])
    sheet.row(["ABC-DEF", 3000, "张三 <& 李四>"])
    sheet.row(["GHJ-KMN", None, "bell\x07 and _x0041_ kept", None])
    sheet.row([None, 1.5, " spaces kept "])
    sheet.row(["=1+1", -2, "long" * 10000])
    second = book.sheet(["x"])
    for i in range(1000):
        second.row([i, str(i)])
    book.close()
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "申请"
    assert len(wb.sheetnames[1]) == 31 and not set("[]:*?/\\") & set(wb.sheetnames[1])
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    assert rows[0] == ["编号", "金额", "说明"]
    assert rows[1] == ["ABC-DEF", 3000, "张三 <& 李四>"]
    # A control character XML cannot hold is written as Excel writes it (_x0007_, which
    # Excel shows as the character), and text that looks like such an escape has its
    # underscore escaped (Excel shows _x0041_); openpyxl shows what is stored.
    assert rows[2][:3] == ["GHJ-KMN", None, "bell_x0007_ and _x005F_x0041_ kept"]
    assert rows[3] == [None, 1.5, " spaces kept "]
    assert rows[4][0] == "=1+1" and rows[4][1] == -2  # text, never a formula
    assert len(rows[4][2]) == 32767
    assert wb.worksheets[0]["A1"].font.b  # the header row is bold
    assert wb.worksheets[0].freeze_panes == "B2"
    assert wb.worksheets[1].max_row == 1001
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None


def test_sheets_never_begun_are_still_there(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    book = Workbook(out, ["one", "two", "three"])
    book.sheet(["a"]).row(["b"])
    book.close()
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["one", "two", "three"]
    assert sheet_name("") == "Sheet"
