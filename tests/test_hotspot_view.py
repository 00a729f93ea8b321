"""Hotspots for a role (views.hotspots) and their map layer (maps.hotspot_layer).

The store (``tests.sample_store``, 36 NRM, 30 Rosewood, 24 Mandevilla rows) puts every record
within ~150 m of one of the five district town centres, a handful of 100 m cells each: five
hotspots by construction, one per district, each holding its district's records.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import AccessDenied
from core.filters import EventFilter
from geo.boundaries import DISTRICT_CODES
from maps.hotspot_layer import (
    hotspot_bounds,
    hotspot_features,
    hotspot_layer,
    hotspot_map,
)
from maps.layers import layer_geojson
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from safeguards.disclosure import threshold_for
from tests import hotspot_fixtures
from views.hotspots import (
    explain,
    fit_hotspots,
    monthly_chart,
    monthly_frame,
    ranked_table,
)

ROWS, FEEDS = hotspot_fixtures.ROWS, hotspot_fixtures.FEEDS
store, analyst_view, chair_view = hotspot_fixtures.FIVE_HOTSPOTS   # tests/hotspot_fixtures.py
LEEDS = "E08000035"
POINT_COLUMNS = {"easting", "northing", "longitude", "latitude", "event_date", "record_id",
                 "person_ref", "lsoa_code"}


def points_inside(store, polygon, feeds=FEEDS, filters=None) -> dict[str, int]:
    """Stored records of each feed inside ``polygon`` (WGS84), counted independently."""
    out = {}
    for feed in feeds:
        rows = store.query(feed, filters, columns=["longitude", "latitude"]).dropna()
        out[feed] = int(shapely.contains_xy(polygon, rows["longitude"], rows["latitude"]).sum())
    return out


# -- analysts ------------------------------------------------------------------------------
def test_one_hotspot_per_district_with_the_records_inside_it(store, analyst_view):
    hotspots = analyst_view.hotspots
    assert hotspots.crs.to_epsg() == 4326
    assert sorted(d for ds in hotspots["districts"] for d in ds) == sorted(DISTRICT_CODES.values())
    assert hotspots["rank"].tolist() == [1, 2, 3, 4, 5]
    assert (hotspots["p_value"] <= 0.05).all()
    assert (hotspots["relative_risk"] > 1).all()
    for _, row in hotspots.iterrows():
        inside = points_inside(store, row.geometry)
        assert [row[f"events_{f}"] for f in FEEDS] == [inside[f] for f in FEEDS]
        assert row["events"] == sum(inside.values()) == int(row["events_display"])
        assert row["place"].endswith(f"({row['districts'][0]})")
    # Nearly every record is in a hotspot (a point at the edge of its cluster may not be).
    assert hotspots["events"].sum() >= 0.9 * sum(ROWS.values())
    assert analyst_view.n_events == sum(ROWS.values()) and analyst_view.n_outside == 0
    assert not analyst_view.suppressed and analyst_view.threshold == 1


def test_monthly_counts_add_up_to_each_hotspot(analyst_view):
    for hotspot_id, events in zip(analyst_view.ids, analyst_view.hotspots["events"]):
        months = monthly_frame(analyst_view, hotspot_id)
        assert months["count"].sum() == events
        # Every month of the data's period, Jan to Sep 2023 (36 weekly rows from 2 Jan).
        assert months["month"].dt.strftime("%Y-%m").tolist() == [f"2023-{m:02d}"
                                                                for m in range(1, 10)]


def test_the_fit_is_deterministic(store, analyst_view):
    again = fit_hotspots(RoleScopedQuery(store, Principal("ana", "analyst")), FEEDS)
    pd.testing.assert_frame_equal(pd.DataFrame(again.hotspots.drop(columns="geometry")),
                                  pd.DataFrame(analyst_view.hotspots.drop(columns="geometry")))
    assert again.hotspots.geometry.geom_equals(analyst_view.hotspots.geometry).all()


def test_filters_apply_before_the_fit(store):
    query = RoleScopedQuery(store, Principal("ana", "analyst"))
    leeds = fit_hotspots(query, FEEDS, EventFilter(districts=(LEEDS,)))
    assert [ds for ds in leeds.hotspots["districts"]] == [["Leeds"]]
    # Rows i = 3, 8, 13, ... of each feed: 7 NRM, 6 Rosewood, 5 Mandevilla.
    assert leeds.n_events == 18 and leeds.hotspots["events"].tolist() == [18]
    # NRM alone in Leeds: 7 records, fewer than the 10 a hotspot needs.
    nrm = fit_hotspots(query, ["nrm"], EventFilter(districts=(LEEDS,)))
    assert nrm.hotspots.empty and nrm.n_events == 7
    assert nrm.feeds == ("nrm",) and "events_rosewood" not in nrm.hotspots
    empty = fit_hotspots(query, FEEDS, EventFilter(start=dt.date(2025, 1, 1)))
    assert empty.hotspots.empty and empty.monthly.empty and empty.n_events == 0
    assert ranked_table(empty).empty


def test_no_point_level_row_leaves(analyst_view, chair_view):
    for view in (analyst_view, chair_view):
        assert not POINT_COLUMNS & set(view.hotspots.columns)
        assert set(view.monthly.columns) == {"hotspot_id", "month", "count", "display"}
        assert (view.hotspots.geom_type.isin(["Polygon", "MultiPolygon"])).all()
        # Pickled (what st.cache_data keeps), it is a handful of polygons, not 90 events.
        payload = pickle.dumps(view)
        assert len(payload) < 60_000
        assert b"HotspotModel" not in payload and b"labels_" not in payload


def test_fits_are_audited_with_filters_and_records(store):
    fit_hotspots(RoleScopedQuery(store, Principal("auditee", "analyst")), FEEDS)
    entries = read_audit(store, action="view-hotspots")
    [mine] = [row for _, row in entries.iterrows() if row["actor"] == "auditee"]
    assert mine["records"] == 90 and mine["role"] == "analyst"
    filters = mine["filters"]
    assert (json.loads(filters) if isinstance(filters, str) else filters)["feeds"] == list(FEEDS)
    assert mine["detail"] == "5 hotspots"


# -- chairs: suppression -------------------------------------------------------------------
def published_in_wards(store, feed: str, wards) -> tuple[int, int]:
    """Published and true records of ``feed`` in ``wards``, from the atoms directly."""
    from safeguards.publication import build_publication

    atoms = build_publication(store, feed).atoms
    inside = atoms["ward_code"].isin(list(wards)).to_numpy()
    return int(atoms.loc[inside, "published"].sum()), int(atoms.loc[inside, "count"].sum())


def test_a_chair_sees_the_wards_of_each_hotspot_as_published_sums(store, analyst_view,
                                                                 chair_view):
    """Issue 12: counts inside the model's cells could be differenced between fits; a chair
    sees the records of the wards each hotspot covers, sums of published atoms."""
    from views.hotspots import covered_wards

    assert chair_view.suppressed and chair_view.wards_based and chair_view.threshold == 10
    hidden = chair_view.hotspots
    assert hidden["hotspot_id"].tolist() == analyst_view.hotspots["hotspot_id"].tolist()
    sets = covered_wards(analyst_view.hotspots)
    for _, row in hidden.iterrows():
        wards = sets[int(row["hotspot_id"])]
        total = 0
        for feed in FEEDS:
            value, records = published_in_wards(store, feed, wards)
            total += value
            k = threshold_for(feed)
            expected = "0" if records == 0 else f"<{k}" if value < k else str(value)
            assert row[f"display_{feed}"] == expected, (feed, row[f"display_{feed}"], expected)
        assert row["events_display"] == (str(total) if total >= 10 else "<10")
        if total >= 10:
            assert row["relative_risk"] == pytest.approx(total / row["expected"])
    # Nothing below k is shown as a number, monthly series included.
    for _, m in chair_view.monthly.iterrows():
        assert m["display"] == "0" or m["display"] == "<10" or int(m["display"]) >= 10
        assert pd.isna(m["count"]) == (m["display"] == "<10")
    assert "wards" in explain(chair_view, chair_view.ids[0])


def test_a_stricter_threshold_hides_totals_and_risk(store, monkeypatch):
    for feed in FEEDS:
        monkeypatch.setenv(f"DISCLOSURE_THRESHOLD_{feed.upper()}", "25")
    from safeguards import publication
    publication._cache.clear()   # the thresholds are part of the publication
    view = fit_hotspots(RoleScopedQuery(store, Principal("cha", "chair")), FEEDS)
    hotspots = view.hotspots
    assert view.threshold == 25
    small = hotspots["events"].isna()
    assert small.any(), "the test store's hotspots should have fewer than 25 records somewhere"
    assert (hotspots.loc[small, "events_display"] == "<25").all()
    assert hotspots.loc[small, "relative_risk"].isna().all()   # it would give the count back
    assert ranked_table(view).loc[small.to_numpy(), "Relative risk"].isna().all()
    assert view.monthly["count"].isna().sum() > 0
    assert (view.monthly.loc[view.monthly["count"].isna(), "display"] == "<25").all()


@pytest.mark.parametrize("role", ["executive", "admin"])
def test_other_roles_are_refused_and_the_refusal_audited(store, role):
    with pytest.raises(AccessDenied, match="may not view hotspots"):
        fit_hotspots(RoleScopedQuery(store, Principal(f"{role}-user", role)), FEEDS)
    denied = read_audit(store, action="access-denied")
    assert (denied["actor"] == f"{role}-user").any()
    assert not (read_audit(store, action="view-hotspots")["actor"] == f"{role}-user").any()


def test_bad_feeds_are_refused(store):
    query = RoleScopedQuery(store, Principal("ana", "analyst"))
    with pytest.raises(ValueError, match="at least one feed"):
        fit_hotspots(query, [])
    with pytest.raises(ValueError):
        fit_hotspots(query, ["immigration"])


def test_explain_and_chart_describe_the_hotspot(analyst_view):
    first = analyst_view.ids[0]
    row = analyst_view.row(first)
    text = explain(analyst_view, first)
    expected = "under 0.1" if row["expected"] < 0.05 else f"{row['expected']:,.1f}"
    assert text.startswith(f"{row['events']} events where {expected} would be")
    assert "p-value" in text and "Trend:" in text
    spec = monthly_chart(analyst_view, first).to_dict()
    assert len(spec["datasets"][next(iter(spec["datasets"]))]) == 9
    with pytest.raises(KeyError):
        analyst_view.row(999)


def test_explain_never_says_zero_would_be_expected(analyst_view):
    """A tiny expected count printed to one decimal read "0.0 would be expected", as if
    none; it says "under 0.1"."""
    first = analyst_view.ids[0]
    hotspots = analyst_view.hotspots.copy()
    hotspots.loc[hotspots["hotspot_id"] == first, "expected"] = 0.03
    view = dataclasses.replace(analyst_view, hotspots=hotspots)
    assert "events where under 0.1 would be expected" in explain(view, first)
    hotspots.loc[hotspots["hotspot_id"] == first, "expected"] = 0.06
    view = dataclasses.replace(analyst_view, hotspots=hotspots)
    assert "events where 0.1 would be expected" in explain(view, first)


# -- the map layer ---------------------------------------------------------------------------
def test_layer_escapes_every_text_and_marks_the_selected_hotspot(analyst_view):
    hotspots = analyst_view.hotspots.copy()
    hotspots.loc[0, "place"] = '<img src=x onerror=alert(1)> {{ 7*7 }}'
    layer = hotspot_layer(hotspots, selected=int(hotspots.loc[1, "hotspot_id"]))
    features = layer_geojson(layer)["features"]
    assert len(features) == len(hotspots)
    place = features[0]["properties"]["place"]
    assert "<img" not in place and "&lt;img" in place and "{{" not in place
    assert [f["properties"]["selected"] for f in features] == [False, True, False, False, False]
    assert features[0]["properties"]["p"] == "0.010"
    rendered = hotspot_map(hotspots, selected=int(hotspots.loc[1, "hotspot_id"])) \
        .get_root().render()
    assert "<img src=x" not in rendered and "49" not in place
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "code.jquery"):
        assert cdn not in rendered


def test_hidden_figures_show_as_hidden_in_the_tooltip(store, monkeypatch):
    for feed in FEEDS:
        monkeypatch.setenv(f"DISCLOSURE_THRESHOLD_{feed.upper()}", "40")
    view = fit_hotspots(RoleScopedQuery(store, Principal("cha", "chair")), FEEDS)
    assert len(view.hotspots) == 5
    props = [f["properties"] for f in hotspot_features(view.hotspots)]
    assert {p["events"] for p in props} == {"&lt;40"} and {p["risk"] for p in props} == {"hidden"}


def test_bounds_zoom_to_one_hotspot(analyst_view):
    hotspots = analyst_view.hotspots
    first = int(hotspots.loc[0, "hotspot_id"])
    (south, west), (north, east) = hotspot_bounds(hotspots, first)
    shape = hotspots.loc[0, "geometry"]
    assert south < shape.bounds[1] and north > shape.bounds[3]
    assert west < shape.bounds[0] and east > shape.bounds[2]
    assert north - south < 0.05                       # a few hundred metres, not the county
    empty = gpd.GeoDataFrame(hotspots.iloc[:0])
    assert hotspot_bounds(empty)[0][0] == pytest.approx(53.5198)
    with pytest.raises(ValueError, match="HotspotView"):
        hotspot_layer(gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)]))
    assert np.isfinite(hotspot_bounds(hotspots)).all()
