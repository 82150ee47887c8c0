"""``huiju config …``: department configuration files — validate them and show what they feed."""

from __future__ import annotations

import argparse

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
