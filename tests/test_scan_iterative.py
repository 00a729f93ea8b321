"""The iterative scan for secondary hotspots (``models.scan_iterative``,
``HotspotModel(secondary="iterative")``; docs/hotspots.md, 3f)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from data.synthetic_families import family_events
from models import scan_areas
from models._events import gridded_events
from models.hotspots import HotspotModel, OutsideAreaWarning
from models.scan import poisson_scan
from models.scan_iterative import iterative_scan
from tests.test_hotspots import null_events

RADII = np.arange(300, 900 + 1e-6, 300)
SCAN = {"min_events": 10, "n_simulations": 99, "alpha": 0.05}


def two_clusters(strong: int, weak: int):
    """A 30 x 30 grid of equal population, 3 events a cell, ``strong`` more events spread
    over a 3 x 3 block and ``weak`` more over a 2 x 2 block far from it."""
    counts = np.full((30, 30), 3.0)
    counts[5:8, 5:8] += strong / 9
    counts[22:24, 22:24] += weak / 4
    return np.rint(counts), np.ones((30, 30))


def block(rows: slice, cols: slice) -> set:
    return {r * 30 + c for r in range(rows.start, rows.stop) for c in range(cols.start, cols.stop)}


def test_a_weaker_cluster_is_found_iteratively_but_not_conservatively():
    counts, population = two_clusters(strong=1800, weak=36)
    conservative = poisson_scan(counts, population, 300, RADII, rng=np.random.default_rng(0),
                                **SCAN)
    iterative = iterative_scan(counts, population, 300, RADII, rng=np.random.default_rng(0),
                               **SCAN)
    weak = block(slice(22, 24), slice(22, 24))
    assert len(conservative.cells) == 1  # the strong cluster's excess inflates the weak one's
    assert not weak & set(conservative.cells[0])  # expected count: it is not significant
    assert len(iterative.cells) == 2
    assert set(iterative.cells[0]) == set(conservative.cells[0])  # the same first step
    assert weak & set(iterative.cells[1])
    assert iterative.p_value[1] < SCAN["alpha"]
    # Its test is on the data without the strong cluster: fewer events, so a smaller expected
    # count than the conservative scan gives the same window.
    rest = counts.sum() - counts.ravel()[iterative.cells[0]].sum()
    assert iterative.expected[1] == pytest.approx(rest * len(iterative.cells[1]) / (900 - len(
        iterative.cells[0])))


def test_the_first_step_and_its_null_are_the_conservative_scan():
    counts, population = two_clusters(strong=900, weak=20)
    conservative = poisson_scan(counts, population, 300, RADII, rng=np.random.default_rng(3),
                                **SCAN)
    iterative = iterative_scan(counts, population, 300, RADII, rng=np.random.default_rng(3),
                               **SCAN)
    np.testing.assert_array_equal(iterative.null_max, conservative.null_max)
    assert iterative.max_llr == conservative.max_llr
    assert iterative.llr[0] == conservative.llr[0]
    np.testing.assert_array_equal(iterative.cells[0], conservative.cells[0])


def test_it_stops_at_the_area_budget_and_at_the_window_cap():
    counts, population = two_clusters(strong=900, weak=60)
    full = iterative_scan(counts, population, 300, RADII, rng=np.random.default_rng(0), **SCAN)
    assert len(full.cells) >= 2
    capped = iterative_scan(counts, population, 300, RADII, rng=np.random.default_rng(0),
                            max_windows=1, **SCAN)
    assert len(capped.cells) == 1
    budget = iterative_scan(counts, population, 300, RADII, rng=np.random.default_rng(0),
                            budget_cells=len(full.cells[0]), **SCAN)
    assert len(budget.cells) == 1


@pytest.fixture(scope="module")
def overdispersed_fit():
    events = family_events("overdispersed", 8000, seed=7, months=24)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        _, grid, cell = gridded_events(events, 300, None, OutsideAreaWarning)
    counts = grid.counts(cell)
    areas = scan_areas.area_windows(grid, max_cells=81)
    result = iterative_scan(counts, grid.population, grid.cell_m, np.arange(300, 1500 + 1e-6, 300),
                            rng=np.random.default_rng(7), areas=areas, max_windows=8, **SCAN)
    return counts, grid, result


def test_removed_cells_never_reappear(overdispersed_fit):
    counts, grid, result = overdispersed_fit
    assert len(result.cells) >= 3
    seen = np.zeros(counts.size, bool)
    for k, cells in enumerate(result.cells):
        assert not seen[cells].any(), f"window {k} holds a cell removed before it"
        assert (grid.population.ravel()[cells] > 0).all()
        # Its events are its own cells' events (a removed cell would add none, but be listed).
        assert result.events[k] == counts.ravel()[cells].sum()
        seen[cells] = True
    assert (result.p_value < SCAN["alpha"]).all()


def test_restricted_areal_windows_keep_only_the_remaining_cells():
    from models._grid import analysis_grid
    grid = analysis_grid(300)
    windows = scan_areas.area_windows(grid)
    n_land = windows.units.shape[1]
    keep = np.ones(n_land, bool)
    gone = windows.cells(0)
    keep[gone] = False
    restricted = windows.restrict(keep)
    assert restricted.units.shape[1] == keep.sum()
    values = np.random.default_rng(0).integers(0, 5, n_land).astype(float)
    values[gone] = 0  # what the restricted windows no longer see
    alive = np.diff(windows.window_cells[:, keep].tocsr().indptr) > 0
    np.testing.assert_allclose(restricted.sums(values[keep][None])[0],
                               windows.sums(values[None])[0][alive])
    assert not alive[0]  # window 0 lost all its cells: dropped
    assert restricted.n_windows == alive.sum() < windows.n_windows


def fit(events, seed, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        return HotspotModel(random_state=seed, cross_feed=False, ranking=None,
                            **options).fit(events)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_null_data_the_iterative_scan_finds_what_the_conservative_one_finds_first(seed):
    events = null_events(1500, seed)
    conservative = fit(events, seed)
    iterative = fit(events, seed, secondary="iterative")
    assert (len(iterative.hotspots_) == 0) == (len(conservative.hotspots_) == 0)
    if len(conservative.hotspots_):
        first = conservative.hotspots_.iloc[0]
        assert iterative.hotspots_["llr"].max() == pytest.approx(first["llr"])


def test_conservative_is_the_default_and_unchanged():
    events = family_events("corridors", 2000, seed=5, months=24)
    default = fit(events, 5)
    explicit = fit(events, 5, secondary="conservative")
    assert HotspotModel().secondary == "conservative"
    pd.testing.assert_frame_equal(default.hotspots_, explicit.hotspots_)
    np.testing.assert_array_equal(default.cell_scores_, explicit.cell_scores_)


def test_iterative_needs_no_overlap():
    events = null_events(300, 0)
    with pytest.raises(ValueError, match='overlap="none"'):
        fit(events, 0, secondary="iterative", overlap="centres")
