"""``huiju leads``: pull the national system's leads, route them, list open and overdue ones."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import URL_HELP, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju leads`` to the command line."""
    parser = sub.add_parser("leads", help="national leads: pull, route, list (issue 13)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate config/lead_routing.yaml")
    check.add_argument("--routing", help="routing table file")
    check.set_defaults(handler=_check)
    pull = actions.add_parser(
        "pull", help="pull new leads (department GS-HLWJG's feeds) and joint-supervision tasks, "
                     "then route the new leads")
    pull.add_argument("--routing", help="routing table file")
    pull.add_argument("--url", help=URL_HELP)
    pull.set_defaults(handler=_pull)
    route = actions.add_parser("route", help="route loaded leads not routed yet")
    route.add_argument("--routing", help="routing table file")
    route.add_argument("--url", help=URL_HELP)
    route.set_defaults(handler=_route)
    feedback = actions.add_parser(
        "feedback", help="send joint-supervision feedback of departments with results")
    feedback.add_argument("--department", metavar="CODE")
    feedback.add_argument("--url", help=URL_HELP)
    feedback.set_defaults(handler=_feedback)
    tasks = actions.add_parser("tasks", help="joint-supervision tasks: each department's part")
    tasks.add_argument("--department", metavar="CODE")
    tasks.add_argument("--url", help=URL_HELP)
    tasks.set_defaults(handler=_tasks)
    listing = actions.add_parser("list", help="open leads with their deadlines")
    listing.add_argument("--department", metavar="CODE")
    listing.add_argument("--overdue", action="store_true", help="only open leads past deadline")
    listing.add_argument("--all", action="store_true", help="closed leads too")
    listing.add_argument("--url", help=URL_HELP)
    listing.set_defaults(handler=_list)


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from huiju.departments import DepartmentConfigError
    from huiju.routing import load_routing, routing_path

    console = Console(highlight=False, soft_wrap=True)
    try:
        table = load_routing(args.routing)
    except DepartmentConfigError as error:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        err.print(f"[red]{len(error.problems)} problem(s):[/red]")
        for problem in error.problems:
            err.print(f"  {escape(str(problem))}")
        return 1
    console.print(f"{routing_path(args.routing)}: {len(table.rules)} rule(s), provincial queue "
                  f"{table.provincial_queue}, deadlines {table.deadlines_days}")
    return 0


def _route(args: argparse.Namespace) -> int:
    from rich.console import Console

    from huiju.leads import route_new
    from huiju.routing import load_routing
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        counts = route_new(engine, load_routing(args.routing))
    finally:
        engine.dispose()
    Console().print(f"routed {counts['routed']} lead(s) to departments, "
                    f"{counts['queued']} to the provincial queue")
    return 0


def _pull(args: argparse.Namespace) -> int:
    from rich.console import Console

    from huiju.leads_pull import pull_all

    console = Console()
    summary = pull_all(args.routing, settings=settings_for(args))
    for line in summary:
        console.print(line, highlight=False)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from rich.console import Console

    from connectors.platforms import PlatformClient, PlatformConfig
    from huiju.joint_feedback import send_feedback
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        counts = send_feedback(engine, PlatformClient(PlatformConfig.from_env("national")),
                               department=args.department)
    finally:
        engine.dispose()
    Console().print(f"joint-supervision feedback: {counts['acknowledged']} acknowledged, "
                    f"{counts['rejected']} rejected, {counts['waiting']} waiting for results")
    return 1 if counts["rejected"] else 0


def _tasks(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from huiju.joint import parts_of
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        parts = parts_of(engine, args.department)
    finally:
        engine.dispose()
    out = Table("task", "name", "unit", "department", "objects", "feedback", "receipt",
                title="joint-supervision tasks (联合监管)", title_justify="left")
    for part in parts:
        info = part["info"]
        objects = ", ".join(o.get("superviseObjectName", "")
                            for o in info.get("superviseObjects", []))
        out.add_row(part["task_no"], info.get("taskName", ""), part["unit_name"],
                    part["department_code"] or "— (no department file)", objects,
                    part["feedback_status"], part["receipt"] or "")
    Console(width=200).print(out)
    return 0


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from huiju.leads import leads
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    out = Table(title="leads" + (f" of {args.department}" if args.department else ""))
    for column in ("lead", "type", "department", "deadline", "status", "overdue", "routing"):
        out.add_column(column)
    count = 0
    try:
        for lead in leads(engine, department=args.department, overdue_only=args.overdue,
                          open_only=not args.all):
            count += 1
            out.add_row(lead.lead_id, lead.lead_kind, lead.department_code,
                        lead.deadline.strftime("%Y-%m-%d %H:%M") if lead.deadline else "—",
                        lead.progress_status or "—", "OVERDUE" if lead.overdue else "",
                        lead.reason)
    finally:
        engine.dispose()
    console = Console(width=200)
    console.print(out)
    console.print(f"{count} lead(s)")
    return 0
