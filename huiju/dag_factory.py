"""Build one Airflow DAG per department from a manifest entry (all of Huiju's Airflow wiring).

A manifest entry is the plain dict ``huiju dags generate`` writes into
``dags/huiju_manifest.py`` (see ``huiju.manifest``). From it this module builds
``huiju_<code>``:

- one static task group per data set the department feeds, so the group's load tasks can
  declare the asset ``core.<data set>`` (``huiju://warehouse/core/<data set>``) as outlet;
- in the group, per source system feeding the data set, ``extract_<source>`` →
  ``validate_<source>`` → ``load_<source>``, each dynamically mapped over that source's feeds
  (its extract results). Extract runs in the source's pool ``huiju_<dept>_<source>``: a pool
  belongs to a task, not to one map index, and keeping each source's chain apart means a
  system that is down does not hold back the other systems' data for the same data set;
- for a SQL feed that says ``reconcile: true``, ``reconcile_<source>`` after its load: the
  source against the warehouse by key (``huiju.reconcile``; a full read of the source per
  run, hence opt-in);
- retries with exponential backoff, ``HuijuNotifier`` on failure, ``catchup`` from config.

``build_delivery_dag`` builds ``huiju_deliver_<platform>``: one task sending the platform what
its outbox holds, run whenever a department DAG updates a warehouse asset.

Tasks hand each other small JSON dicts (staged Parquet paths, counts) through XCom, never
DataFrames. The callables below are thin calls into ``huiju.pipeline``, imported when a task
runs, so building a DAG touches no file, database or secret.

The mapped tasks are classic ``PythonOperator.partial(...).expand(op_kwargs=...)`` rather
than ``@task`` functions: Airflow 3.3's decorator inspects the callable's and the operator's
signatures for every task it creates, which made parsing 50 departments (950 mapped tasks)
about 2.3 times slower in ``benchmarks/bench_dag_parse.py``. The DAG, the groups and the
assets still come from the task SDK (``airflow.sdk``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, AssetAny, CronDataIntervalTimetable, TaskGroup

from huiju.notify import HuijuNotifier

DEFAULT_TIMEZONE = "Asia/Shanghai"

# Keys every manifest entry must carry (huiju.manifest writes them all).
ENTRY_KEYS = frozenset({
    "code", "dag_id", "name", "schedule", "start_date", "catchup", "owner", "tags", "retries",
    "retry_delay_seconds", "retry_exponential_backoff", "max_retry_delay_seconds", "pools",
    "datasets",
})


def asset_for(dataset: str) -> Asset:
    """The warehouse table ``core.<dataset>`` as an Airflow asset (what ``load`` produces)."""
    return Asset(name=f"core.{dataset}", uri=f"huiju://warehouse/core/{dataset}",
                 group="huiju")


# --- task callables: thin calls into huiju.pipeline ------------------------------------------


def run_interval(context: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The period a run must extract, as ISO strings, or (None, None) for "since the cursor".

    A backfill run (``airflow backfill create --from-date … --to-date …``) loads exactly its
    data interval; a manual run may name a period in its conf (``interval_start``/``_end``);
    scheduled and other manual runs extract incrementally from the stored cursor.
    """
    dag_run = context.get("dag_run")
    conf = getattr(dag_run, "conf", None) or {}
    if conf.get("interval_start") or conf.get("interval_end"):
        return conf.get("interval_start"), conf.get("interval_end")
    run_type = getattr(dag_run, "run_type", None)
    if getattr(run_type, "value", run_type) == "backfill":
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        return (start.isoformat() if start else None, end.isoformat() if end else None)
    return None, None


def extract_feed(department_code: str, dataset: str, source_id: str) -> dict:
    """Extract one feed into the staging area; return the staged refs and counts."""
    from airflow.sdk import get_current_context

    from huiju import pipeline

    context = get_current_context()
    interval_start, interval_end = run_interval(context)
    return pipeline.extract(department_code, source_id, dataset, run_id=context["run_id"],
                            interval_start=interval_start, interval_end=interval_end)


def validate_feed(extracted: dict) -> dict:
    """Validate one extracted feed (quarantine split); return refs and counts."""
    from huiju import pipeline

    return pipeline.validate(extracted)


def load_feed(validated: dict) -> dict:
    """Load one validated feed into the warehouse; return its accounting.

    A breached quarantine threshold fails the task without retries: the batch is loaded and
    its quarantine kept, and running it again would only find the same data.

    The extract task staged one chunk (``pipeline.extract``); when the source holds more than
    a chunk (``drain``: a first load of millions of rows), this task goes on in-process, chunk
    by chunk, each committed as its own batch with its cursor, until the source is drained —
    so the run loads everything and holds one chunk at a time. A retry after a failure on the
    way resumes from the last committed chunk. The accountings of those chunks are returned
    under ``continued``. (A feed's own ``max_rows_per_run`` still loads one batch per run.)
    """
    from airflow.sdk.exceptions import AirflowFailException

    from huiju import pipeline

    try:
        accounting = pipeline.load(validated)
        if accounting.get("drain"):
            key = pipeline.FeedKey(validated["department"], validated["source"],
                                   validated["dataset"])
            accounting["continued"] = pipeline.run_feed(key, run_id=validated["run_id"],
                                                        continuing=True)
        return accounting
    except pipeline.ThresholdBreached as breach:
        raise AirflowFailException(f"quarantine threshold breached: {breach}") from breach


def reconcile_feed_task(department_code: str, dataset: str, source_id: str) -> dict:
    """Reconcile one SQL feed after its load (``reconcile: true``); fail while a period of the
    source and the warehouse still differ (flagged deletions, rows superseded at load)."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from huiju.pipeline import FeedKey
    from huiju.reconcile import new_reconcile_id, reconcile_feed

    context = get_current_context()
    periods = reconcile_feed(FeedKey(department_code, source_id, dataset),
                             run_id=context["run_id"], reconcile_id=new_reconcile_id())
    totals = {name: sum(p.counts[name] for p in periods.values())
              for name in ("source_rows", "warehouse_rows", "missing", "changed", "gone")}
    differ = sorted(name for name, p in periods.items()
                    if p.counts["source_rows"] != p.counts["warehouse_rows"])
    if differ:
        raise AirflowFailException(f"{department_code}/{source_id}/{dataset}: source and "
                                   f"warehouse differ in periods {differ[:10]}")
    return {"periods": len(periods), **totals}


# --- the DAG ----------------------------------------------------------------------------------


def timetable_for(schedule: str | None, timezone: str = DEFAULT_TIMEZONE):
    """A data-interval timetable, so a backfill run covers [interval start, interval end).

    ``None`` (or ``"none"``) means triggered only; ``@once`` is passed through.
    """
    if schedule in (None, "", "none", "None"):
        return None
    if schedule == "@once":
        return schedule
    return CronDataIntervalTimetable(schedule, timezone=timezone)


def default_args_for(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Task defaults from the department's configuration."""
    return {
        "owner": entry["owner"],
        "retries": int(entry["retries"]),
        "retry_delay": timedelta(seconds=float(entry["retry_delay_seconds"])),
        "retry_exponential_backoff": float(entry["retry_exponential_backoff"]),
        "max_retry_delay": timedelta(seconds=float(entry["max_retry_delay_seconds"])),
        "on_failure_callback": HuijuNotifier(),
    }


def _doc_md(entry: Mapping[str, Any], doc_md: str | None) -> str:
    lines = [doc_md.strip() if doc_md else "", "",
             f"### {entry['code']} {entry['name']}", "",
             f"Schedule `{entry['schedule']}`, retries {entry['retries']}.", "",
             "| data set | sources (pool) |", "|---|---|"]
    for ds in entry["datasets"]:
        feeds = ", ".join(f"{f['source_id']} (`{f['pool']}`)" for f in ds["feeds"])
        lines.append(f"| `{ds['name']}` | {feeds} |")
    return "\n".join(lines).strip() + "\n"


def _start_date(value: str, timezone: str) -> datetime:
    import pendulum

    return pendulum.parse(value, tz=timezone)


def build_department_dag(entry: Mapping[str, Any], doc_md: str | None = None) -> DAG:
    """The DAG ``entry['dag_id']`` for one department of the manifest."""
    missing = ENTRY_KEYS - set(entry)
    if missing:
        raise ValueError(f"manifest entry {entry.get('code')!r} lacks {sorted(missing)}; "
                         "regenerate it with `huiju dags generate`")
    timezone = entry.get("timezone") or DEFAULT_TIMEZONE
    with DAG(
        dag_id=entry["dag_id"],
        # the department's Chinese name is what its staff look for in the UI
        dag_display_name=f"{entry['name']} ({entry['code']})",
        description=f"Huiju: {entry['name']} ({entry['code']}) → warehouse",
        doc_md=_doc_md(entry, doc_md),
        schedule=timetable_for(entry["schedule"], timezone),
        start_date=_start_date(entry["start_date"], timezone),
        catchup=bool(entry["catchup"]),
        max_active_runs=int(entry.get("max_active_runs", 1)),
        tags=list(entry["tags"]),
        default_args=default_args_for(entry),
        params={"department_code": entry["code"]},
    ) as dag:
        for ds in entry["datasets"]:
            _dataset_group(entry["code"], ds["name"], ds["feeds"])
    return dag


def _extracted(value: dict) -> dict:
    return {"extracted": value}


def _validated(value: dict) -> dict:
    return {"validated": value}


def _dataset_group(department_code: str, dataset: str, feeds: Sequence[Mapping[str, str]]):
    """Per source: extract_<source> → validate_<source> → load_<source>, each mapped over the
    source's feeds of this data set; extract runs in the source's pool."""
    by_source: dict[str, list[Mapping[str, str]]] = {}
    for feed in feeds:
        by_source.setdefault(feed["source_id"], []).append(feed)
    with TaskGroup(group_id=dataset, tooltip=f"{dataset}: {', '.join(by_source)}") as group:
        for source_id, source_feeds in by_source.items():
            extracted = PythonOperator.partial(
                task_id=f"extract_{source_id}", python_callable=extract_feed,
                pool=source_feeds[0]["pool"],
            ).expand(op_kwargs=[
                {"department_code": department_code, "dataset": dataset,
                 "source_id": feed["source_id"]} for feed in source_feeds])
            validated = PythonOperator.partial(
                task_id=f"validate_{source_id}", python_callable=validate_feed,
            ).expand(op_kwargs=extracted.output.map(_extracted))
            loaded = PythonOperator.partial(
                task_id=f"load_{source_id}", python_callable=load_feed,
                outlets=[asset_for(dataset)],
            ).expand(op_kwargs=validated.output.map(_validated))
            if any(feed.get("reconcile") for feed in source_feeds):
                reconciled = PythonOperator.partial(
                    task_id=f"reconcile_{source_id}", python_callable=reconcile_feed_task,
                    pool=source_feeds[0]["pool"],
                ).expand(op_kwargs=[
                    {"department_code": department_code, "dataset": dataset,
                     "source_id": source_id}])
                loaded >> reconciled
    return group


# --- delivery: one DAG per platform ------------------------------------------------------------

DELIVERY_RETRIES = 3
DELIVERY_RETRY_DELAY = timedelta(minutes=5)


def deliver_platform(platform: str) -> dict:
    """Send ``platform`` its pending outbox messages; fail (to be retried) if it stopped early.

    What was acknowledged before the failure stays acknowledged; the retry sends the rest
    with the same idempotency keys.
    """
    from airflow.sdk.exceptions import AirflowException

    from huiju.delivery import deliver_task

    summary = deliver_task(platform)
    if summary["error"]:
        raise AirflowException(f"delivery to {platform} stopped: {summary['error']}")
    return summary


def build_delivery_dag(platform: str, entries: Sequence[Mapping[str, Any]],
                       doc_md: str | None = None) -> DAG:
    """``huiju_deliver_<platform>``, triggered by any ``core.<data set>`` asset a department
    DAG of the manifest updates (a run with nothing due for the platform costs one query)."""
    datasets = sorted({ds["name"] for entry in entries for ds in entry["datasets"]})
    with DAG(
        dag_id=f"huiju_deliver_{platform}",
        description=f"Huiju: outbox → {platform} → receipts",
        doc_md=(doc_md or "").strip() + f"\n\nPlatform `{platform}`; triggered by "
               + ", ".join(f"`core.{name}`" for name in datasets) + ".\n",
        schedule=AssetAny(*(asset_for(name) for name in datasets)) if datasets else None,
        start_date=_start_date("2021-01-01", DEFAULT_TIMEZONE),
        catchup=False,
        max_active_runs=1,  # one sender per platform keeps each record's versions in order
        tags=["huiju", "delivery", platform],
        default_args={"owner": "huiju", "retries": DELIVERY_RETRIES,
                      "retry_delay": DELIVERY_RETRY_DELAY, "retry_exponential_backoff": 2.0,
                      "on_failure_callback": HuijuNotifier()},
    ) as dag:
        PythonOperator(task_id="deliver", python_callable=deliver_platform,
                       op_kwargs={"platform": platform})
    return dag


def follow_leads() -> dict:
    """The leads DAG's work after a pull: joint-supervision tasks, then routing of the new
    leads (``huiju.leads_pull``); the lead feeds themselves load in their department DAG."""
    from huiju import pipeline
    from huiju.leads import route_new
    from huiju.leads_pull import pull_tasks
    from huiju.routing import load_routing
    from huiju.settings import load_settings
    from warehouse.engine import create_warehouse_engine

    routing = load_routing()
    engine = create_warehouse_engine(load_settings().warehouse_url)
    try:
        tasks = pull_tasks(engine, pipeline.find_department(routing.feed_department), routing)
        return {"tasks": tasks, "routing": route_new(engine, routing)}
    finally:
        engine.dispose()


def joint_feedback() -> dict:
    """Send the feedback of every joint-task part whose department has results (exactly once
    per part: the key is the task and unit)."""
    from connectors.platforms import PlatformClient, PlatformConfig
    from huiju.joint_feedback import send_feedback
    from huiju.settings import load_settings
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(load_settings().warehouse_url)
    try:
        return send_feedback(engine, PlatformClient(PlatformConfig.from_env("national")))
    finally:
        engine.dispose()


LEAD_ASSETS = ("complaint", "risk_lead")


def build_leads_dag(doc_md: str | None = None) -> DAG:
    """``huiju_leads``: after the national feed's department DAG loads leads (its
    ``core.complaint`` / ``core.risk_lead`` assets), pull the joint-supervision tasks and route
    the new leads, then send the joint-supervision feedback that is due. Dispositions, a data
    set like any other, go back through ``huiju_deliver_national``."""
    with DAG(
        dag_id="huiju_leads",
        description="Huiju: national leads → routing; joint-supervision tasks",
        doc_md=(doc_md or "").strip() or None,
        schedule=AssetAny(*(asset_for(name) for name in LEAD_ASSETS)),
        start_date=_start_date("2021-01-01", DEFAULT_TIMEZONE),
        catchup=False,
        max_active_runs=1,  # routing decides each lead once
        tags=["huiju", "leads", "national"],
        default_args={"owner": "huiju", "retries": DELIVERY_RETRIES,
                      "retry_delay": DELIVERY_RETRY_DELAY,
                      "on_failure_callback": HuijuNotifier()},
    ) as dag:
        route = PythonOperator(task_id="tasks_and_routing", python_callable=follow_leads)
        route >> PythonOperator(task_id="joint_feedback", python_callable=joint_feedback)
    return dag
