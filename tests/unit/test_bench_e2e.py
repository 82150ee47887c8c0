"""The end-to-end benchmark's own parts: the seeded rows are what the README says (20 columns,
valid identifiers except the 0.6 % with a wrong check character, ~1 % faulty in all), the
profile summary adds up, and ``python -m benchmarks e2e --rows N`` forwards its options."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from benchmarks import __main__ as runner
from benchmarks import bench_e2e
from schemas.rules.divisions import counties
from schemas.rules.id_card import check_id_card
from schemas.rules.uscc import check_uscc


def test_seeded_rows_have_exactly_the_declared_faults() -> None:
    rows = [line.rstrip("\n").split("\t") for line in bench_e2e._tsv_rows(1, 5000, seed=7)]
    names = [name for name, _, _ in bench_e2e.COLUMNS]
    assert len(names) == 20 and all(len(row) == 20 for row in rows)
    column = dict(zip(names, zip(*rows, strict=True), strict=True))
    codes = pa.array(column[bench_e2e.CODE_COLUMN], type=pa.large_string())
    citizen = [kind == "公民" for kind in column["当事人类型"]]
    bad = bench_e2e.bad_identifiers(list(column[bench_e2e.CODE_COLUMN]), citizen)
    # each identifier is valid or not by its own kind's rule
    citizen = np.array(citizen)
    assert ((check_id_card(codes) != 0) == bad)[citizen].all()
    assert ((check_uscc(codes) != 0) == bad)[~citizen].all() and citizen.any()
    faults = [bench_e2e._faults(i) for i in range(1, 5001)]
    assert bad.tolist() == [f == "check" for f in faults]
    assert sum(bad) == 30                                   # 0.6 %
    gansu = set(counties())
    assert [d not in gansu for d in column["区划代码"]] == [f == "division" for f in faults]
    assert [fact == "" for fact in column["违法事实"]] == [f == "fact" for f in faults]
    assert sum(f is not None for f in faults) == 50         # 1.0 % faulty in all
    assert len(set(column[bench_e2e.KEY])) == 5000
    # seeded: the same rows again
    assert list(bench_e2e._tsv_rows(1, 50, seed=7)) == list(bench_e2e._tsv_rows(1, 50, seed=7))


def test_profile_summary_shares(tmp_path) -> None:
    raw = tmp_path / "p.txt"
    raw.write_text(
        "process 1:\"huiju\";main (huiju/cli.py:10);extract (huiju/pipeline.py:5) 30\n"
        "process 1:\"huiju\";main (huiju/cli.py:10);validate (huiju/pipeline.py:9) 10\n",
        encoding="utf-8")
    text = bench_e2e.summarise_profile(raw)
    assert "40 samples" in text
    assert " 75.0%  extract (huiju/pipeline.py)" in text
    assert "100.0%  main (huiju/cli.py)" in text


def test_options_after_a_name_go_to_that_benchmark(monkeypatch) -> None:
    calls = []

    class Done:
        returncode = 0

    monkeypatch.setattr(runner.subprocess, "run", lambda command, check: calls.append(command)
                        or Done())
    assert runner.main(["e2e", "--rows", "1000", "--rounds", "1"]) == 0
    assert "run_one('bench_e2e', ['--rows', '1000', '--rounds', '1'])" in calls[0][-1]
    calls.clear()
    runner.main([])
    assert not any("bench_e2e" in command[-1] for command in calls)   # only when named
