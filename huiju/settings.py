"""Runtime settings, read from the environment when a command or task runs (never at import).

| variable | meaning | default |
|---|---|---|
| HUIJU_HOME | base folder for relative defaults below | the current directory |
| HUIJU_DEPARTMENTS_DIR | folder of department YAML files | departments/ |
| HUIJU_WAREHOUSE_URL | warehouse SQLAlchemy URL | embedded: sqlite:///var/warehouse/huiju.db |
| HUIJU_STAGING_DIR | where tasks hand Parquet files to each other | var/staging |
| HUIJU_ARCHIVE_DIR | raw copies of processed department files | var/archive |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    departments_dir: Path
    warehouse_url: str
    staging_dir: Path
    archive_dir: Path


def load_settings() -> Settings:
    home = Path(os.environ.get("HUIJU_HOME") or Path.cwd()).resolve()

    def path(variable: str, default: str) -> Path:
        value = Path(os.environ.get(variable) or default)
        return value if value.is_absolute() else home / value

    default_url = f"sqlite:///{home / 'var' / 'warehouse' / 'huiju.db'}"
    return Settings(
        home=home,
        departments_dir=path("HUIJU_DEPARTMENTS_DIR", "departments"),
        warehouse_url=os.environ.get("HUIJU_WAREHOUSE_URL") or default_url,
        staging_dir=path("HUIJU_STAGING_DIR", "var/staging"),
        archive_dir=path("HUIJU_ARCHIVE_DIR", "var/archive"),
    )
