"""Benchmark: ingest throughput and store size for synthetic partner files.

    .venv/bin/python bench/bench_ingest.py [--events 1000000 100000] [--seed 1]

For each size: generate the synthetic feeds, write them as partner CSV files, then time
``python -m data.ingest``'s code path (``ingest_file``: read, contract, parse, validate, geomask,
area codes, store) into an empty store. Prints rows/s per feed and overall, the store's size on
disk, the CSV size and the peak memory of the process. Generation time is reported separately and
not counted in the ingest rate. Record results in docs/benchmarks.md.

Side by side, in the same run, each file is also read by ``pyarrow.csv.read_csv`` alone (the
floor: parsing the bytes into columns, nothing else), best of three, and the ratio
ingest / raw read is printed: the target is at most 25x (issue 14).
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.ingest import ingest_file  # noqa: E402
from data.synthetic import generate  # noqa: E402
from storage.parquet import ParquetStore  # noqa: E402


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def raw_read_seconds(path: Path, repeat: int = 3) -> float:
    """The best of ``repeat`` plain ``pyarrow.csv.read_csv`` reads of ``path`` (types inferred,
    all cores): the cost of reading the file at all, against which ingestion is compared."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        pacsv.read_csv(path)
        best = min(best, time.perf_counter() - started)
    return best


def run(events: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        feeds = generate(seed=seed, events=events)
        generated = time.perf_counter() - started
        files = {}
        for feed, frame in feeds.items():
            files[feed] = tmp / f"{feed}.csv"
            frame.to_csv(files[feed], index=False)
        store = ParquetStore(tmp / "store")
        rows, seconds, raw = {}, {}, {}
        for feed, path in files.items():
            raw[feed] = raw_read_seconds(path)
            started = time.perf_counter()
            report = ingest_file(path, feed, store=store)
            seconds[feed] = time.perf_counter() - started
            rows[feed] = report.added
        return {"events": events, "generated_s": generated, "rows": rows, "seconds": seconds,
                "raw_s": raw,
                "csv_mb": sum(p.stat().st_size for p in files.values()) / 2**20,
                "store_mb": folder_bytes(tmp / "store") / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"# ingest benchmark: {platform.node()} · {platform.processor() or platform.machine()} · "
          f"Python {platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M')}")
    print("| events | feed | rows | seconds | rows/s | raw read (s) | ingest / raw |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for events in args.events:
        result = run(events, args.seed)
        for feed, count in result["rows"].items():
            s, raw = result["seconds"][feed], result["raw_s"][feed]
            print(f"| {events:,} | {feed} | {count:,} | {s:.2f} | {count / s:,.0f} | {raw:.3f} | "
                  f"{s / raw:.0f}x |")
        total, secs = sum(result["rows"].values()), sum(result["seconds"].values())
        raw = sum(result["raw_s"].values())
        print(f"| {events:,} | **all** | {total:,} | {secs:.2f} | **{total / secs:,.0f}** | "
              f"{raw:.3f} | **{secs / raw:.0f}x** |")
        print(f"|  | store size on disk: {result['store_mb']:.1f} MiB (CSV input "
              f"{result['csv_mb']:.1f} MiB); generation {result['generated_s']:.1f} s |  |  |  |  "
              "|  |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak memory of the benchmark process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
