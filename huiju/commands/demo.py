"""``huiju demo``: run the whole pipeline end to end on the embedded default (see huiju.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="build sample sources and run every DAG end to end")
    parser.add_argument("--home", default=".", help="where var/ (sources, warehouse) goes")
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from huiju.demo.runner import main

    return main(Path(args.home).resolve())
