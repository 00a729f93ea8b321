"""Benchmark: the CPU of an ingest's location stage on a partner file, per checkout.

    .venv/bin/python bench/bench_locations.py [--feed nrm] [--files /tmp/ingest_stage_files]
        [--compare before=/path/to/old/checkout] [--rounds 2] [--repeat 5]

For each checkout, in a fresh process per round (checkouts alternating): read the feed's file
as ``data.ingest`` does, load the LSOA table (``data.lsoa_grid``, untimed), resolve the
locations of one chunk once (untimed: boundaries, projections and trees made on first use),
then time ``locate_chunk`` over every chunk of ``data.ingest.CHUNK_ROWS`` rows (locations and
their hashes, what the ingest's second thread does), best of ``--repeat``. Prints process CPU
seconds (every thread: the projections run on a thread of their own) and the wall clock. The
files are ``bench/profile_ingest_stages.py``'s (made by it, or by this script the same way).

CPU is the figure to compare on a shared machine; the wall clock is printed beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def worker(tree: Path, path: Path, feed: str, repeat: int) -> dict:
    sys.path.insert(0, str(tree))
    from data.columns import resolve_columns
    from data.ingest import _chunks
    from data.locating import locate_chunk
    from data.location import resolve_locations
    from data.lsoa_grid import lsoa_grid
    from data.readers import ROW_COLUMN, read_partner_file

    lsoa_grid()
    headers, frame = read_partner_file(path)
    rename, _ = resolve_columns(path, headers, feed)
    frame = frame[[*rename, ROW_COLUMN]].rename(columns=rename)
    try:  # the ingest's location chunks since the ninth round (the last two of equal size)
        from data.ingest import CHUNK_ROWS
        from data.locating import location_chunks
        chunks = location_chunks(frame, CHUNK_ROWS)
    except ImportError:
        chunks = _chunks(frame)
    locate_chunk(resolve_locations, chunks[0], 100)
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        for chunk in chunks:
            locate_chunk(resolve_locations, chunk, 100)
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return {"rows": len(frame), "chunks": len(chunks), "cpu": best[0], "wall": best[1],
            "sizes": [len(c) for c in chunks]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feed", default="nrm", choices=["nrm", "rosewood", "mandevilla"])
    parser.add_argument("--files", default="/tmp/ingest_stage_files")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tree, path, feed = args.worker
        print(json.dumps(worker(Path(tree), Path(path), feed, args.repeat)))
        return
    files = Path(args.files)
    if not (files / f"{args.feed}.csv").exists():
        files.mkdir(parents=True, exist_ok=True)
        sys.path.insert(0, str(HERE / "bench"))
        from bench_ingest import write_feeds
        write_feeds(files, args.events, args.seed)
    trees = [(name, Path(path).resolve()) for name, path in
             (item.split("=", 1) for item in args.compare)] + [("after", HERE)]
    print(f"# location stage: {os.cpu_count()} cores · {time.strftime('%Y-%m-%d %H:%M %Z')} · "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} · "
          f"{files / (args.feed + '.csv')}")
    print("| round | version | rows | chunks | CPU s (best of {}) | wall s |".format(args.repeat))
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for round_ in range(1, args.rounds + 1):
        for version, tree in trees:
            done = subprocess.run(
                [sys.executable, __file__, "--worker", str(tree), str(files / f"{args.feed}.csv"),
                 args.feed, "--repeat", str(args.repeat)],
                capture_output=True, text=True, check=True, cwd=tree)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {round_} | {version} | {result['rows']:,} | {' / '.join(f'{s:,}' for s in result['sizes'])} | "
                  f"{result['cpu']:.3f} | {result['wall']:.3f} |")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
