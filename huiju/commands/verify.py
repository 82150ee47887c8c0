"""``huiju verify``: every batch's recorded counts against the rows it left in the warehouse, and
every version due to a platform against its outbox message and outcome."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import add_url_option, settings_for
from huiju.output import add_format_option


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju verify`` to the command line."""
    parser = sub.add_parser(
        "verify", help="prove completeness: each batch's counts against its raw rows and versions",
        description="For every loaded batch: raw rows landed = extracted; core and history "
                    "versions written = inserted + updated + deleted; extracted = passed + "
                    "quarantined + superseded. For every platform resource: each core and "
                    "history version due to it has its outbox message, acknowledged, rejected "
                    "with a reason, withheld or pending — never missing. Exit 1 when any "
                    "batch or platform resource disagrees.")
    parser.add_argument("--department", metavar="CODE", help="only this department")
    parser.add_argument("--dataset", metavar="NAME", help="only this data set")
    add_url_option(parser)
    add_format_option(parser)
    parser.set_defaults(handler=_verify)


BATCH_COLUMNS = ("department", "dataset", "source", "batch", "extracted", "landed", "changed",
                 "versions", "verified")
DELIVERY_COLUMNS = ("platform", "resource", "dataset", "due", "acknowledged", "rejected",
                    "withheld", "pending", "expiry_withdrawals", "verified")
RECONCILE_COLUMNS = ("department", "dataset", "source", "period", "source_rows",
                     "warehouse_rows", "flagged", "reconciled", "source_equals_warehouse")


def _verify(args: argparse.Namespace) -> int:
    from warehouse.engine import create_warehouse_engine
    from warehouse.verify import last_reconciliations, verify, verify_delivery

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        checks = verify(engine, department=args.department, dataset=args.dataset)
        deliveries = [c for c in verify_delivery(engine, department=args.department,
                                                 dataset=args.dataset)
                      if c.due or c.problems or c.withdrawals]
        periods = last_reconciliations(engine, department=args.department,
                                       dataset=args.dataset)
    finally:
        engine.dispose()
    return _report(args.format, checks, deliveries, periods)


def _report(fmt: str, checks, deliveries, periods) -> int:
    """Print the three listings and their verdicts; the exit status (1: a disagreement)."""
    from huiju.output import Section, emit
    from warehouse.verify import delivery_verdict, verdict

    batches = [{"department": c.department_code, "dataset": c.dataset,
                "source": c.source_id, "batch": c.batch_id, "extracted": c.extracted,
                "landed": c.landed, "changed": c.changed, "versions": c.written,
                "verified": "; ".join(c.problems) if c.problems else "yes"} for c in checks]
    due = [{"platform": c.platform, "resource": c.resource, "dataset": c.dataset, "due": c.due,
            "acknowledged": c.acknowledged, "rejected": c.rejected, "withheld": c.withheld,
            "pending": c.pending, "expiry_withdrawals": c.withdrawals,
            "verified": "; ".join(c.problems) if c.problems else "yes"} for c in deliveries]
    recon = [{"department": p.department_code, "dataset": p.dataset,
              "source": p.source_id, "period": p.period, "source_rows": p.source_rows,
              "warehouse_rows": p.warehouse_rows, "flagged": p.flagged,
              "reconciled": p.reconcile_id, "source_equals_warehouse": p.agrees}
             for p in periods]
    agree, batch_sentence = verdict(checks)
    delivered, delivery_sentence = delivery_verdict(deliveries)
    notes = [batch_sentence, delivery_sentence]
    differing = [p for p in periods if not p.agrees]
    if not periods:
        notes.append("no reconciliation recorded (huiju reconcile)")
    elif differing:
        notes.append(f"{len(differing)} reconciled periods: source != warehouse")
    else:
        notes.append(f"last reconciliation: source = warehouse in all {len(periods)} periods")
    emit([Section(f"{len(checks)} batches", BATCH_COLUMNS, batches, key="batches"),
          Section(f"delivery: {len(deliveries)} platform resources", DELIVERY_COLUMNS, due,
                  key="delivery"),
          Section("last reconciliation per feed (huiju reconcile)", RECONCILE_COLUMNS, recon,
                  key="reconciliation")], fmt, notes=notes)
    return 0 if agree and delivered and not differing else 1
