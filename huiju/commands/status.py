"""``huiju status``: where every department's feeds stand, and the delivery backlog."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import add_url_option, settings_for
from huiju.output import add_format_option

FEED_COLUMNS = ("department", "name_zh", "source", "dataset", "last_batch", "loaded_at",
                "extracted", "passed", "quarantined", "superseded", "cursor", "source_newest",
                "lag", "open_quarantine", "next_run")
BACKLOG_COLUMNS = ("platform", "pending", "sent", "acknowledged", "rejected", "withheld")
LEAD_COLUMNS = ("department", "open_leads", "overdue", "earliest_deadline")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju status`` to the command line."""
    parser = sub.add_parser(
        "status", help="per feed: last batch and its accounting, cursor, lag, quarantine, "
                       "next run; delivery backlog; open national leads and their deadlines",
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
        open_leads = _open_leads(engine, args.department)
    finally:
        engine.dispose()
    sections = [Section(f"{len(feeds)} feeds of {len(departments)} department(s)",
                        FEED_COLUMNS, [f.row() for f in feeds], key="feeds")]
    if backlog is not None:
        sections.append(Section("delivery backlog per platform", BACKLOG_COLUMNS, backlog,
                                key="delivery"))
    sections.append(Section("open national leads per department (huiju leads list)",
                            LEAD_COLUMNS, open_leads, key="leads"))
    emit(sections, args.format)
    return 0


def _open_leads(engine, department: str | None) -> list[dict]:
    """Open leads per department (the provincial queue named as such): count, overdue, and
    the nearest deadline."""
    from huiju.leads import leads

    per: dict[str, dict] = {}
    for lead in leads(engine):  # open leads, nearest deadline first
        if department and lead.department_code != department:
            continue
        name = lead.department_code + ("" if lead.routed else " (provincial queue)")
        row = per.setdefault(name, {"department": name, "open_leads": 0, "overdue": 0,
                                    "earliest_deadline": None})
        row["open_leads"] += 1
        row["overdue"] += int(lead.overdue)
        if row["earliest_deadline"] is None and lead.deadline:
            row["earliest_deadline"] = lead.deadline.strftime("%Y-%m-%d %H:%M")
    return [per[name] for name in sorted(per)]


def _backlog(engine, department: str | None) -> list[dict] | None:
    """Outbox messages per platform and status; None when the warehouse has no outbox."""
    import sqlalchemy as sa

    from warehouse.outbox import status_counts

    if "outbox" not in sa.inspect(engine).get_table_names(schema="delivery"):
        return None
    return [{"platform": name, **counts}
            for name, counts in sorted(status_counts(engine, department=department).items())]
