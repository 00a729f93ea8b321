"""The Poisson scan's Monte-Carlo null, made faster (16-bit sums over flat frames, a bucket
table for the draws, windows picked by thresholds): every simulated maximum,
and so every p-value, hotspot and cell score, is the number the previous code gave for a seed.

The previous code (commit 9ac2d15) is kept below as the reference, verbatim but for names.
"""
from __future__ import annotations

import numpy as np
import pytest

from data.synthetic_families import family_events
from models import scan, scan_null
from models._grid import analysis_grid
from models.hotspots import HotspotModel
from models.scan_areas import area_windows

RADII = np.arange(300, 1500 + 1e-6, 300)


# -- the previous null, the reference --------------------------------------------------------

def reference_null_maxima(population, land, total, conv, expected, min_events, n_simulations,
                          rng, areal=None):
    """The previous null; ``areal`` (added with the areal windows, ``models.scan_areas``) takes
    each data set's land-cell counts to its largest areal LLR, and the maximum is the larger."""
    cumulative = np.cumsum(population.ravel()[land] / population.sum())
    n_cells, dtype = population.size, conv.count_dtype(total)
    single = dtype != np.float64
    floor = np.maximum(expected, min_events - 0.5).astype(np.float32 if single else float)
    maxima = np.zeros(n_simulations)
    if total < min_events or n_simulations == 0:
        return maxima
    for start in range(0, n_simulations, 8):
        size = min(8, n_simulations - start)
        grids = np.zeros((size, n_cells), dtype)
        for b in range(size):
            grids[b, land] = reference_spread(rng, int(total), cumulative)
        sums = conv(grids.reshape(size, *population.shape), land, single=single,
                    dtype=dtype if conv.direct else None)
        maxima[start:start + size] = reference_max_llr(sums, floor, expected, total)
        if areal is not None:
            maxima[start:start + size] = np.maximum(maxima[start:start + size],
                                                    areal(grids[:, land].astype(float)))
    return maxima


def reference_max_llr(sums, floor, expected, total):
    b, r, i = np.unravel_index(np.flatnonzero(sums > floor), sums.shape)
    best = np.zeros(len(sums))
    if not len(b):
        return best
    c = np.rint(sums[b, r, i]).astype(float)
    e = expected[r, i]
    bound = (c - e) ** 2 * total / (e * np.maximum(total - e, 1e-12))
    top = np.zeros(len(sums))
    np.maximum.at(top, b, bound)
    lead = np.flatnonzero(bound >= top[b])
    np.maximum.at(best, b[lead], scan.poisson_llr(c[lead], e[lead], total, 0))
    keep = np.flatnonzero(bound > best[b] * (1 - 1e-9))
    if len(keep):
        np.maximum.at(best, b[keep], scan.poisson_llr(c[keep], e[keep], total, 0))
    return best


def reference_spread(rng, total, cumulative):
    n = len(cumulative)
    if total < n:
        draws = rng.random(total) * cumulative[-1]
        draws.sort()
        cell = np.searchsorted(cumulative, draws, side="right")
        return np.bincount(np.minimum(cell, n - 1), minlength=n)
    return rng.multinomial(total, np.diff(cumulative, prepend=0.0) / cumulative[-1])


# -- the null alone ----------------------------------------------------------------------------

def null_inputs(population, total, min_events=10):
    land = np.flatnonzero(population.ravel() > 0)
    conv = scan.DiscConvolver(population.shape, 300, RADII)
    expected = total * conv(population[None] / population.sum(), land)[0]
    return land, conv, expected, min_events


def both(population, total, n_simulations=39, seed=0, min_events=10, areas=False):
    """The null maxima and the reference's; ``areas``: with the areal windows' maxima too."""
    land, conv, expected, min_events = null_inputs(population, total, min_events)
    args = (population, land, float(total), conv, expected, min_events, n_simulations)
    areal = None
    if areas:
        windows = area_windows(analysis_grid(300))
        area_expected = total * windows.sums(population.ravel()[land][None]
                                             / population.sum())[0]
        areal = windows.null_scorer(area_expected, float(total), min_events)
    new = scan_null.null_maxima(*args, np.random.default_rng(seed), areal)
    old = reference_null_maxima(*args, np.random.default_rng(seed), areal=areal)
    return new, old


@pytest.fixture(scope="module")
def residents():
    return analysis_grid(300).population


@pytest.fixture(scope="module")
def concentrated(residents):
    """Residents times heavy-tailed multipliers, a few cells near-empty: an exposure-like
    denominator (sites hold most of the mass), where cell boundaries crowd the draws' buckets."""
    rng = np.random.default_rng(7)
    land = residents > 0
    weights = np.where(land, residents * rng.pareto(0.8, residents.shape) + 1e-12, 0.0)
    weights[land & (rng.random(residents.shape) < 0.05)] = 1e-12
    return weights


@pytest.mark.parametrize("total", [5, 12, 150, 3000, 23_000, 30_000, 65_534])
def test_the_null_maxima_are_the_previous_codes(residents, total):
    """Below min_events (all zero), about min_events (most zero), few events (each draw's cell),
    more events than cells (one multinomial), up to the largest 16-bit total."""
    new, old = both(residents, total, n_simulations=19 if total > 20_000 else 39)
    np.testing.assert_array_equal(new, old)
    assert total >= 10 or (new == 0).all()
    assert total < 3000 or (new > 0).all()


@pytest.mark.parametrize("total", [12, 3000, 65_534, 400_000])
def test_the_null_maxima_with_areal_windows_are_the_references(residents, total):
    """With areal windows every maximum is the larger of the discs' (found as before, the
    level pruning only the discs) and the areal windows' (scored in full), on the same data
    sets, in uint16, float32 and (above 2**16 - 1) the other path alike."""
    new, old = both(residents, total, n_simulations=9 if total > 20_000 else 39, areas=True)
    discs, _ = both(residents, total, n_simulations=9 if total > 20_000 else 39)
    np.testing.assert_array_equal(new, old)
    assert (new >= discs).all()
    assert total != 3000 or (new > discs).any()  # there the areal windows win some maxima


@pytest.mark.parametrize("share", [0.0001, 50.0])
def test_any_level_gives_the_same_maxima_with_areal_windows(residents, monkeypatch, share):
    monkeypatch.setattr(scan_null, "LEVEL_SHARE", share)
    new, old = both(residents, 1500, n_simulations=29, seed=4, min_events=2, areas=True)
    np.testing.assert_array_equal(new, old)


@pytest.mark.parametrize("total", [65_535, 400_000])
def test_float32_sums_give_the_previous_maxima(residents, total):
    """From 2**16 - 1 events on, the sums are float32 (exact below 2**24), as before."""
    new, old = both(residents, total, n_simulations=9)
    np.testing.assert_array_equal(new, old)
    assert (new > 0).all()


@pytest.mark.parametrize("total", [400, 6000])
def test_an_uneven_denominator_gives_the_previous_maxima(concentrated, total):
    new, old = both(concentrated, total)
    np.testing.assert_array_equal(new, old)


@pytest.mark.parametrize("share", [0.0001, 0.7, 50.0])
def test_any_level_gives_the_same_maxima(residents, monkeypatch, share):
    """The level only decides which windows are looked at: a level far below every maximum
    looks at nearly every window, one far above makes every data set be scored again in full;
    both give the same maxima. min_events=2 leaves many windows above the floor."""
    monkeypatch.setattr(scan_null, "LEVEL_SHARE", share)
    new, old = both(residents, 1500, n_simulations=29, seed=4, min_events=2)
    np.testing.assert_array_equal(new, old)


def test_the_cell_of_every_draw_is_the_binary_searchs():
    """The bucket table gives each draw the cell ``searchsorted(..., side="right")`` gives,
    for draws on a cell boundary, a hair either side of one, and at the very top."""
    rng = np.random.default_rng(5)
    cumulative = np.cumsum(np.r_[rng.random(300), np.full(50, 1e-12), rng.random(300) * 1e-6])
    sampler = scan_null.CellSampler(cumulative, np.arange(len(cumulative)))
    draws = np.concatenate([cumulative, np.nextafter(cumulative, 0), np.nextafter(cumulative, 9),
                            rng.random(5000) * cumulative[-1], [0.0]])
    draws = draws[draws < cumulative[-1]]
    frame = np.zeros(len(cumulative), np.uint16)
    sampler.spread(draws, frame)
    cells = np.minimum(np.searchsorted(cumulative, draws, side="right"), len(cumulative) - 1)
    np.testing.assert_array_equal(frame, np.bincount(cells, minlength=len(cumulative)))


# -- the fitted model --------------------------------------------------------------------------

def fitted(X, **params):
    model = HotspotModel(random_state=11, **params).fit(X)
    frames = [model.hotspots_, *model.feed_hotspots_.values()]
    return model, frames


@pytest.mark.parametrize("family, n_events", [("micro_places", 3000), ("moving", 400)])
def test_a_fit_is_the_fit_with_the_previous_null(monkeypatch, family, n_events):
    """Hotspots (LLRs, p-values, events), the cells' scores and labels, each feed's hotspots
    and the ranking, with the new null and with the previous one."""
    X = family_events(family, n_events, seed=2)
    X["feed"] = np.where(np.arange(len(X)) % 3 == 0, "nrm", "mandevilla")
    new, new_frames = fitted(X)
    with monkeypatch.context() as patch:
        patch.setattr(scan, "null_maxima", lambda *args: reference_null_maxima(
            *args[:8], areal=args[8] if len(args) > 8 else None))
        old, old_frames = fitted(X)
    assert len(old.hotspots_) and len(old.feed_hotspots_) == 2
    for frame, before in zip(new_frames, old_frames, strict=True):
        assert frame.drop(columns="geometry").equals(before.drop(columns="geometry"))
        assert frame.geometry.geom_equals_exact(before.geometry, 0).all()
    np.testing.assert_array_equal(new.cell_scores_, old.cell_scores_)
    np.testing.assert_array_equal(new.labels_, old.labels_)
    np.testing.assert_array_equal(new.ranker_.scores_, old.ranker_.scores_)
    assert (new.hotspots_["p_value"] < 0.05).all()

