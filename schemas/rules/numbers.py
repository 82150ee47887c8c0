"""Numeric value rules: report years and percentages."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from schemas.rules._arrays import as_str_series, missing_mask
from schemas.rules.dates import today_in_china

FIRST_YEAR = 2000
YEAR_FORMAT, YEAR_RANGE = 1, 2
YEAR_REASONS: dict[int, tuple[str, str]] = {
    YEAR_FORMAT: ("年度应为4位数字", "year must be four digits"),
    YEAR_RANGE: ("年度应在2000年至明年之间", "year must lie between 2000 and next year"),
}

RATIO_NUMBER, RATIO_RANGE = 1, 2
RATIO_REASONS: dict[int, tuple[str, str]] = {
    RATIO_NUMBER: ("比例应为数字（百分数）", "ratio must be a number (percent)"),
    RATIO_RANGE: ("比例应在0到100之间", "ratio must lie between 0 and 100"),
}


def check_year(values, today: dt.date | None = None) -> np.ndarray:
    """0 for a 4-digit year from 2000 to next year (or a missing value), else a reason code."""
    series = as_str_series(values).str.strip()
    four = series.str.fullmatch(r"[0-9]{4}").to_numpy(dtype=bool, na_value=False)
    years = pd.to_numeric(series.where(four)).to_numpy(dtype=float, na_value=np.nan)
    last = (today or today_in_china()).year + 1
    reasons = np.where(four, 0, YEAR_FORMAT).astype(np.int8)
    reasons[four & ((years < FIRST_YEAR) | (years > last))] = YEAR_RANGE
    reasons[missing_mask(series)] = 0
    return reasons


def check_ratio(values) -> np.ndarray:
    """0 for a number 0–100 (a trailing ``%`` allowed) or a missing value, else a reason code."""
    series = as_str_series(values).str.strip().str.removesuffix("%").str.strip()
    numeric = series.str.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)").to_numpy(dtype=bool,
                                                                            na_value=False)
    numbers = pd.to_numeric(series.where(numeric)).to_numpy(dtype=float, na_value=np.nan)
    reasons = np.where(numeric, 0, RATIO_NUMBER).astype(np.int8)
    reasons[numeric & ((numbers < 0) | (numbers > 100))] = RATIO_RANGE
    reasons[missing_mask(series)] = 0
    return reasons
