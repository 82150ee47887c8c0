"""``huiju verify``: every batch's recorded counts against the rows it left in the warehouse."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import add_url_option, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju verify`` to the command line."""
    parser = sub.add_parser(
        "verify", help="prove completeness: each batch's counts against its raw rows and versions",
        description="For every loaded batch: raw rows landed = extracted; core and history "
                    "versions written = inserted + updated + deleted; extracted = passed + "
                    "quarantined + superseded. Exit 1 when any batch disagrees.")
    parser.add_argument("--department", metavar="CODE", help="only this department")
    parser.add_argument("--dataset", metavar="NAME", help="only this data set")
    add_url_option(parser)
    parser.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from warehouse.engine import create_warehouse_engine
    from warehouse.verify import verdict, verify

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        checks = verify(engine, department=args.department, dataset=args.dataset)
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
    return 0 if agree else 1
