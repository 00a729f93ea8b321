"""The tasking ranking (models.forecast), bounded hotspots, the synthetic families and the
police.uk reader.

The headline check: on every synthetic family unlike the scan's discs, dense (~8,000 events) and
sparse (~100), the default ranking catches at least as many later events as plain KDE (250 m
bandwidth, 100 m cells) in the same area, at every coverage from 0.5% to 10%. Volumes and
folds are kept small so the file runs in well under a minute; ``python -m models.evaluate
--family NAME`` runs the full rolling-origin comparison (docs/hotspot-evaluation.md).
"""
import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from data.policeuk import read_policeuk
from data.synthetic_families import FAMILIES, family_events
from geo.boundaries import load_boundaries
from geo.crs import BNG, WGS84
from models import evaluate
from models.forecast import ForecastRanker
from models.hotspots import HotspotModel

COVERAGES = (0.005, 0.01, 0.02, 0.05, 0.1)


@pytest.fixture(scope="module")
def dense():
    return family_events("micro_places", 3000, seed=2, months=14)


# -- the ranking's contract and top_area ------------------------------------------------------

def test_ranker_follows_the_estimator_contract():
    ranker = ForecastRanker("sepp", bandwidth_m=300)
    assert clone(ranker).get_params() == ranker.get_params()
    with pytest.raises(NotFittedError):
        ranker.top_area(0.01)
    with pytest.raises(InvalidParameterError, match="kind"):
        ForecastRanker("magic").fit(family_events("overdispersed", 50, seed=0))


def test_top_area_covers_the_share_best_first_and_clips(dense):
    model = HotspotModel(random_state=0, cross_feed=False).fit(dense)
    top = model.top_area(0.01)
    assert top.crs.to_epsg() == 4326 and list(top["rank"]) == list(range(1, len(top) + 1))
    area = top.to_crs(BNG).area.sum() / 1e6
    assert area == pytest.approx(0.01 * model.ranker_.grid_.area_km2, rel=0.01)
    assert (np.diff(top["expected_per_km2"]) <= 0).all()
    # Expected events per km² per month: the whole region's add up to the monthly rate.
    ranker = model.ranker_
    assert ranker.scores_.sum() * 0.01 == pytest.approx(ranker.monthly_rate_, rel=1e-6)
    # Clipped to one district: every cell inside it, 2% of the district's area.
    leeds = load_boundaries("district").set_index("name").loc[["Leeds"]]
    clipped = model.top_area(0.02, clip=leeds)
    district = leeds.to_crs(BNG).area.iloc[0]
    centres = clipped.to_crs(BNG).centroid
    assert centres.within(leeds.to_crs(BNG).geometry.iloc[0]).all()
    assert clipped.to_crs(BNG).area.sum() == pytest.approx(0.02 * district, rel=0.02)
    same = model.top_area(0.02, clip=leeds.geometry.iloc[0])  # a bare polygon is lon/lat
    assert same.geometry.equals(clipped.geometry)
    with pytest.raises(ValueError, match="ranking=None"):
        HotspotModel(ranking=None, cross_feed=False).fit(dense.iloc[:200]).top_area(0.01)


def test_without_validation_data_the_ranking_is_plain_kde():
    """Nothing held out: the weights are the pseudo-events', all on the 200 and 300 m
    backgrounds, so the top cells are (nearly) plain KDE's; spread evenly, they are not."""
    one_day = family_events("overdispersed", 200, seed=1).assign(date=pd.Timestamp("2025-06-01"))
    ranker = ForecastRanker().fit(one_day)
    assert ranker.held_out_events_ == 0
    assert ranker.weights_ == {"kde200": 0.5, "kde300": 0.5}
    kde = set(ForecastRanker("kde").fit(one_day).top_cells(0.01))
    shrunk = len(kde & set(ranker.top_cells(0.01)))
    assert shrunk > 0.9 * len(kde)
    even = ForecastRanker(prior_toward="even").fit(one_day)
    assert np.allclose(list(even.weights_.values()), 1 / len(even.weights_))
    assert len(kde & set(even.top_cells(0.01))) < shrunk


def test_few_held_out_events_stay_near_kde_and_many_move_the_weights():
    """The same pseudo-events weigh less against more held-out events: with a prior of one
    pseudo-event a surface a sparse feed keeps most weight on the KDE backgrounds, a dense one
    learns its own mixture. The default prior (0.25, chosen on tuning draws) lets a sparse
    feed's held-out events move it further from KDE."""
    def near_kde(ranker):
        return sum(w for n, w in ranker.weights_.items() if n in ("kde200", "kde300"))

    sparse_events = family_events("near_repeat", 100, seed=4)
    dense_events = family_events("near_repeat", 3000, seed=4)
    sparse = ForecastRanker(prior=1.0).fit(sparse_events)
    dense = ForecastRanker(prior=1.0).fit(dense_events)
    assert sparse.held_out_events_ < 100 < dense.held_out_events_
    assert near_kde(sparse) > 0.15 and near_kde(dense) < near_kde(sparse) / 2
    default = ForecastRanker().fit(sparse_events)
    assert near_kde(default) < near_kde(sparse)
    # Other kinds keep the even prior.
    population = ForecastRanker("population").fit(family_events("near_repeat", 100, seed=4))
    assert population.weights_["population"] > 0.05


def test_a_sparse_feed_holds_out_more_months_and_a_dense_one_its_recent_six():
    sparse = family_events("corridors", 100, seed=3)
    sparse = sparse[sparse["date"] >= "2024-07-01"]
    six = ForecastRanker(max_validation_folds=6).fit(sparse).held_out_events_
    assert six < ForecastRanker().fit(sparse).held_out_events_ < 100
    dense = family_events("moving", 3000, seed=7)
    assert (ForecastRanker().fit(dense).held_out_events_
            == ForecastRanker(max_validation_folds=6).fit(dense).held_out_events_ >= 100)


def test_near_repeat_bursts_weigh_the_recent_surfaces():
    ranker = ForecastRanker().fit(family_events("near_repeat", 3000, seed=4))
    recent = sum(w for name, w in ranker.weights_.items() if name.startswith("recent"))
    assert recent > 0.3, ranker.weights_


# -- the default ranking beats KDE on every family ---------------------------------------------

def _hits(events, train_months, methods=("forecast", "kde250")):
    folds = evaluate.evaluate(events, methods=list(methods), train_months=train_months,
                              coverages=COVERAGES, test_period="quarter")
    out = {}
    for method, rows in folds.groupby("method"):
        out[method] = {c: float((rows[f"hit_rate@{evaluate.tag(c)}"]
                                 * rows["test_events"]).sum()) for c in COVERAGES}
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_default_ranking_catches_at_least_kdes_events_dense_and_sparse(family):
    """Equal area, so PAI ratio = ratio of events caught. Dense: ~8,000 events over 24 months,
    18 training months, the last two quarters tested (~2,000 events); sparse: ~100 events, 12
    training months, four test quarters (~50 events), pooled.

    At every coverage the default must catch at least KDE's count less sampling slack (3%, and
    two events: a sparse quarter holds a dozen events, so one event is ~8% of PAI), and more
    events than KDE summed over the five coverages. The 12-month rolling comparison in
    docs/hotspot-evaluation.md gives the figures without slack, including where the default
    falls below KDE.
    """
    cases = ((family_events(family, 8000, seed=7), 18), (family_events(family, 100, seed=7), 12))
    for events, train_months in cases:
        hits = _hits(events, train_months)
        ours, theirs = hits["forecast"], hits["kde250"]
        for c in COVERAGES:
            assert ours[c] >= theirs[c] - max(2, 0.03 * theirs[c]), (family, len(events), c, hits)
        assert sum(ours.values()) > sum(theirs.values()), (family, len(events), hits)


# -- bounded hotspots ------------------------------------------------------------------------

def test_dense_data_give_a_bounded_ranked_list_of_hotspots():
    """Over-dispersed dense data: the unbounded scan reports ~50 hotspots over ~7% of the
    county (the issue saw 51 over a fifth of a district on real crime); the default keeps the
    strongest within 3%, skipping any that would not fit (``budget_rule="skip"``)."""
    dense = family_events("overdispersed", 8000, seed=2)
    unbounded = HotspotModel(random_state=0, cross_feed=False, max_area=None,
                             ranking=None).fit(dense)
    model = HotspotModel(random_state=0, cross_feed=False, ranking=None).fit(dense)
    share = model.hotspots_["area_km2"].sum() / model.grid_.area_km2
    assert unbounded.hotspots_["area_km2"].sum() / model.grid_.area_km2 > 0.03
    assert 0.02 < share <= 0.03 and model.n_candidates_ > len(model.hotspots_)
    spots = model.hotspots_
    assert (spots["ranked_by"] == "llr").all() and (np.diff(spots["llr"]) <= 0).all()
    assert list(spots["rank"]) == list(range(1, len(spots) + 1))
    assert list(spots["hotspot_id"]) == list(range(len(spots)))
    assert (spots["p_value"] < model.alpha).all()
    # The unbounded fit's hotspots, strongest first, each kept when it still fits in 3%
    # (docs/hotspots.md, 3e); a large one that does not fit no longer hides smaller ones.
    budget, used, kept = 0.03 * model.grid_.area_km2 + 1e-9, 0.0, []
    for llr, area in zip(unbounded.hotspots_["llr"], unbounded.hotspots_["area_km2"]):
        if used + area <= budget:
            used += area
            kept.append(llr)
    np.testing.assert_allclose(spots["llr"], kept)
    # No two share a cell; neighbours are listed both ways.
    shapes = spots.to_crs(BNG).geometry
    assert shapes.union_all().area == pytest.approx(shapes.area.sum())
    for row in spots.itertuples():
        for other in row.touches:
            assert row.hotspot_id in spots.loc[other, "touches"]
    # Labels follow the kept hotspots only.
    assert set(np.unique(model.labels_)) <= set(range(-1, len(spots)))
    top3 = HotspotModel(random_state=0, cross_feed=False, ranking=None, max_hotspots=3).fit(dense)
    assert len(top3.hotspots_) == 3
    np.testing.assert_allclose(top3.hotspots_["llr"], spots["llr"].iloc[:3])


@pytest.mark.parametrize("params, match", [({"max_area": 0.0}, "max_area"),
                                           ({"max_hotspots": 0}, "max_hotspots"),
                                           ({"ranking": "tea-leaves"}, "ranking")])
def test_bad_budgets_are_refused(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        HotspotModel(**params).fit(family_events("overdispersed", 50, seed=0))


# -- synthetic families ----------------------------------------------------------------------

def test_families_are_reproducible_geomasked_and_inside_west_yorkshire():
    for family in FAMILIES:
        a = family_events(family, 400, seed=3)
        b = family_events(family, 400, seed=3)
        assert a.crs.to_epsg() == 27700 and abs(len(a) - 400) <= 80, (family, len(a))
        assert a.geometry.equals(b.geometry) and a["date"].equals(b["date"])
        assert ((a.geometry.x % 100) == 50).all() and ((a.geometry.y % 100) == 50).all()
        assert a["date"].between("2024-01-01", "2025-12-31").all()
        assert a.attrs["truth"]["family"] == family
    with pytest.raises(ValueError, match="family"):
        family_events("discs", 10)


def test_micro_places_concentrate_and_corridors_are_lines():
    micro = family_events("micro_places", 4000, seed=5)
    cells = micro.geometry.x.astype(str) + micro.geometry.y.astype(str)
    top = cells.value_counts()
    assert top.iloc[:30].sum() > 0.3 * len(micro)  # 30 cells of ~200,000 hold 30%+
    corridors = family_events("corridors", 4000, seed=5)
    lines = shapely.from_wkt(corridors.attrs["truth"]["lines_bng_wkt"])
    near = corridors.distance(shapely.union_all(lines)) < 150
    assert near.mean() > 0.45


# -- police.uk street-level files ------------------------------------------------------------

def _policeuk_csv(path, months=("2024-01", "2024-02", "2024-03"), per_month=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for month in months:
        for i in range(per_month):
            rows.append({"Crime ID": f"x{i}", "Month": month, "Reported by": "West Yorkshire Police",
                         "Falls within": "West Yorkshire Police",
                         "Longitude": -1.55 + rng.normal(0, 0.01),
                         "Latitude": 53.80 + rng.normal(0, 0.005),
                         "Location": "On or near Some Street", "LSOA code": "E01011365",
                         "LSOA name": "Leeds 111B",
                         "Crime type": "Burglary" if i % 3 else "Vehicle crime",
                         "Last outcome category": "", "Context": ""})
    rows.append({**rows[0], "Longitude": "", "Latitude": ""})  # no location
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_policeuk_reader(tmp_path):
    events = read_policeuk(_policeuk_csv(tmp_path / "2024-street.csv"))
    assert len(events) == 180 and events.attrs["dropped"] == 1 and events.crs.to_epsg() == 27700
    assert ((events.geometry.x % 100) == 50).all()
    assert set(events["date"].dt.day) == {15} and events["date"].min() == pd.Timestamp("2024-01-15")
    assert set(events["feed"]) == {"Burglary", "Vehicle crime"}
    back = events.to_crs(WGS84).geometry
    assert back.x.between(-1.65, -1.45).all() and back.y.between(53.75, 53.85).all()
    burglary = read_policeuk([tmp_path / "2024-street.csv"], crime_types=["burglary"])
    assert len(burglary) == 120
    pd.DataFrame({"Month": ["2024-01"], "Longitude": [-1.5]}).to_csv(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="missing columns"):
        read_policeuk(tmp_path / "bad.csv")


def test_evaluate_cli_reads_policeuk_points(tmp_path, capsys):
    csv = _policeuk_csv(tmp_path / "street.csv")
    out = tmp_path / "report.md"
    code = evaluate.main(["--points", str(csv), "--train-months", "2", "--methods", "forecast",
                          "kde250", "--crime-type", "Burglary", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    text = out.read_text(encoding="utf-8")
    assert "120 police.uk street-level points (Burglary)" in text
    assert "## PAI as a multiple of kde250's" in text and "| forecast |" in text
    assert "0.5%" in text and "10%" in text
    assert evaluate.main(["--points", str(tmp_path / "none.csv"), "--out", str(out)]) == 2
