"""Benchmark: the map's cell counts (``RoleScopedQuery.cell_counts``) on both store backends.

    .venv/bin/python bench/bench_cells.py [--events 1000000] [--repeat 5] [--source DIR]
        [--database-url postgresql://...]

The query layer asks the store for its own aggregation (``Store.cell_counts``): the Parquet store
reads the easting/northing columns and groups them in NumPy; the PostGIS store groups in SQL
and sends back one row per occupied cell. For comparison, the old path on
PostGIS (read every point, group in NumPy: the generic ``Store.cell_counts``) is timed too.

Source: a synthetic store of ``--events`` events (``/tmp/bench-stores/store_N`` reused if present,
else built with ``python -m data.synthetic --events N``), copied into an empty PostGIS database
(``--database-url``, else a throwaway cluster from tests/pgcluster.py with ``fsync=off``).
Figures: median of ``--repeat`` runs after one warm-up, every feed, analyst role (each call is
audited, as in the app).
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stores import (  # noqa: E402
    median_ms,
    postgis_databases,
    source_store,
    store_arguments,
)
from core.filters import EventFilter  # noqa: E402
from core.schema import FEEDS  # noqa: E402
from safeguards.access import Principal, RoleScopedQuery  # noqa: E402
from storage.base import Store
from storage.open import open_store
from storage.parquet import ParquetStore  # noqa: E402


class ViaPoints:
    """A PostGIS store whose cell counts read every point and group them in NumPy (the old
    query-layer path), for comparison."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def cell_counts(self, feed, filters=None, cell_m=100):
        return Store.cell_counts(self._store, feed, filters, cell_m)


def main() -> int:
    args = store_arguments(__doc__.split("\n")[0]).parse_args()
    with postgis_databases(args.database_url, "bench_cells") as (url,):
        source = source_store(args.events, args.source)
        postgis = open_store(url)
        if not postgis.batches():
            started = time.perf_counter()
            for batch in source.batches():
                postgis.import_batch(batch, source.batch_frame(batch))
            print(f"copied into PostGIS in {time.perf_counter() - started:.0f} s")
        load = os.getloadavg()
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load[0]:.1f}; "
              f"python {platform.python_version()}; {dt.date.today()}; source {source.url} "
              f"({sum(b['rows'] for b in source.batches()):,} records)")
        throwaway = " (throwaway cluster, fsync=off)" if args.database_url is None else ""
        print(f"postgis: {postgis.url}{throwaway}")
        analyst = Principal("bench", "analyst")
        # Every cell_counts call is audited: query a copy, not the shared source store.
        scratch = Path(tempfile.mkdtemp(prefix="bench-cells-"))
        shutil.copytree(source.root, scratch / "parquet", ignore=shutil.ignore_patterns("_audit"))
        parquet = ParquetStore(scratch / "parquet")
        backends = {"parquet": RoleScopedQuery(parquet, analyst),
                    "postgis (SQL)": RoleScopedQuery(postgis, analyst),
                    "postgis (points)": RoleScopedQuery(ViaPoints(postgis), analyst)}
        last = source.period()[1]
        cases = {"no filter": EventFilter(),
                 "last year": EventFilter(start=last - dt.timedelta(days=365), end=last),
                 "Leeds, last year": EventFilter(districts=("E08000035",),
                                                 start=last - dt.timedelta(days=365), end=last)}
        print(f"\nRoleScopedQuery.cell_counts over all feeds, median of {args.repeat} (ms)")
        print(f"  {'filters':<18} {'cell':>6} " + " ".join(f"{n:>17}" for n in backends)
              + "  cells")
        for label, filters in cases.items():
            for cell_m in (100, 1000):
                results = {}
                for name, query in backends.items():
                    def run(query=query):
                        return [query.cell_counts(feed, filters, cell_m=cell_m)
                                for feed in FEEDS]
                    results[name] = (median_ms(run, args.repeat), run())
                cells = sum(len(frame) for frame in results["parquet"][1])
                same = all(all(a.equals(b) for a, b in zip(results["parquet"][1], r[1]))
                           for r in results.values())
                print(f"  {label:<18} {cell_m:>5}m "
                      + " ".join(f"{results[n][0]:>17.0f}" for n in backends)
                      + f"  {cells:,}" + ("" if same else "  RESULTS DIFFER"))
        shutil.rmtree(scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
