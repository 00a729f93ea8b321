"""Benchmark: the ingest's read of a partner file (``data.readers.read_partner_file``) in a
fresh process, as the ingest does it (inside ``data.memory_pool.ingest_memory_pool``).

    .venv/bin/python bench/bench_read.py [--feeds nrm rosewood] [--files DIR]
        [--compare before=/path/to/old/checkout] [--rounds 4]

The partner files are ``bench/profile_ingest_stages.py``'s (``--files``, default
``/tmp/ingest_stage_files``). Each round reads each feed once per checkout, each read in a
fresh process, checkouts alternating, and prints the process CPU of the read (Arrow's threads
included, ``time.process_time``), its wall time and the minor page faults it took.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _checkouts import (  # noqa: E402
    add_checkout_arguments,
    checkouts,
    load_average,
    load_line,
    run_worker,
)


def worker(tree: Path, path: Path) -> dict:
    sys.path.insert(0, str(tree))
    from data.memory_pool import ingest_memory_pool
    from data.readers import read_partner_file

    with ingest_memory_pool():
        before = resource.getrusage(resource.RUSAGE_SELF)
        cpu, wall = time.process_time(), time.perf_counter()
        _, frame = read_partner_file(path)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
    return {"rows": len(frame), "cpu": cpu, "wall": wall,
            "faults": after.ru_minflt - before.ru_minflt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", nargs="+", default=["nrm", "rosewood"])
    add_checkout_arguments(parser, rounds=4)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), Path(args.worker[1]))))
        return
    files = Path(args.files)
    trees = checkouts(args.compare)
    print(load_line("ingest read"))
    print("| round | feed | version | rows | CPU s | wall s | page faults |")
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for round_ in range(1, args.rounds + 1):
        for feed in args.feeds:
            for version, tree in trees:
                r = run_worker(__file__, tree, "--worker", str(tree), str(files / f"{feed}.csv"))
                print(f"| {round_} | {feed} | {version} | {r['rows']:,} | {r['cpu']:.3f} | "
                      f"{r['wall']:.3f} | {r['faults']:,} |")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
