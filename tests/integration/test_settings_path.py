"""One settings path: commands run from different directories find the same warehouse.

``HUIJU_HOME`` is set and ``HUIJU_WAREHOUSE_URL`` is not; ``huiju db upgrade``, ``huiju run``,
``huiju verify``, ``huiju trace`` and ``huiju quarantine list`` each run as a real process
from a directory of their own. Before the fix, ``db``/``verify``/``trace`` resolved the
embedded store under the current directory and ``run`` under ``HUIJU_HOME``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_support import legacy_home, query

HUIJU = Path(sys.executable).with_name("huiju")
pytestmark = pytest.mark.slow


def _huiju(home: Path, sources_env: dict[str, str], cwd: Path, *args: str):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HUIJU_") or k == "HUIJU_REQUIRE_SERVICES"}
    env.update(sources_env)
    env.update({"HUIJU_HOME": str(home), "COLUMNS": "240"})
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(HUIJU), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_commands_from_different_directories_see_the_same_batches(tmp_path):
    with legacy_home(tmp_path / "home") as home:
        store = home.home / "var" / "warehouse" / "huiju.db"
        env = home.sources.env

        upgraded = _huiju(home.home, env, tmp_path / "c", "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert str(store) in upgraded.stderr

        ran = _huiju(home.home, env, tmp_path / "a", "run", "--department", "GS-SCJG",
                     "--dataset", "penalty")
        assert f"warehouse sqlite:///{store}" in ran.stderr, ran.stderr
        url = f"sqlite:///{store}"
        batches = query(url, "SELECT batch_id FROM audit.batch")
        assert len(batches) == 1, ran.stdout + ran.stderr

        verified = _huiju(home.home, env, tmp_path / "b", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "1 batches" in verified.stdout
        assert batches[0]["batch_id"] in verified.stdout

        ref = query(url, "SELECT source_ref FROM core.penalty ORDER BY source_ref LIMIT 1")
        traced = _huiju(home.home, env, tmp_path / "b", "trace", ref[0]["source_ref"])
        assert traced.returncode == 0, traced.stdout + traced.stderr
        assert batches[0]["batch_id"] in traced.stdout

        listed = _huiju(home.home, env, tmp_path / "b", "quarantine", "list")
        open_failures = query(url, "SELECT count(*) AS n FROM quarantine.record "
                                   "WHERE status = 'open'")[0]["n"]
        assert open_failures > 0  # the demo data plants defects in penalty
        assert f"quarantined records ({open_failures} failures)" in listed.stdout

        # no command made a warehouse of its own where it ran
        assert not any((tmp_path / d / "var").exists() for d in ("a", "b", "c"))


def test_url_option_overrides_and_is_announced_masked(tmp_path):
    other = tmp_path / "other" / "huiju.db"
    done = _huiju(tmp_path / "home", {}, tmp_path / "x", "db", "upgrade", "--url",
                  f"sqlite:///{other}")
    assert done.returncode == 0, done.stderr
    assert other.exists()
    assert not (tmp_path / "home" / "var").exists()
    listed = _huiju(tmp_path / "home", {}, tmp_path / "x", "quarantine", "list", "--url",
                    f"sqlite:///{other}")
    assert listed.returncode == 0, listed.stderr
    assert "0 quarantined records (0 failures)" in listed.stdout
    # a server that cannot be reached: the error may say anything but never the password
    secret = "pa55-w0rd-never-shown"
    failed = _huiju(tmp_path / "home", {}, tmp_path / "x", "verify", "--url",
                    f"postgresql+psycopg://huiju:{secret}@127.0.0.1:1/huiju?connect_timeout=2")
    assert failed.returncode != 0
    assert "postgresql+psycopg://huiju:***@127.0.0.1:1/huiju" in failed.stderr
    assert secret not in failed.stdout + failed.stderr
