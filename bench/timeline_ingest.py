"""The thread timeline of a fresh process's ingest: when each stage starts and ends on each
thread, and how busy each thread (Arrow's own included) is, slice by slice.

    .venv/bin/python bench/timeline_ingest.py [--feeds nrm rosewood] [--files DIR]
        [--compare before=/path/to/old/checkout] [--rounds 1] [--slice-ms 100]

The partner files are ``bench/profile_ingest_stages.py``'s (``--files``, default
``/tmp/ingest_stage_files``; made by that script when missing). Each feed is ingested into an
empty store in a fresh process per checkout and round (checkouts alternating). Stages are
``profile_ingest_stages.STAGES`` plus the store's append, timed with ``time.perf_counter``
and ``threading.get_ident`` around each call. A sampler thread reads every thread's CPU from
``/proc/self/task/*/stat`` each slice (Arrow's and the store's helper threads too, which no
Python timer sees), so each slice says how many cores the process used and on which threads.
Prints, per run, the stages (thread, start, end, seconds from the ingest's start) and the
slices (CPU per thread group); the sampler's own CPU is left out.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
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
    run_worker,
)
from profile_ingest_stages import FEEDS, STAGES  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _thread_cpu() -> dict[int, tuple[str, float]]:
    """Every thread of this process: native id -> (name, CPU seconds)."""
    out = {}
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                stat = f.read()
            with open(f"/proc/self/task/{task}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(task)] = (name, (int(fields[11]) + int(fields[12])) / TICKS)
    return out


def worker(tree: Path, files: Path, feed: str, slice_s: float) -> dict:
    sys.path.insert(0, str(tree))
    import importlib

    modules = {name: importlib.import_module(name) for name in {m for m, _, _ in STAGES}}
    from storage.parquet import ParquetStore
    events: list = []
    names: dict[int, str] = {}
    depth = threading.local()
    origin = [0.0]

    def timed(function, label):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            outer = getattr(depth, "level", 0) == 0
            depth.level = getattr(depth, "level", 0) + 1
            begun = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth.level -= 1
                if outer:
                    names[threading.get_native_id()] = threading.current_thread().name
                    events.append((threading.current_thread().name.split("_")[0], label,
                                   begun - origin[0], time.perf_counter() - origin[0]))
        return wrapper

    for module, name, label in STAGES:
        setattr(modules[module], name, timed(getattr(modules[module], name), label))
    samples: list = []
    stop = threading.Event()
    sampler_id = []

    def sample():
        sampler_id.append(threading.get_native_id())
        while not stop.is_set():
            for thread in threading.enumerate():
                names.setdefault(thread.native_id, thread.name)
            samples.append((time.perf_counter() - origin[0], _thread_cpu()))
            stop.wait(slice_s)

    with tempfile.TemporaryDirectory() as tmp:
        store = ParquetStore(Path(tmp) / feed)
        store.append = timed(store.append, "store append")
        origin[0] = time.perf_counter()
        sampler = threading.Thread(target=sample, name="sampler")
        sampler.start()
        cpu = time.process_time()
        modules["data.ingest"].ingest_file(files / f"{feed}.csv", feed, store=store)
        wall, cpu = time.perf_counter() - origin[0], time.process_time() - cpu
        stop.set()
        sampler.join()
        samples.append((time.perf_counter() - origin[0], _thread_cpu()))
    slices = []
    for (t0, a), (t1, b) in zip(samples, samples[1:]):
        used: dict[str, float] = {}
        for tid, (name, seconds) in b.items():
            if tid in sampler_id:
                continue
            group = "main" if tid == os.getpid() else (
                _group(names[tid]) if tid in names else "native (Arrow, GEOS, pyproj)")
            used[group] = used.get(group, 0.0) + seconds - a.get(tid, (name, 0.0))[1]
        slices.append((t0, t1, used))
    return {"wall": wall, "cpu": cpu, "events": events, "slices": slices}


def _group(name: str) -> str:
    """A Python thread's group: its name less the pool's numbering."""
    return name.split("_")[0].split(" ")[0]


def report(version: str, feed: str, result: dict) -> None:
    print(f"\n## {version} · {feed}: wall {result['wall']:.2f} s, process CPU {result['cpu']:.2f} s")
    print("| thread | stage | start s | end s | span s |")
    print("| --- | --- | ---: | ---: | ---: |")
    for thread, label, start, end in sorted(result["events"], key=lambda e: e[2]):
        if end - start >= 0.01:
            print(f"| {thread} | {label} | {start:.2f} | {end:.2f} | {end - start:.2f} |")
    groups = sorted({g for _, _, used in result["slices"] for g in used})
    print("\n| slice s | cores used | " + " | ".join(groups) + " |")
    print("| --- | ---: |" + " ---: |" * len(groups))
    for t0, t1, used in result["slices"]:
        span = max(t1 - t0, 1e-9)
        print(f"| {t0:.1f}–{t1:.1f} | {sum(used.values()) / span:.2f} | "
              + " | ".join(f"{used.get(g, 0.0) / span:.2f}" for g in groups) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", nargs="+", default=["nrm", "rosewood"], choices=FEEDS)
    add_checkout_arguments(parser, rounds=1)
    parser.add_argument("--slice-ms", type=float, default=100)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tree, files, feed = args.worker
        print(json.dumps(worker(Path(tree), Path(files), feed, args.slice_ms / 1000)))
        return
    files = Path(args.files)
    if not all((files / f"{feed}.csv").exists() for feed in FEEDS):
        sys.exit(f"{files}: run bench/profile_ingest_stages.py first (it writes the files)")
    trees = checkouts(args.compare)
    print(load_line("ingest timeline"))
    for _ in range(args.rounds):
        for feed in args.feeds:
            for version, tree in trees:
                report(version, feed, run_worker(
                    __file__, tree, "--slice-ms", str(args.slice_ms), "--worker", str(tree),
                    str(files), feed, env={"INGEST_PROGRESS": "never"}))
    print(f"\nload average at the end: {load_average()}")


if __name__ == "__main__":
    main()
