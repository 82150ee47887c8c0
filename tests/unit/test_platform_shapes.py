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
            # The simulator reads required_when as {field, in} (the delivery contract).
            assert spec.required_when.in_ and spec.required_when.present is None


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


# --- every resource builds from rows of its data set -------------------------------------------

@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
def test_every_resource_builds_synthetic_rows_of_its_data_set(resource):
    from warehouse.testing.synthetic import standard_frame

    rows = standard_frame(resource.dataset, range(40)).to_dict("records")
    for row in rows:
        row.update(department_code="GS-TEST", division_code="620000")
        payload = build_payload(resource, row)
        assert list(payload) == [f.code for f in resource.fields]
        for field in resource.fields:
            value = payload[field.code]
            assert value is None or isinstance(value, str | int), field.code
            if field.max_length and isinstance(value, str) and field.from_:
                assert len(value) <= field.max_length, field.code
            if field.required and field.from_ is not None:
                assert value is not None, f"{field.code} empty for a valid row"


# --- 国家互联网+监管系统: the exchange shape ----------------------------------------------------

NATIONAL = PLATFORMS["national"]
CD_FIELDS = ["cd_id", "cd_time", "cd_source", "cd_batch", "cd_operation",
             "record_unique_identity"]


def test_national_covers_every_behaviour_subject_officer_catalog_and_random_check_set():
    covered = {r.dataset for r in NATIONAL.resources}
    wanted = {spec.name for spec in datasets_of("behaviour", "subject", "officer", "catalog",
                                                 "random_check")}
    assert wanted <= covered
    assert len(covered) == len(NATIONAL.resources)  # one resource per data set


def datasets_of(*categories):
    from schemas.catalog import datasets

    return [spec for spec in datasets() if spec.category in categories]


# The lead API (issue 13) takes the lead id and the disposition, not the exchange shape.
LEAD_RESOURCES = {"dispositions"}


@pytest.mark.parametrize("resource", [r for r in NATIONAL.resources
                                      if r.name not in LEAD_RESOURCES], ids=lambda r: r.name)
def test_national_resource_carries_the_exchange_columns_and_every_required_field(resource):
    assert [f.code for f in resource.fields[:6]] == CD_FIELDS
    assert all(f.required for f in resource.fields[:6])
    spec = dataset(resource.dataset)
    mapped = {f.from_: f for f in resource.fields if f.from_}
    for field in spec.fields:
        if field.required:
            assert field.name in mapped, f"{resource.name}: {field.name} is not sent"
            assert mapped[field.name].required
        if field.name in mapped and field.length and mapped[field.name].max_length:
            assert mapped[field.name].max_length >= field.length


def test_dispositions_send_every_field_of_a_disposition():
    resource = NATIONAL.resource("dispositions")
    spec = dataset(resource.dataset)
    mapped = {f.from_: f for f in resource.fields if f.from_}
    assert set(mapped) == {field.name for field in spec.fields}
    assert all(mapped[field.name].required for field in spec.fields if field.required)


def test_national_payload_has_the_cd_fields():
    resource = NATIONAL.resource("punish_action")
    row = dict(COMPANY, operation="u", is_hearing=False, is_criminal_case=True,
               closing_no_penalty=0, punish_type="02,09,03",
               updated_at=dt.datetime(2024, 6, 1, 8, 30, 5, tzinfo=dt.UTC))
    payload = build_payload(resource, row)
    assert payload["cd_id"] == payload["record_unique_identity"] == "GS-SCJG:CF2024001"
    assert payload["cd_source"] == "620000GS-SCJG"  # division + department code
    assert payload["cd_batch"] == "2024060100001"
    assert payload["cd_operation"] == "u"
    assert payload["cd_time"] == "2024-06-01 16:30:05"  # 08:30:05 UTC in China Standard Time
    assert (payload["is_hearing"], payload["is_criminal_case"],
            payload["closing_no_penalty"]) == ("否", "是", "否")
    # 2021 types in the national 7 codes: 没收非法财物 (09) is 没收违法所得 (03), sent once.
    assert payload["punish_type"] == "02,03"
    assert payload["fine_amount"] == "2000.00"  # the national set keeps 元
    assert "legal_rep" not in payload and "violation_type" not in payload


def test_national_inspection_renames_the_check_list_code_and_joins_officers():
    resource = NATIONAL.resource("check_action")
    payload = build_payload(resource, dict(COMPANY, check_list_code="11620000013623450H1X",
                                           check_personnel="王五,赵六"))
    assert payload["supervise_item_check_icode"] == "11620000013623450H1X"
    assert payload["check_personnel"] == "王五,赵六"


def test_national_source_needs_division_and_department():
    row = dict(COMPANY)
    del row["division_code"]
    with pytest.raises(PayloadError, match="division_code"):
        build_payload(NATIONAL.resource("punish_action"), row)


# --- 国家企业信用信息公示系统(甘肃): keyed by USCC ------------------------------------------------

GSXT = PLATFORMS["gsxt"]


def test_gsxt_covers_its_five_data_sets_keyed_by_uscc():
    assert {r.dataset for r in GSXT.resources} == {
        "random_check_result", "penalty", "license", "abnormal_operation_list",
        "serious_violation_list"}
    for resource in GSXT.resources:
        key = resource.field("enterpriseCreditCode")
        assert key.required and key.max_length == 18


def test_gsxt_penalty_only_for_uscc_holders():
    resource = GSXT.resource("penalty")
    person = dict(COMPANY, administrative_cp_cert_type="111",
                  administrative_cp_code="11010519491231002X")
    assert resource.applies_to(COMPANY) and not resource.applies_to(person)
    payload = build_payload(resource, COMPANY)
    assert payload["enterpriseCreditCode"] == "91620100MA71ABCD8H"
    assert payload["fineAmount"] == "0.200000"
    assert payload["setDate"] == "2024-05-20"
    licence = GSXT.resource("license")
    assert licence.applies_to({"counterpart_uscc": "91620100MA71ABCD8H"})
    assert not licence.applies_to({"counterpart_uscc": None})


def test_gsxt_abnormal_operation_list():
    row = {"uscc": "91620100MA71ABCD8H", "ent_name": "兰州某某食品有限公司",
           "listed_date": dt.date(2024, 3, 1), "listed_reason": "未按规定报送年度报告",
           "listed_authority": "兰州市市场监督管理局", "removed_date": None}
    payload = build_payload(GSXT.resource("abnormal_operation"), row)
    assert payload["enterpriseCreditCode"] == "91620100MA71ABCD8H"
    assert payload["abnormalPutdate"] == "2024-03-01"
    assert payload["abnormalListDate"] is None


# --- 信用中国(甘肃) XK ------------------------------------------------------------------------

def test_xk_translates_category_and_masks_a_natural_person():
    resource = PLATFORMS["creditchina"].resource("XK")
    row = {"counterpart_name": "张三", "counterpart_category": "2",
           "counterpart_cert_type": "111", "counterpart_cert_no": "11010519491231002X",
           "license_category": "1", "license_status": "1", "decision_date": dt.date(2024, 1, 2),
           "valid_to": dt.date(9999, 12, 31)}
    payload = build_payload(resource, row)
    assert payload["XK_XDR_LB"] == "自然人"
    assert payload["XK_XDR_ZJLX"] == "身份证"
    assert payload["XK_XDR_ZJHM"] == "110105********002X"
    assert payload["XK_XKLB"] == "普通" and payload["XK_ZT"] == "1"
    assert payload["XK_YXQZI"] == "9999-12-31"
    company = dict(row, counterpart_category="1")
    # The natural-person certificate is sent only for a natural person.
    assert build_payload(resource, company)["XK_XDR_ZJHM"] is None


def test_every_national_certificate_type_has_a_double_publicity_label():
    assert code_table("证件类型").codes <= code_table("双公示证件类型").codes
    assert set(code_table("处罚种类国家码").labels.values()) <= code_table("处罚种类").codes
    assert code_table("处罚种类2021").codes == code_table("处罚种类国家码").codes


def test_payload_problems_reads_the_declared_checks():
    from schemas.platforms import payload_problems

    assert payload_problems(CF, build_payload(CF, COMPANY)) == []
    person = dict(COMPANY, administrative_cp_cert_type="111", administrative_cp_nature="01",
                  administrative_cp_code=None, legal_rep=None)
    assert payload_problems(CF, build_payload(CF, person)) == [("CF_XDR_ZJHM", "required")]
    company = dict(COMPANY, legal_rep=None, violation_type="", punish_document_code="x" * 129)
    assert payload_problems(CF, build_payload(CF, company)) == [
        ("CF_FRDB", "required"), ("CF_WSH", "longer than 128"), ("CF_WFXW", "required")]
    broken = dict(build_payload(CF, COMPANY), CF_JDRQ="2024-13-01", CF_NR_FK="0.2万")
    assert payload_problems(CF, broken) == [("CF_NR_FK", "not a decimal"),
                                            ("CF_JDRQ", "not a date")]


def test_publicity_over_the_day_after_the_end_and_only_where_declared():
    from schemas.platforms import publicity_over

    end = publicity_end(COMPANY)  # 2027-05-20
    assert not publicity_over(CF, COMPANY, end)
    assert publicity_over(CF, COMPANY, end + dt.timedelta(days=1))
    national = NATIONAL.resource("punish_action")
    assert not publicity_over(national, COMPANY, end + dt.timedelta(days=1))
