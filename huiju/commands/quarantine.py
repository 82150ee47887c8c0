"""``huiju quarantine``: list, export or resolve by hand the quarantined records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huiju.commands.warehouse_option import add_url_option, settings_for
from huiju.output import add_format_option


def _count(text: str) -> int:
    """A count of records: a whole number, 0 or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju quarantine`` to the command line."""
    parser = sub.add_parser("quarantine", help="list, export or resolve quarantined records")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (("list", "print what is quarantined, and what the platforms rejected"),
                            ("export", "write what is quarantined to a CSV file")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--department", metavar="CODE", help="only this department")
        action.add_argument("--dataset", metavar="NAME", help="only this data set")
        action.add_argument("--status", choices=("open", "resolved", "all"), default="open")
        add_url_option(action)
        if name == "list":
            add_format_option(action)
            action.add_argument("--by", choices=("record", "rule"), default="record",
                                help="one line per record (default) or a summary per rule")
            action.add_argument("--limit", type=_count, metavar="N", help="show N records")
            action.add_argument("--offset", type=_count, default=0, metavar="N",
                                help="skip the first N records")
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
                         help="the quarantined record's source_ref, in full as "
                              "`huiju quarantine list` shows it")
    resolve.add_argument("--rule", metavar="RULE_ID", help="only this rule's failure")
    resolve.add_argument("--reason", required=True, help="why it is resolved")
    add_url_option(resolve)
    resolve.set_defaults(handler=_resolve)


def _resolve(args: argparse.Namespace) -> int:
    from huiju.identity import current_actor
    from huiju.quarantine import NothingToResolve, resolve
    from warehouse.engine import create_warehouse_engine

    actor = current_actor()
    engine = create_warehouse_engine(settings_for(args).warehouse_url)
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
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
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
    _list(args, rows, rejected)
    return 0


def _list(args: argparse.Namespace, rows: list[dict], rejected: list[dict]) -> None:
    """Print the quarantine one record a line (or per rule with ``--by rule``), paged."""
    from huiju.output import Section, emit
    from huiju.quarantine import by_record, by_rule

    if args.by == "rule":
        rules = by_rule(rows)
        emit([Section(f"{len(rules)} rules failed by {len(by_record(rows))} quarantined "
                      "records", RULE_COLUMNS, rules, key="rules")], args.format)
        return
    records = by_record(rows)
    page = records[args.offset:][:args.limit] if args.limit is not None \
        else records[args.offset:]
    sections = [Section(f"{len(records)} quarantined records ({len(rows)} failures); "
                        f"showing {args.offset + 1 if page else 0}–{args.offset + len(page)}",
                        RECORD_COLUMNS, page, key="records")]
    if rejected or args.format == "json":
        sections.append(Section(f"{len(rejected)} rejections by the receiving platforms",
                                REJECTION_COLUMNS, rejected, key="rejections"))
    notes = []
    if args.offset + len(page) < len(records):
        notes.append(f"{len(records) - args.offset - len(page)} more: "
                     f"--offset {args.offset + len(page)}")
    emit(sections, args.format, notes=notes)


RECORD_COLUMNS = ("department_code", "dataset", "source_ref", "record_id", "rules", "fields",
                  "problems", "问题", "values", "status", "last_seen_at")
RULE_COLUMNS = ("department_code", "dataset", "rule_id", "field", "records", "problem", "问题",
                "example_source_ref")
REJECTION_COLUMNS = ("department_code", "dataset", "source_ref", "platform", "resource",
                     "record_id", "code", "field", "reason", "status")
