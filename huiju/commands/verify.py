"""``huiju verify``: every batch's recorded counts against the rows it left in the warehouse, and
every version due to a platform against its outbox message and outcome."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
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
    parser.add_argument("--url", help="warehouse URL (default: $HUIJU_WAREHOUSE_URL, "
                                      "else the embedded SQLite store)")
    parser.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from warehouse.engine import create_warehouse_engine
    from warehouse.verify import delivery_verdict, verdict, verify, verify_delivery

    engine = create_warehouse_engine(args.url)
    try:
        checks = verify(engine, department=args.department, dataset=args.dataset)
        deliveries = [c for c in verify_delivery(engine, department=args.department,
                                                 dataset=args.dataset)
                      if c.due or c.problems or c.withdrawals]
    finally:
        engine.dispose()
    grid = Table("department", "data set", "source", "batch", "extracted", "landed", "changed",
                 "versions", "verified", title=f"{len(checks)} batches")
    for check in checks:
        problems = check.problems
        grid.add_row(check.department_code, check.dataset, check.source_system, check.batch_id,
                     str(check.extracted), str(check.landed), str(check.changed),
                     str(check.written), "[red]" + "; ".join(problems) + "[/red]"
                     if problems else "yes")
    console = Console()
    console.print(grid)
    agree, sentence = verdict(checks)
    console.print(sentence)
    due = Table("platform", "resource", "data set", "due", "acknowledged", "rejected",
                "withheld", "pending", "expiry withdrawals", "verified",
                title=f"delivery: {len(deliveries)} platform resources")
    for check in deliveries:
        problems = check.problems
        due.add_row(check.platform, check.resource, check.dataset, str(check.due),
                    str(check.acknowledged), str(check.rejected), str(check.withheld),
                    str(check.pending), str(check.withdrawals),
                    "[red]" + "; ".join(problems) + "[/red]" if problems else "yes")
    console.print(due)
    delivered, sentence = delivery_verdict(deliveries)
    console.print(sentence)
    return 0 if agree and delivered else 1
