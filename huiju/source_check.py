"""``huiju source check``: a feed's source seen before any load, from the department's side.

For each feed it connects, lists the legacy columns and their types (of the first batch the
source yields, read from the beginning — nothing is archived or moved, no cursor is saved),
compares them with the mapping (a mapped column the source lacks is an error naming the
closest columns it has), counts the rows and the cursor's range where the source can say so
cheaply (SQL: one aggregate query), and maps and validates the first ``sample`` rows exactly
as a run would — printing the accounting a load would record, without loading.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyarrow as pa

from connectors.base import Batch
from huiju.departments import Department
from huiju.mapping import (
    MappingError,
    absent_columns_message,
    map_batch,
    mapped_columns,
)
from huiju.settings import Settings

ACCOUNTING = ("extracted", "passed", "quarantined", "superseded")


@dataclass
class FeedCheck:
    """What ``source check`` found for one feed; ``problems`` empty when it would run."""

    source: str
    dataset: str
    kind: str
    columns: list[tuple[str, str]] = field(default_factory=list)  # (legacy name, type)
    mapped: list[str] = field(default_factory=list)  # legacy columns the mapping reads
    problems: list[str] = field(default_factory=list)
    # what the source said while sampling: a file rejected on its own (a damaged header, an
    # undecodable file: the other files would load), an empty export
    warnings: list[str] = field(default_factory=list)
    rows: int | None = None
    cursor_min: object = None
    cursor_max: object = None
    accounting: dict[str, int] = field(default_factory=dict)
    failures_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No problem: a run of this feed would not fail on its columns or connection."""
        return not self.problems


def _sample(batches, sample: int, warnings: list[str]) -> Batch | None:
    """The first ``sample`` rows the source yields, as one batch (None: the source is empty);
    the warnings of the batches read go into ``warnings``."""
    tables, refs = [], []
    for batch in batches:
        warnings.extend(batch.warnings)
        if batch.num_rows:
            tables.append(batch.table)
            refs += batch.refs
        if len(refs) >= sample:
            break
    if not tables:
        return None
    table = pa.concat_tables(tables, promote_options="permissive").slice(0, sample)
    return Batch(table, refs[:sample], None)


def check_feed(department: Department, source, feed, settings: Settings,
               sample: int = 20) -> FeedCheck:
    """Check one feed of ``department`` against its live source (nothing is loaded)."""
    from connectors.base import ConnectorError
    from connectors.registry import kind as connector_kind
    from huiju.pipeline import open_connector

    kind = connector_kind(source.kind)
    result = FeedCheck(source.id, feed.dataset, source.kind, mapped=mapped_columns(feed))
    connector = open_connector(department, source, feed, settings)
    if hasattr(connector, "look_only"):   # a drop folder: nothing archived or moved
        connector.look_only()
    try:
        connector.check()
        if hasattr(connector, "profile"):
            profile = connector.profile()
            result.rows = profile.get("rows")
            result.cursor_min, result.cursor_max = profile.get("min"), profile.get("max")
        batches = connector.read(None)
        try:
            batch = _sample(itertools.islice(batches, 1_000), max(sample, 1), result.warnings)
        finally:
            batches.close()  # stop mid-read: a files connector archives nothing
    except ConnectorError as error:
        result.problems.append(str(error))
        return result
    finally:
        if hasattr(connector, "close"):
            connector.close()
    if batch is None:
        return result
    result.columns = [(f.name, str(f.type)) for f in batch.table.schema]
    present = set(batch.table.column_names)
    missing = [c for c in result.mapped if c not in present]
    if missing and not kind.sparse:
        result.problems.append(absent_columns_message(feed, missing, batch.table.column_names))
        return result
    _validate_sample(result, department, feed, batch, sample, kind.sparse)
    return result


def _validate_sample(result: FeedCheck, department: Department, feed, batch: Batch,
                     sample: int, sparse: bool) -> None:
    """Map and validate the sample rows; record the accounting a load would write."""
    from expectations.validate import validate_frame
    from huiju.pipeline import validation_thresholds
    from schemas.catalog import dataset as dataset_spec

    if not sample:
        return
    spec = dataset_spec(feed.dataset)
    try:
        mapped = map_batch(batch, feed, spec, department, "0" * 13, sparse)
    except MappingError as error:
        result.problems.append(str(error))
        return
    outcome = validate_frame(mapped.frame, spec, mapped.issues if len(mapped.issues) else None,
                             validation_thresholds(department, feed.dataset))
    result.accounting = {k: int(v) for k, v in outcome.counts.items()}
    result.failures_by_rule = {k: v for k, v in outcome.failures_by_rule.items() if v}


def check_department(department: Department, settings: Settings, datasets=None,
                     sample: int = 20) -> list[FeedCheck]:
    """``check_feed`` for every feed of ``department`` (or those filling ``datasets``)."""
    from huiju.pipeline import feeds_of, find_feed

    results = []
    for key in feeds_of(department, datasets):
        source, feed = find_feed(department, key.source, key.dataset)
        results.append(check_feed(department, source, feed, settings, sample))
    return results
