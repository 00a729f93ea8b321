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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _checkouts import (  # noqa: E402
    add_checkout_arguments,
    checkouts,
    load_average,
    load_line,
    partner_files,
    run_worker,
)


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
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    add_checkout_arguments(parser, rounds=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tree, path, feed = args.worker
        print(json.dumps(worker(Path(tree), Path(path), feed, args.repeat)))
        return
    files = partner_files(Path(args.files), [args.feed], args.events, args.seed)
    trees = checkouts(args.compare)
    print(f"{load_line('location stage')} · {files / (args.feed + '.csv')}")
    print("| round | version | rows | chunks | CPU s (best of {}) | wall s |".format(args.repeat))
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for round_ in range(1, args.rounds + 1):
        for version, tree in trees:
            result = run_worker(__file__, tree, "--worker", str(tree),
                                str(files / f"{args.feed}.csv"), args.feed,
                                "--repeat", str(args.repeat))
            print(f"| {round_} | {version} | {result['rows']:,} | {' / '.join(f'{s:,}' for s in result['sizes'])} | "
                  f"{result['cpu']:.3f} | {result['wall']:.3f} |")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
