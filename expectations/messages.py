"""Per-row rejection messages: what is wrong with the value, in Chinese and English.

GX says *which* rows fail a rule (``unexpected_index_list``); this module says *why*, for
those rows only, from the rule's ``meta`` (written by ``expectations.suites``) and, for
value rules, the reason codes of ``schemas.rules`` — e.g. "统一社会信用代码校验码（第18位）错误"
rather than "invalid". Everything works on the failing subset with vectorised string
operations, so a batch with many failures stays cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from expectations.checks import list_counts, present_mask, rule_codes
from schemas.code_tables import code_table
from schemas.model import LIST_SEPARATOR, DataSetSpec, Normalise
from schemas.rules.spreadsheet import identifier_damage


def as_text(values: pd.Series) -> pd.Series:
    """Values as display strings (dates as YYYY-MM-DD); missing values become ``None``."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        text = values.dt.strftime("%Y-%m-%d")
    else:
        text = values.astype("str")
    return text.astype(object).where(values.notna().to_numpy(dtype=bool), None)


def _shown(values: pd.Series) -> pd.Series:
    return as_text(values).fillna("").astype("str")


def render(spec: DataSetSpec, meta: dict[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
    """``message_zh``, ``message_en`` and ``raw_value`` for the failing ``rows`` of one rule."""
    kind = meta["kind"]
    fields = meta["fields"]
    if len(fields) == 1 and kind not in ("REQUIREDWHEN",) and "when" not in meta:
        field = spec_field(spec, fields[0])
        values = rows[fields[0]]
        zh, en = _single(kind, meta, field, values)
        raw = as_text(values)
    else:
        zh, en = _multi(kind, meta, spec, rows)
        raw = _pairs(rows, _columns(meta))
    if kind != "REQUIRED" and (len(fields) == 1 or "rule" in meta):
        zh, en = _damage(spec_field(spec, fields[0]), rows[fields[0]], zh, en)
    return pd.DataFrame({"message_zh": zh.to_numpy(dtype=object),
                         "message_en": en.to_numpy(dtype=object),
                         "raw_value": raw.to_numpy(dtype=object)}, index=rows.index)


def _damage(field, values: pd.Series, zh: pd.Series, en: pd.Series) -> tuple[
        pd.Series, pd.Series]:
    """The messages, with what the spreadsheet did to an identifier or code (and how to fix
    the export) where its value shows it — ``6.20521199703114E+17``, ``…114000``, ``….0``."""
    if field.normalise not in (Normalise.IDENTIFIER, Normalise.CODE) or values.empty:
        return zh, en
    hint_zh, hint_en = identifier_damage(values)
    found = (hint_zh != "").to_numpy(dtype=bool)
    if not found.any():
        return zh, en
    return (zh.where(~found, zh + "。" + hint_zh),
            en.where(~found, en + ". " + hint_en))


def spec_field(spec: DataSetSpec, name: str):
    """The field ``name`` of ``spec`` (exchange fields included)."""
    from schemas.catalog import all_fields

    for field in all_fields(spec):
        if field.name == name:
            return field
    raise KeyError(f"{spec.name} has no field {name!r}")


def _columns(meta: dict[str, Any]) -> list[str]:
    columns = list(meta["fields"])
    when = meta.get("when")
    if when and when["when_column"] not in columns:
        columns.append(when["when_column"])
    return columns


def _pairs(rows: pd.DataFrame, columns: list[str]) -> pd.Series:
    text = pd.Series("", index=rows.index, dtype="str")
    for i, name in enumerate(columns):
        text = text + ("; " if i else "") + name + "=" + _shown(rows[name])
    return text


def _single(kind: str, meta: dict, field, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    shown = _shown(values)
    head_zh, head_en = f"{field.zh}（{field.name}）：", f"{field.en} ({field.name}): "
    if kind == "REQUIRED":
        return (_const(values, head_zh + "必填项为空"),
                _const(values, head_en + "required value is missing"))
    if kind == "LENGTH":
        length = values.astype("str").str.len().astype("Int64").astype("str")
        limit = meta["length"]
        if meta.get("exact_length"):
            return (head_zh + "长度为" + length + f"位，应为{limit}位",
                    head_en + length + f" characters, must be exactly {limit}")
        return (head_zh + "长度为" + length + f"位，超过上限{limit}位",
                head_en + length + f" characters, more than the maximum {limit}")
    if kind == "CODE":
        table = meta["code_table"]
        if meta.get("multi"):
            bad = _bad_elements(values, code_table(table).codes)
            return (head_zh + "“" + bad + f"”不是代码表《{table}》中的代码",
                    head_en + "'" + bad + f"' not in code table {table}")
        return (head_zh + "“" + shown + f"”不是代码表《{table}》中的代码",
                head_en + "'" + shown + f"' is not a code of table {table}")
    if kind == "ITEMS":
        counts = pd.Series(list_counts(values), index=values.index).astype("str")
        need = meta["min_items"]
        return (head_zh + "只有" + counts + f"项，至少应有{need}项",
                head_en + counts + f" listed, at least {need} required")
    if kind == "NONNEGATIVE":
        return head_zh + "不得为负数：" + shown, head_en + "negative amount " + shown
    if "rule" in meta:
        zh, en = reason_messages(meta["rule"], values)
        return head_zh + zh, head_en + en
    return _const(values, head_zh + meta["zh"]), _const(values, head_en + meta["en"])


def _multi(kind: str, meta: dict, spec: DataSetSpec, rows: pd.DataFrame):
    fields = meta["fields"]
    if kind == "REQUIREDWHEN":
        missing_zh = pd.Series("", index=rows.index, dtype="str")
        missing_en = pd.Series("", index=rows.index, dtype="str")
        for name in fields:
            absent = ~present_mask(rows[name])
            field = spec_field(spec, name)
            missing_zh = missing_zh.where(~absent, missing_zh + f"{field.zh}（{name}）")
            missing_en = missing_en.where(~absent, missing_en + f"{field.en} ({name}) ")
        return (meta["zh"] + "：" + missing_zh + "为空",
                meta["en"] + ": missing " + missing_en.str.strip())
    if "rule" in meta:  # rule_when: the rule's reason, then the condition that made it apply
        name = fields[0]
        field = spec_field(spec, name)
        zh, en = reason_messages(meta["rule"], rows[name])
        return (f"{field.zh}（{name}）：" + zh + f"（{meta['zh']}）",
                f"{field.en} ({name}): " + en + f" ({meta['en']})")
    # DATEORDER and anything else: the demand, then the values that break it
    shown = _pairs(rows, _columns(meta))
    return meta["zh"] + "：" + shown, meta["en"] + ": " + shown


def reason_messages(rule: str, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The rule's reason message for each value (its general demand where no code applies)."""
    from schemas.rules import RULES

    value_rule = RULES[rule]
    codes = rule_codes(rule, values)
    size = max([0, *value_rule.reasons]) + 1
    zh_table = np.array([value_rule.zh] * size, dtype=object)
    en_table = np.array([value_rule.en] * size, dtype=object)
    for code, (zh, en) in value_rule.reasons.items():
        zh_table[code], en_table[code] = zh, en
    codes = np.clip(codes.astype(np.int64), 0, size - 1)
    return (pd.Series(zh_table[codes], index=values.index, dtype="str"),
            pd.Series(en_table[codes], index=values.index, dtype="str"))


def _bad_elements(values: pd.Series, codes: frozenset[str]) -> pd.Series:
    items = values.astype("str").str.split(LIST_SEPARATOR).explode().str.strip()
    bad = items[items.notna() & (items != "") & ~items.isin(codes)]
    joined = bad.groupby(level=0).agg(LIST_SEPARATOR.join)
    return joined.reindex(values.index).fillna("").astype("str")


def _const(like: pd.Series, text: str) -> pd.Series:
    return pd.Series(text, index=like.index, dtype="str")
