"""``huiju expectations …``: the GX suites generated from the standard schema."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju expectations`` to the command line."""
    parser = sub.add_parser("expectations", help="Great Expectations suites (generated)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    generate = actions.add_parser(
        "generate", help="write expectations/suites/<data set>.json from schemas/")
    generate.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 if a checked-in suite is stale")
    generate.set_defaults(handler=_generate)


def _generate(args: argparse.Namespace) -> int:
    from expectations.suites import SUITES_DIR, stale_suites, write_suites

    if args.check:
        stale = stale_suites()
        if stale:
            sys.stderr.write("stale GX suites (run `huiju expectations generate`): "
                             + ", ".join(stale) + "\n")
            return 1
        sys.stdout.write(f"GX suites in {SUITES_DIR} are current\n")
        return 0
    paths = write_suites()
    sys.stdout.write(f"wrote {len(paths)} GX suites to {SUITES_DIR}\n")
    return 0
