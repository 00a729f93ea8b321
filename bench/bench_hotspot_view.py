"""Benchmark: what the Hotspots page costs on a cold cache, by role.

    .venv/bin/python bench/bench_hotspot_view.py [--years 5] [--runs 3] [--store DIR]

Builds (or reuses) the synthetic demo store (``data.synthetic``, 5 years, seed 1: what
``make run`` serves), then times, median of ``--runs``:

- ``fit_hotspots`` (read the points inside the data layer, fit the default scan on all feeds
  with cross-feed fits, suppress for the role, audit) for an analyst and a chair: the page's
  first view for a filter set, before ``st.cache_data`` keeps it;
- the hotspot map (``maps.hotspot_layer.hotspot_map``) rendered to HTML;
- the one-page tasking sheet PDF of 10 tasks (``reports.tasking_sheet``).

The population grid is built once per process before timing (the model caches it). Prints a
Markdown table; docs/benchmarks.md records it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.schema import FEEDS  # noqa: E402
from data.synthetic import build_store  # noqa: E402
from maps.hotspot_layer import hotspot_map  # noqa: E402
from reports.tasking_sheet import tasking_sheet  # noqa: E402
from safeguards.access import Principal, RoleScopedQuery  # noqa: E402
from storage.parquet import ParquetStore  # noqa: E402
from views.hotspots import fit_hotspots  # noqa: E402
from views.tasking import TaskBook  # noqa: E402


def median_time(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    args = parser.parse_args(argv)
    root = args.store or Path(tempfile.mkdtemp()) / "store"
    if not (root / "_manifest.json").exists():
        build_store(root, years=args.years, seed=1)
    store = ParquetStore(root)
    records = sum(b["rows"] for b in store.batches())
    # One-off: the population grid.
    fit_hotspots(RoleScopedQuery(store, Principal("bench", "analyst")), list(FEEDS))
    print(f"Demo store: {records:,} records ({args.years} years). Median of {args.runs}.\n")
    print("| step | role | s | hotspots |\n| --- | --- | ---: | ---: |")
    views = {}
    for role in ("analyst", "chair"):
        query = RoleScopedQuery(store, Principal(f"bench-{role}", role))
        seconds = median_time(lambda: views.__setitem__(role, fit_hotspots(query, list(FEEDS))),
                              args.runs)
        print(f"| fit_hotspots, all feeds | {role} | {seconds:.2f} | "
              f"{len(views[role].hotspots)} |")
    view = views["chair"]
    seconds = median_time(lambda: hotspot_map(view.hotspots, selected=view.ids[0])
                          .get_root().render(), args.runs)
    print(f"| hotspot map to HTML | chair | {seconds:.2f} | {len(view.hotspots)} |")
    scratch = ParquetStore(Path(tempfile.mkdtemp()) / "tasks")
    scratch.root.mkdir(parents=True)
    book = TaskBook(scratch, Principal("bench", "chair"))
    due = dt.date.today() + dt.timedelta(days=30)
    for i in range(10):
        book.create(view.hotspots.iloc[i % len(view.hotspots)], lead_agency=book.agencies[0],
                    action=f"Bench task {i}: joint visit", due=due, feeds=view.feeds)
    tasks = book.tasks()
    seconds = median_time(lambda: tasking_sheet(tasks), args.runs)
    print(f"| tasking sheet PDF, 10 tasks | chair | {seconds:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
