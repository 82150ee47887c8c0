"""``huiju status``: what is waiting on whom — open national leads per department, with the
nearest deadline and how many are overdue (issue 13)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju status`` to the command line."""
    parser = sub.add_parser("status", help="open leads per department with their deadlines")
    parser.add_argument("--url", help="warehouse URL (default: $HUIJU_WAREHOUSE_URL, else the "
                                      "embedded SQLite store)")
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from huiju.leads import leads
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(args.url)
    per: dict[str, dict] = {}
    try:
        for lead in leads(engine):  # open leads, nearest deadline first
            row = per.setdefault(lead.department_code, {"open": 0, "overdue": 0, "next": None,
                                                        "queue": not lead.routed})
            row["open"] += 1
            row["overdue"] += lead.overdue
            if row["next"] is None and lead.deadline:
                row["next"] = lead.deadline
    finally:
        engine.dispose()
    grid = Table("department", "open leads", "overdue", "earliest deadline",
                 title="open national leads (huiju leads list --department CODE for each)",
                 title_justify="left")
    for code, row in sorted(per.items()):
        name = f"{code} (provincial queue)" if row["queue"] else code
        grid.add_row(name, str(row["open"]), str(row["overdue"]),
                     row["next"].strftime("%Y-%m-%d %H:%M") if row["next"] else "—")
    Console(width=160).print(grid)
    return 0
