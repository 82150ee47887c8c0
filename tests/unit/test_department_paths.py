"""Relative folders in a department file are relative to that file's folder (issue 11): never
to the process's working directory, never to HUIJU_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from huiju.departments import load_department
from huiju.pipeline import open_connector
from huiju.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
SHIPPED = "connection: {directory: ../var/drop/lz_sjj, archive_dir: ../var/archive/lz_sjj,"


def _department_file(tmp_path: Path, connection: str) -> Path:
    """LZ-SJJ's shipped file under ``tmp_path/etc/huiju/departments`` with ``connection``."""
    folder = tmp_path / "etc" / "huiju" / "departments"
    folder.mkdir(parents=True)
    text = (REPO / "departments" / "lz_sjj.yaml").read_text(encoding="utf-8")
    assert SHIPPED in text, "lz_sjj.yaml changed: adjust the test's connection rewrite"
    text = text.replace(SHIPPED, f"connection: {{{connection},", 1)
    (folder / "lz_sjj.yaml").write_text(text, encoding="utf-8")
    return folder / "lz_sjj.yaml"


def _opened(path: Path, cwd: Path, monkeypatch, home: Path | None = None):
    """The drop folder's connector config as a run from ``cwd`` (HUIJU_HOME ``home``) opens it."""
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)  # a scheduler's or a shell's working directory: never the base
    if home is None:
        monkeypatch.delenv("HUIJU_HOME", raising=False)
    else:
        monkeypatch.setenv("HUIJU_HOME", str(home))
    department = load_department(os.path.relpath(path, cwd))  # found through a relative path
    source, feed = next(department.feeds())
    return open_connector(department, source, feed, load_settings()).config


def test_plain_relative_folders_are_relative_to_the_department_file(tmp_path, monkeypatch):
    path = _department_file(tmp_path, "directory: drop/lz_sjj, archive_dir: archive/lz_sjj, "
                                      "rejected_dir: aside/lz_sjj")
    config = _opened(path, tmp_path / "scheduler", monkeypatch, home=tmp_path / "home")
    assert Path(config.directory) == path.parent / "drop" / "lz_sjj"
    assert Path(config.archive_dir) == path.parent / "archive" / "lz_sjj"
    assert Path(config.rejected_dir) == path.parent / "aside" / "lz_sjj"


def test_dot_relative_folders_are_relative_to_the_department_file(tmp_path, monkeypatch):
    path = _department_file(tmp_path, "directory: ../drop/lz_sjj, archive_dir: ./archive")
    config = _opened(path, tmp_path / "elsewhere", monkeypatch)
    assert os.path.normpath(config.directory) == str(tmp_path / "etc" / "huiju" / "drop" /
                                                     "lz_sjj")
    assert os.path.normpath(config.archive_dir) == str(path.parent / "archive")


def test_the_same_file_opens_the_same_folders_from_any_working_directory(tmp_path, monkeypatch):
    path = _department_file(tmp_path, "directory: drop/lz_sjj, archive_dir: ../archive")
    seen = {}
    for cwd, home in [(tmp_path / "a", None), (tmp_path / "b" / "deeper", tmp_path / "b"),
                      (path.parent, tmp_path / "home")]:
        config = _opened(path, cwd, monkeypatch, home)
        seen[str(cwd)] = (config.directory, config.archive_dir)
    assert len(set(seen.values())) == 1, seen
    directory, archive = next(iter(seen.values()))
    assert Path(directory).is_absolute() and Path(archive).is_absolute()


def test_absolute_and_home_folders_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    path = _department_file(tmp_path, f"directory: {tmp_path / 'srv' / 'drop'}, "
                                      "archive_dir: ~/archive")
    config = _opened(path, tmp_path / "a", monkeypatch)
    assert config.directory == str(tmp_path / "srv" / "drop")
    assert config.archive_dir == str(tmp_path / "user" / "archive")


def test_an_unset_archive_still_defaults_under_huiju_archive_dir(tmp_path, monkeypatch):
    path = _department_file(tmp_path, "directory: drop/lz_sjj")
    monkeypatch.setenv("HUIJU_ARCHIVE_DIR", "var/archive")  # relative: to HUIJU_HOME
    config = _opened(path, tmp_path / "a", monkeypatch, home=tmp_path / "home")
    assert config.archive_dir == str(tmp_path / "home" / "var" / "archive" / "LZ-SJJ" /
                                     "drop_folder")


@pytest.mark.parametrize("name", ["gs_yjj.yaml", "lz_sjj.yaml"])
def test_the_shipped_samples_read_the_repository_var_folder(name, tmp_path, monkeypatch):
    """`make demo` builds the drop folders under the repository's var/: the samples say so
    relative to their own folder, so a run from anywhere finds them."""
    monkeypatch.chdir(tmp_path)
    department = load_department(REPO / "departments" / name)
    folders = [feed.connector_config.directory for source, feed in department.feeds()
               if source.kind == "files"]
    assert folders and all(os.path.normpath(f).startswith(str(REPO / "var" / "drop"))
                           for f in folders)


def test_the_demo_puts_its_department_copy_beside_its_var_and_never_rewrites_the_shipped(
        tmp_path, monkeypatch):
    from huiju.demo.runner import HTTP_PORT, place_departments

    monkeypatch.setenv("HUIJU_DEPARTMENTS_DIR", str(REPO / "departments"))
    assert place_departments(REPO, HTTP_PORT) is None  # `make demo`: the shipped files as is
    refused = place_departments(REPO, HTTP_PORT + 1)
    assert refused and "--home" in refused
    assert os.environ["HUIJU_DEPARTMENTS_DIR"] == str(REPO / "departments")

    assert place_departments(tmp_path, HTTP_PORT + 1) is None
    assert os.environ["HUIJU_DEPARTMENTS_DIR"] == str(tmp_path / "departments")
    yjj = load_department(tmp_path / "departments" / "gs_yjj.yaml")
    configs = {s.kind: feed.connector_config for s, feed in yjj.feeds()}
    assert os.path.normpath(configs["files"].directory) == str(tmp_path / "var" / "drop" /
                                                               "gs_yjj")
    assert configs["http"].url.startswith(f"http://127.0.0.1:{HTTP_PORT + 1}/")
