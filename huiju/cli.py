"""``huiju`` — the command-line front door.

Each command group lives in its own module under ``huiju.commands`` and exposes
``register(subparsers)``; this module only assembles them, and turns a user's mistake into one
line and exit status 2 (``huiju.errors``) — the traceback only with ``--debug``.
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
    "source",
    "status",
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
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("huiju")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``huiju`` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="huiju", description="Huiju (汇聚): Gansu 互联网+监管 data aggregation")
    parser.add_argument("--version", action="version", version=f"huiju {_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of any error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"huiju.commands.{name}").register(sub)
    return parser


def _check_names(args: argparse.Namespace) -> None:
    """An unknown ``--dataset`` is a mistake before anything runs (not an empty listing)."""
    from huiju.errors import UnknownName
    from schemas.catalog import dataset

    names = getattr(args, "dataset", None)
    for name in ([names] if isinstance(names, str) else names or []):
        try:
            dataset(name)
        except KeyError as error:
            raise UnknownName(str(error.args[0])) from None


def main(argv: list[str] | None = None) -> int:
    """Run the ``huiju`` command line; return its exit status."""
    from huiju import jsonlog
    from huiju.errors import EXIT_MISTAKE, explain

    jsonlog.configure()
    args = build_parser().parse_args(argv)
    try:
        _check_names(args)
        return int(args.handler(args) or 0)
    except Exception as error:
        if args.debug:
            raise
        from huiju.commands.warehouse_option import announced

        line = explain(error, announced[-1] if announced else None)
        if line is None:  # a bug, not a mistake: keep its traceback
            raise
        sys.stderr.write(f"huiju {args.command}: {line}\n")
        return EXIT_MISTAKE


if __name__ == "__main__":
    sys.exit(main())
