"""Planner statistics of a core table, refreshed once a run has changed much of it.

A batch is merged into core by joining its staged rows to core on the business key
(``warehouse.load``). PostgreSQL plans that join from core's statistics, and a table a first
load has just filled has none until autovacuum comes by — on a server where autovacuum is off
or behind, never. Without them the planner guessed a hash join over all of core: an
incremental run of 10,000 changed rows into 990,000 spent 0.80 s copying the old versions to
history, against 0.09 s by the key index once core was analysed (benchmarks/README.md).

So a feed's run ends (``huiju.pipeline.load`` of its last batch, however the run was driven)
by analysing what autovacuum would: when the rows its batches wrote (``audit.batch``) exceed
autovacuum's own threshold (50 rows plus 10 % of the rows core held at its last analysis; a
table never analysed holds none). Only the columns the load and its lookups filter or join on
are sampled: all of core's wide text columns would cost several times as much.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa

from schemas.model import DataSetSpec
from warehouse import roles
from warehouse.tables import AUDIT, core_table, table

if TYPE_CHECKING:
    from warehouse.load import LoadRequest

_log = logging.getLogger(__name__)

# PostgreSQL's defaults for autovacuum_analyze_threshold and autovacuum_analyze_scale_factor.
ANALYZE_THRESHOLD = 50
ANALYZE_SCALE = 0.1


def analyzed_columns(spec: DataSetSpec) -> tuple[str, ...]:
    """The columns of core a load joins or filters on: the key, the hash, the batch."""
    return ("department_code", *spec.business_key, "source_hash", "batch_id", "source_id")


def refresh_after_run(engine: sa.Engine, spec: DataSetSpec, request: LoadRequest) -> bool:
    """``refresh`` with the rows written by every batch of ``request``'s run (its feed's
    batches with its ``run_id``: a first load's many chunks), or by the batch alone.

    Called once the batch has committed: a failure here (a lock, a server gone) is logged and
    leaves the statistics to autovacuum, never failing a load that is already in.
    """
    if engine.dialect.name != "postgresql":
        return False
    batch = table(AUDIT, "batch")
    same = [batch.c.department_code == request.department_code,
            batch.c.source_id == request.source_id, batch.c.dataset == request.dataset]
    same.append(batch.c.run_id == request.run_id if request.run_id
                else batch.c.batch_id == request.batch_id)
    try:
        with engine.connect() as conn:
            written = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(
                batch.c.inserted + batch.c.updated + batch.c.deleted), 0)).where(*same)).scalar()
        return refresh(engine, spec, int(written))
    except sa.exc.SQLAlchemyError as error:
        _log.warning("core.%s: planner statistics not refreshed (%s: %s)", spec.name,
                     type(error).__name__, error)
        return False


def refresh(engine: sa.Engine, spec: DataSetSpec, written: int) -> bool:
    """Analyse ``spec``'s core table if ``written`` rows are more than autovacuum would wait
    for; returns whether it did. A no-op off PostgreSQL and for a role that does not own the
    table (a least-privilege loader may not analyse it: the owner's autovacuum will)."""
    if engine.dialect.name != "postgresql" or written <= ANALYZE_THRESHOLD:
        return False
    core = core_table(spec)
    name = f"{core.schema}.{core.name}"
    with engine.connect() as conn:
        tuples = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = "
                                      "CAST(:name AS regclass)"), {"name": name}).scalar()
        if written <= ANALYZE_THRESHOLD + ANALYZE_SCALE * max(tuples or 0, 0):
            return False
        if not roles.owns(conn, core):
            return False
        columns = ", ".join(analyzed_columns(spec))
        conn.execute(sa.text(f"ANALYZE {name} ({columns})"))
        conn.commit()
    return True
