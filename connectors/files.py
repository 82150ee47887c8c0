"""File sources: a department's drop folder of CSV/TSV, Excel (.xlsx/.xls) and JSON/JSONL files.

Every value is read as ``str`` (``None`` only for JSON null). Each file is processed once,
identified by the sha256 of its content; see README.md, "Files", for the state and archive
contract.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import hashlib
import io
import itertools
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.base import Batch, ConnectorError, RowError, lookahead

__all__ = ["FileSource", "FileSourceConfig", "cell_to_str", "decode_bytes"]

Format = Literal["csv", "tsv", "xlsx", "xls", "json", "jsonl"]
_EXTENSIONS: dict[str, Format] = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".xlsx": "xlsx",
                                  ".xlsm": "xlsx", ".xls": "xls", ".json": "json",
                                  ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Excel keeps 15 significant digits: an integral number at or above 1e15 may have lost digits.
_EXACT_LIMIT = 10**15


class FileSourceConfig(BaseModel):
    """A drop folder of one department (one kind of file, same layout)."""

    model_config = ConfigDict(extra="forbid")

    directory: str = Field(description="the drop folder; in a department file, a relative "
                                       "path is relative to that file's folder")
    patterns: list[str] = Field(default_factory=lambda: ["*.csv", "*.tsv", "*.txt", "*.xlsx",
                                                         "*.xls", "*.json", "*.jsonl"],
                                description="glob patterns of files to read, in the folder")
    archive_dir: str | None = Field(None, description="raw copies <sha256>__<name> go here "
                                                      "(relative: to the department file's "
                                                      "folder; default: HUIJU_ARCHIVE_DIR/"
                                                      "<department>/<source>)")
    rejected_dir: str | None = Field(None, description="files that cannot be decoded or parsed "
                                                       "are moved here, each with a "
                                                       "<name>.reason.txt (default: the drop "
                                                       "folder's _rejected/; relative: "
                                                       "to the department file's folder)")
    format: Format | None = Field(None, description="override the format given by the extension")
    encoding: str | None = Field(None, description="text encoding override (default: detect)")
    delimiter: str | None = Field(None, description="CSV delimiter (default , or tab for .tsv)")
    skip_rows: int = Field(0, ge=0, description="instruction rows before the header")
    header_rows: int = Field(1, ge=1, description="header rows, joined with '/' (see README)")
    sheet: str | int | None = Field(None, description="sheet name or 0-based index; default "
                                                       "the first (or give sheets)")
    sheets: str | list[str | int] | None = Field(
        None, description="several sheets: a glob pattern of sheet names (e.g. '*半年') or a list "
                          "of names, 0-based indexes and patterns; the rows of every matched "
                          "sheet, in workbook order, go into the same batches, each source "
                          "reference naming its sheet (default: the first sheet)")
    records_path: str | None = Field(None, description="dot path to the list in a .json file")
    batch_size: int = Field(10_000, gt=0, description="rows per batch at most")

    @model_validator(mode="after")
    def _one_sheet_choice(self) -> FileSourceConfig:
        if self.sheet is not None and self.sheets is not None:
            raise ValueError("give sheet or sheets, not both")
        return self

    @field_validator("patterns")
    @classmethod
    def _inside_the_folder(cls, patterns: list[str]) -> list[str]:
        # A department's folder is a trust boundary: a pattern may not name another folder.
        for pattern in patterns:
            parts = PurePath(pattern).parts
            if PurePath(pattern).is_absolute() or PureWindowsPath(pattern).drive \
                    or ".." in parts or pattern.startswith(("/", "\\", "~")):
                raise ValueError(f"pattern {pattern!r} leaves the drop folder: patterns are "
                                 "relative to `directory` and may not contain '..'")
        return patterns


def _outside(root: Path, path: Path) -> str | None:
    """Why ``path`` must not be read (a link, or a file out of ``root``), else None."""
    if path.is_symlink():
        return "a symbolic link, not followed: a drop folder takes files, not links"
    if not path.resolve().is_relative_to(root):
        return "reached through a linked folder outside the drop folder: not read"
    return None


def decode_bytes(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode a text file: ``encoding`` if given, else UTF-8 (BOM stripped), else GB18030 (a
    superset of GBK and GB2312), else charset-normalizer's best guess. Returns (text, encoding).
    """
    if encoding:
        return data.decode(encoding), encoding
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    mixed = _mixed_lines(data)
    if mixed is not None:
        return mixed, "utf-8/gb18030 by line"
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ConnectorError("cannot detect the text encoding; set `encoding`")
    return str(best), best.encoding


def _mixed_lines(data: bytes) -> str | None:
    """A file whose lines were appended by a UTF-8 and a GBK program: decoded line by line.

    Whole-file GB18030 would "succeed" on such a file and turn its UTF-8 lines into mojibake
    (UTF-8 Chinese is mostly valid GB18030 bytes), so a file with both kinds of line is told
    apart first: a non-ASCII line that is valid UTF-8 is UTF-8 (GBK text almost never is).
    ``None`` when the file is not such a mix.
    """
    lines = data.splitlines(keepends=True)
    kinds = set()
    decoded = []
    for line in lines:
        if line.isascii():
            decoded.append(line.decode("ascii"))
            continue
        try:
            decoded.append(line.decode("utf-8-sig" if not decoded else "utf-8"))
            kinds.add("utf-8")
        except UnicodeDecodeError:
            try:
                decoded.append(line.decode("gb18030"))
            except UnicodeDecodeError:
                return None
            kinds.add("gb18030")
    return "".join(decoded) if kinds == {"utf-8", "gb18030"} else None


def cell_to_str(value: Any) -> str | None:  # noqa: C901 - a flat branch per cell type
    """One spreadsheet/JSON value as the string a person would read in the cell.

    Integral floats below 1e15 become exact integers (``916201001234567.0`` ->
    ``916201001234567``); a larger integral float already lost digits in Excel and is written
    as Excel shows it (``9.16201E+17``) so that validation rejects it. Dates become ISO strings.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            if abs(value) < _EXACT_LIMIT:
                return str(int(value))
            return f"{value:.15G}"
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _header(rows: list[list[str]]) -> list[str]:
    """Join multi-row headers with '/': blanks in an upper row are filled from the left (merged
    cells), empty parts are dropped, repeated parts are kept once, duplicates get ``_2``..."""
    width = max((len(r) for r in rows), default=0)
    filled = []
    for depth, row in enumerate(rows):
        row = [(c or "").strip() for c in row] + [""] * (width - len(row))
        if depth < len(rows) - 1:
            for i in range(1, width):
                if not row[i]:
                    row[i] = row[i - 1]
        filled.append(row)
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        parts: list[str] = []
        for row in filled:
            if row[i] and (not parts or parts[-1] != row[i]):
                parts.append(row[i])
        name = "/".join(parts) or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


class _FileRejected(ConnectorError):
    """This file (not the feed) cannot be decoded or parsed: it is moved aside, the rest load."""


# A record from a file: ("row", ref, [values]) or ("error", ref, RowError)
Record = tuple[str, str, Any]


class _LineFeeder:
    """Feeds physical lines to csv.reader and remembers which lines the current record used, so
    a broken quote can be rewound to the line after it."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.pos = 0
        self.used: list[int] = []

    def __iter__(self) -> _LineFeeder:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.used.append(self.pos)
        self.pos += 1
        return self.lines[self.pos - 1]


class FileSource:
    """Reads every new file of a drop folder, in name order, in bounded batches.

    State: ``{"processed": [sha256, ...], "partial": {"sha256": h, "records": n} | None}``;
    ``partial`` marks a file whose first ``n`` records were already delivered.
    """

    def __init__(self, config: FileSourceConfig) -> None:
        self.config = config
        self.expected: tuple[str, ...] = ()
        self.moves = True   # archive read files, move rejected ones aside

    def look_only(self) -> None:
        """Read without archiving or moving any file (``huiju source check``): the files
        stay as they are for the run that loads them."""
        self.moves = False

    def expect_columns(self, columns: list[str] | tuple[str, ...]) -> None:
        """Columns every file's header must have (the ones the feed's mapping reads).

        A file whose header lacks one (a renamed or misspelt column, a header row cut off) is
        rejected on its own, like an undecodable file, and the other files load; the feed would
        otherwise fail on it, or load empty values over real ones.
        """
        self.expected = tuple(dict.fromkeys(columns))

    def _files(self) -> list[Path]:
        folder = Path(self.config.directory)
        if not folder.is_dir():
            raise ConnectorError(f"drop folder {folder} does not exist or is not a folder")
        found = {p for pattern in self.config.patterns for p in folder.glob(pattern)
                 if p.is_file()}
        return sorted(found, key=lambda p: p.name)

    def check(self) -> None:
        """List the drop folder once; raise ConnectorError when it cannot be read."""
        self._files()

    def read(self, state: dict | None) -> Iterator[Batch]:
        """Yield batches of the files not yet processed, resuming inside a partly read file."""
        processed = list((state or {}).get("processed") or [])
        partial = (state or {}).get("partial")
        done = set(processed)
        root = Path(self.config.directory).resolve()
        for path in self._files():
            refused = _outside(root, path)
            if refused:
                # nothing of what it points to is opened: no other department's file and no
                # system file reaches a message
                digest = hashlib.sha256(f"refused:{path}".encode()).hexdigest()
                if digest not in done:
                    link = path.is_symlink()   # the link itself is moved, never its target
                    yield self._rejection(path, refused, _cursor(processed, digest, 0, True),
                                          moved=link)
                    processed = [*processed, digest]
                    done.add(digest)
                    if link and self.moves:
                        self._set_aside(path, digest, refused)
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in done:
                if processed and processed[-1] == digest and partial is None:
                    # the batch that finished this file was the last a run took (a chunk
                    # ended there) and is committed: the archive copy is due now
                    self._archive(path, digest)
                continue
            skip = partial["records"] if partial and partial.get("sha256") == digest else 0
            rejected = yield from self._read_file(path, data, digest, processed, skip)
            processed = [*processed, digest]
            done.add(digest)
            # The caller resumed us: it has committed the file's last batch. Archive (or move
            # a rejected file aside) now; a crash before this point re-processes the file
            # instead of losing it.
            if not self.moves:
                continue
            if rejected is None:
                self._archive(path, digest)
            else:
                self._set_aside(path, digest, rejected)

    def _rejection(self, path: Path, reason: str, cursor: dict, moved: bool = True) -> Batch:
        """The batch recording that ``path`` is rejected as a whole: one ``<name>:file`` row
        error and a warning, both naming the file and the reason (never its contents).
        ``moved``: the file is set aside once the batch commits (else it stays, unread)."""
        where = f", moved to {self._rejected_dir()}" if moved else ""
        message = f"file rejected{where}: {reason}"
        return Batch(table=pa.table({}), refs=[], cursor=cursor,
                     errors=[RowError(f"{path.name}:file", message, None)],
                     warnings=[f"{path.name}: {message}"])

    def _archive(self, path: Path, digest: str) -> None:
        if self.config.archive_dir:
            target = Path(self.config.archive_dir) / f"{digest}__{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copy2(path, target)

    def _rejected_dir(self) -> Path:
        return Path(self.config.rejected_dir or Path(self.config.directory) / "_rejected")

    def _set_aside(self, path: Path, digest: str, reason: str) -> None:
        """Move a rejected file (or link: the link itself) out of the drop folder, with its
        reason beside it in ``<name>.reason.txt``. Called once the rejection is committed."""
        folder = self._rejected_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if target.exists() or target.is_symlink():
            target = folder / f"{digest[:12]}__{path.name}"
        target.with_name(target.name + ".reason.txt").write_text(
            f"{path.name} (sha256 {digest}) was rejected: {reason}\n", encoding="utf-8")
        if path.is_symlink():
            os.rename(path, target)
        else:
            shutil.move(str(path), target)

    def _read_file(self, path: Path, data: bytes, digest: str, processed: list[str],
                   skip: int) -> Iterator[Batch]:
        """Yield the file's batches; returns the reason when the file itself is rejected."""
        fmt = self.config.format or _EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise ConnectorError(f"{path.name}: unknown file type; set `format`")
        try:
            columns, records = self._parse(path, data, fmt)
            chunks = lookahead(_chunks(records, self.config.batch_size, skip))
            # the first chunk parses what a format parses up front (a .json document)
            first = next(chunks, None)
        except _FileRejected as error:
            yield self._rejection(path, str(error), _cursor(processed, digest, 0, True))
            return str(error)
        except ConnectorError as error:   # the feed's configuration does not fit: fail the feed
            raise ConnectorError(f"{path.name}: {error}") from error
        # An empty export is warned about below, not rejected: a blank text file, an empty
        # workbook or JSON list. Text with an unreadable header row has content: rejected.
        if fmt in ("csv", "tsv"):
            content = bool(data.strip())
        else:
            content = bool(columns()) or first is not None
        lacking = self._lacking(columns(), content)
        if lacking:
            yield self._rejection(path, lacking, _cursor(processed, digest, 0, True))
            return lacking
        count = 0
        if first is None:
            kind = "empty file" if not data.strip() else "no data rows (header only)"
            yield _to_batch(columns(), [], _cursor(processed, digest, skip, True),
                            [f"{path.name}: {kind} — a failed export? nothing was loaded "
                             "from it"] if not skip else [])
            return None
        for chunk, is_last in itertools.chain([first], chunks):
            count += len(chunk)
            yield _to_batch(columns(), chunk, _cursor(processed, digest, skip + count, is_last))
        return None

    def _lacking(self, header: list[str], content: bool) -> str | None:
        """Why a file with ``header`` cannot be loaded: it lacks expected columns (None: it
        has them all, or it is an empty export — no ``content`` — warned about instead).
        Names the missing columns only: the damaged header itself may be any bytes."""
        missing = [c for c in self.expected if c not in header] if content else []
        if not missing:
            return None
        return (f"the header lacks the mapped column(s) {', '.join(missing)} "
                f"({len(header)} column(s) read) — a renamed or misspelt column, or a damaged "
                "or cut header row? nothing was loaded from this file")

    def _decode(self, data: bytes) -> str:
        try:
            return decode_bytes(data, self.config.encoding)[0]
        except UnicodeDecodeError as error:
            raise _FileRejected(f"cannot decode with encoding {self.config.encoding!r}: "
                                f"{error}") from error
        except LookupError as error:   # an unknown encoding name: the feed's configuration
            raise ConnectorError(f"unknown encoding {self.config.encoding!r}") from error
        except ConnectorError as error:
            raise _FileRejected(str(error)) from error

    def _parse(self, path: Path, data: bytes, fmt: Format):
        if fmt in ("csv", "tsv"):
            return self._parse_csv(path.name, data, "\t" if fmt == "tsv" else ",")
        if fmt in ("xlsx", "xls"):
            return self._parse_excel(path, data)
        return self._parse_json(path.name, data, fmt)

    # -- CSV ----------------------------------------------------------------------------
    def _parse_csv(self, name: str, data: bytes, default_delimiter: str):
        text = self._decode(data)
        feeder = _LineFeeder(io.StringIO(text, newline="").readlines())
        reader = csv.reader(feeder, delimiter=self.config.delimiter or default_delimiter,
                            strict=True)
        header: list[str] = []

        def records() -> Iterator[Record]:
            nonlocal header
            leading: list[list[str]] = []
            while True:
                feeder.used = []
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    first = feeder.used[0] if feeder.used else feeder.pos - 1
                    feeder.pos = first + 1
                    if not header:
                        leading.append([])
                    else:
                        yield "error", f"{name}:line {first + 1}", RowError(
                            f"{name}:line {first + 1}", f"unreadable CSV row: {error}",
                            feeder.lines[first].rstrip("\r\n"))
                    continue
                first = feeder.used[0]
                if not header:
                    leading.append(row)
                    if len(leading) == self.config.skip_rows + self.config.header_rows:
                        header = _header(leading[self.config.skip_rows:])
                    continue
                if not row or row == [""]:
                    continue
                ref = f"{name}:line {first + 1}"
                if len(row) != len(header):
                    raw = "".join(feeder.lines[i] for i in feeder.used).rstrip("\r\n")
                    if len(feeder.used) > 1:
                        feeder.pos = first + 1   # an unclosed quote swallowed the lines after it
                        raw = feeder.lines[first].rstrip("\r\n")
                        message = "unbalanced quote: the field never closes on this line"
                    else:
                        message = f"{len(row)} fields where the header has {len(header)}"
                    yield "error", ref, RowError(ref, message, raw)
                    continue
                yield "row", ref, row

        return (lambda: header), records()

    # -- Excel --------------------------------------------------------------------------
    def _sheet_names(self, book) -> list[str]:
        """The sheets to read, in workbook order: ``sheets`` (names, 0-based indexes or glob
        patterns), else ``sheet``, else the first sheet."""
        names = list(book.sheet_names)
        wanted = self.config.sheets
        if wanted is None:
            wanted = [self.config.sheet if self.config.sheet is not None else 0]
        elif isinstance(wanted, str):
            wanted = [wanted]
        chosen: set[str] = set()
        for item in wanted:
            if isinstance(item, int):
                if not 0 <= item < len(names):
                    raise ConnectorError(f"no sheet number {item} (0-based); the workbook has "
                                         f"{len(names)}: {', '.join(names)}")
                chosen.add(names[item])
                continue
            found = [n for n in names if n == item or fnmatch.fnmatchcase(n, item)]
            if not found:
                raise ConnectorError(f"no sheet named or matching {item!r}; the workbook has: "
                                     f"{', '.join(names)}")
            chosen.update(found)
        return [n for n in names if n in chosen]

    def _parse_excel(self, path: Path, data: bytes):
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except (CalamineError, ValueError, OSError) as error:
            raise _FileRejected(f"cannot read the workbook: {type(error).__name__}: "
                                f"{error}") from error
        sheet_names = self._sheet_names(book)
        header: list[str] = []          # the union of the sheets' headers, in order of appearance
        index: dict[str, int] = {}
        first = self.config.skip_rows + self.config.header_rows

        def sheet_rows(name: str) -> list:
            try:   # one sheet in memory at a time
                return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except (CalamineError, ValueError, OSError, IndexError, KeyError) as error:
                raise ConnectorError(f"cannot read sheet {name!r}: {type(error).__name__}: "
                                     f"{error}") from error

        def records() -> Iterator[Record]:
            for name in sheet_names:
                rows = sheet_rows(name)
                own = _header([[cell_to_str(c) or "" for c in r]
                               for r in rows[self.config.skip_rows:first]])
                for column in own:
                    if column not in index:
                        index[column] = len(header)
                        header.append(column)
                positions = [index[column] for column in own]
                label = f"{path.name}:sheet {name}"
                for number, row in enumerate(rows[first:], start=first + 1):
                    values = [cell_to_str(c) for c in row]
                    if not any(values):
                        continue
                    values = (values + [""] * len(own))[:len(own)]
                    out: list[str | None] = [None] * len(header)
                    for position, value in zip(positions, values, strict=True):
                        out[position] = value
                    yield "row", f"{label} row {number}", out

        return (lambda: header), records()

    # -- JSON ---------------------------------------------------------------------------
    def _parse_json(self, name: str, data: bytes, fmt: Format):  # noqa: C901 - one pass over a JSON export
        text = self._decode(data)
        header: list[str] = []
        index: dict[str, int] = {}

        def as_row(obj: dict) -> list[str | None]:
            for key in obj:
                if key not in index:
                    index[key] = len(header)
                    header.append(key)
            row: list[str | None] = [None] * len(header)
            for key, value in obj.items():
                row[index[key]] = cell_to_str(value)
            return row

        def records() -> Iterator[Record]:
            if fmt == "jsonl":
                for number, line in enumerate(text.splitlines(), start=1):
                    if not line.strip():
                        continue
                    ref = f"{name}:line {number}"
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as error:
                        yield "error", ref, RowError(ref, f"bad JSON: {error}", line)
                        continue
                    if not isinstance(obj, dict):
                        yield "error", ref, RowError(ref, "not a JSON object", line)
                        continue
                    yield "row", ref, as_row(obj)
                return
            try:
                document = json.loads(text)
            except json.JSONDecodeError as error:
                raise _FileRejected(f"bad JSON: {error}") from error
            for part in (self.config.records_path or "").split("."):
                if part:
                    document = document.get(part) if isinstance(document, dict) else None
            if not isinstance(document, list):
                raise _FileRejected(f"no list of records at {self.config.records_path!r}")
            for number, obj in enumerate(document, start=1):
                ref = f"{name}:record {number}"
                if isinstance(obj, dict):
                    yield "row", ref, as_row(obj)
                else:
                    yield "error", ref, RowError(ref, "not a JSON object", json.dumps(obj))

        return (lambda: header), records()


def _chunks(records: Iterator[Record], size: int, skip: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for i, record in enumerate(records):
        if i < skip:
            continue
        chunk.append(record)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cursor(processed: list[str], digest: str, records: int, file_done: bool) -> dict:
    if file_done:
        return {"processed": [*processed, digest], "partial": None}
    return {"processed": list(processed), "partial": {"sha256": digest, "records": records}}


def _to_batch(header: list[str], chunk: list[Record], cursor: dict,
              warnings: list[str] | None = None) -> Batch:
    rows = [(ref, values) for kind, ref, values in chunk if kind == "row"]
    errors = [err for kind, _, err in chunk if kind == "error"]
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    for _, values in rows:
        values = list(values) + [None] * (width - len(values))
        for i in range(width):
            columns[i].append(values[i])
    table = pa.Table.from_arrays([pa.array(c, type=pa.string()) for c in columns], names=header)
    return Batch(table=table, refs=[ref for ref, _ in rows], cursor=cursor, errors=errors,
                 warnings=list(warnings or []))
