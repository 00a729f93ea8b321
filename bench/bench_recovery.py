"""Benchmark: planted recovery and false hotspots of the default model, per generator family.

    nice -n 10 .venv/bin/python bench/bench_recovery.py [--families micro_places ...]
        [--volumes 8000 100] [--seeds 20] [--first-seed 1] [--null-seeds 20]
        [--max-area 0.03 | --max-area none] [--windows discs+areas | discs] [--maps DIR]
        [--budget-rule stop | skip] [--overlap none | centres] [--skip-alerts]
        [--secondary conservative | iterative] [--max-windows 30] [--area-cell-m none | 100]
        [--area-footprint any | centres]

For each family of ``data.synthetic_families`` and each volume (events over 24 months), seeds
``first-seed`` .. ``first-seed + seeds - 1``: ``HotspotModel(random_state=seed,
cross_feed=False, ranking=None)`` (the default scan and area budget, one feed; ``ranking=None``
skips the tasking ranking, which does not touch ``hotspots_``) is fitted and its ``hotspots_``
scored by ``models.recovery.score_hotspots`` against the family's ``.attrs["truth"]``. The
definitions (planted and detectable, recovered, false hotspot) were written before the first
run: docs/hotspots.md, point 3b.

Printed per family x volume: planted-and-detectable structures and the share recovered (the
issue 13 target: >= 90%; then, descriptive, among those with twice the floor of excess), all structures with any excess recovered whatever their strength
(descriptive, not a target), hotspots per fit, false hotspots (total, per fit, share of hotspots), candidates
the area budget cut, the hotspots' share of West Yorkshire's area (mean and max), CPU seconds
per fit. Then the population-proportional null, which is the same for every family (each with
its structure removed): fits with at least one hotspot, at each volume, on ``--null-seeds``
seeds (``tests.test_hotspots.null_events``).

Then ``near_repeat`` with the prospective scan (``models.surveillance.ProspectiveScan``, the
tool for space-time bursts; ``models.recovery.score_alerts``), analysing the last month.

``--max-area none`` re-runs without the area budget (a diagnosis, not the default);
``--windows discs`` fits the scan with discs alone (the model before areal windows: 3c);
``--budget-rule skip`` and ``--overlap centres`` fit 3e's candidate report changes (the area
share printed is the union of the hotspots' cells, which overlapping hotspots share);
``--secondary iterative`` fits 3f's iterative scan (each secondary tested on the data without
the stronger clusters); ``--max-windows N`` raises its cap of windows (a diagnosis: 3f's
rule is with the model's cap, 30);
``--mismatched-truth`` scores each fit against an unrelated seed's truth (seed + 1000), to see
how often the rules call a structure found, or a hotspot true, by chance;
``--maps DIR`` draws each family's first seed at each volume (truth and hotspots) to PNG.
Prints a Markdown table (not a timed test); docs/hotspots.md records it.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from data.synthetic_families import FAMILIES, family_events
from models import scan_iterative
from models.hotspots import HotspotModel, OutsideAreaWarning
from models.recovery import DETECTABLE_FACTOR, score_hotspots
from tests.test_hotspots import null_events

MONTHS = 24
AS_OF = "2025-12"  # the families' last month (data.synthetic_families.DEFAULT_END)
MIN_EVENTS = HotspotModel().min_events


WINDOWS = {"windows": HotspotModel().windows}  # set by --windows
REPORT = {"budget_rule": HotspotModel().budget_rule,
          "overlap": HotspotModel().overlap,
          "secondary": HotspotModel().secondary,
          "area_cell_m": HotspotModel().area_cell_m,
          "area_footprint": HotspotModel().area_footprint}  # set by --budget-rule, --overlap,
# --secondary, --area-cell-m, --area-footprint


def fit(events, seed: int, max_area) -> tuple[HotspotModel, float]:
    """The default model on one feed, and the CPU seconds of the fit."""
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model = HotspotModel(random_state=seed, cross_feed=False, ranking=None,
                             max_area=max_area, windows=WINDOWS["windows"],
                             **REPORT).fit(events)
    return model, time.process_time() - cpu


def run_family(family: str, n_events: int, seeds, max_area, maps: Path | None,
               mismatched: bool = False) -> dict:
    row = {"planted": 0, "recovered": 0, "all": 0, "all_recovered": 0, "hotspots": 0,
           "false": 0, "fits_with_false": 0, "cut": 0, "area": [], "cpu": [], "rr": []}
    for seed in tqdm(seeds, desc=f"{family} {n_events:,}", file=sys.stderr, leave=False):
        events = family_events(family, n_events, seed=seed, months=MONTHS)
        model, cpu = fit(events, seed, max_area)
        floor = DETECTABLE_FACTOR * model.min_events
        truth = events.attrs["truth"]
        if mismatched:  # a check of the rules: another seed's truth, unrelated to these events
            truth = family_events(family, n_events, seed=seed + 1000, months=MONTHS
                                  ).attrs["truth"]
        score = score_hotspots(model.hotspots_, truth, n_events, min_events=model.min_events)
        row["planted"] += score.planted
        row["recovered"] += score.recovered
        real = [s for s in score.structures if s.kind != "burst" and s.excess > 0]
        strong = [s for s in score.structures if s.detectable and s.excess >= 2 * floor]
        row["strong"] = row.get("strong", 0) + len(strong)
        row["strong_recovered"] = row.get("strong_recovered", 0) + sum(s.recovered
                                                                       for s in strong)
        row["all"] += len(real)
        row["all_recovered"] += sum(s.recovered for s in real)
        row["hotspots"] += score.hotspots
        row["false"] += score.false_hotspots
        row["fits_with_false"] += score.false_hotspots > 0
        row["cut"] += model.n_candidates_ - score.hotspots
        # The union of the hotspots' cells (overlapping hotspots share some: 3e).
        row["area"].append((model.cell_labels_ >= 0).sum() * model.grid_.cell_km2
                           / model.grid_.area_km2)
        row["cpu"].append(cpu)
        row["rr"] += score.true_relative_risk
        if family == "overdispersed":
            _profile_lsoas(row, model, score)
        if family == "near_repeat":
            row.setdefault("small_burst", 0)
            row["small_burst"] += _false_on_small_bursts(model, score, truth)
        if maps is not None and seed == seeds[0]:
            draw(events, model, score, maps / f"recovery_{family}_{n_events}_s{seed}.png")
    return row


def _profile_lsoas(row: dict, model, score) -> None:
    """Descriptive, for ``overdispersed``: the detectable LSOAs' share of the county, and the
    missed ones touched by no hotspot, partly covered, or larger than 2 km²."""
    import shapely

    from geo.crs import BNG
    from models.recovery import GEOMASK_SLACK_M
    county = model.grid_.area_km2
    detectable = [s for s in score.structures if s.detectable]
    row.setdefault("lsoa_area", []).append(sum(s.geometry.area for s in detectable) / 1e6 / county)
    union = shapely.union_all(model.hotspots_.to_crs(BNG).geometry.to_numpy())
    for s in detectable:
        if s.recovered:
            continue
        touched = s.geometry.intersection(union.buffer(GEOMASK_SLACK_M)).area > 0
        key = "missed_partly" if touched else "missed_untouched"
        row[key] = row.get(key, 0) + 1
        row["missed_large"] = row.get("missed_large", 0) + (s.geometry.area > 2e6)
        row.setdefault("missed_excess", []).append(s.excess)


def _false_on_small_bursts(model, score, truth) -> int:
    """Descriptive (not pre-registered): false near-repeat hotspots that meet a smaller burst
    (5 to ``min_events - 1`` events, its radius + 71 m)."""
    import shapely

    from geo.crs import BNG
    from models.recovery import GEOMASK_SLACK_M
    small = [shapely.Point(b["x"], b["y"]).buffer(b["radius_m"] + GEOMASK_SLACK_M)
             for b in truth["bursts"] if b["events"] < model.min_events]
    big = [s.footprint for s in score.structures]
    count = 0
    for shape in model.hotspots_.to_crs(BNG).geometry:
        if not any(shape.intersects(f) for f in big) and any(shape.intersects(f) for f in small):
            count += 1
    return count


def print_rows(rows: dict, fits: int) -> None:
    print("| family | events | planted & detectable | recovered | all structures recovered "
          "(descriptive) | hotspots per fit | false hotspots: total, per fit, share | fits "
          "with a false one | cut by the budget | area share mean (max) | CPU s per fit |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: |")
    for (family, n_events), r in rows.items():
        recovered = (f"{r['recovered']} ({r['recovered'] / r['planted']:.0%})" if r["planted"]
                     else "none planted")
        if r.get("strong"):
            recovered += (f"; twice the floor: {r['strong_recovered']} of {r['strong']} "
                          f"({r['strong_recovered'] / r['strong']:.0%})")
        every = (f"{r['all_recovered']} of {r['all']} ({r['all_recovered'] / r['all']:.0%})"
                 if r["all"] else "no persistent place")
        share = f"{r['false'] / r['hotspots']:.0%}" if r["hotspots"] else "-"
        print(f"| {family} | {n_events:,} | {r['planted']} | {recovered} | {every} | "
              f"{r['hotspots'] / fits:.1f} | {r['false']}, {r['false'] / fits:.2f}, {share} | "
              f"{r['fits_with_false']} of {fits} | {r['cut']} | {np.mean(r['area']):.2%} "
              f"({np.max(r['area']):.2%}) | {np.median(r['cpu']):.2f} |", flush=True)
        if "small_burst" in r:
            print(f"|  | | | | | | near_repeat: of the {r['false']} false ones, "
                  f"{r['small_burst']} meet a burst of 5 to {MIN_EVENTS - 1} events | | | | |")
        if r["rr"]:
            rr = np.array(r["rr"])
            print(f"|  | | | | | | overdispersed hotspots' true relative risk: median "
                  f"{np.median(rr):.2f}, min {rr.min():.2f} | | | | |")
        if "lsoa_area" in r:
            area = np.array(r["lsoa_area"])
            excess = np.median(r.get("missed_excess", [np.nan]))
            print(f"|  | | | | | | overdispersed: detectable LSOAs cover {area.mean():.2%} of "
                  f"the county ({area.max():.2%} at most); missed: "
                  f"{r.get('missed_untouched', 0)} touched by no hotspot, "
                  f"{r.get('missed_partly', 0)} partly, {r.get('missed_large', 0)} larger "
                  f"than 2 km², median excess {excess:.1f} | | | | |")


def run_null(volumes, seeds, max_area) -> None:
    print(f"\n## Population-proportional null (every family with its structure removed), "
          f"seeds {seeds[0]}-{seeds[-1]}")
    print("| events | fits with >= 1 hotspot | rate (exact 95% interval) | CPU s per fit |")
    print("| ---: | ---: | --- | ---: |")
    for n_events in volumes:
        hits, cpu = 0, []
        for seed in tqdm(seeds, desc=f"null {n_events:,}", file=sys.stderr, leave=False):
            model, seconds = fit(null_events(n_events, seed, months=MONTHS), seed, max_area)
            hits += len(model.hotspots_) > 0
            cpu.append(seconds)
        low, high = stats.binomtest(hits, len(seeds)).proportion_ci(0.95, method="exact")
        print(f"| {n_events:,} | {hits} of {len(seeds)} | {hits / len(seeds):.0%} "
              f"({low:.1%}-{high:.1%}) | {np.median(cpu):.2f} |", flush=True)


def run_alerts(volumes, seeds) -> None:
    """``near_repeat`` with the prospective scan (its default parameters), December 2025."""
    from models.recovery import score_alerts
    from models.surveillance import ProspectiveScan
    print(f"\n## near_repeat with the prospective scan (ProspectiveScan(), as_of {AS_OF}), "
          f"seeds {seeds[0]}-{seeds[-1]}")
    print("| events | live bursts (5+ events ending in the month) | recovered | alerts per "
          "analysis | false alerts: total (analyses with one) | CPU s per fit |")
    print("| ---: | ---: | ---: | ---: | --- | ---: |")
    for n_events in volumes:
        live = recovered = alerts = false = with_false = 0
        cpu, sizes = [], []
        for seed in tqdm(seeds, desc=f"alerts {n_events:,}", file=sys.stderr, leave=False):
            events = family_events("near_repeat", n_events, seed=seed, months=MONTHS)
            started = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OutsideAreaWarning)
                scan = ProspectiveScan(random_state=seed).fit(events, as_of=AS_OF)
            cpu.append(time.process_time() - started)
            score = score_alerts(scan.alerts_, events.attrs["truth"], AS_OF,
                                 min_events=scan.min_events)
            live, recovered = live + score.live, recovered + score.recovered
            alerts, false = alerts + score.alerts, false + score.false_alerts
            with_false += score.false_alerts > 0
            sizes += score.live_bursts
        share = f"{recovered} ({recovered / live:.0%})" if live else "none live"
        print(f"| {n_events:,} | {live} | {share} | {alerts / len(seeds):.2f} | {false} "
              f"({with_false} of {len(seeds)}) | {np.median(cpu):.2f} |", flush=True)
        bands = []
        for low, high in ((5, 9), (10, 19), (20, None)):
            band = [hit for n, hit in sizes if n >= low and (high is None or n <= high)]
            label = f"{low}-{high}" if high else f"{low}+"
            bands.append(f"{label} events {sum(band)} of {len(band)}")
        print(f"|  | live bursts recovered by size: {'; '.join(bands)} | | | | |")


def draw(events, model, score, path: Path) -> None:
    """Events (grey), planted structures (detectable red, others orange; a micro-place is a
    dot when recovered, a cross when not), hotspots (blue outlines, false ones dashed black),
    in BNG kilometres."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geo.boundaries import west_yorkshire_bng
    from geo.crs import BNG
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(11, 9))
    outline = west_yorkshire_bng()
    for part in getattr(outline, "geoms", [outline]):
        x, y = part.exterior.xy
        ax.plot(np.array(x) / 1e3, np.array(y) / 1e3, color="black", lw=0.5)
    ax.scatter(events.geometry.x / 1e3, events.geometry.y / 1e3, s=1, color="0.6")
    for s in score.structures:
        colour = "red" if s.detectable else "orange"
        if s.kind == "lsoa" and not s.detectable:
            continue
        if s.kind == "place":  # a 101 m footprint is too small to see at county scale
            ax.scatter(s.geometry.x / 1e3, s.geometry.y / 1e3, color=colour, zorder=3,
                       s=12 if s.detectable else 3, marker="o" if s.recovered else "x")
            continue
        for part in getattr(s.footprint, "geoms", [s.footprint]):
            if part.is_empty or not hasattr(part, "exterior"):
                continue
            x, y = part.exterior.xy
            ax.fill(np.array(x) / 1e3, np.array(y) / 1e3, color=colour, alpha=0.35, lw=0)
    shapes = model.hotspots_.to_crs(BNG).geometry
    footprints = [s.footprint for s in score.structures]
    for shape in shapes:
        false = not any(shape.intersects(f) for f in footprints)
        for part in getattr(shape, "geoms", [shape]):
            x, y = part.exterior.xy
            ax.plot(np.array(x) / 1e3, np.array(y) / 1e3, color="black" if false else "blue",
                    lw=1.2, ls="--" if false else "-")
    ax.set_aspect("equal")
    ax.set_title(f"{score.family}, {len(events):,} events: {score.recovered} of {score.planted}"
                 f" detectable recovered, {score.hotspots} hotspots, {score.false_hotspots} "
                 "false (red: detectable, orange: weaker; blue: hotspots)")
    ax.set_xlabel("easting (km, EPSG:27700)")
    ax.set_ylabel("northing (km)")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--volumes", type=int, nargs="+", default=[8000, 100])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--null-seeds", type=int, default=20, help="0 skips the null")
    parser.add_argument("--skip-alerts", action="store_true",
                        help="skip near_repeat with the prospective scan")
    parser.add_argument("--max-area", default="0.03",
                        help="the model's area budget ('none': unbounded, a diagnosis)")
    parser.add_argument("--windows", default=HotspotModel().windows,
                        choices=["discs+areas", "discs"], help="the scan's candidate windows")
    parser.add_argument("--budget-rule", default=HotspotModel().budget_rule,
                        choices=["stop", "skip"], help="the area budget's rule (3e)")
    parser.add_argument("--overlap", default=HotspotModel().overlap,
                        choices=["none", "centres"], help="the scan's secondaries (3e)")
    parser.add_argument("--secondary", default=HotspotModel().secondary,
                        choices=["conservative", "iterative"],
                        help="how the scan tests secondary hotspots (3f)")
    parser.add_argument("--area-cell-m", default=str(HotspotModel().area_cell_m),
                        choices=["None", "none", "100"],
                        help="areal windows counted on analysis cells or 100 m cells (3g)")
    parser.add_argument("--area-footprint", default=HotspotModel().area_footprint,
                        choices=["any", "centres"],
                        help="with --area-cell-m 100: the 300 m cells an areal window occupies "
                             "(3g's 'any', 3i's 'centres')")
    parser.add_argument("--max-windows", type=int, default=scan_iterative.MAX_WINDOWS,
                        help="the iterative scan's cap of windows (a diagnosis)")
    parser.add_argument("--mismatched-truth", action="store_true",
                        help="score each fit against the truth of seed + 1000 (a check of the "
                             "rules: how often an unrelated structure counts as found)")
    parser.add_argument("--maps", type=Path, default=None, help="folder for PNG maps")
    args = parser.parse_args()
    max_area = None if args.max_area.lower() == "none" else float(args.max_area)
    WINDOWS["windows"] = args.windows
    scan_iterative.MAX_WINDOWS = args.max_windows
    area_cell_m = None if args.area_cell_m.lower() == "none" else int(args.area_cell_m)
    REPORT.update(budget_rule=args.budget_rule, overlap=args.overlap, secondary=args.secondary,
                  area_cell_m=area_cell_m, area_footprint=args.area_footprint)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    started, cpu = time.perf_counter(), time.process_time()
    print(f"# bench_recovery: {platform.platform()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start, "
          f"{pd.Timestamp.now():%Y-%m-%d %H:%M}; max_area {max_area}, windows {args.windows}, "
          f"budget_rule {args.budget_rule}, overlap {args.overlap}, "
          f"secondary {args.secondary}, max_windows {args.max_windows}, "
          f"area_cell_m {area_cell_m}, area_footprint {args.area_footprint}")
    print(f"\n## Planted recovery per family, seeds {seeds[0]}-{seeds[-1]}, {MONTHS} months")
    if args.mismatched_truth:
        print("(scored against the truth of seed + 1000: chance agreement, not recovery)")
    rows = {(family, n): run_family(family, n, seeds, max_area, args.maps, args.mismatched_truth)
            for n in args.volumes for family in args.families}
    print_rows(rows, len(seeds))
    if args.null_seeds:
        run_null(args.volumes, list(range(args.first_seed, args.first_seed + args.null_seeds)),
                 max_area)
    if not args.skip_alerts and "near_repeat" in args.families:
        run_alerts(args.volumes, seeds)
    print(f"\nwall {time.perf_counter() - started:.0f} s, CPU {time.process_time() - cpu:.0f} s; "
          f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
