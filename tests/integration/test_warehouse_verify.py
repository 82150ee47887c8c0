"""`huiju verify`: each batch's recorded counts checked against the rows it left behind."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from huiju.cli import main
from warehouse.load import load_batch
from warehouse.synthetic import load_request, standard_frame
from warehouse.verify import delivery_verdict, verify, verify_delivery

DEPT = "620000-TEST"


def penalty(ids, **kwargs) -> pd.DataFrame:
    return standard_frame("penalty", ids, **kwargs)


def load_three_batches(engine) -> None:
    load_batch(engine, load_request("penalty", penalty(range(10)), batch_id="2026010100001",
                                    quarantined=penalty([50, 51]), superseded=penalty([52])))
    changes = pd.concat([penalty(range(3), version=1, operation="u"),       # 3 updates
                         penalty([3, 4], version=1, operation="d"),          # 2 deletes
                         penalty([5, 6]),                                    # unchanged
                         penalty([20, 21])], ignore_index=True)              # 2 inserts
    load_batch(engine, load_request("penalty", changes, batch_id="2026010100002"))
    # another department, and another data set, in the same warehouse
    load_batch(engine, load_request("penalty", penalty(range(4), department_code="620100-B"),
                                    batch_id="2026010100001", department_code="620100-B"))
    load_batch(engine, load_request("site", standard_frame("site", range(5)),
                                    batch_id="2026010100001"))


def test_every_batch_agrees_with_its_raw_rows_and_versions(warehouse):
    engine, _ = warehouse
    load_three_batches(engine)
    checks = {(c.department_code, c.dataset, c.batch_id): c for c in verify(engine)}
    assert len(checks) == 4
    assert all(c.problems == [] for c in checks.values())
    first = checks[(DEPT, "penalty", "2026010100001")]
    assert (first.extracted, first.landed, first.changed, first.written) == (13, 13, 10, 10)
    second = checks[(DEPT, "penalty", "2026010100002")]
    assert (second.extracted, second.landed, second.changed, second.written) == (9, 9, 7, 7)
    assert [c.batch_id for c in verify(engine, department="620100-B")] == ["2026010100001"]
    assert [c.dataset for c in verify(engine, dataset="site")] == ["site"]


def test_missing_evidence_is_reported_per_batch(warehouse, capsys, monkeypatch):
    engine, url = warehouse
    load_three_batches(engine)
    with engine.begin() as conn:
        # a landed row of the second batch, and an earlier version written by the first, vanish
        part = conn.execute(sa.text(
            "SELECT part_id FROM raw.part WHERE department_code = :d AND dataset = 'penalty' "
            "AND batch_id = '2026010100002'"), {"d": DEPT}).scalar_one()
        conn.execute(sa.text("DELETE FROM raw.record WHERE part_id = :p AND row_no = 4"),
                     {"p": part})
        conn.execute(sa.text("DELETE FROM core.penalty_history WHERE punish_action_code = "
                             "'000000000001' AND batch_id = '2026010100001'"))
    problems = {(c.department_code, c.batch_id, c.dataset): c.problems
                for c in verify(engine) if c.problems}
    assert problems == {
        (DEPT, "2026010100001", "penalty"): ["wrote 9 versions, changed 10"],
        (DEPT, "2026010100002", "penalty"): ["landed 8 raw rows, extracted 9"],
    }

    monkeypatch.setenv("COLUMNS", "240")
    assert main(["verify", "--url", url]) == 1
    out = capsys.readouterr().out
    assert "2 of 4 batches disagree" in out and "landed 8 raw rows, extracted 9" in out
    assert main(["verify", "--url", url, "--department", "620100-B"]) == 0
    assert "all 1 batches agree" in capsys.readouterr().out


def test_every_version_due_to_a_platform_has_its_message(warehouse, capsys, monkeypatch):
    engine, url = warehouse
    load_three_batches(engine)
    [penalties] = [c for c in verify_delivery(engine) if c.resource == "CF"]
    # 信用中国 CF: 14 + 4 first versions, 3 updates and 2 deletions — all pending so far
    assert (penalties.platform, penalties.resource) == ("creditchina", "CF")
    assert (penalties.due, penalties.missing, penalties.pending) == (21, 0, 21)
    assert delivery_verdict(verify_delivery(engine))[0]

    with engine.begin() as conn:
        # one message lost, and one marked rejected with no reason stored
        conn.execute(sa.text("DELETE FROM delivery.outbox WHERE record_key = '000000000003' "
                             "AND operation = 'd' AND resource = 'CF'"))
        conn.execute(sa.text("UPDATE delivery.outbox SET status = 'rejected' "
                             "WHERE record_key = '000000000007' AND resource = 'CF'"))
    [penalties] = [c for c in verify_delivery(engine) if c.resource == "CF"]
    assert penalties.problems == ["1 due versions never enqueued",
                                  "1 rejections without a reason"]
    monkeypatch.setenv("COLUMNS", "240")
    assert main(["verify", "--url", url]) == 1
    out = capsys.readouterr().out
    assert "1 due versions never enqueued" in out and "miss due versions or reasons" in out
    assert [c.due for c in verify_delivery(engine, department="620100-B")
            if c.resource == "CF"] == [4]
