"""Every code table and value rule Huiju declares is used somewhere (as PUDL checks its metadata).

A declaration nothing reads is either dead or a field that forgot to name it. The national
code tables are shipped verbatim (58 tables), so the ones no data set uses yet are listed
here by name: a table leaving the list must be used, and a newly unused one must be named.
"""

from __future__ import annotations

import csv
from importlib import resources

from schemas.catalog import all_fields, datasets
from schemas.code_tables import code_table, table_names
from schemas.model import CHECK_FAMILIES
from schemas.rules import RULES

# National tables (code_tables.csv, verbatim) that no declared data set uses yet.
NATIONAL_NOT_YET_USED = frozenset({
    "主债权种类", "保证方式", "保证期间", "公告类型", "出质股权数额单位", "出资方式",
    "列入移出类型",
    "处罚种类",  # penalty uses 处罚种类2021 (the 2021 law's superset), a local table
    "年报方式代码", "抽查检查类型", "有效状态", "江苏省地市代码", "江苏省监管部门代码",
    "污染类型", "知识产权种类", "网站网店类型", "计量单位",
})


def _tables_used_by_datasets() -> set[str]:
    return {field.code_table for spec in datasets() for field in all_fields(spec)
            if field.code_table}


def _tables_used_by_platforms() -> set[str]:
    """Code tables the platform payload shapes translate through (schemas/platforms)."""
    from schemas.platforms import load_platforms

    return {field.codes.table for platform in load_platforms().values()
            for resource in platform.resources for field in resource.fields if field.codes}


def _rules_used_by_datasets() -> set[str]:
    used = {rule for spec in datasets() for field in all_fields(spec) for rule in field.rules}
    used |= {check.rule for spec in datasets() for check in spec.checks
             if getattr(check, "rule", None)}
    return used


def _local_tables() -> set[str]:
    text = resources.files("schemas").joinpath("local_code_tables.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {row["table"] for row in rows}


def test_every_local_code_table_is_used_by_a_field():
    assert _local_tables() - _tables_used_by_datasets() - _tables_used_by_platforms() == set()


def test_the_check_families_are_the_national_check_table():
    # 数据检核类型 is used by the model: the families of every rule are its codes.
    table = code_table("数据检核类型")
    assert {code: names[0] for code, names in CHECK_FAMILIES.items()} == table.labels


def test_national_tables_are_used_or_named_as_not_yet_used():
    used = _tables_used_by_datasets() | _tables_used_by_platforms() | {"数据检核类型"}
    unused = set(table_names()) - used
    assert unused == NATIONAL_NOT_YET_USED
    assert NATIONAL_NOT_YET_USED.isdisjoint(_local_tables())


def test_every_value_rule_is_used_by_a_field_or_check():
    assert set(RULES) - _rules_used_by_datasets() == set()


def test_every_rule_a_data_set_names_is_declared():
    assert _rules_used_by_datasets() - set(RULES) == set()
