"""Validation beyond penalty: a subject data set (enterprise) and inspection (≥2 officers)."""

from __future__ import annotations

import pandas as pd

from expectations.suites import suite_dict
from expectations.testing.samples import break_rule, sample_frame
from expectations.validate import validate_frame
from schemas.catalog import dataset


def _quarantine_rules(spec):
    return [e["meta"] for e in suite_dict(spec)["expectations"]
            if e["meta"]["outcome"] == "quarantine"]


def _every_rule_at_its_row(spec):
    rules = _quarantine_rules(spec)
    frame = sample_frame(spec, len(rules) + 5, seed=2)
    for row, meta in enumerate(rules):
        break_rule(frame, spec, meta, row)
    outcome = validate_frame(frame, spec)
    counts = outcome.counts
    assert counts["extracted"] == counts["passed"] + counts["quarantined"] + counts["superseded"]
    q = outcome.quarantine
    for row, meta in enumerate(rules):
        assert meta["rule_id"] in set(q.loc[q["row"] == row, "rule_id"]), meta["rule_id"]
    assert counts["quarantined"] == len(rules) and counts["passed"] == 5
    return outcome


def test_enterprise_every_rule():
    outcome = _every_rule_at_its_row(dataset("enterprise"))
    ids = set(outcome.quarantine["rule_id"])
    assert {"09-REQUIRED-enterprise.pripid", "06-USCC-enterprise.uscc",
            "07-IDCARD-enterprise.liaison_id_card_no",
            "10-DATEORDER-enterprise.op_term_from+op_term_to"} <= ids


def test_enterprise_uscc_message_names_the_problem():
    spec = dataset("enterprise")
    frame = sample_frame(spec, 4)
    code = frame.loc[1, "uscc"]
    frame.loc[1, "uscc"] = code[:17] + ("0" if code[17] != "0" else "1")
    frame.loc[2, "pripid"] = frame.loc[3, "pripid"]
    outcome = validate_frame(frame, spec)
    q = outcome.quarantine
    assert q["rule_id"].tolist() == ["06-USCC-enterprise.uscc"]
    assert q["message_zh"].iloc[0] == (
        "统一社会信用代码（uscc）：统一社会信用代码校验码（第18位）错误")
    assert outcome.superseded.index.tolist() == [2]
    assert outcome.counts == {"extracted": 4, "passed": 2, "quarantined": 1, "superseded": 1,
                              "failures": 1}


def test_inspection_every_rule():
    _every_rule_at_its_row(dataset("inspection"))


def test_inspection_needs_two_officers_and_their_certificates():
    spec = dataset("inspection")
    frame = sample_frame(spec, 4)
    frame.loc[1, "check_personnel"] = "张三"
    frame.loc[2, "law_enforcement_cert_no"] = "62010001, "
    frame.loc[3, "check_personnel"] = "张三,李四,王五"
    outcome = validate_frame(frame, spec)
    q = outcome.quarantine.set_index("row")
    assert q.loc[1, "rule_id"] == "01-ITEMS-inspection.check_personnel"
    assert q.loc[1, "message_zh"] == "检查人员（check_personnel）：只有1项，至少应有2项"
    assert q.loc[2, "rule_id"] == "01-ITEMS-inspection.law_enforcement_cert_no"
    assert outcome.passed.index.tolist() == [0, 3]
    assert isinstance(outcome.passed, pd.DataFrame)
