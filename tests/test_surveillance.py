"""ProspectiveScan (models.surveillance): new-hotspot alerts from a prospective space-time scan.

Synthetic data only: background events spread by Census population over three years
(``tests.test_hotspots.null_events``), with clusters planted near a BNG corner of central Leeds.
"""
from __future__ import annotations

import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from core.errors import PeriodError
from geo.crs import BNG
from models.surveillance import ProspectiveScan, recurrence_text
from tests.test_hotspots import null_events

PLANT = (429_150, 432_150)   # a 100 m cell centre in central Leeds
MONTHS = 36                  # null_events' dates: Jan 2023 to Dec 2025
AS_OF = "2025-12"
NULL_SEEDS = range(8)        # a handful here; docs/hotspots.md gives the bench's larger run


def planted(months: list[str], per_month: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``per_month`` events in each of ``months``, on 100 m cell centres within 200 m of PLANT."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in months:
        start = pd.Period(month, "M").start_time
        for _ in range(per_month):
            dx, dy = rng.integers(-2, 3, 2) * 100
            rows.append((start + pd.Timedelta(days=int(rng.integers(0, 28))),
                         PLANT[0] + dx, PLANT[1] + dy))
    frame = pd.DataFrame(rows, columns=["date", "x", "y"])
    return gpd.GeoDataFrame({"date": frame["date"], "feed": "nrm"},
                            geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=BNG)


def with_plant(background: gpd.GeoDataFrame, plant: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.concat([background, plant], ignore_index=True),
                            geometry="geometry", crs=BNG)


@pytest.fixture(scope="module")
def background():
    return null_events(2500, seed=11, months=MONTHS)


@pytest.fixture(scope="module")
def new_cluster(background):
    events = with_plant(background, planted([AS_OF], 12))
    return ProspectiveScan(random_state=0).fit(events, as_of=AS_OF)


def test_a_cluster_of_the_last_month_alone_is_flagged_new_with_its_recurrence(new_cluster):
    alerts = new_cluster.alerts_
    assert alerts.crs.to_epsg() == 4326
    assert len(alerts) >= 1
    top = alerts.iloc[0]
    assert top["new"]
    assert top["end_month"] == AS_OF and top["start_month"] == AS_OF and top["months"] == 1
    assert top["events"] >= 12 and top["relative_risk"] > 3
    # At the replicas' floor: p = 1/1000, once in more than 83 years of monthly analyses.
    assert top["p_value"] == pytest.approx(1 / 1000)
    assert top["recurrence_years"] >= 80
    assert top["recurrence"] == "once in more than 83 years"
    assert "Leeds" in top["districts"] and top["wards"]
    assert top.geometry.contains(gpd.GeoSeries.from_xy([PLANT[0]], [PLANT[1]], crs=BNG)
                                 .to_crs(4326).iloc[0])
    assert len(new_cluster.new_alerts_) == int(alerts["new"].sum())


def test_an_alerts_events_are_the_events_inside_it_in_its_months(background, new_cluster):
    """Each event counted once: the centre cell of a window was counted twice under SciPy 1.17,
    whose distance matrix lists each point's zero distance to itself."""
    events = with_plant(background, planted([AS_OF], 12))
    months = pd.PeriodIndex(events["date"], freq="M")
    for _, alert in new_cluster.alerts_.iterrows():
        in_months = ((months >= pd.Period(alert["start_month"], "M"))
                     & (months <= pd.Period(alert["end_month"], "M")))
        inside = events.to_crs(4326).within(alert.geometry)
        assert alert["events"] == int((inside & in_months).sum())


def test_the_same_cluster_a_month_earlier_is_not_yet_there(background):
    """The analysis sees only what was known at the end of ``as_of``: the December plant does
    not exist for November's analysis."""
    events = with_plant(background, planted([AS_OF], 12))
    model = ProspectiveScan(random_state=0).fit(events, as_of="2025-11")
    assert model.as_of_ == pd.Period("2025-11", "M")
    assert not any("Leeds" in d for d in model.alerts_["districts"]) or model.alerts_.empty


def test_a_cluster_present_for_a_year_is_not_new(background):
    year = [str(p) for p in pd.period_range("2025-01", AS_OF, freq="M")]
    events = with_plant(background, planted(year, 8, seed=3))
    model = ProspectiveScan(random_state=0).fit(events, as_of=AS_OF)
    near = model.alerts_[model.alerts_.to_crs(BNG).distance(
        gpd.GeoSeries.from_xy([PLANT[0]], [PLANT[1]], crs=BNG).iloc[0]) < 500]
    # Still a cluster (it is going on: more this quarter than its three-year share) ...
    assert len(near) == 1 and near.iloc[0]["recurrence_years"] >= 10
    # ... but alerted in last month's analysis already, so not "new" this month.
    assert not near["new"].any()
    assert len(model.previous_alerts_) >= 1 and model.new_alerts_.empty


@pytest.mark.parametrize("seed", NULL_SEEDS)
def test_null_data_rarely_raise_an_alert(seed):
    """Events spread by population, nothing planted: at 10 years (p <= 1/120) an alert should
    come about once in 120 analyses; measured over these seeds (and the bench's larger run,
    docs/hotspots.md) no seed alerts."""
    events = null_events(2500, seed=100 + seed, months=MONTHS)
    model = ProspectiveScan(n_replicas=199, random_state=seed).fit(events, as_of=AS_OF)
    assert model.alerts_.empty, model.alerts_.drop(columns="geometry")
    assert 0 < model.p_value_ <= 1


def test_the_estimator_contract(background, new_cluster):
    model = ProspectiveScan(max_months=2, random_state=0)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        _ = model.new_alerts_
    with pytest.raises(InvalidParameterError):
        ProspectiveScan(n_replicas=5).fit(background, as_of=AS_OF)
    with pytest.raises(ValueError, match="shorter than study_months"):
        ProspectiveScan(max_months=12, study_months=12).fit(background, as_of=AS_OF)
    with pytest.raises(PeriodError, match="not a month"):
        ProspectiveScan().fit(background, as_of="December")
    restored = pickle.loads(pickle.dumps(new_cluster))
    pd.testing.assert_frame_equal(restored.alerts_.drop(columns="geometry"),
                                  new_cluster.alerts_.drop(columns="geometry"))


def test_same_random_state_same_alerts(background):
    events = with_plant(background, planted([AS_OF], 12))
    a = ProspectiveScan(n_replicas=99, random_state=4).fit(events, as_of=AS_OF)
    b = ProspectiveScan(n_replicas=99, random_state=4).fit(events, as_of=AS_OF)
    pd.testing.assert_frame_equal(a.alerts_.drop(columns="geometry"),
                                  b.alerts_.drop(columns="geometry"))


def test_recurrence_in_words():
    assert recurrence_text(41.7) == "once in 42 years"
    assert recurrence_text(83.33, floor=True) == "once in more than 83 years"
    assert recurrence_text(0.5) == "once in 6 months"
