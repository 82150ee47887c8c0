"""Row errors that explain spreadsheet damage, on real workbook files read by the file
connector, mapped by a department feed and validated: an ID number typed into a number cell
(``6.20521199703114E+17`` in .xlsx/.xls, ``620521199703114000`` in a CSV export, a trailing
``.0``) and a year typed where a date belongs (``2021`` = 1905-07-13 to Excel)."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
import xlwt

from connectors.files import FileSource, FileSourceConfig
from expectations.validate import validate_frame
from huiju.departments import load_department
from huiju.mapping import map_batches
from schemas.catalog import dataset

SAMPLES = Path(__file__).resolve().parents[2] / "departments"
VALID_ID = "62010219850315108x"      # lower-case x: valid once normalised
LONG_ID = 620521199703114567         # 18 digits: more than a spreadsheet number keeps
BASE = {"处罚编号": "P0", "事项编码": "62000000012345", "案件名称": "n", "当事人": "张三",
        "当事人性质": "公民", "证件类型": "居民身份证", "证件号码": VALID_ID,
        "区划代码": "620100", "案件来源": "社会举报", "检查编号": "J", "违法事实": "f",
        "处罚依据": "b", "处罚程序": "一般程序", "是否听证": "否", "是否涉刑": "否",
        "决定文书号": "甘药监罚〔2021〕1号", "决定日期": "2021-03-26", "处罚种类": "罚款",
        "罚没金额万元": "0.2", "处罚结果": "r", "不予处罚": "否", "结案日期": "2021-04-02",
        "违法行为类型": "v", "法定代表人": ""}
COLUMNS = list(BASE)


def _rows(damaged: object) -> list[dict]:
    return [{**BASE, "处罚编号": "P1"},
            {**BASE, "处罚编号": "P2", "证件号码": damaged},
            {**BASE, "处罚编号": "P3", "决定日期": "2021"}]


def _xlsx(folder: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for row in _rows(float(LONG_ID)):   # a number cell, as typed into a General column
        sheet.append([row[c] for c in COLUMNS])
    book.save(folder / "行政处罚_2024.xlsx")


def _xls(folder: Path) -> None:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("处罚")
    for c, name in enumerate(COLUMNS):
        sheet.write(0, c, name)
    for r, row in enumerate(_rows(float(LONG_ID)), start=1):
        for c, name in enumerate(COLUMNS):
            sheet.write(r, c, row[name])
    book.save(str(folder / "行政处罚_2024.xls"))


def _csv(folder: Path, damaged: str) -> None:
    with (folder / "行政处罚_2024.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(_rows(damaged))


def _quarantine(folder: Path):
    department = load_department(SAMPLES / "gs_yjj.yaml")
    feed = next(f for _, f in department.feeds() if f.dataset == "penalty")
    source = FileSource(FileSourceConfig(directory=str(folder), patterns=["行政处罚_*"]))
    spec = dataset("penalty")
    run = map_batches(source.read(None), feed, spec, department, "2024070100001")
    return run, validate_frame(run.frame, spec, run.issues)


@pytest.mark.parametrize(("write", "shown"), [
    (_xlsx, "6.20521199703115E+17"), (_xls, "6.20521199703115E+17"),
    (lambda folder: _csv(folder, "620521199703126000"), "620521199703126000"),
    (lambda folder: _csv(folder, "62052119970311.0"), "62052119970311.0"),
], ids=["xlsx", "xls", "csv-zeros", "csv-dot-zero"])
def test_identifier_stored_as_a_number_is_explained(write, shown, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    write(folder)
    mapped, outcome = _quarantine(folder)
    assert mapped.frame["administrative_cp_code"].tolist()[:2] == [VALID_ID.upper(), shown]
    q = outcome.quarantine
    assert 0 not in set(q["row"]), q   # the valid ID with a lower-case x loads
    cp = q[(q["row"] == 1) & (q["field"] == "administrative_cp_code")]
    assert not cp.empty
    zh, en = " ".join(cp["message_zh"]), " ".join(cp["message_en"])
    assert "文本" in zh and ("丢失" in zh or "“.0”" in zh), zh
    assert "Format the column as Text" in en, en
    if "E+" in shown:
        assert "科学计数法" in zh and "scientific notation" in en
    # a message about the same field on a clean value carries no such hint
    assert not any("科学计数法" in m for m in q.loc[q["row"] != 1, "message_zh"])


def test_a_year_where_a_date_belongs_is_explained(tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    _xlsx(folder)
    _, outcome = _quarantine(folder)
    q = outcome.quarantine
    year = q[(q["row"] == 2) & (q["field"] == "punish_decision_date")]
    assert list(year["rule_id"]) == ["10-DATEYEAR-penalty.punish_decision_date"], q
    assert "只填了年份" in year["message_zh"].iloc[0]
    assert "format the column as Date or Text" in year["message_en"].iloc[0]
    # a real date in the same column is not touched
    assert not ((q["row"] == 0) & (q["field"] == "punish_decision_date")).any()


def test_a_day_number_in_a_text_cell_is_read_as_the_date_it_stands_for(tmp_path) -> None:
    # a date column formatted as text after the dates were typed keeps Excel's day numbers:
    # unambiguous, so read as the date (45383 = 2024-04-01), not rejected
    folder = tmp_path / "drop"
    folder.mkdir()
    book = openpyxl.Workbook()
    book.active.append(COLUMNS)
    row = {**BASE, "结案日期": "45383", "决定日期": "45382"}
    book.active.append([row[c] for c in COLUMNS])
    assert book.active["V2"].data_type == "s"   # really a text cell
    book.save(folder / "行政处罚_2024.xlsx")
    run, outcome = _quarantine(folder)
    assert str(run.frame["closing_date"].iloc[0].date()) == "2024-04-01"
    assert str(run.frame["punish_decision_date"].iloc[0].date()) == "2024-03-31"
    assert outcome.quarantine.empty, outcome.quarantine
