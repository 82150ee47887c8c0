"""Tests of the standard schema's declarations themselves (PUDL's metadata tests, for Huiju).

The YAML files under schemas/datasets/ are the single source of every generated artefact;
these tests make sure each declaration is complete and consistent before anything reads it.
"""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from schemas.catalog import all_fields, dataset, datasets, exchange_fields
from schemas.code_tables import code_table, table_names
from schemas.model import CHECK_FAMILIES, SNAKE, FieldSpec, FieldType
from schemas.rules import RULES

# Every data set of 甘政办发〔2021〕22号, with the 监管行为监管对象类型 code of the subject sets.
ORDER: dict[str, str | None] = {
    "supervision_item": None,
    "check_list": None,
    "enterprise": "1",
    "individual_business": "1",
    "social_organization": "10",
    "natural_person": "2",
    "special_equipment": "3",
    "food": "4",
    "special_food": "5",
    "drug": "6",
    "cosmetic": "7",
    "medical_device": "8",
    "site": "9",
    "supervision_object_element": "11",
    "officer": None,
    "inspection": None,
    "penalty": None,
    "coercion": None,
    "other_action": None,
    "license": None,
    "abnormal_operation_list": None,
    "serious_violation_list": None,
    "random_check_plan": None,
    "random_check_result": None,
    "complaint": None,
    "risk_lead": None,
    "lead_disposition": None,  # what goes back on a lead (issue 13), Huiju's own declaration
    "supervision_news": None,
    "exposure": None,
}
FROM_NATIONAL = {"complaint", "risk_lead"}
MAX_LENGTH = 4000  # anything longer should be text
UNBOUNDED = {FieldType.TEXT, FieldType.DATE, FieldType.DATETIME, FieldType.DECIMAL,
             FieldType.INTEGER, FieldType.BOOLEAN}
# Booleans read is_/has_ (naming contract); the exception keeps S1's name in the worked example.
BOOLEAN_NAME_EXCEPTIONS = {("penalty", "closing_no_penalty")}
PII_NAMES = {"phone", "liaison_mobile", "id_card_no", "liaison_id_card_no"}

SPECS = datasets()
CHECKS = [(spec, check) for spec in SPECS for check in spec.checks]
CHECK_IDS = [f"{spec.name}:{check.slug}" for spec, check in CHECKS]


def test_every_data_set_of_the_order_is_declared():
    assert sorted(spec.name for spec in SPECS) == sorted(ORDER)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_data_set_metadata(spec):
    assert spec.zh.strip() and spec.en.strip() and spec.source.strip()
    assert dataset(spec.name) is spec
    assert spec.fields, "a data set needs fields"
    assert spec.object_type == ORDER[spec.name]
    assert (spec.category == "subject") == (spec.object_type is not None)
    assert spec.direction == ("from_national" if spec.name in FROM_NATIONAL else "from_departments")


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_business_key_is_required_fields(spec):
    assert spec.business_key
    for key in spec.business_key:
        assert spec.field(key).required, key
        assert spec.field(key).type not in (FieldType.LIST, FieldType.TEXT), key


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_exchange_columns_close_every_data_set(spec):
    names = [field.name for field in all_fields(spec)]
    assert names[-len(exchange_fields()):] == ["record_id", "batch_id", "operation"]
    assert len(names) == len(set(names))


def _field_problems(dataset_name: str, field: FieldSpec) -> list[str]:
    """What is wrong with one field declaration (empty when nothing)."""
    problems = []

    def expect(condition: bool, message: str) -> None:
        if not condition:
            problems.append(f"{dataset_name}.{field.name}: {message}")

    expect(bool(SNAKE.match(field.name)) and "__" not in field.name
           and not field.name.endswith("_"), "name is not clean snake_case")
    expect(bool(field.zh) and field.zh.strip() == field.zh, "zh empty or padded")
    expect(bool(field.en) and field.en.strip() == field.en, "en empty or padded")
    if field.type in UNBOUNDED:
        expect(field.length is None, f"a {field.type} field has no length")
    if field.length is not None:
        expect(1 <= field.length <= MAX_LENGTH, f"length {field.length} out of 1..{MAX_LENGTH}")
    if field.type is FieldType.STRING:
        expect(field.length is not None, "a string needs a maximum length (else declare text)")
    if field.type is FieldType.DECIMAL:
        expect(field.precision <= 38 and bool(field.unit), "a decimal needs precision ≤38 and unit")
    boolean_exception = (dataset_name, field.name) in BOOLEAN_NAME_EXCEPTIONS
    if field.type is FieldType.BOOLEAN and not boolean_exception:
        expect(field.name.startswith(("is_", "has_")), "a boolean reads is_/has_")
    if field.type is FieldType.DATETIME:
        expect(field.name.endswith("_at"), "a timestamp reads _at")
    if field.multi:
        expect(field.type is FieldType.LIST and bool(field.code_table), "multi needs list+codes")
    if field.description is not None:
        expect(bool(field.description.strip()), "empty description")
    if field.code_table:
        expect(field.code_table in table_names(), f"unknown code table {field.code_table!r}")
    for rule in field.rules:
        expect(rule in RULES, f"unknown rule {rule!r}")
    if {"id_card", "uscc_or_id_card"} & set(field.rules) or field.name in PII_NAMES:
        expect(field.pii, "ID numbers and phone numbers are personal data")
    return problems


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_fields_are_valid(spec):
    """Names, labels, lengths, code tables, rules and PII flags of every field."""
    problems = [p for field in all_fields(spec) for p in _field_problems(spec.name, field)]
    assert problems == []


def test_field_checks_catch_a_bad_field():
    """The field checks above do reject what they claim to."""
    bad = FieldSpec(name="phone", zh=" 电话", en="Phone", type=FieldType.STRING,
                    code_table=None, rules=("no_such_rule",))
    problems = _field_problems("demo", bad)
    assert any("zh empty or padded" in p for p in problems)
    assert any("maximum length" in p for p in problems)
    assert any("unknown rule" in p for p in problems)
    assert any("personal data" in p for p in problems)


@pytest.mark.parametrize(("spec", "check"), CHECKS, ids=CHECK_IDS)
def test_check_is_consistent(spec, check):
    assert check.family in CHECK_FAMILIES
    assert check.zh.strip() and check.en.strip()
    fields = [spec.field(name) for name in check.fields]
    if check.kind == "date_order":
        assert all(field.type is FieldType.DATE for field in fields)
    if check.kind == "rule_when":
        rule = RULES[check.rule]
        assert rule.family == check.family, "a conditional rule keeps its rule's family"
    if check.when is None:
        return
    when = spec.field(check.when.field)
    condition = check.when
    assert sum(x is not None for x in (condition.in_, condition.present, condition.contains)) == 1
    if condition.in_ is not None:
        assert condition.in_
        if when.type is FieldType.BOOLEAN:
            assert set(condition.in_) <= {"true", "false"}
        else:
            assert when.code_table, "an in-condition names codes of a code field"
            assert set(condition.in_) <= code_table(when.code_table).codes
    if condition.contains is not None:
        assert when.multi and condition.contains in code_table(when.code_table).codes


def test_check_rule_ids_are_unique():
    """A rule id is family + data set + kind and fields: no two checks may share one."""
    ids = [f"{check.family}.{spec.name}.{check.slug}" for spec, check in CHECKS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_order_duties_are_declared():
    """What the notice and REFERENCE.md spell out, checked against the declarations."""
    item = dataset("supervision_item")
    assert item.field("item_code").rules == ("supervise_item_code",)
    assert item.field("supervise_category").code_table == "监管类别"
    for flag in ("is_random_check", "is_key_check", "is_joint_random_check"):
        assert item.field(flag).type is FieldType.BOOLEAN
    assert dataset("check_list").field("check_list_code").rules == ("check_list_code",)
    inspection = dataset("inspection")
    for name in ("check_personnel", "law_enforcement_cert_no"):
        assert inspection.field(name).type is FieldType.LIST
        assert inspection.field(name).min_items == 2
    assert any(c.kind == "date_order" and c.fields == ("check_date", "submitted_date")
               for c in inspection.checks)
    assert any(c.kind == "date_order" and c.fields == ("measure_start_date", "measure_end_date")
               for c in dataset("coercion").checks)
    license_ = dataset("license")
    assert any(c.kind == "date_order" and c.fields == ("valid_from", "valid_to")
               for c in license_.checks)
    assert "not_future" in license_.field("decision_date").rules
    assert license_.field("licensing_authority_uscc").rules == ("uscc",)
    assert license_.field("counterpart_category").code_table == "行政相对人类别"
    assert license_.field("license_category").code_table == "许可类别"
    assert license_.field("license_status").code_table == "许可状态"
    assert dataset("site").field("site_category").code_table == "场地场所类别"
    assert dataset("officer").field("dept_code").code_table == "监管部门"
    assert dataset("random_check_plan").field("supervise_dept").code_table == "监管部门"
    for spec in SPECS:
        if spec.category == "behaviour":
            assert spec.field("supervise_item_code").rules == ("supervise_item_code",)


def test_the_58_national_code_tables_load_with_leading_zeros():
    text = resources.files("schemas").joinpath("code_tables.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    national = sorted({row["table"] for row in rows})
    assert len(national) == 58
    assert len(rows) == 5761
    assert set(national) <= set(table_names())
    for name in national:
        assert code_table(name).labels
    assert code_table("行政相对人性质").codes == {"01", "02", "03"}
    assert code_table("证件类型").label("001") == "统一社会信用代码"
    assert code_table("行政复议").label("00") == "无"
    assert code_table("行政区划代码").label("620000") == "甘肃省"
    assert "09" in code_table("处罚种类2021").codes
