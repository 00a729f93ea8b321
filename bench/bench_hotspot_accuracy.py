"""Benchmark: the Hotspots page's accuracy check (``views.hotspot_accuracy``) on a cold cache.

    .venv/bin/python bench/bench_hotspot_accuracy.py [--store DIR] [--runs 3]

Builds (or reuses) the synthetic demo store (``data.synthetic``, 5 years, seed 1, to 30 Nov
2026), then times the whole backtest (6 test months, each fitted on the 12 before: read,
scan with 99 simulations, the default forecast ranking and KDE) for an analyst and a chair, on
all feeds and on Mandevilla alone: what the page's first view of a filter set costs before
``st.cache_data`` keeps it. One warm-up run first (population grids are cached per process).
Prints a Markdown table; docs/benchmarks.md records it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.filters import EventFilter
from data.synthetic import build_store
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from views.hotspot_accuracy import hotspot_accuracy

END = dt.date(2026, 11, 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="/tmp/bench-stores/demo_5y_seed1")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(args.store)
    if not (root / "_manifest.json").exists():
        build_store(root, years=5, seed=1, end=END.isoformat())
    store = ParquetStore(root)
    feeds_sets = {"all feeds": ("nrm", "rosewood", "mandevilla"), "Mandevilla": ("mandevilla",)}
    hotspot_accuracy(RoleScopedQuery(store, Principal("bench", "analyst")), ("nrm",),
                     EventFilter(end=END))   # warm-up: grids
    print("| feeds | role | s (median) | shown | hotspots' hit rate | KDE's, same area | "
          "area |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: |")
    for title, feeds in feeds_sets.items():
        for role in ("analyst", "chair"):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                result = hotspot_accuracy(RoleScopedQuery(store, Principal("bench", role)),
                                          feeds, EventFilter(end=END))
                times.append(time.perf_counter() - started)
            rates = (f"{100 * result.model_hit_rate:.1f}% | {100 * result.kde_hit_rate:.1f}% | "
                     f"{100 * result.area_share:.2f}%") if result.shown else "– | – | –"
            print(f"| {title} | {role} | {statistics.median(times):.2f} | "
                  f"{'yes' if result.shown else 'no'} | {rates} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
