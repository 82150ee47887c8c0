"""Exchange control columns (REFERENCE §1): batch ids and i/u/d operation flags."""

from __future__ import annotations

import numpy as np

from schemas.rules._arrays import (
    arrow_strings,
    as_str_series,
    char_matrix,
    columns,
    missing_mask,
    weighted_sum,
)
from schemas.rules.dates import is_real_date

BATCH_FORMAT, BATCH_DATE, BATCH_SEQUENCE = 1, 2, 3
BATCH_REASONS: dict[int, tuple[str, str]] = {
    BATCH_FORMAT: ("批次号应为13位数字（YYYYMMDD+5位序号）",
                   "batch id must be 13 digits (YYYYMMDD + 5-digit sequence)"),
    BATCH_DATE: ("批次号前8位不是有效日期", "batch id: the first 8 digits are no real date"),
    BATCH_SEQUENCE: ("批次号序号应从00001开始", "batch id sequence must be 00001 or more"),
}

OPERATIONS = ("i", "u", "d")
OPERATION_UNKNOWN = 1
OPERATION_REASONS: dict[int, tuple[str, str]] = {
    OPERATION_UNKNOWN: ("操作标识应为 i（新增）、u（更新）或 d（删除）",
                        "operation must be i (insert), u (update) or d (delete)"),
}


def check_batch_id(values) -> np.ndarray:
    """0 for ``YYYYMMDD`` (a real date) + a 5-digit sequence ≥ 00001, else a reason code."""
    array = arrow_strings(values)
    reasons = np.full(len(array), BATCH_FORMAT, dtype=np.int8)
    rows, matrix = char_matrix(array, 13)
    digits = columns(matrix) - np.uint8(ord("0"))  # non-digits wrap to values above 9
    all_digits = digits.max(axis=0, initial=0) <= 9
    number = digits.astype(np.int64)
    year = number[0] * 1000 + number[1] * 100 + number[2] * 10 + number[3]
    month = number[4] * 10 + number[5]
    day = number[6] * 10 + number[7]
    sequence = weighted_sum(digits[8:], [10_000, 1_000, 100, 10, 1])
    conditions = [~all_digits, ~is_real_date(year, month, day), sequence < 1]
    reasons[rows] = np.select(conditions, [BATCH_FORMAT, BATCH_DATE, BATCH_SEQUENCE], 0)
    reasons[missing_mask(array)] = 0
    return reasons


def check_operation(values) -> np.ndarray:
    """0 for ``i``, ``u`` or ``d`` (lower case, as exchanged) or a missing value, else 1."""
    series = as_str_series(values)
    reasons = np.where(series.isin(list(OPERATIONS)).to_numpy(dtype=bool), 0, OPERATION_UNKNOWN)
    reasons = reasons.astype(np.int8)
    reasons[missing_mask(series)] = 0
    return reasons
