"""The raw landing: every extracted row, as extracted, kept compressed in parts.

A batch's rows land as ``raw.part`` rows of up to ``PART_ROWS`` records each — an Arrow IPC
stream, zstd-compressed, of the canonical JSON of every legacy row (the text whose sha256 is
the row's ``source_hash``) — and one small ``raw.record`` row per record: ``part_id``,
``row_no`` (its position in the part), ``source_ref`` and ``source_hash``. A batch's records
share their keys and most of their values, so they compress together many times better than
one by one (synthetic penalty rows: 12×; PostgreSQL would compress each value alone, and only
past 2 kB); the per-record rows stay narrow enough to index by source reference.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.ipc as ipc
import sqlalchemy as sa

from warehouse.tables import RAW, table

PART_ROWS = 20_000
FORMAT = "arrow-ipc-zstd"
_SCHEMA = pa.schema([("record", pa.large_string())])
_OPTIONS = ipc.IpcWriteOptions(compression=pa.Codec("zstd", 1))


def encode_part(records: pa.Array) -> bytes:
    """The records (JSON text) as one compressed Arrow IPC stream."""
    sink = io.BytesIO()
    with ipc.new_stream(sink, _SCHEMA, options=_OPTIONS) as writer:
        writer.write_table(pa.table({"record": records.cast(pa.large_string())},
                                    schema=_SCHEMA))
    return sink.getvalue()


def decode_part(blob: bytes) -> list[str]:
    """The records of a part, in order (``row_no`` indexes this list)."""
    with ipc.open_stream(pa.BufferReader(blob)) as reader:
        return reader.read_all().column("record").to_pylist()


def records(conn: sa.Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The landed records (JSON text, exactly as extracted) for ``(part_id, row_no)`` keys."""
    wanted: dict[int, set[int]] = {}
    for part_id, row_no in keys:
        wanted.setdefault(part_id, set()).add(row_no)
    part = table(RAW, "part")
    found = {}
    for part_id, rows in sorted(wanted.items()):
        blob = conn.execute(sa.select(part.c.records).where(part.c.part_id == part_id)).scalar()
        texts = decode_part(blob)
        found.update({(part_id, row): texts[row] for row in rows})
    return found


def landings() -> sa.Subquery:
    """``raw.record`` joined with its part: one row per landed record, with batch and source."""
    part, record = table(RAW, "part"), table(RAW, "record")
    return (sa.select(part.c.department_code, part.c.source_id, part.c.dataset,
                      part.c.batch_id, part.c.extracted_at, record.c.part_id, record.c.row_no,
                      record.c.source_ref, record.c.source_hash)
            .select_from(record.join(part, record.c.part_id == part.c.part_id))
            .subquery("landing"))
