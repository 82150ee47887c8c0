"""The checks of Huiju's suites, vectorised, and the engine that runs a suite with them.

A suite (``expectations.suites``) is a list of Great Expectations expectations. Each of its
14 expectation types is a vectorised check: the custom ones (``expectations.custom``) are GX
metrics over the predicates below, and GX's built-ins Huiju uses (values in a set, value
lengths) are one pandas expression each. ``unexpected_rows`` evaluates an expectation with
those same predicates and the same row selection GX applies — a column expectation judges
the rows whose value is not null (presence judges every row), a multicolumn one the rows its
``ignore_row_if`` keeps — and returns the rows GX lists in ``unexpected_index_list``.

Why: run through GX, a suite of ~80 expectations rebuilt its metric graph for every chunk of
a first load — about a quarter of the client's CPU — and GX's import is 1.9 s and 160 MiB of
every process (benchmarks/README.md). GX stays the engine of record for what each rule
means: ``expectations.validate`` runs a suite through GX on request (``HUIJU_VALIDATION_ENGINE
=gx``), and the tests run every data set's suite through both on frames with every kind of
defect and require the same rows (``tests/unit/test_validation_engines.py``). This module
does not import GX.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.model import LIST_SEPARATOR

# --------------------------------------------------------------------------- helpers


def present_mask(values: pd.Series) -> np.ndarray:
    """True where a value is present: not null and, for text, not empty or blank."""
    mask = values.notna().to_numpy(dtype=bool)
    if pd.api.types.is_string_dtype(values.dtype) and mask.any():
        text = _arrow_text(values)
        blank = pc.or_(pc.equal(pc.utf8_length(text), 0), pc.utf8_is_space(text))
        mask = mask & ~pc.fill_null(blank, False).to_numpy(zero_copy_only=False)
    return mask


def _arrow_text(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype("str").array, from_pandas=True) \
        if not hasattr(values.array, "_pa_array") else values.array._pa_array
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def split_items(values: pd.Series, separator: str = LIST_SEPARATOR) -> tuple[pa.Array, np.ndarray]:
    """The trimmed, non-empty elements of list values and, for each, its row position."""
    lists = pc.split_pattern(_arrow_text(values), pattern=separator)
    parents = pc.list_parent_indices(lists).to_numpy()
    items = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    keep = pc.fill_null(pc.not_equal(items, ""), False)
    return items.filter(keep), parents[keep.to_numpy(zero_copy_only=False)]


def list_bad_items(values: pd.Series, value_set, separator: str = LIST_SEPARATOR) -> np.ndarray:
    """Row positions whose list value holds an element outside ``value_set``."""
    items, parents = split_items(values, separator)
    inside = pc.is_in(items, value_set=pa.array(sorted(value_set), pa.large_string()))
    outside = ~inside.to_numpy(zero_copy_only=False)
    return np.unique(parents[outside])


def list_counts(values: pd.Series, separator: str = LIST_SEPARATOR) -> np.ndarray:
    """Number of non-empty elements of each list value (0 for null)."""
    _, parents = split_items(values, separator)
    return np.bincount(parents, minlength=len(values))


def condition_mask(frame: pd.DataFrame, column: str, when_in=None, when_contains=None,
                   when_present=None, separator: str = LIST_SEPARATOR) -> np.ndarray:
    """Rows where the condition on ``column`` holds (never on a missing value, unless asked)."""
    values = frame[column]
    if when_in is not None:
        return values.isin(list(when_in)).to_numpy(dtype=bool, na_value=False)
    if when_contains is not None:
        items, parents = split_items(values, separator)
        hit = pc.fill_null(pc.equal(items, when_contains), False).to_numpy(zero_copy_only=False)
        mask = np.zeros(len(values), dtype=bool)
        mask[parents[hit]] = True
        return mask
    if when_present is not None:
        present = present_mask(values)
        return present if when_present else ~present
    raise ValueError("a condition needs when_in, when_contains or when_present")


def table_codes(name: str) -> list[str]:
    """The codes of the national or local code table ``name``, sorted."""
    from schemas.code_tables import code_table

    return sorted(code_table(name).codes)


def rule_codes(rule: str, values: pd.Series) -> np.ndarray:
    """Reason codes of ``schemas.rules.RULES[rule]`` for ``values`` (0 = valid)."""
    from schemas.rules import RULES

    return np.asarray(RULES[rule].check(values), dtype=np.int8)


def dates_in_order(frame: pd.DataFrame) -> np.ndarray:
    """True where the present dates of ``frame``'s columns, left to right, never decrease."""
    ok = np.ones(len(frame), dtype=bool)
    latest: np.ndarray | None = None
    for name in frame.columns:
        stamps = frame[name].to_numpy(dtype="datetime64[s]").view(np.int64)
        present = frame[name].notna().to_numpy(dtype=bool)
        # NaT views as the smallest int64, so a running maximum skips missing dates.
        if latest is not None:
            ok &= ~(present & (stamps < latest))
            latest = np.maximum(latest, stamps)
        else:
            latest = stamps.copy()
    return ok


# --------------------------------------------------------------------------- the engine


class UnknownExpectation(ValueError):
    """A suite names an expectation type this engine has no check for."""


def _in_set(column: pd.Series, value_set=None, **_) -> np.ndarray:
    if value_set is None:
        return np.ones(len(column), dtype=bool)
    return column.isin(value_set).to_numpy(dtype=bool, na_value=False)


def _lengths(column: pd.Series) -> pd.Series:
    return column.astype(str).str.len()   # as GX's column_values.value_length


def _length_equal(column: pd.Series, value, **_) -> np.ndarray:
    return (_lengths(column) == value).to_numpy(dtype=bool, na_value=False)


def _length_between(column: pd.Series, min_value=None, max_value=None, strict_min=False,
                    strict_max=False, **_) -> np.ndarray:
    if min_value is None and max_value is None:
        raise ValueError("min_value and max_value cannot both be None")
    lengths = _lengths(column)
    ok = pd.Series(True, index=column.index)
    if min_value is not None:
        ok &= lengths > min_value if strict_min else lengths >= min_value
    if max_value is not None:
        ok &= lengths < max_value if strict_max else lengths <= max_value
    return ok.to_numpy(dtype=bool, na_value=False)


def list_items_in_set(column: pd.Series, value_set=None, code_table=None,
                       separator=LIST_SEPARATOR, **_) -> np.ndarray:
    """True where every element of the list value is in ``value_set`` (or the code table)."""
    codes = value_set if value_set is not None else table_codes(code_table)
    ok = np.ones(len(column), dtype=bool)
    ok[list_bad_items(column, codes, separator)] = False
    return ok


def present_when(frame: pd.DataFrame, when_column, when_in=None, when_contains=None,
                  when_present=None, **_) -> np.ndarray:
    """True where the columns other than ``when_column`` are present or the condition fails."""
    applies = condition_mask(frame, when_column, when_in, when_contains, when_present)
    ok = np.ones(len(frame), dtype=bool)
    for name in frame.columns:
        if name != when_column:
            ok &= present_mask(frame[name])
    return ok | ~applies


def rule_when(frame: pd.DataFrame, rule, when_column, when_in=None, when_contains=None,
               when_present=None, **_) -> np.ndarray:
    """True where the field (the column other than ``when_column``) passes ``rule`` or the
    condition fails."""
    applies = condition_mask(frame, when_column, when_in, when_contains, when_present)
    target = next(name for name in frame.columns if name != when_column)
    ok = np.ones(len(frame), dtype=bool)
    rows = np.flatnonzero(applies)
    if len(rows):
        ok[rows] = rule_codes(rule, frame[target].iloc[rows]) == 0
    return ok


def _latest(values: pd.Series | pd.DataFrame, **_) -> np.ndarray:
    return ~values.duplicated(keep="last").to_numpy(dtype=bool)


# Column expectations: (check of the values, whether GX leaves null values out first).
COLUMN_CHECKS: dict[str, tuple[Callable[..., np.ndarray], bool]] = {
    "expect_column_values_to_be_present": (lambda column, **_: present_mask(column), False),
    "expect_column_values_to_pass_rule":
        (lambda column, rule, **_: rule_codes(rule, column) == 0, True),
    "expect_column_values_to_be_in_code_table":
        (lambda column, code_table, **_: _in_set(column, table_codes(code_table)), True),
    "expect_column_list_items_to_be_in_set": (list_items_in_set, True),
    "expect_column_list_to_have_min_items":
        (lambda column, min_items, separator=LIST_SEPARATOR, **_:
         list_counts(column, separator) >= min_items, True),
    "expect_column_values_to_not_be_negative":
        (lambda column, **_: (column >= 0).to_numpy(dtype=bool, na_value=True), True),
    "expect_column_values_to_be_latest_for_key": (_latest, True),
    "expect_column_values_to_be_in_set": (_in_set, True),
    "expect_column_value_lengths_to_equal": (_length_equal, True),
    "expect_column_value_lengths_to_be_between": (_length_between, True),
}
# Multicolumn expectations: (check of the columns' frame, GX's default ``ignore_row_if``).
MULTICOLUMN_CHECKS: dict[str, tuple[Callable[..., np.ndarray], str]] = {
    "expect_compound_columns_to_be_latest_for_key": (_latest, "any_value_is_missing"),
    "expect_multicolumn_dates_to_be_ordered":
        (lambda frame, **_: dates_in_order(frame), "never"),
    "expect_multicolumn_values_to_be_present_when": (present_when, "never"),
    "expect_column_values_to_pass_rule_when": (rule_when, "any_value_is_missing"),
}


def unexpected_rows(expectation: dict, frame: pd.DataFrame) -> np.ndarray:
    """Positions of ``frame``'s rows that fail ``expectation`` (a suite's expectation dict:
    ``type`` and ``kwargs``), as GX lists them; ``frame`` has a default RangeIndex."""
    kind, kwargs = expectation["type"], dict(expectation["kwargs"])
    if kind in COLUMN_CHECKS:
        check, skip_nulls = COLUMN_CHECKS[kind]
        column = frame[kwargs.pop("column")]
        kwargs.pop("mostly", None)
        judged = np.flatnonzero(column.notna().to_numpy(dtype=bool)) if skip_nulls else None
        values = column if judged is None or len(judged) == len(column) else column.iloc[judged]
    elif kind in MULTICOLUMN_CHECKS:
        check, default_ignore = MULTICOLUMN_CHECKS[kind]
        columns = frame[list(kwargs.pop("column_list"))]
        kwargs.pop("mostly", None)
        ignore = kwargs.pop("ignore_row_if", None) or default_ignore
        missing = columns.isna().to_numpy(dtype=bool)
        skipped = (missing.any(axis=1) if ignore == "any_value_is_missing"
                   else missing.all(axis=1) if ignore == "all_values_are_missing"
                   else None)
        judged = np.flatnonzero(~skipped) if skipped is not None and skipped.any() else None
        values = columns if judged is None else columns.iloc[judged]
    else:
        raise UnknownExpectation(f"no vectorised check for {kind}")
    ok = np.asarray(check(values, **kwargs), dtype=bool)
    failing = np.flatnonzero(~ok)
    return (failing if judged is None else judged[failing]).astype(np.int64)
