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
    parser.add_argument("--serve", action=argparse.BooleanOptionalAction, default=None,
                        help="serve the report site after the run until Ctrl-C (default: on "
                             "a terminal only; HUIJU_DEMO_SERVE=0|1 overrides)")
    parser.add_argument("--reports-port", type=int, default=None,
                        help="port of the report site on 127.0.0.1 (default 8766; 0: any "
                             "free port)")
    add_url_option(parser, "warehouse URL (default: the embedded SQLite store under --home)")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from huiju.demo.runner import HTTP_PORT, REPORTS_PORT, main

    return main(Path(args.home).resolve(), args.http_port or HTTP_PORT, args.url,
                serve=args.serve,
                reports_port=REPORTS_PORT if args.reports_port is None else args.reports_port)
