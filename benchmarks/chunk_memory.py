"""RSS after each chunk of an in-process first load: does a chunk leave memory behind?

``python -m benchmarks.chunk_memory --rows 200000 --chunk 5000 --stages load`` creates the
e2e benchmark's seeded MariaDB table (``bench_e2e``) and a fresh warehouse, then runs the
feed chunk by chunk in this process (``huiju.pipeline``'s extract → validate → load, as
``run_feed``), printing the resident set after each chunk and the growth per chunk over the
second half (the first chunks still warm caches up). ``--stages`` stops each pass after
``extract``, ``validate`` or ``load``: without a load the cursor never moves, so the same
chunk is extracted (and validated) again — what stays of it is what the stage leaks.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import os
import tempfile
import time
import uuid
from pathlib import Path


def rss_mib(field: str = "VmRSS") -> float:
    """This process's resident set (``VmHWM``: its peak so far), MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap_mib() -> str:
    """glibc malloc's view (in use by malloc / mmapped by malloc) and Arrow's pool, MiB."""
    import pyarrow as pa

    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return ""
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return (f"malloc in use {info.uordblks / 2**20:6.1f}, heap {info.arena / 2**20:6.1f}, "
            f"mmapped {info.hblkhd / 2**20:5.1f}; arrow {pa.total_allocated_bytes() / 2**20:5.1f}")


def _reset_peak() -> None:
    """Start this process's peak RSS (VmHWM) again from its current RSS."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, build the source and warehouse, run the chunks, print RSS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--chunks", type=int, default=None, help="stop after this many")
    parser.add_argument("--stages", choices=["extract", "validate", "load"], default="load")
    parser.add_argument("--no-release", action="store_true",
                        help="skip pipeline._release_memory between chunks")
    parser.add_argument("--release-between", choices=["all", "trim"],
                        help="also release memory between the stages of a chunk (trim: "
                             "without collecting cycles)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--wide-field", type=int, default=0, metavar="MIB",
                        help="give one source row a 违法事实 of this many MiB")
    args = parser.parse_args(argv)

    from benchmarks import bench_e2e as e2e

    tag = uuid.uuid4().hex[:8]
    source, dest_name = f"huiju_mem_src_{tag}", f"huiju_mem_{tag}"
    e2e.create_source(source, args.rows, args.seed)
    if args.wide_field:
        e2e.widen_source(source, args.wide_field)
    dest = e2e.create_pg(dest_name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = e2e.prepare_huiju(source, dest, Path(tmp))
            os.environ.update(env)
            os.environ["HUIJU_CHUNK_ROWS"] = str(args.chunk)
            _run(args)
    finally:
        try:
            e2e.drop_pg(dest_name)
        finally:
            e2e.drop_source(source)


def _run(args: argparse.Namespace) -> None:
    from huiju import pipeline
    from huiju.settings import load_settings

    settings = load_settings()
    key = pipeline.FeedKey("GS-E2E", "case_db", "penalty")
    reading = pipeline.OpenRead()
    sizes: list[float] = []
    chunks = args.chunks or -(-args.rows // args.chunk)
    print(f"start: {rss_mib():.0f} MiB", flush=True)
    for number in range(chunks):
        started = time.perf_counter()
        peaks: list[float] = []
        times = [started]
        _reset_peak()
        extracted = pipeline.extract(key.department, key.source, key.dataset, run_id="mem",
                                     settings=settings, on_rows=lambda n: None,
                                     continuing=number > 0, reading=reading)
        peaks.append(rss_mib("VmHWM"))
        times.append(time.perf_counter())
        if args.stages != "extract":
            if args.release_between:
                pipeline._release_memory(collect=args.release_between == "all")
            _reset_peak()
            validated = pipeline.validate(extracted, settings=settings)
            peaks.append(rss_mib("VmHWM"))
            times.append(time.perf_counter())
            if args.stages == "load":
                if args.release_between:
                    pipeline._release_memory(collect=args.release_between == "all")
                _reset_peak()
                pipeline.load(validated, raise_on_threshold=False, settings=settings)
                peaks.append(rss_mib("VmHWM"))
                times.append(time.perf_counter())
        if not args.no_release:
            pipeline._release_memory()
        sizes.append(rss_mib())
        stage_peaks = "/".join(f"{peak:.0f}" for peak in peaks)
        stage_times = "/".join(f"{b - a:.2f}" for a, b in itertools.pairwise(times))
        print(f"chunk {number + 1:3d}: {sizes[-1]:7.1f} MiB, peaks {stage_peaks} "
              f"({time.perf_counter() - started:.2f} s = {stage_times}, "
              f"{extracted['extracted']} rows) "
              f"{heap_mib()}", flush=True)
    half = len(sizes) // 2
    if len(sizes) - half > 1:
        slope = (sizes[-1] - sizes[half]) / (len(sizes) - 1 - half)
        print(f"growth over chunks {half + 1}–{len(sizes)}: {slope:.2f} MiB per chunk; "
              f"peak {max(sizes):.0f} MiB")


if __name__ == "__main__":
    main()
