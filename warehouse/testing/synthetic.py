"""Synthetic standard frames and load requests, for the warehouse tests and the load benchmark.

Values follow each field's declared type (codes from its code table, exact decimals, dates),
not its value rules: these rows exercise storage and merging, not validation. Generation is
vectorised with numpy so a million rows take seconds.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.catalog import all_fields, dataset
from schemas.code_tables import code_table
from schemas.frames import LOAD_QUARANTINE_COLUMNS
from schemas.model import DataSetSpec, FieldSpec, FieldType
from warehouse.load import LoadRequest


def _digits(numbers: np.ndarray, width: int) -> pd.Series:
    return pd.Series(numbers % (10 ** min(width, 18)), dtype="int64").astype(str).str.zfill(width)


def _column(spec: DataSetSpec, field: FieldSpec, ids: np.ndarray, version: np.ndarray,
            rng: np.random.Generator) -> pd.Series | pd.api.extensions.ExtensionArray:
    n = len(ids)
    key = field.name in spec.business_key
    match field.type:
        case FieldType.STRING:
            width = field.length or 20
            if field.exact_length or key:
                values = _digits(ids, min(width, 18)).str.ljust(width, "0") \
                    if field.exact_length else _digits(ids, min(width, 12))
            else:
                values = (field.name[:8] + "-" + pd.Series(ids).astype(str)
                          + "-v" + pd.Series(version).astype(str)).str.slice(0, width)
            return values.astype("str")
        case FieldType.TEXT:
            return (f"{field.zh} " + pd.Series(ids).astype(str)).astype("str")
        case FieldType.CODE | FieldType.LIST:
            codes = sorted(code_table(field.code_table).codes) if field.code_table else ["01"]
            return pd.Series(np.array(codes, dtype=object)[rng.integers(0, len(codes), n)],
                             dtype="str")
        case FieldType.DATE:
            days = rng.integers(0, 3650, n)
            return pd.Series(np.datetime64("2015-01-01", "s") + days.astype("timedelta64[D]"))
        case FieldType.DATETIME:
            seconds = rng.integers(0, 3650 * 86400, n).astype("timedelta64[s]")
            return pd.Series(np.datetime64("2015-01-01T00:00:00", "us") + seconds).dt.tz_localize(
                "UTC")
        case FieldType.DECIMAL:
            # Whole digits within the declared precision (longitude is decimal(10,6)).
            cents = rng.integers(0, min(10**9, 10 ** (field.precision - field.scale + 2)), n)
            text = pd.Series(cents // 100).astype(str) + "." + _digits(cents % 100, 2)
            array = pa.array(text, type=pa.string()).cast(
                pa.decimal128(field.precision, field.scale))
            return pd.Series(array, dtype=pd.ArrowDtype(array.type))
        case FieldType.INTEGER:
            return pd.Series(rng.integers(0, 10_000, n), dtype="Int64")
        case FieldType.BOOLEAN:
            return pd.Series(rng.integers(0, 2, n).astype(bool), dtype="boolean")
    raise ValueError(field.type)  # pragma: no cover


def standard_frame(name: str, ids, *, batch_id: str = "2026010100001",
                   department_code: str = "620000-TEST", version=0, operation: str = "i",
                   seed: int = 0) -> pd.DataFrame:
    """Rows of data set ``name`` for record numbers ``ids``; another ``version`` changes them."""
    spec = dataset(name)
    ids = np.asarray(ids, dtype="int64")
    versions = np.broadcast_to(np.asarray(version, dtype="int64"), ids.shape)
    rng = np.random.default_rng(seed)
    columns = {f.name: _column(spec, f, ids, versions, rng) for f in spec.fields}
    frame = pd.DataFrame(columns)
    frame["record_id"] = (department_code + ":" + pd.Series(ids).astype(str)).astype("str")
    frame["batch_id"] = pd.Series([batch_id] * len(ids), dtype="str")
    frame["operation"] = pd.Series([operation] * len(ids), dtype="str")
    frame["_source_ref"] = (f"synthetic:{name}#pk=" + pd.Series(ids).astype(str)).astype("str")
    frame["_source_hash"] = pd.Series(
        [hashlib.sha256(f"{name}|{i}|{v}".encode()).hexdigest()
         for i, v in zip(ids.tolist(), versions.tolist(), strict=True)], dtype="str")
    return frame[[f.name for f in all_fields(spec)] + ["_source_ref", "_source_hash"]]


def deliverable_penalties(ids, *, version: int = 0, operation: str = "i",
                          decided: date | None = None, legal_rep: str | None = "张三",
                          department_code: str = "620000-TEST") -> pd.DataFrame:
    """Penalty rows every platform accepts: a legal person with a USCC (so 信用中国 and gsxt
    receive it too), decided ``decided`` (30 days ago by default, so its 公示期 runs).
    ``legal_rep=None`` makes 信用中国 reject it (法定代表人 is required for a legal person)."""
    frame = standard_frame("penalty", ids, version=version, operation=operation,
                           department_code=department_code)
    ids = np.asarray(ids, dtype="int64")
    decided = decided or datetime.now(UTC).date() - timedelta(days=30)
    frame["administrative_cp_cert_type"] = "001"
    frame["administrative_cp_nature"] = "02"
    frame["administrative_cp_code"] = ("91620100MA" + pd.Series(ids).astype(str).str.zfill(8)
                                       ).astype("str").to_numpy()
    frame["legal_rep"] = pd.Series([legal_rep] * len(ids), dtype="str")
    frame["punish_decision_date"] = pd.Series(
        [np.datetime64(decided.isoformat(), "s")] * len(ids))
    return frame


def raw_frame(rows: pd.DataFrame, width: int | None = None) -> pd.DataFrame:
    """The raw landing frame for ``rows``: a legacy-looking JSON record per row.

    The record holds the row's columns (the first ``width``, if given) as text — a legacy row
    as a connector would extract it, about as wide as the standard one — built by vectorised
    concatenation: synthetic values need no escaping.
    """
    values = rows.drop(columns=["_source_ref", "_source_hash"]).iloc[:, :width]
    def literal(text: str) -> pa.Scalar:
        return pa.scalar(text, pa.large_string())

    pieces: list = [literal("{")]
    for number, name in enumerate(values.columns):
        text = pa.array(values[name].astype("str").fillna(""), type=pa.large_string())
        pieces += [literal(("" if number == 0 else ",") + f'"{name}":"'), text, literal('"')]
    pieces.append(literal("}"))
    if len(pieces) == 2:  # no columns: no array to take the length from
        pieces.insert(1, pa.array([""] * len(rows), type=pa.large_string()))
    record = pc.binary_join_element_wise(*pieces, literal(""))
    return pd.DataFrame({"_source_ref": rows["_source_ref"].to_numpy(),
                         "_source_hash": rows["_source_hash"].to_numpy(),
                         "record": pd.Series(record, dtype="str")})


def empty_quarantine() -> pd.DataFrame:
    """A quarantine frame with no rows, in the load request's shape."""
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in LOAD_QUARANTINE_COLUMNS})


def quarantine_frame(rows: pd.DataFrame, rule_id: str = "09.required:punish_action_name",
                     family: str = "09", field: str = "punish_action_name") -> pd.DataFrame:
    """One failure per row of ``rows`` (which then count as quarantined, not passed)."""
    raw = raw_frame(rows)
    return pd.DataFrame({
        "rule_id": rule_id, "family": family, "field": field,
        "message_zh": "必填项为空", "message_en": "required value missing",
        "raw_value": None,
        "_source_ref": raw["_source_ref"], "_source_hash": raw["_source_hash"],
        "record": raw["record"], "record_id": rows["record_id"].to_numpy(),
    })


def load_request(name: str, rows: pd.DataFrame, *, batch_id: str,
                 department_code: str = "620000-TEST", source_id: str = "synthetic",
                 quarantined: pd.DataFrame | None = None,
                 superseded: pd.DataFrame | None = None,
                 cursor: dict | None = None) -> LoadRequest:
    """A balanced request: ``rows`` passed, ``quarantined`` rows failed, ``superseded`` dropped."""
    rows = rows.assign(batch_id=batch_id)
    failed = quarantine_frame(quarantined) if quarantined is not None else empty_quarantine()
    superseded = superseded if superseded is not None else rows.iloc[0:0]
    raw_parts = [raw_frame(rows), raw_frame(superseded)]
    if quarantined is not None:
        raw_parts.append(raw_frame(quarantined))
    raw = pd.concat(raw_parts, ignore_index=True)
    return LoadRequest(
        dataset=name, department_code=department_code, source_id=source_id,
        batch_id=batch_id, rows=rows.reset_index(drop=True), raw=raw, quarantine=failed,
        superseded=superseded.reset_index(drop=True),
        extracted=len(raw), cursor=cursor if cursor is not None else {"pk": json.dumps(len(raw))},
        code_version="test", config_hash="0" * 64)
