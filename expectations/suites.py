"""Great Expectations suites generated from the standard schema, one per data set.

Nothing here is written by hand: each data set's fields, code tables, value rules and
checks (``schemas/datasets/<name>.yaml``) become expectations, and every expectation's
``meta`` says which Huiju rule it is. ``huiju expectations generate`` writes the suites to
``expectations/suites/<name>.json`` (deterministic, reviewed in diffs; ``--check`` fails CI
when one is stale). Validation generates the same suite from the spec it is given, so the
schema stays the one source; the JSON files are its published rendering.

Rule ids are ``<family>-<KIND>-<dataset>.<field>`` (several fields joined by ``+``), e.g.
``09-REQUIRED-penalty.punish_action_code``, ``06-USCC-penalty.administrative_cp_code``,
``10-DATEORDER-penalty.case_filing_date+closing_date+submitted_date``. KIND is the rule in
capitals without underscores, so the id splits unambiguously on its first two hyphens.

Family (national check type, ``schemas.model.CHECK_FAMILIES``) of each kind of rule:

| rule | kind | family |
|---|---|---|
| required field | REQUIRED | 09 if the field is in the business key, else 01 |
| maximum / exact length | LENGTH | 01 |
| code-table membership (each element of a list; tables over 64 codes by name) | CODE | 01 |
| list ``min_items`` (≥2 officers …) | ITEMS | 01 |
| amount (decimal in 元/万元) ≥ 0 | NONNEGATIVE | 01 |
| value rule ``schemas.rules.RULES[name]`` | NAME: USCC, IDCARD … | the rule's own (1) |
| ``date_order`` check | DATEORDER | as declared (10) |
| ``required_when`` check | REQUIREDWHEN | as declared (08 for cross-field) |
| ``rule_when`` check | the rule's NAME | as declared (06 USCC, 07 ID card) |
| business key, latest row wins | LATEST | 05 (数据归并) (2) |
| any rule on an exchange column | as above | 02 (数据源标识检查) (3) |

(1) uscc / uscc_or_id_card 06, id_card 07, supervise_item_code 03, check_list_code 04,
not_future / year 10, batch_id / operation 02, the others 01.
(2) earlier rows of a repeated key are superseded, not quarantined.
(3) record_id, batch_id, operation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.catalog import all_fields, datasets, exchange_fields
from schemas.code_tables import code_table
from schemas.frames import rule_id
from schemas.model import (
    CHECK_FAMILIES,
    LIST_SEPARATOR,
    CheckSpec,
    DataSetSpec,
    FieldSpec,
    FieldType,
)

SUITES_DIR = Path(__file__).with_name("suites")

# Code tables up to this size are inlined as GX ``value_set``s; larger ones (行政区划代码 has
# 3 249 codes) are named instead: GX serialises an expectation's kwargs dozens of times per
# validation, and a 3 000-element set made that cost more than the data for small batches.
INLINE_CODES_MAX = 64

# Units that make a decimal an amount of money, which cannot be negative.
MONEY_UNITS = frozenset({"元", "万元"})

QUARANTINE = "quarantine"
SUPERSEDE = "supersede"


def kind_of(rule_name: str) -> str:
    """The KIND part of a rule id for a value rule or check kind (``id_card`` → ``IDCARD``)."""
    return rule_name.replace("_", "").upper()


def _meta(spec: DataSetSpec, family: str, kind: str, fields: tuple[str, ...], zh: str, en: str,
          **extra: Any) -> dict[str, Any]:
    if family not in CHECK_FAMILIES:
        raise ValueError(f"{spec.name}: unknown check family {family!r} for {kind}")
    meta = {
        "rule_id": rule_id(family, kind, spec.name, fields),
        "family": family,
        "family_zh": CHECK_FAMILIES[family][0],
        "family_en": CHECK_FAMILIES[family][1],
        "kind": kind,
        "dataset": spec.name,
        "field": fields[0] if len(fields) == 1 else None,
        "fields": list(fields),
        "zh": zh,
        "en": en,
        "outcome": QUARANTINE,
    }
    meta.update(extra)
    return meta


def _expectation(type_: str, kwargs: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": meta}


def _value_rule(name: str):
    from schemas.rules import RULES

    try:
        return RULES[name]
    except KeyError:
        raise KeyError(f"unknown value rule {name!r}; known: {', '.join(RULES)}") from None


def _field_expectations(spec: DataSetSpec, field: FieldSpec, exchange: bool) -> list[dict]:
    """Every single-field rule of ``field``, in a fixed order."""
    out: list[dict] = []
    column = {"column": field.name}

    def family(default: str) -> str:
        return "02" if exchange else default

    if field.required:
        fam = family("09" if field.name in spec.business_key else "01")
        out.append(_expectation("expect_column_values_to_be_present", dict(column), _meta(
            spec, fam, "REQUIRED", (field.name,),
            f"{field.zh}为必填项", f"{field.en} is required")))

    if field.length and field.type in (FieldType.STRING, FieldType.LIST):
        if field.exact_length:
            kwargs = {**column, "value": field.length}
            zh = f"{field.zh}应为{field.length}位"
            en = f"{field.en} has exactly {field.length} characters"
            type_ = "expect_column_value_lengths_to_equal"
        else:
            kwargs = {**column, "min_value": None, "max_value": field.length}
            zh = f"{field.zh}长度不得超过{field.length}"
            en = f"{field.en} has at most {field.length} characters"
            type_ = "expect_column_value_lengths_to_be_between"
        out.append(_expectation(type_, kwargs, _meta(
            spec, family("01"), "LENGTH", (field.name,), zh, en,
            length=field.length, exact_length=field.exact_length)))

    if field.code_table:
        codes = sorted(code_table(field.code_table).codes)
        inline = len(codes) <= INLINE_CODES_MAX
        members = {"value_set": codes} if inline else {"code_table": field.code_table}
        zh = f"{field.zh}应为代码表《{field.code_table}》中的代码"
        en = f"{field.en} is a code of table {field.code_table}"
        if field.type is FieldType.LIST or field.multi:
            type_ = "expect_column_list_items_to_be_in_set"
            kwargs = {**column, **members, "separator": LIST_SEPARATOR}
            zh, en = zh.replace("应为", "的每一项应为"), f"every element of {en}"
        elif inline:
            type_, kwargs = "expect_column_values_to_be_in_set", {**column, **members}
        else:
            type_, kwargs = "expect_column_values_to_be_in_code_table", {**column, **members}
        out.append(_expectation(type_, kwargs, _meta(
            spec, family("01"), "CODE", (field.name,), zh, en, code_table=field.code_table,
            multi=type_ == "expect_column_list_items_to_be_in_set")))

    if field.min_items:
        out.append(_expectation("expect_column_list_to_have_min_items", {
            **column, "min_items": field.min_items, "separator": LIST_SEPARATOR}, _meta(
            spec, family("01"), "ITEMS", (field.name,),
            f"{field.zh}至少应有{field.min_items}项",
            f"{field.en} lists at least {field.min_items}",
            min_items=field.min_items)))

    if field.type is FieldType.DECIMAL and field.unit in MONEY_UNITS:
        out.append(_expectation("expect_column_values_to_not_be_negative", dict(column), _meta(
            spec, family("01"), "NONNEGATIVE", (field.name,),
            f"{field.zh}不得为负数", f"{field.en} is not negative", unit=field.unit)))

    for name in field.rules:
        rule = _value_rule(name)
        out.append(_expectation("expect_column_values_to_pass_rule", {**column, "rule": name},
                                _meta(spec, family(rule.family), kind_of(name), (field.name,),
                                      f"{field.zh}：{rule.zh}", f"{field.en}: {rule.en}",
                                      rule=name)))
    return out


def _when_kwargs(check: CheckSpec) -> dict[str, Any]:
    assert check.when is not None
    return {
        "when_column": check.when.field,
        "when_in": list(check.when.in_) if check.when.in_ is not None else None,
        "when_contains": check.when.contains,
        "when_present": check.when.present,
    }


def _check_expectations(spec: DataSetSpec, check: CheckSpec) -> list[dict]:
    if check.kind == "date_order":
        return [_expectation("expect_multicolumn_dates_to_be_ordered", {
            "column_list": list(check.fields), "ignore_row_if": "never"}, _meta(
            spec, check.family, "DATEORDER", check.fields, check.zh, check.en))]
    if check.kind == "required_when":
        return [_expectation("expect_multicolumn_values_to_be_present_when", {
            "column_list": [*check.fields, check.when.field], "ignore_row_if": "never",
            **_when_kwargs(check)}, _meta(
            spec, check.family, "REQUIREDWHEN", check.fields, check.zh, check.en,
            when=_when_kwargs(check)))]
    # rule_when: one expectation per field, so each failure names one value
    assert check.rule is not None
    _value_rule(check.rule)
    return [_expectation("expect_column_values_to_pass_rule_when", {
        "column_list": [name, check.when.field], "rule": check.rule, "ignore_row_if": "never",
        **_when_kwargs(check)}, _meta(
        spec, check.family, kind_of(check.rule), (name,), check.zh, check.en,
        rule=check.rule, when=_when_kwargs(check)))
        for name in check.fields]


def _key_expectation(spec: DataSetSpec) -> dict:
    key = spec.business_key
    zh = f"业务主键（{'、'.join(spec.field(k).zh for k in key)}）重复时以最后抽取的记录为准"
    en = f"business key ({', '.join(key)}) repeated: the last extracted row wins"
    meta = _meta(spec, "05", "LATEST", key, zh, en, outcome=SUPERSEDE)
    if len(key) == 1:
        return _expectation("expect_column_values_to_be_latest_for_key",
                            {"column": key[0]}, meta)
    return _expectation("expect_compound_columns_to_be_latest_for_key",
                        {"column_list": list(key), "ignore_row_if": "any_value_is_missing"}, meta)


def suite_dict(spec: DataSetSpec) -> dict[str, Any]:
    """The data set's suite as GX suite JSON (without ids), deterministic for a given schema."""
    exchange_names = {f.name for f in exchange_fields()}
    expectations: list[dict] = []
    for field in all_fields(spec):
        expectations += _field_expectations(spec, field, field.name in exchange_names)
    for check in spec.checks:
        expectations += _check_expectations(spec, check)
    if spec.business_key:
        expectations.append(_key_expectation(spec))
    seen: dict[str, dict] = {}
    for expectation in expectations:
        rid = expectation["meta"]["rule_id"]
        if rid in seen:
            raise ValueError(f"{spec.name}: two rules with the id {rid} — the schema declares "
                             "the same rule twice on the same field")
        seen[rid] = expectation
    return {
        "name": spec.name,
        "meta": {"dataset": spec.name, "zh": spec.zh, "en": spec.en,
                 "generated_by": "huiju expectations generate (from schemas/)"},
        "expectations": expectations,
    }


def suite_json(spec: DataSetSpec) -> str:
    """The suite of ``spec`` as the JSON written to ``expectations/suites/``."""
    return json.dumps(suite_dict(spec), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def suite_path(name: str, folder: Path | None = None) -> Path:
    """Where the suite of data set ``name`` is written (in ``folder``, else the shipped one)."""
    return (folder or SUITES_DIR) / f"{name}.json"


def write_suites(folder: Path | None = None) -> list[Path]:
    """Write every data set's suite; remove suites of data sets no longer declared."""
    folder = folder or SUITES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    names = set()
    for spec in datasets():
        path = suite_path(spec.name, folder)
        text = suite_json(spec)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
        names.add(path.name)
    for orphan in folder.glob("*.json"):
        if orphan.name not in names:
            orphan.unlink()
    return written


def stale_suites(folder: Path | None = None) -> list[str]:
    """Suites on disk that differ from the schema: ``name (missing|differs|orphan)``."""
    folder = folder or SUITES_DIR
    problems = []
    names = set()
    for spec in datasets():
        path = suite_path(spec.name, folder)
        names.add(path.name)
        if not path.exists():
            problems.append(f"{spec.name} (missing)")
        elif path.read_text(encoding="utf-8") != suite_json(spec):
            problems.append(f"{spec.name} (differs)")
    problems += [f"{p.stem} (orphan)" for p in sorted(folder.glob("*.json")) if p.name not in names]
    return problems

