"""SQL sources: any SQLAlchemy URL (MariaDB/MySQL, PostgreSQL, SQLite, Oracle, 达梦, 金仓).

Rows stream through a server-side cursor (``stream_results`` + ``yield_per``; PyMySQL's
SSCursor, psycopg's named cursor) so memory stays flat whatever the table size. Incremental
reads use keyset pagination on (cursor column, primary key); see README.md, "SQL".
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import (
    Batch,
    ConnectorError,
    lookahead,
    mask_url,
    resolve_secret,
    scrub,
)

__all__ = ["SqlSource", "SqlSourceConfig", "repair_latin1_gbk"]

# Drivers used when a URL names only the dialect (as Airflow connection URIs do).
_DEFAULT_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "oracle": "oracle+oracledb",
}
_DRIVER_PACKAGES = {"oracle": "oracledb", "dm": "dmpython or dm-pure (SQLAlchemy dialect dm://)",
                    "kingbase": "ksycopg2 with its SQLAlchemy dialect"}


class SqlSourceConfig(BaseModel):
    """One table (or query) of a department database."""

    model_config = ConfigDict(extra="forbid")

    url_secret: str = Field(description="NAME of the env var / Airflow connection holding the "
                                        "SQLAlchemy URL (never the URL itself)")
    table: str | None = Field(None, description="table name, may be Chinese (quoted per dialect)")
    db_schema: str | None = Field(None, description="schema of the table if not the default")
    query: str | None = Field(None, description="custom SELECT (wrapped as a subquery)")
    name: str | None = Field(None, description="name in refs; default table or 'query'")
    mode: Literal["incremental", "full"] = "incremental"
    cursor_column: str | None = Field(None, description="monotonic column (update time or version) "
                                                        "for incremental mode")
    primary_key: list[str] = Field(description="row identity: refs, keyset tiebreak")
    overlap: float = Field(0, ge=0, description="seconds re-read before the last cursor value "
                                                "(cursor units for a numeric cursor column)")
    batch_size: int = Field(10_000, gt=0)
    encoding: str | None = Field(None, description="client character set override "
                                                   "(MySQL charset / PostgreSQL client_encoding)")
    repair_mislabelled: Literal["gbk"] | None = Field(
        None, description="repair GBK bytes stored in latin1 columns (latin1 -> bytes -> gb18030)")
    repair_columns: list[str] | None = Field(None, description="columns to repair; default all "
                                                               "text columns")
    connect_timeout: int = Field(10, gt=0, description="seconds")
    window: tuple[str | int | float | None, str | int | float | None] | None = Field(
        None, description="[start, end) on the cursor column, for a period re-extraction; "
                          "ISO date/time strings or numbers, None for open")

    @model_validator(mode="after")
    def _one_target(self) -> SqlSourceConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        if self.mode == "incremental" and not self.cursor_column:
            raise ValueError("incremental mode needs cursor_column")
        if not self.primary_key:
            raise ValueError("primary_key needs at least one column")
        return self

    @property
    def ref_name(self) -> str:
        """How source references name this table or query."""
        return self.name or self.table or "query"


# MySQL's "latin1" is cp1252 with the five undefined bytes mapped to the same code points.
_LATIN1_TO_BYTE = {}
for _byte in range(256):
    try:
        _char = bytes([_byte]).decode("cp1252")
    except UnicodeDecodeError:
        _char = chr(_byte)
    _LATIN1_TO_BYTE[ord(_char)] = _byte
_REVERSE = str.maketrans({code: chr(b) for code, b in _LATIN1_TO_BYTE.items()})


def repair_latin1_gbk(value: Any) -> Any:
    """Undo the legacy bug of GBK bytes written into a latin1 column.

    The server decodes the GBK bytes as latin1 (cp1252); re-encode to the original bytes and
    decode them as GB18030. A value that is not such mojibake (already proper Chinese, or bytes
    that are not GB18030) is returned unchanged.
    """
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        return value.translate(_REVERSE).encode("latin1").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _encode_value(value: Any) -> Any:
    """Cursor/PK value -> JSON-serialisable, tagged when the type matters."""
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        ((kind, text),) = value.items()
        return {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat,
                "decimal": decimal.Decimal, "hex": bytes.fromhex}[kind](text)
    return value


def _window_value(value: Any) -> Any:
    """An ISO date or date-time string as a date/datetime, so every dialect compares it as one."""
    if not isinstance(value, str):
        return value
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return value


def _minus_overlap(value: Any, seconds: float) -> Any:
    if not seconds:
        return value
    if isinstance(value, dt.datetime):
        return value - dt.timedelta(seconds=seconds)
    if isinstance(value, dt.date):
        return value - dt.timedelta(days=-(-seconds // 86_400))
    if isinstance(value, int | float | decimal.Decimal):
        return value - type(value)(seconds)
    if isinstance(value, str):
        # Legacy systems often keep times in VARCHAR columns ("2024-10-28 14:55:06"): shift
        # the time and write it back in the same layout, so the text comparison still holds.
        parsed = _window_value(value)
        if isinstance(parsed, dt.datetime):
            return _minus_overlap(parsed, seconds).isoformat(sep=value[10])
        if isinstance(parsed, dt.date):
            return _minus_overlap(parsed, seconds).isoformat()
    raise ConnectorError(f"overlap needs a date, time or numeric cursor column, got {value!r}")


class SqlSource:
    """Reads one table or query of a SQLAlchemy-reachable database in bounded batches.

    State (the batch cursor) is ``{"cursor": value, "pk": [values]}`` in incremental mode, and
    ``{"after_pk": [values]}`` during a full refresh (``None`` on its last batch, so the next
    run starts a new refresh).
    """

    def __init__(self, config: SqlSourceConfig, url: str | None = None) -> None:
        """``url`` bypasses secret resolution (tests, tools); normally it comes from
        ``config.url_secret``."""
        self.config = config
        self._url = url
        self._engine: sa.Engine | None = None

    # -- connection ---------------------------------------------------------------------
    def _resolve_url(self) -> sa.URL:
        raw = self._url if self._url is not None else resolve_secret(self.config.url_secret)
        try:
            url = sa.make_url(raw)
        except sa.exc.ArgumentError as error:
            raise ConnectorError(f"secret {self.config.url_secret!r} is not a valid SQLAlchemy "
                                 "URL") from error
        driver = _DEFAULT_DRIVERS.get(url.drivername)
        if driver:
            url = url.set(drivername=driver)
        if url.drivername.endswith("+pymysql"):
            charset = self.config.encoding or url.query.get("charset") or "utf8mb4"
            url = url.update_query_dict({"charset": charset})
        if url.drivername.startswith("postgresql") and self.config.encoding:
            url = url.update_query_dict({"client_encoding": self.config.encoding})
        return url

    def _secrets(self, url: sa.URL | None) -> list[str | None]:
        secrets: list[str | None] = [self._url]
        if url is not None:
            secrets += [url.password and str(url.password),
                        url.render_as_string(hide_password=False)]
        return secrets

    def _error(self, what: str, url: sa.URL | None, error: BaseException) -> ConnectorError:
        shown = mask_url(url) if url is not None else "?"
        detail = getattr(error, "orig", None) or error
        message = (f"{self.config.ref_name}: {what} {shown} (secret {self.config.url_secret!r}): "
                   f"{type(detail).__name__}: {detail}")
        return ConnectorError(scrub(message, self._secrets(url)))

    def _engine_for(self) -> tuple[sa.Engine, sa.URL]:
        url = self._resolve_url()
        if self._engine is None:
            connect_args: dict[str, Any] = {}
            backend = url.get_backend_name()
            if backend in ("mysql", "mariadb", "postgresql"):
                connect_args["connect_timeout"] = self.config.connect_timeout
            try:
                # No pool: a read holds one connection for its whole stream, and a source
                # object must not keep idle connections open on a department's server.
                self._engine = sa.create_engine(url, connect_args=connect_args,
                                                poolclass=sa.pool.NullPool)
            except (ImportError, sa.exc.NoSuchModuleError) as error:
                package = _DRIVER_PACKAGES.get(backend, "its driver package")
                raise ConnectorError(f"{self.config.ref_name}: no driver for {url.drivername} "
                                     f"(install {package})") from error
        return self._engine, url

    def close(self) -> None:
        """Release pooled connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- statements ---------------------------------------------------------------------
    def _from(self) -> tuple[Any, Any]:
        """(selectable, column lookup by name)."""
        cfg = self.config
        key_names = list(dict.fromkeys([*cfg.primary_key, *([cfg.cursor_column]
                                                             if cfg.cursor_column else [])]))
        if cfg.table is not None:
            table = sa.table(cfg.table, *[sa.column(n) for n in key_names], schema=cfg.db_schema)
            return table, table.c
        sub = sa.text(cfg.query).columns(*[sa.column(n) for n in key_names]).subquery("src")
        return sub, sub.c

    def _statement(self, state: dict | None) -> sa.Select:
        cfg = self.config
        source, cols = self._from()
        stmt = sa.select(sa.literal_column("*")).select_from(source)
        pks = [cols[n] for n in cfg.primary_key]
        if cfg.mode == "full":
            if state and state.get("after_pk") is not None:
                stmt = stmt.where(_after(pks, [_decode_value(v) for v in state["after_pk"]]))
            return stmt.order_by(*pks)
        cursor = cols[cfg.cursor_column]
        # NULL sorts first on some dialects and last on others, and cannot be resumed after:
        # rows without a cursor value are left to a full refresh (README, "SQL").
        stmt = stmt.where(cursor.is_not(None))
        if cfg.window is not None:
            start, end = (_window_value(v) for v in cfg.window)
            if start is not None:
                stmt = stmt.where(cursor >= start)
            if end is not None:
                stmt = stmt.where(cursor < end)
        if state and state.get("cursor") is not None:
            last = _decode_value(state["cursor"])
            if cfg.overlap:
                stmt = stmt.where(cursor >= _minus_overlap(last, cfg.overlap))
            else:
                pk_values = [_decode_value(v) for v in state.get("pk") or []]
                stmt = stmt.where(_after([cursor, *pks], [last, *pk_values]))
        return stmt.order_by(cursor, *pks)

    # -- Source ---------------------------------------------------------------------------
    def check(self) -> None:
        """Connect and select nothing from the table or query; ConnectorError if that fails."""
        engine, url = self._engine_for()
        source, _ = self._from()
        try:
            with engine.connect() as conn:
                conn.execute(sa.select(sa.literal_column("*")).select_from(source)
                             .where(sa.false())).close()
        except sa.exc.SQLAlchemyError as error:
            raise self._error("cannot read from", url, error) from None

    def read(self, state: dict | None) -> Iterator[Batch]:
        """Yield batches of the rows after the cursor, in cursor order (or the window's rows)."""
        cfg = self.config
        engine, url = self._engine_for()
        stmt = self._statement(state)
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True,
                                                yield_per=cfg.batch_size).execute(stmt)
                columns = list(result.keys())
                types = _declared_types(result)
                try:
                    for rows, is_last in lookahead(result.partitions(cfg.batch_size)):
                        yield self._batch(columns, rows, is_last, types)
                except GeneratorExit:
                    # The caller stopped early: drop the connection rather than drain the rest
                    # of a server-side cursor (PyMySQL would read every remaining row).
                    raw = getattr(result, "cursor", None)
                    pending = getattr(raw, "_result", None)
                    if pending is not None and hasattr(pending, "unbuffered_active"):
                        # PyMySQL's SSCursor would read every remaining row on close.
                        pending.unbuffered_active = False
                        raw._result = None
                    conn.invalidate()
                    raise
        except sa.exc.SQLAlchemyError as error:
            raise self._error("cannot read from", url, error) from None

    def _batch(self, columns: list[str], rows: Sequence[Any], is_last: bool,
               types: list[pa.DataType | None]) -> Batch:
        cfg = self.config
        data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        index = {name: i for i, name in enumerate(columns)}
        missing = [n for n in [*cfg.primary_key, cfg.cursor_column] if n and n not in index]
        if missing:
            raise ConnectorError(f"{cfg.ref_name}: columns {missing} not in the result "
                                 f"(have {columns})")
        if cfg.repair_mislabelled:
            targets = cfg.repair_columns or columns
            for name in targets:
                i = index[name]
                data[i] = tuple(repair_latin1_gbk(v) for v in data[i])
        arrays = [_to_array(col, kind) for col, kind in zip(data, types, strict=True)]
        table = pa.Table.from_arrays(arrays, names=columns)
        pk_cols = [data[index[n]] for n in cfg.primary_key]
        refs = [f"{cfg.ref_name}#" + ",".join(f"{n}={v}" for n, v in zip(cfg.primary_key, key,
                                                                          strict=True))
                for key in zip(*pk_cols, strict=True)] if rows else []
        last = rows[-1] if rows else None
        cursor: dict | None
        if cfg.mode == "full":
            cursor = None if is_last else {
                "after_pk": [_encode_value(last[index[n]]) for n in cfg.primary_key]}
        else:
            cursor = {"cursor": _encode_value(last[index[cfg.cursor_column]]),
                      "pk": [_encode_value(last[index[n]]) for n in cfg.primary_key]}
        return Batch(table=table, refs=refs, cursor=cursor)


def _after(columns: list[Any], values: list[Any]) -> Any:
    """Lexicographic ``(c1, c2, ...) > (v1, v2, ...)`` spelled portably (no row values)."""
    clauses = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        equal = [columns[j] == values[j] for j in range(i)]
        clauses.append(sa.and_(*equal, column > value))
    return sa.or_(*clauses)


def _declared_types(result: Any) -> list[pa.DataType | None]:
    """Arrow types the driver declares for exact-numeric columns (so every batch of a column
    has the same decimal type); ``None`` where the values decide."""
    raw = getattr(result, "cursor", None)
    description = getattr(raw, "description", None) or []
    # PyMySQL reports the display length (digits + point + sign) as the precision.
    display_length = type(raw).__module__.startswith("pymysql")
    types: list[pa.DataType | None] = []
    for column in description:
        precision, scale = (list(column) + [None] * 7)[4:6]
        if display_length and isinstance(precision, int) and isinstance(scale, int):
            precision -= (1 if scale else 0) + 1   # upper bound: assumes a sign position
        if isinstance(precision, int) and isinstance(scale, int) and 0 < precision <= 38 \
                and 0 <= scale <= precision:
            types.append(pa.decimal128(precision, scale))
        else:
            types.append(None)
    return types


def _to_array(values: Sequence[Any], kind: pa.DataType | None) -> pa.Array:
    if kind is not None and any(isinstance(v, decimal.Decimal) for v in values):
        try:
            return pa.array(list(values), type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # the declared type does not fit the values: let the values decide
    return pa.array(list(values))
