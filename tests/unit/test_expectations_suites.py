"""The GX suites generated from the schema: current, well-formed, loadable, ids as documented."""

from __future__ import annotations

import json
import re

import pytest

from expectations.suites import (
    SUITES_DIR,
    stale_suites,
    suite_dict,
    suite_json,
    write_suites,
)
from schemas.catalog import dataset, datasets
from schemas.model import CHECK_FAMILIES

RULE_ID = re.compile(r"^(?P<family>\d{2})-(?P<kind>[A-Z0-9]+)-(?P<dataset>[a-z0-9_]+)\."
                     r"(?P<fields>[a-z0-9_]+(?:\+[a-z0-9_]+)*)$")


def test_checked_in_suites_are_current():
    assert stale_suites() == [], "run `huiju expectations generate`"


def test_generate_check_exits_1_on_a_stale_suite(tmp_path):
    write_suites(tmp_path)
    assert stale_suites(tmp_path) == []
    path = tmp_path / "penalty.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    suite["expectations"].pop()
    path.write_text(json.dumps(suite), encoding="utf-8")
    (tmp_path / "gone.json").write_text("{}", encoding="utf-8")
    (tmp_path / "enterprise.json").unlink()
    assert stale_suites(tmp_path) == ["enterprise (missing)", "penalty (differs)", "gone (orphan)"]


def test_cli_check_reports_current_suites(capsys):
    from huiju.cli import main

    assert main(["expectations", "generate", "--check"]) == 0
    assert str(SUITES_DIR) in capsys.readouterr().out


def test_generation_is_deterministic():
    spec = dataset("penalty")
    assert suite_json(spec) == suite_json(spec)


@pytest.mark.parametrize("spec", datasets(), ids=lambda s: s.name)
def test_every_rule_has_a_well_formed_unique_id_and_meta(spec):
    metas = [e["meta"] for e in suite_dict(spec)["expectations"]]
    ids = [m["rule_id"] for m in metas]
    assert len(ids) == len(set(ids))
    for meta in metas:
        match = RULE_ID.match(meta["rule_id"])
        assert match, meta["rule_id"]
        assert match["family"] == meta["family"] and meta["family"] in CHECK_FAMILIES
        assert match["kind"] == meta["kind"] and match["dataset"] == spec.name
        assert match["fields"].split("+") == meta["fields"]
        assert meta["zh"] and meta["en"]
        assert meta["family_zh"] == CHECK_FAMILIES[meta["family"]][0]
        assert meta["outcome"] in ("quarantine", "supersede")


def test_penalty_rule_ids_and_families():
    metas = {e["meta"]["rule_id"]: e for e in suite_dict(dataset("penalty"))["expectations"]}
    expected = {
        "09-REQUIRED-penalty.punish_action_code": "expect_column_values_to_be_present",
        "01-REQUIRED-penalty.punish_action_name": "expect_column_values_to_be_present",
        "02-REQUIRED-penalty.batch_id": "expect_column_values_to_be_present",
        "01-LENGTH-penalty.punish_document_code": "expect_column_value_lengths_to_be_between",
        "01-LENGTH-penalty.supervise_item_code": "expect_column_value_lengths_to_equal",
        "01-CODE-penalty.case_source": "expect_column_values_to_be_in_set",
        "01-CODE-penalty.area_code": "expect_column_values_to_be_in_code_table",
        "01-CODE-penalty.punish_type": "expect_column_list_items_to_be_in_set",
        "01-NONNEGATIVE-penalty.fine_amount": "expect_column_values_to_not_be_negative",
        "03-SUPERVISEITEMCODE-penalty.supervise_item_code": "expect_column_values_to_pass_rule",
        "06-USCCORIDCARD-penalty.administrative_cp_code": "expect_column_values_to_pass_rule",
        "06-USCC-penalty.administrative_cp_code": "expect_column_values_to_pass_rule_when",
        "07-IDCARD-penalty.administrative_cp_code": "expect_column_values_to_pass_rule_when",
        "10-NOTFUTURE-penalty.punish_decision_date": "expect_column_values_to_pass_rule",
        "10-DATEORDER-penalty.case_filing_date+closing_date+submitted_date":
            "expect_multicolumn_dates_to_be_ordered",
        "08-REQUIREDWHEN-penalty.fine_amount": "expect_multicolumn_values_to_be_present_when",
        "02-BATCHID-penalty.batch_id": "expect_column_values_to_pass_rule",
        "02-OPERATION-penalty.operation": "expect_column_values_to_pass_rule",
        "05-LATEST-penalty.punish_action_code": "expect_column_values_to_be_latest_for_key",
    }
    for rule_id, type_ in expected.items():
        assert metas[rule_id]["type"] == type_, rule_id
    assert metas["05-LATEST-penalty.punish_action_code"]["meta"]["outcome"] == "supersede"
    when = metas["06-USCC-penalty.administrative_cp_code"]["kwargs"]
    assert when["when_column"] == "administrative_cp_nature" and when["when_in"] == ["02", "03"]


def test_inspection_officers_need_two():
    metas = {e["meta"]["rule_id"]: e for e in suite_dict(dataset("inspection"))["expectations"]}
    items = metas["01-ITEMS-inspection.check_personnel"]
    assert items["type"] == "expect_column_list_to_have_min_items"
    assert items["kwargs"]["min_items"] == 2
    assert "01-ITEMS-inspection.law_enforcement_cert_no" in metas


@pytest.mark.parametrize("spec", datasets(), ids=lambda s: s.name)
def test_checked_in_suite_loads_into_gx(spec):
    from expectations import custom  # noqa: F401  (registers the custom expectations)
    from expectations._gx import gx

    data = json.loads((SUITES_DIR / f"{spec.name}.json").read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(name=data["name"], expectations=data["expectations"],
                                meta=data["meta"])
    assert len(suite.expectations) == len(data["expectations"])
    assert {e.meta["rule_id"] for e in suite.expectations} == {
        e["meta"]["rule_id"] for e in data["expectations"]}
