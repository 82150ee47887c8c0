"""``huiju run`` on the sample departments' legacy sources, into SQLite and PostgreSQL.

One legacy home (SQLite case database, GB18030 CSV drop, Excel drop, the license API on a
local server) is built per module and only read; every test has its own warehouse. The
expected quarantine is derived from the defects ``huiju.demo.legacy`` plants.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata

import pytest
from openpyxl import load_workbook
from pipeline_support import (
    CAPPED_ENTERPRISE,
    LegacyHome,
    core_rows,
    legacy_rows,
    quarantine_rules,
    query,
    scalar,
    use_workspace,
    write_departments,
)

from expectations.validate import Thresholds
from huiju import pipeline
from huiju.cli import main
from schemas.catalog import all_fields
from schemas.catalog import dataset as dataset_spec
from schemas.rules.dates import NOT_FUTURE_LATE, NOT_FUTURE_REASONS
from schemas.rules.id_card import id15_to_18

DEPARTMENTS = ("GS-SCJG", "LZ-SJJ", "GS-YJJ")
BAD_USCC_ENTERPRISE = "620000000017"  # legacy.py: enterprises[17] has a wrong check character




# --------------------------------------------------------------------------- expectations


def _csv_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))


def source_counts(home: LegacyHome) -> dict[tuple[str, str], int]:
    """Rows each feed's source holds, counted independently of the connectors."""
    def table_count(name: str) -> int:
        return legacy_rows(home.case_db, f'SELECT count(*) FROM "{name}"')[0][0]

    def sheet_rows(name: str) -> int:  # minus the instruction row and the header
        return load_workbook(home.yjj_drop / name, read_only=True).active.max_row - 2

    def csv_lines(pattern: str) -> int:
        return sum(len(_csv_rows(p)) - 1 for p in home.lz_drop.glob(pattern))

    return {
        ("GS-SCJG", "penalty"): table_count("行政处罚案件"),
        ("GS-SCJG", "inspection"): table_count("检查记录"),
        ("GS-SCJG", "enterprise"): table_count("企业基本信息"),
        ("GS-SCJG", "lead_disposition"): table_count("线索处置"),
        ("LZ-SJJ", "site"): csv_lines("水库名录_*.csv"),
        ("LZ-SJJ", "inspection"): csv_lines("水库检查_*.csv"),
        ("GS-YJJ", "drug"): sheet_rows("药品生产许可_202411.xlsx"),
        ("GS-YJJ", "penalty"): sheet_rows("行政处罚_202411.xlsx"),
        ("GS-YJJ", "license"): len(home.sources.api_records),
    }


def expected_quarantine(home: LegacyHome) -> dict[tuple[str, str], dict[str, set[str]]]:
    """``{(department, data set): {source ref: rules that must be among its failures}}``.

    One entry per planted defect (``LegacySources.defects``), plus the penalties and
    inspections of the enterprise whose USCC was planted wrong: they carry the same code.
    """
    bad_uscc = legacy_rows(home.case_db, 'SELECT "统一社会信用代码" FROM "企业基本信息" '
                                         'WHERE "主体身份代码" = ?', BAD_USCC_ENTERPRISE)[0][0]
    uscc_pair = {"06-USCC-{}.administrative_cp_code", "06-USCCORIDCARD-{}.administrative_cp_code"}

    def carrying_bad_uscc(table: str, key: str, dataset: str) -> dict[str, set[str]]:
        keys = legacy_rows(home.case_db, f'SELECT "{key}" FROM "{table}" WHERE "证件号码" = ?',
                           bad_uscc)
        assert keys, f"no {table} row carries the bad USCC"
        return {f"{table}#{key}={k}": {r.format(dataset) for r in uscc_pair} for (k,) in keys}

    penalty = "行政处罚案件#案件编号=CF2024{:05d}"
    inspection = "检查记录#检查编号=JC2024{:05d}"
    yjj = "行政处罚_202411.xlsx:sheet 数据 row {}"   # row 1 instructions, row 2 header
    placeholder = home.sources.api_records[30]["XK_WSH"]
    # 水库名录_202411.csv: header on line 1, 16 re-sent/new reservoirs, the ragged line last
    ragged_line = len(_csv_rows(home.lz_drop / "水库名录_202411.csv"))
    return {
        ("GS-SCJG", "penalty"): {
            penalty.format(6): {r.format("penalty") for r in uscc_pair},       # row 7
            penalty.format(12): {"10-NOTFUTURE-penalty.punish_decision_date"},  # row 13
            penalty.format(20): {"01-REQUIRED-penalty.illegal_fact"},           # row 21
            penalty.format(54): {"08-REQUIREDWHEN-penalty.fine_amount"},        # row 55
            penalty.format(59): {                                               # row 60
                "10-DATEORDER-penalty.case_filing_date+closing_date+submitted_date"},
            penalty.format(70): {"01-VALUEMAP-penalty.case_source"},            # row 71
            **carrying_bad_uscc("行政处罚案件", "案件编号", "penalty"),
        },
        ("GS-SCJG", "inspection"): {
            inspection.format(9): {"01-ITEMS-inspection.check_personnel",
                                   "01-ITEMS-inspection.law_enforcement_cert_no"},
            inspection.format(33): {"01-GANSUDIVISIONCODE-inspection.area_code"},
            **carrying_bad_uscc("检查记录", "检查编号", "inspection"),
        },
        ("GS-SCJG", "enterprise"): {
            f"企业基本信息#主体身份代码={BAD_USCC_ENTERPRISE}": {"06-USCC-enterprise.uscc"}},
        ("GS-SCJG", "lead_disposition"): {},   # dispositions of national leads: all clean
        ("LZ-SJJ", "site"): {f"水库名录_202411.csv:line {ragged_line}": {"01-PARSE-row"}},
        ("LZ-SJJ", "inspection"): {"水库检查_202411.csv:line 6": {
            "10-DATE-inspection.check_date"}},                                   # row 5
        ("GS-YJJ", "drug"): {},
        ("GS-YJJ", "penalty"): {
            yjj.format(14): {"06-USCCORIDCARD-penalty.administrative_cp_code"},  # row 12
            yjj.format(28): {"01-AMOUNT-penalty.fine_amount"},                   # row 26
        },
        ("GS-YJJ", "license"): {f"{home.license_ref_prefix}#{placeholder}": {
            "06-USCC-license.licensing_authority_uscc"}},
    }


def test_planted_defects_are_the_ones_this_module_expects(built):
    """If legacy.py plants other defects, the expectations here must follow."""
    assert {k: len(v) for k, v in built.sources.defects.items()} == {
        "GS-SCJG enterprise": 2, "GS-SCJG inspection": 2, "GS-SCJG penalty": 9,
        "LZ-SJJ site": 2, "LZ-SJJ inspection": 1, "GS-YJJ penalty": 2, "GS-YJJ license": 1}


# --------------------------------------------------------------------------- helpers


def run_cli(capsys, department: str, *extra: str) -> tuple[int, str]:
    code = main(["run", "--department", department, *extra])
    return code, capsys.readouterr().out


def batches(url: str, department: str) -> dict[str, dict]:
    rows = query(url, "SELECT * FROM audit.batch WHERE department_code = :d ORDER BY batch_id",
                 d=department)
    found: dict[str, dict] = {}
    for row in rows:
        found.setdefault(row["dataset"], row)  # the first batch of each data set
    return found


def expected_breaches(url: str, department_code: str) -> set[str]:
    department = pipeline.find_department(department_code)
    breached = set()
    for dataset, row in batches(url, department_code).items():
        configured = department.thresholds_for(dataset)
        limits = Thresholds(configured.max_quarantined, configured.max_ratio,
                            configured.min_batch_size)
        if limits.breach(dataset, row["quarantined"], row["extracted"]):
            breached.add(dataset)
    return breached


# --------------------------------------------------------------------------- 1. first run


@pytest.mark.parametrize("department", DEPARTMENTS)
def test_run_accounts_for_every_row_and_quarantines_the_planted_defects(
        built, warehouse_url, department, monkeypatch, tmp_path, capsys):
    url = use_workspace(monkeypatch, built, tmp_path, warehouse_url)
    code, out = run_cli(capsys, department)

    counts = source_counts(built)
    expected = expected_quarantine(built)
    found = batches(url, department)
    feeds = {key.dataset for key in pipeline.feeds_of(pipeline.find_department(department))}
    assert set(found) == feeds
    for dataset, batch in found.items():
        where = f"{department}/{dataset}"
        assert batch["extracted"] == counts[(department, dataset)], where
        assert batch["extracted"] == (batch["passed"] + batch["quarantined"]
                                      + batch["superseded"]), where
        assert scalar(url, "SELECT count(*) FROM raw.record JOIN raw.part USING (part_id) "
                           "WHERE department_code = :d AND dataset = :s AND batch_id = :b",
                      d=department, s=dataset, b=batch["batch_id"]) == batch["extracted"], where
        assert scalar(url, "SELECT count(DISTINCT source_ref) FROM quarantine.record WHERE "
                           "department_code = :d AND dataset = :s AND batch_id = :b",
                      d=department, s=dataset, b=batch["batch_id"]) == batch["quarantined"]
        live = [r for r in core_rows(url, dataset, department) if not r["is_deleted"]]
        deletes = 1 if (department, dataset) == ("GS-SCJG", "penalty") else 0
        assert len(live) == batch["inserted"] == batch["passed"] - deletes, where
        assert {r["batch_id"] for r in live} == {batch["batch_id"]}, where

        rules = quarantine_rules(url, department, dataset)
        assert set(rules) == set(expected[(department, dataset)]), where
        for ref, must in expected[(department, dataset)].items():
            assert must <= rules[ref], (ref, rules[ref])

    # exit 1 exactly when a feed breached its department's thresholds, and the breach printed
    breached = expected_breaches(url, department)
    assert code == (1 if breached else 0), out
    for dataset in breached:
        assert "threshold breached" in out and f"{dataset}: " in out, out
    assert "NO" not in out  # every accounting line balanced
    if department == "GS-SCJG":
        check_scjg_values(built, url)
    if department == "LZ-SJJ":
        check_lz_sjj_superseded(built, url, found["site"])


def check_scjg_values(built: LegacyHome, url: str) -> None:
    """15-digit IDs converted, the full-width USCC normalised, the delete not live in core."""
    penalties = {r["punish_action_code"]: r for r in core_rows(url, "penalty", "GS-SCJG")}
    (legacy15,) = legacy_rows(built.case_db, 'SELECT "证件号码" FROM "行政处罚案件" '
                                             'WHERE "案件编号" = ?', "CF202400033")[0]
    assert len(legacy15) == 15
    assert penalties["CF202400033"]["administrative_cp_code"] == id15_to_18([legacy15])[0]
    assert len(penalties["CF202400033"]["administrative_cp_code"]) == 18
    (full_width,) = legacy_rows(built.case_db, 'SELECT "证件号码" FROM "行政处罚案件" '
                                               'WHERE "案件编号" = ?', "CF202400039")[0]
    assert full_width != unicodedata.normalize("NFKC", full_width)
    assert penalties["CF202400039"]["administrative_cp_code"] == \
        unicodedata.normalize("NFKC", full_width)
    # operation 删除 on a department's first load: nothing to close, and nothing live
    assert "CF202400088" not in penalties or penalties["CF202400088"]["is_deleted"]
    assert scalar(url, "SELECT count(*) FROM raw.record WHERE source_ref = :r",
                  r="行政处罚案件#案件编号=CF202400088") == 1

    enterprises = {r["pripid"]: r for r in core_rows(url, "enterprise", "GS-SCJG")}
    assert enterprises["620000000005"]["liaison_id_card_no"] == \
        id15_to_18(["620102800101123"])[0]


def check_lz_sjj_superseded(built: LegacyHome, url: str, batch: dict) -> None:
    """The November file re-sends reservoirs 9–16: its rows win, the October ones are
    superseded; the ragged line is quarantined under its file:line ref."""
    october = _csv_rows(built.lz_drop / "水库名录_202410.csv")[1:]
    november = [r for r in _csv_rows(built.lz_drop / "水库名录_202411.csv")[1:] if len(r) > 4]
    resent = {r[0] for r in october} & {r[0] for r in november}
    assert len(resent) == 8 == batch["superseded"]
    sites = {r["site_name"]: r for r in core_rows(url, "site", "LZ-SJJ")}
    assert len(sites) == len({r[0] for r in october} | {r[0] for r in november})
    phone_now = {r[0]: r[7] for r in november}
    for name in resent:
        assert sites[name]["source_ref"].startswith("水库名录_202411.csv:line "), name
        assert sites[name]["phone"] == phone_now[name], name
    ragged = query(url, "SELECT raw_value, message_en FROM quarantine.record "
                        "WHERE department_code = 'LZ-SJJ' AND rule_id = '01-PARSE-row'")
    assert len(ragged) == 1 and "缺列的一行" in ragged[0]["raw_value"]
    assert "4 fields where the header has 12" in ragged[0]["message_en"]


# --------------------------------------------------------------------------- 2. rerun




@pytest.mark.parametrize("department", list(DEPARTMENTS))
def test_rerun_loads_nothing_new(built, department, monkeypatch, tmp_path, capsys):
    url = use_workspace(monkeypatch, built, tmp_path)
    run_cli(capsys, department)
    datasets = [k.dataset for k in pipeline.feeds_of(pipeline.find_department(department))]
    before = {d: core_rows(url, d, department) for d in datasets}
    history = {d: scalar(url, f"SELECT count(*) FROM core.{d}_history") for d in datasets}
    quarantined = query(url, "SELECT source_ref, rule_id, status FROM quarantine.record "
                             "ORDER BY source_ref, rule_id")
    first = {r["batch_id"] for r in query(url, "SELECT batch_id FROM audit.batch")}

    code, out = run_cli(capsys, department)

    assert {d: core_rows(url, d, department) for d in datasets} == before
    assert {d: scalar(url, f"SELECT count(*) FROM core.{d}_history") for d in datasets} == history
    assert query(url, "SELECT source_ref, rule_id, status FROM quarantine.record "
                      "ORDER BY source_ref, rule_id") == quarantined
    second = [r for r in query(url, "SELECT * FROM audit.batch") if r["batch_id"] not in first]
    assert {r["dataset"] for r in second} == set(datasets)
    for row in second:
        assert row["inserted"] == row["updated"] == row["deleted"] == 0, row
        # files and the API deliver nothing new; SQL re-reads only its overlap window
        assert row["extracted"] == row["unchanged"] + row["quarantined"] + row["superseded"]
    assert code == 0, out  # nothing new, nothing breached


# --------------------------------------------------------------------------- 5. thresholds

# LZ-SJJ allowing no quarantined row at all
STRICT = {"lz_sjj.yaml": {"default: {max_quarantined: 50, max_ratio: 0.10, min_batch_size: 20}":
                          "default: {max_quarantined: 0}"}}


def test_breached_threshold_fails_the_run_but_keeps_the_batch(built, monkeypatch, tmp_path,
                                                              capsys):
    strict = write_departments(tmp_path / "departments", built.home, built.server.url,
                               STRICT)
    url = use_workspace(monkeypatch, built, tmp_path, departments=strict)

    code, out = run_cli(capsys, "LZ-SJJ", "--dataset", "inspection")

    assert code == 1
    assert "threshold breached" in out
    assert "inspection: 1 of 30 rows quarantined" in out
    assert "more than the allowed 0 rows" in out
    (batch,) = query(url, "SELECT * FROM audit.batch")
    assert (batch["extracted"], batch["passed"], batch["quarantined"]) == (30, 29, 1)
    assert len(core_rows(url, "inspection", "LZ-SJJ")) == 29
    assert quarantine_rules(url, "LZ-SJJ", "inspection") == {
        "水库检查_202411.csv:line 6": {"01-REQUIRED-inspection.check_date",
                                       "10-DATE-inspection.check_date"}}


def test_load_task_raises_after_loading_when_breached(built, monkeypatch, tmp_path):
    """The Airflow path: ``pipeline.load`` raises ThresholdBreached, the batch is committed."""
    from expectations.validate import ThresholdBreached

    strict = write_departments(tmp_path / "departments", built.home, built.server.url,
                               STRICT)
    url = use_workspace(monkeypatch, built, tmp_path, departments=strict)
    with pytest.raises(ThresholdBreached, match="inspection: 1 of 30"):
        pipeline.run_feed(pipeline.FeedKey("LZ-SJJ", "drop_folder", "inspection"), run_id="t5")
    assert scalar(url, "SELECT quarantined FROM audit.batch") == 1
    assert scalar(url, "SELECT count(*) FROM quarantine.record WHERE status = 'open'") == 2


# --------------------------------------------------------------------------- 6. backfill


def test_period_extract_reads_only_the_window_and_keeps_the_cursor(built, monkeypatch,
                                                                   tmp_path):
    url = use_workspace(monkeypatch, built, tmp_path)
    key = pipeline.FeedKey("GS-SCJG", "case_db", "enterprise")
    (first,) = pipeline.run_feed(key, run_id="full")
    cursor = scalar(url, "SELECT cursor FROM audit.cursor_state")

    start, end = "2024-10-03 00:00:00", "2024-10-05 00:00:00"
    extracted = pipeline.extract(key.department, key.source, key.dataset, run_id="period",
                                 interval_start=start, interval_end=end)
    (inside,) = legacy_rows(built.case_db, 'SELECT count(*) FROM "企业基本信息" '
                                           'WHERE "更新时间" >= ? AND "更新时间" < ?',
                            start, end)[0]
    assert 0 < inside < first["extracted"]
    assert extracted["extracted"] == inside
    result = pipeline.load(pipeline.validate(extracted))
    assert result["inserted"] == result["updated"] == 0
    assert scalar(url, "SELECT cursor FROM audit.cursor_state") == cursor


# --------------------------------------------------------------------------- 7. capped runs


def test_a_feed_capped_per_run_loads_the_same_in_several_batches(built, monkeypatch, tmp_path,
                                                                capsys):
    """max_rows_per_run: each run loads at most about that many rows; `huiju run` goes on until
    the source is drained, and the warehouse ends as one uncapped run leaves it."""
    key = pipeline.FeedKey("GS-SCJG", "case_db", "enterprise")
    whole = use_workspace(monkeypatch, built, tmp_path / "whole")
    (uncapped,) = pipeline.run_feed(key, run_id="whole")

    capped_departments = write_departments(tmp_path / "departments", built.home,
                                           built.server.url, CAPPED_ENTERPRISE)
    capped = use_workspace(monkeypatch, built, tmp_path / "capped",
                           departments=capped_departments)
    assert main(["run", "--department", "GS-SCJG", "--dataset", "enterprise"]) == 0
    out = capsys.readouterr().out

    batches = query(capped, "SELECT batch_id, extracted, passed, quarantined, superseded "
                            "FROM audit.batch ORDER BY batch_id")
    assert len(batches) >= uncapped["extracted"] // 8
    # two connector batches of 4 reach the cap of 7: every run but the last reads 8
    assert all(b["extracted"] == 8 for b in batches[:-1])
    assert batches[-1]["extracted"] <= 8
    for batch in batches:
        assert batch["extracted"] == batch["passed"] + batch["quarantined"] + batch["superseded"]
        assert batch["batch_id"] in out  # one accounting line per batch
    assert "NO" not in out
    # the same rows as the uncapped run, each written by one of the capped batches
    rows = core_rows(capped, "enterprise", "GS-SCJG")
    assert {r["batch_id"] for r in rows} <= {b["batch_id"] for b in batches}
    assert len({r["batch_id"] for r in rows}) > 1
    assert without_batch(rows) == without_batch(core_rows(whole, "enterprise", "GS-SCJG"))
    assert quarantine_rules(capped, "GS-SCJG", "enterprise") == quarantine_rules(
        whole, "GS-SCJG", "enterprise")


def without_batch(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "batch_id"} for row in rows]


def test_quarantined_rows_keep_both_messages_in_the_warehouse(built, warehouse_url,
                                                             monkeypatch, tmp_path):
    """What a clerk reads in quarantine: every failure's message in Chinese and in English,
    read back from the warehouse after a real run (not from the validation outcome)."""
    url = use_workspace(monkeypatch, built, tmp_path, warehouse_url)
    pipeline.run_feed(pipeline.FeedKey("GS-SCJG", "case_db", "penalty"), run_id="messages",
                      raise_on_threshold=False)
    rows = query(url, "SELECT source_ref, rule_id, message_zh, message_en "
                      "FROM quarantine.record WHERE dataset = 'penalty'")
    assert rows
    for row in rows:
        assert re.search(r"[\u4e00-\u9fff]", row["message_zh"] or ""), row
        assert re.search(r"[A-Za-z]{3}", row["message_en"] or ""), row
        assert row["message_en"] != row["message_zh"], row

    fields = {f.name: f for f in all_fields(dataset_spec("penalty"))}
    by_failure = {(r["source_ref"], r["rule_id"]): r for r in rows}

    def messages(ref: str, rule_id: str) -> tuple[str, str]:
        found = by_failure[(f"行政处罚案件#案件编号={ref}", rule_id)]
        return found["message_zh"], found["message_en"]

    decided, fact = fields["punish_decision_date"], fields["illegal_fact"]
    late_zh, late_en = NOT_FUTURE_REASONS[NOT_FUTURE_LATE]
    assert messages("CF202400012", "10-NOTFUTURE-penalty.punish_decision_date") == (
        f"{decided.zh}（punish_decision_date）：{late_zh}",
        f"{decided.en} (punish_decision_date): {late_en}")
    assert messages("CF202400020", "01-REQUIRED-penalty.illegal_fact") == (
        f"{fact.zh}（illegal_fact）：必填项为空",
        f"{fact.en} (illegal_fact): required value is missing")


# --------------------------------------------------------------------------- 8. staging at rest


def test_staged_records_are_private_and_go_once_their_batch_commits(built, monkeypatch,
                                                                     tmp_path):
    """Staged Parquet holds whole records (ID numbers): readable by the service user only,
    removed when the batch commits; a load task retried after its commit still answers."""
    import stat

    url = use_workspace(monkeypatch, built, tmp_path)
    staging = tmp_path / "staging"
    key = pipeline.FeedKey("GS-SCJG", "case_db", "enterprise")
    validated = pipeline.validate(pipeline.extract(key.department, key.source, key.dataset,
                                                   run_id="private"))
    staged = [path for path in staging.rglob("*") if path.is_file()]
    assert staged, "nothing was staged"
    for path in [*staged, *(p for p in staging.rglob("*") if p.is_dir()), staging]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path

    first = pipeline.load(validated)
    assert list(staging.rglob("*")) == []  # the run's folders went with the files
    again = pipeline.load(validated)  # an Airflow retry after the commit
    assert again["already_loaded"]
    assert {k: again[k] for k in ("extracted", "loaded", "quarantined", "inserted")} == {
        k: first[k] for k in ("extracted", "loaded", "quarantined", "inserted")}
    assert scalar(url, "SELECT count(*) FROM audit.batch") == 1


def test_a_staged_batch_lost_before_loading_is_a_clear_error(built, monkeypatch, tmp_path):
    use_workspace(monkeypatch, built, tmp_path)
    key = pipeline.FeedKey("GS-SCJG", "case_db", "enterprise")
    validated = pipeline.validate(pipeline.extract(key.department, key.source, key.dataset,
                                                   run_id="lost"))
    for path in (tmp_path / "staging").rglob("*.parquet"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match="never loaded; run the feed again"):
        pipeline.load(validated)
