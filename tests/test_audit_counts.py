"""Exports and filter changes are audited with how many records they cover (issue 5: "who, role,
when, what, which filters, how many records"), through the pages themselves (AppTest).

The store (``tests.sample_store``): one record a week from Mon 2 Jan 2023 per feed, 24 each, so
the explorer's default view (the last 12 months of data) holds every record: 72 in all; the view
13 Mar – 12 Jun 2023 holds NRM i = 10..23 (14 records).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from tests.apptest import open_page, serve_copy
from tests.sample_store import build_store
from views import kpis

ROOT = Path(__file__).resolve().parent.parent
ROWS = {"nrm": 24, "rosewood": 24, "mandevilla": 24}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("audit_counts") / "store", ROWS)


@pytest.fixture
def store(monkeypatch, built, tmp_path) -> ParquetStore:
    """A copy of the store per test, so each test reads only its own audit entries."""
    return serve_copy(monkeypatch, built, tmp_path)


def page(path: str, role: str = "analyst", **params) -> AppTest:
    """The dashboard as the demo ``role``, switched to the page at ``path``."""
    return open_page(path, role, **params)


def ran(target) -> AppTest:
    """Run the app (``target``: the AppTest, or a widget just set or clicked)."""
    at = target.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def download(at: AppTest, label: str):
    return next(b for b in at.download_button if b.label == label)


def entries(store, action: str, page_key: str):
    found = read_audit(store, action=action)
    return found[found["page"] == page_key]


# -- Explore -----------------------------------------------------------------------------------
def test_explore_filter_changes_record_the_records_shown(store):
    at = page("pages/explore.py")
    opened = entries(store, "filter-change", "explore")
    assert list(opened["records"]) == [72]                 # every record of the three feeds
    at.date_input(key="explore_dates").set_value((dt.date(2023, 3, 13), dt.date(2023, 6, 12)))
    ran(at.multiselect(key="explore_feeds").set_value(["nrm"]))
    changed = entries(store, "filter-change", "explore").iloc[0]
    assert changed["records"] == 14
    assert json.loads(changed["filters"])["feeds"] == ["nrm"]


@pytest.mark.parametrize("label, detail", [("Table (CSV)", "csv: ward table")])
def test_explore_exports_record_the_records_exported(store, deferred_files, label, detail):
    at = page("pages/explore.py", **{"from": "2023-03-13", "to": "2023-06-12",
                                         "feed": "nrm"})
    assert entries(store, "export", "explore").empty
    deferred_files.make(download(at, label))            # what the browser's click does
    export = entries(store, "export", "explore")
    assert len(export) == 1
    assert (export.iloc[0]["detail"], export.iloc[0]["records"]) == (detail, 14)
    assert (export.iloc[0]["actor"], export.iloc[0]["role"]) == ("demo", "analyst")


def test_explore_export_for_a_chair_counts_only_what_the_table_shows(store, deferred_files):
    # Districts, all three feeds: each district holds 14-15 records (k = 10), nothing hidden.
    at = page("pages/explore.py", role="chair", level="district")
    deferred_files.make(download(at, "Table (CSV)"))
    assert entries(store, "export", "explore").iloc[0]["records"] == 72
    # NRM only, 13 Mar – 12 Jun: 2-3 records a district, all hidden for a chair (k = 5).
    at = page("pages/explore.py", role="chair", level="district", feed="nrm",
              **{"from": "2023-03-13", "to": "2023-06-12"})
    deferred_files.make(download(at, "Table (CSV)"))
    assert entries(store, "export", "explore").iloc[0]["records"] == 0


def test_a_deferred_download_is_audited_when_it_is_made_and_only_then(store):
    """Files made on the click (map HTML, chart PNG, tasking PDF) are audited by
    ``ui.loaders.audited_download`` as they are made; the browser tests download them for real."""
    from functools import partial

    from ui.explore_loaders import audit_explorer
    from ui.loaders import audited_download
    from views.viewstate import ExplorerState

    state = ExplorerState(start=dt.date(2023, 3, 13), end=dt.date(2023, 6, 12), feeds=("nrm",))
    analyst = Principal("ana", "analyst")
    data = audited_download(lambda: "<html>map</html>",
                            partial(audit_explorer, analyst, "export", state,
                                    detail="map: html, areas and hexagons", records=14))
    assert entries(store, "export", "explore").empty           # nothing made, nothing audited
    assert data() == "<html>map</html>"
    export = entries(store, "export", "explore")
    assert len(export) == 1
    assert (export.iloc[0]["detail"], export.iloc[0]["records"]) == (
        "map: html, areas and hexagons", 14)
    assert (export.iloc[0]["actor"], export.iloc[0]["role"]) == ("ana", "analyst")

    def broken() -> bytes:
        raise RuntimeError("renderer failed")

    failing = audited_download(broken, partial(audit_explorer, analyst, "export",
                                               state, detail="map", records=14))
    with pytest.raises(RuntimeError):
        failing()
    assert len(entries(store, "export", "explore")) == 1        # a file never made: no entry


# -- Trends ------------------------------------------------------------------------------------
def test_trends_exports_record_the_records_of_the_period(store, deferred_files):
    at = page("pages/trends.py", period="2023-04")
    assert entries(store, "export", "trends").empty       # shown, not yet made: no entry
    # One download button, for the file picked (the KPI table first).
    deferred_files.make(download(at, "Download Records per feed: KPI table (CSV)"))
    table = kpis.kpi_table(RoleScopedQuery(store, Principal("t", "analyst")), "2023-04")
    expected = int(table["count"].sum())
    assert expected == 12                                   # 4 Mondays of April, three feeds
    export = entries(store, "export", "trends").iloc[0]
    assert (export["detail"], export["records"]) == ("csv: kpi table", expected)
    assert json.loads(export["filters"]) == {"period": "2023-04"}


# -- Hotspots ----------------------------------------------------------------------------------
def test_hotspots_filter_changes_are_audited_once_each(store):
    at = page("pages/hotspots.py")
    assert at.title[0].value == "Hotspots"
    assert len(entries(store, "filter-change", "hotspots")) == 1      # the page opened
    ran(at)                                                          # a rerun is not a change
    ran(at.multiselect(key="hotspots_feeds").set_value(["nrm"]))
    changes = entries(store, "filter-change", "hotspots")
    assert len(changes) == 2
    latest = changes.iloc[0]
    assert (latest["actor"], latest["role"]) == ("demo", "analyst")
    assert json.loads(latest["filters"])["feeds"] == ["nrm"]
    # The records fitted: every feed's points at first, then NRM's alone.
    opened = changes.iloc[1]
    assert 0 < latest["records"] < opened["records"]
