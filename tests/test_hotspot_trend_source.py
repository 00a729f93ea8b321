"""A protected role's hotspot trend class comes from the figures its chart shows (issue 13 gap).

The model classifies the records inside its own 300 m cells; a chair's chart beside the class
draws the published monthly records of the wards the hotspot covers. Both used to be shown, so
the class could say "intensifying" beside a flat chart. For a protected role the class is now
worked out from the chart's own figures (``views.hotspot_notes.chart_trend``); analysts keep
the model's class (their chart is the model's cells).

The store is ``tests.alert_store``'s: 36 months of NRM referrals spread by population, and a
cluster planted in central Leeds in its last month (December 2025).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import models.hotspot_frame
from core import trends
from core.filters import EventFilter
from geo.boundaries import load_boundaries
from safeguards.access import Principal, RoleScopedQuery
from tests import hotspot_fixtures
from views.hotspot_notes import chart_trend
from views.hotspots import covered_wards, fit_hotspots, monthly_frame

SENTINEL = "model's own class"


store = hotspot_fixtures.alert_store


@pytest.fixture(scope="module")
def views(store):
    """An analyst's and a chair's hotspots, with the model's class replaced by a sentinel: what
    still reads it shows the sentinel."""
    real = trends.classify

    class ModelTrends:
        @staticmethod
        def classify(*args, **kwargs):
            return dataclasses.replace(real(*args, **kwargs), category=SENTINEL)

    patch = pytest.MonkeyPatch()
    patch.setattr(models.hotspot_frame, "trends", ModelTrends)
    try:
        return {role: fit_hotspots(RoleScopedQuery(store, Principal(role[:3], role)), ["nrm"])
                for role in ("analyst", "chair")}
    finally:
        patch.undo()


def test_an_analyst_keeps_the_models_class(views):
    assert len(views["analyst"].hotspots) >= 1
    assert set(views["analyst"].hotspots["trend"]) == {SENTINEL}


def test_a_chairs_class_is_the_class_of_the_chart_beside_it(store, views):
    """Recomputed here from the chart's figures (``monthly_frame``: what the chart draws) and
    each month's county total read on its own (the district × feed table)."""
    chair = views["chair"]
    assert len(chair.hotspots) >= 1
    assert SENTINEL not in set(chair.hotspots["trend"])
    query = RoleScopedQuery(store, Principal("cha", "chair"))
    population = load_boundaries("ward").set_index("code")["population"].astype(float)
    months = pd.period_range("2023-01", "2025-12", freq="M")
    county = np.array([float(query.district_feed_table(EventFilter(
        start=m.start_time.date(), end=m.end_time.date())).counts.loc["Total", "nrm"])
        for m in months])
    analyst_sets = covered_wards(views["analyst"].hotspots)
    for row in chair.hotspots.itertuples(index=False):
        chart = monthly_frame(chair, row.hotspot_id)
        assert len(chart) == len(months) == row.trend_months and row.trend_to == "2025-12"
        shown = pd.array(chart["count"], dtype="Float64")
        share = population.reindex(analyst_sets[int(row.hotspot_id)]).sum() / population.sum()
        expected = county * share
        values = np.where(shown.isna(), expected, shown.to_numpy(float, na_value=0.0))
        assert row.trend == trends.classify(values, expected).category


def test_the_planted_cluster_reads_new_on_its_chart(views):
    """December's cluster: the chair's chart jumps in its last month, and its class says so."""
    chair = views["chair"]
    leeds = chair.hotspots[chair.hotspots["place"].str.endswith("(Leeds)")]
    assert len(leeds) >= 1
    row = leeds.iloc[0]
    chart = monthly_frame(chair, row["hotspot_id"])
    last, before = chart["count"].iloc[-1], chart["count"].iloc[:-1]
    assert pd.notna(last) and last > before.dropna().max()
    assert row["trend"] == "new"


def test_a_hidden_month_is_taken_as_expected():
    """The class never rests on a hidden figure: whatever a hidden month held (1 to k-1), the
    class is the same; a shown month of the same size can change it."""
    county = np.full(12, 200.0)
    quiet = [2] * 11
    hidden = pd.array([*quiet, None], dtype="Int64")
    assert chart_trend(hidden, county, 0.01) == "no pattern"
    assert chart_trend(pd.array([*quiet, 9], dtype="Int64"), county, 0.01) == "new"
    assert chart_trend(pd.array(quiet + [None], dtype="Int64"), county, 0.01) == \
        chart_trend(pd.array(quiet + [2], dtype="Int64"), county, 0.01)
