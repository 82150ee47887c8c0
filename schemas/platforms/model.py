"""What a platform payload shape file (``schemas/platforms/<platform>.yaml``) may contain.

A shape maps the standard fields of one data set (``schemas/datasets``) to the field codes a
receiving platform expects, with the small named transforms (unit, code translation, mask,
computed values) that turn a warehouse row into the platform's record. Builders, the data
dictionary pages and the simulator's per-record checks are all read from these models.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PLATFORM_NAMES = ("national", "gsxt", "creditchina")

PayloadType = Literal["string", "date", "decimal", "integer"]


class Condition(BaseModel):
    """``field`` (a payload field code, or for ``applies_when`` a standard field) holds one
    of ``in_`` — or, with ``present``, any non-empty value (absent when ``present`` is false)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    present: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.in_ is None) == (self.present is None):
            raise ValueError(f"condition on {self.field!r}: give exactly one of in, present")
        return self

    def holds(self, value: Any) -> bool:
        """Whether ``value`` (the field's value) satisfies the condition."""
        if self.present is not None:
            return (value not in (None, "")) == self.present
        return value is not None and str(value) in (self.in_ or ())


class CodeTranslation(BaseModel):
    """Translate a code through a code table (``schemas/code_tables``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    to: Literal["label", "code"] = Field(
        default="label", description="label: the table's label for the code; code: keep it")


class PayloadField(BaseModel):
    """One field of a platform record: its code and where its value comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    code: str = Field(description="the platform's field code")
    zh: str
    type: PayloadType = "string"
    max_length: int | None = Field(default=None, gt=0)
    required: bool = False
    required_when: Condition | None = Field(
        default=None, description="required when another payload field holds one of the values")
    from_: str | None = Field(default=None, alias="from", description="a standard field")
    const: Any = Field(default=None, description="a constant (null: the warehouse has no value)")
    compute: str | None = Field(default=None, description="a named builder function")
    unit: Literal["万元"] | None = Field(
        default=None, description="convert the stored 元 to this unit (6 decimals)")
    codes: CodeTranslation | None = None
    mask: Literal["id_number"] | None = None
    join: str | None = Field(default=None, description="list values joined with this separator")
    when: Condition | None = Field(
        default=None, description="send the value only when another payload field holds")
    scale: int | None = Field(default=None, ge=0, description="decimal places of a decimal")
    note: str | None = Field(default=None, description="why the value is what it is (docs)")

    @model_validator(mode="after")
    def _one_source(self) -> PayloadField:
        given = [self.from_ is not None, "const" in self.model_fields_set,
                 self.compute is not None]
        if sum(given) != 1:
            raise ValueError(f"{self.code}: give exactly one of from, const, compute")
        if self.unit and self.type != "decimal":
            raise ValueError(f"{self.code}: a unit only fits a decimal field")
        return self

    @property
    def source(self) -> str:
        """How the value is obtained, for docs: ``from x``, ``const …`` or ``compute f``."""
        if self.from_ is not None:
            return f"from `{self.from_}`"
        if self.compute is not None:
            return f"compute `{self.compute}`"
        return "const " + ("null" if self.const is None else f"`{self.const}`")


class Resource(BaseModel):
    """One endpoint of a platform, built from one standard data set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the simulator endpoint path segment")
    dataset: str
    zh: str
    en: str
    publicity: Literal["penalty"] | None = Field(
        default=None, description="withdraw the record when its 公示期 ends")
    applies_when: Condition | None = Field(
        default=None, description="only rows whose standard field satisfies this are due")
    fields: tuple[PayloadField, ...]
    platform: str = Field(default="", description="set by the loader from the file")

    @model_validator(mode="after")
    def _unique_codes(self) -> Resource:
        codes = [f.code for f in self.fields]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"resource {self.name}: field codes declared twice: {twice}")
        known = set(codes)
        for spec in self.fields:
            for cond in (spec.required_when, spec.when):
                if cond is not None and cond.field not in known:
                    raise ValueError(f"{self.name}.{spec.code}: condition names unknown "
                                     f"field {cond.field!r}")
        return self

    def applies_to(self, row: dict) -> bool:
        """Whether the platform receives this row at all (e.g. gsxt: only USCC holders)."""
        return self.applies_when is None or self.applies_when.holds(
            row.get(self.applies_when.field))

    def field(self, code: str) -> PayloadField:
        for spec in self.fields:
            if spec.code == code:
                return spec
        raise KeyError(f"{self.platform}/{self.name} has no field {code!r}")


class Platform(BaseModel):
    """A receiving platform and its resources (one YAML file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Literal["national", "gsxt", "creditchina"]
    zh: str
    en: str
    description: str | None = None
    resources: tuple[Resource, ...]

    @model_validator(mode="after")
    def _unique_names(self) -> Platform:
        names = [r.name for r in self.resources]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{self.platform}: resources declared twice: {twice}")
        return self

    def resource(self, name: str) -> Resource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(f"{self.platform} has no resource {name!r}")
