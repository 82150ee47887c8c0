"""``huiju metrics`` and ``huiju alerts``: the warehouse's figures for monitoring."""

from __future__ import annotations

import argparse
import sys
import time

from huiju.commands.warehouse_option import URL_HELP, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju metrics`` and ``huiju alerts`` to the command line."""
    metrics = sub.add_parser(
        "metrics", help="Prometheus metrics: rows, rejections, lag per feed",
        description="Print the metrics in Prometheus' text format, or with --serve answer "
                    "scrapes on http://HOST:PORT/metrics (each scrape reads the warehouse).")
    metrics.add_argument("--url", help=URL_HELP)
    metrics.add_argument("--serve", type=int, metavar="PORT", help="serve instead of print")
    metrics.add_argument("--host", default="127.0.0.1")
    metrics.set_defaults(handler=_metrics)
    alerts = sub.add_parser(
        "alerts", help="alert on departments that missed their delivery window",
        description="A feed missed its window when no batch was loaded since the last time its "
                    "department's schedule made it due (plus --grace-minutes). Each miss is "
                    "sent to HUIJU_NOTIFY (log | webhook:<VAR> | file:<path>); exit 1 if any.")
    alerts.add_argument("--url", help=URL_HELP)
    alerts.add_argument("--departments-dir", help="department files (default: settings)")
    alerts.add_argument("--grace-minutes", type=int, default=120)
    alerts.set_defaults(handler=_alerts)


def _metrics(args: argparse.Namespace) -> int:
    from huiju.metrics import exposition, registry_for
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    if args.serve is None:
        try:
            sys.stdout.write(exposition(engine))
        finally:
            engine.dispose()
        return 0
    from prometheus_client import start_http_server

    server, _thread = start_http_server(args.serve, addr=args.host,
                                        registry=registry_for(engine))
    sys.stdout.write(f"metrics on http://{args.host}:{server.server_port}/metrics\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
        return 0


def _alerts(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from huiju.alerts import missed_windows
    from huiju.departments import load_departments
    from huiju.feed_health import feed_health
    from huiju.notify import send
    from warehouse.engine import create_warehouse_engine

    settings = settings_for(args)
    departments = load_departments(args.departments_dir or settings.departments_dir)
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        health = feed_health(engine)
    finally:
        engine.dispose()
    missed = missed_windows(departments, health, now=datetime.now(UTC),
                            grace=timedelta(minutes=args.grace_minutes))
    for miss in missed:
        send(miss.message())
        last = miss.last_loaded_at.isoformat() if miss.last_loaded_at else "never"
        sys.stdout.write(f"{miss.department}/{miss.source}/{miss.dataset}: due "
                         f"{miss.due_at.isoformat()}, last loaded {last}\n")
    sys.stdout.write(f"{len(missed)} feed(s) missed their delivery window\n")
    return 1 if missed else 0
