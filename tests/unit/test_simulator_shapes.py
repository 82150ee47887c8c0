"""The simulator's reading of the platform shape files and its per-record check, on inline
data; and the shape files in force load (whatever the payload side declares)."""

from __future__ import annotations

import pytest

from simulator.faults import FaultPlan, FaultStream
from simulator.shapes import PLATFORMS, ShapeError, check_payload, load_shapes

SHAPE = """
platform: gsxt
zh: 国家企业信用信息公示系统(甘肃)
resources:
  - name: abnormal
    dataset: abnormal_operation_list
    fields:
      - {code: UNISCID, type: string, max_length: 18, required: true, from: uscc}
      - {code: ENTNAME, max_length: 5}
      - {code: ABNTIME, type: date, required: true, compute: list_date}
      - {code: AMOUNT, type: decimal}
      - {code: COUNT, type: integer}
      - {code: REASON, type: string, required_when: {field: KIND, in: ["1", "2"]}}
      - {code: KIND, type: string, const: "1"}
"""


@pytest.fixture
def resource(tmp_path):
    (tmp_path / "gsxt.yaml").write_text(SHAPE, encoding="utf-8")
    (tmp_path / "publicity.yaml").write_text("rule_sets: []\n", encoding="utf-8")
    return load_shapes(tmp_path)["gsxt"]["abnormal"]


def test_a_shape_file_becomes_resources_and_other_yaml_is_ignored(tmp_path, resource):
    shapes = load_shapes(tmp_path)
    assert set(shapes) == set(PLATFORMS)
    assert shapes["national"] == {} and shapes["creditchina"] == {}
    assert resource.dataset == "abnormal_operation_list"
    assert [f.code for f in resource.fields][:3] == ["UNISCID", "ENTNAME", "ABNTIME"]
    assert resource.by_code["ENTNAME"].type == "string"   # the default type
    assert resource.by_code["REASON"].required_when == ("KIND", ("1", "2"))


def good(**fields: object) -> dict:
    payload = {"UNISCID": "91620100MA71234567", "ABNTIME": "2024-05-01", "KIND": "3"}
    payload.update(fields)
    return payload


@pytest.mark.parametrize("payload, expected", [
    (good(), []),
    (good(ABNTIME="2024-05-01 08:30:00", AMOUNT=12.5, COUNT="3"), []),
    (good(AMOUNT="0.200000", COUNT=-2, ENTNAME="甘肃公司"), []),
    (good(UNISCID="  "), [("required", "UNISCID")]),
    (good(KIND="2"), [("required_when", "REASON")]),
    (good(ENTNAME="甘肃某某公司"), [("max_length", "ENTNAME")]),
    (good(ABNTIME="2024/05/01"), [("type", "ABNTIME")]),
    (good(ABNTIME="2023-02-29"), [("type", "ABNTIME")]),
    (good(AMOUNT="1e3"), [("type", "AMOUNT")]),
    (good(AMOUNT=float("nan")), [("type", "AMOUNT")]),
    (good(COUNT=True), [("type", "COUNT")]),
    (good(COUNT="1.0"), [("type", "COUNT")]),
    (good(UNISCID=91620100), [("type", "UNISCID")]),
    (good(EXTRA="x"), [("unknown_field", "EXTRA")]),
    ([], [("payload", None)]),
])
def test_check_payload(resource, payload, expected):
    errors = check_payload(resource, payload)
    assert [(e.code, e.field) for e in errors] == expected
    assert all(e.reason for e in errors)


@pytest.mark.parametrize("text, message", [
    ("platform: tianjin\nresources: []\n", "not one of"),
    ("platform: gsxt\nresources:\n  - {dataset: x}\n", "needs a name"),
    ("platform: gsxt\nresources:\n  - name: a\n    fields: [{code: X, type: money}]\n",
     "type 'money'"),
    ("platform: gsxt\nresources:\n  - name: a\n    fields: [{code: X, max_length: 0}]\n",
     "max_length"),
    ("platform: gsxt\nresources:\n  - name: a\n    fields:\n"
     "      - {code: X, required_when: {field: Y, equals: 1}}\n", "required_when"),
    ("platform: gsxt\nresources:\n  - name: a\n  - name: a\n", "declared twice"),
    ("platform: gsxt\nresources:\n  - name: a\n    fields: [{code: X}, {code: X}]\n",
     "declared twice: \\['X'\\]"),
    ("platform: [unclosed\n", "not valid YAML"),
])
def test_malformed_shape_files_are_refused_by_name(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ShapeError, match=message) as raised:
        load_shapes(tmp_path)
    assert "bad.yaml" in str(raised.value)


def test_the_shape_files_in_force_load():
    """schemas/platforms/ (written by the payload side) must be readable by the simulator."""
    shapes = load_shapes()
    for platform, resources in shapes.items():
        for name, resource in resources.items():
            assert resource.platform == platform and resource.name == name
            assert resource.fields, f"{platform}/{name} declares no fields"


def test_fault_streams_are_seeded_per_platform():
    plan = FaultPlan(rate=0.3, seed=5)
    draws = [FaultStream(plan, "gsxt").next() for _ in range(1)]
    first = FaultStream(plan, "gsxt")
    second = FaultStream(plan, "gsxt")
    other = FaultStream(plan, "national")
    a = [first.next() for _ in range(200)]
    assert a == [second.next() for _ in range(200)]
    assert a != [other.next() for _ in range(200)]
    assert 30 < sum(k is not None for k in a) < 90
    assert draws[0] == a[0]
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(rate=1.5)
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(kinds=("meteor",))
