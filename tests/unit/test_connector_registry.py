"""The registry of connector kinds (``connectors.registry``) drives loading and opening."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from connectors import registry
from connectors.files import FileSource, FileSourceConfig
from huiju.departments import DepartmentConfigError, load_department
from huiju.pipeline import open_connector
from huiju.settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "departments"


def _lz(tmp_path: Path, kind: str) -> Path:
    raw = yaml.safe_load((SAMPLES / "lz_sjj.yaml").read_text(encoding="utf-8"))
    raw["sources"][0]["kind"] = kind
    raw["sources"][0]["connection"].pop("archive_dir", None)  # take the default
    path = tmp_path / "lz.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def drop_kind():
    """A kind registered by a test: the files connector under another name."""
    entry = registry.register(registry.Kind(
        "drop", "source", "connectors.files", "FileSourceConfig", "FileSource",
        paths=("directory", "archive_dir"), archive="archive_dir"))
    yield entry
    del registry._KINDS[(entry.role, entry.name)]


def test_the_shipped_kinds_are_registered_as_sources():
    assert registry.kinds("source") == ("files", "http", "sql")
    assert registry.kind("sql").periods
    assert not registry.kind("files").periods


def test_an_unregistered_kind_is_refused_naming_the_known_ones(tmp_path):
    with pytest.raises(DepartmentConfigError) as caught:
        load_department(_lz(tmp_path, "ftp"))
    assert "unknown source kind 'ftp'; use one of files, http, sql" in str(caught.value)
    with pytest.raises(KeyError, match="known: files, http, sql"):
        registry.kind("ftp")


def test_a_new_kind_is_one_registration(tmp_path, drop_kind):
    department = load_department(_lz(tmp_path, "drop"))
    source, feed = next(department.feeds())
    assert isinstance(feed.connector_config, FileSourceConfig)
    home = tmp_path / "home"
    settings = Settings(home=home, departments_dir=tmp_path, warehouse_url="sqlite://",
                        staging_dir=home / "staging", archive_dir=home / "archive")
    connector = open_connector(department, source, feed, settings)
    assert isinstance(connector, FileSource)
    # a relative folder is relative to the department file; the archive defaults per
    # department/source under the settings' archive folder
    assert Path(connector.config.directory).is_relative_to(tmp_path)
    assert not Path(connector.config.directory).is_relative_to(home)
    assert connector.config.archive_dir == str(home / "archive" / department.code / source.id)


def test_destinations_share_the_shape_under_their_own_role():
    entry = registry.register(registry.Kind(
        "files", "destination", "connectors.files", "FileSourceConfig", "FileSource"))
    try:
        assert registry.kind("files", "destination") is entry
        assert registry.kind("files") is not entry
        assert registry.kinds("destination") == ("files",)
    finally:
        del registry._KINDS[(entry.role, entry.name)]
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.Kind("sql", "source", "connectors.http", "X", "Y"))


def test_only_a_kind_with_periods_and_a_cursor_selects_a_period():
    sql = registry.kind("sql")
    config = sql.config_model()(url_secret="X", table="t", cursor_column="c", primary_key=["k"])
    assert sql.with_period(config, "2026-01-01", "2026-02-01").window == ("2026-01-01",
                                                                          "2026-02-01")
    without = config.model_copy(update={"cursor_column": None})
    with pytest.raises(ValueError, match="cannot select a period"):
        sql.with_period(without, None, None)
