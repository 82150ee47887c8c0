"""The end-to-end benchmark's source: ``--wide-field`` really puts one huge 违法事实 in MariaDB
(the issue's 50 MB field), so a memory figure measured with it means what it says."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from benchmarks import bench_e2e


def test_wide_field_puts_one_row_of_that_size(mariadb_admin: sa.Engine) -> None:
    database = f"huiju_test_{uuid.uuid4().hex[:12]}"
    bench_e2e.create_source(database, 200, seed=3)
    try:
        bench_e2e.widen_source(database, 2)
        engine = sa.create_engine(bench_e2e._mariadb_url(database))
        with engine.connect() as conn:
            lengths = conn.exec_driver_sql(
                f"SELECT CHAR_LENGTH(`违法事实`), LENGTH(`违法事实`) FROM `{bench_e2e.TABLE}` "
                "ORDER BY LENGTH(`违法事实`) DESC LIMIT 2").all()
            rows = conn.exec_driver_sql(f"SELECT COUNT(*) FROM `{bench_e2e.TABLE}`").scalar()
        engine.dispose()
    finally:
        bench_e2e.drop_source(database)
    (chars, size), (_, next_size) = lengths
    assert size == chars * 3 and 2 * 2**20 - 3 < size <= 2 * 2**20   # 2 MiB of 违
    assert next_size < 1000        # one row only; the others keep their usual text
    assert rows == 200
