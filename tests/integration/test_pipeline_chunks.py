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
from huiju.settings import load_settings

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


def analyses_of(url: str, dataset: str) -> int:
    """How often a core table was analysed by hand (autovacuum's are counted apart)."""
    return query(url, "SELECT analyze_count FROM pg_stat_user_tables WHERE schemaname = 'core' "
                      "AND relname = :t", t=dataset)[0]["analyze_count"]


def without_batch(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "batch_id"} for row in rows]


# The SQL feed also into PostgreSQL, where each chunk is read while the one before loads.
CASES = [("csv_drop", "sqlite"), ("sql_with_overlap", "sqlite"),
         pytest.param("sql_with_overlap", "postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize(("name", "store"), CASES)
def test_a_first_load_streams_in_chunks_and_ends_as_one_run(built, monkeypatch, tmp_path, name,
                                                             store, request):
    department_file, old, new, key = FEEDS[name]
    urls = ([None, None] if store == "sqlite"
            else [request.getfixturevalue("pg_url"), request.getfixturevalue("second_pg_url")])
    whole_url = use_workspace(monkeypatch, built, tmp_path / "whole", warehouse_url=urls[0])
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
                                warehouse_url=urls[1], departments=departments)
    assert pipeline.reads_ahead(key, load_settings()) == (store == "postgres")
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

    if store == "postgres":
        # the run ended by analysing the core table it filled (warehouse.statistics), once
        assert analyses_of(chunked_url, key.dataset) == 1

    # a rerun finds nothing new: the chunks' cursors cover the source
    (again,) = pipeline.run_feed(key, run_id="again", raise_on_threshold=False)
    assert again["inserted"] == again["updated"] == again["deleted"] == 0
    if store == "postgres":
        assert analyses_of(chunked_url, key.dataset) == 1


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


# --------------------------------------------------------------------------- reading ahead


def _chunked_sql(monkeypatch, built, tmp_path, url: str) -> pipeline.FeedKey:
    """The SQL feed with small chunks, into ``url``."""
    department_file, old, new, key = FEEDS["sql_with_overlap"]
    departments = write_departments(tmp_path / "departments", built.home, built.server.url,
                                    {department_file: {old: new}})
    use_workspace(monkeypatch, built, tmp_path / "run", warehouse_url=url,
                  departments=departments)
    monkeypatch.setenv("HUIJU_CHUNK_ROWS", str(CHUNK))
    return key


def _committed(url: str, key: pipeline.FeedKey) -> list[str]:
    return [b["batch_id"] for b in batches_of(url, key)]


@pytest.mark.postgres
def test_the_next_chunk_is_read_while_the_one_before_loads_and_commits_after_it(
        built, monkeypatch, tmp_path, pg_url):
    """Each load waits until the next chunk's extract has begun (it would wait in vain were
    the chunks taken one after another): every load but the last overlaps the next read, and
    the batches still commit in order, one at a time, numbered one after another."""
    import threading

    key = _chunked_sql(monkeypatch, built, tmp_path, pg_url)
    extracts: list[threading.Event] = []
    overlapped: list[bool] = []
    committed_at_extract: list[list[str]] = []
    extract, load = pipeline.extract, pipeline.load

    def noted_extract(*args, **kwargs):
        committed_at_extract.append(_committed(pg_url, key))
        extracts.append(threading.Event())
        extracts[-1].set()
        return extract(*args, **kwargs)

    def waiting_load(validated, **kwargs):
        number = len(overlapped)
        # the extract after this chunk's is the one this load should run beside
        overlapped.append(validated["more"] and _wait_for(extracts, number + 1))
        return load(validated, **kwargs)

    monkeypatch.setattr(pipeline, "extract", noted_extract)
    monkeypatch.setattr(pipeline, "load", waiting_load)
    results = pipeline.run_feed(key, run_id="ahead", raise_on_threshold=False)

    assert len(results) > 2
    assert overlapped == [True] * (len(results) - 1) + [False]
    ids = [r["batch_id"] for r in results]
    assert ids == _committed(pg_url, key) == sorted(ids)
    assert [int(i[8:]) for i in ids] == list(range(int(ids[0][8:]), int(ids[0][8:]) + len(ids)))
    # chunk k+1 was read while batch k had not committed: k-1 batches were in
    assert [len(c) for c in committed_at_extract] == [0, *range(len(results) - 1)]


def _wait_for(events: list, index: int, seconds: float = 20.0) -> bool:
    """Whether ``events[index]`` comes into being and is set within ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(events) > index and events[index].wait(0.05):
            return True
        time.sleep(0.01)
    return False


@pytest.mark.postgres
def test_a_failed_load_stops_the_run_and_the_chunk_read_ahead_is_not_loaded(
        built, monkeypatch, tmp_path, pg_url, second_pg_url):
    """The second batch's load fails while the third chunk is read: the run fails with that
    error, the first batch stays committed and reported, nothing after it is loaded, and a
    rerun loads every row once."""
    whole_url = use_workspace(monkeypatch, built, tmp_path / "whole",
                              warehouse_url=second_pg_url)
    (whole,) = pipeline.run_feed(FEEDS["sql_with_overlap"][3], run_id="whole",
                                 raise_on_threshold=False)
    key = _chunked_sql(monkeypatch, built, tmp_path, pg_url)
    load_batch = pipeline.load_batch
    calls: list[str] = []

    def failing(engine, request):
        calls.append(request.batch_id)
        if len(calls) == 2:
            raise RuntimeError(f"warehouse lost while loading {request.batch_id}")
        return load_batch(engine, request)

    monkeypatch.setattr(pipeline, "load_batch", failing)
    results: list[dict] = []
    with pytest.raises(RuntimeError, match="warehouse lost while loading"):
        pipeline.run_feed(key, run_id="broken", raise_on_threshold=False, results=results)
    assert [r["batch_id"] for r in results] == calls[:1] == _committed(pg_url, key)
    assert len(calls) == 2   # the chunk read ahead was never loaded

    monkeypatch.setattr(pipeline, "load_batch", load_batch)
    rest = pipeline.run_feed(key, run_id="rerun", raise_on_threshold=False)
    batches = batches_of(pg_url, key)
    assert len(rest) == len(batches) - 1
    assert sum(b["extracted"] for b in batches) == whole["extracted"]
    assert without_batch(core_rows(pg_url, key.dataset, key.department)) == without_batch(
        core_rows(whole_url, key.dataset, key.department))


@pytest.mark.postgres
def test_a_failed_read_ahead_lets_the_load_before_it_commit_first(
        built, monkeypatch, tmp_path, pg_url):
    """The third chunk's extract fails while the second batch loads: that load still commits
    and is reported before the run fails with the extract's error."""
    key = _chunked_sql(monkeypatch, built, tmp_path, pg_url)
    extract = pipeline.extract
    passes: list[int] = []

    def failing(*args, **kwargs):
        passes.append(len(passes))
        if len(passes) == 3:
            raise ConnectionError("legacy database went away")
        return extract(*args, **kwargs)

    monkeypatch.setattr(pipeline, "extract", failing)
    results: list[dict] = []
    with pytest.raises(ConnectionError, match="legacy database went away"):
        pipeline.run_feed(key, run_id="broken", raise_on_threshold=False, results=results)
    assert len(results) == 2
    assert [r["batch_id"] for r in results] == _committed(pg_url, key)


@pytest.mark.postgres
def test_only_a_sql_feed_into_postgresql_without_versions_reads_ahead(built, monkeypatch,
                                                                    tmp_path, pg_url):
    """Files and APIs would archive input read ahead; a version_column feed compares with the
    versions the chunk before may be writing; SQLite takes one writer or readers."""
    use_workspace(monkeypatch, built, tmp_path / "pg", warehouse_url=pg_url)
    settings = load_settings()
    department = pipeline.find_department("GS-SCJG", settings)
    kinds = {pipeline.FeedKey(department.code, source.id, feed.dataset):
             (source.kind, feed.version_column) for source, feed in department.feeds()}
    for key, (kind, version_column) in kinds.items():
        assert pipeline.reads_ahead(key, settings) == (kind == "sql" and not version_column)
    assert any(kind == "sql" for kind, _ in kinds.values())
    assert not pipeline.reads_ahead(pipeline.FeedKey("LZ-SJJ", "drop_folder", "site"),
                                    settings)
    department_file, old, _, key = FEEDS["sql_with_overlap"]
    versioned = write_departments(tmp_path / "versioned", built.home, built.server.url, {
        department_file: {old: old + "\n        version_column: 更新时间"}})
    use_workspace(monkeypatch, built, tmp_path / "pg", warehouse_url=pg_url,
                  departments=versioned)
    assert pipeline.find_feed(pipeline.find_department("GS-SCJG", load_settings()),
                              key.source, key.dataset)[1].version_column == "更新时间"
    assert not pipeline.reads_ahead(key, load_settings())
    use_workspace(monkeypatch, built, tmp_path / "sqlite")
    assert not any(pipeline.reads_ahead(key, load_settings()) for key in kinds)
