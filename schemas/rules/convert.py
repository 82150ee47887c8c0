"""Conversions of legacy text to standard values: decimals, integers, yes/no, timestamps.

Each takes a column of legacy text (pandas ``str``, already mapped through the feed's value
map) and returns the standard values with a mask of the values that could not be converted
(those become quarantine issues; a missing value is never a failure here). They sit beside
the value rules so that the mapping (``huiju.mapping``) and the department-file checks
(``huiju.departments``: is a configured constant a yes/no word?) read the same words.
Amounts (元/万元) are ``schemas.rules.amounts.to_yuan``; dates ``schemas.rules.dates``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.rules.dates import parse_dates

# The words a yes/no field understands (after NFKC, trim and lower-casing).
TRUE_WORDS = ("是", "1", "y", "yes", "true", "t")
FALSE_WORDS = ("否", "0", "n", "no", "false", "f")
BOOLEAN_WORDS = frozenset(TRUE_WORDS + FALSE_WORDS)
# Legacy timestamps without a zone are Beijing time.
LEGACY_TZ = "Asia/Shanghai"
UTC_MICROS = pd.DatetimeTZDtype("us", "UTC")

__all__ = ["BOOLEAN_WORDS", "FALSE_WORDS", "LEGACY_TZ", "TRUE_WORDS", "UTC_MICROS",
           "to_boolean", "to_datetime", "to_decimal", "to_integer"]


def to_decimal(text: pd.Series, precision: int, scale: int) -> tuple[pd.Series, np.ndarray]:
    """Exact ``decimal128(precision, scale)`` values (rounded half to even), and a bad mask.

    For non-amount decimals (coordinates, capital in a stated unit …).
    """
    dtype = pa.decimal128(precision, scale)
    clean = text.str.normalize("NFKC").str.strip().str.replace(",", "", regex=False)
    whole = precision - scale
    ok = clean.str.fullmatch(rf"[+-]?\d{{1,{whole}}}(?:\.\d{{1,18}})?").to_numpy(
        dtype=bool, na_value=False)
    present = clean.notna().to_numpy(dtype=bool)
    out = pa.nulls(len(text), dtype)
    if ok.any():
        wide = pc.cast(pa.array(clean[ok].to_numpy(dtype=object)), pa.decimal128(38, 18))
        rounded = pc.round(wide, ndigits=scale, round_mode="half_to_even")
        narrowed = pc.cast(rounded, dtype)
        indices = np.flatnonzero(ok)
        out = pc.replace_with_mask(out, pa.array(ok), narrowed) if len(indices) else out
    return pd.Series(pd.array(out, dtype=pd.ArrowDtype(dtype))), present & ~ok


def to_integer(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Whole numbers (``Int64``; ``12.0`` is 12, thousands commas dropped), and a bad mask."""
    clean = text.str.normalize("NFKC").str.strip().str.replace(",", "", regex=False)
    ok = clean.str.fullmatch(r"[+-]?\d{1,18}(?:\.0*)?").to_numpy(dtype=bool, na_value=False)
    numbers = pd.to_numeric(clean.str.replace(r"\.0*$", "", regex=True).where(ok),
                            errors="coerce").astype("Int64")
    return numbers, clean.notna().to_numpy(dtype=bool) & ~ok


def to_boolean(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """True/False from the yes/no words (``是``/``否``, 1/0, y/n …), and a bad mask."""
    key = text.str.normalize("NFKC").str.strip().str.lower()
    mapping = dict.fromkeys(TRUE_WORDS, True) | dict.fromkeys(FALSE_WORDS, False)
    values = key.map(mapping).astype("boolean")
    return values, (key.notna() & values.isna()).to_numpy(dtype=bool)


def to_datetime(text: pd.Series, column: pa.ChunkedArray | None = None) -> tuple[
        pd.Series, np.ndarray]:
    """UTC timestamps (µs) from ISO or Chinese date text, else from a typed ``column``.

    A timestamp without a zone is Beijing time (``LEGACY_TZ``). Returns the values and a
    mask of the texts that are not a recognisable timestamp.
    """
    if column is not None and pa.types.is_timestamp(column.type):
        values = column.to_pandas()
        if values.dt.tz is None:
            values = values.dt.tz_localize(LEGACY_TZ)
        return values.dt.tz_convert("UTC").astype(UTC_MICROS), np.zeros(len(values), dtype=bool)
    clean = text.str.normalize("NFKC").str.strip()
    parsed = pd.to_datetime(clean, format="ISO8601", errors="coerce")
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(LEGACY_TZ)
    dates, _ = parse_dates(clean[parsed.isna()])
    values = parsed.dt.tz_convert("UTC").astype(UTC_MICROS)
    if len(dates):
        values[parsed.isna()] = dates.dt.tz_localize(LEGACY_TZ).dt.tz_convert("UTC")
    return values, (clean.notna() & values.isna()).to_numpy(dtype=bool)
