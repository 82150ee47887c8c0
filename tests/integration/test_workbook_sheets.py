"""Workbooks with one sheet per period (上半年/下半年): ``sheets`` as a pattern or a list, the
rows of every matched sheet in the same batches, each reference naming its sheet — on real
.xlsx (openpyxl) and .xls (xlwt) files."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import xlwt
from pydantic import ValidationError

from connectors.base import ConnectorError
from connectors.files import FileSource, FileSourceConfig

HEADER = ["处罚编号", "当事人名称", "罚款金额"]
PERIODS = {
    "上半年": [["CF-2024-001", "兰州甲公司", 1000], ["CF-2024-002", "兰州乙公司", 2000]],
    "下半年": [["CF-2024-101", "天水丙公司", 3000], ["CF-2024-102", "天水丁公司", 4000],
            ["CF-2024-103", "天水戊公司", 5000]],
}
NOTES = [["填报说明"], ["本表按半年分页"]]


def _xlsx(folder: Path, name: str = "处罚_2024.xlsx") -> Path:
    book = openpyxl.Workbook()
    book.active.title = "上半年"
    book.create_sheet("下半年")
    book.create_sheet("说明")
    for title, rows in PERIODS.items():
        sheet = book[title]
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
    for row in NOTES:
        book["说明"].append(row)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    book.save(path)
    return path


def _xls(folder: Path, name: str = "处罚_2024.xls") -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    for title in ("说明", *PERIODS):
        sheet = book.add_sheet(title)
        rows = NOTES if title == "说明" else [HEADER, *PERIODS[title]]
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    book.save(str(path))
    return path


def _read(folder: Path, **config: object) -> list:
    return list(FileSource(FileSourceConfig(directory=str(folder), **config)).read(None))


def _rows(batches) -> list[tuple[str, str]]:
    return [(ref, row["处罚编号"]) for b in batches
            for ref, row in zip(b.refs, b.table.to_pylist(), strict=True)]


@pytest.mark.parametrize("make", [_xlsx, _xls], ids=["xlsx", "xls"])
def test_sheets_by_pattern_one_batch_with_the_sheet_in_each_reference(make, tmp_path) -> None:
    path = make(tmp_path / "drop")
    batches = _read(tmp_path / "drop", sheets="*半年")
    assert len(batches) == 1   # both periods in one batch
    rows = _rows(batches)
    assert [code for _, code in rows] == ["CF-2024-001", "CF-2024-002", "CF-2024-101",
                                          "CF-2024-102", "CF-2024-103"]
    assert rows[0][0] == f"{path.name}:sheet 上半年 row 2"
    assert rows[2][0] == f"{path.name}:sheet 下半年 row 2"
    assert batches[0].table.column_names == HEADER
    assert batches[0].table.column("罚款金额").to_pylist()[-1] == "5000"


@pytest.mark.parametrize("make", [_xlsx, _xls], ids=["xlsx", "xls"])
def test_sheets_as_a_list_and_the_default_first_sheet(make, tmp_path) -> None:
    make(tmp_path / "drop")
    listed = _rows(_read(tmp_path / "drop", sheets=["下半年", "上半年"]))
    assert len(listed) == 5 and "sheet 上半年" in listed[0][0]   # workbook order
    by_index = _rows(_read(tmp_path / "drop", sheets=["上半年", 1 if make is _xlsx else 2]))
    assert {ref.split(":sheet ")[1].split()[0] for ref, _ in by_index} == {"上半年", "下半年"}
    first = _read(tmp_path / "drop")
    if make is _xlsx:   # the first sheet is 上半年
        assert [code for _, code in _rows(first)] == ["CF-2024-001", "CF-2024-002"]
    else:               # the first sheet is 说明: its first line is the header, one row
        assert first[0].table.column_names == ["填报说明"]


def test_batches_span_sheets_and_resume_inside_the_second(tmp_path) -> None:
    _xlsx(tmp_path / "drop")
    batches = _read(tmp_path / "drop", sheets="*半年", batch_size=2)
    assert [len(b.refs) for b in batches] == [2, 2, 1]
    assert "上半年" in batches[0].refs[0] and "下半年" in batches[1].refs[0]
    source = FileSource(FileSourceConfig(directory=str(tmp_path / "drop"), sheets="*半年",
                                         batch_size=2))
    reader = source.read(None)
    next(reader)
    cursor = next(reader).cursor
    rest = list(FileSource(FileSourceConfig(directory=str(tmp_path / "drop"), sheets="*半年",
                                            batch_size=2)).read(cursor))
    assert [code for _, code in _rows(rest)] == ["CF-2024-103"]


def test_sheets_with_different_columns_share_one_table(tmp_path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "上半年"
    book.active.append(["处罚编号", "当事人名称"])
    book.active.append(["A1", "甲"])
    second = book.create_sheet("下半年")
    second.append(["处罚编号", "备注"])
    second.append(["B1", "补录"])
    (tmp_path / "drop").mkdir()
    book.save(tmp_path / "drop" / "x.xlsx")
    table = _read(tmp_path / "drop", sheets="*")[0].table
    assert table.column_names == ["处罚编号", "当事人名称", "备注"]
    assert table.to_pylist() == [{"处罚编号": "A1", "当事人名称": "甲", "备注": None},
                                 {"处罚编号": "B1", "当事人名称": None, "备注": "补录"}]


def test_no_matching_sheet_names_the_workbook_and_its_sheets(tmp_path) -> None:
    _xlsx(tmp_path / "drop")
    with pytest.raises(ConnectorError, match=r"处罚_2024\.xlsx.*'\*季度'.*上半年, 下半年, 说明"):
        _read(tmp_path / "drop", sheets="*季度")
    with pytest.raises(ConnectorError, match="no sheet number 7"):
        _read(tmp_path / "drop", sheets=[7])
    with pytest.raises(ValidationError, match="sheet or sheets"):
        FileSourceConfig(directory=".", sheet="上半年", sheets="*")
