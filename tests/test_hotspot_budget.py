"""The area budget's rule and the scan's overlapping secondary hotspots (docs/hotspots.md,
3e): ``HotspotModel(budget_rule="skip")`` (the default since 3e) goes on past a hotspot that
does not fit;
``HotspotModel(overlap="centres")`` reports SaTScan's "no cluster centres in other clusters"
secondaries, shows the overlap, and counts shared cells once against the budget."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.utils._param_validation import InvalidParameterError

from data.synthetic_families import family_events
from models import scan
from models._grid import analysis_grid
from models.baselines import CellHotspots
from models.hotspot_budget import bounded
from models.hotspots import HotspotModel, OutsideAreaWarning
from tests.test_hotspots import null_events


@pytest.fixture(scope="module")
def grid():
    return analysis_grid(300)


def budget_for(grid, cells: float) -> float:
    """The ``max_area`` share that holds exactly ``cells`` cells."""
    return cells * grid.cell_km2 / grid.area_km2


def reference_bounded(found, counts, grid, max_area, max_hotspots):
    """``models.hotspots._bounded`` before the rule was a parameter (721cf01), verbatim."""
    n = len(found.p_values)
    cells = np.bincount(found.labels[found.labels >= 0], minlength=n)
    if isinstance(found.statistic, pd.DataFrame) and "llr" in found.statistic.columns:
        strength = found.statistic["llr"].to_numpy(float)[:n]
    else:
        strength = np.bincount(found.labels[found.labels >= 0],
                               weights=counts.ravel()[found.labels >= 0], minlength=n)
    order = np.argsort(-strength, kind="stable")
    budget = np.inf if max_area is None else max_area * grid.area_km2 / grid.cell_km2 + 1e-9
    used, keep = 0, []
    for k in order[:max_hotspots or n]:
        if used + cells[k] > budget:
            break
        used += cells[k]
        keep.append(k)
    new = np.full(n + 1, -1)
    new[keep] = np.arange(len(keep))
    statistic = found.statistic
    if isinstance(statistic, pd.DataFrame):
        statistic = statistic.iloc[keep].reset_index(drop=True)
    return CellHotspots(new[found.labels], np.asarray(found.p_values)[keep],
                        found.scores, statistic)


def three_hotspots(grid, sizes=(10, 30, 5), llr=(30.0, 20.0, 10.0)):
    """Hotspots of ``sizes`` cells in separate rows of land cells, strongest first."""
    land = np.flatnonzero(grid.population.ravel() > 0)
    labels = np.full(grid.nx * grid.ny, -1)
    cells, start = [], 0
    for k, size in enumerate(sizes):
        cells.append(land[start:start + size])
        labels[cells[-1]] = k
        start += size + 50
    statistic = pd.DataFrame({"llr": llr, "radius_m": np.nan, "window": "disc"})
    return CellHotspots(labels, np.full(len(sizes), 0.01), np.zeros(labels.size), statistic,
                        cells), cells


def test_a_hotspot_that_does_not_fit_no_longer_hides_smaller_ones(grid):
    found, cells = three_hotspots(grid)
    counts = np.zeros(grid.shape)
    max_area = budget_for(grid, 20)  # the first (10 cells) fits, the second (30) does not
    stop = bounded(found, counts, grid, max_area, None, "stop")
    skip = bounded(found, counts, grid, max_area, None, "skip")
    assert len(stop.p_values) == 1
    assert len(skip.p_values) == 2  # the third (5 cells) is kept after the second is skipped
    assert skip.statistic["llr"].tolist() == [30.0, 10.0]
    assert set(np.flatnonzero(skip.labels == 1)) == set(cells[2])
    assert (skip.labels >= 0).sum() == 15 <= 20
    # max_hotspots counts the kept ones.
    assert len(bounded(found, counts, grid, max_area, 1, "skip").p_values) == 1
    with pytest.raises(ValueError, match="rule"):
        bounded(found, counts, grid, max_area, None, "fill")


@pytest.mark.parametrize("method, max_area, max_hotspots",
                         [("scan", 0.03, None), ("scan", 0.005, None), ("scan", None, 4),
                          ("kde", 0.02, None), ("dbscan", 0.01, 3)])
def test_the_stop_rule_is_the_previous_budget(grid, method, max_area, max_hotspots):
    events = family_events("micro_places", 4000, seed=21)
    cell = grid.cell_index(events.geometry.x.to_numpy(), events.geometry.y.to_numpy())
    counts = grid.counts(cell)
    model = HotspotModel(method, random_state=0, cross_feed=False, ranking=None)
    found = model._search(counts, grid, 5)
    new = bounded(found, counts, grid, max_area, max_hotspots, "stop")
    old = reference_bounded(found, counts, grid, max_area, max_hotspots)
    assert len(old.p_values) > 0
    np.testing.assert_array_equal(new.labels, old.labels)
    np.testing.assert_array_equal(new.p_values, old.p_values)
    if isinstance(old.statistic, pd.DataFrame):
        assert new.statistic.equals(old.statistic)
    assert new.overlaps is None or not any(new.overlaps)


def hand_made_windows():
    """A 20 x 20 land of 300 m cells, radii of 1-3 cells, and five significant windows
    (flat centre, radius index, LLR):

    A (10,10) r2 LLR 50; B (10,11) r1 40: centre in A; C (10,13) r1 30: shares a cell with A,
    neither holds the other's centre; D (10,16) r2 20: shares cells with C only; E (10,7) r3
    25: its centre is outside A but it holds A's centre."""
    conv = scan.DiscConvolver((20, 20), 300, [300, 600, 900])
    land = np.arange(400)
    llr = np.zeros((3, 400))
    windows = {"A": (10 * 20 + 10, 1, 50.0), "B": (10 * 20 + 11, 0, 40.0),
               "C": (10 * 20 + 13, 0, 30.0), "D": (10 * 20 + 16, 1, 20.0),
               "E": (10 * 20 + 7, 2, 25.0)}
    for centre, r, value in windows.values():
        llr[r, centre] = value
    observed, expected = np.full_like(llr, 20.0), np.full_like(llr, 5.0)
    return conv, land, (llr, observed, expected), windows


def test_secondary_windows_may_overlap_when_neither_holds_the_others_centre():
    conv, land, discs, windows = hand_made_windows()
    null_max = np.zeros(99)

    def reported(overlap):
        result = scan.report_windows(discs, None, null_max, land, np.zeros(400), conv, None,
                                     0.05, overlap)
        names = {v[0]: k for k, v in windows.items()}
        return [names[c] for c in result.centre], result

    apart, _ = reported("none")
    assert apart == ["A", "D"]  # no shared cell: B, C and E all touch A
    centres, result = reported("centres")
    assert centres == ["A", "C", "D"]  # B's centre is in A; E holds A's centre
    a, c, d = (set(cells) for cells in result.cells)
    assert a & c and c & d and not a & d
    for k, cells_k in enumerate(result.cells):
        for j, cells_j in enumerate(result.cells):
            if j != k:
                assert result.centre[j] not in cells_k


def test_shared_cells_count_once_against_the_budget_and_the_overlap_is_named(grid):
    land = np.flatnonzero(grid.population.ravel() > 0)
    strong, weak = land[:13], land[10:15]  # three cells shared: 15 distinct, 18 in all
    labels = np.full(grid.nx * grid.ny, -1)
    labels[weak], labels[strong] = 1, 0
    statistic = pd.DataFrame({"llr": [50.0, 30.0], "radius_m": 600.0, "window": "disc"})
    found = CellHotspots(labels, np.array([0.01, 0.02]), np.zeros(labels.size), statistic,
                         [strong, weak])
    counts = np.zeros(grid.shape)
    both = bounded(found, counts, grid, budget_for(grid, 15), None, "stop")
    assert len(both.p_values) == 2  # the union (15 cells) fits, the sum (18) would not
    assert both.overlaps == [[], [1]]
    assert (both.labels >= 0).sum() == 15
    assert set(np.flatnonzero(both.labels == 0)) == set(strong)  # shared cells: the stronger's
    assert set(np.flatnonzero(both.labels == 1)) == set(weak) - set(strong)
    np.testing.assert_array_equal(both.cells[1], weak)  # the window itself, whole
    assert len(bounded(found, counts, grid, budget_for(grid, 14), None, "stop").p_values) == 1


def fitted(events, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        return HotspotModel(random_state=2, cross_feed=False, ranking=None, **params).fit(events)


def test_the_model_shows_overlapping_hotspots_whole_within_the_union_budget():
    events = family_events("overdispersed", 8000, seed=2)
    default = fitted(events)
    shown = fitted(events, overlap="centres", budget_rule="skip")
    assert default.get_params()["overlap"] == "none"
    assert default.get_params()["budget_rule"] == "skip"  # adopted by 3e's rule
    assert not any(default.hotspots_["overlaps"])
    frame = shown.hotspots_.to_crs(27700)
    overlapping = [k for k, ranks in enumerate(frame["overlaps"]) if ranks]
    assert overlapping
    for k in overlapping:
        for rank in frame["overlaps"].iloc[k]:
            assert rank < frame["rank"].iloc[k]
            shared = shapely.intersection(frame.geometry.iloc[k], frame.geometry.iloc[rank - 1])
            assert shared.area > 0
    # The union of cells is within the budget; the windows' own areas add up to more.
    grid = shown.grid_
    union_km2 = (shown.cell_labels_ >= 0).sum() * grid.cell_km2
    assert union_km2 <= 0.03 * grid.area_km2 + 1e-9
    assert frame["area_km2"].sum() > union_km2
    # A hotspot's events are its whole window's, shared cells included.
    for k in overlapping[:3]:
        inside = frame.geometry.iloc[k].contains(
            shapely.points(events.geometry.x.to_numpy(), events.geometry.y.to_numpy()))
        assert frame["events"].iloc[k] == inside.sum()
        assert frame["feed_mix"].iloc[k] == {"synthetic": int(inside.sum())}
        assert shown.monthly_counts_[k].sum() == inside.sum()


def test_budget_rule_and_overlap_are_validated_parameters():
    for name, value in (("budget_rule", "fill"), ("overlap", "merge")):
        with pytest.raises(InvalidParameterError, match=name):
            HotspotModel(**{name: value}).fit(null_events(50, 1))
