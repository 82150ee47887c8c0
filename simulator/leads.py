"""The national system's outbound feeds (issue 13): complaints, tip-offs and risk leads, and
joint-supervision (联合监管) task messages, seeded, with new ones appearing over time.

A lead's content depends only on the seed and its position in the feed, so two simulators
with the same seed serve the same leads; *when* a lead appears depends on the clock
(``--leads-per-minute``) or on ``POST /_feeds/publish``. Leads carry the standard data sets'
field names (``complaint``, ``risk_lead``) without the disposition fields, which travel back
through ``POST /api/national/dispositions``. Task messages are base64 UTF-8 XML shaped like
the 联合监管 sample; feedback comes back through ``POST /api/national/joint-feedback``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import yaml

from simulator.shapes import RecordError, ResourceShape, read_shape_document

CST = dt.timezone(dt.timedelta(hours=8))
# generated dates count back from here, so a lead's content never depends on the clock
EPOCH = dt.datetime(2026, 11, 1, 9, 0, tzinfo=CST)
# the fields a department fills in and sends back; the feed leaves them out
DISPOSITION_FIELDS = frozenset({"progress_status", "verification", "handling_dept",
                                "handling_dept_code", "handling_result", "handling_date"})
# kind of lead → (its data set, the id field: the data set's business key, the id's prefix)
LEAD_KINDS = {"complaint": ("complaint", "complaint_id", "TS62"),
              "tip": ("complaint", "complaint_id", "JB62"),
              "risk_lead": ("risk_lead", "risk_warning_id", "FXYJ62")}
_LEAD_ID = re.compile(r"(TS62|JB62|FXYJ62)(\d{10})")
FEEDBACK_BLOCKS = ("admInspection", "admPunishment", "admForce", "other")


@cache
def feeds_config() -> dict[str, Any]:
    """``simulator/feeds.yaml``."""
    text = resources.files("simulator").joinpath("feeds.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@cache
def _codes(table: str) -> tuple[tuple[str, str], ...]:
    from schemas.code_tables import code_table

    return tuple(code_table(table).labels.items())


@cache
def _divisions(inside_gansu: bool) -> tuple[str, ...]:
    """County-level division codes (last two digits not 00), in or outside Gansu."""
    return tuple(code for code, _ in _codes("行政区划代码")
                 if not code.endswith("00") and code.startswith("62") == inside_gansu)


def _pick(rng: random.Random, table: str) -> str:
    return rng.choice(_codes(table))[0]


@dataclass
class _Subject:
    """Who a lead is about."""

    name: str
    cert_code: str
    division: str


def _subject(rng: random.Random, config: dict[str, Any]) -> _Subject:
    from simulator.identifiers import make_id_number, make_uscc

    inside = rng.randrange(100) >= config["outside_gansu_percent"]
    division = rng.choice(_divisions(inside))
    if rng.randrange(100) < config["natural_person_percent"]:
        name = rng.choice("张王李赵刘陈杨黄马") + rng.choice(["某", "某某"])
        return _Subject(name, make_id_number(rng, division), division)
    trade = rng.choice(["商贸", "食品", "餐饮", "药业", "建材", "物流", "农业科技"])
    return _Subject(f"某某{trade}有限公司{rng.randint(1, 999)}号", make_uscc(rng, division),
                    division)


# One maker per field of the lead data sets (minus the disposition fields): (rng, number,
# subject) -> value. tests/unit/test_simulator_leads.py checks these cover the declarations.
_Maker = Callable[[random.Random, int, _Subject], Any]
_PROBLEMS = ("虚假宣传", "价格欺诈", "销售过期商品", "拒不退款")
_RISKS = ("经营异常", "抽检不合格", "投诉集中", "资质过期")
COMPLAINT_MAKERS: dict[str, _Maker] = {
    "complaint_id": lambda rng, n, s: None,   # set by make_lead: TS… or JB…
    "is_tip": lambda rng, n, s: False,
    "object_name": lambda rng, n, s: s.name,
    "object_cert_code": lambda rng, n, s: s.cert_code,
    "problem_type": lambda rng, n, s: _pick(rng, "投诉举报问题类型"),
    "area_code": lambda rng, n, s: s.division,
    "service_type": lambda rng, n, s: _pick(rng, "商品服务类型"),
    "service_name": lambda rng, n, s: rng.choice(["预付卡消费", "网购食品", "药品零售",
                                                  "装修服务", "二手车交易"]),
    "shopping_mode": lambda rng, n, s: _pick(rng, "购物方式"),
    "dispute_date": lambda rng, n, s: (EPOCH - dt.timedelta(days=rng.randint(1, 120)))
    .date().isoformat(),
    "detail": lambda rng, n, s: f"消费者反映{s.name}存在{rng.choice(_PROBLEMS)}问题，请求核查。",
    "received_at": lambda rng, n, s: (EPOCH + dt.timedelta(minutes=7 * n)).isoformat(),
}
RISK_LEAD_MAKERS: dict[str, _Maker] = {
    "risk_warning_id": lambda rng, n, s: None,   # set by make_lead
    "title": lambda rng, n, s: f"{s.name}{rng.choice(_RISKS)}风险预警",
    "risk_object": lambda rng, n, s: s.name,
    "risk_object_cert_code": lambda rng, n, s: s.cert_code,
    "domain": lambda rng, n, s: _pick(rng, "风险预警领域"),
    "province": lambda rng, n, s: "甘肃省" if s.division.startswith("62") else "外省",
    "risk_level": lambda rng, n, s: rng.choice(["高", "中", "低"]),
    "created_at": lambda rng, n, s: (EPOCH + dt.timedelta(minutes=7 * n)).isoformat(),
    "lead_source": lambda rng, n, s: rng.choice(["信用监管模型", "舆情监测", "抽检数据比对"]),
    "rule_id": lambda rng, n, s: f"R{rng.randint(1, 40):03d}",
    "props": lambda rng, n, s: json.dumps({"score": rng.randint(60, 99)}, ensure_ascii=False),
}
MAKERS = {"complaint": COMPLAINT_MAKERS, "risk_lead": RISK_LEAD_MAKERS}


def make_lead(seed: int, number: int) -> dict[str, Any]:
    """Lead ``number`` (1-based) of the feed seeded with ``seed``."""
    rng = random.Random(f"{seed}:lead:{number}")
    config = feeds_config()
    mix = config["lead_mix"]
    kind = rng.choices(list(mix), weights=list(mix.values()))[0]
    dataset, id_field, prefix = LEAD_KINDS[kind]
    subject = _subject(rng, config)
    record = {name: make(rng, number, subject) for name, make in MAKERS[dataset].items()}
    record[id_field] = lead_id = f"{prefix}{number:010d}"
    if kind == "tip":
        record["is_tip"] = True
        record["detail"] = record["detail"].replace("消费者反映", "群众举报")
    return {"lead_id": lead_id, "lead_type": dataset, "sequence": number, "record": record}


def make_task(seed: int, number: int) -> dict[str, Any]:
    """Joint-supervision task ``number``: its number, the participating units and the
    base64 UTF-8 XML message."""
    from simulator.identifiers import make_uscc

    rng = random.Random(f"{seed}:task:{number}")
    config = feeds_config()
    units = rng.sample(config["agencies"], rng.randint(2, 3))
    task_no = f"LHJG62{number:08d}"
    start = (EPOCH + dt.timedelta(days=number)).date().isoformat()
    subject = _subject(rng, {**config, "outside_gansu_percent": 0, "natural_person_percent": 0})
    root = ET.Element("superviseData")
    info = ET.SubElement(root, "taskInfo")
    values = {
        "taskNo": task_no, "taskName": f"{subject.name}联合检查",
        "taskStartTime": start, "status": "分发",
        "initiateUnitNo": make_uscc(rng, "620000", "11"),
        "initiateUnitName": "甘肃省市场监督管理局", "initiateUnitType": "dept",
        "unionDeptNo": ",".join(make_uscc(random.Random(u["name"]), u["division"], "11")
                                for u in units),
        "unionDeptName": ",".join(u["name"] for u in units),
        "unionRegionNo": subject.division,
        "unionRegionName": dict(_codes("行政区划代码"))[subject.division],
        "supervisionMatterCode": f"62{rng.randint(0, 10**10 - 1):010d}",
        "superviseObjectNo": "", "inspectContent": "经营资质、产品质量、安全生产",
        "inspectClaim": "各部门按职责分别检查并于任务结束前反馈", "remark": "",
    }
    for tag, value in values.items():
        ET.SubElement(info, tag).text = value
    objects = ET.SubElement(ET.SubElement(info, "superviseObjects"), "superviseObject")
    for tag, value in {"superviseObjectType": "法人", "superviseObjectName": subject.name,
                       "superviseObjectCode": subject.cert_code,
                       "credentialsType": "统一社会信用代码",
                       "credentialsValue": subject.cert_code}.items():
        ET.SubElement(objects, tag).text = value
    ET.SubElement(objects, "basisData")
    ET.SubElement(root, "supervisionProcess")
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return {"task_no": task_no, "units": [u["name"] for u in units],
            "message": base64.b64encode(xml).decode("ascii")}


class LeadFeed:
    """The leads and tasks visible now. ``leads``/``tasks`` are visible at start; one more
    lead every ``60 / leads_per_minute`` s; ``publish`` adds more at once."""

    def __init__(self, seed: int = 0, *, leads: int = 20, leads_per_minute: float = 2.0,
                 tasks: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.seed = seed
        self.clock = clock
        self.started = clock()
        self.initial_leads, self.leads_per_minute = leads, leads_per_minute
        self.initial_tasks = tasks
        self.extra_leads = self.extra_tasks = 0
        self.requests = 0
        self.faults: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._published: dict[str, list[str]] = {"leads": [], "tasks": []}
        self.lead = lru_cache(maxsize=100_000)(lambda n: make_lead(self.seed, n))
        self.task = lru_cache(maxsize=10_000)(lambda n: make_task(self.seed, n))

    def count_request(self, fault: str | None) -> None:
        """Count one authenticated GET of the feeds and the fault injected into it, if any."""
        with self.lock:
            self.requests += 1
            if fault:
                self.faults[fault] += 1

    def status(self) -> dict[str, Any]:
        """``GET /_feeds``: what is visible, requests served and faults injected."""
        with self.lock:
            return {"leads": self.count("leads"), "tasks": self.count("tasks"),
                    "requests": self.requests, "faults": dict(self.faults)}

    def resources(self) -> dict[str, ResourceShape]:
        """The national resources that receive what goes back (``feeds.yaml``), with the
        checks that need the feed attached."""
        _, declared = read_shape_document(Path("simulator/feeds.yaml"), feeds_config())
        return {name: self.attach(resource) for name, resource in declared.items()}

    def attach(self, resource: ResourceShape) -> ResourceShape:
        """``resource`` with the feed's check for it (dispositions, joint feedback)."""
        check = {"dispositions": self.check_disposition,
                 "joint-feedback": self.check_feedback}.get(resource.name)
        return resource if check is None else replace(resource, extra_check=check)

    def count(self, kind: str) -> int:
        """How many leads (or tasks) are visible now."""
        if kind == "tasks":
            return self.initial_tasks + self.extra_tasks
        grown = int((self.clock() - self.started) / 60 * self.leads_per_minute)
        return self.initial_leads + self.extra_leads + grown

    def publish(self, leads: int = 0, tasks: int = 0) -> dict[str, int]:
        """Make ``leads`` more leads and ``tasks`` more tasks visible now."""
        with self.lock:
            self.extra_leads += leads
            self.extra_tasks += tasks
        return {"leads": self.count("leads"), "tasks": self.count("tasks")}

    def page(self, kind: str, cursor: str | None, limit: int) -> dict[str, Any]:
        """One page of ``kind`` (``leads`` or ``tasks``) after ``cursor``; the answer's
        ``next_cursor`` resumes after its last item (the same cursor when nothing is new)."""
        start = int(cursor) if cursor else 0
        with self.lock:
            total = self.count(kind)
            published = self._published[kind]
            now = dt.datetime.now(CST).isoformat(timespec="seconds")
            published.extend([now] * (total - len(published)))
        end = min(total, start + limit)
        make = self.lead if kind == "leads" else self.task
        items = [{**make(n + 1), "published_at": published[n]} for n in range(start, end)]
        return {kind: items, "next_cursor": str(max(end, start)), "has_more": end < total}

    def known_lead(self, lead_id: str) -> dict[str, Any] | None:
        """The visible lead of that id, or None."""
        match = _LEAD_ID.fullmatch(lead_id)
        number = int(match.group(2)) if match else 0
        if not 1 <= number <= self.count("leads"):
            return None
        lead = self.lead(number)
        return lead if lead["lead_id"] == lead_id else None

    def known_task(self, task_no: str) -> bool:
        digits = task_no.removeprefix("LHJG62")
        return digits.isdigit() and 1 <= int(digits) <= self.count("tasks") \
            and self.task(int(digits))["task_no"] == task_no

    def check_disposition(self, payload: dict[str, Any]) -> list[RecordError]:
        """What the national system refuses in a disposition beyond its shape: an unknown
        lead, a wrong lead type, a progress status not in 事件进展状态."""
        errors = []
        lead = self.known_lead(str(payload.get("lead_id")))
        if lead is None:
            errors.append(RecordError("unknown_lead", "lead_id",
                                      f"线索 {payload.get('lead_id')} 不存在 (no such lead)"))
        elif payload.get("lead_type") != lead["lead_type"]:
            errors.append(RecordError("lead_type", "lead_type",
                                      f"线索类型应为 {lead['lead_type']} "
                                      f"(lead type should be {lead['lead_type']})"))
        if payload.get("progress_status") not in dict(_codes("事件进展状态")):
            errors.append(RecordError("code", "progress_status",
                                      f"事件进展状态 {payload.get('progress_status')} 不在代码表中 "
                                      "(not a code of 事件进展状态)"))
        return errors

    def check_feedback(self, payload: dict[str, Any]) -> list[RecordError]:
        """A feedback message must decode (base64, UTF-8 XML ``superviseData``), name a
        known task in ``taskInfo`` and ``supervisionProcess.taskDetails``, give the feeding
        unit, status and time, and carry at least one ``feedbackUnitInfo`` result block."""
        task_no = payload.get("task_no")
        if not self.known_task(str(task_no)):
            return [RecordError("unknown_task", "task_no", f"任务 {task_no} 不存在 (no such task)")]
        try:
            root = ET.fromstring(base64.b64decode(str(payload.get("message")), validate=True)
                                 .decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ET.ParseError) as error:
            return [RecordError("message", "message",
                                f"报文无法解析 (not base64 UTF-8 XML: {error})")]
        problems = []
        if root.tag != "superviseData":
            problems.append(f"根元素应为 superviseData (root is {root.tag})")
        if root.findtext("taskInfo/taskNo") != task_no:
            problems.append("taskInfo/taskNo 与任务编号不符 (taskInfo/taskNo differs)")
        details = root.find("supervisionProcess/taskDetails")
        if details is None:
            problems.append("缺少 supervisionProcess/taskDetails (missing)")
        else:
            if details.findtext("taskNo") != task_no:
                problems.append("taskDetails/taskNo 与任务编号不符 (taskDetails/taskNo differs)")
            for tag in ("unionUnitNo", "unionUnitName", "status", "feedbackTime"):
                if not (details.findtext(tag) or "").strip():
                    problems.append(f"taskDetails/{tag} 为空 (empty)")
        blocks = root.find("supervisionProcess/feedbackUnitInfo")
        if blocks is None or not any(blocks.find(tag) is not None for tag in FEEDBACK_BLOCKS):
            problems.append("feedbackUnitInfo 须含检查、处罚、强制或其他结果 "
                            "(feedbackUnitInfo needs a result block)")
        return [RecordError("message", "message", p) for p in problems]
