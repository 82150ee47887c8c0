"""A first load streams in bounded chunks with no configuration (issue 15, memory flat).

The run holds one chunk at a time: ``HUIJU_CHUNK_ROWS`` (default 50,000) rows, each chunk
committed as its own batch with its cursor, until the source is drained. The proof here needs
no timing and no memory reading: with a small chunk, every batch the warehouse records holds
at most a chunk plus one connector batch (the rows the pipeline held at once), there are many
of them, and the warehouse ends exactly as one unchunked run leaves it — for a SQL feed that
re-reads an ``overlap`` (which must not re-read a whole chunk forever) and for a CSV drop.
The department files say nothing of chunks: only the connectors' read size is made small.
"""

from __future__ import annotations

import os

import pytest
from pipeline_support import (
    LegacyHome,
    core_rows,
    legacy_home,
    quarantine_rules,
    query,
    use_workspace,
    write_departments,
)

from connectors.files import FileSource
from huiju import pipeline

CHUNK = 5
READ = 2  # connector batch size: a chunk ends with the batch that reaches CHUNK rows

# (department file, old text, new text, feed key)
FEEDS = {
    "sql_with_overlap": (
        "gs_scjg.yaml",
        "extract: {table: 行政处罚案件, primary_key: [案件编号], cursor_column: 更新时间, "
        "overlap: 300}",
        "extract: {table: 行政处罚案件, primary_key: [案件编号], cursor_column: 更新时间, "
        f"overlap: 300, batch_size: {READ}}}",
        pipeline.FeedKey("GS-SCJG", "case_db", "penalty")),
    "csv_drop": (
        "lz_sjj.yaml",
        'extract: {patterns: ["水库名录_*.csv"]}',
        f'extract: {{patterns: ["水库名录_*.csv"], batch_size: {READ}}}',
        pipeline.FeedKey("LZ-SJJ", "drop_folder", "site")),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> LegacyHome:
    with legacy_home(tmp_path_factory.mktemp("legacy")) as home:
        yield home


def batches_of(url: str, key: pipeline.FeedKey) -> list[dict]:
    return query(url, "SELECT batch_id, extracted, passed, quarantined, superseded, cursor "
                      "FROM audit.batch WHERE department_code = :d AND dataset = :s "
                      "ORDER BY batch_id", d=key.department, s=key.dataset)


def without_batch(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "batch_id"} for row in rows]


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_a_first_load_streams_in_chunks_and_ends_as_one_run(built, monkeypatch, tmp_path, name):
    department_file, old, new, key = FEEDS[name]
    whole_url = use_workspace(monkeypatch, built, tmp_path / "whole")
    (whole,) = pipeline.run_feed(key, run_id="whole", raise_on_threshold=False)

    archive = tmp_path / "chunked_archive"
    edits = {old: new}
    if name == "csv_drop":
        # write_departments keeps the shipped folders relative to the copy's folder
        to_var = os.path.relpath(built.home / "var", tmp_path / "departments")
        edits[f"archive_dir: {to_var}/archive/lz_sjj"] = f"archive_dir: {archive}"
    departments = write_departments(tmp_path / "departments", built.home, built.server.url,
                                    {department_file: edits})
    chunked_url = use_workspace(monkeypatch, built, tmp_path / "chunked",
                                departments=departments)
    monkeypatch.setenv("HUIJU_CHUNK_ROWS", str(CHUNK))
    parsed: list[str] = []
    parse = FileSource._parse

    def counting_parse(self, path, data, fmt):
        parsed.append(path.name)
        return parse(self, path, data, fmt)

    monkeypatch.setattr(FileSource, "_parse", counting_parse)
    results = pipeline.run_feed(key, run_id="chunked", raise_on_threshold=False)

    batches = batches_of(chunked_url, key)
    assert len(results) == len(batches)
    assert len(batches) >= whole["extracted"] // (CHUNK + READ - 1)
    # what the pipeline held at once: a chunk, ended by the connector batch that reached it
    assert max(b["extracted"] for b in batches) <= CHUNK + READ - 1
    assert sum(b["extracted"] for b in batches) == whole["extracted"]
    for batch in batches:
        assert batch["extracted"] == batch["passed"] + batch["quarantined"] + batch["superseded"]
    assert all(r["drain"] for r in results[:-1]) and not results[-1]["more"]
    # the same rows as the unchunked run, written by several of the chunks
    rows = core_rows(chunked_url, key.dataset, key.department)
    assert len({r["batch_id"] for r in rows}) > 1
    assert without_batch(rows) == without_batch(core_rows(whole_url, key.dataset,
                                                          key.department))
    assert quarantine_rules(chunked_url, key.department, key.dataset) == quarantine_rules(
        whole_url, key.department, key.dataset)

    if name == "csv_drop":
        # one run keeps its read of the drop folder open from chunk to chunk: each file is
        # parsed once, not once per chunk, and every file is archived once its last row is in
        files = sorted(p.name for p in built.lz_drop.glob("水库名录_*.csv"))
        assert sorted(parsed) == files
        assert sorted(p.name.split("__", 1)[1] for p in archive.iterdir()) == files

    # a rerun finds nothing new: the chunks' cursors cover the source
    (again,) = pipeline.run_feed(key, run_id="again", raise_on_threshold=False)
    assert again["inserted"] == again["updated"] == again["deleted"] == 0


def test_an_airflow_load_task_drains_the_source_chunk_by_chunk(built, monkeypatch, tmp_path):
    """The DAG's extract stages one chunk; its load task goes on until the source is drained,
    so one DAG run loads a first load of any size. A feed's own max_rows_per_run still loads
    one batch per DAG run."""
    from huiju.dag_factory import load_feed

    department_file, old, new, key = FEEDS["csv_drop"]
    departments = write_departments(tmp_path / "departments", built.home, built.server.url,
                                    {department_file: {old: new}})
    url = use_workspace(monkeypatch, built, tmp_path / "drained", departments=departments)
    monkeypatch.setenv("HUIJU_CHUNK_ROWS", str(CHUNK))
    extracted = pipeline.extract(key.department, key.source, key.dataset, run_id="dag")
    assert extracted["drain"] and extracted["extracted"] <= CHUNK + READ - 1
    accounting = load_feed(pipeline.validate(extracted))
    batches = batches_of(url, key)
    assert len(batches) == 1 + len(accounting["continued"]) > 2
    assert not accounting["continued"][-1]["more"]
    total = sum(b["extracted"] for b in batches)

    capped_edit = {department_file: {old: new + "\n        max_rows_per_run: 3"}}
    capped = write_departments(tmp_path / "capped", built.home, built.server.url, capped_edit)
    url = use_workspace(monkeypatch, built, tmp_path / "capped_run", departments=capped)
    extracted = pipeline.extract(key.department, key.source, key.dataset, run_id="dag")
    assert extracted["more"] and not extracted["drain"]
    accounting = load_feed(pipeline.validate(extracted))
    assert "continued" not in accounting
    assert len(batches_of(url, key)) == 1 and accounting["extracted"] < total
