"""Reconciliation (issue 16): hard deletes and updates stamped behind the cursor never reach the
warehouse by the cursor; `huiju reconcile` finds them by key and hash, repairs them, records
source = warehouse per period, and `huiju verify` reports it. Sources: real SQLite, MariaDB and
PostgreSQL; warehouse: SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from capture_support import (
    DEPARTMENT,
    create_source_table,
    current_rows,
    query,
    run,
    source_execute,
    workspace,
)

from huiju.cli import main
from huiju.pipeline import FeedKey
from huiju.reconcile import ReconcileUnsupported, new_reconcile_id, reconcile_feed
from warehouse.engine import create_warehouse_engine
from warehouse.verify import last_reconciliations

BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb),
            pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def source_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legacy.db'}"
    return request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "pg_url")


ROWS = [("E1", "兰州甲公司", "张三", "2025-02-01 09:00:00"),
        ("E2", "天水乙公司", "李四", "2025/02/01 10:00:00"),
        ("E3", "酒泉丙公司", "王五", "2025-02-02 08:00:00"),
        ("E4", "武威丁公司", "赵六", "2025-02-02T01:00:00Z"),
        ("E5", "张掖戊公司", "孙七", "20250203")]


def _source_rows(url: str) -> dict[str, tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM 企业" if "sqlite" in url or "postgres" in url
                                    else "SELECT * FROM `企业`")).mappings().all()
    engine.dispose()
    return {r["编号"]: (r["名称"], r["法人"]) for r in rows}


def _drift(url: str, table: sa.Table) -> None:
    """What a cursor cannot see: a hard delete, an update and an insert stamped in the past."""
    source_execute(url, table.delete().where(table.c["编号"] == "E2"))
    source_execute(url, table.update().where(table.c["编号"] == "E3").values(
        {"名称": "酒泉丙公司（更名）", "更新时间": "2025-01-15 08:00:00"}))
    source_execute(url, table.insert(), [{"编号": "E6", "名称": "金昌己公司", "法人": "周八",
                                          "更新时间": "2025-01-20 12:00:00"}])


def _periods(url: str) -> dict[str, tuple[int, int]]:
    engine = create_warehouse_engine(url)
    try:
        return {p.period: (p.source_rows, p.warehouse_rows)
                for p in last_reconciliations(engine, department=DEPARTMENT)}
    finally:
        engine.dispose()


def test_reconcile_repairs_what_the_cursor_cannot_see(source_url, monkeypatch, tmp_path,
                                                      capsys) -> None:
    table = create_source_table(source_url)
    source_execute(source_url, table.insert(),
                   [{"编号": k, "名称": n, "法人": p, "更新时间": t} for k, n, p, t in ROWS])
    url = workspace(monkeypatch, tmp_path, source_url)
    run("ent_db")
    assert current_rows(url, "ent_db") == _source_rows(source_url)
    _drift(source_url, table)
    assert sum(r["extracted"] for r in run("ent_db", run_id="r2")) == 0   # the cursor is blind
    assert current_rows(url, "ent_db") != _source_rows(source_url)

    assert main(["reconcile", "--department", DEPARTMENT, "--dataset", "enterprise"]) == 0
    out = capsys.readouterr().out
    assert "skipped GS-CAPTURE drop → enterprise" in out
    assert current_rows(url, "ent_db") == _source_rows(source_url)
    recorded = query(url, "SELECT period, source_rows, warehouse_rows, missing, changed, gone, "
                          "re_extracted, deleted FROM audit.reconciliation ORDER BY period")
    by_period = {r["period"]: r for r in recorded}
    # periods are days in Asia/Shanghai: 2025-02-02T01:00:00Z is 2025-02-02 09:00 there
    assert set(by_period) == {"2025-01-15", "2025-01-20", "2025-02-01", "2025-02-02",
                              "2025-02-03"}
    assert (by_period["2025-01-15"]["changed"], by_period["2025-01-20"]["missing"],
            by_period["2025-02-01"]["gone"], by_period["2025-02-01"]["deleted"]) == (1, 1, 1, 1)
    assert all(r["source_rows"] == r["warehouse_rows"] for r in recorded)
    assert sum(r["re_extracted"] for r in recorded) == 2
    assert _periods(url)["2025-02-01"] == (1, 1)
    # who reconciled, and what it decided, is in the append-only action log
    (action,) = query(url, "SELECT actor, action, target, detail FROM audit.action")
    assert action["actor"].startswith("os:") and action["action"] == "reconcile.run"
    assert action["target"] == f"{DEPARTMENT}/ent_db/enterprise"
    detail = action["detail"] if isinstance(action["detail"], dict) else json.loads(
        action["detail"])
    assert (detail["re_extracted"], detail["deleted"]) == (2, 1)
    deleted = query(url, "SELECT is_deleted, operation FROM core.enterprise WHERE pripid = 'E2'")
    assert deleted == [{"is_deleted": True, "operation": "d"}] or \
        deleted == [{"is_deleted": 1, "operation": "d"}]

    # verify shows the reconciliation and every batch (the repairs too) still balances
    assert main(["verify", "--department", DEPARTMENT]) == 0
    out = capsys.readouterr().out
    assert "last reconciliation: source = warehouse in all 5 periods" in out
    # a second reconciliation finds nothing to do
    again = reconcile_feed(FeedKey(DEPARTMENT, "ent_db", "enterprise"), run_id="rc2",
                           reconcile_id=new_reconcile_id())
    assert all(p.counts["missing"] == p.counts["changed"] == p.counts["gone"] == 0
               for p in again.values())
    assert sum(p.counts["source_rows"] for p in again.values()) == 5


def test_flagged_deletions_are_reported_not_applied(monkeypatch, tmp_path, capsys) -> None:
    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    table = create_source_table(source_url)
    source_execute(source_url, table.insert(),
                   [{"编号": k, "名称": n, "法人": p, "更新时间": t} for k, n, p, t in ROWS])
    url = workspace(monkeypatch, tmp_path, source_url, feed_keys="\n        on_source_delete: flag")
    run("ent_db")
    source_execute(source_url, table.delete().where(table.c["编号"] == "E2"))
    periods = reconcile_feed(FeedKey(DEPARTMENT, "ent_db", "enterprise"), run_id="rc",
                             reconcile_id=new_reconcile_id())
    assert periods["2025-02-01"].counts["flagged"] == 1
    assert "E2" in current_rows(url, "ent_db")                 # flagged, not deleted
    assert _periods(url)["2025-02-01"] == (1, 2)
    assert main(["verify", "--department", DEPARTMENT]) == 1
    assert "1 reconciled periods: source != warehouse" in capsys.readouterr().out


def test_only_sql_feeds_reconcile(monkeypatch, tmp_path) -> None:
    workspace(monkeypatch, tmp_path, "sqlite://")
    with pytest.raises(ReconcileUnsupported, match="files"):
        reconcile_feed(FeedKey(DEPARTMENT, "drop", "enterprise"), run_id="x", reconcile_id="x")


@pytest.mark.postgres
def test_reconcile_on_a_postgres_warehouse(pg_url, monkeypatch, tmp_path, capsys) -> None:
    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    table = create_source_table(source_url)
    source_execute(source_url, table.insert(),
                   [{"编号": k, "名称": n, "法人": p, "更新时间": t} for k, n, p, t in ROWS])
    url = workspace(monkeypatch, tmp_path, source_url, warehouse_url=pg_url)
    run("ent_db")
    _drift(source_url, table)
    assert main(["reconcile", "--department", DEPARTMENT]) == 0
    assert current_rows(url, "ent_db") == _source_rows(source_url)
    assert main(["verify", "--department", DEPARTMENT]) == 0


def test_rows_superseded_at_load_are_not_reloaded(monkeypatch, tmp_path) -> None:
    """Two source rows of one record (a view without a unique key): the one in core stays; when
    it leaves the source, the other takes the record over."""
    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    table = create_source_table(source_url, unique=False)
    source_execute(source_url, table.insert(), [
        {"编号": "E1", "名称": "甲（旧）", "法人": "张三", "更新时间": "2025-02-01 09:00:00"},
        {"编号": "E1", "名称": "甲（新）", "法人": "张三", "更新时间": "2025-02-02 09:00:00"},
        {"编号": "E2", "名称": "乙", "法人": "李四", "更新时间": "2025-02-01 10:00:00"}])
    url = workspace(monkeypatch, tmp_path, source_url, sql_extract=", unique_key: false")
    run("ent_db")
    assert current_rows(url, "ent_db")["E1"] == ("甲（新）", "张三")
    key = FeedKey(DEPARTMENT, "ent_db", "enterprise")
    periods = reconcile_feed(key, run_id="rc1", reconcile_id=new_reconcile_id())
    assert sum(p.counts["missing"] + p.counts["changed"] for p in periods.values()) == 0
    assert all(p.counts["source_rows"] == p.counts["warehouse_rows"] for p in periods.values())
    assert current_rows(url, "ent_db")["E1"] == ("甲（新）", "张三")
    source_execute(source_url, table.delete().where(table.c["名称"] == "甲（新）"))
    periods = reconcile_feed(key, run_id="rc2", reconcile_id=new_reconcile_id())
    assert current_rows(url, "ent_db") == {"E1": ("甲（旧）", "张三"), "E2": ("乙", "李四")}
    assert periods["2025-02-01"].counts["missing"] == 1
    assert all(p.counts["source_rows"] == p.counts["warehouse_rows"] for p in periods.values())


def test_reconciling_the_demo_department_changes_nothing(monkeypatch, tmp_path, capsys) -> None:
    """The shipped GS-SCJG department with its planted defects (bad rows quarantined, rows of
    one record superseded): after a run, a reconciliation finds every source row in."""
    from pipeline_support import legacy_home, use_workspace

    with legacy_home(tmp_path / "legacy") as built:
        url = use_workspace(monkeypatch, built, tmp_path)
        assert main(["run", "--department", "GS-SCJG"]) in (0, 1)   # breaches are planted
        before = query(url, "SELECT count(*) AS n FROM audit.batch")[0]["n"]
        capsys.readouterr()
        assert main(["reconcile", "--department", "GS-SCJG"]) == 0, capsys.readouterr().out
        recorded = query(url, "SELECT sum(source_rows) AS s, sum(warehouse_rows) AS w, "
                              "sum(missing + changed + gone) AS d FROM audit.reconciliation")[0]
        assert recorded["s"] == recorded["w"] > 0 and recorded["d"] == 0
        assert query(url, "SELECT count(*) AS n FROM audit.batch")[0]["n"] == before
