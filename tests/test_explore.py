"""The map explorer: headline numbers, the area panel, the legend, and the page through AppTest.

The store (``tests.sample_store``): one record a week from Mon 2 Jan 2023, districts taken in
turn (Bradford, Calderdale, Kirklees, Leeds, Wakefield), so record ``i`` is dated
2 Jan 2023 + 7i days and lies in district ``i % 5``. NRM record ``i`` is a child when ``i`` is
odd, and of type labour / sexual;criminal / criminal for ``i % 3`` = 0 / 1 / 2. Rosewood
episodes are all adults, still missing when ``i % 4 == 0``.

With 24 NRM referrals (i = 0..23, to 12 Jun 2023) and 12 Rosewood episodes (to 20 Mar 2023),
the view 13 Mar – 12 Jun 2023 (92 days) holds NRM i = 10..23 (14) and Rosewood i = 10, 11 (2);
the previous 92 days (11 Dec 2022 – 12 Mar 2023) hold NRM and Rosewood i = 0..9 (10 each).
Leeds (district 3) now: NRM i = 13, 18, 23 (3: children 13 and 23, an adult 18; types
sexual;criminal, labour, criminal; dated 3 Apr, 8 May, 12 Jun); before: NRM 3, 8 and
Rosewood 3, 8 (4).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from types import SimpleNamespace
from unittest import mock

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.boundaries import DISTRICT_CODES, load_boundaries
from maps.layers import layer_geojson
from safeguards.audit import read_audit
from tests import explore_fixtures
from tests.apptest import ROOT, map_script, open_page, serve_store, texts
from tests.sample_store import scoped_query
from views.explore import (
    PARTITION_NOTE,
    _breakdown,
    area_details,
    change_text,
    clicked_area,
    headline,
)
from views.explore_map import build_map, legend_html
from views.explore_words import describe, rank_text
from views.viewstate import ExplorerState, to_filter

EXPLORE = str(ROOT / "pages/explore.py")
ROWS = explore_fixtures.ROWS
store = explore_fixtures.store   # the weekly sample store (tests/explore_fixtures.py)
LEEDS, BRADFORD = "E08000035", "E08000032"
VIEW = ExplorerState(start=dt.date(2023, 3, 13), end=dt.date(2023, 6, 12),
                     feeds=("nrm", "rosewood"), level="district")


# -- headline ------------------------------------------------------------------------------
def test_headline_counts_each_feed_and_compares_with_the_previous_period(store):
    head = headline(scoped_query(store), VIEW)
    assert [(f.feed, f.count, f.previous, f.change) for f in head.feeds] == [
        ("nrm", 14, 10, "+4 (+40%)"), ("rosewood", 2, 10, "-8 (-80%)")]
    assert [f.display for f in head.feeds] == ["14", "2"]
    assert head.period_label == "13 Mar 2023 – 12 Jun 2023"
    assert head.previous_label == "11 Dec 2022 – 12 Mar 2023"
    assert not head.suppressed


def test_headline_for_a_chair_hides_small_numbers(store):
    """A chair's figures cover whole months (1 Mar to 30 Jun for 13 Mar to 12 Jun, against the
    four months before) and are sums of published atoms (safeguards.publication)."""
    from safeguards.publication import build_publication

    head = headline(scoped_query(store, "chair"), VIEW)
    assert head.period_label == "1 Mar 2023 – 30 Jun 2023"
    assert head.previous_label == "1 Nov 2022 – 28 Feb 2023"

    def published(feed, first, last):
        atoms = build_publication(store, feed).atoms
        inside = atoms["month"].between(pd.Period(first, "M"), pd.Period(last, "M"))
        return int(atoms.loc[inside, "published"].sum()), int(atoms.loc[inside, "count"].sum())

    nrm, rosewood = head.feeds
    now, before = published("nrm", "2023-03", "2023-06"), published("nrm", "2022-11", "2023-02")
    assert nrm.count == now[0] >= 5 and nrm.previous == before[0] >= 5
    assert nrm.change == change_text(now[0], before[0])
    small = published("rosewood", "2023-03", "2023-06")
    assert 1 <= small[0] < 5 and 1 <= small[1] < 5
    assert (rosewood.count, rosewood.display, rosewood.change) == (None, "<5", None)
    assert head.suppressed and head.threshold == 10


def test_change_text():
    assert change_text(46, 40) == "+6 (+15%)"
    assert change_text(30, 40) == "-10 (-25%)"
    assert change_text(3, 0) == "+3"
    assert change_text(0, 0) == "+0"
    assert change_text(None, 3) is None and change_text(3, None) is None


# -- the area panel ------------------------------------------------------------------------
def test_area_details_of_leeds_hand_checked(store):
    details = area_details(scoped_query(store), VIEW, LEEDS)
    population = int(load_boundaries("district").set_index("code").loc[LEEDS, "population"])
    assert (details.name, details.district, details.level) == ("Leeds", "Leeds", "district")
    assert (details.count, details.display) == (3, "3")
    assert details.rate_display == f"{3 / population * 100_000:,.1f}"
    # Rates now: Bradford 4, Calderdale 4, Kirklees 3, Leeds 3, Wakefield 2 records; Leeds has
    # by far the most residents, so the lowest rate.
    assert details.rank_display == "5th highest rate of 5 districts"
    assert (details.previous_display, details.change) == ("4", "-1 (-25%)")
    nrm = details.monthly[details.monthly["feed"] == "NRM referrals"]
    assert nrm["month"].dt.strftime("%Y-%m").tolist() == ["2023-03", "2023-04", "2023-05",
                                                          "2023-06"]
    assert nrm["count"].tolist() == [0, 1, 1, 1]
    rosewood = details.monthly[details.monthly["feed"] == "Rosewood episodes"]
    assert rosewood["count"].tolist() == [0, 0, 0, 0]
    shown = {b.title: dict(b.rows) for b in details.breakdowns}
    assert shown["Feed"] == {"NRM referrals": "3", "Rosewood episodes": "0"}
    assert shown["Age group"] == {"Adult": "1", "Child": "2", "Unknown": "0"}
    assert shown["NRM exploitation type"] == {"Labour": "1", "Sexual": "1", "Criminal": "2",
                                              "Domestic servitude": "0",
                                              "Organ harvesting": "0", "Unknown": "0"}
    assert shown["Rosewood status"] == {"Found": "0", "Still missing": "0"}
    assert "Mandevilla indicator" not in shown  # not a chosen feed


def test_area_details_follow_the_filters(store):
    children = ExplorerState(**{**vars(VIEW), "age_groups": ("child",), "feeds": ("nrm",),
                                "warnings": ()})
    details = area_details(scoped_query(store), children, LEEDS)
    assert details.count == 2
    assert {b.title: dict(b.rows) for b in details.breakdowns}["Age group"] == {"Child": "2"}


def test_area_details_for_a_chair_hide_small_numbers_and_their_breakdowns(store):
    details = area_details(scoped_query(store, "chair"), VIEW, LEEDS)
    assert (details.count, details.display, details.rate_display) == (None, "<5", "hidden")
    assert details.rank_display.startswith("not ranked")
    assert details.change == ""
    assert details.suppressed and details.threshold == 5
    hidden = [b.title for b in details.breakdowns if b.rows is None]
    assert hidden == ["Feed", "Age group", "NRM exploitation type"]
    assert all(b.note == PARTITION_NOTE for b in details.breakdowns if b.rows is None)
    # Nothing in the panel shows a count from 1 to 4.
    text = json.dumps([details.display, details.previous_display,
                       [b.rows for b in details.breakdowns]])
    assert not any(f'"{n}"' in text for n in range(1, 5))
    assert details.monthly["count"].dropna().isin([0]).all()


def test_breakdown_is_hidden_for_a_suppressed_role_when_a_part_or_the_total_is():
    parts = [("adult", 12, "12"), ("child", None, "<10"), ("unknown", 0, "0")]
    assert _breakdown("Age group", parts, 20, True).rows is None        # 20 - 12 - 0 = child
    assert _breakdown("Age group", parts, 20, False).rows is not None   # analysts see all
    whole = [("adult", 12, "12"), ("child", 10, "10")]
    assert _breakdown("Age group", whole, None, True).rows is None      # total 22 would show
    assert _breakdown("Age group", whole, 22, True).rows == (("Adult", "12"), ("Child", "10"))


def test_area_details_refuse_an_area_of_another_level(store):
    with pytest.raises(KeyError, match="not a district code"):
        area_details(scoped_query(store), VIEW, "E05001100")


def test_ranks_for_a_chair_count_only_shown_figures(store):
    wide = ExplorerState(start=dt.date(2023, 1, 2), end=dt.date(2023, 6, 12),
                         feeds=("nrm", "rosewood"), level="district")
    # 36 records: Bradford 5 + 3 = 8, Calderdale 5 + 3 = 8, Kirklees 5 + 2 = 7, Leeds 5 + 2 = 7,
    # Wakefield 4 + 2 = 6: all at least k = 5, all shown.
    details = area_details(scoped_query(store, "chair"), wide, BRADFORD)
    assert details.display == "8"
    assert details.rank_display.endswith("of 5 districts with figures shown")


def test_an_area_with_no_records_is_not_ranked_among_the_zeros(store):
    wards = ExplorerState(**{**vars(VIEW), "level": "ward", "warnings": ()})
    counts = scoped_query(store).area_counts(wards.feeds, "ward", to_filter(wards))
    with_records = set(counts.loc[counts["count"] > 0, "code"])
    # The sample's records lie near the five town centres: a handful of wards, all others none.
    assert 5 <= len(with_records) <= 15
    empty = counts.loc[counts["count"] == 0, "code"].iloc[0]
    details = area_details(scoped_query(store), wards, empty, counts=counts)
    assert details.rank_display == f"no records, like {124 - len(with_records)} of the 124 wards"
    # An area with records still gets a plain rank among all 124.
    busiest = counts.sort_values("count").iloc[-1]["code"]
    assert area_details(scoped_query(store), wards, busiest, counts=counts).rank_display.endswith(
        "highest rate of 124 wards")


def test_ranks_say_when_areas_share_a_rate():
    codes = list(DISTRICT_CODES)
    areas = pd.DataFrame({"population": [1000, 2000, 1000, 500, 3000],
                          "district_code": codes}, index=codes)
    # Rates per 100,000: 200, 200, 100, 0, 100.
    counts = pd.DataFrame({"code": codes, "count": pd.array([2, 4, 1, 0, 3], dtype="Int64")})
    state = ExplorerState(start=VIEW.start, end=VIEW.end, feeds=("nrm",), level="district")

    def rank(code, suppressed=False, table=counts):
        return rank_text(table, areas, code, state, suppressed)

    assert rank(codes[0]) == "joint 1st highest rate of 5 districts (2 share it)"
    assert rank(codes[1]) == "joint 1st highest rate of 5 districts (2 share it)"
    assert rank(codes[2]) == "joint 3rd highest rate of 5 districts (2 share it)"
    assert rank(codes[3]) == "no records: the only one of the 5 districts with none"
    hidden = counts.assign(count=pd.array([2, pd.NA, 1, 0, 3], dtype="Int64"))
    assert rank(codes[0], True, hidden) == "1st highest rate of 4 districts with figures shown"
    assert rank(codes[1], True, hidden).startswith("not ranked")


# -- map, click and legend -----------------------------------------------------------------
def test_clicked_area_from_the_drawing_or_the_point():
    leeds_ward = load_boundaries("ward").query("district_code == @LEEDS").iloc[0]
    drawing = {"last_active_drawing": {"properties": {"code": leeds_ward["code"]}}}
    assert clicked_area(drawing, "ward") == leeds_ward["code"]
    inside = leeds_ward.geometry.representative_point()
    point = {"last_active_drawing": {"properties": {"count": "12"}},  # a hexagon: no code
             "last_object_clicked": {"lat": inside.y, "lng": inside.x}}
    assert clicked_area(point, "ward") == leeds_ward["code"]
    assert clicked_area(point, "district") == LEEDS
    assert clicked_area({"last_object_clicked": {"lat": 51.5, "lng": -0.1}}, "ward") is None
    assert clicked_area({"last_active_drawing": {"properties": {"code": "<x>"}}}, "ward") is None
    assert clicked_area(None, "ward") is None


def test_build_map_gives_a_chair_areas_only_and_opens_on_the_chosen_layer(store):
    analyst, chair = scoped_query(store), scoped_query(store, "chair")
    counts = analyst.area_counts(VIEW.feeds, "ward", None)
    cells = analyst.cell_counts("nrm")
    points = analyst.points("nrm").assign(feed="nrm")
    state = ExplorerState(**{**vars(VIEW), "level": "ward", "layer": "hex", "warnings": ()})
    view = build_map(state, counts=counts, cells=cells, points=points)
    page = view.map.get_root().render()
    assert view.legend.title.startswith("Records per hexagon")
    assert "HeatMap" in page or "heatLayer" in page
    chair_view = build_map(state, counts=chair.area_counts(VIEW.feeds, "ward", None))
    chair_page = chair_view.map.get_root().render()
    assert chair_view.legend.title == "Records by ward"       # no hexagons: opens on areas
    for detail in ("heatLayer", "circleMarker", "Hexagons"):
        assert detail not in chair_page
    on_points = ExplorerState(**{**vars(state), "layer": "points", "warnings": ()})
    points_view = build_map(on_points, counts=counts, cells=cells, points=points, note="N")
    assert points_view.legend is None
    assert points_view.caption == ("Records at their geomasked 100 m locations, clustered; "
                                   "point at one for its categories. N")
    export = build_map(state, counts=counts, cells=cells, points=points, export=True)
    export_page = export.map.get_root().render()
    assert "heatLayer" not in export_page and "circleMarker" not in export_page


def test_build_map_adds_the_hotspots_overlay_switched_on_and_says_too_many_points(store):
    import geopandas as gpd
    from shapely.geometry import box

    counts = scoped_query(store).area_counts(VIEW.feeds, "ward", None)
    hotspots = gpd.GeoDataFrame({
        "hotspot_id": [7], "rank": [1], "place": ["Zedtown <b>x</b>, Leeds"],
        "events_display": ["23"], "relative_risk": [4.2], "p_value": [0.01],
        "trend": ["new"], "cross_feed": [False]},
        geometry=[box(-1.56, 53.78, -1.54, 53.79)], crs="EPSG:4326")
    state = ExplorerState(**{**vars(VIEW), "level": "ward", "hotspots": True, "warnings": ()})
    view = build_map(state, counts=counts, points=12_345, hotspots=hotspots)
    page = view.map.get_root().render()
    layers = {child.layer_name: child for child in view.map._children.values()
              if getattr(child, "layer_name", None) in ("Areas", "Hotspots", "Points")}
    assert set(layers) == {"Areas", "Hotspots"}                 # too many points: no layer
    assert layers["Hotspots"].show and layers["Areas"].show
    assert view.message.startswith("12,345 points is more than 10,000")
    assert view.hotspot_note.startswith("1 hotspot for these filters")
    places = [f["properties"]["place"] for f in layer_geojson(layers["Hotspots"])["features"]]
    assert places == ["Zedtown &lt;b&gt;x&lt;/b&gt;, Leeds"] and "<b>x</b>" not in page
    none = build_map(state, counts=counts, hotspots=hotspots.iloc[:0])
    assert none.hotspot_note == "The hotspot model finds no hotspot for these filters."
    export = build_map(state, counts=counts, hotspots=hotspots, export=True)
    assert export.hotspot_note is None and "Zedtown" not in export.map.get_root().render()


def test_legend_html_escapes_every_text_and_checks_colours():
    legend = SimpleNamespace(
        title="Records <script>alert(1)</script>",
        classes=(SimpleNamespace(colour="#fee8c8", label="1 – 5"),
                 SimpleNamespace(colour="red;background:url(//x)", label="<img src=x>")),
        hidden="Grey: fewer than 5 (hidden)", note="note & <b>")
    out = legend_html(legend, "1 Jan 2025 – 31 Dec 2025 · <i>", threshold=5)
    assert "<script>" not in out and "<img" not in out and "<b>" not in out and "<i>" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x&gt;" in out and "note &amp; &lt;b&gt;" in out
    assert "url(//x)" not in out and "background:#cccccc" in out
    assert "background:#fee8c8" in out
    assert "&lt;5: fewer than 5" in out


def test_describe_says_period_feeds_and_filters():
    state = ExplorerState(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31), feeds=("nrm",),
                          age_groups=("child",), exploitation_types=("labour",),
                          rosewood_status="missing", districts=(LEEDS,))
    assert describe(state, {LEEDS: "Leeds"}) == (
        "1 Jan 2025 – 31 Mar 2025 · NRM referrals · age: child · NRM type: labour · "
        "Rosewood: still missing · districts: Leeds")


# -- the page (AppTest) --------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, store, tmp_path):
    return serve_store(monkeypatch, store, tmp_path)


def explore(role="analyst", **params) -> AppTest:
    """The dashboard as the demo ``role``, switched to the explorer with ``params`` in the URL."""
    at = open_page(EXPLORE, role, timeout=60, **params)
    assert at.title[0].value == "Explore"
    return at


def panel_title(at) -> str:
    """The subheader of the area panel (the sidebar has its own)."""
    return texts(at.main.get("subheader"))


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def link(at, key) -> list[str]:
    """The values of ``key`` in the page's query parameters (a list, even for one value)."""
    if key not in at.query_params:
        return []
    value = at.query_params[key]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def test_page_runs_for_an_analyst_and_writes_the_view_to_the_link(env):
    at = explore()
    assert "SYNTHETIC DATA" in texts(at.error)
    # Default: the last 12 months of data (13 Jun 2022 – 12 Jun 2023, the data start on
    # 2 Jan 2023): every record.
    assert metrics(at) == {"NRM referrals": "24", "Rosewood episodes": "12",
                           "Mandevilla flags": "0"}
    assert link(at, "from") == ["2023-01-02"] and link(at, "to") == ["2023-06-12"]
    assert [s.label for s in at.selectbox] == ["Map opens on", "Areas", "Measure",
                                               "Class breaks",
                                               "Find a place (ward, LSOA or district)"]
    assert at.selectbox(key="explore_level").options == ["District", "Ward", "LSOA"]
    script = map_script(at)
    assert "Hexagons" in script and "Points" in script
    assert "Quick picks count back from the last date in the data (12 Jun 2023)" in texts(
        at.sidebar.caption)


def test_page_runs_for_a_chair_with_districts_and_wards_only(env):
    at = explore("chair")
    assert at.selectbox(key="explore_level").options == ["District", "Ward"]
    assert not any(s.key == "explore_layer" for s in at.selectbox)
    shown = metrics(at)
    assert shown["NRM referrals"] == "24" and shown["Rosewood episodes"] == "12"
    script = map_script(at)
    for detail in ("heatLayer", "circleMarker", "Hexagons", "Points"):
        assert detail not in script
    legend = texts(at.main.get("html"))
    # All three feeds are counted together, so the strictest k applies: Mandevilla's 10.
    assert "Grey: fewer than 10 (hidden)" in legend
    assert "&lt;10: fewer than 10" in legend
    assert "<10: fewer than 10 (hidden to protect" in texts(at.caption)


def test_a_link_restores_the_view(env):
    at = explore(**{"from": "2023-03-13", "to": "2023-06-12", "feed": ["nrm", "rosewood"],
                    "level": "district", "measure": "rate", "scheme": "quantiles",
                    "age": "child", "district": LEEDS, "area": LEEDS})
    assert at.date_input(key="explore_dates").value == (dt.date(2023, 3, 13),
                                                         dt.date(2023, 6, 12))
    assert at.multiselect(key="explore_feeds").value == ["nrm", "rosewood"]
    assert at.multiselect(key="explore_districts").value == [LEEDS]
    assert at.selectbox(key="explore_level").value == "district"
    assert at.selectbox(key="explore_measure").value == "rate"
    assert at.selectbox(key="explore_scheme").value == "quantiles"
    assert not at.warning
    # Children in Leeds from 13 Mar: NRM 13 and 23.
    assert metrics(at)["NRM referrals"] == "2"
    assert panel_title(at) == "Leeds"                              # the panel is open
    assert link(at, "area") == [LEEDS] and link(at, "age") == ["child"]


def test_a_chair_link_asking_for_lsoas_or_points_falls_back(env):
    at = explore("chair", level="lsoa", layer="points", area="E01010000")
    assert at.selectbox(key="explore_level").value == "ward"
    warnings = texts(at.warning)
    assert "may not see LSOA level: showing wards instead" in warnings
    assert "may not see the points (clustered) layer" in warnings
    assert "level" not in at.query_params and "area" not in at.query_params


def test_a_crafted_link_changes_nothing_it_should_not(env):
    at = explore(level='"><script>alert(1)</script>', role="analyst", feed="nrm,<img>")
    assert at.selectbox(key="explore_level").value == "ward"
    assert "<script>" not in texts(at.warning) and "<img>" not in texts(at.warning)
    assert metrics(at) == {"NRM referrals": "24"}


def test_a_click_opens_the_panel_and_goes_into_the_link(env):
    at = explore(**{"from": "2023-03-13", "to": "2023-06-12", "level": "district"})
    assert not panel_title(at)
    click = {"last_object_clicked": {"lat": 53.8, "lng": -1.55},
             "last_active_drawing": {"type": "Feature", "properties": {"code": LEEDS}}}
    with mock.patch("ui.folium_frame.show_folium", return_value=click):
        at.run()
        assert not at.exception
        assert panel_title(at) == "Leeds"
        assert link(at, "area") == [LEEDS]
        assert "Rank:** 5th highest rate of 5 districts" in texts(at.markdown)
        # The same click returned again is not a new one: closing the panel sticks.
        at.button(key=[b.key for b in at.button if b.label == "Close"][0]).click().run()
        assert not panel_title(at) and "area" not in at.query_params


def test_filter_changes_are_audited_once_each_not_on_every_rerun(env):
    before = len(read_audit(os.environ["STORE_URL"], action="filter-change"))
    at = explore(**{"from": "2023-03-13", "to": "2023-06-12"})
    at.run()
    at.selectbox(key="explore_measure").set_value("rate").run()      # not a filter
    at.multiselect(key="explore_feeds").set_value(["nrm"]).run()
    entries = read_audit(os.environ["STORE_URL"], action="filter-change")
    assert len(entries) - before == 2                                # opened, then changed
    latest = entries.iloc[0]
    assert (latest["actor"], latest["role"], latest["page"]) == ("demo", "analyst", "explore")
    filters = json.loads(latest["filters"])                          # JSON text in the log
    assert filters["feeds"] == ["nrm"] and filters["start"] == "2023-03-13"
    assert metrics(at) == {"NRM referrals": "14"}
    assert link(at, "feed") == ["nrm"] and link(at, "measure") == ["rate"]


def test_quick_picks_count_back_from_the_last_date_in_the_store(env):
    at = explore()
    at.button(key="explore_quick_3m").click().run()
    assert at.date_input(key="explore_dates").value == (dt.date(2023, 3, 13),
                                                        dt.date(2023, 6, 12))
    assert link(at, "from") == ["2023-03-13"]
    assert metrics(at)["NRM referrals"] == "14"


def test_the_table_download_is_safe_csv(env, deferred_files):
    at = explore(level="district")
    buttons = [e for e in at.main.get("download_button")]
    assert [b.label for b in buttons] == ["Table (CSV)", "Map (HTML)"]
    raw = deferred_files.make(buttons[0])
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw     # views.exports.safe_csv
    # After the label block (views.exports.labelled_csv; tests/test_csv_labels.py).
    label, _, table = raw.decode("utf-8-sig").partition("\r\n\r\n")
    assert label.startswith("# Protective marking: OFFICIAL-SENSITIVE")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert sorted(r["District"] for r in rows) == sorted(DISTRICT_CODES.values())
    assert b"<html" in deferred_files.make(buttons[1]).lower()[:2000]
