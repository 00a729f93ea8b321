"""The hotspots page in a real browser: ranked table, polygons on the map, and the tasking loop.

The store is the harness's sample one (``E2E_ROWS``: records around the five town centres, so
five hotspots), built for this module because the test writes tasks to it. The demo starts as
an analyst, who sees the table and the map; a partnership chair creates a task and sees it in
the list. Each check ends with ``assert_clean``: no request to another origin, no console
error, no Streamlit exception.
"""
from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, E2E_ROWS, serve_dashboard
from tests.e2e.test_explore_e2e import map_frame, wait_for_rerun
from tests.sample_store import build_store

pytestmark = pytest.mark.e2e

FIT_TIMEOUT_MS = 120_000  # the first fit runs the Monte-Carlo scan on a loaded machine


@pytest.fixture(scope="module")
def hotspots_store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("hotspots_e2e") / "store", E2E_ROWS,
                       source="synthetic").root


@pytest.fixture(scope="module")
def hotspots_url(hotspots_store, tmp_path_factory) -> str:
    with serve_dashboard(tmp_path_factory.mktemp("hotspots_server"),
                         env={"STORE_URL": str(hotspots_store)}) as server:
        yield server.url


def open_hotspots(dashboard):
    dashboard.page.goto(dashboard.base_url + "/hotspots", wait_until="domcontentloaded")
    dashboard.page.get_by_text("Ranked hotspots").wait_for(timeout=FIT_TIMEOUT_MS)
    dashboard.wait_for_app()
    probes = rf"{re.escape(dashboard.base_url)}/hotspots/_stcore/(health|host-config)\)$"
    dashboard.take_console_errors(probes)
    return map_frame(dashboard.page)


def grid_text(page, index: int) -> str:
    """The cell texts of the ``index``-th dataframe (glide-data-grid keeps an accessible table
    of the visible cells next to its canvas)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(index)
    grid.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    return " ".join(grid.locator("td, th").all_inner_texts())


def test_table_polygons_and_a_new_task_in_the_list(browse, hotspots_url, hotspots_store):
    dashboard = browse(hotspots_url)
    frame = open_hotspots(dashboard)
    page = dashboard.page

    assert "SYNTHETIC DATA" in page.locator('[data-testid="stAlert"]').first.inner_text()
    # Boundaries are drawn non-interactive: the interactive paths are the hotspots.
    assert frame.locator("path.wy-district").count() == 5
    frame.locator("path.leaflet-interactive").first.wait_for(state="attached")
    assert frame.locator("path.leaflet-interactive").count() == 5
    table = grid_text(page, 0)
    for district in ("Bradford", "Calderdale", "Kirklees", "Leeds", "Wakefield"):
        assert f"({district})" in table, table
    assert "5 hotspots" in page.locator('[data-testid="stMain"]').inner_text()
    # Hovering a hotspot shows its figures as text.
    first = frame.locator("path.leaflet-interactive").first
    first.hover(force=True)
    tooltip = frame.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    assert "Relative risk" in tooltip.inner_text()
    dashboard.screenshot("hotspots")
    dashboard.assert_clean()

    # A partnership chair (the demo's role picker) creates a task from the first hotspot.
    page.locator('[data-testid="stSidebar"]').get_by_text("Partnership chair").click()
    create = page.get_by_role("button", name=re.compile("Create task"))
    create.wait_for(timeout=FIT_TIMEOUT_MS)
    dashboard.wait_for_app()
    map_frame(page)
    assert "<10" in grid_text(page, 0)                       # feed counts hidden for a chair
    page.get_by_label("Action").fill("Joint visit with licensing <b>officers</b>")
    create.click()
    page.get_by_text("Task T-0001 created").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    wait_for_rerun(dashboard, lambda: "T-0001" in grid_text(page, -1),
                   what=lambda: grid_text(page, -1))
    listing = grid_text(page, -1)
    assert "West Yorkshire Police" in listing and "Open" in listing
    # The one-page tasking sheet downloads as a PDF, made on the click and audited then.
    with page.expect_download(timeout=APP_RUN_TIMEOUT_MS) as sheet:
        page.get_by_role("button", name=re.compile("Tasking sheet")).click()
    pdf = PdfReader(sheet.value.path())
    assert len(pdf.pages) == 1
    assert "T-0001" in pdf.pages[0].extract_text()
    exports = read_audit(ParquetStore(hotspots_store), action="export")
    assert exports["detail"].tolist() == ["pdf: tasking sheet"]
    assert (exports.iloc[0]["role"], exports.iloc[0]["records"]) == ("chair", 1)
    main = page.locator('[data-testid="stMain"]')
    main.evaluate("e => e.scrollTo(0, e.scrollHeight)")
    dashboard.screenshot("hotspots-task")
    dashboard.assert_clean()


#: The map's Leaflet state, read inside the map's iframe (streamlit-folium keeps the map in
#: ``window.map``): its bounds, the bold outline of a selected hotspot, rank labels and legend.
LEAFLET_STATE = """() => {
    const map = window.map;
    if (!map || !map.getBounds) { return null; }
    const box = (b) => [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];
    const outlines = [];
    map.eachLayer((layer) => {
        if (layer.options && layer.options.color === "#111111" && layer.options.weight === 5
                && layer.getBounds) { outlines.push(box(layer.getBounds())); }
    });
    return {bounds: box(map.getBounds()), outlines: outlines,
            ranks: Array.from(document.querySelectorAll(".wy-rank")).map((e) => e.textContent),
            legend: (document.querySelector(".wy-hotspot-legend") || {}).textContent || "",
            zoom: map.getZoom()};
}"""


def test_selecting_a_row_zooms_the_map_to_the_hotspot_and_outlines_it(browse, hotspots_url):
    dashboard = browse(hotspots_url)
    frame = open_hotspots(dashboard)
    page = dashboard.page
    frame.locator(".wy-hotspot-legend").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    before = frame.evaluate(LEAFLET_STATE)
    assert sorted(before["ranks"]) == ["1", "2", "3", "4", "5"]        # permanent rank labels
    assert "Hotspot (number: its rank)" in before["legend"]
    assert before["outlines"] == []
    assert "Ranked by strength of evidence" in page.locator('[data-testid="stMain"]').inner_text()

    # Select the table's first row (the row marker at its left edge), as a user would.
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    page.get_by_text("Select a row of the table").wait_for(state="detached",
                                                           timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    after = None

    def zoomed() -> bool:
        # The outline is drawn with the map; the fit to it comes once the frame has its size,
        # later on a loaded machine: wait for both (the checks below say how close).
        nonlocal after
        after = map_frame(page).evaluate(LEAFLET_STATE)
        return bool(after and after["outlines"] and after["zoom"] >= before["zoom"] + 4)

    wait_for_rerun(dashboard, zoomed, timeout_s=45, what=lambda: after)
    [outline] = after["outlines"]
    south, west, north, east = after["bounds"]
    o_south, o_west, o_north, o_east = outline
    # The map now shows the hotspot, closely: its outline inside the view, the view far
    # smaller than West Yorkshire's.
    assert south <= o_south and west <= o_west and north >= o_north and east >= o_east
    b_south, b_west, b_north, b_east = before["bounds"]
    assert (north - south) * (east - west) < 0.05 * (b_north - b_south) * (b_east - b_west)
    assert after["zoom"] >= before["zoom"] + 4
    assert "Selected hotspot (black outline)" in after["legend"]
    heading = page.locator('[data-testid="stMain"] h3').first.inner_text()
    assert heading.startswith("1. ")
    dashboard.screenshot("hotspots-selected")
    dashboard.assert_clean()
