"""Benchmark: the default hotspot model's fit time, null false-positive rate, planted recovery.

    .venv/bin/python bench/bench_hotspots.py [--sizes 10000 100000 1000000] [--null-seeds 100]
                                             [--planted-seeds 5] [--skip-null] [--skip-planted]

- Fit time of ``HotspotModel()`` (the scan) on the realistic five-year volume and on
  ``data.synthetic.generate(events=N)`` for each size, all three feeds pooled (``cross_feed``
  fits each feed too) and NRM alone. Points are geomasked to 100 m cells as the store does;
  records sent with only an LSOA code have no point and are left out. "cold" includes building
  the population grid (once per process); "warm" is a second fit.
- False-positive rate on null data (events spread by LSOA population, ``tests.test_hotspots.
  null_events``): share of seeds with at least one significant hotspot, with a 95% interval.
- Recovery of the planted hotspots of five-year synthetic stores fitted feed by feed, and the
  hotspots away from every planted disc (false ones for NRM and Mandevilla; Rosewood's are its
  accommodation sites).

Prints figures (not a timed test); docs/hotspots.md records them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402
from scipy import stats  # noqa: E402

from data.store import open_store  # noqa: E402
from data.synthetic import TRUTH_FILE, build_store, generate  # noqa: E402
from geo.crs import BNG  # noqa: E402
from geo.geomask import lonlat_to_bng, snap_to_grid  # noqa: E402
from models._events import events_frame  # noqa: E402
from models.hotspots import HotspotModel, OutsideAreaWarning  # noqa: E402
from tests.test_hotspots import null_events, recovered  # noqa: E402

DATE = {"nrm": "referral_date", "rosewood": "reported_missing_at", "mandevilla": "flag_date"}
END = "2025-12-31"


def generated_events(events: int | None, seed: int = 1) -> gpd.GeoDataFrame:
    """Synthetic records as geomasked points with ``date`` and ``feed`` (as the store has them)."""
    parts = []
    for feed, frame in generate(years=5, seed=seed, end=END, events=events).items():
        lon = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy(float)
        lat = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy(float)
        e = pd.to_numeric(frame["easting"], errors="coerce").to_numpy(float, copy=True)
        n = pd.to_numeric(frame["northing"], errors="coerce").to_numpy(float, copy=True)
        has_lonlat = ~np.isnan(lon)
        x, y = lonlat_to_bng(lon[has_lonlat], lat[has_lonlat])
        e[has_lonlat], n[has_lonlat] = x, y
        point = ~np.isnan(e)
        e, n = snap_to_grid(e[point], n[point], 100)
        dates = pd.to_datetime(frame[DATE[feed]].to_numpy()[point].astype(str).astype("U10"))
        parts.append(gpd.GeoDataFrame({"date": dates, "feed": feed},
                                      geometry=gpd.points_from_xy(e, n), crs=BNG))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=BNG)


def timed_fit(X, **params) -> tuple[float, HotspotModel]:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model = HotspotModel(random_state=0, **params).fit(X)
    return time.perf_counter() - started, model


def bench_fit(sizes) -> None:
    print("\n## Fit time of HotspotModel() (scan, 300 m cells, 99 simulations)")
    print("| events | pooled, cold | pooled, warm | pooled, cross_feed=False | NRM only | "
          "hotspots (pooled) | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in [None, *sizes]:
        X = generated_events(size)
        cold, _ = timed_fit(X)
        warm, model = timed_fit(X)
        single, _ = timed_fit(X, cross_feed=False)
        nrm, _ = timed_fit(X[X["feed"] == "nrm"])
        label = f"{len(X):,}" + (" (realistic 5 years)" if size is None else "")
        print(f"| {label} | {cold:.2f} s | {warm:.2f} s | {single:.2f} s | {nrm:.2f} s | "
              f"{len(model.hotspots_)} | {_rss_gb():.2f} GB |", flush=True)


def bench_null(seeds: int, n_events: int = 1500) -> None:
    print(f"\n## Null data: {n_events:,} events spread by population, {seeds} seeds")
    hits = []
    started = time.perf_counter()
    for seed in range(seeds):
        _, model = timed_fit(null_events(n_events, seed), cross_feed=False)
        if len(model.hotspots_):
            hits.append(seed)
    low, high = stats.binomtest(len(hits), seeds).proportion_ci(0.95, method="exact")
    print(f"seeds with a significant hotspot: {len(hits)} of {seeds} ({len(hits) / seeds:.0%}; "
          f"95% interval {low:.1%} to {high:.1%}); seeds {hits}; "
          f"{(time.perf_counter() - started) / seeds:.2f} s per fit")


def bench_planted(seeds: int) -> None:
    print(f"\n## Planted hotspots: five-year stores, seeds 1..{seeds}, fitted feed by feed")
    found, other = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, seeds + 1):
            root = Path(tmp) / f"s{seed}"
            build_store(root, years=5, seed=seed, end=END)
            truth = json.loads((root / TRUTH_FILE).read_text(encoding="utf-8"))
            store = open_store(root)
            for feed, spots in truth["hotspots"].items():
                _, model = timed_fit(events_frame(store.query(feed), feed), cross_feed=False)
                found.setdefault(feed, []).extend(recovered(model.hotspots_, s) for s in spots)
                discs = [shapely.Point(s["easting"], s["northing"]).buffer(s["radius_m"] + 71)
                         for s in spots]
                shapes = model.hotspots_.to_crs(BNG).geometry
                other.setdefault(feed, []).append(
                    sum(not any(shape.intersects(d) for d in discs) for shape in shapes))
    print("| feed | recovered | hotspots away from every planted disc, per store |")
    print("| --- | --- | --- |")
    for feed in found:
        print(f"| {feed} | {sum(found[feed])} of {len(found[feed])} | {other[feed]} |")
    every = [ok for values in found.values() for ok in values]
    print(f"all feeds: {sum(every)} of {len(every)} recovered ({np.mean(every):.0%})")


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--null-seeds", type=int, default=100)
    parser.add_argument("--planted-seeds", type=int, default=5)
    parser.add_argument("--skip-null", action="store_true")
    parser.add_argument("--skip-planted", action="store_true")
    args = parser.parse_args()
    print(f"# bench_hotspots: {platform.platform()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {pd.Timestamp.now():%Y-%m-%d %H:%M}")
    bench_fit(args.sizes)
    if not args.skip_null:
        bench_null(args.null_seeds)
    if not args.skip_planted:
        bench_planted(args.planted_seeds)


if __name__ == "__main__":
    main()
