"""A data engineer's day at the command line (issue 11): source check, status, readable output,
and mistakes told in one line.

Real legacy sources (the demo's SQLite case database, drop folders, the license API over a
socket) and a real warehouse per test; the commands run in-process through ``huiju.cli.main``
with stdout captured, i.e. piped — the layout cron, CI and Airflow logs see.
"""

from __future__ import annotations

import csv
import io
import json
import logging

import pytest
from pipeline_support import query, use_workspace, write_departments

from huiju.cli import main

MISSPELT = {"gs_scjg.yaml": {"address_registered: 注册地址\n": "address_registered: 注册地址X\n"}}



def _main(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_misspelt_column_fails_source_check_and_run(built, monkeypatch, tmp_path, capsys):
    departments = write_departments(tmp_path / "departments", built.home, built.server.url,
                                    MISSPELT)
    url = use_workspace(monkeypatch, built, tmp_path, departments=departments)

    code, out, err = _main(capsys, "source", "check", "--department", "GS-SCJG", "--feed",
                           "penalty", "--format", "json")
    assert code == 1
    feeds = json.loads(out)["feeds"]
    assert [f["ok"] for f in feeds] == [False]
    assert "'注册地址X' (closest: 注册地址" in feeds[0]["problems"]
    assert "注册地址X" in err

    code, out, err = _main(capsys, "run", "--department", "GS-SCJG", "--dataset", "penalty")
    assert code == 1
    assert "'注册地址X' (closest: 注册地址" in out
    # nothing was loaded with empty addresses
    assert query(url, "SELECT count(*) AS n FROM audit.batch")[0]["n"] == 0


def test_source_check_lists_columns_and_would_be_accounting(built, monkeypatch, tmp_path,
                                                            capsys):
    url = use_workspace(monkeypatch, built, tmp_path)
    code, out, _ = _main(capsys, "source", "check", "--department", "GS-SCJG", "--sample", "50",
                         "--format", "json")
    assert code == 0, out
    result = json.loads(out)
    penalty = next(f for f in result["feeds"] if f["dataset"] == "penalty")
    assert penalty["ok"] and penalty["rows"] > 0
    assert penalty["cursor_min"] <= penalty["cursor_max"]
    assert penalty["sampled"] == 50
    assert penalty["passed"] + penalty["quarantined"] + penalty["superseded"] == 50
    names = {c["column"] for c in result["columns"] if c["dataset"] == "penalty"}
    assert {"注册地址", "案件编号", "更新时间"} <= names
    assert query(url, "SELECT count(*) AS n FROM audit.batch")[0]["n"] == 0  # nothing loaded


def test_status_quarantine_and_listings_after_a_run(built, monkeypatch, tmp_path, capsys,
                                                    caplog):
    url = use_workspace(monkeypatch, built, tmp_path)
    caplog.set_level(logging.INFO, logger="huiju.pipeline")
    code, out, _ = _main(capsys, "run", "--department", "GS-SCJG", "--dataset", "penalty")
    assert code in (0, 1)
    batch = query(url, "SELECT * FROM audit.batch")[0]
    # piped: plain progress lines, then the accounting table
    assert "progress GS-SCJG case_db → penalty: extract" in out
    assert "rows read" in out and batch["batch_id"] in out.split("progress")[-1]
    # the load task's last words: its accounting in one line (what an Airflow log ends with)
    said = [r.getMessage() for r in caplog.records if r.name == "huiju.pipeline"]
    assert said[-1].startswith(f"accounting GS-SCJG/case_db/penalty batch {batch['batch_id']}: "
                               f"extracted {batch['extracted']} = loaded {batch['passed']}")

    code, out, _ = _main(capsys, "status", "--department", "GS-SCJG", "--format", "json")
    assert code == 0
    status = json.loads(out)
    penalty = next(f for f in status["feeds"] if f["dataset"] == "penalty")
    assert penalty["last_batch"] == batch["batch_id"]
    assert penalty["extracted"] == batch["extracted"]
    assert penalty["lag"] == "up to date" and penalty["cursor"]
    assert penalty["next_run"].endswith("+08:00")
    open_records = query(url, "SELECT count(DISTINCT source_ref) AS n FROM quarantine.record "
                              "WHERE status = 'open' AND dataset = 'penalty'")[0]["n"]
    assert penalty["open_quarantine"] == open_records > 0

    code, out, _ = _main(capsys, "quarantine", "list", "--format", "json")
    records = json.loads(out)["records"]
    assert len(records) == open_records  # one line per record, its rules aggregated
    failures = query(url, "SELECT source_ref, rule_id FROM quarantine.record "
                          "WHERE status = 'open'")
    longest = max((r["source_ref"] for r in failures), key=len)
    code, out, _ = _main(capsys, "quarantine", "list")  # piped table: refs whole
    assert longest in out
    code, out, _ = _main(capsys, "quarantine", "list", "--limit", "1", "--offset", "1",
                         "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["source_ref"] for r in rows] == [records[1]["source_ref"]]
    code, out, _ = _main(capsys, "quarantine", "list", "--by", "rule", "--format", "json")
    per_rule = {r["rule_id"]: r["records"] for r in json.loads(out)["rules"]}
    expected: dict[str, set] = {}
    for row in failures:
        expected.setdefault(row["rule_id"], set()).add(row["source_ref"])
    assert per_rule == {rule: len(refs) for rule, refs in expected.items()}

    code, out, _ = _main(capsys, "verify", "--format", "json")
    assert [b["batch"] for b in json.loads(out)["batches"]] == [batch["batch_id"]]
    code, out, _ = _main(capsys, "trace", longest, "--format", "json")
    assert json.loads(out)[0]["quarantine"]
    code, out, _ = _main(capsys, "config", "check", "--format", "json")
    assert code == 0 and {f["department"] for f in json.loads(out)["feeds"]} >= {"GS-SCJG"}


@pytest.mark.parametrize("args, says", [
    (("run", "--department", "NOPE"), "no department 'NOPE'"),
    (("run", "--department", "GS-SCJG", "--dataset", "nope"), "unknown data set 'nope'"),
    (("quarantine", "list", "--dataset", "nope"), "unknown data set 'nope'"),
    (("source", "check", "--department", "NOPE"), "no department 'NOPE'"),
    (("status", "--department", "NOPE"), "no department 'NOPE'"),
    (("verify", "--url", "sqlite:///{tmp}/empty.db"), "not migrated"),
    (("status", "--url", "sqlite:///{tmp}/empty.db"), "not migrated"),
    (("quarantine", "list", "--url", "sqlite:///{tmp}/empty.db"), "not migrated"),
    (("verify", "--url", "postgresql+psycopg://huiju:secret@127.0.0.1:1/x?connect_timeout=2"),
     "cannot open the warehouse"),
    (("run", "--department", "GS-SCJG", "--departments-dir", "{tmp}/broken"),
     "bad department configuration"),
])
def test_mistakes_are_one_line_and_exit_2(built, monkeypatch, tmp_path, capsys, args, says):
    use_workspace(monkeypatch, built, tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.yaml").write_text("code: X\nname: {zh: 坏}\nschedul: daily\n", encoding="utf-8")
    code, out, err = _main(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 2, out + err
    assert "Traceback" not in out + err and "secret" not in out + err
    lines = [line for line in err.splitlines() if not line.startswith("warehouse ")]
    assert len(lines) == 1 and says in lines[0], err


def test_debug_keeps_the_traceback_and_version_is_told(built, monkeypatch, tmp_path, capsys):
    use_workspace(monkeypatch, built, tmp_path)
    with pytest.raises(KeyError):
        main(["--debug", "run", "--department", "NOPE"])
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("huiju ")
