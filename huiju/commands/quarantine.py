"""``huiju quarantine``: list, export or resolve by hand the quarantined records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("quarantine", help="list, export or resolve quarantined records")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (("list", "print what is quarantined, and what the platforms rejected"),
                            ("export", "write what is quarantined to a CSV file")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--department", metavar="CODE", help="only this department")
        action.add_argument("--dataset", metavar="NAME", help="only this data set")
        action.add_argument("--status", choices=("open", "resolved", "all"), default="open")
        if name == "export":
            action.add_argument("--out", required=True, type=Path, help="CSV file to write")
        action.set_defaults(handler=_run)
    resolve = actions.add_parser(
        "resolve", help="resolve one record's open failures by hand, saying why",
        description="For a record no batch can resolve (an unreadable line re-sent corrected "
                    "in another file). The reason is kept for the auditors with the account "
                    "that ran this command (never a typed name) in the append-only action "
                    "log; the record reopens if it fails again.")
    resolve.add_argument("--department", metavar="CODE", required=True)
    resolve.add_argument("--dataset", metavar="NAME", required=True)
    resolve.add_argument("--source-ref", metavar="REF", required=True,
                         help="the quarantined record (as `huiju quarantine list` shows it)")
    resolve.add_argument("--rule", metavar="RULE_ID", help="only this rule's failure")
    resolve.add_argument("--reason", required=True, help="why it is resolved")
    resolve.set_defaults(handler=_resolve)


def _resolve(args: argparse.Namespace) -> int:
    from huiju.identity import current_actor
    from huiju.quarantine import NothingToResolve, resolve
    from huiju.settings import load_settings
    from warehouse.engine import create_warehouse_engine

    actor = current_actor()
    engine = create_warehouse_engine(load_settings().warehouse_url)
    try:
        count = resolve(engine, department=args.department, dataset=args.dataset,
                        source_ref=args.source_ref, rule_id=args.rule, reason=args.reason,
                        actor=actor)
    except (NothingToResolve, ValueError) as error:
        sys.stderr.write(f"huiju quarantine resolve: {error}\n")
        return 1
    finally:
        engine.dispose()
    sys.stdout.write(f"resolved {count} failure(s) of {args.source_ref} by hand as {actor}\n")
    return 0


def _run(args: argparse.Namespace) -> int:
    from huiju.quarantine import platform_rejections, quarantined, write_rejections
    from huiju.settings import load_settings
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(load_settings().warehouse_url)
    status = None if args.status == "all" else args.status
    try:
        rows = quarantined(engine, department=args.department, dataset=args.dataset,
                           status=status)
        rejected = platform_rejections(engine, department=args.department,
                                       dataset=args.dataset, status=status)
    finally:
        engine.dispose()
    if args.action == "export":
        write_rejections(rows, args.out)
        sys.stdout.write(f"wrote {len(rows)} quarantined failures to {args.out}\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    listing = Table("department", "data set", "source ref", "rule", "field", "问题", "problem",
                    "value", "status", title=f"{len(rows)} quarantined failures")
    for row in rows:
        listing.add_row(row["department_code"], row["dataset"], row["source_ref"],
                        row["rule_id"], row["field"], row["message_zh"], row["message_en"],
                        row["raw_value"] or "", row["status"])
    console = Console(width=200)
    console.print(listing)
    if rejected:
        platforms = Table("department", "data set", "source ref", "platform", "record id",
                          "code", "field", "reason", "status",
                          title=f"{len(rejected)} rejections by the receiving platforms")
        for row in rejected:
            platforms.add_row(row["department_code"], row["dataset"], row["source_ref"],
                              f"{row['platform']}/{row['resource']}", row["record_id"],
                              row["code"], row["field"], row["reason"], row["status"])
        console.print(platforms)
    return 0
