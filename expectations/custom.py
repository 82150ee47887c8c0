"""Huiju's custom Great Expectations: the rules GX's built-ins cannot say (efficiently).

Each is a GX map expectation backed by a vectorised pandas metric (no Python loop per row),
so GX computes its ``unexpected_index_list`` like any built-in's and stays the engine of
record. Importing this module registers them with GX under their snake_case names
(``expect_column_values_to_pass_rule`` …), which is how the suites in
``expectations/suites/*.json`` refer to them.

What fails each expectation:

- ``expect_column_values_to_be_present``: null, empty or whitespace-only (required fields);
- ``expect_column_values_to_pass_rule``: a value rejected by ``schemas.rules.RULES[rule]``;
- ``expect_column_values_to_be_in_code_table``: a value outside a large code table (named,
  not inlined);
- ``expect_column_list_items_to_be_in_set``: a list value with an element outside the set
  or code table;
- ``expect_column_list_to_have_min_items``: a list value with fewer than ``min_items``;
- ``expect_column_values_to_not_be_negative``: a negative amount (Arrow decimals);
- ``expect_column_values_to_be_latest_for_key``: an earlier row of a repeated business key;
- ``expect_compound_columns_to_be_latest_for_key``: the same for a key of several columns;
- ``expect_multicolumn_dates_to_be_ordered``: a present date earlier than one before it;
- ``expect_multicolumn_values_to_be_present_when``: a missing field where the condition holds;
- ``expect_column_values_to_pass_rule_when``: a value rejected by the rule where the
  condition holds.

The ``…_when`` expectations take their condition as ``when_column`` plus one of ``when_in``
(the value is one of these codes), ``when_contains`` (a list value holds this code) or
``when_present`` (the value is present / missing), mirroring ``schemas.model.Condition``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_condition_partial,
    multicolumn_condition_partial,
)

from expectations._gx import gx  # noqa: F401  (imports GX quietly before its submodules)
from expectations.checks import (  # noqa: F401  (the predicates, re-exported)
    condition_mask,
    dates_in_order,
    list_bad_items,
    list_counts,
    list_items_in_set,
    present_mask,
    present_when,
    rule_codes,
    rule_when,
    split_items,
    table_codes,
)
from schemas.model import LIST_SEPARATOR


def _series(mask: np.ndarray, like: pd.Series | pd.DataFrame) -> pd.Series:
    return pd.Series(mask, index=like.index, dtype=bool)


# --------------------------------------------------------------------------- metrics


class ColumnValuesPresent(ColumnMapMetricProvider):
    """Metric: the value is present (not null, not blank)."""

    condition_metric_name = "column_values.huiju_present"
    filter_column_isnull = False

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return _series(present_mask(column), column)


class ColumnValuesPassRule(ColumnMapMetricProvider):
    """Metric: the value passes a value rule of ``schemas.rules.RULES``."""

    condition_metric_name = "column_values.huiju_rule"
    condition_value_keys = ("rule",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, rule, **kwargs):
        return _series(rule_codes(rule, column) == 0, column)


class ColumnValuesInCodeTable(ColumnMapMetricProvider):
    """Metric: the value is a code of a named code table."""

    condition_metric_name = "column_values.huiju_in_code_table"
    condition_value_keys = ("code_table",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, code_table, **kwargs):
        return column.isin(table_codes(code_table))


class ColumnListItemsInSet(ColumnMapMetricProvider):
    """Metric: every element of a list value is in the set (or code table)."""

    condition_metric_name = "column_values.huiju_list_items_in_set"
    condition_value_keys = ("value_set", "code_table", "separator")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, value_set=None, code_table=None, separator=LIST_SEPARATOR,
                **kwargs):
        return _series(list_items_in_set(column, value_set, code_table, separator), column)


class ColumnListMinItems(ColumnMapMetricProvider):
    """Metric: a list value has at least ``min_items`` elements."""

    condition_metric_name = "column_values.huiju_list_min_items"
    condition_value_keys = ("min_items", "separator")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, min_items, separator=LIST_SEPARATOR, **kwargs):
        return _series(list_counts(column, separator) >= min_items, column)


class ColumnValuesNotNegative(ColumnMapMetricProvider):
    """Metric: the amount is not negative."""

    condition_metric_name = "column_values.huiju_not_negative"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return _series((column >= 0).to_numpy(dtype=bool, na_value=True), column)


class ColumnValuesLatestForKey(ColumnMapMetricProvider):
    """Metric: the row is the last of its (one-column) business key."""

    condition_metric_name = "column_values.huiju_latest_for_key"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return ~column.duplicated(keep="last")


class CompoundColumnsLatestForKey(MulticolumnMapMetricProvider):
    """Metric: the row is the last of its (several-column) business key."""

    condition_metric_name = "multicolumn_values.huiju_latest_for_key"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition",
                             "condition_parser", "ignore_row_if")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):
        return ~column_list.duplicated(keep="last")


class MulticolumnDatesOrdered(MulticolumnMapMetricProvider):
    """Metric: the dates present are in the declared order."""

    condition_metric_name = "multicolumn_values.huiju_dates_ordered"
    condition_domain_keys = CompoundColumnsLatestForKey.condition_domain_keys

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):
        return _series(dates_in_order(column_list), column_list)


class MulticolumnPresentWhen(MulticolumnMapMetricProvider):
    """Metric: the columns are present when the condition column says so."""

    condition_metric_name = "multicolumn_values.huiju_present_when"
    condition_domain_keys = CompoundColumnsLatestForKey.condition_domain_keys
    condition_value_keys = ("when_column", "when_in", "when_contains", "when_present")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, when_column, when_in=None, when_contains=None,
                when_present=None, **kwargs):
        return _series(present_when(column_list, when_column, when_in, when_contains,
                                    when_present), column_list)


class ColumnValuesPassRuleWhen(MulticolumnMapMetricProvider):
    """Metric: the value passes a value rule when the condition column says so."""

    condition_metric_name = "multicolumn_values.huiju_rule_when"
    condition_domain_keys = CompoundColumnsLatestForKey.condition_domain_keys
    condition_value_keys = ("rule", "when_column", "when_in", "when_contains", "when_present")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, rule, when_column, when_in=None, when_contains=None,
                when_present=None, **kwargs):
        return _series(rule_when(column_list, rule, when_column, when_in, when_contains,
                                 when_present), column_list)


# --------------------------------------------------------------------------- expectations

_LIBRARY = {"maturity": "production", "tags": ["huiju"], "contributors": ["huiju"]}


class ExpectColumnValuesToBePresent(ColumnMapExpectation):
    """Every value is present: not null, not empty, not only whitespace."""

    map_metric: ClassVar[str] = "column_values.huiju_present"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):
        # ColumnMapExpectation counts only non-null rows, which would make an all-null
        # column vacuously valid; presence is judged over every row.
        result = super()._validate(metrics, runtime_configuration, execution_engine)
        unexpected = metrics.get("column_values.huiju_present.unexpected_count") or 0
        result["success"] = unexpected == 0
        # Its percentages divide by the non-null rows too: with more missing rows than present
        # ones they pass 100 % and GX refuses the result. Every row is judged: divide by all.
        rows = metrics.get("table.row_count") or 0
        stats = result.get("result") or {}
        for key in ("unexpected_percent", "unexpected_percent_nonmissing"):
            if stats.get(key) is not None and rows:
                stats[key] = unexpected / rows * 100
        return result


class ExpectColumnValuesToPassRule(ColumnMapExpectation):
    """Every non-missing value passes ``schemas.rules.RULES[rule]``."""

    rule: str
    map_metric: ClassVar[str] = "column_values.huiju_rule"
    success_keys: ClassVar[tuple[str, ...]] = ("rule", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectColumnValuesToBeInCodeTable(ColumnMapExpectation):
    """Every non-missing value is a code of ``code_table`` (named, not inlined: see suites)."""

    code_table: str
    map_metric: ClassVar[str] = "column_values.huiju_in_code_table"
    success_keys: ClassVar[tuple[str, ...]] = ("code_table", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectColumnListItemsToBeInSet(ColumnMapExpectation):
    """Every element of every list value (joined by ``separator``) is in ``value_set``, or
    in the code table named ``code_table`` when no ``value_set`` is given."""

    value_set: list[str] | None = None
    code_table: str | None = None
    separator: str = LIST_SEPARATOR
    map_metric: ClassVar[str] = "column_values.huiju_list_items_in_set"
    success_keys: ClassVar[tuple[str, ...]] = ("value_set", "code_table", "separator", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectColumnListToHaveMinItems(ColumnMapExpectation):
    """Every list value holds at least ``min_items`` non-empty elements."""

    min_items: int
    separator: str = LIST_SEPARATOR
    map_metric: ClassVar[str] = "column_values.huiju_list_min_items"
    success_keys: ClassVar[tuple[str, ...]] = ("min_items", "separator", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectColumnValuesToNotBeNegative(ColumnMapExpectation):
    """Every non-missing number is ≥ 0 (vectorised on Arrow decimals, which GX's
    ``expect_column_values_to_be_between`` compares one Python value at a time)."""

    map_metric: ClassVar[str] = "column_values.huiju_not_negative"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectColumnValuesToBeLatestForKey(ColumnMapExpectation):
    """No later row repeats this key: earlier rows of a repeated key are unexpected."""

    map_metric: ClassVar[str] = "column_values.huiju_latest_for_key"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectCompoundColumnsToBeLatestForKey(MulticolumnMapExpectation):
    """The compound-key form of ``expect_column_values_to_be_latest_for_key``."""

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = \
        "any_value_is_missing"
    map_metric: ClassVar[str] = "multicolumn_values.huiju_latest_for_key"
    success_keys: ClassVar[tuple[str, ...]] = ("ignore_row_if", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectMulticolumnDatesToBeOrdered(MulticolumnMapExpectation):
    """Present dates of ``column_list``, in that order, never decrease."""

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "never"
    map_metric: ClassVar[str] = "multicolumn_values.huiju_dates_ordered"
    success_keys: ClassVar[tuple[str, ...]] = ("ignore_row_if", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectMulticolumnValuesToBePresentWhen(MulticolumnMapExpectation):
    """The columns other than ``when_column`` are present wherever the condition holds."""

    when_column: str
    when_in: list[str] | None = None
    when_contains: str | None = None
    when_present: bool | None = None
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = "never"
    map_metric: ClassVar[str] = "multicolumn_values.huiju_present_when"
    success_keys: ClassVar[tuple[str, ...]] = (
        "when_column", "when_in", "when_contains", "when_present", "ignore_row_if", "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY


class ExpectColumnValuesToPassRuleWhen(MulticolumnMapExpectation):
    """``column_list`` is ``[field, when_column]``: the field passes ``rule`` wherever the
    condition holds."""

    rule: str
    when_column: str
    when_in: list[str] | None = None
    when_contains: str | None = None
    when_present: bool | None = None
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = \
        "any_value_is_missing"
    map_metric: ClassVar[str] = "multicolumn_values.huiju_rule_when"
    success_keys: ClassVar[tuple[str, ...]] = (
        "rule", "when_column", "when_in", "when_contains", "when_present", "ignore_row_if",
        "mostly")
    library_metadata: ClassVar[dict[str, Any]] = _LIBRARY
