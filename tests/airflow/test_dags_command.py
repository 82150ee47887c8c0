"""``huiju dags generate [--check]`` and ``huiju dags pools`` (against a real metadata DB)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]


def test_generate_then_check(tmp_path, capsys):
    from huiju.cli import main
    from huiju.manifest import read_manifest

    departments = tmp_path / "departments"
    shutil.copytree(REPO / "departments", departments)
    output = tmp_path / "dags" / "huiju_manifest.py"
    args = ["--departments-dir", str(departments), "--output", str(output)]

    assert main(["dags", "generate", "--check", *args]) == 1  # no manifest yet
    assert main(["dags", "generate", *args]) == 0
    assert main(["dags", "generate", "--check", *args]) == 0
    entries = read_manifest(output)
    assert [e["dag_id"] for e in entries] == sorted(e["dag_id"] for e in entries)
    assert all(pool["name"].startswith(entry["dag_id"] + "_")
               for entry in entries for pool in entry["pools"])

    # A department changes its schedule: the manifest is stale until regenerated.
    first = sorted(departments.glob("*.yaml"))[0]
    text = first.read_text(encoding="utf-8")
    schedule_line = next(line for line in text.splitlines() if line.startswith("schedule:"))
    first.write_text(text.replace(schedule_line, 'schedule: "45 4 * * *"'), encoding="utf-8")
    capsys.readouterr()
    assert main(["dags", "generate", "--check", *args]) == 1
    assert "stale" in capsys.readouterr().err
    assert main(["dags", "generate", *args]) == 0
    assert "45 4 * * *" in {e["schedule"] for e in read_manifest(output)}


def test_generate_refuses_broken_departments(tmp_path, capsys):
    from huiju.cli import main

    departments = tmp_path / "departments"
    departments.mkdir()
    (departments / "bad.yaml").write_text("code: GS-BAD\nnot_a_key: 1\n", encoding="utf-8")
    output = tmp_path / "huiju_manifest.py"
    assert main(["dags", "generate", "--departments-dir", str(departments),
                 "--output", str(output)]) == 1
    assert "bad.yaml" in capsys.readouterr().err
    assert not output.exists()


def test_pools_are_created_and_updated(airflow_db, tmp_path, capsys):
    from airflow.models.pool import Pool

    from huiju.cli import main
    from huiju.manifest import render
    from huiju.testing.manifest import synthetic_entries

    entries = synthetic_entries(2)
    manifest = tmp_path / "huiju_manifest.py"
    manifest.write_text(render(entries), encoding="utf-8")
    assert main(["dags", "pools", "--manifest", str(manifest), "--dry-run"]) == 0
    assert "huiju_gs_t000_case_db\t2" in capsys.readouterr().out
    assert Pool.get_pool("huiju_gs_t000_case_db") is None  # dry run changed nothing

    assert main(["dags", "pools", "--manifest", str(manifest)]) == 0
    names = {pool["name"] for entry in entries for pool in entry["pools"]}
    assert {name: Pool.get_pool(name).slots for name in names} == dict.fromkeys(names, 2)

    entries[0]["pools"][0]["slots"] = 5
    manifest.write_text(render(entries), encoding="utf-8")
    assert main(["dags", "pools", "--manifest", str(manifest)]) == 0
    assert Pool.get_pool(entries[0]["pools"][0]["name"]).slots == 5


def test_new_department_outside_the_repo_needs_no_release(tmp_path, monkeypatch,
                                                          dag_folder_tools):
    """Department files and the generated manifest live outside the repository: a new
    department becomes a DAG once `huiju dags generate` wrote HUIJU_MANIFEST_PATH, with its
    Chinese name as display name and the owner its file names."""
    from huiju.cli import main

    write_dag_folder, parse_folder = dag_folder_tools
    departments = tmp_path / "etc" / "departments"
    shutil.copytree(REPO / "departments", departments)
    text = (departments / "lz_sjj.yaml").read_text(encoding="utf-8")
    new = text.replace("code: LZ-SJJ", "code: LZ-NEW", 1)
    new = new.replace("schedule:", "owner: 兰州数据组\nschedule:", 1)
    assert new != text
    (departments / "lz_new.yaml").write_text(new, encoding="utf-8")
    manifest = tmp_path / "etc" / "huiju_manifest.py"
    monkeypatch.setenv("HUIJU_MANIFEST_PATH", str(manifest))
    assert main(["dags", "generate", "--departments-dir", str(departments)]) == 0
    assert manifest.exists()

    folder = write_dag_folder(tmp_path / "dags", [])  # the released DAG folder knows nothing
    bag = parse_folder(folder)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["huiju_lz_new"]
    assert dag.dag_display_name.startswith("兰州") and "(LZ-NEW)" in dag.dag_display_name
    assert dag.default_args["owner"] == "兰州数据组"
    assert bag.dags["huiju_lz_sjj"].default_args["owner"] == "huiju"
