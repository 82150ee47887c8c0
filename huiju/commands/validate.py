"""``huiju validate``: a department checks an export file before sending it (loads nothing)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju validate`` to the command line."""
    parser = sub.add_parser("validate",
                            help="map and validate a file as ingest would; load nothing")
    parser.add_argument("--department", required=True, metavar="CODE")
    parser.add_argument("--dataset", required=True, metavar="NAME")
    parser.add_argument("--source", metavar="ID",
                        help="the feed's source (default: a files source)")
    parser.add_argument("--out", type=Path,
                        help="rejection list CSV (default: rejections/<FILE name>.csv)")
    parser.add_argument("--departments-dir", help="folder of department YAML files")
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import os

    if args.departments_dir:
        os.environ["HUIJU_DEPARTMENTS_DIR"] = args.departments_dir
    from huiju.pipeline import find_department
    from huiju.quarantine import write_rejections
    from huiju.selfcheck import check_file

    if not args.file.is_file():
        sys.stderr.write(f"{args.file}: no such file\n")
        return 2
    department = find_department(args.department)
    result = check_file(department, args.dataset, args.file, args.source)
    # not next to FILE: a drop folder's file patterns could pick the list up as data
    out = args.out or Path("rejections") / f"{args.file.name}.csv"
    write_rejections(result.rejections.to_dict("records"), out,
                     columns=list(result.rejections.columns))
    counts = result.outcome.counts
    sys.stdout.write(
        f"{args.file}: {counts['extracted']} rows — {counts['passed']} would load, "
        f"{counts['quarantined']} rejected ({counts['failures']} failures), "
        f"{counts['superseded']} superseded by a later row with the same key\n"
        f"rejection list: {out}\n")
    if result.outcome.threshold_breached:
        sys.stdout.write(f"threshold: {result.outcome.threshold_breached}\n")
    return 1 if counts["quarantined"] else 0
