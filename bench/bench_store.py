"""Benchmark: the two store backends side by side, Parquet (embedded) and PostgreSQL + PostGIS.

    .venv/bin/python bench/bench_store.py [--events 1000000] [--repeat 5] [--source DIR]
        [--database-url postgresql://...]

1. **Store write rate**: the records of a synthetic store of ``--events`` events (built with
   ``python -m data.synthetic --events N``; ``/tmp/bench-stores/store-N`` or ``store_N`` reused if
   present) appended batch by batch (``Store.append``: diff against stored ids, write, commit)
   into an empty store of each backend. Validation and geomasking are the same for both backends
   and are measured by bench/bench_ingest.py.
2. **Full ingest** (``ingest_frame``: contract, parse, validate, geomask, area codes, store) of
   200,000 freshly generated events into an empty store of each backend.
3. **Query latency** on the 1M-event stores, median of ``--repeat`` runs after one warm-up:
   reads with filters, counts by area and month, summary, period, a chair's suppressed ward
   counts through the role-scoped query layer.

PostgreSQL: ``--database-url`` (an empty database the user may create tables in), else a
throwaway cluster (tests/pgcluster.py) with ``fsync=off`` - say so next to the figures.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
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
from data.ingest import ingest_frame  # noqa: E402
from data.synthetic import generate  # noqa: E402
from safeguards.access import Principal, RoleScopedQuery  # noqa: E402
from storage.open import open_store
from storage.parquet import ParquetStore  # noqa: E402


def write_rate(source, target) -> tuple[float, int]:
    rows = 0
    frames = [(b, source.batch_frame(b)) for b in source.batches()]
    started = time.perf_counter()
    for batch, frame in frames:
        target.append(batch["feed"], frame, source="synthetic", file_name=batch["file_name"])
        rows += len(frame)
    return time.perf_counter() - started, rows


def full_ingest(target, frames) -> tuple[float, int]:
    started = time.perf_counter()
    rows = 0
    for feed, frame in frames.items():
        rows += ingest_frame(frame, feed, name=f"bench-{feed}", store=target).added
    return time.perf_counter() - started, rows


def queries(store, last: dt.date):
    year = EventFilter(start=last - dt.timedelta(days=365), end=last)
    leeds = EventFilter(districts=("E08000035",), start=last - dt.timedelta(days=365), end=last)
    chair = RoleScopedQuery(store, Principal("bench", "chair"))
    return {
        "query nrm, all rows and columns": lambda: store.query("nrm"),
        "query nrm, point columns, last year": lambda: store.query(
            "nrm", year, columns=["event_date", "easting", "northing", "ward_code"]),
        "query all feeds, Leeds, last year": lambda: [store.query(f, leeds) for f in FEEDS],
        "counts nrm by ward and month": lambda: store.counts("nrm", ["ward_code"], freq="M"),
        "counts all feeds by LSOA, last year": lambda: [store.counts(f, ["lsoa_code"], year)
                                                        for f in FEEDS],
        "summary (feed x district)": store.summary,
        "period": store.period,
        "chair: ward x month, suppressed": lambda: chair.area_counts(list(FEEDS), "ward",
                                                                     freq="M"),
    }


def main() -> int:
    parser = store_arguments(__doc__.split("\n")[0])
    parser.add_argument("--ingest-events", type=int, default=200_000)
    args = parser.parse_args()
    with postgis_databases(args.database_url, "bench", "bench_ingest") as (url, url_ingest):
        source = source_store(args.events, args.source)
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            stores = {"parquet": ParquetStore(Path(tmp) / "parquet"), "postgis": open_store(url)}
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
                  f"{platform.python_version()}; source {source.url} "
                  f"({sum(b['rows'] for b in source.batches()):,} records)")
            print(f"postgis: {stores['postgis'].url}"
                  + (" (throwaway cluster, fsync=off)" if args.database_url is None else ""))
            print("\n1. store write rate (Store.append of the source's batches)")
            for name, store in stores.items():
                seconds, rows = write_rate(source, store)
                print(f"  {name:<8} {rows:>9,} rows in {seconds:6.1f} s = "
                      f"{rows / seconds:>9,.0f} rows/s")

            if url_ingest or args.database_url is None:
                print(f"\n2. full ingest (ingest_frame) of {args.ingest_events:,} generated events")
                frames = generate(seed=2, events=args.ingest_events)
                targets = {"parquet": ParquetStore(Path(tmp) / "ingest"),
                           "postgis": open_store(url_ingest)}
                for name, store in targets.items():
                    seconds, rows = full_ingest(store, frames)
                    print(f"  {name:<8} {rows:>9,} rows in {seconds:6.1f} s = "
                          f"{rows / seconds:>9,.0f} rows/s")

            last = stores["parquet"].period()[1]
            print(f"\n3. query latency, median of {args.repeat} (ms)")
            print(f"  {'query':<40} {'parquet':>9} {'postgis':>9}  rows")
            plans = {name: queries(store, last) for name, store in stores.items()}
            for label in plans["parquet"]:
                a = median_ms(plans["parquet"][label], args.repeat)
                b = median_ms(plans["postgis"][label], args.repeat)
                result = plans["parquet"][label]()
                size = len(result) if hasattr(result, "__len__") and not isinstance(
                    result, list) else sum(len(r) for r in result) if isinstance(
                    result, list) else 1
                print(f"  {label:<40} {a:>9.0f} {b:>9.0f}  {size:,}")
            size = sum(p.stat().st_size for p in (Path(tmp) / "parquet").rglob("*")
                       if p.is_file())
            with stores["postgis"].connection() as conn:
                pg_bytes = conn.execute("SELECT pg_database_size(current_database())"
                                        ).fetchone()[0]
            print(f"\nsize: parquet {size / 1e6:.0f} MB, postgis database {pg_bytes / 1e6:.0f} MB"
                  " (with indexes and the geometry column)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
