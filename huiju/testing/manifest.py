"""Made-up manifest entries shaped like real departments' (DAG tests, the parse benchmark)."""

from __future__ import annotations

from typing import Any

from huiju.manifest import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRY_DELAY_SECONDS,
    DEFAULT_START_DATE,
    DEFAULT_TIMEZONE,
    dag_id_for,
    pool_name,
)


def synthetic_entries(count: int, datasets_per_department: int = 4) -> list[dict[str, Any]]:
    """``count`` made-up departments shaped like real ones (tests and the parse benchmark)."""
    names = ("penalty", "inspection", "license", "enterprise", "coercion", "site",
             "special_equipment", "drug", "food", "officer")
    entries = []
    for number in range(count):
        code = f"GS-T{number:03d}"
        sources = ["case_db", "drop", "api"]
        pools = [{"name": pool_name(code, s), "slots": 2, "description": f"{code} {s}"}
                 for s in sources]
        chosen = [names[(number + k) % len(names)] for k in range(datasets_per_department)]
        datasets = [{"name": name, "feeds": [
            {"source_id": sources[k % 3], "pool": pool_name(code, sources[k % 3])},
            *([{"source_id": "drop", "pool": pool_name(code, "drop")}] if k == 0 else []),
        ]} for k, name in enumerate(chosen)]
        entries.append({
            "code": code, "dag_id": dag_id_for(code), "name": f"测试部门{number}",
            "name_en": f"Test department {number}", "division_code": "620000",
            "schedule": "0 2 * * *", "timezone": DEFAULT_TIMEZONE,
            "start_date": DEFAULT_START_DATE, "catchup": False, "owner": code,
            "tags": ["huiju", code, "division:620000"], "retries": 2,
            "retry_delay_seconds": 300, "retry_exponential_backoff": DEFAULT_BACKOFF,
            "max_retry_delay_seconds": DEFAULT_MAX_RETRY_DELAY_SECONDS, "pools": pools,
            "datasets": sorted(datasets, key=lambda d: d["name"]),
        })
    return entries
