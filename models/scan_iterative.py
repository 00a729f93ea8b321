"""The iterative Poisson scan for secondary hotspots (Zhang, Assunção & Kulldorff 2010,
"Spatial scan statistics adjusted for multiple clusters"): ``HotspotModel(secondary="iterative")``.

The conservative report (``models.scan.report_windows``) tests every secondary window against
the maxima simulated for the most likely cluster, so a weaker cluster elsewhere must beat the
strongest one's null. Here the first step is that same scan (same windows, same simulations
from the same generator); when its most likely cluster is significant, its cells leave the
data (their events and their population), and the scan and its Monte-Carlo null run again on
what remains: the null spreads the remaining total over the remaining land. Each step keeps
its most likely cluster when significant (its own p-value), and the scan stops at the first
that is not, after ``max_windows`` windows, or once the kept windows' cells reach
``budget_cells`` (the area budget: more windows could not be reported). docs/hotspots.md, 3f.

A removed cell is off land for every later step: it is never a centre, adds nothing to any
window's events or expected count, and is in no later window's cells, so hotspots never share
a cell.
"""
from __future__ import annotations

import numpy as np

from models.scan import ScanResult, poisson_scan

MAX_WINDOWS = 30  # most clusters the iterative scan reports (each costs a full null)

__all__ = ["MAX_WINDOWS", "iterative_scan"]


def iterative_scan(counts: np.ndarray, population: np.ndarray, cell_m: float, radii_m, *,
                   min_events: int, n_simulations: int, alpha: float, rng, areas=None,
                   budget_cells: float = np.inf, max_windows: int | None = None) -> ScanResult:
    """Clusters found one at a time, each tested on the data without the ones before.

    Parameters are ``models.scan.poisson_scan``'s (``areas`` over the land cells
    ``population > 0``), plus ``budget_cells`` (stop once the kept windows hold this many
    cells) and ``max_windows`` (``None``: ``MAX_WINDOWS``, read at the call, which a diagnosis
    may raise: ``bench/bench_recovery.py --max-windows``). Returns a ``ScanResult`` whose windows are in the order found;
    ``null_max`` and ``max_llr`` are the first step's (the test of the most likely cluster).
    """
    max_windows = MAX_WINDOWS if max_windows is None else max_windows
    counts = np.asarray(counts, float)
    population = np.asarray(population, float)
    land = population.ravel() > 0
    first = poisson_scan(counts, population, cell_m, radii_m, min_events=min_events,
                         n_simulations=n_simulations, alpha=alpha, rng=rng, areas=areas)
    found = []  # (result, index of its most likely cluster) per kept window
    step, removed = first, np.zeros(population.size, bool)
    while len(step.cells) and step.p_value[0] < alpha and len(found) < max_windows:
        found.append(step)
        removed[step.cells[0]] = True
        if removed.sum() >= budget_cells or len(found) == max_windows:
            break
        left = land & ~removed  # ``land`` stays the first step's: ``areas`` are over it
        if counts.ravel()[left].sum() < min_events:
            break
        remaining_counts = np.where(removed.reshape(counts.shape), 0.0, counts)
        remaining_population = np.where(removed.reshape(population.shape), 0.0, population)
        remaining_areas = None if areas is None else areas.restrict(left[land])
        step = poisson_scan(remaining_counts, remaining_population, cell_m, radii_m,
                            min_events=min_events, n_simulations=n_simulations, alpha=alpha,
                            rng=rng, areas=remaining_areas)

    def column(name, dtype=float):
        return np.array([getattr(s, name)[0] for s in found], dtype)

    return ScanResult(column("centre", int), column("radius_m"), [s.cells[0] for s in found],
                      column("events"), column("expected"), column("llr"), column("p_value"),
                      first.null_max, first.max_llr, tuple(s.window[0] for s in found))
