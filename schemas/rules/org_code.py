"""组织机构代码 (GB 11714-1997): an 8-character body and a check character (REFERENCE §4.3).

Printed as ``XXXXXXXX-X``; both that form and the bare 9 characters are accepted. The
same check is reused for the organisation code embedded at positions 9–17 of a USCC.
"""

from __future__ import annotations

import numpy as np

from schemas.rules._arrays import (
    as_str_series,
    char_matrix,
    columns,
    lookup,
    missing_mask,
    weighted_sum,
)

WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
BODY_VALUES = lookup({c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")})
CHECK_CHARS = np.frombuffer(b"0123456789X0", dtype=np.uint8)  # index 11 - (sum mod 11)

LENGTH, CHARSET, PLACEHOLDER, CHECK = 1, 2, 3, 4
REASONS: dict[int, tuple[str, str]] = {
    LENGTH: ("组织机构代码应为9位（可写作XXXXXXXX-X）",
             "organisation code must be 9 characters (or XXXXXXXX-X)"),
    CHARSET: ("组织机构代码本体只能是数字或大写字母，校验位只能是数字或X",
              "organisation code body must be 0-9/A-Z and its check character 0-9 or X"),
    PLACEHOLDER: ("组织机构代码为全零占位值", "organisation code is an all-zero placeholder"),
    CHECK: ("组织机构代码校验位错误", "organisation code check character is wrong"),
}


def org_check_chars(body: np.ndarray) -> np.ndarray:
    """Expected check characters (as bytes) for an ``(n, 8)`` matrix of body *values*.

    Invalid bytes (value 255) give some character; callers reject those rows first.
    """
    return org_check_chars_of_columns(columns(body))


def org_check_chars_of_columns(body_columns: np.ndarray) -> np.ndarray:
    """``org_check_chars`` for ``(8, n)`` columns of body values."""
    return CHECK_CHARS[11 - weighted_sum(body_columns, WEIGHTS) % 11]


def org_code_check_char(body: str) -> str:
    """The GB 11714 check character of an 8-character body.

    >>> org_code_check_char("75162553")
    '8'
    >>> check_org_code(["75162553-8", "751625538", "751625539"]).tolist() == [0, 0, CHECK]
    True
    """
    values = BODY_VALUES[np.frombuffer(body.encode("ascii"), dtype=np.uint8)]
    if len(body) != 8 or (values == 255).any():
        raise ValueError(f"not an organisation code body: {body!r}")
    return chr(org_check_chars(values[None, :])[0])


def judge_matrix(matrix: np.ndarray) -> np.ndarray:
    """Reason codes for an ``(n, 9)`` byte matrix of bare organisation codes."""
    cols = columns(matrix)
    body = BODY_VALUES[cols[:8]]
    check = cols[8]
    conditions = [
        (body.max(axis=0) == 255) | ~(((check >= 48) & (check <= 57)) | (check == 88)),
        (cols[:8] == ord("0")).all(axis=0),
        org_check_chars_of_columns(body) != check,
    ]
    return np.select(conditions, [CHARSET, PLACEHOLDER, CHECK], 0).astype(np.int8)


def check_org_code(values) -> np.ndarray:
    """0 for a valid organisation code (or a missing value), else a reason code of REASONS."""
    series = as_str_series(values)
    missing = missing_mask(series)
    # the hyphen form: drop a '-' at position 9 of a 10-character value
    bare = series.str.replace(r"^(.{8})-(.)$", r"\1\2", regex=True)
    # nine characters but not all ASCII: a charset problem, not a length one
    reasons = np.where(bare.str.len().to_numpy(dtype=float, na_value=0) == 9, CHARSET, LENGTH)
    reasons = reasons.astype(np.int8)
    rows, matrix = char_matrix(bare, 9)
    reasons[rows] = judge_matrix(matrix)
    reasons[missing] = 0
    return reasons


def explain_org_code(value: str) -> tuple[str, str] | None:
    """A per-value message naming the expected check character, or None if it is valid."""
    bare = value[:8] + value[9:] if len(value) == 10 and value[8] == "-" else value
    code = int(check_org_code([bare])[0])
    if code == CHECK:
        want = org_code_check_char(bare[:8])
        return (f"组织机构代码校验位应为 {want}，实际为 {bare[8]}",
                f"organisation code check character should be {want}, not {bare[8]}")
    return REASONS.get(code)
