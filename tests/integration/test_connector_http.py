"""HTTP connector against the local source server (127.0.0.1, random port): token auth, every
pagination style, 429/500 injection with retries, rate limit, incremental updated_since."""

from __future__ import annotations

import socket
import time

import pytest
from connector_conformance import ConformanceCase, check_conformance

from connectors.base import ConnectorError
from connectors.http import HttpSource, HttpSourceConfig, retry_after_seconds
from connectors.testing.http_source import HttpSourceServer

TOKEN = "t0ken-Very-S3cret"
RECORDS = [{"id": f"CF{i:04d}", "当事人名称": f"甘肃某某公司{i}", "罚款金额": i * 100.5,
            "updated_at": f"2024-05-01T08:{i // 3:02d}:00"} for i in range(1, 24)]


def _config(url: str, pagination: str = "page", **overrides: object) -> HttpSourceConfig:
    values: dict = {"url": url, "name": "处罚接口", "pagination": pagination, "page_size": 5,
                    "records_path": "data.list", "next_cursor_path": "data.next_cursor",
                    "id_field": "id", "token_secret": "HUIJU_TEST_TOKEN",
                    "updated_since_param": "updated_since", "updated_field": "updated_at",
                    "backoff": 0.01, "max_retries": 3}
    values.update(overrides)
    return HttpSourceConfig(**values)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("pagination", ["page", "offset", "cursor"])
def test_http_conformance(pagination: str) -> None:
    failures = {2: 429, 4: 500, 5: 503}
    with HttpSourceServer(RECORDS, token=TOKEN, pagination=pagination, failures=failures,
                          retry_after="0") as server, \
            HttpSourceServer([], token=TOKEN, pagination=pagination) as empty:
        config = _config(server.url, pagination)
        down = _config(f"http://127.0.0.1:{_free_port()}/records", pagination, max_retries=1)
        case = ConformanceCase(
            make_source=lambda: HttpSource(config, token=TOKEN),
            expected_rows=len(RECORDS), batch_size=5,
            make_empty=lambda: HttpSource(_config(empty.url, pagination), token=TOKEN),
            bad_credentials=(lambda: HttpSource(config, token="wrong-" + TOKEN), TOKEN),
            unreachable=(lambda: HttpSource(down, token=TOKEN), TOKEN),
        )
        batches = check_conformance(case)
        statuses = [status for status, _ in server.requests]
        assert {429, 500, 503} <= set(statuses)   # injected, retried, and still complete
    refs = [r for b in batches for r in b.refs]
    assert refs[0] == "处罚接口#CF0001"
    assert batches[0].table.column("罚款金额").to_pylist()[0] == "100.5"
    assert batches[-1].cursor == {"updated_since": RECORDS[-1]["updated_at"]}


def test_incremental_reads_only_newer_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIJU_TEST_TOKEN", TOKEN)       # the token comes from the named secret
    records = [dict(r) for r in RECORDS]
    with HttpSourceServer(records, token=TOKEN) as server:
        source = HttpSource(_config(server.url))
        state = list(source.read(None))[-1].cursor
        assert [b.num_rows for b in source.read(state)] == [0]
        records.append({"id": "CF9999", "当事人名称": "新增", "updated_at": "2024-06-01T00:00:00"})
        again = list(source.read(state))
        assert [r for b in again for r in b.refs] == ["处罚接口#CF9999"]
        assert again[-1].cursor == {"updated_since": "2024-06-01T00:00:00"}
        assert f"updated_since={state['updated_since'].replace(':', '%3A')}" \
            in server.requests[-1][1]


def test_retry_after_is_honoured() -> None:
    with HttpSourceServer(RECORDS[:3], token=TOKEN, failures={1: 429}, retry_after="1") as server:
        started = time.monotonic()
        batches = list(HttpSource(_config(server.url), token=TOKEN).read(None))
        elapsed = time.monotonic() - started
    assert sum(b.num_rows for b in batches) == 3
    assert elapsed >= 0.9


def test_gives_up_after_max_retries_with_a_clear_message() -> None:
    with HttpSourceServer(RECORDS, token=TOKEN, failures={1: 500, 2: 500, 3: 500}) as server:
        source = HttpSource(_config(server.url, max_retries=2), token=TOKEN)
        with pytest.raises(ConnectorError, match="giving up after 3 attempts: HTTP 500"):
            list(source.read(None))


def test_rate_limit_spaces_requests() -> None:
    with HttpSourceServer(RECORDS, token=TOKEN) as server:
        source = HttpSource(_config(server.url, rate_limit=20.0), token=TOKEN)
        started = time.monotonic()
        list(source.read(None))
        elapsed = time.monotonic() - started
    assert source.requests_sent == 5
    assert elapsed >= 4 / 20 * 0.9


def test_auth_refused_names_the_secret_not_the_token() -> None:
    with HttpSourceServer(RECORDS, token=TOKEN) as server:
        source = HttpSource(_config(server.url), token="nope-" + TOKEN)
        with pytest.raises(ConnectorError) as info:
            source.check()
    assert "HUIJU_TEST_TOKEN" in str(info.value) and TOKEN not in str(info.value)


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 1.0, 30) == 0.0
    assert retry_after_seconds("7", 1.0, 5) == 5
    assert retry_after_seconds(None, 1.5, 5) == 1.5


def test_a_record_that_is_not_an_object_is_a_row_error() -> None:
    records = [{"id": "A1"}, "garbage", {"id": "A2"}]
    with HttpSourceServer(records, token=TOKEN) as server:
        source = HttpSource(_config(server.url, id_field=None), token=TOKEN)
        (batch,) = list(source.read(None))
    assert batch.refs == ["处罚接口#page=1/0", "处罚接口#page=1/2"]
    assert [(e.ref, e.raw) for e in batch.errors] == [("处罚接口#page=1/1", '"garbage"')]


def test_server_on_a_given_port() -> None:
    port = _free_port()
    with HttpSourceServer(RECORDS[:2], port=port) as server:
        assert server.url == f"http://127.0.0.1:{port}/records"
        (batch,) = list(HttpSource(_config(server.url, token_secret=None)).read(None))
    assert batch.num_rows == 2
