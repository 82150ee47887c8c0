"""``huiju run``: extract → validate → load in this process, without Airflow.

Runs the same task functions the DAGs call (``huiju.pipeline``) against the warehouse named by
``--url``, else HUIJU_WAREHOUSE_URL, else the embedded store under HUIJU_HOME (the one
settings path), shows progress, and prints the accounting per data set.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from huiju.commands.warehouse_option import add_url_option, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju run`` to the command line."""
    parser = sub.add_parser("run", help="run a department's feeds in-process (no Airflow)")
    parser.add_argument("--department", required=True, metavar="CODE",
                        help="department code, e.g. GS-SCJG")
    parser.add_argument("--dataset", action="append", metavar="NAME",
                        help="only feeds of this data set (repeatable)")
    parser.add_argument("--departments-dir", help="folder of department YAML files")
    add_url_option(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import os
    import sys

    if args.departments_dir:
        os.environ["HUIJU_DEPARTMENTS_DIR"] = args.departments_dir
    from huiju import pipeline
    from huiju.output import console as make_console
    from huiju.output import unfold
    from huiju.progress import FeedProgress
    from huiju.reporting import accounting_table

    console = make_console()
    settings = settings_for(args)
    department = pipeline.find_department(args.department, settings)
    keys = pipeline.feeds_of(department, args.dataset)
    run_id = f"cli__{department.code}__{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
    results: list[dict] = []
    failures: list[str] = []
    notices: list[str] = []  # warnings of an extraction (an empty export): shown, not failed
    with FeedProgress(sys.stdout) as progress:
        for key in keys:
            label = key.label
            progress.feed(label)
            feed_results: list[dict] = []
            try:
                pipeline.run_feed(key, run_id=run_id, raise_on_threshold=False,
                                  on_step=progress.step, on_rows=progress.read,
                                  on_batch=progress.batch, results=feed_results,
                                  settings=settings)
            except Exception as error:  # noqa: BLE001 - one feed's failure must not stop the others
                failures.append(f"[red]failed[/red] {label}: {type(error).__name__}: {error}")
                progress.done("failed")
            else:
                progress.done("loaded " + ", ".join(f"batch {r['batch_id']}"
                                                    for r in feed_results))
            results.extend(feed_results)
            _collect(label, feed_results, notices, failures)
    console.print(unfold(accounting_table(results,
                                          title=f"{department.code} {department.name.zh}")))
    for line in [*notices, *failures]:
        console.print(line)
    return 1 if failures else 0


def _collect(label: str, feed_results: list[dict], notices: list[str],
             failures: list[str]) -> None:
    """A feed's warnings into ``notices`` and its breached thresholds into ``failures``."""
    for result in feed_results:
        for warning in result.get("warnings") or []:
            notices.append(f"[yellow]warning[/yellow] {label}: {warning}")
        if result["threshold_breached"]:
            failures.append(f"[red]threshold breached[/red] {label}: "
                            f"{result['threshold_breached']} (loaded; quarantine kept)")
