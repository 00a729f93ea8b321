"""Benchmark: what the Hotspots page costs on a cold cache, by role.

    .venv/bin/python bench/bench_hotspot_view.py [--years 5] [--runs 3] [--store DIR]
    .venv/bin/python bench/bench_hotspot_view.py --store DIR --first-fits 3 [--compare DIR]

Builds (or reuses) the synthetic demo store (``data.synthetic``, 5 years, seed 1: what
``make run`` serves), then times, median of ``--runs``:

- ``fit_hotspots`` (read the points inside the data layer, fit the default scan on all feeds
  with cross-feed fits, suppress for the role, audit) for an analyst and a chair: the page's
  first view for a filter set, before ``st.cache_data`` keeps it;
- the hotspot map (``maps.hotspot_layer.hotspot_map``) rendered to HTML;
- the one-page tasking sheet PDF of 10 tasks (``reports.tasking_sheet``).

The population grid is built once per process before timing (the model caches it). Prints a
Markdown table; docs/benchmarks.md records it.

``--first-fits N``: the page's *first* fit as a server's first visitor gets it, N times, each in
a fresh process that has done the server's warm-up (``ui.serve.warm()``, both stages) and no
fit: the analyst's and the chair's first view of the Hotspots page's default filters (the
last 12 months, all feeds), then a filter set no warm-up could foresee (NRM and Rosewood,
Leeds), then that one again in the same process. Wall clock and the process's CPU time (less
inflated than wall clock on a shared machine). ``--compare DIR`` measures a second checkout
(a copy of the code before a change) the same way, alternating with this one run by run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__" and "--worker" in sys.argv:
    # A first-fit worker runs the checkout named after --worker, not this one.
    sys.path.insert(0, sys.argv[sys.argv.index("--worker") + 1])
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.schema import FEEDS
from data.synthetic import build_store
from maps.hotspot_layer import hotspot_map
from reports.tasking_sheet import tasking_sheet
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from views.hotspots import fit_hotspots
from views.tasking import TaskBook


def median_time(action, runs: int, before=None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forget_fits() -> None:
    """Drop the fits the process keeps (``views.hotspot_fits``; absent from older code)."""
    try:
        from views.hotspot_fits import forget_fits as forget
    except ImportError:
        return
    forget()


FIRST_FITS = ("analyst, default view", "chair, default view", "analyst, NRM+Rosewood in Leeds",
              "same again")


def first_fits_worker(store_root: Path) -> dict[str, list[float]]:
    """One fresh server-like process: the warm-up, then the fits of ``FIRST_FITS``; returns
    ``{what: [wall s, cpu s, hotspots]}``."""
    import logging

    logging.disable(logging.WARNING)
    os.environ["STORE_URL"] = str(store_root)
    from ui import serve
    from views.viewstate import ExplorerState, from_query_params, normalise, to_filter

    serve.warm()
    period = ParquetStore(store_root).period()

    def default(role):
        link = from_query_params({}, role=role, store_period=period)
        state = normalise(ExplorerState(start=link.start, end=link.end, feeds=tuple(FEEDS)),
                          role=role, store_period=period)
        return state.feeds, to_filter(state)

    feeds, filters = default("analyst")
    chair_feeds, chair_filters = default("chair")
    leeds = replace_filter(filters, districts=("E08000035",))
    store = ParquetStore(store_root)
    asks = [("analyst", feeds, filters), ("chair", chair_feeds, chair_filters),
            ("analyst", ("nrm", "rosewood"), leeds), ("analyst", ("nrm", "rosewood"), leeds)]
    out = {}
    for what, (role, fit_feeds, fit_filters) in zip(FIRST_FITS, asks):
        query = RoleScopedQuery(store, Principal(f"bench-{role}", role))
        wall, cpu = time.perf_counter(), time.process_time()
        view = fit_hotspots(query, list(fit_feeds), fit_filters)
        out[what] = [time.perf_counter() - wall, time.process_time() - cpu, len(view.hotspots)]
    return out


def replace_filter(filters, **changes):
    from dataclasses import replace

    return replace(filters, **changes)


def first_fits(store_root: Path, runs: int, repos: list[Path]) -> None:
    """``--first-fits``: alternate fresh worker processes over ``repos``; print a table."""
    results = {repo: [] for repo in repos}
    loads = []
    for _ in range(runs):
        for repo in repos:
            loads.append(os.getloadavg()[0])
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worker", str(repo),
                 "--store", str(store_root)], cwd=repo, capture_output=True, text=True,
                env={**os.environ, "PYTHONPATH": str(repo)}, check=True)
            results[repo].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{repo.name}: {results[repo][-1]}", file=sys.stderr, flush=True)
    print(f"\nFirst fits on {store_root} ({platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {min(loads):.1f}-{max(loads):.1f}); medians of {runs} fresh "
          "processes after the warm-up:\n")
    print("| fit | " + " | ".join(f"{r.name} wall s | {r.name} CPU s" for r in repos)
          + " | hotspots |\n|---|" + "---:|" * (2 * len(repos) + 1))
    for what in FIRST_FITS:
        cells = []
        for repo in repos:
            cells += [f"{statistics.median(r[what][0] for r in results[repo]):.2f}",
                      f"{statistics.median(r[what][1] for r in results[repo]):.2f}"]
        print(f"| {what} | " + " | ".join(cells) + f" | {results[repos[0]][0][what][2]} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--first-fits", type=int, default=0, metavar="N")
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.store or Path(tempfile.mkdtemp()) / "store"
    if not (root / "_manifest.json").exists():
        build_store(root, years=args.years, seed=1)
    if args.worker:
        print(json.dumps(first_fits_worker(root.resolve())))
        return 0
    if args.first_fits:
        repos = [Path(__file__).resolve().parent.parent]
        repos += [args.compare.resolve()] if args.compare else []
        first_fits(root.resolve(), args.first_fits, repos)
        return 0
    store = ParquetStore(root)
    records = sum(b["rows"] for b in store.batches())
    # One-off: the population grid.
    fit_hotspots(RoleScopedQuery(store, Principal("bench", "analyst")), list(FEEDS))
    print(f"Demo store: {records:,} records ({args.years} years). Median of {args.runs}.\n")
    print("| step | role | s | hotspots |\n| --- | --- | ---: | ---: |")
    views = {}
    for role in ("analyst", "chair"):
        query = RoleScopedQuery(store, Principal(f"bench-{role}", role))
        # Every fit timed is a fit: the process keeps fits per filters (views.hotspot_fits).
        seconds = median_time(lambda role=role, query=query: views.__setitem__(
                                  role, fit_hotspots(query, list(FEEDS))),
                              args.runs, before=forget_fits)
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
