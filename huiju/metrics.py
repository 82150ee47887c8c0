"""Prometheus metrics read from the warehouse on each scrape: rows, rejections, lag per feed,
and the delivery backlog per platform.

``huiju metrics`` prints them in the text exposition format (for a node-exporter textfile or a
cron job), ``huiju metrics --serve PORT`` answers scrapes on ``/metrics``. Each scrape runs three
grouped queries (:mod:`huiju.feed_health` and the outbox's status counts); nothing is cached,
so the figures are the warehouse's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from huiju.feed_health import OUTCOMES, feed_health, open_rejections
from warehouse.outbox import status_counts

FEED_LABELS = ["department", "source", "dataset"]


class WarehouseCollector(Collector):
    """Rows per outcome, batches, last load and lag per feed; open rejections per data set."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def collect(self) -> Iterator:
        """One set of metric families from the warehouse as it is now."""
        rows = CounterMetricFamily("huiju_rows", "source rows by outcome (all batches)",
                                   labels=[*FEED_LABELS, "outcome"])
        batches = CounterMetricFamily("huiju_batches", "batches loaded", labels=FEED_LABELS)
        last = GaugeMetricFamily("huiju_feed_last_load_timestamp_seconds",
                                 "when the feed last loaded a batch", labels=FEED_LABELS)
        lag = GaugeMetricFamily("huiju_feed_lag_seconds", "seconds since the feed last loaded",
                                labels=FEED_LABELS)
        now = datetime.now(UTC)
        for feed in feed_health(self.engine):
            labels = [feed.department, feed.source, feed.dataset]
            for outcome in OUTCOMES:
                rows.add_metric([*labels, outcome], feed.rows[outcome])
            batches.add_metric(labels, feed.batches)
            if feed.last_loaded_at is not None:
                last.add_metric(labels, feed.last_loaded_at.timestamp())
                lag.add_metric(labels, (now - feed.last_loaded_at).total_seconds())
        rejections = GaugeMetricFamily("huiju_quarantine_open_records",
                                       "records quarantined and not yet resolved",
                                       labels=["department", "dataset"])
        for (department, dataset), count in sorted(open_rejections(self.engine).items()):
            rejections.add_metric([department, dataset], count)
        backlog = GaugeMetricFamily("huiju_delivery_messages",
                                    "outbox messages per platform and status (pending = backlog)",
                                    labels=["platform", "status"])
        for platform, counts in sorted(status_counts(self.engine).items()):
            for status, count in sorted(counts.items()):
                backlog.add_metric([platform, status], count)
        yield from (rows, batches, last, lag, rejections, backlog)


def registry_for(engine: sa.Engine) -> CollectorRegistry:
    """A registry holding only the warehouse collector (no process metrics of this CLI)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WarehouseCollector(engine))
    return registry


def exposition(engine: sa.Engine) -> str:
    """The metrics in Prometheus' text format."""
    return generate_latest(registry_for(engine)).decode("utf-8")
