"""Drop folders are a trust boundary: no link is followed, no pattern leaves the folder, and
nothing of a file outside it reaches a message."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from connectors.files import FileSource, FileSourceConfig
from huiju.cli import main

REPO = Path(__file__).resolve().parents[2]
SECRET_LINE = "root:x:0:0:SECRET-FIRST-LINE:/root:/bin/bash"


def _write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["编号,名称", *rows]) + "\n", encoding="utf-8")
    return path


def _everything(batches) -> str:
    """Every message, warning and value the batches carry, as one text."""
    parts = []
    for batch in batches:
        parts += [e.message for e in batch.errors] + [str(e.raw) for e in batch.errors]
        parts += list(batch.warnings) + [str(v) for v in batch.table.to_pylist()] + batch.refs
        parts += batch.table.column_names
    return "\n".join(parts)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "otherdept"
    folder.mkdir()
    (folder / "passwd").write_text(SECRET_LINE + "\n", encoding="utf-8")
    _write_csv(folder / "their.csv", ["9,另一个部门的记录"])
    return folder


def test_a_link_to_a_file_outside_is_refused_unread_and_the_rest_loads(tmp_path, outside):
    drop = tmp_path / "drop"
    drop.mkdir()
    _write_csv(drop / "good.csv", ["1,甲", "2,乙"])
    (drop / "evil.csv").symlink_to(outside / "passwd")
    source = FileSource(FileSourceConfig(directory=str(drop), patterns=["*.csv"]))

    batches = list(source.read(None))

    text = _everything(batches)
    assert "SECRET-FIRST-LINE" not in text
    assert [e.ref for b in batches for e in b.errors] == ["evil.csv:file"]
    assert "symbolic link" in text
    assert sorted(r["名称"] for b in batches for r in b.table.to_pylist()) == ["乙", "甲"]
    moved = drop / "_rejected" / "evil.csv"
    assert moved.is_symlink() and not (drop / "evil.csv").exists()
    assert (outside / "passwd").read_text(encoding="utf-8").startswith(SECRET_LINE)  # untouched
    # the next run reads nothing again
    assert [b.num_rows for b in source.read(batches[-1].cursor)] == []


def test_a_linked_folder_leading_out_is_not_read_nor_moved(tmp_path, outside):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "sub").symlink_to(outside, target_is_directory=True)
    source = FileSource(FileSourceConfig(directory=str(drop), patterns=["sub/*.csv"]))

    batches = list(source.read(None))

    assert [e.ref for b in batches for e in b.errors] == ["their.csv:file"]
    assert "outside the drop folder" in _everything(batches)
    assert "另一个部门" not in _everything(batches)
    assert (outside / "their.csv").exists()  # another department's file stays where it is


@pytest.mark.parametrize("pattern", ["../../otherdept/*.csv", "../*.csv", "/etc/passwd",
                                     "sub/../../x.csv", "~/x.csv", "C:\\\\x.csv"])
def test_patterns_may_not_leave_the_folder(tmp_path, pattern):
    with pytest.raises(ValidationError, match="leaves the drop folder"):
        FileSourceConfig(directory=str(tmp_path), patterns=[pattern])


def test_config_check_refuses_a_pattern_into_another_department(tmp_path, capsys):
    raw = yaml.safe_load((REPO / "departments" / "lz_sjj.yaml").read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    raw["sources"][0]["feeds"][0]["extract"]["patterns"] = ["../../otherdept/*.csv"]
    (tmp_path / "lz.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    assert main(["config", "check", "--departments-dir", str(tmp_path)]) == 1
    assert "leaves the drop folder" in capsys.readouterr().err
