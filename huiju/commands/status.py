"""``huiju status``: where every department's feeds stand, and the delivery backlog."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import add_url_option, settings_for
from huiju.output import add_format_option

FEED_COLUMNS = ("department", "name_zh", "source", "dataset", "last_batch", "loaded_at",
                "extracted", "passed", "quarantined", "superseded", "cursor", "source_newest",
                "lag", "open_quarantine", "next_run")
BACKLOG_COLUMNS = ("platform", "pending", "sent", "acknowledged", "rejected", "withheld")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju status`` to the command line."""
    parser = sub.add_parser(
        "status", help="per feed: last batch and its accounting, cursor, lag, quarantine, "
                       "next run; delivery backlog",
        description="Reads the warehouse and the department files. The lag behind the "
                    "source's newest cursor is asked of SQL sources with a cursor column (one "
                    "aggregate query each; --no-lag skips it). Next runs are in Asia/Shanghai.")
    parser.add_argument("--department", metavar="CODE", help="only this department")
    parser.add_argument("--no-lag", dest="lag", action="store_false",
                        help="do not ask the sources for their newest cursor")
    add_url_option(parser)
    add_format_option(parser)
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    from huiju.departments import load_departments
    from huiju.output import Section, emit
    from huiju.pipeline import find_department
    from huiju.status import feed_statuses
    from warehouse.engine import create_warehouse_engine

    settings = settings_for(args)
    departments = ([find_department(args.department, settings)] if args.department
                   else load_departments(settings.departments_dir))
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        feeds = feed_statuses(engine, departments, settings, lag=args.lag)
        backlog = _backlog(engine, args.department)
    finally:
        engine.dispose()
    sections = [Section(f"{len(feeds)} feeds of {len(departments)} department(s)",
                        FEED_COLUMNS, [f.row() for f in feeds], key="feeds")]
    if backlog is not None:
        sections.append(Section("delivery backlog per platform", BACKLOG_COLUMNS, backlog,
                                key="delivery"))
    emit(sections, args.format)
    return 0


def _backlog(engine, department: str | None) -> list[dict] | None:
    """Outbox messages per platform and status; None when the warehouse has no outbox."""
    import sqlalchemy as sa

    from warehouse.outbox import status_counts

    if "outbox" not in sa.inspect(engine).get_table_names(schema="delivery"):
        return None
    return [{"platform": name, **counts}
            for name, counts in sorted(status_counts(engine, department=department).items())]
