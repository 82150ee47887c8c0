"""Dates as legacy systems write them, parsed column-wise (REFERENCE §6).

Recognised without configuration: ``2021-03-26``, ``2021年3月26日``, ``2021.3.26``,
``2021/3/26`` (one- or two-digit month and day, any of ``-./`` as separator, an optional time
part such as ``2021-03-26 00:00:00.0`` which is dropped), ``20210326``, Excel serial day numbers
(1..2958465, counted from the 1899-12-30 epoch; a fraction, the time of day, is dropped), and the
open-ended markers 长期 / 永久 / 长期有效 / 9999-12-31, which become 9999-12-31.

A bare number is always an Excel serial: ``2021.3`` is day 2021.3 (1905-07-13), not March
2021 — a year and month alone is no date. The 1899-12-30 epoch is exact from serial 61
(1900-03-01) on; below that Excel counts its fictitious 1900-02-29, so serials 1–60 come out a
day earlier than Excel shows them (irrelevant for supervision data).

Each pattern is one regular expression applied to the whole column; the date is assembled with
numpy, so nothing guesses a format per value (no dateutil).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.rules._arrays import arrow_strings, as_str_series, char_matrix, columns

OPEN_ENDED = np.datetime64("9999-12-31", "s")
OPEN_ENDED_WORDS = ("长期", "永久", "长期有效", "永久有效", "无固定期限", "无期限")
_OPEN_ENDED_SET = pa.array(OPEN_ENDED_WORDS, type=pa.large_string())
CHINA = ZoneInfo("Asia/Shanghai")
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
EXCEL_MAX_SERIAL = 2958465  # 9999-12-31

_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
# One alternative per layout, each with its own named groups (y0/m0/d0 …): RE2, which runs
# the pyarrow kernels, has no back-references, so each separator gets its own alternative.
_LAYOUTS = (
    r"(?P<yN>[0-9]{4})年(?P<mN>[0-9]{1,2})月(?P<dN>[0-9]{1,2})日?" + _TIME,
    *(r"(?P<yN>[0-9]{4})" + sep + r"(?P<mN>[0-9]{1,2})" + sep + r"(?P<dN>[0-9]{1,2})" + _TIME
      for sep in ("-", r"\.", "/")),
    r"(?P<yN>[0-9]{4})(?P<mN>[0-9]{2})(?P<dN>[0-9]{2})",
)
_YMD = "^(?:" + "|".join(
    layout.replace("N>", f"{i}>") for i, layout in enumerate(_LAYOUTS)) + ")$"
_GROUPS = [[f"{part}{i}" for i in range(len(_LAYOUTS))] for part in "ymd"]
_SERIAL = r"^[0-9]{1,7}(?:\.[0-9]+)?$"


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def is_real_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """True where integer year/month/day arrays name a real (proleptic Gregorian) date, year 1
    or later."""
    month_ok = (month >= 1) & (month <= 12) & (year >= 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days_in_month = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    return month_ok & (day >= 1) & (day <= days_in_month)


def real_dates(year: np.ndarray, month: np.ndarray,
               day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(is_real, datetime64[D])`` for integer year/month/day arrays (NaT where not real)."""
    real = is_real_date(year, month, day)
    months = ((np.where(real, year, 1970) - 1970) * 12 + np.where(real, month - 1, 0))
    dates = months.astype("datetime64[M]").astype("datetime64[D]") \
        + np.where(real, day - 1, 0).astype("timedelta64[D]")
    dates[~real] = np.datetime64("NaT")
    return real, dates


def today_in_china() -> dt.date:
    """Today's date in China (the platform's calendar), whatever the server's zone."""
    return dt.datetime.now(CHINA).date()


def _group_ints(parts: pa.StructArray, names: list[str]) -> np.ndarray:
    """One int64 per row from the alternatives' groups (only one of them is non-empty)."""
    fields = [pc.struct_field(parts, name) for name in names]
    joined = pc.binary_join_element_wise(*fields, pa.scalar("", fields[0].type))
    digits = pc.if_else(pc.equal(pc.fill_null(joined, ""), ""), "0", joined)
    return pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)


def _parse_fixed(text: pa.Array, values: np.ndarray, parsed: np.ndarray) -> None:
    """The two fixed-width layouts, ``YYYY-MM-DD`` and ``YYYYMMDD``, straight from the bytes.

    Most columns hold one of them; reading digits from a byte matrix is far cheaper than a
    regular expression with fifteen capture groups. Fills ``values``/``parsed`` in place.
    """
    for width, digit_positions in ((10, (0, 1, 2, 3, 5, 6, 8, 9)), (8, tuple(range(8)))):
        rows, matrix = char_matrix(text, width)
        if not len(rows):
            continue
        cols = columns(matrix)
        digits = cols[list(digit_positions)] - np.uint8(ord("0"))
        ok = digits.max(axis=0) <= 9
        if width == 10:
            ok &= (cols[4] == ord("-")) & (cols[7] == ord("-"))
        number = digits.astype(np.int64)
        real, dates = real_dates(number[0] * 1000 + number[1] * 100 + number[2] * 10 + number[3],
                                 number[4] * 10 + number[5], number[6] * 10 + number[7])
        ok &= real
        values[rows[ok]] = dates[ok].astype("datetime64[s]")
        parsed[rows[ok]] = True


def _parse_text(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(datetime64[s] values, parsed mask)`` for the built-in patterns (pyarrow kernels)."""
    n = len(text)
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")

    parsed = pc.fill_null(pc.is_in(text, value_set=_OPEN_ENDED_SET), False)
    parsed = parsed.to_numpy(zero_copy_only=False).copy()
    values[parsed] = OPEN_ENDED
    _parse_fixed(text, values, parsed)

    # the general layouts, only for what is still open (and not null)
    todo = ~parsed & pc.is_valid(text).to_numpy(zero_copy_only=False)
    if todo.any():
        todo_rows = np.flatnonzero(todo)
        parts = pc.extract_regex(text.take(pa.array(todo_rows)), _YMD)
        matched = parts.is_valid().to_numpy(zero_copy_only=False)
        if matched.any():
            real, dates = real_dates(*(_group_ints(parts, names) for names in _GROUPS))
            ok = matched & real
            values[todo_rows[ok]] = dates[ok].astype("datetime64[s]")
            parsed[todo_rows[ok]] = True

    serial = pc.fill_null(pc.match_substring_regex(text, _SERIAL), False)
    serial_rows = serial.to_numpy(zero_copy_only=False) & ~parsed
    if serial_rows.any():
        numbers = pc.cast(pc.if_else(serial, text, "0"), pa.float64()).to_numpy()
        in_range = serial_rows & (numbers >= 1) & (numbers <= EXCEL_MAX_SERIAL)
        days = np.floor(np.where(in_range, numbers, 0)).astype(np.int64)
        values[in_range] = (EXCEL_EPOCH + days[in_range].astype("timedelta64[D]")).astype(
            "datetime64[s]")
        parsed |= in_range
    return values, parsed


def _parse_formats(text: pd.Series, formats: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[s]")
    parsed = np.zeros(len(text), dtype=bool)
    for fmt in formats:
        todo = ~parsed
        if not todo.any():
            break
        attempt = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        ok = attempt.notna().to_numpy(dtype=bool)
        rows = np.flatnonzero(todo)[ok]
        values[rows] = attempt[ok].dt.floor("D").to_numpy().astype("datetime64[s]")
        parsed[rows] = True
    open_ended = text.isin(list(OPEN_ENDED_WORDS)).to_numpy(dtype=bool) & ~parsed
    values[open_ended] = OPEN_ENDED
    return values, parsed | open_ended


def parse_dates(values, formats: Sequence[str] | None = None) -> tuple[pd.Series, np.ndarray]:
    """Parse a column of dates; return ``(datetime64[s] Series, unparseable mask)``.

    Missing and empty values give NaT and are *not* unparseable. Values already of a datetime
    dtype keep their calendar date (time of day dropped; tz-aware values in China time).
    With ``formats`` (strptime formats, tried in order) only those formats and the open-ended
    words are accepted — for a source whose format is declared in its department config.
    """
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        dates = values.dt.tz_convert(CHINA).dt.tz_localize(None) if values.dt.tz is not None \
            else values
        result = dates.dt.floor("D").astype("datetime64[s]")
        return result, np.zeros(len(values), dtype=bool)
    if isinstance(formats, str):
        formats = (formats,)
    if formats:
        text = as_str_series(values).str.normalize("NFKC").str.strip()
        blank = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
        parsed_values, parsed = _parse_formats(text, formats)
    else:
        array = pc.utf8_trim_whitespace(pc.utf8_normalize(arrow_strings(values), "NFKC"))
        blank = pc.fill_null(pc.equal(array, ""), True).to_numpy(zero_copy_only=False)
        parsed_values, parsed = _parse_text(array)
    result = pd.Series(parsed_values, index=index, dtype="datetime64[s]")
    return result, ~parsed & ~blank


NOT_FUTURE_UNPARSEABLE, NOT_FUTURE_LATE = 1, 2
NOT_FUTURE_REASONS: dict[int, tuple[str, str]] = {
    NOT_FUTURE_UNPARSEABLE: ("不是可识别的日期", "not a recognisable date"),
    NOT_FUTURE_LATE: ("日期晚于今天", "date is in the future"),
}


def check_not_future(values, today: dt.date | None = None) -> np.ndarray:
    """0 for a date on or before ``today`` (default: today in China) or a missing value.

    Accepts datetime64 columns (tz-aware ones are compared in China time) and text in any
    format ``parse_dates`` knows. Open-ended 长期/9999-12-31 counts as in the future.
    """
    parsed, unparseable = parse_dates(values)
    limit = np.datetime64(today or today_in_china(), "s")
    late = (parsed > limit).to_numpy(dtype=bool, na_value=False)
    reasons = np.zeros(len(parsed), dtype=np.int8)
    reasons[late] = NOT_FUTURE_LATE
    reasons[unparseable] = NOT_FUTURE_UNPARSEABLE
    return reasons
