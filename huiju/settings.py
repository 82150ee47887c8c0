"""Runtime settings, read from the environment when a command or task runs (never at import).

| variable | meaning | default |
|---|---|---|
| HUIJU_HOME | base folder for relative defaults below | the current directory |
| HUIJU_DEPARTMENTS_DIR | folder of department YAML files | departments/ |
| HUIJU_WAREHOUSE_URL | warehouse SQLAlchemy URL | embedded: var/warehouse/huiju.db |
| HUIJU_STAGING_DIR | where tasks hand Parquet files to each other | var/staging |
| HUIJU_ARCHIVE_DIR | raw copies of processed department files | var/archive |
| HUIJU_CHUNK_ROWS | rows a run holds at once: each chunk is its own batch | 50000 |
| HUIJU_CHUNK_BYTES | source bytes a run holds at once (a chunk ends at either bound) | 128 MiB |
| HUIJU_VALIDATION_ENGINE | what runs the suites: ``vectorised`` or ``gx`` | vectorised |

This is the one settings path: every command and task reads it. The home and the default
warehouse are decided by ``warehouse.engine`` (``huiju_home``, ``warehouse_url``), which an
engine created without a URL asks too — so a command run from any directory finds the same
warehouse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from expectations import ENGINE_ENV, ENGINES
from warehouse.engine import huiju_home, warehouse_url


@dataclass(frozen=True)
class Settings:
    """Where Huiju's files and warehouse are, resolved once for a command or task."""

    home: Path
    departments_dir: Path
    warehouse_url: str
    staging_dir: Path
    archive_dir: Path
    # A run reads, maps, validates and loads at most this much at once, each chunk committed
    # as its own batch with its cursor; the run goes on until the source is drained.
    chunk_rows: int = 50_000
    chunk_bytes: int = 128 * 2**20
    # expectations.validate.ENGINES: both fail the same rows; GX itself costs a quarter of a
    # first load's client CPU and 1.9 s of import.
    validation_engine: str = "vectorised"


def load_settings(*, url: str | None = None) -> Settings:
    """The settings from the environment; ``url`` (a command's ``--url``) names the warehouse."""
    home = huiju_home()

    def path(variable: str, default: str) -> Path:
        value = Path(os.environ.get(variable) or default)
        return value if value.is_absolute() else home / value

    return Settings(
        home=home,
        departments_dir=path("HUIJU_DEPARTMENTS_DIR", "departments"),
        warehouse_url=warehouse_url(url),
        staging_dir=path("HUIJU_STAGING_DIR", "var/staging"),
        archive_dir=path("HUIJU_ARCHIVE_DIR", "var/archive"),
        chunk_rows=_positive("HUIJU_CHUNK_ROWS", Settings.chunk_rows),
        chunk_bytes=_positive("HUIJU_CHUNK_BYTES", Settings.chunk_bytes),
        validation_engine=_engine(),
    )


def _engine() -> str:
    """The validation engine HUIJU_VALIDATION_ENGINE names (``vectorised`` unless set)."""
    value = os.environ.get(ENGINE_ENV) or Settings.validation_engine
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV} must be one of {', '.join(ENGINES)}, got {value!r}")
    return value


def _positive(variable: str, default: int) -> int:
    """A whole number > 0 from the environment variable ``variable``, else ``default``."""
    value = os.environ.get(variable)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{variable} must be a whole number above 0, got {value!r}")
    return number

