"""``huiju dags …``: the DAG manifest and the Airflow pools the DAGs use.

- ``huiju dags generate [--check]`` renders the department files into
  ``dags/huiju_manifest.py``; ``--check`` writes nothing and exits 1 when the file is stale.
- ``huiju dags pools [--dry-run]`` creates or updates one Airflow pool per source system
  (``huiju_<dept>_<source>``, slots from the department file) in the metadata database of
  the current ``AIRFLOW_HOME``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju dags`` to the command line."""
    parser = sub.add_parser("dags", help="the Airflow DAG manifest and pools")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    generate = actions.add_parser(
        "generate", help="render the department files into dags/huiju_manifest.py")
    generate.add_argument("--departments-dir", help="department YAML folder "
                          "(default $HUIJU_DEPARTMENTS_DIR or departments/)")
    generate.add_argument("--output", default=None,
                          help="manifest file (default $HUIJU_MANIFEST_PATH, else "
                               "dags/huiju_manifest.py)")
    generate.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 when the manifest is stale")
    generate.set_defaults(handler=_generate)

    pools = actions.add_parser(
        "pools", help="create/update the Airflow pools (one per source system)")
    pools.add_argument("--manifest", default=None,
                       help="manifest file (default $HUIJU_MANIFEST_PATH, else "
                            "dags/huiju_manifest.py)")
    pools.add_argument("--dry-run", action="store_true", help="list the pools, change nothing")
    pools.set_defaults(handler=_pools)


def _generate(args: argparse.Namespace) -> int:
    from huiju.departments import DepartmentConfigError
    from huiju.manifest import manifest_path, render_departments

    output = Path(args.output) if args.output else manifest_path()
    try:
        text = render_departments(args.departments_dir)
    except DepartmentConfigError as error:
        sys.stderr.write(f"department configuration is broken:\n{error}\n")
        return 1
    current = output.read_text(encoding="utf-8") if output.exists() else None
    if args.check:
        if current == text:
            sys.stdout.write(f"{output} is up to date\n")
            return 0
        sys.stderr.write(f"{output} is stale: run `huiju dags generate` and commit it\n")
        return 1
    if current == text:
        sys.stdout.write(f"{output} unchanged\n")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {output}\n")
    return 0


def _pools(args: argparse.Namespace) -> int:
    from huiju.manifest import apply_pools, manifest_path, pools, read_manifest

    wanted = pools(read_manifest(args.manifest or manifest_path()))
    for pool in wanted:
        sys.stdout.write(f"{pool['name']}\t{pool['slots']}\t{pool['description']}\n")
    if args.dry_run:
        return 0
    apply_pools(wanted)
    sys.stdout.write(f"{len(wanted)} pools set in the Airflow metadata database\n")
    return 0
