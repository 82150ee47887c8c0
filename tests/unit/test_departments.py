"""Department configuration: the samples validate; every breakage is named by file and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from huiju.cli import main
from huiju.departments import (
    DepartmentConfigError,
    ThresholdConfig,
    check_departments,
    departments_dir,
    load_department,
    load_departments,
)

SAMPLES = Path(__file__).resolve().parents[2] / "departments"


def _raw(name: str = "gs_scjg.yaml") -> dict:
    return yaml.safe_load((SAMPLES / name).read_text(encoding="utf-8"))


def _write(folder: Path, data: dict, name: str = "broken.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _problems(path: Path) -> list:
    with pytest.raises(DepartmentConfigError) as caught:
        load_department(path)
    for problem in caught.value.problems:
        assert problem.file == str(path)
        assert str(path) in str(caught.value)
    return caught.value.problems


def _penalty_feed(raw: dict) -> dict:
    return raw["sources"][0]["feeds"][0]


# ------------------------------------------------------------------ the samples


def test_sample_departments_validate():
    result = check_departments(SAMPLES)
    assert result.problems == []
    codes = {d.code: d for d in result.departments}
    assert set(codes) == {"GS-SCJG", "LZ-SJJ", "GS-YJJ", "GS-HLWJG"}
    assert codes["GS-SCJG"].datasets() == ["enterprise", "inspection", "lead_disposition",
                                           "penalty"]
    assert codes["GS-HLWJG"].datasets() == ["complaint", "risk_lead"]  # the national feed
    assert codes["LZ-SJJ"].datasets() == ["inspection", "site"]
    assert codes["GS-YJJ"].datasets() == ["drug", "license", "penalty"]
    kinds = {s.kind for d in result.departments for s in d.sources}
    assert kinds == {"sql", "files", "http"}


def test_samples_embed_the_connector_config_models():
    from connectors.files import FileSourceConfig
    from connectors.http import HttpSourceConfig
    from connectors.sql import SqlSourceConfig

    scjg = load_department(SAMPLES / "gs_scjg.yaml")
    _, feed = next(scjg.feeds())
    config = feed.connector_config
    assert isinstance(config, SqlSourceConfig)
    assert config.url_secret == "HUIJU_SRC_GS_SCJG_CASE_DB"  # from the source's connection
    assert config.table == "行政处罚案件"  # from the feed's extract
    assert config.cursor_column == "更新时间" and config.overlap == 300
    yjj = load_department(SAMPLES / "gs_yjj.yaml")
    configs = {feed.dataset + "@" + s.id: feed.connector_config for s, feed in yjj.feeds()}
    assert isinstance(configs["drug@excel_drop"], FileSourceConfig)
    assert configs["drug@excel_drop"].skip_rows == 1
    assert isinstance(configs["license@license_api"], HttpSourceConfig)
    assert configs["license@license_api"].token_secret == "HUIJU_SRC_GS_YJJ_API_TOKEN"


def test_sample_secrets_are_env_var_names():
    for department in load_departments(SAMPLES):
        for _, feed in department.feeds():
            config = feed.connector_config
            for name in ("url_secret", "token_secret"):
                value = getattr(config, name, None)
                if value:  # the national feed uses the national platform's own names
                    assert value.startswith(("HUIJU_SRC_", "HUIJU_PLATFORM_NATIONAL_")), value


def test_thresholds_fall_back_to_default_then_to_none():
    scjg = load_department(SAMPLES / "gs_scjg.yaml")
    assert scjg.thresholds_for("penalty").max_ratio == 0.10
    assert scjg.thresholds_for("enterprise").max_quarantined == 500
    assert scjg.model_copy(update={"thresholds": {}}).thresholds_for("penalty") == ThresholdConfig()


def test_config_hash_is_the_file_sha256():
    import hashlib

    path = SAMPLES / "lz_sjj.yaml"
    department = load_department(path)
    assert department.config_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert department.path == path


def test_departments_dir_override_env_default(monkeypatch, tmp_path):
    monkeypatch.delenv("HUIJU_DEPARTMENTS_DIR", raising=False)
    monkeypatch.setenv("HUIJU_HOME", str(tmp_path))
    assert departments_dir() == tmp_path.resolve() / "departments"
    monkeypatch.setenv("HUIJU_DEPARTMENTS_DIR", "/srv/huiju/departments")
    assert departments_dir() == Path("/srv/huiju/departments")
    assert departments_dir("other") == Path("other")


# ------------------------------------------------------------------ broken copies


def test_missing_required_key(tmp_path):
    raw = _raw()
    del raw["schedule"]
    problems = _problems(_write(tmp_path, raw))
    assert [(p.key, p.message) for p in problems] == [("schedule", "missing required key")]


def test_missing_required_connector_key(tmp_path):
    raw = _raw()
    del _penalty_feed(raw)["extract"]["primary_key"]
    problems = _problems(_write(tmp_path, raw))
    assert problems[0].key == "sources[0].feeds[0].extract.primary_key"
    assert "missing required key" in problems[0].message


@pytest.mark.parametrize(("where", "key"), [
    (lambda r: r, "colour"),
    (lambda r: r["sources"][0], "colour"),
    (lambda r: _penalty_feed(r), "colour"),
    (lambda r: _penalty_feed(r)["mapping"]["fine_amount"], "colour"),
    (lambda r: r["thresholds"]["penalty"], "colour"),
])
def test_unknown_key(tmp_path, where, key):
    raw = _raw()
    where(raw)[key] = 1
    problems = _problems(_write(tmp_path, raw))
    assert len(problems) == 1
    assert problems[0].key.endswith(key)
    assert problems[0].message == "unknown key"


def test_unknown_key_paths_are_exact(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["fine_amount"]["colour"] = 1
    raw["sources"][0]["feeds"][2]["mapping"]["reg_capital"]["colour"] = 1
    keys = {p.key for p in _problems(_write(tmp_path, raw))}
    assert keys == {"sources[0].feeds[0].mapping.fine_amount.colour",
                    "sources[0].feeds[2].mapping.reg_capital.colour"}


def test_unknown_connector_keys_name_extract_or_connection(tmp_path):
    # the connector's own model judges connection + extract; the key path says which one
    raw = _raw()
    _penalty_feed(raw)["extract"]["tabel"] = "x"
    raw["sources"][0]["connection"]["bathc_size"] = 5
    keys = {p.key for p in _problems(_write(tmp_path, raw))}
    assert keys == {"sources[0].feeds[0].extract.tabel", "sources[0].connection.bathc_size"}


def test_bad_unit_names_the_key_path(tmp_path):
    raw = _raw()
    raw["sources"][0]["feeds"][0]["mapping"]["fine_amount"]["unit"] = "千元"
    problems = _problems(_write(tmp_path, raw))
    assert problems[0].key == "sources[0].feeds[0].mapping.fine_amount.unit"
    assert "元" in problems[0].message


@pytest.mark.parametrize(("connection", "key"), [
    ({"url_secret": "mysql+pymysql://huiju:S3cretPw@10.1.2.3/case"},
     "sources[0].connection.url_secret"),
    ({"url_secret": "HUIJU_X", "url": "postgresql://etl:S3cretPw@db.example/huiju"},
     "sources[0].connection.url"),
    ({"url_secret": "HUIJU_X", "password": "S3cretPw"}, "sources[0].connection.password"),
    ({"url_secret": "HUIJU_X", "options": {"token": "S3cretPw"}},
     "sources[0].connection.options.token"),
])
def test_inline_credentials_are_refused_without_echo(tmp_path, connection, key):
    raw = _raw()
    raw["sources"][0]["connection"] = connection
    path = _write(tmp_path, raw)
    with pytest.raises(DepartmentConfigError) as caught:
        load_department(path)
    assert [p.key for p in caught.value.problems] == [key]
    assert "S3cretPw" not in str(caught.value)


def test_unknown_data_set(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["dataset"] = "penalties"
    problems = _problems(_write(tmp_path, raw))
    assert problems[0].key == "sources[0].feeds[0].dataset"
    assert "unknown data set 'penalties'" in problems[0].message


def test_unknown_standard_field(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["fine_amt"] = "罚款金额"
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["sources[0].feeds[0].mapping.fine_amt"]
    assert "penalty has no field 'fine_amt'" in problems[0].message


def test_exchange_column_in_mapping_gets_a_hint(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["batch_id"] = "批次"
    problems = _problems(_write(tmp_path, raw))
    assert problems[0].key == "sources[0].feeds[0].mapping.batch_id"
    assert "exchange columns" in problems[0].message


def test_required_field_unmapped(tmp_path):
    raw = _raw()
    del _penalty_feed(raw)["mapping"]["punish_decision_date"]
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["sources[0].feeds[0].mapping"]
    assert "punish_decision_date" in problems[0].message
    assert "作出行政处罚决定日期" in problems[0].message


def test_value_map_target_not_in_code_table(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["case_source"]["values"]["日常检查"] = "99"
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["sources[0].feeds[0].mapping.case_source.values.日常检查"]
    assert "'99' is not a code of 案件来源" in problems[0].message


def test_list_value_map_targets_are_checked_per_code(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["punish_type"]["values"] = {"罚没": "02,03", "拘留": "02,77"}
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["sources[0].feeds[0].mapping.punish_type.values.拘留"]
    assert "'77'" in problems[0].message


def test_const_and_default_targets_are_checked(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["supervise_object_type"] = {"const": "12"}
    _penalty_feed(raw)["mapping"]["admin_reconsideration"]["default"] = "99"
    keys = {p.key for p in _problems(_write(tmp_path, raw))}
    assert keys == {"sources[0].feeds[0].mapping.supervise_object_type.const",
                    "sources[0].feeds[0].mapping.admin_reconsideration.default"}


@pytest.mark.parametrize("code", ["610100", "62010", "620199", "abcdef", "110000"])
def test_bad_division_code(tmp_path, code):
    raw = _raw()
    raw["division_code"] = code
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["division_code"]
    assert "Gansu division code" in problems[0].message


@pytest.mark.parametrize("code", ["620000", "620102", "623027", "620171"])
def test_good_division_codes_include_lanzhou_new_area(tmp_path, code):
    raw = _raw()
    raw["division_code"] = code
    assert load_department(_write(tmp_path, raw)).division_code == code


@pytest.mark.parametrize("schedule", ["0 25 * * *", "0 2 * *", "0 0 2 * * *", "@sometimes",
                                      "every day"])
def test_bad_schedule(tmp_path, schedule):
    raw = _raw()
    raw["schedule"] = schedule
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["schedule"]


@pytest.mark.parametrize("schedule", ["@daily", "*/15 6-22 * * 1-5", "30 3 1 * *"])
def test_good_schedules(tmp_path, schedule):
    raw = _raw()
    raw["schedule"] = schedule
    assert load_department(_write(tmp_path, raw)).schedule == schedule


@pytest.mark.parametrize(("mapping", "key"), [
    ({"column": "罚款金额", "const": "1"}, "sources[0].feeds[0].mapping.fine_amount"),
    ({"unit": "元"}, "sources[0].feeds[0].mapping.fine_amount"),
    ({"column": "罚款金额", "split": True}, "sources[0].feeds[0].mapping.fine_amount.split"),
    ({"column": "罚款金额", "date_format": "%Y"},
     "sources[0].feeds[0].mapping.fine_amount.date_format"),
    ({"column": "罚款金额", "labels": True}, "sources[0].feeds[0].mapping.fine_amount.labels"),
])
def test_mapping_options_must_fit_the_field(tmp_path, mapping, key):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["fine_amount"] = mapping
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == [key]


def test_thresholds_are_checked(tmp_path):
    raw = _raw()
    raw["thresholds"]["penalty"]["max_ratio"] = 5
    raw["thresholds"]["penalties"] = {"max_quarantined": 1}
    problems = _problems(_write(tmp_path, raw))
    keys = {p.key for p in problems}
    assert "thresholds.penalty.max_ratio" in keys


def test_thresholds_name_known_data_sets(tmp_path):
    raw = _raw()
    raw["thresholds"]["penalties"] = {"max_quarantined": 1}
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["thresholds.penalties"]


def test_duplicate_source_id(tmp_path):
    raw = _raw("gs_yjj.yaml")
    raw["sources"][1]["id"] = raw["sources"][0]["id"]
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["sources[1].id"]


def test_every_problem_of_a_file_is_reported(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["fine_amt"] = "罚款金额"
    del _penalty_feed(raw)["mapping"]["punish_decision_date"]
    raw["sources"][0]["feeds"][1]["mapping"]["check_type"]["values"]["现场"] = "07"
    assert len(_problems(_write(tmp_path, raw))) == 3


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("code: [unclosed\n", encoding="utf-8")
    assert "not valid UTF-8 YAML" in _problems(bad)[0].message
    bad.write_text("- a list\n", encoding="utf-8")
    assert "expected a mapping" in _problems(bad)[0].message


def test_duplicate_department_code_across_files(tmp_path):
    _write(tmp_path, _raw(), "a.yaml")
    _write(tmp_path, _raw(), "b.yaml")
    result = check_departments(tmp_path)
    assert len(result.departments) == 1
    assert [(Path(p.file).name, p.key) for p in result.problems] == [("b.yaml", "code")]
    with pytest.raises(DepartmentConfigError):
        load_departments(tmp_path)


# ------------------------------------------------------------------ huiju config check


def test_config_check_ok(capsys):
    assert main(["config", "check", "--departments-dir", str(SAMPLES)]) == 0
    out = capsys.readouterr().out
    for text in ("GS-SCJG", "甘肃省市场监督管理局", "case_db [sql]",
                 "penalty, inspection, enterprise", "LZ-SJJ", "@daily", "GS-YJJ",
                 "license_api [http]", "30 3 * * 1-5",
                 "4 department file(s)"):
        assert text in out


def test_config_check_uses_the_env_folder(tmp_path, monkeypatch, capsys):
    _write(tmp_path, _raw("lz_sjj.yaml"), "lz.yaml")
    monkeypatch.setenv("HUIJU_DEPARTMENTS_DIR", str(tmp_path))
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "LZ-SJJ" in out and "GS-SCJG" not in out


def test_config_check_broken(tmp_path, capsys):
    _write(tmp_path, _raw("lz_sjj.yaml"), "lz.yaml")
    raw = _raw()
    _penalty_feed(raw)["mapping"]["fine_amount"]["unit"] = "千元"
    path = _write(tmp_path, raw, "scjg.yaml")
    assert main(["config", "check", "--departments-dir", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "LZ-SJJ" in captured.out  # the good file is still listed
    assert f"{path}: sources[0].feeds[0].mapping.fine_amount.unit:" in captured.err
    assert "1 problem(s)" in captured.err


def test_config_check_missing_folder(tmp_path, capsys):
    assert main(["config", "check", "--departments-dir", str(tmp_path / "nope")]) == 1
    assert "no such departments folder" in capsys.readouterr().err


def test_broken_copy_does_not_mutate_the_sample():
    raw = _raw()
    copied = copy.deepcopy(raw)
    assert raw == copied == _raw()


def test_boolean_value_map_targets_must_be_booleans(tmp_path):
    raw = _raw()
    _penalty_feed(raw)["mapping"]["is_hearing"] = {"column": "是否听证",
                                                   "values": {"已听证": "是", "未听证": "也许"}}
    problems = _problems(_write(tmp_path, raw))
    assert [p.key for p in problems] == ["sources[0].feeds[0].mapping.is_hearing.values.未听证"]
