"""The vectorised helpers behind Huiju's custom GX expectations, on inline data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from expectations.custom import (
    condition_mask,
    dates_in_order,
    list_bad_items,
    list_counts,
    present_mask,
)


def test_present_mask_treats_blank_text_as_missing():
    values = pd.Series(["a", "", "  ", None, "\u3000", " b "], dtype="str")
    assert present_mask(values).tolist() == [True, False, False, False, False, True]
    assert present_mask(pd.Series([True, None], dtype="boolean")).tolist() == [True, False]


def test_list_helpers_split_trim_and_skip_empty_elements():
    values = pd.Series(["01,02", "01, 77", None, "02,,", "", "88"], dtype="str")
    assert list_bad_items(values, {"01", "02"}).tolist() == [1, 5]
    assert list_counts(values).tolist() == [2, 2, 0, 1, 0, 1]


def test_dates_in_order_skips_missing_dates():
    d = pd.to_datetime
    frame = pd.DataFrame({
        "a": d(["2021-01-01", "2021-01-05", None, "2021-01-05", "2021-01-05"]),
        "b": d(["2021-01-02", None, "2021-01-01", "2021-01-04", "2021-01-05"]),
        "c": d(["2021-01-03", "2021-01-04", "2021-01-01", "2021-01-06", None]),
    }).astype("datetime64[s]")
    assert dates_in_order(frame).tolist() == [True, False, True, False, True]


def test_condition_mask_in_contains_present():
    frame = pd.DataFrame({"x": pd.Series(["01", "02,03", None, "102"], dtype="str")})
    assert condition_mask(frame, "x", when_in=["01"]).tolist() == [True, False, False, False]
    assert condition_mask(frame, "x", when_contains="02").tolist() == [False, True, False, False]
    assert condition_mask(frame, "x", when_present=False).tolist() == [False, False, True, False]
    assert np.asarray(condition_mask(frame, "x", when_present=True)).sum() == 3
