"""Issue 13 over a real socket: the national leads feed pulled through the normal pipeline
(faults on), loaded once however often pulled, routed by division and field (unroutable to the
provincial queue), overdue leads flagged, and a joint-supervision task message parsed and
answered with feedback XML the simulator accepts."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from huiju.departments import DepartmentConfigError
from huiju.joint import MessageError, decode_message, feedback_message, parse_xml
from huiju.leads import leads
from huiju.leads_pull import pull_all
from huiju.routing import load_routing, route
from simulator.leads import make_lead
from simulator.process import simulator_process
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

pytestmark = pytest.mark.simulator

REPO = Path(__file__).resolve().parents[2]
TOKEN = "leads-T0ken-Secret"
SEED = 5


@pytest.fixture
def workspace(request, tmp_path, monkeypatch):
    """A home with the repository's department files and routing table, its own warehouse
    (embedded SQLite, or PostgreSQL when parametrized so)."""
    shutil.copytree(REPO / "departments", tmp_path / "departments")
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "lead_routing.yaml", tmp_path / "config")
    url = f"sqlite:///{tmp_path / 'warehouse' / 'huiju.db'}"
    if getattr(request, "param", "sqlite") == "postgres":
        url = request.getfixturevalue("pg_url")
    for name, value in {"HUIJU_HOME": tmp_path, "HUIJU_DEPARTMENTS_DIR": tmp_path / "departments",
                        "HUIJU_WAREHOUSE_URL": url, "HUIJU_STAGING_DIR": tmp_path / "staging",
                        "HUIJU_ARCHIVE_DIR": tmp_path / "archive",
                        "HUIJU_PLATFORM_NATIONAL_TOKEN": TOKEN}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("HUIJU_LEAD_ROUTING", raising=False)
    engine = create_warehouse_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def national(monkeypatch):
    """A simulator whose feeds fail one GET in five (500/503/429/dropped/slow)."""
    args = ["--seed", str(SEED), "--leads", "60", "--leads-per-minute", "0", "--tasks", "3",
            "--fault-rate", "0.2", "--retry-after", "0", "--slow-seconds", "0.2"]
    with simulator_process(token=TOKEN, args=args) as url:
        monkeypatch.setenv("HUIJU_PLATFORM_NATIONAL_URL", url)
        yield url


def count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


@pytest.mark.parametrize("workspace", ["sqlite", "postgres"], indirect=True)
def test_leads_are_pulled_under_faults_loaded_once_and_routed(workspace, national, capsys):
    engine = workspace
    pull_all()
    assert count(engine, "SELECT count(*) FROM core.complaint") \
        + count(engine, "SELECT count(*) FROM core.risk_lead") == 60
    assert count(engine, "SELECT count(*) FROM audit.lead_routing") == 60
    assert count(engine, "SELECT count(*) FROM quarantine.record") == 0
    feeds = requests.get(f"{national}/_feeds", timeout=5).json()
    assert sum(feeds["faults"].values()) > 0  # the pull really met faults and went on

    # pulled again with nothing new, then from scratch (cursor lost): still loaded once
    pull_all()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit.cursor_state"))
    pull_all()
    for table, key in (("complaint", "complaint_id"), ("risk_lead", "risk_warning_id")):
        assert count(engine, f"SELECT count(*) FROM core.{table}") == count(
            engine, f"SELECT count(DISTINCT {key}) FROM core.{table}")
        assert count(engine, f"SELECT count(*) FROM core.{table}_history") == 0
    assert count(engine, "SELECT count(*) FROM audit.lead_routing") == 60

    # new leads published later are pulled incrementally
    requests.post(f"{national}/_feeds/publish", json={"leads": 5}, timeout=5)
    pull_all()
    assert count(engine, "SELECT count(*) FROM audit.lead_routing") == 65

    # every lead went where the table says: recompute from the simulator's own leads
    table = load_routing()
    with engine.connect() as conn:
        routed = {r.lead_id: r for r in conn.execute(sa.text(
            "SELECT lead_id, department_code, routed, reason FROM audit.lead_routing"))}
    for number in range(1, 66):
        lead = make_lead(SEED, number)
        expected = route(table, lead["lead_type"], lead["record"])
        assert routed[lead["lead_id"]].department_code == expected.department_code
    assert any(not r.routed for r in routed.values())
    # huiju trace shows a lead's routing beside its provenance
    from huiju.cli import main

    lead = make_lead(SEED, 1)
    capsys.readouterr()
    assert main(["trace", lead["lead_id"], "--dataset", lead["lead_type"]]) == 0
    shown = capsys.readouterr().out
    assert "routing:" in shown and routed[lead["lead_id"]].department_code in shown
    # joint tasks: loaded once each, a part per participating unit
    assert count(engine, "SELECT count(*) FROM audit.joint_task") == 3
    assert count(engine, "SELECT count(*) FROM audit.joint_task_part") >= 6


def test_routing_by_division_and_field_and_unroutable(workspace):
    table = load_routing()
    lanzhou_water = {"risk_warning_id": "X1", "domain": "50",
                     "risk_object_cert_code": "91620104MA71234567"}
    decided = route(table, "risk_lead", lanzhou_water)
    assert (decided.department_code, decided.routed, decided.division_code) == \
        ("LZ-SJJ", True, "620104")
    # the same field in Tianshui: no city rule there, and no provincial one for 农业农村
    elsewhere = route(table, "risk_lead", {**lanzhou_water,
                                           "risk_object_cert_code": "91620502MA71234567"})
    assert not elsewhere.routed and elsewhere.department_code == table.provincial_queue
    assert "50" in elsewhere.reason and "620502" in elsewhere.reason
    # a complaint's 属地 wins over its object's code; food goes to market regulation
    food = {"complaint_id": "C1", "problem_type": "09", "area_code": "620502",
            "object_cert_code": "110101199003070011"}
    assert route(table, "complaint", food).department_code == "GS-SCJG"
    drugs = {**food, "problem_type": "10"}
    assert route(table, "complaint", drugs).department_code == "GS-YJJ"
    outside = route(table, "complaint", {**food, "area_code": None,
                                         "object_cert_code": "110101199003070011"})
    assert not outside.routed and "outside Gansu" in outside.reason
    unknown = route(table, "complaint", {**food, "area_code": None, "object_cert_code": "x"})
    assert not unknown.routed and "no division" in unknown.reason


def test_bad_routing_entries_are_named(workspace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "config" / "lead_routing.yaml").read_text(encoding="utf-8")
                   .replace("department: GS-YJJ", "department: GS-NOPE")
                   .replace('domains: ["70"]', 'domains: ["99"]')
                   .replace('divisions: ["6201"]', 'divisions: ["6301"]'), encoding="utf-8")
    with pytest.raises(DepartmentConfigError) as caught:
        load_routing(bad)
    text = str(caught.value)
    assert "rules[1].department" in text and "GS-NOPE" in text
    assert "rules[1].domains[0]" in text and "风险预警领域" in text
    assert "rules[2].divisions[0]" in text


def test_an_overdue_lead_is_flagged_and_a_closed_one_is_not(workspace, capsys):
    engine = workspace
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)  # status reads the clock
    rows = [{"dataset": "complaint", "lead_id": lead_id, "lead_kind": "complaint",
             "department_code": "GS-SCJG", "routed": True, "reason": "test",
             "deadline": due, "batch_id": "2026120100001", "routed_at": now}
            for lead_id, due in (("TS1", now - dt.timedelta(days=1)),
                                 ("TS2", now + dt.timedelta(days=3)))]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit.lead_routing (dataset, lead_id, lead_kind, department_code, "
            "routed, reason, deadline, batch_id, routed_at) VALUES (:dataset, :lead_id, "
            ":lead_kind, :department_code, :routed, :reason, :deadline, :batch_id, "
            ":routed_at)"), rows)
    overdue = list(leads(engine, overdue_only=True, now=now))
    assert [lead.lead_id for lead in overdue] == ["TS1"]
    assert [lead.lead_id for lead in leads(engine, department="GS-SCJG", now=now)] == \
        ["TS1", "TS2"]
    assert list(leads(engine, department="GS-YJJ", now=now)) == []
    # huiju status: open leads per department, with the earliest deadline (TS1 is overdue today)
    import json

    from huiju.cli import main

    capsys.readouterr()
    assert main(["status", "--no-lag", "--format", "json"]) == 0
    open_leads = json.loads(capsys.readouterr().out)["leads"]
    scjg = next(row for row in open_leads if row["department"] == "GS-SCJG")
    assert scjg == {"department": "GS-SCJG", "open_leads": 2, "overdue": 1,
                    "earliest_deadline": (now - dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")}


def test_joint_task_round_trip_is_accepted_by_the_simulator(workspace, national):
    engine = workspace
    pull_all()
    with engine.connect() as conn:
        task = conn.execute(sa.text("SELECT task_no, message FROM audit.joint_task "
                                    "ORDER BY task_no")).first()
        part = conn.execute(sa.text("SELECT unit_no, unit_name FROM audit.joint_task_part "
                                    "WHERE task_no = :t"), {"t": task.task_no}).first()
    inspection = {"supervise_item_code": "62000000000001", "check_action_name": "联合检查",
                  "check_action_code": "JC001", "administrative_cp_code": "91620104MA71234567",
                  "check_result": "01", "check_date": dt.date(2026, 11, 20),
                  "check_personnel": "张三,李四"}
    message = feedback_message(task.message, part.unit_no, part.unit_name, [inspection], [])
    root = decode_message(message)
    assert root.findtext("supervisionProcess/taskDetails/taskNo") == task.task_no
    assert root.findtext("supervisionProcess/feedbackUnitInfo/admInspection/checkPersonnel") \
        == "张三,李四"
    record = {"key": f"fb-{task.task_no}-1", "record_id": task.task_no, "operation": "i",
              "payload": {"task_no": task.task_no, "message": message}}
    for _ in range(10):  # the simulator faults one request in five: resend the same key
        try:
            answer = requests.post(f"{national}/api/national/joint-feedback",
                                   json={"records": [record]}, timeout=5,
                                   headers={"Authorization": f"Bearer {TOKEN}"})
        except requests.ConnectionError:
            continue
        if answer.status_code == 200:
            break
    result = answer.json()["results"][0]
    assert result["status"] in ("accepted", "duplicate"), result["errors"]
    ledger = requests.get(f"{national}/_ledger/national", timeout=5,
                          params={"record_id": task.task_no}).json()
    assert [r["accepted"] for r in ledger["records"]] == [1]


def test_task_messages_with_a_dtd_are_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE superviseData [<!ENTITY a "aaaa">'
            b'<!ENTITY b "&a;&a;&a;">]><superviseData><taskInfo>&b;</taskInfo></superviseData>')
    with pytest.raises(MessageError, match="DTD"):
        parse_xml(bomb)
    with pytest.raises(MessageError):
        decode_message(base64.b64encode(bomb).decode())
    with pytest.raises(MessageError, match="base64"):
        decode_message("not base64!")


DISPOSITION_COLUMNS = ("线索编号", "线索类型", "进展状态", "核查情况", "处置部门", "处置部门代码",
                       "处置结果", "处置日期", "更新时间")


def _disposition_db(path: Path, rows: list[tuple]) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        columns = ", ".join(f'"{c}" TEXT' for c in DISPOSITION_COLUMNS)
        conn.execute(f"CREATE TABLE IF NOT EXISTS 线索处置 ({columns}, PRIMARY KEY (线索编号))")
        conn.executemany(f"INSERT OR REPLACE INTO 线索处置 VALUES ({', '.join('?' * 9)})", rows)
    conn.close()
    return f"sqlite:///{path}"


def _deliver_until_done(engine: sa.Engine) -> None:
    from huiju.delivery import deliver

    for _ in range(20):  # a run stops at a batch it could not deliver; the next goes on
        run = deliver(engine, "national")
        if not run.totals.get("pending"):
            return
    raise AssertionError(f"still pending: {run.totals}")


@pytest.mark.parametrize("workspace", ["sqlite", "postgres"], indirect=True)
def test_dispositions_reach_the_national_system_exactly_once_under_faults(
        workspace, national, tmp_path, monkeypatch):
    from huiju import pipeline

    engine = workspace
    pull_all()
    with engine.connect() as conn:
        mine = conn.execute(sa.text(
            "SELECT lead_id, dataset FROM audit.lead_routing WHERE department_code = 'GS-SCJG' "
            "ORDER BY lead_id")).all()
    assert len(mine) >= 4
    kinds = {"complaint": "投诉举报", "risk_lead": "风险预警"}
    rows = [(lead_id, kinds[dataset], "结案", "经核查属实", "甘肃省市场监督管理局",
             "11620000EPNT4AX782", "责令整改并罚款", "2026-11-30", "2026-11-30 10:00:00")
            for lead_id, dataset in mine[:3]]
    rows.append((mine[3].lead_id, kinds[mine[3].dataset], "正常处理中", "核查中", None, None,
                 None, None, "2026-11-30 10:00:00"))
    db = _disposition_db(tmp_path / "case.db", rows)
    monkeypatch.setenv("HUIJU_SRC_GS_SCJG_CASE_DB", db)
    key = pipeline.FeedKey("GS-SCJG", "case_db", "lead_disposition")
    [result] = pipeline.run_feed(key, run_id="test_dispositions_1")
    assert (result["loaded"], result["quarantined"]) == (4, 0)
    _deliver_until_done(engine)

    # the open one closes later: its new version follows, once
    _disposition_db(tmp_path / "case.db", [(mine[3].lead_id, kinds[mine[3].dataset], "结案",
                                            "经核查不属实", "甘肃省市场监督管理局",
                                            "11620000EPNT4AX782", "不予立案", "2026-12-01",
                                            "2026-12-01 09:00:00")])
    pipeline.run_feed(key, run_id="test_dispositions_2")
    _deliver_until_done(engine)
    _deliver_until_done(engine)  # nothing left: sends nothing again

    ledger = requests.get(f"{national}/_ledger/national", timeout=5).json()
    sent = [r for r in ledger["records"] if r["resource"] == "dispositions"]
    assert sorted({r["record_id"] for r in sent}) == sorted(r[0] for r in rows)
    assert all(r["accepted"] == 1 for r in sent)
    active = [r for r in sent if r["state"] == "active"]
    assert len(active) == 4 and len(sent) == 5  # the re-disposed lead: one version superseded
    assert sum(ledger["faults"].values()) > 0
    # closed leads are no longer open for the department
    still_open = {lead.lead_id for lead in leads(engine, department="GS-SCJG")}
    assert not still_open & {r[0] for r in rows}


def test_joint_feedback_is_assembled_from_a_departments_results_and_sent_once(
        workspace, national):
    from connectors.platforms import PlatformClient, PlatformConfig
    from huiju.joint import parts_of
    from huiju.joint_feedback import send_feedback
    from schemas.catalog import dataset as dataset_spec
    from warehouse.tables import core_table

    engine = workspace
    pull_all()
    part = next(p for p in parts_of(engine) if p["department_code"] == "GS-SCJG")
    obj = part["info"]["superviseObjects"][0]
    client = PlatformClient(PlatformConfig.from_env("national", backoff=0.05))
    assert send_feedback(engine, client, department="GS-SCJG")["acknowledged"] == 0  # no results

    now = dt.datetime.now(dt.UTC)
    inspection = core_table(dataset_spec("inspection"))
    row = {"record_id": "JC-1", "batch_id": "2026120100001", "operation": "i",
           "department_code": "GS-SCJG", "source_id": "case_db",
           "source_ref": "sqlite:检查记录#检查编号=JC-1", "source_hash": "0" * 64,
           "first_loaded_at": now, "updated_at": now, "is_deleted": False,
           "supervise_item_code": "62000000000001", "check_list_code": "x",
           "check_action_name": "联合检查", "check_action_code": "JC-1",
           "supervise_object": obj["superviseObjectName"],
           "administrative_cp": obj["superviseObjectName"], "administrative_cp_nature": "02",
           "administrative_cp_cert_type": "001",
           "administrative_cp_code": obj["superviseObjectCode"],
           "area_code": part["info"]["unionRegionNo"], "check_form": "02", "check_type": "01",
           "check_result": "01", "check_date": dt.date.fromisoformat(
               part["info"]["taskStartTime"]) + dt.timedelta(days=1),
           "check_personnel": "张三,李四"}
    with engine.begin() as conn:
        conn.execute(inspection.insert().values(**{k: v for k, v in row.items()
                                                   if k in inspection.c}))
    first = send_feedback(engine, client, department="GS-SCJG")
    again = send_feedback(engine, client, department="GS-SCJG")
    assert first["acknowledged"] == 1 and again["acknowledged"] == 0
    ledger = requests.get(f"{national}/_ledger/national", timeout=5,
                          params={"record_id": part["task_no"], "payloads": 1}).json()
    [entry] = [r for r in ledger["records"] if r["resource"] == "joint-feedback"]
    assert entry["accepted"] == 1 and entry["state"] == "active"
    sent = decode_message(entry["payload"]["message"])
    assert sent.findtext("supervisionProcess/taskDetails/unionUnitName") == part["unit_name"]
    assert sent.findtext("supervisionProcess/feedbackUnitInfo/admInspection/checkActionCode") \
        == "JC-1"
    [stored] = [p for p in parts_of(engine, "GS-SCJG") if p["task_no"] == part["task_no"]]
    assert stored["feedback_status"] == "acknowledged" and stored["receipt"]
