"""居民身份证号 (GB 11643-1999), REFERENCE §4.2.

18 characters: a 6-digit GB/T 2260 address code, the birth date YYYYMMDD, a 3-digit sequence
and a check character (weights 2^(17−i) mod 11, ``"10X98765432"``).

Address codes: old numbers keep the code of the county where they were issued, and many of
those codes have since been retired, so a complete list of every code ever valid is not
available here. The rule therefore accepts any address code whose 2-digit province prefix is a
province-level entry (``XX0000``) of the national table ``行政区划代码``, and checks nothing
finer. Lower-case ``x`` is the normaliser's job (``text.normalise_code`` upper-cases).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.code_tables import code_table
from schemas.rules._arrays import (
    arrow_strings,
    char_lengths,
    char_matrix,
    columns,
    missing_mask,
    weighted_sum,
)
from schemas.rules.dates import is_real_date, today_in_china

WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)  # 2^(17-i), i = 0..16
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
EARLIEST_BIRTH_YEAR = 1900

LENGTH, CHARSET, ADDRESS, BIRTH_DATE, BIRTH_RANGE, CHECK, LEGACY_15 = 1, 2, 3, 4, 5, 6, 7
REASONS: dict[int, tuple[str, str]] = {
    LENGTH: ("身份证号长度应为18位", "resident ID number must be 18 characters"),
    CHARSET: ("身份证号前17位应为数字，第18位应为数字或X",
              "resident ID number: 17 digits then a digit or X"),
    ADDRESS: ("身份证号前6位地址码的省级代码不存在",
              "resident ID number: the address code's province prefix does not exist"),
    BIRTH_DATE: ("身份证号第7-14位出生日期不是有效日期",
                 "resident ID number: birth date (positions 7-14) is no real date"),
    BIRTH_RANGE: ("身份证号出生日期早于1900年或晚于今天",
                  "resident ID number: birth date before 1900 or in the future"),
    CHECK: ("身份证号校验码（第18位）错误",
            "resident ID number check character (position 18) is wrong"),
    LEGACY_15: ("15位旧身份证号，应先转换为18位",
                "legacy 15-digit ID number: convert it to 18 digits first"),
}


@cache
def province_prefixes() -> np.ndarray:
    """256×256 bool table: True at [d1, d2] when "d1d2" is a province of 行政区划代码."""
    table = np.zeros((256, 256), dtype=bool)
    for code in code_table("行政区划代码").codes:
        if len(code) == 6 and code.endswith("0000"):
            table[ord(code[0]), ord(code[1])] = True
    return table


def _digits(matrix: np.ndarray) -> np.ndarray:
    """Byte matrix → digit values as uint8 (non-digits wrap to values above 9)."""
    return matrix - np.uint8(ord("0"))


def id_check_chars(digits17: np.ndarray) -> np.ndarray:
    """Expected check characters (bytes) for an ``(n, 17)`` matrix of digit values."""
    return id_check_chars_of_columns(columns(digits17))


def id_check_chars_of_columns(digit_columns: np.ndarray) -> np.ndarray:
    """``id_check_chars`` for ``(17, n)`` columns of digit values."""
    return CHECK_CHARS[weighted_sum(digit_columns, WEIGHTS) % 11]


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for 17 digits.

    >>> id_check_char("11010519491231002")
    'X'
    >>> check_id_card(["11010519491231002X", "110105194912310021"]).tolist() == [0, CHECK]
    True
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"not 17 digits: {first17!r}")
    raw = np.frombuffer(first17.encode("ascii"), dtype=np.uint8)
    return chr(id_check_chars_of_columns(_digits(raw)[:, None])[0])


def judge_matrix(matrix: np.ndarray, today: dt.date) -> np.ndarray:
    """Reason codes for an ``(n, 18)`` byte matrix of 18-character ASCII candidates."""
    # Every check runs on every row; np.select reports the first failing one.
    cols = columns(matrix)
    digits = _digits(cols[:17])
    last = cols[17]
    bad = (digits.max(axis=0) > 9) | ~((last - np.uint8(48) <= 9) | (last == ord("X")))
    date = digits[6:14].astype(np.int32)
    year = date[0] * 1000 + date[1] * 100 + date[2] * 10 + date[3]
    month = date[4] * 10 + date[5]
    day = date[6] * 10 + date[7]
    # compare dates as YYYYMMDD integers: no datetime64 arithmetic on a million rows
    born = year * 10000 + month * 100 + day
    latest = today.year * 10000 + today.month * 100 + today.day
    conditions = [
        bad,
        ~province_prefixes()[cols[0], cols[1]],
        ~is_real_date(year, month, day),
        (year < EARLIEST_BIRTH_YEAR) | (born > latest),
        id_check_chars_of_columns(digits) != last,
    ]
    choices = [CHARSET, ADDRESS, BIRTH_DATE, BIRTH_RANGE, CHECK]
    return np.select(conditions, choices, 0).astype(np.int8)


def check_id_card(values, today: dt.date | None = None) -> np.ndarray:
    """0 for a valid 18-character ID number (or a missing value), else a reason of ``REASONS``.

    ``today`` (default: today in China) bounds the birth date; inject it in tests.
    """
    array = arrow_strings(values)
    missing = missing_mask(array)
    reasons = np.where(char_lengths(array) == 18, CHARSET, LENGTH).astype(np.int8)
    rows15, matrix15 = char_matrix(array, 15)
    reasons[rows15[(_digits(matrix15).max(axis=1, initial=0) <= 9)]] = LEGACY_15
    rows, matrix = char_matrix(array, 18)
    reasons[rows] = judge_matrix(matrix, today or today_in_china())
    reasons[missing] = 0
    return reasons


def id15_to_18(values) -> pd.Series:
    """Legacy 15-digit numbers as 18: insert ``19`` before the 2-digit year, append the check.

    Values that are not 15 ASCII digits are returned unchanged (18-digit numbers pass through;
    anything else is for ``check_id_card`` to reject). A Series keeps its index.
    """
    array = arrow_strings(values)
    index = values.index if isinstance(values, pd.Series) else None
    legacy = pc.fill_null(pc.match_substring_regex(array, r"^[0-9]{15}$"), False)
    if pc.any(legacy).as_py():
        text = pa.large_string()
        widened = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(array, 0, 6), pa.scalar("19", text),
            pc.utf8_slice_codeunits(array, 6), pa.scalar("", text))
        rows, matrix = char_matrix(pc.if_else(legacy, widened, pa.scalar("", text)), 17)
        checks = np.full(len(array), b"", dtype="S1")
        checks[rows] = id_check_chars(_digits(matrix)).view("S1")
        suffix = pa.array(checks, type=pa.binary()).cast(text)
        joined = pc.binary_join_element_wise(widened, suffix, pa.scalar("", text))
        array = pc.if_else(legacy, joined, array)
    return pd.Series(array, index=index, dtype="str")


def explain_id_card(value: str, today: dt.date | None = None) -> tuple[str, str] | None:
    """A per-value message (naming the expected check character), or None if valid."""
    code = int(check_id_card([value], today)[0])
    if code == CHECK:
        want = id_check_char(value[:17])
        return (f"身份证号校验码（第18位）应为 {want}，实际为 {value[17]}",
                f"resident ID number check character (position 18) should be {want}, "
                f"not {value[17]}")
    return REASONS.get(code)
