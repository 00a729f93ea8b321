"""Rolling-origin evaluation of the hotspot methods, side by side.

    python -m models.evaluate --store URL [--feed F] [--train-months 12] [--coverage 0.01 0.05]
                              [--test-period month|quarter] [--methods scan kde ...]
                              [--out docs/hotspot-evaluation.md]

For every test period t (a month or a quarter) with ``train-months`` months of history before
it, each method is fitted on those months and judged on the events of t:

- at fixed coverage (1% and 5% of West Yorkshire's area by default), every method ranks the grid
  cells by its own score (``HotspotModel.cell_scores_``) and takes the top share: hit rate, PAI
  and RRI there, so methods are compared on equal area;
- its own hotspots (whatever area they cover): their number, area, hit rate and PAI;
- fit time.

The report gives the mean and the standard deviation over the test periods and is written as
Markdown (``docs/hotspot-evaluation.md``).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from core import clock
from core.errors import DashboardError
from core.schema import FEEDS
from models._events import events_frame
from models.hotspots import METHODS, HotspotModel, OutsideAreaWarning
from models.metrics import cells_for_coverage, hit_rate, pai, rri, top_cells
from storage.open import open_store

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "hotspot-evaluation.md"
COVERAGES = (0.01, 0.05)
PERIODS = {"month": "M", "quarter": "Q"}


def load_events(store_url, feed: str | None = None) -> gpd.GeoDataFrame:
    """Point events of one feed (or all feeds, with a ``feed`` column) from a store."""
    feeds = [feed] if feed else list(FEEDS)
    store = open_store(store_url)
    columns = ["event_date", "easting", "northing"]
    frames = [events_frame(store.query(f, columns=columns), f) for f in feeds]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                            crs=frames[0].crs)


def evaluate(events: gpd.GeoDataFrame, *, methods=METHODS, train_months: int = 12,
             coverages=COVERAGES, test_period: str = "month", random_state: int = 0,
             params: dict | None = None) -> pd.DataFrame:
    """One row per test period and method with every metric (see the module docstring).

    Parameters
    ----------
    events : GeoDataFrame
        Events with ``date`` (and ``feed``), as ``load_events`` returns.
    methods : sequence of str
        ``HotspotModel`` methods to compare.
    train_months : int
        Months of history each fit sees, ending the day before the test period.
    coverages : sequence of float
        Shares of the area for the fixed-coverage comparison.
    test_period : {"month", "quarter"}
    random_state : int
    params : dict, optional
        Extra ``HotspotModel`` parameters for every method.
    """
    if test_period not in PERIODS:
        raise ValueError(f"test_period was {test_period!r}; expected one of {tuple(PERIODS)}")
    dates = pd.to_datetime(events["date"])
    periods = dates.dt.to_period(PERIODS[test_period])
    first = dates.min().to_period("M") + train_months
    rows = []
    for period in sorted(periods.unique()):
        start = period.start_time
        if start.to_period("M") < first:
            continue
        train_start = (start.to_period("M") - train_months).start_time
        train = events[(dates >= train_start) & (dates < start)]
        test = events[periods == period]
        for method in methods:
            rows.append({"period": str(period), "method": method,
                         **_fold(method, train, test, coverages, random_state, params or {})})
    return pd.DataFrame(rows)


def _fold(method, train, test, coverages, random_state, params) -> dict:
    """Fit one method on ``train`` and measure it on ``test``."""
    model = HotspotModel(method, random_state=random_state, cross_feed=False, **params)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model.fit(train)
    seconds = time.perf_counter() - started
    grid = model.grid_
    test_cell = grid.cell_index(test.geometry.x.to_numpy(), test.geometry.y.to_numpy())
    train_cell = grid.cell_index(train.geometry.x.to_numpy(), train.geometry.y.to_numpy())
    test_cell, train_cell = test_cell[test_cell >= 0], train_cell[train_cell >= 0]
    land = np.flatnonzero(grid.land.ravel())
    out = {"fit_s": seconds, "train_events": len(train_cell), "test_events": len(test_cell)}
    for coverage in coverages:
        chosen = np.zeros(grid.nx * grid.ny, bool)
        n_cells = cells_for_coverage(coverage, grid.area_km2, grid.cell_km2)
        chosen[top_cells(model.cell_scores_, land, n_cells)] = True
        hits, train_hits = chosen[test_cell].sum(), chosen[train_cell].sum()
        area = chosen.sum() * grid.cell_km2
        tag = f"{coverage:.0%}"
        out[f"hit_rate@{tag}"] = hit_rate(hits, len(test_cell))
        out[f"pai@{tag}"] = pai(hits, len(test_cell), area, grid.area_km2)
        out[f"rri@{tag}"] = rri(hits, len(test_cell), train_hits, len(train_cell))
    own = model.cell_labels_ >= 0
    own_area = own.sum() * grid.cell_km2
    out["hotspots"] = len(model.hotspots_)
    out["own_area_pct"] = 100 * own_area / grid.area_km2
    out["own_hit_rate"] = hit_rate(own[test_cell].sum(), len(test_cell))
    out["own_pai"] = pai(own[test_cell].sum(), len(test_cell), own_area, grid.area_km2)
    return out


def summarise(folds: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of every metric per method (methods in input order)."""
    metrics = [c for c in folds.columns if c not in ("period", "method")]
    grouped = folds.groupby("method", sort=False)[metrics]
    summary = grouped.mean().join(grouped.std(ddof=1).add_suffix("_sd"))
    summary["periods"] = grouped.size()
    return summary


def paired(folds: pd.DataFrame, reference: str = "scan") -> pd.DataFrame:
    """PAI of ``reference`` minus each other method's, period by period, at each coverage.

    Columns: ``coverage``, ``method``, ``mean_diff``, ``se`` (standard error of the mean
    difference), ``wins`` (share of periods where ``reference`` is at least as good) and
    ``p_value`` (two-sided Wilcoxon signed-rank test).
    """
    from scipy.stats import wilcoxon

    rows = []
    wide = folds.pivot(index="period", columns="method")
    for column in [c for c in folds.columns if c.startswith("pai@")]:
        if reference not in wide[column]:
            continue
        for method in [m for m in folds["method"].unique() if m != reference]:
            diff = (wide[column][reference] - wide[column][method]).dropna()
            nonzero = diff[diff != 0]
            p = float(wilcoxon(nonzero).pvalue) if len(nonzero) >= 5 else float("nan")
            rows.append({"coverage": column.split("@")[1], "method": method,
                         "mean_diff": diff.mean(), "se": diff.std(ddof=1) / np.sqrt(len(diff)),
                         "wins": (diff >= 0).mean(), "p_value": p})
    return pd.DataFrame(rows)


def to_markdown(summary: pd.DataFrame, meta: dict, comparison: pd.DataFrame | None = None
                ) -> str:
    """The evaluation report: what was run, then the side-by-side tables."""
    coverages = [c.split("@")[1] for c in summary.columns if c.startswith("pai@")
                 and not c.endswith("_sd")]
    lines = ["# Hotspot methods: rolling-origin evaluation", "",
             f"Generated by `{meta['command']}` on {meta['when']}.", "",
             f"- Data: {meta['data']}.",
             f"- Each test {meta['test_period']} is predicted from the {meta['train_months']} "
             f"months before it: {meta['periods']} test periods ({meta['first']} to "
             f"{meta['last']}).",
             "- Fixed coverage: each method ranks the grid cells by its own score and takes the "
             "top share of West Yorkshire's area "
             f"({meta['area_km2']:.0f} km², {meta['cell_m']} m cells).",
             "- PAI = hit rate / area share; RRI = (test hits / training hits) / (test events / "
             "training events). Values are mean ± standard deviation over the test periods.", ""]
    for tag in coverages:
        lines += [f"## At {tag} of the area", "",
                  "| method | PAI | hit rate | RRI |", "| --- | --- | --- | --- |"]
        for method, row in summary.iterrows():
            lines.append(f"| {method} | {_pm(row, f'pai@{tag}')} | "
                         f"{_pm(row, f'hit_rate@{tag}', pct=True)} | {_pm(row, f'rri@{tag}')} |")
        lines.append("")
    lines += ["## Each method's own hotspots, and fit time", "",
              "| method | hotspots | area (% of county) | hit rate | PAI | fit time (s) |",
              "| --- | --- | --- | --- | --- | --- |"]
    for method, row in summary.iterrows():
        lines.append(f"| {method} | {row['hotspots']:.1f} | {_pm(row, 'own_area_pct', 2)} | "
                     f"{_pm(row, 'own_hit_rate', pct=True)} | {_pm(row, 'own_pai')} | "
                     f"{_pm(row, 'fit_s', 2)} |")
    if comparison is not None and len(comparison):
        lines += ["", f"## Paired: PAI of {meta.get('reference', 'scan')} minus each other "
                  "method, period by period", "",
                  "| coverage | method | mean difference ± s.e. | periods at least as good | "
                  "Wilcoxon p |", "| --- | --- | --- | --- | --- |"]
        for _, row in comparison.iterrows():
            lines.append(f"| {row['coverage']} | {row['method']} | {row['mean_diff']:+.1f} ± "
                         f"{row['se']:.1f} | {row['wins']:.0%} | {row['p_value']:.2g} |")
    return "\n".join(lines + ["", *meta.get("notes", [])]).rstrip() + "\n"


def _pm(row, column: str, digits: int = 1, pct: bool = False) -> str:
    mean, sd = row[column], row[f"{column}_sd"]
    if pd.isna(mean):
        return "n/a"
    if pct:
        return f"{100 * mean:.1f}% ± {100 * sd:.1f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.evaluate",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True, help="store URL or folder")
    parser.add_argument("--feed", choices=list(FEEDS), help="one feed (default: all, pooled)")
    parser.add_argument("--train-months", type=int, default=12)
    parser.add_argument("--coverage", type=float, nargs="+", default=list(COVERAGES),
                        help="shares of the area for the fixed-coverage comparison")
    parser.add_argument("--test-period", choices=list(PERIODS), default="month")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--seed", type=int, default=0, help="random_state of every fit")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="Markdown report to write")
    args = parser.parse_args(argv)
    if args.train_months < 1 or not all(0 < c <= 1 for c in args.coverage):
        parser.error("--train-months must be >= 1 and --coverage values in (0, 1]")
    try:
        events = load_events(args.store, args.feed)
    except (DashboardError, OSError) as exc:
        print(f"python -m models.evaluate: {exc}", file=sys.stderr)
        return 2
    if events.empty:
        print(f"python -m models.evaluate: no point events in {args.store}", file=sys.stderr)
        return 2
    folds = evaluate(events, methods=args.methods, train_months=args.train_months,
                     coverages=args.coverage, test_period=args.test_period,
                     random_state=args.seed)
    if folds.empty:
        print("python -m models.evaluate: not enough months for one test period after "
              f"{args.train_months} training months", file=sys.stderr)
        return 2
    summary = summarise(folds)
    model = HotspotModel()
    meta = {"command": " ".join(["python -m models.evaluate", *(argv or sys.argv[1:])]),
            "when": clock.today().isoformat(),
            "data": f"{len(events):,} point events ({args.feed or 'all feeds, pooled'}) "
                    f"from {args.store}",
            "test_period": args.test_period, "train_months": args.train_months,
            "periods": folds["period"].nunique(), "first": folds["period"].min(),
            "last": folds["period"].max(), "area_km2": _area(model),
            "cell_m": model.cell_size_m, "notes": _store_notes(args.store)}
    comparison = paired(folds, "scan") if "scan" in args.methods else None
    Path(args.out).write_text(to_markdown(summary, meta, comparison), encoding="utf-8")
    print(summary.round(3).to_string())
    print(f"report written to {args.out}")
    return 0


def _store_notes(store_url) -> list[str]:
    """Where the data came from, when the store is a synthetic build (its ground-truth file)."""
    import json

    from data.synthetic import TRUTH_FILE

    try:
        truth = json.loads(open_store(store_url).read_document(TRUTH_FILE) or "")
    except (OSError, ValueError):
        return []
    planted = sum(len(spots) for spots in truth.get("hotspots", {}).values())
    return [f"Synthetic store: `python -m data.synthetic --years {truth['years']} --seed "
            f"{truth['seed']}` ({truth['start']} to {truth['end']}, {planted} planted "
            "hotspots). Every record is made up."]


def _area(model: HotspotModel) -> float:
    from models._grid import analysis_grid

    return analysis_grid(model.cell_size_m, model.population).area_km2


if __name__ == "__main__":
    sys.exit(main())
