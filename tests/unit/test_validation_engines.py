"""The vectorised engine lists exactly the rows Great Expectations lists, for every suite.

GX is the engine of record for what each rule means; the pipeline evaluates suites with the
vectorised checks behind them (``expectations.checks``). Here every data set's suite runs
through both, on frames where every quarantine rule is broken at its own row, business keys
repeat, and missing, empty and blank values are scattered over every column (GX leaves null
values out of a column expectation, and multicolumn ones by their ``ignore_row_if``): the
failing rows of every rule must be the same.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from expectations.suites import suite_dict
from expectations.testing.samples import break_rule, sample_frame
from expectations.validate import ValidationEngineError, run_suite, validate_frame
from schemas.catalog import dataset, datasets

NAMES = sorted(spec.name for spec in datasets())


def damaged_frame(spec, seed: int, blanks: bool = True) -> pd.DataFrame:
    """A sample of ``spec`` with every quarantine rule broken once, repeated business keys,
    and (``blanks``) missing, empty and blank values here and there."""
    rules = [e["meta"] for e in suite_dict(spec)["expectations"]
             if e["meta"]["outcome"] == "quarantine"]
    rows = len(rules) + 30
    frame = sample_frame(spec, rows, seed=seed)
    for row, meta in enumerate(rules):
        break_rule(frame, spec, meta, row)
    rng = np.random.default_rng(seed)
    key = list(spec.business_key)
    # an earlier clean row's key repeated by a later one: the earlier is superseded
    pairs = np.sort(rng.choice(np.arange(len(rules), rows), size=12, replace=False))
    for earlier, later in pairs.reshape(-1, 2):
        frame.loc[later, key] = frame.loc[earlier, key].to_numpy()
    for name in frame.columns if blanks else ():
        if name.startswith("_"):
            continue
        picked = rng.choice(rows, size=max(1, rows // 12), replace=False)
        frame.loc[picked[: len(picked) // 2], name] = None
        if pd.api.types.is_string_dtype(frame[name].dtype):
            frame.loc[picked[len(picked) // 2:], name] = rng.choice(["", "  ", "\u3000"])
    return frame


def failing_rows(frame: pd.DataFrame, spec, engine: str) -> dict[str, list[int]]:
    return {meta["rule_id"]: sorted(rows.tolist())
            for meta, rows in run_suite(frame, spec, engine)}


@pytest.mark.parametrize("name", NAMES)
def test_both_engines_fail_the_same_rows_of_every_rule(name):
    spec = dataset(name)
    for seed in (1, 2):
        frame = damaged_frame(spec, seed)
        vectorised = failing_rows(frame, spec, "vectorised")
        assert vectorised == failing_rows(frame, spec, "gx")
        assert sum(map(len, vectorised.values())) > 0


def test_the_engines_split_a_batch_alike():
    spec = dataset("penalty")
    frame = damaged_frame(spec, 3, blanks=False)
    fast, gx = (validate_frame(frame, spec, engine=engine) for engine in ("vectorised", "gx"))
    assert fast.counts == gx.counts and fast.counts["quarantined"] > 0
    assert fast.counts["superseded"] > 0
    pd.testing.assert_frame_equal(fast.quarantine, gx.quarantine)
    pd.testing.assert_frame_equal(fast.passed, gx.passed)
    pd.testing.assert_frame_equal(fast.superseded, gx.superseded)


def test_an_expectation_the_engine_cannot_evaluate_fails_the_batch(monkeypatch):
    from expectations import validate

    spec = dataset("penalty")
    suite = suite_dict(spec)
    broken = {**suite, "expectations": [*suite["expectations"], {
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "punish_action_code", "regex": "^CF"},
        "meta": {"rule_id": "01-REGEX-penalty.punish_action_code"}}]}
    monkeypatch.setattr(validate, "suite_dict", lambda _: broken)
    with pytest.raises(ValidationEngineError, match=r"01-REGEX-penalty\.punish_action_code"):
        validate_frame(sample_frame(spec, 5), spec)
    with pytest.raises(ValueError, match="unknown validation engine"):
        run_suite(sample_frame(spec, 5), spec, "fastest")


def test_validating_with_the_default_engine_does_not_import_great_expectations():
    code = ("import sys\n"
            "from huiju import pipeline\n"
            "from expectations.testing.samples import sample_frame\n"
            "from expectations.validate import validate_frame\n"
            "from schemas.catalog import dataset\n"
            "spec = dataset('penalty')\n"
            "outcome = validate_frame(sample_frame(spec, 20), spec)\n"
            "assert outcome.counts['passed'] == 20, outcome.counts\n"
            "print(sorted(m for m in sys.modules if m.startswith('great_expectations'))[:3])\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert shown.stdout.strip() == "[]", shown.stdout + shown.stderr


def test_the_engine_is_a_setting(monkeypatch):
    from huiju.settings import load_settings

    assert load_settings().validation_engine == "vectorised"
    monkeypatch.setenv("HUIJU_VALIDATION_ENGINE", "gx")
    assert load_settings().validation_engine == "gx"
    monkeypatch.setenv("HUIJU_VALIDATION_ENGINE", "fastest")
    with pytest.raises(ValueError, match="HUIJU_VALIDATION_ENGINE"):
        load_settings()
