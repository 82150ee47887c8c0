"""Routing of leads to the competent department, declared as data (``config/lead_routing.yaml``).

The table is validated on load (pydantic, then department codes, field codes and divisions
against the department files and the code tables); every problem names the file and key, like
``huiju config check``. :func:`route` decides for one lead and says why; it never fails: a lead
no rule covers goes to the provincial queue with the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huiju.departments import ConfigProblem, DepartmentConfigError, key_path, load_departments
from schemas.code_tables import code_table

LEAD_DATASETS = {"complaint": "complaint_id", "risk_lead": "risk_warning_id"}
# where each data set keeps the lead's field, and the code table of that field
FIELD_OF = {"complaint": ("problem_type", "投诉举报问题类型"),
            "risk_lead": ("domain", "风险预警领域")}
CERT_OF = {"complaint": "object_cert_code", "risk_lead": "risk_object_cert_code"}
RECEIVED_OF = {"complaint": "received_at", "risk_lead": "created_at"}
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_ID = re.compile(r"^\d{17}[\dX]$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(_Strict):
    """One department's competence: divisions (code prefixes) × fields."""

    department: str
    divisions: tuple[str, ...] = Field(min_length=1)
    problem_types: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


class RoutingTable(_Strict):
    """The whole file."""

    feed_department: str = Field(description="the department file whose feeds pull the leads")
    joint_tasks_url: str = Field(description="path of the task feed under that source's base URL")
    provincial_queue: str
    deadlines_days: dict[str, int] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = Field(min_length=1)

    def deadline_days(self, lead_type: str) -> int | None:
        """Days a department has to dispose of a lead of ``lead_type`` (None: no deadline)."""
        return self.deadlines_days.get(lead_type)


@dataclass(frozen=True)
class Routing:
    """Where a lead went and why."""

    department_code: str
    routed: bool             # False: the provincial queue
    division_code: str | None
    field_code: str | None
    rule: int | None         # index of the rule in the table
    reason: str


def routing_path(override: str | os.PathLike | None = None) -> Path:
    """``override``, else $HUIJU_LEAD_ROUTING, else ``config/lead_routing.yaml`` under
    $HUIJU_HOME."""
    if override:
        return Path(override)
    if os.environ.get("HUIJU_LEAD_ROUTING"):
        return Path(os.environ["HUIJU_LEAD_ROUTING"])
    from huiju.settings import load_settings

    return load_settings().home / "config" / "lead_routing.yaml"


def load_routing(path: str | os.PathLike | None = None, *,
                 departments_dir: str | os.PathLike | None = None) -> RoutingTable:
    """Read and check the routing table; DepartmentConfigError names every problem."""
    path = routing_path(path)
    file = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise DepartmentConfigError([ConfigProblem(file, "", f"cannot read: {error}")]) from None
    try:
        table = RoutingTable.model_validate(raw)
    except ValidationError as error:
        raise DepartmentConfigError([
            ConfigProblem(file, key_path(tuple(e["loc"])),
                    "unknown key" if e["type"] == "extra_forbidden" else e["msg"])
            for e in error.errors(include_url=False)]) from None
    problems = _problems(file, table, departments_dir)
    if problems:
        raise DepartmentConfigError(problems)
    return table


def _problems(file: str, table: RoutingTable, departments_dir: Any) -> list[ConfigProblem]:  # noqa: C901
    from huiju.departments import _is_gansu_division

    known = {d.code for d in load_departments(departments_dir)}
    problems = []
    if table.feed_department not in known:
        problems.append(ConfigProblem(file, "feed_department", f"no department "
                                f"{table.feed_department!r} in the department files"))
    if table.provincial_queue not in known:
        problems.append(ConfigProblem(file, "provincial_queue", f"no department "
                                f"{table.provincial_queue!r} in the department files"))
    for kind in table.deadlines_days:
        if kind not in ("complaint", "tip", "risk_lead"):
            problems.append(ConfigProblem(file, f"deadlines_days.{kind}",
                                    "lead type must be complaint, tip or risk_lead"))
    problem_types = code_table("投诉举报问题类型").codes
    domains = code_table("风险预警领域").codes
    for index, rule in enumerate(table.rules):
        at = f"rules[{index}]"
        if rule.department not in known:
            problems.append(ConfigProblem(file, f"{at}.department",
                                    f"no department {rule.department!r} in the department files"))
        for n, prefix in enumerate(rule.divisions):
            full = prefix.ljust(6, "0")
            if not re.fullmatch(r"62\d{0,4}", prefix) or not _is_gansu_division(full):
                problems.append(ConfigProblem(file, f"{at}.divisions[{n}]",
                                        f"{prefix!r} is not a Gansu division code or prefix"))
        for key, values, codes, name in (("problem_types", rule.problem_types, problem_types,
                                          "投诉举报问题类型"),
                                         ("domains", rule.domains, domains, "风险预警领域")):
            for n, value in enumerate(values):
                if value not in codes:
                    problems.append(ConfigProblem(file, f"{at}.{key}[{n}]",
                                            f"{value!r} is not a code of {name}"))
        if not rule.problem_types and not rule.domains:
            problems.append(ConfigProblem(file, at, "give problem_types or domains (or both)"))
    return problems


def division_of(lead_type: str, row: dict[str, Any]) -> str | None:
    """The lead's division: its 属地 if given, else the one in its object's USCC or ID."""
    area = row.get("area_code")
    if area:
        return str(area)
    cert = str(row.get(CERT_OF[lead_type]) or "").upper()
    if _USCC.match(cert):
        return cert[2:8]
    if _ID.match(cert):
        return cert[:6]
    return None


def route(table: RoutingTable, lead_type: str, row: dict[str, Any]) -> Routing:
    """Decide where one lead (a core row of ``complaint`` or ``risk_lead``) goes."""
    field_name, field_table = FIELD_OF[lead_type]
    division = division_of(lead_type, row)
    field = row.get(field_name)
    field = str(field) if field not in (None, "") else None
    queue = table.provincial_queue
    if division is None:
        return Routing(queue, False, None, field, None,
                       "对象行政区划无法确定 (no division: no 属地 and no valid USCC/ID number)")
    if not division.startswith("62"):
        return Routing(queue, False, division, field, None,
                       f"对象不在甘肃 (division {division} is outside Gansu)")
    if field is None:
        return Routing(queue, False, division, None, None,
                       f"未给出{field_table} (no {field_name})")
    best: tuple[int, int] | None = None
    for index, rule in enumerate(table.rules):
        codes = rule.problem_types if lead_type == "complaint" else rule.domains
        if field not in codes:
            continue
        length = max((len(p) for p in rule.divisions if division.startswith(p)), default=0)
        if length and (best is None or length > best[0]):
            best = (length, index)
    if best is None:
        return Routing(queue, False, division, field, None,
                       f"无主管部门 (no rule for {field_table} {field} in division {division})")
    rule = table.rules[best[1]]
    return Routing(rule.department, True, division, field, best[1],
                   f"rules[{best[1]}]: division {division} ⊂ {division[:best[0]]}, "
                   f"{field_table} {field}")


def deadline(table: RoutingTable, lead_type: str, row: dict[str, Any],
             fallback: dt.datetime) -> dt.datetime | None:
    """When the lead must be disposed of: its receipt + the days declared for its type."""
    kind = "tip" if lead_type == "complaint" and _truthy(row.get("is_tip")) else lead_type
    days = table.deadline_days(kind)
    if days is None:
        return None
    received = row.get(RECEIVED_OF[lead_type]) or fallback
    if isinstance(received, str):
        received = dt.datetime.fromisoformat(received)
    if received.tzinfo is None:
        received = received.replace(tzinfo=dt.UTC)
    return received + dt.timedelta(days=days)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "是", "y")
