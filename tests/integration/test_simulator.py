"""The platform simulator as a client meets it: ``huiju simulator serve`` in a child process
on a free port, spoken to with ``requests`` over a real socket. Auth, schema rejections with
code and reason, receipts, duplicates, supersession and withdrawal in the ledger, every fault
kind as the client observes it, seeded determinism, batch limits and the OpenAPI document."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from simulator.faults import FAULT_KINDS
from simulator.process import simulator_process

pytestmark = pytest.mark.simulator

TOKEN = "sim-T0ken-Secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Small shape files in the format of schemas/platforms/<platform>.yaml, so these tests do not
# depend on the real shapes' fields.
SHAPES = {
    "creditchina.yaml": """
platform: creditchina
zh: 信用中国(甘肃)
resources:
  - name: CF
    dataset: penalty
    zh: 行政处罚
    fields:
      - {code: CF_XDR_MC, zh: 行政相对人名称, type: string, max_length: 20, required: true,
         from: administrative_cp_name}
      - {code: CF_XDR_LB, type: string, required: true}
      - {code: CF_XDR_SHTYXYDM, type: string, max_length: 18,
         required_when: {field: CF_XDR_LB, in: [法人及非法人组织, 个体工商户]}}
      - {code: CF_JDRQ, type: date, required: true}
      - {code: CF_FK, type: decimal, unit: 万元}
      - {code: CF_SL, type: integer}
""",
    "national.yaml": """
platform: national
resources:
  - name: penalty
    dataset: penalty
    fields:
      - {code: cd_id, type: string, required: true}
      - {code: cd_operation, type: string, max_length: 1, required: true}
""",
}


def penalty(name: str = "甘肃某某商贸有限公司", **fields: object) -> dict:
    payload = {"CF_XDR_MC": name, "CF_XDR_LB": "法人及非法人组织",
               "CF_XDR_SHTYXYDM": "91620100MA71234567", "CF_JDRQ": "2024-05-01",
               "CF_FK": "0.200000"}
    payload.update(fields)
    return payload


def record(key: str, record_id: str, operation: str = "i", payload: dict | None = None) -> dict:
    return {"key": key, "record_id": record_id, "operation": operation,
            "payload": penalty() if payload is None and operation != "d" else (payload or {})}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("platforms")
    for name, text in SHAPES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="module")
def url(shapes):
    """One fault-free simulator for the module; each test uses its own keys and record ids."""
    with simulator_process(token=TOKEN, shapes=shapes) as base:
        yield base


def send(base: str, records: list[dict], resource: str = "creditchina/CF",
         **kwargs) -> requests.Response:
    return requests.post(f"{base}/api/{resource}", json={"records": records},
                         headers=kwargs.pop("headers", AUTH), timeout=kwargs.pop("timeout", 10),
                         **kwargs)


def ledger(base: str, platform: str = "creditchina", **params: str) -> dict:
    answer = requests.get(f"{base}/_ledger/{platform}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_health_lists_the_resources_of_the_shape_files(url):
    health = requests.get(f"{url}/_health", timeout=5).json()
    assert health == {"status": "ok",
                      "platforms": {"national": ["dispositions", "joint-feedback", "penalty"],
                                    "gsxt": [], "creditchina": ["CF"]}}


def test_token_is_required(url):
    body = [record("auth-1", "auth-r1")]
    assert send(url, body, headers={}).status_code == 401
    refused = send(url, body, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert TOKEN not in refused.text
    assert ledger(url, record_id="auth-r1")["records"] == []
    assert send(url, body).json()["results"][0]["status"] == "accepted"


def test_unknown_routes_answer_404(url):
    assert send(url, [record("nf-1", "nf-r1")], resource="creditchina/XK").status_code == 404
    assert send(url, [record("nf-2", "nf-r2")], resource="tianjin/CF").status_code == 404
    assert requests.get(f"{url}/_ledger/tianjin", timeout=5).status_code == 404


def test_accept_gives_a_receipt_and_a_resend_is_a_duplicate(url):
    first = send(url, [record("rcpt-1", "rcpt-r1"), record("rcpt-2", "rcpt-r2")])
    assert first.status_code == 200
    results = first.json()["results"]
    assert [r["key"] for r in results] == ["rcpt-1", "rcpt-2"]
    assert [r["status"] for r in results] == ["accepted", "accepted"]
    receipts = [r["receipt"] for r in results]
    assert all(receipts) and len(set(receipts)) == 2

    again = send(url, [record("rcpt-2", "rcpt-r2"), record("rcpt-3", "rcpt-r3")])
    dup, new = again.json()["results"]
    assert dup == {"key": "rcpt-2", "status": "duplicate", "receipt": receipts[1], "errors": []}
    assert new["status"] == "accepted" and new["receipt"] not in receipts

    entry, = ledger(url, record_id="rcpt-r2")["records"]
    assert entry == {"key": "rcpt-2", "record_id": "rcpt-r2", "resource": "CF",
                     "operation": "i", "accepted": 1, "received": 2,
                     "receipt": receipts[1], "state": "active"}


def test_schema_rejections_carry_code_field_and_reason(url):
    bad = {
        "rej-required": penalty(CF_XDR_MC=""),
        "rej-when": penalty(CF_XDR_SHTYXYDM=None),
        "rej-length": penalty(name="甘" * 21),
        "rej-date": penalty(CF_JDRQ="2024-02-30"),
        "rej-decimal": penalty(CF_FK="两千"),
        "rej-integer": penalty(CF_SL=1.5),
        "rej-unknown": penalty(CF_NOPE="x"),
    }
    results = send(url, [record(k, k, payload=p) for k, p in bad.items()]
                   + [record("rej-ok", "rej-ok", payload=penalty(CF_XDR_LB="自然人",
                                                                 CF_XDR_SHTYXYDM=None))]
                   ).json()["results"]
    by_key = {r["key"]: r for r in results}
    expected = {"rej-required": ("required", "CF_XDR_MC"),
                "rej-when": ("required_when", "CF_XDR_SHTYXYDM"),
                "rej-length": ("max_length", "CF_XDR_MC"),
                "rej-date": ("type", "CF_JDRQ"), "rej-decimal": ("type", "CF_FK"),
                "rej-integer": ("type", "CF_SL"), "rej-unknown": ("unknown_field", "CF_NOPE")}
    for key, (code, field) in expected.items():
        result = by_key[key]
        assert result["status"] == "rejected" and result["receipt"] is None, key
        assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)], key
        assert field in result["errors"][0]["reason"]
    assert by_key["rej-ok"]["status"] == "accepted"   # required_when not triggered
    keys = {e["key"] for e in ledger(url)["records"]}
    assert "rej-ok" in keys and not keys & set(bad)
    # a corrected re-send of a rejected key is accepted
    fixed = send(url, [record("rej-date", "rej-date")]).json()["results"][0]
    assert fixed["status"] == "accepted"


def test_update_supersedes_and_withdrawal_withdraws(url):
    send(url, [record("sup-v1", "sup-r")])
    send(url, [record("sup-v2", "sup-r", "u", penalty(CF_FK="0.300000"))])
    states = {e["key"]: e["state"] for e in ledger(url, record_id="sup-r")["records"]}
    assert states == {"sup-v1": "superseded", "sup-v2": "active"}

    withdrawn = send(url, [record("sup-v3", "sup-r", "d")]).json()["results"][0]
    assert withdrawn["status"] == "accepted" and withdrawn["receipt"]
    entries = ledger(url, record_id="sup-r", payloads="1")["records"]
    assert {e["key"]: e["state"] for e in entries} == {
        "sup-v1": "superseded", "sup-v2": "withdrawn", "sup-v3": "withdrawn"}
    assert ledger(url, record_id="sup-r")["summary"] == {
        "keys": 3, "active": 0, "superseded": 1, "withdrawn": 2, "accepted": 3, "received": 3}
    assert [e["operation"] for e in entries] == ["i", "u", "d"]
    assert entries[1]["payload"]["CF_FK"] == "0.300000"
    # the same record id on another platform is another record
    other = send(url, [{"key": "sup-n1", "record_id": "sup-r", "operation": "i",
                        "payload": {"cd_id": "sup-r", "cd_operation": "i"}}],
                 resource="national/penalty").json()["results"][0]
    assert other["status"] == "accepted"
    assert [e["state"] for e in ledger(url, "national", record_id="sup-r")["records"]] \
        == ["active"]


def test_batch_limits_and_malformed_bodies(url):
    too_many = [record(f"big-{i}", f"big-{i}") for i in range(501)]
    assert send(url, too_many).status_code == 413
    assert ledger(url, record_id="big-0")["records"] == []
    assert send(url, too_many[:500]).status_code == 200
    malformed = requests.post(f"{url}/api/creditchina/CF", data=b'{"records": [{"key": 1}]}',
                              headers=AUTH, timeout=10)
    assert malformed.status_code == 400 and malformed.json()["details"]
    assert send(url, [{"key": "op-x", "record_id": "op-x", "operation": "x"}]).status_code == 400


def test_concurrent_senders_get_each_key_accepted_once(url):
    keys = [record(f"conc-{i}", f"conc-{i}") for i in range(200)]
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    def sender() -> None:
        with requests.Session() as session:
            for start in range(0, 200, 50):
                answer = session.post(f"{url}/api/creditchina/CF", headers=AUTH, timeout=10,
                                      json={"records": keys[start:start + 50]})
                with lock:
                    statuses.update(r["status"] for r in answer.json()["results"])

    threads = [threading.Thread(target=sender) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {"accepted": 200, "duplicate": 1000}
    entries = [e for e in ledger(url)["records"] if e["key"].startswith("conc-")]
    assert len(entries) == 200
    assert {(e["accepted"], e["received"]) for e in entries} == {(1, 6)}
    summary = ledger(url, records="0")
    assert summary["records"] == [] and summary["summary"]["keys"] >= 200
    assert summary["summary"]["accepted"] == summary["summary"]["keys"]


def test_openapi_document_lists_the_routes(url):
    document = requests.get(f"{url}/openapi.json", timeout=5).json()
    assert document["openapi"].startswith("3.")
    assert {"/api/creditchina/CF", "/api/national/penalty", "/_ledger/{platform}",
            "/_health"} <= set(document["paths"])
    schemas = document["components"]["schemas"]
    payload = schemas["creditchina.CF"]
    assert payload["required"] == ["CF_XDR_MC", "CF_XDR_LB", "CF_JDRQ"]
    assert payload["properties"]["CF_XDR_MC"]["maxLength"] == 20
    assert schemas["BatchIn"]["properties"]["records"]["maxItems"] == 500
    refs = str(document["paths"])
    for model in ("BatchOut", "LedgerOut", "ProblemOut"):
        assert f"#/components/schemas/{model}" in refs and model in schemas


def _fault_server(shapes: str, kind: str, *extra: str):
    return simulator_process(token=TOKEN, shapes=shapes,
                             args=["--fault-rate", "1", "--faults", kind, *extra])


@pytest.mark.parametrize("kind, status", [("server_error", 500), ("unavailable", 503),
                                          ("throttled", 429)])
def test_error_faults_answer_without_processing(shapes, kind, status):
    with _fault_server(shapes, kind, "--retry-after", "7") as base:
        answer = send(base, [record("f-1", "f-r1")])
        assert answer.status_code == status
        if kind == "throttled":
            assert answer.headers["Retry-After"] == "7"
        book = ledger(base)
        assert book["records"] == [] and book["faults"] == {kind: 1} and book["requests"] == 1


def test_dropped_connection_before_processing(shapes):
    with _fault_server(shapes, "dropped") as base:
        with pytest.raises(requests.ConnectionError):
            send(base, [record("drop-1", "drop-r1")])
        book = ledger(base)
        assert book["records"] == [] and book["faults"] == {"dropped": 1}


def test_lost_response_is_processed_but_never_answered(shapes):
    with _fault_server(shapes, "lost_response") as base:
        with pytest.raises(requests.ConnectionError):
            send(base, [record("lost-1", "lost-r1"), record("lost-2", "lost-r2", payload={})])
        book = ledger(base)
        assert [e["key"] for e in book["records"]] == ["lost-1"]   # lost-2 was rejected
        assert book["faults"] == {"lost_response": 1} and book["rejected"] == 1


def test_slow_answer_is_late_but_processed(shapes):
    with _fault_server(shapes, "slow", "--slow-seconds", "1.5") as base:
        started = time.monotonic()
        answer = send(base, [record("slow-1", "slow-r1")])
        assert time.monotonic() - started >= 1.5
        assert answer.json()["results"][0]["status"] == "accepted"
        with pytest.raises(requests.Timeout):   # a client that gives up still got it processed
            send(base, [record("slow-2", "slow-r2")], timeout=0.3)
        time.sleep(1.5)
        assert [e["key"] for e in ledger(base)["records"]] == ["slow-1", "slow-2"]


def _outcomes(shapes: str, seed: int) -> tuple[list[str], dict]:
    """What a client sees for 40 batches at a 50 % fault rate with ``seed``."""
    seen = []
    with simulator_process(token=TOKEN, shapes=shapes,
                           args=["--fault-rate", "0.5", "--seed", str(seed),
                                 "--slow-seconds", "0.01", "--retry-after", "0"]) as base:
        with requests.Session() as session:
            for i in range(40):
                try:
                    answer = session.post(f"{base}/api/creditchina/CF", headers=AUTH,
                                          timeout=10, json={"records": [record(f"s{i}", f"s{i}")]})
                    seen.append(str(answer.status_code))
                except requests.ConnectionError:
                    seen.append("connection error")
        return seen, ledger(base)["faults"]


def test_faults_are_seeded(shapes):
    first, faults = _outcomes(shapes, seed=11)
    again, faults_again = _outcomes(shapes, seed=11)
    other, _ = _outcomes(shapes, seed=12)
    assert first == again and faults == faults_again
    assert first != other
    assert set(faults) == set(FAULT_KINDS)   # 40 draws at 50 % meet every kind with seed 11
    assert sum(faults.values()) == 40 - first.count("200") + faults["slow"]


def test_a_ledger_file_survives_a_restart(shapes, tmp_path):
    path = str(tmp_path / "ledger" / "sim.db")
    with simulator_process(token=TOKEN, shapes=shapes, args=["--ledger", path]) as base:
        first = send(base, [record("keep-1", "keep-r"),
                            record("keep-2", "keep-r", "u", penalty(CF_FK="1.000000"))])
        receipts = [r["receipt"] for r in first.json()["results"]]
        before = ledger(base, payloads="1")["records"]
    assert [e["state"] for e in before] == ["superseded", "active"]
    with simulator_process(token=TOKEN, shapes=shapes, args=["--ledger", path]) as base:
        assert ledger(base, payloads="1")["records"] == before
        again = send(base, [record("keep-2", "keep-r"), record("keep-3", "keep-r", "d")])
        dup, withdrawn = again.json()["results"]
        assert dup["status"] == "duplicate" and dup["receipt"] == receipts[1]
        assert withdrawn["status"] == "accepted" and withdrawn["receipt"] not in receipts
        after = {e["key"]: (e["state"], e["received"]) for e in ledger(base)["records"]}
    assert after == {"keep-1": ("superseded", 1), "keep-2": ("withdrawn", 2),
                     "keep-3": ("withdrawn", 1)}
