"""Validate a standard frame with its data set's suite and split it row by row.

``validate_frame(frame, spec)`` runs the suite generated from ``spec`` (``expectations.suites``:
Great Expectations expectations, the definition of record) and returns an :class:`Outcome`:

- ``passed``: the frame's rows that break no rule and are the latest for their business key;
- ``quarantine``: one row per failure — ``row`` (position in the frame, i.e. extraction
  order), ``rule_id``, ``family``, ``field``, ``message_zh``, ``message_en``, ``raw_value``,
  ``_source_ref``, ``_source_hash`` — including the mapping's own ``issues``;
- ``superseded``: earlier rows of a repeated business key (the last extracted row wins),
  with ``superseded_by`` (the winning row's position). A row that fails a rule is
  quarantined, never counted as superseded.

Two engines evaluate a suite and list the same failing rows (``ENGINES``):

- ``vectorised`` (the default): each expectation as the vectorised check behind it
  (``expectations.checks``), with GX's row selection, without importing GX;
- ``gx``: through Great Expectations itself (``HUIJU_VALIDATION_ENGINE=gx``), every failure
  from a GX result's ``unexpected_index_list``. A large batch runs as several small GX
  validations, one per group of columns that expectations read, each on a frame of just
  those columns (GX copies the batch frame for every metric that filters rows); a small
  batch (under ``WHOLE_FRAME_MAX_CELLS``) runs as one. ``expectations._gx.huiju_run``
  switches off two fixed GX costs while Huiju validates.

The tests run every data set's suite through both engines on frames with every kind of
defect and require the same rows per rule; the first load's profile is why the default is not
GX (benchmarks/README.md).

Accounting holds for every batch by construction: extracted = passed + quarantined (distinct
rows) + superseded, because each row position is marked failed, else superseded, else passed —
exactly once. A mapping issue naming a row outside the frame raises ``AccountingError``; both
engines report positions of the frame's own RangeIndex. The warehouse checks the same sum again
before it writes anything (``warehouse.load.check_accounting``). ``Thresholds`` (per
department and data set) set ``Outcome.threshold_breached``; the caller fails the run visibly
with ``outcome.raise_for_threshold()`` after keeping what was quarantined.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from expectations import ENGINE_ENV, ENGINES
from expectations.checks import unexpected_rows
from expectations.messages import render
from expectations.suites import SUPERSEDE, suite_dict
from schemas.catalog import all_fields
from schemas.frames import QUARANTINE_COLUMNS, ROW_PROVENANCE, AccountingError
from schemas.model import CHECK_FAMILIES, DataSetSpec

__all__ = ["ENGINES", "QUARANTINE_COLUMNS", "AccountingError", "Outcome", "ThresholdBreached",
           "Thresholds", "ValidationEngineError", "run_suite", "validate_frame"]

if os.environ.get(ENGINE_ENV) == "gx":
    # GX patches logging on import, as Airflow does: a process that validates through GX
    # imports it here, before Airflow (see expectations._gx).
    from expectations import custom  # noqa: F401

# COMPLETE for the full unexpected_index_list; GX's value lists, value counts and the
# pandas "index query" string are not needed (messages are rendered from the frame).
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
}


class ValidationEngineError(RuntimeError):
    """GX raised while evaluating an expectation: the batch was not validated."""


class ThresholdBreached(RuntimeError):
    """More rows were quarantined than the department's thresholds allow."""


@dataclass(frozen=True)
class Thresholds:
    """How much quarantine a department's batch of one data set may produce and still load.

    ``max_count``: most quarantined rows; ``max_ratio``: most quarantined rows as a share of
    the extracted rows (0–1), applied only from ``min_batch_size`` extracted rows on, so a
    batch of three with one bad row does not fail the run.
    """

    max_count: int | None = None
    max_ratio: float | None = None
    min_batch_size: int = 0

    @classmethod
    def from_mapping(cls, config: dict[str, Any] | None) -> Thresholds:
        """Thresholds from a mapping of their field names; unknown names are an error."""
        config = dict(config or {})
        unknown = set(config) - {"max_count", "max_ratio", "min_batch_size"}
        if unknown:
            raise ValueError(f"unknown threshold settings: {sorted(unknown)}")
        return cls(**config)

    def breach(self, dataset: str, quarantined: int, extracted: int) -> str | None:
        """A message when ``quarantined`` of ``extracted`` rows is too many, else None."""
        ratio = quarantined / extracted if extracted else 0.0
        stated = (f"{dataset}: {quarantined} of {extracted} rows quarantined "
                  f"({ratio:.2%})")
        if self.max_count is not None and quarantined > self.max_count:
            return f"{stated}, more than the allowed {self.max_count} rows"
        if (self.max_ratio is not None and extracted >= self.min_batch_size
                and ratio > self.max_ratio):
            return (f"{stated}, more than the allowed {self.max_ratio:.2%} "
                    f"(applies from {self.min_batch_size} rows)")
        return None


@dataclass
class Outcome:
    """The row-level result of validating one batch of one data set."""

    dataset: str
    passed: pd.DataFrame
    quarantine: pd.DataFrame
    superseded: pd.DataFrame
    counts: dict[str, int]
    failures_by_rule: dict[str, int] = field(default_factory=dict)
    threshold_breached: str | None = None

    @property
    def quarantined_rows(self) -> np.ndarray:
        """Positions of the rows with at least one failure."""
        return np.unique(self.quarantine["row"].to_numpy(dtype=np.int64))

    def raise_for_threshold(self) -> None:
        """Raise ``ThresholdBreached`` if a threshold was breached (quarantine is kept)."""
        if self.threshold_breached:
            raise ThresholdBreached(self.threshold_breached)


# Below this many cells a batch is validated whole: GX's fixed cost per validation run
# outweighs its row copies. Above it, each group of columns gets its own narrow frame.
WHOLE_FRAME_MAX_CELLS = 2_000_000


def _suite_groups(spec: DataSetSpec, rows: int) -> list[tuple[tuple[str, ...], list[dict]]]:
    """The suite's expectations grouped by the columns they read, in suite order.

    A small batch is one group over all the columns the suite reads.
    """
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for expectation in suite_dict(spec)["expectations"]:
        kwargs = expectation["kwargs"]
        columns = (kwargs["column"],) if "column" in kwargs else tuple(kwargs["column_list"])
        groups[columns].append(expectation)
    if rows * len(groups) <= WHOLE_FRAME_MAX_CELLS:
        columns = tuple(dict.fromkeys(c for key in groups for c in key))
        return [(columns, [e for group in groups.values() for e in group])]
    return list(groups.items())


def run_suite(frame: pd.DataFrame, spec: DataSetSpec,
              engine: str = "vectorised") -> list[tuple[dict, np.ndarray]]:
    """Run the data set's suite: ``(meta, failing row positions)`` per expectation.

    ``frame`` must have a default RangeIndex (positions). ``engine``: one of ``ENGINES``.
    Raises ``ValidationEngineError`` when an expectation could not be evaluated: a rule that
    did not run must not pass rows.
    """
    if engine == "gx":
        return _run_gx(frame, spec)
    if engine != "vectorised":
        raise ValueError(f"unknown validation engine {engine!r} (one of {', '.join(ENGINES)})")
    found: list[tuple[dict, np.ndarray]] = []
    for expectation in suite_dict(spec)["expectations"]:
        meta = expectation["meta"]
        try:
            rows = unexpected_rows(expectation, frame)
        except Exception as error:
            raise ValidationEngineError(
                f"{meta['rule_id']}: could not evaluate {expectation['type']}: "
                f"{type(error).__name__}: {error}") from error
        found.append((meta, rows))
    return found


def _run_gx(frame: pd.DataFrame, spec: DataSetSpec) -> list[tuple[dict, np.ndarray]]:
    """The suite through GX, one validation per group of columns (``_suite_groups``)."""
    from expectations import custom  # noqa: F401  (registers Huiju's expectations with GX)
    from expectations._gx import batch_definition, gx, huiju_run

    definition = batch_definition()
    found: list[tuple[dict, np.ndarray]] = []
    with huiju_run():
        for number, (columns, expectations) in enumerate(_suite_groups(spec, len(frame))):
            suite = gx.ExpectationSuite(name=f"{spec.name}.{number}", expectations=[
                {"type": e["type"], "kwargs": e["kwargs"], "meta": e["meta"]}
                for e in expectations])
            batch = definition.get_batch(batch_parameters={"dataframe": frame[list(columns)]})
            result = batch.validate(suite, result_format=RESULT_FORMAT)
            for item in result.results:
                meta = item.expectation_config.meta
                error = _raised(item.exception_info)
                if error is not None:
                    raise ValidationEngineError(
                        f"{meta['rule_id']}: GX could not evaluate "
                        f"{item.expectation_config.type}: {error}")
                index = item.result.get("unexpected_index_list") or []
                if item.result.get("unexpected_count", len(index)) != len(index):
                    raise ValidationEngineError(
                        f"{meta['rule_id']}: GX counted {item.result['unexpected_count']} "
                        f"failures but listed {len(index)} rows")
                found.append((meta, np.asarray(index, dtype=np.int64)))
    return found


def _raised(info: dict | None) -> str | None:
    """The exception message in a GX result's ``exception_info``, if one was raised.

    GX reports an expectation's own exception flat (``raised_exception`` …) but a failed
    metric as a dict of such entries keyed by metric id.
    """
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def validate_frame(frame: pd.DataFrame, spec: DataSetSpec, issues: pd.DataFrame | None = None,
                   thresholds: Thresholds | None = None, engine: str = "vectorised") -> Outcome:
    """Validate ``frame`` (a standard frame of ``spec``) and split it into an ``Outcome``.

    ``issues``: failures the mapping already found (values it could not convert), with at
    least ``row`` (position in ``frame``), ``rule_id``, ``field``, ``message_zh``,
    ``message_en`` and ``raw_value``; they are quarantined like any other failure.
    ``engine``: which evaluates the suite (``ENGINES``; both list the same rows).
    """
    missing = [f.name for f in all_fields(spec) if f.name not in frame.columns]
    if missing:
        raise ValueError(f"{spec.name}: the frame lacks standard columns {missing}")
    work = frame.reset_index(drop=True)
    extracted = len(work)

    parts: list[pd.DataFrame] = []
    latest_candidates: list[np.ndarray] = []
    failures_by_rule: dict[str, int] = {}
    for meta, rows in run_suite(work, spec, engine):
        failures_by_rule[meta["rule_id"]] = len(rows)
        if not len(rows):
            continue
        if meta.get("outcome") == SUPERSEDE:
            latest_candidates.append(rows)
            continue
        parts.append(_failures(spec, meta, work, rows))
    if issues is not None and len(issues):
        mapped = _mapping_issues(issues, work)
        parts.append(mapped)
        for rule, count in mapped["rule_id"].value_counts().items():
            failures_by_rule[rule] = failures_by_rule.get(rule, 0) + int(count)

    quarantine = (pd.concat(parts, ignore_index=True) if parts else _empty_quarantine())
    quarantine = quarantine.sort_values(["row", "rule_id"], kind="stable", ignore_index=True)
    failed = np.unique(quarantine["row"].to_numpy(dtype=np.int64))
    earlier = (np.unique(np.concatenate(latest_candidates)) if latest_candidates
               else np.zeros(0, dtype=np.int64))
    superseded_rows = np.setdiff1d(earlier, failed, assume_unique=True)
    keep = np.ones(extracted, dtype=bool)
    keep[failed] = False
    keep[superseded_rows] = False

    passed = frame.iloc[np.flatnonzero(keep)]
    superseded = frame.iloc[superseded_rows].copy()
    superseded["superseded_by"] = _latest_rows(work, spec, superseded_rows)
    counts = {
        "extracted": extracted,
        "passed": len(passed),
        "quarantined": len(failed),
        "superseded": len(superseded),
        "failures": len(quarantine),
    }
    breached = thresholds.breach(spec.name, len(failed), extracted) if thresholds else None
    return Outcome(spec.name, passed, quarantine, superseded, counts,
                   {k: v for k, v in failures_by_rule.items() if v}, breached)


def _failures(spec: DataSetSpec, meta: dict, work: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    columns = list(dict.fromkeys([*meta["fields"], *(
        [meta["when"]["when_column"]] if meta.get("when") else [])]))
    subset = work[columns].iloc[rows]
    subset.index = rows
    rendered = render(spec, meta, subset)
    out = pd.DataFrame({
        "row": rows,
        "rule_id": meta["rule_id"],
        "family": meta["family"],
        "field": "+".join(meta["fields"]),
    })
    for name in ("message_zh", "message_en", "raw_value"):
        out[name] = rendered[name].to_numpy(dtype=object)
    for name in ROW_PROVENANCE:
        out[name] = (work[name].iloc[rows].to_numpy(dtype=object) if name in work.columns
                     else None)
    return out


def _mapping_issues(issues: pd.DataFrame, work: pd.DataFrame) -> pd.DataFrame:
    needed = {"row", "rule_id", "field", "message_zh", "message_en", "raw_value"}
    lacking = needed - set(issues.columns)
    if lacking:
        raise ValueError(f"mapping issues lack columns {sorted(lacking)}")
    out = issues.reset_index(drop=True).copy()
    rows = out["row"].to_numpy(dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(work)):
        raise AccountingError("mapping issues name rows outside the frame")
    out["row"] = rows
    if "family" not in out.columns:
        out["family"] = out["rule_id"].astype("str").str.slice(0, 2)
    unknown = set(out["family"]) - set(CHECK_FAMILIES)
    if unknown:
        raise ValueError(f"mapping issues with unknown check families {sorted(unknown)}")
    for name in ROW_PROVENANCE:
        if name not in out.columns or out[name].isna().all():
            out[name] = (work[name].iloc[rows].to_numpy(dtype=object) if name in work.columns
                         else None)
    return out[list(QUARANTINE_COLUMNS)]


def _latest_rows(work: pd.DataFrame, spec: DataSetSpec, rows: np.ndarray) -> np.ndarray:
    """For each superseded row, the position of the last row with the same business key."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    key = list(spec.business_key)
    last = work[key].drop_duplicates(keep="last")
    winners = pd.DataFrame({"_winner": last.index.to_numpy()}, index=pd.MultiIndex.from_frame(
        last) if len(key) > 1 else pd.Index(last[key[0]]))
    lookup = (pd.MultiIndex.from_frame(work[key].iloc[rows]) if len(key) > 1
              else pd.Index(work[key[0]].iloc[rows]))
    return winners["_winner"].reindex(lookup).to_numpy(dtype=np.int64)


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="int64" if name == "row" else object)
                         for name in QUARANTINE_COLUMNS})
