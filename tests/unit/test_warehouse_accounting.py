"""A load request is checked before anything is written: its accounting must balance."""

from __future__ import annotations

import pandas as pd
import pytest

from schemas.catalog import dataset
from warehouse.load import AccountingError, check_accounting
from warehouse.testing.synthetic import load_request, quarantine_frame, standard_frame

SPEC = dataset("penalty")


def request(**kwargs):
    return load_request("penalty", standard_frame("penalty", range(4)), batch_id="2026010100001",
                        **kwargs)


def test_a_balanced_request_passes_and_counts_quarantined_records_once():
    failed = standard_frame("penalty", [7, 8])
    req = request(quarantined=failed, superseded=standard_frame("penalty", [9]))
    # two rules failing on the same record are one quarantined record
    req.quarantine = pd.concat([req.quarantine, quarantine_frame(failed.iloc[:1], rule_id="x")],
                               ignore_index=True)
    assert check_accounting(SPEC, req) == 2
    assert req.extracted == 4 + 2 + 1


@pytest.mark.parametrize(("spoil", "message"), [
    (lambda r: setattr(r, "extracted", r.extracted + 1), "does not balance"),
    (lambda r: setattr(r, "raw", r.raw.iloc[1:]), "raw holds"),
    (lambda r: setattr(r, "rows", r.rows.drop(columns=["area_code"])), "lacks columns"),
    (lambda r: r.rows.__setitem__("operation", "x"), "operation must be"),
    (lambda r: r.rows.__setitem__("punish_action_code", "same"), "repeat a business key"),
    (lambda r: r.rows.__setitem__("punish_action_code", None), "empty business key"),
])
def test_a_spoilt_request_is_refused(spoil, message):
    req = request()
    spoil(req)
    with pytest.raises(AccountingError, match=message):
        check_accounting(SPEC, req)


def test_a_record_cannot_both_pass_and_fail():
    req = request()
    failed = quarantine_frame(req.rows.iloc[:1])
    req.quarantine = failed
    req.rows = req.rows.iloc[1:]
    req.extracted = len(req.rows) + 1
    assert check_accounting(SPEC, req) == 1
    req.rows = pd.concat([req.rows, request().rows.iloc[:1]], ignore_index=True)
    req.extracted += 1
    req.raw = pd.concat([req.raw, req.raw.iloc[:1]], ignore_index=True)
    with pytest.raises(AccountingError, match="both passed and quarantined"):
        check_accounting(SPEC, req)


def test_rows_must_carry_the_batch_id_they_are_loaded_under():
    # provenance reads "which batch wrote this version" from the row's batch_id
    req = request()
    req.rows.loc[2, "batch_id"] = "2025123100009"
    with pytest.raises(AccountingError, match="batch_id other than 2026010100001"):
        check_accounting(SPEC, req)
