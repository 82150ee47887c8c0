"""HTTP limits (issue 16): an API whose pagination never ends is stopped by a page cap (and the
next run goes on from there), one that repeats a page is named, over a real local socket."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorError
from connectors.http import HttpSource, HttpSourceConfig
from connectors.testing.http_source import HttpSourceServer

RECORDS = [{"id": f"L{i:03d}", "updated_at": f"2025-01-{1 + i % 28:02d}"} for i in range(30)]


def _source(server: HttpSourceServer, **overrides: object) -> HttpSource:
    config = {"url": server.url, "records_path": "data.list", "id_field": "id", "page_size": 10,
              "next_cursor_path": "data.next_cursor", "backoff": 0, **overrides}
    return HttpSource(HttpSourceConfig(**config), token="t0k")


@pytest.mark.parametrize("pagination", ["page", "offset", "cursor"])
def test_a_repeated_page_is_an_error_naming_it(pagination: str) -> None:
    with HttpSourceServer(RECORDS, token="t0k", pagination=pagination,
                          broken_paging="repeat") as server:
        source = _source(server, pagination=pagination)
        reader = source.read(None)
        first = next(reader)
        assert first.num_rows == 10
        with pytest.raises(ConnectorError, match="pagination does not advance"):
            next(reader)
        assert len(server.requests) == 2


def test_endless_pages_stop_at_the_cap_and_resume() -> None:
    with HttpSourceServer(RECORDS, token="t0k", broken_paging="endless") as server:
        source = _source(server, max_pages=5)
        batches = list(source.read(None))       # returns: before the cap it would never end
        assert len(batches) == 5 and len(server.requests) == 5
        assert "page cap reached (5 pages this run)" in batches[-1].warnings[0]
        assert batches[-1].cursor["page"] == 6
        again = list(source.read(batches[-1].cursor))
        assert again[0].refs[0] == "/records#R50"  # the next run goes on from page 6


def test_a_healthy_api_is_read_whole_under_the_cap() -> None:
    with HttpSourceServer(RECORDS, token="t0k") as server:
        batches = list(_source(server, max_pages=4).read(None))
        assert sum(b.num_rows for b in batches) == 30
        assert not any(b.warnings for b in batches)


def test_http_feed_versions_by_update_time(monkeypatch, tmp_path) -> None:
    """An API page holding a corrected record before its stale version: the newer one wins."""
    from capture_support import DEPARTMENT, current_rows, run, workspace

    records = [
        {"id": "H1", "name": "甲公司（更正）", "rep": "张三", "updated_at": "2025-02-02 10:00:00"},
        {"id": "H1", "name": "甲公司", "rep": "张三", "updated_at": "2025/02/01 10:00:00"},
        {"id": "H2", "name": "乙公司", "rep": "李四", "updated_at": "2025-02-01 10:00:00"}]
    with HttpSourceServer(records, token="t0k") as server:
        url = workspace(monkeypatch, tmp_path, "sqlite://")
        monkeypatch.setenv("HUIJU_TEST_API_TOKEN", "t0k")
        (tmp_path / "home" / "departments" / "gs_capture.yaml").write_text(f"""\
code: {DEPARTMENT}
name: {{zh: 变更捕获测试局, en: Change Capture Test Bureau}}
division_code: "620100"
schedule: "@daily"
sources:
  - id: api
    kind: http
    system: 登记接口
    connection: {{url: "{server.url}", token_secret: HUIJU_TEST_API_TOKEN,
                  records_path: data.list}}
    feeds:
      - dataset: enterprise
        extract: {{page_size: 2}}
        version_column: updated_at
        mapping: {{pripid: id, ent_name: name, legal_rep: rep}}
""", encoding="utf-8")
        results = run("api")
    assert current_rows(url, "api") == {"H1": ("甲公司（更正）", "张三"), "H2": ("乙公司", "李四")}
    assert sum(r["superseded"] for r in results) == 1
