"""The platform payload shapes (schemas/platforms/*.yaml) and the builders generated from them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from schemas.catalog import all_fields, dataset
from schemas.code_tables import code_table, table_names
from schemas.platforms import (
    PayloadError,
    build_payload,
    load_platforms,
    publicity_end,
    resources_for,
)
from schemas.platforms.publicity import add_months, rule_set_on, rule_sets
from schemas.platforms.transforms import COMPUTE, MASKS, mask_id_number

PLATFORMS = load_platforms()
RESOURCES = [r for p in PLATFORMS.values() for r in p.resources]
IDS = [f"{r.platform}/{r.name}" for r in RESOURCES]


def test_the_platforms_are_named_as_the_contract_says():
    assert set(PLATFORMS) <= {"national", "gsxt", "creditchina"}
    assert "creditchina" in PLATFORMS
    for name, platform in PLATFORMS.items():
        assert platform.platform == name
        assert all(r.platform == name for r in platform.resources)


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_every_field_is_mapped_constant_or_computed_by_a_known_function(resource):
    standard = {f.name for f in all_fields(dataset(resource.dataset))}
    for spec in resource.fields:
        sources = [spec.from_ is not None, "const" in spec.model_fields_set,
                   spec.compute is not None]
        assert sum(sources) == 1, spec.code
        if spec.from_ is not None:
            assert spec.from_ in standard, f"{spec.code}: {spec.from_} is no field"
        if spec.compute is not None:
            assert spec.compute in COMPUTE, spec.code
        if spec.mask is not None:
            assert spec.mask in MASKS


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_code_translations_exist_in_the_code_tables(resource):
    for spec in resource.fields:
        if spec.codes is None:
            continue
        assert spec.codes.table in table_names(), spec.code
        if spec.from_ is not None:
            source = dataset(resource.dataset).field(spec.from_)
            # Every code the warehouse can hold has a translation.
            assert source.code_table, f"{spec.code}: translating a field without a code table"
            assert code_table(source.code_table).codes <= code_table(spec.codes.table).codes


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_required_payload_fields_have_a_value_source(resource):
    for spec in resource.fields:
        if spec.required:
            assert not ("const" in spec.model_fields_set and spec.const is None), spec.code
        if spec.required_when is not None:
            assert spec.required_when.field in {f.code for f in resource.fields}


def test_resources_for_a_data_set_know_their_platform():
    found = resources_for("penalty")
    assert ("creditchina", "CF") in {(r.platform, r.name) for r in found}
    assert all(r.dataset == "penalty" for r in found)
    assert resources_for("no_such_data_set") == []


# --- 信用中国(甘肃) CF: the builder on sample rows ----------------------------------------------

CF = PLATFORMS["creditchina"].resource("CF")

COMPANY = {
    "record_id": "GS-SCJG:CF2024001", "batch_id": "2024060100001", "operation": "i",
    "department_code": "GS-SCJG", "division_code": "620000",
    "administrative_cp": "兰州某某食品有限公司", "administrative_cp_nature": "02",
    "administrative_cp_cert_type": "001", "administrative_cp_code": "91620100MA71ABCD8H",
    "legal_rep": "李四", "violation_type": "未取得食品经营许可从事食品经营活动",
    "illegal_fact": "…", "punish_basis": "《食品安全法》第一百二十二条",
    "punish_document_code": "甘市监罚〔2024〕1号", "punish_decision_date": dt.date(2024, 5, 20),
    "punish_type": "02", "fine_amount": Decimal("2000.00"), "penalty_result": "罚款2000元",
    "implement_institution": "甘肃省市场监督管理局",
    "implement_institution_code": "11620000013623450H",
}


def test_a_fine_of_2000_yuan_is_sent_as_0_2_wan_yuan():
    payload = build_payload(CF, COMPANY)
    assert Decimal(payload["CF_NR_FK"]) == Decimal("0.2")
    assert payload["CF_NR_FK"] == "0.200000"  # six decimals
    assert payload["CF_NR_WFFF"] is None


def test_a_company_is_a_legal_person_with_its_uscc_and_organisation_code():
    payload = build_payload(CF, COMPANY)
    assert payload["CF_XDR_LB"] == "法人及非法人组织"
    assert payload["CF_XDR_SHXYM"] == "91620100MA71ABCD8H"
    assert payload["CF_XDR_ZZJG"] == "MA71ABCD8"
    assert payload["CF_FRDB"] == "李四"
    assert payload["CF_XDR_ZJLX"] is None and payload["CF_XDR_ZJHM"] is None
    assert payload["CF_CFLB"] == "罚款"
    assert payload["CF_JDRQ"] == "2024-05-20"
    assert payload["CF_WFXW"] == "未取得食品经营许可从事食品经营活动"
    assert set(payload) == {f.code for f in CF.fields}


def test_an_individual_business_is_recognised_by_its_uscc():
    row = dict(COMPANY, administrative_cp_code="92620102MA72QW3E4N")
    payload = build_payload(CF, row)
    assert payload["CF_XDR_LB"] == "个体工商户"
    assert payload["CF_XDR_ZZJG"] is None


def test_a_natural_person_s_id_number_is_masked():
    row = dict(COMPANY, administrative_cp="张三", administrative_cp_nature="01",
               administrative_cp_cert_type="111", administrative_cp_code="11010519491231002x",
               legal_rep=None)
    payload = build_payload(CF, row)
    assert payload["CF_XDR_LB"] == "自然人"
    assert payload["CF_XDR_ZJLX"] == "身份证"
    assert payload["CF_XDR_ZJHM"] == "110105********002X"
    assert "19491231" not in str(payload)
    assert payload["CF_XDR_SHXYM"] is None


def test_mask_rule_for_other_lengths():
    assert mask_id_number("110105491231002") == "110105******002"
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("abc") == "***"


def test_publicity_end_of_a_single_type_decision():
    # 2024: the 2023 rule set (国家发展改革委令2023年第58号) — three years.
    assert publicity_end(COMPANY) == dt.date(2027, 5, 20)
    assert build_payload(CF, COMPANY)["CF_GSJZQ"] == "2027-05-20"


def test_publicity_end_takes_the_longest_period_of_a_multi_type_decision():
    # 2020: the 2019 rule set — a fine alone one year, with a revoked licence three.
    fine = dict(COMPANY, punish_decision_date=dt.date(2020, 3, 31), punish_type="02")
    both = dict(fine, punish_type="02,05")
    assert publicity_end(fine) == dt.date(2021, 3, 31)
    assert publicity_end(both) == dt.date(2023, 3, 31)
    payload = build_payload(CF, both)
    assert payload["CF_GSJZQ"] == "2023-03-31"
    assert payload["CF_CFLB"] == "罚款;吊销许可证"


def test_publicity_rule_sets_are_chosen_by_decision_date():
    first, *_, last = rule_sets()
    assert rule_set_on(dt.date(2015, 1, 1)) == first
    assert rule_set_on(last.in_force_from) == last
    assert rule_set_on(last.in_force_from - dt.timedelta(days=1)) != last
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert publicity_end({"punish_decision_date": None}) is None
    assert publicity_end({"punish_decision_date": "2024-05-20", "punish_type": ["02"]}) \
        == dt.date(2027, 5, 20)


def test_an_unknown_code_is_a_clear_error():
    with pytest.raises(PayloadError, match="处罚种类2021 has no code '99'"):
        build_payload(CF, dict(COMPANY, punish_type="99"))


def test_values_from_text_storage_are_read_like_typed_ones():
    # SQLite keeps decimals as text; rows may carry dates as ISO text.
    row = dict(COMPANY, fine_amount="2000.00", punish_decision_date="2024-05-20")
    assert build_payload(CF, row) == build_payload(CF, COMPANY)
