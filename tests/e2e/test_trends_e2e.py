"""The Trends page in a real browser, as the Deputy Mayor's office (executive) would use it.

The store is the project's synthetic generator over three years ending in October 2026, so the
monthly figures are large enough for most to show after suppression (the harness's tiny sample
store would hide nearly everything from an executive). The test checks that the page loads clean
(no foreign request, console error or exception), that the KPI tiles and an Altair chart show,
that the period is in the link, and that the KPI CSV download holds what the tiles show and no
small number. At 1440×900 an executive reads "better or worse, and where" without scrolling:
the summary's sentences are in the first viewport.
"""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from data.synthetic import build_store
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, serve_dashboard
from tests.e2e.test_explore_e2e import headline, wait_for_rerun
from views.kpis import kpi_table
from views.trend_summary import trend_summary

pytestmark = pytest.mark.e2e

FEED_TITLES = ("NRM referrals", "Rosewood episodes", "Mandevilla flags")


@pytest.fixture(scope="module")
def trends_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("trends_e2e") / "store"
    build_store(str(root), years=3, seed=3, end="2026-10-31")
    return root


@pytest.fixture(scope="module")
def trends_url(trends_store, tmp_path_factory):
    with serve_dashboard(tmp_path_factory.mktemp("trends_server"),
                         env={"STORE_URL": str(trends_store)}) as server:
        yield server.url


def open_trends_as_executive(dashboard):
    dashboard.open("/")
    page = dashboard.page
    page.locator('[data-testid="stSidebar"]').get_by_text("Deputy Mayor's office").click()
    nav = page.locator('[data-testid="stSidebarNav"]')
    # An executive has no map explorer: its link going is the sign that the role changed.
    wait_for_rerun(dashboard, lambda: nav.get_by_text("Explore").count() == 0
                   and nav.get_by_text("Trends").count() == 1, what=lambda: nav.inner_text())
    nav.get_by_text("Trends").click()
    page.get_by_role("heading", name="Trends").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    wait_for_rerun(dashboard, lambda: "period=" in page.url
                   and page.locator('[data-testid="stVegaLiteChart"]').count() >= 1,
                   timeout_s=60, what=lambda: page.url)
    # Streamlit probes the page's own URL path when it changes; those are expected.
    dashboard.take_console_errors(
        rf"{re.escape(dashboard.base_url)}/trends/_stcore/(health|host-config)\)$")
    return page


def test_executive_sees_tiles_charts_and_downloads_the_kpi_table(browse, trends_url,
                                                                 trends_store):
    dashboard = browse(trends_url)
    page = open_trends_as_executive(dashboard)

    assert "SYNTHETIC DATA" in page.locator('[data-testid="stAlert"]').first.inner_text()
    assert parse_qs(urlsplit(page.url).query)["period"] == ["2026-10"]
    expected = kpi_table(RoleScopedQuery(ParquetStore(trends_store),
                                         Principal("test", "executive")), "2026-10")
    shown = headline(page)            # the metric tiles: label -> value
    for row in expected.itertuples():
        assert shown[row.title] == row.display
    assert page.get_by_role("heading", name="October 2026: records per feed").is_visible()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.locator("canvas, svg").first.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert chart.bounding_box()["height"] > 120
    assert page.locator('[data-testid="stDataFrame"]').count() == 1  # the trend flags

    # One download control: the file picked (the KPI table first), then one button.
    with page.expect_download(timeout=APP_RUN_TIMEOUT_MS) as info:
        page.get_by_role("button", name=re.compile("Download Records per feed: KPI table")).click()
    download = info.value
    assert download.suggested_filename == "trends-kpis-2026-10.csv"
    label, _, table = download.path().read_bytes().decode("utf-8-sig").partition("\r\n\r\n")
    assert label.startswith("# Protective marking: OFFICIAL-SENSITIVE")  # views.exports
    assert "# Period: October 2026" in label and "# SYNTHETIC DATA" in label
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["Feed"] for r in rows] == list(FEED_TITLES)
    for row, kpi in zip(rows, expected.itertuples()):
        assert row["Records"] == kpi.display
        assert row["Period"] == "October 2026"
    # Every figure in the file is a shown count: none is a small number for an executive.
    for row in rows:
        for column in ("Records", "Records (previous)", "Records (last year)"):
            value = row[column].replace(",", "")
            assert not value.isdigit() or int(value) == 0 or int(value) >= 5, (column, row)

    # The KPI CSV was made on the click and audited then; no download reruns the page.
    exports = read_audit(ParquetStore(trends_store), action="export")
    assert (exports["detail"] == "csv: kpi table").sum() == 1
    pick_download(dashboard, "NRM referrals by district: chart (PNG)")
    with page.expect_download(timeout=APP_RUN_TIMEOUT_MS) as info:
        page.get_by_role("button", name=re.compile("Download NRM referrals by district: chart")
                         ).click()
    assert info.value.suggested_filename == "trends-nrm-count-M.png"
    assert info.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Made on the click and audited as it was made, with the records of the period.
    exports = read_audit(ParquetStore(trends_store), action="export")
    png = exports[exports["detail"] == "png: nrm series"]
    assert len(png) == 1 and png.iloc[0]["role"] == "executive"
    assert png.iloc[0]["records"] == int(expected["count"].sum(skipna=True))

    wait_for_rerun(dashboard, lambda: True)
    dashboard.screenshot("trends-executive")
    dashboard.assert_clean()


def pick_download(dashboard, label: str) -> None:
    """Pick ``label`` in the page's download picker (a select: typed into, then Enter)."""
    page = dashboard.page
    picker = page.locator('.st-key-trends_download input[role="combobox"]')
    picker.click()
    picker.fill(label)
    page.keyboard.press("Enter")
    wait_for_rerun(dashboard, lambda: page.get_by_role(
        "button", name=re.compile(re.escape(f"Download {label}"))).count() == 1,
        what=lambda: page.locator(".st-key-trends_download_button").inner_text())


def test_executive_picks_a_feed_and_a_chart_and_the_link_keeps_them(browse, trends_url):
    """One chart per section: picking another feed (and another measure chart) draws its
    chart in place of the first, and the link keeps the choice."""
    dashboard = browse(trends_url)
    page = open_trends_as_executive(dashboard)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    wait_for_rerun(dashboard, lambda: charts.count() == 2, what=lambda: charts.count())
    page.locator(".st-key-trends_feed").get_by_role("radio", name="Rosewood episodes").click()
    wait_for_rerun(dashboard, lambda: "feed=rosewood" in page.url, what=lambda: page.url)
    page.locator(".st-key-trends_chart").get_by_role("radio", name="Repeat episodes").click()
    wait_for_rerun(dashboard, lambda: "chart=repeat" in page.url, what=lambda: page.url)
    dashboard.wait_for_app()
    assert charts.count() == 2
    page.get_by_text('Chart "Rosewood episodes: records"').wait_for(timeout=APP_RUN_TIMEOUT_MS)
    charts.first.scroll_into_view_if_needed()
    charts.first.locator("canvas, svg").first.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.take_console_errors(
        rf"{re.escape(dashboard.base_url)}/trends/_stcore/(health|host-config)\)$")
    dashboard.screenshot("trends-executive-rosewood")
    dashboard.assert_clean()


def test_quarter_choice_goes_to_the_link(browse, trends_url):
    dashboard = browse(trends_url)
    page = open_trends_as_executive(dashboard)
    page.get_by_text("Quarters", exact=True).click()
    wait_for_rerun(dashboard, lambda: "period=2026-Q3" in page.url, what=lambda: page.url)
    page.get_by_role("heading", name="Q3 2026 (Jul–Sep): records per feed").wait_for(
        timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()           # the whole page redrawn, not only its top, for the picture
    dashboard.take_console_errors(
        rf"{re.escape(dashboard.base_url)}/trends/_stcore/(health|host-config)\)$")
    dashboard.screenshot("trends-executive-quarter")
    dashboard.assert_clean()


SUMMARY = ".st-key-trend-summary"


def test_executive_sees_better_or_worse_and_where_without_scrolling(browse, trends_url,
                                                                    trends_store):
    """The Deputy Mayor's office's question, answered in the first screen at 1440×900: one
    sentence per feed for the last whole quarter and the quarter to date, in plain words, the
    method behind the help icon."""
    dashboard = browse(trends_url)
    dashboard.page.set_viewport_size({"width": 1440, "height": 900})
    page = open_trends_as_executive(dashboard)
    expected = trend_summary(RoleScopedQuery(ParquetStore(trends_store),
                                             Principal("test", "executive")))
    sentences = [f.sentence for block in expected for f in block.feeds]
    assert len(sentences) == 6  # Q3 2026 and October 2026, three feeds each

    summary = page.locator(SUMMARY)
    summary.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    items = summary.locator('[data-testid="stMarkdownContainer"]').filter(
        has_text=re.compile(r"^[▲▼●○] (Worse|Better|No real change|Not compared) · "))
    assert items.count() == len(sentences)
    page.locator('[data-testid="stMain"]').evaluate("e => e.scrollTo(0, 0)")
    for i, sentence in enumerate(sentences):
        item = items.nth(i)
        assert sentence in item.inner_text().replace("\n", " ")
        box = item.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900, \
            (sentence, box)
    for heading in (block.heading for block in expected):
        box = summary.get_by_text(heading).bounding_box()
        assert box["y"] + box["height"] <= 900, heading
    main = summary.inner_text()
    for jargon in ("conditional binomial", "Pearson", "Mann-Kendall", "Sen's", "[c]"):
        assert jargon not in main, jargon
    # A verdict word leads each sentence, with its mark (never colour alone).
    assert all(re.match(r"^[▲▼●○] (Worse|Better|No real change|Not compared) · ",
                        items.nth(i).inner_text()) for i in range(items.count()))

    # The method is behind the help icon beside the summary's heading.
    summary.locator('[data-testid="stTooltipHoverTarget"]').first.hover()
    tooltip = page.locator('[data-testid="stTooltipContent"]')
    tooltip.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert "over-dispersion" in tooltip.inner_text()
    page.mouse.move(0, 0)
    tooltip.wait_for(state="hidden", timeout=APP_RUN_TIMEOUT_MS)

    # What the Deputy Mayor's office sees first, for a person to look at.
    page.locator('[data-testid="stMain"]').evaluate("e => e.scrollTo(0, 0)")
    page.screenshot(path="/tmp/trends-exec.png")
    dashboard.screenshot("trends-executive-1440")
    dashboard.take_console_errors(
        rf"{re.escape(dashboard.base_url)}/trends/_stcore/(health|host-config)\)$")
    dashboard.assert_clean()
