"""What the benchmarks share: synthetic stores (built once in ``/tmp/bench-stores`` and reused),
the store benchmarks' arguments and throwaway PostGIS databases, and median timings."""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.parquet import ParquetStore

BENCH_STORES = Path("/tmp/bench-stores")
ROOT = Path(__file__).resolve().parent.parent


def source_store(events: int, given: str | None = None) -> ParquetStore:
    """The store at ``given``, else the benchmarks' synthetic store of ``events`` events
    (``store_N``, or an older ``store-N``), built with ``python -m data.synthetic`` if none."""
    candidates = [Path(given)] if given else [BENCH_STORES / f"store_{events}",
                                              BENCH_STORES / f"store-{events}"]
    for path in candidates:
        if (path / "_manifest.json").exists():
            return ParquetStore(path)
    target = candidates[0]
    print(f"building {target} (python -m data.synthetic --events {events}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "data.synthetic", "--events", str(events), "--store",
                    str(target)], check=True, cwd=ROOT)
    return ParquetStore(target)


def store_arguments(description: str) -> argparse.ArgumentParser:
    """The arguments of the benchmarks that compare the two store backends: ``--events``,
    ``--repeat``, ``--source`` and ``--database-url``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", help="an existing Parquet store to copy records from")
    parser.add_argument("--database-url", help="an empty PostGIS database (default: throwaway)")
    return parser


@contextmanager
def postgis_databases(database_url: str | None, *names: str) -> Iterator[list[str | None]]:
    """A URL per name in ``names``: ``database_url`` for the first (None for the others) where
    it is given, else a new database each in a throwaway cluster (tests/pgcluster.py, with
    ``fsync=off``: say so next to the figures), stopped when the block ends."""
    if database_url is not None:
        yield [database_url] + [None] * (len(names) - 1)
        return
    from tests.pgcluster import Cluster

    cluster = Cluster().start()
    try:
        yield [cluster.create_database(name) for name in names]
    finally:
        from storage.postgis import dispose_engines

        dispose_engines()
        cluster.stop()


def median_seconds(call: Callable[[], object], repeat: int, *, warm_up: bool = False) -> float:
    """The median wall-clock time of ``repeat`` calls of ``call``, in seconds (after one call
    not timed with ``warm_up``: caches, pooled connections)."""
    if warm_up:
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """:func:`median_seconds` after one warm-up call, in milliseconds."""
    return median_seconds(call, repeat, warm_up=True) * 1000
