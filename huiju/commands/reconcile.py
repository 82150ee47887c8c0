"""``huiju reconcile``: a SQL feed's source against the warehouse, by key, per cursor period."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import add_url_option, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju reconcile`` to the command line."""
    parser = sub.add_parser(
        "reconcile", help="compare sources with the warehouse by key; repair and record it",
        description="For every SQL feed (of a department / data set): read the source once, "
                    "compare each row's key and hash with the warehouse, re-extract rows that "
                    "are missing or changed whatever their time stamp, delete (or flag, as the "
                    "feed declares with on_source_delete) rows gone from the source, and record "
                    "source and warehouse counts per cursor period (audit.reconciliation, shown "
                    "by `huiju verify`). Exit 1 when a period still differs.")
    parser.add_argument("--department", metavar="CODE", help="only this department")
    parser.add_argument("--dataset", "--feed", metavar="NAME", action="append",
                        help="only the feeds of this data set (repeatable)")
    parser.add_argument("--departments-dir", help="folder of department YAML files")
    add_url_option(parser)
    parser.set_defaults(handler=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    import os

    from rich.console import Console
    from rich.table import Table

    if args.departments_dir:
        os.environ["HUIJU_DEPARTMENTS_DIR"] = args.departments_dir
    from huiju import pipeline
    from huiju.departments import load_departments
    from huiju.identity import current_actor
    from huiju.reconcile import new_reconcile_id, reconcile_feed

    console = Console()
    settings = settings_for(args)
    departments = ([pipeline.find_department(args.department, settings)] if args.department
                   else load_departments(settings.departments_dir))
    reconcile_id = new_reconcile_id()
    grid = Table("department", "source → data set", "period", "source", "warehouse", "missing",
                 "changed", "gone", "re-extracted", "deleted", "flagged", "agrees",
                 title=f"reconciliation {reconcile_id}")
    problems: list[str] = []
    for department in departments:
        try:
            keys = pipeline.feeds_of(department, args.dataset)
        except KeyError:
            continue   # this department feeds none of the data sets asked for
        for key in keys:
            source = department.source(key.source)
            if source.kind != "sql":
                console.print(f"skipped {key.department} {key.source} → {key.dataset}: a "
                              f"{source.kind} feed has no current state to compare by key")
                continue
            try:
                periods = reconcile_feed(key, run_id=reconcile_id, reconcile_id=reconcile_id,
                                         settings=settings)
            except Exception as error:  # noqa: BLE001 - one feed's failure must not stop the others
                problems.append(f"[red]failed[/red] {key.department} {key.source} → "
                                f"{key.dataset}: {type(error).__name__}: {error}")
                continue
            _record(settings, key, reconcile_id, periods, current_actor())
            for period, state in sorted(periods.items()):
                c = state.counts
                agrees = c["source_rows"] == c["warehouse_rows"]
                if not agrees:
                    problems.append(f"[red]differs[/red] {key.department} {key.source} → "
                                    f"{key.dataset} {period}: source {c['source_rows']}, "
                                    f"warehouse {c['warehouse_rows']}")
                grid.add_row(key.department, f"{key.source} → {key.dataset}", period,
                             *(str(c[n]) for n in ("source_rows", "warehouse_rows", "missing",
                                                   "changed", "gone", "re_extracted", "deleted",
                                                   "flagged")),
                             "yes" if agrees else "[red]NO[/red]")
    console.print(grid)
    for line in problems:
        console.print(line)
    return 1 if problems else 0


def _record(settings, key, reconcile_id: str, periods: dict, actor: str) -> None:
    """Who reconciled the feed and what it decided (re-extracted, deleted, flagged), in the
    append-only action log."""
    from warehouse.actions import record_action
    from warehouse.engine import create_warehouse_engine

    totals = {name: sum(state.counts[name] for state in periods.values())
              for name in ("source_rows", "warehouse_rows", "re_extracted", "deleted", "flagged")}
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        with engine.begin() as conn:
            record_action(conn, actor=actor, action="reconcile.run",
                          target=f"{key.department}/{key.source}/{key.dataset}",
                          department_code=key.department, dataset=key.dataset,
                          detail={"reconcile_id": reconcile_id, **totals})
    finally:
        engine.dispose()
