"""SQL connector against real MariaDB and PostgreSQL, and SQLite: the conformance suite plus the
legacy realities (Chinese identifiers, a GBK table, latin1-mislabelled GBK, custom queries)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlalchemy as sa
from connector_conformance import ConformanceCase, check_conformance
from fixtures.legacy.databases import CASE_TABLE, build_case_table, build_mariadb_legacy

from connectors.base import ConnectorError
from connectors.sql import SqlSource, SqlSourceConfig, repair_latin1_gbk

ROWS = 25
SECRET = "Wr0ng-S3cret-pw"


def _config(**overrides: object) -> SqlSourceConfig:
    values: dict = {"url_secret": "HUIJU_TEST_SQL_URL", "table": CASE_TABLE,
                    "cursor_column": "更新时间", "primary_key": ["编号"], "batch_size": 4}
    values.update(overrides)
    return SqlSourceConfig(**values)


def _case(url: str, empty_url: str, bad_url: str | None, down_url: str,
          **overrides: object) -> ConformanceCase:
    config = _config(**overrides)
    return ConformanceCase(
        make_source=lambda: SqlSource(config, url=url),
        expected_rows=ROWS,
        batch_size=config.batch_size,
        make_empty=lambda: SqlSource(config, url=empty_url),
        bad_credentials=(lambda: SqlSource(config, url=bad_url), SECRET) if bad_url else None,
        unreachable=(lambda: SqlSource(config, url=down_url), SECRET),
        incremental=config.mode == "incremental",
    )


def _with_empty_table(url: str, name: str) -> None:
    build_case_table(url, 0, name=name)


# -- MariaDB ---------------------------------------------------------------------------------
@pytest.fixture
def mariadb_legacy(mariadb_url: str) -> str:
    build_case_table(mariadb_url, ROWS)
    _with_empty_table(mariadb_url, "空表")
    return mariadb_url


def _mariadb_urls(url: str) -> tuple[str, str]:
    parsed = sa.make_url(url)
    bad = parsed.set(password=SECRET).render_as_string(hide_password=False)
    down = parsed.set(password=SECRET, port=1).render_as_string(hide_password=False)
    return bad, down


@pytest.mark.mariadb
@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_mariadb_conformance(mariadb_legacy: str, mode: str) -> None:
    bad, down = _mariadb_urls(mariadb_legacy)
    case = _case(mariadb_legacy, mariadb_legacy, bad, down, mode=mode)
    case.make_empty = lambda: SqlSource(_config(table="空表", mode=mode), url=mariadb_legacy)
    batches = check_conformance(case)
    first = batches[0]
    assert first.table.column_names == ["编号", "当事人名称", "统一社会信用代码", "罚款金额",
                                        "处罚决定日期", "更新时间"]
    assert first.refs[0] == "案件表#编号=1"
    names = [n for b in batches for n in b.table.column("当事人名称").to_pylist()]
    assert "刘䶮" in names          # a GB18030-only character through utf8mb4
    assert {b.table.schema.field("罚款金额").type for b in batches} == {pa.decimal128(14, 2)}


@pytest.mark.mariadb
def test_mariadb_overlap_rereads_only_the_window(mariadb_legacy: str) -> None:
    """overlap > 0: no loss, and repeats only rows whose cursor lies within the window."""
    rows = build_rows_index(ROWS)
    config = _config(overlap=120)

    def in_window(ref: str, cursor: dict | None) -> bool:
        last = dt.datetime.fromisoformat(cursor["cursor"]["datetime"])
        return rows[ref] >= last - dt.timedelta(seconds=120)

    case = ConformanceCase(make_source=lambda: SqlSource(config, url=mariadb_legacy),
                           expected_rows=ROWS, batch_size=4, repeat_ok=in_window)
    check_conformance(case)
    # The final cursor re-reads exactly the window: the rows of the last 120 s.
    last = list(SqlSource(config, url=mariadb_legacy).read(None))[-1].cursor
    again = [r for b in SqlSource(config, url=mariadb_legacy).read(last) for r in b.refs]
    assert again and all(in_window(r, last) for r in again)


def build_rows_index(count: int) -> dict[str, dt.datetime]:
    from fixtures.legacy.databases import case_rows

    return {f"{CASE_TABLE}#编号={r['编号']}": r["更新时间"] for r in case_rows(count)}


@pytest.mark.mariadb
def test_mariadb_gbk_table_and_latin1_mislabelled(mariadb_url: str) -> None:
    expected = build_mariadb_legacy(mariadb_url)
    gbk = SqlSource(SqlSourceConfig(url_secret="X", table="旧系统_gbk", mode="full",
                                    primary_key=["id"], batch_size=3), url=mariadb_url)
    rows = [r for b in gbk.read(None) for r in b.table.to_pylist()]
    assert rows == expected["旧系统_gbk"]

    plain = SqlSourceConfig(url_secret="X", table="latin1_legacy", mode="full",
                            primary_key=["id"])
    mojibake = [r["name"] for b in SqlSource(plain, url=mariadb_url).read(None)
                for r in b.table.to_pylist()]
    assert mojibake[0] != expected["latin1_legacy"][0]["name"]       # the bug is real
    repaired_config = plain.model_copy(update={"repair_mislabelled": "gbk",
                                               "repair_columns": ["name"]})
    repaired = [r for b in SqlSource(repaired_config, url=mariadb_url).read(None)
                for r in b.table.to_pylist()]
    assert repaired == expected["latin1_legacy"]


@pytest.mark.mariadb
def test_mariadb_gbk_client_encoding_override(mariadb_url: str) -> None:
    expected = build_mariadb_legacy(mariadb_url)
    config = SqlSourceConfig(url_secret="X", table="旧系统_gbk", mode="full",
                             primary_key=["id"], encoding="gbk")
    rows = [r for b in SqlSource(config, url=mariadb_url).read(None) for r in b.table.to_pylist()]
    assert rows == expected["旧系统_gbk"]


@pytest.mark.mariadb
def test_mariadb_custom_query_is_wrapped(mariadb_legacy: str) -> None:
    query = ("SELECT `编号`, `当事人名称` AS party, `更新时间` FROM `案件表` "
             "WHERE `罚款金额` > 1000")
    config = _config(table=None, query=query, name="大额案件")
    source = SqlSource(config, url=mariadb_legacy)
    source.check()
    batches = list(source.read(None))
    refs = [r for b in batches for r in b.refs]
    assert refs[0] == "大额案件#编号=10" and len(refs) == ROWS - 9
    assert batches[0].table.column_names == ["编号", "party", "更新时间"]
    resumed = [r for b in source.read(batches[1].cursor) for r in b.refs]
    assert resumed == refs[8:]


@pytest.mark.mariadb
def test_mariadb_missing_table_is_a_clear_error(mariadb_url: str) -> None:
    source = SqlSource(_config(table="不存在的表"), url=mariadb_url)
    with pytest.raises(ConnectorError, match="不存在的表"):
        source.check()


@pytest.mark.mariadb
def test_url_comes_from_the_named_secret(mariadb_legacy: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # An Airflow-style URI without a driver gets PyMySQL.
    monkeypatch.setenv("HUIJU_TEST_SQL_URL", mariadb_legacy.replace("mysql+pymysql", "mysql"))
    source = SqlSource(_config())
    assert sum(b.num_rows for b in source.read(None)) == ROWS


# -- PostgreSQL ------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_postgres_conformance(pg_url: str, mode: str) -> None:
    build_case_table(pg_url, ROWS)
    build_case_table(pg_url, 0, name="空表")
    parsed = sa.make_url(pg_url)
    # The local server trusts every password, so a wrong user carries the wrong credentials.
    bad = parsed.set(username="huiju_no_such_user", password=SECRET)
    down = parsed.set(password=SECRET, port=1)
    case = _case(pg_url, pg_url, bad.render_as_string(hide_password=False),
                 down.render_as_string(hide_password=False), mode=mode)
    case.make_empty = lambda: SqlSource(_config(table="空表", mode=mode), url=pg_url)
    batches = check_conformance(case)
    assert {b.table.schema.field("罚款金额").type for b in batches} == {pa.decimal128(14, 2)}


# -- SQLite ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["incremental", "full"])
def test_sqlite_conformance(tmp_path, mode: str) -> None:
    url = f"sqlite:///{tmp_path / '旧系统.db'}"
    build_case_table(url, ROWS)
    build_case_table(url, 0, name="空表")
    down = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    case = _case(url, url, None, down, mode=mode)
    case.unreachable = (lambda: SqlSource(_config(mode=mode), url=down), "")
    case.make_empty = lambda: SqlSource(_config(table="空表", mode=mode), url=url)
    check_conformance(case)


def test_repair_leaves_proper_text_alone() -> None:
    assert repair_latin1_gbk("兰州新区") == "兰州新区"
    assert repair_latin1_gbk("abc") == "abc"
    assert repair_latin1_gbk(None) is None
    assert repair_latin1_gbk("兰州新区".encode("gbk").decode("cp1252", errors="strict")
                             if False else "À¼ÖÝÐÂÇø") == "兰州新区"


def test_config_rejects_incomplete_settings() -> None:
    with pytest.raises(ValueError, match="exactly one of table or query"):
        SqlSourceConfig(url_secret="X", primary_key=["id"], mode="full")
    with pytest.raises(ValueError, match="cursor_column"):
        SqlSourceConfig(url_secret="X", table="t", primary_key=["id"])


def test_missing_secret_names_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUIJU_NO_SUCH_SECRET", raising=False)
    source = SqlSource(SqlSourceConfig(url_secret="HUIJU_NO_SUCH_SECRET", table="t",
                                       mode="full", primary_key=["id"]))
    with pytest.raises(ConnectorError, match="HUIJU_NO_SUCH_SECRET"):
        source.check()


def test_null_cursor_rows_are_left_to_full_refresh(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'nulls.db'}"
    build_case_table(url, 6)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE 案件表 SET 更新时间 = NULL WHERE 编号 IN (1, 6)"))
    engine.dispose()
    incremental = [r for b in SqlSource(_config(batch_size=2), url=url).read(None)
                   for r in b.refs]
    assert incremental == [f"案件表#编号={i}" for i in (2, 3, 4, 5)]
    full = [r for b in SqlSource(_config(mode="full"), url=url).read(None) for r in b.refs]
    assert len(full) == 6


@pytest.mark.parametrize("backend", ["sqlite", "mariadb"])
def test_window_reads_one_period(backend: str, tmp_path, request: pytest.FixtureRequest) -> None:
    """[start, end) on the cursor column; resumable inside the window."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'window.db'}"
    else:
        request.applymarker(pytest.mark.mariadb)
        url = request.getfixturevalue("mariadb_url")
    build_case_table(url, ROWS)
    # 更新时间 = 08:00 + (编号 // 3) minutes: [08:02, 08:04) holds 编号 6..11
    config = _config(window=("2024-05-01T08:02:00", "2024-05-01 08:04:00"), batch_size=4)
    batches = list(SqlSource(config, url=url).read(None))
    refs = [r for b in batches for r in b.refs]
    assert refs == [f"案件表#编号={i}" for i in range(6, 12)]
    resumed = [r for b in SqlSource(config, url=url).read(batches[0].cursor) for r in b.refs]
    assert resumed == refs[4:]
    open_end = _config(window=("2024-05-01T08:07:00", None))     # 编号 21..25
    assert sum(b.num_rows for b in SqlSource(open_end, url=url).read(None)) == 5


def test_overlap_on_a_text_cursor_column(tmp_path):
    """Legacy systems keep update times as VARCHAR: the overlap must still re-read the window."""
    import sqlite3

    from connectors.sql import SqlSource, SqlSourceConfig

    path = tmp_path / "legacy.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, ts TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [("a", "2024-10-28 14:50:00"),
                                                         ("b", "2024-10-28 14:55:06")])
    conn.close()
    source = SqlSource(SqlSourceConfig(url_secret="UNUSED", table="t", primary_key=["id"],
                                       cursor_column="ts", overlap=300), url=f"sqlite:///{path}")
    state = list(source.read(None))[-1].cursor
    again = [ref for batch in source.read(state) for ref in batch.refs]
    # 14:55:06 − 300 s = 14:50:06: row b is re-read (inside the window), row a is not
    assert again == ["t#id=b"]


def test_oracle_url_unreachable_gives_a_clear_error_without_the_secret(monkeypatch):
    """No Oracle server runs here: the dialect and driver (oracledb, thin mode) load, and an
    unreachable listener is a ConnectorError that names neither the password nor the URL."""
    from connectors.base import ConnectorError
    from connectors.sql import SqlSource, SqlSourceConfig

    secret = "Or4cle-S3cret"
    monkeypatch.setenv("HUIJU_TEST_ORACLE_URL",
                       f"oracle://legacy:{secret}@127.0.0.1:1/?service_name=CASES")
    source = SqlSource(SqlSourceConfig(url_secret="HUIJU_TEST_ORACLE_URL", table="CF_CASE",
                                       primary_key=["CASE_NO"], mode="full", connect_timeout=3))
    with pytest.raises(ConnectorError) as caught:
        source.check()
    message = str(caught.value)
    assert secret not in message and secret not in repr(caught.value.__cause__)
    assert "HUIJU_TEST_ORACLE_URL" in message or "oracle" in message.lower()
