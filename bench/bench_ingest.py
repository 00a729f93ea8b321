"""Benchmark: ingest throughput and store size for synthetic partner files.

    .venv/bin/python bench/bench_ingest.py [--events 1000000 100000] [--seed 1]
        [--nrm-rows 200000] [--compare before=/path/to/old/checkout] [--rounds 2]

For each size: generate the synthetic feeds, write them as partner CSV files, then time
``python -m data.ingest``'s code path (``ingest_file``: read, contract, parse, validate, geomask,
area codes, store) into an empty store. Prints rows/s per feed and overall, the store's size on
disk, the CSV size and the peak memory of the process. Generation time is reported separately and
not counted in the ingest rate. Record results in docs/benchmarks.md.

Side by side, in the same run, each file is also read by ``pyarrow.csv.read_csv`` alone (the
floor: parsing the bytes into columns, nothing else), best of three, and the ratio
ingest / raw read is printed: the target is at most 25x (issue 14).

``--nrm-rows N``: also the NRM file of about N rows on its own, ingested once to warm the
process's caches (boundaries, tables) and then timed, best of three.

``--compare NAME=PATH`` (repeatable): time the same files, in the same run, with the code of
another checkout as well (and say whether every checkout stored the same rows and values, and
the same file bytes: ``stored_digests``) (e.g. ``git archive`` of the base commit unpacked in PATH), each
checkout in its own fresh process per size, one after the other; the current checkout is
``after``. The files are generated once, by this checkout. ``--rounds N`` alternates the
checkouts N times (before, after, before, after...), so a change in the machine's load shows.

The grid-cell → LSOA table is kept on disk between processes (``data.grid_cache``,
``core.derived_cache``, default ``instance/cache``): after the first run on a machine each
fresh process reads it (the script makes it once, untimed, if this checkout has none yet).
``--grid-cache cold`` gives every worker process an empty cache folder
of its own instead, so it builds the table as the first ingest after a change of the
boundaries or of that code would (checkouts without the cache build it every time anyway).

Each row gives the wall-clock seconds and, beside them, the CPU seconds of the ingesting
process (all threads, ``time.process_time``): on a shared machine the wall clock measures the
other work as much as this code. The last two columns: the kernel's part of that CPU (``sys``,
from ``getrusage``) and the minor page faults taken (first touches of memory; a count that
does not depend on the load), of the same run as the CPU figure.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent.parent
FEED_NAMES = ("nrm", "rosewood", "mandevilla")


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


def write_feeds(folder: Path, events: int, seed: int) -> tuple[dict[str, Path], float]:
    sys.path.insert(0, str(HERE))
    from data.synthetic import generate

    started = time.perf_counter()
    feeds = generate(seed=seed, events=events)
    generated = time.perf_counter() - started
    files = {}
    for feed, frame in feeds.items():
        files[feed] = folder / f"{feed}.csv"
        frame.to_csv(files[feed], index=False)
    return files, generated


def worker(tree: Path, folder: Path, feeds: list[str], warm: bool) -> dict:
    """In a fresh process: ingest each file of ``folder`` with the code of ``tree``."""
    sys.path.insert(0, str(tree))
    from data.ingest import ingest_file
    from storage.parquet import ParquetStore

    rows, seconds, cpu, kernel = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for feed in feeds:
            path = folder / f"{feed}.csv"
            runs = 3 if warm else 1
            if warm:
                ingest_file(path, feed, store=ParquetStore(Path(tmp) / "warm"))
            best = (float("inf"), float("inf"), 0.0, 0)
            for run in range(runs):
                store = ParquetStore(Path(tmp) / f"{feed}-{run}")
                started, started_cpu = time.perf_counter(), time.process_time()
                usage = resource.getrusage(resource.RUSAGE_SELF)
                report = ingest_file(path, feed, store=store)
                after = resource.getrusage(resource.RUSAGE_SELF)
                best = min(best, (time.perf_counter() - started,
                                  time.process_time() - started_cpu,
                                  after.ru_stime - usage.ru_stime,
                                  after.ru_minflt - usage.ru_minflt))
            rows[feed], (seconds[feed], cpu[feed]) = report.added, best[:2]
            kernel[feed] = best[2:]
        store_mb = sum(folder_bytes(Path(tmp) / f"{feed}-0") for feed in feeds) / 2**20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # before the check
        stored = {feed: stored_digests(Path(tmp) / f"{feed}-0", feed) for feed in feeds}
    return {"rows": rows, "seconds": seconds, "cpu": cpu, "kernel": kernel,
            "store_mb": store_mb, "peak_gib": peak, "stored": stored}


def stored_digests(store: Path, feed: str) -> dict:
    """What an ingest stored for ``feed``, to compare checkouts: the SHA-256 of the batch
    files' bytes, and of the rows (every stored column, rows in ``record_id`` order, written
    as an Arrow IPC stream), with the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((store / feed).glob("*.parquet"))
    file_digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()
    table = pa.concat_tables([pq.read_table(path) for path in files])
    table = table.sort_by("record_id")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return {"files": file_digest, "rows": hashlib.sha256(sink.getvalue()).hexdigest(),
            "count": table.num_rows}


def run_tree(tree: Path, folder: Path, feeds, warm: bool, cold_grid: bool = False) -> dict:
    command = [sys.executable, __file__, "--worker", str(tree), str(folder), "--feeds", *feeds]
    if warm:
        command.append("--warm")
    env = {**os.environ, "INGEST_PROGRESS": "never"}
    with tempfile.TemporaryDirectory() as empty_cache:
        if cold_grid:
            # The table's own (deprecated) variable, which older checkouts also read.
            env["LSOA_GRID_CACHE_DIR"] = empty_cache
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tree,
                              env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(label: str, version: str, result: dict, raw: dict) -> None:
    """One table row per feed (and one for all): wall seconds and rate, then CPU seconds of the
    process (all its threads: ``time.process_time``) and the rate by CPU, steadier than the
    wall clock on a shared machine, then the raw read and the ratio of wall to it, and of the
    CPU the kernel's part (``sys``) and the page faults taken (minor faults: first touches of
    memory), which do not depend on the machine's load."""
    kernel = result.get("kernel", {})
    for feed, count in result["rows"].items():
        s, cpu = result["seconds"][feed], result["cpu"][feed]
        sys_s, faults = kernel.get(feed, (0.0, 0))
        print(f"| {label} | {version} | {feed} | {count:,} | {s:.2f} | {count / s:,.0f} | "
              f"{cpu:.2f} | {count / cpu:,.0f} | {raw[feed]:.3f} | {s / raw[feed]:.0f}x | "
              f"{sys_s:.2f} | {faults:,} |")
    if len(result["rows"]) > 1:
        total, secs = sum(result["rows"].values()), sum(result["seconds"].values())
        cpu = sum(result["cpu"].values())
        raw_total = sum(raw[f] for f in result["rows"])
        sys_s = sum(k[0] for k in kernel.values())
        faults = sum(k[1] for k in kernel.values())
        print(f"| {label} | {version} | **all** | {total:,} | {secs:.2f} | **{total / secs:,.0f}** "
              f"| {cpu:.2f} | {total / cpu:,.0f} | {raw_total:.3f} | **{secs / raw_total:.0f}x** "
              f"| {sys_s:.2f} | {faults:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nrm-rows", type=int, default=0,
                        help="also time an NRM file of about this many rows, caches warm")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH",
                        help="another checkout to time on the same files")
    parser.add_argument("--rounds", type=int, default=1,
                        help="time the checkouts this many times each, alternating")
    parser.add_argument("--grid-cache", choices=("kept", "cold"), default="kept",
                        help="cold: each process builds the LSOA grid table (an empty cache)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--feeds", nargs="+", default=list(FEED_NAMES), help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(Path(args.worker[0]), Path(args.worker[1]), args.feeds,
                                args.warm)))
        return
    trees = [(name, Path(path).resolve()) for name, path in
             (item.split("=", 1) for item in args.compare)] + [("after", HERE)]
    print(f"# ingest benchmark: {platform.node()} · {platform.processor() or platform.machine()} · "
          f"{os.cpu_count()} cores · Python {platform.python_version()} · "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')} · load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} · LSOA grid table: "
          f"{'built in every process' if args.grid_cache == 'cold' else 'kept on disk'}")
    print("| case | version | feed | rows | seconds | rows/s | CPU s | rows/s by CPU | raw read (s) "
          "| ingest / raw | of which sys s | page faults |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    if args.grid_cache == "kept":  # made once here (untimed) if this checkout has none yet
        subprocess.run([sys.executable, "-c", "from data.lsoa_grid import lsoa_grid; lsoa_grid()"],
                       check=True, cwd=HERE)
    cases = [(f"{events:,} events", events, list(FEED_NAMES), False) for events in args.events]
    if args.nrm_rows:
        # The NRM feed is about 54% of the events.
        cases.append((f"{args.nrm_rows:,} NRM rows, warm", int(args.nrm_rows * 1.85), ["nrm"],
                      True))
    for label, events, feeds, warm in cases:
        with tempfile.TemporaryDirectory() as tmp:
            files, generated = write_feeds(Path(tmp), events, args.seed)
            raw = {feed: raw_read_seconds(files[feed]) for feed in feeds}
            stored = {}
            for _ in range(args.rounds):  # before, after, before, after, ...
                for version, tree in trees:
                    result = run_tree(tree, Path(tmp), feeds, warm,
                                      cold_grid=args.grid_cache == "cold")
                    report(label, version, result, raw)
                    stored.setdefault(version, result["stored"])
            csv_mb = sum(files[f].stat().st_size for f in feeds) / 2**20
            print(f"| {label} | | store size on disk: {result['store_mb']:.1f} MiB (CSV input "
                  f"{csv_mb:.1f} MiB); generation {generated:.1f} s; peak memory "
                  f"{result['peak_gib']:.2f} GiB |  |  |  |  |  |  |  |  |  |")
            if len(stored) > 1:  # every checkout stored the same rows (and the same bytes?)
                first = next(iter(stored.values()))
                for key, what in (("rows", "stored rows and values"), ("files", "file bytes")):
                    same = all(s[f][key] == first[f][key] for s in stored.values() for f in feeds)
                    # The rows and values must be the same; the bytes are information only
                    # (the tenth round changed the write options: statistics, dictionaries).
                    verdict = (f"**{'yes' if same else 'NO'}**" if key == "rows" else
                               f"{'yes' if same else 'no'} (information: write options may differ)")
                    print(f"| {label} | | {what} identical in every version: {verdict} "
                          "|  |  |  |  |  |  |  |  |  |")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
