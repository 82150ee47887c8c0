"""Relative folders in a department file never depend on the process's directory (issue 11)."""

from __future__ import annotations

import os
from pathlib import Path

from huiju.departments import load_department
from huiju.pipeline import open_connector
from huiju.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


def _opened(tmp_path, monkeypatch, directory: str):
    folder = tmp_path / "etc" / "huiju" / "departments"
    folder.mkdir(parents=True)
    text = (REPO / "departments" / "lz_sjj.yaml").read_text(encoding="utf-8")
    text = text.replace("directory: var/drop/lz_sjj", f"directory: {directory}", 1)
    (folder / "lz_sjj.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("HUIJU_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # a scheduler's working directory: never the base
    department = load_department(folder / "lz_sjj.yaml")
    source, feed = next(department.feeds())
    connector = open_connector(department, source, feed, load_settings())
    return folder, Path(connector.config.directory)


def test_dot_relative_folder_is_relative_to_the_department_file(tmp_path, monkeypatch):
    folder, directory = _opened(tmp_path, monkeypatch, "../drop/lz_sjj")
    assert directory == (folder / ".." / "drop" / "lz_sjj")
    assert os.path.normpath(directory) == str(tmp_path / "etc" / "huiju" / "drop" / "lz_sjj")


def test_plain_relative_folder_is_relative_to_huiju_home(tmp_path, monkeypatch):
    _, directory = _opened(tmp_path, monkeypatch, "var/drop/lz_sjj")
    assert directory == tmp_path / "home" / "var" / "drop" / "lz_sjj"
