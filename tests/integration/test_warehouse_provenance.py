"""Provenance both ways: source record → core row, core row → source and every batch."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from huiju.cli import main
from warehouse.load import load_batch
from warehouse.provenance import find_core_row, trace
from warehouse.testing.synthetic import load_request, standard_frame

DEPT = "620000-TEST"


@pytest.fixture
def loaded(warehouse):
    """A warehouse where record 1 was inserted, updated, then deleted; record 9 quarantined."""
    engine, url = warehouse
    load_batch(engine, load_request("penalty", standard_frame("penalty", range(3)),
                                    batch_id="2026010100001", quarantined=standard_frame(
                                        "penalty", [9])))
    moved = standard_frame("penalty", [1], version=1, operation="u")
    moved["_source_ref"] = "drop/2026-01.csv:line 2"
    load_batch(engine, load_request("penalty", moved, batch_id="2026010100002"))
    load_batch(engine, load_request("penalty", standard_frame(
        "penalty", [1], version=2, operation="d"), batch_id="2026010100003"))
    return engine, url


def test_from_a_source_ref_to_the_core_row(loaded):
    engine, _ = loaded
    [(name, row)] = find_core_row(engine, "drop/2026-01.csv:line 2")
    assert name == "penalty"
    assert row["record_id"] == f"{DEPT}:1"
    # the first source record of the row leads to the same row through its history
    [(name, row)] = find_core_row(engine, "synthetic:penalty#pk=1")
    assert row["record_id"] == f"{DEPT}:1"


def test_from_a_core_row_to_every_batch(loaded):
    engine, _ = loaded
    [trail] = trace(engine, "000000000001", dataset="penalty")
    assert trail.business_key == ("000000000001",)
    assert trail.current["is_deleted"]
    assert [(b["batch_id"], b["action"]) for b in trail.batches] == [
        ("2026010100001", "insert"), ("2026010100002", "update"), ("2026010100003", "delete")]
    assert [(v["batch_id"], v["closed_batch_id"]) for v in trail.versions] == [
        ("2026010100001", "2026010100002"), ("2026010100002", "2026010100003")]
    assert {landing["source_ref"] for landing in trail.landings} == {
        "synthetic:penalty#pk=1", "drop/2026-01.csv:line 2"}
    assert len(trail.landings) == 3  # one landing per batch
    # by record id, the same trail
    [same] = trace(engine, f"{DEPT}:1")
    assert same.batches == trail.batches


def test_a_quarantined_record_has_a_trail_without_a_core_row(loaded):
    engine, _ = loaded
    [trail] = trace(engine, "synthetic:penalty#pk=9")
    assert trail.current is None
    assert [q["status"] for q in trail.quarantine] == ["open"]
    assert [landing["batch_id"] for landing in trail.landings] == ["2026010100001"]


def test_trace_command_prints_the_chain(loaded, capsys, monkeypatch):
    _, url = loaded
    monkeypatch.setenv("COLUMNS", "300")  # rich would shorten cells at 80 columns
    assert main(["trace", "000000000001", "--dataset", "penalty", "--url", url]) == 0
    out = capsys.readouterr().out
    for text in ("penalty", "deleted", "2026010100001", "2026010100002", "2026010100003",
                 "drop/2026-01.csv:line 2", "earlier versions", "batches", "raw landings"):
        assert text in out
    # each landing's legacy values, as extracted
    [landing] = [t for t in trace(loaded[0], "000000000001", dataset="penalty")[0].landings
                 if t["source_ref"] == "drop/2026-01.csv:line 2"]
    assert json.dumps(landing["record"], ensure_ascii=False, sort_keys=True) in out
    assert main(["trace", "nowhere#pk=0", "--url", url]) == 1


def test_unchanged_redelivery_from_a_new_place_still_traces(loaded):
    engine, _ = loaded
    again = standard_frame("penalty", [2])
    again["_source_ref"] = pd.Series(["drop/2026-02.csv:line 7"], dtype="str")
    result = load_batch(engine, load_request("penalty", again, batch_id="2026010100004"))
    assert result.unchanged == 1
    [(_, row)] = find_core_row(engine, "drop/2026-02.csv:line 7")
    assert row["record_id"] == f"{DEPT}:2"
