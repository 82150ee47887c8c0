"""File-level isolation (issue 16): a file that cannot be decoded or parsed is moved aside with
its reason and counted as a rejected file; the other files load; empty and header-only exports
are recorded and warned about; duplicate source references are named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from capture_support import (
    DEPARTMENT,
    create_source_table,
    current_rows,
    drop_folder,
    query,
    run,
    source_execute,
    workspace,
)

from connectors.files import FileSource, FileSourceConfig
from huiju import pipeline
from warehouse.engine import create_warehouse_engine
from warehouse.verify import verify

HEADER = "编号,名称,法人\n"


def _write_drop(folder: Path) -> None:
    (folder / "01_好.csv").write_text(HEADER + "E1,兰州甲公司,张三\nE2,天水乙公司,李四\n",
                                      encoding="utf-8")
    # two programs appended to one export: a UTF-8 line and a GBK line
    (folder / "02_混合.csv").write_bytes(
        (HEADER + "E3,酒泉丙公司,王五\n").encode("utf-8") + "E4,武威丁公司,赵六\n".encode("gbk"))
    (folder / "03_坏.csv").write_bytes(b"\xff\xfe\x00\x81\x30\x81\x30\x80\x80\xff\n\x81\n")
    (folder / "04_坏.json").write_text('{"data": [{"编号": "E9",', encoding="utf-8")
    (folder / "05_空.csv").write_bytes(b"")
    (folder / "06_仅表头.csv").write_text(HEADER, encoding="utf-8")
    (folder / "07_好.json").write_text(json.dumps([{"编号": "E5", "名称": "张掖戊公司",
                                                    "法人": "孙七"}], ensure_ascii=False),
                                       encoding="utf-8")


def test_bad_files_are_quarantined_as_files_and_the_rest_load(monkeypatch, tmp_path) -> None:
    url = workspace(monkeypatch, tmp_path, "sqlite://")
    drop = drop_folder(tmp_path)
    _write_drop(drop)
    results = run("drop")
    loaded = current_rows(url, "drop")
    assert loaded == {"E1": ("兰州甲公司", "张三"), "E2": ("天水乙公司", "李四"),
                      "E3": ("酒泉丙公司", "王五"), "E4": ("武威丁公司", "赵六"),
                      "E5": ("张掖戊公司", "孙七")}
    # the bad files: moved aside with their reason, and rejections of the department
    rejected = drop / "_rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "03_坏.csv", "03_坏.csv.reason.txt", "04_坏.json", "04_坏.json.reason.txt"]
    assert "bad JSON" in (rejected / "04_坏.json.reason.txt").read_text(encoding="utf-8")
    assert not (drop / "03_坏.csv").exists() and (drop / "01_好.csv").exists()
    open_rows = query(url, "SELECT source_ref, rule_id, message_en FROM quarantine.record "
                           "WHERE department_code = :d AND status = 'open'", d=DEPARTMENT)
    assert {r["source_ref"] for r in open_rows} == {"03_坏.csv:file", "04_坏.json:file"}
    parse = [r for r in open_rows if r["rule_id"].endswith("PARSE-row")]
    assert len(parse) == 2 and all("file rejected" in r["message_en"] for r in parse)
    # accounting: 5 rows + 2 rejected files extracted, 2 quarantined; and it balances
    total = {k: sum(r[k] for r in results) for k in ("extracted", "loaded", "quarantined")}
    assert total == {"extracted": 7, "loaded": 5, "quarantined": 2}
    warnings = [w for r in results for w in r["warnings"]]
    assert any("05_空.csv: empty file" in w for w in warnings)
    assert any("06_仅表头.csv: no data rows (header only)" in w for w in warnings)
    assert any("03_坏.csv: file rejected" in w for w in warnings)
    notes = [n for row in query(url, "SELECT notes FROM audit.batch") for n in
             (json.loads(row["notes"]) if isinstance(row["notes"], str) else row["notes"] or [])]
    assert sorted(notes) == sorted(warnings)
    engine = create_warehouse_engine(url)
    try:
        assert all(not check.problems for check in verify(engine, department=DEPARTMENT))
    finally:
        engine.dispose()
    # the next run goes on: nothing new, nothing failing
    again = run("drop", run_id="capture-2")
    assert sum(r["extracted"] for r in again) == 0


def test_connector_alone_rejects_only_the_bad_file(tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _write_drop(drop)
    source = FileSource(FileSourceConfig(directory=str(drop), patterns=["*.csv", "*.json"],
                                         rejected_dir=str(tmp_path / "aside")))
    batches = list(source.read(None))
    assert [e.ref for b in batches for e in b.errors] == ["03_坏.csv:file", "04_坏.json:file"]
    assert sum(b.num_rows for b in batches) == 5
    assert sorted(p.name for p in (tmp_path / "aside").iterdir())[0] == "03_坏.csv"
    assert list(source.read(batches[-1].cursor)) == []


def test_duplicate_source_references_are_named(monkeypatch, tmp_path) -> None:
    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    table = create_source_table(source_url, unique=False)
    source_execute(source_url, table.insert(), [
        {"编号": "E1", "名称": "甲", "法人": "张三", "更新时间": "2025-02-01 10:00:00"},
        {"编号": "E1", "名称": "甲（更正）", "法人": "张三", "更新时间": "2025-02-02 10:00:00"},
        {"编号": "E2", "名称": "乙", "法人": "李四", "更新时间": "2025-02-02 10:00:00"}])
    workspace(monkeypatch, tmp_path, source_url)
    with pytest.raises(pipeline.DuplicateSourceRefs, match="企业#编号=E1"):
        run("ent_db")


# -- versions ordered by a column -------------------------------------------------------------

VERSIONED = "编号,名称,法人,更新时间\n"


def test_newest_version_wins_within_and_across_batches(monkeypatch, tmp_path) -> None:
    url = workspace(monkeypatch, tmp_path, "sqlite://",
                    feed_keys="\n        version_column: 更新时间")
    drop = drop_folder(tmp_path)
    (drop / "01.csv").write_text(
        VERSIONED
        + "E1,甲公司（更正）,张三,2025-02-02 10:00:00\n"    # the correction, earlier in the file
        + "E1,甲公司,张三,2025/02/01 10:00:00\n"            # its stale version
        + "E2,乙公司,李四,2025-02-01 10:00:00\n"
        + "E2,乙公司二,李四,2025-02-01T02:00:00Z\n",      # the same instant: file order decides
        encoding="utf-8")
    first = run("drop")
    assert current_rows(url, "drop") == {"E1": ("甲公司（更正）", "张三"),
                                         "E2": ("乙公司二", "李四")}
    assert sum(r["superseded"] for r in first) == 2
    ties = [w for r in first for w in r["warnings"] if "share 更新时间" in w]
    assert len(ties) == 1 and "01.csv:line 4, 01.csv:line 5" in ties[0]
    # a later file brings an older version of E1: the warehouse's newer one stays
    (drop / "02.csv").write_text(VERSIONED + "E1,甲公司（旧）,张三,2025-01-30 00:00:00\n"
                                 + "E3,丙公司,王五,2025-01-01 00:00:00\n", encoding="utf-8")
    second = run("drop", run_id="capture-2")
    assert current_rows(url, "drop")["E1"] == ("甲公司（更正）", "张三")
    assert current_rows(url, "drop")["E3"] == ("丙公司", "王五")
    assert [(r["extracted"], r["loaded"], r["superseded"]) for r in second] == [(2, 1, 1)]
    engine = create_warehouse_engine(url)
    try:
        assert all(not check.problems for check in verify(engine, department=DEPARTMENT))
    finally:
        engine.dispose()


def test_version_sequence_numbers_order_numerically() -> None:
    """A sequence column is compared as numbers (10 after 9), not as text."""
    import pandas as pd

    from huiju.versions import order_by_version
    from schemas.catalog import dataset

    frame = pd.DataFrame({"pripid": ["E1", "E1", "E1"],
                          "record": ['{"版本":"10"}', '{"版本":"9"}', '{"版本":"2"}'],
                          "_source_ref": ["f:line 2", "f:line 3", "f:line 4"]})
    issues = pd.DataFrame({"row": [0]})
    ordered, renumbered, ties = order_by_version(frame, issues, "版本", dataset("enterprise"))
    assert list(ordered["_source_ref"]) == ["f:line 4", "f:line 3", "f:line 2"]
    assert list(renumbered["row"]) == [2] and ties == []


def test_sql_feed_versions_by_a_sequence_column(monkeypatch, tmp_path) -> None:
    """A view holding two versions of one record: the higher 版本 wins, not the later stamp."""
    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    table = create_source_table(source_url, unique=False)
    source_execute(source_url, table.insert(), [
        {"编号": "E1", "名称": "甲（第2版）", "法人": "张三", "更新时间": "2025-02-01 09:00:00",
         "版本": 2},
        {"编号": "E1", "名称": "甲（第1版）", "法人": "张三", "更新时间": "2025-02-02 09:00:00",
         "版本": 1}])
    url = workspace(monkeypatch, tmp_path, source_url, sql_extract=", unique_key: false",
                    feed_keys="\n        version_column: 版本")
    run("ent_db")
    assert current_rows(url, "ent_db") == {"E1": ("甲（第2版）", "张三")}


def test_a_corrupt_workbook_is_rejected_but_a_wrong_sheet_fails_the_feed(tmp_path) -> None:
    import pytest

    from connectors.base import ConnectorError

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "01_坏.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (drop / "02_好.csv").write_text(HEADER + "E1,甲,张三\n", encoding="utf-8")
    source = FileSource(FileSourceConfig(directory=str(drop)))
    batches = list(source.read(None))
    assert [e.ref for b in batches for e in b.errors] == ["01_坏.xlsx:file"]
    assert "cannot read the workbook" in batches[0].errors[0].message
    assert sum(b.num_rows for b in batches) == 1
    assert (drop / "_rejected" / "01_坏.xlsx.reason.txt").exists()
    # a configuration that fits no file is the feed's problem: nothing is moved
    from fixtures.legacy import files as legacy_files

    folder = legacy_files.DropFolder(tmp_path / "xlsx")
    folder.path.mkdir()
    legacy_files.write_xlsx(folder)
    wrong = FileSource(FileSourceConfig(directory=str(folder.path), sheet="没有这个表"))
    with pytest.raises(ConnectorError, match=r"04_省局报表\.xlsx"):
        list(wrong.read(None))
    assert not (folder.path / "_rejected").exists()
