"""Areal windows counted on the 100 m geomask cells (``HotspotModel(area_cell_m=100)``,
``models.scan_areas_fine``; docs/hotspots.md, 3g)."""
from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.areas import lsoas_bng
from geo.crs import BNG
from models import scan_areas, scan_areas_fine
from models._grid import analysis_grid
from models.hotspots import HotspotModel, OutsideAreaWarning
from models.scan import DiscConvolver
from models.scan_null import max_llr
from tests.test_hotspots import null_events

RADII = np.arange(300, 1500 + 1e-6, 300)


@pytest.fixture(scope="module")
def grid():
    return analysis_grid(300)


@pytest.fixture(scope="module")
def fine(grid):
    return scan_areas_fine.fine_areas(grid, None, max_cells=None, kinds=("lsoa",))


def events_at(x, y) -> gpd.GeoDataFrame:
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(x)) % 600, unit="D")
    return gpd.GeoDataFrame({"date": dates, "feed": "nrm"},
                            geometry=gpd.points_from_xy(x, y), crs=BNG)


def fit(events, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        return HotspotModel(random_state=3, cross_feed=False, ranking=None, **params).fit(events)


def test_none_is_the_model_before_bit_for_bit():
    events = null_events(3000, seed=5)
    # a planted cluster so that some hotspot is reported
    rng = np.random.default_rng(5)
    x = 414_050 + 100 * rng.integers(0, 6, 150)
    y = 433_050 + 100 * rng.integers(0, 6, 150)
    events = pd.concat([events, events_at(x, y)], ignore_index=True)
    omitted, none = fit(events), fit(events, area_cell_m=None)
    assert len(omitted.hotspots_) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(omitted.hotspots_.drop(columns="geometry")),
                                  pd.DataFrame(none.hotspots_.drop(columns="geometry")))
    assert omitted.hotspots_.geometry.geom_equals_exact(none.hotspots_.geometry, 0).all()
    np.testing.assert_array_equal(omitted.cell_scores_, none.cell_scores_)
    np.testing.assert_array_equal(omitted.labels_, none.labels_)
    np.testing.assert_array_equal(omitted.grid_.population, none.grid_.population)


def test_an_lsoa_window_holds_exactly_the_events_whose_100m_cell_centre_is_in_it(grid, fine):
    lsoas = lsoas_bng()
    rng = np.random.default_rng(0)
    codes = list(fine.windows.codes)
    small = lsoas.geometry.area.to_numpy().argsort()[:10]  # the smallest LSOAs, and others
    chosen = np.r_[small, rng.choice(len(lsoas), 20, replace=False)]
    for unit in chosen:
        polygon = lsoas.geometry.iloc[unit]
        xmin, ymin, xmax, ymax = polygon.buffer(300).bounds
        # events geomasked as stored: 100 m cell centres, around and inside the LSOA
        x = (np.floor(rng.uniform(xmin, xmax, 400) / 100) + 0.5) * 100
        y = (np.floor(rng.uniform(ymin, ymax, 400) / 100) + 0.5) * 100
        counts = fine.windows.units @ fine.unit_counts(x, y)
        inside = shapely.contains_xy(polygon, x, y)
        # a centre inside two overlapping generalised outlines goes to the LSOA listed first
        earlier = lsoas.geometry.iloc[:unit]
        if inside.any() and len(earlier):
            taken = np.array([earlier.contains(shapely.Point(a, b)).any()
                              for a, b in zip(x[inside], y[inside])])
            expected = int(inside.sum() - taken.sum())
        else:
            expected = int(inside.sum())
        assert counts[codes.index(lsoas["code"].iloc[unit])] == expected


def test_an_event_in_a_small_lsoa_is_counted_in_its_own_window_only_with_the_option(grid, fine):
    coarse = scan_areas.area_windows(grid, None, max_cells=None, kinds=("lsoa",))
    land = np.flatnonzero(grid.population.ravel() > 0)
    units = fine.windows.units
    coarse_labels = np.full(len(land), -1)
    coarse_labels[coarse.units.indices] = np.repeat(np.arange(coarse.units.shape[0]),
                                                    np.diff(coarse.units.indptr))
    found = None
    for unit in np.argsort(np.diff(units.indptr))[::-1]:  # any LSOA with 100 m cells
        mine = units.indices[units.indptr[unit]:units.indptr[unit + 1]]
        elsewhere = mine[(fine.fine_cell[mine] >= 0)
                         & (coarse_labels[fine.parent[mine]] != unit)]
        if len(mine) <= 9 and len(elsewhere):  # small: at most a 300 m cell's worth
            found = unit, elsewhere[0]
            break
    assert found is not None
    unit, sampling_unit = found
    x, y = fine.fine.centres(np.array([fine.fine_cell[sampling_unit]]))
    # with the option: in its own LSOA's window
    assert (fine.windows.units @ fine.unit_counts(x, y))[unit] == 1
    # without: its 300 m cell's centre lies in another LSOA
    cell = grid.cell_index(x, y)
    land_counts = (land == cell[0]).astype(float)
    assert (coarse.units @ land_counts)[unit] == 0
    assert coarse_labels[np.flatnonzero(land == cell[0])[0]] != unit


def test_discs_and_areal_windows_share_one_null_draw(grid):
    areas = scan_areas_fine.fine_areas(grid, None, max_cells=81)
    population = areas.coarse_residents
    land = np.flatnonzero(population.ravel() > 0)
    conv = DiscConvolver(population.shape, grid.cell_m, RADII)
    total, n = 2000.0, 12
    expected = total * conv(population[None] / population.sum(), land)[0]
    weights = areas.unit_weights(population)
    area_expected = total * areas.windows.sums(weights[None] / weights.sum())[0]
    scorer = areas.windows.null_scorer(area_expected, total, 10)
    args = (population, land, total, conv, expected, 10, n)
    discs, areal = scan_areas_fine.shared_null(*args, np.random.default_rng(7), areas.parent,
                                               weights, scorer)
    alone, nothing = scan_areas_fine.shared_null(*args, np.random.default_rng(7),
                                                 areas.parent, weights, None)
    np.testing.assert_array_equal(discs, alone)  # the discs' part is a discs-only scan's
    assert not nothing.any() and (areal > 0).all()
    # the same draw, by hand: each event on a 100 m cell, counted in its 300 m cell (discs)
    # and in its LSOA (areal windows)
    rng, cumulative = np.random.default_rng(7), np.cumsum(weights / weights.sum())
    floor = np.maximum(expected, 9.5)
    for b in range(n):
        unit = np.searchsorted(cumulative, rng.random(int(total)) * cumulative[-1], "right")
        unit = np.minimum(unit, len(cumulative) - 1)
        cells = np.zeros(population.size)
        cells[land] = np.bincount(areas.parent[unit], minlength=len(land))
        sums = conv(cells.reshape(1, *population.shape), land)
        assert max_llr(sums, floor, expected, total)[0] == pytest.approx(discs[b], abs=1e-9)
        assert scorer.from_cells([unit])[0] == pytest.approx(areal[b], abs=1e-9)


def test_the_option_reports_areal_windows_with_their_own_counts():
    events = null_events(3000, seed=6)
    rng = np.random.default_rng(6)
    lsoa = lsoas_bng().geometry.iloc[100]
    x, y = [], []
    while len(x) < 60:  # a raised LSOA, points geomasked to 100 m cell centres
        px, py = rng.uniform(*lsoa.bounds[::2]), rng.uniform(*lsoa.bounds[1::2])
        if lsoa.contains(shapely.Point(px, py)):
            x.append((np.floor(px / 100) + 0.5) * 100)
            y.append((np.floor(py / 100) + 0.5) * 100)
    model = fit(pd.concat([events, events_at(np.array(x), np.array(y))], ignore_index=True),
                area_cell_m=100)
    assert len(model.hotspots_)
    assert (model.hotspots_["window"] != "disc").any()
    for _, row in model.hotspots_.iterrows():
        labelled = int((model.labels_ == row["hotspot_id"]).sum())
        # labels (and the budget and polygon) use the 300 m cells an areal window occupies;
        # its events are those of its own 100 m cells, a subset; a disc's are its cells'
        if row["window"] == "disc":
            assert row["events"] == labelled
        else:
            assert row["events"] <= labelled
    assert np.isfinite(model.hotspots_["relative_risk"]).all()


@pytest.mark.parametrize("params", [{"area_cell_m": 150}, {"area_cell_m": 300},
                                    {"area_cell_m": 300, "windows": "discs"},
                                    {"area_cell_m": 100, "secondary": "iterative"}])
def test_a_bad_area_cell_is_a_clear_error(params):
    with pytest.raises(ValueError, match="area_cell_m"):
        fit(null_events(200, seed=1), **params)


@pytest.mark.parametrize("total, radii", [(60.0, [1.0, 2.0]),  # few events: uniforms
                                          (4000.0, [1.0, 2.0]),  # many: a multinomial
                                          (4000.0, [1.0, 13.0])])  # large discs: by FFT
def test_the_shared_null_is_one_draw_on_every_path(total, radii):
    """A 30 x 30 grid of unit cells, each split into 4 sampling units, the units in 9 areas:
    each data set's disc maximum is the discs' maximum of its units' counts summed by cell,
    and its areal maximum that of the same units counted by area."""
    side, split = 30, 4
    rng = np.random.default_rng(0)
    population = rng.uniform(1, 3, (side, side))
    land = np.arange(side * side)
    parent = np.repeat(land, split)
    weights = np.repeat(population.ravel() / split, split) * rng.uniform(0.5, 1.5, len(parent))
    population = np.bincount(parent, weights=weights).reshape(side, side)
    rows, cols = np.divmod(parent, side)
    area = (rows // 10) * 3 + cols // 10
    pairs = np.array([(a, b) for a in range(9) for b in range(9)
                      if abs(a // 3 - b // 3) <= 1 and abs(a % 3 - b % 3) <= 1])
    windows = scan_areas.build_windows(area, pairs, np.arange(9).astype(str).astype(object))
    conv = DiscConvolver(population.shape, 1.0, radii)
    assert conv.direct == (max(radii) < 13)
    expected = total * conv(population[None] / population.sum(), land)[0]
    area_expected = total * windows.sums(weights[None] / weights.sum())[0]
    scorer = windows.null_scorer(area_expected, total, 5)
    n = 9
    args = (population, land, total, conv, expected, 5, n)
    discs, areal = scan_areas_fine.shared_null(*args, np.random.default_rng(3), parent,
                                               weights, scorer)
    alone, _ = scan_areas_fine.shared_null(*args, np.random.default_rng(3), parent, weights)
    np.testing.assert_array_equal(discs, alone)
    draws, cumulative = np.random.default_rng(3), np.cumsum(weights / weights.sum())
    floor = np.maximum(expected, 4.5)
    for b in range(n):
        if total < len(parent):
            unit = np.searchsorted(cumulative, draws.random(int(total)) * cumulative[-1],
                                   "right")
            counts = np.bincount(np.minimum(unit, len(parent) - 1), minlength=len(parent))
        else:
            counts = draws.multinomial(int(total), np.diff(cumulative, prepend=0.0)
                                       / cumulative[-1])
        cells = np.bincount(parent, weights=counts, minlength=len(land)).astype(float)
        sums = conv(cells.reshape(1, side, side), land)
        assert max_llr(sums, floor, expected, total)[0] == pytest.approx(discs[b], abs=1e-6)
        assert scorer(counts[None].astype(float))[0] == pytest.approx(areal[b], abs=1e-9)
    assert (areal > 0).any() and (discs > 0).any()
