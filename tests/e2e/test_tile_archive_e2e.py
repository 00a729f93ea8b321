"""The street layer from an offline PMTiles archive, in Chromium, on every page with a map.

The dashboard is started as a deployment would (``ui.serve``) with ``MAP_TILE_ARCHIVE`` naming
an archive that tools/make_tile_archive.py generated (tiles labelled z/x/y). On Explore,
Hotspots and the meeting's hotspot step the map must draw tiles decoded from the archive, read
with HTTP range requests (206) from the dashboard's own origin only; the layer control must
hide and show them; axe-core must find nothing serious; and (the ``browse`` harness) no request
may leave the server, no console error, no exception box. Screenshots:
``tests/e2e/screenshots/street_map_<page>.png``.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, REPO_ROOT, serve_dashboard
from tests.e2e.test_accessibility_e2e import (
    AXE_JS,
    FAILING_IMPACTS,
    describe,
    open_from_nav,
    run_axe,
)
from tools.make_tile_archive import make_archive

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
TILES = ".leaflet-tile-pane .wy-street-tiles img"


@pytest.fixture(scope="module")
def street_map_url(e2e_store, tmp_path_factory):
    root = tmp_path_factory.mktemp("street_map")
    archive = make_archive(root / "wy-test.pmtiles")
    env = {"STORE_URL": str(e2e_store), "MAP_TILE_ARCHIVE": str(archive)}
    with serve_dashboard(root / "server", env=env) as server:
        log = server.log()
        assert "Street map:" in log, log  # checked and published before the server listened
        yield server.url
    for served in (REPO_ROOT / "static" / "tiles").glob("wy-test-*.pmtiles"):
        served.unlink()  # the server put it there; leave the working tree as it was


def map_frame(page, index: int = 0):
    iframe = page.locator(MAP_IFRAME).nth(index)
    iframe.wait_for(state="visible", timeout=APP_RUN_TIMEOUT_MS)
    frame = iframe.element_handle().content_frame()
    frame.locator(".leaflet-container").wait_for(state="visible", timeout=APP_RUN_TIMEOUT_MS)
    return frame


def loaded_tiles(frame, minimum: int = 4) -> list[dict]:
    """Wait until at least ``minimum`` archive tiles are decoded; describe each tile image."""
    frame.wait_for_function(
        """([sel, n]) => [...document.querySelectorAll(sel)]
              .filter(img => img.complete && img.naturalWidth > 0).length >= n""",
        arg=[TILES, minimum], timeout=APP_RUN_TIMEOUT_MS)
    return frame.evaluate("""sel => [...document.querySelectorAll(sel)].map(img => ({
        src: img.src, width: img.naturalWidth, height: img.naturalHeight, alt: img.alt,
        visible: img.getBoundingClientRect().width > 0}))""", TILES)


def check_street_map(dashboard, frame, ranges: list, name: str) -> int:
    tiles = [t for t in loaded_tiles(frame) if t["width"]]
    assert len(tiles) >= 4, tiles
    # Each tile is an image the pmtiles reader cut out of the archive (a blob), never a URL.
    assert all(t["src"].startswith("blob:") and (t["width"], t["height"]) == (256, 256)
               and t["alt"] == "" for t in tiles), tiles[:3]
    # Read with range requests from the dashboard itself: 206s, no whole-file download.
    own = [r for r in ranges if r["url"].startswith(dashboard.base_url + "/app/static/tiles/")]
    assert own and all(r["status"] == 206 and r["range"] for r in own), ranges
    assert len(own) == len(ranges)
    print(f"{name}: {len(tiles)} archive tiles drawn from {len(own)} range requests (206)")
    # The layer control lists the street layer; unticking it removes the tiles, ticking brings
    # them back.
    control = frame.locator(".leaflet-control-layers label", has_text="Street map")
    box = control.locator("input[type=checkbox]")
    assert box.is_checked()
    box.uncheck()
    frame.wait_for_function("sel => document.querySelectorAll(sel).length === 0", arg=TILES,
                            timeout=APP_RUN_TIMEOUT_MS)
    box.check()
    loaded_tiles(frame)
    # The archive's attribution is credited on the map.
    assert "Test tiles, tools/make_tile_archive.py" in frame.locator(
        ".leaflet-control-attribution").inner_text()
    dashboard.screenshot(f"street_map_{name}")
    return len(tiles)


def test_every_map_draws_the_street_layer_from_the_archive_served_by_the_app(
        browse, street_map_url):
    dashboard = browse(street_map_url)
    page = dashboard.page
    ranges: list[dict] = []

    def record(response):
        if "/tiles/" in response.url:
            ranges.append({"url": response.url, "status": response.status,
                           "range": response.request.headers.get("range")})

    page.on("response", record)
    dashboard.open("/")
    counts, serious = {}, []
    for key in ("explore", "hotspots"):
        ranges.clear()
        open_from_nav(dashboard, key)
        counts[key] = check_street_map(dashboard, map_frame(page), ranges, key)
        for violation in run_axe(page) if AXE_JS.is_file() else []:
            if violation["impact"] in FAILING_IMPACTS:
                serious.extend(describe("analyst", key, violation))
    # The meeting's hotspot step, through a prepared link to its default period.
    open_from_nav(dashboard, "meeting")
    query = parse_qs(urlsplit(page.url).query)
    ranges.clear()
    page.goto(f"{street_map_url}/meeting?"
              + urlencode({"period": query["period"][0], "step": "hotspots"}))
    dashboard.wait_for_app()
    page.locator(".meeting-step", has_text="Hotspots").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.take_console_errors(
        rf"{re.escape(street_map_url)}/meeting/_stcore/(health|host-config)\)$")
    counts["meeting"] = check_street_map(dashboard, map_frame(page), ranges, "meeting")
    for violation in run_axe(page) if AXE_JS.is_file() else []:
        if violation["impact"] in FAILING_IMPACTS:
            serious.extend(describe("analyst", "meeting", violation))
    print(f"archive tiles drawn: {counts}; axe-core: {len(serious)} serious or critical")
    assert not serious, "\n".join(serious)
    assert AXE_JS.is_file(), "axe-core is not installed: run `make assets`"
