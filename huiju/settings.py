"""Runtime settings, read from the environment when a command or task runs (never at import).

| variable | meaning | default |
|---|---|---|
| HUIJU_HOME | base folder for relative defaults below | the current directory |
| HUIJU_DEPARTMENTS_DIR | folder of department YAML files | departments/ |
| HUIJU_WAREHOUSE_URL | warehouse SQLAlchemy URL | embedded: var/warehouse/huiju.db |
| HUIJU_STAGING_DIR | where tasks hand Parquet files to each other | var/staging |
| HUIJU_ARCHIVE_DIR | raw copies of processed department files | var/archive |

This is the one settings path: every command and task reads it. The home and the default
warehouse are decided by ``warehouse.engine`` (``huiju_home``, ``warehouse_url``), which an
engine created without a URL asks too — so a command run from any directory finds the same
warehouse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warehouse.engine import huiju_home, warehouse_url


@dataclass(frozen=True)
class Settings:
    """Where Huiju's files and warehouse are, resolved once for a command or task."""

    home: Path
    departments_dir: Path
    warehouse_url: str
    staging_dir: Path
    archive_dir: Path


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
    )

