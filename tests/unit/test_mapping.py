"""Mapping legacy batches to the standard frame, on inline batches."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from connectors.base import Batch, RowError
from huiju.departments import Department, Feed, load_department
from huiju.mapping import ISSUE_COLUMNS, Mapped, MappingError, frame_dtype, map_batch, map_batches
from schemas.catalog import all_fields, dataset
from schemas.model import DataSetSpec

SAMPLES = Path(__file__).resolve().parents[2] / "departments"
BATCH_ID = "2021040100001"

# A legacy penalty row, as the SCJG case database holds it (labels, 元, mixed formats).
PENALTY_ROW = {
    "案件编号": "GS-SCJG-CF-2021-0001",
    "事项编码": "62000000012345",
    "案件名称": "兰州某某商贸有限公司销售过期食品案",
    "办案机构": "兰州市城关区市场监督管理局",
    "办案机构代码": "11620102MB1234567X",
    "当事人名称": "兰州某某商贸有限公司",
    "当事人类型": "法人",
    "证件类型": "统一社会信用代码",
    "证件号码": "91620100MA71ABCD8H",
    "注册地址": "兰州市城关区张掖路1号",
    "经营地址": "兰州市城关区张掖路1号",
    "区划代码": "620102",
    "案件来源": "日常检查",
    "检查编号": "JC-2021-0009",
    "违法事实": "销售超过保质期的食品",
    "处罚依据": "《中华人民共和国食品安全法》第一百二十四条",
    "程序类型": "一般",
    "是否听证": "否",
    "立案日期": "2021-03-01",
    "是否涉刑": "0",
    "是否重大": "1",
    "决定书文号": "兰城市监罚〔2021〕12号",
    "决定日期": "2021年3月26日",
    "处罚种类": "警告、罚款",
    "罚款金额": "5000",
    "处罚结果": "警告并处罚款5000元",
    "复议情况": None,
    "诉讼情况": "无",
    "执行方式": "自觉履行",
    "不予处罚": "否",
    "结案日期": "2021/4/2",
    "报送日期": "20210403",
    "报送人": "王五",
    "操作标志": "新增",
    "更新时间": "2021-04-03 10:00:00",
    # columns of the case table this case leaves empty (a table has every column)
    "吊销证照": None,
    "没收金额": None,
    "法定代表人": None,
    "违法行为类型": None,
}


def _scjg() -> Department:
    return load_department(SAMPLES / "gs_scjg.yaml")


def _feed(department: Department, dataset_name: str, source: str | None = None) -> Feed:
    for src, feed in department.feeds():
        if feed.dataset == dataset_name and (source is None or src.id == source):
            return feed
    raise KeyError(dataset_name)


def _batch(rows: list[dict], refs: list[str] | None = None, errors=None,
           schema: pa.Schema | None = None) -> Batch:
    table = pa.Table.from_pylist(rows, schema=schema) if rows else pa.table({})
    refs = refs if refs is not None else [f"行政处罚案件#案件编号={i}" for i in range(len(rows))]
    return Batch(table=table, refs=refs, cursor=None, errors=list(errors or []))


def _penalty(rows: list[dict], **kwargs) -> Mapped:
    department = _scjg()
    return map_batch(_batch(rows, **kwargs), _feed(department, "penalty"), dataset("penalty"),
                     department, BATCH_ID)


def _with(**changes) -> dict:
    return {**PENALTY_ROW, **changes}


def _mini(tmp_path: Path, mapping: dict, dataset_name: str = "penalty", **feed) -> tuple[
        Department, Feed]:
    """A one-feed department file; mapping fields not given come from the SCJG sample."""
    raw = yaml.safe_load((SAMPLES / "gs_scjg.yaml").read_text(encoding="utf-8"))
    base = next(f for f in raw["sources"][0]["feeds"] if f["dataset"] == dataset_name)
    base["mapping"].update(mapping)
    base.update(feed)
    raw["sources"][0]["feeds"] = [base]
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    department = load_department(path)
    return department, department.sources[0].feeds[0]


def _issues(mapped: Mapped, field: str | None = None) -> pd.DataFrame:
    issues = mapped.issues
    return issues if field is None else issues[issues["field"] == field]


# ------------------------------------------------------------------ shape and dtypes


def test_frame_has_every_standard_column_with_its_dtype():
    mapped = _penalty([PENALTY_ROW])
    spec = dataset("penalty")
    expected = [f.name for f in all_fields(spec)] + ["_source_ref", "_source_hash", "record"]
    assert list(mapped.frame.columns) == expected
    for field in all_fields(spec):
        assert mapped.frame[field.name].dtype == frame_dtype(field), field.name
    assert mapped.frame["punish_decision_date"].dtype == "datetime64[s]"
    assert mapped.frame["fine_amount"].dtype == pd.ArrowDtype(pa.decimal128(20, 2))
    assert mapped.frame["is_hearing"].dtype == "boolean"
    assert mapped.frame["punish_type"].dtype == "str"
    for column in ("_source_ref", "_source_hash", "record"):
        assert mapped.frame[column].dtype == "str"
    assert list(mapped.issues.columns) == list(ISSUE_COLUMNS)
    assert mapped.issues.empty, mapped.issues


def test_renames_constants_value_maps_and_labels():
    row = _penalty([PENALTY_ROW]).frame.iloc[0]
    assert row["punish_action_code"] == "GS-SCJG-CF-2021-0001"
    assert row["administrative_cp"] == row["supervise_object"] == "兰州某某商贸有限公司"
    assert row["supervise_object_type"] == "1"  # const
    assert row["case_source"] == "01"  # value map 日常检查 → 01
    assert row["punish_procedure"] == "02"  # value map 一般 → 02
    assert row["administrative_cp_nature"] == "02"  # label 法人 → 02
    assert row["administrative_cp_cert_type"] == "001"  # label 统一社会信用代码 → 001
    assert row["closing_execution_mode"] == "1"  # label 自觉履行 → 1
    assert row["punish_type"] == "01,02"  # labels 警告、罚款, split and joined
    assert row["admin_reconsideration"] == "00"  # missing → default
    assert row["admin_litigation"] == "99"  # 无 → value map
    assert row["is_hearing"] is np.False_ or row["is_hearing"] is False
    assert bool(row["is_major_case"]) is True and bool(row["is_criminal_case"]) is False
    assert row["fine_amount"] == Decimal("5000.00")
    assert pd.isna(row["legal_review_opinion"])  # unmapped optional field


def test_exchange_columns():
    frame = _penalty([PENALTY_ROW, _with(案件编号="X-2", 操作标志="删除"),
                      _with(案件编号="X-3", 操作标志=None),
                      _with(案件编号="X-4", 操作标志="U")]).frame
    assert list(frame["record_id"]) == ["GS-SCJG-CF-2021-0001", "X-2", "X-3", "X-4"]
    assert list(frame["operation"]) == ["i", "d", "i", "u"]
    assert set(frame["batch_id"]) == {BATCH_ID}


def test_unknown_operation_flag_is_an_issue():
    mapped = _penalty([_with(操作标志="作废")])
    issue = _issues(mapped, "operation").iloc[0]
    assert issue["rule_id"] == "02-OPERATION-penalty.operation"
    assert issue["family"] == "02" and issue["raw_value"] == "作废"
    assert mapped.frame["operation"].iloc[0] == "i"


def test_derived_record_id_joins_the_business_key(tmp_path):
    lz = load_department(SAMPLES / "lz_sjj.yaml")
    feed = _feed(lz, "site")
    row = {"水库名称": "什川水库", "所在区县": "皋兰县", "区划代码": "620122",
           "管理单位": "皋兰县水务局",
           "管理单位信用代码": "11620122MB0000000X", "责任人": "李四",
           "责任人身份证号": "110105491231002", "联系电话": "0931-5721234",
           "主要功能": "灌溉、防洪", "总库容万立方米": "120", "建成日期": "1975年10月",
           "设计使用年限": "50"}
    frame = map_batch(_batch([row], refs=["水库名录_202104.csv:line 2"]), feed, dataset("site"),
                      lz, BATCH_ID).frame.iloc[0]
    assert frame["record_id"] == "LZ-SJJ:什川水库|620122"
    assert frame["site_category"] == "2" and frame["responsible_person_cert_type"] == "111"
    assert frame["site_scale"] == "总库容120万立方米"  # template
    assert frame["service_life"] == "50年"
    assert frame["in_service_date"] == pd.Timestamp("1975-10-01")  # date_format hint
    assert frame["responsible_person_cert_no"] == "11010519491231002X"  # 15 → 18


# ------------------------------------------------------------------ values


def test_wan_yuan_to_yuan_is_exact(tmp_path):
    yjj = load_department(SAMPLES / "gs_yjj.yaml")
    feed = _feed(yjj, "penalty")
    base = {"处罚编号": "P1", "事项编码": "62000000012345", "案件名称": "n", "当事人": "x",
            "当事人性质": "法人", "证件类型": "统一社会信用代码", "证件号码": "91620100MA71ABCD8H",
            "区划代码": "620100", "案件来源": "社会举报", "检查编号": "J", "违法事实": "f",
            "处罚依据": "b", "处罚程序": "一般程序", "是否听证": "否", "是否涉刑": "否",
            "决定文书号": "甘药监罚〔2021〕1号", "决定日期": "2021-03-26", "处罚种类": "罚款",
            "处罚结果": "r", "不予处罚": "否", "结案日期": None, "法定代表人": None,
            "违法行为类型": None}
    amounts = ["0.2", "1.23456", "０．５", "1,000", "3", "0.00001"]
    rows = [{**base, "处罚编号": f"P{i}", "罚没金额万元": a} for i, a in enumerate(amounts)]
    mapped = map_batch(_batch(rows), feed, dataset("penalty"), yjj, BATCH_ID)
    values = mapped.frame["fine_amount"].tolist()
    assert values[:5] == [Decimal("2000.00"), Decimal("12345.60"), Decimal("5000.00"),
                          Decimal("10000000.00"), Decimal("30000.00")]
    # 0.00001 万元 = 0.1 元 is exact; finer than 分 would be flagged, never rounded
    assert values[5] == Decimal("0.10")
    assert mapped.issues.empty


def test_amounts_in_yuan_and_bad_amounts():
    mapped = _penalty([_with(罚款金额="1234.5"), _with(案件编号="2", 罚款金额="五千元"),
                       _with(案件编号="3", 罚款金额="")])
    assert mapped.frame["fine_amount"].iloc[0] == Decimal("1234.50")
    assert pd.isna(mapped.frame["fine_amount"].iloc[1])
    assert pd.isna(mapped.frame["fine_amount"].iloc[2])
    issue = _issues(mapped, "fine_amount")
    assert list(issue["row"]) == [1]
    assert issue.iloc[0]["rule_id"] == "01-AMOUNT-penalty.fine_amount"
    assert issue.iloc[0]["family"] == "01" and issue.iloc[0]["raw_value"] == "五千元"


@pytest.mark.parametrize(("text", "expected"), [
    ("2021-03-26", "2021-03-26"),
    ("2021年3月26日", "2021-03-26"),
    ("2021.3.26", "2021-03-26"),
    ("2021/3/26", "2021-03-26"),
    ("20210326", "2021-03-26"),
    ("2021-03-26 00:00:00.0", "2021-03-26"),
    ("44281", "2021-03-26"),  # Excel serial
    ("２０２１年３月２６日", "2021-03-26"),
])
def test_dates_in_every_format(text, expected):
    mapped = _penalty([_with(决定日期=text)])
    assert mapped.frame["punish_decision_date"].iloc[0] == pd.Timestamp(expected)
    assert mapped.issues.empty


def test_open_ended_dates_and_absent_optional_columns():
    # the API leaves out null keys (XK_FRDB, BZ …): optional fields read as missing
    yjj = load_department(SAMPLES / "gs_yjj.yaml")
    license_feed = _feed(yjj, "license")
    rows = [{"XK_XDR_MC": "n", "XK_XDR_LB": "法人及非法人组织", "XK_XKWS": "w",
             "XK_WSH": "甘药许〔2021〕1号", "XK_XKLB": "普通", "XK_NR": "c",
             "XK_JDRQ": "2021-01-05", "XK_YXQZ": "2021-01-05", "XK_YXQZI": "长期",
             "XK_XKJG": "甘肃省药品监督管理局", "XK_XKJGDM": "11620000MB0000000X", "XK_ZT": "有效",
             "XK_LYDW": "甘肃省药品监督管理局", "XK_LYDWDM": "11620000MB0000000X"}]
    mapped = map_batch(_batch(rows), license_feed, dataset("license"), yjj, BATCH_ID,
                       sparse=True)
    frame = mapped.frame.iloc[0]
    assert frame["valid_to"] == pd.Timestamp("9999-12-31")
    assert frame["counterpart_category"] == "1" and frame["license_category"] == "1"
    assert frame["license_status"] == "1"
    assert frame["record_id"] == "GS-YJJ:甘药许〔2021〕1号"
    assert pd.isna(frame["remark"]) and pd.isna(frame["legal_rep"])
    assert mapped.issues.empty


def test_absent_column_of_a_table_or_file_is_a_mapping_error_naming_the_closest():
    # a misspelt column must never load empty values over real ones
    department = _scjg()
    feed = _feed(department, "penalty")
    rows = [{k: v for k, v in PENALTY_ROW.items() if k != "注册地址"} | {"注册地址 ": "x"}]
    with pytest.raises(MappingError, match=r"'注册地址' \(closest: 注册地址 , 经营地址\)"):
        map_batch(_batch(rows), feed, dataset("penalty"), department, BATCH_ID)


def test_absent_column_of_a_required_field_is_a_mapping_error():
    yjj = load_department(SAMPLES / "gs_yjj.yaml")
    with pytest.raises(MappingError, match="XK_WSH"):
        map_batch(_batch([{"XK_XDR_MC": "n"}]), _feed(yjj, "license"), dataset("license"), yjj,
                  BATCH_ID)


def test_unparseable_date_is_an_issue_with_its_raw_value():
    mapped = _penalty([_with(决定日期="2021-02-30"), _with(案件编号="2", 决定日期="去年春天")])
    assert mapped.frame["punish_decision_date"].isna().all()
    issues = _issues(mapped, "punish_decision_date")
    assert list(issues["row"]) == [0, 1]
    assert list(issues["raw_value"]) == ["2021-02-30", "去年春天"]
    assert set(issues["rule_id"]) == {"10-DATE-penalty.punish_decision_date"}
    assert set(issues["family"]) == {"10"}
    assert "无法识别为日期" in issues.iloc[0]["message_zh"]
    assert len(mapped.frame) == 2  # rows are kept for validation to quarantine


def test_unmapped_legacy_code_is_an_issue():
    mapped = _penalty([_with(案件来源="火星来信"), _with(案件编号="2", 案件来源="03")])
    assert list(mapped.frame["case_source"]) == ["火星来信", "03"]  # a code already passes
    issue = _issues(mapped, "case_source")
    assert list(issue["row"]) == [0]
    assert issue.iloc[0]["rule_id"] == "01-VALUEMAP-penalty.case_source"
    assert issue.iloc[0]["raw_value"] == "火星来信"


def test_unmapped_element_of_a_code_list_is_an_issue():
    mapped = _penalty([_with(处罚种类="警告、打板子")])
    issue = _issues(mapped, "punish_type")
    assert issue.iloc[0]["rule_id"] == "01-VALUEMAP-penalty.punish_type"
    assert issue.iloc[0]["raw_value"] == "警告、打板子"


def test_booleans():
    words = ["是", "否", "1", "0", "Y", "n", "true", "FALSE", "Yes", "no", "", "也许"]
    rows = [_with(案件编号=str(i), 是否重大=w) for i, w in enumerate(words)]
    mapped = _penalty(rows)
    assert mapped.frame["is_major_case"].tolist() == [True, False, True, False, True, False,
                                                     True, False, True, False, pd.NA, pd.NA]
    issue = _issues(mapped, "is_major_case")
    assert list(issue["row"]) == [11]
    assert issue.iloc[0]["rule_id"] == "01-BOOLEAN-penalty.is_major_case"


def test_list_split_on_every_separator():
    scjg = _scjg()
    row = {"检查编号": "J1", "计划编号": None, "事项编码": "62000000012345",
           "实施清单编码": "11620000MB00000001", "检查名称": "n", "检查机构": "i", "检查对象": "o",
           "对象性质": "法人", "证件类型": "统一社会信用代码", "证件号码": "91620100MA71ABCD8H",
           "经营地址": None, "区划代码": "620102", "检查形式": "日常检查", "现场检查": "现场",
           "检查结果": "未发现问题", "检查日期": "2021-03-26",
           "检查人员": " 张三、李四，王五;赵六 钱七；孙八\u3000周九,,",
           "执法证号": "62010001、62010002", "报送日期": None}
    frame = map_batch(_batch([row]), _feed(scjg, "inspection"), dataset("inspection"), scjg,
                      BATCH_ID).frame.iloc[0]
    assert frame["check_personnel"] == "张三,李四,王五,赵六,钱七,孙八,周九"
    assert frame["law_enforcement_cert_no"] == "62010001,62010002"
    assert frame["check_result"] == "01" and frame["check_type"] == "01"
    assert frame["check_form"] == "01"


def test_custom_split_characters(tmp_path):
    department, feed = _mini(tmp_path, {"check_personnel": {"column": "检查人员", "split": "|"}},
                             "inspection")
    row = {"检查编号": "J1", "计划编号": None, "事项编码": "62000000012345",
           "实施清单编码": "x", "检查名称": "n", "检查机构": "i", "检查对象": "o",
           "对象性质": "法人", "证件类型": "统一社会信用代码", "证件号码": "x", "经营地址": None,
           "区划代码": "620102", "检查形式": "日常检查", "现场检查": "现场",
           "检查结果": "未发现问题", "检查日期": "2021-03-26", "检查人员": "Zhang San|Li Si",
           "执法证号": None, "报送日期": None}
    frame = map_batch(_batch([row]), feed, dataset("inspection"), department, BATCH_ID).frame
    assert frame["check_personnel"].iloc[0] == "Zhang San,Li Si"
    assert pd.isna(frame["law_enforcement_cert_no"].iloc[0])


def test_id15_to_18():
    mapped = _penalty([_with(当事人类型="公民", 证件类型="居民身份证", 证件号码="110105491231002")])
    assert mapped.frame["administrative_cp_code"].iloc[0] == "11010519491231002X"
    assert mapped.frame["administrative_cp_nature"].iloc[0] == "01"
    assert mapped.frame["administrative_cp_cert_type"].iloc[0] == "111"


def test_codes_get_nfkc_and_trim_but_names_are_kept_as_written():
    uscc = "  统一社会信用代码：９１６２０１００ＭＡ７１ＡＢＣＤ８Ｈ（1/1）\u3000"
    mapped = _penalty([_with(证件号码=uscc,
                             事项编码="６２０００００００１２３４５\t", 区划代码=" ６２０１０２ ",
                             当事人名称="兰州某某（集团）有限公司　",
                             决定书文号="兰城市监罚〔２０２１〕12号")])
    row = mapped.frame.iloc[0]
    assert row["administrative_cp_code"] == "91620100MA71ABCD8H"
    assert row["supervise_item_code"] == "62000000012345"
    assert row["area_code"] == "620102"
    assert row["administrative_cp"] == "兰州某某（集团）有限公司　"
    assert row["punish_document_code"] == "兰城市监罚〔２０２１〕12号"


def test_blank_values_are_missing():
    mapped = _penalty([_with(案件名称="   ", 证件号码="undefined", 注册地址="")])
    row = mapped.frame.iloc[0]
    assert pd.isna(row["punish_action_name"])
    assert pd.isna(row["administrative_cp_code"])
    assert pd.isna(row["address_registered"])


# ------------------------------------------------------------------ provenance


def _canonical(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_source_refs_records_and_hashes():
    rows = [PENALTY_ROW, _with(案件编号="2", 违法事实='含"引号"、反斜杠\\、换行\n和\t制表\x01')]
    refs = ["行政处罚案件#案件编号=GS-SCJG-CF-2021-0001", "行政处罚案件#案件编号=2"]
    frame = _penalty(rows, refs=refs).frame
    assert list(frame["_source_ref"]) == refs
    for i, row in enumerate(rows):
        assert frame["record"].iloc[i] == _canonical(row)
        assert json.loads(frame["record"].iloc[i]) == row
        assert frame["_source_hash"].iloc[i] == hashlib.sha256(
            _canonical(row).encode("utf-8")).hexdigest()


def test_hashes_are_deterministic_and_order_independent():
    first = _penalty([PENALTY_ROW]).frame["_source_hash"].iloc[0]
    again = _penalty([PENALTY_ROW]).frame["_source_hash"].iloc[0]
    reordered = _penalty([dict(reversed(list(PENALTY_ROW.items())))]).frame["_source_hash"].iloc[0]
    changed = _penalty([_with(罚款金额="5001")]).frame["_source_hash"].iloc[0]
    assert first == again == reordered
    assert changed != first
    assert len(first) == 64


def test_typed_sql_values():
    types = {"罚款金额": pa.decimal128(12, 2), "决定日期": pa.date32(),
             "立案日期": pa.timestamp("us"), "是否重大": pa.int64()}
    schema = pa.schema([(name, types.get(name, pa.string())) for name in PENALTY_ROW])
    row = _with(罚款金额=Decimal("1234.50"), 决定日期=dt.date(2021, 3, 26),
                立案日期=dt.datetime(2021, 3, 1, 9, 30),  # noqa: DTZ001 (legacy DBs are naive)
                是否重大=1)
    mapped = _penalty([row], schema=schema)
    frame = mapped.frame.iloc[0]
    assert frame["fine_amount"] == Decimal("1234.50")
    assert frame["punish_decision_date"] == pd.Timestamp("2021-03-26")
    assert frame["case_filing_date"] == pd.Timestamp("2021-03-01")
    assert bool(frame["is_major_case"]) is True
    record = json.loads(frame["record"])
    assert record["罚款金额"] == "1234.50" and record["决定日期"] == "2021-03-26"
    assert record["是否重大"] == 1 and record["立案日期"].startswith("2021-03-01 09:30:00")
    assert mapped.issues.empty


def test_connector_row_errors_become_rows_with_issues():
    errors = [RowError("drop/2021-04.csv:line 17", "expected 35 fields, saw 12", "a,b,c")]
    mapped = _penalty([PENALTY_ROW], refs=["drop/2021-04.csv:line 2"], errors=errors)
    frame = mapped.frame
    assert len(frame) == 2
    assert list(frame["_source_ref"]) == ["drop/2021-04.csv:line 2", "drop/2021-04.csv:line 17"]
    assert json.loads(frame["record"].iloc[1]) == {"_error": "expected 35 fields, saw 12",
                                                   "_raw": "a,b,c"}
    assert frame["_source_hash"].iloc[1] == hashlib.sha256(
        frame["record"].iloc[1].encode("utf-8")).hexdigest()
    assert pd.isna(frame["punish_action_code"].iloc[1])
    issue = mapped.issues[mapped.issues["rule_id"] == "01-PARSE-row"]
    assert list(issue["row"]) == [1]
    assert pd.isna(issue["field"].iloc[0])
    assert issue["raw_value"].iloc[0] == "a,b,c"
    assert "expected 35 fields" in issue["message_en"].iloc[0]


def test_empty_batch():
    mapped = _penalty([])
    assert len(mapped.frame) == 0 and mapped.issues.empty
    for field in all_fields(dataset("penalty")):
        assert mapped.frame[field.name].dtype == frame_dtype(field)


def test_only_row_errors():
    mapped = _penalty([], refs=[], errors=[RowError("f.csv:line 2", "broken quote", '"abc')])
    assert len(mapped.frame) == 1 and list(mapped.issues["rule_id"]) == ["01-PARSE-row"]


def test_missing_legacy_column_is_a_mapping_error():
    row = dict(PENALTY_ROW)
    del row["决定日期"]
    with pytest.raises(MappingError, match="决定日期"):
        _penalty([row])


# ------------------------------------------------------------------ other field types


def test_integer_datetime_and_plain_decimal_fields():
    spec = DataSetSpec.model_validate({
        "name": "probe", "zh": "探针", "en": "Probe", "category": "subject", "source": "test",
        "business_key": ["code"],
        "fields": [
            {"name": "code", "zh": "编号", "en": "Code", "type": "string", "length": 10,
             "required": True},
            {"name": "count", "zh": "数量", "en": "Count", "type": "integer"},
            {"name": "seen_at", "zh": "时间", "en": "Seen at", "type": "datetime"},
            {"name": "latitude", "zh": "纬度", "en": "Latitude", "type": "decimal",
             "precision": 10, "scale": 6, "unit": "度"},
        ]})
    department = _scjg()
    feed = Feed.model_validate({"dataset": "probe", "mapping": {
        "code": "编号", "count": "数量", "seen_at": "时间", "latitude": "纬度"}})
    rows = [{"编号": "A", "数量": "12", "时间": "2021-03-26 08:00:00", "纬度": "36.0610891"},
            {"编号": "B", "数量": "１,２００", "时间": "2021年3月26日", "纬度": "-103.5"},
            {"编号": "C", "数量": "1.5", "时间": "昨天", "纬度": "北纬36度"}]
    mapped = map_batch(_batch(rows), feed, spec, department, BATCH_ID)
    frame = mapped.frame
    assert frame["count"].dtype == "Int64"
    assert frame["count"].tolist()[:2] == [12, 1200] and pd.isna(frame["count"].iloc[2])
    assert frame["seen_at"].dtype == pd.DatetimeTZDtype("us", "UTC")
    assert frame["seen_at"].iloc[0] == pd.Timestamp("2021-03-26 00:00:00", tz="UTC")  # 08:00 +08
    assert frame["seen_at"].iloc[1] == pd.Timestamp("2021-03-25 16:00:00", tz="UTC")
    assert frame["latitude"].dtype == pd.ArrowDtype(pa.decimal128(10, 6))
    assert frame["latitude"].tolist()[:2] == [Decimal("36.061089"), Decimal("-103.500000")]
    assert frame["record_id"].iloc[0] == "GS-SCJG:A"
    kinds = sorted(mapped.issues["rule_id"])
    assert kinds == ["01-DECIMAL-probe.latitude", "01-INTEGER-probe.count",
                     "10-DATETIME-probe.seen_at"]
    assert set(mapped.issues["row"]) == {2}


def test_derived_record_id_too_long_for_the_field_uses_a_digest():
    yjj = load_department(SAMPLES / "gs_yjj.yaml")
    long_no = "甘药许" + "〔2021〕" * 12 + "1号"
    rows = [{"XK_XDR_MC": "n", "XK_XDR_LB": "自然人", "XK_XKWS": "w", "XK_WSH": long_no,
             "XK_XKLB": "普通", "XK_NR": "c", "XK_JDRQ": "2021-01-05", "XK_YXQZ": "2021-01-05",
             "XK_YXQZI": "2022-01-04", "XK_XKJG": "j", "XK_XKJGDM": "x", "XK_ZT": "有效",
             "XK_LYDW": "d", "XK_LYDWDM": "x"}] * 2
    frame = map_batch(_batch(rows), _feed(yjj, "license"), dataset("license"), yjj,
                      BATCH_ID, sparse=True).frame  # an API: null keys left out
    record_id = frame["record_id"].iloc[0]
    assert record_id.startswith("GS-YJJ:#") and len(record_id) == 64
    assert record_id == frame["record_id"].iloc[1]  # stable for the same key


def test_chunked_table_with_float_amounts():
    # a SQL NUMERIC read as float, split over two record batches
    types = {name: pa.string() for name in PENALTY_ROW} | {"罚款金额": pa.float64()}
    schema = pa.schema(list(types.items()))
    first = pa.RecordBatch.from_pylist([_with(罚款金额=5000.5)], schema=schema)
    second = pa.RecordBatch.from_pylist([_with(案件编号="2", 罚款金额=float("nan")),
                                         _with(案件编号="3", 罚款金额=200.0)], schema=schema)
    table = pa.Table.from_batches([first, second])
    department = _scjg()
    mapped = map_batch(Batch(table=table, refs=["a", "b", "c"], cursor=None),
                       _feed(department, "penalty"), dataset("penalty"), department, BATCH_ID)
    assert mapped.frame["fine_amount"].tolist()[0] == Decimal("5000.50")
    assert pd.isna(mapped.frame["fine_amount"].iloc[1])
    assert mapped.frame["fine_amount"].iloc[2] == Decimal("200.00")
    records = [json.loads(r) for r in mapped.frame["record"]]
    assert [r["罚款金额"] for r in records] == [5000.5, None, 200]


def test_map_batches_stops_at_the_batch_that_reaches_max_rows():
    department = _scjg()
    pulled: list[int] = []

    def source():
        for number in range(5):
            pulled.append(number)
            batch = _batch([_with(案件编号=f"CF{number}{i}") for i in range(3)])
            yield Batch(table=batch.table, refs=[f"r{number}-{i}" for i in range(3)],
                        cursor={"after": number}, errors=[])

    run = map_batches(source(), _feed(department, "penalty"), dataset("penalty"), department,
                      BATCH_ID, max_rows=5)
    # 3 + 3 rows reach 5: the third batch is never read, the cursor is the second's
    assert (run.rows, run.batches, run.cursor, run.drained) == (6, 2, {"after": 1}, False)
    assert pulled == [0, 1]
    assert run.frame["_source_ref"].tolist() == [f"r{n}-{i}" for n in range(2) for i in range(3)]
    whole = map_batches(source(), _feed(department, "penalty"), dataset("penalty"), department,
                        BATCH_ID)
    assert (whole.rows, whole.cursor, whole.drained) == (15, {"after": 4}, True)
