"""A department's self-check: map and validate an export file exactly as ingest would.

Nothing is loaded. The file is read by the file connector with the options of the
department's file source for that data set (encoding, instruction rows, sheet) when it has
one, mapped by the feed's mapping and validated by the data set's suite; the result is the
rejection list a department can fix before sending the file.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from connectors.files import FileSource, FileSourceConfig

# expectations.validate imports Great Expectations, which must come before Airflow
from expectations.validate import Outcome, validate_frame
from huiju.departments import Department, Feed, LegacySystem
from huiju.mapping import map_batches
from huiju.pipeline import validation_thresholds

# FileSourceConfig options that describe a file's layout, worth keeping from the feed.
LAYOUT_OPTIONS = ("encoding", "delimiter", "skip_rows", "header_rows", "sheet", "sheets",
                  "records_path", "format")


@dataclass
class SelfCheck:
    """What ``huiju validate`` found in one file: the outcome and one row per failure."""

    outcome: Outcome
    rejections: pd.DataFrame  # one row per failed rule: source_ref, rule_id, field, messages …


def pick_feed(department: Department, dataset: str,
              source_id: str | None) -> tuple[LegacySystem, Feed]:
    """The feed filling ``dataset`` (the given source, else a files source, else the first)."""
    candidates = [(s, f) for s, f in department.feeds() if f.dataset == dataset
                  and (source_id is None or s.id == source_id)]
    if not candidates:
        raise KeyError(f"{department.code} has no feed for data set {dataset!r}"
                       + (f" from source {source_id!r}" if source_id else ""))
    candidates.sort(key=lambda pair: not isinstance(pair[1].connector_config, FileSourceConfig))
    return candidates[0]


def check_file(department: Department, dataset: str, path: Path,
               source_id: str | None = None) -> SelfCheck:
    """Map and validate the file at ``path`` as the department's feed of ``dataset`` would."""
    _, feed = pick_feed(department, dataset, source_id)
    options = {}
    if isinstance(feed.connector_config, FileSourceConfig):  # a file layout worth keeping
        configured = feed.connector_config
        options = {k: getattr(configured, k) for k in LAYOUT_OPTIONS
                   if getattr(configured, k, None) is not None}
    with tempfile.TemporaryDirectory(prefix="huiju-selfcheck-") as folder:
        # the connector reads a folder: give it one holding just this file, archived nowhere
        shutil.copy(path, Path(folder) / path.name)
        config = FileSourceConfig(directory=folder, patterns=[path.name], **options)
        batch_id = datetime.now(UTC).strftime("%Y%m%d") + "00001"
        run = map_batches(FileSource(config).read(None), feed, feed.spec, department, batch_id)
    if run.frame is None:
        raise ValueError(f"{path}: no rows read")
    outcome = validate_frame(run.frame, feed.spec, run.issues,
                             validation_thresholds(department, dataset))
    rejections = outcome.quarantine.rename(columns={"_source_ref": "source_ref"})
    # name the department's file, not the temporary copy
    rejections["source_ref"] = rejections["source_ref"].str.replace(
        folder, str(path.parent), regex=False)
    keep = ["source_ref", "rule_id", "family", "field", "message_zh", "message_en", "raw_value"]
    return SelfCheck(outcome, rejections[keep])
