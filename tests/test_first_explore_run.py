"""The first Explore run on a fresh server: what it reads, and that it shows and audits what it
did before its reads were cut (docs/benchmarks.md, "Start-up to the first map, sixth round").

A page that shows records asks whether the store's data are synthetic (the banner). It used to
take that from the role's overview, which counts every feed by district and reads the period
and purge dates again: 12 of the first Explore run's 30 store reads. It now comes from the
store's batches, the overview's own source for it.
"""
from __future__ import annotations

from core.roles import ROLES
from core.schema import FEEDS
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from tests.apptest import ROOT, calls_to, served_store, texts
from tests.sample_store import build_store, built_store
from ui import loaders
from views.overview import is_synthetic_store, store_overview

ROWS = {"nrm": 30, "rosewood": 12, "mandevilla": 6}

store = built_store(ROWS, "first_explore")
env = served_store("store", copy=True)   # a copy per test: no cache hit from another test


def first_explore_run(role: str = "analyst"):
    """The router's first run opening /explore (as a visitor's link does), demo ``role``."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = role
    at.switch_page(str(ROOT / "pages/explore.py"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Explore"
    return at


def test_the_first_explore_run_reads_each_feed_once_and_no_whole_store(env):
    with calls_to(ParquetStore, "query", lambda self, feed, filters=None, columns=None:
                  (feed, filters, tuple(columns or ()))) as queries, \
            calls_to(ParquetStore, "_read", lambda self, feed, filters, columns:
                     (feed, filters)) as reads, \
            calls_to(loaders, "store_overview") as overviews:
        at = first_explore_run()
    # The period comes from the files' statistics (no dates read); the overview (district
    # counts, the period and purge dates again) is not made.
    assert all(filters is not None and filters.start is not None for _, filters, _ in queries)
    assert overviews == []
    # The headline (now and the previous period), areas, cells and points ask the query layer
    # 15 questions, as before; they are answered from one read of each feed (30 reads in the
    # fifth round, 18 in the sixth).
    assert len(queries) == 15
    assert sorted(feed for feed, _ in reads) == sorted(FEEDS)
    assert all(filters.start is not None for _, filters in reads)
    assert "SYNTHETIC DATA" in texts(at.error)


def test_a_chairs_first_explore_run_reads_no_view_rows(env):
    with calls_to(ParquetStore, "_read", lambda self, feed, filters, columns:
                  (feed, filters)) as reads:
        first_explore_run("chair")
    # Its figures are sums of the publication's atoms, built from whole feeds (warmed by the
    # server's second stage; here by this run); the view's shared reads are never made.
    assert all(filters.start is None for _, filters in reads)


def test_the_first_explore_run_still_audits_the_visit_and_its_filters(env):
    first_explore_run()
    audit = read_audit(env)
    views = audit[(audit["action"] == "page-view") & (audit["page"] == "explore")]
    assert len(views) == 1
    assert len(audit[(audit["action"] == "filter-change") & (audit["page"] == "explore")]) == 1


def test_the_banner_is_what_the_overview_said_for_every_kind_of_store_and_role(tmp_path):
    stores = {
        "empty": ParquetStore(tmp_path / "empty"),
        "synthetic": build_store(tmp_path / "synthetic", {"nrm": 4, "rosewood": 2}),
        "real": build_store(tmp_path / "real", {"nrm": 3}, source="real"),
    }
    mixed = build_store(tmp_path / "mixed", {"nrm": 3}, source="real")
    build_store(tmp_path / "mixed", {"rosewood": 2})
    stores["mixed"] = mixed
    said = {kind: is_synthetic_store(s) for kind, s in stores.items()}
    assert said == {"empty": False, "synthetic": True, "real": False, "mixed": False}
    for kind, s in stores.items():
        for role in ROLES:
            overview = store_overview(RoleScopedQuery(s, Principal("tester", role)))
            assert overview.is_synthetic == said[kind], (kind, role)


def test_the_launcher_turns_the_file_watcher_off_unless_told(monkeypatch):
    from ui import serve

    monkeypatch.delenv("STREAMLIT_SERVER_FILE_WATCHER_TYPE", raising=False)
    assert serve.without_file_watcher(["--server.port", "8501"]) == [
        "--server.port", "8501", "--server.fileWatcherType", "none"]
    for chosen in (["--server.fileWatcherType", "auto"], ["--server.fileWatcherType=poll"]):
        assert serve.without_file_watcher(chosen) == chosen
    monkeypatch.setenv("STREAMLIT_SERVER_FILE_WATCHER_TYPE", "watchdog")
    assert serve.without_file_watcher(["--server.port", "8501"]) == ["--server.port", "8501"]


def test_a_session_scans_the_loaded_modules_only_when_files_are_watched(monkeypatch, tmp_path):
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.watcher import local_sources_watcher as sources

    from ui import serve

    original = sources.LocalSourcesWatcher.update_watched_modules
    monkeypatch.setattr(sources.LocalSourcesWatcher, "update_watched_modules", original)
    serve.no_module_scan_without_watcher()
    serve.no_module_scan_without_watcher()   # once only
    assert sources.LocalSourcesWatcher.update_watched_modules.skips_unwatched
    script = tmp_path / "app.py"
    script.write_text("")
    before = config.get_option("server.fileWatcherType")
    for watcher, scans in (("none", False), ("poll", True)):
        monkeypatch.setattr(sources, "PathWatcher", None)   # Streamlit's class, chosen anew
        config.set_option("server.fileWatcherType", watcher)
        try:
            watched = sources.LocalSourcesWatcher(PagesManager(str(script)))
            with calls_to(sources, "get_module_paths") as scanned:
                watched.update_watched_modules()
            watched.close()
        finally:
            config.set_option("server.fileWatcherType", before)
        assert bool(scanned) == scans, watcher
