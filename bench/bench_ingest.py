"""Benchmark: ingest throughput and store size for synthetic partner files.

    .venv/bin/python bench/bench_ingest.py [--events 1000000 100000] [--seed 1]

For each size: generate the synthetic feeds, write them as partner CSV files, then time
``python -m data.ingest``'s code path (``ingest_file``: read, contract, parse, validate, geomask,
area codes, store) into an empty store. Prints rows/s per feed and overall, the store's size on
disk, the CSV size and the peak memory of the process. Generation time is reported separately and
not counted in the ingest rate. Record results in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.ingest import ingest_file  # noqa: E402
from data.synthetic import generate  # noqa: E402
from storage.parquet import ParquetStore  # noqa: E402


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


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
        rows, seconds = {}, {}
        for feed, path in files.items():
            started = time.perf_counter()
            report = ingest_file(path, feed, store=store)
            seconds[feed] = time.perf_counter() - started
            rows[feed] = report.added
        return {"events": events, "generated_s": generated, "rows": rows, "seconds": seconds,
                "csv_mb": sum(p.stat().st_size for p in files.values()) / 2**20,
                "store_mb": folder_bytes(tmp / "store") / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"# ingest benchmark: {platform.node()} · {platform.processor() or platform.machine()} · "
          f"Python {platform.python_version()} · {time.strftime('%Y-%m-%d %H:%M')}")
    print("| events | feed | rows | seconds | rows/s |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for events in args.events:
        result = run(events, args.seed)
        for feed, count in result["rows"].items():
            s = result["seconds"][feed]
            print(f"| {events:,} | {feed} | {count:,} | {s:.1f} | {count / s:,.0f} |")
        total, secs = sum(result["rows"].values()), sum(result["seconds"].values())
        print(f"| {events:,} | **all** | {total:,} | {secs:.1f} | **{total / secs:,.0f}** |")
        print(f"|  | store size on disk: {result['store_mb']:.1f} MiB (CSV input "
              f"{result['csv_mb']:.1f} MiB); generation {result['generated_s']:.1f} s |  |  |  |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak memory of the benchmark process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
