"""``huiju verify``: every batch's recorded counts against the rows it left in the warehouse, and
every version due to a platform against its outbox message and outcome."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import add_url_option, settings_for


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
    parser.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from warehouse.engine import create_warehouse_engine
    from warehouse.verify import (
        delivery_verdict,
        last_reconciliations,
        verdict,
        verify,
        verify_delivery,
    )

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
    if periods:
        recon = Table("department", "data set", "source", "period", "source rows",
                      "warehouse rows", "flagged", "reconciled", "source = warehouse",
                      title="last reconciliation per feed (huiju reconcile)")
        for p in periods:
            recon.add_row(p.department_code, p.dataset, p.source_system, p.period,
                          str(p.source_rows), str(p.warehouse_rows), str(p.flagged),
                          f"{p.reconcile_id}", "yes" if p.agrees else "[red]NO[/red]")
        console.print(recon)
        differing = [p for p in periods if not p.agrees]
        if differing:
            console.print(f"[red]{len(differing)} reconciled periods: source != warehouse[/red]")
        else:
            console.print(f"last reconciliation: source = warehouse in all {len(periods)} "
                          "periods")
        agree = agree and not differing
    else:
        console.print("no reconciliation recorded (huiju reconcile)")
    return 0 if agree and delivered else 1
