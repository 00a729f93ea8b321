"""The map explorer in a real browser: map, filters, link, panel, and a hostile category value.

The store is the harness's small synthetic one (``E2E_ROWS``) plus one NRM referral whose
exploitation type is an HTML payload. Ingestion refuses such a value, so it is appended to the
store directly, as a compromised or buggy writer might: the page must still show it as text.
It lies in Todmorden, away from the other points; the test zooms until its marker is drawn on
its own, out of any cluster, and hovers it.

Each test ends with ``assert_clean``: no request to another origin, no console error (other than
Streamlit's own probes for a page URL, taken explicitly), no Streamlit exception.
"""
from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from data.ingest import ingest_frame
from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from tests.e2e.conftest import (
    APP_RUN_TIMEOUT_MS,
    E2E_ROWS,
    SCREENSHOT_DIR,
    serve_dashboard,
)
from tests.sample_store import build_store, feed_rows

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
PAYLOAD = "<img src=x onerror=window.pwned=1>"
TODMORDEN = ("-2.0970", "53.7130")
# Everything is inside the default period (the last 12 months of data, clipped to its start).
N_NRM = E2E_ROWS["nrm"] + 1                                  # and the crafted referral (adult)
CHILDREN = {"NRM referrals": str(sum(i % 2 for i in range(E2E_ROWS["nrm"]))),    # odd rows
            "Rosewood episodes": "0",                        # all adults in the sample
            "Mandevilla flags": str(sum(i % 2 for i in range(E2E_ROWS["mandevilla"])))}


def append_crafted_referral(store: ParquetStore, scratch: Path) -> None:
    """Store one valid NRM row, then a copy of it whose exploitation type is ``PAYLOAD``."""
    row = feed_rows("nrm", E2E_ROWS["nrm"]).tail(1).assign(
        record_id="NRM-CRAFTED", age_group="adult", longitude=TODMORDEN[0],
        latitude=TODMORDEN[1])
    donor = ParquetStore(scratch)
    ingest_frame(row, "nrm", name="donor.csv", store=donor, source="synthetic")
    stored = donor.query("nrm")
    crafted = stored.assign(exploitation_type=PAYLOAD, content_hash="crafted-" + "0" * 56)
    store.append("nrm", crafted, source="synthetic", file_name="crafted.parquet")


@pytest.fixture(scope="module")
def explore_store(tmp_path_factory) -> Path:
    """The harness's sample store plus the crafted referral."""
    root = tmp_path_factory.mktemp("explore_e2e")
    store = build_store(root / "store", E2E_ROWS, source="synthetic")
    append_crafted_referral(store, root / "donor")
    return store.root


@pytest.fixture(scope="module")
def explore_url(explore_store, tmp_path_factory) -> str:
    """A dashboard on ``explore_store``."""
    with serve_dashboard(tmp_path_factory.mktemp("explore_server"),
                         env={"STORE_URL": str(explore_store)}) as server:
        yield server.url


def open_explore(dashboard, query: str = "") -> object:
    """Open the explorer by URL and wait for its map; Streamlit's probes are expected."""
    path = "/explore" + (f"?{query}" if query else "")
    dashboard.open(path)
    probes = rf"{re.escape(dashboard.base_url)}/explore/_stcore/(health|host-config)\)$"
    dashboard.take_console_errors(probes)
    return map_frame(dashboard.page)


def map_frame(page):
    """The page's one map, once its districts are drawn. A rerun that gives the map a new key
    (another role, another view) mounts the new frame before Streamlit drops the old one, so
    for a moment there are two (seen on a loaded CI machine): wait until one is left."""
    frames = page.locator(MAP_IFRAME)
    frames.first.wait_for(state="attached", timeout=APP_RUN_TIMEOUT_MS)
    for _ in range(APP_RUN_TIMEOUT_MS // 100):
        if frames.count() == 1:
            break
        time.sleep(0.1)
    assert frames.count() == 1, f"{frames.count()} maps on a page that draws one"
    iframe = frames.first
    iframe.wait_for(state="visible", timeout=APP_RUN_TIMEOUT_MS)
    frame = iframe.element_handle().content_frame()
    frame.locator(".leaflet-container").wait_for(state="visible", timeout=APP_RUN_TIMEOUT_MS)
    frame.locator("path.wy-district").first.wait_for(state="attached",
                                                     timeout=APP_RUN_TIMEOUT_MS)
    return frame


def headline(page) -> dict[str, str]:
    tiles = page.locator('[data-testid="stMetric"]')
    out = {}
    for i in range(tiles.count()):
        label = tiles.nth(i).locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = tiles.nth(i).locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def legend_text(page) -> str:
    return page.locator(".wy-legend").inner_text()


def assert_small_attribution(frame) -> None:
    """The credits sit in the map's bottom-right corner in Leaflet's small type, beside the
    scale bar (folium's 1rem default drew them in 16px type, a banner across the map's foot)."""
    box = frame.evaluate("""() => {
        const a = document.querySelector('.leaflet-control-attribution');
        const m = document.querySelector('.leaflet-container').getBoundingClientRect();
        const r = a.getBoundingClientRect();
        const s = document.querySelector('.leaflet-control-scale').getBoundingClientRect();
        return {size: getComputedStyle(a).fontSize, text: a.innerText, height: r.height,
                right: m.right - r.right, bottom: m.bottom - r.bottom,
                clear: r.left >= s.right || r.bottom <= s.top};
    }""")
    assert box["text"].startswith("Leaflet | Source: ONS (OGL v3.0)"), box
    assert box["size"] == "12px", box
    assert box["height"] < 40, box                                          # two lines at most
    assert abs(box["right"]) < 1 and abs(box["bottom"]) < 1, box             # in the corner
    assert box["clear"], box                                   # not over the scale bar


def wait_for_rerun(dashboard, condition, timeout_s: float = 20, what=None) -> None:
    """Wait until ``condition()`` holds and the app has finished running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            dashboard.wait_for_app()
            if condition():
                return
        except Exception:  # an element replaced mid-read: try again
            pass
        time.sleep(0.2)
    raise AssertionError(f"the page did not update in time: {what() if what else ''}")


def test_map_filters_link_and_panel(dashboard, explore_url, browse):
    dashboard = browse(explore_url)
    requested = []
    dashboard.page.on("request", lambda request: requested.append(request.url))
    frame = open_explore(dashboard)
    page = dashboard.page
    # The map's frame loads Leaflet and the plugins it draws with, not the files of icon
    # markers or jQuery, which the dashboard's maps never use (ui.folium_frame.unused_assets).
    vendored = [url.split("/app/static/vendor/", 1)[1] for url in requested
                if "/app/static/vendor/" in url]
    assert "leaflet@1.9.3/dist/leaflet.js" in vendored, vendored
    assert not [url for url in vendored if "jquery" in url or "awesome" in url], vendored

    assert "SYNTHETIC DATA" in page.locator('[data-testid="stAlert"]').first.inner_text()
    assert frame.locator("path.wy-district").count() == 5
    labels = sorted(t.strip().upper() for t in frame.locator(".wy-label-district span")
                    .all_inner_texts())
    assert labels == ["BRADFORD", "CALDERDALE", "KIRKLEES", "LEEDS", "WAKEFIELD"]
    overlays = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [o.strip() for o in overlays] == ["Areas", "Hexagons", "Heat map", "Points"]
    assert headline(page) == {"NRM referrals": str(N_NRM),
                              "Rosewood episodes": str(E2E_ROWS["rosewood"]),
                              "Mandevilla flags": str(E2E_ROWS["mandevilla"])}
    before = legend_text(page)
    assert before.startswith("Records by ward")
    assert_small_attribution(frame)
    dashboard.screenshot("explore")

    # A filter change: children only. The numbers, the legend and the link follow.
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Child").click()
    # The metrics and the legend are separate elements, redrawn one after the other: wait for both.
    wait_for_rerun(dashboard,
                   lambda: headline(page) == CHILDREN and "age: child" in legend_text(page),
                   what=lambda: (headline(page), legend_text(page)))
    assert legend_text(page) != before
    link = page.url
    assert parse_qs(urlsplit(link).query)["age"] == ["child"]
    map_frame(page)

    # A click on an area opens its panel, and the panel goes into the link too.
    iframe = page.locator(MAP_IFRAME)
    iframe.scroll_into_view_if_needed()  # a click on a half-hidden frame scrolls it mid-click
    box = iframe.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.45)
    page.get_by_text("Rank:").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert "area" in parse_qs(urlsplit(page.url).query)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert re.search(r"Ward in \w+ · [\d,]+ residents \(estimate\)", main), main[-800:]
    # Ranks are honest: an area with no records is not "6th highest" among 119 tied at zero.
    records = re.search(r"Records\s+([\d,]+)\s", main).group(1)
    if records == "0":
        assert re.search(r"Rank: no records, like \d+ of the 124 wards", main), main[-800:]
    else:
        assert re.search(r"Rank: (joint )?\d+(st|nd|rd|th) highest rate of 124 wards", main)
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.screenshot("explore-panel")
    dashboard.assert_clean()

    # The copied link (before the click) opens the same view in a new browser session.
    again = browse(explore_url)
    open_explore(again, urlsplit(link).query)
    assert headline(again.page) == CHILDREN
    assert legend_text(again.page) == legend_text(page) or "age: child" in legend_text(
        again.page)
    pills = again.page.locator('[data-testid="stSidebar"]')
    assert pills.get_by_role("button", name="Child").get_attribute("aria-pressed") == "true"
    assert pills.get_by_role("button", name="Adult").get_attribute("aria-pressed") == "false"
    again.assert_clean()


def test_a_payload_in_the_data_shows_as_text_in_the_tooltip(browse, explore_url):
    dashboard = browse(explore_url)
    frame = open_explore(dashboard, "layer=points&feed=nrm")
    page = dashboard.page
    frame.locator(".leaflet-marker-pane, .leaflet-overlay-pane").first.wait_for(
        state="attached")
    # The crafted point: find it among the cluster's markers and zoom until it is drawn on
    # its own (Leaflet.markercluster's zoomToShowLayer).
    where = None
    for _ in range(50):
        where = frame.evaluate("""() => new Promise(resolve => {
            for (const id in window.map._layers) {
                const group = window.map._layers[id];
                if (!(group instanceof L.MarkerClusterGroup)) continue;
                for (const marker of group.getLayers()) {
                    const tip = marker.getTooltip && marker.getTooltip();
                    if (tip && String(tip.getContent()).includes('onerror')) {
                        group.zoomToShowLayer(marker, () => {
                            const p = window.map.latLngToContainerPoint(marker.getLatLng());
                            resolve({x: p.x, y: p.y});
                        });
                        return;
                    }
                }
            }
            resolve(null);
        })""")
        if where:
            break
        time.sleep(0.2)
    assert where, "the crafted point is not on the map"
    time.sleep(0.5)  # the zoom animation's last frame
    iframe = page.locator(MAP_IFRAME)
    iframe.scroll_into_view_if_needed()
    box = iframe.bounding_box()
    page.mouse.move(box["x"] + where["x"], box["y"] + where["y"])
    tooltip = frame.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    text = tooltip.inner_text()
    assert PAYLOAD in text                                     # shown as text ...
    assert tooltip.locator("img").count() == 0                 # ... not as markup
    assert text.startswith("NRM")
    assert frame.evaluate("() => window.pwned === undefined")
    assert frame.locator("img[src='x']").count() == 0
    # The map with the tooltip open (a whole-page shot resizes the window, which closes it).
    page.locator(MAP_IFRAME).screenshot(path=str(SCREENSHOT_DIR / "explore-tooltip-map.png"))
    assert "geomasked 100 m locations" in page.locator('[data-testid="stMain"]').inner_text()
    dashboard.screenshot("explore-tooltip")
    dashboard.assert_clean()


def test_a_chair_gets_areas_only(browse, explore_url):
    dashboard = browse(explore_url)
    frame = open_explore(dashboard)
    page = dashboard.page
    page.locator('[data-testid="stSidebar"]').get_by_text("Partnership chair").click()
    wait_for_rerun(dashboard, lambda: page.get_by_text("Map opens on").count() == 0)
    frame = map_frame(page)
    overlays = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [o.strip() for o in overlays] == ["Areas"]
    assert frame.locator("canvas.leaflet-heatmap-layer").count() == 0
    assert "Grey: fewer than 10" in legend_text(page)
    page.get_by_role("combobox", name=re.compile("Areas")).click()
    options = [o.strip() for o in page.get_by_role("option").all_inner_texts()]
    assert options == ["District", "Ward"]
    page.keyboard.press("Escape")
    dashboard.screenshot("explore-chair")
    dashboard.assert_clean()


def test_the_hotspots_overlay_is_listed_when_switched_on(browse, explore_url):
    dashboard = browse(explore_url)
    open_explore(dashboard)
    page = dashboard.page
    page.get_by_text("Show hotspots").click()
    wait_for_rerun(dashboard, lambda: "hotspots" in parse_qs(urlsplit(page.url).query)
                   and page.get_by_text(re.compile("hotspot for these filters|hotspots for "
                                                   "these filters|finds no hotspot")).count(),
                   timeout_s=60, what=lambda: page.url)
    frame = map_frame(page)
    overlays = [o.strip() for o in
                frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert overlays == ["Areas", "Hexagons", "Heat map", "Points", "Hotspots"]
    hotspots = frame.locator(".leaflet-control-layers-overlays label", has_text="Hotspots")
    assert hotspots.locator("input").is_checked()          # asked for, so drawn
    assert parse_qs(urlsplit(page.url).query)["hotspots"] == ["1"]
    dashboard.screenshot("explore-hotspots")
    dashboard.assert_clean()


def exports_of(store_root, detail: str) -> int:
    exports = read_audit(ParquetStore(store_root), action="export")
    return int((exports["detail"] == detail).sum())


def map_exports(store_root) -> int:
    return exports_of(store_root, "map: html, areas and hexagons")


def test_both_downloads_work_from_the_page(browse, browser, explore_url, explore_store,
                                          tmp_path):
    dashboard = browse(explore_url)
    map_exports_before = map_exports(explore_store)
    csv_before = exports_of(explore_store, "csv: ward table")
    open_explore(dashboard)
    page = dashboard.page
    totals = headline(page)

    with page.expect_download(timeout=APP_RUN_TIMEOUT_MS) as table_download:
        page.get_by_role("button", name=re.compile(r"Table \(CSV\)")).click()
    table = table_download.value
    raw = Path(table.path()).read_bytes()
    assert table.suggested_filename.startswith("explore-ward-")
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw     # as views.exports.safe_csv writes
    label, _, body = raw.decode("utf-8-sig").partition("\r\n\r\n")  # views.exports label
    assert label.startswith("# Protective marking: OFFICIAL-SENSITIVE")
    assert "# Role: Analyst" in label
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 124 and list(rows[0])[:3] == ["Ward code", "Ward", "District"]
    # Analysts see every count: the wards add up to the headline's records.
    assert sum(int(r["Records"]) for r in rows) == sum(int(v) for v in totals.values())
    formula = [c for r in rows for c in r.values() if c[:1] in ("=", "+", "-", "@")]
    assert formula == [], formula

    # Made on the click and audited as it was made; no download reruns the page, so the map
    # button's deferred id is still the one the page was drawn with.
    assert exports_of(explore_store, "csv: ward table") == csv_before + 1
    with page.expect_download(timeout=APP_RUN_TIMEOUT_MS) as map_download:
        page.get_by_role("button", name=re.compile(r"Map \(HTML\)")).click()
    saved = tmp_path / map_download.value.suggested_filename
    map_download.value.save_as(saved)
    assert saved.suffix == ".html"
    # Made on the click, with no rerun, and audited as it was made (ui.loaders.audited_download).
    assert map_exports(explore_store) == map_exports_before + 1

    # The file opens from disk with the network refused, and draws the map and its legend.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused, errors = [], []
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(("file:", "data:"))
                  else (refused.append(route.request.url), route.abort()))
    try:
        offline = context.new_page()
        offline.on("console", lambda m: m.type == "error" and errors.append(m.text))
        offline.on("pageerror", lambda e: errors.append(str(e)))
        offline.goto(saved.as_uri())
        offline.locator("path.wy-district").first.wait_for(state="attached", timeout=10_000)
        assert offline.locator("path.wy-district").count() == 5
        assert "Records by ward" in offline.locator("body").inner_text()
        assert "SYNTHETIC DATA" in offline.locator("body").inner_text()
        offline.screenshot(path=str(SCREENSHOT_DIR / "explore-download.png"))
    finally:
        context.close()
    assert refused == [] and errors == [], (refused, errors)
    dashboard.assert_clean()


BRADFORD = "E08000032"


def map_bounds(frame) -> dict:
    return frame.evaluate("""() => { const b = window.map.getBounds();
        return {south: b.getSouth(), west: b.getWest(), north: b.getNorth(),
                east: b.getEast()}; }""")


def test_a_district_filter_draws_the_rest_as_not_selected_and_zooms(browse, explore_url):
    from maps.legends import NOT_SELECTED_COLOUR

    dashboard = browse(explore_url)
    frame = open_explore(dashboard, f"district={BRADFORD}")
    page = dashboard.page
    assert "Not selected" in legend_text(page)
    # Bradford's 30 wards in the classes' colours, the other 94 pale, as the legend says.
    frame.locator(f'path[fill="{NOT_SELECTED_COLOUR}"]').first.wait_for(state="attached")
    assert frame.locator(f'path[fill="{NOT_SELECTED_COLOUR}"]').count() == 94
    # Zoomed to Bradford (north-west of the county): Wakefield and Leeds's east are off the map.
    bounds = map_bounds(frame)
    assert bounds["east"] < -1.5 and bounds["north"] > 53.9, bounds
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "records mapped" in main
    page.screenshot(path="/tmp/explore-filter.png")          # what the analyst sees first
    dashboard.screenshot("explore-filter")

    with page.expect_download(timeout=APP_RUN_TIMEOUT_MS) as table_download:
        page.get_by_role("button", name=re.compile(r"Table \(CSV\)")).click()
    body = Path(table_download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body.partition("\r\n\r\n")[2])))
    assert len(rows) == 30 and {r["District"] for r in rows} == {"Bradford"}
    dashboard.assert_clean()


def test_a_click_outlines_the_area_and_opens_its_panel_beside_the_map(browse, explore_url):
    dashboard = browse(explore_url)
    frame = open_explore(dashboard, "level=district")
    page = dashboard.page
    assert frame.locator('path[stroke-width="4"]').count() == 0
    iframe = page.locator(MAP_IFRAME)
    iframe.scroll_into_view_if_needed()
    box = iframe.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.45)
    page.get_by_text("Rank:").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    frame = map_frame(page)
    # The outline: drawn over the map in the browser (the map itself is not drawn again).
    outline = frame.locator('path[stroke-width="4"][stroke="#111111"]')
    outline.first.wait_for(state="attached", timeout=APP_RUN_TIMEOUT_MS)
    assert outline.count() == 1
    # The panel is beside the map, in view without scrolling.
    rank = page.get_by_text("Rank:").bounding_box()
    box = page.locator(MAP_IFRAME).bounding_box()
    assert rank["x"] > box["x"] + box["width"] - 5, (rank, box)
    assert rank["y"] + rank["height"] < 900, rank
    page.screenshot(path=str(SCREENSHOT_DIR / "explore-panel-beside.png"))
    # Closing the panel removes the outline.
    page.get_by_role("button", name=re.compile("Close")).click()
    wait_for_rerun(dashboard, lambda: page.get_by_text("Rank:").count() == 0)
    frame = map_frame(page)
    wait_for_rerun(dashboard, lambda: frame.locator('path[stroke-width="4"]').count() == 0)
    dashboard.assert_clean()


def test_the_heat_map_has_a_legend(browse, explore_url):
    dashboard = browse(explore_url)
    frame = open_explore(dashboard, "layer=heat")
    page = dashboard.page
    frame.locator("canvas.leaflet-heatmap-layer").wait_for(state="attached")
    legend = legend_text(page)
    assert legend.startswith("Heat map: where records concentrate"), legend
    assert "Low: few records nearby" in legend and "High: the most records" in legend
    page.locator(".wy-legend").screenshot(path=str(SCREENSHOT_DIR / "explore-heat-legend.png"))
    dashboard.screenshot("explore-heat")
    dashboard.assert_clean()


def test_the_layers_ticked_off_load_their_files_when_switched_on(browse, explore_url):
    """The map opens on the areas with Leaflet alone; the heat map's and the clusters' files
    are fetched, and their layers built, when they are first ticked (maps.lazy_layer)."""
    dashboard = browse(explore_url)
    requested = []
    dashboard.page.on("request", lambda request: requested.append(request.url))
    frame = open_explore(dashboard)

    def vendored() -> list[str]:
        return [url.split("/app/static/vendor/", 1)[1] for url in requested
                if "/app/static/vendor/" in url]

    assert "leaflet@1.9.3/dist/leaflet.js" in vendored()
    assert not [url for url in vendored() if "heat" in url or "markercluster" in url], vendored()
    areas = frame.locator("path.leaflet-interactive").count()

    def tick(name: str) -> None:
        frame.locator(".leaflet-control-layers-overlays label", has_text=name).locator(
            "input").click()

    tick("Heat map")
    frame.locator("canvas.leaflet-heatmap-layer").wait_for(state="attached", timeout=20_000)
    tick("Points")
    frame.wait_for_function("""() => Object.values(window.map._layers).some(
        layer => window.L.MarkerClusterGroup && layer instanceof window.L.MarkerClusterGroup
                 && layer.getLayers().length > 0)""", timeout=20_000)
    tick("Hexagons")
    for _ in range(100):
        if frame.locator("path.leaflet-interactive").count() > areas:
            break
        time.sleep(0.1)
    assert frame.locator("path.leaflet-interactive").count() > areas    # the hexagons drawn
    files = vendored()
    assert "folium@0.20.0/templates/leaflet_heat.min.js" in files, files
    assert "leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js" in files, files
    assert "leaflet.markercluster@1.5.3/dist/MarkerCluster.css" in files, files
    tick("Heat map")
    tick("Heat map")                     # off and on again: the same layer, not a second one
    time.sleep(0.5)
    assert frame.locator("canvas.leaflet-heatmap-layer").count() == 1
    assert files.count("folium@0.20.0/templates/leaflet_heat.min.js") == 1
    dashboard.screenshot("explore-all-layers")
    dashboard.assert_clean()


def test_the_map_component_is_preloaded_and_leaflet_prefetched(browse, explore_url):
    """The map component's module is requested with the page (preloaded,
    ``ui.front_end_serving``), before the first message of the page's run arrives, not after
    it; the page also prefetches the frame's Leaflet files."""
    dashboard = browse(explore_url)
    events = []
    dashboard.page.on("request", lambda request: events.append(("request", request.url)))
    dashboard.page.on("websocket", lambda socket: socket.on(
        "framereceived", lambda payload: events.append(("message", len(payload)))))
    open_explore(dashboard)
    first_message = next(i for i, (kind, _) in enumerate(events) if kind == "message")
    modules = [(i, url.rsplit("/", 1)[1]) for i, (kind, url) in enumerate(events)
               if kind == "request" and "/static/js/" in url and "/component/" not in url]
    early = {name.split(".", 1)[0] for i, name in modules if i < first_message}
    assert "ComponentInstance" in early, early
    prefetched = dashboard.page.eval_on_selector_all(
        'link[rel="prefetch"]', "links => links.map(link => link.getAttribute('href'))")
    assert prefetched == ["/app/static/vendor/leaflet@1.9.3/dist/leaflet.js",
                          "/app/static/vendor/leaflet@1.9.3/dist/leaflet.css"]
    dashboard.assert_clean()
