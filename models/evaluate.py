"""Rolling-origin evaluation of the tasking rankings and the hotspot methods, side by side.

    python -m models.evaluate (--store URL ... | --points FILE.csv ... | --family NAME ...)
                              [--feed F] [--crime-type T ...] [--events N] [--seed S]
                              [--seeds S ...] [--train-months 12]
                              [--coverage 0.005 0.01 0.02 0.05 0.1]
                              [--test-period month|quarter] [--methods forecast kde250 ...]
                              [--hindsight-best] [--against forecast]
                              [--out docs/hotspot-evaluation.md]

Data come from a store (``--store``), from police.uk street-level CSV files (``--points``, the
format crime analysts already have: a deployment's blind check on real data; ``--crime-type``
keeps some types) or from a synthetic family of ``data.synthetic_families`` (``--family``,
``--events`` of them).

Several families, several ``--seeds`` (draws of each family) or several stores make a
several-draw run (``models.seeds``): progress on standard error, and per family and coverage
each ranking's mean PAI ratio to ``kde250`` with a paired bootstrap interval over draws and
test periods, so that "beats KDE" is a claim with an interval. A one-draw run also gives that
ratio table, its interval over the test periods alone.

For every test period t (a month or a quarter) with ``train-months`` months of history before
it, each candidate is fitted on those months and judged on the events of t:

- at fixed coverage (0.5% to 10% of West Yorkshire's area by default), every candidate ranks
  the 100 m geomask cells and takes the top share: hit rate, PAI and RRI there, so candidates
  are compared on equal area. The rankings (``RANKERS``) are ``models.forecast.ForecastRanker``
  kinds, ``forecast`` being ``HotspotModel``'s default ranking and ``kde250`` the plain KDE
  baseline (250 m bandwidth, 100 m cells); the hotspot methods (``scan``, ``kde``, ``gistar``,
  ``dbscan``, ``hdbscan``) rank by their own ``cell_scores_`` (300 m cells, each 100 m cell
  taking its 300 m cell's score);
- for the hotspot methods, their own hotspots (whatever area they cover): their number, area,
  hit rate and PAI;
- fit time;
- with ``--hindsight-best``, a ``hindsight-best`` row per test period: the best PAI of the
  rankings run, picked after seeing the period (an upper bound on choosing among them).

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
from models._grid import Grid, centre_grid
from models.forecast import ForecastRanker
from models.hotspots import METHODS, HotspotModel, OutsideAreaWarning
from models.metrics import cells_for_coverage, hit_rate, pai, rri, top_cells
from models.seeds import paired, ratio_markdown, ratio_table, seeds_markdown
from storage.open import open_store

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "hotspot-evaluation.md"
COVERAGES = (0.005, 0.01, 0.02, 0.05, 0.1)
PERIODS = {"month": "M", "quarter": "Q"}
# Rankings compared at equal area: name -> ForecastRanker parameters ("forecast" is the default).
RANKERS = {"forecast": {"kind": "mixture"}, "kde250": {"kind": "kde"},
           # The default mixture before December 2026: EM prior spread evenly, six folds.
           "forecast-even": {"kind": "mixture", "prior_toward": "even", "validation_folds": 6,
                             "max_validation_folds": 6},
           # The default mixture before its prior went from 1.0 to 0.25 pseudo-events a surface.
           "forecast-prior1": {"kind": "mixture", "prior": 1.0},
           "forecast-prior01": {"kind": "mixture", "prior": 0.1},  # lighter still
           "forecast-top": {"kind": "mixture", "objective": "top-hits"},  # models._top_band
           # Recency-weighted backgrounds at 500 m, 14- and 30-day memory (2026-12-03, night):
           # the default since; "forecast-nodecay" is the default before.
           "forecast-decay": {"kind": "mixture", "recent_backgrounds": ((500, 14), (500, 30))},
           "forecast-nodecay": {"kind": "mixture", "recent_backgrounds": ()},
           "kde-cv": {"kind": "kde-cv"}, "sepp": {"kind": "sepp"}, "population": {"kind": "population"},
           # Plain KDEs at other bandwidths: what a hindsight choice of bandwidth could catch.
           "kde100": {"kind": "kde", "bandwidth_m": 100},
           "kde150": {"kind": "kde", "bandwidth_m": 150},
           "kde400": {"kind": "kde", "bandwidth_m": 400}}
CANDIDATES = (*RANKERS, *METHODS)
DEFAULT_METHODS = ("forecast", "kde250", "kde-cv", "sepp", "population", "scan")
BASELINE = "kde250"
HINDSIGHT = "hindsight-best"


def tag(coverage: float) -> str:
    """``0.005`` -> ``"0.5%"``: the column suffix of a coverage."""
    return f"{100 * coverage:g}%"


def load_events(store_url, feed: str | None = None) -> gpd.GeoDataFrame:
    """Point events of one feed (or all feeds, with a ``feed`` column) from a store."""
    feeds = [feed] if feed else list(FEEDS)
    store = open_store(store_url)
    columns = ["event_date", "easting", "northing"]
    frames = [events_frame(store.query(f, columns=columns), f) for f in feeds]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                            crs=frames[0].crs)


def evaluate(events: gpd.GeoDataFrame, *, methods=CANDIDATES, train_months: int = 12,
             coverages=COVERAGES, test_period: str = "month", random_state: int = 0,
             params: dict | None = None) -> pd.DataFrame:
    """One row per test period and method with every metric (see the module docstring).

    Parameters
    ----------
    events : GeoDataFrame
        Events with ``date`` (and ``feed``), as ``load_events`` returns.
    methods : sequence of str
        Candidates to compare: ``RANKERS`` names and ``HotspotModel`` methods.
    train_months : int
        Months of history each fit sees, ending the day before the test period.
    coverages : sequence of float
        Shares of the area for the fixed-coverage comparison.
    test_period : {"month", "quarter"}
    random_state : int
    params : dict, optional
        Extra ``HotspotModel`` parameters for every method (``population`` also goes to the
        rankings).
    """
    unknown = sorted(set(methods) - {*RANKERS, *METHODS})
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected some of {CANDIDATES}")
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


def evaluate_seeds(families, n_events: int, seeds, *, progress=None, **kwargs) -> pd.DataFrame:
    """``models.evaluate.evaluate`` on every family x seed: its rows plus ``family``, ``seed``.

    ``kwargs`` go to ``evaluate`` (``methods``, ``train_months``, ``coverages``, ...); each
    seed draws the family's events and is every fit's ``random_state``. ``progress`` (default:
    standard error) gets one line per draw, as each is done.
    """
    from data.synthetic_families import family_events

    draws = [(family, seed, lambda f=family, s=seed: family_events(f, n_events, seed=s))
             for family in families for seed in seeds]
    return evaluate_draws(draws, progress=progress, **kwargs)


def evaluate_draws(draws, *, progress=None, **kwargs) -> pd.DataFrame:
    """``evaluate`` on each ``(family, seed, make_events)`` draw (``make_events()`` gives the
    events), rows labelled with ``family`` and ``seed`` (also every fit's ``random_state``)."""
    progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    frames = []
    for done, (family, seed, make_events) in enumerate(draws, start=1):
        started = time.perf_counter()
        events = make_events()
        folds = evaluate(events, random_state=seed, **kwargs)
        progress(f"[{done}/{len(draws)}] {family} seed {seed}: {len(events):,} events, "
                 f"{folds['period'].nunique()} test periods, "
                 f"{time.perf_counter() - started:.1f} s")
        frames.append(folds.assign(family=family, seed=seed))
    return pd.concat(frames, ignore_index=True)


def with_hindsight_best(folds: pd.DataFrame, among=None) -> pd.DataFrame:
    """``folds`` plus a ``HINDSIGHT`` row per test period (and family and seed): at each
    coverage the best PAI of the rankings ``among`` (default: every ``RANKERS`` one evaluated)
    in that period, picked after seeing its events.

    No ranking of the training data can know which candidate will win a given month, so this
    is an upper bound on what choosing among them (a bandwidth, a mixture, a coverage-specific
    weight) could catch; its ratio to KDE says how much room the candidates leave at all.
    """
    among = [m for m in (among or RANKERS) if m in set(folds["method"])]
    keys = [k for k in ("family", "seed", "period") if k in folds.columns]
    pai_columns = [c for c in folds.columns if c.startswith("pai@")]
    rows = folds[folds["method"].isin(among)]
    best = rows.groupby(keys, sort=False)[pai_columns].max().reset_index()
    best["method"] = HINDSIGHT
    best["fit_s"] = rows.groupby(keys, sort=False)["fit_s"].sum().to_numpy()
    return pd.concat([folds, best], ignore_index=True)


def _fold(method, train, test, coverages, random_state, params) -> dict:
    """Fit one candidate on ``train`` and measure it on ``test``, ranking 100 m cells."""
    fine = centre_grid(100, params.get("population"))
    model = None
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        if method in RANKERS:
            scores = ForecastRanker(**RANKERS[method], population=params.get("population")
                                    ).fit(train).scores_
        else:
            model = HotspotModel(method, random_state=random_state, cross_feed=False,
                                 ranking=None, **params).fit(train)
            scores = _upsample(model.cell_scores_, model.grid_, fine)
    seconds = time.perf_counter() - started
    test_cell, train_cell = _cells(fine, test), _cells(fine, train)
    land = np.flatnonzero(fine.land.ravel())
    out = {"fit_s": seconds, "train_events": len(train_cell), "test_events": len(test_cell)}
    for coverage in coverages:
        chosen = np.zeros(fine.nx * fine.ny, bool)
        n_cells = cells_for_coverage(coverage, fine.area_km2, fine.cell_km2)
        chosen[top_cells(scores, land, n_cells)] = True
        hits, train_hits = chosen[test_cell].sum(), chosen[train_cell].sum()
        area = chosen.sum() * fine.cell_km2
        out[f"hit_rate@{tag(coverage)}"] = hit_rate(hits, len(test_cell))
        out[f"pai@{tag(coverage)}"] = pai(hits, len(test_cell), area, fine.area_km2)
        out[f"rri@{tag(coverage)}"] = rri(hits, len(test_cell), train_hits, len(train_cell))
    out.update(_own(model, test) if model is not None else dict.fromkeys(
        ("hotspots", "own_area_pct", "own_hit_rate", "own_pai"), np.nan))
    return out


def _cells(grid: Grid, events) -> np.ndarray:
    cell = grid.cell_index(events.geometry.x.to_numpy(), events.geometry.y.to_numpy())
    return cell[cell >= 0]


def _upsample(scores: np.ndarray, coarse: Grid, fine: Grid) -> np.ndarray:
    """Each fine cell takes the score of the coarse cell holding its centre."""
    x, y = fine.centres(np.arange(fine.nx * fine.ny))
    at = coarse.cell_index(x, y)
    return np.where(at >= 0, np.asarray(scores)[np.maximum(at, 0)], 0.0)


def _own(model: HotspotModel, test) -> dict:
    """A hotspot method's own hotspots on the test events."""
    grid = model.grid_
    test_cell = _cells(grid, test)
    own = model.cell_labels_ >= 0
    own_area = own.sum() * grid.cell_km2
    return {"hotspots": len(model.hotspots_), "own_area_pct": 100 * own_area / grid.area_km2,
            "own_hit_rate": hit_rate(own[test_cell].sum(), len(test_cell)),
            "own_pai": pai(own[test_cell].sum(), len(test_cell), own_area, grid.area_km2)}


def summarise(folds: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of every metric per method (methods in input order)."""
    metrics = [c for c in folds.columns if c not in ("period", "method")]
    grouped = folds.groupby("method", sort=False)[metrics]
    summary = grouped.mean().join(grouped.std(ddof=1).add_suffix("_sd"))
    summary["periods"] = grouped.size()
    return summary


def to_markdown(summary: pd.DataFrame, meta: dict, comparison: pd.DataFrame | None = None
                ) -> str:
    """The evaluation report: what was run, then the side-by-side tables."""
    coverages = [c.split("@")[1] for c in summary.columns if c.startswith("pai@")
                 and not c.endswith("_sd")]
    lines = ["# Hotspot rankings and methods: rolling-origin evaluation", "",
             f"Generated by `{meta['command']}` on {meta['when']}.", "",
             f"- Data: {meta['data']}.",
             (f"- Each test {meta['test_period']} is predicted from the {meta['train_months']} "
             f"months before it: {meta['periods']} test periods ({meta['first']} to "
             f"{meta['last']})."),
             ("- Fixed coverage: each candidate ranks the 100 m cells and takes the top share of "
             f"West Yorkshire's area ({meta['area_km2']:.0f} km²); the hotspot methods rank by "
             "their own 300 m cell scores."),
             ("- PAI = hit rate / area share; RRI = (test hits / training hits) / (test events / "
             "training events). Values are mean ± standard deviation over the test periods."), ""]
    lines += _pai_tables(summary, coverages)
    for cov in coverages:
        lines += [f"## At {cov} of the area", "",
                  "| method | PAI | hit rate | RRI |", "| --- | --- | --- | --- |"]
        for method, row in summary.iterrows():
            lines.append(f"| {method} | {_pm(row, f'pai@{cov}')} | "
                         f"{_pm(row, f'hit_rate@{cov}', pct=True)} | {_pm(row, f'rri@{cov}')} |")
        lines.append("")
    lines += ["## Each method's own hotspots, and fit time", "",
              "| method | hotspots | area (% of county) | hit rate | PAI | fit time (s) |",
              "| --- | --- | --- | --- | --- | --- |"]
    for method, row in summary.iterrows():
        count = "n/a" if pd.isna(row["hotspots"]) else f"{row['hotspots']:.1f}"
        lines.append(f"| {method} | {count} | {_pm(row, 'own_area_pct', 2)} | "
                     f"{_pm(row, 'own_hit_rate', pct=True)} | {_pm(row, 'own_pai')} | "
                     f"{_pm(row, 'fit_s', 2)} |")
    if meta.get("ratios") is not None and len(meta["ratios"]):
        lines += ["", *ratio_markdown(meta["ratios"], BASELINE, "##")]
    if comparison is not None and len(comparison):
        lines += ["", (f"## Paired: PAI of {meta.get('reference', 'scan')} minus each other "
                  "method, period by period"), "",
                  ("| coverage | method | mean difference ± s.e. | periods at least as good | "
                  "Wilcoxon p |"), "| --- | --- | --- | --- | --- |"]
        for _, row in comparison.iterrows():
            lines.append(f"| {row['coverage']} | {row['method']} | {row['mean_diff']:+.1f} ± "
                         f"{row['se']:.1f} | {row['wins']:.0%} | {row['p_value']:.2g} |")
    return "\n".join(lines + ["", *meta.get("notes", [])]).rstrip() + "\n"


def _pai_tables(summary: pd.DataFrame, coverages: list[str]) -> list[str]:
    """Mean PAI at every coverage, and as a multiple of the KDE baseline's (when run)."""
    head = "| method | " + " | ".join(coverages) + " |"
    rule = "| --- |" + " --- |" * len(coverages)
    lines = ["## PAI at each coverage", "", head, rule]
    for method, row in summary.iterrows():
        lines.append(f"| {method} | " + " | ".join(f"{row[f'pai@{c}']:.1f}" for c in coverages)
                     + " |")
    if BASELINE in summary.index:
        base = summary.loc[BASELINE]
        lines += ["", f"## PAI as a multiple of {BASELINE}'s (KDE, 250 m bandwidth, 100 m cells)",
                  "", head, rule]
        for method, row in summary.iterrows():
            lines.append(f"| {method} | " + " | ".join(
                f"{row[f'pai@{c}'] / base[f'pai@{c}']:.2f}×" if base[f"pai@{c}"] else "n/a"
                for c in coverages) + " |")
    return lines + [""]


def _pm(row, column: str, digits: int = 1, pct: bool = False) -> str:
    mean, sd = row[column], row[f"{column}_sd"]
    if pd.isna(mean):
        return "n/a"
    if pct:
        return f"{100 * mean:.1f}% ± {100 * sd:.1f}"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    from data.synthetic_families import FAMILIES

    parser = argparse.ArgumentParser(prog="python -m models.evaluate",
                                     description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--store", nargs="+",
                        help="store URL or folder (several: draws of one generator, e.g. "
                             "data.synthetic stores of different seeds, pooled with intervals)")
    source.add_argument("--points", nargs="+", metavar="FILE.csv",
                        help="police.uk street-level crime CSV files (Month, Longitude, "
                             "Latitude, Crime type, LSOA code)")
    source.add_argument("--family", nargs="+", choices=list(FAMILIES),
                        help="synthetic families of data.synthetic_families")
    parser.add_argument("--feed", choices=list(FEEDS), help="one feed (default: all, pooled)")
    parser.add_argument("--crime-type", nargs="+", help="with --points: keep these crime types")
    parser.add_argument("--events", type=int, default=8000, help="with --family: how many")
    parser.add_argument("--train-months", type=int, default=12)
    parser.add_argument("--coverage", type=float, nargs="+", default=list(COVERAGES),
                        help="shares of the area for the fixed-coverage comparison")
    parser.add_argument("--test-period", choices=list(PERIODS), default="month")
    parser.add_argument("--methods", nargs="+", choices=list(CANDIDATES),
                        default=list(DEFAULT_METHODS))
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of every fit (and of --family's data)")
    parser.add_argument("--seeds", type=int, nargs="+",
                        help="with --family: evaluate several draws of each family and give "
                             "each PAI ratio to kde250 a bootstrap interval (models.seeds)")
    parser.add_argument("--hindsight-best", action="store_true",
                        help=f"add '{HINDSIGHT}': per test period, the best PAI of the rankings "
                             "run, picked after seeing its events (an upper bound on choosing "
                             "among them)")
    parser.add_argument("--against", choices=list(RANKERS),
                        help="with several draws: also every ranking's ratio to this one (e.g. "
                             "the default, forecast), with paired intervals")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="Markdown report to write")
    args = parser.parse_args(argv)
    if args.train_months < 1 or not all(0 < c <= 1 for c in args.coverage):
        parser.error("--train-months must be >= 1 and --coverage values in (0, 1]")
    if args.seeds and not args.family:
        parser.error("--seeds needs --family (a store or police.uk files are one draw)")
    if (args.family and (args.seeds or len(args.family) > 1)) or (args.store
                                                                    and len(args.store) > 1):
        return _main_seeds(args, argv)
    args.family = args.family[0] if args.family else None
    args.store = args.store[0] if args.store else None
    try:
        events, data, notes = _load(args)
    except (DashboardError, OSError, ValueError) as exc:
        print(f"python -m models.evaluate: {exc}", file=sys.stderr)
        return 2
    if events.empty:
        print(f"python -m models.evaluate: no point events in {data}", file=sys.stderr)
        return 2
    folds = evaluate(events, methods=args.methods, train_months=args.train_months,
                     coverages=args.coverage, test_period=args.test_period,
                     random_state=args.seed)
    if args.hindsight_best and not folds.empty:
        folds = with_hindsight_best(folds)
    if folds.empty:
        print("python -m models.evaluate: not enough months for one test period after "
              f"{args.train_months} training months", file=sys.stderr)
        return 2
    summary = summarise(folds)
    reference = "forecast" if "forecast" in args.methods else args.methods[0]
    meta = {"command": " ".join(["python -m models.evaluate", *(argv or sys.argv[1:])]),
            "when": clock.today().isoformat(), "data": data,
            "test_period": args.test_period, "train_months": args.train_months,
            "periods": folds["period"].nunique(), "first": folds["period"].min(),
            "last": folds["period"].max(), "area_km2": centre_grid(100).area_km2,
            "notes": notes, "reference": reference}
    comparison = paired(folds, reference) if len(args.methods) > 1 else None
    if BASELINE in args.methods and len(args.methods) > 1:
        meta["ratios"] = ratio_table(folds, BASELINE)
    Path(args.out).write_text(to_markdown(summary, meta, comparison), encoding="utf-8")
    print(summary.round(3).to_string())
    print(f"report written to {args.out}")
    return 0


def _main_seeds(args, argv) -> int:
    """``--family ... --seeds ...``: every family x seed, then ratios with intervals."""
    options = {"methods": args.methods, "train_months": args.train_months,
               "coverages": args.coverage, "test_period": args.test_period}
    if args.family:
        seeds = args.seeds or [args.seed]
        folds = evaluate_seeds(args.family, args.events, seeds, **options)
        data = (f"~{args.events:,} events of each family ({', '.join(args.family)}), seeds "
                f"{' '.join(map(str, seeds))}")
        notes = ["Synthetic family data: every event is made up."]
    else:
        label = args.feed or "all feeds"
        folds = evaluate_draws([(label, k, lambda url=url: load_events(url, args.feed))
                                for k, url in enumerate(args.store, start=1)], **options)
        data = (f"{label} from {len(args.store)} stores ({', '.join(args.store)}), store k "
                "as seed k")
        notes = [note for url in args.store for note in _store_notes(url)]
    if args.hindsight_best:
        folds = with_hindsight_best(folds)
    table = ratio_table(folds, BASELINE) if BASELINE in args.methods else pd.DataFrame()
    meta = {"command": " ".join(["python -m models.evaluate", *(argv or sys.argv[1:])]),
            "when": clock.today().isoformat(), "test_period": args.test_period,
            "train_months": args.train_months, "data": data, "notes": notes}
    if args.against in args.methods:
        meta["against"] = (args.against, ratio_table(folds[folds["method"] != BASELINE],
                                                     args.against))
    Path(args.out).write_text(seeds_markdown(folds, table, meta, BASELINE), encoding="utf-8")
    if len(table):
        print(table.round(3).to_string())
    print(f"report written to {args.out}")
    return 0


def _load(args) -> tuple[gpd.GeoDataFrame, str, list[str]]:
    """The events named on the command line, what to call them, and notes for the report."""
    if args.points:
        from data.policeuk import read_policeuk

        events = read_policeuk(args.points, args.crime_type)
        kinds = ", ".join(args.crime_type) if args.crime_type else "all crime types"
        return events, (f"{len(events):,} police.uk street-level points ({kinds}) from "
                        f"{', '.join(args.points)}; {events.attrs['dropped']} rows without a "
                        "location dropped"), []
    if args.family:
        from data.synthetic_families import family_events

        events = family_events(args.family, args.events, seed=args.seed)
        return events, (f"{len(events):,} events of the synthetic family `{args.family}` "
                        f"(`data.synthetic_families`, seed {args.seed})"), [
            "Synthetic family data: every event is made up."]
    events = load_events(args.store, args.feed)
    return events, (f"{len(events):,} point events ({args.feed or 'all feeds, pooled'}) from "
                    f"{args.store}"), _store_notes(args.store)


def _store_notes(store_url) -> list[str]:
    """Where the data came from, when the store is a synthetic build (its ground-truth file)."""
    import json

    from data.synthetic import TRUTH_FILE

    try:
        truth = json.loads(open_store(store_url).read_document(TRUTH_FILE) or "")
    except (OSError, ValueError):
        return []
    planted = sum(len(spots) for spots in truth.get("hotspots", {}).values())
    return [(f"Synthetic store: `python -m data.synthetic --years {truth['years']} --seed "
            f"{truth['seed']}` ({truth['start']} to {truth['end']}, {planted} planted "
            "hotspots). Every record is made up.")]


if __name__ == "__main__":
    sys.exit(main())
