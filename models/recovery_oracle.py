"""An oracle bound on planted recovery: could ANY window of the scan be significant for an LSOA?

    from models.recovery_oracle import fitted_scan, oracle_windows
    scan = fitted_scan(events, random_state=seed)          # the default fit's own scan
    table = oracle_windows(scan, ["E01010647", ...])        # one row per LSOA code

``overdispersed`` raises rates over whole LSOAs (docs/hotspots.md, 3b-3d). The scan reports a
window when its Monte-Carlo p-value, its rank among the null data sets' largest LLRs, is below
``alpha``. An *oracle* that knew which LSOA was planted would score exactly that LSOA's window:
if even that window is not significant against the same null maxima, no scan with this test
can report the LSOA (the budget aside). So the share of planted LSOAs whose oracle window is
significant bounds what the scan could recover.

``fitted_scan`` redoes the default ``HotspotModel`` fit's scan with the fit's own inputs: the
same grid and resident denominators, the same total ``C``, windows (discs and capped areal
windows) and random seed, so its ``null_max`` is the very null the fit ranked its windows
against (the bench checks the reported windows agree with the fit's). ``oracle_windows``
scores, per LSOA, its oracle window (the cells whose centre lies in it, as
``models.scan_areas`` labels them, uncapped) and the best of three windows (the LSOA alone, the
LSOA with its neighbours, and the smallest disc holding at least half its cells, the best such
disc by LLR): observed ``c`` and expected ``e = C x population share`` exactly as
``models.scan.poisson_scan`` computes them, the same ``poisson_llr`` and ``min_events``, and
``p = (1 + #{null max >= LLR}) / (n_simulations + 1)``.

Windows the scan does not hold (an LSOA larger than the largest disc, whose window the model
caps out) are scored against the same maxima: a scan holding them too could only have larger
null maxima, so the p-value is optimistic and the bound stays a bound.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from models._events import gridded_events
from models._grid import Grid
from models.hotspots import HotspotModel, OutsideAreaWarning
from models.scan import DiscConvolver, ScanResult, poisson_scan
from models.scan_areas import AreaWindows, area_windows
from models.scan_null import poisson_llr

_HALF_DISCS: dict = {}  # (grid geometry, radii, unit) -> (radius index, centres) of half-discs


@dataclass(frozen=True)
class FittedScan:
    """A fit's scan, its inputs on the land cells (``flatnonzero(population > 0)``) and its
    disc sums, (n_radii, n_land) as ``poisson_scan`` has them."""
    grid: Grid
    land: np.ndarray
    land_counts: np.ndarray
    land_share: np.ndarray  # each land cell's share of the population (sums to 1)
    total: float
    radii_m: np.ndarray
    disc_observed: np.ndarray
    disc_expected: np.ndarray
    result: ScanResult
    min_events: int
    alpha: float
    largest_disc_cells: int


def fitted_scan(events, random_state: int, **params) -> FittedScan:
    """The scan ``HotspotModel(random_state=random_state, **params).fit(events)`` runs, with
    the fit's own inputs and seed (its ``null_max`` is the fit's). Residents only: a model
    with an ``exposure`` layer measures against another denominator."""
    model = HotspotModel(random_state=random_state, cross_feed=False, ranking=None, **params)
    if model.method != "scan" or model.exposure is not None or model.population is not None:
        raise ValueError("the oracle bound is for the scan against the shipped residents "
                         f"(method='scan', exposure=None, population=None); got "
                         f"method={model.method!r}, exposure={type(model.exposure).__name__}, "
                         f"population={type(model.population).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        _, grid, cell = gridded_events(events, model.cell_size_m, model.population,
                                       OutsideAreaWarning)
    counts = grid.counts(cell)
    # As HotspotModel._fit_scans and models.hotspots._scan do (tests/test_recovery_oracle.py
    # checks the null maxima are the fit's, bit for bit): the first draw of the model's
    # generator seeds the scan; radii one cell apart; areal windows (the shipped LSOAs) capped
    # at the largest disc's cells.
    seed = int(check_random_state(model.random_state).randint(0, 2**31 - 1))
    radii = np.arange(grid.cell_m, max(model.max_radius_m, grid.cell_m) + 1e-6, grid.cell_m)
    largest = _largest_disc_cells(grid.cell_m, max(model.max_radius_m, grid.cell_m))
    areas = (area_windows(grid, None, max_cells=largest)
             if model.windows == "discs+areas" else None)
    result = poisson_scan(counts, grid.population, grid.cell_m, radii,
                          min_events=model.min_events, n_simulations=model.n_simulations,
                          alpha=model.alpha, rng=np.random.default_rng(seed), areas=areas)
    land = np.flatnonzero(grid.population.ravel() > 0)
    total = float(counts.sum())
    conv = DiscConvolver(grid.shape, grid.cell_m, radii)
    share = grid.population / grid.population.sum()
    return FittedScan(grid, land, counts.ravel()[land], share.ravel()[land], total, radii,
                      np.rint(conv(counts[None], land)[0]), total * conv(share[None], land)[0],
                      result, model.min_events, model.alpha, largest)


def _largest_disc_cells(cell_m: float, radius_m: float) -> int:
    """Cells (land or not) of a disc of ``radius_m``: the areal windows' cap."""
    k = int(radius_m // cell_m)
    di, dj = np.mgrid[-k:k + 1, -k:k + 1]
    return int((np.hypot(di, dj) * cell_m <= radius_m + 1e-6).sum())


def monte_carlo_p(llr, null_max: np.ndarray) -> np.ndarray:
    """``(1 + #{null max >= llr}) / (n + 1)`` per LLR, as the scan's report ranks a window;
    1.0 where the LLR is 0 (a window the scan does not score)."""
    llr = np.atleast_1d(np.asarray(llr, float))
    sims = np.sort(np.asarray(null_max, float))
    p = (1 + len(sims) - np.searchsorted(sims, llr, side="left")) / (len(sims) + 1)
    return np.where(llr > 0, p, 1.0)


def score_windows(scan: FittedScan, cells: list) -> tuple[np.ndarray, ...]:
    """Observed, expected, LLR and p-value of windows given as land-cell positions."""
    c = np.array([scan.land_counts[w].sum() for w in cells], float)
    e = np.array([scan.total * scan.land_share[w].sum() for w in cells], float)
    llr = poisson_llr(c, e, scan.total, scan.min_events)
    return c, e, llr, monte_carlo_p(llr, scan.result.null_max)


def oracle_windows(scan: FittedScan, codes) -> pd.DataFrame:
    """Per LSOA code: its oracle window (its cells) scored against the fit's null, and the best
    of its three windows (module docstring).

    Columns: ``code``, ``cells``, ``in_scan`` (the scan scores this very window: it has cells
    and no more than the largest disc's), ``events``, ``expected``, ``llr``, ``p_value``,
    ``significant`` (``p < alpha``, the scan's rule); ``best_window`` (``lsoa``,
    ``lsoa+neighbours``, ``half-disc``, or ``none`` when no window scores), ``best_cells``,
    ``best_llr``, ``best_p_value``, ``best_significant``; ``any_*``: the strongest of every
    disc and every areal window (uncapped) holding at least half the LSOA's cells; ``scan_*``:
    the same among the windows the scan itself scores (areal ones capped at the largest disc).
    """
    windows = area_windows(scan.grid, None, max_cells=None)
    unit_of = {str(code): u for u, code in enumerate(windows.codes)}
    missing = [str(c) for c in codes if str(c) not in unit_of]
    if missing:
        raise ValueError(f"LSOA codes not in the 2021 boundaries: {missing[:5]}")
    units = [unit_of[str(c)] for c in codes]
    alone = [_unit_cells(windows, u) for u in units]
    c, e, llr, p = score_windows(scan, alone)
    rows = pd.DataFrame({"code": [str(x) for x in codes],
                         "cells": [len(w) for w in alone],
                         "in_scan": [0 < len(w) <= scan.largest_disc_cells for w in alone],
                         "events": c, "expected": e, "llr": llr, "p_value": p,
                         "significant": (llr > 0) & (p < scan.alpha)})
    grown = _neighbourhood_of(windows)
    candidates = []  # per LSOA: (kind, cells, llr)
    for u, own, own_llr in zip(units, alone, llr):
        options = [("lsoa", len(own), own_llr)]
        if u in grown:
            cells = windows.cells(grown[u])
            options.append(("lsoa+neighbours", len(cells), score_windows(scan, [cells])[2][0]))
        disc = _best_half_disc(scan, windows, u, own)
        if disc is not None:
            options.append(disc)
        candidates.append(max(options, key=lambda o: o[2]))
    best_llr = np.array([o[2] for o in candidates], float)
    best_p = monte_carlo_p(best_llr, scan.result.null_max)
    rows["best_window"] = [o[0] if o[2] > 0 else "none" for o in candidates]
    rows["best_cells"] = [o[1] for o in candidates]
    rows["best_llr"] = best_llr
    rows["best_p_value"] = best_p
    rows["best_significant"] = (best_llr > 0) & (best_p < scan.alpha)
    # Any window (every disc, every areal window, uncapped) holding half the LSOA's cells: the
    # strongest one bounds what any report could cover half of it with.
    disc_llr = poisson_llr(scan.disc_observed, scan.disc_expected, scan.total,
                           scan.min_events).ravel()
    area_llr = score_windows(scan, [windows.cells(w) for w in range(windows.n_windows)])[2]
    scanned = windows.cell_counts() <= scan.largest_disc_cells  # the areal windows the scan has
    any_llr, scan_llr = np.zeros(len(units)), np.zeros(len(units))
    for k, (u, own) in enumerate(zip(units, alone)):
        discs, areal = _half_holders(scan, windows, u, own)
        best_disc = disc_llr[discs].max(initial=0.0)
        any_llr[k] = max(best_disc, area_llr[areal].max(initial=0.0))
        scan_llr[k] = max(best_disc, area_llr[areal[scanned[areal]]].max(initial=0.0))
    for prefix, values in (("any", any_llr), ("scan", scan_llr)):
        p = monte_carlo_p(values, scan.result.null_max)
        rows[f"{prefix}_llr"] = values
        rows[f"{prefix}_p_value"] = p
        rows[f"{prefix}_significant"] = (values > 0) & (p < scan.alpha)
    return rows


def _unit_cells(windows: AreaWindows, unit: int) -> np.ndarray:
    start, stop = windows.units.indptr[unit:unit + 2]
    return windows.units.indices[start:stop]


def _neighbourhood_of(windows: AreaWindows) -> dict:
    """LSOA unit -> its LSOA+neighbours window (absent when its neighbours hold no cell)."""
    grown = np.flatnonzero(windows.kind == 1)
    return dict(zip(windows.centre_unit[grown].tolist(), grown.tolist()))


def _half_holders(scan: FittedScan, windows: AreaWindows, unit: int, own: np.ndarray):
    """Flat (radius, land cell) indices of the discs, and indices of the areal windows, that
    hold at least half of the LSOA's cells (kept per grid and LSOA: they do not depend on the
    data)."""
    grid = scan.grid
    key = ("any", grid.cell_m, grid.x0, grid.y0, grid.nx, grid.ny, tuple(scan.radii_m), unit)
    if key not in _HALF_DISCS:
        if not len(own):
            _HALF_DISCS[key] = (np.zeros(0, int), np.zeros(0, int))
        else:
            conv = DiscConvolver(grid.shape, grid.cell_m, scan.radii_m)
            mine = np.zeros(grid.nx * grid.ny)
            mine[scan.land[own]] = 1.0
            held = np.rint(conv(mine.reshape(1, *grid.shape), scan.land)[0])
            indicator = np.zeros(len(scan.land))
            indicator[own] = 1.0
            in_windows = windows.window_cells @ indicator
            _HALF_DISCS[key] = (np.flatnonzero(held.ravel() >= 0.5 * len(own)),
                                np.flatnonzero(in_windows >= 0.5 * len(own)))
    return _HALF_DISCS[key]


def _best_half_disc(scan: FittedScan, windows: AreaWindows, unit: int, own: np.ndarray):
    """The smallest radius at which some disc holds at least half of the LSOA's cells, and of
    the discs of that radius that do, the one of largest LLR: ("half-disc", cells, llr), or
    None (no cell, or no disc holds half)."""
    if not len(own):
        return None
    grid = scan.grid
    key = (grid.cell_m, grid.x0, grid.y0, grid.nx, grid.ny, tuple(scan.radii_m), unit)
    if key not in _HALF_DISCS:
        conv = DiscConvolver(grid.shape, grid.cell_m, scan.radii_m)
        mine = np.zeros(grid.nx * grid.ny)
        mine[scan.land[own]] = 1.0
        held = np.rint(conv(mine.reshape(1, *grid.shape), scan.land)[0])  # (n_radii, n_land)
        enough = held >= 0.5 * len(own)
        radius = int(np.flatnonzero(enough.any(axis=1))[0]) if enough.any() else -1
        centres = np.flatnonzero(enough[radius]) if radius >= 0 else np.zeros(0, int)
        size = len(conv.offsets[radius]) if radius >= 0 else 0
        _HALF_DISCS[key] = (radius, centres, size)
    radius, centres, size = _HALF_DISCS[key]
    if radius < 0:
        return None
    llr = poisson_llr(scan.disc_observed[radius, centres], scan.disc_expected[radius, centres],
                      scan.total, scan.min_events)
    return ("half-disc", size, float(llr.max()))


def planted_expected(scan: FittedScan, codes, lsoas, multiplier, n_events: int) -> np.ndarray:
    """Events the generator puts, on average, in each LSOA's oracle window (its cells): each
    LSOA's expected events (``n_events`` x residents x multiplier, normalised), spread evenly
    over its polygon (as ``data.synthetic_families`` draws them), summed over the cells' area.
    ``lsoas``: BNG polygons with ``code`` and ``population``; ``multiplier`` by code. The
    100 m geomask (at most 71 m) and the county outline's clipping are left out."""

    planted = _PlantedDensity(lsoas, multiplier, n_events)
    windows = area_windows(scan.grid, None, max_cells=None)
    unit_of = {str(code): u for u, code in enumerate(windows.codes)}
    out = np.zeros(len(codes))
    for k, code in enumerate(codes):
        cells = scan.land[_unit_cells(windows, unit_of[str(code)])]
        if len(cells):
            out[k] = planted.in_cells(scan.grid, cells)
    return out


class _PlantedDensity:
    """The generator's expected events per m² (each LSOA's expected events, ``n_events`` x
    residents x multiplier normalised, spread evenly over its polygon, as
    ``data.synthetic_families`` draws them), integrated over grid cells."""

    def __init__(self, lsoas, multiplier, n_events: int):
        import shapely

        self.polygons = lsoas.geometry.to_numpy()
        weight = (lsoas["population"].to_numpy(float)
                  * lsoas["code"].map(multiplier).to_numpy(float))
        self.density = n_events * weight / weight.sum() / shapely.area(self.polygons)
        self.tree = shapely.STRtree(self.polygons)

    def in_cells(self, grid, cells: np.ndarray) -> float:
        """Expected events in ``grid``'s ``cells`` (flat indices)."""
        import shapely

        x, y = grid.centres(cells)
        half = grid.cell_m / 2
        boxes = shapely.box(x - half, y - half, x + half, y + half)
        box_i, lsoa_i = self.tree.query(boxes, predicate="intersects")
        overlap = shapely.area(shapely.intersection(boxes[box_i], self.polygons[lsoa_i]))
        return float((overlap * self.density[lsoa_i]).sum())


def fine_oracle(scan: FittedScan, events, codes, lsoas, multiplier, n_events: int
                ) -> pd.DataFrame:
    """Each LSOA's own window counted on its 100 m centre-grid cells (docs/hotspots.md 3g,
    candidate A): observed = ``events`` whose 100 m cell's centre lies in it, expected = ``C``
    x those cells' share of the residents on the 100 m centre grid, and ``planted`` = the
    generator's expected events in those cells (each LSOA's expected events spread evenly over
    its polygon, ``planted_expected``'s rule, integrated over the 100 m cells: the geomask
    moves a point to its 100 m cell's centre, so no noise and no leak). Both are scored against
    the fit's own null maxima (``scan.result.null_max``): an approximation, since a scan with
    these windows would draw its null on the 100 m cells.

    Columns: ``fine_cells``, ``fine_events``, ``fine_expected``, ``fine_llr``,
    ``fine_significant``, ``fine_planted``, ``fine_noise_free_significant``.
    """

    from models._events import event_arrays
    from models.scan_areas_fine import fine_areas

    fine = fine_areas(scan.grid, None, max_cells=None, kinds=("lsoa",))
    unit_of = {str(code): u for u, code in enumerate(fine.windows.codes)}
    units = fine.windows.units  # LSOA x sampling unit
    xy = event_arrays(events)
    on_grid = scan.grid.cell_index(xy.x, xy.y) >= 0  # the events the fit's C counts
    observed = units @ fine.unit_counts(xy.x[on_grid], xy.y[on_grid])
    expected = scan.total * (units @ fine.residents) / fine.residents.sum()
    rows = [unit_of[str(c)] for c in codes]
    c, e = observed[rows], expected[rows]
    llr = poisson_llr(c, e, scan.total, scan.min_events)
    density = _PlantedDensity(lsoas, multiplier, n_events)
    planted, n_cells = np.zeros(len(rows)), np.zeros(len(rows), int)
    for k, u in enumerate(rows):
        mine = fine.fine_cell[units.indices[units.indptr[u]:units.indptr[u + 1]]]
        mine = mine[mine >= 0]
        n_cells[k] = len(mine)
        if len(mine):
            planted[k] = density.in_cells(fine.fine, mine)
    noise_free = poisson_llr(planted, e, scan.total, scan.min_events)
    return pd.DataFrame({
        "fine_cells": n_cells, "fine_events": c, "fine_expected": e, "fine_llr": llr,
        "fine_significant": (llr > 0) & (monte_carlo_p(llr, scan.result.null_max) < scan.alpha),
        "fine_planted": planted,
        "fine_noise_free_significant": (noise_free > 0) & (
            monte_carlo_p(noise_free, scan.result.null_max) < scan.alpha)})
