"""Value rules: one check per kind of identifier or value, named, vectorised, explained.

Every rule belongs to one of the ten national check families (``schemas.model.CHECK_FAMILIES``)
and is looked up by name from ``RULES`` — the names the schema YAML files put in a field's
``rules``. A rule's ``check(values)`` takes a pandas Series, a pyarrow Array/ChunkedArray or a
list and returns a numpy ``int8`` array: 0 for valid, otherwise a reason code whose Chinese
and English messages are in ``reasons``. Missing values (null, NaN, empty) are 0: whether a
value must be present is the required-rule's business. Rules judge the value as given;
clean code fields with ``text.normalise_code`` first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from schemas.rules import catalog, dates, divisions, exchange, id_card, numbers, org_code, uscc
from schemas.rules._arrays import as_str_series, missing_mask

Messages = tuple[str, str]


@dataclass(frozen=True)
class ValueRule:
    """A named value rule: ``check(values) -> int8 array`` (0 valid, >0 a key of ``reasons``).

    ``explain``, where given, returns a message for one rejected value that says more than the
    reason code can (e.g. which check character was expected); it is meant for the handful of
    examples in a report, not for whole columns.
    """

    name: str
    family: str  # "01".."10", see schemas.model.CHECK_FAMILIES
    zh: str
    en: str
    check: Callable[..., np.ndarray]
    reasons: dict[int, Messages]
    explain: Callable[[str], Messages | None] | None = None

    def messages(self, codes: np.ndarray) -> list[Messages | None]:
        """The (zh, en) message per reason code (None for 0)."""
        return [self.reasons[int(c)] if c else None for c in codes]


NEITHER = 1
USCC_OR_ID_REASONS: dict[int, Messages] = {
    NEITHER: ("既不是有效的统一社会信用代码，也不是有效的身份证号",
              "neither a valid unified social credit code nor a valid resident ID number"),
}


def check_uscc_or_id_card(values) -> np.ndarray:
    """0 when the value passes the USCC rule or the ID-card rule (or is missing), else 1."""
    series = as_str_series(values)
    ok = (uscc.check_uscc(series) == 0) | (id_card.check_id_card(series) == 0)
    reasons = np.where(ok, 0, NEITHER).astype(np.int8)
    reasons[missing_mask(series)] = 0
    return reasons


RULES: dict[str, ValueRule] = {rule.name: rule for rule in (
    ValueRule("uscc", "06", "统一社会信用代码应符合GB 32100-2015",
              "unified social credit code per GB 32100-2015",
              uscc.check_uscc, uscc.REASONS, uscc.explain_uscc),
    ValueRule("id_card", "07", "身份证号应符合GB 11643-1999",
              "resident ID number per GB 11643-1999",
              id_card.check_id_card, id_card.REASONS, id_card.explain_id_card),
    ValueRule("uscc_or_id_card", "06", "应为有效的统一社会信用代码或身份证号",
              "a valid unified social credit code or resident ID number",
              check_uscc_or_id_card, USCC_OR_ID_REASONS),
    ValueRule("org_code", "01", "组织机构代码应符合GB 11714-1997",
              "organisation code per GB 11714-1997",
              org_code.check_org_code, org_code.REASONS, org_code.explain_org_code),
    ValueRule("gansu_division_code", "01", "应为甘肃省的行政区划代码（GB/T 2260）",
              "a Gansu division code (GB/T 2260)",
              divisions.check_gansu_division, divisions.REASONS),
    ValueRule("supervise_item_code", "03", "监管事项目录编码应为14位数字",
              "supervision item code: 14 digits",
              catalog.check_supervise_item_code, catalog.SUPERVISE_REASONS),
    ValueRule("check_list_code", "04",
              "检查实施清单编码：第1-18位为统一社会信用代码，第19位为行使层级",
              "inspection list code: USCC in positions 1-18, exercise level in position 19",
              catalog.check_check_list_code, catalog.CHECK_LIST_REASONS),
    ValueRule("year", "10", "年度应为2000年至明年的4位年份",
              "a four-digit year from 2000 to next year",
              numbers.check_year, numbers.YEAR_REASONS),
    ValueRule("ratio", "01", "比例应为0-100之间的数字", "a percentage from 0 to 100",
              numbers.check_ratio, numbers.RATIO_REASONS),
    ValueRule("not_future", "10", "日期不能晚于今天", "a date not after today",
              dates.check_not_future, dates.NOT_FUTURE_REASONS),
    ValueRule("batch_id", "02", "批次号应为YYYYMMDD+5位序号",
              "batch id: YYYYMMDD + 5-digit sequence",
              exchange.check_batch_id, exchange.BATCH_REASONS),
    ValueRule("operation", "02", "操作标识应为i/u/d", "operation flag i/u/d",
              exchange.check_operation, exchange.OPERATION_REASONS),
)}

__all__ = ["RULES", "ValueRule"]
