"""Shared array plumbing for the value rules: any input becomes a pandas ``str`` Series or an
Arrow ``large_string`` array, and fixed-width ASCII codes become a ``uint8`` matrix so that
checks run as numpy arithmetic over whole columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_str_series(values) -> pd.Series:
    """``values`` (Series, Arrow array, numpy array, list …) as a pandas ``str`` Series.

    Missing values stay missing (NaN). A Series keeps its index, anything else gets a
    RangeIndex. Integral floats (Excel's ``1.1E+17`` codes, ``2021.0`` years) print without
    ``.0``.
    """
    if isinstance(values, pd.Series):
        series = values
    elif isinstance(values, pa.ChunkedArray | pa.Array):
        series = values.to_pandas()
    elif isinstance(values, np.ndarray):
        series = pd.Series(values)
    else:
        series = pd.Series(list(values), dtype=object)
    if series.dtype == "str":
        return series
    if pd.api.types.is_float_dtype(series.dtype):
        integral = series.notna() & (series == np.floor(series.fillna(0)))
        integral &= series.abs() < 2**63
        as_text = series.astype("str")
        as_text[integral] = series[integral].astype("int64").astype("str")
        return as_text
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) or series.dtype == object:
        # nullable Int64/boolean and object columns: keep NA as NaN, not the text "<NA>"
        return series.astype(object).where(series.notna()).astype("str")
    return series.astype("str")


def arrow_strings(values) -> pa.LargeStringArray:
    """The values as one Arrow ``large_string`` array (nulls for missing)."""
    if isinstance(values, pa.ChunkedArray | pa.Array) and (
        pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    ):
        array = values
    elif isinstance(values, list | tuple) and all(v is None or type(v) is str for v in values):
        # the common small case (tests, single values): straight to Arrow, no pandas
        array = pa.array(values, type=pa.large_string())
    else:
        # pyarrow-backed strings convert without a copy (the __arrow_array__ protocol)
        array = pa.array(as_str_series(values).array)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    return array


def char_lengths(array: pa.Array) -> np.ndarray:
    """Length in characters per value (0 for null)."""
    return pc.fill_null(pc.utf8_length(array), 0).to_numpy(zero_copy_only=False)


def char_matrix(values, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The values that are exactly ``width`` ASCII characters, as a uint8 matrix.

    Returns ``(rows, matrix)``: the positional row numbers selected and an
    ``(len(rows), width)`` byte matrix viewed straight from the Arrow data buffer — no
    Python loop per value.
    """
    array = arrow_strings(values)
    # byte length == width == character length only for ASCII values
    selected = pc.fill_null(pc.equal(pc.binary_length(array), width), False)
    selected_np = selected.to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(selected_np)
    if len(rows) == 0:
        return rows, np.zeros((0, width), dtype=np.uint8)
    chosen = array if len(rows) == len(array) else array.filter(selected)
    offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int64)
    start = int(offsets[chosen.offset])
    data = np.frombuffer(chosen.buffers()[2], dtype=np.uint8)
    matrix = data[start:start + len(chosen) * width].reshape(len(chosen), width)
    return rows, matrix


def columns(matrix: np.ndarray) -> np.ndarray:
    """The ``(n, width)`` matrix as contiguous ``(width, n)`` columns.

    Per-position arithmetic on a contiguous million-value row is SIMD-fast, whereas reducing
    along the short axis of an ``(n, 18)`` matrix is not; one transposing copy pays for itself.
    """
    return np.ascontiguousarray(matrix.T)


def weighted_sum(cols: np.ndarray, weights) -> np.ndarray:
    """``Σ weights[j] · cols[j]`` as int32, one column at a time (no (n, width) temporaries)."""
    total = np.zeros(cols.shape[1], dtype=np.int32)
    for column, weight in zip(cols, weights, strict=True):
        total += column.astype(np.int32) * int(weight)
    return total


def missing_mask(values) -> np.ndarray:
    """True where the value is null, NaN or empty after trimming whitespace."""
    array = arrow_strings(values)
    blank = pc.equal(pc.utf8_trim_whitespace(array), "")
    return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)


def lookup(table: dict[str, int], fill: int = 255) -> np.ndarray:
    """A 256-entry uint8 table mapping ASCII bytes to values (``fill`` elsewhere)."""
    lut = np.full(256, fill, dtype=np.uint8)
    for char, value in table.items():
        lut[ord(char)] = value
    return lut
