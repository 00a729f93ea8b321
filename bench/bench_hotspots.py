"""Benchmark: the default hotspot model's fit time, null false-positive rate, planted recovery.

    .venv/bin/python bench/bench_hotspots.py [--sizes 10000 100000 1000000] [--repeats 3]
                                             [--null-seeds 100] [--null-events 1500 6000]
                                             [--null-first-seed 0]
                                             [--calibration-seeds 300]
                                             [--calibration-events 6000 20000] [--jobs 2]
                                             [--planted-seeds 20] [--stores /tmp/bench-stores]
                                             [--skip-fit] [--skip-null] [--skip-planted]
                                             [--skip-calibration] [--area-cell-m 100]
                                             [--area-footprint centres]
    .venv/bin/python bench/bench_hotspots.py --first-fit STORE [STORE ...] [--runs 5]
                                             [--modes model page forecast] [--compare DIR]

- **Fit time** of ``HotspotModel()`` (the scan, its defaults) on stored, geomasked points read
  from synthetic stores: the realistic five-year volume (``python -m data.synthetic --years 5
  --seed 1``, ~6k records) and ``--events N --seed 1`` for each size, built once under
  ``--stores`` as ``hotspots-demo`` and ``hotspots-N`` (reused when present; records sent with
  only an LSOA code have no point and are left out). Median of ``--repeats`` fits each: all
  feeds pooled as the hotspots page fits them (``cross_feed`` fits each feed too), pooled
  without cross-feed, and NRM alone. Building the population grid is a one-off per process and
  is timed apart.
- **False positives on null data** (events spread by LSOA population, no hotspot planted:
  ``tests.test_hotspots.null_events``): the share of seeds in which the default model reports at
  least one significant hotspot (``p < alpha``: at most 4% by construction), with an exact 95%
  interval, at each ``--null-events`` volume.
- **Calibration of the scan's test** on the same null data (``--calibration-*``; the scan alone,
  ``models.scan.poisson_scan`` on the binned counts, skipping the model's description of its
  hotspots): whether the Monte-Carlo null matches the data's null. Per seed, the p-value of the
  most likely cluster (reported or not); under an exact test it is uniform on
  ``1/100, ..., 100/100``. Printed: the rejection rate under ``p <= alpha`` and ``p < alpha``,
  a chi-square test of the p-values' uniformity (ten bins), a two-sample Kolmogorov-Smirnov test
  of the observed maxima against all the simulated ones (the null distribution of the maximum
  is the same for every seed at a fixed total), and a chi-square test of the generator's cell
  counts, summed over the seeds, against the grid's population shares.
- **Recovery of planted hotspots** in five-year synthetic stores (seeds 1..``--planted-seeds``),
  fitted feed by feed, and the hotspots away from every planted disc (false ones for NRM and
  Mandevilla; Rosewood's other hotspots are its accommodation sites, real concentrations).

- ``--first-fit``: a fresh process's *first* default fit on each store, beside the same fit
  again in that process, with the grid cache (``models.grid_store``) empty and primed; median
  wall clock and CPU of ``--runs`` processes, alternated with a ``--compare`` checkout
  (``bench/_first_fit.py`` says what each fit is). Only this runs when it is given.

Prints Markdown tables (not a timed test); docs/benchmarks.md and docs/hotspots.md record them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from bench._first_fit import MODES, first_fit
from core.schema import FEEDS
from data.synthetic import TRUTH_FILE, build_store
from geo.crs import BNG
from models._events import events_frame
from models._grid import analysis_grid
from models.hotspots import HotspotModel, OutsideAreaWarning
from storage.open import open_store
from tests.test_hotspots import null_events, recovered

END = "2025-12-31"  # planted-recovery stores: a fixed span, so runs compare


def bench_store(root: Path, events: int | None) -> Path:
    """The synthetic store for ``events`` records (None: the realistic five years), built once."""
    path = root / (f"hotspots-{events}" if events else "hotspots-demo")
    if not (path / TRUTH_FILE).exists() or not _complete(path):
        print(f"building {path} ...", file=sys.stderr, flush=True)
        build_store(path, years=5, seed=1, events=events)
    return path


def _complete(path: Path) -> bool:
    truth = json.loads((path / TRUTH_FILE).read_text(encoding="utf-8"))
    stored = {b["feed"]: 0 for b in open_store(path).batches()}
    for batch in open_store(path).batches():
        stored[batch["feed"]] += batch["rows"]
    return all(stored.get(feed, 0) >= n for feed, n in truth["records"].items())


def store_events(path: Path) -> gpd.GeoDataFrame:
    """Every feed's stored points (geomasked cell centres) with ``date`` and ``feed``."""
    store = open_store(path)
    columns = ["event_date", "easting", "northing"]
    frames = [events_frame(store.query(feed, columns=columns), feed) for feed in FEEDS]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=BNG)


def fit(X, random_state: int = 0, **params) -> tuple[float, HotspotModel]:
    seconds, _, model = timed_fit(X, random_state, **params)
    return seconds, model


def timed_fit(X, random_state: int = 0, **params) -> tuple[float, float, HotspotModel]:
    """Wall-clock and CPU seconds of one fit, and the model."""
    started, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model = HotspotModel(random_state=random_state, **params).fit(X)
    return time.perf_counter() - started, time.process_time() - cpu, model


def median_fit(X, repeats: int, **params) -> tuple[float, float, float, float, HotspotModel]:
    """Median, min and max wall-clock seconds over ``repeats`` fits, median CPU seconds, and
    the last model. On a shared machine the CPU time is the steadier figure (the scan runs in
    one thread, so wall-clock above CPU time is time spent waiting for a core)."""
    wall, cpu = [], []
    for _ in range(repeats):
        seconds, cpu_seconds, model = timed_fit(X, **params)
        wall.append(seconds)
        cpu.append(cpu_seconds)
    return statistics.median(wall), min(wall), max(wall), statistics.median(cpu), model


def bench_fit(sizes, repeats: int, root: Path) -> None:
    started = time.perf_counter()
    analysis_grid(300)
    print(f"\nPopulation grid (300 m cells), built once per process: "
          f"{time.perf_counter() - started:.2f} s")
    print(f"\n## Fit time of HotspotModel() (scan, 300 m cells, radii 300-1500 m, 99 simulations);"
          f" wall-clock median (min-max) of {repeats}, and median CPU time")
    print("| events with a point | pooled, default (cross-feed) | pooled, cross_feed=False | "
          "NRM only | hotspots (pooled) | read from store | peak RSS |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in [None, *sizes]:
        path = bench_store(root, size)
        started = time.perf_counter()
        X = store_events(path)
        read = time.perf_counter() - started
        pooled = median_fit(X, repeats)
        single = median_fit(X, repeats, cross_feed=False)
        nrm = median_fit(X[X["feed"] == "nrm"], repeats)
        label = f"{len(X):,}" + (" (realistic 5 years)" if size is None else f" (of {size:,})")
        print(f"| {label} | {_t(pooled)} | {_t(single)} | {_t(nrm)} | "
              f"{len(pooled[-1].hotspots_)} | {read:.2f} s | {_rss_gb():.2f} GB |", flush=True)


def _t(result) -> str:
    median, low, high, cpu, _ = result
    return f"{median:.2f} s ({low:.2f}-{high:.2f}; CPU {cpu:.2f} s)"


def bench_null(seeds: int, volumes, first: int = 0, params: dict | None = None) -> None:
    params = params or {}
    print(f"\n## Null data: events spread by population, no hotspot planted, {seeds} seeds "
          f"({first}-{first + seeds - 1}){'; ' + str(params) if params else ''}")
    print("| events | seeds with >= 1 significant hotspot | rate (exact 95% interval) | "
          "which seeds | s per fit |")
    print("| ---: | ---: | --- | --- | ---: |")
    for n_events in volumes:
        hits, seconds = [], []
        for seed in range(first, first + seeds):
            X = null_events(n_events, seed)
            took, model = fit(X, random_state=seed, **params)
            seconds.append(took)
            if len(model.hotspots_):
                hits.append(seed)
        low, high = stats.binomtest(len(hits), seeds).proportion_ci(0.95, method="exact")
        print(f"| {n_events:,} | {len(hits)} of {seeds} | {len(hits) / seeds:.0%} ({low:.1%} to "
              f"{high:.1%}) | {hits} | {statistics.median(seconds):.2f} |", flush=True)


def _calibration_run(task) -> tuple:
    """One null data set scanned: (p of the most likely cluster, its LLR, simulated maxima,
    counts per land cell). Top-level so worker processes can run it."""
    from models.scan import poisson_scan
    n_events, seed = task
    grid = analysis_grid(300)
    land = np.flatnonzero(grid.land.ravel())
    X = null_events(n_events, seed)
    cell = grid.cell_index(X.geometry.x.to_numpy(), X.geometry.y.to_numpy())
    counts = grid.counts(cell)
    radii = np.arange(300, 1500 + 1e-6, 300)
    result = poisson_scan(counts, grid.population, 300, radii, min_events=10, n_simulations=99,
                          alpha=0.05, rng=np.random.default_rng([seed, 20261125]))
    return (result.most_likely_p_value, result.max_llr, result.null_max,
            counts.ravel()[land].astype(np.int32), int((cell < 0).sum()))


def bench_calibration(seeds: int, volumes, first: int, jobs: int) -> None:
    from concurrent.futures import ProcessPoolExecutor
    print(f"\n## Calibration of the scan's Monte-Carlo test on null data, {seeds} seeds "
          f"({first}-{first + seeds - 1}), 99 simulations, alpha = 0.05, {jobs} processes")
    print("| events | p <= 0.05 (old rule) | p < 0.05 (new rule) | p-values uniform? "
          "chi-square, 10 bins | observed vs simulated maxima, KS | generator vs population "
          "shares, chi-square | s per scan (wall x jobs / seeds) |")
    print("| ---: | --- | --- | --- | --- | --- | ---: |")
    grid = analysis_grid(300)
    share = grid.population.ravel()[grid.land.ravel()]
    share = share / share.sum()
    for n_events in volumes:
        started = time.perf_counter()
        tasks = [(n_events, seed) for seed in range(first, first + seeds)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(_calibration_run, tasks, chunksize=4))
        took = (time.perf_counter() - started) * jobs / seeds
        p = np.array([r[0] for r in runs])
        observed = np.array([r[1] for r in runs])
        simulated = np.concatenate([r[2] for r in runs])
        summed = np.sum([r[3] for r in runs], axis=0)
        outside = sum(r[4] for r in runs)
        cells = []
        for rule, hits in (("<=", p <= 0.05 + 1e-12), ("<", p < 0.05 - 1e-12)):
            k = int(hits.sum())
            low, high = stats.binomtest(k, seeds).proportion_ci(0.95, method="exact")
            cells.append(f"{k} of {seeds}: {k / seeds:.1%} ({low:.1%}-{high:.1%})")
        rank = np.rint(p * 100).astype(int)  # 1..100
        bins = np.bincount((rank - 1) // 10, minlength=10)
        uniform = stats.chisquare(bins)
        ks = stats.ks_2samp(observed, simulated)
        expected = share * summed.sum()
        big = expected >= 5
        fit = stats.chisquare(np.append(summed[big], summed[~big].sum()),
                              np.append(expected[big], expected[~big].sum()))
        print(f"| {n_events:,} | {cells[0]} | {cells[1]} | bins {bins.tolist()}, "
              f"p = {uniform.pvalue:.2f} | D = {ks.statistic:.3f}, p = {ks.pvalue:.2f} "
              f"(medians {np.median(observed):.2f} vs {np.median(simulated):.2f}) | "
              f"{int(big.sum()) + 1} groups, chi2/df = {fit.statistic / big.sum():.3f}, "
              f"p = {fit.pvalue:.2f}; {outside} events off land | {took:.2f} |", flush=True)


def bench_planted(seeds: int) -> None:
    print(f"\n## Planted hotspots: five-year stores (seeds 1..{seeds}, ending {END}), "
          "fitted feed by feed")
    found, other, stores = {}, {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(1, seeds + 1):
            root = Path(tmp) / f"s{seed}"
            build_store(root, years=5, seed=seed, end=END)
            truth = json.loads((root / TRUTH_FILE).read_text(encoding="utf-8"))
            store = open_store(root)
            stores += 1
            for feed, spots in truth["hotspots"].items():
                _, model = fit(events_frame(store.query(feed), feed))
                found.setdefault(feed, []).extend(recovered(model.hotspots_, s) for s in spots)
                discs = [shapely.Point(s["easting"], s["northing"]).buffer(s["radius_m"] + 71)
                         for s in spots]
                shapes = model.hotspots_.to_crs(BNG).geometry
                other.setdefault(feed, []).append(
                    sum(not any(shape.intersects(d) for d in discs) for shape in shapes))
    print("| feed | planted recovered | hotspots away from every planted disc: total "
          "(stores with none) |")
    print("| --- | ---: | --- |")
    for feed, recoveries in found.items():
        hits, n = sum(recoveries), len(recoveries)
        away = other[feed]
        print(f"| {feed} | {hits} of {n} ({hits / n:.0%}) | {sum(away)} in {stores} stores "
              f"({away.count(0)} with none; most in one store {max(away)}) |")
    every = [ok for values in found.values() for ok in values]
    print(f"all feeds: {sum(every)} of {len(every)} planted hotspots recovered "
          f"({np.mean(every):.0%})")


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--null-seeds", type=int, default=100)
    parser.add_argument("--null-events", type=int, nargs="+", default=[1500, 6000])
    parser.add_argument("--null-first-seed", type=int, default=0)
    parser.add_argument("--null-params", nargs="*", default=[], metavar="NAME=VALUE",
                        help="HotspotModel parameters for the null fits, e.g. budget_rule=skip "
                             "overlap=centres ranking=None (the ranking does not touch "
                             "hotspots_)")
    parser.add_argument("--area-cell-m", type=int, default=None,
                        help="HotspotModel(area_cell_m=...) for the null fits and --first-fit's "
                             "model mode (3g); default: the model's default")
    parser.add_argument("--area-footprint", default=None, choices=["any", "centres"],
                        help="HotspotModel(area_footprint=...) with --area-cell-m (3i); "
                             "default: the model's default")
    parser.add_argument("--calibration-seeds", type=int, default=300)
    parser.add_argument("--calibration-events", type=int, nargs="+", default=[6000, 20000])
    parser.add_argument("--calibration-first-seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="processes for the calibration")
    parser.add_argument("--planted-seeds", type=int, default=20)
    parser.add_argument("--stores", default="/tmp/bench-stores",
                        help="folder for the synthetic stores of the fit-time runs (reused)")
    parser.add_argument("--skip-fit", action="store_true")
    parser.add_argument("--skip-null", action="store_true")
    parser.add_argument("--skip-planted", action="store_true")
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--first-fit", nargs="+", metavar="STORE",
                        help="time a fresh process's first default fit on each store, only")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes (--first-fit)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--compare", type=Path, default=None,
                        help="a second checkout timed the same way (--first-fit)")
    args = parser.parse_args()
    chosen = {k: v for k, v in (("area_cell_m", args.area_cell_m),
                                ("area_footprint", args.area_footprint)) if v is not None}
    if chosen:  # read by bench/_first_fit.py's workers
        params = json.loads(os.environ.get("HOTSPOT_MODEL_PARAMS") or "{}")
        os.environ["HOTSPOT_MODEL_PARAMS"] = json.dumps({**params, **chosen})
    if args.first_fit:
        first_fit(args.first_fit, args.runs, args.modes, args.compare)
        return
    load = os.getloadavg()[0]
    print(f"# bench_hotspots: {platform.platform()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at start, "
          f"{pd.Timestamp.now():%Y-%m-%d %H:%M}")
    if not args.skip_fit:
        bench_fit(args.sizes, args.repeats, Path(args.stores))
    if not args.skip_null:
        params = dict(item.split("=", 1) for item in args.null_params)
        params = {k: None if v == "None" else v for k, v in params.items()}
        params.update(chosen)
        bench_null(args.null_seeds, args.null_events, args.null_first_seed, params)
    if not args.skip_calibration:
        bench_calibration(args.calibration_seeds, args.calibration_events,
                          args.calibration_first_seed, args.jobs)
    if not args.skip_planted:
        bench_planted(args.planted_seeds)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
