"""The simulator's national feeds (issue 13) over a real socket: leads and joint-supervision
tasks paged by cursor, seeded, growing over time, faulted like the receiving APIs; and
dispositions and task feedback going back, checked and ledgered."""

from __future__ import annotations

import base64
import time
from xml.etree import ElementTree as ET

import pytest
import requests

from simulator.process import simulator_process

pytestmark = pytest.mark.simulator

TOKEN = "feed-T0ken-Secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def no_shapes(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("no_shapes"))


def feed_server(shapes: str, *args: str):
    return simulator_process(token=TOKEN, shapes=shapes, args=list(args))


@pytest.fixture(scope="module")
def url(no_shapes):
    with feed_server(no_shapes, "--seed", "3", "--leads", "25", "--leads-per-minute", "0",
                     "--tasks", "2") as base:
        yield base


def get(base: str, path: str, **params) -> requests.Response:
    return requests.get(f"{base}{path}", params=params, headers=AUTH, timeout=10)


def all_leads(base: str, limit: int = 10) -> tuple[list[dict], str]:
    leads, cursor = [], None
    while True:
        page = get(base, "/api/national/leads", cursor=cursor, limit=limit).json()
        leads += page["leads"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return leads, cursor


def test_feeds_need_the_token(url):
    assert requests.get(f"{url}/api/national/leads", timeout=5).status_code == 401
    assert requests.get(f"{url}/api/national/joint-tasks", timeout=5,
                        headers={"Authorization": "Bearer nope"}).status_code == 401


def test_leads_page_by_cursor_and_new_ones_follow_the_last_cursor(url):
    first = get(url, "/api/national/leads", limit=10).json()
    assert len(first["leads"]) == 10 and first["has_more"] and first["next_cursor"] == "10"
    leads, cursor = all_leads(url)
    assert [lead["sequence"] for lead in leads] == list(range(1, 26))
    assert leads[:10] == first["leads"]
    assert len({lead["lead_id"] for lead in leads}) == 25
    assert {lead["lead_type"] for lead in leads} == {"complaint", "risk_lead"}
    caught_up = get(url, "/api/national/leads", cursor=cursor).json()
    assert caught_up == {"leads": [], "next_cursor": cursor, "has_more": False}

    published = requests.post(f"{url}/_feeds/publish", json={"leads": 3}, timeout=5).json()
    assert published["leads"] == 28
    new = get(url, "/api/national/leads", cursor=cursor).json()
    assert [lead["sequence"] for lead in new["leads"]] == [26, 27, 28]
    assert get(url, "/api/national/leads", cursor="x").status_code == 400
    assert get(url, "/api/national/leads", limit=501).status_code == 400


def test_leads_are_seeded(url, no_shapes):
    leads, _ = all_leads(url, limit=25)
    records = [lead["record"] for lead in leads[:25]]
    with feed_server(no_shapes, "--seed", "3", "--leads", "25") as same, \
            feed_server(no_shapes, "--seed", "4", "--leads", "25") as other:
        assert [lead["record"] for lead in all_leads(same, limit=25)[0][:25]] == records
        assert [lead["record"] for lead in all_leads(other, limit=25)[0][:25]] != records


def test_new_leads_appear_over_time(no_shapes):
    with feed_server(no_shapes, "--leads", "0", "--leads-per-minute", "120") as base:
        before = requests.get(f"{base}/_feeds", timeout=5).json()["leads"]
        time.sleep(1.6)
        after = requests.get(f"{base}/_feeds", timeout=5).json()["leads"]
        assert after >= before + 2
        assert len(get(base, "/api/national/leads").json()["leads"]) >= after


@pytest.mark.parametrize("kind, seen", [("throttled", 429), ("unavailable", 503),
                                        ("dropped", requests.ConnectionError),
                                        ("lost_response", requests.ConnectionError)])
def test_feed_faults(no_shapes, kind, seen):
    with feed_server(no_shapes, "--fault-rate", "1", "--faults", kind) as base:
        if isinstance(seen, int):
            assert get(base, "/api/national/leads").status_code == seen
        else:
            with pytest.raises(seen):
                get(base, "/api/national/leads")
        status = requests.get(f"{base}/_feeds", timeout=5).json()
        assert status["faults"] == {kind: 1} and status["requests"] == 1


def send(base: str, resource: str, records: list[dict]) -> list[dict]:
    answer = requests.post(f"{base}/api/national/{resource}", json={"records": records},
                           headers=AUTH, timeout=10)
    answer.raise_for_status()
    return answer.json()["results"]


def test_dispositions_are_checked_receipted_and_ledgered(url):
    lead = get(url, "/api/national/leads", limit=1).json()["leads"][0]
    closed = {"lead_id": lead["lead_id"], "lead_type": lead["lead_type"],
              "progress_status": "4", "handling_dept": "甘肃省市场监督管理局",
              "handling_result": "经核查，已责令整改", "handling_date": "2026-11-20"}
    results = send(url, "dispositions", [
        {"key": "disp-1", "record_id": lead["lead_id"], "operation": "i", "payload": closed},
        {"key": "disp-2", "record_id": "TS629999999999", "operation": "i",
         "payload": {**closed, "lead_id": "TS629999999999"}},
        {"key": "disp-3", "record_id": lead["lead_id"], "operation": "u",
         "payload": {**closed, "handling_result": None}},
    ])
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected"]
    assert [e["code"] for e in results[1]["errors"]] == ["unknown_lead"]
    assert [(e["code"], e["field"]) for e in results[2]["errors"]] \
        == [("required_when", "handling_result")]
    again = send(url, "dispositions", [{"key": "disp-1", "record_id": lead["lead_id"],
                                        "operation": "i", "payload": closed}])
    assert again[0]["status"] == "duplicate" and again[0]["receipt"] == results[0]["receipt"]
    ledger = requests.get(f"{url}/_ledger/national", timeout=5,
                          params={"record_id": lead["lead_id"]}).json()
    assert [(e["key"], e["resource"], e["accepted"], e["received"], e["state"])
            for e in ledger["records"]] == [("disp-1", "dispositions", 1, 2, "active")]


def test_a_joint_task_round_trips(url):
    page = get(url, "/api/national/joint-tasks", limit=5).json()
    assert [t["task_no"] for t in page["tasks"]] == ["LHJG6200000001", "LHJG6200000002"]
    task = page["tasks"][0]
    root = ET.fromstring(base64.b64decode(task["message"]).decode("utf-8"))
    task_no = root.findtext("taskInfo/taskNo")
    # a department's feedback: the received message with its part of supervisionProcess
    process = root.find("supervisionProcess")
    details = ET.SubElement(process, "taskDetails")
    for tag, value in {"taskNo": task_no, "unionUnitType": "dept",
                       "unionUnitNo": root.findtext("taskInfo/unionDeptNo").split(",")[0],
                       "unionUnitName": task["units"][0], "status": "反馈",
                       "claimTime": "2026-11-05", "feedbackTime": "2026-11-20",
                       "feedbackSuggestion": "已完成检查"}.items():
        ET.SubElement(details, tag).text = value
    inspection = ET.SubElement(ET.SubElement(process, "feedbackUnitInfo"), "admInspection")
    ET.SubElement(inspection, "checkResult").text = "未发现问题"
    message = base64.b64encode(ET.tostring(root, encoding="utf-8",
                                           xml_declaration=True)).decode()
    bare = ET.fromstring(base64.b64decode(task["message"]))   # no feedback in it
    results = send(url, "joint-feedback", [
        {"key": "fb-1", "record_id": task_no, "operation": "i",
         "payload": {"task_no": task_no, "message": message}},
        {"key": "fb-2", "record_id": "LHJG6200000002", "operation": "i",
         "payload": {"task_no": "LHJG6200000002", "message": base64.b64encode(
             ET.tostring(bare, encoding="utf-8")).decode()}},
    ])
    assert results[0]["status"] == "accepted", results[0]
    assert results[1]["status"] == "rejected"
    assert {e["code"] for e in results[1]["errors"]} == {"message"}
    assert any("taskDetails" in e["reason"] for e in results[1]["errors"])


def test_openapi_documents_the_feeds(url):
    paths = requests.get(f"{url}/openapi.json", timeout=5).json()["paths"]
    assert {"/api/national/leads", "/api/national/joint-tasks", "/api/national/dispositions",
            "/api/national/joint-feedback", "/_feeds", "/_feeds/publish"} <= set(paths)
