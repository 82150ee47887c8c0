"""Delivery: records per second from the outbox to the simulator, beside its raw accept rate.

Loads N penalty rows (default 100,000; ``warehouse.testing.synthetic.deliverable_penalties``) into a
fresh warehouse — the outbox is written by the load — then, in the same run, against the
信用中国 CF endpoint of the platform simulator (a child process on a free port):

- **raw**: the simulator's own accept rate: the same number of records, payloads built
  beforehand, POSTed in batches of 500 over one keep-alive session — no warehouse, no
  outbox, no retries (the baseline: what the socket, JSON and the simulator cost);
- **deliver**: ``huiju.delivery.deliver`` from the outbox: claim, read the versions, build
  payloads at send time, send, store receipts — fault-free;
- **deliver, faults**: the same outbox reset to pending, to a fresh simulator with
  ``--fault-rate 0.1`` (5xx, 429 with Retry-After, slow answers, dropped connections, lost
  responses), retried to exactly one acceptance each.

Prints records/s of each and the ratio delivery/raw. Run:
``.venv/bin/python -m benchmarks.bench_delivery`` (``--rows N``, ``--url`` a PostgreSQL URL
instead of the embedded SQLite store, ``--fault-rate R``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

PLATFORM, RESOURCE = "creditchina", "CF"
TOKEN = "bench-delivery-token"


def _load(url: str, rows: int):
    from warehouse.engine import create_warehouse_engine
    from warehouse.load import load_batch
    from warehouse.migrate import upgrade
    from warehouse.testing.synthetic import deliverable_penalties, load_request

    engine = create_warehouse_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    for number, start in enumerate(range(0, rows, 100_000), start=1):
        ids = range(start, min(rows, start + 100_000))
        load_batch(engine, load_request("penalty", deliverable_penalties(ids),
                                        batch_id=f"20260101{number:05d}"))
    return engine, time.perf_counter() - started


def _raw_rate(base: str, rows: int) -> float:
    """Records/s the simulator accepts when handed ready payloads in batches of 500."""
    import requests

    from schemas.platforms import build_payload, load_platforms
    from warehouse.testing.synthetic import deliverable_penalties

    resource = load_platforms()[PLATFORM].resource(RESOURCE)
    frame = deliverable_penalties(range(rows), department_code="620000-RAW")
    records = [{"key": f"raw-{i}", "record_id": f"raw-{i}", "operation": "i",
                "payload": build_payload(resource, {**row, "division_code": "620000",
                                                    "department_code": "620000-RAW"})}
               for i, row in enumerate(frame.to_dict("records"))]
    session = requests.Session()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    for start in range(0, rows, 500):
        answer = session.post(f"{base}/api/{PLATFORM}/{RESOURCE}", headers=headers, timeout=60,
                              json={"records": records[start:start + 500]})
        answer.raise_for_status()
    return rows / (time.perf_counter() - started)


def _deliver_rate(engine, base: str, rows: int) -> tuple[float, object]:
    from connectors.platforms import PlatformClient, PlatformConfig
    from huiju.delivery import deliver

    client = PlatformClient(PlatformConfig(name=PLATFORM, url=base, token_secret="UNUSED"),
                            token=TOKEN)
    started = time.perf_counter()
    run = deliver(engine, PLATFORM, client=client)
    seconds = time.perf_counter() - started
    if run.error or run.acknowledged != rows:
        raise SystemExit(f"delivery incomplete: {run}")
    return rows / seconds, run


def _reset(engine) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE delivery.outbox SET status = 'pending', attempts = 0, "
                             "receipt = NULL, settled_at = NULL WHERE platform = :p"),
                     {"p": PLATFORM})


def _simulator(folder: Path, *args: str):
    import shutil

    from connectors.platforms import PLATFORMS
    from simulator.process import simulator_process

    shapes = Path(__file__).resolve().parents[1] / "schemas" / "platforms"
    target = folder / "shapes"
    target.mkdir(exist_ok=True)
    for name in PLATFORMS:
        shutil.copy(shapes / f"{name}.yaml", target)
    return simulator_process(token=TOKEN, shapes=target, args=list(args))


def main(argv: list[str] | None = None) -> int:
    """Deliver N records to the simulator with and without faults; print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", help="warehouse URL (default: a fresh embedded SQLite store)")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_delivery_") as folder:
        url = args.url or f"sqlite:///{folder}/warehouse/huiju.db"
        engine, load_seconds = _load(url, args.rows)
        print(f"delivery of {args.rows:,} penalty records to {PLATFORM}/{RESOURCE} "
              f"({engine.dialect.name}; loaded with their outbox in {load_seconds:.1f} s)")
        with _simulator(Path(folder)) as base:
            raw = _raw_rate(base, args.rows)
            clean, _ = _deliver_rate(engine, base, args.rows)
        _reset(engine)
        with _simulator(Path(folder), "--fault-rate", str(args.fault_rate), "--seed", "7") as base:
            faulty, run = _deliver_rate(engine, base, args.rows)
        engine.dispose()
    print(f"{'':34} {'records/s':>10} {'÷ raw':>7}")
    print(f"{'simulator raw accept rate':34} {raw:10,.0f} {1:7.2f}")
    print(f"{'deliver, no faults':34} {clean:10,.0f} {clean / raw:7.2f}")
    print(f"{f'deliver, {args.fault_rate:.0%} faults':34} {faulty:10,.0f} {faulty / raw:7.2f}"
          f"   ({run.requests} requests, {run.retries} retries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
