"""Run the benchmarks: every ``benchmarks/bench_*.py`` module's ``main()`` in turn, or those
named on the command line (``identifiers`` or ``bench_identifiers``).

    .venv/bin/python -m benchmarks                 # all of them
    .venv/bin/python -m benchmarks identifiers     # just bench_identifiers
    .venv/bin/python -m benchmarks --list
    .venv/bin/python -m benchmarks e2e --rows 100000   # options after one name go to it

Each module runs in a child Python process, so one benchmark's memory, imports and
environment changes cannot skew the next one's timings; the child calls the module's
``main(options)`` (``[]``: its defaults), or ``main()`` if it takes no arguments. The
end-to-end benchmark (``e2e``, minutes at its default million rows, needing the ``bench``
dependency group) runs only when named. The exit status is non-zero if any benchmark failed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import subprocess
import sys
import time

import benchmarks

PREFIX = "bench_"
# Run only when named: long, and needing the benchmark-only dependency group.
ON_REQUEST = frozenset({"bench_e2e"})


def available() -> list[str]:
    """Module names of all benchmarks, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                  if m.name.startswith(PREFIX))


def resolve(names: list[str]) -> list[str]:
    """Module names for what the user typed (with or without the ``bench_`` prefix)."""
    known = available()
    chosen = []
    for name in names:
        module = name if name.startswith(PREFIX) else PREFIX + name
        module = module.removesuffix(".py")
        if module not in known:
            raise SystemExit(f"no benchmark {name!r}; known: {', '.join(known)}")
        chosen.append(module)
    return chosen


def run_one(module_name: str, options: list[str] | None = None) -> None:
    """Import ``benchmarks.<module_name>`` and call its ``main`` with ``options`` (default:
    none, i.e. its defaults)."""
    module = importlib.import_module(f"{benchmarks.__name__}.{module_name}")
    if inspect.signature(module.main).parameters:
        module.main(list(options or []))
    else:
        module.main()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named in ``argv`` (all by default); exit status 0 when all ran."""
    parser = argparse.ArgumentParser(description="Run Huiju's benchmarks.")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    argv = sys.argv[1:] if argv is None else argv
    # `e2e --rows 100000`: everything after the first option goes to that one benchmark
    split = next((i for i, a in enumerate(argv) if a.startswith("-") and a != "--list"),
                 len(argv))
    args = parser.parse_args(argv[:split])
    options = argv[split:]
    if options and len(args.names) != 1:
        raise SystemExit("options go to one named benchmark: e.g. `e2e --rows 100000`")
    if args.list:
        print("\n".join(available()))
        return 0
    failed = []
    chosen = resolve(args.names) if args.names else [
        m for m in available() if m not in ON_REQUEST]
    for module_name in chosen:
        print(f"=== {module_name} ===", flush=True)
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, "-c",
             f"from benchmarks.__main__ import run_one; run_one({module_name!r}, {options!r})"],
            check=False,
        )
        took = time.perf_counter() - started
        status = "ok" if child.returncode == 0 else f"FAILED (exit {child.returncode})"
        print(f"=== {module_name}: {status} in {took:.1f} s ===\n", flush=True)
        if child.returncode:
            failed.append(module_name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
