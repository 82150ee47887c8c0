"""The standard schema's vocabulary: what a field and a data set are.

Every data set of the order is one YAML file in ``schemas/datasets/``; these models are
the only place that says what such a file may contain. DDL, Great Expectations suites,
payload shapes and the data dictionary are all generated from instances of these classes.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


class FieldType(StrEnum):
    """Logical types. Each maps to one SQL type, one Arrow type and one GX type check."""

    STRING = "string"  # bounded text; ``length`` is its maximum (or exact) length
    TEXT = "text"  # unbounded text
    CODE = "code"  # a value of ``code_table``; stored as its code string (leading zeros kept)
    DATE = "date"  # ISO date; emitted as YYYY-MM-DD
    DATETIME = "datetime"  # timezone-aware timestamp
    DECIMAL = "decimal"  # exact decimal; ``unit`` says what it counts (元 for amounts)
    INTEGER = "integer"
    BOOLEAN = "boolean"  # 是/否 in the national exchange
    LIST = "list"  # several values in one field (检查人员); stored joined by ``LIST_SEPARATOR``


LIST_SEPARATOR = ","


class Normalise(StrEnum):
    """How a field's legacy text is normalised before any rule looks at it (one step per kind).

    The same value gets the same verdict wherever it appears: the step depends on the field's
    kind only, never on which rule (or which conditional rule) happens to apply.
    """

    IDENTIFIER = "identifier"  # NFKC, trim, upper-case (the check character x → X), labels
    CODE = "code"  # the same cleaning, for code-table values and fixed-length codes
    DATE = "date"  # ISO/Chinese/compact dates, Excel serials → a date
    DATETIME = "datetime"  # timestamps, Beijing time when no zone is given
    AMOUNT = "amount"  # NFKC, thousands separators dropped, 万元 → exact 元
    NUMBER = "number"  # NFKC, thousands separators dropped, exact decimal or integer
    FLAG = "flag"  # 是/否, 1/0, y/n … → true/false
    AS_WRITTEN = "as_written"  # names, document numbers, free text: kept as written


# Rules that make a field an identifier (normalised as one whatever else is declared).
IDENTIFIER_RULES = frozenset({"uscc", "id_card", "uscc_or_id_card", "org_code",
                              "supervise_item_code", "check_list_code"})
# Rules of code-like values that are not identifiers of a party or a document.
CODE_RULES = frozenset({"gansu_division_code", "batch_id", "operation", "year"})

# The ten national data-quality check types (数据检核类型, code table of the same name).
# Every Huiju rule belongs to one of them, and its stable id starts with the family code.
CHECK_FAMILIES: dict[str, tuple[str, str]] = {
    "01": ("代码检查", "code and format check"),
    "02": ("数据源标识检查", "data-source identifier check"),
    "03": ("监管事项目录编码检查", "supervision item catalog code check"),
    "04": ("监管事项检查实施清单编码检查", "inspection implementation list code check"),
    "05": ("数据归并", "record merge (duplicates)"),
    "06": ("统一社会信用代码编码规则检查", "unified social credit code check"),
    "07": ("身份证号码编码规则检查", "resident ID number check"),
    "08": ("数据关联性检查", "cross-field consistency check"),
    "09": ("业务主键检查", "business key check"),
    "10": ("时间信息检查", "date and time check"),
}


class FieldSpec(BaseModel):
    """One column of the standard schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="English snake_case column name")
    zh: str = Field(description="Chinese name as in the national standard")
    en: str = Field(description="English name for reports and docs")
    type: FieldType
    length: int | None = Field(default=None, gt=0, description="maximum length in characters")
    exact_length: bool = Field(default=False, description="``length`` is exact, not a maximum")
    precision: int = Field(default=18, gt=0, description="decimal digits in all (DECIMAL)")
    scale: int = Field(default=2, ge=0, description="digits after the point (DECIMAL)")
    unit: str | None = Field(default=None, description="unit the warehouse stores (元, 个 …)")
    required: bool = False
    code_table: str | None = Field(default=None, description="national code table name (CODE)")
    multi: bool = Field(default=False, description="CODE field holding several codes (LIST)")
    min_items: int | None = Field(default=None, ge=1, description="LIST: fewest values allowed")
    rules: tuple[str, ...] = Field(default=(), description="value rules from schemas.rules")
    pii: bool = Field(default=False, description="personal data: restricted, masked in reports")
    normalise: Normalise = Field(
        default=None, validate_default=False,
        description="normalisation applied to the legacy text before any rule: identifier, "
                    "code, date, datetime, amount, number, flag or as_written (default: "
                    "derived from type and rules; identifier-like fields without a rule of "
                    "their own, such as a certificate number, declare identifier)")
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_normalise(cls, data):
        if isinstance(data, dict) and data.get("normalise") is None:
            try:
                data = {**data, "normalise": derived_normalise(data)}
            except ValueError:   # no or an unknown type: the type's own error says so
                pass
        return data

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not SNAKE.match(value):
            raise ValueError(f"field name {value!r} is not snake_case")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type is FieldType.CODE and not self.code_table:
            raise ValueError(f"{self.name}: a code field needs code_table")
        if self.code_table and self.type not in (FieldType.CODE, FieldType.LIST):
            raise ValueError(f"{self.name}: code_table only fits code or list fields")
        if self.exact_length and not self.length:
            raise ValueError(f"{self.name}: exact_length needs length")
        if self.min_items and self.type is not FieldType.LIST:
            raise ValueError(f"{self.name}: min_items only fits list fields")
        if self.scale > self.precision:
            raise ValueError(f"{self.name}: scale exceeds precision")
        fixed = _TYPE_NORMALISE.get(self.type)
        if fixed is not None and self.normalise not in fixed:
            raise ValueError(f"{self.name}: a {self.type.value} field cannot be normalised as "
                             f"{self.normalise.value}")
        return self


# The kinds each non-text type allows (text-like types may be identifier, code or as written).
_TYPE_NORMALISE: dict[FieldType, tuple[Normalise, ...]] = {
    FieldType.DATE: (Normalise.DATE,),
    FieldType.DATETIME: (Normalise.DATETIME,),
    FieldType.DECIMAL: (Normalise.AMOUNT, Normalise.NUMBER),
    FieldType.INTEGER: (Normalise.NUMBER,),
    FieldType.BOOLEAN: (Normalise.FLAG,),
    FieldType.CODE: (Normalise.CODE, Normalise.IDENTIFIER),
}


def derived_normalise(data: dict) -> Normalise:
    """The normalisation a field gets when its YAML does not declare one: from type and rules."""
    kind = FieldType(data.get("type"))
    rules = set(data.get("rules") or ())
    simple = {FieldType.DATE: Normalise.DATE, FieldType.DATETIME: Normalise.DATETIME,
              FieldType.INTEGER: Normalise.NUMBER, FieldType.BOOLEAN: Normalise.FLAG}
    if kind in simple:
        return simple[kind]
    if kind is FieldType.DECIMAL:
        return Normalise.AMOUNT if data.get("unit") == "元" else Normalise.NUMBER
    if rules & IDENTIFIER_RULES:
        return Normalise.IDENTIFIER
    if (kind is FieldType.CODE or rules & CODE_RULES
            or (kind is FieldType.STRING and data.get("exact_length"))
            or (kind is FieldType.LIST and data.get("code_table"))):
        return Normalise.CODE
    return Normalise.AS_WRITTEN


class Condition(BaseModel):
    """``field`` holds one of ``in_`` (or, with ``present``, any non-empty value).

    ``in_`` lists codes of the field's code table; for a boolean field it lists ``"true"``
    and/or ``"false"`` (not the 是/否 of the national exchange).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    present: bool | None = None
    contains: str | None = Field(default=None, description="a LIST/multi code field has this code")


class CheckSpec(BaseModel):
    """A rule over several fields of one row (or over rows), declared with the data set.

    kinds:
    - ``date_order``: ``fields`` are dates that must not decrease where present
      (立案 ≤ 结案 ≤ 报送).
    - ``required_when``: ``fields`` must be present when ``when`` holds.
    - ``rule_when``: the value rule ``rule`` applies to ``fields`` when ``when`` holds
      (USCC for legal persons, 身份证 for natural persons).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["date_order", "required_when", "rule_when"]
    fields: tuple[str, ...]
    when: Condition | None = None
    rule: str | None = None
    family: str = Field(description="national check family code, 01–10")
    zh: str = Field(description="what the rule demands, in Chinese, for the rejection list")
    en: str = Field(description="the same in English")

    @model_validator(mode="after")
    def _consistent(self) -> CheckSpec:
        if self.family not in CHECK_FAMILIES:
            raise ValueError(f"unknown check family {self.family!r}")
        if self.kind in ("required_when", "rule_when") and self.when is None:
            raise ValueError(f"{self.kind} needs when")
        if (self.kind == "rule_when") != (self.rule is not None):
            raise ValueError("rule goes with rule_when, and only there")
        if self.kind == "date_order" and len(self.fields) < 2:
            raise ValueError("date_order needs at least two fields")
        return self

    @property
    def slug(self) -> str:
        """Part of the stable rule id: kind and fields, independent of declaration order."""
        return f"{self.kind}:{'+'.join(self.fields)}"


class DataSetSpec(BaseModel):
    """One data set of the order (监管事项目录清单, 行政处罚, 特种设备 …)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="snake_case name; the warehouse table is <layer>.<name>")
    zh: str
    en: str
    category: Literal["catalog", "subject", "officer", "behaviour", "credit", "random_check",
                      "lead", "news"]
    direction: Literal["from_departments", "from_national"] = Field(
        default="from_departments",
        description="from_departments: collected from departments into the province (汇聚); "
                    "from_national: national data sent down to the departments (下发). "
                    "Not to be confused with delivery, the push of records to the platforms",
    )
    source: str = Field(description="where the field list comes from (REFERENCE.md section)")
    object_type: str | None = Field(
        default=None, description="监管行为监管对象类型 code for subject data sets")
    business_key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    checks: tuple[CheckSpec, ...] = ()
    description: str | None = None

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not SNAKE.match(value):
            raise ValueError(f"data set name {value!r} is not snake_case")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DataSetSpec:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{self.name}: fields declared twice: {duplicates}")
        known = set(names)
        for key in self.business_key:
            if key not in known:
                raise ValueError(f"{self.name}: business key {key!r} is not a field")
            if not self.field(key).required:
                raise ValueError(f"{self.name}: business key {key!r} must be required")
        for check in self.checks:
            wanted = set(check.fields) | ({check.when.field} if check.when else set())
            missing = wanted - known
            if missing:
                raise ValueError(f"{self.name}: check {check.slug} names unknown {sorted(missing)}")
        return self

    def field(self, name: str) -> FieldSpec:
        """The field ``name`` of the data set (KeyError if none)."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no field {name!r}")
