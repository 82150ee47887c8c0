"""Normalisation of code-like fields (USCC, ID numbers, division and catalog codes).

Only code fields get this treatment (domain README "Decisions"); names and document numbers
are kept as written. Everything here is pandas string methods (pyarrow-backed in pandas 3).
"""

from __future__ import annotations

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


def _one_pass(array: pa.Array) -> pa.Array:
    array = pc.utf8_trim_whitespace(pc.utf8_upper(pc.utf8_normalize(array, "NFKC")))
    array = pc.replace_substring_regex(array, _LABEL, "")
    array = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, _COUNTER, ""))
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
    array = _one_pass(arrow_strings(values))
    # a second label or counter can surface after the first is removed; repeat until stable
    for _ in range(_MAX_PASSES):
        again = _one_pass(array)
        if again.equals(array):
            break
        array = again
    return pd.Series(array, index=index, dtype="str")
