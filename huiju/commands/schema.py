"""``huiju schema …``: the standard schema — list data sets, write the data dictionary."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju schema`` to the command line."""
    parser = sub.add_parser("schema", help="the standard schema (data sets, dictionary)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list every data set with its field count")
    listing.set_defaults(handler=_list)
    docs = actions.add_parser(
        "docs", help="write the bilingual data dictionary (Markdown) into DIRECTORY")
    docs.add_argument("directory", metavar="DIRECTORY", help="folder to write (created if missing)")
    docs.set_defaults(handler=_docs)


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from schemas.catalog import all_fields, datasets

    table = Table("data set", "中文名", "English", "fields", "business key")
    for spec in datasets():
        table.add_row(spec.name, spec.zh, spec.en, str(len(all_fields(spec))),
                      ", ".join(spec.business_key))
    Console().print(table)
    return 0


def _docs(args: argparse.Namespace) -> int:
    from schemas.docs import write_dictionary

    written = write_dictionary(args.directory)
    # One plain line per file (no console wrapping), so scripts can read the list.
    sys.stdout.write("".join(f"{path}\n" for path in written))
    sys.stdout.write(f"wrote {len(written)} files\n")
    return 0
