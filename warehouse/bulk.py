"""Bulk writes: a pandas frame into a table, as Arrow typed like the table's columns.

PostgreSQL gets a binary ``COPY`` (pgpq encodes the Arrow columns; PostgreSQL parses no text
and no value passes through a Python object); SQLite, an ``executemany``. Both go through
``bulk_insert``, so the loader has one code path for the embedded store and the warehouse.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from pgpq import ArrowToPostgresBinaryEncoder
from psycopg.copy import QueuedLibpqWriter

COPY_CHUNK_ROWS = 5_000

# Crash-safety tests make a loading process stop at a named point (and then kill it):
# HUIJU_WAREHOUSE_PAUSE_AT=copy|merge|outbox (the delivery task: deliver-sent|deliver-answered),
# with HUIJU_WAREHOUSE_PAUSE_FILE touched on arrival.
PAUSE_AT_ENV = "HUIJU_WAREHOUSE_PAUSE_AT"
PAUSE_FILE_ENV = "HUIJU_WAREHOUSE_PAUSE_FILE"


def pause_point(name: str) -> None:
    """Stop here (for a crash test to kill the process) if HUIJU_WAREHOUSE_PAUSE_AT=name."""
    if os.environ.get(PAUSE_AT_ENV) != name:
        return
    marker = os.environ.get(PAUSE_FILE_ENV)
    if marker:
        Path(marker).write_text(name, encoding="utf-8")
    time.sleep(600)


def arrow_type(column: sa.Column) -> pa.DataType:
    """The Arrow type a column is sent as (binary COPY needs the target's exact type)."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.BigInteger):
        return pa.int64()
    if isinstance(kind, sa.Integer):
        return pa.int32()
    if isinstance(kind, sa.Numeric):
        return pa.decimal128(kind.precision, kind.scale)
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC")
    return pa.large_string()  # VARCHAR, TEXT, and JSON sent as the text extracted


def arrow_table(frame: pd.DataFrame, target: sa.Table) -> pa.Table:
    """The frame's columns that ``target`` has, as Arrow typed like the target's columns."""
    arrays, names = [], []
    for column in target.columns:
        if column.name not in frame.columns:
            continue
        series, kind = frame[column.name], arrow_type(column)
        if pa.types.is_date32(kind) and getattr(series.dtype, "tz", None):
            series = series.dt.tz_localize(None)
        elif pa.types.is_timestamp(kind) and len(series):
            series = pd.to_datetime(series, utc=True)
        array = pa.array(series, from_pandas=True)
        if pa.types.is_date32(kind) and pa.types.is_timestamp(array.type):
            array = array.cast(pa.timestamp("us")).cast(pa.date32())
        arrays.append(array if array.type == kind else array.cast(kind))
        names.append(column.name)
    return pa.Table.from_arrays(arrays, names=names)


def bulk_insert(conn: sa.Connection, target: sa.Table, frame: pd.DataFrame, *,
                 pause: str | None = None) -> None:
    """Insert ``frame`` into ``target``: binary COPY on PostgreSQL, executemany elsewhere."""
    data = arrow_table(frame, target)
    if conn.dialect.name == "postgresql":
        _copy(conn, target, data, pause)
        return
    for start in range(0, max(data.num_rows, 1), COPY_CHUNK_ROWS):
        chunk = data.slice(start, COPY_CHUNK_ROWS)
        if chunk.num_rows == 0:
            break
        # SQLite keeps exact decimals as text (see warehouse.tables.sql_type).
        columns = [c.cast(pa.string()) if pa.types.is_decimal(c.type) else c
                   for c in chunk.columns]
        records = pa.Table.from_arrays(columns, names=chunk.column_names).to_pylist()
        conn.execute(target.insert(), records)
        if pause:
            pause_point(pause)


def _copy(conn: sa.Connection, target: sa.Table, data: pa.Table, pause: str | None) -> None:
    """COPY an Arrow table into ``target`` in PostgreSQL's binary format.

    pgpq encodes Arrow columns straight into binary COPY rows: PostgreSQL then parses no text
    (a third less work than CSV), and no value passes through a Python object.
    """
    name = target.name if target.schema is None else f"{target.schema}.{target.name}"
    columns = ", ".join(f'"{c}"' for c in data.column_names)
    encoder = ArrowToPostgresBinaryEncoder(data.schema)
    cursor = conn.connection.driver_connection.cursor()
    # A queued writer sends on its own thread, so PostgreSQL parses one chunk while the
    # encoder writes the next (two cores instead of one, taking turns).
    with cursor.copy(f"COPY {name} ({columns}) FROM STDIN WITH (FORMAT binary)",
                     writer=QueuedLibpqWriter(cursor)) as copy:
        copy.write(encoder.write_header())
        for batch in data.to_batches(max_chunksize=COPY_CHUNK_ROWS):
            copy.write(encoder.write_batch(batch))
            if pause:
                pause_point(pause)
                pause = None
        copy.write(encoder.finish())
