"""The simulated national feeds against the declarations they imitate: every lead field is a
field of its data set (complaint, risk_lead) with a valid value, every task message uses the
联合监管 sample's element names, and the feed's own checks of what comes back."""

from __future__ import annotations

import base64
import datetime as dt
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from schemas.catalog import dataset
from schemas.code_tables import code_table
from schemas.model import FieldType
from schemas.rules import check_uscc_or_id_card
from simulator.leads import DISPOSITION_FIELDS, MAKERS, LeadFeed, make_lead, make_task

# a verbatim copy of the domain notes' 联合监管 sample (REFERENCE.md §2.8)
SAMPLE = Path(__file__).parents[1] / "fixtures" / "national" / "joint_supervision_sample.xml"
LEADS = [make_lead(5, n) for n in range(1, 401)]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_makers_cover_exactly_the_fields_a_department_does_not_fill(name):
    declared = {f.name for f in dataset(name).fields}
    assert set(MAKERS[name]) == declared - DISPOSITION_FIELDS
    assert DISPOSITION_FIELDS <= declared | {"verification"}


def test_generated_leads_are_valid_records_of_their_data_sets():
    for lead in LEADS:
        spec = dataset(lead["lead_type"])
        record = lead["record"]
        assert lead["lead_id"] == record[spec.business_key[0]]
        for field in spec.fields:
            value = record.get(field.name)
            if field.name in DISPOSITION_FIELDS:
                assert value is None
                continue
            assert value is not None or not field.required, (lead["lead_id"], field.name)
            if field.type is FieldType.CODE:
                assert value in code_table(field.code_table).codes, (field.name, value)
            if field.type is FieldType.STRING and field.length:
                assert len(value) <= field.length, (field.name, value)
            if field.type is FieldType.DATE:
                assert dt.date.fromisoformat(value) < dt.date(2026, 11, 1)
            if field.type is FieldType.DATETIME:
                assert dt.datetime.fromisoformat(value).tzinfo is not None
        cert = record.get("object_cert_code") or record.get("risk_object_cert_code")
        assert check_uscc_or_id_card([cert])[0] == 0, cert


def test_the_feed_mixes_kinds_divisions_and_subjects():
    kinds = Counter((lead["lead_type"], lead["record"].get("is_tip")) for lead in LEADS)
    assert set(kinds) == {("complaint", False), ("complaint", True), ("risk_lead", None)}
    certs = [lead["record"].get("object_cert_code") or lead["record"]["risk_object_cert_code"]
             for lead in LEADS]
    people = sum(not cert.startswith("91") for cert in certs)   # ID numbers, not USCCs
    outside = sum(not (cert[2:8] if cert.startswith("91") else cert[:6]).startswith("62")
                  for cert in certs)
    assert 5 <= outside <= 40          # ~5 % outside Gansu: the unroutable ones
    assert 15 <= people <= 70          # ~10 % natural persons
    assert len({lead["lead_id"] for lead in LEADS}) == len(LEADS)
    assert make_lead(5, 17) == LEADS[16] and make_lead(6, 17) != LEADS[16]


def _tags(element: ET.Element) -> set[str]:
    return {e.tag for e in element.iter()}


def test_task_messages_use_the_sample_element_names():
    sample = ET.parse(SAMPLE).getroot()
    for number in range(1, 6):
        task = make_task(5, number)
        root = ET.fromstring(base64.b64decode(task["message"]).decode("utf-8"))
        assert root.tag == "superviseData"
        assert _tags(root) <= _tags(sample)
        assert root.findtext("taskInfo/taskNo") == task["task_no"]
        assert root.findtext("taskInfo/unionDeptName").split(",") == task["units"]
        assert root.findtext("taskInfo/unionRegionName")


def _feedback(task_no: str, **drop: bool) -> str:
    root = ET.Element("superviseData")
    ET.SubElement(ET.SubElement(root, "taskInfo"), "taskNo").text = task_no
    process = ET.SubElement(root, "supervisionProcess")
    details = ET.SubElement(process, "taskDetails")
    for tag, value in {"taskNo": task_no, "unionUnitNo": "11620000MB0000000X",
                       "unionUnitName": "甘肃省市场监督管理局", "status": "反馈",
                       "feedbackTime": "2026-11-20"}.items():
        if not drop.get(tag):
            ET.SubElement(details, tag).text = value
    if not drop.get("blocks"):
        ET.SubElement(ET.SubElement(process, "feedbackUnitInfo"), "admInspection")
    return base64.b64encode(ET.tostring(root, encoding="utf-8")).decode()


def test_feed_checks_what_comes_back():
    feed = LeadFeed(5, leads=10, leads_per_minute=0, tasks=2)
    lead = LEADS[3]
    good = {"lead_id": lead["lead_id"], "lead_type": lead["lead_type"], "progress_status": "4"}
    assert feed.check_disposition(good) == []
    assert [e.code for e in feed.check_disposition({**good, "lead_id": LEADS[10]["lead_id"]})] \
        == ["unknown_lead"]                       # not published yet
    assert [e.code for e in feed.check_disposition({**good, "progress_status": "0"})] == ["code"]
    other = "risk_lead" if lead["lead_type"] == "complaint" else "complaint"
    assert [e.code for e in feed.check_disposition({**good, "lead_type": other})] \
        == ["lead_type"]
    task = "LHJG6200000002"
    assert feed.check_feedback({"task_no": task, "message": _feedback(task)}) == []
    assert [e.code for e in feed.check_feedback({"task_no": "LHJG6200000003",
                                                 "message": _feedback("LHJG6200000003")})] \
        == ["unknown_task"]
    assert [e.code for e in feed.check_feedback({"task_no": task, "message": "%%%"})] \
        == ["message"]
    missing = feed.check_feedback({"task_no": task, "message": _feedback(task, blocks=True,
                                                                         feedbackTime=True)})
    assert [e.reason.split()[0] for e in missing] == ["taskDetails/feedbackTime",
                                                      "feedbackUnitInfo"]
