"""Raw landing in compressed parts: raw.part holds the records, raw.record one narrow row each

Revision ID: 0ddf1fd6a9bc
Revises: a576c83b7552
Create Date: 2026-11-29 15:38:14.807288

Written by `huiju db revision`, then by hand: Alembic cannot see a primary key change, and the
landed rows are carried over (upgrade: each batch's JSON records packed into parts, as
warehouse/landing.py writes them; downgrade: unpacked again). The encoder is copied here, not
imported, so that this revision keeps working whatever the code later becomes.
"""
# ruff: noqa  (generated code)

import io
from collections.abc import Sequence
from itertools import groupby

import pyarrow as pa
import pyarrow.ipc as ipc
import sqlalchemy as sa
from alembic import op

revision: str = '0ddf1fd6a9bc'
down_revision: str | Sequence[str] | None = 'a576c83b7552'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PART_ROWS = 20_000
FORMAT = 'arrow-ipc-zstd'
BATCH = ('department_code', 'source_system', 'dataset', 'batch_id')


def _encode(records: list[str]) -> bytes:
    schema = pa.schema([('record', pa.large_string())])
    sink = io.BytesIO()
    options = ipc.IpcWriteOptions(compression=pa.Codec('zstd', 1))
    with ipc.new_stream(sink, schema, options=options) as writer:
        writer.write_table(pa.table({'record': pa.array(records, pa.large_string())}))
    return sink.getvalue()


def _decode(blob: bytes) -> list[str]:
    with ipc.open_stream(pa.BufferReader(blob)) as reader:
        return reader.read_all().column('record').to_pylist()


def _identity():
    return sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _batch_columns():
    return [sa.Column('department_code', sa.String(length=32), nullable=False),
            sa.Column('source_system', sa.String(length=64), nullable=False),
            sa.Column('dataset', sa.String(length=64), nullable=False),
            sa.Column('batch_id', sa.String(length=13), nullable=False)]


def _set_aside(name: str) -> None:
    # The new table takes the old one's name, and its index and key names with it.
    op.drop_index('ix_record_source_ref', table_name=name, schema='raw')
    op.execute(f'ALTER TABLE raw.{name} RENAME TO {name}_old')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE raw.{name}_old RENAME CONSTRAINT pk_record TO pk_record_old')


def upgrade() -> None:
    _set_aside('record')
    part = op.create_table('part',
    sa.Column('part_id', _identity(), sa.Identity(always=False), nullable=False),
    *_batch_columns(),
    sa.Column('part_no', sa.Integer(), nullable=False, comment='position in the batch'),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('records', sa.LargeBinary(), nullable=False, comment='the canonical JSON of each row as extracted, compressed together'),
    sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('part_id', name=op.f('pk_part')),
    sa.UniqueConstraint('department_code', 'source_system', 'dataset', 'batch_id', 'part_no', name='uq_part_batch'),
    schema='raw',
    comment='extracted rows, as extracted, in compressed parts of a batch (landing)'
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Parts are compressed already: PostgreSQL's own attempt would cost 4× the insert.
        op.execute('ALTER TABLE raw.part ALTER COLUMN records SET STORAGE EXTERNAL')
    record = op.create_table('record',
    sa.Column('part_id', sa.BigInteger(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False, comment='position in the part'),
    sa.Column('source_ref', sa.Text(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('part_id', 'row_no', name='pk_record'),
    schema='raw',
    comment='every extracted row: its source reference and hash, and where it landed'
    )
    op.create_index('ix_record_source_ref', 'record', ['source_ref'], unique=False, schema='raw')

    old = sa.table('record_old', sa.column('raw_id'), *(sa.column(c) for c in BATCH),
                   sa.column('source_ref'), sa.column('source_hash'), sa.column('record'),
                   sa.column('extracted_at', sa.DateTime(timezone=True)), schema='raw')
    bind = op.get_bind()
    rows = bind.execute(sa.select(*(old.c[c] for c in BATCH), old.c.source_ref, old.c.source_hash,
                                  sa.cast(old.c.record, sa.Text).label('record'),
                                  old.c.extracted_at)
                        .order_by(*(old.c[c] for c in BATCH), old.c.raw_id)
                        .execution_options(yield_per=PART_ROWS))
    for key, group in groupby(rows, key=lambda r: tuple(r[:4])):
        group = list(group)
        for part_no, start in enumerate(range(0, len(group), PART_ROWS)):
            chunk = group[start:start + PART_ROWS]
            part_id = bind.execute(part.insert().values(
                **dict(zip(BATCH, key)), part_no=part_no, rows=len(chunk), format=FORMAT,
                records=_encode([r.record for r in chunk]), extracted_at=chunk[0].extracted_at,
            ).returning(part.c.part_id)).scalar_one()
            bind.execute(record.insert(), [
                {'part_id': part_id, 'row_no': i, 'source_ref': r.source_ref,
                 'source_hash': r.source_hash} for i, r in enumerate(chunk)])
    op.drop_table('record_old', schema='raw')


def downgrade() -> None:
    _set_aside('record')
    record = op.create_table('record',
    sa.Column('raw_id', _identity(), sa.Identity(), nullable=False),
    *_batch_columns(),
    sa.Column('source_ref', sa.Text(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False, comment='legacy values as extracted'),
    sa.Column('extracted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('raw_id', name='pk_record'),
    schema='raw',
    comment='every extracted row, as extracted (landing)'
    )
    op.create_index('ix_record_source_ref', 'record', ['source_ref'], unique=False, schema='raw')
    part = sa.table('part', sa.column('part_id'), *(sa.column(c) for c in BATCH),
                    sa.column('records', sa.LargeBinary()),
                    sa.column('extracted_at', sa.DateTime(timezone=True)), schema='raw')
    narrow = sa.table('record_old', sa.column('part_id'), sa.column('row_no'),
                      sa.column('source_ref'), sa.column('source_hash'), schema='raw')
    bind = op.get_bind()
    for found in bind.execute(sa.select(part).order_by(part.c.part_id)).all():
        texts = _decode(found.records)
        landed = bind.execute(sa.select(narrow.c.row_no, narrow.c.source_ref, narrow.c.source_hash)
                              .where(narrow.c.part_id == found.part_id)
                              .order_by(narrow.c.row_no)).all()
        # The JSON text goes back as written (its sha256 is the row's source_hash).
        text = sa.bindparam('text', type_=sa.Text)
        if bind.dialect.name == 'postgresql':
            text = sa.cast(text, sa.JSON)
        insert = record.insert().values(record=text)
        bind.execute(insert, [
            {**{c: getattr(found, c) for c in BATCH}, 'source_ref': ref, 'source_hash': digest,
             'text': texts[row], 'extracted_at': found.extracted_at}
            for row, ref, digest in landed])
    op.drop_table('record_old', schema='raw')
    op.drop_table('part', schema='raw')

