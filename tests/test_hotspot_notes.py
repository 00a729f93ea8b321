"""The Hotspots page explains itself (issue 13 item 8): what ranks the hotspots, hotspots
sharing a ward, hidden monthly counts said in words, and the map's rank labels, legend and
selected outline.

The store is ``tests.sample_store``'s (36 NRM, 30 Rosewood, 24 Mandevilla rows around the
five town centres): five hotspots, one per district (``tests/test_hotspot_view.py``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest
import shapely

from maps.hotspot_layer import (
    SELECTED_OUTLINE,
    HotspotLegend,
    hotspot_bounds,
    hotspot_map,
)
from safeguards.access import Principal, RoleScopedQuery
from tests import hotspot_fixtures
from ui.hotspot_loaders import map_key
from views.hotspot_notes import (
    COVERAGE_HELP,
    RANKED_BY,
    RANKED_BY_PROTECTED,
    coverage_help,
    coverage_note,
    monthly_chart_shown,
    monthly_note,
    ranking_note,
    shared_wards,
)
from views.hotspots import explain, fit_hotspots, ranked_table
from views.readable import percent_text
from views.viewstate import ExplorerState

ROWS, FEEDS = hotspot_fixtures.ROWS, hotspot_fixtures.FEEDS
store, analyst_view, chair_view = hotspot_fixtures.FIVE_HOTSPOTS   # tests/hotspot_fixtures.py


def with_a_shared_ward(view):
    """``view`` with rank 2's first ward added to rank 1's wards (as a large ward holding two
    hotspots gives)."""
    hotspots = view.hotspots.copy()
    ward = hotspots["wards"].iloc[1][0]
    hotspots.at[hotspots.index[0], "wards"] = [*hotspots["wards"].iloc[0], ward]
    return dataclasses.replace(view, hotspots=hotspots), ward


# -- what ranks them -----------------------------------------------------------------------
def test_an_analyst_sees_the_statistic_the_rank_follows(analyst_view):
    table = ranked_table(analyst_view)
    assert table["Rank"].tolist() == [1, 2, 3, 4, 5]
    strength = table["Strength"].to_numpy()
    assert np.all(np.diff(strength) <= 0), strength          # rank 1 = strongest
    assert np.all(np.diff(table["p-value"].to_numpy()) >= 0)  # the p-value follows the rank
    assert ranking_note(analyst_view) == RANKED_BY
    assert "log-likelihood ratio" in RANKED_BY and "relative risk" in RANKED_BY


def test_a_chair_is_told_what_ranks_them_without_the_statistic(chair_view):
    table = ranked_table(chair_view)
    assert "Strength" not in table.columns
    assert chair_view.hotspots["llr"].isna().all()
    assert ranking_note(chair_view) == RANKED_BY_PROTECTED
    assert np.all(np.diff(table["p-value"].to_numpy()) >= 0)


# -- a ward in two hotspots ----------------------------------------------------------------
def test_no_ward_is_shared_when_the_hotspots_are_apart(analyst_view):
    assert all(not wards for wards in shared_wards(analyst_view).values())
    assert (ranked_table(analyst_view)["Shares a ward with"] == "").all()


def test_a_ward_in_two_hotspots_is_shown_in_both_rows_and_explained(analyst_view, chair_view):
    view, ward = with_a_shared_ward(analyst_view)
    first, second = view.ids[:2]
    assert shared_wards(view)[first] == {ward: [2]}
    assert shared_wards(view)[second] == {ward: [1]}
    assert ranked_table(view)["Shares a ward with"].tolist()[:3] == ["2", "1", ""]
    assert f"{ward} is also in hotspot 2: the ward is large enough to hold both." \
        in explain(view, first)
    protected, ward = with_a_shared_ward(chair_view)
    assert f"{ward} is also in hotspot 1: its records count in both." \
        in explain(protected, protected.ids[1])


# -- hidden monthly counts -----------------------------------------------------------------
def test_an_analyst_gets_the_chart_and_no_note(analyst_view):
    for hid in analyst_view.ids:
        assert monthly_chart_shown(analyst_view, hid)
        assert monthly_note(analyst_view, hid) is None


def test_a_chair_whose_months_are_all_hidden_gets_a_sentence_not_an_empty_chart(chair_view):
    for hid in chair_view.ids:
        counts = chair_view.monthly.loc[chair_view.monthly["hotspot_id"] == hid, "count"]
        assert not (counts.fillna(0) > 0).any()         # nothing a chart could draw
        assert not monthly_chart_shown(chair_view, hid)
        hidden = int(counts.isna().sum())
        assert monthly_note(chair_view, hid) == (
            f"Monthly counts are hidden for this hotspot: {hidden} of {len(counts)} months have "
            "fewer than 10 records in the wards it covers (shown as <10), the other months "
            "none, so there is no chart to draw.")


def test_some_hidden_months_are_said_under_the_chart(chair_view):
    hid = chair_view.ids[0]
    monthly = chair_view.monthly.copy()
    first = monthly.index[monthly["hotspot_id"] == hid][0]
    monthly["count"] = monthly["count"].astype("Int64")
    monthly.loc[first, ["count", "display"]] = [12, "12"]
    view = dataclasses.replace(chair_view, monthly=monthly)
    assert monthly_chart_shown(view, hid)
    hidden = int(monthly.loc[monthly["hotspot_id"] == hid, "count"].isna().sum())
    assert monthly_note(view, hid).startswith(f"{hidden} of ")
    assert "left out of the chart" in monthly_note(view, hid)


# -- the map -------------------------------------------------------------------------------
def test_the_map_zooms_to_and_outlines_the_selected_hotspot(analyst_view):
    selected = analyst_view.ids[2]
    m = hotspot_map(analyst_view.hotspots, selected=selected, labels=True, legend=True)
    [outline] = [child for child in m._children.values()
                 if getattr(child, "layer_name", None) == "Selected hotspot"]
    [shape] = list(outline._children.values())
    assert shape.options["interactive"] is False          # hover still reaches the hotspot
    feature = shape.data["features"][0]
    assert shape.style_function(feature) == SELECTED_OUTLINE
    expected = analyst_view.hotspots.loc[analyst_view.hotspots["hotspot_id"] == selected,
                                         "geometry"].iloc[0]
    assert shapely.geometry.shape(feature["geometry"]).equals_exact(expected, 1e-4)
    html = m.get_root().render()
    zoom = json.dumps(hotspot_bounds(analyst_view.hotspots, selected))
    assert zoom in html                                       # fitBounds to the hotspot
    assert "Selected hotspot (black outline)" in html
    assert "wy-hotspot-legend" in html and "Hotspot (number: its rank)" in html
    for rank in range(1, 6):
        assert f"Hotspot rank {rank}" in html
    plain = hotspot_map(analyst_view.hotspots, labels=True, legend=True).get_root().render()
    assert zoom not in plain and "Selected hotspot" not in plain


def test_the_legend_escapes_its_labels():
    legend = HotspotLegend([("#fff", "#000", "<b>x</b> {{ y }}")])
    assert "<b>" not in legend.html and "&lt;b&gt;" in legend.html
    assert "{{" not in legend.html


def test_the_map_key_changes_with_the_selection_and_the_filters():
    state = ExplorerState(start=dt.date(2023, 1, 1), end=dt.date(2023, 9, 30), feeds=FEEDS)
    other = dataclasses.replace(state, feeds=("nrm",))
    keys = {map_key(state, None), map_key(state, 3), map_key(state, 4), map_key(other, 3)}
    assert len(keys) == 4
    assert map_key(state, 3) == map_key(state, 3)


# -- the area budget, said on the page (issue 13 item 2) -------------------------------------
def test_the_page_says_how_much_of_the_county_the_hotspots_cover(analyst_view, chair_view):
    from geo.boundaries import load_boundaries
    from geo.crs import BNG

    land_km2 = load_boundaries("district").to_crs(BNG).area.sum() / 1e6
    for view in (analyst_view, chair_view):
        covered = view.hotspots.to_crs(BNG).union_all().area / 1e6
        assert view.max_area == 0.03 and 0 < view.area_share <= view.max_area
        # The model's land area is the populated grid's, within a few % of the districts'.
        assert abs(view.area_share * land_km2 / covered - 1) < 0.1
        assert coverage_note(view) == (f"The {len(view.hotspots)} hotspots cover "
                                       f"{percent_text(view.area_share)} of West Yorkshire, "
                                       "within the list's limit of 3%.")
        assert coverage_help(view).startswith("The list is limited to a share of West Yorkshire")


def test_places_the_area_budget_leaves_out_are_counted_and_said(store):
    query = RoleScopedQuery(store, Principal("ana", "analyst"))
    unbounded = fit_hotspots(query, FEEDS, max_area=None)
    assert unbounded.left_out == 0 and coverage_note(unbounded).endswith("(no area limit).")
    assert coverage_help(unbounded) == ""   # no limit to explain
    shares = sorted(unbounded.hotspots["area_km2"] / unbounded.hotspots["area_km2"].sum()
                    * unbounded.area_share)
    # Room for the smallest hotspots but not the largest: the largest are left out, and the
    # smaller ones after them are still kept (the budget skips what does not fit).
    bounded = fit_hotspots(query, FEEDS, max_area=shares[0] + shares[1] + 1e-6)
    assert 1 <= len(bounded.hotspots) < len(unbounded.hotspots)
    assert len(bounded.hotspots) + bounded.left_out == len(unbounded.hotspots)
    assert bounded.area_share <= bounded.max_area
    places = "place was" if bounded.left_out == 1 else "places were"
    kept = ("The hotspot covers" if len(bounded.hotspots) == 1
            else f"The {len(bounded.hotspots)} hotspots cover")
    assert coverage_note(bounded) == (
        f"{kept} {percent_text(bounded.area_share)} of West Yorkshire, within the list's limit "
        f"of {percent_text(bounded.max_area)}; {bounded.left_out} more significant {places} "
        "left out to stay within it.")
    assert "weaker one that still fits is kept" in coverage_help(bounded)
    nothing_fits = fit_hotspots(query, FEEDS, max_area=1e-7)
    assert nothing_fits.hotspots.empty and nothing_fits.left_out == len(unbounded.hotspots)
    assert coverage_note(nothing_fits) == (
        "No hotspot fits within the list's limit of under 0.1% of West Yorkshire: "
        f"{nothing_fits.left_out} significant places were found, each larger than that.")
    assert coverage_help(nothing_fits) == COVERAGE_HELP
    no_hotspot = dataclasses.replace(unbounded, hotspots=unbounded.hotspots.iloc[:0],
                                     area_share=0.0, max_area=0.03)
    assert coverage_note(no_hotspot) == coverage_help(no_hotspot) == ""   # nothing to say


def test_shares_are_said_as_people_say_them():
    """One percent formatter for the Hotspots page (its coverage note and its accuracy
    check): one decimal only below 10%, where it matters, never a bare ".0"."""
    assert [percent_text(x) for x in (0.03, 0.029, 0.0296, 0.0994, 0.0995, 0.1234, 0.3)] == \
        ["3%", "2.9%", "3%", "9.9%", "10%", "12%", "30%"]
    # A tiny share is not rounded to nothing, nor a share short of all to everything.
    assert [percent_text(x) for x in (0.0, 0.0004, 0.00099, 0.001, 0.9996, 1.0)] == \
        ["0%", "under 0.1%", "under 0.1%", "0.1%", "over 99%", "100%"]
    assert percent_text(float("nan")) == percent_text(None) == "—"
    for bad in (-0.01, 1.5, "a third"):
        with pytest.raises(ValueError, match="a share must be"):
            percent_text(bad)
