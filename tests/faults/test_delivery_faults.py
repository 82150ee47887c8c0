"""Delivery under faults, against the platform simulator over a real socket and a PostgreSQL
warehouse: ``huiju deliver`` killed with SIGKILL at random points, and a platform down for
several delivery runs. After each, every due version is on the platform's ledger exactly once
(no duplicate, none missing) with the receipt the outbox holds, and ``verify`` agrees.

The simulator keeps its ledger in a file (``--ledger``), as a platform keeps what it accepted
across its own restarts; what it received is the evidence counted here.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from fault_mode import kill_points

from connectors.platforms import PLATFORMS, PlatformClient, PlatformConfig
from huiju.cli import main
from huiju.delivery import deliver
from simulator.process import simulator_process
from warehouse.bulk import PAUSE_AT_ENV, PAUSE_FILE_ENV
from warehouse.engine import create_warehouse_engine
from warehouse.load import load_batch
from warehouse.migrate import upgrade
from warehouse.testing.synthetic import deliverable_penalties, load_request
from warehouse.verify import delivery_verdict, verify_delivery

pytestmark = [pytest.mark.postgres, pytest.mark.simulator, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHAPES = REPO / "schemas" / "platforms"
PLATFORM = "creditchina"
TOKEN = "faults-Delivery-T0ken"
# the two worst moments of a send: counted as sent but not sent; accepted, answer not stored
PAUSES = ("deliver-sent", "deliver-answered")


@contextmanager
def platform(tmp_path: Path, *args: str):
    """The simulator with the real shapes and a ledger file kept across its restarts."""
    folder = tmp_path / "shapes"
    folder.mkdir(exist_ok=True)
    for name in PLATFORMS:
        if (SHAPES / f"{name}.yaml").is_file():
            shutil.copy(SHAPES / f"{name}.yaml", folder)
    with simulator_process(token=TOKEN, shapes=folder,
                           args=["--ledger", str(tmp_path / "ledger.db"), *args]) as url:
        yield url


def ledger(url: str) -> list[dict]:
    """What the platform accepted: one entry per idempotency key, with ``accepted`` counts."""
    answer = requests.get(f"{url}/_ledger/{PLATFORM}", timeout=30)
    answer.raise_for_status()
    return answer.json()["records"]


@pytest.fixture
def warehouse(pg_url):
    engine = create_warehouse_engine(pg_url)
    upgrade(engine)
    yield engine, pg_url
    engine.dispose()


class Loads:
    """Loads deliverable penalties, each batch with the next batch id; a load returns the
    versions it made due to the platform."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.number, self.version = engine, 0, 0

    def __call__(self, new: range, updated=()) -> int:
        self.number += 1
        # versions 1..9: the synthetic values carry "-v<version>", and a platform rightly
        # rejects a code longer than its shape allows
        self.version = self.version % 9 + 1
        frames = [deliverable_penalties(new)]
        if len(updated):
            frames.append(deliverable_penalties(list(updated), version=self.version,
                                                operation="u"))
        rows = pd.concat(frames, ignore_index=True)
        batch = f"20260101{self.number:05d}"
        loaded = load_batch(self.engine, load_request("penalty", rows, batch_id=batch))
        # each new version is due to national, gsxt and creditchina (a legal person with a
        # USCC); an update to the version a record already has changes nothing
        assert loaded.enqueued % 3 == 0 and loaded.enqueued <= 3 * len(rows)
        return loaded.enqueued // 3


def outbox(engine: sa.Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(
            "SELECT message_id, record_id, batch_id, operation, cause, status, idempotency_key, "
            "receipt, attempts FROM delivery.outbox "
            "WHERE platform = :p ORDER BY message_id"), conn, params={"p": PLATFORM})


def account(engine: sa.Engine, url: str) -> tuple[int, int, str]:
    """(lost, duplicated, what): a due message not acknowledged or not on the ledger is lost;
    a key accepted twice, or on the ledger without its acknowledged message, is a duplicate."""
    messages, book = outbox(engine), {e["key"]: e for e in ledger(url)}
    acknowledged = messages[messages["status"] == "acknowledged"]
    keys = set(acknowledged["idempotency_key"])
    unsettled = messages[messages["status"] != "acknowledged"]
    lost = len(unsettled) + len(keys - set(book))
    twice = [e for e in book.values() if e["accepted"] > 1]
    duplicated = sum(e["accepted"] - 1 for e in twice) + len(set(book) - keys)
    what = (f"not acknowledged: {unsettled.head(10).to_dict('records')}; acknowledged, not on "
            f"the ledger: {sorted(keys - set(book))[:5]}; accepted twice: {twice[:5]}; on the "
            f"ledger only: {sorted(set(book) - keys)[:5]}")
    wrong = [k for k, r in zip(acknowledged["idempotency_key"], acknowledged["receipt"],
                               strict=True) if k in book and book[k]["receipt"] != r]
    assert not wrong, f"receipts differ from the platform's: {wrong[:3]}"
    return lost, duplicated, what


def settle(engine: sa.Engine, url: str, tally, command: list[str] | None = None,
           env: dict | None = None) -> None:
    """Deliver to completion (``huiju deliver`` given as ``command``, else the same task in
    this process); count what was lost or duplicated; verify agrees."""
    if command is not None:
        finished = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=600, check=False)
        assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    else:
        config = PlatformConfig(name=PLATFORM, url=url, token_secret="HUIJU_TEST_TOKEN",
                                batch_size=10, backoff=0.05)
        run = deliver(engine, PLATFORM, client=PlatformClient(config, token=TOKEN))
        assert run.error is None, run.error
    tally.runs += 1
    lost, duplicated, what = account(engine, url)
    tally.lost += lost
    tally.duplicated += duplicated
    agree, sentence = delivery_verdict(verify_delivery(engine))
    assert agree, sentence
    assert (lost, duplicated) == (0, 0), what


def kill_during_delivery(engine: sa.Engine, command: list[str], env: dict, marker: Path,
                         pause: str | None, delay: float) -> bool:
    """Start ``huiju deliver``; SIGKILL it at ``pause`` or ``delay`` s after it first
    acknowledged something. False when it finished before it could be killed."""
    def acknowledged() -> int:
        return int((outbox(engine)["status"] == "acknowledged").sum())

    before = acknowledged()
    child = subprocess.Popen(command, env={**env, PAUSE_AT_ENV: pause or ""},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            if marker.exists() if pause else acknowledged() > before:
                break
            time.sleep(0.02)
        if pause is None:
            time.sleep(delay)
        if child.poll() is not None:
            assert pause is None, f"delivery never reached {pause}"
            return False
        os.killpg(child.pid, signal.SIGKILL)
        return True
    finally:
        child.wait()
        marker.unlink(missing_ok=True)


def test_kill_minus_nine_of_delivery_at_random_points(warehouse, tmp_path, tally):
    engine, url = warehouse
    load = Loads(engine)
    load(range(400))
    rng = random.Random(int(os.environ.get("HUIJU_FAULTS_SEED", "20261207")))
    marker = tmp_path / "paused"
    # a few platform faults too: a lost response makes a resend answer duplicate
    with platform(tmp_path, "--fault-rate", "0.05", "--seed", "7",
                  "--faults", "server_error,unavailable,dropped,lost_response") as simulator:
        env = {**os.environ, "PYTHONPATH": str(REPO),
               f"HUIJU_PLATFORM_{PLATFORM.upper()}_URL": simulator,
               f"HUIJU_PLATFORM_{PLATFORM.upper()}_TOKEN": TOKEN,
               f"HUIJU_PLATFORM_{PLATFORM.upper()}_BATCH_SIZE": "10",
               PAUSE_FILE_ENV: str(marker)}
        command = [sys.executable, "-m", "huiju.cli", "deliver", "--url", url,
                   "--platform", PLATFORM]
        killed = 0
        for point in range(kill_points(fast=3)):
            # every point has real work: new records and new versions of delivered ones
            start = 400 + 100 * point
            load(range(start, start + 100), rng.sample(range(start), 100))
            pause = PAUSES[point] if point < len(PAUSES) else None
            if kill_during_delivery(engine, command, env, marker, pause,
                                    rng.uniform(0.0, 0.6)):
                killed += 1
                tally.faults["kill -9 of huiju deliver"] += 1
            tally.runs += 1
            if pause == "deliver-answered":
                # accepted by the platform, still pending here: the rerun must not re-accept
                assert len(ledger(simulator)) > (outbox(engine)["status"] == "acknowledged").sum()
            settle(engine, simulator, tally)
        book = ledger(simulator)
    assert killed >= len(PAUSES)
    messages = outbox(engine)
    assert (messages["attempts"] > 1).any()  # sent again after a kill …
    assert any(e["received"] > 1 for e in book)  # … and answered duplicate, not re-accepted


def _port(url: str) -> str:
    return str(urlsplit(url).port)


def _backlog(capsys, url: str) -> tuple[int, int]:
    """(pending in ``huiju status``, pending in ``huiju metrics``) for the platform."""
    assert main(["status", "--url", url, "--no-lag", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    pending = next(r["pending"] for r in status["delivery"] if r["platform"] == PLATFORM)
    assert main(["metrics", "--url", url]) == 0
    line = f'huiju_delivery_messages{{platform="{PLATFORM}",status="pending"}} '
    metric = next(float(text.split()[-1]) for text in capsys.readouterr().out.splitlines()
                  if text.startswith(line))
    return pending, int(metric)


def test_a_sustained_platform_outage(warehouse, tmp_path, tally, capsys, monkeypatch):
    """Down for several runs — the platform unreachable, then answering 503/500 to every
    request — each run stops with a clear message, nothing is marked delivered, the backlog
    stays visible in status and metrics; when the platform is back, everything due is
    delivered exactly once."""
    engine, url = warehouse
    monkeypatch.setenv("HUIJU_DEPARTMENTS_DIR", str(REPO / "departments"))
    load = Loads(engine)
    due = load(range(300))
    with platform(tmp_path) as simulator:   # a free port the platform comes back on
        address = simulator
    config = PlatformConfig(name=PLATFORM, url=address, token_secret="HUIJU_TEST_TOKEN",
                            max_attempts=3, backoff=0.05)
    outages = [None, None, ("--fault-rate", "1", "--faults", "unavailable,server_error")]
    for number, outage in enumerate(outages):
        if number:
            due += load(range(300 + 50 * number, 350 + 50 * number))  # the backlog grows
        if outage is None:   # nothing listens
            run = deliver(engine, PLATFORM, client=PlatformClient(config, token=TOKEN))
            received = 0
        else:
            with platform(tmp_path, "--port", _port(address), *outage) as simulator:
                assert simulator == address
                run = deliver(engine, PLATFORM, client=PlatformClient(config, token=TOKEN))
                received = len(ledger(simulator))
        tally.runs += 1
        tally.faults["platform down for a delivery run"] += 1
        assert run.error and run.acknowledged == 0 and received == 0
        if PLATFORM in run.error and "Traceback" not in run.error and TOKEN not in run.error:
            tally.clear_errors += 1
        else:
            tally.unclear_errors.append(f"outage: {run.error[:200]}")
        messages = outbox(engine)
        assert len(messages) == due and (messages["status"] == "pending").all()
        assert messages["receipt"].isna().all()
        assert run.totals["pending"] == due
        assert _backlog(capsys, url) == (due, due)
    # the platform is back: the CLI delivers the backlog, exactly once
    with platform(tmp_path, "--port", _port(address)) as simulator:
        env = {**os.environ, "PYTHONPATH": str(REPO),
               f"HUIJU_PLATFORM_{PLATFORM.upper()}_URL": simulator,
               f"HUIJU_PLATFORM_{PLATFORM.upper()}_TOKEN": TOKEN}
        settle(engine, simulator, tally, [sys.executable, "-m", "huiju.cli", "deliver",
                                          "--url", url, "--platform", PLATFORM], env)
        assert len(ledger(simulator)) == due
    assert _backlog(capsys, url) == (0, 0)
