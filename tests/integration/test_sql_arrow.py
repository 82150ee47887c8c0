"""The connectorx (Arrow) SQL reader gives every row the same canonical record — so the same
``_source_hash`` — as the PyMySQL/psycopg reader, over every MySQL and PostgreSQL column type
the driver path supports, on real servers; and the same refs and cursors, batch by batch.

If a switch of reader changed one column's text, every row would look changed once; these
tests are the proof the switch is invisible. connectorx comes with the ``dev`` dependency group
(so CI runs them); without it they skip.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
import sqlalchemy as sa

from connectors.base import ConnectorError
from connectors.sql import SqlSource, SqlSourceConfig
from connectors.sql_arrow import ArrowSqlSource
from huiju.canonical import canonical_records as _records
from huiju.canonical import legacy_text as _as_text
from huiju.canonical import record_hashes as _hashes

pytest.importorskip("connectorx")  # imported by ArrowSqlSource.read, not at import

MARIADB_DDL = """CREATE TABLE `类型表` (
  `编号` INT PRIMARY KEY, `ti` TINYINT, `flag` TINYINT(1), `si` SMALLINT, `mi` MEDIUMINT,
  `bi` BIGINT, `ub` BIGINT UNSIGNED, `yr` YEAR,
  `金额` DECIMAL(18,2), `d0` DECIMAL(10,0), `d6` DECIMAL(30,6), `d38` DECIMAL(38,4),
  `f` FLOAT, `db` DOUBLE,
  `dt` DATE, `ts` DATETIME, `ts6` DATETIME(6), `tstamp` TIMESTAMP NULL, `tm` TIME, `tm6` TIME(6),
  `c` CHAR(10), `v` VARCHAR(100), `tx` TEXT, `e` ENUM('甲','乙'), `j` JSON, `b` BLOB,
  `vb` VARBINARY(20), `更新时间` DATETIME(6) NOT NULL
) CHARACTER SET utf8mb4"""
MARIADB_ROWS = [
    "(1, -5, 1, 300, 70000, 9007199254740993, 4294967296, 2024, 1.50, 12,"
    " 123456789012345678901234.123456, 12345678901234567890123456789012.1234, 1.1,"
    " 0.30000000000000004, '2024-02-29', '2024-01-02 03:04:05', '2024-01-02 03:04:05.123456',"
    " '2024-05-06 07:08:09', '13:14:15', '-838:59:59.000000', '甘肃', '兰州市城关区',"
    " '违法事实：\"引号\"\\\\反斜杠\\n换行\\t制表', '甲', '{\"a\": [1, 2.50, \"中\"]}', X'00FF',"
    " X'E4B8AD', '2024-01-01 00:00:00.000001')",
    "(2, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3.1415927, 1e300,"
    " NULL, NULL, NULL, NULL, '-01:02:03', '25:00:00.5', NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, '2024-01-01 00:00:00.000001')",
    "(3, 0, 0, 0, 0, 0, 0, 1901, -0.01, 0, 0.000001, -0.0001, 123456789, 1.7976931348623157e308,"
    " '1000-01-01', '9999-12-31 23:59:59', '1970-01-01 00:00:00.000001', NULL, '00:00:00',"
    " '00:00:00.000001', ' 空格 ', '', '', '乙', 'null', '', '', '2024-01-02 00:00:00')",
    "(4, 127, 1, -32768, -8388608, -9223372036854775808, 1, 2155, 9999999999999999.99, -1, 1,"
    " 1, 0.1, 1.5e-7, '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', NULL,"
    " '12:00:00', '12:00:00', '䶮玥', 'y', '𠀀 supplementary', '甲', '1.0', 'abc', 'abc',"
    " '2024-01-02 00:00:00')",
    "(5, 1, NULL, 1, 1, 1, 1, 2000, 100, 100, 100.5, 0.5, -2.5e-5, -0.0, '2000-01-01',"
    " '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '-00:00:01',"
    " '-00:00:00.5', 'x', 'y', 'z', '乙', '[]', NULL, NULL, '2024-01-03 00:00:00')",
]

PG_DDL = """CREATE TABLE "类型表" (
  "编号" int PRIMARY KEY, si smallint, bi bigint, "金额" numeric(18,2), n0 numeric(10,0),
  n38 numeric(38,6), nn numeric, r real, dp double precision, b boolean, dt date,
  ts timestamp, ts6 timestamp(6), tm time, c char(10), v varchar(100), tx text, by bytea,
  "更新时间" timestamp NOT NULL)"""
PG_ROWS = [
    "(1, 300, 9007199254740993, 1.50, 12, 12345678901234567890123456789012.123456,"
    " 3.14159265358979323846, 1.1, 0.30000000000000004, true, '2024-02-29',"
    " '2024-01-02 03:04:05', '2024-01-02 03:04:05.123456', '13:14:15.5', '甘肃', '兰州市城关区',"
    " E'违法事实：\"引号\"\\\\反斜杠\\n换行\\t制表', '\\x00ff', '2024-01-01 00:00:00.000001')",
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, 3.1415927, 1e300, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, '2024-01-01 00:00:00.000001')",
    "(3, 0, 0, -0.01, 0, 0.000001, 1e-20, 123456789, 'NaN', false, '0001-01-01',"
    " '1970-01-01 00:00:00', '1970-01-01 00:00:00.000001', '00:00:00', ' 空格 ', '', '', '',"
    " '2024-01-02 00:00:00')",
    "(4, -32768, -9223372036854775808, 9999999999999999.99, -1, 1, 100, 0.1, 'Infinity', true,"
    " '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '23:59:59.999999', '䶮玥', 'y',"
    " '𠀀 supplementary', 'abc', '2024-01-02 00:00:00')",
    "(5, 1, 1, 100, 100, 0.5, -2.5, -2.5e-5, '-Infinity', NULL, '2000-01-01',"
    " '2000-01-01 00:00:00', '2000-01-01 00:00:00', '12:00:00', 'x', 'y', 'z', NULL,"
    " '2024-01-03 00:00:00')",
]


def _build(url: str, ddl: str, rows: list[str]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
        conn.exec_driver_sql(f"INSERT INTO {ddl.split()[2]} VALUES " + ", ".join(rows))
    engine.dispose()


def _read(source, state=None) -> list:
    return list(source.read(state))


def _hashes_of(table: pa.Table) -> list[str]:
    """``_source_hash`` as the mapping computes it (``huiju.mapping.map_batch``)."""
    texts = {name: _as_text(table.column(name)) for name in table.column_names}
    return _hashes(_records(table, texts)).to_pylist()


def _texts(table: pa.Table) -> dict[str, list]:
    return {name: _as_text(table.column(name)).tolist() for name in table.column_names}


def _without_seen(cursor: dict | None) -> dict | None:
    return None if cursor is None else {k: v for k, v in cursor.items() if k != "seen"}


def _assert_same(url: str, **overrides) -> None:
    values = {"url_secret": "HUIJU_TEST_SQL_URL", "table": "类型表", "primary_key": ["编号"],
              "cursor_column": "更新时间", "batch_size": 2}
    values.update(overrides)
    config = SqlSourceConfig(**values)
    driver = _read(SqlSource(config, url=url))
    arrow = _read(ArrowSqlSource(config, url=url))
    assert [b.table.num_rows for b in arrow] == [b.table.num_rows for b in driver]
    assert sum(b.table.num_rows for b in driver) == 5
    for mine, theirs in zip(arrow, driver, strict=True):
        assert mine.table.column_names == theirs.table.column_names
        assert mine.refs == theirs.refs
        # the same cursor; on MariaDB the row hashes of the rows tied at the boundary ("seen")
        # too. On PostgreSQL a row's Python values differ between the paths (an aware time
        # stamp read as local time), so each reader's "seen" holds its own hashes: a switch of
        # reader re-reads the rows tied at one boundary once (unchanged, so loaded as such)
        if url.startswith("postgresql"):
            assert _without_seen(mine.cursor) == _without_seen(theirs.cursor)
        else:
            assert json.loads(json.dumps(mine.cursor)) == json.loads(json.dumps(theirs.cursor))
        # column by column first, so a difference names its column and values
        assert _texts(mine.table) == _texts(theirs.table)
        assert _hashes_of(mine.table) == _hashes_of(theirs.table)
    # each reader resumes its own cursor exactly, and (on MariaDB) the other's
    rest = 5 - driver[0].table.num_rows
    assert len([r for b in _read(SqlSource(config, url=url), driver[0].cursor)
                for r in b.refs]) == rest
    assert len([r for b in _read(ArrowSqlSource(config, url=url), arrow[0].cursor)
                for r in b.refs]) == rest
    if not url.startswith("postgresql"):
        for cursor in (driver[0].cursor, arrow[0].cursor):
            after_first = _read(ArrowSqlSource(config, url=url), cursor)
            again = _read(SqlSource(config, url=url), cursor)
            assert [r for b in after_first for r in b.refs] == [r for b in again
                                                                for r in b.refs]


@pytest.mark.mariadb
@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_mariadb_every_type_hashes_the_same(mariadb_url: str, mode: str) -> None:
    _build(mariadb_url, MARIADB_DDL, MARIADB_ROWS)
    _assert_same(mariadb_url, mode=mode)


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_postgres_every_type_hashes_the_same(pg_url: str, mode: str) -> None:
    _build(pg_url, PG_DDL, PG_ROWS)
    _assert_same(pg_url, mode=mode)


@pytest.mark.postgres
def test_postgres_json_is_refused_by_name(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql('CREATE TABLE t ("编号" int PRIMARY KEY, doc jsonb, '
                             '"更新时间" timestamp)')
    engine.dispose()
    config = SqlSourceConfig(url_secret="X", table="t", primary_key=["编号"],
                             cursor_column="更新时间")
    with pytest.raises(ConnectorError, match=r"doc.*jsonb"):
        _read(ArrowSqlSource(config, url=pg_url))
