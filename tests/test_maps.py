"""maps.basemap and maps.local_assets: maps that load every script, style and font from the dashboard itself.

These read the vendored files in ``static/vendor/`` (``make assets``); without them every test
here fails with the "run `make assets`" message, which is what a developer would see in the app.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import folium
import folium.plugins
import pytest

from geo.boundaries import load_boundaries
from maps import basemap as maps
from maps import local_assets as assets
from tests.map_pages import LINKED, PREFIX, VENDOR, absolute_urls

ROOT = Path(__file__).resolve().parent.parent
DISTRICTS = ["Bradford", "Calderdale", "Kirklees", "Leeds", "Wakefield"]
TILE_URL = "https://tiles.example.internal/base/{z}/{x}/{y}.png"
# Shaped like an OS Maps API URL: a query string with & (written \u0026 by tojson).
OS_STYLE_URL = ("https://tiles.example.org/maps/raster/v1/zxy/Light_3857/{z}/{x}/{y}.png"
                "?key=k1&srs=3857")
MAX_BASE_MAP_BYTES = 400_000


@pytest.fixture(autouse=True)
def no_tile_settings(monkeypatch):
    """Tests start from an environment with no tile server or asset prefix configured."""
    for name in (maps.TILE_URL_ENV, maps.TILE_ATTRIBUTION_ENV, maps.TILE_ARCHIVE_ENV,
                 assets.ASSET_PREFIX_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def base_html() -> str:
    return maps.base_map().get_root().render()


def test_base_map_page_has_no_outside_url_at_all(base_html):
    assert absolute_urls(base_html) == set()  # also no scheme-relative //host/... URL
    for needle in ("cdn.", "jsdelivr", "unpkg", "cdnjs", "jquery.com", "bootstrapcdn",
                   "openstreetmap", "@import"):
        assert needle not in base_html.lower(), needle


def test_base_map_links_only_vendored_files_that_exist(base_html):
    linked = LINKED.findall(base_html)
    assert linked, "the page should link Leaflet's script and styles"
    for url in linked:
        assert url.startswith(PREFIX + "/"), url
        assert (VENDOR / url[len(PREFIX) + 1:]).is_file(), url
    assert f"{PREFIX}/leaflet@1.9.3/dist/leaflet.js" in linked
    assert f"{PREFIX}/leaflet@1.9.3/dist/leaflet.css" in linked


def test_every_css_url_in_the_vendored_files_resolves_locally():
    """Images and fonts the stylesheets load (Leaflet's layer icons, Font Awesome's fonts)."""
    checked = 0
    for css in VENDOR.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text):
            if ref.startswith(("data:", "#")):
                continue  # inline images; url(#default#VML) is an old IE behaviour, not a file
            assert not urlsplit(ref).scheme and not ref.startswith("//"), (css, ref)
            target = (css.parent / urlsplit(ref).path).resolve()
            assert target.is_file(), f"{css.relative_to(VENDOR)} refers to missing {ref}"
            checked += 1
        assert "@import" not in text, css
    assert checked >= 10  # 8 Font Awesome fonts, Leaflet's images, awesome-markers' sprites
    for script in VENDOR.rglob("*.js"):
        tail = script.read_text(encoding="utf-8")[-300:]
        for ref in re.findall(r"sourceMappingURL=(\S+)", tail):
            assert (script.parent / ref).is_file(), f"{script} names missing source map {ref}"


def test_manifest_lists_each_package_version_and_file():
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    versions = {p["name"]: p["version"] for p in manifest["packages"]}
    package_json = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    for name, pinned in package_json["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), f"{name} must be pinned exactly: {pinned}"
        assert versions[name] == pinned
    assert versions["folium"] == folium.__version__
    for package in manifest["packages"]:
        for rel in package["files"]:
            assert (VENDOR / package["dir"] / rel).is_file(), (package["name"], rel)
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for name, pinned in package_json["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == pinned
        assert lock["packages"][f"node_modules/{name}"]["integrity"].startswith("sha512-")


SUPPORTED = [folium.Map, folium.plugins.MarkerCluster, folium.plugins.FastMarkerCluster,
             folium.plugins.HeatMap, folium.LayerControl, folium.GeoJson, folium.GeoJsonTooltip,
             folium.GeoJsonPopup, folium.Popup, folium.Tooltip, folium.Marker, folium.Icon,
             folium.CircleMarker, folium.FeatureGroup]


@pytest.mark.parametrize("cls", SUPPORTED, ids=lambda c: c.__name__)
def test_every_link_folium_has_for_the_elements_we_use_is_vendored_or_deliberately_dropped(cls):
    """Guards a folium upgrade: a new CDN URL fails here until the vendor spec covers it."""
    catalogue = assets.load_catalogue()
    for name, url in [*getattr(cls, "default_js", []), *getattr(cls, "default_css", [])]:
        assert url in catalogue.urls or url in catalogue.dropped, (cls.__name__, name, url)


def test_the_folium_classes_themselves_are_not_modified(base_html):
    """Instances are rewritten, not folium's classes: other maps in the process are unaffected."""
    assert folium.Map.default_js[0][1].startswith("https://cdn.jsdelivr.net/npm/leaflet@")
    assert folium.plugins.MarkerCluster.default_js[0][1].startswith("https://")


def test_plugins_added_after_construction_load_vendored_files():
    m = maps.local_map(location=[53.8, -1.55], zoom_start=11)
    cluster = folium.plugins.MarkerCluster().add_to(m)
    folium.Marker([53.8, -1.55], popup=folium.Popup("<b>x</b>"),
                  icon=folium.Icon(prefix="fa", icon="user")).add_to(cluster)
    folium.plugins.FastMarkerCluster([[53.79, -1.54], [53.81, -1.56]]).add_to(m)
    folium.plugins.HeatMap([[53.8, -1.55, 2.0], [53.7, -1.6, 1.0]]).add_to(m)
    folium.GeoJson(maps.boundary_geojson(load_boundaries("district")),
                   tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(m)
    folium.LayerControl().add_to(m)
    page = m.get_root().render()
    assert absolute_urls(page) == set()
    linked = LINKED.findall(page)
    for url in linked:
        assert url.startswith(PREFIX + "/") and (VENDOR / url[len(PREFIX) + 1:]).is_file(), url
    joined = " ".join(linked)
    for needed in ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css",
                   "folium@0.20.0/templates/leaflet_heat.min.js", "jquery.min.js",
                   "leaflet.awesome-markers.min.js", "fontawesome-free@6.2.0/css/all.min.css"):
        assert needed in joined, needed
    for dropped in ("bootstrap", "glyphicons", "rotate"):
        assert dropped not in joined


def test_streamlit_folium_receives_only_vendored_links():
    """st_folium passes each element's default_js/css to the browser as js_links/css_links."""
    from streamlit_folium import _get_header

    m = maps.base_map()
    folium.plugins.MarkerCluster().add_to(m)
    m.get_root().render()
    m.render()
    links = []
    for element in assets._walk(m):
        links += [url for _, url in getattr(element, "default_js", [])]
        links += [url for _, url in getattr(element, "default_css", [])]
    assert links and all(url.startswith(PREFIX + "/") for url in links), links
    assert absolute_urls(_get_header(m)) == set()


def test_base_map_draws_the_five_districts_and_names_them(base_html):
    m = maps.base_map()
    layers = {child.layer_name: child for child in m._children.values()
              if isinstance(child, folium.GeoJson)}
    codes = [f["properties"]["code"] for f in layers["Districts"].data["features"]]
    assert sorted(codes) == sorted(load_boundaries("district")["code"])
    assert len(layers["Wards"].data["features"]) == 124
    labels = next(c for c in m._children.values() if isinstance(c, maps.AreaLabels))
    assert sorted(name for _, _, name in labels.districts) == DISTRICTS
    assert len(labels.wards) == 124
    for name in DISTRICTS:
        assert f'"{name}"' in base_html
    assert "Ardsley \\u0026amp; Robin Hood" in base_html  # a ward name, escaped, JSON-encoded
    (south, west), (north, east) = maps.WEST_YORKSHIRE_BOUNDS
    for lat, lon, _ in labels.districts + labels.wards:
        assert south < lat < north and west < lon < east


def test_label_points_lie_inside_their_areas():
    from shapely.geometry import Point

    for level in ("district", "ward"):
        areas = load_boundaries(level)
        for (lat, lon, name), geom in zip(maps.label_points(areas), areas.geometry):
            assert geom.buffer(1e-4).contains(Point(lon, lat)), (level, name)


def test_names_with_html_in_them_are_escaped():
    districts = load_boundaries("district").copy()
    evil = '<img src=x onerror="alert(1)">Leeds & <script>alert(2)</script>'
    districts.loc[districts["name"] == "Leeds", "name"] = evil
    page = maps.base_map(districts=districts).get_root().render()
    assert "<img src=x" not in page and "<script>alert" not in page
    decoded = page.replace("\\u0026", "&").replace("\\u003c", "<").replace("\\u003e", ">")
    assert ("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Leeds &amp; "
            "&lt;script&gt;alert(2)&lt;/script&gt;") in decoded
    assert "<img src=x" not in decoded and "<script>alert" not in decoded


def test_geometry_is_on_a_one_metre_grid_and_slim():
    collection = maps.boundary_geojson(load_boundaries("ward"))
    assert set(collection["features"][0]["properties"]) == {"code", "name"}
    outlines = maps.base_map()._children.values()
    for layer in (c for c in outlines if isinstance(c, folium.GeoJson)):
        assert set(layer.data["features"][0]["properties"]) == {"code"}  # no tooltip, no name
    coords = json.dumps(collection)
    assert not re.search(r"\d\.\d{6,}", coords)


def test_base_map_html_stays_small(base_html):
    assert len(base_html.encode()) < MAX_BASE_MAP_BYTES


def test_no_tiles_by_default():
    m = maps.base_map()
    assert not [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    assert maps.tile_source() is None


def test_configured_tile_url_is_the_one_outside_url(monkeypatch):
    monkeypatch.setenv(maps.TILE_URL_ENV, OS_STYLE_URL)
    monkeypatch.setenv(maps.TILE_ATTRIBUTION_ENV, "Contains OS data © Crown copyright <2025>")
    m = maps.base_map()
    tiles = [c for c in m._children.values() if isinstance(c, folium.TileLayer)]
    assert len(tiles) == 1 and tiles[0].tiles == OS_STYLE_URL
    page = m.get_root().render()
    assert absolute_urls(page) == {OS_STYLE_URL}
    assert "Contains OS data \\u00a9 Crown copyright \\u0026lt;2025\\u0026gt;" in page
    # With tiles there are no name labels and no ward lines; the districts are still drawn.
    assert not [c for c in m._children.values() if isinstance(c, maps.AreaLabels)]
    layers = [c.layer_name for c in m._children.values() if isinstance(c, folium.GeoJson)]
    assert layers == ["Districts"]


def test_tile_url_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(maps.TILE_URL_ENV, OS_STYLE_URL)
    m = maps.base_map(TILE_URL, "© Example")
    page = m.get_root().render()
    assert absolute_urls(page) == {TILE_URL}
    assert absolute_urls(maps.base_map("").get_root().render()) == set()


@pytest.mark.parametrize("url, attribution, message", [
    (TILE_URL, "", "no attribution"),
    ("OpenStreetMap", "x", "not an http"),
    ("https://tiles.example/base.png", "x", "placeholders"),
    ("ftp://tiles.example/{z}/{x}/{y}.png", "x", "not an http"),
])
def test_bad_tile_settings_are_refused(url, attribution, message):
    with pytest.raises(ValueError, match=message):
        maps.base_map(url, attribution)


def test_folium_named_tiles_are_refused():
    with pytest.raises(TypeError, match="tile_url"):
        maps.base_map(tiles="OpenStreetMap")


def test_a_tile_path_on_the_dashboards_own_host_is_allowed():
    source = maps.tile_source("/tiles/{z}/{x}/{-y}.png", "Internal")
    assert source == maps.TileSource("/tiles/{z}/{x}/{-y}.png", "Internal")


def test_asset_prefix_is_configurable(monkeypatch):
    monkeypatch.setenv(assets.ASSET_PREFIX_ENV, "/wy/app/static/vendor/")
    page = maps.local_map().get_root().render()
    assert '<script src="/wy/app/static/vendor/leaflet@1.9.3/dist/leaflet.js">' in page
    page = maps.local_map(asset_prefix="/other").get_root().render()
    assert '<script src="/other/leaflet@1.9.3/dist/leaflet.js">' in page


@pytest.fixture
def vendor_copy(tmp_path) -> Path:
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    return copy


def test_a_missing_vendored_file_fails_loudly_naming_it(vendor_copy):
    (vendor_copy / "leaflet@1.9.3" / "dist" / "leaflet.js").unlink()
    with pytest.raises(assets.MissingAssetError,
                       match=r"leaflet@1\.9\.3/dist/leaflet\.js is missing.*run `make assets`"):
        maps.base_map(vendor_dir=vendor_copy)


def test_a_file_missing_for_a_plugin_added_later_fails_at_render(vendor_copy):
    (vendor_copy / "leaflet.markercluster@1.5.3" / "dist" / "MarkerCluster.css").unlink()
    m = maps.local_map(vendor_dir=vendor_copy)
    folium.plugins.MarkerCluster().add_to(m)
    with pytest.raises(assets.MissingAssetError, match=r"MarkerCluster\.css is missing.*make assets"):
        m.get_root().render()


def test_no_manifest_fails_loudly(tmp_path):
    with pytest.raises(assets.MissingAssetError, match=r"manifest\.json is missing.*make assets"):
        maps.local_map(vendor_dir=tmp_path)


def test_an_element_needing_an_unvendored_file_is_refused():
    m = maps.local_map()
    folium.plugins.Draw().add_to(m)
    with pytest.raises(assets.UnvendoredAssetError, match=r"Draw loads https://cdnjs.*leaflet\.draw"):
        m.get_root().render()


def test_a_colormap_legend_is_refused():
    m = maps.local_map()
    import branca.colormap

    branca.colormap.LinearColormap(["white", "red"], vmin=0, vmax=1).add_to(m)
    with pytest.raises(assets.UnvendoredAssetError, match="d3 from a CDN"):
        m.get_root().render()


def test_use_local_assets_on_a_plain_folium_map_and_on_a_class(monkeypatch):
    m = folium.Map(tiles=None)
    folium.plugins.HeatMap([[53.8, -1.5]]).add_to(m)
    assets.use_local_assets(m)
    page = m.get_root().render()
    assert absolute_urls(page) == set()
    assert f"{PREFIX}/folium@0.20.0/templates/leaflet_heat.min.js" in page

    class Cluster(folium.plugins.MarkerCluster):  # a subclass, so folium's own class is untouched
        default_js = list(folium.plugins.MarkerCluster.default_js)
        default_css = list(folium.plugins.MarkerCluster.default_css)

    assets.use_local_assets(Cluster)
    assert all(url.startswith(PREFIX + "/") for _, url in Cluster.default_js + Cluster.default_css)


def test_vendor_script_is_idempotent_and_cleans_up(tmp_path):
    out = tmp_path / "vendor"
    script = [sys.executable, str(ROOT / "tools" / "vendor_assets.py"), "--out", str(out)]
    if not (ROOT / "node_modules" / "leaflet" / "package.json").is_file():
        pytest.skip("node_modules/ not installed (make assets runs npm ci)")
    first = subprocess.run(script, capture_output=True, text=True, check=True)
    assert " 0 unchanged" in first.stdout
    (out / "stale@0.0.1").mkdir()
    (out / "stale@0.0.1" / "old.js").write_text("x")
    second = subprocess.run(script, capture_output=True, text=True, check=True)
    assert ": 0 written" in second.stdout and "1 removed" in second.stdout, second.stdout
    assert not (out / "stale@0.0.1").exists()
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(VENDOR) for p in VENDOR.rglob("*") if p.is_file())


def test_vendor_script_refuses_to_clean_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    if not (ROOT / "node_modules" / "leaflet" / "package.json").is_file():
        pytest.skip("node_modules/ not installed (make assets runs npm ci)")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "vendor_assets.py"),
                             "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "not a vendor folder" in result.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
