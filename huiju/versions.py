"""Versions of one record ordered by a column the feed declares, not by file order.

A drop folder or an API can hold two versions of one record in one batch — a corrected row
earlier in the file than its stale one — and a later batch can bring an older version than the
warehouse holds. With ``version_column: 更新时间`` (or a sequence number column) on the feed:

- **within a batch** the frame is put in version order (stable), so validation's "the last row
  of a business key wins" keeps the newest version; rows with the same version keep their file
  order (the later one wins) and each such tie is recorded as a warning naming the rows;
- **across batches** a passed row older than the version the warehouse holds for its key (read
  from the landed raw record of the current core row) is superseded, not loaded.

Version values are compared as numbers when every value of the batch is one, else as time
stamps (``connectors.timestamps``: declared formats, ISO, legacy layouts; Asia/Shanghai unless
declared); a value that is neither sorts as the oldest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from connectors.timestamps import LEGACY_TIMEZONE, parse_timestamp
from schemas.model import DataSetSpec
from warehouse import landing
from warehouse.tables import core_table

__all__ = ["order_by_version", "stale_rows", "version_keys"]


def _raw_values(records: Iterable[str], column: str) -> list:
    values = []
    for text in records:
        try:
            values.append(json.loads(text).get(column))
        except (ValueError, AttributeError):
            values.append(None)
    return values


def version_keys(values: list, timezone: str = LEGACY_TIMEZONE) -> np.ndarray:
    """Sortable float keys of version values (numbers, else time stamps; unknown = -inf)."""
    numbers = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce")
    present = [v is not None and str(v).strip() != "" for v in values]
    if numbers[present].notna().all() and any(present):
        return numbers.fillna(-np.inf).to_numpy(dtype="float64")
    keys = []
    for value in values:
        stamp = parse_timestamp(value, timezone=timezone)
        keys.append(stamp.timestamp() if stamp is not None else -np.inf)
    return np.asarray(keys, dtype="float64")


def order_by_version(frame: pd.DataFrame, issues: pd.DataFrame | None, column: str,
                     spec: DataSetSpec, timezone: str = LEGACY_TIMEZONE
                     ) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str]]:
    """The frame in version order (stable), its issues renumbered, and the ties recorded."""
    keys = version_keys(_raw_values(frame["record"], column), timezone)
    order = np.argsort(keys, kind="stable")
    warnings = []
    business = list(spec.business_key)
    work = frame[business].assign(_version=keys, _ref=frame["_source_ref"])
    tied = work[work.duplicated([*business, "_version"], keep=False)]
    for _, group in tied.groupby([*business, "_version"], sort=False, dropna=False):
        refs = list(group["_ref"])
        warnings.append(f"{len(refs)} versions of one record share {column} "
                        f"{_show(group['_version'].iat[0])}: the last in file order wins "
                        f"({', '.join(refs[:5])}{' …' if len(refs) > 5 else ''})")
    if (order == np.arange(len(order))).all():
        return frame, issues, warnings
    reordered = frame.iloc[order].reset_index(drop=True)
    if issues is not None and len(issues):
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        issues = issues.assign(row=position[issues["row"].to_numpy(dtype=np.int64)])
    return reordered, issues, warnings


def _show(key: float) -> str:
    return "(none)" if key == -np.inf else f"{key:g}"


def stale_rows(conn: sa.Connection, passed: pd.DataFrame, records: Sequence[str],
               spec: DataSetSpec, department: str, column: str,
               timezone: str = LEGACY_TIMEZONE) -> np.ndarray:
    """Positions of ``passed`` rows older than the version the warehouse holds for their key.

    ``records``: each passed row's canonical JSON (its legacy ``column`` is read from it), in
    the order of ``passed``."""
    if not len(passed):
        return np.zeros(0, dtype=np.int64)
    core = core_table(spec)
    business = list(spec.business_key)
    held: dict[tuple, tuple[str, str]] = {}
    keys = passed[business].drop_duplicates().itertuples(index=False, name=None)
    keys = list(keys)
    for start in range(0, len(keys), 200):
        chunk = keys[start:start + 200]
        match = sa.or_(*(sa.and_(*(core.c[name] == value for name, value
                                    in zip(business, key, strict=True))) for key in chunk))
        for row in conn.execute(sa.select(*(core.c[n] for n in business), core.c.source_ref,
                                          core.c.source_hash)
                                .where(core.c.department_code == department, match)):
            held[tuple(row[:len(business)])] = (row[-2], row[-1])
    if not held:
        return np.zeros(0, dtype=np.int64)
    landed = landing.landings()
    by_ref = {ref_hash: key for key, ref_hash in held.items()}
    stored: dict[tuple, str | None] = {}
    refs = [ref for ref, _ in held.values()]
    for start in range(0, len(refs), 500):
        rows = conn.execute(sa.select(landed.c.source_ref, landed.c.source_hash,
                                      landed.c.part_id, landed.c.row_no)
                            .where(landed.c.source_ref.in_(refs[start:start + 500]))).all()
        wanted = {(p, r): by_ref[(ref, digest)] for ref, digest, p, r in rows
                  if (ref, digest) in by_ref}
        for position, text in landing.records(conn, wanted).items():
            stored[wanted[position]] = _raw_values([text], column)[0]
    incoming = version_keys(_raw_values(records, column), timezone)
    stale = []
    for position, key in enumerate(passed[business].itertuples(index=False, name=None)):
        if key in stored:
            current = version_keys([stored[key]], timezone)[0]
            if incoming[position] < current:
                stale.append(position)
    return np.asarray(stale, dtype=np.int64)
