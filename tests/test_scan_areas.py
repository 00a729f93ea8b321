"""The scan's areal windows (``models.scan_areas``): each LSOA's cells and each LSOA with its
neighbours, scored beside the discs in the same Monte-Carlo maximum (docs/hotspots.md, 3c)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.utils._param_validation import InvalidParameterError

from geo.areas import lsoas_bng
from geo.geomask import snap_to_grid
from models import hotspots, scan, scan_areas
from models._grid import analysis_grid
from models.hotspots import HotspotModel, OutsideAreaWarning
from tests.test_hotspots import null_events

RADII = np.arange(300, 1500 + 1e-6, 300)


@pytest.fixture(scope="module")
def grid():
    return analysis_grid(300)


@pytest.fixture(scope="module")
def windows(grid):
    return scan_areas.area_windows(grid)


def land_of(grid):
    return np.flatnonzero(grid.population.ravel() > 0)


def test_an_lsoa_window_is_the_cells_whose_centre_lies_in_it(grid, windows):
    land, lsoas = land_of(grid), lsoas_bng()
    alone = np.flatnonzero(windows.kind == 0)
    rng = np.random.default_rng(0)
    for w in rng.choice(alone, 25, replace=False):
        polygon = lsoas.geometry.iloc[windows.centre_unit[w]]
        cells = land[windows.cells(w)]
        x, y = grid.centres(cells)
        assert len(cells) and shapely.contains_xy(polygon, x, y).all()
        # Every land cell whose centre lies in it is in the window, but for a centre inside
        # two overlapping generalised outlines, which went to the LSOA listed first.
        inside = np.flatnonzero(shapely.contains_xy(polygon, *grid.centres(land)))
        others = np.setdiff1d(inside, windows.cells(w))
        first = lsoas.geometry.iloc[:windows.centre_unit[w]]
        for position in others:
            assert first.contains(shapely.Point(*grid.centres(land[position]))).any()


def test_a_neighbourhood_window_is_the_lsoa_and_the_lsoas_touching_it(grid, windows):
    lsoas = lsoas_bng()
    grown = np.flatnonzero(windows.kind == 1)
    for w in np.random.default_rng(1).choice(grown, 15, replace=False):
        centre = windows.centre_unit[w]
        members = set(windows.members.indices[windows.members.indptr[w]:
                                              windows.members.indptr[w + 1]])
        touching = set(np.flatnonzero(lsoas.geometry.intersects(lsoas.geometry.iloc[centre])))
        with_cells = set(np.flatnonzero(np.diff(windows.units.indptr) > 0))
        assert members == touching & with_cells
        assert centre in members and len(members) >= 2


def test_windows_are_distinct_and_cover_every_labelled_cell_once(windows):
    keys = {windows.window_cells.indices[a:b].tobytes()
            for a, b in zip(windows.window_cells.indptr[:-1], windows.window_cells.indptr[1:])}
    assert len(keys) == windows.n_windows
    assert (np.diff(windows.units.indptr) >= 0).all()
    assert len(np.unique(windows.units.indices)) == windows.units.nnz  # a cell in one LSOA
    assert windows.n_windows > 2000  # ~1,400 LSOAs, alone and with neighbours


def test_the_windows_are_read_back_from_disk_the_same(grid, windows, monkeypatch):
    """A fresh process reads the cell labels and adjacency (kept beside the stored grids)."""
    monkeypatch.setattr(scan_areas, "_LABELS", {})
    monkeypatch.setattr(scan_areas, "_WINDOWS", {})
    monkeypatch.setattr(scan_areas, "_build", lambda *a: pytest.fail("built, not read"))
    again = scan_areas.area_windows(grid)
    assert (again.window_cells != windows.window_cells).nnz == 0
    np.testing.assert_array_equal(again.kind, windows.kind)


def whole_lsoa_events(grid, windows, extra: int, seed: int):
    """Null events (3,000) plus ``extra`` events spread evenly over the analysis cells of one
    LSOA (the cells whose centre lies in it: its window), at their centres: a rate raised over
    exactly a whole LSOA. The LSOA is the least compact (area over its convex hull's) of those
    holding 15-40 cells, the shape discs fit worst."""
    lsoas = lsoas_bng()
    alone = np.flatnonzero(windows.kind == 0)
    sizes = windows.cell_counts()[alone]
    fit = alone[(sizes >= 15) & (sizes <= 40)]
    polygons = lsoas.geometry.to_numpy()[windows.centre_unit[fit]]
    compact = shapely.area(polygons) / shapely.area(shapely.convex_hull(polygons))
    chosen = fit[np.argmin(compact)]
    cells = land_of(grid)[windows.cells(chosen)]
    x, y = grid.centres(cells[np.random.default_rng(seed).integers(0, len(cells), extra)])
    events = null_events(3000, seed)
    planted = events.iloc[:extra].copy()
    planted["geometry"] = shapely.points(*snap_to_grid(x, y, 100))
    return pd.concat([events, planted], ignore_index=True), chosen


def scanned(grid, events, areas, seed=0):
    cell = grid.cell_index(events.geometry.x.to_numpy(), events.geometry.y.to_numpy())
    return scan.poisson_scan(grid.counts(cell), grid.population, 300, RADII, min_events=10,
                             n_simulations=99, alpha=0.05, rng=np.random.default_rng(seed),
                             areas=areas)


def test_a_whole_lsoa_cluster_is_found_as_an_areal_window_against_areal_maxima(grid, windows):
    events, chosen = whole_lsoa_events(grid, windows, 45, seed=3)
    both = scanned(grid, events, windows)
    discs = scanned(grid, events, None)
    # The null maxima include the areal windows: the same data sets, each maximum at least the
    # discs' one, and larger in some.
    assert (both.null_max >= discs.null_max).all() and (both.null_max > discs.null_max).any()
    mine = set(grid.population.ravel().nonzero()[0][windows.cells(chosen)])
    best = 0  # the strongest reported window is an areal one holding the LSOA
    assert both.window[best] in scan_areas.KINDS
    assert mine <= set(both.cells[best])
    assert both.p_value[best] < 0.05
    rank = (1 + (both.null_max >= both.llr[best]).sum()) / 100
    assert both.p_value[best] == pytest.approx(rank)
    # Discs fit the shape worse: their best window's LLR is below the areal window's.
    assert discs.llr.max() < both.llr[best]
    # Reported windows never share a cell.
    cells = np.concatenate(both.cells)
    assert len(cells) == len(np.unique(cells))


def test_the_model_reports_the_lsoa_by_default_and_discs_on_request(grid, windows):
    events, chosen = whole_lsoa_events(grid, windows, 45, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        new = HotspotModel(random_state=0, cross_feed=False, ranking=None).fit(events)
        old = HotspotModel(random_state=0, cross_feed=False, ranking=None,
                           windows="discs").fit(events)
    assert new.hotspots_["window"].iloc[0] in scan_areas.KINDS
    assert np.isnan(new.hotspots_["radius_m"].iloc[0])
    assert (old.hotspots_["window"] == "disc").all()
    assert (old.hotspots_["radius_m"] > 0).all()
    assert new.hotspots_["llr"].iloc[0] > old.hotspots_["llr"].iloc[0]


def test_the_joint_report_without_areal_candidates_is_the_disc_report(grid, windows):
    """With no areal window significant, the report keeps the discs it keeps with no areal
    window at all (and those are the previous discs-only report's: tests/test_scan_report.py)."""
    events, _ = whole_lsoa_events(grid, windows, 45, seed=4)
    result = scanned(grid, events, None)
    land = land_of(grid)
    cell = grid.cell_index(events.geometry.x.to_numpy(), events.geometry.y.to_numpy())
    counts = grid.counts(cell)
    conv = scan.DiscConvolver(grid.shape, 300, RADII)
    expected = counts.sum() * conv(grid.population[None] / grid.population.sum(), land)[0]
    observed = np.rint(conv(counts[None], land)[0])
    llr = scan.poisson_llr(observed, expected, counts.sum(), 10)
    zeros = np.zeros(windows.n_windows)
    joint = scan.report_windows((llr, observed, expected), (zeros, zeros, zeros + 1),
                                result.null_max, land, counts.ravel()[land], conv, windows, 0.05)
    old = scan.report_windows((llr, observed, expected), None, result.null_max, land,
                              counts.ravel()[land], conv, None, 0.05)
    np.testing.assert_array_equal(joint.llr, old.llr)
    np.testing.assert_array_equal(joint.centre, old.centre)
    for a, b in zip(joint.cells, old.cells, strict=True):
        np.testing.assert_array_equal(np.sort(a), np.sort(b))


def test_windows_is_a_validated_parameter():
    assert HotspotModel().get_params()["windows"] == "discs+areas"
    with pytest.raises(InvalidParameterError, match="windows"):
        HotspotModel(windows="hexagons").fit(null_events(50, 1))


def test_the_model_leaves_out_areal_windows_larger_than_its_largest_disc(grid, windows):
    """A large rural LSOA (or one with its neighbours) would spend much of the area budget on
    one hotspot: the model's areal windows hold at most the largest disc's cells (81 at
    300 m and 1.5 km)."""
    model = HotspotModel()
    capped = hotspots._area_windows(grid, model)
    assert hotspots._largest_disc(grid, model) == 81
    assert capped.cell_counts().max() <= 81 < windows.cell_counts().max()
    assert capped.n_windows == (windows.cell_counts() <= 81).sum()
    assert hotspots._area_windows(grid, HotspotModel(windows="discs")) is None
