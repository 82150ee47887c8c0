"""Hostile department files dropped beside good ones: empty, header-only, truncated, binary,
mixed-encoding, ragged, NUL bytes, huge fields, broken quotes, duplicate headers and injection
text. Every one gets a clear error naming it (or loads what it validly holds); the good files
beside it always load; no row is lost; ``verify`` agrees.

Fuzzing the same exports with hypothesis (random bytes spliced into a good file) found that a
file whose *header* is damaged still fails the whole feed (a mapped column missing from that
file's header), blocking the good files: recorded in the closing note as open work, so no
fuzz test is here yet.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import FULL

from huiju import pipeline
from huiju.demo import legacy
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.verify import verify

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
KEY = pipeline.FeedKey("LZ-SJJ", "drop_folder", "inspection")
BIG = (10 if FULL else 1) * 1024 * 1024


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The sample legacy sources, built once; each input gets a copy."""
    home = tmp_path_factory.mktemp("hostile-home")
    legacy.build(home, http_port=1)
    return home


def _good(built: Path) -> tuple[bytes, list[str]]:
    path = sorted((built / "var" / "drop" / "lz_sjj").glob("水库检查_*.csv"))[0]
    data = path.read_bytes()
    return data, data.decode("gb18030").splitlines()


def _inputs(built: Path) -> dict[str, bytes]:
    data, lines = _good(built)
    header = lines[0]
    cells = lines[1].split(",")
    # a record of its own (检查编号 not in the good files): a hostile row that reused a good
    # row's key would rightly supersede it as its newer version
    cells[header.split(",").index("检查编号")] = "SJJC-HOSTILE-0001"
    row = ",".join(cells)
    rng = random.Random(20261201)

    def csv(*rows: str, encoding: str = "gb18030") -> bytes:
        return ("\r\n".join(rows) + "\r\n").encode(encoding)

    injected = cells.copy()
    injected[2] = "'); DROP TABLE core.inspection;--<script>alert(1)</script>=cmd|'/C calc'!A0"
    big = cells.copy()
    big[2] = "长" * (BIG // 2)
    return {
        "empty": b"",
        "header_only": csv(header),
        "truncated": data[: len(data) // 2 + 1],
        "binary": b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4096)),
        "mixed_encoding": csv(header, row) + (row.replace(cells[0], cells[0] + "U") + "\r\n")
        .encode("utf-8"),
        "ragged": csv(header, row + ",多余,列", ",".join(cells[:3])),
        "nul_bytes": csv(header, row.replace(cells[2], cells[2] + "\x00尾")),
        "huge_field": csv(header, ",".join(big)),
        "broken_quotes": csv(header, row.replace(cells[2], '"未闭合的引号' + cells[2])),
        "duplicate_headers": csv(header + "," + header.split(",")[0], row + ",x"),
        "injection_text": csv(header, ",".join(injected)),
    }


def _workspace(built: Path, tmp: Path, monkeypatch) -> tuple[Path, str]:
    home = tmp / "home"
    shutil.copytree(built / "var", home / "var", symlinks=True)
    # the shipped files' drop folders (../var/drop/…) are relative to the files: beside var/
    shutil.copytree(REPO / "departments", home / "departments")
    url = f"sqlite:///{tmp / 'warehouse' / 'huiju.db'}"
    engine = create_warehouse_engine(url)
    upgrade(engine)
    engine.dispose()
    for name, value in {"HUIJU_HOME": str(home), "HUIJU_WAREHOUSE_URL": url,
                        "HUIJU_DEPARTMENTS_DIR": str(home / "departments"),
                        "HUIJU_STAGING_DIR": str(tmp / "staging")}.items():
        monkeypatch.setenv(name, value)
    return home, url


def _loaded_keys(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(
            "SELECT check_action_code FROM core.inspection WHERE department_code = 'LZ-SJJ'"
        )).scalars())


def _try(built: Path, tmp: Path, monkeypatch, name: str, data: bytes, tally,
         baseline: set[str] | None) -> set[str]:
    home, url = _workspace(built, tmp, monkeypatch)
    drop = home / "var" / "drop" / "lz_sjj"
    if data is not None:
        (drop / f"水库检查_hostile_{name}.csv").write_bytes(data)
        tally.inputs[name] += 1
    try:
        pipeline.run_feed(KEY, run_id=f"hostile-{name}", raise_on_threshold=False)
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        if f"hostile_{name}" in text and "Traceback" not in text:
            tally.clear_errors += 1
        else:
            tally.unclear_errors.append(f"{name}: {text[:200]}")
        raise AssertionError(f"the good files were blocked by {name}: {text[:500]}") from error
    tally.runs += 1
    engine = create_warehouse_engine(url)
    try:
        checks = verify(engine, department="LZ-SJJ")
        with engine.connect() as conn:
            rejected = conn.execute(sa.text(
                "SELECT source_ref, message_en FROM quarantine.record WHERE source_ref LIKE :f"),
                {"f": f"水库检查_hostile_{name}.csv%"}).all()
        keys = _loaded_keys(engine)
    finally:
        engine.dispose()
    assert all(not c.problems for c in checks), [c.problems for c in checks]
    if data is not None:
        file_rejection = [r for r in rejected if r[0].endswith(":file")]
        if file_rejection:
            tally.clear_errors += 1
            assert all(r[1] for r in file_rejection)
    if baseline is not None:
        tally.lost += len(baseline - keys)
        assert baseline <= keys, f"{name}: good rows lost: {sorted(baseline - keys)[:5]}"
    return keys


@pytest.fixture(scope="module")
def baseline_keys(built, tmp_path_factory, tally) -> set[str]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _try(built, tmp_path_factory.mktemp("baseline"), monkeypatch, "none", None,
                    tally, None)


CASES = ("empty", "header_only", "truncated", "binary", "mixed_encoding", "ragged", "nul_bytes",
         "huge_field", "broken_quotes", "duplicate_headers", "injection_text")
FAST = ("empty", "binary", "mixed_encoding", "broken_quotes", "injection_text")


@pytest.mark.parametrize("name", CASES if FULL else FAST)
def test_a_hostile_file_beside_good_ones(built, baseline_keys, tmp_path, monkeypatch, tally,
                                         name):
    assert baseline_keys
    _try(built, tmp_path, monkeypatch, name, _inputs(built)[name], tally, baseline_keys)


def test_the_inputs_cover_the_issue_list(built):
    assert set(_inputs(built)) == set(CASES)
