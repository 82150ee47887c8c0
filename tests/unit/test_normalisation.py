"""One normalisation per field kind, declared with the field, applied before any rule.

The same identifier gets the same verdict wherever it appears: a valid ID number ending in a
lower-case ``x`` passes as penalty's counterpart code (rule ``uscc_or_id_card``) and as
license's certificate number (``id_card`` only when the certificate type is 居民身份证).
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from connectors.base import Batch
from expectations.validate import validate_frame
from huiju.departments import load_department
from huiju.mapping import map_batch
from schemas.catalog import dataset, datasets
from schemas.model import IDENTIFIER_RULES, FieldSpec, Normalise

SAMPLES = Path(__file__).resolve().parents[2] / "departments"
ID_LOWER_X = "62010219850315108x"  # valid: the check character is X
# Names that say "this is an identifier of a party, a person or a certificate".
IDENTIFIER_NAME = re.compile(r"(uscc|cert_no|cert_code|org_code|reg_no|license_no|_cp_code)$")


def _identifier_like(spec) -> set[str]:
    names = {f.name for f in spec.fields
             if IDENTIFIER_NAME.search(f.name) or IDENTIFIER_RULES.intersection(f.rules)}
    names |= {name for check in spec.checks if check.kind == "rule_when"
              and check.rule in IDENTIFIER_RULES for name in check.fields}
    return names


def test_every_identifier_like_field_declares_identifier_normalisation():
    checked = 0
    for spec in datasets():
        for name in sorted(_identifier_like(spec)):
            assert spec.field(name).normalise is Normalise.IDENTIFIER, f"{spec.name}.{name}"
            checked += 1
    assert checked > 60  # the metadata really covers the schema (USCC, ID, org code, cert no)
    license_ = dataset("license")
    for name in ("counterpart_cert_no", "legal_rep_cert_no", "counterpart_org_code",
                 "counterpart_uscc", "license_no"):
        assert license_.field(name).normalise is Normalise.IDENTIFIER, name
    assert dataset("penalty").field("administrative_cp_code").normalise is Normalise.IDENTIFIER


def test_every_field_has_one_kind_matching_its_type():
    for spec in datasets():
        for field in spec.fields:
            assert isinstance(field.normalise, Normalise)
            if field.type.value in ("date", "datetime"):
                assert field.normalise.value == field.type.value
            if field.type.value == "decimal" and field.unit == "元":
                assert field.normalise is Normalise.AMOUNT, f"{spec.name}.{field.name}"
    names = {f.name: f.normalise for f in dataset("penalty").fields}
    assert names["area_code"] is Normalise.CODE
    assert names["punish_document_code"] is Normalise.AS_WRITTEN  # kept as written


def test_a_kind_that_does_not_fit_the_type_is_refused():
    with pytest.raises(ValueError, match="cannot be normalised as identifier"):
        FieldSpec(name="d", zh="日", en="d", type="date", normalise="identifier")
    explicit = FieldSpec(name="n", zh="号", en="n", type="string", normalise="identifier")
    assert explicit.normalise is Normalise.IDENTIFIER
    assert FieldSpec(name="n", zh="号", en="n", type="string").normalise is Normalise.AS_WRITTEN


def _one(rows: list[dict], feed, spec, department):
    table = pa.Table.from_pylist(rows)
    batch = Batch(table=table, refs=[f"t#{i}" for i in range(len(rows))], cursor=None)
    mapped = map_batch(batch, feed, spec, department, "2021040100001")
    return mapped, validate_frame(mapped.frame, spec, mapped.issues)


def _license_department(tmp_path: Path):
    raw = yaml.safe_load((SAMPLES / "gs_yjj.yaml").read_text(encoding="utf-8"))
    source = next(s for s in raw["sources"] if s["id"] == "license_api")
    feed = source["feeds"][0]
    feed["mapping"]["counterpart_cert_type"] = {"column": "XK_XDR_ZJLX", "labels": True}
    feed["mapping"]["counterpart_cert_no"] = "XK_XDR_ZJHM"
    path = tmp_path / "yjj.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    department = load_department(path)
    return department, next(f for s, f in department.feeds() if f.dataset == "license")


def _failed_fields(outcome, field: str) -> list[str]:
    q = outcome.quarantine
    return list(q.loc[q["field"] == field, "rule_id"]) if "field" in q else []


def test_lower_case_x_id_gets_the_same_verdict_in_penalty_and_license(tmp_path):
    from tests.unit.test_mapping import PENALTY_ROW, _feed, _scjg

    scjg = _scjg()
    penalty = dataset("penalty")
    row = {**PENALTY_ROW, "当事人类型": "公民", "证件类型": "居民身份证", "证件号码": ID_LOWER_X}
    mapped, outcome = _one([row], _feed(scjg, "penalty"), penalty, scjg)
    assert mapped.frame["administrative_cp_code"].iloc[0] == ID_LOWER_X.upper()
    assert _failed_fields(outcome, "administrative_cp_code") == []

    yjj, feed = _license_department(tmp_path)
    spec = dataset("license")
    base = {"XK_XDR_MC": "张三", "XK_XDR_LB": "自然人", "XK_XKWS": "w",
            "XK_WSH": "甘药许〔2021〕1号", "XK_XKLB": "普通", "XK_NR": "c",
            "XK_JDRQ": "2021-01-05", "XK_YXQZ": "2021-01-05", "XK_YXQZI": "2022-01-04",
            "XK_XKJG": "甘肃省药品监督管理局", "XK_XKJGDM": "11620000MB0000000X", "XK_ZT": "有效",
            "XK_LYDW": "甘肃省药品监督管理局", "XK_LYDWDM": "11620000MB0000000X",
            "XK_XDR_ZJLX": "居民身份证", "XK_XDR_SHXYM": "", "XK_FRDB": "", "XK_XKBH": "",
            "XK_XKZS": "", "BZ": ""}
    broken = "62010219850315108" + "1"  # wrong check character: still rejected
    mapped, outcome = _one([{**base, "XK_XDR_ZJHM": ID_LOWER_X},
                            {**base, "XK_WSH": "甘药许〔2021〕2号", "XK_XDR_ZJHM": broken}],
                           feed, spec, yjj)
    assert mapped.frame["counterpart_cert_type"].iloc[0] == "111"
    assert mapped.frame["counterpart_cert_no"].iloc[0] == ID_LOWER_X.upper()
    q = outcome.quarantine
    cert = q[q["field"] == "counterpart_cert_no"]
    assert list(cert["row"]) == [1], q  # the valid lower-case-x ID passes, the broken one not


def test_the_data_dictionary_shows_each_fields_normalisation():
    from schemas.docs import render_dataset

    page = render_dataset(dataset("license"))
    row = next(line for line in page.splitlines() if line.startswith("| `counterpart_cert_no`"))
    assert "| identifier |" in row
    assert "规范化 normalise" in page
