"""Meeting mode in a real browser: a chair steps through every step, downloads the briefing pack,
and a prepared link opens the same view.

The store is two years of synthetic data (so there are hotspots and small district counts) and
one task whose action text is a Markdown image and HTML: the page must show it as text and never
fetch the image (``assert_clean`` fails on any request to another origin).
"""
from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader

from core.schema import FEEDS
from data.synthetic import build_store as build_synthetic
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, serve_dashboard
from views.hotspots import fit_hotspots
from views.meeting import Period
from views.tasking import DEFAULT_AGENCIES, TaskBook

pytestmark = pytest.mark.e2e

PAYLOAD = "Visit ![x](http://example.com/x.png) <img src=x onerror=window.pwned=1>"
STEP_TITLES = ["1. Headline numbers", "2. District comparison", "3. Hotspots", "4. Tasking",
               "5. Trends"]
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


@pytest.fixture(scope="module")
def meeting_url(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("meeting_e2e")
    build_synthetic(root / "store", years=2, seed=3, end="2026-09-30")
    store = ParquetStore(root / "store")
    chair = Principal("chair@example.org", "chair")
    view = fit_hotspots(RoleScopedQuery(store, chair), list(FEEDS), Period("2026-Q3").filter())
    TaskBook(store, chair).create(view.hotspots.iloc[0], lead_agency=DEFAULT_AGENCIES[0],
                                  action=PAYLOAD, due=dt.date(2027, 1, 31), feeds=list(FEEDS))
    with serve_dashboard(root / "server", env={"STORE_URL": str(store.root)}) as server:
        yield server.url


def step_title(page) -> str:
    return page.locator(".meeting-step").inner_text().strip()


def wait_for_step(dashboard, title: str) -> None:
    dashboard.page.locator(".meeting-step", has_text=title).wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()


def take_probes(dashboard) -> None:
    """Streamlit probes a page URL's own health and host-config paths: expected errors."""
    dashboard.take_console_errors(
        rf"{re.escape(dashboard.base_url)}/meeting/_stcore/(health|host-config)\)$")


def test_a_chair_steps_through_the_meeting_and_downloads_the_pack(browse, meeting_url,
                                                                   tmp_path):
    dashboard = browse(meeting_url)
    dashboard.open("/")
    page = dashboard.page
    page.locator('[data-testid="stSidebar"]').get_by_text("Partnership chair").click()
    dashboard.wait_for_app()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Meeting", exact=True).click()
    wait_for_step(dashboard, STEP_TITLES[0])
    take_probes(dashboard)
    assert parse_qs(urlsplit(page.url).query) == {"period": ["2026-Q3"], "step": ["headline"]}
    assert "Partnership meeting · Jul–Sep 2026 · West Yorkshire" in page.locator(
        "h1").first.inner_text()
    # The sidebar starts collapsed on the projector view.
    assert page.locator('[data-testid="stSidebar"][data-collapsed="true"]').count() == 1
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert len(values) == 3 and all(re.fullmatch(r"[\d,]+", v) for v in values)
    # Each change says whether it is beyond normal variation (the Trends page's test).
    headline = page.locator('[data-testid="stMain"] [data-testid="stTable"]').first.inner_text()
    assert "Beyond normal variation" in headline
    # The period picker names the period as people read it; the link keeps its key.
    assert page.get_by_role("combobox", name="Period").input_value() == "Jul–Sep 2026"
    dashboard.screenshot("meeting-1-headline")

    for number, title in enumerate(STEP_TITLES[1:], start=2):
        page.get_by_role("button", name="Next").click()
        wait_for_step(dashboard, title)
        assert page.get_by_text(f"{number} / 5", exact=True).count() == 1
        main = page.locator('[data-testid="stMain"]')
        if number == 2:
            assert "<10" in main.locator('[data-testid="stTable"]').inner_text()
        if number == 3:
            frame = page.locator(MAP_IFRAME).element_handle().content_frame()
            frame.locator("path.wy-district").first.wait_for(state="attached",
                                                            timeout=APP_RUN_TIMEOUT_MS)
            assert frame.locator("path.wy-district").count() == 5
            assert "Horbury" in main.locator('[data-testid="stTable"]').inner_text()
            # Each row names the rank the map's number shows.
            ranks = main.locator('[data-testid="stTable"] tbody th').all_inner_texts()
            assert [r.strip() for r in ranks][:2] == ["1", "2"]
            # What the hotspots cover, in the Hotspots page's words, above the map.
            assert re.search(r"The \d+ hotspots cover [\d.]+% of West Yorkshire, within the "
                             r"list's limit of 3%\.", main.inner_text())
        if number == 4:
            table = main.locator('[data-testid="stTable"]')
            # Shown as written (invisible word joiners break autolinks) ...
            assert PAYLOAD in table.inner_text().replace("\u2060", "")
            # ... not as an image, markup or a link.
            assert table.locator("img").count() == 0 and table.locator("a").count() == 0
            assert page.evaluate("() => window.pwned === undefined")
        if number == 5:
            main.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=APP_RUN_TIMEOUT_MS)
        dashboard.screenshot(f"meeting-{number}-{title.split('. ')[1].split()[0].lower()}")
        assert parse_qs(urlsplit(page.url).query)["step"][0] in (
            "districts", "hotspots", "tasking", "trends")
    assert page.get_by_role("button", name="Next").is_disabled()

    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Briefing pack (PDF)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "briefing-2026-Q3.pdf"
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages]
    assert len(pages) >= 2 and all(p.count("OFFICIAL-SENSITIVE") >= 2 for p in pages)
    assert "Period: Jul–Sep 2026 (2026-Q3)" in pages[0]
    dashboard.wait_for_app()
    dashboard.assert_clean()


def test_a_prepared_link_opens_the_same_view(browse, meeting_url):
    dashboard = browse(meeting_url)
    # A new browser session is the demo's analyst: meeting mode still suppresses.
    dashboard.open("/meeting?period=2026-09&district=E08000035&step=districts")
    take_probes(dashboard)
    page = dashboard.page
    wait_for_step(dashboard, "2. District comparison")
    assert "September 2026 · Leeds" in page.locator("h1").first.inner_text()
    assert parse_qs(urlsplit(page.url).query) == {
        "period": ["2026-09"], "district": ["E08000035"], "step": ["districts"]}
    assert "<10" in page.locator('[data-testid="stTable"]').inner_text()
    page.get_by_role("button", name="Previous").click()
    wait_for_step(dashboard, "1. Headline numbers")
    assert parse_qs(urlsplit(page.url).query)["step"] == ["headline"]
    dashboard.screenshot("meeting-link-leeds")
    dashboard.assert_clean()
