"""The explorer's twin map, month by month and place search in a real browser (1440 x 900).

Each test does what the analyst (or chair) does, looks at what the page shows, runs axe-core on
the view (iframes included: the maps) and takes a screenshot (tests/e2e/screenshots/).
"""
from __future__ import annotations

import contextlib
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, _unavailable, serve_dashboard
from tests.e2e.test_accessibility_e2e import AXE_JS, FAILING_IMPACTS, describe, run_axe
from tests.e2e.test_explore_e2e import MAP_IFRAME, legend_text, wait_for_rerun

pytestmark = pytest.mark.e2e

KIRKSTALL = "E05011402"


@pytest.fixture(scope="module")
def url(e2e_store, tmp_path_factory) -> str:
    with serve_dashboard(tmp_path_factory.mktemp("explore_modes_server"),
                         env={"STORE_URL": str(e2e_store)}) as server:
        yield server.url


def open_view(browse, url: str, query: str = "", *, maps: int = 1):
    dashboard = browse(url)
    dashboard.page.set_viewport_size({"width": 1440, "height": 900})
    dashboard.open("/explore" + (f"?{query}" if query else ""))
    probes = rf"{re.escape(dashboard.base_url)}/explore/_stcore/(health|host-config)\)$"
    dashboard.take_console_errors(probes)
    frames = map_frames(dashboard.page, maps)
    return dashboard, frames


def map_frames(page, maps: int):
    page.locator(MAP_IFRAME).nth(maps - 1).wait_for(state="visible",
                                                      timeout=APP_RUN_TIMEOUT_MS)
    out = []
    for i in range(maps):
        frame = page.locator(MAP_IFRAME).nth(i).element_handle().content_frame()
        frame.locator("path.wy-district").first.wait_for(state="attached",
                                                         timeout=APP_RUN_TIMEOUT_MS)
        out.append(frame)
    return out


def view_of(frame) -> dict:
    """The Leaflet map's centre and zoom in ``frame``."""
    return frame.evaluate("""() => {
        const m = Object.values(window).find(v => v && v._leaflet_id && v.getCenter);
        const c = m.getCenter();
        return {lat: c.lat, lng: c.lng, zoom: m.getZoom()};
    }""")


def title_of(frame) -> str:
    return frame.locator(".wy-map-title").inner_text().strip()


def wait_for_title(page, wanted, polls: int = 400) -> None:
    """Wait until the map's title satisfies ``wanted`` (the map redrawn), polled every 50 ms
    up to ``polls`` times; how fast a step is belongs to bench/bench_map.py, not here."""
    for _ in range(polls):
        with contextlib.suppress(PlaywrightError, AttributeError):
            frame = page.locator(MAP_IFRAME).first.element_handle().content_frame()
            titles = frame.locator(".wy-map-title")
            if titles.count() and wanted(titles.inner_text().strip()):
                return
        time.sleep(0.05)
    raise AssertionError("the map's title did not change in time")


def assert_no_serious_axe(dashboard, what: str) -> None:
    if not AXE_JS.is_file():
        _unavailable(f"{AXE_JS} not found: run `make assets` (npm ci installs axe-core)")
    failures = [line for v in run_axe(dashboard.page) if v["impact"] in FAILING_IMPACTS
                for line in describe("analyst", what, v)]
    assert not failures, "\n".join(failures)


def link(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_twin_map_two_feeds_side_by_side_with_one_legend_and_a_table(browse, url):
    dashboard, frames = open_view(browse, url, "view=twin&left=nrm&right=rosewood", maps=2)
    page = dashboard.page
    assert [title_of(f) for f in frames] == ["NRM referrals", "Rosewood episodes"]
    # Side by side: same size, the right one to the right of the left one, same view.
    left, right = (page.locator(MAP_IFRAME).nth(i).bounding_box() for i in (0, 1))
    assert right["x"] > left["x"] + left["width"] - 5 and abs(left["y"] - right["y"]) < 2
    views = [view_of(f) for f in frames]
    assert views[0]["zoom"] == views[1]["zoom"]
    assert abs(views[0]["lat"] - views[1]["lat"]) < 0.002
    assert abs(views[0]["lng"] - views[1]["lng"]) < 0.002
    # Synchronised: zooming in on the left map zooms the right one to the same view.
    page.locator(MAP_IFRAME).nth(0).scroll_into_view_if_needed()
    frames[0].locator(".leaflet-control-zoom-in").click()
    frames[0].wait_for_function("z => { const m = Object.values(window).find(v => v && "
                                "v._leaflet_id && v.getZoom); return m.getZoom() > z; }",
                                arg=views[0]["zoom"])
    time.sleep(1)   # the zoom animation ends, then the other map follows
    zoomed = [view_of(f) for f in frames]
    assert zoomed[1]["zoom"] == zoomed[0]["zoom"] > views[0]["zoom"], zoomed
    assert abs(zoomed[0]["lat"] - zoomed[1]["lat"]) < 1e-6
    assert page.locator(".wy-legend").count() == 1
    assert "Same classes on both maps" in legend_text(page)
    table = page.locator('[data-testid="stDataFrame"]')
    table.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert page.get_by_text("Table: both feeds by area").count() == 1
    assert link(page)["view"] == ["twin"]
    # Compare with another feed: the right map follows, and the link.
    page.get_by_role("combobox", name=re.compile("Right map")).click()
    page.get_by_role("option", name="Mandevilla flags").click()
    wait_for_rerun(dashboard, lambda: link(page).get("right") == ["mandevilla"])
    frames = map_frames(page, 2)
    wait_for_rerun(dashboard, lambda: title_of(map_frames(page, 2)[1]) == "Mandevilla flags")
    assert_no_serious_axe(dashboard, "explore twin")
    dashboard.screenshot("explore-twin")
    dashboard.assert_clean()


def test_month_slider_steps_by_keyboard_and_plays(browse, url):
    dashboard, frames = open_view(browse, url, "view=months&level=district")
    page = dashboard.page
    first = title_of(frames[0])
    months = link(page)["month"]
    thumb = page.get_by_role("slider", name=re.compile("Month"))
    thumb.focus()
    page.keyboard.press("ArrowLeft")
    wait_for_title(page, lambda title: title != first)
    dashboard.wait_for_app()
    second = title_of(map_frames(page, 1)[0])
    assert link(page)["month"] != months
    assert f"Showing {second}." in page.locator('[data-testid="stMain"]').inner_text()
    legend_before = legend_text(page)
    # Back again: a cached frame.
    thumb.focus()
    page.keyboard.press("ArrowRight")
    wait_for_title(page, lambda title: title == first)
    dashboard.wait_for_app()
    assert legend_text(page).splitlines()[:6] == legend_before.splitlines()[:6]
    dashboard.screenshot("explore-months")
    # Play from the start: the month moves on by itself; Pause stops it.
    page.get_by_role("button", name="Play").click()
    page.get_by_role("button", name="Pause").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        with contextlib.suppress(PlaywrightError, AttributeError):   # the map replaced mid-read
            seen.add(title_of(map_frames(page, 1)[0]))
        time.sleep(0.3)
    assert len(seen) >= 3, seen
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    held = title_of(map_frames(page, 1)[0])
    time.sleep(3)
    assert title_of(map_frames(page, 1)[0]) == held
    assert_no_serious_axe(dashboard, "explore months")
    dashboard.assert_clean()


def find(page, text: str) -> None:
    box = page.get_by_role("combobox", name=re.compile("Find a place"))
    box.click()
    box.fill(text)
    page.keyboard.press("Enter")


def test_find_a_place_zooms_to_it_and_outlines_it(browse, url):
    dashboard, _ = open_view(browse, url)
    page = dashboard.page
    find(page, "Kirkstall")
    wait_for_rerun(dashboard, lambda: link(page).get("place") == [KIRKSTALL],
                   what=lambda: page.url)
    frame = map_frames(page, 1)[0]
    # Zoomed in on Kirkstall (a ward ~3 km across): far closer than West Yorkshire's view.
    frame.wait_for_function("() => document.querySelectorAll('path').length > 0")
    zoom = view_of(frame)["zoom"]
    assert zoom >= 12, zoom
    assert frame.locator('path[stroke-width="4"]').count() >= 1      # the outline
    dashboard.screenshot("explore-place")
    # An unknown name: a clear message; the map stays on the place found before.
    find(page, "Atlantis")
    page.get_by_text("No district, ward or LSOA is called “Atlantis”").wait_for(
        timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert link(page).get("place") == [KIRKSTALL]
    assert map_frames(page, 1)[0].locator('path[stroke-width="4"]').count() >= 1
    assert_no_serious_axe(dashboard, "explore place")
    dashboard.screenshot("explore-place-unknown")
    dashboard.assert_clean()


def test_a_chair_compares_published_figures_and_finds_an_lsoa_s_ward(browse, url):
    dashboard, _ = open_view(browse, url)
    page = dashboard.page
    page.locator('[data-testid="stSidebar"]').get_by_text("Partnership chair").click()
    wait_for_rerun(dashboard, lambda: page.get_by_text("Map opens on").count() == 0)
    page.get_by_text("Twin map", exact=True).click()
    wait_for_rerun(dashboard, lambda: page.locator(MAP_IFRAME).count() == 2)
    frames = map_frames(page, 2)
    assert [title_of(f) for f in frames] == ["NRM referrals", "Rosewood episodes"]
    legend = legend_text(page)
    assert "Same classes on both maps" in legend and "fewer than" in legend
    # The chair's search offers districts and wards, never an LSOA...
    box = page.get_by_role("combobox", name=re.compile("Find a place"))
    box.click()
    box.fill("Leeds 0")
    assert page.get_by_role("option").count() == 0 or not any(
        "LSOA" in o for o in page.get_by_role("option").all_inner_texts())
    page.keyboard.press("Escape")
    # ... and an LSOA's name goes to the ward it lies in, saying so.
    find(page, "Leeds 001A")
    page.get_by_text("LSOAs are shown to analysts only: showing Wetherby ward").wait_for(
        timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert link(page).get("place") == ["E05011414"]
    assert "level" not in link(page) or link(page)["level"] != ["lsoa"]
    dashboard.screenshot("explore-twin-chair")
    dashboard.assert_clean()
