"""The stage contract (``schemas.frames``) is the one the stages use."""

from __future__ import annotations

import pytest

from schemas import frames


def test_one_accounting_error_for_validation_and_the_warehouse():
    from expectations import validate
    from warehouse import load

    assert validate.AccountingError is frames.AccountingError
    assert load.AccountingError is frames.AccountingError


def test_suites_and_mapping_name_rules_with_the_contract():
    from expectations.suites import suite_dict
    from schemas.catalog import dataset

    for expectation in suite_dict(dataset("penalty"))["expectations"]:
        meta = expectation["meta"]
        assert meta["rule_id"] == frames.rule_id(meta["family"], meta["kind"], "penalty",
                                                 meta["fields"])


def test_quarantine_shapes_share_the_failure_columns():
    assert frames.QUARANTINE_COLUMNS[:len(frames.ISSUE_COLUMNS)] == frames.ISSUE_COLUMNS
    assert set(frames.LOAD_QUARANTINE_COLUMNS) - set(frames.QUARANTINE_COLUMNS) == {
        frames.RECORD}


def test_a_kind_with_a_hyphen_would_make_ids_ambiguous():
    with pytest.raises(ValueError, match="must not contain"):
        frames.rule_id("01", "BAD-KIND", "penalty", ["x"])
