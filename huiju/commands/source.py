"""``huiju source check``: a department's sources against its mapping, before any load."""

from __future__ import annotations

import argparse

from huiju.output import add_format_option


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju source`` to the command line."""
    parser = sub.add_parser("source", help="a department's legacy sources, seen before a load")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="connect, list columns, compare with the mapping, try N sample rows",
        description="For each feed: connects; lists the legacy columns and types; a mapped "
                    "column the source lacks is an error naming the closest ones; the row "
                    "count and cursor range (SQL); maps and validates the first N rows and "
                    "prints the accounting a load would record — nothing is loaded, archived "
                    "or moved. Exit 1 when a feed would fail.")
    check.add_argument("--department", required=True, metavar="CODE")
    check.add_argument("--feed", "--dataset", dest="dataset", action="append", metavar="NAME",
                       help="only the feed of this data set (repeatable)")
    check.add_argument("--sample", type=int, default=20, metavar="N",
                       help="rows to map and validate (default 20; 0: none)")
    check.add_argument("--departments-dir", help="folder of department YAML files")
    add_format_option(check)
    check.set_defaults(handler=_check)


COLUMNS = ("source", "dataset", "kind", "ok", "rows", "cursor_min", "cursor_max", "sampled",
           "passed", "quarantined", "superseded", "failures_by_rule", "problems", "warnings")


def _check(args: argparse.Namespace) -> int:
    import os

    if args.departments_dir:
        os.environ["HUIJU_DEPARTMENTS_DIR"] = args.departments_dir
    from huiju.output import Section, emit
    from huiju.pipeline import find_department
    from huiju.settings import load_settings
    from huiju.source_check import check_department

    settings = load_settings()
    department = find_department(args.department, settings)
    results = check_department(department, settings, args.dataset, args.sample)
    feeds = [{"source": r.source, "dataset": r.dataset, "kind": r.kind, "ok": r.ok,
              "rows": r.rows, "cursor_min": r.cursor_min, "cursor_max": r.cursor_max,
              "sampled": r.accounting.get("extracted"), "passed": r.accounting.get("passed"),
              "quarantined": r.accounting.get("quarantined"),
              "superseded": r.accounting.get("superseded"),
              "failures_by_rule": r.failures_by_rule, "problems": "; ".join(r.problems),
              "warnings": "; ".join(r.warnings)}
             for r in results]
    columns = [{"source": r.source, "dataset": r.dataset, "column": name, "type": kind,
                "mapped": name in r.mapped} for r in results for name, kind in r.columns]
    bad = [r for r in results if not r.ok]
    notes = [f"{department.code}: {len(results) - len(bad)} of {len(results)} feeds would run "
             "(sample accounting: would-be load, nothing loaded)"]
    notes += [f"ERROR {r.source} → {r.dataset}: {p}" for r in bad for p in r.problems]
    notes += [f"WARNING {r.source} → {r.dataset}: {w}" for r in results for w in r.warnings]
    emit([Section(f"legacy columns of {department.code} {department.name.zh}",
                  ("source", "dataset", "column", "type", "mapped"), columns, key="columns"),
          Section("feeds: source profile and would-be accounting of the sample", COLUMNS,
                  feeds, key="feeds")], args.format, notes=notes)
    return 1 if bad else 0
