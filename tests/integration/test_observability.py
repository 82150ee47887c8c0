"""Operations: JSON logs with the feed's ids, Prometheus metrics equal to the warehouse's own
counts, and an alert when a department misses its delivery window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pipeline_support import scalar, use_workspace
from prometheus_client.parser import text_string_to_metric_families

from huiju import pipeline
from huiju.alerts import missed_windows
from huiju.cli import main
from huiju.feed_health import feed_health
from warehouse.engine import create_warehouse_engine

KEY = pipeline.FeedKey("LZ-SJJ", "drop_folder", "inspection")



def metrics_of(text: str) -> dict[tuple[str, tuple], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_json_logs_name_the_department_feed_and_run(built, monkeypatch, tmp_path, capsys):
    use_workspace(monkeypatch, built, tmp_path)
    monkeypatch.setenv("HUIJU_LOG_FORMAT", "json")
    assert main(["run", "--department", "LZ-SJJ", "--dataset", "inspection"]) in (0, 1)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    extracted = [line for line in lines if "extracted" in line["message"]]
    assert extracted, lines
    assert {(e["department"], e["source"], e["dataset"]) for e in extracted} == {
        ("LZ-SJJ", "drop_folder", "inspection")}
    assert all(e["run_id"] and e["level"] == "info" for e in extracted)


def test_metrics_equal_the_warehouse_counts(built, monkeypatch, tmp_path, capsys):
    url = use_workspace(monkeypatch, built, tmp_path)
    pipeline.run_feed(KEY, run_id="m1", raise_on_threshold=False)
    pipeline.run_feed(KEY, run_id="m2", raise_on_threshold=False)
    capsys.readouterr()

    assert main(["metrics", "--url", url]) == 0
    metrics = metrics_of(capsys.readouterr().out)

    labels = (("dataset", "inspection"), ("department", "LZ-SJJ"), ("source", "drop_folder"))
    for outcome in ("extracted", "passed", "quarantined", "superseded"):
        expected = scalar(url, f"SELECT sum({outcome}) FROM audit.batch")
        assert metrics[("huiju_rows_total", tuple(sorted((*labels, ("outcome", outcome)))))] \
            == expected, outcome
    assert metrics[("huiju_batches_total", labels)] == 2
    open_records = scalar(url, "SELECT count(DISTINCT source_ref) FROM quarantine.record "
                               "WHERE status = 'open'")
    assert open_records > 0
    assert metrics[("huiju_quarantine_open_records",
                    (("dataset", "inspection"), ("department", "LZ-SJJ")))] == open_records
    assert 0 <= metrics[("huiju_feed_lag_seconds", labels)] < 600
    # the delivery backlog: the outbox's own count of messages waiting per platform
    pending = scalar(url, "SELECT count(*) FROM delivery.outbox WHERE status = 'pending' "
                          "AND platform = 'national'")
    assert pending > 0
    assert metrics[("huiju_delivery_messages",
                    (("platform", "national"), ("status", "pending")))] == pending


def test_a_department_that_misses_its_window_is_alerted(built, monkeypatch, tmp_path, capsys):
    url = use_workspace(monkeypatch, built, tmp_path)
    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("HUIJU_NOTIFY", f"file:{alerts}")
    department = pipeline.find_department("LZ-SJJ")
    feeds = {(k.source, k.dataset) for k in pipeline.feeds_of(department)}

    # nothing loaded yet: every feed of the department missed its last due time
    assert main(["alerts", "--url", url, "--grace-minutes", "0"]) == 1
    sent = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    mine = {(m["source"], m["dataset"]) for m in sent if m["department"] == "LZ-SJJ"}
    assert mine == feeds
    assert {m["event"] for m in sent} == {"delivery_window_missed"}

    # after a run, the inspection feed is on time; the department's other feeds still are not
    pipeline.run_feed(KEY, run_id="a1", raise_on_threshold=False)
    engine = create_warehouse_engine(url)
    try:
        health = feed_health(engine)
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    missed = {(m.source, m.dataset) for m in missed_windows([department], health, now=now,
                                                             grace=timedelta(0))}
    assert missed == feeds - {(KEY.source, KEY.dataset)}
    # two days on, that load is older than the last due time: late again
    late = {(m.source, m.dataset) for m in missed_windows(
        [department], health, now=now + timedelta(days=2), grace=timedelta(0))}
    assert late == feeds
