"""Replay: a department fixes a quarantined record at the source, the next run loads it.

Each test edits its own copy of the legacy sources (the SQLite case database, the drop
folders) and owns its warehouse. ``huiju quarantine list/export`` must then show only what
is still open.
"""

from __future__ import annotations

import csv
import io

import pytest
from pipeline_support import (
    LegacyHome,
    copy_home,
    core_rows,
    execute_legacy,
    legacy_rows,
    quarantine_rules,
    query,
    scalar,
    use_workspace,
)

from huiju.cli import main
from huiju.demo.legacy.lz_sjj import SITE_COLUMNS, WATER_CHECK_COLUMNS
from schemas.rules.uscc import uscc_check_char

BAD_ENTERPRISE = "企业基本信息#主体身份代码=620000000017"
BAD_DATE = "水库检查_202411.csv:line 6"
LATER = "2024-11-01 09:00:00"  # after every 更新时间 of the demo data



@pytest.fixture
def home(built, tmp_path) -> LegacyHome:
    """This test's own copy of the legacy sources (it edits them)."""
    return copy_home(built, tmp_path / "home")


def run(capsys, department: str, *datasets: str) -> int:
    args = ["run", "--department", department]
    for dataset in datasets:
        args += ["--dataset", dataset]
    code = main(args)
    capsys.readouterr()
    return code


def export(capsys, tmp_path, *args: str) -> list[dict]:
    out = tmp_path / "export.csv"
    assert main(["quarantine", "export", "--out", str(out), *args]) == 0
    capsys.readouterr()
    with out.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def last_batch(url: str, department: str, dataset: str) -> str:
    return scalar(url, "SELECT max(batch_id) FROM audit.batch WHERE department_code = :d "
                       "AND dataset = :s", d=department, s=dataset)


def test_sql_record_fixed_at_the_source_is_loaded_and_resolved(home, monkeypatch, tmp_path,
                                                               capsys):
    url = use_workspace(monkeypatch, home, tmp_path)
    assert run(capsys, "GS-SCJG", "enterprise") == 0
    assert set(quarantine_rules(url, "GS-SCJG", "enterprise")) == {BAD_ENTERPRISE}
    assert "620000000017" not in {r["pripid"] for r in core_rows(url, "enterprise", "GS-SCJG")}

    (bad,) = legacy_rows(home.case_db, 'SELECT "统一社会信用代码" FROM "企业基本信息" '
                                       'WHERE "主体身份代码" = ?', "620000000017")[0]
    fixed = bad[:17] + uscc_check_char(bad[:17])
    assert fixed != bad
    execute_legacy(home.case_db, 'UPDATE "企业基本信息" SET "统一社会信用代码" = ?, '
                                 '"更新时间" = ? WHERE "主体身份代码" = ?',
                   fixed, LATER, "620000000017")

    assert run(capsys, "GS-SCJG", "enterprise") == 0
    second = last_batch(url, "GS-SCJG", "enterprise")
    (batch,) = query(url, "SELECT * FROM audit.batch WHERE batch_id = :b AND "
                          "dataset = 'enterprise'", b=second)
    assert (batch["extracted"], batch["inserted"], batch["quarantined"]) == (1, 1, 0)
    loaded = {r["pripid"]: r for r in core_rows(url, "enterprise", "GS-SCJG")}
    assert loaded["620000000017"]["uscc"] == fixed
    assert loaded["620000000017"]["batch_id"] == second
    rows = query(url, "SELECT status, resolved_batch_id FROM quarantine.record "
                      "WHERE source_ref = :r", r=BAD_ENTERPRISE)
    assert rows and all(r["status"] == "resolved" and r["resolved_batch_id"] == second
                        for r in rows)
    assert export(capsys, tmp_path, "--department", "GS-SCJG") == []
    resolved = export(capsys, tmp_path, "--department", "GS-SCJG", "--status", "resolved")
    assert {(r["source_ref"], r["status"]) for r in resolved} == {(BAD_ENTERPRISE, "resolved")}


def _check_row(home: LegacyHome, line: int, **changes: str) -> list[str]:
    """Line ``line`` of the November inspection file, as a row, with ``changes`` applied."""
    text = (home.lz_drop / "水库检查_202411.csv").read_bytes().decode("gb18030")
    row = list(csv.reader(io.StringIO(text, newline="")))[line - 1]
    for column, value in changes.items():
        row[WATER_CHECK_COLUMNS.index(column)] = value
    return row


def _write_csv(path, columns, rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gb18030"))


def test_file_record_fixed_in_a_new_file_is_resolved_and_export_shows_only_open(
        home, monkeypatch, tmp_path, capsys):
    url = use_workspace(monkeypatch, home, tmp_path)
    run(capsys, "LZ-SJJ")
    ragged = {ref for ref in quarantine_rules(url, "LZ-SJJ", "site")}
    assert len(ragged) == 1
    before = export(capsys, tmp_path, "--department", "LZ-SJJ")
    assert {r["source_ref"] for r in before} == ragged | {BAD_DATE}

    # the department re-sends the inspection with a real date, in December's file
    fixed = _check_row(home, 6, 检查日期="2024年10月2日")
    _write_csv(home.lz_drop / "水库检查_202412.csv", WATER_CHECK_COLUMNS, [fixed])
    run(capsys, "LZ-SJJ")

    second = last_batch(url, "LZ-SJJ", "inspection")
    inspections = {r["check_action_code"]: r for r in core_rows(url, "inspection", "LZ-SJJ")}
    assert inspections[fixed[0]]["source_ref"] == "水库检查_202412.csv:line 2"
    assert str(inspections[fixed[0]]["check_date"])[:10] == "2024-10-02"
    assert {(r["status"], r["resolved_batch_id"]) for r in query(
        url, "SELECT status, resolved_batch_id FROM quarantine.record WHERE source_ref = :r",
        r=BAD_DATE)} == {("resolved", second)}

    still_open = export(capsys, tmp_path, "--department", "LZ-SJJ")
    assert {r["source_ref"] for r in still_open} == ragged
    assert {r["status"] for r in still_open} == {"open"}
    assert all(r["department_code"] == "LZ-SJJ" and r["dataset"] == "site" for r in still_open)
    assert export(capsys, tmp_path, "--department", "GS-SCJG") == []

    assert main(["quarantine", "list", "--department", "LZ-SJJ"]) == 0
    listing = capsys.readouterr().out
    records = {r["source_ref"] for r in still_open}
    assert f"{len(records)} quarantined records ({len(still_open)} failures)" in listing
    # piped, a table never folds a cell: every full source reference is on its line
    assert all(ref in listing for ref in records)
    assert "01-PARSE-row" in listing and "水库名录" in listing
    assert "水库检查" not in listing and "inspection" not in listing


def test_ragged_line_resent_in_a_new_file_is_resolved_by_hand(home, monkeypatch, tmp_path,
                                                              capsys):
    """The unreadable line has no business key: its corrected values in another file are a
    new record, so no batch can resolve it. A data engineer does, saying why; who is the
    account that ran the command, never a typed name."""
    from huiju.identity import current_actor

    url = use_workspace(monkeypatch, home, tmp_path)
    run(capsys, "LZ-SJJ", "site")
    (ragged,) = quarantine_rules(url, "LZ-SJJ", "site")
    november = (home.lz_drop / "水库名录_202411.csv").read_bytes().decode("gb18030")
    complete = list(csv.reader(io.StringIO(november, newline="")))[1]
    complete[:3] = ["兰州第99水库", "城关区", "620102"]
    _write_csv(home.lz_drop / "水库名录_202412.csv", SITE_COLUMNS, [complete])

    run(capsys, "LZ-SJJ", "site")
    assert "兰州第99水库" in {r["site_name"] for r in core_rows(url, "site", "LZ-SJJ")}
    failures = export(capsys, tmp_path, "--department", "LZ-SJJ")
    assert {r["source_ref"] for r in failures} == {ragged}
    assert "01-PARSE-row" in {r["rule_id"] for r in failures}

    reason = "re-sent corrected as 水库名录_202412.csv:line 2"
    resolve = ["quarantine", "resolve", "--department", "LZ-SJJ", "--dataset", "site",
               "--source-ref", ragged, "--reason", reason]
    with pytest.raises(SystemExit) as refused:  # a typed name is no identity
        main([*resolve, "--by", "省审计厅 张审计 (forged)"])
    assert refused.value.code == 2
    capsys.readouterr()
    assert main(resolve) == 0
    actor = current_actor()
    assert actor.startswith("os:")
    assert f"resolved {len(failures)} failure(s) of {ragged} by hand as {actor}" in (
        capsys.readouterr().out)
    assert export(capsys, tmp_path, "--department", "LZ-SJJ") == []
    done = export(capsys, tmp_path, "--department", "LZ-SJJ", "--status", "resolved")
    done = [r for r in done if r["source_ref"] == ragged]
    assert len(done) == len(failures)
    assert {(r["resolved_by"], r["resolution_note"], r["resolved_batch_id"]) for r in done} == {
        (actor, reason, "")}
    main(["trace", ragged])
    traced = capsys.readouterr().out
    assert "manual actions" in traced and "quarantine.resolve" in traced
    assert all(r["resolved_at"] for r in done)

    # nothing open any more: said so, and nothing changes
    assert main(resolve) == 1
    assert "no open quarantine row" in capsys.readouterr().err
    # a reason is required
    with pytest.raises(SystemExit):
        main(resolve[:-2])


def test_same_file_name_resent_corrected_resolves_the_ragged_line(home, monkeypatch, tmp_path,
                                                                   capsys):
    """A corrected copy of the same file: the same file:line refs, re-read (new content)."""
    url = use_workspace(monkeypatch, home, tmp_path)
    run(capsys, "LZ-SJJ", "site")
    (ragged,) = quarantine_rules(url, "LZ-SJJ", "site")
    path = home.lz_drop / "水库名录_202411.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))
    complete = list(rows[1])
    complete[:3] = ["兰州第99水库", "城关区", "620102"]
    _write_csv(path, SITE_COLUMNS, [*rows[1:-1], complete])

    run(capsys, "LZ-SJJ", "site")

    assert "兰州第99水库" in {r["site_name"] for r in core_rows(url, "site", "LZ-SJJ")}
    second = last_batch(url, "LZ-SJJ", "site")
    assert {(r["status"], r["resolved_batch_id"]) for r in query(
        url, "SELECT status, resolved_batch_id FROM quarantine.record WHERE source_ref = :r",
        r=ragged)} == {("resolved", second)}


def test_penalty_fixed_and_deleted_at_the_source(home, monkeypatch, tmp_path, capsys):
    """CF202400012 (future decision date) fixed; CF202400003 deleted (操作标志 删除)."""
    url = use_workspace(monkeypatch, home, tmp_path)
    run(capsys, "GS-SCJG", "penalty")
    future = "行政处罚案件#案件编号=CF202400012"
    assert "10-NOTFUTURE-penalty.punish_decision_date" in quarantine_rules(
        url, "GS-SCJG", "penalty")[future]
    assert not {r["is_deleted"] for r in core_rows(url, "penalty", "GS-SCJG")
                if r["punish_action_code"] == "CF202400003"} - {False}

    # decided on the day it was filed: between filing and closing, whatever the seed gave
    execute_legacy(home.case_db, 'UPDATE "行政处罚案件" SET "决定日期" = "立案日期", '
                                 '"更新时间" = ? WHERE "案件编号" = ?', LATER, "CF202400012")
    execute_legacy(home.case_db, 'UPDATE "行政处罚案件" SET "操作标志" = ?, "更新时间" = ? '
                                 'WHERE "案件编号" = ?', "删除", LATER, "CF202400003")
    run(capsys, "GS-SCJG", "penalty")

    second = last_batch(url, "GS-SCJG", "penalty")
    penalties = {r["punish_action_code"]: r for r in core_rows(url, "penalty", "GS-SCJG")}
    assert penalties["CF202400012"]["batch_id"] == second
    assert penalties["CF202400003"]["is_deleted"]
    assert scalar(url, "SELECT count(*) FROM core.penalty_history WHERE punish_action_code = "
                       "'CF202400003' AND closed_batch_id = :b", b=second) == 1
    assert {r["status"] for r in query(url, "SELECT status FROM quarantine.record "
                                            "WHERE source_ref = :r", r=future)} == {"resolved"}
