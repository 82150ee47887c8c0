"""``huiju validate``: a department checks an export file as ingest would, loading nothing."""

from __future__ import annotations

import csv
import shutil

import pytest
from pipeline_support import use_workspace

from huiju.cli import main


@pytest.fixture
def workspace(built, monkeypatch, tmp_path):
    """The built home, a warehouse URL that must never be created, and cwd in tmp_path."""
    untouched = tmp_path / "untouched"
    use_workspace(monkeypatch, built, tmp_path, f"sqlite:///{untouched / 'huiju.db'}",
                  migrate=False)
    monkeypatch.chdir(tmp_path)
    return untouched


def read_rejections(path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def validate(capsys, department: str, dataset: str, file, out) -> tuple[int, str]:
    code = main(["validate", "--department", department, "--dataset", dataset,
                 "--out", str(out), str(file)])
    return code, capsys.readouterr().out


def test_csv_with_a_bad_date_is_rejected_with_file_line_and_rule(built, workspace, tmp_path,
                                                                 capsys):
    export = shutil.copy(built.lz_drop / "水库检查_202411.csv", tmp_path / "水库检查_202411.csv")
    out = tmp_path / "rejections.csv"

    code, printed = validate(capsys, "LZ-SJJ", "inspection", export, out)

    assert code == 1
    assert "30 rows — 29 would load, 1 rejected" in printed
    rejections = read_rejections(out)
    assert {r["source_ref"] for r in rejections} == {"水库检查_202411.csv:line 6"}
    assert {r["rule_id"] for r in rejections} >= {"10-DATE-inspection.check_date"}
    bad_date = next(r for r in rejections if r["rule_id"] == "10-DATE-inspection.check_date")
    assert bad_date["raw_value"] == "2024年13月2日"
    assert bad_date["field"] == "check_date"
    assert bad_date["message_zh"] and bad_date["message_en"]
    assert not workspace.exists()  # the warehouse was never opened
    assert not (tmp_path / "rejections").exists()  # --out, not the default folder


def test_clean_csv_exits_0_with_an_empty_rejection_list(built, workspace, tmp_path, capsys):
    lines = (built.lz_drop / "水库检查_202411.csv").read_bytes().decode("gb18030").splitlines(
        keepends=True)
    clean = tmp_path / "水库检查_clean.csv"
    clean.write_bytes("".join(lines[:5] + lines[6:]).encode("gb18030"))  # without line 6
    out = tmp_path / "clean-rejections.csv"

    code, printed = validate(capsys, "LZ-SJJ", "inspection", clean, out)

    assert code == 0, printed
    assert "29 rows — 29 would load, 0 rejected" in printed
    assert read_rejections(out) == []
    assert out.read_text(encoding="utf-8-sig").startswith("source_ref,rule_id,")
    assert not workspace.exists()


def test_excel_penalty_file_is_checked_with_the_departments_layout(built, workspace, tmp_path,
                                                                   capsys):
    """GS-YJJ's workbook: instruction row skipped (the feed's skip_rows), 万元 amounts."""
    export = shutil.copy(built.yjj_drop / "行政处罚_202411.xlsx", tmp_path / "行政处罚_202411.xlsx")
    out = tmp_path / "yjj.csv"

    code, printed = validate(capsys, "GS-YJJ", "penalty", export, out)

    assert code == 1
    assert "40 rows — 38 would load, 2 rejected" in printed
    by_ref: dict[str, set[str]] = {}
    for row in read_rejections(out):
        by_ref.setdefault(row["source_ref"], set()).add(row["rule_id"])
    assert set(by_ref) == {"行政处罚_202411.xlsx:sheet 数据 row 14",
                           "行政处罚_202411.xlsx:sheet 数据 row 28"}
    assert "06-USCCORIDCARD-penalty.administrative_cp_code" in by_ref[
        "行政处罚_202411.xlsx:sheet 数据 row 14"]
    assert "01-AMOUNT-penalty.fine_amount" in by_ref["行政处罚_202411.xlsx:sheet 数据 row 28"]
    assert not workspace.exists()


def test_default_rejection_list_goes_to_a_rejections_folder(built, workspace, tmp_path, capsys):
    export = shutil.copy(built.lz_drop / "水库检查_202411.csv", tmp_path / "export.csv")
    code = main(["validate", "--department", "LZ-SJJ", "--dataset", "inspection", str(export)])
    printed = capsys.readouterr().out
    assert code == 1
    assert (tmp_path / "rejections" / "export.csv.csv").is_file()
    assert "rejection list: rejections/export.csv.csv" in printed


def test_missing_file_exits_2(workspace, tmp_path, capsys):
    code = main(["validate", "--department", "LZ-SJJ", "--dataset", "inspection",
                 str(tmp_path / "nope.csv")])
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_formula_like_raw_values_are_neutralised_in_the_rejection_list(built, workspace,
                                                                       tmp_path, capsys):
    """A department value such as ``=1+2`` must not run when the clerk opens the list."""
    from huiju.cells import recover

    text = (built.lz_drop / "水库检查_202411.csv").read_bytes().decode("gb18030")
    assert "2024年13月2日" in text
    export = tmp_path / "水库检查_formula.csv"
    export.write_bytes(text.replace("2024年13月2日", "=1+2").encode("gb18030"))
    out = tmp_path / "formula.csv"

    code, _ = validate(capsys, "LZ-SJJ", "inspection", export, out)

    assert code == 1
    bad = next(r for r in read_rejections(out) if r["rule_id"] == "10-DATE-inspection.check_date")
    assert bad["raw_value"] == "'=1+2"
    assert recover(bad["raw_value"]) == "=1+2"
