"""Payload builders: platform records built from warehouse rows, against a plain field copy.

Generates N synthetic core rows of the penalty data set (``warehouse.synthetic``, as dicts,
the way the delivery side reads them) and times in the same run, per resource built from it
(信用中国 CF, the national punish_action, gsxt penalty):

- **builder**: ``schemas.platforms.build_payload`` — code translation, 万元, masks, 公示截止期,
  the cd_* columns, formatting;
- **copy**: the least any builder must do — one dict per row with the resource's field codes,
  each value looked up by its ``from`` field (no transform, no formatting).

Prints rows/s for both and the ratio builder/copy (how much the declared transforms cost).
Run: ``.venv/bin/python -m benchmarks.bench_payloads`` (``--rows N``, default 100,000).
"""

from __future__ import annotations

import argparse
import time

RESOURCES = (("creditchina", "CF"), ("national", "punish_action"), ("gsxt", "penalty"))


def rows(n: int) -> list[dict]:
    """``n`` synthetic penalty rows as dicts, with the delivery side's context columns."""
    from warehouse.synthetic import standard_frame

    records = standard_frame("penalty", range(n)).to_dict("records")
    for record in records:
        record.update(department_code="GS-SCJG", division_code="620000")
    return records


def timed(function, data: list[dict]) -> float:
    start = time.perf_counter()
    for row in data:
        function(row)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)

    from schemas.platforms import builder_for, load_platforms

    data = rows(args.rows)
    platforms = load_platforms()
    print(f"payload builders over {args.rows:,} penalty rows")
    print(f"{'resource':28} {'builder rows/s':>15} {'copy rows/s':>13} {'ratio':>7}")
    for platform, name in RESOURCES:
        resource = platforms[platform].resource(name)
        build = builder_for(resource)
        pairs = tuple((f.code, f.from_ or f.compute or f.code) for f in resource.fields)

        def copy(row: dict, pairs=pairs) -> dict:
            return {code: row.get(source) for code, source in pairs}

        built, copied = timed(build, data), timed(copy, data)
        print(f"{platform + '/' + name:28} {args.rows / built:>15,.0f} "
              f"{args.rows / copied:>13,.0f} {built / copied:>6.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
