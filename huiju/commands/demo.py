"""``huiju demo``: run the whole pipeline end to end on the embedded default (see huiju.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from huiju.commands.warehouse_option import add_url_option


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju demo`` to the command line."""
    parser = sub.add_parser("demo", help="build sample sources and run every DAG end to end")
    parser.add_argument("--home", default=".", help="where var/ (sources, warehouse) goes")
    parser.add_argument("--http-port", type=int, default=None,
                        help="port of the local license API (default: the one in "
                             "departments/gs_yjj.yaml)")
    add_url_option(parser, "warehouse URL (default: the embedded SQLite store under --home)")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from huiju.demo.runner import HTTP_PORT, main

    return main(Path(args.home).resolve(), args.http_port or HTTP_PORT, args.url)
