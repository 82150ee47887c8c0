"""The sample departments' data, loaded into the warehouse, builds into platform records that
pass every platform's declared checks: the mappings supply what the payload shapes need."""

from __future__ import annotations

import sqlalchemy as sa

from huiju.cli import main
from schemas.platforms import build_payload, load_platforms, payload_problems
from tests.integration.pipeline_support import use_workspace
from warehouse.engine import create_warehouse_engine

DIVISIONS = {"GS-SCJG": "620000", "LZ-SJJ": "620100", "GS-YJJ": "620000"}



def core_rows(url: str, name: str) -> list[dict]:
    engine = create_warehouse_engine(url)
    try:
        with engine.connect() as conn:
            table = sa.Table(name, sa.MetaData(), schema="core", autoload_with=conn)
            return [dict(row._mapping) for row in conn.execute(sa.select(table))]
    finally:
        engine.dispose()


def test_sample_departments_build_valid_records_for_every_platform(built, monkeypatch,
                                                                    tmp_path):
    url = use_workspace(monkeypatch, built, tmp_path)
    for department in DIVISIONS:
        assert main(["run", "--department", department]) in (0, 1)
    checked: dict[str, int] = {}
    failures = []
    for platform in load_platforms().values():
        for resource in platform.resources:
            for row in core_rows(url, resource.dataset):
                row["division_code"] = DIVISIONS[row["department_code"]]
                if row["is_deleted"] or not resource.applies_to(row):
                    continue
                payload = build_payload(resource, row)
                problems = payload_problems(resource, payload)
                if problems:
                    failures.append((resource.platform, resource.name, row["record_id"],
                                     problems))
                checked[f"{resource.platform}/{resource.name}"] = checked.get(
                    f"{resource.platform}/{resource.name}", 0) + 1
    assert failures == []
    # The demo's penalties and licences reach all three platforms.
    for name in ("creditchina/CF", "creditchina/XK", "national/punish_action", "gsxt/penalty",
                 "national/check_action", "national/object_enterprise"):
        assert checked.get(name, 0) > 10, (name, checked)
