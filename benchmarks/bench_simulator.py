"""The platform simulator's raw accept rate: records/s it accepts over a socket, no faults.

Starts ``huiju simulator serve`` in a child process on a free port with a representative
shape file (a 信用中国 行政处罚-like resource of 20 fields, written to a temporary folder so the
figure does not depend on the payload shapes in force), then sends ``--records`` new records
(100,000 by default) in batches of 500 from one ``requests`` session and reports records/s.
Only the POSTs are timed: each batch's JSON is encoded before its request, so the figure is
the simulator's (and the socket's) capacity, the ceiling any delivery client can reach.

The delivery benchmark puts its own throughput beside this one in the same run (a ratio):
call ``accept_rate(url, token, resource, payloads)`` against the simulator it started.
Run: ``.venv/bin/python -m benchmarks.bench_simulator`` (``--records N``, ``--batch N``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TOKEN = "bench-simulator-token"
FIELDS = 20


@dataclass(frozen=True)
class AcceptRate:
    """Outcome of one run: records accepted, seconds spent in POSTs, batches sent."""

    records: int
    seconds: float
    batches: int

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")


def accept_rate(url: str, token: str, resource: str, payloads: Iterable[dict],
                batch_size: int = 500, key_prefix: str | None = None) -> AcceptRate:
    """Send ``payloads`` as new records (operation ``i``, fresh keys) to ``POST
    {url}/api/{resource}`` in batches of ``batch_size`` and time the POSTs. Every record must
    come back ``accepted``: anything else (a rejection, a fault) raises, since it would make
    the rate meaningless. Run it against a simulator without faults."""
    import requests

    prefix = key_prefix or f"bench-{time.time_ns()}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = batches = 0
    seconds = 0.0
    with requests.Session() as session:
        for batch in _batches(payloads, batch_size, prefix):
            body = json.dumps({"records": batch}, ensure_ascii=False).encode("utf-8")
            started = time.perf_counter()
            answer = session.post(f"{url}/api/{resource}", data=body, headers=headers,
                                  timeout=60)
            seconds += time.perf_counter() - started
            answer.raise_for_status()
            statuses = {r["status"] for r in answer.json()["results"]}
            if statuses != {"accepted"}:
                raise RuntimeError(f"batch {batches + 1}: not all accepted ({statuses}): "
                                   f"{answer.text[:500]}")
            accepted += len(batch)
            batches += 1
    return AcceptRate(accepted, seconds, batches)


def _batches(payloads: Iterable[dict], size: int, prefix: str) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for number, payload in enumerate(payloads):
        batch.append({"key": f"{prefix}-{number}", "record_id": f"{prefix}-r{number}",
                      "operation": "i", "payload": payload})
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def shape_file() -> str:
    """A creditchina shape of ``FIELDS`` fields in the format of schemas/platforms/."""
    lines = ["platform: creditchina", "resources:", "  - name: CF", "    dataset: penalty",
             "    fields:",
             "      - {code: CF_XDR_MC, type: string, max_length: 200, required: true}",
             "      - {code: CF_XDR_LB, type: string, required: true}",
             "      - {code: CF_XDR_SHTYXYDM, type: string, max_length: 18, required_when: "
             "{field: CF_XDR_LB, in: [法人及非法人组织]}}",
             "      - {code: CF_JDRQ, type: date, required: true}",
             "      - {code: CF_FK, type: decimal}",
             "      - {code: CF_SL, type: integer}"]
    lines += [f"      - {{code: CF_EXTRA_{i}, type: string, max_length: 64}}"
              for i in range(FIELDS - 6)]
    return "\n".join(lines) + "\n"


def payloads(n: int) -> Iterator[dict]:
    """``n`` valid payloads for ``shape_file``'s resource."""
    for i in range(n):
        payload = {"CF_XDR_MC": f"甘肃某某商贸有限公司第{i}分公司", "CF_XDR_LB": "法人及非法人组织",
                   "CF_XDR_SHTYXYDM": f"91620100MA{i % 10**8:08d}", "CF_JDRQ": "2024-05-01",
                   "CF_FK": f"{(i % 1000) / 100:.6f}", "CF_SL": i % 7}
        payload.update({f"CF_EXTRA_{j}": f"附加字段{j}-{i}" for j in range(FIELDS - 6)})
        yield payload


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records to send")
    parser.add_argument("--batch", type=int, default=500, help="records per POST (≤ 500)")
    args = parser.parse_args(argv)

    from simulator.process import simulator_process

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "creditchina.yaml").write_text(shape_file(), encoding="utf-8")
        with simulator_process(token=TOKEN, shapes=folder) as url:
            accept_rate(url, TOKEN, "creditchina/CF", payloads(2 * args.batch), args.batch,
                        key_prefix="warm-up")
            rate = accept_rate(url, TOKEN, "creditchina/CF", payloads(args.records), args.batch)
    print(f"simulator raw accept rate: {rate.records:,} records ({FIELDS} fields) in "
          f"{rate.batches:,} batches of {args.batch} in {rate.seconds:.2f} s of POSTs "
          f"= {rate.per_second:,.0f} records/s (one sender, no faults)")


if __name__ == "__main__":
    main()
