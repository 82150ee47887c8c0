"""统一社会信用代码 (GB 32100-2015), REFERENCE §4.1.

Structure: pos 1 登记管理部门, pos 2 机构类别, pos 3–8 登记管理机关行政区划码 (six digits;
only their form is checked, not that the division exists), pos 9–17 an embedded GB 11714
organisation code with its own check character, pos 18 the check character over pos 1–17
(weights 3^(i−1) mod 31 over the 31-character set without I, O, S, V, Z).

Unlike python-stdnum 2.2, registration-authority codes A, N and Y are legal (stdnum insists
on digits in positions 1–8). Upper-casing and stripping are ``text.normalise_code``'s job;
this rule judges the string it is given.
"""

from __future__ import annotations

import numpy as np

from schemas.rules._arrays import (
    arrow_strings,
    char_lengths,
    char_matrix,
    columns,
    lookup,
    missing_mask,
    weighted_sum,
)
from schemas.rules.org_code import BODY_VALUES, org_check_chars_of_columns, org_code_check_char

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
VALUES = lookup({c: i for i, c in enumerate(CHARSET)})
CHARSET_BYTES = np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)

# 登记管理部门代码 -> (部门, {机构类别代码: 类别}), GB 32100-2015 as in REFERENCE §4.1.
REGISTRATION_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体",
                   "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所",
                   "4": "司法鉴定机构", "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构",
                 "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织",
                 "9": "其他"}),
    "Y": ("其他", {"1": "不再细分"}),
}

_ALLOWED_PREFIX = np.zeros((256, 256), dtype=bool)
for _dept, (_, _kinds) in REGISTRATION_AUTHORITIES.items():
    for _kind in _kinds:
        _ALLOWED_PREFIX[ord(_dept), ord(_kind)] = True

LENGTH, CHARSET_ERROR, PLACEHOLDER, AUTHORITY, DIVISION, ORG_CHECK, CHECK = 1, 2, 3, 4, 5, 6, 7
REASONS: dict[int, tuple[str, str]] = {
    LENGTH: ("统一社会信用代码长度应为18位", "unified social credit code must be 18 characters"),
    CHARSET_ERROR: ("统一社会信用代码含非法字符（只允许数字和除I、O、S、V、Z外的大写字母）",
                    "unified social credit code has characters outside 0-9 and A-Z without "
                    "I, O, S, V, Z"),
    PLACEHOLDER: ("统一社会信用代码为全零占位值",
                  "unified social credit code is an all-zero placeholder"),
    AUTHORITY: ("统一社会信用代码第1-2位登记管理部门/机构类别代码组合不存在",
                "unified social credit code positions 1-2: no such registration authority / "
                "organisation type"),
    DIVISION: ("统一社会信用代码第3-8位登记管理机关行政区划码应为6位数字",
               "unified social credit code positions 3-8 (division code) must be six digits"),
    ORG_CHECK: ("统一社会信用代码第9-17位组织机构代码校验位（第17位）错误",
                "unified social credit code: check character of the embedded organisation code "
                "(position 17) is wrong"),
    CHECK: ("统一社会信用代码校验码（第18位）错误",
            "unified social credit code check character (position 18) is wrong"),
}


def _check_chars(value_columns: np.ndarray) -> np.ndarray:
    """Expected position-18 characters (bytes) for ``(17, n)`` columns of charset values."""
    return CHARSET_BYTES[(31 - weighted_sum(value_columns, WEIGHTS) % 31) % 31]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters.

    >>> uscc_check_char("91350213751625538")
    'W'
    >>> uscc_check_char("91350100M000100Y4")
    '3'
    >>> check_uscc(["91350100M000100Y43", "91350100M000100Y44", None]).tolist() == [0, CHECK, 0]
    True
    >>> uscc_check_char("9135010OM000100Y4")  # O is not in the GB 32100 character set
    Traceback (most recent call last):
    ValueError: not the first 17 characters of a USCC: '9135010OM000100Y4'
    """
    raw = np.frombuffer(first17.encode("ascii", errors="replace"), dtype=np.uint8)
    values = VALUES[raw]
    if len(first17) != 17 or (values == 255).any():
        raise ValueError(f"not the first 17 characters of a USCC: {first17!r}")
    return chr(_check_chars(values[:, None])[0])


def judge_matrix(matrix: np.ndarray) -> np.ndarray:
    """Reason codes for an ``(n, 18)`` byte matrix of 18-character ASCII candidates."""
    # Every check runs on every row (whole-matrix arithmetic is cheaper than subsetting);
    # garbage computed for rows that already failed is masked by np.select's order.
    cols = columns(matrix)
    values = VALUES[cols]
    conditions = [
        values.max(axis=0) == 255,
        (cols[:17] == ord("0")).all(axis=0),
        ~_ALLOWED_PREFIX[cols[0], cols[1]],
        values[2:8].max(axis=0) > 9,  # digits are the values 0-9, letters 10-30
        org_check_chars_of_columns(BODY_VALUES[cols[8:16]]) != cols[16],
        _check_chars(values[:17]) != cols[17],
    ]
    choices = [CHARSET_ERROR, PLACEHOLDER, AUTHORITY, DIVISION, ORG_CHECK, CHECK]
    return np.select(conditions, choices, 0).astype(np.int8)


def check_uscc(values) -> np.ndarray:
    """0 for a valid USCC (or a missing value), else a reason code of ``REASONS``."""
    array = arrow_strings(values)
    missing = missing_mask(array)
    reasons = np.where(char_lengths(array) == 18, CHARSET_ERROR, LENGTH).astype(np.int8)
    rows, matrix = char_matrix(array, 18)
    reasons[rows] = judge_matrix(matrix)
    reasons[missing] = 0
    return reasons


def explain_uscc(value: str) -> tuple[str, str] | None:
    """A per-value message (naming the expected check character), or None if ``value`` is valid.

    Meant for the few rejected values shown in a report, not for whole columns.
    """
    code = int(check_uscc([value])[0])
    if code == CHECK:
        want = uscc_check_char(value[:17])
        return (f"统一社会信用代码校验码（第18位）应为 {want}，实际为 {value[17]}",
                f"unified social credit code check character (position 18) should be {want}, "
                f"not {value[17]}")
    if code == ORG_CHECK:
        want = org_code_check_char(value[8:16])
        return (f"统一社会信用代码第17位（组织机构代码校验位）应为 {want}，实际为 {value[16]}",
                f"unified social credit code position 17 (organisation code check) should be "
                f"{want}, not {value[16]}")
    if code == AUTHORITY:
        return (f"统一社会信用代码第1-2位 {value[:2]} 不是已知的登记管理部门/机构类别",
                f"unified social credit code positions 1-2 {value[:2]!r} are no known "
                f"registration authority / organisation type")
    return REASONS.get(code)
