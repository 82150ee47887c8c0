"""联合监管 (joint-supervision) task messages: safe parsing, loading, and the feedback message.

A task arrives as base64 UTF-8 XML ``superviseData{taskInfo, supervisionProcess}``
(REFERENCE.md §2.8). Parsing refuses any DTD (no entity expansion, no external entities: what
``defusedxml`` refuses, done with the standard library's expat hooks). Each 联合部门 named in
``unionDeptNo``/``unionDeptName`` gets its part (``audit.joint_task_part``), mapped to a
department file by its Chinese name. :func:`feedback_message` assembles one department's
inspection and penalty results for the task into ``supervisionProcess.taskDetails`` /
``feedbackUnitInfo``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

import sqlalchemy as sa

from warehouse.tables import AUDIT, table


class MessageError(ValueError):
    """A task message that is not safe, well-formed base64 UTF-8 XML ``superviseData``."""


def _refuse(*_: Any) -> None:
    raise MessageError("DTD or entity declarations are refused in task messages")


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML with any DOCTYPE or entity declaration refused (defusedxml's rule): expat
    driven directly, so its declaration hooks can be set, building an ElementTree."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except expat.ExpatError as error:
        raise MessageError(f"not well-formed XML: {error}") from None


def decode_message(message: str) -> ET.Element:
    """The ``superviseData`` element of a base64 UTF-8 XML task message."""
    try:
        data = base64.b64decode(message, validate=True)
        data.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise MessageError(f"not base64 UTF-8: {error}") from None
    root = parse_xml(data)
    if root.tag != "superviseData" or root.find("taskInfo") is None:
        raise MessageError(f"root is {root.tag!r}, expected superviseData with taskInfo")
    return root


def task_info(root: ET.Element) -> dict[str, Any]:
    """``taskInfo`` as a dict: simple elements by tag, the supervised objects as a list."""
    info = root.find("taskInfo")
    assert info is not None
    values: dict[str, Any] = {child.tag: (child.text or "").strip() for child in info
                              if len(child) == 0}
    values["superviseObjects"] = [
        {child.tag: (child.text or "").strip() for child in obj if len(child) == 0}
        for obj in info.iterfind("superviseObjects/superviseObject")]
    return values


def units(info: dict[str, Any]) -> list[tuple[str, str]]:
    """The participating units (联合部门) as (USCC, name) pairs."""
    numbers = [n.strip() for n in str(info.get("unionDeptNo") or "").split(",") if n.strip()]
    names = [n.strip() for n in str(info.get("unionDeptName") or "").split(",") if n.strip()]
    if len(numbers) != len(names):
        raise MessageError(f"unionDeptNo has {len(numbers)} units, unionDeptName {len(names)}")
    return list(zip(numbers, names, strict=True))


def load_tasks(engine: sa.Engine, items: Iterable[dict[str, Any]],
               department_by_name: dict[str, str], now: dt.datetime | None = None
               ) -> dict[str, int]:
    """Parse and store task items (``{task_no, message, published_at}``) and each
    participating department's part; a task stored before is left as it is (pulled twice,
    loaded once). A message that does not parse raises MessageError naming the task."""
    now = now or dt.datetime.now(dt.UTC)
    tasks, parts = table(AUDIT, "joint_task"), table(AUDIT, "joint_task_part")
    counts = {"tasks": 0, "parts": 0, "known": 0}
    with engine.begin() as conn:
        for item in items:
            task_no = str(item.get("task_no"))
            try:
                root = decode_message(str(item.get("message")))
            except MessageError as error:
                raise MessageError(f"task {task_no}: {error}") from None
            info = task_info(root)
            if info.get("taskNo") != task_no:
                raise MessageError(f"task {task_no}: taskInfo/taskNo is {info.get('taskNo')!r}")
            if conn.execute(sa.select(tasks.c.task_no).where(tasks.c.task_no == task_no)).first():
                counts["known"] += 1
                continue
            conn.execute(tasks.insert().values(
                task_no=task_no, task_name=info.get("taskName"), status=info.get("status"),
                start_date=info.get("taskStartTime"),
                matter_code=info.get("supervisionMatterCode"),
                region_code=info.get("unionRegionNo"), info=info,
                message=base64.b64decode(str(item["message"])).decode("utf-8"),
                published_at=item.get("published_at"), pulled_at=now))
            counts["tasks"] += 1
            for unit_no, unit_name in units(info):
                conn.execute(parts.insert().values(
                    task_no=task_no, unit_no=unit_no, unit_name=unit_name,
                    department_code=department_by_name.get(unit_name)))
                counts["parts"] += 1
    return counts


def parts_of(engine: sa.Engine, department: str | None = None) -> list[dict[str, Any]]:
    """Task parts with their task (optionally one department's)."""
    tasks, parts = table(AUDIT, "joint_task"), table(AUDIT, "joint_task_part")
    query = sa.select(parts, tasks.c.info, tasks.c.message).join(
        tasks, tasks.c.task_no == parts.c.task_no).order_by(parts.c.task_no, parts.c.unit_no)
    if department:
        query = query.where(parts.c.department_code == department)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


# element names of feedbackUnitInfo blocks ← standard fields (REFERENCE.md §2.8)
INSPECTION_ELEMENTS = {
    "supervisionMatterCode": "supervise_item_code", "checkActionName": "check_action_name",
    "checkActionCode": "check_action_code", "implementInstitution": "implement_institution",
    "implementInstitutionCode": "implement_institution_code",
    "superviseObjectCode": "administrative_cp_code", "superviseObjectName": "administrative_cp",
    "checkForm": "check_form", "checkType": "check_type", "checkMode": "check_mode",
    "checkResult": "check_result", "checkDate": "check_date",
    "checkPersonnel": "check_personnel"}
PUNISHMENT_ELEMENTS = {
    "supervisionMatterCode": "supervise_item_code", "punishActionName": "punish_action_name",
    "superviseObjectCode": "administrative_cp_code", "superviseObjectName": "administrative_cp",
    "illegalFact": "illegal_fact", "punishAccord": "punish_basis",
    "punishProcedure": "punish_procedure", "punishDocumentCode": "punish_document_code",
    "setDate": "punish_decision_date", "penaltyResult": "penalty_result",
    "punishActionCode": "punish_action_code"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def feedback_message(task_xml: str, unit_no: str, unit_name: str,
                     inspections: Iterable[dict[str, Any]], penalties: Iterable[dict[str, Any]],
                     *, now: dt.datetime | None = None) -> str:
    """The task message with one unit's ``supervisionProcess`` filled: ``taskDetails`` and a
    ``feedbackUnitInfo`` block per inspection and penalty; base64 UTF-8 XML."""
    now = now or dt.datetime.now(dt.UTC)
    root = parse_xml(task_xml.encode("utf-8"))
    info = task_info(root)
    process = root.find("supervisionProcess")
    if process is None:
        process = ET.SubElement(root, "supervisionProcess")
    for child in list(process):
        process.remove(child)
    details = ET.SubElement(process, "taskDetails")
    for tag, value in {"taskNo": info.get("taskNo"), "unionUnitType": "dept",
                       "unionUnitNo": unit_no, "unionUnitName": unit_name, "status": "反馈",
                       "claimTime": now.date().isoformat(),
                       "supervisionMatterCode": info.get("supervisionMatterCode"),
                       "endTime": "", "endReason": "",
                       "feedbackTime": now.isoformat(timespec="seconds"),
                       "feedbackSuggestion": ""}.items():
        ET.SubElement(details, tag).text = _text(value)
    results = ET.SubElement(process, "feedbackUnitInfo")
    count = 0
    for name, elements, rows in (("admInspection", INSPECTION_ELEMENTS, inspections),
                                 ("admPunishment", PUNISHMENT_ELEMENTS, penalties)):
        for row in rows:
            block = ET.SubElement(results, name)
            for tag, field in elements.items():
                ET.SubElement(block, tag).text = _text(row.get(field))
            count += 1
    if not count:  # nothing found for the task: say so rather than send an empty block
        block = ET.SubElement(results, "other")
        for tag, value in {"supervisionMatterCode": info.get("supervisionMatterCode"),
                           "actionName": "未发现相关检查或处罚记录", "closingCase": "否"}.items():
            ET.SubElement(block, tag).text = _text(value)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return base64.b64encode(xml).decode("ascii")
