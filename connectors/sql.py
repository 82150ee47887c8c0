"""SQL sources: any SQLAlchemy URL (MariaDB/MySQL, PostgreSQL, SQLite, Oracle, 达梦, 金仓).

Rows stream through a server-side cursor (``stream_results`` + ``yield_per``; PyMySQL's
SSCursor, psycopg's named cursor) so memory stays flat whatever the table size. Incremental
reads use keyset pagination on (cursor column, primary key); see README.md, "SQL".
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.base import (
    Batch,
    ConnectorError,
    RowError,
    lookahead,
    mask_url,
    resolve_secret,
    scrub,
)
from connectors.timestamps import LEGACY_TIMEZONE, parse_timestamp, row_hash

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
    mode: Literal["incremental", "full"] = Field(
        "incremental", description="incremental: rows after the cursor; full: every row, "
                                   "each run")
    cursor_column: str | None = Field(None, description="monotonic column (update time or version) "
                                                        "for incremental mode")
    cursor_type: Literal["auto", "native", "text"] = Field(
        "auto", description="text: the cursor column holds time stamps as text, parsed (never "
                            "compared as text); auto: text when the column's values are strings")
    cursor_formats: list[str] = Field(
        default_factory=list, description="strptime formats of a text cursor column, tried "
                                          "before ISO 8601 and the common legacy layouts")
    cursor_timezone: str = Field(LEGACY_TIMEZONE, description="zone of wall-clock time stamps "
                                                              "(text cursor values without one)")
    primary_key: list[str] = Field(description="row identity: refs, keyset tiebreak")
    unique_key: bool = Field(True, description="false: rows may share the primary key (a view, "
                                               "a query): refs carry a row hash")
    overlap: float = Field(0, ge=0, description="seconds re-read before the last cursor value "
                                                "(cursor units for a numeric cursor column)")
    batch_size: int = Field(10_000, gt=0, description="rows per batch read (bounds memory)")
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
        self._cursor_is_text: bool | None = None

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

    def _statement(self, state: dict | None, text_cursor: bool,
                   exact: bool = False) -> sa.Select:
        """The read after ``state`` in order; ``exact``: resumed exactly, without ``overlap``
        (a later page of one read)."""
        cfg = self.config
        source, cols = self._from()
        stmt = sa.select(sa.literal_column("*")).select_from(source)
        pks = [cols[n] for n in cfg.primary_key]
        if cfg.mode == "full" or text_cursor:
            # A text cursor's order is not time order: the rows are read in key order and
            # selected by their parsed time stamp (see _TextCursor).
            if state and state.get("after_pk") is not None:
                after = [_decode_value(v) for v in state["after_pk"]]
                stmt = stmt.where(_after(pks, after, inclusive="seen" in state
                                         or "pk_seen" in state))
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
            if cfg.overlap and not exact:
                stmt = stmt.where(cursor >= _minus_overlap(last, cfg.overlap))
            else:
                # Inclusive: rows tied with the last one delivered are read again and those
                # already delivered are dropped by their row hash ("seen"). A state written
                # before "seen" existed resumes strictly after, as it did.
                pk_values = [_decode_value(v) for v in state.get("pk") or []]
                stmt = stmt.where(_after([cursor, *pks], [last, *pk_values],
                                         inclusive="seen" in state))
        return stmt.order_by(cursor, *pks)

    def _text_cursor(self) -> bool:
        """Whether the cursor column holds text (parsed into time stamps, not compared as text)."""
        cfg = self.config
        if cfg.mode == "full" or not cfg.cursor_column:
            return False
        if cfg.cursor_type != "auto":
            return cfg.cursor_type == "text"
        if self._cursor_is_text is None:
            engine, url = self._engine_for()
            source, cols = self._from()
            cursor = cols[cfg.cursor_column]
            try:
                with engine.connect() as conn:
                    sample = conn.execute(sa.select(cursor).select_from(source)
                                          .where(cursor.is_not(None)).limit(1)).scalar()
            except sa.exc.SQLAlchemyError as error:
                raise self._error("cannot read from", url, error) from None
            self._cursor_is_text = isinstance(sample, str | bytes)
        return self._cursor_is_text

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

    def profile(self, state: dict | None = None) -> dict:
        """``rows`` in the table or query, and its cursor column's ``min``/``max`` (if any).

        One aggregate query, for ``huiju source check`` and the lag ``huiju status`` shows:
        ``newest`` is ``max`` as the cursor compares it (a text column's time stamp parsed),
        ``saved`` the position of ``state`` (a cursor this source wrote) in the same terms.
        """
        cfg = self.config
        engine, url = self._engine_for()
        source, cols = self._from()
        measures = [sa.func.count().label("rows")]
        if cfg.cursor_column:
            cursor = cols[cfg.cursor_column]
            measures += [sa.func.min(cursor).label("min"), sa.func.max(cursor).label("max")]
        try:
            with engine.connect() as conn:
                row = conn.execute(sa.select(*measures).select_from(source)).one()
        except sa.exc.SQLAlchemyError as error:
            raise self._error("cannot read from", url, error) from None
        found = dict(row._mapping)
        if cfg.cursor_column:
            found["newest"], found["saved"] = found["max"], None
            if self._text_cursor():
                found["newest"] = parse_timestamp(found["max"], cfg.cursor_formats,
                                                  cfg.cursor_timezone)
                if state and state.get("since"):
                    found["saved"] = dt.datetime.fromisoformat(state["since"])
            elif state and state.get("cursor") is not None:
                found["saved"] = _decode_value(state["cursor"])
        return found

    def read(self, state: dict | None) -> Iterator[Batch]:
        """Yield batches of the rows after the cursor, in cursor order (or the window's rows)."""
        cfg = self.config
        text_cursor = self._text_cursor()
        if text_cursor and state and "since" not in state and state.get("cursor") is not None:
            # a state written when the text column was compared as text: go on from its time
            since = parse_timestamp(_decode_value(state["cursor"]), cfg.cursor_formats,
                                    cfg.cursor_timezone)
            state = {"since": since and since.isoformat(), "seen": []}
        engine, url = self._engine_for()
        stmt = self._statement(state, text_cursor)
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True,
                                                yield_per=cfg.batch_size).execute(stmt)
                columns = list(result.keys())
                self._check_columns(columns)
                types = _declared_types(result)
                rows = (row for part in result.partitions(cfg.batch_size) for row in part)
                chunks = (self._text_chunks(rows, columns, state) if text_cursor
                          else self._keyset_chunks(rows, columns, state))
                try:
                    for (chunk, errors, cursor), is_last in lookahead(chunks):
                        yield self._batch(columns, chunk, errors, cursor(is_last), types)
                except (GeneratorExit, sa.exc.DBAPIError):
                    # The caller stopped early, or the server dropped the connection: abandon
                    # the server-side cursor rather than drain it (or, connection gone, have
                    # PyMySQL fail again with a traceback when it is collected).
                    _abandon(result, conn)
                    raise
        except sa.exc.SQLAlchemyError as error:
            raise self._error("cannot read from", url, error) from None

    def _check_columns(self, columns: list[str]) -> None:
        cfg = self.config
        missing = [n for n in [*cfg.primary_key, cfg.cursor_column] if n and n not in columns]
        if missing:
            raise ConnectorError(f"{cfg.ref_name}: columns {missing} not in the result "
                                 f"(have {columns})")

    def _keyset_chunks(self, rows: Iterator[Any], columns: list[str], state: dict | None
                       ) -> Iterator[tuple[list, list[RowError], Any]]:
        """Batches of a keyset read: (cursor column,) primary key order, resumed exactly.

        The state names the last row delivered (its order key) and the row hashes of every
        row delivered with exactly that order key; the read resumes at that key inclusively
        and drops those rows, so rows tied on the whole order key (a view, a query, a table
        without a unique key) are neither lost nor repeated wherever a batch ends.
        """
        cfg = self.config
        index = {name: i for i, name in enumerate(columns)}
        full = cfg.mode == "full"
        order = [index[n] for n in ([] if full else [cfg.cursor_column]) + cfg.primary_key]
        boundary: tuple | None = None
        seen: list[str] = []
        if state and not (cfg.mode == "incremental" and cfg.overlap):
            if full and state.get("after_pk") is not None and "seen" in state:
                boundary = tuple(_decode_value(v) for v in state["after_pk"])
            elif not full and state.get("cursor") is not None and "seen" in state:
                boundary = tuple(_decode_value(v) for v in
                                 [state["cursor"], *(state.get("pk") or [])])
            seen = list(state.get("seen") or [])
        pending = list(seen)  # delivered rows of the boundary key still to drop

        def key_of(row: Any) -> tuple:
            return tuple(row[i] for i in order)

        chunk: list = []
        tail_key, tail = boundary, list(seen)   # hashes delivered at the last key so far
        for row in rows:
            key = key_of(row)
            if pending and key == boundary:
                digest = row_hash(row)
                if digest in pending:
                    pending.remove(digest)
                    continue
            chunk.append(row)
            if len(chunk) == cfg.batch_size:
                tail_key, tail = self._tail(chunk, key_of, tail_key, tail)
                yield chunk, [], self._keyset_cursor(chunk[-1], index, tail)
                chunk = []
        if chunk:
            tail_key, tail = self._tail(chunk, key_of, tail_key, tail)
            yield chunk, [], self._keyset_cursor(chunk[-1], index, tail)

    @staticmethod
    def _tail(chunk: list, key_of: Any, previous_key: tuple | None, previous: list[str]
              ) -> tuple[tuple, list[str]]:
        """The last row's order key and the hashes of every row delivered with it."""
        last = key_of(chunk[-1])
        hashes = []
        for row in reversed(chunk):
            if key_of(row) != last:
                return last, hashes[::-1]
            hashes.append(row_hash(row))
        # the whole chunk shares the key: add what earlier batches delivered with it
        return last, (list(previous) if previous_key == last else []) + hashes[::-1]

    def _keyset_cursor(self, last: Any, index: dict[str, int], tail: list[str]) -> Any:
        cfg = self.config
        if cfg.mode == "full":
            after = {"after_pk": [_encode_value(last[index[n]]) for n in cfg.primary_key],
                     "seen": tail}
            return lambda is_last: None if is_last else after
        cursor = {"cursor": _encode_value(last[index[cfg.cursor_column]]),
                  "pk": [_encode_value(last[index[n]]) for n in cfg.primary_key]}
        if not cfg.overlap:
            cursor["seen"] = tail
        return lambda is_last: cursor

    def _text_chunks(self, rows: Iterator[Any], columns: list[str], state: dict | None
                     ) -> Iterator[tuple[list, list[RowError], Any]]:
        """Batches of a text-cursor read: every row in key order, selected by parsed time."""
        cfg = self.config
        index = {name: i for i, name in enumerate(columns)}
        reader = _TextCursor(cfg, state or {}, index[cfg.cursor_column])
        pk_index = [index[n] for n in cfg.primary_key]
        pending = list(reader.pk_seen)
        chunk: list = []
        errors: list[RowError] = []
        pk_key, pk_tail = reader.after_pk, list(reader.pk_seen)
        yielded = False
        for row in rows:
            key = tuple(row[i] for i in pk_index)
            digest = None
            if pending and key == reader.after_pk:
                digest = row_hash(row)
                if digest in pending:
                    pending.remove(digest)
                    continue
            verdict = reader.take(row, self._ref(row, index), digest)
            if verdict is None:
                continue
            digest = digest or row_hash(row)
            pk_tail = ([*pk_tail, digest] if key == pk_key else [digest])
            pk_key = key
            if isinstance(verdict, RowError):
                errors.append(verdict)
            else:
                chunk.append(row)
            if len(chunk) + len(errors) == cfg.batch_size:
                yield chunk, errors, reader.cursor(key, pk_tail)
                chunk, errors, yielded = [], [], True
        if chunk or errors:
            yield chunk, errors, reader.cursor(pk_key, pk_tail)
        elif not yielded and reader.after_pk is not None:
            # A scan resumed in the middle that finds nothing more still ends: its end moves
            # the cursor to the scan's high water. Without a batch to carry it, the state
            # would stay "in the middle", and every later run would go on from that key and
            # never look at the keys before it again (rows changed there would be lost).
            yield [], [], reader.cursor(pk_key, pk_tail)

    def _ref(self, row: Any, index: dict[str, int]) -> str:
        cfg = self.config
        return f"{cfg.ref_name}#" + ",".join(f"{n}={row[index[n]]}" for n in cfg.primary_key)

    def _batch(self, columns: list[str], rows: Sequence[Any], errors: list[RowError],
               cursor: dict | None, types: list[pa.DataType | None]) -> Batch:
        cfg = self.config
        data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        index = {name: i for i, name in enumerate(columns)}
        if cfg.repair_mislabelled:
            targets = cfg.repair_columns or columns
            for name in targets:
                i = index[name]
                data[i] = tuple(repair_latin1_gbk(v) for v in data[i])
        arrays = [_to_array(col, kind) for col, kind in zip(data, types, strict=True)]
        table = pa.Table.from_arrays(arrays, names=columns)
        refs = [self._ref(row, index) for row in rows]
        if not cfg.unique_key:
            # rows may share a key: the row hash tells them apart
            refs = [f"{ref}@{row_hash(row)[:12]}" for ref, row in zip(refs, rows, strict=True)]
        return Batch(table=table, refs=refs, cursor=cursor, errors=errors)


class _TextCursor:
    """The selection of a text-cursor read (state and the rows it keeps).

    Between runs the state is ``{"since": iso, "seen": [row hashes], "rejected": {ref: hash}}``:
    rows stamped after ``since`` are new, rows stamped exactly ``since`` are new unless their
    hash is in ``seen`` (delivered last time), and a row whose stamp does not parse is a row
    error once (``rejected``) — read again when its value changes, whatever its time. During a
    run the state also holds the scan position (``after_pk`` with ``pk_seen``) and the run's
    high water (``high`` with ``high_seen``).
    """

    def __init__(self, config: SqlSourceConfig, state: dict, cursor_index: int) -> None:
        self.config = config
        self.cursor_index = cursor_index
        self.since = _instant(state.get("since"))
        self.seen = set(state.get("seen") or [])
        self.high = _instant(state.get("high", state.get("since")))
        self.high_seen = list(state.get("high_seen", state.get("seen")) or [])
        self.rejected: dict[str, str] = dict(state.get("rejected") or {})
        self.after_pk = (tuple(_decode_value(v) for v in state["after_pk"])
                         if state.get("after_pk") is not None else None)
        self.pk_seen = list(state.get("pk_seen") or [])
        lower = self.since
        if lower is not None and config.overlap:
            lower = lower - dt.timedelta(seconds=config.overlap)
        # A scan keeps the lower bound it started with: its later chunks resume exactly
        # (without ``overlap``), and would otherwise leave out the overlap's rows keyed after
        # the chunk before (rows committed late, which the overlap is there to catch).
        self.lower = _instant(state["lower"]) if state.get("lower") else lower
        self.window = [_instant(_window_value(v), config.cursor_timezone)
                       if v is not None else None for v in (config.window or (None, None))]

    def take(self, row: Any, ref: str, digest: str | None) -> Any:
        """``True`` to deliver the row, a RowError for a stamp that does not parse, ``None``
        to leave it (already delivered, or outside the window)."""
        cfg = self.config
        value = row[self.cursor_index]
        if value is None:
            return None
        stamp = parse_timestamp(value, cfg.cursor_formats, cfg.cursor_timezone)
        if stamp is None:
            digest = digest or row_hash(row)
            if self.rejected.get(ref) == digest:
                return None   # reported before and unchanged: it is in the quarantine
            self.rejected[ref] = digest
            formats = ", ".join(cfg.cursor_formats) or "ISO 8601 and the common legacy layouts"
            return RowError(ref, f"cursor column {cfg.cursor_column}: {value!r} is not a time "
                                 f"stamp ({formats}); the row is not read until it is fixed",
                            json.dumps([_plain(v) for v in row], ensure_ascii=False,
                                       default=str))
        start, end = self.window
        if (start is not None and stamp < start) or (end is not None and stamp >= end):
            return None
        fixed = self.rejected.pop(ref, None) is not None
        if fixed:
            pass   # a stamp fixed after its rejection: read whatever its time
        elif self.lower is not None and stamp < self.lower:
            return None
        elif not cfg.overlap and stamp == self.since:
            if (digest or row_hash(row)) in self.seen:
                return None
        if self.high is None or stamp > self.high:
            self.high, self.high_seen = stamp, [digest or row_hash(row)]
        elif stamp == self.high:
            self.high_seen.append(digest or row_hash(row))
        return True

    def cursor(self, after_pk: tuple | None, pk_seen: list[str]) -> Any:
        done = {"since": self.high and self.high.isoformat(), "seen": list(self.high_seen),
                "rejected": dict(self.rejected)}
        during = {"since": self.since and self.since.isoformat(), "seen": sorted(self.seen),
                  "high": self.high and self.high.isoformat(),
                  "high_seen": list(self.high_seen), "rejected": dict(self.rejected),
                  "after_pk": None if after_pk is None else [_encode_value(v) for v in after_pk],
                  "pk_seen": list(pk_seen), "lower": self.lower and self.lower.isoformat()}
        return lambda is_last: done if is_last else during


def _instant(value: Any, timezone: str = "UTC") -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(timezone))
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(0), tzinfo=ZoneInfo(timezone))
    raise ConnectorError(f"a text cursor window needs ISO date/time bounds, got {value!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time | dt.timedelta | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _after(columns: list[Any], values: list[Any], inclusive: bool = False) -> Any:
    """Lexicographic ``(c1, c2, ...) > (v1, v2, ...)`` (``>=`` when ``inclusive``), spelled
    portably (no row values)."""
    clauses = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        equal = [columns[j] == values[j] for j in range(i)]
        clauses.append(sa.and_(*equal, column > value))
    if inclusive:
        clauses.append(sa.and_(*(c == v for c, v in zip(columns, values, strict=True))))
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


def _abandon(result: sa.CursorResult, conn: sa.Connection) -> None:
    """Drop a streaming result's connection without reading the rest of its rows."""
    raw = getattr(result, "cursor", None)
    pending = getattr(raw, "_result", None)
    if pending is not None and hasattr(pending, "unbuffered_active"):
        # PyMySQL's SSCursor would read every remaining row on close (and its result's
        # __del__ would try again, printing a traceback, when the connection is gone).
        pending.unbuffered_active = False
        raw._result = None
    conn.invalidate()
