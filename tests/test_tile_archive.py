"""The street layer from an offline PMTiles archive (maps.tile_archive, maps.pmtiles_v3).

Archives are generated here by tools/make_tile_archive.py (Pillow tiles labelled z/x/y over West
Yorkshire). ``static/`` is a temporary folder in every test (``STATIC_DIR`` patched), so nothing
is written into the project.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import folium
import pytest
from PIL import Image

import maps.tile_archive as ta
from maps import basemap
from maps.pmtiles_v3 import (
    HEADER_SIZE,
    ArchiveReader,
    PMTilesFormatError,
    read_header,
    write_archive,
    zxy_to_tileid,
)
from tests.map_pages import LINKED, PREFIX, VENDOR, absolute_urls
from tools.make_tile_archive import ATTRIBUTION, draw_tile, make_archive, tiles_over

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch, tmp_path):
    for name in (ta.TILE_ARCHIVE_ENV, ta.TILE_ATTRIBUTION_ENV, basemap.TILE_URL_ENV,
                 "MAP_ASSET_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(ta, "STATIC_DIR", tmp_path / "static")
    ta._CHECKED.clear()


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory) -> Path:
    return make_archive(tmp_path_factory.mktemp("tiles") / "wy.pmtiles")


# --------------------------------------------------------------------------------------------
# The format


def test_tile_ids_follow_the_spec_examples():
    # PMTiles v3 spec: z0 is 0, z1 runs 1..4 along the Hilbert curve, z2 starts at 5.
    assert [zxy_to_tileid(0, 0, 0), zxy_to_tileid(1, 0, 0), zxy_to_tileid(1, 0, 1),
            zxy_to_tileid(1, 1, 1), zxy_to_tileid(1, 1, 0), zxy_to_tileid(2, 0, 0)] == [
        0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        zxy_to_tileid(1, 2, 0)


def test_tile_ids_match_the_npm_pmtiles_package_the_browser_uses():
    node = shutil.which("node")
    module = ROOT / "node_modules" / "pmtiles" / "dist" / "esm" / "index.js"
    if not node or not module.is_file():
        # `make test` installs both (npm ci): missing means the setup is broken, so CI fails.
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("node or node_modules/pmtiles missing: `make assets` did not run")
        pytest.skip("node or node_modules/pmtiles missing (make assets)")
    cases = [(z, x, y) for z in range(8) for x in range(0, 1 << z, 5)
             for y in range(0, 1 << z, 3)] + [(12, 2030, 1320), (17, 65000, 42000)]
    script = (f"import {{zxyToTileId}} from {json.dumps(module.as_uri())};"
              f"console.log(JSON.stringify({json.dumps(cases)}.map(c => zxyToTileId(...c))))")
    out = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert json.loads(out) == [zxy_to_tileid(*c) for c in cases]
    assert len(cases) > 300


def test_generated_archive_holds_every_tile_it_drew(archive_path):
    reader = ArchiveReader(archive_path)
    h = reader.header
    assert (h.tile_type, h.min_zoom, h.max_zoom, h.internal_compression) == ("png", 9, 12, "gzip")
    assert (h.min_lon, h.min_lat, h.max_lon, h.max_lat) == ta.WEST_YORKSHIRE_LONLAT
    assert reader.metadata()["attribution"] == ATTRIBUTION
    expected = list(tiles_over(ta.WEST_YORKSHIRE_LONLAT, 9, 12))
    assert h.addressed_tiles == len(expected) == 184
    for z, x, y in expected[::7]:
        image = Image.open(io.BytesIO(reader.tile(z, x, y)))
        assert image.format == "PNG" and image.size == (256, 256)
    # Leeds city centre at zoom 12 is in; a tile in Cornwall is not.
    assert reader.tile(12, 2030, 1320) == draw_tile(12, 2030, 1320)
    assert reader.tile(12, 1900, 1400) is None
    assert reader.tile(8, 126, 82) is None  # below the archive's zooms


def test_repeated_tiles_are_stored_once_as_a_run(tmp_path):
    blank = draw_tile(0, 0, 0)
    tiles = {(2, x, y): blank for x in range(4) for y in range(4)}
    reader = ArchiveReader(write_archive(tmp_path / "runs.pmtiles", tiles))
    assert reader.header.tile_contents == 1 and reader.header.tile_entries == 1
    assert all(reader.tile(2, x, y) == blank for x in range(4) for y in range(4))


def test_header_decoding_refuses_what_is_not_pmtiles_v3():
    with pytest.raises(PMTilesFormatError, match="shorter"):
        read_header(b"PMTiles\x03")
    with pytest.raises(PMTilesFormatError, match="MBTiles file is SQLite"):
        read_header(b"SQLite format 3\x00" + bytes(HEADER_SIZE))
    with pytest.raises(PMTilesFormatError, match="version 2"):
        read_header(b"PMTiles\x02" + bytes(HEADER_SIZE))


# --------------------------------------------------------------------------------------------
# Checking a deployment's archive


def test_a_good_archive_is_read_with_its_attribution(archive_path, monkeypatch):
    archive = ta.read_archive(archive_path)
    assert (archive.tile_type, archive.min_zoom, archive.max_zoom) == ("png", 9, 12)
    assert archive.attribution == ATTRIBUTION
    assert re.fullmatch(r"wy-[0-9a-f]{12}\.pmtiles", archive.served_name)
    monkeypatch.setenv(ta.TILE_ATTRIBUTION_ENV, "© OpenStreetMap contributors")
    assert ta.read_archive(archive_path).attribution == "© OpenStreetMap contributors"


def _corrupt(tmp_path, archive_path, name, edit) -> Path:
    data = bytearray(archive_path.read_bytes())
    path = tmp_path / name
    path.write_bytes(bytes(edit(data)))
    return path


def _with_header_byte(data, index, value):
    data[index] = value
    return data


@pytest.mark.parametrize("name, edit, message", [
    ("random.pmtiles", lambda d: bytes(range(256)) * 4, "does not start with 'PMTiles'"),
    ("wy.mbtiles", lambda d: b"SQLite format 3\x00" + bytes(4000), "MBTiles file is SQLite"),
    ("empty.pmtiles", lambda d: b"", "shorter than a PMTiles header"),
    ("truncated.pmtiles", lambda d: d[: len(d) // 2], "truncated"),
    ("vector.pmtiles", lambda d: _with_header_byte(d, 99, 1), "holds mvt tiles"),
    ("brokendir.pmtiles", lambda d: d[:HEADER_SIZE] + bytes(len(d) - HEADER_SIZE),
     "gzip data that does not decompress"),
    ("brokentiles.pmtiles", lambda d: d[:read_header(d).data_offset]
     + bytes(len(d) - read_header(d).data_offset),
     "header says png tiles but the first tile is not an image"),
])
def test_a_bad_archive_is_refused_naming_the_file(tmp_path, archive_path, name, edit, message):
    path = _corrupt(tmp_path, archive_path, name, edit)
    with pytest.raises(ta.TileArchiveError, match=re.escape(message)) as caught:
        ta.read_archive(path)
    assert str(path) in str(caught.value) and caught.value.path == str(path)
    assert ta.TILE_ARCHIVE_ENV in str(caught.value)


def test_a_missing_archive_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ta.TileArchiveError, match="no such file") as caught:
        ta.read_archive(tmp_path / "nowhere.pmtiles")
    assert "nowhere.pmtiles" in str(caught.value)
    with pytest.raises(ta.TileArchiveError, match="not a file"):
        ta.read_archive(tmp_path)


def test_an_archive_elsewhere_in_the_world_or_without_attribution_is_refused(tmp_path):
    tile = {(9, 250, 170): draw_tile(9, 250, 170)}
    cornwall = write_archive(tmp_path / "kernow.pmtiles", tile, metadata={"attribution": "x"},
                             bounds=(-5.7, 49.9, -4.2, 50.9))
    with pytest.raises(ta.TileArchiveError, match="does not overlap West Yorkshire"):
        ta.read_archive(cornwall)
    bare = write_archive(tmp_path / "bare.pmtiles", tile, bounds=ta.WEST_YORKSHIRE_LONLAT)
    with pytest.raises(ta.TileArchiveError, match="MAP_TILE_ATTRIBUTION is not set"):
        ta.read_archive(bare)
    assert ta.read_archive(bare, attribution="Local copy").attribution == "Local copy"


def test_an_archive_streamlit_would_not_serve_is_refused(archive_path, monkeypatch):
    monkeypatch.setattr(ta, "MAX_SERVED_BYTES", 100_000)
    with pytest.raises(ta.TileArchiveError, match="Streamlit serves static files up to"):
        ta.read_archive(archive_path)
    # Streamlit 1.67's own limit, which the check mirrors.
    from streamlit.web.server.starlette.starlette_server_config import (
        MAX_APP_STATIC_FILE_SIZE,
    )
    monkeypatch.undo()
    assert ta.MAX_SERVED_BYTES == MAX_APP_STATIC_FILE_SIZE


# --------------------------------------------------------------------------------------------
# Serving it


def test_publish_puts_the_archive_under_static_tiles_once(archive_path, tmp_path):
    archive = ta.read_archive(archive_path)
    served = ta.publish(archive)
    assert served == tmp_path / "static" / "tiles" / archive.served_name
    assert served.read_bytes() == archive_path.read_bytes()
    assert not served.is_symlink()  # Streamlit refuses links that leave static/ (HTTP 400)
    mtime = served.stat().st_mtime_ns
    assert ta.publish(archive) == served and served.stat().st_mtime_ns == mtime
    stale = served.parent / "old-000000000000.pmtiles"
    stale.write_bytes(b"old")
    ta.publish(archive)
    assert not stale.exists() and [p.name for p in served.parent.iterdir()] == [served.name]


def test_a_changed_archive_is_served_under_a_new_name(tmp_path):
    path = make_archive(tmp_path / "wy.pmtiles", min_zoom=9, max_zoom=9)
    first = ta.read_archive(path).served_name
    make_archive(path, min_zoom=9, max_zoom=10)
    assert ta.read_archive(path).served_name != first


def test_the_server_start_stops_with_the_file_name_when_the_archive_is_missing(
        monkeypatch, tmp_path, capsys, archive_path):
    from ui import serve

    monkeypatch.setenv(ta.TILE_ARCHIVE_ENV, str(tmp_path / "gone.pmtiles"))
    with pytest.raises(SystemExit) as stopped:
        serve.prepare_tile_archive()
    assert "Cannot start the dashboard" in str(stopped.value.code)
    assert "gone.pmtiles" in str(stopped.value.code)
    monkeypatch.setenv(ta.TILE_ARCHIVE_ENV, str(archive_path))
    serve.prepare_tile_archive()
    assert "Street map:" in capsys.readouterr().out
    assert len(list((tmp_path / "static" / "tiles").glob("wy-*.pmtiles"))) == 1


# --------------------------------------------------------------------------------------------
# On the map


def test_the_map_reads_the_archive_from_the_dashboards_own_url_only(archive_path, tmp_path):
    m = basemap.base_map(tile_archive=archive_path)
    page = m.get_root().render()
    archive = ta.read_archive(archive_path)
    assert absolute_urls(page) == set()  # no host anywhere: tiles, scripts, all the app's own
    assert f'new pmtiles.PMTiles("/app/static/tiles/{archive.served_name}")' in page
    assert (tmp_path / "static" / "tiles" / archive.served_name).is_file()
    linked = LINKED.findall(page)
    assert f"{PREFIX}/pmtiles@4.5.0/dist/pmtiles.js" in linked
    for url in linked:
        assert url.startswith(PREFIX + "/") and (VENDOR / url[len(PREFIX) + 1:]).is_file(), url
    assert json.dumps(ATTRIBUTION) in page
    assert '"maxNativeZoom": 12' in page and '"minNativeZoom": 9' in page


def test_the_street_layer_can_be_hidden_in_a_layer_control(archive_path):
    m = basemap.base_map(tile_archive=archive_path)
    page = m.get_root().render()
    layer = next(c for c in m._children.values() if isinstance(c, ta.ArchiveTileLayer))
    assert page.count("L.control.layers") == 1
    control = re.search(r"var (layer_control_\w+_layers) = \{(.*?)\};", page, re.DOTALL)
    assert control and f'"Street map" : {layer.get_name()}' in control.group(2)
    # The tiles sit in Leaflet's tile pane, under the boundaries (pane 350) and the data (400).
    assert "pane" not in layer.options
    assert 'img.alt = ""' in page


def test_maps_that_add_their_own_layer_control_get_only_one(archive_path, monkeypatch):
    from maps.hotspot_layer import hotspot_map
    from maps.layers import explorer_map

    monkeypatch.setenv(ta.TILE_ARCHIVE_ENV, str(archive_path))
    explorer = explorer_map([folium.FeatureGroup(name="Areas")]).get_root().render()
    assert explorer.count("L.control.layers") == 1 and '"Street map"' in explorer
    import geopandas as gpd
    columns = ("hotspot_id", "rank", "cross_feed", "events_display", "p_value", "place",
               "relative_risk", "trend")
    empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
    hotspots = hotspot_map(empty).get_root().render()
    assert hotspots.count("L.control.layers") == 1 and '"Street map"' in hotspots


def test_attribution_with_markup_is_shown_as_text(archive_path):
    page = basemap.base_map(tile_archive=archive_path,
                            attribution="<img src=x onerror=alert(1)> OS").get_root().render()
    # Escaped for HTML, then JSON-encoded by the template (tojson writes & as \u0026).
    assert "<img src=x" not in page
    assert '"\\u0026lt;img src=x onerror=alert(1)\\u0026gt; OS"' in page


def test_without_an_archive_nothing_changes():
    page = basemap.base_map().get_root().render()
    assert "pmtiles" not in page and "L.control.layers" not in page
    assert "wy-plain" in page  # the plain boundaries-only background


def test_the_environment_names_the_archive_and_an_empty_argument_turns_it_off(
        archive_path, monkeypatch):
    monkeypatch.setenv(ta.TILE_ARCHIVE_ENV, str(archive_path))
    assert "pmtiles.PMTiles(" in basemap.base_map().get_root().render()
    assert "pmtiles" not in basemap.base_map(tile_archive="").get_root().render()


def test_a_tile_url_and_an_archive_together_are_refused(archive_path):
    with pytest.raises(ValueError, match="keep one"):
        basemap.base_map("/tiles/{z}/{x}/{y}.png", "Internal", tile_archive=archive_path)


def test_a_broken_archive_fails_the_map_naming_the_file(tmp_path):
    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(gzip.compress(b"not tiles"))
    with pytest.raises(ta.TileArchiveError, match="broken.pmtiles"):
        basemap.base_map(tile_archive=broken)


def test_the_archive_follows_a_base_url_path(archive_path):
    page = basemap.base_map(tile_archive=archive_path,
                            asset_prefix="/wy/app/static/vendor").get_root().render()
    assert 'new pmtiles.PMTiles("/wy/app/static/tiles/' in page
    assert 'src="/wy/app/static/vendor/pmtiles@4.5.0/dist/pmtiles.js"' in page


def test_streamlit_folium_is_given_the_vendored_pmtiles_script(archive_path):
    from maps.local_assets import _walk

    m = basemap.base_map(tile_archive=archive_path)
    m.render()
    links = [url for element in _walk(m) for _, url in getattr(element, "default_js", [])]
    assert f"{PREFIX}/pmtiles@4.5.0/dist/pmtiles.js" in links
    assert all(url.startswith(PREFIX + "/") for url in links), links


def test_the_explore_page_map_has_the_street_layer_and_its_download_does_not(
        archive_path, monkeypatch):
    """The downloaded map must work offline: it cannot reach the dashboard's archive."""
    import pandas as pd

    from geo.boundaries import load_boundaries
    from views.explore_map import build_map
    from views.exports import explorer_map_file
    from views.viewstate import ExplorerState

    monkeypatch.setenv(ta.TILE_ARCHIVE_ENV, str(archive_path))
    districts = load_boundaries("district")
    counts = pd.DataFrame({"code": districts["code"], "count": pd.array([5] * 5, dtype="Int64"),
                           "display": ["5"] * 5, "suppressed": [False] * 5})
    state = ExplorerState(level="district")
    on_page = build_map(state, counts=counts).map.get_root().render()
    assert "new pmtiles.PMTiles(" in on_page and on_page.count("L.control.layers") == 1
    download = explorer_map_file(state, counts=counts).decode("utf-8")
    assert "pmtiles" not in download.lower() and "/app/static/tiles/" not in download
