"""Extract throughput and memory of the SQL connector on a MariaDB penalty table.

Creates ``huiju_bench_extract.penalty`` (penalty-shaped rows with Chinese text, loaded with
LOAD DATA LOCAL INFILE from a generated CSV), then:

- throughput: the SQL connector reads the table into Arrow batches (incremental mode, ordered by
  (更新时间, 编号)) in a child process; baseline: the ``mariadb --batch --quick`` client dumping
  the same query to /dev/null. Ratio = connector seconds / client seconds.
- memory: peak RSS (ru_maxrss) of the child process at N rows, then again after growing the
  table to 4N rows; flat means the server-side cursor streams (it does not grow with N).

``python -m benchmarks.bench_extract [--rows 1000000] [--big-rows 4000000] [--batch 10000]``
(env HUIJU_BENCH_ROWS / HUIJU_BENCH_BIG_ROWS as defaults; ``--rows 100000 --big-rows 400000``
is a quick run). The MariaDB server is HUIJU_TEST_MARIADB_URL or root@127.0.0.1:3306.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ADMIN_URL = os.environ.get("HUIJU_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
DATABASE = "huiju_bench_extract"
TABLE = "penalty"
QUERY = f"SELECT * FROM `{TABLE}` ORDER BY `更新时间`, `编号`"
DDL = f"""CREATE TABLE `{TABLE}` (
  `编号` INT PRIMARY KEY,
  `行政处罚决定书文号` VARCHAR(128),
  `当事人名称` VARCHAR(200),
  `统一社会信用代码` VARCHAR(32),
  `处罚类别` VARCHAR(36),
  `罚款金额` DECIMAL(18, 2),
  `处罚决定日期` DATE,
  `处罚机关` VARCHAR(200),
  `违法事实` TEXT,
  `更新时间` DATETIME,
  KEY `ix_cursor` (`更新时间`, `编号`)
) CHARACTER SET utf8mb4"""
PLACES = ["兰州市城关区", "天水市秦州区", "酒泉市肃州区", "嘉峪关市", "张掖市甘州区",
          "武威市凉州区"]
KINDS = ["百货店", "商行", "餐饮有限公司", "建设工程有限公司", "汽修厂", "药店"]


def _url(database: str | None = None) -> sa.URL:
    url = sa.make_url(ADMIN_URL)
    return url.set(database=database, query={"charset": "utf8mb4", "local_infile": "1"})


def _write_csv(path: Path, start: int, count: int) -> None:
    rng = random.Random(start)
    base = dt.datetime.fromisoformat("2021-01-01T00:00:00")
    with path.open("w", encoding="utf-8") as out:
        for i in range(start, start + count):
            place = PLACES[i % len(PLACES)]
            out.write(
                f"{i}\t{place}市监罚〔2024〕{i}号\t{place}某某{KINDS[i % len(KINDS)]}{i}\t"
                f"91620100MA{i:07d}X\t罚款\t{rng.randint(100, 500000)}.{i % 100:02d}\t"
                f"{(base + dt.timedelta(days=i % 1200)).date()}\t{place}市场监督管理局\t"
                f"未按规定明码标价，违反《价格法》第十三条第一款\t"
                f"{base + dt.timedelta(seconds=i * 7)}\n")


def populate(rows: int, start: int = 1, fresh: bool = True) -> float:
    """Create (when fresh) and append ``rows`` rows from id ``start``; returns seconds."""
    started = time.perf_counter()
    admin = sa.create_engine(_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{DATABASE}`"))
            conn.execute(sa.text(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4"))
    admin.dispose()
    engine = sa.create_engine(_url(DATABASE), connect_args={"local_infile": True})
    with tempfile.TemporaryDirectory() as tmp, engine.begin() as conn:
        if fresh:
            conn.execute(sa.text(DDL))
        chunk = 500_000
        for offset in range(0, rows, chunk):
            path = Path(tmp) / "penalty.tsv"
            _write_csv(path, start + offset, min(chunk, rows - offset))
            conn.exec_driver_sql(
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{TABLE}` CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'")
    engine.dispose()
    return time.perf_counter() - started


def run_child(batch: int, driver_only: bool = False) -> dict:
    """Extract the table in a fresh process; returns rows, seconds and peak RSS (MiB)."""
    command = [sys.executable, "-m", "benchmarks.bench_extract", "--child", "--batch", str(batch)]
    if driver_only:
        command.append("--driver-only")
    out = subprocess.run(command, check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _driver_batches(batch: int):
    """The floor: PyMySQL's unbuffered cursor alone, tuples, no Arrow."""
    import pymysql

    url = _url(DATABASE)
    conn = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                           password=url.password or "", database=DATABASE, charset="utf8mb4",
                           cursorclass=pymysql.cursors.SSCursor)
    with conn, conn.cursor() as cursor:
        cursor.execute(QUERY)
        while rows := cursor.fetchmany(batch):
            yield len(rows)


def child(batch: int, driver_only: bool) -> None:
    """The timed child process: read the benchmark table in batches of ``batch`` rows."""
    from connectors.sql import SqlSource, SqlSourceConfig

    config = SqlSourceConfig(url_secret="HUIJU_BENCH_URL", table=TABLE,
                             cursor_column="更新时间", primary_key=["编号"], batch_size=batch)
    source = SqlSource(config, url=_url(DATABASE).render_as_string(hide_password=False))
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    rows = batches = 0
    counts = (_driver_batches(batch) if driver_only
              else (result.num_rows for result in source.read(None)))
    for count in counts:
        rows += count
        batches += 1
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "batches": batches, "seconds": seconds,
                      "peak_mib": peak / 1024, "before_mib": baseline_rss / 1024}))


def run_client() -> float:
    """The mariadb command-line client streaming the same query to /dev/null."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        raise SystemExit("the mariadb client is not installed")
    url = _url(DATABASE)
    command = [client, "--batch", "--quick", "-h", url.host or "127.0.0.1",
               "-P", str(url.port or 3306), "-u", url.username or "root",
               "--default-character-set=utf8mb4", DATABASE, "-e", QUERY]
    env = dict(os.environ)
    if url.password:
        env["MYSQL_PWD"] = str(url.password)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    """Command line: fill the source table, then time extraction per batch size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int,
                        default=int(os.environ.get("HUIJU_BENCH_ROWS", 1_000_000)))
    parser.add_argument("--big-rows", type=int,
                        default=int(os.environ.get("HUIJU_BENCH_BIG_ROWS", 4_000_000)))
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--driver-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)
    if args.child:
        child(args.batch, args.driver_only)
        return

    print(f"bench_extract: MariaDB penalty table, batch_size={args.batch}")
    print(f"  load {args.rows:,} rows: {populate(args.rows):.1f} s")
    results = []
    for size, grow in ((args.rows, 0), (args.big_rows, args.big_rows - args.rows)):
        if grow > 0:
            seconds = populate(grow, start=args.rows + 1, fresh=False)
            print(f"  grow to {size:,} rows: {seconds:.1f} s")
        client = run_client()
        driver = run_child(args.batch, driver_only=True)
        measured = run_child(args.batch)
        assert measured["rows"] == size == driver["rows"], (measured, driver)
        results.append((size, measured, client))
        print(f"  {size:,} rows:")
        print(f"    connector (SqlSource -> Arrow) {measured['seconds']:7.1f} s "
              f"{size / measured['seconds']:>10,.0f} rows/s  {measured['batches']} batches  "
              f"peak RSS {measured['peak_mib']:.0f} MiB (after imports "
              f"{measured['before_mib']:.0f} MiB)")
        print(f"    PyMySQL SSCursor alone         {driver['seconds']:7.1f} s "
              f"{size / driver['seconds']:>10,.0f} rows/s  peak RSS {driver['peak_mib']:.0f} MiB")
        print(f"    mariadb --batch --quick        {client:7.1f} s {size / client:>10,.0f} rows/s")
        print(f"    ratio connector/client {measured['seconds'] / client:.1f}x, "
              f"connector/driver {measured['seconds'] / driver['seconds']:.1f}x")
    (small, m1, _), (big, m4, _) = results
    print(f"  peak RSS at {big:,} / at {small:,} rows: {m4['peak_mib'] / m1['peak_mib']:.2f} "
          "(1.00 = flat; a buffered fetch would grow ~4x)")
    if not args.keep:
        admin = sa.create_engine(_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{DATABASE}`"))
        admin.dispose()


if __name__ == "__main__":
    main()
