"""The explorer's twin map, month by month and place search (issue 15, "Analyst (Explore)").

The store is ``tests.sample_store``'s (see ``tests/test_explore.py``): one record a week from
Mon 2 Jan 2023, districts in turn (Bradford, Calderdale, Kirklees, Leeds, Wakefield); 24 NRM
referrals (to 12 Jun 2023) and 12 Rosewood episodes (to 20 Mar 2023). By district over the
whole period: NRM 5, 5, 5, 5, 4; Rosewood 3, 3, 2, 2, 2.
"""
from __future__ import annotations

import datetime as dt
import json

import folium
import numpy as np
import pytest

from maps.fixed_breaks import fixed_breaks
from safeguards.audit import read_audit
from tests import explore_fixtures
from tests.apptest import open_page, serve_store
from tests.sample_store import scoped_query
from views.explore_frames import frame_counts, frame_map, frame_title, month_frames
from views.explore_options import (
    ExploreOptions,
    options_from_params,
    options_to_params,
    period_months,
)
from views.explore_twin import build_twin, twin_counts, twin_table
from views.place_search import (
    find_place,
    place_by_code,
    place_labels,
    places,
    safe_text,
)
from views.viewstate import ExplorerState

EXPLORE = "pages/explore.py"
ROWS = explore_fixtures.ROWS
store = explore_fixtures.store   # the weekly sample store (tests/explore_fixtures.py)
BRADFORD, LEEDS = "E08000032", "E08000035"
KIRKSTALL = "E05011402"
LEEDS_001A = "E01011698"   # an LSOA of Leeds (Wetherby ward by best fit)
WHOLE = ExplorerState(start=dt.date(2023, 1, 2), end=dt.date(2023, 6, 12),
                      feeds=("nrm", "rosewood"), level="district")


def fills(m: folium.Map) -> dict[str, str]:
    """code -> fill colour of the areas layer of a map built here."""
    out = {}
    for element in _walk(m):
        if isinstance(element, folium.GeoJson) and element.style_function is not None:
            for feature in element.data["features"]:
                style = element.style_function(feature)
                if "fillColor" in style and "id" in feature:
                    out[feature["id"]] = style["fillColor"]
    return out


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


# -- shared breaks ---------------------------------------------------------------------------
def test_fixed_breaks_colour_one_value_alike_on_every_map():
    breaks = fixed_breaks([np.array([0, 1, 2, 3]), np.array([10, 20, 40])], n_classes=4)
    assert breaks.classes[0].label.startswith("0") and breaks.classes[-1].label.endswith("40")
    # The same value gets the same class whichever map it is on; the top value the top class.
    assert breaks.index([3]).tolist() == breaks.index(np.array([3.0])).tolist()
    assert breaks.index([40]).tolist() == [len(breaks.bounds) - 1]
    assert list(breaks.index([0, 40])) == [0, len(breaks.classes) - 1]


def test_twin_map_uses_breaks_over_both_feeds(store):
    left, right = twin_counts(scoped_query(store), WHOLE, "nrm", "rosewood")
    assert sorted(left["count"].tolist()) == [4, 5, 5, 5, 5]
    assert sorted(right["count"].tolist()) == [2, 2, 2, 3, 3]
    twin = build_twin(WHOLE, "nrm", "rosewood", left, right)
    # One legend over both: 2 to 5 in four classes (each map alone would have two).
    assert [c.label for c in twin.legend.classes] == ["2", "3", "4", "5"]
    assert "Same classes on both maps" in twin.legend.note
    colour = {c.label: c.colour for c in twin.legend.classes}
    by_value = {code: str(n) for code, n in zip(right["code"], right["count"])}
    right_fill = fills(twin.right)
    assert {right_fill[code] for code, n in by_value.items() if n == "3"} == {colour["3"]}
    left_fill = fills(twin.left)
    assert {left_fill[c] for c, n in zip(left["code"], left["count"]) if n == 5} == \
        {colour["5"]}
    assert colour["5"] != colour["3"]      # own breaks would colour NRM 5 and Rosewood 3 alike
    # Same bounds: neither map is fitted to its own data.
    assert twin.left.location == twin.right.location


def test_twin_table_lists_both_feeds_and_the_difference(store):
    left, right = twin_counts(scoped_query(store), WHOLE, "nrm", "rosewood")
    table = twin_table(WHOLE, "nrm", "rosewood", left, right)
    assert list(table.columns) == ["District", "NRM referrals", "Rosewood episodes", "Difference"]
    leeds = table[table.iloc[:, 0] == "Leeds"].iloc[0]
    assert (leeds["NRM referrals"], leeds["Rosewood episodes"], leeds["Difference"]) == \
        ("5", "2", "+3")


def test_a_chairs_twin_map_shows_published_figures_and_hides_differences(store):
    chair = scoped_query(store, "chair")
    state = ExplorerState(start=dt.date(2023, 1, 1), end=dt.date(2023, 6, 30),
                          feeds=("nrm", "rosewood"), level="ward")
    left, right = twin_counts(chair, state, "nrm", "rosewood")
    assert left["suppressed"].any()            # small ward counts: "<5", never the count
    table = twin_table(state, "nrm", "rosewood", left, right)
    hidden = table[table["NRM referrals"].str.startswith("<")]
    assert len(hidden) and set(hidden["Difference"]) == {"hidden"}
    twin = build_twin(state, "nrm", "rosewood", left, right)
    assert twin.legend.hidden and "Grey" in twin.legend.hidden


# -- month by month --------------------------------------------------------------------------
def test_month_breaks_are_fixed_across_all_frames(store):
    state = ExplorerState(start=dt.date(2023, 1, 2), end=dt.date(2023, 6, 12),
                          feeds=("nrm",), level="district")
    frames = month_frames(scoped_query(store), state)
    assert frames.months == ("2023-01", "2023-02", "2023-03", "2023-04", "2023-05",
                             "2023-06")
    # Every frame is coloured by the same classes, computed once over all months.
    legends = [frame_map(state, frames, month)[1] for month in frames.months]
    assert all(lg.classes == frames.breaks.classes for lg in legends)
    # A district with 1 record is the same colour in whichever month it has 1.
    one = {c.label: c.colour for c in frames.breaks.classes}["1"]
    for month in frames.months:
        counts = frames.frames[month]
        colours = fills(frame_map(state, frames, month)[0])
        assert {colours[c] for c, n in zip(counts["code"], counts["count"]) if n == 1} <= {one}
    # The months add up to the whole period.
    total = sum(int(frames.frames[m]["count"].sum()) for m in frames.months)
    assert total == 24


def test_each_frame_names_its_month_on_the_map(store):
    state = ExplorerState(start=dt.date(2023, 1, 2), end=dt.date(2023, 6, 12),
                          feeds=("nrm",), level="district")
    frames = month_frames(scoped_query(store), state)
    html = frame_map(state, frames, "2023-03")[0].get_root().render()
    assert 'class="wy-map-title"' in html and ">March 2023<" in html
    assert frames.titles["2023-01"] == "January 2023, 2–31 Jan"   # a part month says so
    assert frame_title("2023-06", state) == "June 2023, 1–12 Jun"


def test_a_chairs_frames_are_published_monthly_figures(store):
    state = ExplorerState(start=dt.date(2023, 1, 1), end=dt.date(2023, 6, 30),
                          feeds=("nrm",), level="ward")
    frames = month_frames(scoped_query(store, "chair"), state)
    shown = {d for m in frames.months for d in frames.frames[m]["display"]}
    assert shown <= {"0", "<5"} or any(s.startswith("<") for s in shown)
    assert all(lb for lb in (c.label for c in frames.breaks.classes))
    for month in frames.months:   # a hidden count never reaches a class
        hidden = frames.frames[month]["suppressed"]
        assert frames.frames[month].loc[hidden, "count"].isna().all()


def test_a_month_without_records_is_all_zero():
    empty = frame_counts(__import__("pandas").DataFrame(), "2023-02", ["A", "B"])
    assert empty["display"].tolist() == ["0", "0"] and not empty["suppressed"].any()


# -- place search ----------------------------------------------------------------------------
def test_find_a_ward_by_name_in_any_case():
    found = find_place("kirkstall", "analyst")
    assert found.place.code == KIRKSTALL and found.place.label == "Kirkstall (ward, Leeds)"
    assert find_place("Leeds", "chair").place.level == "district"
    assert find_place("Kirkstal", "chair").place.code == KIRKSTALL      # a unique prefix


def test_an_unknown_or_ambiguous_name_says_so_without_echoing_markup():
    found = find_place("Atlantis<script>", "analyst")
    assert found.place is None
    assert "No district, ward or LSOA is called “Atlantisscript”" in found.message
    several = find_place("Kirk", "chair")
    assert several.place is None and several.message.startswith("Several places match")
    assert "LSOA" not in several.message     # a chair is offered no LSOA
    assert safe_text("<b>x</b>") == "bxb"


def test_lsoas_are_searchable_by_analysts_only_and_a_chair_goes_to_the_ward():
    assert any(p.level == "lsoa" for p in places("analyst"))
    assert {p.level for p in places("chair")} == {"district", "ward"}
    assert not any(code.startswith("E01") for code in place_labels("chair"))
    lsoa = find_place("Leeds 001A", "analyst")
    assert lsoa.place.level == "lsoa" and not lsoa.message
    chair = find_place("Leeds 001A", "chair")
    assert chair.place.level == "ward" and chair.place.name == "Wetherby"
    assert "LSOAs are shown to analysts only" in chair.message
    assert place_by_code(LEEDS_001A, "chair").place.level == "ward"


# -- the link --------------------------------------------------------------------------------
def test_options_round_trip_through_the_link():
    options = ExploreOptions(mode="twin", left="rosewood", right="mandevilla",
                             place=find_place("Kirkstall", "analyst").place)
    params = options_to_params(options)
    assert params == {"view": "twin", "left": "rosewood", "right": "mandevilla",
                      "place": KIRKSTALL}
    back = options_from_params(params, role="analyst", start=WHOLE.start, end=WHOLE.end)
    assert (back.mode, back.left, back.right, back.place) == ("twin", "rosewood",
                                                              "mandevilla", options.place)
    months = options_from_params({"view": "months", "month": "2023-03"}, role="chair",
                                 start=WHOLE.start, end=WHOLE.end)
    assert months.month == "2023-03" and not months.warnings


def test_a_bad_link_is_ignored_and_said():
    bad = options_from_params({"view": "<x>", "left": "nrm", "right": "nrm",
                               "month": "1999-01", "place": "E99999999"},
                              role="chair", start=WHOLE.start, end=WHOLE.end)
    assert bad.mode == "map" and bad.left != bad.right and bad.month is None
    assert bad.place is None and len(bad.warnings) == 4
    assert not any("<x>" in w for w in bad.warnings)
    assert period_months(dt.date(2022, 12, 31), dt.date(2023, 1, 1)) == ("2022-12", "2023-01")


# -- the page --------------------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, store, tmp_path):
    return serve_store(monkeypatch, store, tmp_path)


def scripts(at) -> list[str]:
    return [json.loads(c.proto.json_args)["script"] for c in at.main.get("component_instance")
            if c.proto.component_name == "streamlit_folium.st_folium"]


def test_the_page_draws_the_twin_map_and_its_table_from_the_link(env):
    at = open_page(EXPLORE, "analyst", timeout=60, view="twin", left="nrm", right="rosewood",
                   level="district")
    assert len(scripts(at)) == 2
    assert at.radio(key="explore_mode").value == "twin"
    table = at.dataframe[0].value
    assert list(table.columns) == ["District", "NRM referrals", "Rosewood episodes", "Difference"]
    assert at.query_params["view"] in ("twin", ["twin"])
    details = read_audit(env)["detail"].astype(str).tolist()
    assert any("twin map: nrm vs rosewood" in d for d in details)


def test_the_page_steps_months_with_fixed_classes_and_keeps_the_month_in_the_link(env):
    at = open_page(EXPLORE, "analyst", timeout=60, view="months", month="2023-03",
                   level="district")
    slider = at.select_slider(key="explore_month")
    assert slider.value == "2023-03"
    assert "Showing March 2023." in [c.value for c in at.caption]
    legend_before = [h.value for h in at.main.get("html")]
    slider.set_value("2023-04").run()
    assert not at.exception
    assert at.query_params["month"] in ("2023-04", ["2023-04"])
    assert "Showing April 2023." in [c.value for c in at.caption]
    # The classes do not move between frames: the legend's swatches are the same.
    legend_after = [h.value for h in at.main.get("html")]
    assert next(lb for lb in legend_after if "wy-legend" in lb).split("</div>")[1:6] == \
        next(lb for lb in legend_before if "wy-legend" in lb).split("</div>")[1:6]
    at.select_slider(key="explore_month").set_value("2023-03").run()
    assert not at.exception
    assert "Showing March 2023." in [c.value for c in at.caption]


def test_the_page_goes_to_a_found_place_and_a_chair_finds_no_lsoa(env):
    at = open_page(EXPLORE, "analyst", timeout=60, place=KIRKSTALL)
    assert at.selectbox(key="explore_place").value == KIRKSTALL
    # Fitted to Kirkstall (its bounds, not West Yorkshire's) and outlined (the bold line).
    assert "[[53.8024, -1.6326], [53.83821, -1.57591]]" in scripts(at)[0]
    assert '"weight": 4' in scripts(at)[0] and KIRKSTALL in scripts(at)[0]
    chair = open_page(EXPLORE, "chair", timeout=60, place=LEEDS_001A)
    assert chair.selectbox(key="explore_place").value == "E05011414"      # Wetherby ward
    assert any("LSOAs are shown to analysts only" in w.value for w in chair.warning)
    assert not any(o.startswith("E01") for o in chair.selectbox(key="explore_place").options)
