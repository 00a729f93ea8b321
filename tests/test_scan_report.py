"""One report for the scan (``models.scan.report_windows``): with no areal window it keeps the
discs the previous discs-only report kept, bit for bit. ``reference_report`` below is that
report as it stood before the two were merged (models/scan.py at 721cf01), kept here as the
reference."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from data.synthetic_families import family_events
from models import scan
from models._grid import analysis_grid
from models.hotspots import HotspotModel, OutsideAreaWarning
from models.scan import ScanResult
from models.scan_null import poisson_llr
from tests.test_hotspots import null_events

RADII = np.arange(300, 1500 + 1e-6, 300)


def reference_report(llr, observed, expected, null_max, land, own, conv, alpha) -> ScanResult:
    """The discs-only report before it went through the joint one (verbatim but this line)."""
    shape = conv.shape
    sims = np.sort(null_max)
    n_sim = len(sims)
    p_all = (1 + n_sim - np.searchsorted(sims, llr.ravel(), side="left")) / (n_sim + 1)
    candidate = np.flatnonzero((llr.ravel() > 0) & (p_all < alpha))
    radius_i, land_i = np.divmod(candidate, len(land))
    order = np.lexsort((candidate, -own[land_i], radius_i,
                        -np.round(llr.ravel()[candidate], 8)))
    candidate, radius_i, land_i = candidate[order], radius_i[order], land_i[order]
    rows, cols = np.divmod(land[land_i], shape[1])
    radius = conv.radii_m[radius_i]
    alive = np.ones(len(candidate), bool)
    kept = []
    for i in range(len(candidate)):
        if not alive[i]:
            continue
        kept.append(i)
        gap = np.hypot(rows[i:] - rows[i], cols[i:] - cols[i]) * conv.cell_m
        alive[i:] &= gap > radius[i:] + radius[i] + 1e-6
    kept = np.array(kept, dtype=int)
    land_set = np.zeros(shape[0] * shape[1], bool)
    land_set[land] = True
    cells = []
    for i in kept:
        off = conv.offsets[radius_i[i]]
        r, c = rows[i] + off[:, 0], cols[i] + off[:, 1]
        ok = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
        flat = r[ok] * shape[1] + c[ok]
        cells.append(flat[land_set[flat]])
    flat_llr, flat_obs, flat_exp = llr.ravel(), observed.ravel(), expected.ravel()
    chosen = candidate[kept]
    return ScanResult(land[land_i[kept]], radius[kept], cells, flat_obs[chosen],
                      flat_exp[chosen], flat_llr[chosen], p_all[chosen], null_max,
                      float(flat_llr.max()) if flat_llr.size else 0.0, ("disc",) * len(kept))


def assert_same_result(new: ScanResult, old: ScanResult) -> None:
    for name in ("centre", "radius_m", "events", "expected", "llr", "p_value", "null_max"):
        a, b = getattr(new, name), getattr(old, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert new.max_llr == old.max_llr
    assert new.window == old.window
    assert len(new.cells) == len(old.cells)
    for a, b in zip(new.cells, old.cells):
        np.testing.assert_array_equal(a, b)


def disc_inputs(counts, population, cell_m=300, radii=RADII, min_events=10):
    land = np.flatnonzero(population.ravel() > 0)
    conv = scan.DiscConvolver(population.shape, cell_m, radii)
    total = float(counts.sum())
    expected = total * conv(population[None] / population.sum(), land)[0]
    observed = np.rint(conv(counts[None], land)[0])
    llr = poisson_llr(observed, expected, total, min_events)
    return llr, observed, expected, land, conv


def tied_grid(seed: int):
    """A small land of equal populations (a few off-land cells) with the same blob of events
    copied at several places, so many windows tie on LLR, size and centre count."""
    rng = np.random.default_rng(seed)
    population = np.ones((30, 40))
    population[rng.integers(0, 30, 40), rng.integers(0, 40, 40)] = 0
    counts = rng.poisson(0.3, population.shape).astype(float)
    blob = np.array([[0, 3, 0], [3, 6, 3], [0, 3, 0]], float)
    for r, c in ((5, 5), (5, 20), (20, 10), (22, 30), (12, 33)):
        population[r - 1:r + 2, c - 1:c + 2] = 1
        counts[r - 1:r + 2, c - 1:c + 2] = blob
    return counts * (population > 0), population


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_disc_report_on_tied_grids_is_the_previous_one(seed):
    counts, population = tied_grid(seed)
    llr, observed, expected, land, conv = disc_inputs(counts, population, radii=[300, 600, 900])
    own = counts.ravel()[land]
    rounded = np.round(llr[llr > 0], 8)
    assert len(rounded) > len(np.unique(rounded))  # there are ties to break
    rng = np.random.default_rng(seed)
    for null_max in (np.full(99, 0.5), rng.uniform(0, llr.max(), 99)):
        new = scan.report_windows((llr, observed, expected), None, null_max, land, own, conv,
                                  None, 0.05)
        old = reference_report(llr, observed, expected, null_max, land, own, conv, 0.05)
        assert len(old.llr) >= 2
        assert_same_result(new, old)


@pytest.mark.parametrize("family, seed", [("micro_places", 1), ("overdispersed", 2),
                                          ("corridors", 3), ("near_repeat", 4), (None, 5)])
def test_the_disc_report_on_the_west_yorkshire_grid_is_the_previous_one(family, seed):
    grid = analysis_grid(300)
    events = (null_events(3000, seed) if family is None
              else family_events(family, 4000, seed=seed))
    cell = grid.cell_index(events.geometry.x.to_numpy(), events.geometry.y.to_numpy())
    counts = grid.counts(cell)
    llr, observed, expected, land, conv = disc_inputs(counts, grid.population)
    null_max = np.random.default_rng(seed).uniform(8, 14, 99)
    own = counts.ravel()[land]
    new = scan.report_windows((llr, observed, expected), None, null_max, land, own, conv,
                              None, 0.05)
    old = reference_report(llr, observed, expected, null_max, land, own, conv, 0.05)
    assert family is None or len(old.llr) > 0
    assert_same_result(new, old)


def test_discs_only_model_fits_are_those_of_the_previous_report(monkeypatch):
    """``HotspotModel(windows="discs")``: the fit through the one report equals the fit with
    the previous discs-only report put back, on several families and seeds."""
    joint = scan.report_windows

    def previous(discs, areal, null_max, land, own, conv, areas, alpha, overlap="none"):
        assert areal is None and areas is None and overlap == "none"
        return reference_report(*discs, null_max, land, own, conv, alpha)

    for family, seed in (("micro_places", 11), ("overdispersed", 12), ("moving", 13)):
        events = family_events(family, 3000, seed=seed)
        fits = []
        for report in (joint, previous):
            monkeypatch.setattr(scan, "report_windows", report)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OutsideAreaWarning)
                fits.append(HotspotModel(random_state=seed, cross_feed=False, ranking=None,
                                         windows="discs").fit(events))
        new, old = fits
        assert len(old.hotspots_) > 0
        assert new.hotspots_.drop(columns="geometry").equals(old.hotspots_.drop(columns="geometry"))
        assert new.hotspots_.geometry.geom_equals_exact(old.hotspots_.geometry, 0).all()
        np.testing.assert_array_equal(new.cell_labels_, old.cell_labels_)
        np.testing.assert_array_equal(new.cell_scores_, old.cell_scores_)
        np.testing.assert_array_equal(new.labels_, old.labels_)
