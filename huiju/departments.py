"""Department configuration: one YAML file per department, validated on load.

A department's file says who it is (code, names, division), when it runs (schedule,
retries), how much bad data it may send before a run fails (thresholds), and where its
data comes from: sources (one legacy system each, with the connector's configuration and a
pool size) and, per source, feeds — which standard data set a table, query, file pattern or
endpoint fills and how its legacy columns map to the standard fields.

Onboarding a department is writing such a file; no Python. Example (abridged)::

    code: GS-SCJG
    name: {zh: 甘肃省市场监督管理局, en: Gansu Administration for Market Regulation}
    division_code: "620000"
    schedule: "0 2 * * *"                       # cron (5 fields) or a preset such as @daily
    retries: 2
    thresholds:
      default: {max_quarantined: 500, max_ratio: 0.05, min_batch_size: 100}
    sources:
      - id: case_db
        kind: sql                               # sql | files | http
        system: 市场监管综合执法办案系统
        pool_size: 2
        connection: {url_secret: HUIJU_SRC_GS_SCJG_CASE_DB}   # secrets by NAME only
        feeds:
          - dataset: penalty
            extract: {table: 行政处罚案件, cursor_column: 更新时间, primary_key: [案件编号]}
            record_id: {column: 案件编号}       # or "derived" (the default)
            operation: {column: 操作标志, values: {新增: i, 修改: u, 删除: d}}
            mapping:
              punish_action_code: 案件编号       # shorthand for {column: 案件编号}
              punish_type: {column: 处罚种类, labels: true}
              fine_amount: {column: 罚款金额, unit: 元}
              area_code: {const: "620100"}

``kind`` is a source kind of ``connectors.registry``. ``connection`` (per source) and
``extract`` (per feed) together are that kind's own configuration model (e.g.
``connectors.sql.SqlSourceConfig``): the two mappings are merged and validated by the model
the registry names, so this module never repeats a connector setting nor lists the kinds.

Errors name the file, the key path (``sources[0].feeds[1].mapping.fine_amount.unit``) and
what is wrong; unknown keys are errors; inline credentials are refused without echoing them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from string import Formatter
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.registry import kind as connector_kind
from connectors.registry import kinds as connector_kinds
from schemas.catalog import dataset, datasets
from schemas.code_tables import CodeTable, code_table
from schemas.model import DataSetSpec, FieldSpec, FieldType
from schemas.rules.convert import BOOLEAN_WORDS
from schemas.rules.divisions import check_gansu_division

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Airflow's schedule presets that make sense for a department's extraction run.
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly",
                    "@annually")
# 兰州新区: a reporting unit of its own without a GB/T 2260 code (REFERENCE.md §5).
LANZHOU_NEW_AREA = "620171"

SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s]*:[^/?#@\s]+@")
CREDENTIAL_KEYS = frozenset({
    "password", "passwd", "pwd", "pass", "secret", "token", "api_key", "apikey", "access_key",
    "secret_key", "private_key", "authorization", "auth", "credentials", "bearer",
})


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with one department file."""

    file: str
    key: str  # key path inside the file, e.g. sources[0].feeds[1].mapping.fine_amount.unit
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '(top level)'}: {self.message}"


class DepartmentConfigError(ValueError):
    """One or more department files are broken; ``problems`` says where and why."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def key_path(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """``("sources", 0, "feeds", 1, "mapping")`` → ``sources[0].feeds[1].mapping``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# --------------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    """A name in Chinese and English."""

    zh: str = Field(min_length=1, description="Chinese name (the DAG's display name)")
    en: str = Field(min_length=1, description="English name, for reports")


class ThresholdConfig(_Strict):
    """When a batch has too much bad data the run fails visibly (what was quarantined stays).

    The ratio applies only once a batch has ``min_batch_size`` rows, so a batch of three rows
    with one bad row does not fail a run on a 33 % ratio.
    """

    max_quarantined: int | None = Field(default=None, ge=0,
                                        description="most quarantined records per batch")
    max_ratio: float | None = Field(default=None, ge=0, le=1,
                                    description="most quarantined records / extracted records")
    min_batch_size: int = Field(default=0, ge=0,
                                description="rows a batch needs before max_ratio applies")


class FieldMapping(_Strict):
    """How one standard field gets its value: exactly one of column, const or template."""

    column: str | None = Field(default=None, description="legacy column name")
    const: str | int | float | bool | None = Field(default=None, description="fixed value")
    template: str | None = Field(
        default=None, description="text with {legacy column} placeholders, e.g. {年度}第{序号}号")
    default: str | None = Field(default=None, description="value when the legacy value is empty")
    values: dict[str, str] | None = Field(
        default=None, description="legacy value → standard value (code), e.g. {罚款: '02'}; "
                                  "for list fields, per element")
    labels: bool = Field(default=False, description="map code-table labels to their codes")
    unit: Literal["元", "万元"] | None = Field(
        default=None, description="unit of the legacy amount; stored in the field's unit (元)")
    date_format: tuple[str, ...] | None = Field(
        default=None, description="strptime formats tried first, e.g. ['%Y年%m月%d日']")
    split: bool | str | None = Field(
        default=None, description="list fields: split on 、，,; and spaces (true) or these chars")
    id15to18: bool = Field(default=False, description="convert 15-digit ID numbers to 18")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `field: 列名` means `field: {column: 列名}`.
        if isinstance(value, str):
            return {"column": value}
        return value

    @field_validator("date_format", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: "02"` with an int key; legacy values are compared as text.
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> FieldMapping:
        given = [k for k in ("column", "const", "template") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of column, const or template"
                             + (f" (got {', '.join(given)})" if given else ""))
        if self.template is not None and not self.template_columns:
            raise ValueError("template names no {column}")
        return self

    @property
    def template_columns(self) -> tuple[str, ...]:
        """Legacy columns named in the template's ``{placeholders}``."""
        if self.template is None:
            return ()
        return tuple(name for _, name, _, _ in Formatter().parse(self.template) if name)

    @property
    def columns(self) -> tuple[str, ...]:
        """Legacy columns this mapping reads."""
        return (self.column,) if self.column is not None else self.template_columns


class RecordIdMapping(_Strict):
    """record_id (记录唯一标识): a legacy column, or derived from the business key."""

    column: str | None = Field(
        default=None, description="legacy column holding the record's id; `derived` (or no "
                                  "column): derived from the data set's business key")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value == "derived":
            return {}
        if isinstance(value, str):
            return {"column": value}
        return value


class OperationMapping(_Strict):
    """The i/u/d operation flag: from a legacy column through a value map, else ``default``."""

    column: str | None = Field(default=None, description="legacy column holding the flag")
    values: dict[str, Literal["i", "u", "d"]] = Field(
        default_factory=dict, description="legacy value → i (insert), u (update), d (delete)")
    default: Literal["i", "u", "d"] = Field(
        default="i", description="the flag of a row without a column (or with an empty one)")

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value


class Feed(_Strict):
    """One standard data set filled from one table, query, file pattern or endpoint."""

    dataset: str = Field(description="the standard data set it fills (schemas/datasets)")
    extract: dict[str, Any] = Field(
        default_factory=dict,
        description="feed part of the connector config (table/query, file pattern, endpoint, "
                    "cursor and overlap); merged over the source's connection")
    record_id: RecordIdMapping = Field(default_factory=RecordIdMapping)
    operation: OperationMapping = Field(default_factory=OperationMapping)
    max_rows_per_run: int | None = Field(
        default=None, ge=1,
        description="stop a run after this many rows (whole connector batches) and load them "
                    "as one batch; the next (scheduled) run goes on from the committed cursor "
                    "(`huiju run` runs until the source is drained). Not needed to bound "
                    "memory: every run reads, loads and commits at most HUIJU_CHUNK_ROWS rows "
                    "at a time anyway. Not applied to a backfill of a period")
    version_column: str | None = Field(
        default=None,
        description="legacy column ordering the versions of one record (update time or a "
                    "sequence): the newest version wins within a batch and across batches, "
                    "not the last in file order")
    reconcile: bool = Field(
        default=False,
        description="SQL feeds: reconcile the source with the warehouse by key after each "
                    "scheduled load (a DAG task; a full read of the source per run)")
    on_source_delete: Literal["delete", "flag"] = Field(
        default="delete",
        description="what `huiju reconcile` does with a row the source no longer has: delete it "
                    "(operation d) or only flag it in the reconciliation")
    mapping: dict[str, FieldMapping] = Field(
        description="standard field → how it gets its value: a legacy column name, or the "
                    "options of FieldMapping")

    _connector: BaseModel | None = PrivateAttr(default=None)

    @field_validator("record_id", "operation", mode="before")
    @classmethod
    def _none_is_default(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def spec(self) -> DataSetSpec:
        """The standard data set this feed fills."""
        return dataset(self.dataset)

    @property
    def connector_config(self) -> BaseModel:
        """The connector's validated config model (source connection + this feed's extract)."""
        if self._connector is None:
            raise RuntimeError("feed not validated by load_department")
        return self._connector


class LegacySystem(_Strict):
    """One legacy system of the department (an entry of ``sources``).

    Not to be confused with a *connector* (``connectors.base.Source``): the system's
    ``kind`` names the connector that reads it.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$",
                    description="the source's id within the department (snake_case); names "
                                "its tasks, cursors and refs")
    kind: str = Field(description="a source kind of connectors.registry: sql | files | http")
    system: str = Field(min_length=1, description="the legacy system's name, e.g. 综合执法办案系统")
    pool_size: int = Field(default=1, ge=1, le=32,
                           description="concurrent tasks allowed against this system")
    connection: dict[str, Any] = Field(
        default_factory=dict,
        description="source part of the connector config, e.g. url_secret (a secret NAME)")
    feeds: list[Feed] = Field(min_length=1,
                              description="the standard data sets this system fills")

    @field_validator("kind")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in connector_kinds("source"):
            raise ValueError(f"unknown source kind {value!r}; use one of "
                             f"{', '.join(connector_kinds('source'))}")
        return value


class Department(_Strict):
    """A department's configuration file, validated."""

    code: str = Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]+)+$", description="e.g. GS-SCJG")
    name: Names
    division_code: str = Field(description="Gansu 6-digit division code, or 620171 兰州新区")
    schedule: str = Field(description="cron expression (5 fields) or a preset such as @daily")
    owner: str = Field(default="huiju", min_length=1,
                       description="the DAGs' owner in Airflow (who answers for the feed)")
    retries: int = Field(default=2, ge=0, le=10, description="Airflow task retries")
    retry_delay_minutes: int = Field(default=5, ge=0, le=1440,
                                     description="minutes between task retries")
    thresholds: dict[str, ThresholdConfig] = Field(
        default_factory=dict, description="per data set name, or 'default' for every data set")
    sources: list[LegacySystem] = Field(
        min_length=1, description="the department's legacy systems and what each feeds")

    _path: Path | None = PrivateAttr(default=None)
    _config_hash: str = PrivateAttr(default="")

    @field_validator("division_code", mode="before")
    @classmethod
    def _division(cls, value: Any) -> Any:
        value = str(value) if isinstance(value, int) else value
        if isinstance(value, str) and not _is_gansu_division(value):
            raise ValueError(f"{value!r} is not a Gansu division code (6 digits, 62xxxx, "
                             f"or {LANZHOU_NEW_AREA} for 兰州新区)")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if value.startswith("@"):
            if value not in SCHEDULE_PRESETS:
                raise ValueError(f"unknown preset {value!r}; use one of "
                                 f"{', '.join(SCHEDULE_PRESETS)} or a 5-field cron expression")
            return value
        from croniter import croniter  # Airflow's own cron parser

        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid 5-field cron expression "
                             "(minute hour day-of-month month day-of-week)")
        return value

    @property
    def path(self) -> Path | None:
        """The file the department was loaded from."""
        return self._path

    @property
    def config_hash(self) -> str:
        """sha256 of the file's bytes: audit records which configuration loaded a batch."""
        return self._config_hash

    def feeds(self) -> Iterator[tuple[LegacySystem, Feed]]:
        """Every ``(source, feed)`` pair of the department, in file order."""
        for source in self.sources:
            for feed in source.feeds:
                yield source, feed

    def datasets(self) -> list[str]:
        """Names of the data sets the department feeds, sorted."""
        return sorted({feed.dataset for _, feed in self.feeds()})

    def source(self, source_id: str) -> LegacySystem:
        """The source with id ``source_id`` (KeyError if none)."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(f"{self.code} has no source {source_id!r}")

    def thresholds_for(self, dataset_name: str) -> ThresholdConfig:
        """The data set's thresholds, else the department default, else no limits."""
        return (self.thresholds.get(dataset_name) or self.thresholds.get("default")
                or ThresholdConfig())


def _is_gansu_division(code: str) -> bool:
    if code == LANZHOU_NEW_AREA:
        return True
    if not re.fullmatch(r"62\d{4}", code):
        return False
    return int(check_gansu_division([code])[0]) == 0


# --------------------------------------------------------------------------- checks


def _inline_credentials(node: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple, str]]:
    """Walk the raw YAML: credentials must be named (``*_secret``), never written inline."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = (*loc, str(key))
            lowered = str(key).lower()
            if lowered.endswith("_secret"):
                if value is not None and (not isinstance(value, str)
                                          or not SECRET_NAME.match(value)):
                    yield here, ("must be the NAME of an environment variable or Airflow "
                                 "connection, not the secret itself")
                continue
            if lowered.endswith("_secrets") and isinstance(value, Mapping):   # header → NAME
                for inner, name in value.items():
                    if not isinstance(name, str) or not SECRET_NAME.match(name):
                        yield (*here, str(inner)), (
                            "must be the NAME of an environment variable or Airflow "
                            "connection, not the secret itself")
                continue
            if lowered in CREDENTIAL_KEYS and value not in (None, ""):
                yield here, ("inline credential refused: put it in an environment variable or "
                             "Airflow connection and name it with url_secret / token_secret")
                continue
            yield from _inline_credentials(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _inline_credentials(value, (*loc, index))
    elif isinstance(node, str) and URL_WITH_PASSWORD.match(node.strip()):
        yield loc, ("URL with an inline password refused: store the URL in a secret and name "
                    "it with url_secret")


def _pydantic_problems(file: str, error: ValidationError,
                       prefix: tuple[str | int, ...] = ()) -> list[ConfigProblem]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        loc = tuple(part for part in item["loc"] if part not in ("function-after",))
        kind = item["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "missing required key"
        else:
            message = item["msg"].removeprefix("Value error, ")
        problems.append(ConfigProblem(file, key_path(prefix + loc), message))
    return problems


def _code_table_of(spec: FieldSpec) -> CodeTable | None:
    return code_table(spec.code_table) if spec.code_table else None


def _mapping_problems(file: str, department: Department) -> list[ConfigProblem]:
    """Check every feed against the standard schema and the connector's config model."""
    problems: list[ConfigProblem] = []
    known = {spec.name for spec in datasets()}
    for name in department.thresholds:
        if name != "default" and name not in known:
            problems.append(ConfigProblem(file, f"thresholds.{name}",
                                    f"unknown data set {name!r} (or use 'default')"))
    seen_sources: set[str] = set()
    for s_index, source in enumerate(department.sources):
        if source.id in seen_sources:
            problems.append(ConfigProblem(file, f"sources[{s_index}].id",
                                    f"source id {source.id!r} used twice"))
        seen_sources.add(source.id)
        for f_index, feed in enumerate(source.feeds):
            at = f"sources[{s_index}].feeds[{f_index}]"
            problems += _connector_problems(file, at, s_index, source, feed)
            if feed.dataset not in known:
                problems.append(ConfigProblem(file, f"{at}.dataset",
                                        f"unknown data set {feed.dataset!r}; known: "
                                        f"{', '.join(sorted(known))}"))
                continue
            problems += _feed_problems(file, at, feed, dataset(feed.dataset))
    return problems


def _feed_problems(file: str, at: str, feed: Feed, spec: DataSetSpec) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    fields = {f.name: f for f in spec.fields}
    for name in feed.mapping:
        if name not in fields:
            hint = (" (exchange columns are set by record_id/operation and the run)"
                    if name in ("record_id", "batch_id", "operation") else "")
            problems.append(ConfigProblem(file, f"{at}.mapping.{name}",
                                    f"{spec.name} has no field {name!r}{hint}"))
    for field in spec.fields:
        if field.required and field.name not in feed.mapping:
            problems.append(ConfigProblem(
                file, f"{at}.mapping",
                f"required field {field.name} ({field.zh}) of {spec.name} is not mapped"))
    for name, rule in feed.mapping.items():
        if name in fields:
            problems += _field_problems(file, f"{at}.mapping.{name}", rule, fields[name])
    return problems


def _field_problems(file: str, at: str, rule: FieldMapping,
                    field: FieldSpec) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    table = _code_table_of(field)
    kind = field.type
    if rule.unit is not None and kind is not FieldType.DECIMAL:
        problems.append(ConfigProblem(file, f"{at}.unit", f"unit only fits decimal fields; "
                                                    f"{field.name} is {kind}"))
    if rule.date_format is not None and kind not in (FieldType.DATE, FieldType.DATETIME):
        problems.append(ConfigProblem(file, f"{at}.date_format",
                                f"date_format only fits date fields; {field.name} is {kind}"))
    if rule.split not in (None, False) and kind is not FieldType.LIST:
        problems.append(ConfigProblem(file, f"{at}.split",
                                f"split only fits list fields; {field.name} is {kind}"))
    if rule.labels and table is None:
        problems.append(ConfigProblem(file, f"{at}.labels",
                                f"{field.name} has no code table to take labels from"))
    if rule.id15to18 and kind not in (FieldType.STRING, FieldType.CODE):
        problems.append(ConfigProblem(file, f"{at}.id15to18",
                                f"id15to18 only fits identifier fields; {field.name} is {kind}"))
    targets = dict(rule.values or {})
    if rule.default is not None:
        targets["(default)"] = rule.default
    if rule.const is not None and not isinstance(rule.const, bool):
        targets["(const)"] = str(rule.const)
    for legacy, target in targets.items():
        key = (f"{at}.values.{legacy}" if legacy not in ("(default)", "(const)")
               else f"{at}.{legacy.strip('()')}")
        message = _target_problem(field, table, target)
        if message:
            problems.append(ConfigProblem(file, key, message))
    return problems


def _target_problem(field: FieldSpec, table: CodeTable | None, target: str) -> str | None:
    """Why ``target`` cannot be a value of ``field`` (None if it can)."""
    if table is not None:
        codes = target.split(",") if field.multi or field.type is FieldType.LIST else [target]
        unknown = [code for code in codes if code not in table.codes]
        if unknown:
            return (f"{', '.join(repr(c) for c in unknown)} is not a code of {table.name} "
                    f"(field {field.name})")
    elif field.type is FieldType.BOOLEAN and target.strip().lower() not in BOOLEAN_WORDS:
        return f"{target!r} is not a boolean (是/否, 1/0, Y/N, true/false)"
    return None


def _connector_problems(file: str, at: str, s_index: int, source: LegacySystem,
                        feed: Feed) -> list[ConfigProblem]:
    """Validate connection + extract with the connector's own model; name the key's origin."""
    model = connector_kind(source.kind).config_model()
    merged = {**source.connection, **feed.extract}
    try:
        feed._connector = model.model_validate(merged)
    except ValidationError as error:
        problems = []
        for problem in _pydantic_problems(file, error):
            top = problem.key.split(".")[0].split("[")[0]
            message = problem.message
            if top in feed.extract:
                where = f"{at}.extract"
            elif top in source.connection:
                where = f"sources[{s_index}].connection"
            else:  # a missing key: it may go in either place
                where = f"{at}.extract"
                message += f" (in {at}.extract or sources[{s_index}].connection)"
            problems.append(ConfigProblem(file, f"{where}.{problem.key}", message))
        return problems
    return []


# --------------------------------------------------------------------------- loading


def departments_dir(override: str | os.PathLike | None = None) -> Path:
    """``override``, else $HUIJU_DEPARTMENTS_DIR, else ``departments/`` (under $HUIJU_HOME)."""
    if override:
        return Path(override)
    from huiju.settings import load_settings

    return load_settings().departments_dir


def load_department(path: str | os.PathLike) -> Department:
    """Read and validate one department file; raise DepartmentConfigError naming every problem."""
    path = Path(path)
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DepartmentConfigError(
            [ConfigProblem(file, "", f"cannot read: {error.strerror}")]) from None
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=_YAML_LOADER)  # C-accelerated SafeLoader
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise DepartmentConfigError(
            [ConfigProblem(file, "", f"not valid UTF-8 YAML: {error}")]) from None
    if not isinstance(raw, dict):
        raise DepartmentConfigError([ConfigProblem(file, "", "expected a mapping of keys")])
    problems = [ConfigProblem(file, key_path(loc), message)
                for loc, message in _inline_credentials(raw, ())]
    if problems:  # refuse before anything else could echo a secret
        raise DepartmentConfigError(problems)
    try:
        department = Department.model_validate(raw)
    except ValidationError as error:
        raise DepartmentConfigError(_pydantic_problems(file, error)) from None
    # a connection key is judged once per feed: report each problem once
    problems = list(dict.fromkeys(_mapping_problems(file, department)))
    if problems:
        raise DepartmentConfigError(problems)
    department._path = path
    department._config_hash = hashlib.sha256(data).hexdigest()
    _anchor_paths(department, path.parent.resolve())
    return department


def _anchor_paths(department: Department, folder: Path) -> None:
    """Make the feeds' folder options absolute: a relative one is relative to ``folder``.

    The options are the kind's ``paths`` (``connectors.registry``; for files sources the drop
    folder, ``archive_dir`` and ``rejected_dir``). Anchoring them to the department file's
    folder at load time means the CLI, a scheduler, a worker and a test read the same folders
    whatever their working directory or HUIJU_HOME. ``folder`` is the file's folder with its
    links resolved (not the file's own link target: a file linked into the folder belongs to
    the folder it is linked into). ``~`` is the running user's home.
    """
    for source, feed in department.feeds():
        config = feed.connector_config
        updates = {}
        for name in connector_kind(source.kind).paths:
            value = getattr(config, name, None)
            if value is None:
                continue
            expanded = Path(value).expanduser()
            if not expanded.is_absolute():
                expanded = folder / expanded
            if str(expanded) != value:
                updates[name] = str(expanded)
        if updates:
            feed._connector = config.model_copy(update=updates)


@dataclass
class CheckResult:
    """The departments that loaded and the problems of those that did not."""

    departments: list[Department]
    problems: list[ConfigProblem]

    @cached_property
    def ok(self) -> bool:
        """Whether every file loaded."""
        return not self.problems


def check_departments(directory: str | os.PathLike | None = None) -> CheckResult:
    """Validate every ``*.yaml`` file in the folder; collect problems instead of stopping."""
    folder = departments_dir(directory)
    if not folder.is_dir():
        return CheckResult([], [ConfigProblem(str(folder), "", "no such departments folder")])
    found: list[Department] = []
    problems: list[ConfigProblem] = []
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        problems.append(ConfigProblem(str(folder), "", "no department files (*.yaml)"))
    codes: dict[str, Path] = {}
    for path in files:
        try:
            department = load_department(path)
        except DepartmentConfigError as error:
            problems += error.problems
            continue
        if department.code in codes:
            problems.append(ConfigProblem(str(path), "code", f"department code {department.code} "
                                                       f"is also used by {codes[department.code]}"))
            continue
        codes[department.code] = path
        found.append(department)
    return CheckResult(found, problems)


def load_departments(directory: str | os.PathLike | None = None) -> list[Department]:
    """Every department in the folder, validated; DepartmentConfigError if any file is broken."""
    result = check_departments(directory)
    if result.problems:
        raise DepartmentConfigError(result.problems)
    return result.departments
