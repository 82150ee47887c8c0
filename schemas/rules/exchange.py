"""Exchange control columns (REFERENCE §1): batch ids and i/u/d operation flags."""

from __future__ import annotations

import numpy as np

from schemas.rules._arrays import as_str_series, missing_mask
from schemas.rules.dates import real_dates

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
    series = as_str_series(values)
    parts = series.str.extract(
        r"^(?P<year>[0-9]{4})(?P<month>[0-9]{2})(?P<day>[0-9]{2})(?P<sequence>[0-9]{5})$")
    matched = parts["year"].notna().to_numpy(dtype=bool)
    numbers = parts.fillna("0").astype("int64").to_numpy()
    real, _ = real_dates(np.where(matched, numbers[:, 0], 2000), numbers[:, 1], numbers[:, 2])
    reasons = np.full(len(series), BATCH_FORMAT, dtype=np.int8)
    reasons[matched & real & (numbers[:, 3] >= 1)] = 0
    reasons[matched & real & (numbers[:, 3] < 1)] = BATCH_SEQUENCE
    reasons[matched & ~real] = BATCH_DATE
    reasons[missing_mask(series)] = 0
    return reasons


def check_operation(values) -> np.ndarray:
    """0 for ``i``, ``u`` or ``d`` (lower case, as exchanged) or a missing value, else 1."""
    series = as_str_series(values)
    reasons = np.where(series.isin(list(OPERATIONS)).to_numpy(dtype=bool), 0, OPERATION_UNKNOWN)
    reasons = reasons.astype(np.int8)
    reasons[missing_mask(series)] = 0
    return reasons
