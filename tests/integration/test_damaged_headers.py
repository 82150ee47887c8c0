"""A file whose header lacks a column the mapping reads (renamed, misspelt, the header row cut
off) is rejected on its own, naming the file and the missing columns, never its contents; the
good files beside it load into a PostgreSQL warehouse and the accounting holds. A SQL source
lacking a mapped column still fails its feed (issue 11, item 1)."""

from __future__ import annotations

import json

import openpyxl
import pytest
import sqlalchemy as sa
from capture_support import DEPARTMENT, current_rows, drop_folder, query, run, workspace

from connectors.files import FileSource, FileSourceConfig
from huiju import pipeline
from huiju.cli import main
from huiju.mapping import MappingError
from warehouse.engine import create_warehouse_engine
from warehouse.verify import verify

HEADER = "编号,名称,法人\n"
DAMAGED = {
    # a department renamed a column in one export
    "02_改名.csv": "编号,名称,法定代表人\nX1,秘密甲公司,秘密张\nX2,秘密乙公司,秘密李\n",
    # the header row was cut off: the first record reads as the header
    "03_无表头.csv": "X3,秘密丙公司,秘密王\nX4,秘密丁公司,秘密赵\n",
    # a misspelt header in a JSON export
    "05_拼错.json": json.dumps([{"编号": "X5", "名祢": "秘密戊公司", "法人": "秘密孙"}],
                               ensure_ascii=False),
    # only a header, and a damaged one
    "06_表头坏.csv": "编,名称,法人\n",
}
MISSING = {"02_改名.csv": "法人", "03_无表头.csv": "编号, 名称, 法人", "05_拼错.json": "名称",
           "06_表头坏.csv": "编号"}


@pytest.mark.postgres
def test_a_file_lacking_a_mapped_column_is_rejected_alone(monkeypatch, tmp_path, pg_url,
                                                          capsys):
    url = workspace(monkeypatch, tmp_path, "sqlite://", warehouse_url=pg_url)
    drop = drop_folder(tmp_path)
    (drop / "01_好.csv").write_text(HEADER + "E1,兰州甲公司,张三\nE2,天水乙公司,李四\n",
                                    encoding="utf-8")
    (drop / "04_好.csv").write_text(HEADER + "E3,酒泉丙公司,王五\n", encoding="utf-8")
    for name, text in DAMAGED.items():
        (drop / name).write_text(text, encoding="utf-8")

    # huiju source check names each file a run would reject, and moves nothing
    assert main(["source", "check", "--department", DEPARTMENT, "--format", "json"]) == 1
    checked = next(f for f in json.loads(capsys.readouterr().out)["feeds"]
                   if f["source"] == "drop")
    assert checked["ok"], checked
    for name, missing in MISSING.items():
        assert f"{name}: file rejected" in checked["warnings"]
        assert f"lacks the mapped column(s) {missing} " in checked["warnings"]
    assert "秘密" not in checked["warnings"]
    assert all((drop / name).exists() for name in DAMAGED)
    assert not (drop / "_rejected").exists()

    results = run("drop")

    assert current_rows(url, "drop") == {"E1": ("兰州甲公司", "张三"),
                                         "E2": ("天水乙公司", "李四"),
                                         "E3": ("酒泉丙公司", "王五")}
    rows = query(url, "SELECT source_ref, rule_id, message_en FROM quarantine.record "
                      "WHERE department_code = :d AND status = 'open'", d=DEPARTMENT)
    assert {r["source_ref"] for r in rows} == {f"{name}:file" for name in DAMAGED}
    # each file: one parse failure saying why (its empty row also fails required fields)
    rejections = {r["source_ref"]: r["message_en"] for r in rows
                  if r["rule_id"].endswith("PARSE-row")}
    assert len(rejections) == len(DAMAGED)
    warnings = [w for r in results for w in r["warnings"]]
    for name, missing in MISSING.items():
        message = rejections[f"{name}:file"]
        assert f"lacks the mapped column(s) {missing} " in message, message
        assert any(w.startswith(f"{name}: file rejected") and missing in w for w in warnings)
        reason = (drop / "_rejected" / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert name in reason and missing in reason
        assert not (drop / name).exists()
    # nothing of a rejected file's contents reaches a message, a warning or a reason
    texts = [*rejections.values(), *warnings,
             *(p.read_text(encoding="utf-8") for p in (drop / "_rejected").glob("*.txt"))]
    assert not [t for t in texts if "秘密" in t or "法定代表人" in t or "名祢" in t]
    # accounting: 3 rows + 4 rejected files extracted, 4 quarantined, and it balances
    total = {k: sum(r[k] for r in results)
             for k in ("extracted", "loaded", "quarantined", "superseded")}
    assert total == {"extracted": 7, "loaded": 3, "quarantined": 4, "superseded": 0}
    engine = create_warehouse_engine(url)
    try:
        assert all(not check.problems for check in verify(engine, department=DEPARTMENT))
    finally:
        engine.dispose()
    # the good files were archived as usual; the next run has nothing new and fails nothing
    assert (drop / "01_好.csv").exists()
    assert sum(r["extracted"] for r in run("drop", run_id="capture-2")) == 0
    # the department sends the file again with the column restored: it loads
    (drop / "02_改名.csv").write_text(HEADER + "X1,甲公司,张一\n", encoding="utf-8")
    assert sum(r["loaded"] for r in run("drop", run_id="capture-3")) == 1
    assert current_rows(url, "drop")["X1"] == ("甲公司", "张一")


@pytest.mark.postgres
def test_a_sql_source_lacking_a_mapped_column_still_fails_the_feed(monkeypatch, tmp_path,
                                                                  pg_url):
    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = sa.create_engine(source_url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE "企业" ("编号" TEXT PRIMARY KEY, "名称" TEXT, '
                             '"法定代表人" TEXT, "更新时间" TEXT)')
        conn.exec_driver_sql("INSERT INTO \"企业\" VALUES ('E1', '甲', '张三', "
                             "'2025-02-01 10:00:00')")
    engine.dispose()
    url = workspace(monkeypatch, tmp_path, source_url, warehouse_url=pg_url)
    with pytest.raises(MappingError, match=r"'法人' \(closest: 法定代表人\) not in the source"):
        pipeline.run_feed(pipeline.FeedKey(DEPARTMENT, "ent_db", "enterprise"), run_id="sql")
    assert query(url, "SELECT count(*) AS n FROM audit.batch")[0]["n"] == 0


def test_a_workbook_lacking_a_mapped_column_is_rejected_and_its_sheets_count_together(tmp_path):
    """A workbook's header is the union of its read sheets' headers (README: sheets)."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for name, sheets in {"01_坏.xlsx": {"上半年": ["编号", "名称", "法定代表人"]},
                         "02_好.xlsx": {"上半年": ["编号", "名称", "法人"],
                                       "下半年": ["编号", "名称"]}}.items():
        book = openpyxl.Workbook()
        book.remove(book.active)
        for number, (title, header) in enumerate(sheets.items()):
            sheet = book.create_sheet(title)
            sheet.append(header)
            sheet.append([f"{name[:2]}-{number}", "秘密公司", "秘密人"][:len(header)])
        book.save(drop / name)
    source = FileSource(FileSourceConfig(directory=str(drop), patterns=["*.xlsx"],
                                         sheets="*半年"))
    source.expect_columns(["编号", "名称", "法人"])

    batches = list(source.read(None))

    errors = [e for b in batches for e in b.errors]
    assert [e.ref for e in errors] == ["01_坏.xlsx:file"]
    assert "lacks the mapped column(s) 法人 " in errors[0].message
    assert "秘密" not in errors[0].message and "法定代表人" not in errors[0].message
    rows = [r for b in batches for r in b.table.to_pylist()]
    assert sorted(r["编号"] for r in rows) == ["02-0", "02-1"]
    assert (drop / "_rejected" / "01_坏.xlsx").exists() and (drop / "02_好.xlsx").exists()
