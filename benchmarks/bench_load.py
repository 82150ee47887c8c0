"""Load benchmark: a million penalty rows into core on PostgreSQL, against a bare ``psql \\copy``.

Run: ``.venv/bin/python -m benchmarks.bench_load [--rows N] [--admin-url URL]``.

In one run, on a fresh database:
1. baseline — the same standard rows as CSV, ``psql \\copy`` into a bare table (no keys);
2. ``load_batch`` of those rows (raw landing, COPY into core, quarantine, audit) — rows/s
   and the ratio to the baseline (target ≤ 3×);
3. an incremental reload of every row where 1 % changed — time and rows touched;
4. a second department's first million rows, into a core table that is no longer empty (the
   first load into an empty table builds its indexes after the COPY; this one cannot).
Data generation is not timed; a CHECKPOINT precedes each timed step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

from schemas.catalog import all_fields, dataset
from warehouse.engine import create_warehouse_engine
from warehouse.load import load_batch
from warehouse.migrate import upgrade
from warehouse.provenance import batch_changes
from warehouse.testing.synthetic import load_request, standard_frame

ADMIN_URL = os.environ.get("HUIJU_BENCH_PG_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _psql_copy(url: sa.URL, table: str, path: Path) -> float:
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", url.host or "127.0.0.1",
               "-p", str(url.port or 5432), "-U", url.username or "postgres",
               "-d", url.database, "-c", f"\\copy {table} FROM '{path}' WITH (FORMAT csv)"]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - started


def _checkpoint(engine: sa.Engine) -> None:
    # Each timed step starts clean: the pages an earlier step dirtied (and the WAL it wrote)
    # are flushed now, not by a checkpoint in the middle of the next step.
    with engine.connect() as conn:
        conn.execute(sa.text("CHECKPOINT"))


def _timed(label: str, function):
    started = time.perf_counter()
    value = function()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.1f} s")
    return value, elapsed


def run(rows: int, admin_url: str) -> None:
    """Load ``rows`` synthetic rows into a new database made through ``admin_url``; print times."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"huiju_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name)
    try:
        _run(rows, url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _run(n: int, url: sa.URL) -> None:
    engine = create_warehouse_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    spec = dataset("penalty")
    columns = [f.name for f in all_fields(spec)]
    print(f"bench_load: {n:,} penalty rows ({len(columns)} columns) on PostgreSQL")

    print("generating (not timed)")
    frame, _ = _timed("standard frame", lambda: standard_frame("penalty", np.arange(n)))
    request, _ = _timed("raw records + request",
                        lambda: load_request("penalty", frame, batch_id="2026010100001"))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "penalty.csv"
        data = pa.Table.from_pandas(request.rows[columns], preserve_index=False)
        pa_csv.write_csv(data, path, pa_csv.WriteOptions(include_header=False))
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE public.bare AS SELECT {', '.join(columns)} "
                                 "FROM core.penalty WITH NO DATA"))
        print("baseline")
        _checkpoint(engine)
        copy_seconds = _psql_copy(url, "public.bare", path)
        print(f"  psql \\copy into a bare table: {copy_seconds:.1f} s "
              f"({n / copy_seconds:,.0f} rows/s, {path.stat().st_size / 2**20:,.0f} MiB CSV)")

    print("full load")
    _checkpoint(engine)
    result, load_seconds = _timed("load_batch", lambda: load_batch(engine, request))
    print(f"  {result.inserted:,} inserted, {n / load_seconds:,.0f} rows/s")
    print(f"  phases (s): {result.seconds}")
    print(f"  ratio load_batch / psql \\copy: {load_seconds / copy_seconds:.2f}x (target <= 3x)")

    print("incremental reload, 1 % changed")
    version = (np.arange(n) % 100 == 0).astype("int64")
    changed, _ = _timed("generate (not timed)", lambda: load_request(
        "penalty", standard_frame("penalty", np.arange(n), version=version, operation="u"),
        batch_id="2026010100002"))
    _checkpoint(engine)
    again, reload_seconds = _timed("load_batch", lambda: load_batch(engine, changed))
    print(f"  {again.updated:,} updated, {again.unchanged:,} unchanged, {again.inserted} "
          f"inserted; {n / reload_seconds:,.0f} rows/s; "
          f"{reload_seconds / copy_seconds:.2f}x the full psql \\copy")
    print(f"  phases (s): {again.seconds}")
    with engine.connect() as conn:
        history = conn.execute(sa.text("SELECT count(*) FROM core.penalty_history")).scalar()
    touched = len(batch_changes(engine, "penalty", "2026010100002"))
    print(f"  rows touched: {touched:,} core rows, {history:,} history versions")

    print("a second department's first load (core not empty: its indexes are kept up to date)")
    other, _ = _timed("generate (not timed)", lambda: load_request(
        "penalty", standard_frame("penalty", np.arange(n), department_code="620000-OTHER"),
        batch_id="2026010100001", department_code="620000-OTHER"))
    _checkpoint(engine)
    second, second_seconds = _timed("load_batch", lambda: load_batch(engine, other))
    print(f"  {second.inserted:,} inserted, {n / second_seconds:,.0f} rows/s; "
          f"{second_seconds / copy_seconds:.2f}x the psql \\copy")
    print(f"  phases (s): {second.seconds}")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Command line: time loading ``--rows`` rows into a fresh PostgreSQL database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    run(args.rows, args.admin_url)


if __name__ == "__main__":
    main()
