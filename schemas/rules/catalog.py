"""Catalog codes (REFERENCE §2.1): 监管事项目录编码 and 检查实施清单编码."""

from __future__ import annotations

import numpy as np

from schemas.rules._arrays import as_str_series, missing_mask
from schemas.rules.uscc import check_uscc

SUPERVISE_LENGTH, SUPERVISE_DIGITS = 1, 2
SUPERVISE_REASONS: dict[int, tuple[str, str]] = {
    SUPERVISE_LENGTH: ("监管事项目录编码应为14位", "supervision item code must be 14 characters"),
    SUPERVISE_DIGITS: ("监管事项目录编码只能是数字", "supervision item code must be digits only"),
}

MAX_CHECK_LIST_LENGTH = 800
LIST_TOO_LONG, LIST_TOO_SHORT, LIST_USCC, LIST_LEVEL = 1, 2, 3, 4
CHECK_LIST_REASONS: dict[int, tuple[str, str]] = {
    LIST_TOO_LONG: ("检查实施清单编码超过800个字符",
                    "inspection list code is longer than 800 characters"),
    LIST_TOO_SHORT: ("检查实施清单编码不足19位",
                     "inspection list code is shorter than 19 characters"),
    LIST_USCC: ("检查实施清单编码第1-18位应为实施机构的统一社会信用代码",
                "inspection list code positions 1-18 must be the agency's unified social "
                "credit code"),
    LIST_LEVEL: ("检查实施清单编码第19位应为行使层级代码1-5",
                 "inspection list code position 19 must be an exercise level 1-5"),
}


def check_supervise_item_code(values) -> np.ndarray:
    """0 for exactly 14 ASCII digits (or a missing value), else a reason code."""
    series = as_str_series(values)
    lengths = series.str.len().to_numpy(dtype=float, na_value=0)
    digits = series.str.fullmatch(r"[0-9]+").to_numpy(dtype=bool, na_value=False)
    reasons = np.where(lengths != 14, SUPERVISE_LENGTH, np.where(digits, 0, SUPERVISE_DIGITS))
    reasons = reasons.astype(np.int8)
    reasons[missing_mask(series)] = 0
    return reasons


def check_check_list_code(values) -> np.ndarray:
    """0 when chars 1–18 are a valid USCC, char 19 is 1–5 and the length ≤ 800, else a reason."""
    series = as_str_series(values)
    lengths = series.str.len().to_numpy(dtype=float, na_value=0)
    reasons = np.zeros(len(series), dtype=np.int8)
    uscc_bad = check_uscc(series.str.slice(0, 18)) != 0
    level_ok = series.str.slice(18, 19).isin(["1", "2", "3", "4", "5"]).to_numpy(dtype=bool)
    reasons[~level_ok] = LIST_LEVEL
    reasons[uscc_bad] = LIST_USCC
    reasons[lengths < 19] = LIST_TOO_SHORT
    reasons[lengths > MAX_CHECK_LIST_LENGTH] = LIST_TOO_LONG
    reasons[missing_mask(series)] = 0
    return reasons
