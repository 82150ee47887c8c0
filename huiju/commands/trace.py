"""``huiju trace RECORD``: where a record came from and every batch that touched it."""

from __future__ import annotations

import argparse
import json

from huiju.commands.warehouse_option import add_url_option, settings_for
from huiju.output import add_format_option


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju trace`` to the command line."""
    parser = sub.add_parser(
        "trace", help="provenance of a record: source → core row → batches → receipts",
        description="RECORD is a source reference (mysql:案件表#pk=123), a record id, or with "
                    "--dataset a business key (several columns joined by '|').")
    parser.add_argument("record")
    parser.add_argument("--dataset", help="data set of a business key (e.g. penalty)")
    add_url_option(parser)
    add_format_option(parser)
    parser.set_defaults(handler=_trace)


def _trace(args: argparse.Namespace) -> int:
    import sys

    from huiju.output import console as make_console
    from warehouse.actions import actions_on
    from warehouse.engine import create_warehouse_engine
    from warehouse.provenance import trace

    console = make_console(width=240)
    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        trails = trace(engine, args.record, args.dataset)
        if not trails:
            sys.stderr.write(f"no record {args.record!r} in the warehouse\n")
            if args.format == "json":
                sys.stdout.write("[]\n")
            return 1
        found = []
        for trail in trails:
            refs = {row["source_ref"] for row in (*trail.landings, *trail.quarantine)}
            if trail.current:
                refs.add(trail.current["source_ref"])
            found.append((trail, actions_on(engine, refs), _routing(engine, trail)))
    finally:
        engine.dispose()
    if args.format != "table":
        _emit(found, args.format)
        return 0
    for trail, actions, routing in found:
        _print(console, trail)
        _print_actions(console, actions)
        _print_routing(console, routing)
    return 0


LEAD_DATASETS = ("complaint", "risk_lead", "lead_disposition")


def _routing(engine, trail) -> list[dict]:
    """Where a national lead was routed and why (audit.lead_routing); empty for other data."""
    if trail.dataset not in LEAD_DATASETS or not trail.business_key:
        return []
    from huiju.leads import routing_of

    return [dict(row) for row in routing_of(engine, str(trail.business_key[0]))]


def _print_routing(console, routing: list[dict]) -> None:
    for row in routing:
        where = "routed to" if row["routed"] else "provincial queue"
        console.print(f"routing: {where} {row['department_code']} — {row['reason']}; "
                      f"deadline {row['deadline']}, routed {row['routed_at']}", highlight=False)


def _emit(found: list, fmt: str) -> None:
    """Every trail as JSON (one object each) or CSV (one section per part of each trail)."""
    import sys

    from huiju.output import Section, _plain, emit

    if fmt == "json":
        def plain(value):
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return _plain(value)

        body = [plain({"dataset": t.dataset, "department_code": t.department_code,
                       "business_key": t.key_text if t.business_key else None,
                       "current": t.current,
                       **{name: rows for name, rows, _ in _sections(t)},
                       "manual_actions": actions, "routing": routing})
                for t, actions, routing in found]
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        return
    sections = []
    for trail, actions, routing in found:
        head = f"{trail.dataset} {trail.department_code}"
        if trail.current:
            sections.append(Section(f"{head} current", list(trail.current), [trail.current]))
        sections += [Section(f"{head} {name}", columns, rows)
                     for name, rows, columns in _sections(trail) if rows]
        if actions:
            sections.append(Section(f"{head} manual actions", ("at", "actor", "action",
                                                               "detail"), actions))
        if routing:
            sections.append(Section(f"{head} routing", tuple(routing[0]), routing))
    emit(sections, fmt)


def _sections(trail) -> list[tuple[str, list[dict], tuple[str, ...]]]:
    """The parts of a trail: (name, rows, the columns a table shows)."""
    return [
        ("earlier versions", trail.versions,
         ("batch_id", "operation", "source_ref", "version_valid_from", "version_valid_to",
          "closed_batch_id")),
        ("batches", trail.batches,
         ("batch_id", "action", "source_id", "source_ref", "loaded_at", "run_id")),
        ("raw landings", trail.landings,
         ("batch_id", "source_id", "source_ref", "source_hash", "extracted_at")),
        ("quarantine", trail.quarantine,
         ("batch_id", "rule_id", "field", "message_zh", "raw_value", "status",
          "resolved_batch_id", "resolved_by")),
        ("platform deliveries", trail.deliveries,
         ("platform", "resource", "batch_id", "operation", "cause", "status", "attempts",
          "receipt", "settled_at", "publicity_end")),
        ("platform rejections", trail.rejections,
         ("platform", "resource", "batch_id", "code", "field", "reason", "status")),
    ]


def _print_actions(console, actions: list[dict]) -> None:
    """Manual actions on the record, from the append-only log, with who did them."""
    from huiju.output import grid

    if not actions:
        return
    table = grid("at", "actor", "action", "detail", title="manual actions (append-only log)",
                 out=console.file)
    for action in actions:
        table.add_row(str(action["at"]), action["actor"], action["action"],
                     json.dumps(action["detail"], ensure_ascii=False, sort_keys=True))
    console.print(table)


def _print(console, trail) -> None:
    from huiju.output import grid

    key = f" / {trail.key_text}" if trail.business_key else ""
    console.rule(f"[bold]{trail.dataset}[/bold] {trail.department_code}{key}")
    if trail.current:
        now = trail.current
        state = "deleted" if now["is_deleted"] else "current"
        console.print(f"core.{trail.dataset}: {state}, record_id {now['record_id']}, "
                      f"batch {now['batch_id']} ({now['operation']}), since {now['updated_at']}")
        console.print(f"  source {now['source_id']} {now['source_ref']} "
                      f"sha256 {now['source_hash'][:12]}…, first loaded {now['first_loaded_at']}")
    else:
        console.print("not in core (quarantined or superseded)")
    sections = _sections(trail)
    for title, rows, columns in sections:
        if not rows:
            continue
        table = grid(*columns, title=title, out=console.file)
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row[c]) for c in columns))
        console.print(table)
        if title == "raw landings":
            for row in rows:  # the legacy values as extracted
                record = json.dumps(row["record"], ensure_ascii=False, sort_keys=True)
                console.print(f"  {row['batch_id']} {row['source_ref']}: {record}",
                              markup=False, highlight=False, soft_wrap=True)
