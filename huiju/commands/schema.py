"""``huiju schema …``: the standard schema — list data sets, write the data dictionary."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("schema", help="the standard schema (data sets, dictionary)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list every data set with its field count")
    listing.set_defaults(handler=_list)


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
