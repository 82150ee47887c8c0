"""HTTP sources whose address and headers come from secrets, and every pagination kind —
page, offset, cursor token and ``next`` link — against the local HTTP test server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from connectors.base import ConnectorError
from connectors.http import HttpSource, HttpSourceConfig
from connectors.registry import kind
from connectors.testing.http_source import HttpSourceServer
from huiju.departments import DepartmentConfigError, load_department

TOKEN = "t0ken-Very-S3cret"
API_KEY = "key-Sh0uld-N3ver-Show"
RECORDS = [{"id": f"XK{i:04d}", "名称": f"许可{i}", "updated_at": f"2024-05-01T08:{i:02d}:00"}
           for i in range(1, 24)]


def _config(pagination: str, **overrides: object) -> HttpSourceConfig:
    values: dict = {"url_secret": "HUIJU_TEST_API_BASE", "path": "/records",
                    "header_secrets": {"X-Api-Key": "HUIJU_TEST_API_KEY"},
                    "token_secret": "HUIJU_TEST_API_TOKEN", "pagination": pagination,
                    "page_size": 5, "records_path": "data.list",
                    "next_cursor_path": "data.next_cursor", "next_link_path": "data.next",
                    "id_field": "id", "updated_since_param": "updated_since",
                    "updated_field": "updated_at", "backoff": 0.01, "max_retries": 1}
    values.update(overrides)
    return HttpSourceConfig(**values)


def _secrets(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    monkeypatch.setenv("HUIJU_TEST_API_BASE", base)
    monkeypatch.setenv("HUIJU_TEST_API_KEY", API_KEY)
    monkeypatch.setenv("HUIJU_TEST_API_TOKEN", TOKEN)


def _base(server: HttpSourceServer) -> str:
    return server.url.removesuffix("/records")


def _ids(batches) -> list[str]:
    return [r.split("#", 1)[1] for b in batches for r in b.refs]


@pytest.mark.parametrize("pagination", ["page", "offset", "cursor", "next"])
def test_every_pagination_kind_with_address_and_headers_from_secrets(
        pagination: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with HttpSourceServer(RECORDS, token=TOKEN, pagination=pagination,
                          headers={"X-Api-Key": API_KEY}) as server:
        _secrets(monkeypatch, _base(server))
        batches = list(HttpSource(_config(pagination)).read(None))
        assert _ids(batches) == [r["id"] for r in RECORDS]
        assert len(batches) == 5   # 23 records, 5 a page
        assert all(status == 200 for status, _ in server.requests)
        # the state names no host: the base URL is a secret, and the next run resolves it again
        for batch in batches:
            assert server.url.split("/records")[0] not in str(batch.cursor)
        assert batches[-1].cursor == {"updated_since": RECORDS[-1]["updated_at"]}
        # incremental: one record changed since, read by the same kind of pagination
        server.records = [*RECORDS[:-1], {**RECORDS[-1], "updated_at": "2024-06-01T00:00:00"}]
        again = list(HttpSource(_config(pagination)).read(batches[-1].cursor))
        assert _ids(again) == [RECORDS[-1]["id"]]


def test_next_links_absolute_and_resumed_after_a_page_cap(monkeypatch) -> None:
    with HttpSourceServer(RECORDS, token=TOKEN, pagination="next", next_style="absolute",
                          headers={"X-Api-Key": API_KEY}) as server:
        _secrets(monkeypatch, _base(server))
        first = list(HttpSource(_config("next", max_pages=2)).read(None))
        assert len(first) == 2 and "page cap reached" in first[-1].warnings[0]
        cursor = first[-1].cursor
        assert cursor["next"] == "/records?after=10&page_size=5"   # kept relative, no host
        rest = list(HttpSource(_config("next")).read(cursor))
        assert _ids(first) + _ids(rest) == [r["id"] for r in RECORDS]
        assert "after=10" in server.requests[2][1]


def test_a_next_link_to_another_host_is_refused(monkeypatch) -> None:
    with HttpSourceServer(RECORDS, token=TOKEN, pagination="next", next_style="foreign",
                          headers={"X-Api-Key": API_KEY}) as server:
        _secrets(monkeypatch, _base(server))
        source = HttpSource(_config("next"))
        with pytest.raises(ConnectorError, match="another host") as caught:
            list(source.read(None))
        assert len(server.requests) == 1   # never followed: the token stays home
    assert TOKEN not in str(caught.value) and API_KEY not in str(caught.value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_errors_name_the_secrets_never_their_values(monkeypatch) -> None:
    port = _free_port()
    _secrets(monkeypatch, f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectorError) as caught:
        HttpSource(_config("page")).check()
    message = str(caught.value)
    assert "HUIJU_TEST_API_BASE" in message
    assert str(port) not in message and "127.0.0.1" not in message
    assert TOKEN not in message and API_KEY not in message

    with HttpSourceServer(RECORDS, token=TOKEN, headers={"X-Api-Key": API_KEY}) as server:
        _secrets(monkeypatch, _base(server))
        monkeypatch.setenv("HUIJU_TEST_API_KEY", "wrong-key")
        with pytest.raises(ConnectorError, match="authentication refused") as refused:
            HttpSource(_config("page")).check()
        assert _base(server) not in str(refused.value) and "wrong-key" not in str(refused.value)
    monkeypatch.delenv("HUIJU_TEST_API_BASE")
    with pytest.raises(ConnectorError, match="HUIJU_TEST_API_BASE"):
        HttpSource(_config("page")).check()


def test_exactly_one_address_and_the_registry_validates_it() -> None:
    with pytest.raises(ValidationError, match="exactly one of url and url_secret"):
        HttpSourceConfig(records_path="data")
    with pytest.raises(ValidationError, match="exactly one of url and url_secret"):
        HttpSourceConfig(url="http://127.0.0.1/x", url_secret="HUIJU_X")
    config = kind("http").config_model().model_validate(
        {"url_secret": "HUIJU_SRC_API", "path": "/v1/licences", "pagination": "next",
         "next_link_path": "links.next"})
    assert config.pagination == "next" and config.path == "/v1/licences"
    assert "url_secret" in HttpSourceConfig.model_fields
    for name in ("url_secret", "path", "header_secrets", "next_link_path", "pagination"):
        assert HttpSourceConfig.model_fields[name].description, name


def _department(tmp_path, header_secret: str = "HUIJU_SRC_GS_YJJ_API_KEY"):
    samples = Path(__file__).resolve().parents[2] / "departments"
    raw = yaml.safe_load((samples / "gs_yjj.yaml").read_text(encoding="utf-8"))
    api = next(s for s in raw["sources"] if s["id"] == "license_api")
    api["connection"] = {"url_secret": "HUIJU_SRC_GS_YJJ_API_URL",
                         "token_secret": "HUIJU_SRC_GS_YJJ_API_TOKEN",
                         "header_secrets": {"X-Api-Key": header_secret}}
    extract = api["feeds"][0]["extract"]
    del extract["url"]
    extract.update(path="/records", pagination="next", next_link_path="data.next")
    drop = next(s for s in raw["sources"] if s["id"] == "excel_drop")
    drop["feeds"][1]["extract"]["sheets"] = "*半年"
    path = tmp_path / "gs_yjj.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_department(path)


def test_a_department_file_names_the_address_and_headers_by_secret(tmp_path) -> None:
    department = _department(tmp_path)
    configs = {feed.dataset: feed.connector_config for _, feed in department.feeds()}
    assert configs["license"].url is None
    assert configs["license"].url_secret == "HUIJU_SRC_GS_YJJ_API_URL"
    assert configs["license"].header_secrets == {"X-Api-Key": "HUIJU_SRC_GS_YJJ_API_KEY"}
    assert configs["penalty"].sheets == "*半年"
    with pytest.raises(DepartmentConfigError, match=r"X-Api-Key.*NAME"):
        _department(tmp_path, header_secret="sk live: 9f8e7d")
