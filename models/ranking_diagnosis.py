"""Why a ranking ties KDE at a small coverage: which cells each picks, and where the test events fall.

    python -m models.ranking_diagnosis --family micro_places corridors --events 100 \\
        --seeds 1 2 3 4 5 6 7 8 [--coverage 0.005 0.01] [--against forecast]

For every test month of every draw (the same rolling origin as ``models.evaluate``: 12
training months), the default ranking (``--against``) and plain KDE (``kde250``) each take the
top ``coverage`` of West Yorkshire's 100 m land cells. Per family and coverage it prints,
summed over the months:

- ``cells``: the cells a coverage takes, and ``per site``: those per distinct training cell
  (site); with ~50 training events, 0.5% of 2,029 km² (1,015 cells) is ~20 cells a site, a
  disc of ~250 m around every one of them, whatever the ranking;
- ``test``: the test events; ``at site`` / ``≤100 m`` / ``≤300 m``: those in a training
  site's cell, within one cell of one, within three cells of one (what any ranking built on
  the training events can reach at such a coverage);
- ``overlap``: the share of the ranking's cells that KDE also takes;
- each ranking's hits, and ``hits only`` each: test events caught by one and not the other.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from scipy import ndimage

from models._grid import centre_grid
from models.evaluate import RANKERS, tag
from models.forecast import ForecastRanker
from models.metrics import cells_for_coverage, top_cells

BASELINE = "kde250"
COVERAGES = (0.005, 0.01)
TRAIN_MONTHS = 12


def diagnose(events, *, against: str = "forecast", coverages=COVERAGES,
             train_months: int = TRAIN_MONTHS) -> pd.DataFrame:
    """One row per test month and coverage (columns as the module docstring)."""
    grid = centre_grid(100)
    land = np.flatnonzero(grid.land.ravel())
    dates = pd.to_datetime(events["date"])
    months = dates.dt.to_period("M")
    first = dates.min().to_period("M") + train_months
    rows = []
    for month in sorted(months.unique()):
        if month < first:
            continue
        train = events[(dates >= (month - train_months).start_time) & (dates < month.start_time)]
        test_cell = _cells(grid, events[months == month])
        train_cell = _cells(grid, train)
        if not len(test_cell) or not len(train_cell):
            continue
        counts = grid.counts(train_cell)
        near = {d: ndimage.maximum_filter(counts, size=2 * d + 1).ravel()[test_cell] > 0
                for d in (0, 1, 3)}
        scores = {name: ForecastRanker(**RANKERS[name]).fit(train).scores_
                  for name in (against, BASELINE)}
        sites = int((counts > 0).sum())
        for coverage in coverages:
            n_cells = cells_for_coverage(coverage, grid.area_km2, grid.cell_km2)
            chosen = {name: top_cells(s, land, n_cells) for name, s in scores.items()}
            caught = {name: np.isin(test_cell, c) for name, c in chosen.items()}
            rows.append({
                "period": str(month), "coverage": tag(coverage), "cells": n_cells,
                "sites": sites, "test": len(test_cell), "at site": int(near[0].sum()),
                "≤100 m": int(near[1].sum()), "≤300 m": int(near[3].sum()),
                "overlap": len(np.intersect1d(*chosen.values())) / n_cells,
                against: int(caught[against].sum()), BASELINE: int(caught[BASELINE].sum()),
                f"only {against}": int((caught[against] & ~caught[BASELINE]).sum()),
                f"only {BASELINE}": int((caught[BASELINE] & ~caught[against]).sum())})
    return pd.DataFrame(rows)


def summary_markdown(rows: pd.DataFrame, against: str = "forecast") -> str:
    """Per family and coverage: sums over the months (means for cells, sites and overlap)."""
    head = ["family", "coverage", "months", "cells", "per site", "test", "at site", "≤100 m",
            "≤300 m", "overlap", against, BASELINE, f"only {against}", f"only {BASELINE}"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (family, coverage), g in rows.groupby(["family", "coverage"], sort=False):
        lines.append("| " + " | ".join(str(v) for v in [
            family, coverage, len(g), int(g["cells"].iloc[0]),
            f"{(g['cells'] / g['sites']).mean():.0f}", *(int(g[c].sum()) for c in head[5:9]),
            f"{g['overlap'].mean():.2f}", *(int(g[c].sum()) for c in head[10:])]) + " |")
    return "\n".join(lines)


def _cells(grid, events) -> np.ndarray:
    cell = grid.cell_index(events.geometry.x.to_numpy(), events.geometry.y.to_numpy())
    return cell[cell >= 0]


def main(argv: list[str] | None = None) -> int:
    from data.synthetic_families import FAMILIES, family_events

    parser = argparse.ArgumentParser(prog="python -m models.ranking_diagnosis",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--family", nargs="+", choices=list(FAMILIES), required=True)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--coverage", type=float, nargs="+", default=list(COVERAGES))
    parser.add_argument("--against", choices=[m for m in RANKERS if m != BASELINE],
                        default="forecast")
    args = parser.parse_args(argv)
    frames = []
    for family in args.family:
        for seed in args.seeds:
            rows = diagnose(family_events(family, args.events, seed=seed),
                            against=args.against, coverages=args.coverage)
            frames.append(rows.assign(family=family, seed=seed))
            print(f"{family} seed {seed} done", file=sys.stderr, flush=True)
    print(summary_markdown(pd.concat(frames, ignore_index=True), args.against))
    return 0


if __name__ == "__main__":
    sys.exit(main())
