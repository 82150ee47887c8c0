"""How long Airflow takes to parse Huiju's DAG file for many departments.

Builds a DAG folder with the real ``dags/huiju_departments.py`` and a manifest of N made-up
departments (default 50, each feeding 4 data sets — the sample departments feed 2 or 3 —
from 3 source systems, one data set from two of them), then parses it with Airflow's
own ``BundleDagBag`` the way the DAG processor does:

- cold: the first parse in a process that has imported Airflow (and built a throw-away DAG,
  as a running DAG processor has) but none of Huiju: the DAG file imports
  ``huiju.dag_factory`` and the manifest for real;
- warm: a second parse in the same process (Huiju modules cached, manifest re-imported);
- serialise: ``DagSerialization.serialize_dag`` of every DAG (the processor's next step);
- baseline: a hand-written-style DAG file with the same number of DAGs and tasks, each a
  plain ``PythonOperator`` chain (no factory, task groups or mapping); ratios are against it.

``python -m benchmarks.bench_dag_parse [--departments N] [--folder DIR] [--json]``.
AIRFLOW_HOME defaults to a temporary directory, so the benchmark never touches ~/airflow.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a DAG processor should manage for 50 departments: printed beside the figures, not
# asserted (a shared machine's timing has no place in a pass/fail test).
TARGET_COLD_SECONDS_FOR_50 = 2.0

BASELINE_TEMPLATE = '''\
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

def step(n: int) -> dict:
    return {{"n": n}}

for _number in range({dags}):
    with DAG(f"baseline_{{_number}}", schedule="0 2 * * *", catchup=False,
             tags=["baseline"], default_args={{"retries": 2}}) as _dag:
        _previous = None
        for _k in range({tasks}):
            _current = PythonOperator(task_id=f"t{{_k}}", python_callable=step, op_args=[_k])
            if _previous is not None:
                _previous >> _current
            _previous = _current
    globals()[_dag.dag_id] = _dag
'''


def _warm_up_airflow() -> None:
    """Load what Airflow imports lazily, as a running DAG processor already has."""
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, TaskGroup

    with DAG("warm_up", schedule=CronDataIntervalTimetable("0 2 * * *", timezone="Asia/Shanghai")):
        with TaskGroup("group"):
            mapped = PythonOperator.partial(task_id="mapped", python_callable=print).expand(
                op_kwargs=[{}])
            PythonOperator.partial(task_id="after", python_callable=print,
                                   outlets=[Asset("warm_up")]).expand(
                op_kwargs=mapped.output.map(dict))


def _isolate_airflow_home() -> None:
    if "AIRFLOW_HOME" not in os.environ:
        home = tempfile.mkdtemp(prefix="huiju-bench-airflow-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def build_folder(folder: Path, departments: int, datasets: int = 4) -> Path:
    """Write a DAG folder of ``departments`` synthetic departments to ``folder``."""
    from huiju.manifest import render
    from huiju.testing.manifest import synthetic_entries

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dags" / "huiju_departments.py", folder / "huiju_departments.py")
    (folder / "huiju_manifest.py").write_text(render(synthetic_entries(departments, datasets)),
                                              encoding="utf-8")
    return folder


def _parse(folder: Path):
    from airflow.dag_processing.dagbag import BundleDagBag

    sys.modules.pop("huiju_manifest", None)
    started = time.perf_counter()
    bag = BundleDagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="bench")
    return bag, time.perf_counter() - started


def measure(folder: Path) -> dict:
    """Parse ``folder`` cold, warm and serialise it; parse a same-sized baseline."""
    from airflow.dag_processing.dagbag import BundleDagBag  # noqa: F401
    from airflow.serialization.serialized_objects import DagSerialization

    _warm_up_airflow()

    if any(name == "huiju" or name.startswith("huiju.") for name in sys.modules):
        raise RuntimeError("measure() needs a process that has not imported huiju yet")
    bag, cold = _parse(folder)
    _, warm = _parse(folder)
    dags = list(bag.dags.values())
    started = time.perf_counter()
    for dag in dags:
        DagSerialization.serialize_dag(dag)
    serialise = time.perf_counter() - started
    tasks = sum(len(dag.tasks) for dag in dags)

    baseline_dir = Path(tempfile.mkdtemp(prefix="huiju-bench-baseline-"))
    try:
        per_dag = max(1, round(tasks / max(1, len(dags))))
        (baseline_dir / "baseline_dags.py").write_text(
            BASELINE_TEMPLATE.format(dags=len(dags), tasks=per_dag), encoding="utf-8")
        _, baseline = _parse(baseline_dir)
    finally:
        shutil.rmtree(baseline_dir, ignore_errors=True)
    return {"dags": len(dags), "tasks": tasks, "import_errors": len(bag.import_errors),
            "cold_seconds": cold, "warm_seconds": warm, "serialise_seconds": serialise,
            "baseline_seconds": baseline}


def main(argv: list[str] | None = None) -> None:
    """Command line: build the synthetic DAG folder and time its parse."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departments", type=int, default=50)
    parser.add_argument("--datasets", type=int, default=4, help="data sets per department")
    parser.add_argument("--folder", type=Path, help="parse this DAG folder instead")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    _isolate_airflow_home()
    workdir = None
    folder = args.folder
    if folder is None:
        workdir = Path(tempfile.mkdtemp(prefix="huiju-bench-dags-"))
        # build_folder imports huiju: do it in a child step that does not pollute timing
        folder = _build_in_subprocess(workdir / "dags", args.departments, args.datasets)
    try:
        figures = measure(folder)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"DAG parse: {figures['dags']} department DAGs, {figures['tasks']} tasks")
    print(f"  cold parse      {figures['cold_seconds']:.3f} s")
    print(f"  warm parse      {figures['warm_seconds']:.3f} s")
    print(f"  serialise all   {figures['serialise_seconds']:.3f} s")
    print(f"  baseline parse  {figures['baseline_seconds']:.3f} s "
          "(same DAG and task count, plain PythonOperator chains)")
    print(f"  ratio cold/baseline {figures['cold_seconds'] / figures['baseline_seconds']:.2f}, "
          f"warm/baseline {figures['warm_seconds'] / figures['baseline_seconds']:.2f}")
    if figures["dags"] == 50:
        within = figures["cold_seconds"] < TARGET_COLD_SECONDS_FOR_50
        print(f"  target: cold parse of 50 departments under {TARGET_COLD_SECONDS_FOR_50:.1f} s "
              f"({'met' if within else 'NOT met'})")


def _build_in_subprocess(folder: Path, departments: int, datasets: int) -> Path:
    import subprocess

    code = ("import sys; from pathlib import Path; from benchmarks.bench_dag_parse import "
            "build_folder; build_folder(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))")
    subprocess.run([sys.executable, "-c", code, str(folder), str(departments), str(datasets)],
                   cwd=REPO, check=True)
    return folder


if __name__ == "__main__":
    main()
