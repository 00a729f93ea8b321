"""The oracle bound on planted recovery (``models.recovery_oracle``; docs/hotspots.md, 3d): the
fit's scan redone with the fit's own inputs, and an LSOA's own window scored against its null."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from geo.areas import lsoas_bng
from geo.boundaries import load_boundaries
from geo.crs import BNG
from models import hotspots
from models import scan as scan_module
from models._grid import analysis_grid
from models.hotspots import HotspotModel, OutsideAreaWarning
from models.recovery_oracle import (
    fine_oracle,
    fitted_scan,
    monte_carlo_p,
    oracle_windows,
    planted_expected,
)
from models.scan_areas import area_windows
from tests.test_scan_areas import whole_lsoa_events

SEED = 7


@pytest.fixture(scope="module")
def planted():
    """Null events (3,000) plus 80 spread over one irregular LSOA's cells; its code; the scan
    ``HotspotModel(random_state=SEED)`` runs on them."""
    grid = analysis_grid(300)
    windows = area_windows(grid)
    events, chosen = whole_lsoa_events(grid, windows, 80, seed=3)
    code = str(windows.codes[windows.centre_unit[chosen]])
    return events, code, fitted_scan(events, SEED)


def test_the_redone_scan_is_the_fits_own(planted, monkeypatch):
    events, _, scan = planted
    seen = []  # the fit's own scan results, recorded on the way through

    def recorded(*args, **kwargs):
        seen.append(scan_module.poisson_scan(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(hotspots, "poisson_scan", recorded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model = HotspotModel(random_state=SEED, cross_feed=False, ranking=None,
                             max_area=None).fit(events)
    assert len(seen) == 1
    np.testing.assert_array_equal(scan.result.null_max, seen[0].null_max)
    assert len(scan.result.llr) == model.n_candidates_ > 0
    np.testing.assert_allclose(scan.result.llr, model.hotspots_["llr"].to_numpy(float))
    np.testing.assert_allclose(scan.result.p_value, model.hotspots_["p_value"].to_numpy(float))
    # Another seed draws other null data sets: the maxima differ.
    assert not np.array_equal(fitted_scan(events, SEED + 1).result.null_max,
                              scan.result.null_max)


def test_a_planted_lsoa_is_oracle_significant_and_a_null_one_is_not(planted):
    _, code, scan = planted
    lsoas = lsoas_bng()
    centre = lsoas.loc[lsoas["code"] == code].geometry.iloc[0].centroid
    # A null LSOA far from the planted one (over 10 km: no window holds both).
    far = lsoas[lsoas.geometry.centroid.distance(centre) > 10_000]
    table = oracle_windows(scan, [code, *far["code"].iloc[:40]])
    mine, others = table.iloc[0], table.iloc[1:]
    assert mine.significant and mine.best_significant and mine.any_significant
    assert mine.p_value == pytest.approx(1 / (len(scan.result.null_max) + 1))
    assert mine.events - mine.expected > 60
    assert not others.significant.any()
    assert (others.p_value > 0.5).mean() > 0.9


def test_the_oracle_llr_is_the_scans_own_llr_for_that_window(planted):
    _, code, scan = planted
    table = oracle_windows(scan, [code])
    windows = area_windows(scan.grid, None, max_cells=None)
    unit = list(windows.codes).index(code)
    cells = scan.land[windows.units.indices[windows.units.indptr[unit]:
                                            windows.units.indptr[unit + 1]]]
    reported = [k for k, w in enumerate(scan.result.window)
                if w == "lsoa" and np.array_equal(np.sort(scan.result.cells[k]), np.sort(cells))]
    assert reported, "the scan reports the planted LSOA's own window"
    k = reported[0]
    assert table.llr[0] == pytest.approx(scan.result.llr[k], rel=1e-12)
    assert table.events[0] == scan.result.events[k]
    assert table.expected[0] == pytest.approx(scan.result.expected[k], rel=1e-12)
    assert table.p_value[0] == scan.result.p_value[k]
    # The best of three and any window holding half are at least the LSOA's own.
    assert table.best_llr[0] >= table.llr[0] and table.any_llr[0] >= table.best_llr[0]
    assert table.llr[0] <= table.scan_llr[0] <= table.any_llr[0]


def test_monte_carlo_p_ranks_among_the_null_maxima():
    null = np.array([1.0, 2.0, 3.0, 3.0])
    np.testing.assert_allclose(monte_carlo_p([2.5, 3.0, 3.5, 0.0], null),
                               [3 / 5, 3 / 5, 1 / 5, 1.0])


def test_unknown_codes_and_other_denominators_are_refused(planted):
    events, _, scan = planted
    with pytest.raises(ValueError, match="E09999999"):
        oracle_windows(scan, ["E09999999"])
    with pytest.raises(ValueError, match="method='scan'"):
        fitted_scan(events, SEED, method="kde")


def test_planted_expected_spreads_the_requested_events_over_the_lsoa_cells(planted):
    """With every multiplier 1, the windows of all LSOAs together expect nearly all the events
    (the labelled land cells hold nearly all of West Yorkshire); one LSOA with a 50x multiplier
    expects about 50x its residents' share in its window."""
    _, _, scan = planted
    lsoas = load_boundaries("lsoa")[["code", "population", "geometry"]].to_crs(BNG)
    codes = lsoas["code"].to_numpy()
    flat = planted_expected(scan, codes, lsoas, dict.fromkeys(codes, 1.0), 10_000)
    assert 9_500 < flat.sum() <= 10_000 + 1e-6
    table = oracle_windows(scan, codes[:200])
    big = table.code[table.cells.idxmax()]
    boosted = dict.fromkeys(codes, 1.0) | {big: 50.0}
    one = planted_expected(scan, [big], lsoas, boosted, 10_000)[0]
    population = lsoas["population"].to_numpy(float)
    own = population[codes == big][0]
    share = 50 * own / (population.sum() + 49 * own)
    assert 0.8 * 10_000 * share < one < 1.1 * 10_000 * share


def test_fine_oracle_counts_the_lsoas_100m_cells_and_their_planted_events(planted):
    """The own window on 100 m cells holds the events whose 100 m cell's centre lies in the
    LSOA (every point is a 100 m cell centre here); with every multiplier 1 all LSOAs together
    expect nearly all events (100 m cells leak far less than 300 m ones) and ``C`` in all."""
    import shapely

    from models._events import event_arrays

    events, code, scan = planted
    lsoas = load_boundaries("lsoa")[["code", "population", "geometry"]].to_crs(BNG)
    codes = lsoas["code"].to_numpy()
    table = fine_oracle(scan, events, codes, lsoas, dict.fromkeys(codes, 1.0), 10_000)
    assert 9_900 < table.fine_planted.sum() <= 10_000 + 1e-6
    assert table.fine_expected.sum() == pytest.approx(scan.total, rel=1e-9)
    xy = event_arrays(events)
    for k in [int(np.flatnonzero(codes == code)[0]), 5, 500]:
        inside = shapely.contains_xy(lsoas.geometry.iloc[k], xy.x, xy.y)
        earlier = lsoas.geometry.iloc[:k]  # a centre in two outlines is the first one's
        taken = sum(bool(earlier.contains(shapely.Point(a, b)).any())
                    for a, b in zip(xy.x[inside], xy.y[inside]))
        assert table.fine_events[k] == inside.sum() - taken
    # the planted LSOA: its 80 extra events are in its own window and make it significant
    mine = int(np.flatnonzero(codes == code)[0])
    assert table.fine_events[mine] >= 80 and table.fine_significant[mine]
