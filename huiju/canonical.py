"""The canonical record of a legacy row and its hash: what provenance is computed from.

Every extracted row is kept as its *canonical JSON* — the legacy column names as keys, sorted,
no spaces, UTF-8 kept, numbers and booleans bare, everything else as the exact text the source
held (decimals keep their digits, dates are ISO, undeclared bytes are decoded as UTF-8 else
GB18030). The raw layer lands that text and the quarantine shows it; its sha256
(``_source_hash``) says whether a source row changed between loads. The rows a connector
could not read are recorded as ``{"_error": …, "_raw": …}``.

Every step is an Arrow column operation except the sha256 itself (hashlib has no vectorised
form): one comprehension over the records' buffers.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import RowError

__all__ = ["canonical_records", "error_records", "legacy_text", "record_hashes"]


def legacy_text(column: pa.ChunkedArray | pa.Array) -> pd.Series:
    """A legacy column as text, exactly (decimals keep their digits, dates are ISO)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_floating(kind):
        values = column.to_pandas()
        integral = values.notna() & np.isfinite(values) & (values == np.floor(values.fillna(0)))
        text = values.astype("str")
        small = integral & (values.abs() < 2**53)
        text[small] = values[small].astype("int64").astype("str")
        return text.mask(values.isna())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        # undeclared bytes: legacy Chinese systems write GB18030 when not UTF-8
        return pd.Series([None if v is None else _decode(v) for v in column.to_pylist()],
                         dtype="str")
    if pa.types.is_null(kind):
        return pd.Series(pa.nulls(len(column), pa.large_string()), dtype="str")
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = pc.cast(column, pa.large_string())
    return column.to_pandas().astype("str")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


_JSON_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _json_strings(text: pa.Array) -> pa.Array:
    """Each value as a JSON string literal, as ``json.dumps(ensure_ascii=False)`` writes it."""
    if pc.any(pc.match_substring_regex(text, r'[\\"\x00-\x1f]')).as_py():
        text = _json_escape(text)
    quote = pa.scalar('"', pa.large_string())
    return pc.binary_join_element_wise(quote, text, quote, pa.scalar("", pa.large_string()))


def _json_escape(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, '"', '\\"')
    controls = pc.fill_null(pc.match_substring_regex(text, r"[\x00-\x1f]"), False)
    if pc.any(controls).as_py():  # rare: escape only the control characters actually present
        found = set("".join(pc.filter(text, controls).to_pylist()))
        for char in sorted(c for c in found if ord(c) < 0x20):
            text = pc.replace_substring(text, char, _JSON_ESCAPES.get(char, f"\\u{ord(char):04x}"))
    return text


def _json_values(column: pa.ChunkedArray, text: pd.Series) -> pa.Array:
    """One column's values as JSON fragments: numbers and booleans bare, the rest as text."""
    kind = column.type
    array = pa.array(text, type=pa.large_string())
    if pa.types.is_floating(kind):
        array = pc.if_else(pc.is_finite(column), array, pa.scalar(None, pa.large_string()))
    elif not (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
        array = _json_strings(array)
    return pc.fill_null(array, pa.scalar("null", pa.large_string()))


def canonical_records(table: pa.Table, texts: dict[str, pd.Series]) -> pa.Array:
    """The canonical JSON of each legacy row: keys sorted, no spaces, UTF-8 kept.

    ``texts`` holds each column of ``table`` as :func:`legacy_text` gives it.
    """
    n = table.num_rows
    if table.num_columns == 0 or n == 0:
        return pa.array(["{}"] * n, type=pa.large_string())
    pieces: list[pa.Array | pa.Scalar] = []
    for position, name in enumerate(sorted(table.column_names)):
        key = ("{" if position == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":"
        pieces += [pa.scalar(key, pa.large_string()), _json_values(table.column(name), texts[name])]
    pieces.append(pa.scalar("}", pa.large_string()))
    # one join of all the pieces; pairwise concatenation would copy each row once per column
    joined = pc.binary_join_element_wise(*pieces, pa.scalar("", pa.large_string()))
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def record_hashes(records: pa.Array) -> pa.Array:
    """sha256 hex of each record's UTF-8 bytes, read straight from the Arrow buffers.

    hashlib has no vectorised form: this comprehension is the mapping's one per-row step.
    """
    records = records.cast(pa.large_string())
    offsets = np.frombuffer(records.buffers()[1], dtype=np.int64)[
        records.offset:records.offset + len(records) + 1]
    data = memoryview(records.buffers()[2] or b"")
    sha256 = hashlib.sha256
    return pa.array([sha256(data[start:stop]).hexdigest()
                     for start, stop in zip(offsets[:-1].tolist(), offsets[1:].tolist(),
                                            strict=True)],
                    type=pa.large_string())


def error_records(errors: list[RowError]) -> list[str]:
    """The canonical JSON of each row a connector could not read: its message and raw text."""
    return [json.dumps({"_error": e.message, "_raw": e.raw}, ensure_ascii=False,
                       sort_keys=True, separators=(",", ":")) for e in errors]
