"""``huiju`` — the command-line front door.

Each command group lives in its own module under ``huiju.commands`` and exposes
``register(subparsers)``; this module only assembles them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Command modules, in the order `huiju --help` lists them.
COMMAND_MODULES = (
    "db",
    "dags",
    "schema",
    "config",
    "trace",
    "verify",
    "run",
    "reconcile",
    "validate",
    "quarantine",
    "metrics",
    "deliver",
    "demo",
    "expectations",
    "simulator",
    "users",
    "serve",
    "leads",
    "status",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``huiju`` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="huiju", description="Huiju (汇聚): Gansu 互联网+监管 data aggregation")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"huiju.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``huiju`` command line; return its exit status."""
    from huiju import jsonlog

    jsonlog.configure()
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
