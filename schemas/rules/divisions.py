"""Gansu administrative divisions (GB/T 2260, REFERENCE §5) and the 兰州新区 decision.

``GANSU`` is taken from the national code table ``行政区划代码`` (codes 62xxxx): the province
620000, 14 prefecture-level units and 86 county-level units — 101 codes.

兰州新区 (Lanzhou New Area) is a national-level new area, not a GB/T 2260 division. Huiju keeps
it as a reporting unit of its own with the internal (NBS statistical) code ``620171``; where
the national standard needs a 6-digit 行政区划代码, ``to_national_division`` emits ``620100``
兰州市. ``620171`` is therefore *not* a valid value of a division-code field.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from schemas.code_tables import code_table
from schemas.rules._arrays import as_str_series, missing_mask

PROVINCE = "620000"
LANZHOU_NEW_AREA = "620171"  # internal reporting-unit code (统计用区划代码), not GB/T 2260
LANZHOU_NEW_AREA_NATIONAL = "620100"
LANZHOU_NEW_AREA_NAME = "兰州新区"


@cache
def gansu_divisions() -> dict[str, str]:
    """Gansu's GB/T 2260 codes (province, prefectures, counties) → names."""
    return {code: label for code, label in sorted(code_table("行政区划代码").labels.items())
            if code.startswith("62") and len(code) == 6}


def prefectures() -> dict[str, str]:
    """The 14 prefecture-level units (codes ending in 00, except the province)."""
    return {c: n for c, n in gansu_divisions().items() if c.endswith("00") and c != PROVINCE}


def counties() -> dict[str, str]:
    """The 86 county-level units."""
    return {c: n for c, n in gansu_divisions().items() if not c.endswith("00")}


def prefecture_of(code: str) -> str:
    """The prefecture a Gansu code belongs to (itself for a prefecture; 620100 for 620171)."""
    if code == LANZHOU_NEW_AREA:
        return LANZHOU_NEW_AREA_NATIONAL
    return code[:4] + "00"


GANSU = gansu_divisions()

NOT_SIX_DIGITS, NOT_GANSU, NEW_AREA = 1, 2, 3
REASONS: dict[int, tuple[str, str]] = {
    NOT_SIX_DIGITS: ("行政区划代码应为6位数字", "division code must be six digits"),
    NOT_GANSU: ("不是甘肃省的行政区划代码（省、14个市州、86个县区）",
                "not a Gansu division code (province, 14 prefectures, 86 counties)"),
    NEW_AREA: ("620171（兰州新区）是内部统计用代码，需报送国家标准代码时应为620100",
               "620171 (Lanzhou New Area) is an internal statistical code; report 620100"),
}


def check_gansu_division(values) -> np.ndarray:
    """0 for one of Gansu's 101 GB/T 2260 codes (or a missing value), else a reason code."""
    series = as_str_series(values)
    reasons = np.zeros(len(series), dtype=np.int8)
    six = series.str.fullmatch(r"[0-9]{6}").to_numpy(dtype=bool, na_value=False)
    known = series.isin(list(GANSU)).to_numpy(dtype=bool)
    reasons[~six] = NOT_SIX_DIGITS
    reasons[six & ~known] = NOT_GANSU
    reasons[(series == LANZHOU_NEW_AREA).to_numpy(dtype=bool, na_value=False)] = NEW_AREA
    reasons[missing_mask(series)] = 0
    return reasons


def to_national_division(values) -> pd.Series:
    """Division codes fit for the national exchange: 620171 兰州新区 becomes 620100 兰州市.

    Every other value is returned unchanged (validation, not this function, rejects bad codes).
    """
    series = as_str_series(values)
    return series.mask(series == LANZHOU_NEW_AREA, LANZHOU_NEW_AREA_NATIONAL)
