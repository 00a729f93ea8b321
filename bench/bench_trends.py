"""Benchmark of the Trends figures (views.kpis, views.trend_series, views.trend_flags) on
synthetic stores: not a test, prints figures.

    .venv/bin/python bench/bench_trends.py [--events 6000 100000] [--runs 3]

For each size a synthetic store (5 years ending October 2026) is built in a temporary folder,
then, for an analyst and an executive, the page's reads are timed cold (module cache cleared:
the first view after an ingest, the protected roles' publication included) and warm (cached
tables): the KPI table of a month, the measure
series, the district series of the three feeds and the trend flags. Median of ``--runs``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._stores import median_seconds  # noqa: E402
from core.schema import FEEDS  # noqa: E402
from data.synthetic import build_store  # noqa: E402
from safeguards import publication  # noqa: E402
from safeguards.access import Principal, RoleScopedQuery  # noqa: E402
from storage.parquet import ParquetStore  # noqa: E402
from views import feed_tables, kpis, trend_flags, trend_series  # noqa: E402


def page_reads(query: RoleScopedQuery) -> None:
    kpis.kpi_table(query, "2026-10")
    trend_series.measures_table(query, "2026-10")
    for feed in kpis.FEEDS:
        trend_series.monthly_series(query, feed)
    trend_series.breakdown_series(query, "nrm", "exploitation_type")
    trend_flags.trend_flags(query, end="2026-10")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, nargs="+", default=[6000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("| events | role | cold s | warm s |")
    print("| ---: | --- | ---: | ---: |")
    for events in args.events:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "store"
            build_store(str(root), years=5, seed=1, end="2026-10-31", events=events)
            store = ParquetStore(root)
            for role in ("analyst", "executive"):
                query = RoleScopedQuery(store, Principal("bench", role))

                def cold():
                    feed_tables._CACHE.clear()
                    publication._cache.clear()   # protected roles: the publication too
                    page_reads(query)

                cold_s = median_seconds(cold, args.runs)
                page_reads(query)
                warm_s = median_seconds(lambda: page_reads(query), args.runs)
                print(f"| {events:,} | {role} | {cold_s:.2f} | {warm_s:.2f} |", flush=True)
            build = median_seconds(lambda: [publication.build_publication(store, f) for f in FEEDS],
                          args.runs)
            print(f"| {events:,} | (publication of the three feeds, built) | {build:.2f} | |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
