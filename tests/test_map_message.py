"""What the Explore map sends its frame, made smaller for the first map (issue 14, fourth round).

- The layers ticked off at the start (hexagons, heat map, points) are built in the browser when
  first switched on (``maps.lazy_layer``): the frame loads Leaflet alone before it draws; the
  heat map's and the clusters' files come with their layer. A layer the map opens on is built
  at once, with its files in the frame's list. A download is built whole.
- Layer data are compact JSON (``maps.verbatim.CompactData``): the same data, parsed.
- The ward choropleth takes its shapes from the base map's ward outlines
  (``VerbatimGeoJson.keeps_shapes``/``takes_shapes``): each ward's shape is sent once, and
  the page's helpers, run in Node, give the choropleth back exactly the shapes it had.
- The frame's whole script is valid JavaScript (Node's parser).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess

import pytest

from maps.lazy_layer import LAZY_LOADER_JS
from maps.verbatim import SHAPES_JS, compact_json
from tests import explore_fixtures
from tests.sample_store import scoped_query
from ui.folium_frame import folium_frame
from views.explore_map import build_map
from views.viewstate import ExplorerState

store = explore_fixtures.store   # the weekly sample store (tests/explore_fixtures.py)
VIEW = ExplorerState(start=dt.date(2023, 1, 1), end=dt.date(2023, 6, 30),
                     feeds=("nrm", "rosewood"), level="ward")
LEAFLET_JS = "/app/static/vendor/leaflet@1.9.3/dist/leaflet.js"
HEAT_JS = "/app/static/vendor/folium@0.20.0/templates/leaflet_heat.min.js"
CLUSTER_JS = "/app/static/vendor/leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js"


@pytest.fixture(autouse=True)
def no_tile_settings(monkeypatch):
    for name in ("MAP_TILE_URL", "MAP_TILE_ATTRIBUTION", "MAP_TILE_ARCHIVE", "MAP_ASSET_PREFIX"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def layers(store):
    analyst = scoped_query(store)
    counts = analyst.area_counts(VIEW.feeds, "ward", None)
    cells = analyst.cell_counts("nrm")
    points = analyst.points("nrm").assign(feed="nrm")
    return {"counts": counts, "cells": cells, "points": points}


def frame_of(state, layers, **kwargs):
    return folium_frame(build_map(state, **layers, **kwargs).map, key="m")


def node() -> str:
    found = shutil.which("node")
    if not found:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("node is missing: `make assets` needs it")
        pytest.skip("node is missing")
    return found


def run_node(script: str) -> str:
    return subprocess.run([node(), "-e", script], capture_output=True, text=True, timeout=120,
                          check=True).stdout


def test_the_layers_ticked_off_load_their_files_when_switched_on(layers):
    frame = frame_of(VIEW, layers)
    # The map opens on the areas: Leaflet alone before it draws.
    assert frame.js_links == (LEAFLET_JS,)
    assert [link.rsplit("/", 1)[1] for link in frame.css_links] == ["leaflet.css"]
    deferred = re.findall(r"window\.wyLazyLayer\((feature_group_\w+), (\[.*?\]),\s*(\[.*?\])",
                          frame.script)
    files = {group: (json.loads(js), json.loads(css)) for group, js, css in deferred}
    assert len(files) == 3                          # hexagons, heat map, points
    assert sorted(js for js, _ in files.values()) == sorted([[], [CLUSTER_JS], [HEAT_JS]])
    assert sorted(len(css) for _, css in files.values()) == [0, 0, 2]   # the clusters' styles
    # Each group is still in the layer control, and the areas are drawn at once.
    control = frame.script[frame.script.index("overlays"):]
    for group in files:
        assert group in control

    on_heat = frame_of(ExplorerState(**{**vars(VIEW), "layer": "heat", "warnings": ()}), layers)
    assert on_heat.js_links == (LEAFLET_JS, HEAT_JS)         # drawn at once, its file first
    assert on_heat.script.count("window.wyLazyLayer(") == 3  # areas, hexagons, points
    assert "L.heatLayer(" in on_heat.script

    export = build_map(VIEW, **layers, export=True).map.get_root().render()
    assert "wyLazyLayer" not in export


def test_the_lazy_loader_loads_each_file_once_in_order_then_builds_once():
    out = run_node(f"""
        var loaded = [], made = [];
        var head = {{children: [], appendChild: function (el) {{
            this.children.push(el); loaded.push(el.src || el.href);
            if (el.src) setTimeout(function () {{ el.onload(); }}, el.src === "a.js" ? 20 : 1);
        }}}};
        global.window = global;
        global.document = {{
            head: head,
            createElement: function (tag) {{ return {{tag: tag, getAttribute: function (name) {{
                return this[name]; }}}}; }},
            getElementsByTagName: function (tag) {{
                return head.children.filter(function (el) {{ return el.tag === tag; }}); }}
        }};
        head.children.push({{tag: "script", src: "leaflet.js",
                             getAttribute: function (n) {{ return this[n]; }}}});
        {LAZY_LOADER_JS}
        function group() {{
            var handlers = [];
            return {{once: function (event, fn) {{ handlers.push(fn); }},
                     add: function () {{ handlers.splice(0).forEach(function (fn) {{ fn(); }}); }}}};
        }}
        var heat = group(), other = group();
        window.wyLazyLayer(heat, ["leaflet.js", "a.js", "b.js"], ["c.css"], function () {{
            made.push("heat:" + loaded.join(","));
        }});
        window.wyLazyLayer(other, ["a.js"], [], function () {{ made.push("other"); }});
        setTimeout(function () {{
            made.push("before add");
            heat.add(); heat.add();
            setTimeout(function () {{
                other.add();
                setTimeout(function () {{ console.log(JSON.stringify([made, loaded])); }}, 50);
            }}, 100);
        }}, 10);
    """)
    made, loaded = json.loads(out)
    # Nothing before the layer is added; a file the page has is not fetched again; the
    # scripts in order, the build after them, once; a second layer reuses the loaded file.
    assert made == ["before add", "heat:c.css,a.js,b.js", "other"]
    assert loaded == ["c.css", "a.js", "b.js"]


def test_layer_data_are_compact_json_of_the_same_data(layers):
    import folium

    from maps.verbatim import VerbatimGeoJson

    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "x", "properties": {"name": "O'Hara <b> & co", "n": 1.5},
         "geometry": {"type": "Point", "coordinates": [-1.5, 53.8]}}]}
    m = folium.Map(tiles=None)
    VerbatimGeoJson(data).add_to(m)
    page = m.get_root().render()
    assert compact_json(data) in page
    written = re.search(r"_add\((\{.*\})\);", page).group(1)
    assert json.loads(written) == data and ", " not in written and "<b>" not in written
    assert "\\u0027" in written and "\\u003cb\\u003e" in written      # escaped as tojson does
    script = frame_of(VIEW, layers).script
    heat = frame_of(ExplorerState(**{**vars(VIEW), "layer": "heat", "warnings": ()}), layers)
    rows = json.loads(re.search(r"L\.heatLayer\(\s*(\[\[.*?\]\])", heat.script).group(1))
    assert rows and all(len(row) == 3 for row in rows)
    # Only the map's own options (centre, bounds) keep folium's spaces; no layer's data.
    assert len(re.findall(r"\[-?\d+\.\d+, -?\d+\.\d+\]", script)) <= 4
    assert len(re.findall(r"\[-?\d+\.\d+,-?\d+\.\d+\]", script)) > 1000


def test_each_ward_shape_is_sent_once_and_the_page_puts_it_back(layers):
    from geo.outlines import level_outlines

    frame = frame_of(VIEW, layers)
    script = frame.script
    outlines = level_outlines("ward")
    _code, geometry = next(iter(outlines.items()))
    first_pair = json.dumps(geometry["coordinates"]).replace(" ", "")[:40]
    assert script.count(first_pair) == 1      # the outline's; the choropleth takes it
    kept = json.loads(re.search(r'wyKeepShapes\("ward",(\{.*?\})\)\);', script).group(1))
    taken = json.loads(re.search(r'wyTakeShapes\("ward",(\{.*?\})\)\);', script).group(1))
    assert {f["properties"]["code"] for f in kept["features"]} == set(outlines)
    assert len(taken["features"]) == len(outlines)
    assert all(f["geometry"] is None for f in taken["features"])
    # The page's helpers give the choropleth the very shapes it had.
    out = run_node(f"""
        global.window = global;
        {SHAPES_JS}
        wyKeepShapes("ward", {json.dumps(kept)});
        var data = wyTakeShapes("ward", {json.dumps(taken)});
        console.log(JSON.stringify(data.features.map(function (f) {{
            return [f.properties.code, f.geometry]; }})));
    """)
    assert {code: shape for code, shape in json.loads(out)} == outlines

    # Without the base map's ward outlines (street tiles), the choropleth sends its own.
    tiled = build_map(VIEW, **layers, export=True).map
    tiled_page = tiled.get_root().render()
    assert tiled_page.index('wyKeepShapes("ward"') < tiled_page.index('wyTakeShapes("ward"')


def test_without_the_ward_outlines_the_choropleth_sends_its_shapes(monkeypatch, layers):
    monkeypatch.setenv("MAP_TILE_URL", "/tiles/{z}/{x}/{y}.png")
    monkeypatch.setenv("MAP_TILE_ATTRIBUTION", "Test tiles")
    script = frame_of(VIEW, layers).script
    assert 'wyTakeShapes("ward"' not in script and 'wyKeepShapes("ward"' not in script
    assert '"geometry":null' not in script


def test_a_district_choropleth_takes_the_district_outlines(store, layers):
    state = ExplorerState(**{**vars(VIEW), "level": "district", "warnings": ()})
    counts = scoped_query(store).area_counts(VIEW.feeds, "district", None)
    script = frame_of(state, layers | {"counts": counts}).script
    taken = json.loads(re.search(r'wyTakeShapes\("district",(\{.*?\})\)\);', script).group(1))
    assert len(taken["features"]) == 5
    assert all(f["geometry"] is None for f in taken["features"])
    assert "wyTakeShapes(\"ward\"" not in script


def test_the_frames_script_is_valid_javascript(layers, tmp_path):
    for state in (VIEW, ExplorerState(**{**vars(VIEW), "layer": "points", "warnings": ()})):
        script = tmp_path / "map.js"
        script.write_text(frame_of(state, layers).script, encoding="utf-8")
        subprocess.run([node(), "--check", str(script)], check=True, capture_output=True,
                       timeout=120)


def test_the_page_prefetches_the_files_the_default_maps_frame_loads_first(layers, monkeypatch):
    """ui.serve has the page prefetch Leaflet's script and stylesheet (read from the vendor
    manifest, without importing folium): they must be the files the frame loads before it
    draws, under the same prefix (maps.local_assets)."""
    from pathlib import Path

    from maps import local_assets
    from ui.front_end_serving import map_frame_files

    frame = frame_of(VIEW, layers)
    prefix = local_assets.resolve_asset_prefix()
    assert map_frame_files(local_assets.VENDOR_DIR, prefix) == (*frame.js_links,
                                                                *frame.css_links)
    monkeypatch.setenv(local_assets.ASSET_PREFIX_ENV, "/wy/app/static/vendor")
    behind_proxy = frame_of(VIEW, layers)
    assert map_frame_files(local_assets.VENDOR_DIR, "/wy/app/static/vendor/") == (
        *behind_proxy.js_links, *behind_proxy.css_links)
    assert map_frame_files(Path("/nonexistent"), prefix) == ()
