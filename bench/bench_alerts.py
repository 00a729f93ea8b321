"""Benchmark: new-hotspot alerts (``models.surveillance.ProspectiveScan``), fit time and null rate.

    .venv/bin/python bench/bench_alerts.py [--store /tmp/alerts-demo] [--repeats 3]
                                           [--null-seeds 50] [--null-first-seed 0]
                                           [--null-events 2500] [--skip-fit] [--skip-null]

- **Fit time** on the five-year demo store (``python -m data.synthetic --years 5 --seed 1``,
  built at ``--store`` if missing): all feeds pooled, the last whole month analysed (with the
  month before, for "new"), 999 replicas, median of ``--repeats``; the page's view
  (``views.hotspot_alerts.fit_alerts``, reading the store and protecting the figures) is timed
  as an analyst and as a chair.
- **Alerts on null data**: events spread by population over 36 months, nothing planted
  (``tests.test_hotspots.null_events``), December's analysis with the defaults; the share of
  seeds raising any alert, and the p-value of the most likely cylinder (uniform under an exact
  test). The threshold (once in 10 years or rarer) is p <= 1/120, so about 0.8% of analyses.

Prints Markdown (not a timed test); docs/benchmarks.md and docs/hotspots.md record the figures.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from bench._stores import median_seconds
from models._events import events_frame
from models._grid import analysis_grid
from models.surveillance import ProspectiveScan
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from views.hotspot_alerts import alert_month, fit_alerts

FEEDS = ("nrm", "rosewood", "mandevilla")


def demo_store(path: Path) -> ParquetStore:
    if not (path / "_manifest.json").exists():
        subprocess.run([sys.executable, "-m", "data.synthetic", "--years", "5", "--seed", "1",
                        "--store", str(path)], check=True, cwd=ROOT)
    return ParquetStore(path)


def bench_fit(store: ParquetStore, repeats: int) -> None:
    first, last = store.period()
    month = alert_month((first, last), last + pd.Timedelta(days=1))
    frames = [events_frame(store.query(f, None, columns=["event_date", "easting", "northing"]),
                           f) for f in FEEDS]
    events = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                              crs=frames[0].crs)
    analysis_grid(300)
    warnings.simplefilter("ignore")
    model = ProspectiveScan(random_state=0)
    fit = median_seconds(lambda: model.fit(events, as_of=month), repeats)
    print(f"\n### Fit time, demo store ({len(events):,} events with a point; month {month}; "
          f"{model.n_events_:,} in the 36-month study period)\n")
    print(f"| what | median of {repeats} (s) |\n| --- | ---: |")
    print(f"| `ProspectiveScan().fit` (this month and last, 999 replicas each) | {fit:.2f} |")
    for role in ("analyst", "chair"):
        query = RoleScopedQuery(store, Principal("bench", role))
        view = median_seconds(lambda q=query: fit_alerts(q, FEEDS, month), repeats)
        print(f"| `fit_alerts` as {role} (read + fit + figures + audit) | {view:.2f} |")
    print(f"\nAlerts: {len(model.alerts_)} ({int(model.alerts_['new'].sum())} new); "
          f"most likely cylinder p = {model.p_value_:.3f}")


def bench_null(seeds: range, n_events: int) -> None:
    from tests.test_hotspots import null_events

    warnings.simplefilter("ignore")
    alerted, p_values, times = 0, [], []
    for seed in seeds:
        events = null_events(n_events, seed=seed, months=36)
        start = time.perf_counter()
        model = ProspectiveScan(random_state=seed).fit(events, as_of="2025-12")
        times.append(time.perf_counter() - start)
        alerted += int(len(model.alerts_) > 0)
        p_values.append(model.p_value_)
    n = len(seeds)
    low, high = stats.binomtest(alerted, n).proportion_ci(method="exact")
    counts = np.histogram(p_values, bins=10, range=(0, 1))[0]
    print(f"\n### Null data: {n_events:,} events over 36 months, seeds {seeds.start}-"
          f"{seeds.stop - 1}\n")
    print(f"- seeds with any alert (once in 10 years or rarer): **{alerted} of {n} "
          f"({alerted / n:.1%}, exact 95% interval {low:.1%}-{high:.1%})**; expected ~0.8%")
    print(f"- most likely cylinder's p-value, ten bins: {counts.tolist()}; uniform? chi-square "
          f"p = {stats.chisquare(counts).pvalue:.2f}")
    print(f"- fit time: median {statistics.median(times):.2f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="/tmp/alerts-demo")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--null-seeds", type=int, default=50)
    parser.add_argument("--null-first-seed", type=int, default=0)
    parser.add_argument("--null-events", type=int, default=2500)
    parser.add_argument("--skip-fit", action="store_true")
    parser.add_argument("--skip-null", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_fit:
        bench_fit(demo_store(Path(args.store)), args.repeats)
    if not args.skip_null:
        bench_null(range(args.null_first_seed, args.null_first_seed + args.null_seeds),
                   args.null_events)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
