"""Normalisation of code-like fields (USCC, ID numbers, division and catalog codes).

Only code fields get this treatment (domain README "Decisions"); names and document numbers
are kept as written. Everything here runs as pyarrow string kernels over the whole column —
the same kernels pandas 3's string methods call, minus pandas' overhead per call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.rules._arrays import arrow_strings

# Leading labels that legacy exports glue onto codes (统一社会信用代码：9162…), after NFKC (so
# the colon is ASCII). A label is a run of CJK characters ending in a colon, or one of the
# known labels without one.
_KNOWN_LABELS = (
    "统一社会信用代码", "社会信用代码", "信用代码", "身份证号码", "公民身份号码", "身份证号",
    "身份证", "证件号码", "组织机构代码", "注册号",
)
_CJK = "[\u3400-\u9fff]"  # real characters in the pattern: RE2 (pyarrow) has no \u escapes
_LABEL = r"^(?:\s*(?:" + _CJK + r"{1,20}\s*:|" + "|".join(_KNOWN_LABELS) + r")\s*)+"
# "(1/1)", "(2/3)", "()" — page counters and empty brackets, anywhere in the value
_COUNTER = r"\(\s*(?:[0-9]+\s*/\s*[0-9]+)?\s*\)"
MISSING_TOKENS = ("", "UNDEFINED", "NULL", "NONE", "NAN", "无", "/", "-", "--", "空")
_MISSING_SET = pa.array(MISSING_TOKENS, type=pa.large_string())
_MAX_PASSES = 5


def _where(array: pa.Array, mask: pa.BooleanArray, transform) -> pa.Array:
    """``transform`` applied only to the values where ``mask`` holds (the rest untouched)."""
    mask = pc.fill_null(mask, False)
    count = pc.sum(mask).as_py() or 0
    if count == 0:
        return array
    if count == len(array):
        return transform(array)
    return pc.replace_with_mask(array, mask, transform(array.filter(mask)))


def _one_pass(array: pa.Array) -> pa.Array:
    # NFKC and the CJK labels concern only non-ASCII values; counters only values with "(".
    # Skipping the rest keeps clean columns cheap.
    array = _where(array, pc.invert(pc.string_is_ascii(array)),
                   lambda a: pc.utf8_normalize(a, "NFKC"))
    array = pc.utf8_trim_whitespace(pc.utf8_upper(array))
    array = _where(array, pc.invert(pc.string_is_ascii(array)),
                   lambda a: pc.replace_substring_regex(a, _LABEL, ""))
    array = _where(array, pc.match_substring(array, "("),
                   lambda a: pc.utf8_trim_whitespace(pc.replace_substring_regex(a, _COUNTER, "")))
    missing = pc.is_in(array, value_set=_MISSING_SET)
    return pc.if_else(missing, pa.scalar(None, array.type), array)


def normalise_code(values) -> pd.Series:
    """Code values cleaned for validation and matching; missing markers become NaN.

    NFKC (full-width digits and letters, ``：``, ``（`` → ASCII; ``\\u3000``/NBSP → space),
    trim (spaces, tabs, ideographic space, NBSP), upper-case, drop leading labels such as
    ``统一社会信用代码：`` / ``身份证号:`` and page counters ``(1/1)``/``()`` anywhere, and treat
    ``undefined``, ``null``, ``无``, ``/``, ``-`` (and the like) as missing. Idempotent. The
    same pyarrow kernels pandas' string methods use, called directly (less overhead per call).
    A Series keeps its index.
    """
    index = values.index if isinstance(values, pd.Series) else None
    before = arrow_strings(values)
    array = _one_pass(before)
    # A second label or counter can surface once the first is gone: pass again, but only over
    # the values the last pass changed (an unchanged value is already a fixed point).
    changed = _changed(before, array)
    for _ in range(_MAX_PASSES):
        if not pc.any(changed).as_py():
            break
        subset = array.filter(changed)
        again = _one_pass(subset)
        array = pc.replace_with_mask(array, changed, again)
        still = _changed(subset, again).to_numpy(zero_copy_only=False)
        mask = np.zeros(len(array), dtype=bool)
        mask[np.flatnonzero(changed.to_numpy(zero_copy_only=False))[still]] = True
        changed = pa.array(mask)
    return pd.Series(array, index=index, dtype="str")


def _changed(before: pa.Array, after: pa.Array) -> pa.BooleanArray:
    """Where ``after`` differs from ``before`` (a value that became null counts)."""
    differs = pc.fill_null(pc.not_equal(before, after), False)
    return pc.or_(differs, pc.and_(pc.is_valid(before), pc.is_null(after)))
