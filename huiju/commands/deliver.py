"""``huiju deliver``: send the outbox to the receiving platforms in this process (no Airflow).

Runs the same task the delivery DAGs call (``huiju.delivery.deliver``), one platform after the
other, with progress, then prints per platform what was sent in this run and what the outbox
holds: acknowledged, rejected, withheld and still pending.
"""

from __future__ import annotations

import argparse
from datetime import date

from huiju.commands.warehouse_option import add_url_option, settings_for
from schemas.platforms.model import PLATFORM_NAMES


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju deliver`` to the command line."""
    parser = sub.add_parser(
        "deliver", help="send what the platforms are due (outbox → platforms → receipts)",
        description="Each platform's base URL comes from HUIJU_PLATFORM_<NAME>_URL and its "
                    "token from the secret HUIJU_PLATFORM_<NAME>_TOKEN. Exit 1 when a "
                    "platform could not be reached or refused a batch (the rest stays pending).")
    parser.add_argument("--department", metavar="CODE", help="only this department's records")
    parser.add_argument("--platform", choices=PLATFORM_NAMES, action="append",
                        help="only this platform (repeatable; default: every declared one)")
    add_url_option(parser)
    parser.add_argument("--as-of", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="judge 公示期 against this day (default: today)")
    parser.set_defaults(handler=_deliver)


def _deliver(args: argparse.Namespace) -> int:
    from rich.console import Console

    from connectors.base import ConnectorError
    from huiju.delivery import (
        DeliveryRun,
        deliver,
        department_divisions,
        platforms_declared,
        summary_table,
    )
    from warehouse.engine import create_warehouse_engine
    from warehouse.outbox import DeliveryBusy

    console = Console()
    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    runs = []
    try:
        divisions = department_divisions()
        for platform in args.platform or platforms_declared():
            with console.status(f"delivering to {platform}") as status:
                def progress(run, status=status) -> None:
                    status.update(f"delivering to {run.platform}: {run.sent} sent, "
                                  f"{run.acknowledged} acknowledged, {run.rejected} rejected")

                try:
                    runs.append(deliver(engine, platform, department=args.department,
                                        as_of=args.as_of, divisions=divisions,
                                        progress=progress))
                except (ConnectorError, DeliveryBusy) as error:  # not configured, or busy
                    runs.append(DeliveryRun(platform, error=str(error)))
    finally:
        engine.dispose()
    console.print(summary_table(runs))
    for run in runs:
        if run.error:
            console.print(f"[red]{run.platform} stopped[/red]: {run.error}", markup=True,
                          highlight=False)
    return 1 if any(run.error for run in runs) else 0
