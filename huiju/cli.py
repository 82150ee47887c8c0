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


class _Version(argparse.Action):
    """``--version``: the installed package's version, read only when asked (reading package
    metadata costs every command's start about 40 ms)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("huiju")
        except PackageNotFoundError:  # run from a source tree that was never installed
            found = "unknown"
        sys.stdout.write(f"huiju {found}\n")  # on stdout, as argparse's own version action
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The ``huiju`` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="huiju", description="Huiju (汇聚): Gansu 互联网+监管 data aggregation")
    parser.add_argument("--version", action=_Version, help="show the version and exit")
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
