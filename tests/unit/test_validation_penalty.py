"""Row-level validation of the penalty data set: every rule found in quarantine, by id and
message, alone and mixed; duplicates superseded; mapping issues merged; thresholds.

GX runs are slow to start (about a second per suite), so the tests share a few runs.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from expectations.suites import suite_dict
from expectations.testing.samples import break_rule, sample_frame, valid_values
from expectations.validate import (
    QUARANTINE_COLUMNS,
    AccountingError,
    Outcome,
    ThresholdBreached,
    Thresholds,
    ValidationEngineError,
    validate_frame,
)
from schemas.catalog import dataset

SPEC = dataset("penalty")
RULES = [e["meta"] for e in suite_dict(SPEC)["expectations"]]
QUARANTINE_RULES = [m for m in RULES if m["outcome"] == "quarantine"]


def balanced(outcome: Outcome) -> None:
    counts = outcome.counts
    assert counts["extracted"] == counts["passed"] + counts["quarantined"] + counts["superseded"]
    assert len(outcome.passed) == counts["passed"]
    assert len(outcome.superseded) == counts["superseded"]
    assert outcome.quarantine["row"].nunique() == counts["quarantined"]
    assert len(outcome.quarantine) == counts["failures"]
    assert list(outcome.quarantine.columns) == list(QUARANTINE_COLUMNS)


def rules_at(outcome: Outcome, row: int) -> set[str]:
    q = outcome.quarantine
    return set(q.loc[q["row"] == row, "rule_id"])


def failure(outcome: Outcome, row: int, rule_id: str) -> pd.Series:
    q = outcome.quarantine
    found = q[(q["row"] == row) & (q["rule_id"] == rule_id)]
    assert len(found) == 1, (rule_id, rules_at(outcome, row))
    return found.iloc[0]


def test_a_valid_sample_passes_whole():
    frame = sample_frame(SPEC, 50)
    outcome = validate_frame(frame, SPEC)
    balanced(outcome)
    assert outcome.counts == {"extracted": 50, "passed": 50, "quarantined": 0,
                              "superseded": 0, "failures": 0}
    pd.testing.assert_frame_equal(outcome.passed, frame)


@pytest.fixture(scope="module")
def mixed() -> tuple[pd.DataFrame, Outcome]:
    """One frame breaking every quarantine rule of the penalty suite, one rule per row,
    followed by ten clean rows."""
    frame = sample_frame(SPEC, len(QUARANTINE_RULES) + 10, seed=7)
    for row, meta in enumerate(QUARANTINE_RULES):
        break_rule(frame, SPEC, meta, row)
    return frame, validate_frame(frame, SPEC)


def test_every_penalty_rule_is_found_at_its_row(mixed):
    frame, outcome = mixed
    balanced(outcome)
    for row, meta in enumerate(QUARANTINE_RULES):
        found = failure(outcome, row, meta["rule_id"])
        assert found["family"] == meta["family"]
        assert found["field"] == "+".join(meta["fields"])
        assert found["message_zh"] and found["message_en"]
        assert found["_source_ref"] == f"sample:penalty#row={row}"
        assert found["_source_hash"] == frame["_source_hash"].iloc[row]
    broken = len(QUARANTINE_RULES)
    assert outcome.counts["quarantined"] == broken
    assert outcome.counts["passed"] == 10
    assert outcome.passed.index.tolist() == list(range(broken, broken + 10))


def test_every_rule_kind_of_penalty_is_exercised(mixed):
    _, outcome = mixed
    kinds = {m["kind"] for m in QUARANTINE_RULES}
    assert {"REQUIRED", "LENGTH", "CODE", "NONNEGATIVE", "SUPERVISEITEMCODE", "USCCORIDCARD",
            "USCC", "IDCARD", "GANSUDIVISIONCODE", "NOTFUTURE", "DATEORDER", "REQUIREDWHEN",
            "BATCHID", "OPERATION"} <= kinds
    assert set(outcome.quarantine["rule_id"]) >= {m["rule_id"] for m in QUARANTINE_RULES}


# Each alone: (what breaks, change to row 3, rule id, words of message_zh, of message_en)
USCC = valid_values("uscc", 1)[0]
BAD_CHECK = USCC[:17] + ("0" if USCC[17] != "0" else "1")
ID_CARD = valid_values("id_card", 1)[0]
ALONE = [
    ("missing business key", {"punish_action_code": None},
     "09-REQUIRED-penalty.punish_action_code", "必填项为空", "required value is missing"),
    ("blank required text", {"punish_action_name": "  "},
     "01-REQUIRED-penalty.punish_action_name", "必填项为空", "missing"),
    ("too long", {"punish_document_code": "文" * 101},
     "01-LENGTH-penalty.punish_document_code", "长度为101位，超过上限100位", "101 characters"),
    ("not a code", {"case_source": "99"},
     "01-CODE-penalty.case_source", "“99”不是代码表《案件来源》中的代码", "'99'"),
    ("one list element not a code", {"punish_type": "01,77"},
     "01-CODE-penalty.punish_type", "“77”", "'77'"),
    ("division not in table", {"area_code": "999999"},
     "01-CODE-penalty.area_code", "《行政区划代码》", "999999"),
    ("ID number for a legal person", {"administrative_cp_nature": "02",
                                      "administrative_cp_code": ID_CARD},
     "06-USCC-penalty.administrative_cp_code", "统一社会信用代码", "unified social credit"),
    ("USCC for a citizen", {"administrative_cp_nature": "01", "administrative_cp_code": USCC},
     "07-IDCARD-penalty.administrative_cp_code", "公民", "resident ID"),
    ("neither USCC nor ID", {"administrative_cp_code": "12345"},
     "06-USCCORIDCARD-penalty.administrative_cp_code",
     "既不是有效的统一社会信用代码，也不是有效的身份证号", "neither"),
    ("bad check character", {"administrative_cp_nature": "02", "administrative_cp_code": BAD_CHECK},
     "06-USCC-penalty.administrative_cp_code", "校验码（第18位）错误", "check character"),
    ("supervision item code with a letter", {"supervise_item_code": "62000000X00001"},
     "03-SUPERVISEITEMCODE-penalty.supervise_item_code", "数字", "digits"),
    ("decision in the future", {"punish_decision_date": pd.Timestamp("2099-01-01")},
     "10-NOTFUTURE-penalty.punish_decision_date", "晚于今天", "future"),
    ("closed before filed", {"case_filing_date": pd.Timestamp("2021-05-01"),
                             "closing_date": pd.Timestamp("2021-04-01"),
                             "submitted_date": pd.Timestamp("2021-06-01")},
     "10-DATEORDER-penalty.case_filing_date+closing_date+submitted_date",
     "closing_date=2021-04-01", "case_filing_date=2021-05-01"),
    ("fine without amount", {"punish_type": "01,02", "fine_amount": None},
     "08-REQUIREDWHEN-penalty.fine_amount", "罚款金额（fine_amount）为空", "fine_amount"),
    ("negative fine", {"fine_amount": Decimal("-5")},
     "01-NONNEGATIVE-penalty.fine_amount", "不得为负数：-5.00", "negative"),
    ("bad batch id", {"batch_id": "2024131200001"},
     "02-BATCHID-penalty.batch_id", "批次号", "batch"),
    ("bad operation", {"operation": "x"},
     "02-OPERATION-penalty.operation", "操作标识", "operation"),
    ("missing boolean", {"is_hearing": None},
     "01-REQUIRED-penalty.is_hearing", "是否听证", "Hearing held"),
]


@pytest.fixture(scope="module")
def alone() -> dict[str, tuple[pd.DataFrame, Outcome]]:
    """Each ALONE case in its own frame (validated once, for the whole module)."""
    runs = {}
    for name, change, *_ in ALONE:
        frame = sample_frame(SPEC, 8, seed=3)
        for column, value in change.items():
            frame.loc[3, column] = value
        runs[name] = frame, validate_frame(frame, SPEC)
    return runs


@pytest.mark.parametrize(("name", "change", "rule_id", "zh", "en"), ALONE,
                         ids=[case[0] for case in ALONE])
def test_each_rule_alone(alone, name, change, rule_id, zh, en):
    _, outcome = alone[name]
    balanced(outcome)
    assert set(outcome.quarantine["row"]) == {3}
    assert outcome.counts["passed"] == 7
    found = failure(outcome, 3, rule_id)
    assert zh in found["message_zh"], found["message_zh"]
    assert en in found["message_en"], found["message_en"]


def test_duplicates_resolve_to_the_latest_row():
    frame = sample_frame(SPEC, 10, seed=5)
    key = frame["punish_action_code"]
    frame.loc[[1, 4, 8], "punish_action_code"] = key[8]  # 1 and 4 superseded by 8
    frame.loc[[2, 9], "punish_action_code"] = key[9]
    frame.loc[2, "case_source"] = "99"  # an earlier row that fails: quarantined, not superseded
    frame.loc[[3, 6], "punish_action_code"] = key[6]
    frame.loc[6, "operation"] = "x"  # the latest fails: the earlier one is still superseded
    outcome = validate_frame(frame, SPEC)
    balanced(outcome)
    assert outcome.superseded.index.tolist() == [1, 3, 4]
    assert outcome.superseded["superseded_by"].tolist() == [8, 6, 8]
    assert sorted(set(outcome.quarantine["row"])) == [2, 6]
    assert outcome.passed.index.tolist() == [0, 5, 7, 8, 9]
    assert "05-LATEST-penalty.punish_action_code" not in set(outcome.quarantine["rule_id"])


def test_mapping_issues_are_merged_and_the_frame_index_is_kept():
    frame = sample_frame(SPEC, 6, seed=9)
    frame.index = [f"r{i}" for i in range(6)]
    frame.iloc[1, frame.columns.get_loc("case_source")] = "99"
    issues = pd.DataFrame({
        "row": [4, 4], "rule_id": ["01-TYPE-penalty.fine_amount", "10-DATE-penalty.closing_date"],
        "field": ["fine_amount", "closing_date"], "message_zh": ["金额无法识别", "日期无法识别"],
        "message_en": ["not an amount", "not a date"], "raw_value": ["12,3元x", "2021-13-45"],
    })
    outcome = validate_frame(frame, SPEC, issues=issues)
    balanced(outcome)
    assert outcome.counts["quarantined"] == 2 and outcome.counts["failures"] == 3
    mapped = outcome.quarantine[outcome.quarantine["row"] == 4]
    assert mapped["family"].tolist() == ["01", "10"]
    assert mapped["_source_ref"].tolist() == ["sample:penalty#row=4"] * 2
    assert outcome.passed.index.tolist() == ["r0", "r2", "r3", "r5"]
    assert outcome.failures_by_rule["01-TYPE-penalty.fine_amount"] == 1

    with pytest.raises(AccountingError):
        validate_frame(frame, SPEC, issues=issues.assign(row=[4, 6]))


def test_thresholds_flag_the_run_and_keep_the_quarantine():
    frame = sample_frame(SPEC, 20, seed=11)
    frame.loc[[0, 1, 2], "case_source"] = "99"
    outcome = validate_frame(frame, SPEC, thresholds=Thresholds(max_ratio=0.1, min_batch_size=10))
    assert outcome.threshold_breached == (
        "penalty: 3 of 20 rows quarantined (15.00%), more than the allowed 10.00% "
        "(applies from 10 rows)")
    assert outcome.counts["quarantined"] == 3 and len(outcome.passed) == 17
    with pytest.raises(ThresholdBreached, match="3 of 20"):
        outcome.raise_for_threshold()


def test_threshold_rules():
    assert Thresholds(max_count=2).breach("x", 3, 1000) == (
        "x: 3 of 1000 rows quarantined (0.30%), more than the allowed 2 rows")
    assert Thresholds(max_count=3).breach("x", 3, 1000) is None
    assert Thresholds(max_ratio=0.1, min_batch_size=100).breach("x", 5, 10) is None
    assert Thresholds(max_ratio=0.1).breach("x", 2, 10) is not None
    assert Thresholds().breach("x", 10, 10) is None
    assert Thresholds.from_mapping({"max_ratio": 0.05}) == Thresholds(max_ratio=0.05)
    with pytest.raises(ValueError, match="unknown threshold"):
        Thresholds.from_mapping({"max_rows": 1})


def test_an_expectation_gx_cannot_evaluate_fails_the_batch():
    frame = sample_frame(SPEC, 5)
    frame["closing_date"] = pd.Series(["not a date"] * 5, dtype="str")
    with pytest.raises(ValidationEngineError, match="10-DATEORDER-penalty"):
        validate_frame(frame, SPEC)


def test_a_frame_without_the_standard_columns_is_refused():
    frame = sample_frame(SPEC, 3).drop(columns=["operation"])
    with pytest.raises(ValueError, match="operation"):
        validate_frame(frame, SPEC)


def test_failures_come_from_the_engine_result(monkeypatch):
    """Only the rows the suite's engine reports are quarantined (no second judgement)."""
    import expectations.validate as module

    frame = sample_frame(SPEC, 6)
    frame.loc[2, "case_source"] = "99"
    real = module.run_suite

    def without_case_source(work, spec, engine):
        return [(meta, rows if meta["rule_id"] != "01-CODE-penalty.case_source"
                 else np.zeros(0, dtype=np.int64)) for meta, rows in real(work, spec, engine)]

    monkeypatch.setattr(module, "run_suite", without_case_source)
    assert validate_frame(frame, SPEC).counts["quarantined"] == 0


def test_an_empty_batch_balances():
    outcome = validate_frame(sample_frame(SPEC, 2).iloc[0:0], SPEC)
    balanced(outcome)
    assert outcome.counts["extracted"] == 0 and outcome.threshold_breached is None


def test_a_required_field_missing_in_most_rows_is_quarantined_not_a_gx_error():
    """More rows lacking a required value than having one (a batch of rejected files beside a
    few good rows: their rows are all missing) made GX's percent over the non-missing rows
    exceed 100 % and refuse the result ("Invalid result values…")."""
    frame = sample_frame(SPEC, 7)
    frame.loc[[1, 2, 4, 5, 6], "punish_action_code"] = None
    outcome = validate_frame(frame, SPEC)
    balanced(outcome)
    assert outcome.counts["passed"] == 2 and outcome.counts["quarantined"] == 5
    assert all("09-REQUIRED-penalty.punish_action_code" in rules_at(outcome, row)
               for row in (1, 2, 4, 5, 6))
