"""Change capture at the source boundary (issue 16): text cursors parsed as time stamps, and
exact resumption when rows tie on the whole keyset order — on real MariaDB, PostgreSQL and
SQLite."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
import sqlalchemy as sa

from connectors.sql import SqlSource, SqlSourceConfig
from connectors.timestamps import parse_timestamp

BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb),
            pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def source_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legacy.db'}"
    return request.getfixturevalue("mariadb_url" if request.param == "mariadb" else "pg_url")


def _execute(url: str, statement: str, rows: list[dict] | None = None) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(statement), rows or {})
    engine.dispose()


def _text_table(url: str, rows: list[tuple[str, str | None]]) -> None:
    engine = sa.create_engine(url)
    table = sa.Table("案件", sa.MetaData(), sa.Column("编号", sa.String(20), primary_key=True),
                     sa.Column("更新时间", sa.String(40)))
    with engine.begin() as conn:
        table.metadata.create_all(conn)
        conn.execute(table.insert(), [{"编号": k, "更新时间": v} for k, v in rows])
    engine.dispose()


def _upsert(url: str, rows: list[tuple[str, str]]) -> None:
    engine = sa.create_engine(url)
    table = sa.Table("案件", sa.MetaData(), sa.Column("编号", sa.String(20)),
                     sa.Column("更新时间", sa.String(40)))
    with engine.begin() as conn:
        for key, value in rows:
            conn.execute(table.delete().where(table.c["编号"] == key))
            conn.execute(table.insert().values({"编号": key, "更新时间": value}))
    engine.dispose()


def _text_source(url: str, **overrides: object) -> SqlSource:
    config = {"url_secret": "UNUSED", "table": "案件", "cursor_column": "更新时间",
              "primary_key": ["编号"], "batch_size": 2, **overrides}
    return SqlSource(SqlSourceConfig(**config), url=url)


def _read(source: SqlSource, state: dict | None) -> tuple[list[str], list, dict | None]:
    refs, errors, cursor = [], [], state
    for batch in source.read(state):
        refs += batch.refs
        errors += batch.errors
        cursor = batch.cursor
    return refs, errors, cursor


def test_legacy_layouts_parse_to_instants() -> None:
    shanghai = parse_timestamp("2025-02-02 10:00:00")
    assert shanghai.isoformat() == "2025-02-02T10:00:00+08:00"
    assert parse_timestamp("2025/02/02 10:00:00") == shanghai
    assert parse_timestamp("2025-02-02T02:00:00Z") == shanghai           # explicit zone kept
    assert parse_timestamp("２０２５／０２／０２ 10:00:00") == shanghai    # full-width
    assert parse_timestamp("20250202").isoformat() == "2025-02-02T00:00:00+08:00"
    assert parse_timestamp("2025年2月2日") == parse_timestamp("20250202")
    assert parse_timestamp("2025年02月02日10时00分00秒") == shanghai
    assert parse_timestamp("02-02-2025", ["%m-%d-%Y"]) == parse_timestamp("20250202")
    assert parse_timestamp("2025-02-02 10:00:00", timezone="UTC") == parse_timestamp(
        "2025-02-02T10:00:00Z")
    assert parse_timestamp("昨天") is None and parse_timestamp("") is None


def test_text_cursor_is_parsed_not_compared_as_text(source_url: str) -> None:
    """One `2025/…` value among `2025-…` ones must not move the cursor past later updates."""
    _text_table(source_url, [("A1", "2025-02-01 09:00:00"), ("A2", "2025/02/02 10:00:00"),
                             ("A3", "2025-02-03 08:00:00"), ("A4", None)])
    source = _text_source(source_url)
    refs, errors, state = _read(source, None)
    assert sorted(refs) == ["案件#编号=A1", "案件#编号=A2", "案件#编号=A3"] and not errors
    # the high water is the latest instant, not the largest text, with its zone
    assert state["since"] == "2025-02-03T08:00:00+08:00"

    _upsert(source_url, [("B1", "2025-02-04 09:00:00"), ("B2", "2025-03-01T03:00:00Z"),
                         ("B3", "20250305"), ("B4", "2025年3月6日"),
                         ("A1", "2025-02-01 09:00:00")])        # unchanged: not new
    refs, errors, state = _read(source, state)
    assert sorted(refs) == ["案件#编号=B1", "案件#编号=B2", "案件#编号=B3", "案件#编号=B4"]
    assert state["since"] == "2025-03-06T00:00:00+08:00"
    assert _read(source, state)[0] == []                          # nothing new: nothing read


def test_unparseable_stamp_is_a_row_error_not_a_cursor_jump(source_url: str) -> None:
    _text_table(source_url, [("A1", "2025-02-01 09:00:00"), ("A2", "上周五"),
                             ("A3", "2025-02-03 08:00:00")])
    source = _text_source(source_url)
    refs, errors, state = _read(source, None)
    assert sorted(refs) == ["案件#编号=A1", "案件#编号=A3"]
    assert [e.ref for e in errors] == ["案件#编号=A2"]
    assert "'上周五'" in errors[0].message and "更新时间" in errors[0].message
    assert "上周五" in errors[0].raw
    assert state["since"] == "2025-02-03T08:00:00+08:00"        # the bad value moved nothing
    # reported once: the next run does not report it again while it is unchanged
    assert _read(source, state)[:2] == ([], [])
    # fixed to a time before the cursor: read all the same
    _upsert(source_url, [("A2", "2025-01-31 00:00:00")])
    refs, errors, state = _read(source, state)
    assert refs == ["案件#编号=A2"] and not errors and state["rejected"] == {}


def test_text_cursor_resumes_mid_run_and_at_ties(source_url: str) -> None:
    rows = [(f"K{i:02d}", "2025-02-02 10:00:00" if i % 2 else "2025/02/02 10:00:00")
            for i in range(7)]
    _text_table(source_url, rows)
    source = _text_source(source_url, batch_size=3)
    batches = list(source.read(None))
    everything = [r for b in batches for r in b.refs]
    assert len(everything) == 7
    for k, batch in enumerate(batches):
        resumed = [r for b in source.read(batch.cursor) for r in b.refs]
        done = [r for b in batches[:k + 1] for r in b.refs]
        assert sorted(done + resumed) == sorted(everything), k
    # a row updated at the very same stamp as the high water is new; unchanged ones are not
    state = batches[-1].cursor
    _upsert(source_url, [("K03", "2025/02/02 10:00:00")])
    assert _read(source, state)[0] == ["案件#编号=K03"]


def test_text_cursor_overlap_rereads_a_window(source_url: str) -> None:
    _text_table(source_url, [("A1", "2025-02-02 09:00:00"), ("A2", "2025/02/02 10:00:00")])
    source = _text_source(source_url, overlap=1800)
    state = _read(source, None)[2]
    _upsert(source_url, [("A0", "2025-02-02 09:45:00")])       # committed late, stamped earlier
    assert sorted(_read(source, state)[0]) == ["案件#编号=A0", "案件#编号=A2"]


def test_a_text_cursor_scan_resumed_exactly_keeps_its_overlap_and_ends(source_url: str) -> None:
    """A run's later chunks resume exactly (``overlap`` 0, as the pipeline opens them): the
    scan keeps the lower bound it started with, so the overlap's rows keyed after the chunk
    before are read too; and a resumed scan that finds nothing more still ends — its cursor
    is no longer "in the middle", so the next run looks at every key again."""
    _text_table(source_url, [("A1", "2025-02-02 09:00:00"), ("A2", "2025-02-02 10:00:00")])
    source = _text_source(source_url, overlap=1800, batch_size=1)
    state = _read(source, None)[2]
    # committed late, stamped within the overlap: one keyed before A2, one after it
    _upsert(source_url, [("A0", "2025-02-02 09:45:00"), ("A3", "2025-02-02 09:50:00")])
    first = next(iter(source.read(state)))
    assert first.refs == ["案件#编号=A0"] and first.cursor["after_pk"] == ["A0"]
    exact = _text_source(source_url, overlap=0, batch_size=1)
    refs, _, done = _read(exact, first.cursor)
    assert refs == ["案件#编号=A3"]   # (A2, delivered at the high water, is not new)
    assert "after_pk" not in done

    # a scan whose rest is all behind its lower bound: one empty batch ends it
    middle = next(iter(source.read(done)))
    assert middle.refs == ["案件#编号=A0"] and middle.cursor.get("after_pk") == ["A0"]
    _upsert(source_url, [("A2", "2025-02-02 08:00:00"), ("A3", "2025-02-02 08:00:00")])
    batches = list(exact.read(middle.cursor))
    assert [b.refs for b in batches] == [[]] and "after_pk" not in batches[0].cursor
    # so a key before the resumed scan's position, changed now, is read by the next run
    _upsert(source_url, [("A0", "2025-02-02 11:00:00")])
    assert _read(exact, batches[0].cursor)[0] == ["案件#编号=A0"]


# -- ties on the whole keyset order ---------------------------------------------------------

TIED = [  # (编号, 更新时间, 内容): duplicate (cursor, key) pairs, two of them identical rows
    (1, "2025-02-02 10:00:00", "a"), (1, "2025-02-02 10:00:00", "b"),
    (2, "2025-02-02 10:00:00", "c"), (2, "2025-02-02 10:00:00", "c"),
    (2, "2025-02-02 10:00:00", "d"), (3, "2025-02-02 11:00:00", "e"),
    (3, "2025-02-02 11:00:00", "f"),
]


def _tied_view(url: str) -> None:
    """A table without a unique key, as a view or a query over a legacy join would be."""
    engine = sa.create_engine(url)
    table = sa.Table("处罚视图", sa.MetaData(), sa.Column("编号", sa.Integer),
                     sa.Column("更新时间", sa.DateTime), sa.Column("内容", sa.String(10)))
    with engine.begin() as conn:
        table.metadata.create_all(conn)
        conn.execute(table.insert(), [
            {"编号": k, "更新时间": dt.datetime.fromisoformat(t), "内容": c} for k, t, c in TIED])
    engine.dispose()


@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_boundary_between_every_pair_of_tied_rows(source_url: str, mode: str) -> None:
    """For every batch size, resuming after every batch loses and repeats no row."""
    _tied_view(source_url)
    expected = Counter((k, c) for k, _, c in TIED)
    for size in range(1, len(TIED) + 1):
        source = SqlSource(SqlSourceConfig(
            url_secret="UNUSED", table="处罚视图", cursor_column="更新时间", primary_key=["编号"],
            unique_key=False, batch_size=size, mode=mode), url=source_url)
        batches = list(source.read(None))
        for k, batch in enumerate(batches[:-1]):
            done = [row for b in batches[:k + 1] for row in b.table.to_pylist()]
            resumed = [row for b in source.read(batch.cursor) for row in b.table.to_pylist()]
            got = Counter((r["编号"], r["内容"]) for r in done + resumed)
            assert got == expected, (size, k)
        refs = [r for b in batches for r in b.refs]
        assert len(refs) == len(TIED) and len(set(refs)) == len(TIED) - 1   # only 'c' twice
        if mode == "incremental":
            assert _read(source, batches[-1].cursor)[0] == []


def test_a_bad_stamp_is_quarantined_with_its_value_by_the_pipeline(monkeypatch, tmp_path
                                                                   ) -> None:
    from capture_support import (
        DEPARTMENT,
        create_source_table,
        current_rows,
        query,
        run,
        source_execute,
        workspace,
    )

    source_url = f"sqlite:///{tmp_path / 'legacy.db'}"
    table = create_source_table(source_url)
    source_execute(source_url, table.insert(), [
        {"编号": "E1", "名称": "甲", "法人": "张三", "更新时间": "2025-02-01 09:00:00"},
        {"编号": "E2", "名称": "乙", "法人": "李四", "更新时间": "上周五"},
        {"编号": "E3", "名称": "丙", "法人": "王五", "更新时间": "2025/02/03 08:00:00"}])
    url = workspace(monkeypatch, tmp_path, source_url)
    run("ent_db")
    assert set(current_rows(url, "ent_db")) == {"E1", "E3"}
    failed = query(url, "SELECT source_ref, rule_id, message_en FROM quarantine.record "
                        "WHERE department_code = :d AND rule_id = '01-PARSE-row'", d=DEPARTMENT)
    assert [r["source_ref"] for r in failed] == ["企业#编号=E2"]
    assert "'上周五' is not a time stamp" in failed[0]["message_en"]
    cursor = query(url, "SELECT cursor FROM audit.cursor_state")[0]["cursor"]
    cursor = json.loads(cursor) if isinstance(cursor, str) else cursor
    assert cursor["since"] == "2025-02-03T08:00:00+08:00"
    # fixed at the source, stamped before the cursor: read and the quarantine resolved
    source_execute(source_url, table.update().where(table.c["编号"] == "E2").values(
        {"更新时间": "2025-01-01 00:00:00"}))
    run("ent_db", run_id="fix")
    assert set(current_rows(url, "ent_db")) == {"E1", "E2", "E3"}
    assert {r["status"] for r in query(url, "SELECT status FROM quarantine.record")} == {
        "resolved"}


@pytest.mark.parametrize("mode", ["incremental", "full"])
@pytest.mark.parametrize("server", ["mariadb", "postgres"])  # what the Arrow reader reads
@pytest.mark.parametrize("page", [1, 2, 3, 5, 100_000])
def test_the_arrow_reader_resumes_between_every_pair_of_tied_rows(
        request: pytest.FixtureRequest, monkeypatch, server: str, mode: str, page: int) -> None:
    """The connectorx reader keeps the same "seen" hashes: no tied row lost or repeated —
    between the chunks of a run, and between the pages (queries) of one read too."""
    from connectors import sql_arrow
    from connectors.sql_arrow import ArrowSqlSource

    source_url = request.getfixturevalue("mariadb_url" if server == "mariadb" else "pg_url")
    monkeypatch.setattr(sql_arrow, "PAGE_ROWS", page)

    _tied_view(source_url)
    expected = Counter((k, c) for k, _, c in TIED)
    for size in range(1, len(TIED) + 1):
        source = ArrowSqlSource(SqlSourceConfig(
            url_secret="UNUSED", table="处罚视图", cursor_column="更新时间", primary_key=["编号"],
            unique_key=False, batch_size=size, mode=mode), url=source_url)
        batches = list(source.read(None))
        assert sum(b.num_rows for b in batches) == len(TIED)
        for k, batch in enumerate(batches[:-1]):
            done = [row for b in batches[:k + 1] for row in b.table.to_pylist()]
            resumed = [row for b in source.read(batch.cursor) for row in b.table.to_pylist()]
            got = Counter((r["编号"], r["内容"]) for r in done + resumed)
            assert got == expected, (size, k)
        if mode == "incremental":
            assert list(source.read(batches[-1].cursor)) == []
