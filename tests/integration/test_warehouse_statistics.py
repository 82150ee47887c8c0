"""A run that wrote much of a core table leaves it analysed (warehouse.statistics).

The merge of a later batch is planned from core's statistics; a table a first load just filled
has none until autovacuum comes by (this machine's server runs without it). Manual analyses
are counted apart from autovacuum's (``analyze_count``), so these tests see Huiju's own.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from schemas.catalog import dataset
from warehouse import statistics
from warehouse.engine import create_warehouse_engine
from warehouse.load import load_batch
from warehouse.migrate import upgrade
from warehouse.testing.synthetic import load_request, standard_frame

PENALTY = dataset("penalty")


@pytest.fixture
def engine(pg_warehouse):
    return pg_warehouse


def test_the_embedded_store_has_nothing_to_analyse(tmp_path):
    engine = create_warehouse_engine(f"sqlite:///{tmp_path}/huiju.db")
    upgrade(engine)
    load(engine, range(100), "2026010100001")
    assert statistics.refresh(engine, PENALTY, 100) is False


def analysed(engine) -> tuple[int, set[str]]:
    """How often core.penalty was analysed by hand, and the columns it has statistics of."""
    with engine.connect() as conn:
        count = conn.execute(sa.text(
            "SELECT analyze_count FROM pg_stat_user_tables "
            "WHERE schemaname = 'core' AND relname = 'penalty'")).scalar()
        columns = set(conn.execute(sa.text(
            "SELECT attname FROM pg_stats WHERE schemaname = 'core' "
            "AND tablename = 'penalty'")).scalars())
    return count, columns


def request(ids, batch_id: str, version: int = 0, run_id: str | None = None):
    return replace(load_request("penalty", standard_frame("penalty", ids, version=version),
                                batch_id=batch_id), run_id=run_id)


def load(engine, ids, batch_id: str, version: int = 0) -> int:
    result = load_batch(engine, request(ids, batch_id, version))
    return result.inserted + result.updated + result.deleted


@pytest.mark.postgres
def test_a_first_load_leaves_the_key_columns_analysed(engine):
    written = load(engine, range(2_000), "2026010100001")
    assert analysed(engine) == (0, set())

    assert statistics.refresh(engine, PENALTY, written) is True
    count, columns = analysed(engine)
    assert count == 1
    assert columns == set(statistics.analyzed_columns(PENALTY))
    assert "punish_action_code" in columns and "illegal_fact" not in columns


@pytest.mark.postgres
def test_a_small_change_waits_as_autovacuum_would(engine):
    statistics.refresh(engine, PENALTY, load(engine, range(2_000), "2026010100001"))
    # 10 % of 2,000 rows plus 50: 250 written rows are not enough, 251 are
    written = load(engine, range(250), "2026010100002", version=1)
    assert written == 250
    assert statistics.refresh(engine, PENALTY, written) is False
    assert analysed(engine)[0] == 1
    assert statistics.refresh(engine, PENALTY, written + 1) is True
    assert analysed(engine)[0] == 2


@pytest.mark.postgres
def test_a_table_never_analysed_is_analysed_after_a_few_rows(engine):
    assert statistics.refresh(engine, PENALTY, 50) is False  # autovacuum's floor
    assert statistics.refresh(engine, PENALTY, 51) is True
    assert analysed(engine)[0] == 1


@pytest.mark.postgres
def test_a_run_counts_the_rows_of_all_its_batches(engine):
    """A first load comes in chunks, each its own batch of one run: the run's last batch
    weighs what they all wrote, not its own rows alone."""
    first = [request(range(i * 1_000, (i + 1) * 1_000), f"202601010000{i + 1}", run_id="r1")
             for i in range(3)]
    for chunk in first:
        load_batch(engine, chunk)
    statistics.refresh(engine, PENALTY, 3_000)
    assert analysed(engine)[0] == 1
    # a second run changes 200 rows in each of two batches: 400 > 50 + 10 % of 3,000
    second = [request(range(i * 1_000, i * 1_000 + 200), f"202601020000{i + 1}", version=1,
                      run_id="r2") for i in range(2)]
    load_batch(engine, second[0])
    assert statistics.refresh_after_run(engine, PENALTY, second[0]) is False  # 200 so far
    load_batch(engine, second[1])
    assert statistics.refresh_after_run(engine, PENALTY, second[1]) is True
    assert analysed(engine)[0] == 2
    # without a run, a batch counts alone
    lone = request(range(2_000, 2_300), "2026010300001", version=1)
    load_batch(engine, lone)
    assert statistics.refresh_after_run(engine, PENALTY, lone) is False


@pytest.mark.postgres
def test_a_failed_analysis_does_not_fail_the_committed_load(engine, monkeypatch, caplog):
    lone = request(range(500), "2026010100001")
    load_batch(engine, lone)

    def refused(*args):
        raise sa.exc.OperationalError("ANALYZE", {}, Exception("canceling statement: lock"))

    monkeypatch.setattr(statistics, "refresh", refused)
    assert statistics.refresh_after_run(engine, PENALTY, lone) is False
    assert "core.penalty: planner statistics not refreshed (OperationalError" in caplog.text
    with engine.connect() as conn:  # the batch stays loaded
        assert conn.execute(sa.text("SELECT count(*) FROM core.penalty")).scalar() == 500
