"""The connector interface: secrets by name (env var, then Airflow connection), Batch invariants,
secret scrubbing, a missing driver named in the error."""

from __future__ import annotations

import pyarrow as pa
import pytest

from connectors.base import Batch, ConnectorError, lookahead, resolve_secret, scrub
from connectors.sql import SqlSource, SqlSourceConfig


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIJU_TEST_SECRET", "value-1")
    assert resolve_secret("HUIJU_TEST_SECRET") == "value-1"


def test_secret_from_airflow_connection(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    pytest.importorskip("airflow.sdk")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("HUIJU_TOKEN_CONN", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_HUIJU_TOKEN_CONN",
                       '{"conn_type": "http", "password": "tok-123456"}')
    monkeypatch.setenv("AIRFLOW_CONN_HUIJU_DB_CONN", "mysql://legacy:pw-123456@127.0.0.1:3306/db")
    assert resolve_secret("HUIJU_TOKEN_CONN") == "tok-123456"
    assert resolve_secret("HUIJU_DB_CONN") == "mysql://legacy:pw-123456@127.0.0.1:3306/db"
    with pytest.raises(ConnectorError, match="HUIJU_NO_SUCH_CONN"):
        resolve_secret("HUIJU_NO_SUCH_CONN")


def test_batch_needs_a_ref_per_row() -> None:
    table = pa.table({"a": ["x", "y"]})
    assert Batch(table, ["t#1", "t#2"], None).num_rows == 2
    with pytest.raises(ValueError, match="1 refs for 2 rows"):
        Batch(table, ["t#1"], None)


def test_scrub_and_lookahead() -> None:
    scrubbed = scrub("mysql://u:hunter2@h/db failed", ["hunter2", None, ""])
    assert scrubbed == "mysql://u:***@h/db failed"
    assert list(lookahead([1, 2, 3])) == [(1, False), (2, False), (3, True)]
    assert list(lookahead([])) == []


def test_missing_driver_names_the_package() -> None:
    # 达梦's driver is not installed here (documented, not shipped): the error says what to add
    config = SqlSourceConfig(url_secret="X", table="t", mode="full", primary_key=["id"])
    with pytest.raises(ConnectorError, match="dmpython") as info:
        SqlSource(config, url="dm://u:S3cret-pw@h/x").check()
    assert "S3cret-pw" not in str(info.value)
