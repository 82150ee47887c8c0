"""``huiju demo``: the whole pipeline end to end on the embedded default, in real Airflow.

1. build the sample departments' legacy sources under ``var/`` (a SQLite case database, a
   GB18030 CSV drop, Excel workbooks, a local HTTP API);
2. bring the embedded warehouse (SQLite) to the current schema;
3. migrate a SQLite Airflow metadata database, create the source pools, and run every
   department DAG once with ``dag.test()`` — the same DAG file and tasks production runs;
4. print where every row went, per department and data set, then run every DAG again and
   show that the warehouse did not change (loads are idempotent);
5. start the platform simulator with faults on (a child process on a free port), run the
   delivery DAG of each platform, and show per platform what was sent, acknowledged,
   rejected, withheld and is still pending — proved complete by ``huiju verify``;
6. add the demo logins (a user per department, an auditor, an admin) and end by printing the
   report site's URL and those logins; on a terminal, serve the site until Ctrl-C
   (:mod:`huiju.demo.site`).

Airflow reads its configuration on first import, so ``configure_environment`` must run
before anything imports Airflow.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from huiju.demo.site import REPORTS_PORT, should_serve

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
HTTP_PORT = 8765


def configure_environment(home: Path) -> None:
    """Point Huiju and Airflow at ``home/var`` (an isolated AIRFLOW_HOME, SQLite metadata)."""
    airflow_home = home / "var" / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "HUIJU_HOME": str(home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    os.environ.setdefault("HUIJU_DEPARTMENTS_DIR", str(REPO / "departments"))
    os.environ.setdefault("HUIJU_LEAD_ROUTING", str(REPO / "config" / "lead_routing.yaml"))


def fingerprint(engine: sa.Engine) -> str:
    """A hash of every core table's current rows (minus load timestamps): equal means same."""
    from schemas.catalog import datasets
    from warehouse.tables import core_table

    digest = hashlib.sha256()
    with engine.connect() as conn:
        for spec in datasets():
            table = core_table(spec)
            columns = [c for c in table.columns if not c.name.endswith("_at")]
            for row in conn.execute(sa.select(*columns).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode("utf-8"))
    return digest.hexdigest()


def batch_summary(engine: sa.Engine, run_ids: list[str]) -> list[dict]:
    """The accounting of every batch the given DAG runs loaded."""
    from warehouse.tables import AUDIT, table

    batch = table(AUDIT, "batch")
    query = (sa.select(batch).where(batch.c.run_id.in_(run_ids))
             .order_by(batch.c.department_code, batch.c.dataset, batch.c.source_id))
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return [{"department": r["department_code"], "source": r["source_id"],
             "dataset": r["dataset"], "batch_id": r["batch_id"], "extracted": r["extracted"],
             "loaded": r["passed"], "quarantined": r["quarantined"],
             "superseded": r["superseded"], "inserted": r["inserted"], "updated": r["updated"],
             "deleted": r["deleted"], "unchanged": r["unchanged"], "already_loaded": False}
            for r in rows]


DELIVERY_PREFIX = "huiju_deliver_"


def run_dags(console, label: str, *, delivery: bool = False) -> list[str]:
    """``dag.test()`` every department DAG (or, with ``delivery``, every platform's delivery
    DAG) of the repository's DAG folder; return the run ids."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS_FOLDER), bundle_path=DAGS_FOLDER,
                       bundle_name="dags-folder")
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    run_ids = []
    for dag_id in sorted(d for d in bag.dags if d.startswith(DELIVERY_PREFIX) == delivery):
        started = time.monotonic()
        console.print(f"  {label}: [bold]{dag_id}[/bold] …")
        dag_run = bag.dags[dag_id].test()
        state = str(getattr(dag_run.state, "value", dag_run.state))
        colour = "green" if state == "success" else "red"
        console.print(f"  {label}: {dag_id} [{colour}]{state}[/{colour}] "
                      f"in {time.monotonic() - started:.1f} s")
        run_ids.append(dag_run.run_id)
    return run_ids


def place_departments(home: Path, port: int) -> str | None:
    """Put the department files where their folders point at ``home/var``; None, or why not.

    A department file's relative folders are relative to its own folder: the shipped files say
    ``../var/drop/…``, so they must sit in ``home/departments`` to read the sources built under
    ``home/var``. A demo whose home is elsewhere gets a copy there; the copy also points
    GS-YJJ's license API at ``port`` when that is not the shipped ``HTTP_PORT`` (two demos on
    one host, or a test that takes a free port). The shipped files themselves are never
    rewritten: a demo in the repository on another port is refused (use ``--home``).
    """
    source = Path(os.environ["HUIJU_DEPARTMENTS_DIR"])
    target = home / "departments"
    if source.resolve() == target.resolve():
        if port == HTTP_PORT:
            return None
        return (f"--http-port {port} would rewrite the department files in {source}; "
                "give the demo a home of its own: `huiju demo --home DIR --http-port N`")
    target.mkdir(parents=True, exist_ok=True)
    served = f"http://127.0.0.1:{HTTP_PORT}/"
    moved = 0
    for path in sorted(source.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        moved += text.count(served)
        (target / path.name).write_text(text.replace(served, f"http://127.0.0.1:{port}/"),
                                        encoding="utf-8")
    if port != HTTP_PORT and not moved:
        raise RuntimeError(f"no department in {source} reads an API at {served}")
    os.environ["HUIJU_DEPARTMENTS_DIR"] = str(target)
    return None


FAULT_RATE = 0.1


def deliver_to_simulator(console, engine: sa.Engine) -> bool:
    """Step 5: the simulator with faults on, every delivery DAG once, the figures; whether
    every due version is accounted for and nothing stayed pending."""
    import secrets

    from connectors.platforms import PLATFORMS
    from huiju.delivery import DeliveryRun, summary_table
    from simulator.process import simulator_process
    from warehouse.outbox import status_counts
    from warehouse.verify import delivery_verdict, verify_delivery

    # a test that scans every output for secrets sets a token it knows
    token = os.environ.get("HUIJU_DEMO_SIMULATOR_TOKEN") or secrets.token_urlsafe(16)
    with simulator_process(token=token, args=["--fault-rate", str(FAULT_RATE), "--seed", "1",
                                              "--slow-seconds", "0.5"]) as url:
        console.print(f"  platform simulator at {url}, fault rate {FAULT_RATE:.0%} "
                      "(5xx, 429, slow, dropped connections, lost responses)")
        for name in PLATFORMS:
            os.environ[f"HUIJU_PLATFORM_{name.upper()}_URL"] = url
            os.environ[f"HUIJU_PLATFORM_{name.upper()}_TOKEN"] = token
        run_dags(console, "deliver", delivery=True)
    counts = status_counts(engine)
    runs = [DeliveryRun(name, sent=counts.get(name, {}).get("sent", 0),
                        totals=counts.get(name, {})) for name in PLATFORMS]
    console.print(summary_table(runs))
    delivered, sentence = delivery_verdict(verify_delivery(engine))
    console.print(f"delivery (`huiju verify`): {sentence}")
    return delivered and not any(figures.get("pending") for figures in counts.values())


@contextmanager
def national_feed(console):
    """The national system's lead feed for steps 3–4 (same seed as step 5's simulator, no new
    leads over time, so the rerun finds nothing new): GS-HLWJG pulls it, huiju_leads routes."""
    import secrets

    from huiju.demo.legacy import NATIONAL_SEED
    from simulator.process import simulator_process

    token = secrets.token_urlsafe(16)
    with simulator_process(token=token, args=["--seed", str(NATIONAL_SEED), "--fault-rate",
                                              str(FAULT_RATE), "--leads-per-minute", "0",
                                              "--slow-seconds", "0.5"]) as url:
        console.print(f"  national lead feed at {url} (faults {FAULT_RATE:.0%})")
        os.environ["HUIJU_PLATFORM_NATIONAL_URL"] = url
        os.environ["HUIJU_PLATFORM_NATIONAL_TOKEN"] = token
        yield url


def leads_summary(console, engine: sa.Engine) -> None:
    """Where the national leads went, and the dispositions the national system acknowledged."""
    from rich.table import Table

    from huiju.leads import leads
    from warehouse.tables import DELIVERY, table

    per: dict[str, list[int]] = {}
    for lead in leads(engine, open_only=False):
        counts = per.setdefault(lead.department_code, [0, 0, 0])
        counts[0] += 1
        counts[1] += lead.progress_status == "4"
        counts[2] += lead.overdue
    grid = Table("department", "leads", "closed", "open overdue", title_justify="left",
                 title="National leads by competent department (GS-HLWJG: provincial queue)")
    for department, (total, closed, late) in sorted(per.items()):
        grid.add_row(department, str(total), str(closed), str(late))
    console.print(grid)
    outbox = table(DELIVERY, "outbox")
    with engine.connect() as conn:
        sent = conn.execute(sa.select(outbox.c.record_id, outbox.c.status, outbox.c.receipt)
                            .where(outbox.c.dataset == "lead_disposition")
                            .order_by(outbox.c.message_id)).all()
    for record_id, status, receipt in sent:
        console.print(f"  disposition of {record_id} → national: {status}"
                      + (f", 回执 {receipt}" if receipt else ""))
    console.print("(`huiju leads list --department GS-SCJG [--overdue]` shows each lead's "
                  "deadline; `huiju trace <lead id> --dataset complaint` its routing)")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def main(home: Path, http_port: int = HTTP_PORT, url: str | None = None, *,
         serve: bool | None = None, reports_port: int = REPORTS_PORT) -> int:
    """Run the demo under ``home`` (into the warehouse ``url``, else the embedded store), then
    add the demo logins and print the report site's URL; serve it (see :mod:`huiju.demo.site`)
    until Ctrl-C when ``serve`` (None: when on a terminal)."""
    configure_environment(home)
    refused = place_departments(home, http_port)
    if refused:
        sys.stderr.write(f"huiju demo: {refused}\n")
        return 2
    if url:  # the DAG tasks read the one settings path, i.e. the environment
        os.environ["HUIJU_WAREHOUSE_URL"] = url
    import great_expectations  # noqa: F401  (Great Expectations before Airflow)
    from rich.console import Console

    from connectors.base import mask_url
    from connectors.testing.http_source import HttpSourceServer
    from huiju.demo import legacy
    from huiju.manifest import apply_pools, pools, read_manifest
    from huiju.output import console as make_console
    from huiju.output import unfold
    from huiju.progress import FeedProgress, shown
    from huiju.reporting import accounting_table
    from huiju.settings import load_settings
    from warehouse.engine import create_warehouse_engine
    from warehouse.migrate import upgrade
    from warehouse.verify import verdict, verify

    console = make_console(width=200)  # piped (make demo > file): wide, nothing folded
    if console.width < 132:  # the summary tables need the room; wrap nothing else
        console = Console(width=132)
    began = time.monotonic()
    console.rule("Huiju demo")
    console.print("1/5 building the sample departments' legacy sources under var/ …")
    sources = legacy.build(home, http_port=http_port)
    os.environ.update(sources.env)
    settings = load_settings()
    engine = create_warehouse_engine(settings.warehouse_url)
    console.print(f"2/5 warehouse {mask_url(settings.warehouse_url)}: "
                  "upgrading to the current schema …")
    upgrade(engine)

    console.print("3/5 Airflow: metadata database, pools, one run of every department DAG …")
    from airflow.utils import db

    db.upgradedb()
    apply_pools(pools(read_manifest(DAGS_FOLDER / "huiju_manifest.py")))
    before = fingerprint(engine)
    if not _port_free(http_port):
        console.print(f"[red]127.0.0.1:{http_port} is in use[/red]: GS-YJJ's license API "
                      "(departments/gs_yjj.yaml) is served there; stop whatever holds the port "
                      "or pick another with `huiju demo --home DIR --http-port N`")
        return 2
    # each feed's rows, rows/s and batch while the DAGs run: live on a terminal, a plain
    # line per feed (and every HUIJU_PROGRESS_SECONDS while reading) when piped
    feeds = FeedProgress(console.file, every_step=False, console=console)
    with HttpSourceServer(sources.api_records, token=legacy.API_TOKEN, port=http_port,
                          updated_field="UPDATED_AT"), national_feed(console), feeds, \
            shown(feeds):
        first = run_dags(console, "run 1")
        summary = batch_summary(engine, first)
        after_first = fingerprint(engine)
        console.print("4/5 running every DAG again: the warehouse must not change …")
        second = run_dags(console, "run 2")
        rerun = batch_summary(engine, second)
        after_second = fingerprint(engine)

    console.print(unfold(accounting_table(summary, title="Run 1: where every source row went")))
    console.print(unfold(accounting_table(rerun,
                                          title="Run 2 (rerun): incremental, nothing new")))
    same = after_first == after_second
    console.print(f"warehouse after run 1 {'differs from' if before != after_first else 'equals'}"
                  f" the start; after run 2 it is "
                  f"{'[green]identical[/green]' if same else '[red]DIFFERENT[/red]'} to run 1")
    complete, sentence = verdict(verify(engine))
    console.print(f"completeness (`huiju verify`): {sentence}")
    console.print("5/5 delivering to the platforms through injected faults …")
    delivered = deliver_to_simulator(console, engine)
    leads_summary(console, engine)
    console.print("Quality output: quarantined records with rule, field and reason (中文/English)"
                  f" in {mask_url(settings.warehouse_url)} → quarantine.record; "
                  "`huiju quarantine list` prints them per department; batches and counts in "
                  "audit.batch; "
                  "`huiju trace <source ref>` follows one record to its platform receipts.")
    console.print("Planted defects the quarantine should show:")
    for where, defects in sources.defects.items():
        console.print(f"  {where}: " + "; ".join(defects))
    console.print(f"done in {time.monotonic() - began:.0f} s")
    balanced = all(r["extracted"] == r["loaded"] + r["quarantined"] + r["superseded"]
                   for r in summary + rerun)
    report_site(console, engine, home, serve=should_serve(serve), port=reports_port)
    return 0 if same and balanced and summary and complete and delivered else 1


def report_site(console, engine: sa.Engine, home: Path, *, serve: bool, port: int) -> None:
    """The demo logins, the site's URL and them printed last; then, if ``serve``, the site
    until Ctrl-C (a port in use: a free one instead)."""
    from huiju.demo import site

    logins = site.demo_logins(Path(os.environ["HUIJU_DEPARTMENTS_DIR"]))
    site.add_demo_users(engine, logins)
    if not serve:
        site.print_logins(console, f"http://127.0.0.1:{port}/", logins, serving=False,
                          home=home)
        return
    try:
        sock = site.bind("127.0.0.1", port)
    except OSError:
        console.print(f"127.0.0.1:{port} is in use: the report site takes a free port")
        sock = site.bind("127.0.0.1", 0)
    site.print_logins(console, site.url_of(sock), logins, serving=True, home=home)
    sys.stdout.flush()
    site.serve(engine, sock)


if __name__ == "__main__":
    sys.exit(main(Path.cwd()))
