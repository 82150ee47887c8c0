"""Loading batches: i/u/d, history, idempotent reloads, quarantine, audit (PostgreSQL, SQLite)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

import warehouse.load
from huiju.quarantine import NothingToResolve, resolve
from warehouse import landing
from warehouse.load import AccountingError, load_batch
from warehouse.provenance import batch_changes
from warehouse.testing.synthetic import load_request, standard_frame

DEPT = "620000-TEST"


@pytest.fixture
def engine(warehouse):
    return warehouse[0]


def count(engine, table: str, where: str = "1=1") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar()


def rows_of(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def actions(engine, batch_id: str) -> dict[str, int]:
    return dict(Counter(c["action"] for c in batch_changes(engine, "penalty", batch_id)))


def penalty(ids, **kwargs) -> pd.DataFrame:
    return standard_frame("penalty", ids, **kwargs)


def test_a_later_chunk_of_new_records_is_copied_straight_into_core(engine):
    """A first load comes in chunks: a batch of records core does not hold is copied into core
    (PostgreSQL; no staging and merge), and one that hides a known record among new ones is
    merged after all, its update kept in history."""
    load_batch(engine, load_request("penalty", penalty(range(10)), batch_id="2026010100001"))
    new = load_batch(engine, load_request("penalty", penalty(range(300, 400)),
                                          batch_id="2026010100002"))
    assert (new.inserted, new.updated, new.unchanged) == (100, 0, 0)
    postgres = engine.dialect.name == "postgresql"
    assert ("core_copy" in new.seconds) is postgres and ("merge" in new.seconds) is not postgres

    # new keys first and last, a known one (5, changed) in the middle
    hidden = pd.concat([penalty(range(10, 110)), penalty([5], version=1, operation="u"),
                        penalty(range(110, 210))], ignore_index=True)
    mixed = load_batch(engine, load_request("penalty", hidden, batch_id="2026010100003"))
    assert (mixed.inserted, mixed.updated, mixed.unchanged) == (200, 1, 0)
    assert "merge" in mixed.seconds
    assert count(engine, "core.penalty") == 310
    assert rows_of(engine, "SELECT punish_action_code, closed_batch_id FROM core.penalty_history"
                   ) == [("000000000005", "2026010100003")]
    assert count(engine, "core.penalty", "batch_id = '2026010100002'") == 100


def test_insert_update_delete_keeps_history(engine):
    first = load_batch(engine, load_request("penalty", penalty(range(10)),
                                            batch_id="2026010100001"))
    assert (first.inserted, first.updated, first.deleted, first.unchanged) == (10, 0, 0, 0)

    # ids 0-1 unchanged, 2-4 changed, 10-11 new
    second_rows = pd.concat([penalty(range(2)), penalty(range(2, 5), version=1, operation="u"),
                             penalty(range(10, 12))], ignore_index=True)
    second = load_batch(engine, load_request("penalty", second_rows, batch_id="2026010100002"))
    assert (second.inserted, second.updated, second.deleted, second.unchanged) == (2, 3, 0, 2)
    assert count(engine, "core.penalty") == 12
    assert count(engine, "core.penalty_history") == 3
    assert rows_of(engine, "SELECT DISTINCT batch_id, closed_batch_id FROM core.penalty_history"
                   ) == [("2026010100001", "2026010100002")]

    # delete 3 (changed before) and 7; a delete of a key never loaded is a no-op
    deletes = penalty([3, 7, 99], version=2, operation="d")
    third = load_batch(engine, load_request("penalty", deletes, batch_id="2026010100003"))
    assert (third.inserted, third.updated, third.deleted, third.unchanged) == (0, 0, 2, 1)
    assert count(engine, "core.penalty") == 12  # deleted rows stay, flagged
    deleted = rows_of(engine, "SELECT punish_action_code, operation, batch_id FROM core.penalty "
                              "WHERE is_deleted ORDER BY punish_action_code")
    assert deleted == [("000000000003", "d", "2026010100003"),
                       ("000000000007", "d", "2026010100003")]
    assert count(engine, "core.penalty_history") == 5
    versions = rows_of(engine, "SELECT batch_id, closed_batch_id FROM core.penalty_history "
                               "WHERE punish_action_code = '000000000003' "
                               "ORDER BY version_valid_from")
    assert versions == [("2026010100001", "2026010100002"), ("2026010100002", "2026010100003")]

    # a deleted record delivered again comes back
    back = load_batch(engine, load_request("penalty", penalty([7], version=3, operation="i"),
                                           batch_id="2026010100004"))
    assert back.updated == 1
    assert count(engine, "core.penalty", "is_deleted") == 1

    by_batch = {batch: actions(engine, batch) for batch in (
        "2026010100001", "2026010100002", "2026010100003", "2026010100004")}
    assert by_batch == {"2026010100001": {"insert": 10},
                       "2026010100002": {"insert": 2, "update": 3},
                       "2026010100003": {"delete": 2}, "2026010100004": {"update": 1}}
    # the batch that changed a row, from the row: the deleted one came back in batch 4
    [back_row] = [c for c in batch_changes(engine, "penalty", "2026010100004")]
    assert (back_row["punish_action_code"], back_row["department_code"]) == (
        "000000000007", DEPT)


def test_loading_the_same_batch_twice_changes_nothing(engine):
    request = load_request("penalty", penalty(range(20)), batch_id="2026010100001")
    load_batch(engine, request)
    changed = load_request("penalty", penalty(range(5), version=1, operation="u"),
                           batch_id="2026010100002")
    load_batch(engine, changed)
    tables = ["core.penalty", "core.penalty_history", "raw.record", "audit.batch",
              "quarantine.record"]
    before = {t: count(engine, t) for t in tables}

    again = load_batch(engine, changed)
    assert again.already_loaded
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 5)
    assert {t: count(engine, t) for t in tables} == before

    # The same rows in a new batch: recorded as a batch, every row unchanged, no history.
    same = load_request("penalty", penalty(range(5), version=1, operation="u"),
                        batch_id="2026010100003")
    result = load_batch(engine, same)
    assert not result.already_loaded
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 5)
    assert count(engine, "core.penalty_history") == before["core.penalty_history"]
    assert batch_changes(engine, "penalty", "2026010100003") == []


def test_an_unbalanced_batch_writes_nothing(engine):
    request = load_request("penalty", penalty(range(5)), batch_id="2026010100001")
    request.extracted += 1
    with pytest.raises(AccountingError, match="does not balance"):
        load_batch(engine, request)
    duplicate = load_request("penalty", penalty([1, 1]), batch_id="2026010100001")
    with pytest.raises(AccountingError, match="repeat a business key"):
        load_batch(engine, duplicate)
    for tab in ("core.penalty", "raw.record", "audit.batch", "audit.cursor_state"):
        assert count(engine, tab) == 0


def test_audit_counts_balance_and_cursor_commits_with_the_batch(engine):
    later = penalty([4], version=1)
    request = load_request("penalty", penalty(range(4)), batch_id="2026010100001",
                           quarantined=penalty(range(10, 13)), superseded=penalty([4]),
                           cursor={"updated_at": "2026-01-01T08:00:00+08:00"})
    request.rows = pd.concat([request.rows, later.assign(batch_id="2026010100001")],
                             ignore_index=True)
    request.raw = pd.concat([request.raw, request.raw.iloc[:1].assign(
        _source_ref="synthetic:penalty#pk=4b")], ignore_index=True)
    request.extracted += 1
    request.run_id = "manual__2026-01-01"
    result = load_batch(engine, request)
    assert (result.inserted, result.quarantined, result.superseded) == (5, 3, 1)
    batch = rows_of(engine, "SELECT extracted, passed, quarantined, superseded, inserted, "
                            "updated, deleted, unchanged, run_id FROM audit.batch")
    assert batch == [(9, 5, 3, 1, 5, 0, 0, 0, "manual__2026-01-01")]
    assert count(engine, "raw.record") == 9
    assert count(engine, "audit.run") == 1
    with engine.connect() as conn:
        cursor = conn.execute(sa.text("SELECT cursor, batch_id FROM audit.cursor_state")).one()
    stored = cursor[0] if isinstance(cursor[0], dict) else json.loads(cursor[0])
    assert stored == {"updated_at": "2026-01-01T08:00:00+08:00"}
    assert cursor[1] == "2026010100001"


def test_every_extracted_row_lands_once_exactly_as_extracted(engine, monkeypatch):
    # small parts, so that a batch spans several and the last is short
    monkeypatch.setattr(warehouse.load, "PART_ROWS", 7)
    request = load_request("penalty", penalty(range(12)), batch_id="2026010100001",
                           quarantined=penalty(range(20, 23)), superseded=penalty([30]))
    load_batch(engine, request)
    assert rows_of(engine, "SELECT part_no, rows FROM raw.part ORDER BY part_no") == [
        (0, 7), (1, 7), (2, 2)]
    with engine.connect() as conn:
        raw = landing.landings()
        landed = conn.execute(sa.select(raw).order_by(raw.c.part_id, raw.c.row_no)).mappings().all()
        texts = landing.records(conn, [(r["part_id"], r["row_no"]) for r in landed])
    assert [r["source_ref"] for r in landed] == request.raw["_source_ref"].tolist()
    assert [r["source_hash"] for r in landed] == request.raw["_source_hash"].tolist()
    assert [texts[(r["part_id"], r["row_no"])] for r in landed] == request.raw["record"].tolist()
    assert {(r["department_code"], r["dataset"], r["batch_id"]) for r in landed} == {
        (DEPT, "penalty", "2026010100001")}


def test_quarantine_opens_then_resolves_when_the_record_loads_cleanly(engine):
    load_batch(engine, load_request("penalty", penalty(range(3)), batch_id="2026010100001",
                                    quarantined=penalty(range(3, 6))))
    assert count(engine, "quarantine.record", "status = 'open'") == 3

    # 3 fails again (still open, seen again), 4 is fixed and loads, 5 is not delivered
    second = load_request("penalty", penalty([4], version=1), batch_id="2026010100002",
                          quarantined=penalty([3], version=1))
    load_batch(engine, second)
    status = rows_of(engine, "SELECT source_ref, status, batch_id, resolved_batch_id "
                             "FROM quarantine.record ORDER BY source_ref")
    assert status == [
        ("synthetic:penalty#pk=3", "open", "2026010100002", None),
        ("synthetic:penalty#pk=4", "resolved", "2026010100001", "2026010100002"),
        ("synthetic:penalty#pk=5", "open", "2026010100001", None),
    ]
    assert count(engine, "quarantine.record") == 3  # a repeat failure is one row, seen again
    assert count(engine, "quarantine.record",
                 "status = 'resolved' AND resolved_at IS NOT NULL AND resolved_by IS NULL") == 1

    # 5 is resolved by hand; failing again in a later batch reopens it, forgetting the note
    assert resolve(engine, department=DEPT, dataset="penalty", source_ref="synthetic:penalty#pk=5",
                   reason="withdrawn at the source", actor="os:auditor@host") == 1
    assert rows_of(engine, "SELECT status, resolved_by, resolution_note FROM quarantine.record "
                           "WHERE source_ref = 'synthetic:penalty#pk=5'") == [
        ("resolved", "os:auditor@host", "withdrawn at the source")]
    load_batch(engine, load_request("penalty", penalty([6]), batch_id="2026010100003",
                                    quarantined=penalty([5], version=2)))
    assert rows_of(engine, "SELECT status, batch_id, resolved_at, resolved_by, resolution_note "
                           "FROM quarantine.record WHERE source_ref = 'synthetic:penalty#pk=5'"
                   ) == [("open", "2026010100003", None, None, None)]
    with pytest.raises(NothingToResolve):
        resolve(engine, department=DEPT, dataset="penalty", source_ref="synthetic:penalty#pk=4",
                reason="already resolved", actor="os:auditor@host")


def test_the_action_log_records_who_resolved_and_refuses_to_change(engine):
    """Resolving by hand appends to audit.action in the same transaction; the log only grows."""
    from warehouse.actions import actions_on

    load_batch(engine, load_request("penalty", penalty([1]), batch_id="2026010100001",
                                    quarantined=penalty([2])))
    ref = "synthetic:penalty#pk=2"
    resolve(engine, department=DEPT, dataset="penalty", source_ref=ref,
            reason="withdrawn at the source", actor="os:zhang@etl-1")
    (logged,) = actions_on(engine, [ref])
    assert (logged["actor"], logged["action"], logged["department_code"], logged["dataset"]) == (
        "os:zhang@etl-1", "quarantine.resolve", DEPT, "penalty")
    assert logged["detail"]["reason"] == "withdrawn at the source"
    for statement in ("UPDATE audit.action SET actor = 'someone else'", "DELETE FROM audit.action"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert [a["actor"] for a in actions_on(engine, [ref])] == ["os:zhang@etl-1"]
    with pytest.raises(ValueError, match="authenticated actor"):
        resolve(engine, department=DEPT, dataset="penalty", source_ref=ref, reason="x", actor=" ")


def test_values_round_trip_exactly(engine):
    # amounts across PostgreSQL's base-10000 digit groups (binary COPY writes them as such)
    amounts = [Decimal("123456789012345678.99"), Decimal("0.01"), None, Decimal("0.00"),
               Decimal("-0.50"), Decimal("10000.00"), Decimal("9999.99"),
               Decimal("-100000000.01")]
    rows = penalty(range(len(amounts)))
    rows["fine_amount"] = pd.Series(pa.array(amounts, type=pa.decimal128(20, 2)),
                                    dtype=pd.ArrowDtype(pa.decimal128(20, 2)))
    names = ["䶮记商行", "甘肃某某有限公司", "", "a\tb", 'quote "x", comma', "行1\n行2",
             "back\\slash", "𠀀 (CJK Ext. B)"]
    rows["administrative_cp"] = pd.Series(names, dtype="str")
    dates = ["9999-12-31", "2021-03-26", None, "1900-01-01", "2000-01-01", "1999-12-31",
             "2024-02-29", "0001-01-01"]
    rows["closing_date"] = pd.Series(pd.to_datetime(dates), dtype="datetime64[s]")
    load_batch(engine, load_request("penalty", rows, batch_id="2026010100001"))
    got = rows_of(engine, "SELECT fine_amount, administrative_cp, closing_date "
                          "FROM core.penalty ORDER BY punish_action_code")
    assert [Decimal(str(g[0])) if g[0] is not None else None for g in got] == amounts
    assert [g[1] for g in got] == names
    assert [str(g[2]) if g[2] is not None else None for g in got] == dates


def test_departments_do_not_collide(engine):
    load_batch(engine, load_request("penalty", penalty(range(3)), batch_id="2026010100001",
                                    department_code="620100-A"))
    other = load_batch(engine, load_request("penalty", penalty(range(3)),
                                            batch_id="2026010100001", department_code="620200-B"))
    assert other.inserted == 3
    assert count(engine, "core.penalty") == 6


def test_first_load_copies_into_core_and_still_resolves_and_skips_deletes(engine):
    # every record of the department's first batch fails: nothing reaches core
    failed = load_batch(engine, load_request("penalty", penalty([])[0:0],
                                             batch_id="2026010100001",
                                             quarantined=penalty(range(2))))
    assert (failed.inserted, failed.quarantined) == (0, 2)
    # the next batch is the first with rows: copied straight into core
    rows = pd.concat([penalty(range(2), version=1), penalty([5], operation="d")],
                     ignore_index=True)
    first = load_batch(engine, load_request("penalty", rows, batch_id="2026010100002"))
    assert (first.inserted, first.deleted, first.unchanged) == (2, 0, 1)
    assert "core_copy" in first.seconds
    assert count(engine, "core.penalty") == 2
    assert count(engine, "quarantine.record", "status = 'resolved'") == 2
    assert actions(engine, "2026010100002") == {"insert": 2}
