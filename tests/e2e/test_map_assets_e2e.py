"""The maps in a real browser load every script, style, image and font from the app itself.

A throwaway Streamlit script (written to a temporary folder) shows two maps through
``streamlit_folium.st_folium``: ``maps.basemap.base_map()``, and a map with the plugins the
dashboard uses (marker clusters with Font Awesome icons, a heat map, GeoJSON tooltips, a layer
control, a popup). Every request to another origin is aborted and fails the test (the ``browse``
harness), and so does any failed local request, console error or uncaught exception.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.e2e.conftest import (
    APP_RUN_TIMEOUT_MS,
    REPO_ROOT,
    SCREENSHOT_DIR,
    free_port,
    stop,
    wait_until_healthy,
)

pytestmark = pytest.mark.e2e

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
DISTRICTS = ["BRADFORD", "CALDERDALE", "KIRKLEES", "LEEDS", "WAKEFIELD"]

APP = textwrap.dedent('''
    import folium
    import folium.plugins
    import streamlit as st
    from streamlit_folium import st_folium

    from geo.boundaries import load_boundaries
    from maps.basemap import base_map, boundary_geojson, local_map

    st.set_page_config(page_title="Map assets", layout="wide")
    st.header("Base map")
    st_folium(base_map(), key="map", height=560, use_container_width=True, returned_objects=[])

    st.header("Plugins")
    m = local_map(location=[53.80, -1.55], zoom_start=12)
    folium.GeoJson(boundary_geojson(load_boundaries("district")), name="Districts",
                   tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(m)
    cluster = folium.plugins.MarkerCluster(name="Cluster").add_to(m)
    for i in range(3):
        folium.Marker([53.80 + i * 1e-4, -1.55], icon=folium.Icon(prefix="fa", icon="user"),
                      popup=folium.Popup("<b>cell</b>")).add_to(cluster)
    folium.Marker([53.79, -1.60], icon=folium.Icon(prefix="fa", icon="flag", color="red"),
                  popup=folium.Popup("<b>one</b>", show=True)).add_to(m)
    folium.plugins.FastMarkerCluster([[53.81, -1.52], [53.8101, -1.5201]],
                                     name="Fast").add_to(m)
    folium.plugins.HeatMap([[53.80, -1.55, 1.0], [53.805, -1.56, 0.5]], name="Heat").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    st_folium(m, key="plugins", height=420, use_container_width=True, returned_objects=[])
''')


@pytest.fixture(scope="module")
def map_app(tmp_path_factory):
    """URL of ``streamlit run`` on the throwaway script, with the project's static files."""
    workdir = tmp_path_factory.mktemp("map_app")
    (workdir / "map_app.py").write_text(APP, encoding="utf-8")
    # Streamlit serves the ``static`` folder next to the main script (not in the working
    # directory): point it at the project's, where ``make assets`` put the vendored files.
    (workdir / "static").symlink_to(REPO_ROOT / "static", target_is_directory=True)
    port = free_port()
    log_path = workdir / "server.log"
    env = {key: value for key, value in os.environ.items()
           if key not in ("MAP_TILE_URL", "MAP_TILE_ATTRIBUTION", "MAP_TILE_ARCHIVE",
                          "MAP_ASSET_PREFIX")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "streamlit", "run", str(workdir / "map_app.py"),
               "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.enableStaticServing", "true"]
    # cwd is the project, so its .streamlit/config.toml applies (no usage stats, no IP lookup).
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/_stcore/health", process, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _map_frame(page, index: int):
    """The Playwright Frame of the ``index``-th st_folium iframe, once Leaflet has drawn in it."""
    iframe = page.locator(MAP_IFRAME).nth(index)
    iframe.wait_for(state="visible", timeout=APP_RUN_TIMEOUT_MS)
    frame = iframe.element_handle().content_frame()
    frame.locator(".leaflet-container").wait_for(state="visible", timeout=APP_RUN_TIMEOUT_MS)
    return iframe, frame


def test_maps_load_everything_from_the_app_and_draw_districts_and_labels(browse, map_app):
    dashboard = browse(map_app)
    page = dashboard.page
    local, failed = [], []
    page.on("requestfinished", lambda request: local.append(request.url))
    page.on("response", lambda response: response.status >= 400
            and failed.append(f"{response.status} {response.url}"))
    page.on("requestfailed", lambda request: failed.append(f"{request.failure} {request.url}"))
    dashboard.open("/")

    iframe, frame = _map_frame(page, 0)
    districts = frame.locator("path.wy-district")
    districts.first.wait_for(state="attached", timeout=APP_RUN_TIMEOUT_MS)
    assert districts.count() == 5
    assert frame.locator("path.wy-ward").count() == 124
    for index in range(5):
        box = districts.nth(index).bounding_box()
        assert box and box["width"] > 40 and box["height"] > 40, box  # drawn, not collapsed
    labels = frame.locator(".wy-label-district span")  # the div itself has no size
    assert sorted(t.strip().upper() for t in labels.all_inner_texts()) == DISTRICTS
    assert all(labels.nth(i).is_visible() for i in range(5))
    assert frame.locator(".wy-label-ward").count() == 0  # ward names wait for zoom 12
    assert frame.locator(".leaflet-tile").count() == 0  # no tile server configured
    assert iframe.bounding_box()["height"] >= 500
    background = frame.evaluate(
        "getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor")
    assert background == "rgb(232, 236, 240)"
    assert frame.locator(".leaflet-control-attribution").inner_text().startswith("Leaflet")
    assert frame.locator(".leaflet-control-attribution a").count() == 0
    dashboard.screenshot("map_assets")

    # Zoomed in, the ward names appear (and are real text, escaped: "&", not "&amp;").
    frame.evaluate("window.map.setZoom(12, {animate: false})")
    frame.locator(".wy-label-ward span").first.wait_for(state="visible", timeout=10_000)
    wards = frame.locator(".wy-label-ward span").all_inner_texts()
    assert len(wards) == 124
    assert "Ardsley & Robin Hood" in wards
    iframe.screenshot(path=str(SCREENSHOT_DIR / "map_assets_zoomed.png"))
    frame.evaluate("window.map.setZoom(11, {animate: false})")
    frame.locator(".wy-label-ward").first.wait_for(state="detached", timeout=10_000)

    # The plugin map: clusters with Font Awesome icons, heat map, tooltips, layer control.
    _, plugins = _map_frame(page, 1)
    plugins.locator(".marker-cluster").first.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    plugins.locator(".awesome-marker .fa-flag").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    plugins.locator("canvas.leaflet-heatmap-layer").wait_for(state="attached",
                                                             timeout=APP_RUN_TIMEOUT_MS)
    assert plugins.locator(".leaflet-control-layers").is_visible()
    assert plugins.locator(".leaflet-popup-content b").inner_text() == "one"  # jQuery at work
    assert plugins.locator(".leaflet-control-attribution a").count() == 0
    assert plugins.evaluate("() => document.fonts.ready.then(() => "
                            "document.fonts.check('900 16px \"Font Awesome 6 Free\"'))")
    page.wait_for_load_state("networkidle")

    assert not failed, f"failed requests: {failed}"
    vendored = {url.split("/app/static/vendor/", 1)[1] for url in local
                if "/app/static/vendor/" in url}
    for needed in ("leaflet@1.9.3/dist/leaflet.js", "leaflet@1.9.3/dist/leaflet.css",
                   "jquery@3.7.1/dist/jquery.min.js",
                   "leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js",
                   "folium@0.20.0/templates/leaflet_heat.min.js",
                   "@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
                   "@fortawesome/fontawesome-free@6.2.0/webfonts/fa-solid-900.woff2",
                   "drmonty-leaflet-awesome-markers@2.0.2/css/images/markers-soft.png"):
        assert needed in vendored, (needed, sorted(vendored))
    print(f"\n{len(vendored)} vendored files served by the app: {sorted(vendored)}")
    dashboard.assert_clean()  # no request left the origin, no console error, no exception
