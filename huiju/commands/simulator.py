"""``huiju simulator serve``: the local stand-in for the three receiving platforms."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju simulator`` to the command line."""
    from simulator.cli import add_serve_arguments, serve

    parser = sub.add_parser("simulator", help="the platform simulator (national, gsxt, "
                                              "creditchina)")
    commands = parser.add_subparsers(dest="simulator_command", required=True, metavar="COMMAND")
    serve_parser = commands.add_parser(
        "serve", help="serve the three platforms' APIs, with a ledger and injected faults",
        description="Prints 'simulator listening on URL' as its first line on stdout.")
    add_serve_arguments(serve_parser)
    serve_parser.set_defaults(handler=serve)
