"""The map explorer as an analyst uses it (issue 15, "Analyst (Explore)"): a district filter
draws the other areas as "not selected", zooms to the chosen districts and leaves them out of
the table; the point layers say how many records they leave out; a previous period before the
data shows no change; the heat map has a legend; a clicked area is outlined on the map and its
panel opens beside the map.

The sample store is ``tests.sample_store``'s (see ``tests/test_explore.py``): one record a week
from Mon 2 Jan 2023, districts in turn; 24 NRM referrals and 12 Rosewood episodes.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest

from data.ingest import ingest_file
from geo.boundaries import load_boundaries
from maps.area_layer import NOT_SELECTED_STYLE, area_layer
from maps.cell_layers import heat_legend
from maps.layers import layer_geojson
from maps.legends import HEAT_GRADIENT, NOT_SELECTED, NOT_SELECTED_COLOUR
from tests.apptest import map_args, open_page, serve_store, texts
from tests.sample_store import build_store, scoped_query
from views.explore import NO_CHANGE, NO_COMPARISON, area_details, covered, headline
from views.explore_map import (
    build_map,
    district_bounds,
    legend_html,
    mapped_counts,
    mapped_note,
    selected_counts,
)
from views.viewstate import ExplorerState, to_filter

ROOT = Path(__file__).resolve().parent.parent
EXPLORE = "pages/explore.py"
BRADFORD, LEEDS = "E08000032", "E08000035"
DATA_START = dt.date(2023, 1, 2)
ROWS = {"nrm": 24, "rosewood": 12}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("explore_analyst") / "store", ROWS)


def state(**changes) -> ExplorerState:
    base = {"start": DATA_START, "end": dt.date(2023, 6, 12), "feeds": ("nrm", "rosewood"),
            "level": "ward"}
    return ExplorerState(**{**base, **changes})


def bradford_wards() -> set[str]:
    wards = load_boundaries("ward")
    return set(wards.loc[wards["district_code"] == BRADFORD, "code"])


# -- 1. filtered-out areas -----------------------------------------------------------------
def test_areas_outside_the_chosen_districts_are_drawn_as_not_selected(sample):
    view = state(districts=(BRADFORD,))
    counts = scoped_query(sample).area_counts(view.feeds, "ward", to_filter(view))
    assert len(counts) == 124                           # the query gives every ward ...
    group, legend = area_layer(counts, "ward", selected=view.districts)
    features = layer_geojson(group)["features"]
    inside = bradford_wards()
    assert len(inside) == 30
    outside = [f for f in features if f["id"] not in inside]
    assert len(outside) == 94
    assert {f["properties"]["count"] for f in outside} == {"not selected"}
    assert all(f["properties"]["count"] != "not selected" for f in features
               if f["id"] in inside)
    geojson = next(c for c in group._children.values() if hasattr(c, "style_function"))
    styles = {f["id"]: geojson.style_function(f) for f in features}
    assert all(styles[f["id"]] == NOT_SELECTED_STYLE for f in outside)
    assert NOT_SELECTED_STYLE["fillColor"] == NOT_SELECTED_COLOUR
    assert all(styles[code]["fillColor"] != NOT_SELECTED_COLOUR for code in inside)
    # ... and the legend says what the pale areas are; class breaks rest on Bradford's only.
    assert legend.not_selected == NOT_SELECTED
    html = legend_html(legend)
    assert "Not selected" in html and f"background:{NOT_SELECTED_COLOUR}" in html
    bradford_max = int(counts[counts["code"].isin(inside)]["count"].max())
    assert legend.classes[-1].label.endswith(str(bradford_max))
    # Without a filter nothing is "not selected".
    _, everything = area_layer(counts, "ward")
    assert everything.not_selected is None and "Not selected" not in legend_html(everything)


def test_the_table_holds_the_chosen_districts_areas_only(sample):
    view = state(districts=(BRADFORD,))
    counts = scoped_query(sample).area_counts(view.feeds, "ward", to_filter(view))
    table = selected_counts(counts, view)
    assert set(table["code"]) == bradford_wards() and len(table) == 30
    assert int(table["count"].sum()) == int(counts["count"].sum())   # nothing counted is lost
    assert len(selected_counts(counts, state())) == 124               # no filter: every ward
    districts = state(level="district", districts=(BRADFORD, LEEDS))
    by_district = scoped_query(sample).area_counts(districts.feeds, "district", to_filter(districts))
    assert sorted(selected_counts(by_district, districts)["code"]) == [BRADFORD, LEEDS]


def test_the_map_zooms_to_the_chosen_districts(sample):
    view = state(districts=(BRADFORD,))
    counts = scoped_query(sample).area_counts(view.feeds, "ward", to_filter(view))
    page = build_map(view, counts=counts).map.get_root().render()
    (south, west), (north, east) = district_bounds((BRADFORD,))
    # Bradford lies in the north-west of West Yorkshire.
    assert 53.7 < south < north < 54.0 and -2.1 < west < east < -1.6
    assert page.rindex("fitBounds") > page.index("fitBounds")     # West Yorkshire, then Bradford
    last = page[page.rindex("fitBounds"):][:200]
    assert f"{south}" in last and f"{east}" in last
    whole = build_map(state(), counts=counts).map.get_root().render()
    assert whole.count("fitBounds") == 1


# -- 2. records without a point ------------------------------------------------------------
def test_mapped_counts_say_how_many_records_the_point_layers_leave_out():
    counts = pd.DataFrame({"code": ["a", "b"], "count": pd.array([100, 65], dtype="Int64")})
    cells = pd.DataFrame({"easting": [1.0, 2.0], "northing": [1.0, 2.0], "count": [140, 8]})
    assert mapped_counts(counts, cells, ExplorerState()) == (148, 165)
    assert mapped_note(counts, cells, ExplorerState()) == (
        "Points, heat map and hexagons: 148 of 165 records mapped; 17 have only an area "
        "(counted in the areas)")
    every = cells.assign(count=[100, 65])
    assert mapped_note(counts, every, ExplorerState()) == (
        "Points, heat map and hexagons: all 165 records mapped")
    assert mapped_counts(counts, None, ExplorerState()) is None       # a chair: no such layers
    assert mapped_note(counts, cells.iloc[:0], ExplorerState()).startswith(
        "Points, heat map and hexagons: 0 of 165 records mapped")


def test_a_record_with_only_an_area_is_counted_but_not_mapped(store, valid_file):
    """conftest's NRM file: NRM-3 has an LSOA and no point."""
    ingest_file(valid_file("nrm"), "nrm", store=store)
    analyst = scoped_query(store)
    view = ExplorerState(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31), feeds=("nrm",))
    counts = analyst.area_counts("nrm", "ward", to_filter(view))
    cells = analyst.cell_counts("nrm", to_filter(view))
    assert mapped_counts(counts, cells, view) == (2, 3)
    built = build_map(view, counts=counts, cells=cells)
    assert built.mapped == ("Points, heat map and hexagons: 2 of 3 records mapped; 1 has only "
                            "an area (counted in the areas)")
    assert build_map(view, counts=counts).mapped is None


# -- 3. no change against a period before the data -----------------------------------------
def test_the_all_period_shows_no_change(sample):
    head = headline(scoped_query(sample), state(), data_start=DATA_START)
    assert head.comparison_note == NO_COMPARISON
    assert [(f.count, f.previous, f.previous_display, f.change) for f in head.feeds] == [
        (24, None, NO_CHANGE, None), (12, None, NO_CHANGE, None)]
    # A later period whose previous one the data cover still compares.
    later = state(start=dt.date(2023, 4, 3), end=dt.date(2023, 6, 12))
    compared = headline(scoped_query(sample), later, data_start=DATA_START)
    assert compared.comparison_note == "" and compared.feeds[0].change is not None


def test_protected_roles_compare_whole_months_covered_by_the_data(sample):
    """A chair's previous period is the same number of whole months just before
    (``views.viewstate.previous_period``); the data cover it from the first of their month."""
    chair = scoped_query(sample, "chair")
    may_june = state(start=dt.date(2023, 5, 1), end=dt.date(2023, 6, 30))
    head = headline(chair, may_june, data_start=DATA_START)
    assert head.previous_label == "1 Mar 2023 – 30 Apr 2023"
    assert head.comparison_note == ""
    all_months = headline(chair, state(start=dt.date(2023, 1, 1), end=dt.date(2023, 6, 30)),
                          data_start=DATA_START)
    assert all_months.previous_label == "1 Jul 2022 – 31 Dec 2022"
    assert all_months.comparison_note == NO_COMPARISON
    assert all(f.change is None and f.previous_display == NO_CHANGE for f in all_months.feeds)
    # Whole months: January 2023 is covered for a chair although the data start on the 2nd.
    assert covered((dt.date(2023, 1, 1), dt.date(2023, 2, 28)), DATA_START, whole_months=True)
    assert not covered((dt.date(2023, 1, 1), dt.date(2023, 2, 28)), DATA_START)
    assert covered((dt.date(2020, 1, 1), dt.date(2020, 2, 1)), None)


def test_the_area_panel_shows_no_change_before_the_data(sample):
    view = state(level="district")
    details = area_details(scoped_query(sample), view, LEEDS, data_start=DATA_START)
    assert (details.previous_display, details.change) == (NO_CHANGE, "")
    assert area_details(scoped_query(sample), view, LEEDS).previous_display == "0"   # unknown start


# -- 4. the heat map's legend --------------------------------------------------------------
def test_the_heat_map_has_a_legend_of_its_colours(sample):
    analyst = scoped_query(sample)
    view = state(layer="heat")
    counts = analyst.area_counts(view.feeds, "ward", to_filter(view))
    cells = analyst.cell_counts("nrm", to_filter(view))
    built = build_map(view, counts=counts, cells=cells, note="N")
    legend = built.legend
    assert legend.title == "Heat map: where records concentrate"
    assert [c.colour for c in legend.classes] == list(HEAT_GRADIENT.values())
    assert legend.classes[0].label.startswith("Low") and legend.classes[-1].label.startswith(
        "High")
    assert "relative to the densest place" in legend.note and legend.note.endswith("N")
    html = legend_html(legend)
    assert "Low: few records nearby" in html and "High: the most records" in html
    page = built.map.get_root().render()
    assert '"gradient"' in page and HEAT_GRADIENT[1.0] in page   # the map draws those colours
    assert heat_legend(subject="referrals").title == "Heat map: where referrals concentrate"


# -- the page (AppTest) --------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, sample, tmp_path):
    return serve_store(monkeypatch, sample, tmp_path)


def test_page_with_a_district_filter_exports_its_areas_only(env, deferred_files):
    at = open_page(EXPLORE, "analyst", timeout=60, district=BRADFORD)
    assert "Not selected" in texts(at.main.get("html"))
    button = next(b for b in at.main.get("download_button") if b.label == "Table (CSV)")
    raw = deferred_files.make(button).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(raw.partition("\r\n\r\n")[2])))
    assert len(rows) == 30 and {r["District"] for r in rows} == {"Bradford"}
    assert "Points, heat map and hexagons: all" in texts(at.main.caption)


def test_page_says_there_is_no_comparison_for_the_all_period(env):
    at = open_page(EXPLORE, "analyst", timeout=60)      # the default: every record
    assert all(m.delta in (None, "") for m in at.metric)
    assert f"{NO_COMPARISON}." in texts(at.main.caption)
    later = open_page(EXPLORE, "analyst", timeout=60, **{"from": "2023-04-03"})
    assert any(m.delta for m in later.metric)
    assert "changes against" in texts(later.main.caption)


# -- 5. the clicked area: outlined, its panel beside the map -------------------------------
def test_the_outline_layer_draws_one_area_boldly_and_lets_clicks_through():
    from maps.area_layer import OUTLINE_STYLE, outline_layer
    from views.explore_map import selected_outline

    group = outline_layer("district", LEEDS)
    collection = layer_geojson(group)
    assert [f["id"] for f in collection["features"]] == [LEEDS, LEEDS]   # halo, then line
    styles = [c.style_function(None) for c in group._children.values()]
    assert styles[-1] == OUTLINE_STYLE and OUTLINE_STYLE["weight"] >= 4
    assert all(s["fill"] is False for s in styles)
    assert all(c.options.get("interactive") is False for c in group._children.values())
    assert selected_outline(state(level="district")) is None
    assert selected_outline(state(level="district", area=LEEDS)) is not None
    with pytest.raises(KeyError):
        outline_layer("district", "E05000001")


def test_page_outlines_the_open_area_and_shows_its_panel_beside_the_map(env):
    at = open_page(EXPLORE, "analyst", timeout=60, level="district", area=LEEDS)
    args = map_args(at)
    outline = args["feature_group"]
    assert outline and "map_div.addLayer" in outline and '"weight": 4' in outline
    assert LEEDS in outline
    # The panel's head is in the column beside the map (5 : 2 while it is open), not below.
    beside = [c for c in at.columns if "Leeds" in texts(c.get("subheader"))
              and len(c.get("subheader")) == 1 and c.metric]
    assert len(beside) == 1 and beside[0].weight == pytest.approx(2 / 7)
    beside = beside[0]
    assert any(c.weight == pytest.approx(5 / 7) and c.get("component_instance")
               for c in at.columns)
    assert "Rank:" in texts(beside.markdown)
    assert [m.label for m in beside.metric] == ["Records", "Per 100,000 residents",
                                                "Previous period"]
    # No area open: no outline.
    closed = open_page(EXPLORE, "analyst", timeout=60, level="district")
    assert map_args(closed)["feature_group"] is None


def test_a_not_selected_area_opens_no_panel():
    from views.explore_map import selectable_area

    bradford = state(districts=(BRADFORD,))
    ward = min(bradford_wards())
    leeds_ward = load_boundaries("ward").query("district_code == @LEEDS")["code"].iloc[0]
    assert selectable_area(ward, bradford) == ward
    assert selectable_area(leeds_ward, bradford) is None
    assert selectable_area(leeds_ward, state()) == leeds_ward            # no filter
    by_district = state(level="district", districts=(BRADFORD,))
    assert selectable_area(BRADFORD, by_district) == BRADFORD
    assert selectable_area(LEEDS, by_district) is None
    assert selectable_area(None, bradford) is None


def test_page_with_a_link_to_a_not_selected_area_shows_no_panel(env):
    at = open_page(EXPLORE, "analyst", timeout=60, level="district", district=BRADFORD,
                   area=LEEDS)
    assert not at.main.get("subheader")
    assert "area" not in at.query_params
    assert map_args(at)["feature_group"] is None
