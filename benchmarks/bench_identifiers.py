"""Identifier checks: Huiju's vectorised USCC and ID-number rules vs python-stdnum per value.

Generates 1,000,000 统一社会信用代码 and 1,000,000 身份证号 (deterministic seed; about 70 %
valid, 30 % with one character replaced, a few A/N/Y-prefixed USCCs), then times in the same
run

- **huiju**: ``schemas.rules.uscc.check_uscc`` / ``schemas.rules.id_card.check_id_card`` on
  the whole column (a pandas ``str`` Series, as the pipeline holds it);
- **stdnum**: a Python loop of ``stdnum.cn.uscc.is_valid`` / ``stdnum.cn.ric.is_valid`` over
  a random sample (100,000 by default) of the same values; its per-value rate is
  extrapolated to the full column (the loop is linear in the values).

Prints values/s for both, the ratio (target ≥ 20×) and how often the two verdicts agree on
the sample, with the reasons where they do not (A/N/Y prefixes, stdnum's historical county
check — see tests/unit/test_rules_uscc.py and test_rules_id_card.py).
Run: ``.venv/bin/python -m benchmarks.bench_identifiers`` (``--values N``, ``--sample N``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

TARGET_RATIO = 20.0
SEED = 20210526
CORRUPT_SHARE = 0.30


def strings_from_matrix(matrix: np.ndarray) -> pd.Series:
    """A pandas ``str`` Series whose values are the rows of an ``(n, width)`` byte matrix."""
    n, width = matrix.shape
    offsets = pa.py_buffer(np.arange(0, (n + 1) * width, width, dtype=np.int64).tobytes())
    data = pa.py_buffer(np.ascontiguousarray(matrix).tobytes())
    array = pa.LargeStringArray.from_buffers(n, offsets, data)
    return pd.Series(array, dtype="str")


def corrupt(matrix: np.ndarray, alphabet: bytes, rng: np.random.Generator) -> np.ndarray:
    """Replace one character in ``CORRUPT_SHARE`` of the rows by another of ``alphabet``."""
    rows = rng.random(len(matrix)) < CORRUPT_SHARE
    positions = rng.integers(0, matrix.shape[1], rows.sum())
    table = np.frombuffer(alphabet, dtype=np.uint8)
    old = matrix[rows, positions]
    new = table[rng.integers(0, len(table), rows.sum())]
    new = np.where(new == old, table[(np.searchsorted(table, old) + 1) % len(table)], new)
    matrix[rows, positions] = new
    return matrix


def make_usccs(n: int, rng: np.random.Generator) -> pd.Series:
    """``n`` USCCs, most valid, some with a wrong check character."""
    from schemas.rules import uscc
    from schemas.rules.org_code import BODY_VALUES, org_check_chars

    prefixes = np.array([d + k for d, (_, kinds) in uscc.REGISTRATION_AUTHORITIES.items()
                         for k in kinds])
    # mostly 9x (enterprises, individual businesses) as in real data; some A/N/Y
    weights = np.array([20.0 if p[0] == "9" else 1.0 for p in prefixes])
    chosen = rng.choice(prefixes, n, p=weights / weights.sum())
    matrix = np.empty((n, 18), dtype=np.uint8)
    matrix[:, :2] = np.frombuffer("".join(chosen).encode(), dtype=np.uint8).reshape(n, 2)
    matrix[:, 2:8] = rng.integers(ord("0"), ord("9") + 1, (n, 6), dtype=np.uint8)
    charset = np.frombuffer(uscc.CHARSET.encode(), dtype=np.uint8)
    matrix[:, 8:16] = charset[rng.integers(0, 31, (n, 8))]
    matrix[:, 16] = org_check_chars(BODY_VALUES[matrix[:, 8:16]])
    values = uscc.VALUES[matrix[:, :17]]
    matrix[:, 17] = uscc.CHARSET_BYTES[(31 - (values.astype(np.int64) @ uscc.WEIGHTS) % 31) % 31]
    return strings_from_matrix(corrupt(matrix, uscc.CHARSET.encode() + b"IOSVZ", rng))


def make_ids(n: int, rng: np.random.Generator) -> pd.Series:
    """``n`` ID numbers, most valid, some with a wrong check character or date."""
    from schemas.code_tables import code_table
    from schemas.rules import id_card

    # county codes current for every birth year generated (stdnum's history of GB/T 2260
    # says which): real numbers carry the code valid when they were issued
    counties = sorted(c for c in code_table("行政区划代码").codes
                      if not c.endswith("00") and _county_known(c, 1930) and _county_known(c, 2020))
    first = (dt.date(1930, 1, 1) - dt.date(1970, 1, 1)).days
    last = (dt.date(2020, 12, 31) - dt.date(1970, 1, 1)).days
    born = np.datetime64("1970-01-01") + rng.integers(first, last, n).astype("timedelta64[D]")
    text = (pd.Series(np.array(counties)[rng.integers(0, len(counties), n)], dtype="str")
            + pd.Series(pd.to_datetime(born).strftime("%Y%m%d"), dtype="str")
            + pd.Series(rng.integers(0, 1000, n), dtype="int64").astype("str").str.zfill(3))
    matrix = np.empty((n, 18), dtype=np.uint8)
    matrix[:, :17] = np.frombuffer(
        "".join(text.tolist()).encode(), dtype=np.uint8).reshape(n, 17)
    matrix[:, 17] = id_card.id_check_chars(matrix[:, :17] - np.uint8(ord("0")))
    return strings_from_matrix(corrupt(matrix, b"0123456789X", rng))


def _county_known(code: str, year: int) -> bool:
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    first17 = f"{code}{year}0101001"
    try:
        ric.get_birth_place(first17 + ric.calc_check_digit(first17 + "0"))
    except (ValidationError, KeyError):
        return False
    return True


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    """The fastest of ``runs`` calls of ``action``: (seconds, its result)."""
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def stdnum_loop(is_valid: Callable[[str], bool], values: list[str]) -> list[bool]:
    """python-stdnum's verdict on each value, one call per value (the baseline)."""
    verdicts = []
    for value in values:
        try:
            verdicts.append(is_valid(value))
        except KeyError:  # stdnum 2.2 ric: raised for province-only address codes
            verdicts.append(False)
    return verdicts


def compare(label: str, values: pd.Series, huiju: Callable, stdnum: Callable,
            sample: int, rng: np.random.Generator, explain: Callable[[str], str]) -> dict:
    """Time Huiju's and stdnum's check of ``values``; count where their verdicts differ."""
    huiju_seconds, reasons = best_of(3, lambda: huiju(values))
    rows = np.sort(rng.choice(len(values), min(sample, len(values)), replace=False))
    sampled = values.iloc[rows].tolist()
    stdnum_seconds, verdicts = best_of(1, lambda: stdnum_loop(stdnum, sampled))
    huiju_rate = len(values) / huiju_seconds
    stdnum_rate = len(sampled) / stdnum_seconds
    ours = reasons[rows] == 0
    theirs = np.array(verdicts)
    differences = Counter(explain(v) for v, a, b in zip(sampled, ours, theirs, strict=True)
                          if a != b)
    return {
        "label": label, "values": len(values), "valid_share": float((reasons == 0).mean()),
        "huiju_seconds": huiju_seconds, "huiju_rate": huiju_rate,
        "sample": len(sampled), "stdnum_seconds": stdnum_seconds, "stdnum_rate": stdnum_rate,
        "ratio": huiju_rate / stdnum_rate, "agree": float((ours == theirs).mean()),
        "differences": differences,
    }


def uscc_difference(value: str) -> str:
    """Why Huiju and stdnum disagree on a USCC (for the report)."""
    from schemas.rules.uscc import check_uscc

    ours = int(check_uscc([value])[0])
    if value[0] in "ANY" and ours == 0:
        return "valid A/N/Y-prefixed code: stdnum rejects (documented)"
    return f"huiju reason {ours}" if ours else "huiju accepts, stdnum rejects"


def id_difference(value: str) -> str:
    """Why Huiju and stdnum disagree on an ID number (for the report)."""
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    from schemas.rules.id_card import check_id_card

    ours = int(check_id_card([value])[0])
    if ours == 0:
        try:
            ric.get_birth_place(value)
        except (ValidationError, KeyError):
            return "county unknown to stdnum for the birth year: stdnum rejects (documented)"
        return "huiju accepts, stdnum rejects"
    return f"huiju reason {ours}, stdnum accepts"


def main(argv: list[str] | None = None) -> None:
    """Command line: time the identifier checks against python-stdnum."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000, help="values per identifier")
    parser.add_argument("--sample", type=int, default=100_000, help="values timed in stdnum")
    args = parser.parse_args(argv)

    from stdnum.cn import ric, uscc

    from schemas.rules.id_card import check_id_card
    from schemas.rules.uscc import check_uscc

    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    usccs, ids = make_usccs(args.values, rng), make_ids(args.values, rng)
    print(f"generated {args.values:,} USCCs and {args.values:,} ID numbers "
          f"(seed {SEED}, ~{CORRUPT_SHARE:.0%} corrupted) in {time.perf_counter() - started:.1f} s")
    results = [
        compare("统一社会信用代码 (USCC)", usccs, check_uscc, uscc.is_valid, args.sample, rng,
                uscc_difference),
        compare("身份证号 (resident ID)", ids, check_id_card, ric.is_valid, args.sample, rng,
                id_difference),
    ]
    for r in results:
        print(f"\n{r['label']}: {r['values']:,} values, {r['valid_share']:.1%} valid by huiju")
        print(f"  huiju  vectorised : {r['huiju_rate']:>12,.0f} values/s "
              f"({r['huiju_seconds']:.3f} s for all {r['values']:,}, best of 3)")
        print(f"  stdnum per value  : {r['stdnum_rate']:>12,.0f} values/s "
              f"({r['stdnum_seconds']:.2f} s for a {r['sample']:,}-value sample; rate "
              f"extrapolated, ≈{r['values'] / r['stdnum_rate']:.0f} s for all)")
        verdict = "meets" if r["ratio"] >= TARGET_RATIO else "MISSES"
        print(f"  ratio huiju/stdnum: {r['ratio']:.1f}× ({verdict} the ≥ {TARGET_RATIO:.0f}× "
              f"target)")
        print(f"  verdicts agree on {r['agree']:.2%} of the sample")
        for reason, count in r["differences"].most_common():
            print(f"    {count:>6,} × {reason}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
