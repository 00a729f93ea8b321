"""Where a fresh process's ingest of the 1,000,000-event files spends its CPU, stage by stage.

    .venv/bin/python bench/profile_ingest_stages.py [--events 1000000] [--seed 1]
        [--files DIR] [--compare before=/path/to/old/checkout] [--rounds 2]

Writes the synthetic partner files (``bench_ingest.write_feeds``) to ``--files`` (made once,
kept: default ``/tmp/ingest_stage_files``), then for each checkout, in a fresh process per
round (checkouts alternating), ingests nrm, rosewood and mandevilla in turn into an empty store
and prints per feed: wall and process CPU seconds (``time.process_time``), the kernel's part
and the minor page faults (``getrusage``), and the CPU of each stage on the thread that ran it
(``time.thread_time`` around the function: ``data.ingest``'s reading, contract, identifier
check, parsing, validation, hashing of the parsed columns, the locations (second thread, and
the chunks the first ran itself), the content hash, the store's append, the audit entry; the
warm-up thread's LSOA grid table and pandera run). "Arrow pool and other" is the process CPU
no Python thread accounts for: Arrow's own threads (the CSV read and the Parquet encoding).
The imports before the first ingest are reported apart (the bench's timed span starts after
them, as the raw read's does).
"""
from __future__ import annotations

import argparse
import collections
import functools
import json
import resource
import sys
import tempfile
import threading
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

FEEDS = ("nrm", "rosewood", "mandevilla")
#: (module, function name as that module calls it, stage label)
STAGES = [
    ("data.ingest", "read_partner_file", "read"),
    ("data.ingest", "resolve_columns", "contract"),
    ("data.ingest", "refuse_identifiers", "identifiers"),
    ("data.ingest", "_parse", "parse"),
    ("data.ingest", "validate", "validate"),
    ("data.ingest", "text_hashes", "hash parsed columns"),
    ("data.ingest", "joined", "join locations (wait, or run a chunk)"),
    ("data.ingest", "locate_chunk", "locations and their hashes"),
    ("data.ingest", "content_hash_of", "content hash"),
    ("data.ingest", "_record_ingest", "audit"),
    ("data.warm_up", "lsoa_grid", "LSOA grid table"),
    ("data.warm_up", "warm_up", "pandera warm-up"),
]


def worker(tree: Path, files: Path) -> dict:
    started = time.process_time()
    sys.path.insert(0, str(tree))
    import importlib

    modules = {name: importlib.import_module(name) for name in {m for m, _, _ in STAGES}}
    from storage.parquet import ParquetStore
    imports_cpu = time.process_time() - started
    spent: dict = collections.defaultdict(float)
    depth = threading.local()

    def timed(function, label):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            outer = getattr(depth, "level", 0) == 0  # a stage inside a stage counts once
            depth.level = getattr(depth, "level", 0) + 1
            begun = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                depth.level -= 1
                if outer:
                    thread = "main" if threading.current_thread() is threading.main_thread() \
                        else threading.current_thread().name.split("_")[0]
                    spent[(thread, label)] += time.thread_time() - begun
        return wrapper

    for module, name, label in STAGES:
        setattr(modules[module], name, timed(getattr(modules[module], name), label))
    feeds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for feed in FEEDS:
            store = ParquetStore(Path(tmp) / feed)
            append = store.append
            store.append = timed(append, "store append")
            spent.clear()
            before = resource.getrusage(resource.RUSAGE_SELF)
            wall, cpu = time.perf_counter(), time.process_time()
            modules["data.ingest"].ingest_file(files / f"{feed}.csv", feed, store=store)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            after = resource.getrusage(resource.RUSAGE_SELF)
            stages = {f"{thread}: {label}": seconds for (thread, label), seconds in spent.items()}
            stages["Arrow pool and other"] = cpu - sum(spent.values())
            feeds[feed] = {"wall": wall, "cpu": cpu, "sys": after.ru_stime - before.ru_stime,
                           "faults": after.ru_minflt - before.ru_minflt, "stages": stages}
    return {"imports_cpu": imports_cpu, "feeds": feeds,
            "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    add_checkout_arguments(parser, rounds=1)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), Path(args.worker[1]))))
        return
    files = partner_files(Path(args.files), FEEDS, args.events, args.seed)
    trees = checkouts(args.compare)
    print(f"{load_line('ingest stages')} · files {files}")
    results = collections.defaultdict(list)
    for _ in range(args.rounds):
        for version, tree in trees:
            results[version].append(run_worker(__file__, tree, "--worker", str(tree), str(files),
                                               env={"INGEST_PROGRESS": "never"}))
    versions = [v for v, _ in trees]
    for feed in FEEDS:
        print(f"\n{feed}: CPU seconds by stage, each round (" + " | ".join(versions) + ")")
        print("| stage | " + " | ".join(versions) + " |")
        print("| --- |" + " ---: |" * len(versions))
        for key, label in (("wall", "wall s"), ("cpu", "process CPU s"), ("sys", "of which sys s"),
                           ("faults", "page faults")):
            cells = [" / ".join(f"{r['feeds'][feed][key]:,.2f}" if key != "faults" else
                                f"{r['feeds'][feed][key]:,}" for r in results[v])
                     for v in versions]
            print(f"| **{label}** | " + " | ".join(cells) + " |")
        stages = sorted({s for v in versions for r in results[v] for s in r["feeds"][feed]["stages"]},
                        key=lambda s: -max(r["feeds"][feed]["stages"].get(s, 0)
                                           for v in versions for r in results[v]))
        for stage in stages:
            cells = [" / ".join(f"{r['feeds'][feed]['stages'].get(stage, 0):.2f}"
                                for r in results[v]) for v in versions]
            print(f"| {stage} | " + " | ".join(cells) + " |")
    print()
    for version in versions:
        print(f"{version}: imports before the first ingest, CPU s: "
              + " / ".join(f"{r['imports_cpu']:.2f}" for r in results[version])
              + "; peak memory GiB: " + " / ".join(f"{r['peak_gib']:.2f}" for r in results[version]))
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
