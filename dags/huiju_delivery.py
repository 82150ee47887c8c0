"""Huiju (汇聚) delivery: one DAG per receiving platform — outbox → platform → receipts.

`huiju_deliver_national` (国家互联网+监管系统), `huiju_deliver_gsxt`
(国家企业信用信息公示系统(甘肃)) and `huiju_deliver_creditchina` (信用中国(甘肃)) each run one
`deliver` task whenever a
department DAG updates a warehouse asset (`core.<data set>`). The task sends the platform every
pending outbox message — written with the load, one per version the platform must receive —
with its idempotency key, and stores each receipt (回执) or rejection. A run that cannot reach
the platform fails and is retried; nothing is lost, the rest stays pending.

The platform's URL and token are read when the task runs (`HUIJU_PLATFORM_<NAME>_URL`, secret
`HUIJU_PLATFORM_<NAME>_TOKEN`). This file only wires the Airflow DAGs: see `huiju.dag_factory`.
"""

from pathlib import Path

from connectors.platforms import PLATFORMS
from huiju.dag_factory import build_delivery_dag
from huiju.manifest import dag_manifest

# data only: $HUIJU_MANIFEST_PATH or the manifest beside this file (never executed)
DEPARTMENTS = dag_manifest(Path(__file__).with_name("huiju_manifest.py"))

for _platform in PLATFORMS:
    globals()[f"huiju_deliver_{_platform}"] = build_delivery_dag(_platform, DEPARTMENTS,
                                                                 doc_md=__doc__)
