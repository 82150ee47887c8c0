"""File connector on a real drop folder: encodings, Excel quirks, damaged rows, the
process-once/archive contract, and the conformance suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from connector_conformance import ConformanceCase, check_conformance
from fixtures.legacy import files as legacy

from connectors.base import ConnectorError
from connectors.files import FileSource, FileSourceConfig, cell_to_str, decode_bytes


def _source(folder: Path, tmp_path: Path, **overrides: object) -> FileSource:
    values: dict = {"directory": str(folder), "batch_size": 3,
                    "archive_dir": str(tmp_path / "archive")}
    values.update(overrides)
    return FileSource(FileSourceConfig(**values))


def test_csv_drop_folder_conformance(tmp_path: Path) -> None:
    drop = legacy.write_csv_drop(tmp_path / "drop")
    (tmp_path / "empty").mkdir()
    case = ConformanceCase(
        make_source=lambda: _source(drop.path, tmp_path),
        expected_rows=drop.total, batch_size=3,
        make_empty=lambda: _source(tmp_path / "empty", tmp_path),
        unreachable=(lambda: _source(tmp_path / "no-such-folder", tmp_path), ""),
    )
    batches = check_conformance(case)
    errors = [e.ref for b in batches for e in b.errors]
    assert errors == drop.errors
    rows = [r for b in batches for r in b.table.to_pylist()]
    names = [r["当事人名称"] for r in rows]
    assert "兰州市城关区张三百货店" in names                       # GBK
    assert "刘䶮" in names                                       # GB18030-only character
    assert "酒泉市\"老字号\"商店" in names and "跨行\n的名称" in names  # quoting done right
    assert "最后一户" in names                                    # the file goes on after damage
    assert all(isinstance(v, str) or v is None for r in rows for v in r.values())
    damaged = next(e for b in batches for e in b.errors if e.ref.endswith("line 6"))
    assert damaged.raw.startswith('"引号没关的名称') and damaged.message


def test_files_processed_once_and_archived_after_commit(tmp_path: Path) -> None:
    drop = legacy.write_csv_drop(tmp_path / "drop")
    source = _source(drop.path, tmp_path, batch_size=100)
    reader = source.read(None)
    first = next(reader)
    assert not (tmp_path / "archive").exists()      # not archived before the caller resumes
    batches = [first, *reader]
    archived = sorted(p.name.split("__", 1)[1] for p in (tmp_path / "archive").iterdir())
    assert archived == sorted(drop.files)
    state = json.loads(json.dumps(batches[-1].cursor))
    assert len(state["processed"]) == len(drop.files)
    assert list(source.read(state)) == []
    # A renamed copy of a processed file is the same content: skipped.
    (drop.path / "重复上传.csv").write_bytes((drop.path / drop.files[0]).read_bytes())
    assert list(source.read(state)) == []


def test_a_file_whose_last_batch_ended_a_read_is_archived_when_read_again(tmp_path: Path
                                                                          ) -> None:
    """A run that stopped right after a file's last batch (a chunk ended there) committed
    that batch but never resumed the read: the next read archives the file it skips."""
    drop = legacy.write_csv_drop(tmp_path / "drop")
    source = _source(drop.path, tmp_path, batch_size=100)
    first = next(source.read(None))          # the first file's only batch; never resumed
    assert first.cursor["partial"] is None and not (tmp_path / "archive").exists()
    state = json.loads(json.dumps(first.cursor))
    rest = list(source.read(state))
    assert rest and all(r not in b.refs for b in rest for r in first.refs)
    archived = sorted(p.name.split("__", 1)[1] for p in (tmp_path / "archive").iterdir())
    assert archived == sorted(drop.files)


def test_xlsx_instruction_rows_multirow_header_floats_and_dates(tmp_path: Path) -> None:
    folder = legacy.DropFolder(tmp_path / "xlsx")
    folder.path.mkdir()
    legacy.write_xlsx(folder)
    source = _source(folder.path, tmp_path, skip_rows=2, header_rows=2)
    batches = list(source.read(None))
    rows = [r for b in batches for r in b.table.to_pylist()]
    refs = [r for b in batches for r in b.refs]
    assert batches[0].table.column_names == ["当事人/名称", "当事人/代码", "处罚决定日期",
                                             "罚款金额", "序列日期"]
    assert refs[0] == "04_省局报表.xlsx:sheet 处罚 row 5"
    assert [r["当事人/代码"] for r in rows] == ["916201001234567", "9.16201E+17",
                                                legacy.USCC]
    assert [r["处罚决定日期"] for r in rows] == ["2021-03-26", "2021-04-01",
                                                 "2021-04-02 09:30:00"]
    assert [r["罚款金额"] for r in rows] == ["2000", "1500.5", "0.2"]
    assert rows[0]["序列日期"] == "44281"           # an unformatted serial stays a number
    assert rows[1]["当事人/名称"] == "刘䶮"


def test_xls_written_by_xlwt(tmp_path: Path) -> None:
    folder = legacy.DropFolder(tmp_path / "xls")
    folder.path.mkdir()
    legacy.write_xls(folder)
    rows = [r for b in _source(folder.path, tmp_path, skip_rows=1).read(None)
            for r in b.table.to_pylist()]
    assert rows == [
        {"当事人名称": "武威市凉州区某某商店", "统一社会信用代码": "916201001234567",
         "处罚决定日期": "2021-03-26", "罚款金额": "300"},
        {"当事人名称": "张掖市甘州区某某药店", "统一社会信用代码": legacy.USCC,
         "处罚决定日期": "2021年3月27日", "罚款金额": "450.75"},
    ]


def test_excel_drop_folder_conformance(tmp_path: Path) -> None:
    folder = legacy.DropFolder(tmp_path / "excel")
    folder.path.mkdir()
    for i in range(3):
        legacy.write_xlsx(folder, name=f"{i:02d}_报表.xlsx")
        # Different content per file, or the hash dedup would skip the copies.
        with open(folder.path / f"{i:02d}_报表.xlsx", "ab") as handle:
            handle.write(b"\0" * (i + 1))
    case = ConformanceCase(
        make_source=lambda: _source(folder.path, tmp_path, skip_rows=2, header_rows=2,
                                    batch_size=2),
        expected_rows=folder.total, batch_size=2)
    check_conformance(case)


def test_wrong_sheet_is_a_clear_error(tmp_path: Path) -> None:
    folder = legacy.DropFolder(tmp_path / "x")
    folder.path.mkdir()
    legacy.write_xlsx(folder)
    with pytest.raises(ConnectorError, match=r"04_省局报表\.xlsx"):
        list(_source(folder.path, tmp_path, sheet="没有这个表").read(None))


def test_encoding_detection_and_override() -> None:
    assert decode_bytes("\ufeff名称".encode()) == ("名称", "utf-8-sig")
    assert decode_bytes("名称".encode("gbk")) == ("名称", "gb18030")
    assert decode_bytes("刘䶮".encode("gb18030")) == ("刘䶮", "gb18030")
    assert decode_bytes("名稱".encode("big5"), "big5") == ("名稱", "big5")


def test_json_records_path(tmp_path: Path) -> None:
    folder = tmp_path / "json"
    folder.mkdir()
    document = {"data": {"list": [{"名称": "甲", "金额": 1.0}, {"名称": "乙", "嵌套": {"a": 1}}]}}
    (folder / "推送.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    batches = list(_source(folder, tmp_path, records_path="data.list").read(None))
    assert batches[0].table.to_pylist() == [{"名称": "甲", "金额": "1", "嵌套": None},
                                            {"名称": "乙", "金额": None, "嵌套": '{"a": 1}'}]
    assert batches[0].refs == ["推送.json:record 1", "推送.json:record 2"]


@pytest.mark.parametrize(("value", "text"), [
    (916201001234567.0, "916201001234567"), (9.16201e17, "9.16201E+17"), (0.2, "0.2"),
    (12, "12"), (True, "true"), (None, None), ("00123", "00123")])
def test_cell_to_str(value: object, text: str | None) -> None:
    assert cell_to_str(value) == text
