"""Command-line options of ``huiju simulator serve`` (also ``python -m simulator``)."""

from __future__ import annotations

import argparse
import os
import sys

from simulator.faults import FAULT_KINDS, FaultPlan

TOKEN_ENV = "HUIJU_SIMULATOR_TOKEN"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0,
                        help="port to bind; 0 (default) takes a free one, printed on stdout")
    parser.add_argument("--token", default=None,
                        help=f"bearer token of all three platforms (default: ${TOKEN_ENV})")
    parser.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of API requests that meet a fault, 0..1 (default 0)")
    parser.add_argument("--faults", default=",".join(FAULT_KINDS),
                        help="comma-separated fault kinds to draw from: "
                             + ", ".join(FAULT_KINDS) + " (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault streams")
    parser.add_argument("--retry-after", type=int, default=1,
                        help="Retry-After seconds of a 429 (default 1)")
    parser.add_argument("--slow-seconds", type=float, default=1.0,
                        help="delay of a slow answer (default 1.0)")
    parser.add_argument("--shapes", default=None,
                        help="folder of platform shape files (default: schemas/platforms/)")
    parser.add_argument("--leads", type=int, default=20,
                        help="leads in the national feed at start (default 20)")
    parser.add_argument("--leads-per-minute", type=float, default=2.0,
                        help="new leads per minute after that (default 2)")
    parser.add_argument("--tasks", type=int, default=3,
                        help="joint-supervision tasks in the feed at start (default 3)")
    parser.add_argument("--ledger", default=None, metavar="FILE",
                        help="keep the ledgers in this SQLite file across restarts "
                             "(default: in memory)")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")


def serve(args: argparse.Namespace) -> int:
    """Run the simulator until interrupted. The first line on stdout is the bound URL."""
    from simulator.leads import LeadFeed
    from simulator.server import SimulatorServer

    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        sys.stderr.write(f"give --token or set {TOKEN_ENV}\n")
        return 2
    try:
        plan = FaultPlan(rate=args.fault_rate, seed=args.seed,
                         kinds=tuple(k.strip() for k in args.faults.split(",") if k.strip()),
                         retry_after=args.retry_after, slow_seconds=args.slow_seconds)
        server = SimulatorServer(token=token, host=args.host, port=args.port, faults=plan,
                                 shapes_dir=args.shapes, verbose=args.verbose,
                                 ledger_path=args.ledger,
                                 feed=LeadFeed(args.seed, leads=args.leads, tasks=args.tasks,
                                               leads_per_minute=args.leads_per_minute)).bind()
    except (ValueError, OSError) as error:   # ShapeError is a ValueError
        sys.stderr.write(f"simulator: {error}\n")
        return 2
    served = {p: sorted(r) for p, r in server.shapes.items()}
    # the first line is what scripts and tests read to learn the port
    sys.stdout.write(f"simulator listening on {server.url}\n")
    sys.stdout.write("resources: " + "; ".join(f"{p}: {', '.join(r) or '(none)'}"
                                               for p, r in served.items()) + "\n")
    sys.stdout.flush()
    if not server.shape_file_resources:
        sys.stderr.write("simulator: no shape files found; every POST answers 404\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m simulator [serve options]``."""
    parser = argparse.ArgumentParser(prog="python -m simulator",
                                     description="Huiju's platform simulator")
    add_serve_arguments(parser)
    return serve(parser.parse_args(argv))
