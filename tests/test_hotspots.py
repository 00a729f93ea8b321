"""HotspotModel: the scikit-learn contract, toy data with known hotspots, and statistical honesty.

``sklearn.utils.estimator_checks.check_estimator`` feeds numeric arrays, which this estimator
refuses by design (it needs points with a CRS and dates), so the contract is tested piece by piece:
clone, get/set_params, parameter validation, NotFittedError, fit returns self, fit_predict,
pickling, determinism under ``random_state`` and input not modified.
"""
import json
import pickle
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from data.synthetic import TRUTH_FILE, build_store
from data.store import open_store
from geo.boundaries import load_boundaries
from geo.crs import BNG, WGS84
from geo.geomask import snap_to_grid
from models._events import events_frame
from models.hotspots import HotspotModel, OutsideAreaWarning

NULL_SEEDS = range(20)  # the bench runs 100
TOY_ORIGIN = (429_000, 432_000)  # a BNG corner in central Leeds; toy squares are laid from here


# -- test data -----------------------------------------------------------------------------

def null_events(n: int, seed: int, months: int = 24, feed: str = "nrm") -> gpd.GeoDataFrame:
    """Events with no hotspot: LSOAs drawn by Census population, points uniform inside the LSOA
    polygon, geomasked to 100 m cell centres, dates uniform over ``months`` months."""
    lsoas = _lsoas_bng()
    rng = np.random.default_rng(seed)
    weight = lsoas["population"].to_numpy(float)
    index = rng.choice(len(lsoas), size=n, p=weight / weight.sum())
    x, y = _uniform_in(rng, lsoas.geometry.to_numpy(), index)
    e, nn = snap_to_grid(x, y, 100)
    start = pd.Timestamp("2023-01-01")
    days = (start + pd.DateOffset(months=months) - start).days
    dates = start + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    return gpd.GeoDataFrame({"date": dates, "feed": feed},
                            geometry=gpd.points_from_xy(e, nn), crs=BNG)


_CACHE = {}


def _lsoas_bng():
    if "lsoa" not in _CACHE:
        lsoas = load_boundaries("lsoa")[["population", "geometry"]].to_crs(BNG)
        shapely.prepare(lsoas.geometry.to_numpy())
        _CACHE["lsoa"] = lsoas
    return _CACHE["lsoa"]


def _uniform_in(rng, polygons, index):
    """A uniform point inside ``polygons[index[i]]`` for each i (rejection sampling)."""
    bounds = shapely.bounds(polygons)
    x, y, todo = np.empty(len(index)), np.empty(len(index)), np.arange(len(index))
    while todo.size:
        b = bounds[index[todo]]
        cx = b[:, 0] + rng.random(todo.size) * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + rng.random(todo.size) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(polygons[index[todo]], cx, cy)
        x[todo[inside]], y[todo[inside]] = cx[inside], cy[inside]
        todo = todo[~inside]
    return x, y


def toy_population(n_side: int = 10, cell: int = 300, people: float = 1000.0):
    """An ``n_side`` x ``n_side`` block of square 'LSOAs' of ``cell`` metres, equal population."""
    x0, y0 = TOY_ORIGIN
    squares = [shapely.box(x0 + i * cell, y0 + j * cell, x0 + (i + 1) * cell, y0 + (j + 1) * cell)
               for j in range(n_side) for i in range(n_side)]
    return gpd.GeoDataFrame({"population": np.full(len(squares), people)}, geometry=squares,
                            crs=BNG)


def toy_events(per_cell: dict, cell: int = 300, date: str = "2024-03-01") -> gpd.GeoDataFrame:
    """``per_cell[(i, j)]`` events at the centre of toy cell (i, j)."""
    x0, y0 = TOY_ORIGIN
    xs, ys = [], []
    for (i, j), n in per_cell.items():
        xs += [x0 + (i + 0.5) * cell] * n
        ys += [y0 + (j + 0.5) * cell] * n
    return gpd.GeoDataFrame({"date": pd.Timestamp(date)}, index=range(len(xs)),
                            geometry=gpd.points_from_xy(xs, ys), crs=BNG)


def background(n_side: int = 10, each: int = 1) -> dict:
    return {(i, j): each for i in range(n_side) for j in range(n_side)}


def toy_model(**params) -> HotspotModel:
    settings = {"population": toy_population(), "cell_size_m": 300, "max_radius_m": 300,
                "min_events": 5, "n_simulations": 99, "random_state": 0}
    return HotspotModel(**{**settings, **params})


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The 5-year demo store (seed 11): its stored points per feed and its ground truth."""
    root = tmp_path_factory.mktemp("planted") / "store"
    result = build_store(root, years=5, seed=11, end="2025-12-31")
    store = open_store(root)
    truth = json.loads((root / TRUTH_FILE).read_text(encoding="utf-8"))
    events = {feed: events_frame(store.query(feed), feed) for feed in result["records"]}
    return events, truth


def recovered(hotspots: gpd.GeoDataFrame, spot: dict) -> bool:
    """A planted hotspot is recovered when a reported polygon holds its centre, or when the two
    overlap substantially: by half of the smaller of the disc and the polygon (a Rosewood hotspot
    is three accommodation sites in the disc, which the scan may report cell by cell)."""
    shapes = hotspots.to_crs(BNG).geometry
    centre = shapely.Point(spot["easting"], spot["northing"])
    disc = centre.buffer(spot["radius_m"])
    smaller = np.minimum(shapes.area, disc.area)
    return bool(shapes.contains(centre).any()
                or (shapes.intersection(disc).area >= 0.5 * smaller).any())


# -- the scikit-learn contract ------------------------------------------------------------

def test_init_only_stores_and_clone_get_set_params_round_trip():
    population = toy_population()
    model = HotspotModel("kde", min_events=7, population=population, random_state=3)
    params = model.get_params()
    assert params["method"] == "kde" and params["min_events"] == 7
    assert params["population"] is population and params["random_state"] == 3
    twin = clone(model)
    assert twin is not model and twin.get_params()["min_events"] == 7
    assert twin.set_params(alpha=0.01, method="scan") is twin
    assert twin.alpha == 0.01 and twin.method == "scan" and model.alpha == 0.05
    HotspotModel(method="no-such-method")  # __init__ validates nothing...


@pytest.mark.parametrize("params, match", [
    ({"method": "blah"}, "method"),
    ({"min_events": 0}, "min_events"),
    ({"alpha": 1.5}, "alpha"),
    ({"cell_size_m": 50}, "cell_size_m"),
    ({"coverage": 0.0}, "coverage"),
    ({"n_simulations": 5}, "n_simulations"),
])
def test_bad_parameters_are_refused_at_fit(params, match):
    with pytest.raises(InvalidParameterError, match=match):  # ...fit does
        toy_model(**params).fit(toy_events({(0, 0): 3}))


def test_cell_size_must_be_a_multiple_of_the_geomask_cell():
    with pytest.raises(ValueError, match="multiple of 100"):
        toy_model(cell_size_m=250).fit(toy_events({(0, 0): 3}))


def test_unfitted_model_raises_not_fitted_error():
    model = toy_model()
    for call in (model.predict, model.score):
        with pytest.raises(NotFittedError):
            call(toy_events({(0, 0): 1}))


def test_input_checks_name_the_problem():
    events = toy_events({(0, 0): 3})
    with pytest.raises(ValueError, match="no CRS"):
        toy_model().fit(events.set_crs(None, allow_override=True))
    with pytest.raises(TypeError, match="GeoDataFrame"):
        toy_model().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="'date'"):
        toy_model().fit(events.drop(columns="date"))
    with pytest.raises(ValueError, match="points"):
        toy_model().fit(events.set_geometry(events.buffer(10)))


def test_fit_returns_self_learns_underscored_attributes_and_does_not_modify_input():
    events = toy_events({**background(), (4, 4): 40})
    before = events.copy()
    model = toy_model()
    assert model.fit(events) is model
    assert len(model.labels_) == len(events)
    for name in ("hotspots_", "labels_", "cell_scores_", "grid_", "monthly_counts_"):
        assert hasattr(model, name)
    pd.testing.assert_frame_equal(events, before)
    np.testing.assert_array_equal(model.fit_predict(events), model.labels_)


def test_reprojects_lonlat_input_to_the_same_answer():
    events = toy_events({**background(), (4, 4): 40})
    bng = toy_model().fit(events)
    lonlat = toy_model().fit(events.to_crs(WGS84))
    np.testing.assert_array_equal(bng.labels_, lonlat.labels_)


def test_same_random_state_same_hotspots_and_pickle_round_trip():
    events = null_events(3000, seed=5)
    events = pd.concat([events, toy_events({(4, 4): 25}).assign(feed="nrm")], ignore_index=True)
    a = HotspotModel(random_state=7).fit(events)
    b = HotspotModel(random_state=7).fit(events)
    pd.testing.assert_frame_equal(a.hotspots_.drop(columns="geometry"),
                                  b.hotspots_.drop(columns="geometry"))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict(events), a.predict(events))


# -- toy data with known answers -------------------------------------------------------------

def test_scan_finds_exactly_the_window_around_the_planted_cell():
    events = toy_events({**background(), (4, 4): 40})
    model = toy_model().fit(events)
    assert len(model.hotspots_) == 1
    spot = model.hotspots_.iloc[0]
    # The smallest window (radius one cell): the cell and its 4 neighbours, 40 + 4 events.
    assert spot["events"] == 44 and spot["radius_m"] == 300
    # 100 equal cells, 139 events: five cells' population expects 5 x 1.39 of them.
    np.testing.assert_allclose(spot["expected"], 6.95)
    np.testing.assert_allclose(spot["relative_risk"], (44 / 6.95) / (95 / 132.05))
    assert spot["p_value"] == pytest.approx(0.01)  # the smallest with 99 simulations
    assert spot["area_km2"] == pytest.approx(0.45)
    assert spot["wards"] and spot["districts"] == ["Leeds"]
    col = ((events.geometry.x - TOY_ORIGIN[0]) // 300).astype(int)
    row = ((events.geometry.y - TOY_ORIGIN[1]) // 300).astype(int)
    in_window = (col - 4).abs() + (row - 4).abs() <= 1
    np.testing.assert_array_equal(model.labels_, np.where(in_window, 0, -1))


def test_a_flat_map_has_no_hotspot_and_min_events_is_respected():
    assert len(toy_model().fit(toy_events(background(each=3))).hotspots_) == 0
    few = toy_events({**background(), (4, 4): 3})  # 4 events in a cell: below min_events
    assert len(toy_model().fit(few).hotspots_) == 0


def test_population_baseline_a_crowded_cell_is_not_a_hotspot():
    """Ten times the people and ten times the events in one cell: not a hotspot."""
    population = toy_population()
    population.loc[44, "population"] = 10_000.0  # square (4, 4)
    events = toy_events({**background(each=2), (4, 4): 20})
    assert len(toy_model(population=population).fit(events).hotspots_) == 0
    assert len(toy_model().fit(events).hotspots_) == 1  # with a flat population it is one


def test_dbscan_labels_two_separate_groups_of_cells():
    events = toy_events({(1, 1): 6, (1, 2): 6, (2, 1): 6, (7, 7): 8, (7, 8): 8, (4, 9): 1})
    model = toy_model(method="dbscan", bandwidth_m=300, min_events=10).fit(events)
    assert len(model.hotspots_) == 2
    assert list(model.hotspots_["events"]) == [18, 16]  # largest first
    cells = pd.Series(model.labels_).groupby(
        [events.geometry.x.to_numpy(), events.geometry.y.to_numpy()]).unique()
    assert sorted(len(v) for v in cells) == [1] * 6  # one label per cell
    assert model.predict(toy_events({(4, 9): 1}))[0] == -1


def test_kde_hotspots_are_the_top_cells_merged():
    events = toy_events({**background(), (2, 2): 30, (2, 3): 30, (8, 8): 20})
    model = toy_model(method="kde", bandwidth_m=100, coverage=0.00025, min_events=5).fit(events)
    # 0.025% of West Yorkshire is about 0.5 km^2: 5 or 6 cells of 0.09 km^2.
    assert len(model.hotspots_) == 2
    assert model.hotspots_["events"].iloc[0] >= 60 and model.hotspots_["p_value"].isna().all()


def test_gistar_finds_the_planted_block_and_tests_it():
    events = toy_events({**background(), **{(i, j): 12 for i in (4, 5) for j in (4, 5)}})
    model = toy_model(method="gistar", bandwidth_m=300, n_simulations=199).fit(events)
    assert len(model.hotspots_) == 1
    assert model.hotspots_["events"].iloc[0] >= 48
    assert model.hotspots_["p_value"].iloc[0] <= 0.05


def test_score_is_the_pai_of_the_fitted_hotspots():
    model = toy_model().fit(toy_events({**background(), (4, 4): 40}))
    later = toy_events({(4, 4): 2, (4, 5): 1, (0, 0): 1, (9, 9): 1, (5, 5): 1})
    # 3 of 6 later events in the 5 cells (0.45 km^2) of the hotspot.
    area_share = 0.45 / model.grid_.area_km2
    assert model.score(later) == pytest.approx(0.5 / area_share)
    empty = toy_model().fit(toy_events(background()))
    assert empty.score(later) == 0.0


def test_events_outside_the_populated_cells_are_left_out_with_a_warning():
    events = toy_events({**background(), (4, 4): 40})
    far = gpd.GeoDataFrame({"date": [pd.Timestamp("2024-03-01")]},
                           geometry=[shapely.Point(0, 0)], crs=BNG)
    with pytest.warns(OutsideAreaWarning, match="1 of 140"):
        model = toy_model().fit(pd.concat([events, far], ignore_index=True))
    assert model.labels_[-1] == -1 and model.n_events_ == 139


def test_monthly_counts_and_trend_of_a_new_hotspot():
    old = toy_events(background(), date="2024-01-15")
    months = [toy_events({**background(), **({(4, 4): 12} if m >= 9 else {})},
                         date=f"2024-{m:02d}-15") for m in range(2, 13)]
    model = toy_model().fit(pd.concat([old, *months], ignore_index=True))
    spot = model.hotspots_.iloc[0]
    assert spot["trend"] == "new" and spot["first_month"] == "2024-01"
    assert list(model.monthly_counts_[0]) == [5] * 8 + [16] * 4  # 5 cells of 1, +11


# -- cross-feed -----------------------------------------------------------------------------

def test_cross_feed_flags_a_place_where_two_feeds_concentrate():
    both = toy_events({**background(), (2, 2): 20}).assign(feed="nrm")
    other = toy_events({**background(), (2, 2): 20, (7, 7): 25}).assign(feed="mandevilla")
    model = toy_model().fit(pd.concat([both, other], ignore_index=True))
    flags = {tuple(row.feeds): row.cross_feed for row in model.hotspots_.itertuples()}
    assert flags == {("mandevilla", "nrm"): True, ("mandevilla",): False}
    mix = model.hotspots_.set_index("events")["feed_mix"].to_dict()
    assert mix[48] == {"mandevilla": 24, "nrm": 24}
    assert set(model.feed_hotspots_) == {"mandevilla", "nrm"}
    assert not toy_model(cross_feed=False).fit(both).hotspots_["cross_feed"].any()


# -- statistical honesty -------------------------------------------------------------------

def test_null_data_rarely_gives_a_significant_hotspot():
    """Events spread by population: the scan reports a hotspot in few seeds.

    The scan's family-wise error rate is alpha = 5% by construction (a Monte-Carlo test), a
    little less with ``min_events``; the bench measures it over 100 seeds (2 of 100). Twenty
    seeds cannot tell 5% from 10%: at a true 5%, 2 or more of 20 happen 26% of the time, so
    the test allows up to 3 of 20, which a true 5% exceeds only 1.6% of the time and a
    miscalibrated test (say 25%, 5 expected) almost always does.
    """
    with_hotspot = [seed for seed in NULL_SEEDS
                    if len(HotspotModel(random_state=seed, cross_feed=False)
                           .fit(null_events(1500, seed)).hotspots_)]
    assert len(with_hotspot) <= 3, with_hotspot


def test_null_data_at_volume_dense_places_are_not_hotspots_but_kde_calls_them():
    events = null_events(30_000, seed=1)
    scan = HotspotModel(random_state=0, cross_feed=False).fit(events)
    assert len(scan.hotspots_) == 0
    kde = HotspotModel("kde", cross_feed=False).fit(events)
    assert len(kde.hotspots_) > 0  # it marks where people live


def test_planted_hotspots_are_recovered_with_few_false_ones(planted):
    """Fitted feed by feed, at least 90% of the planted hotspots are found. NRM and Mandevilla
    background is spread by population, so a hotspot away from every planted disc is a false
    one: at most one per feed. (Rosewood's accommodation sites are real concentrations of
    episodes, so its other hotspots are not counted as false.)"""
    events, truth = planted
    found, false = [], {}
    for feed, spots in truth["hotspots"].items():
        model = HotspotModel(random_state=0, cross_feed=False).fit(events[feed])
        found += [recovered(model.hotspots_, spot) for spot in spots]
        discs = [shapely.Point(s["easting"], s["northing"]).buffer(s["radius_m"] + 71)
                 for s in spots]
        false[feed] = sum(not any(shape.intersects(d) for d in discs)
                          for shape in model.hotspots_.to_crs(BNG).geometry)
    assert np.mean(found) >= 0.9, found
    assert false["nrm"] <= 1 and false["mandevilla"] <= 1, false
