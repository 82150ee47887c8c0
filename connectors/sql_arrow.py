"""SQL sources read through connectorx straight into Arrow, with the values of ``connectors.sql``.

The pipeline's SQL extract for MariaDB/MySQL and PostgreSQL (issue 15; ``fastest`` picks it,
``huiju.pipeline.extract`` asks): the same config, statements, batches, refs and cursors as
:class:`connectors.sql.SqlSource`, but the rows come from connectorx's Rust readers as Arrow
record batches instead of PyMySQL/psycopg Python tuples. Rows tied on the whole keyset order
resume exactly as there (the cursor's ``seen`` row hashes, ``_Ties``; on MariaDB the very
hashes SqlSource writes, on PostgreSQL this reader's own, so the first read after a switch of
reader may deliver the rows tied at its boundary once more — unchanged, so loaded as such).
What it cannot read the same way — a text cursor column, a column without an exact Arrow form
(below), ``repair_mislabelled``, SQLite and other servers — goes through ``SqlSource``
(``fallback``). Status and source checks still profile through ``SqlSource``.

**Same canonical values.** A row's ``_source_hash`` is the sha256 of its canonical JSON,
built from each column's text and kind (``huiju.mapping``). If this reader gave a column
another text, every row would look changed once after the switch. So each column is read in
the form the driver path reads it and cast to the Arrow type that path produces
(``tests/integration/test_sql_arrow.py`` compares both readers' hashes over every column
type):

- MySQL ``DECIMAL(p,s)``: the driver reads the exact text as ``decimal128(p,s)``; here
  ``CAST(… AS CHAR)`` cast to the declared type (connectorx's own decimal is (38,10), and it
  panics past 28 digits).
- MySQL ``FLOAT``: the driver reads the server's text (6 significant digits) as a float; here
  the text protocol's float32, printed shortest (the same digits), read as float64.
- MySQL ``DOUBLE``: the server's text as a float64 on both paths (text protocol).
- MySQL ``TIME``: the driver's ``timedelta`` is ``duration[us]`` (negative and > 24 h too);
  here ``TIME_TO_SEC(…) * 1000000`` as an integer, cast to ``duration[us]``.
- MySQL integers (``TINYINT(1)`` too, which connectorx makes bool): ``int64``.
- ``DATETIME``/``TIMESTAMP``/``timestamp``: naive ``timestamp[us]``.
- PostgreSQL ``numeric``: ``…::text`` cast to the declared type; an unconstrained
  ``numeric`` becomes Python Decimals, typed by Arrow as the driver path's are.
- PostgreSQL ``real``: ``…::text`` (the server's shortest text, which psycopg parses) as
  float64.
- Dates, strings, ``ENUM``, MySQL ``JSON``, ``BLOB``/``bytea``, PostgreSQL ``boolean`` and
  ``double precision``, NULLs: as connectorx reads them (an all-NULL column is Arrow's null
  type, as on the driver path).

Not supported (``ConnectorError`` naming the column): PostgreSQL ``json``/``jsonb``, ``uuid``,
``interval``, ``timetz``, arrays — the driver path turns them into Python objects with no
stable Arrow form — and a MySQL ``TIME`` as a cursor or key column.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from connectors.base import Batch, ConnectorError, lookahead
from connectors.sql import (
    SqlSource,
    SqlSourceConfig,
    _declared_types,
    _decode_value,
    _encode_value,
)
from connectors.timestamps import row_hash

__all__ = ["ArrowSqlSource", "fastest"]

# Rows per query of one read (``ArrowSqlSource._pages``): a chunk of a first load reads 50,000.
PAGE_ROWS = 100_000

# PyMySQL FIELD_TYPE codes
_MY_DECIMAL = {0, 246}
_MY_FLOAT, _MY_DOUBLE, _MY_TIME = 4, 5, 11
_MY_INTEGERS = {1, 2, 3, 8, 9, 13}   # TINYINT (also TINYINT(1), which connectorx makes bool) … YEAR
# PostgreSQL type OIDs
_PG_NUMERIC, _PG_REAL = 1700, 700
_PG_UNSUPPORTED = {114: "json", 3802: "jsonb", 2950: "uuid", 1186: "interval", 1266: "timetz",
                   790: "money"}


class ArrowSqlSource:
    """Reads one table or query of a MariaDB/MySQL or PostgreSQL database with connectorx.

    Same config, batches (``batch_size`` rows), refs and cursor state as ``SqlSource``, so
    either can resume the other's cursor.
    """

    def __init__(self, config: SqlSourceConfig, url: str | None = None, *,
                 fallback: bool = False) -> None:
        """``fallback``: read a table with a column this reader cannot type (PostgreSQL
        ``json``, a MySQL ``TIME`` key, …) or a text cursor through ``SqlSource`` instead of
        refusing it (the pipeline's choice; see :func:`fastest`)."""
        if config.repair_mislabelled:
            raise ConnectorError(f"{config.ref_name}: repair_mislabelled needs the driver "
                                 "path (connectors.sql)")
        self.config = config
        self._rows = SqlSource(config, url)   # URL, statements and error wording
        self._fallback = fallback

    def check(self) -> None:
        """Connect once; ConnectorError if the source cannot be read."""
        self._rows.check()

    def close(self) -> None:
        """Release the source's connections."""
        self._rows.close()

    def read(self, state: dict | None) -> Iterator[Batch]:
        """Yield batches as SqlSource does, read through connectorx as Arrow."""
        try:
            import connectorx
        except ImportError as error:
            raise ConnectorError(f"{self.config.ref_name}: the Arrow extract needs connectorx "
                                 "(dev/bench dependency groups)") from error
        engine, url = self._rows._engine_for()
        backend = url.get_backend_name()
        if backend not in ("mysql", "mariadb", "postgresql"):
            raise ConnectorError(f"{self.config.ref_name}: the Arrow extract reads MySQL and "
                                 f"PostgreSQL, not {backend}")
        if self._rows._text_cursor():
            if self._fallback:
                yield from self._rows.read(state)
                return
            raise ConnectorError(f"{self.config.ref_name}: the Arrow extract reads typed cursor "
                                 "columns only; a text cursor column is parsed by SqlSource")
        try:
            plan = self._plan(engine, self._rows._statement(state, text_cursor=False), backend)
        except _Untyped:
            if self._fallback:
                yield from self._rows.read(state)
                return
            raise
        for (table, seen), is_last in lookahead(self._pages(connectorx, engine, url, plan,
                                                            state)):
            yield self._batch(table, is_last, seen)

    def _pages(self, connectorx: Any, engine: sa.Engine, url: sa.URL, plan: list,
               state: dict | None) -> Iterator[tuple[pa.Table, list[str]]]:
        """The rows after ``state`` in order, read ``PAGE_ROWS`` at a time, each non-empty
        table with the hashes of the rows delivered so far with its last row's order key.

        A page is a query with ``LIMIT``: without one the server sorts everything after the
        cursor (MariaDB chose a full scan and a filesort of the rest of a 4M-row table for
        every chunk, which only reads 50,000 rows of it), with one it walks the cursor's index.
        Each page resumes after the last row delivered exactly as the next run would (the
        order key inclusively, dropping the tied rows delivered), without any ``overlap``; a
        page that held only such rows (more tied on one key than a page) is read again, twice
        as large.
        """
        rows, config = self._rows, self.config
        kinds = [(name, kind) for name, _, kind in plan]
        protocol = "text" if url.get_backend_name() != "postgresql" else "cursor"
        exact, limit = False, PAGE_ROWS   # exact: a later page, resumed without the overlap
        while True:
            try:
                select = rows._statement(state, text_cursor=False, exact=exact).with_only_columns(
                    *(expression for _, expression, _ in plan), maintain_column_froms=True)
                sql = str(select.limit(limit).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
            except sa.exc.SQLAlchemyError as error:
                raise rows._error("cannot read from", url, error) from None
            try:
                reader = connectorx.read_sql(_cx_url(url), sql, return_type="arrow_stream",
                                             protocol=protocol, batch_size=config.batch_size)
            except Exception as error:  # noqa: BLE001 - connectorx raises RuntimeError/panics
                raise rows._error("cannot read from", url, error) from None
            ties = _Ties(cfg=config.model_copy(update={"overlap": 0}) if exact else config,
                         state=state)
            read, last = 0, None
            for record_batch in _batches(reader, lambda error: rows._error(
                    "cannot read from", url, error)):
                read += record_batch.num_rows
                table = ties.drop_seen(_normalise(record_batch, kinds))
                if table.num_rows:
                    last = table
                    yield table, ties.tail(table)
            if read < limit:
                return
            if last is None:   # a whole page of tied rows delivered before: a larger page
                limit *= 2
                continue
            after = self._after(last, ties.tail_hashes)
            if after == state:   # a page must move the read on; never loop on one
                raise ConnectorError(f"{config.ref_name}: the read did not move past "
                                     f"{after.get('cursor', after.get('after_pk'))}")
            state, exact, limit = after, True, PAGE_ROWS

    def _after(self, table: pa.Table, seen: list[str], keep_seen: bool = True) -> dict:
        """The state of a read resumed after ``table``'s last row: its order key and the
        hashes of the rows delivered with that key (``seen``, unless ``keep_seen`` is False:
        a read with an ``overlap`` re-reads a window instead)."""
        cfg, last = self.config, table.num_rows - 1
        pk = [_encode_value(table.column(n)[last].as_py()) for n in cfg.primary_key]
        state = {"after_pk": pk} if cfg.mode == "full" else {
            "cursor": _encode_value(table.column(cfg.cursor_column)[last].as_py()), "pk": pk}
        if keep_seen:
            state["seen"] = list(seen)
        return state

    # -- reading plan ---------------------------------------------------------------------
    def _plan(self, engine: sa.Engine, stmt: sa.Select,
              backend: str) -> list[tuple[str, Any, Any]]:
        """Per column: (name, select expression, what to cast the Arrow column to)."""
        with engine.connect() as conn:
            result = conn.execute(stmt.limit(0))
            description = result.cursor.description
            declared = _declared_types(result)
            result.close()
        quote = engine.dialect.identifier_preparer.quote
        cfg = self.config
        keys = {*cfg.primary_key, *([cfg.cursor_column] if cfg.cursor_column else [])}
        plan = []
        for column, kind in zip(description, declared, strict=True):
            name, code = column[0], column[1]
            ident = quote(name)
            if backend == "postgresql":
                if code in _PG_UNSUPPORTED:
                    raise _Untyped(f"{cfg.ref_name}: column {name!r} is "
                                         f"{_PG_UNSUPPORTED[code]}: read it with the driver "
                                         "path (connectors.sql)")
                if code == _PG_NUMERIC:
                    plan.append((name, sa.literal_column(f"{ident}::text").label(name),
                                 kind or "decimal"))
                elif code == _PG_REAL:
                    plan.append((name, sa.literal_column(f"{ident}::text").label(name),
                                 pa.float64()))
                else:
                    plan.append((name, sa.literal_column(ident), None))
                continue
            if code in _MY_DECIMAL:
                plan.append((name, sa.literal_column(f"CAST({ident} AS CHAR)").label(name),
                             kind or "decimal"))
            elif code == _MY_FLOAT:
                plan.append((name, sa.literal_column(ident), "float32-text"))
            elif code == _MY_TIME:
                if name in keys:
                    raise _Untyped(f"{cfg.ref_name}: a TIME key or cursor column "
                                         f"({name!r}) needs the driver path")
                micros = f"CAST(TIME_TO_SEC({ident}) * 1000000 AS SIGNED)"
                plan.append((name, sa.literal_column(micros).label(name), pa.duration("us")))
            elif code in _MY_INTEGERS:
                plan.append((name, sa.literal_column(ident), pa.int64()))
            elif code == _MY_DOUBLE:
                plan.append((name, sa.literal_column(ident), pa.float64()))
            else:
                plan.append((name, sa.literal_column(ident), None))
        return plan

    def _batch(self, table: pa.Table, is_last: bool, seen: list[str]) -> Batch:
        cfg = self.config
        missing = [n for n in [*cfg.primary_key, cfg.cursor_column]
                   if n and n not in table.column_names]
        if missing:
            raise ConnectorError(f"{cfg.ref_name}: columns {missing} not in the result "
                                 f"(have {table.column_names})")
        keys = [table.column(n).to_pylist() for n in cfg.primary_key]
        refs = [f"{cfg.ref_name}#" + ",".join(f"{n}={v}" for n, v in zip(cfg.primary_key, key,
                                                                          strict=True))
                for key in zip(*keys, strict=True)]
        cursor = None if not table.num_rows or (cfg.mode == "full" and is_last) else \
            self._after(table, seen, keep_seen=cfg.mode == "full" or not cfg.overlap)
        return Batch(table=table, refs=refs, cursor=cursor)


class _Ties:
    """Exact resumption across rows tied on the whole order key, as ``SqlSource`` does it.

    The cursor names the last row delivered (its order key: cursor column and primary key)
    and the row hashes (``row_hash`` of its values, as the driver path computes them) of every
    row delivered with exactly that key; a read resumes at that key inclusively and drops
    those rows. On a table whose key is unique only the last row has that key, so this costs
    one hash per batch.
    """

    def __init__(self, cfg: SqlSourceConfig, state: dict | None) -> None:
        full = cfg.mode == "full"
        self.order = ([] if full else [cfg.cursor_column]) + list(cfg.primary_key)
        self.boundary: tuple | None = None
        seen: list[str] = []
        if state and not (cfg.mode == "incremental" and cfg.overlap):
            if full and state.get("after_pk") is not None and "seen" in state:
                self.boundary = tuple(_decode_value(v) for v in state["after_pk"])
            elif not full and state.get("cursor") is not None and "seen" in state:
                self.boundary = tuple(_decode_value(v) for v in
                                      [state["cursor"], *(state.get("pk") or [])])
            seen = list(state.get("seen") or [])
        self.pending = list(seen)   # delivered rows of the boundary key still to drop
        self.tail_key, self.tail_hashes = self.boundary, list(seen)

    def _key(self, table: pa.Table, row: int) -> tuple:
        return tuple(table.column(name)[row].as_py() for name in self.order)

    def drop_seen(self, table: pa.Table) -> pa.Table:
        """``table`` without the rows of the boundary key delivered before (they lead)."""
        if not self.pending:
            return table
        drop = []
        for row in range(table.num_rows):
            if self._key(table, row) != self.boundary:
                self.pending = []   # past the boundary key: nothing more to drop
                break
            digest = _row_hash(table, row)
            if digest in self.pending:
                self.pending.remove(digest)
                drop.append(row)
        if not drop:
            return table
        keep = pa.array(sorted(set(range(table.num_rows)) - set(drop)), type=pa.int64())
        return table.take(keep)

    def tail(self, table: pa.Table) -> list[str]:
        """The hashes of every row delivered so far with the last row's order key."""
        last = self._key(table, table.num_rows - 1)
        hashes = []
        for row in range(table.num_rows - 1, -1, -1):
            if self._key(table, row) != last:
                break
            hashes.append(_row_hash(table, row))
        else:   # the whole table shares the key: add what earlier batches delivered with it
            if self.tail_key == last:
                hashes.extend(reversed(self.tail_hashes))
        self.tail_key, self.tail_hashes = last, hashes[::-1]
        return list(self.tail_hashes)


def _row_hash(table: pa.Table, row: int) -> str:
    """``row_hash`` of one row's values, as the driver path's tuple gives them."""
    return row_hash([column[row].as_py() for column in table.columns])


def _cx_url(url: sa.URL) -> str:
    """The SQLAlchemy URL as connectorx spells it (no driver, no driver options)."""
    scheme = "postgresql" if url.get_backend_name() == "postgresql" else "mysql"
    return url.set(drivername=scheme, query={}).render_as_string(hide_password=False)


def _batches(reader: Any, wrap: Any) -> Iterator[pa.RecordBatch]:
    """The reader's non-empty batches; a failure while streaming (the server dropped the
    connection) as the ConnectorError ``wrap`` makes of it, naming the source."""
    while True:
        try:
            batch = next(reader)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - connectorx raises RuntimeError/panics
            raise wrap(error) from None
        if batch.num_rows:
            yield batch


class _Untyped(ConnectorError):
    """A column this reader has no exact Arrow form for: the driver path reads it."""


def fastest(source: SqlSource) -> SqlSource | ArrowSqlSource:
    """The reader the pipeline uses for ``source``: connectorx where it gives the same values
    (MariaDB/MySQL and PostgreSQL, typed columns), else ``source`` itself (SQLite, other
    servers, ``repair_mislabelled``, connectorx not installed). Decided per read: a text cursor
    column or a column without an exact Arrow form goes through ``SqlSource``."""
    config = source.config
    if config.repair_mislabelled:
        return source
    try:
        import connectorx  # noqa: F401
    except ImportError:
        return source
    try:
        _, url = source._engine_for()
    except ConnectorError:
        return source   # read() reports it as SqlSource does
    if url.get_backend_name() not in ("mysql", "mariadb", "postgresql"):
        return source
    return ArrowSqlSource(config, source._url, fallback=True)


def _normalise(batch: pa.RecordBatch, kinds: list[tuple[str, Any]]) -> pa.Table:
    """Cast each column to the Arrow type the driver path gives it (see the module doc)."""
    arrays = []
    for (_, kind), column in zip(kinds, batch.columns, strict=True):
        arrays.append(_normalise_column(column, kind))
    return pa.Table.from_arrays(arrays, names=[name for name, _ in kinds])


def _normalise_column(column: pa.Array, kind: Any) -> pa.Array:  # noqa: C901 - one branch per column type
    if column.null_count == len(column):
        # the driver path has no values to type the column by: Arrow's null type
        return pa.nulls(len(column))
    if kind == "decimal":  # undeclared precision: let Python Decimals decide, as the driver path
        return pa.array([None if v is None else decimal.Decimal(v)
                         for v in column.cast(pa.string()).to_pylist()])
    if kind == "float32-text":
        # the server sent at most 6 significant digits; float32's shortest text gives them back
        if pa.types.is_floating(column.type):
            column = column.cast(pa.float32()).cast(pa.string())
        return column.cast(pa.float64())
    if kind is not None:
        return column.cast(kind)
    kind = column.type
    if pa.types.is_integer(kind):
        return column.cast(pa.int64())
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            column = pc.local_timestamp(column)
        return column.cast(pa.timestamp("us"))
    if pa.types.is_time(kind):
        return column.cast(pa.time64("us"))
    if pa.types.is_date(kind):
        return column.cast(pa.date32())
    if pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_large_binary(kind):
        return column.cast(pa.binary())
    return column

