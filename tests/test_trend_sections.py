"""The Trends page's chart sections and its one download control (``views.trend_sections``,
``ui.trends_downloads``): one chart per section, the others neither built nor sent until
picked, the choice kept in the link, and every file still there, labelled and audited.

The store (``tests.sample_store``): one record a week from Mon 2 Jan 2023 per feed, 24 each.
"""
from __future__ import annotations

import json

from core.schema import FEEDS
from safeguards.audit import read_audit
from tests.apptest import open_page, run, served_store, texts
from tests.sample_store import built_store
from views import trend_sections
from views.trend_series import MEASURE_GROUPS

ROWS = {"nrm": 24, "rosewood": 24, "mandevilla": 24}
built = built_store(ROWS, "trend_sections")
store = served_store()   # a copy per test: the downloads are audited in it


def chart_titles(at) -> list[str]:
    """The title of each chart drawn, in page order."""
    titles = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title") or {}
        titles.append(title.get("text") if isinstance(title, dict) else title)
    return titles


def test_the_link_reads_and_repairs_the_sections():
    view = trend_sections.sections_view
    assert view({}) == trend_sections.Sections("nrm", "rates")
    assert view({"feed": ["rosewood"], "chart": "types"}) == \
        trend_sections.Sections("rosewood", "types")
    bad = view({"feed": "<b>", "chart": "nothing"})
    assert (bad.feed, bad.chart) == ("nrm", "rates") and len(bad.warnings) == 2
    assert trend_sections.sections_params(trend_sections.Sections()) == {}
    assert trend_sections.sections_params(trend_sections.Sections("mandevilla", "police")) == \
        {"feed": "mandevilla", "chart": "police"}


def test_every_file_of_the_page_is_offered_once():
    items = trend_sections.download_items("2023-04", "M", "count")
    assert len({i.key for i in items}) == len(items) == len({i.detail for i in items})
    assert len({i.file_name for i in items}) == len(items)
    charts = len(FEEDS) + len(MEASURE_GROUPS) + 1
    assert sum(i.mime == "image/png" for i in items) == charts
    assert sum(i.mime == "text/csv" for i in items) == charts + 3  # KPI, measures, flags


def test_one_chart_per_section_and_the_link_picks_them(store):
    at = open_page("pages/trends.py", "chair", period="2023-04")
    assert chart_titles(at) == ["NRM referrals: records", "Records per 100,000 residents"]
    assert "feed" not in at.query_params and "chart" not in at.query_params

    # Picking another feed and chart draws theirs (and only theirs), and goes into the link.
    at.segmented_control(key="trends_feed").set_value("rosewood")
    at = run(at.segmented_control(key="trends_chart").set_value("types"))
    assert chart_titles(at) == ["Rosewood episodes: records",
                                "NRM referrals: exploitation type mix"]
    assert (at.query_params["feed"], at.query_params["chart"]) == ("rosewood", "types")
    assert at.query_params["period"] == "2023-04"
    captions = texts(at.caption)
    assert 'Chart "Rosewood episodes: records": one point per month' in captions
    assert '"Rosewood episodes by district (CSV)" under Downloads' in captions


def test_a_shared_link_opens_the_sections_it_names(store):
    at = open_page("pages/trends.py", "executive", period="2023-04", feed="mandevilla",
                   chart="police")
    assert chart_titles(at) == ["Mandevilla flags: records",
                                "Mandevilla: share of flags referred to police"]
    assert at.segmented_control(key="trends_feed").value == "mandevilla"
    at = open_page("pages/trends.py", "executive", period="2023-04", feed="nobody")
    assert "Part of the link was not used: feed 'nobody'" in texts(at.warning)
    assert chart_titles(at)[0] == "NRM referrals: records"


def test_the_picked_chart_downloads_as_png_and_is_audited(store, deferred_files):
    at = open_page("pages/trends.py", "executive", period="2023-04")
    picker = at.selectbox(key="trends_download")
    index = picker.options.index("Rosewood episodes by district: chart (PNG)")
    at = run(at.selectbox(key="trends_download").select_index(index))
    (button,) = at.get("download_button")
    assert button.proto.label == "Download Rosewood episodes by district: chart (PNG)"
    assert read_audit(store, action="export").empty          # offered, not made: no entry
    assert deferred_files.make(button)[:8] == b"\x89PNG\r\n\x1a\n"
    export = read_audit(store, action="export").iloc[0]
    assert (export["page"], export["detail"], export["role"]) == (
        "trends", "png: rosewood series", "executive")
    assert json.loads(export["filters"]) == {"period": "2023-04"}
