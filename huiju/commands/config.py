"""``huiju config …``: department configuration files — validate them and show what they feed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huiju.output import add_format_option

FEED_COLUMNS = ("department", "name_zh", "name_en", "division", "schedule", "owner", "source",
                "kind", "system", "dataset", "path")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju config`` to the command line."""
    parser = sub.add_parser("config", help="department configuration (departments/*.yaml)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="validate every department file and list what each one feeds")
    check.add_argument("--departments-dir", metavar="DIR", default=None,
                       help="folder of department files (default: $HUIJU_DEPARTMENTS_DIR "
                            "or departments/)")
    add_format_option(check)
    check.set_defaults(handler=_check)
    docs = actions.add_parser(
        "docs", help="write docs/configuration.md from the configuration models")
    docs.add_argument("--check", action="store_true",
                      help="only check that the file is current (exit 1 if not)")
    docs.add_argument("--out", type=Path, default=None, help="file to write")
    docs.set_defaults(handler=_docs)
    init = actions.add_parser(
        "init", help="draft a department file from a live legacy table",
        description="Reads the table's columns and matches them to the data set's standard "
                    "fields by Chinese name; prints the draft (or writes --out).")
    init.add_argument("--from-table", nargs=2, metavar=("URL", "TABLE"), required=True,
                      help="SQLAlchemy URL of the legacy database and the table name")
    init.add_argument("--dataset", required=True, metavar="NAME")
    init.add_argument("--db-schema", help="schema of the table if not the default")
    init.add_argument("--out", type=Path, help="write the draft here (never over a file)")
    init.set_defaults(handler=_init)


def _check(args: argparse.Namespace) -> int:
    if args.format != "table":
        return _check_listing(args)
    from rich.console import Console
    from rich.markup import escape

    from huiju.departments import check_departments, departments_dir

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    folder = departments_dir(args.departments_dir)
    result = check_departments(folder)
    for department in result.departments:
        out.print(f"[bold]{department.code}[/bold] {escape(department.name.zh)} "
                  f"({escape(department.name.en)}) — {department.path}")
        out.print(f"  division {department.division_code}, schedule {department.schedule}, "
                  f"retries {department.retries}")
        for source in department.sources:
            datasets = ", ".join(feed.dataset for feed in source.feeds)
            out.print(f"  {source.id} {escape(f'[{source.kind}]')} {escape(source.system)} "
                      f"(pool {source.pool_size}) → {datasets}")
    if result.problems:
        err.print(f"[red]{len(result.problems)} problem(s) in {folder}:[/red]")
        for problem in result.problems:
            err.print(f"  {escape(str(problem))}")
        return 1
    out.print(f"{len(result.departments)} department file(s) in {folder} are valid")
    return 0


def _check_listing(args: argparse.Namespace) -> int:
    """``config check`` as CSV or JSON: one row per feed, then the problems."""
    from huiju.departments import check_departments, departments_dir
    from huiju.output import Section, emit

    folder = departments_dir(args.departments_dir)
    result = check_departments(folder)
    feeds = [{"department": d.code, "name_zh": d.name.zh, "name_en": d.name.en,
              "division": d.division_code, "schedule": d.schedule,
              "owner": getattr(d, "owner", None), "source": source.id, "kind": source.kind,
              "system": source.system, "dataset": feed.dataset, "path": str(d.path)}
             for d in result.departments for source in d.sources for feed in source.feeds]
    problems = [{"problem": str(p)} for p in result.problems]
    emit([Section(f"feeds of {len(result.departments)} department file(s) in {folder}",
                  FEED_COLUMNS, feeds, key="feeds"),
          Section(f"{len(problems)} problem(s)", ("problem",), problems, key="problems")],
         args.format)
    return 1 if problems else 0


def _docs(args: argparse.Namespace) -> int:
    from huiju import config_docs

    path = args.out or config_docs.DOC_PATH
    if args.check:
        if config_docs.is_current(path):
            sys.stdout.write(f"{path} is current\n")
            return 0
        sys.stderr.write(f"{path} is out of date: run `huiju config docs`\n")
        return 1
    sys.stdout.write(f"wrote {config_docs.write(path)}\n")
    return 0


def _init(args: argparse.Namespace) -> int:
    from connectors.base import mask_url
    from huiju.config_init import draft
    from huiju.errors import UserMistake

    url, table = args.from_table
    result = draft(url, table, args.dataset, schema=args.db_schema)
    sys.stderr.write(f"{mask_url(url)} {table}: {len(result.matched)} columns matched, "
                     f"{len(result.unmatched_columns)} left over, required fields without a "
                     f"column: {', '.join(result.missing_required) or 'none'}\n")
    if args.out is None:
        sys.stdout.write(result.text)
        return 0
    if args.out.exists():
        raise UserMistake(f"{args.out} exists; the draft is never written over a file")
    args.out.write_text(result.text, encoding="utf-8")
    sys.stdout.write(f"wrote {args.out}\n")
    return 0
