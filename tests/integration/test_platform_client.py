"""The platform client (connectors/platforms.py) against the simulator over a real socket:
every fault kind retried to exactly one acceptance, a lost response answered ``duplicate``,
Retry-After honoured, rejections with the platform's code and reason, a refused token named by
its secret (never its value), the token bucket and the daily quota."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from connectors.base import ConnectorError, Delivered, Destination
from connectors.platforms import (
    DailyQuota,
    DeliveryError,
    PlatformClient,
    PlatformConfig,
    QuotaExhausted,
    TokenBucket,
)
from simulator.process import simulator_process

pytestmark = pytest.mark.simulator

TOKEN = "client-T0ken-Secret"
SHAPES = {
    "creditchina.yaml": """
platform: creditchina
resources:
  - name: CF
    dataset: penalty
    fields:
      - {code: CF_XDR_MC, type: string, max_length: 20, required: true}
      - {code: CF_JDRQ, type: date, required: true}
""",
}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("platforms")
    for name, text in SHAPES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return str(folder)


def client(url: str, sleeps: list[float] | None = None, **settings) -> PlatformClient:
    config = PlatformConfig(name="creditchina", url=url, token_secret="HUIJU_TEST_TOKEN",
                            **settings)
    recorded = sleeps if sleeps is not None else []
    return PlatformClient(config, token=TOKEN, sleep=recorded.append, jitter=lambda: 1.0)


def records(prefix: str, n: int, **payload) -> list[dict]:
    return [{"key": f"{prefix}-{i}", "record_id": f"{prefix}-r{i}", "operation": "i",
             "payload": {"CF_XDR_MC": "某公司", "CF_JDRQ": "2024-05-01", **payload}}
            for i in range(n)]


def ledger(url: str) -> dict:
    return requests.get(f"{url}/_ledger/creditchina", timeout=10).json()


def test_client_is_a_destination():
    assert isinstance(client("http://127.0.0.1:9"), Destination)


@pytest.mark.parametrize("kind", ["server_error", "unavailable", "throttled", "dropped",
                                  "lost_response", "slow"])
def test_each_fault_is_retried_to_exactly_one_acceptance(shapes, kind):
    # Half the requests fail this way: the batch is retried with the same keys until answered.
    args = ["--fault-rate", "0.5", "--faults", kind, "--seed", "3", "--retry-after", "2",
            "--slow-seconds", "0.2"]
    with simulator_process(token=TOKEN, shapes=shapes, args=args) as url:
        sleeps: list[float] = []
        sender = client(url, sleeps)
        batches = [records(f"{kind}{b}", 20) for b in range(6)]
        answers = [a for batch in batches for a in sender.send("CF", batch)]
        book = ledger(url)
    assert all(a.ok and a.receipt for a in answers)
    assert sorted(e["key"] for e in book["records"]) == sorted(
        r["key"] for batch in batches for r in batch)
    assert {e["accepted"] for e in book["records"]} == {1}
    assert book["faults"].get(kind, 0) >= 1
    if kind == "lost_response":
        # the lost batch was processed: its retry is answered duplicate, recorded as success
        assert any(a.status == "duplicate" for a in answers)
    if kind == "throttled":
        assert 2.0 in [round(s, 1) for s in sleeps]  # Retry-After, not the backoff
    assert sender.retries == book["requests"] - len(batches)


def test_rejections_carry_the_platforms_code_and_reason(shapes):
    with simulator_process(token=TOKEN, shapes=shapes) as url:
        sent = records("rej", 2)
        sent[1]["payload"]["CF_XDR_MC"] = "名" * 30
        answers = client(url).send("CF", sent)
    assert answers[0].status == "accepted"
    rejected = answers[1]
    assert rejected.status == "rejected" and not rejected.ok and rejected.receipt is None
    assert rejected.errors and rejected.errors[0]["field"] == "CF_XDR_MC"
    assert rejected.errors[0]["code"] and rejected.errors[0]["reason"]


def test_batches_of_at_most_batch_size(shapes):
    with simulator_process(token=TOKEN, shapes=shapes) as url:
        sender = client(url, batch_size=7)
        answers = sender.send("CF", records("big", 30))
        book = ledger(url)
    assert len(answers) == 30 and all(isinstance(a, Delivered) and a.ok for a in answers)
    assert sender.requests_sent == book["requests"] == 5


def test_a_refused_token_names_the_secret_not_the_value(shapes):
    with simulator_process(token=TOKEN, shapes=shapes) as url:
        config = PlatformConfig(name="creditchina", url=url, token_secret="HUIJU_TEST_TOKEN")
        wrong = PlatformClient(config, token="wrong-secret-value", sleep=lambda s: None)
        with pytest.raises(DeliveryError) as refused:
            wrong.send("CF", records("auth", 1))
    assert "HUIJU_TEST_TOKEN" in str(refused.value)
    assert "wrong-secret-value" not in str(refused.value)
    assert wrong.requests_sent == 1  # a refusal is not retried


def test_gives_up_after_max_attempts(shapes):
    args = ["--fault-rate", "1", "--faults", "server_error"]
    with simulator_process(token=TOKEN, shapes=shapes, args=args) as url:
        sender = client(url, max_attempts=3)
        with pytest.raises(DeliveryError, match="giving up after 3 attempts: HTTP 500"):
            sender.send("CF", records("down", 1))
    assert sender.requests_sent == 3


def test_config_from_env(monkeypatch):
    monkeypatch.setenv("HUIJU_PLATFORM_GSXT_URL", "http://platform.example/")
    monkeypatch.setenv("HUIJU_PLATFORM_GSXT_DAILY_QUOTA", "1000")
    config = PlatformConfig.from_env("gsxt")
    assert (config.url, config.token_secret, config.daily_quota) == (
        "http://platform.example", "HUIJU_PLATFORM_GSXT_TOKEN", 1000)
    monkeypatch.delenv("HUIJU_PLATFORM_GSXT_URL")
    with pytest.raises(ConnectorError, match="HUIJU_PLATFORM_GSXT_URL"):
        PlatformConfig.from_env("gsxt")


def test_token_bucket_spaces_requests_after_the_burst():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=4, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        bucket.take()
    assert waits == [0.25, 0.25, 0.25, 0.25]  # two at once, then one per 1/4 s


def test_daily_quota_resets_on_a_new_day():
    days = iter([date(2026, 12, 1)] * 3 + [date(2026, 12, 2)])
    quota = DailyQuota(limit=10, today=lambda: next(days))
    quota.take(6, "x")
    with pytest.raises(QuotaExhausted, match="daily quota of 10"):
        quota.take(5, "x")
    quota.take(4, "x")
    quota.take(10, "x")  # the next day
    assert quota.used == 10
