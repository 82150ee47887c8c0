"""Delivery, end to end against the simulator over a real socket: the outbox written with the
load, sent through injected faults, killed with SIGKILL and rerun — and the simulator's ledger
holding every due version exactly once and nothing else. Updates and deletions follow, an
expired 双公示 penalty is withdrawn once, and a rejection reaches the department's quarantine
list with the platform's reason until a corrected version is accepted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from delivery_support import TOKEN, client, ledger, penalties, simulator

from huiju.cli import main
from huiju.delivery import deliver
from warehouse.bulk import PAUSE_AT_ENV, PAUSE_FILE_ENV
from warehouse.load import load_batch
from warehouse.outbox import idempotency_key, rejections
from warehouse.synthetic import load_request
from warehouse.verify import delivery_verdict, verify_delivery

pytestmark = pytest.mark.simulator

PLATFORM = "creditchina"
PLATFORMS = ("national", "gsxt", "creditchina")


@pytest.fixture
def engine(warehouse):
    return warehouse[0]


def messages(engine, platform: str = PLATFORM) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(
            "SELECT message_id, record_id, operation, cause, status, idempotency_key, receipt, "
            "attempts FROM delivery.outbox WHERE platform = :p ORDER BY message_id"),
            conn, params={"p": platform})


def assert_exactly_once(engine, url: str, platform: str = PLATFORM) -> pd.DataFrame:
    """Every acknowledged message is on the ledger once with its receipt; nothing else is."""
    outbox, book = messages(engine, platform), ledger(url, platform)
    assert (outbox["status"] != "pending").all()
    accepted = {e["key"]: e for e in book["records"]}
    assert {e["accepted"] for e in accepted.values()} <= {1}
    acknowledged = outbox[outbox["status"] == "acknowledged"]
    assert set(acknowledged["idempotency_key"]) == set(accepted)
    assert all(accepted[k]["receipt"] == r for k, r in
               zip(acknowledged["idempotency_key"], acknowledged["receipt"], strict=True))
    agree, sentence = delivery_verdict(verify_delivery(engine))
    assert agree, sentence
    return outbox


def test_ten_thousand_records_through_a_ten_percent_fault_rate(engine, tmp_path):
    # Each penalty is due to three platforms: national punish_action, gsxt penalty (USCC
    # holders, as all of these are) and creditchina CF.
    first = load_batch(engine, load_request("penalty", penalties(range(10_000)),
                                            batch_id="2026010100001"))
    assert first.enqueued == 3 * 10_000
    changes = pd.concat([penalties(range(0, 1_000), version=1, operation="u"),
                         penalties(range(1_000, 1_500), version=2, operation="d")],
                        ignore_index=True)
    second = load_batch(engine, load_request("penalty", changes, batch_id="2026010100002"))
    assert second.enqueued == 3 * 1_500
    with simulator(tmp_path, "--fault-rate", "0.1", "--seed", "11",
                   "--slow-seconds", "0.2") as url:
        runs = {p: deliver(engine, p, client=client(url, p)) for p in PLATFORMS}
        outboxes = {p: assert_exactly_once(engine, url, p) for p in PLATFORMS}
        books = {p: ledger(url, p) for p in PLATFORMS}
    for platform in PLATFORMS:
        run, outbox, book = runs[platform], outboxes[platform], books[platform]
        assert run.error is None and run.acknowledged == run.sent == 11_500, platform
        assert len(outbox) == 11_500 and (outbox["status"] == "acknowledged").all()
        states = pd.Series([e["state"] for e in book["records"]]).value_counts().to_dict()
        # 8,500 untouched and 1,000 updated are active (the updated ones' first version
        # superseded); 500 withdrawn, each by its first version and the deletion
        assert states == {"active": 9_500, "superseded": 1_000, "withdrawn": 1_000}
    faults = sum(sum(b["faults"].values()) for b in books.values())
    assert faults > 0 and sum(r.retries for r in runs.values()) > 0
    resent = [e for b in books.values() for e in b["records"] if e["received"] > 1]
    lost = sum(b["faults"].get("lost_response", 0) for b in books.values())
    assert bool(resent) == bool(lost)  # a lost response was answered duplicate on resend


def test_kill_9_at_random_points_then_rerun_is_still_exactly_once(warehouse, tmp_path):
    engine, url = warehouse
    load_batch(engine, load_request("penalty", penalties(range(1_500)),
                                    batch_id="2026010100001"))
    load_batch(engine, load_request("penalty", penalties(range(300), version=1, operation="u"),
                                    batch_id="2026010100002"))
    chance = random.Random(20261201)
    marker = tmp_path / "paused"
    with simulator(tmp_path, "--fault-rate", "0.2", "--seed", "5", "--slow-seconds", "0.3",
                   "--retry-after", "1") as platform:
        env = {**os.environ, "HUIJU_PLATFORM_CREDITCHINA_URL": platform,
               "HUIJU_PLATFORM_CREDITCHINA_TOKEN": TOKEN,
               "HUIJU_PLATFORM_CREDITCHINA_BATCH_SIZE": "20", PAUSE_FILE_ENV: str(marker)}
        command = [sys.executable, "-m", "huiju.cli", "deliver", "--url", url,
                   "--platform", PLATFORM]

        def acknowledged() -> int:
            return int((messages(engine)["status"] == "acknowledged").sum())

        # The two worst moments first: a batch counted as sent but not sent, and a batch the
        # platform accepted whose answers were never stored. Then anywhere, at random.
        for pause in ("deliver-sent", "deliver-answered", *[None] * 4):
            before = acknowledged()
            child = subprocess.Popen(command, env={**env, PAUSE_AT_ENV: pause or ""},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and child.poll() is None:
                if (marker.exists() if pause else acknowledged() > before):
                    break
                time.sleep(0.05)
            if pause is None:
                time.sleep(chance.uniform(0.0, 2.0))
            if child.poll() is not None:
                assert pause is None, "delivery never reached " + pause
                break  # delivered everything before the kill
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            marker.unlink(missing_ok=True)
            if pause == "deliver-answered":
                # accepted by the platform, still pending here: the rerun must not re-accept
                assert len(ledger(platform)["records"]) > acknowledged()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr
        outbox = assert_exactly_once(engine, platform)
        book = ledger(platform)
    assert len(outbox) == 1_800 and (outbox["status"] == "acknowledged").all()
    assert (outbox["attempts"] > 1).any()  # sent again after a kill …
    assert any(e["received"] > 1 for e in book["records"])  # … and answered duplicate


def test_updates_and_deletions_reach_the_platform(engine, tmp_path):
    load_batch(engine, load_request("penalty", penalties(range(10)), batch_id="2026010100001"))
    with simulator(tmp_path) as url:
        deliver(engine, PLATFORM, client=client(url))
        changes = pd.concat([penalties([1, 2], version=1, operation="u"),
                             penalties([3], version=1, operation="d")], ignore_index=True)
        load_batch(engine, load_request("penalty", changes, batch_id="2026010100002"))
        deliver(engine, PLATFORM, client=client(url))
        assert_exactly_once(engine, url)
        book = ledger(url)
    state = {(e["record_id"], e["operation"]): e["state"] for e in book["records"]}
    dept = "620000-TEST"
    assert state[(f"{dept}:1", "i")] == "superseded" and state[(f"{dept}:1", "u")] == "active"
    assert state[(f"{dept}:3", "i")] == "withdrawn" and state[(f"{dept}:3", "d")] == "withdrawn"
    assert state[(f"{dept}:4", "i")] == "active"
    key = idempotency_key(PLATFORM, "CF", "penalty", dept, "synthetic", "000000000002",
                          "2026010100002")
    assert key in {e["key"] for e in book["records"]}


def test_an_expired_penalty_is_withdrawn_exactly_once(engine, tmp_path):
    recent = penalties([1, 2])
    old = penalties([3], decided=date(2015, 1, 5))  # its 公示期 ended years ago
    load_batch(engine, load_request("penalty", pd.concat([recent, old], ignore_index=True),
                                    batch_id="2026010100001"))
    with simulator(tmp_path) as url:
        first = deliver(engine, PLATFORM, client=client(url))
        assert (first.acknowledged, first.withheld) == (2, 1)  # never published
        later = datetime.now(UTC).date() + timedelta(days=365 * 10)
        for _ in range(3):
            deliver(engine, PLATFORM, client=client(url), as_of=later)
        assert_exactly_once(engine, url)
        book = ledger(url)
    assert len(book["records"]) == 4  # two versions, and two withdrawals
    withdrawals = [e for e in book["records"] if e["operation"] == "d"]
    assert sorted(e["record_id"] for e in withdrawals) == ["620000-TEST:1", "620000-TEST:2"]
    assert {e["state"] for e in book["records"]} == {"withdrawn"}
    outbox = messages(engine)
    assert list(outbox[outbox["cause"] == "expiry"]["status"]) == ["acknowledged"] * 2
    assert "620000-TEST:3" not in {e["record_id"] for e in book["records"]}


def test_a_rejection_shows_in_quarantine_until_a_correction_is_accepted(warehouse, tmp_path,
                                                                         monkeypatch, capsys):
    engine, url = warehouse
    monkeypatch.setenv("HUIJU_WAREHOUSE_URL", url)
    load_batch(engine, load_request("penalty", pd.concat(
        [penalties([1]), penalties([2], legal_rep=None)], ignore_index=True),
        batch_id="2026010100001"))
    with simulator(tmp_path) as platform:
        run = deliver(engine, PLATFORM, client=client(platform))
        assert (run.acknowledged, run.rejected) == (1, 1)
        [rejected] = rejections(engine, department="620000-TEST")
        assert rejected["field"] == "CF_FRDB" and rejected["code"] and rejected["reason"]
        assert rejected["source_ref"] == "synthetic:penalty#pk=2"
        assert main(["quarantine", "list", "--department", "620000-TEST"]) == 0
        listed = capsys.readouterr().out
        assert "CF_FRDB" in listed and "synthetic:penalty#pk=2" in listed

        # the department corrects the record at the source; the platform accepts it
        load_batch(engine, load_request("penalty", penalties([2], version=1, operation="u"),
                                        batch_id="2026010100002"))
        deliver(engine, PLATFORM, client=client(platform))
        assert_exactly_once(engine, platform)
    assert rejections(engine, department="620000-TEST") == []
    [resolved] = rejections(engine, department="620000-TEST", status="resolved")
    assert resolved["resolved_message_id"] is not None
    assert main(["quarantine", "list", "--department", "620000-TEST"]) == 0
    assert "CF_FRDB" not in capsys.readouterr().out

    # the record's chain goes on to the platform: the rejected version, then the receipt
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["trace", "620000-TEST:2", "--url", url]) == 0
    traced = capsys.readouterr().out
    receipt = messages(engine).query("record_id == '620000-TEST:2' and status == "
                                     "'acknowledged'")["receipt"].item()
    assert "platform deliveries" in traced and receipt in traced
    assert "platform rejections" in traced and "CF_FRDB" in traced and "resolved" in traced


def test_a_daily_quota_stops_the_run_and_holds_across_runs(engine, tmp_path):
    load_batch(engine, load_request("penalty", penalties(range(50)), batch_id="2026010100001"))
    with simulator(tmp_path) as url:
        first = deliver(engine, PLATFORM, client=client(url, batch_size=20, daily_quota=40))
        assert "daily quota of 40" in first.error and first.acknowledged == 40
        # a second run the same day starts from what was sent today, not from zero
        second = deliver(engine, PLATFORM, client=client(url, batch_size=20, daily_quota=40))
        assert "daily quota of 40" in second.error and second.sent == 0
        assert second.totals["pending"] == 10
        third = deliver(engine, PLATFORM, client=client(url, batch_size=20))  # no quota
        assert third.error is None and third.acknowledged == 10
        assert_exactly_once(engine, url)
