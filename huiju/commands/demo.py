"""``huiju demo``: run the whole pipeline end to end on the embedded default (see huiju.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="build sample sources and run every DAG end to end")
    parser.add_argument("--home", default=".", help="where var/ (sources, warehouse) goes")
    parser.add_argument("--http-port", type=int, default=None,
                        help="port of the local license API (default: the one in "
                             "departments/gs_yjj.yaml)")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from huiju.demo.runner import HTTP_PORT, main

    return main(Path(args.home).resolve(), args.http_port or HTTP_PORT)
