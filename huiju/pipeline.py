"""Extract → validate → load for one feed (a department's source feeding one data set).

These three functions are the tasks: the Airflow DAGs call them one per task and ``huiju run``
calls them in-process, so both paths run the same code. They hand each other small JSON dicts
(paths of Parquet files under the staging folder and counts), never data frames, so an Airflow
worker on another machine only needs the shared staging folder.

The accounting of a feed run is: extracted = passed + quarantined + superseded, checked by
validation and again by the warehouse before anything is written.
"""

from __future__ import annotations

import contextvars
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from connectors.base import Batch
from connectors.base import Source as Connector
from connectors.registry import kind as connector_kind

# (expectations.validate imports Great Expectations, which must come before Airflow, when
# HUIJU_VALIDATION_ENGINE=gx)
from expectations.validate import ThresholdBreached, Thresholds, validate_frame
from huiju import jsonlog, progress
from huiju.departments import Department, Feed, LegacySystem, load_departments
from huiju.errors import UnknownName
from huiju.mapping import frame_dtype, map_batches, mapped_columns
from huiju.settings import Settings, load_settings
from huiju.versions import order_by_version, stale_rows
from schemas.catalog import all_fields
from schemas.catalog import dataset as dataset_spec
from schemas.frames import LOAD_QUARANTINE_COLUMNS, RAW_COLUMNS, RECORD, SOURCE_REF
from warehouse import statistics
from warehouse.engine import create_warehouse_engine
from warehouse.load import LoadRequest, load_batch
from warehouse.state import batch_counts, next_batch_id, read_cursor

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedKey:
    """Names one feed: which department's source fills which data set."""

    department: str
    source: str
    dataset: str

    def as_dict(self) -> dict[str, str]:
        """The key as the JSON dict tasks pass along."""
        return {"department": self.department, "source": self.source, "dataset": self.dataset}

    @property
    def label(self) -> str:
        """How progress names the feed: ``GS-SCJG case_db → penalty``."""
        return f"{self.department} {self.source} → {self.dataset}"


# --------------------------------------------------------------------------- lookup


def find_department(code: str, settings: Settings | None = None) -> Department:
    """The department with ``code`` in the settings' departments folder (KeyError if none)."""
    settings = settings or load_settings()
    for department in load_departments(settings.departments_dir):
        if department.code == code:
            return department
    known = ", ".join(sorted(d.code for d in load_departments(settings.departments_dir)))
    raise UnknownName(f"no department {code!r} in {settings.departments_dir} "
                      f"(known: {known or 'none'})")


def find_feed(department: Department, source_id: str, dataset: str) -> tuple[LegacySystem, Feed]:
    """The department's source ``source_id`` and its feed of ``dataset`` (KeyError if none)."""
    source = department.source(source_id)
    for feed in source.feeds:
        if feed.dataset == dataset:
            return source, feed
    raise UnknownName(f"{department.code}: source {source_id!r} does not feed {dataset!r}")


def feeds_of(department: Department, datasets: list[str] | None = None) -> list[FeedKey]:
    """Every feed of the department, optionally only those filling ``datasets``."""
    keys = [FeedKey(department.code, source.id, feed.dataset)
            for source, feed in department.feeds()]
    if datasets:
        unknown = set(datasets) - {key.dataset for key in keys}
        if unknown:
            raise UnknownName(f"{department.code} feeds no data set {sorted(unknown)}")
        keys = [key for key in keys if key.dataset in datasets]
    return keys


def open_connector(department: Department, source: LegacySystem, feed: Feed,
                   settings: Settings, *, exact: bool = False) -> Connector:
    """The connector for ``feed``, as its kind in ``connectors.registry`` builds it.

    A kind's archive folder defaults to ``<archive dir>/<department>/<source>``. Its path
    fields (``connectors.registry``: the kind's ``paths``) come absolute from a department
    file (``load_department`` anchors them to the file's folder); one still relative — a
    department built in memory, with no file — is relative to HUIJU_HOME, never to the
    process's directory.

    A connector that can reject one input on its own (``expect_columns``: a files source
    rejects a file whose header lacks a mapped column, the other files load) is told the
    columns the mapping reads; any other non-sparse source lacking one fails the feed in
    mapping.

    ``exact``: resume exactly where the cursor points, without re-reading an ``overlap`` — the
    next chunk of a run that is under way (the overlap is for rows committed late in the
    source between runs; re-read on every chunk it could hold a whole chunk and never move on).
    """
    kind = connector_kind(source.kind)
    config = feed.connector_config
    updates: dict[str, object] = {}
    if exact and getattr(config, "overlap", None):
        updates["overlap"] = 0
    if kind.archive and getattr(config, kind.archive) is None:
        updates[kind.archive] = str(settings.archive_dir / department.code / source.id)
    for name in kind.paths:
        value = updates.get(name, getattr(config, name))
        if value is not None and not Path(value).is_absolute():
            updates[name] = str(settings.home / value)
    connector = kind.open(config.model_copy(update=updates) if updates else config)
    if not kind.sparse and hasattr(connector, "expect_columns"):
        connector.expect_columns(mapped_columns(feed))
    return connector


@cache
def code_version() -> str:
    """Package version and, in a git checkout, the commit: stored with every batch."""
    version = metadata.version("huiju")
    git = shutil.which("git")
    if git:
        here = Path(__file__).resolve().parent
        found = subprocess.run([git, "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                               capture_output=True, text=True, check=False)
        if found.returncode == 0:
            version = f"{version}+{found.stdout.strip()}"
    return version


# --------------------------------------------------------------------------- staging


# Staged files hold whole records (ID numbers included): only the service user may read them,
# and they go once their batch commits (a batch that never commits leaves them for a rerun).
STAGE_MODE = 0o700


def _stage_dir(settings: Settings, run_id: str, key: FeedKey, batch_id: str) -> Path:
    # One folder per batch: a run may stage a chunk while the one before still loads.
    safe_run = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return (settings.staging_dir / safe_run / key.department / key.source / key.dataset
            / batch_id)


def _make_stage(settings: Settings, stage: Path) -> None:
    """Create ``stage`` and its parents under the staging root, readable by this user only."""
    for folder in [*reversed(stage.relative_to(settings.staging_dir).parents), Path(".")][1:]:
        settings.staging_dir.joinpath(folder).mkdir(mode=STAGE_MODE, parents=True,
                                                    exist_ok=True)
    stage.mkdir(mode=STAGE_MODE, parents=True, exist_ok=True)
    settings.staging_dir.chmod(STAGE_MODE)


def _write(frame: pd.DataFrame, path: Path) -> str:
    # Written once and read once by the next task: neither compressed nor dictionary-encoded
    # (pyarrow tries a dictionary for every string column, the record JSON and the hashes
    # included — the staging write was 12 % of a first load's profile).
    frame.to_parquet(path, index=False, compression="none", use_dictionary=False,
                     write_statistics=False)
    path.chmod(0o600)
    return str(path)


def _records(path: str, *positions: np.ndarray) -> list[list[str]]:
    """The canonical JSON of the staged frame's rows at each array of ``positions``: that
    column read alone, and once."""
    if not any(len(rows) for rows in positions):
        return [[] for _ in positions]
    column = pq.read_table(path, columns=[RECORD]).column(RECORD)
    return [column.take(pa.array(rows)).to_pylist() if len(rows) else [] for rows in positions]


def _remove_stage(settings: Settings, stage: Path) -> None:
    """Remove a committed batch's staged files, and the run's folders left empty."""
    shutil.rmtree(stage, ignore_errors=True)
    for folder in stage.parents:
        if folder == settings.staging_dir or settings.staging_dir not in folder.parents:
            break
        try:
            folder.rmdir()
        except OSError:  # not empty: another feed of the run is still staged
            break


def _read_standard(path: str, dataset: str, without: tuple[str, ...] = ()) -> pd.DataFrame:
    """A standard frame back from Parquet, with the dtypes mapping gave it (``without``
    the columns named)."""
    columns = [c for c in pq.read_schema(path).names if c not in without] if without else None
    frame = pd.read_parquet(path, columns=columns)
    for field in all_fields(dataset_spec(dataset)):
        if field.name in frame.columns:
            frame[field.name] = frame[field.name].astype(frame_dtype(field))
    return frame


# --------------------------------------------------------------------------- the three tasks


@dataclass
class OpenRead:
    """A connector read kept open between the chunks of one in-process run (``run_feed``).

    A file is parsed once, not once per chunk (resuming a file in the middle re-parses it up
    to the cursor), and an API's pages are not fetched again. The read goes on only when the
    warehouse's cursor is the one this read reached (``cursor``): the chunk before committed,
    nothing else moved the feed. SQL reads are not kept: a server-side cursor left waiting
    while a chunk loads may be cut by the server (``net_write_timeout``), and keyset
    pagination resumes a table cheaply anyway.
    """

    batches: Iterator[Batch] | None = None
    cursor: dict | None = None

    def take(self, saved_cursor: dict | None) -> Iterator[Batch] | None:
        """The open read if it goes on from ``saved_cursor``, else None (and forget it)."""
        batches, self.batches = self.batches, None
        if batches is not None and self.cursor == saved_cursor:
            return batches
        return None


KEEPS_READ_OPEN = ("files", "http")


@jsonlog.task
def extract(department_code: str, source_id: str, dataset: str, *, run_id: str,
            interval_start: str | None = None, interval_end: str | None = None,
            settings: Settings | None = None,
            on_rows: Callable[[int], None] | None = None,
            on_batch: Callable[[str], None] | None = None, continuing: bool = False,
            reading: OpenRead | None = None, after: dict | None = None) -> dict:
    """Read the feed's next chunk of new rows, map them to the standard frame, stage them.

    Resumes after the cursor committed with the feed's last loaded batch, and reads at most
    one chunk (``settings.chunk_rows`` rows or ``chunk_bytes`` of source data, or the feed's
    ``max_rows_per_run`` when smaller), so a first load of any size holds one chunk at a time:
    ``more`` says the source may hold more, ``drain`` that the same run must go on (a chunk
    bound, not a feed with its own cap per run: an Airflow run of such a feed loads one batch
    of at most ``min(max_rows_per_run, chunk_rows)``). ``continuing``: a later chunk of a run
    under way (resumed exactly, see ``open_connector``); ``reading`` carries a file or API
    read from one chunk of an in-process run to the next (``OpenRead``). Rows the source could
    not parse are kept (as issues), so they are counted and quarantined downstream.
    ``interval_start``/``interval_end`` (ISO timestamps) restrict a SQL feed with a cursor
    column to that period — a backfill of exactly that range, leaving the cursor as it was.
    File and API feeds have no period to select by (a drop folder holds what was sent): in a
    period run they extract what is new since their cursor, as a scheduled run would.
    ``settings`` default to the environment's (``huiju.settings``), as in an Airflow task.
    ``on_rows`` hears the rows of each connector batch as it is read and ``on_batch`` the
    warehouse batch id they go into (for progress); without them (an Airflow task) the rows
    are told to ``huiju.progress``: the progress this process shows, else the task's log.
    ``after``: the chunk before, as extracted, whose load has not committed yet (``run_feed``
    loads it while this one is read): this chunk goes on from its cursor, numbered after it.
    """
    _fix_mmap_threshold()
    settings = settings or load_settings()
    department = find_department(department_code, settings)
    source, feed = find_feed(department, source_id, dataset)
    key = FeedKey(department.code, source.id, dataset)
    spec = dataset_spec(dataset)
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        saved_cursor = (after["cursor"] if after is not None
                        else read_cursor(engine, key.department, key.source, key.dataset))
        batch_id = next_batch_id(engine, key.department, key.source, key.dataset,
                                 datetime.now(UTC).date(),
                                 after=after["batch_id"] if after is not None else None)
    finally:
        engine.dispose()
    if on_rows is None:
        told = progress.for_task(key.label, _log)
        told.step("extract")
        on_rows, on_batch = told.read, told.batch
    if on_batch is not None:
        on_batch(batch_id)
    connector = open_connector(department, source, feed, settings, exact=continuing)
    # A period run reads its window from the start and leaves the feed's cursor as it was.
    period = (interval_start is not None or interval_end is not None) and _has_period(source, feed)
    if period:
        connector = _windowed(source, feed, interval_start, interval_end)
    if source.kind == "sql":
        connector = _fastest_sql(connector)

    # A period has no cursor to go on from: it is read whole.
    warnings: list[str] = []
    kept = reading.take(saved_cursor) if reading is not None and not period else None
    read = kept if kept is not None else connector.read(None if period else saved_cursor)
    batches = _noting(read, warnings, on_rows)
    cap = feed.max_rows_per_run
    max_rows = None if period else min(cap or settings.chunk_rows, settings.chunk_rows)
    run = map_batches(batches, feed, spec, department, batch_id, max_rows=max_rows,
                      sparse=connector_kind(source.kind).sparse,
                      max_bytes=None if period else settings.chunk_bytes)
    if reading is not None and not run.drained and source.kind in KEEPS_READ_OPEN:
        reading.batches, reading.cursor = read, run.cursor
    for warning in warnings:
        _log.warning("%s/%s/%s: %s", key.department, key.source, key.dataset, warning)
    if run.frame is not None:
        check_unique_refs(run.frame["_source_ref"], key)
        if feed.version_column:
            # newest version last, so that validation's "last row of a key wins" keeps it
            run.frame, run.issues, ties = order_by_version(run.frame, run.issues,
                                                           feed.version_column, spec)
            warnings.extend(ties)
    cursor = run.cursor if run.batches and not period else saved_cursor
    stage = _stage_dir(settings, run_id, key, batch_id)
    _make_stage(settings, stage)
    frame = run.frame if run.frame is not None else _empty_frame(dataset)
    issue_frame = (run.issues if run.issues is not None
                   else pd.DataFrame({"row": pd.Series([], dtype="int64")}))
    _log.info("%s/%s/%s: extracted %d rows as batch %s", key.department, key.source,
              key.dataset, run.rows, batch_id)
    return {**key.as_dict(), "run_id": run_id, "batch_id": batch_id, "extracted": run.rows,
            "cursor": cursor, "more": not run.drained,
            "drain": not run.drained and cap is None, "warnings": warnings,
            "frame": _write(frame, stage / "frame.parquet"),
            "issues": _write(issue_frame, stage / "issues.parquet"),
            "extracted_at": datetime.now(UTC).isoformat()}


def _fastest_sql(connector: Connector) -> Connector:
    """A SQL source read through connectorx into Arrow where that gives the same values
    (``connectors.sql_arrow.fastest``: MariaDB/MySQL and PostgreSQL); PyMySQL's row decoding
    in Python was the largest cost of a first load (benchmarks/README.md)."""
    from connectors.sql_arrow import fastest

    return fastest(connector)


def _noting(batches: Iterator[Batch], warnings: list[str],
            on_rows: Callable[[int], None] | None = None) -> Iterator[Batch]:
    """The batches as they come, their warnings collected into ``warnings``."""
    for batch in batches:
        warnings.extend(batch.warnings)
        if on_rows is not None:
            on_rows(batch.num_rows + len(batch.errors))
        yield batch


class DuplicateSourceRefs(ValueError):
    """One extraction names a source row twice: the batch could not be accounted for."""


def check_unique_refs(refs: pd.Series, key: FeedKey) -> None:
    """Raise DuplicateSourceRefs naming the references that occur more than once."""
    repeated = refs[refs.duplicated(keep=False)]
    if len(repeated):
        names = sorted(set(repeated))
        raise DuplicateSourceRefs(
            f"{key.department}/{key.source}/{key.dataset}: {len(names)} source references occur "
            f"more than once in one extraction: {', '.join(names[:10])}"
            + (" …" if len(names) > 10 else "")
            + " — a ref must name one source row (a SQL view or query whose rows share the "
              "primary key: set unique_key: false; an API: check id_field)")


def _has_period(source: LegacySystem, feed: Feed) -> bool:
    """Whether the feed's rows can be selected by period (its kind has periods and a cursor)."""
    if connector_kind(source.kind).can_select_period(feed.connector_config):
        return True
    _log.info("%s/%s: no cursor column to select a period by; extracting what is new",
              source.id, feed.dataset)
    return False


def _windowed(source: LegacySystem, feed: Feed, start: str | None, end: str | None) -> Connector:
    """A connector reading only rows whose cursor column lies in [start, end)."""
    kind = connector_kind(source.kind)
    if not kind.can_select_period(feed.connector_config):
        raise ValueError(f"{source.id}/{feed.dataset}: a period can only be extracted from a "
                         "feed whose kind selects periods (sql) with a cursor column")
    return kind.open(kind.with_period(feed.connector_config, start, end))


def _empty_frame(dataset: str) -> pd.DataFrame:
    spec = dataset_spec(dataset)
    columns = {f.name: pd.Series([], dtype=frame_dtype(f)) for f in all_fields(spec)}
    for name in RAW_COLUMNS:
        columns[name] = pd.Series([], dtype="str")
    return pd.DataFrame(columns)


@jsonlog.task
def validate(extracted: dict, *, settings: Settings | None = None) -> dict:
    """Run the data set's suite on the staged frame; stage passed, quarantined, superseded."""
    _fix_mmap_threshold()
    settings = settings or load_settings()
    department = find_department(extracted["department"], settings)
    name = extracted["dataset"]
    _tell_shown(extracted, "validate")
    # Without the rows' canonical JSON (the widest column: the load lands it from the frame
    # file): validation does not read it, and the passed rows staged for the load need not
    # carry a copy. The quarantine takes it for its rows only, below.
    frame = _read_standard(extracted["frame"], name, without=(RECORD,))
    issues = pd.read_parquet(extracted["issues"])
    outcome = validate_frame(frame, dataset_spec(name), issues if len(issues) else None,
                             validation_thresholds(department, name),
                             engine=settings.validation_engine)
    _, feed = find_feed(department, extracted["source"], name)
    quarantine = outcome.quarantine.copy()
    rows = quarantine["row"].to_numpy(dtype="int64")
    if feed.version_column:   # the passed rows' versions are read from their JSON too
        passed_records, quarantine[RECORD] = _records(
            extracted["frame"], outcome.passed.index.to_numpy(), rows)
        _supersede_stale(outcome, passed_records, feed.version_column, dataset_spec(name),
                         extracted["department"], settings)
    else:
        quarantine[RECORD] = _records(extracted["frame"], rows)[0]
    stage = Path(extracted["frame"]).parent
    quarantine["record_id"] = frame["record_id"].to_numpy()[rows] if len(rows) else []
    result = {**extracted, **{k: int(v) for k, v in outcome.counts.items()},
              "passed_rows": _write(outcome.passed, stage / "passed.parquet"),
              "quarantine": _write(quarantine, stage / "quarantine.parquet"),
              "superseded_rows": _write(outcome.superseded, stage / "superseded.parquet"),
              "failures_by_rule": outcome.failures_by_rule,
              "threshold_breached": outcome.threshold_breached}
    return result


def _supersede_stale(outcome, records: list[str], column: str, spec, department_code: str,
                     settings: Settings) -> None:
    """Passed rows older than the version the warehouse holds become superseded (by it);
    ``records``: the passed rows' canonical JSON, which holds their legacy version."""
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        with engine.connect() as conn:
            stale = stale_rows(conn, outcome.passed, records, spec, department_code, column)
    finally:
        engine.dispose()
    if not len(stale):
        return
    older = outcome.passed.iloc[stale].assign(superseded_by=-1)   # -1: the warehouse's row
    outcome.passed = outcome.passed.drop(index=outcome.passed.index[stale])
    outcome.superseded = pd.concat([outcome.superseded, older])
    outcome.counts["passed"] -= len(stale)
    outcome.counts["superseded"] += len(stale)
    _log.info("%s: %d rows older than the warehouse's version of their record superseded",
              spec.name, len(stale))


def validation_thresholds(department: Department, dataset: str) -> Thresholds:
    """The department's quarantine thresholds for ``dataset``, as validation takes them."""
    configured = department.thresholds_for(dataset)
    return Thresholds(max_count=configured.max_quarantined, max_ratio=configured.max_ratio,
                      min_batch_size=configured.min_batch_size)


@jsonlog.task
def load(validated: dict, *, raise_on_threshold: bool = True,
         settings: Settings | None = None) -> dict:
    """Load the validated batch into the warehouse in one transaction; return its accounting.

    Raises ThresholdBreached *after* loading when the batch quarantined more than the
    department allows (unless ``raise_on_threshold`` is False, for callers that report it
    themselves): the run fails visibly, and what was quarantined is kept.
    """
    _fix_mmap_threshold()
    settings = settings or load_settings()
    department = find_department(validated["department"], settings)
    name = validated["dataset"]
    shown = _tell_shown(validated, "load")
    if not Path(validated["frame"]).exists():
        return _committed_accounting(settings, validated)
    # Arrow-backed: the rows' canonical JSON (the widest column) goes to the raw landing as
    # the Arrow buffer it was stored as, not as a Python string per row.
    frame = pq.read_table(validated["frame"], columns=list(RAW_COLUMNS)).to_pandas(
        types_mapper=pd.ArrowDtype)
    quarantine = pd.read_parquet(validated["quarantine"])
    request = LoadRequest(
        dataset=name, department_code=validated["department"],
        source_id=validated["source"], batch_id=validated["batch_id"],
        rows=_read_standard(validated["passed_rows"], name),
        raw=frame,
        quarantine=quarantine[[*LOAD_QUARANTINE_COLUMNS, "record_id"]],
        superseded=_read_standard(validated["superseded_rows"], name),
        extracted=int(validated["extracted"]), cursor=validated["cursor"],
        code_version=code_version(), config_hash=department.config_hash,
        run_id=validated["run_id"],
        extracted_at=datetime.fromisoformat(validated["extracted_at"]),
        notes=list(validated.get("warnings") or []),
    )
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        result = load_batch(engine, request)
        if not validated.get("more"):
            # the run's last batch (every earlier one has committed): the table it changed
            # gets fresh planner statistics if the run changed much of it
            statistics.refresh_after_run(engine, dataset_spec(name), request)
    finally:
        engine.dispose()
    _remove_stage(settings, Path(validated["frame"]).parent)
    accounting = {
        **{k: validated[k] for k in ("department", "source", "dataset", "batch_id", "run_id")},
        "extracted": request.extracted, "loaded": len(request.rows),
        "quarantined": int(quarantine[SOURCE_REF].nunique()),
        "superseded": len(request.superseded),
        "inserted": result.inserted, "updated": result.updated, "deleted": result.deleted,
        "unchanged": result.unchanged, "already_loaded": result.already_loaded,
        "threshold_breached": validated.get("threshold_breached"),
        "more": bool(validated.get("more")), "drain": bool(validated.get("drain")),
        "warnings": list(validated.get("warnings") or []),
    }
    _log.info("%s", accounting_line(accounting))
    if shown is not None:
        shown.done(f"loaded {accounting['loaded']}, quarantined {accounting['quarantined']}, "
                   f"superseded {accounting['superseded']}")
    if validated.get("threshold_breached") and raise_on_threshold:
        raise ThresholdBreached(validated["threshold_breached"])
    return accounting


def _tell_shown(staged: dict, step: str) -> progress.FeedProgress | None:
    """Tell the progress this process shows (``huiju demo``), if any, that ``step`` began."""
    shown = progress.shown_progress(
        FeedKey(staged["department"], staged["source"], staged["dataset"]).label)
    if shown is not None:
        shown.step(step)
    return shown


def accounting_line(accounting: dict) -> str:
    """A load's accounting in one line: the last a load task logs (Airflow's task log)."""
    a = accounting
    line = (f"accounting {a['department']}/{a['source']}/{a['dataset']} batch {a['batch_id']}: "
            f"extracted {a['extracted']} = loaded {a['loaded']} + quarantined "
            f"{a['quarantined']} + superseded {a['superseded']}; inserted {a['inserted']}, "
            f"updated {a['updated']}, deleted {a['deleted']}, unchanged {a['unchanged']}")
    if a.get("already_loaded"):
        line += " (committed before)"
    if a.get("threshold_breached"):
        line += f"; THRESHOLD BREACHED: {a['threshold_breached']}"
    return line


def _committed_accounting(settings: Settings, validated: dict) -> dict:
    """A load task run again after its batch committed and its staged files were removed."""
    engine = create_warehouse_engine(settings.warehouse_url)
    try:
        counts = batch_counts(engine, validated["department"], validated["source"],
                              validated["dataset"], validated["batch_id"])
    finally:
        engine.dispose()
    if counts is None:
        raise FileNotFoundError(
            f"{validated['frame']}: the staged batch {validated['batch_id']} is gone and was "
            "never loaded; run the feed again from extract")
    accounting = {
        **{k: validated[k] for k in ("department", "source", "dataset", "batch_id", "run_id")},
        "extracted": counts["extracted"], "loaded": counts["passed"],
        "quarantined": counts["quarantined"], "superseded": counts["superseded"],
        "inserted": counts["inserted"], "updated": counts["updated"],
        "deleted": counts["deleted"], "unchanged": counts["unchanged"],
        "already_loaded": True, "threshold_breached": validated.get("threshold_breached"),
        "more": bool(validated.get("more")), "drain": bool(validated.get("drain"))}
    _log.info("%s", accounting_line(accounting))
    return accounting


def run_feed(key: FeedKey, *, run_id: str, raise_on_threshold: bool = True,
             on_step: Callable[[str, int], None] | None = None,
             results: list[dict] | None = None,
             settings: Settings | None = None,
             on_rows: Callable[[int], None] | None = None,
             on_batch: Callable[[str], None] | None = None,
             continuing: bool = False) -> list[dict]:
    """Extract, validate and load one feed in this process until its source is drained.

    One batch per pass, one pass per chunk (``extract``): a first load of millions of rows is
    many batches, each committed with its cursor, and the process holds one at a time — two
    where the next chunk is read while the one before loads (``reads_ahead``). ``on_step``
    hears each task ("extract", "validate", "load") with the pass number, for progress.
    ``continuing``: this call goes on with a run under way (every pass resumes exactly). Each
    committed batch's accounting is appended to ``results`` as it commits, so a caller still
    has it when a later pass fails. ``settings`` (default: the environment's) name the
    warehouse and folders of every pass. ``on_rows`` hears each connector batch's rows and
    ``on_batch`` each pass's batch id.
    """
    settings = settings or load_settings()
    results = [] if results is None else results
    reading = OpenRead()
    step = on_step or (lambda name, number: None)
    ahead = reads_ahead(key, settings)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="huiju-load") as loader:
        loading: Future | None = None   # the chunk before, loading while this one is read
        before: dict | None = None      # that chunk as extracted: this one goes on after it
        passes = 0
        try:
            while True:
                step("extract", passes)
                extracted = extract(key.department, key.source, key.dataset, run_id=run_id,
                                    settings=settings, on_rows=on_rows, on_batch=on_batch,
                                    continuing=continuing or passes > 0, reading=reading,
                                    after=before if loading is not None else None)
                # what a stage freed is handed back before the next one reads its staged
                # files: a chunk's peak is then one stage's working set, not that plus the
                # last one's leavings
                _release_memory()
                step("validate", passes)
                validated = validate(extracted, settings=settings)
                _release_memory()
                if loading is not None:   # batches commit in order, one at a time
                    done, loading = loading, None
                    results.append(done.result())
                step("load", passes)
                if ahead and validated["more"]:
                    loading = loader.submit(contextvars.copy_context().run, load, validated,
                                            raise_on_threshold=raise_on_threshold,
                                            settings=settings)
                    before = extracted
                else:
                    results.append(load(validated, raise_on_threshold=raise_on_threshold,
                                        settings=settings))
                    _release_memory()
                    if not results[-1]["more"]:
                        return results
                passes += 1
        finally:
            if loading is not None:
                # A later chunk failed while this one loaded: it commits (or fails) first,
                # and its accounting is kept.
                results.append(loading.result())


def reads_ahead(key: FeedKey, settings: Settings) -> bool:
    """Whether ``run_feed`` reads and validates a feed's next chunk while the one before loads.

    The load of a chunk is mostly the warehouse's work and the extract and validation of the
    next the client's, so on two cores the two overlap (benchmarks/README.md). Only for a SQL
    source into PostgreSQL: a file or API read ahead would archive its input before the chunk
    before committed; a feed with a ``version_column`` compares its rows with the versions the
    warehouse holds, which the chunk before may still be writing; and the embedded SQLite
    warehouse takes one writer or readers at a time.
    """
    if not settings.warehouse_url.startswith("postgresql"):
        return False
    source, feed = find_feed(find_department(key.department, settings), key.source, key.dataset)
    return source.kind == "sql" and not feed.version_column


# glibc's mmap threshold for this process (``M_MMAP_THRESHOLD``): blocks from 128 KiB up are
# mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 128 * 2**10
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@cache
def _fix_mmap_threshold() -> bool:
    """Keep a chunk's large buffers out of glibc's heaps, so a first load stays flat.

    glibc raises its mmap threshold each time a mapped block is freed (up to 32 MiB), so after
    the first chunk the arrays of every later one (numpy/pandas columns, Arrow buffers on
    the system allocator, connectorx's and psycopg's buffers) are carved out of the heaps of
    malloc's arenas, one per thread that allocates; freed, they leave holes that
    ``malloc_trim`` cannot give back while a live block sits beside them. Measured in-process
    (``benchmarks/chunk_memory.py``, 10,000-row chunks): the heaps grew 102 → 358 MiB over 12
    chunks with about 80 MiB in use, RSS ≈ 5–13 MiB per chunk; with the threshold fixed
    (which also stops glibc moving it) they stay at 90–98 MiB and RSS is flat. Setting it
    once, before the first chunk, is what ``MALLOC_MMAP_THRESHOLD_=131072`` in the
    environment does; a no-op off glibc. Returns whether it was set.

    With the threshold fixed, Arrow allocates from the system allocator too: its default
    mimalloc pool kept about twice what a chunk's Parquet reads used (a 60k-row chunk's
    passed rows: +130 MiB resident against +62 MiB), which two chunks in flight
    (``run_feed`` reading ahead) could not afford.
    """
    mallopt = getattr(_libc(), "mallopt", None)
    fixed = bool(mallopt is not None and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if fixed:
        pa.set_memory_pool(pa.system_memory_pool())
    return fixed


@cache
def _libc():
    """The C library (looked up once: ``find_library`` reads the loader's cache), or None."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def _release_memory(collect: bool = True) -> None:
    """Hand the memory of a loaded chunk back before the next: collect cycles, return Arrow's
    pooled buffers and glibc's free heap pages (freed but kept by malloc, an RSS that would
    grow with the number of chunks). ``collect=False``: without the (slow) cycle collection."""
    import gc

    import pyarrow as pa

    if collect:
        gc.collect()
        # What survives the first collection (modules, GX's registries, caches: about
        # 300,000 objects) lives as long as the process: frozen, later collections skip it.
        # Walking it made each collection 0.14-0.2 s, 3 per chunk.
        gc.freeze()
    pa.default_memory_pool().release_unused()
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)
