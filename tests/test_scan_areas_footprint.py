"""Which 300 m cells an areal window counted on 100 m cells occupies
(``HotspotModel(area_footprint=...)``, ``models.scan_areas_fine``; docs/hotspots.md, 3g and 3i):
``"any"`` the cells holding any of its 100 m cells, ``"centres"`` today's areal window cells."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from geo.areas import lsoas_bng
from models import scan_areas, scan_areas_fine
from models._grid import analysis_grid
from tests.test_hotspots import null_events
from tests.test_scan_areas_fine import events_at, fit


@pytest.fixture(scope="module")
def grid():
    return analysis_grid(300)


@pytest.fixture(scope="module")
def any_and_centres(grid):
    return (scan_areas_fine.fine_areas(grid, None, max_cells=None, footprint="any"),
            scan_areas_fine.fine_areas(grid, None, max_cells=None, footprint="centres"))


def window_cells(windows, w) -> set:
    return set(windows.cells(w).tolist())


def by_code(windows, kind="lsoa") -> dict:
    return {windows.codes[windows.centre_unit[w]]: w for w in range(windows.n_windows)
            if scan_areas.KINDS[windows.kind[w]] == kind}


def test_any_occupies_the_300m_cells_holding_any_of_the_windows_100m_cells(any_and_centres):
    fine, _ = any_and_centres
    units = fine.windows.window_cells  # windows x sampling units
    for w in np.random.default_rng(1).choice(fine.windows.n_windows, 200, replace=False):
        mine = units.indices[units.indptr[w]:units.indptr[w + 1]]
        assert window_cells(fine.report, w) == set(fine.parent[mine].tolist())


def test_the_footprint_changes_neither_the_windows_nor_their_counts(any_and_centres):
    fine, centred = any_and_centres
    for a, b in ((fine.windows.members, centred.windows.members),
                 (fine.windows.window_cells, centred.windows.window_cells)):
        assert (a != b).nnz == 0
    np.testing.assert_array_equal(fine.parent, centred.parent)
    np.testing.assert_array_equal(fine.share, centred.share)
    np.testing.assert_array_equal(fine.report.members.toarray(), centred.report.members.toarray())


def test_centres_occupy_todays_window_cells_for_an_lsoa_holding_a_centre(grid, any_and_centres):
    _, centred = any_and_centres
    today = scan_areas.area_windows(grid, kinds=("lsoa",))
    mine, theirs = by_code(centred.report), by_code(today)
    assert len(theirs) > 1300
    for code, w in theirs.items():
        assert window_cells(centred.report, mine[code]) == window_cells(today, w), code
    # a window with its neighbours occupies its LSOAs' cells
    grown = by_code(centred.report, "lsoa+neighbours")
    code, w = next(iter(grown.items()))
    members = centred.report.members
    units = members.indices[members.indptr[w]:members.indptr[w + 1]]
    assert len(units) > 1
    expected = set()
    for u in units:
        expected |= window_cells(centred.report, mine[centred.report.codes[u]])
    assert window_cells(centred.report, w) == expected


def test_a_tiny_lsoa_with_no_300m_centre_occupies_the_cell_holding_most_of_its_100m_cells(
        grid, any_and_centres):
    fine, centred = any_and_centres
    today = set(by_code(scan_areas.area_windows(grid, kinds=("lsoa",))))
    mine = by_code(centred.report)
    tiny = sorted(set(mine) - today)
    assert "E01010737" in tiny  # a shipped LSOA holding no 300 m cell centre
    land = np.flatnonzero(grid.population.ravel() > 0)
    for code in tiny:
        w = mine[code]
        units = fine.windows.window_cells
        sampling = units.indices[units.indptr[w]:units.indptr[w + 1]]
        x, y = fine.fine.centres(fine.fine_cell[sampling])  # its 100 m cells' centres
        cell = (np.floor((y - grid.y0) / grid.cell_m).astype(int) * grid.nx
                + np.floor((x - grid.x0) / grid.cell_m).astype(int))
        held = pd.Series(cell).value_counts()
        most = held.index[held == held.max()].min()  # ties: the lowest cell index
        assert window_cells(centred.report, w) == {int(np.searchsorted(land, most))}, code
        assert len(window_cells(fine.report, w)) >= 1


def test_ties_go_to_the_lowest_cell():
    # one LSOA (unit 0) of four sampling units: two in 300 m cell 3, two in cell 1; no centre
    parent = np.array([3, 3, 1, 1, 0])
    unit = np.array([0, 0, 0, 0, 1])
    windows = scan_areas.build_windows(unit, np.array([[0, 1]]), np.array(["a", "b"], object))
    to_coarse = sp.csr_matrix((np.ones(5), (np.arange(5), parent)), shape=(5, 4))
    report = scan_areas_fine._centred(windows, to_coarse, np.array([1, -1, -1, -1]))
    alone = by_code(report)
    assert window_cells(report, alone["a"]) == {1}
    assert window_cells(report, alone["b"]) == {0}  # its own centre


def test_the_cap_applies_to_the_footprint(grid, any_and_centres):
    _, centred = any_and_centres
    capped = scan_areas_fine.fine_areas(grid, None, max_cells=25, footprint="centres")
    counts = centred.report.cell_counts()
    assert capped.report.n_windows == int((counts <= 25).sum()) < centred.report.n_windows
    assert (capped.report.cell_counts() <= 25).all()


def raised_events():
    events = null_events(3000, seed=7)
    rng = np.random.default_rng(7)
    x = 414_050 + 100 * rng.integers(0, 6, 150)
    y = 433_050 + 100 * rng.integers(0, 6, 150)
    return pd.concat([events, events_at(x, y)], ignore_index=True)


def test_any_is_3gs_option_and_no_effect_without_100m_cells():
    events = raised_events()
    for base, other in ((dict(area_cell_m=100), dict(area_cell_m=100, area_footprint="any")),
                        ({}, dict(area_footprint="centres"))):
        a, b = fit(events, **base), fit(events, **other)
        assert len(a.hotspots_) > 0
        pd.testing.assert_frame_equal(pd.DataFrame(a.hotspots_.drop(columns="geometry")),
                                      pd.DataFrame(b.hotspots_.drop(columns="geometry")))
        np.testing.assert_array_equal(a.labels_, b.labels_)


def test_centres_label_an_areal_hotspot_on_its_footprint(grid, any_and_centres):
    _, centred = any_and_centres
    polygon = lsoas_bng().geometry.iloc[100]
    rng = np.random.default_rng(8)
    x = (np.floor(rng.uniform(*polygon.bounds[::2], 600) / 100) + 0.5) * 100
    y = (np.floor(rng.uniform(*polygon.bounds[1::2], 600) / 100) + 0.5) * 100
    inside = shapely.contains_xy(polygon, x, y)  # geomasked events inside one LSOA
    events = pd.concat([null_events(3000, seed=8), events_at(x[inside][:60], y[inside][:60])],
                       ignore_index=True)
    model = fit(events, area_cell_m=100, area_footprint="centres")
    land = np.flatnonzero(grid.population.ravel() > 0)
    footprints = {frozenset(land[centred.report.cells(w)].tolist())
                  for w in range(centred.report.n_windows)}
    areal = model.hotspots_[model.hotspots_["window"] != "disc"]
    assert len(areal)
    for _, row in areal.iterrows():
        labelled = frozenset(np.flatnonzero(model.cell_labels_.ravel() == row["hotspot_id"]))
        assert labelled in footprints  # the budget, labels and polygon: its footprint


@pytest.mark.parametrize("footprint", ["centre", "all", 1, None])
def test_a_bad_footprint_is_a_clear_error(grid, footprint):
    with pytest.raises(ValueError, match="area_footprint"):
        fit(null_events(200, seed=1), area_cell_m=100, area_footprint=footprint)
    with pytest.raises(ValueError, match="area_footprint"):
        scan_areas_fine.fine_areas(grid, footprint=footprint)
