"""``huiju trace RECORD``: where a record came from and every batch that touched it."""

from __future__ import annotations

import argparse
import json

from huiju.commands.warehouse_option import add_url_option, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju trace`` to the command line."""
    parser = sub.add_parser(
        "trace", help="provenance of a record: source → core row → batches → receipts",
        description="RECORD is a source reference (mysql:案件表#pk=123), a record id, or with "
                    "--dataset a business key (several columns joined by '|').")
    parser.add_argument("record")
    parser.add_argument("--dataset", help="data set of a business key (e.g. penalty)")
    add_url_option(parser)
    parser.set_defaults(handler=_trace)


def _trace(args: argparse.Namespace) -> int:
    from rich.console import Console

    from warehouse.actions import actions_on
    from warehouse.engine import create_warehouse_engine
    from warehouse.provenance import trace

    console = Console()
    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        trails = trace(engine, args.record, args.dataset)
        if not trails:
            console.print(f"no record {args.record!r} in the warehouse")
            return 1
        for trail in trails:
            _print(console, trail)
            refs = {row["source_ref"] for row in (*trail.landings, *trail.quarantine)}
            if trail.current:
                refs.add(trail.current["source_ref"])
            _print_actions(console, actions_on(engine, refs))
            if trail.dataset in ("complaint", "risk_lead", "lead_disposition"):
                _print_routing(console, engine, trail.business_key[0])
    finally:
        engine.dispose()
    return 0


def _print_actions(console, actions: list[dict]) -> None:
    """Manual actions on the record, from the append-only log, with who did them."""
    from rich.table import Table

    if not actions:
        return
    grid = Table("at", "actor", "action", "detail", title="manual actions (append-only log)",
                 title_justify="left")
    for action in actions:
        grid.add_row(str(action["at"]), action["actor"], action["action"],
                     json.dumps(action["detail"], ensure_ascii=False, sort_keys=True))
    console.print(grid)


def _print_routing(console, engine, lead_id: str) -> None:
    """Where a national lead was routed and why (audit.lead_routing)."""
    from huiju.leads import routing_of

    for row in routing_of(engine, str(lead_id)):
        where = "routed to" if row["routed"] else "provincial queue"
        console.print(f"routing: {where} {row['department_code']} — {row['reason']}; "
                      f"deadline {row['deadline']}, routed {row['routed_at']}", highlight=False)


def _print(console, trail) -> None:
    from rich.table import Table

    key = f" / {trail.key_text}" if trail.business_key else ""
    console.rule(f"[bold]{trail.dataset}[/bold] {trail.department_code}{key}")
    if trail.current:
        now = trail.current
        state = "deleted" if now["is_deleted"] else "current"
        console.print(f"core.{trail.dataset}: {state}, record_id {now['record_id']}, "
                      f"batch {now['batch_id']} ({now['operation']}), since {now['updated_at']}")
        console.print(f"  source {now['source_system']} {now['source_ref']} "
                      f"sha256 {now['source_hash'][:12]}…, first loaded {now['first_loaded_at']}")
    else:
        console.print("not in core (quarantined or superseded)")
    sections = (
        ("earlier versions", trail.versions,
         ("batch_id", "operation", "source_ref", "version_valid_from", "version_valid_to",
          "closed_batch_id")),
        ("batches", trail.batches,
         ("batch_id", "action", "source_system", "source_ref", "loaded_at", "run_id")),
        ("raw landings", trail.landings,
         ("batch_id", "source_system", "source_ref", "source_hash", "extracted_at")),
        ("quarantine", trail.quarantine,
         ("batch_id", "rule_id", "field", "message_zh", "raw_value", "status",
          "resolved_batch_id", "resolved_by")),
        ("platform deliveries", trail.deliveries,
         ("platform", "resource", "batch_id", "operation", "cause", "status", "attempts",
          "receipt", "settled_at", "publicity_end")),
        ("platform rejections", trail.rejections,
         ("platform", "resource", "batch_id", "code", "field", "reason", "status")),
    )
    for title, rows, columns in sections:
        if not rows:
            continue
        grid = Table(*columns, title=title, title_justify="left")
        for row in rows:
            grid.add_row(*("" if row.get(c) is None else str(row[c]) for c in columns))
        console.print(grid)
        if title == "raw landings":
            for row in rows:  # the legacy values as extracted
                record = json.dumps(row["record"], ensure_ascii=False, sort_keys=True)
                console.print(f"  {row['batch_id']} {row['source_ref']}: {record}",
                              markup=False, highlight=False, soft_wrap=True)
