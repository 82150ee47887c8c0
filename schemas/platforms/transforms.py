"""The small named functions a payload shape may use: computed values and the ID mask.

A shape names a computed value (``compute: publicity_end``); ``COMPUTE`` is the registry the
builder and the metadata tests read. Each function takes a warehouse row (standard field
names plus ``record_id``, ``batch_id``, ``operation``, ``department_code``,
``division_code``) and returns a plain value; formatting is the builder's job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from schemas.platforms.publicity import publicity_end

# 行政相对人类别 labels of the 双公示 standard (REFERENCE.md §3.4).
LEGAL_PERSON, NATURAL_PERSON, INDIVIDUAL_BUSINESS = "法人及非法人组织", "自然人", "个体工商户"
USCC_CERT_TYPE = "001"  # 证件类型: 统一社会信用代码
ORG_CERT_TYPE = "099"  # 证件类型: 其他法人或其他组织有效证件号码
INDIVIDUAL_BUSINESS_USCC_PREFIX = "92"  # 工商登记 (9) + 个体工商户 (2), REFERENCE.md §4.1
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")  # no daylight saving


class PayloadError(ValueError):
    """A row lacks what the platform record needs and no department can supply it."""


def counterpart_category(row: dict) -> str:
    """行政相对人类别 from the counterpart's certificate: a USCC starting 92 is an individual
    business, any other USCC or an organisation's certificate a legal person or unincorporated
    organisation, a personal certificate (身份证, 护照 …) a natural person."""
    cert_type = row.get("administrative_cp_cert_type")
    code = str(row.get("administrative_cp_code") or "").strip().upper()
    if cert_type == USCC_CERT_TYPE:
        return INDIVIDUAL_BUSINESS if code.startswith(INDIVIDUAL_BUSINESS_USCC_PREFIX) \
            else LEGAL_PERSON
    if cert_type == ORG_CERT_TYPE or row.get("administrative_cp_nature") in ("02", "03"):
        return LEGAL_PERSON
    return NATURAL_PERSON


def counterpart_uscc(row: dict) -> str | None:
    """The counterpart's 统一社会信用代码, when its certificate is one."""
    if row.get("administrative_cp_cert_type") != USCC_CERT_TYPE:
        return None
    return str(row.get("administrative_cp_code") or "").strip().upper() or None


def counterpart_org_code(row: dict) -> str | None:
    """组织机构代码: positions 9–17 of a legal person's USCC (GB 32100 embeds the GB 11714
    code there); none for individual businesses, whose USCC carries no organisation code."""
    uscc = counterpart_uscc(row)
    if uscc is None or len(uscc) != 18 or uscc.startswith(INDIVIDUAL_BUSINESS_USCC_PREFIX):
        return None
    return uscc[8:17]


def counterpart_person_cert_no(row: dict) -> str | None:
    """The counterpart's certificate number when it is a natural person (masked by the shape)."""
    if counterpart_category(row) != NATURAL_PERSON:
        return None
    return str(row.get("administrative_cp_code") or "").strip().upper() or None


def counterpart_person_cert_type(row: dict) -> str | None:
    """The counterpart's 证件类型 code when it is a natural person."""
    if counterpart_category(row) != NATURAL_PERSON:
        return None
    return row.get("administrative_cp_cert_type")


def cd_source(row: dict) -> str:
    """cd_source 来源: the division code (省份区划代码) followed by the department code."""
    division, department = row.get("division_code"), row.get("department_code")
    if not division or not department:
        raise PayloadError("cd_source needs the row's division_code and department_code "
                           "(the delivery side adds them from the department's configuration)")
    return f"{division}{department}"


def cd_time(row: dict) -> str:
    """cd_time 插入时间: when this version entered the warehouse (``updated_at``), so a re-built
    payload is the same; the build time when the row does not say. China Standard Time
    (UTC+8), as the national front-end tables hold local times; a naive time is UTC."""
    stamp = row.get("updated_at")
    if isinstance(stamp, str) and stamp:
        stamp = dt.datetime.fromisoformat(stamp)
    if not isinstance(stamp, dt.datetime):
        stamp = dt.datetime.now(dt.UTC)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(CHINA_STANDARD_TIME).strftime("%Y-%m-%d %H:%M:%S")


COMPUTE: dict[str, Callable[[dict], Any]] = {
    "counterpart_category": counterpart_category,
    "counterpart_uscc": counterpart_uscc,
    "counterpart_org_code": counterpart_org_code,
    "counterpart_person_cert_no": counterpart_person_cert_no,
    "counterpart_person_cert_type": counterpart_person_cert_type,
    "publicity_end": publicity_end,
    "cd_source": cd_source,
    "cd_time": cd_time,
}


# --- value transforms -------------------------------------------------------------------

_TEN_THOUSAND = Decimal(10000)


def to_wan_yuan(amount: Decimal, scale: int = 6) -> Decimal:
    """元 → 万元 with ``scale`` decimals (罚款 2000 元 → 0.200000 万元), rounded half up."""
    return (amount / _TEN_THOUSAND).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def mask_id_number(value: str) -> str:
    """Mask a natural person's certificate number for public display.

    Rule applied (REFERENCE.md §6: public feeds mask ID numbers; 双公示 natural-person IDs are
    usually not published): a resident ID number keeps its address code and its sequence and
    check characters, the birth date is replaced by ``*`` — 18 digits: positions 7–14
    (``620102********123X``), a 15-digit legacy number: positions 7–12. Any other certificate
    number (passport, permit) keeps its first and last two characters only.
    """
    text = value.strip().upper()
    if len(text) == 18:
        return text[:6] + "*" * 8 + text[14:]
    if len(text) == 15:
        return text[:6] + "*" * 6 + text[12:]
    if len(text) <= 4:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


MASKS: dict[str, Callable[[str], str]] = {"id_number": mask_id_number}
