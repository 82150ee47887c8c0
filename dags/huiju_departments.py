"""Huiju (汇聚): one DAG per department — extract → validate → load into the warehouse.

Each `huiju_<department>` DAG has a task group per standard data set the department feeds.
In a group, each legacy system feeding the data set has its own chain: `extract_<source>`
pulls the data (in that system's pool, so a slow database is never hit by more tasks than
its department allows), `validate_<source>` checks it against the standard schema and
quarantines bad records, and `load_<source>` writes the good ones to `core.<data set>`,
updating that asset. The tasks are mapped over the source's feeds.

Scheduled runs extract incrementally from the stored cursor; a backfill
(`airflow backfill create --dag-id huiju_<dept> --from-date … --to-date …`) loads exactly
each run's data interval. Failed tasks notify via `HUIJU_NOTIFY` (log, webhook, file).

This file only wires: the department configuration is rendered by `huiju dags generate` into
`huiju_manifest.py` beside it, or the file `HUIJU_MANIFEST_PATH` names (read as data, never
executed), and every DAG is built by `huiju.dag_factory`.
"""

from pathlib import Path

from huiju.dag_factory import build_department_dag
from huiju.manifest import dag_manifest

# data only: $HUIJU_MANIFEST_PATH or the manifest beside this file (never executed)
DEPARTMENTS = dag_manifest(Path(__file__).with_name("huiju_manifest.py"))

for _entry in DEPARTMENTS:
    globals()[_entry["dag_id"]] = build_department_dag(_entry, doc_md=__doc__)
