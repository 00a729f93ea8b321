"""The Hotspots page's accuracy check (views.hotspot_accuracy): a rolling-origin backtest on
the store's own recent past, for the viewer's role.

The store is a two-year synthetic build (``data.synthetic``, seed 3, to 30 Sep 2026): planted
hotspots and population-spread records, so the model has something to find and miss.
"""
from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import AccessDenied
from core.filters import EventFilter
from data.synthetic import build_store as build_synthetic
from models.hotspots import HotspotModel, OutsideAreaWarning
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from views import hotspot_accuracy as acc
from views.hotspot_accuracy import (
    MonthScore,
    backtest_months,
    hotspot_accuracy,
    score_month,
    summarise,
)
from views.readable import percent_text

FEEDS = ("nrm", "rosewood", "mandevilla")
END = dt.date(2026, 9, 30)
LEEDS = "E08000035"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ParquetStore:
    root = tmp_path_factory.mktemp("hotspot_accuracy") / "store"
    build_synthetic(root, years=2, seed=3, end=END.isoformat())
    return ParquetStore(root)


@pytest.fixture(scope="module")
def analyst(store):
    return hotspot_accuracy(RoleScopedQuery(store, Principal("ana-acc", "analyst")), FEEDS,
                            EventFilter(end=END))


@pytest.fixture(scope="module")
def chair(store):
    return hotspot_accuracy(RoleScopedQuery(store, Principal("cha-acc", "chair")), FEEDS,
                            EventFilter(end=END))


def stored_points(store, month: pd.Period, filters: EventFilter | None = None) -> pd.DataFrame:
    """Every feed's records of ``month`` with a point, read straight from the store."""
    window = EventFilter(**{**vars(filters or EventFilter()), "start": month.start_time.date(),
                            "end": month.end_time.date()})
    rows = [store.query(feed, window, columns=["longitude", "latitude", "easting"])
            for feed in FEEDS]
    return pd.concat(rows).dropna()


# -- the months ----------------------------------------------------------------------------
def test_the_test_months_are_the_last_whole_months_of_the_period():
    assert [str(m) for m in backtest_months(dt.date(2026, 9, 30))] == [
        "2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    # A period ending mid-month: that month is not whole, so the backtest stops a month earlier.
    assert [str(m) for m in backtest_months(dt.date(2026, 9, 29), 2)] == ["2026-07", "2026-08"]


# -- analysts ------------------------------------------------------------------------------
def test_the_hotspots_hits_are_the_months_records_inside_them(store):
    """Fit the model independently on the 12 months before September 2026 and count the
    September records inside its hotspot polygons: ``score_month`` must agree."""
    month = pd.Period("2026-09", "M")
    query = RoleScopedQuery(store, Principal("ana-acc", "analyst"))
    score = score_month(query, FEEDS, EventFilter(end=END), month)   # not audited alone
    events = acc._events(query, list(FEEDS), EventFilter(start=dt.date(2025, 9, 1),
                                                         end=dt.date(2026, 8, 31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideAreaWarning)
        model = HotspotModel(random_state=0, cross_feed=False, ranking=None).fit(events)
    assert score.hotspots == len(model.hotspots_) > 0
    shapes = shapely.union_all(model.hotspots_.geometry.to_numpy())
    september = stored_points(store, month)
    inside = int(shapely.contains_xy(shapes, september["longitude"].astype(float),
                                     september["latitude"].astype(float)).sum())
    # Geomasked points sit at 100 m cell centres, the stored longitude/latitude elsewhere in
    # the cell: a handful of records on a hotspot's edge may fall either side.
    assert abs(score.model_hits - inside) <= max(3, 0.1 * inside), (score.model_hits, inside)
    assert score.records == pytest.approx(len(september), abs=3)
    expected_share = model.hotspots_.to_crs(27700).area.sum() / 1e6 / model.grid_.area_km2
    assert score.area_share == pytest.approx(expected_share, rel=0.02)


def test_an_analyst_sees_pooled_rates_pai_and_a_plain_sentence(analyst):
    assert analyst.shown and not analyst.protected
    assert analyst.months == ("2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09")
    assert 0 < analyst.area_share < 0.05
    for rate in (analyst.model_hit_rate, analyst.ranking_hit_rate, analyst.kde_hit_rate):
        assert 0 < rate < 1
    assert analyst.model_pai == pytest.approx(analyst.model_hit_rate / analyst.area_share)
    assert analyst.ratio == pytest.approx(analyst.model_hit_rate / analyst.kde_hit_rate)
    sentence = analyst.sentence
    assert sentence.startswith("Over the last 6 months (Apr 2026 – Sep 2026), the places this "
                               "model picked held ")
    assert f"{percent_text(analyst.model_hit_rate)} of the next month's records" in sentence
    assert f"{analyst.ratio:.1f}× what a plain heat map picked on the same area" in sentence
    assert analyst.records > 100
    table = analyst.table()
    assert table["Places picked by"].iloc[0] == "This model's hotspots"
    assert table["PAI"].to_numpy() == pytest.approx(
        [analyst.model_pai, analyst.ranking_pai, analyst.kde_pai])
    # The table's hit rates read as the sentence's do ("44%", not "43.55%").
    rates = [analyst.model_hit_rate, analyst.ranking_hit_rate, analyst.kde_hit_rate]
    assert list(table["Hit rate"]) == [percent_text(r) for r in rates]
    assert f"held {table['Hit rate'].iloc[0]} of the next month's records" in sentence


def test_the_records_are_every_test_months_records(store, analyst):
    months = [pd.Period(m, "M") for m in analyst.months]
    assert analyst.records == pytest.approx(sum(len(stored_points(store, m)) for m in months),
                                            abs=10)


def test_filters_apply_to_every_month(store, analyst):
    leeds = hotspot_accuracy(RoleScopedQuery(store, Principal("ana-leeds", "analyst")), FEEDS,
                             EventFilter(end=END, districts=(LEEDS,)))
    assert 0 < leeds.records < analyst.records
    months = [pd.Period(m, "M") for m in leeds.months]
    assert leeds.records == pytest.approx(
        sum(len(stored_points(store, m, EventFilter(districts=(LEEDS,)))) for m in months),
        abs=10)


def test_each_backtest_is_audited_once(store, analyst):
    entries = read_audit(store, action="view-hotspots")
    mine = entries[(entries["actor"] == "ana-acc")
                   & entries["detail"].astype(str).str.startswith("accuracy backtest")]
    [first] = [row for _, row in mine.iterrows()]
    assert first["detail"] == "accuracy backtest: 6 months to 2026-09"
    assert first["records"] == analyst.records and first["role"] == "analyst"
    filters = first["filters"]
    assert (json.loads(filters) if isinstance(filters, str) else filters)["feeds"] == list(FEEDS)


@pytest.mark.parametrize("role", ["executive", "admin"])
def test_roles_without_hotspots_are_refused(store, role):
    with pytest.raises(AccessDenied, match="may not view hotspots"):
        hotspot_accuracy(RoleScopedQuery(store, Principal(f"{role}-acc", role)), FEEDS,
                         EventFilter(end=END))


# -- protected roles -----------------------------------------------------------------------
def test_a_chair_sees_rates_rounded_to_five_points_and_no_record_count(analyst, chair):
    assert chair.shown and chair.protected and chair.records is None
    for shown, true in ((chair.model_hit_rate, analyst.model_hit_rate),
                        (chair.ranking_hit_rate, analyst.ranking_hit_rate),
                        (chair.kde_hit_rate, analyst.kde_hit_rate)):
        assert round(shown / acc.PROTECTED_STEP, 9) % 1 == 0     # a multiple of 5 points
        assert abs(shown - true) <= acc.PROTECTED_STEP / 2 + 1e-9
    assert chair.area_share == analyst.area_share
    assert "rounded to the nearest 5%" in chair.sentence
    # Rounded one by one, rates a point apart can show 5 points apart: the sentence says so.
    assert "two rates 5 points apart may not differ at all" in chair.sentence
    assert "may not differ" not in analyst.sentence
    assert str(analyst.records) not in chair.sentence


def test_a_chair_sees_no_figure_when_the_test_months_hold_too_few_records(store, monkeypatch):
    monkeypatch.setattr(acc, "MIN_RECORDS_PER_K", 10_000)
    hidden = hotspot_accuracy(RoleScopedQuery(store, Principal("cha-acc", "chair")), FEEDS,
                              EventFilter(end=END))
    assert not hidden.shown and np.isnan(hidden.model_hit_rate) and hidden.records is None
    assert "not shown for these filters" in hidden.sentence
    assert "%" not in hidden.sentence


def test_summary_pools_the_months_and_rounds_for_protected_roles():
    scores = [MonthScore("2026-08", 40, 0.01, 3, 10, 12, 8),
              MonthScore("2026-09", 60, 0.03, 4, 20, 21, 16)]
    pooled = summarise(scores)
    assert pooled.model_hit_rate == pytest.approx(30 / 100)
    assert pooled.kde_hit_rate == pytest.approx(24 / 100)
    assert pooled.area_share == pytest.approx(0.02)
    assert pooled.model_pai == pytest.approx(15.0)
    assert pooled.ratio == pytest.approx(1.25)
    assert "held 30% of the next month's records on 2% of West Yorkshire's area — 1.2×" \
        in pooled.sentence and "better than the heat map" in pooled.sentence
    protected = summarise(scores, protected=True, k=5)   # 100 records = 20 × k: shown
    assert protected.shown and protected.kde_hit_rate == pytest.approx(0.25)
    assert not summarise(scores, protected=True, k=6).shown  # 100 < 20 × 6
    nothing = summarise([MonthScore("2026-09", 50, 0.0, 0, 0, 0, 0)])
    assert "found no hotspot" in nothing.sentence
    assert not nothing.shown  # no table of 0% and blank PAIs under that sentence
