"""Warm start and cheap reruns (issue 14, items 2 and 3).

- Pages that make no PDF never import the PDF code (reportlab, matplotlib, ``reports``): checked
  in a fresh interpreter, since this test process may have imported them for other tests.
- The launcher (``ui.serve``) warms without importing the PDF code or ``streamlit_folium``.
- An unchanged Explore view is built and rendered once: a rerun builds no map, and sends the
  component the very same arguments (so Streamlit's message cache can send a reference).
- ``ui.folium_frame`` sends the component what ``st_folium`` sends for the same map, less the
  files of icon markers and jQuery when the map uses neither.
- Streamlit's front-end files are served from memory after their first request, with
  Streamlit's own status and headers; its page also preloads the component's script (found by
  name in Streamlit's build manifest, tests/test_front_end_serving.py).
- The warm-up's first stage imports only what the first Explore run imports.
- Trends keeps its Vega-Lite specs: a rerun converts no Altair chart, and a spec drawn with
  ``st.vega_lite_chart`` is the element ``st.altair_chart`` draws.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

from streamlit.testing.v1 import AppTest

from tests.apptest import (
    ROOT,
    assert_reruns_resend_the_map,
    calls_to,
    map_json,
    open_page,
    served_store,
)
from tests.sample_store import built_store

ROWS = {"nrm": 40, "rosewood": 20, "mandevilla": 12}
PDF_MODULES = ("reportlab", "matplotlib", "reports.tasking_sheet", "reports.briefing")


store = built_store(ROWS, "warm")
env = served_store("store", copy=False)


def run_fresh(code: str, env_vars: dict) -> dict:
    """Run ``code`` in a new interpreter at the project root; it prints one JSON line last."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, cwd=ROOT,
                         env={**os.environ, **env_vars}, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_pages_that_make_no_pdf_import_no_pdf_code(env, tmp_path):
    found = run_fresh(f"""
        import datetime as dt, json, sys
        from core import clock
        clock.set(lambda: dt.datetime(2026, 11, 30, 10, tzinfo=dt.timezone.utc))
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.testing.v1 import app_test
        from tests.apptest import open_page
        class Served(PagesManager):  # as tests/conftest.py: a served app's runs
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                PagesManager.uses_pages_directory = False
        app_test.PagesManager = Served
        pdf = {PDF_MODULES!r}
        loaded = {{}}
        for page in ("pages/home.py", "pages/explore.py", "pages/hotspots.py",
                     "pages/trends.py", "pages/meeting.py"):
            at = open_page(page, "analyst")
            at.run()
            loaded[page] = [m for m in pdf if m in sys.modules]
        # The check itself works: making the tasking sheet does import them.
        from ui.hotspot_loaders import tasking_sheet_pdf
        made = tasking_sheet_pdf([], outcomes={{}}, synthetic=True, generated_by="test")
        loaded["after a PDF"] = [m for m in pdf if m in sys.modules]
        loaded["pdf bytes"] = made[:4].decode()
        print(json.dumps(loaded))
    """, {"STORE_URL": str(env.root), "USERS_FILE": str(tmp_path / "no-users.json"),
          "ROLES_FILE": str(tmp_path / "no-roles.yaml")})
    assert found.pop("pdf bytes") == "%PDF"
    assert set(found.pop("after a PDF")) >= {"reportlab", "matplotlib"}
    assert found == {page: [] for page in found}, found


def test_the_launcher_warms_without_pdf_code_or_the_map_component():
    found = run_fresh("""
        import json, sys
        from ui import serve
        timings = serve.warm()
        print(json.dumps({"timings": sorted(timings),
                          "loaded": [m for m in ("reportlab", "matplotlib", "streamlit_folium",
                                                 "reports.briefing", "views.explore", "folium",
                                                 "models._grid") if m in sys.modules]}))
    """, {})
    assert found["timings"] == ["boundaries", "hotspot grid", "hotspot views", "imports",
                                "module index", "other pages", "publication"]
    # Warmed: the views, folium and the hotspot grid; never the PDF code nor the component,
    # which registers with the server only when a page run imports it.
    assert found["loaded"] == ["views.explore", "folium", "models._grid"]


def test_an_unchanged_explore_view_builds_its_map_once(env):
    import ui.explore_loaders as loaders

    with calls_to(loaders, "build_map") as built:
        # A view no other test asks for: the first run builds it.
        at = open_page("pages/explore.py", "analyst", **{"from": "2023-02-01",
                                                         "to": "2023-05-31"})
        first = map_json(at)
        assert len(built) == 1
        assert_reruns_resend_the_map(at, first)
        assert len(built) == 1
        at.selectbox(key="explore_measure").set_value("rate").run()  # a new view: a new map
        assert len(built) == 2 and map_json(at) != first


def test_folium_frame_sends_what_st_folium_sends(monkeypatch):
    import branca.element
    import streamlit_folium as stf

    from maps.layers import explorer_map
    from ui.folium_frame import folium_frame, show_folium

    sent = []
    monkeypatch.setattr(stf, "_component_func", lambda **kwargs: sent.append(kwargs))
    returned = ["last_object_clicked", "last_active_drawing"]
    # folium names elements from random ids: the same ids for both maps.
    first_ids = iter(f"{i:032x}" for i in range(10**6))
    monkeypatch.setattr(branca.element.Element, "_generate_id",
                        classmethod(lambda cls: next(first_ids)))
    stf.st_folium(explorer_map([]), key="m", height=560, use_container_width=True,
                  returned_objects=returned, render=False)
    second_ids = iter(f"{i:032x}" for i in range(10**6))
    monkeypatch.setattr(branca.element.Element, "_generate_id",
                        classmethod(lambda cls: next(second_ids)))
    show_folium(folium_frame(explorer_map([]), key="m"), height=560, use_container_width=True,
                returned_objects=returned)
    theirs, ours = sent
    assert set(theirs) == set(ours)
    # The files of folium.Icon markers and jQuery, which this map never uses, are left out
    # (ui.folium_frame.unused_assets); everything else is st_folium's, in its order.
    unused = ("/jquery@", "awesome-markers", "fontawesome")
    for name in ("js_links", "css_links"):
        assert ours[name] == [link for link in theirs[name]
                              if not any(part in link for part in unused)], name
    assert {part for link in theirs["js_links"] + theirs["css_links"] for part in unused
            if part in link} == set(unused)
    for name in theirs:
        if name in ("on_change", "js_links", "css_links"):
            continue
        assert ours[name] == theirs[name], name
    assert len(theirs["script"]) > 1000


def test_a_map_with_icon_markers_or_popups_keeps_their_files():
    import folium

    from maps.layers import explorer_map
    from ui.folium_frame import folium_frame

    def links(frame):
        return " ".join(frame.js_links + frame.css_links)

    plain = links(folium_frame(explorer_map([]), key="m"))
    assert "jquery" not in plain and "awesome-markers" not in plain
    with_icon = explorer_map([])
    folium.Marker([53.8, -1.55], icon=folium.Icon(icon="home")).add_to(with_icon)
    found = links(folium_frame(with_icon, key="m"))
    assert "awesome-markers" in found and "fontawesome" in found and "jquery" not in found
    with_popup = explorer_map([])
    folium.CircleMarker([53.8, -1.55], popup="Leeds").add_to(with_popup)
    found = links(folium_frame(with_popup, key="m"))
    assert "jquery" in found and "awesome-markers" not in found


def test_trends_reruns_convert_no_chart(env):
    import ui.chart_specs as specs

    with calls_to(specs, "_convert_altair_to_vega_lite_spec") as calls:
        at = open_page("pages/trends.py", "chair")
        charts = [c.proto.spec for c in at.get("vega_lite_chart")]
        assert charts and len(calls) <= len(charts)
        converted = len(calls)
        at.run()
        assert not at.exception
        assert len(calls) == converted
        assert [c.proto.spec for c in at.get("vega_lite_chart")] == charts


def test_a_drawn_spec_is_the_element_altair_chart_draws():
    def app():
        import altair as alt
        import pandas as pd
        import streamlit as st

        from ui.chart_specs import draw_spec, vega_lite_spec

        data = pd.DataFrame({"month": ["2026-01", "2026-02"], "count": [3, 5]})
        chart = alt.Chart(data).mark_line().encode(x="month", y="count").add_params(
            alt.selection_point(fields=["month"], bind="legend"))
        st.altair_chart(chart, width="stretch")
        draw_spec(vega_lite_spec(chart))

    at = AppTest.from_function(app).run()
    assert not at.exception
    altair, drawn = at.get("vega_lite_chart")
    assert drawn.proto == altair.proto


def test_the_quick_component_scan_finds_what_streamlit_finds(monkeypatch, tmp_path):
    import importlib.metadata

    from streamlit.components.v2 import manifest_scanner as scanner

    from ui import serve

    # Every package Streamlit's own filter takes passes the text check first...
    installed = list(importlib.metadata.distributions())
    taken = [dist for dist in installed if scanner._is_likely_streamlit_component_package(dist)]
    assert {dist.name for dist in taken} >= {"streamlit", "streamlit-folium"}
    assert all(serve.may_hold_component(dist) for dist in taken)
    # ...which reads most of them no further.
    assert sum(map(serve.may_hold_component, installed)) < len(installed) / 10
    # A package its name filter takes (st-..., no "streamlit" in its metadata) passes too.
    info = tmp_path / "st_map_extra-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: st-map-extra\n"
                                   "Version: 1.0\nSummary: maps\n")
    (other,) = importlib.metadata.distributions(path=[str(tmp_path)])
    assert scanner._is_likely_streamlit_component_package(other)
    assert serve.may_hold_component(other)

    original = scanner.scan_component_manifests
    monkeypatch.setattr(scanner, "scan_component_manifests", original)
    serve.quick_component_scan()
    assert scanner.scan_component_manifests is not original
    assert scanner.scan_component_manifests() == original()


def test_the_first_stage_runs_without_collections_and_freezes_what_it_made(monkeypatch):
    import gc

    from core import clock
    from ui import heap, serve

    seen = {}

    def stage():
        seen["collecting"] = gc.isenabled()
        return {"imports": 0.0}

    monkeypatch.setattr(serve, "warm_first_stage", stage)
    heap.reset()
    try:
        assert serve.first_stage_collected() == {"imports": 0.0}
        assert seen == {"collecting": False} and gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert not heap.refreeze_if_due()   # the first page run pays no full collection
        assert heap.refreeze_if_due(clock.timestamp() + heap.REFREEZE_S)   # a later one does
    finally:
        heap.reset()


def test_the_maps_vendored_files_are_cacheable_and_other_static_files_untouched(monkeypatch,
                                                                               tmp_path):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient
    from streamlit.web.server.starlette import starlette_app

    from ui import serve

    (tmp_path / "static" / "vendor" / "leaflet@1.9.3").mkdir(parents=True)
    (tmp_path / "static" / "vendor" / "leaflet@1.9.3" / "leaflet.js").write_text("var L;")
    (tmp_path / "static" / "tiles").mkdir()
    (tmp_path / "static" / "tiles" / "west.pmtiles").write_bytes(b"PMTiles")
    (tmp_path / "app.py").write_text("")

    def client():
        routes = starlette_app.create_app_static_serving_routes(str(tmp_path / "app.py"), None)
        return TestClient(Starlette(routes=routes))

    monkeypatch.setattr(starlette_app, "create_app_static_serving_routes",
                        starlette_app.create_app_static_serving_routes)
    plain = client().get("/app/static/vendor/leaflet@1.9.3/leaflet.js")
    assert plain.status_code == 200 and "cache-control" not in plain.headers  # Streamlit's own

    serve.cache_vendored_files()
    serve.cache_vendored_files()  # once only: not wrapped twice
    browser = client()
    vendored = browser.get("/app/static/vendor/leaflet@1.9.3/leaflet.js")
    assert vendored.status_code == 200 and vendored.text == "var L;"
    assert vendored.headers["cache-control"] == f"public, max-age={serve.VENDOR_MAX_AGE_S}"
    assert vendored.headers["x-content-type-options"] == "nosniff"  # Streamlit's kept
    tiles = browser.get("/app/static/tiles/west.pmtiles")
    assert tiles.status_code == 200 and "cache-control" not in tiles.headers
    missing = browser.get("/app/static/vendor/none.js")
    assert missing.status_code == 404 and "cache-control" not in missing.headers


def test_streamlits_front_end_is_served_from_memory_as_streamlit_serves_it(monkeypatch):
    """The same status, headers and bytes as Streamlit's own handler; the file is read once
    (later plain GETs touch no file); conditional requests, HEAD and the page fallback are
    Streamlit's."""
    from pathlib import Path

    from starlette.applications import Starlette
    from starlette.testclient import TestClient
    from streamlit import file_util
    from streamlit.web.server.starlette import starlette_app

    from ui import front_end_serving

    def client():
        return TestClient(Starlette(routes=starlette_app.create_streamlit_static_assets_routes(
            base_url=None)))

    static = Path(file_util.get_static_dir())
    script = min((static / "static" / "js").glob("index.*.js"), key=lambda p: p.name)
    url = "/" + script.relative_to(static).as_posix()
    monkeypatch.setattr(starlette_app, "create_streamlit_static_assets_routes",
                        starlette_app.create_streamlit_static_assets_routes)
    theirs = client().get(url)
    assert theirs.status_code == 200 and theirs.content == script.read_bytes()
    page_theirs = client().get("/explore")
    missing_theirs = client().get("/static/js/none.js")

    front_end_serving.serve_front_end_from_memory()
    front_end_serving.serve_front_end_from_memory()   # once only: not wrapped twice
    browser = client()
    opened = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self) or read_bytes(self))
    first, again = browser.get(url), browser.get(url)
    for ours in (first, again):
        assert ours.status_code == 200 and ours.content == theirs.content
        assert dict(ours.headers) == dict(theirs.headers)     # type, length, ETag, caching
    assert opened == [script]                                  # read once, then from memory
    cached = browser.get(url, headers={"If-None-Match": theirs.headers["etag"]})
    assert cached.status_code == 304                           # Streamlit's own answer
    head = browser.head(url)
    assert head.status_code == 200 and head.content == b""
    # A page: Streamlit's index.html, preloading the component's script and the modules it
    # imports that the page did not preload
    # (ui.front_end_serving.page_preloading_components).
    for path in ("/explore", "/explore", "/"):
        page = browser.get(path)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
        assert int(page.headers["content-length"]) == len(page.content)
        assert {k: v for k, v in page.headers.items() if k != "content-length"} == {
            k: v for k, v in page_theirs.headers.items() if k != "content-length"}

        def preloads(text):
            return re.findall(r'<link rel="modulepreload" crossorigin href="\./(static/js/'
                              r'[^"]+)">', text)

        preloaded = [name for name in preloads(page.text) if name not in
                     preloads(page_theirs.text)]
        assert preloaded[0].startswith("static/js/ComponentInstance.")
        assert page.text.index(preloaded[-1]) < page.text.index("</head>")
        assert all((static / name).is_file() for name in preloaded)
        assert all(page_theirs.text.count(name) == 0 for name in preloaded)
        assert len(preloaded) == len(set(preloaded)) >= 2
        # Not the Explore page's widgets: preloading them made a cold start slower.
        assert not any(name.startswith("static/js/Radio.") for name in preloaded)
    # The page's file read once, and Streamlit's build manifest once, for the modules' names.
    assert opened == [script, static / "index.html", static / "manifest.json"]
    missing = browser.get("/static/js/none.js")
    assert missing.status_code == missing_theirs.status_code


def test_the_first_stage_leaves_out_what_the_first_view_does_not_need():
    found = run_fresh("""
        import json, sys
        from ui import serve
        heavy = ("altair", "pandera", "scipy", "sklearn", "reportlab", "matplotlib")
        serve.warm_first_stage()
        first = [m for m in heavy if m in sys.modules]
        serve.warm_second_stage()
        import altair as alt
        print(json.dumps({"first": first,
                          "second": [m for m in heavy if m in sys.modules],
                          "theme": alt.theme.active}))
    """, {})
    assert found["first"] == []
    # The second stage loads what the other pages need (pandera: only ingest validates), with
    # the accessible chart theme on.
    assert {"altair", "scipy", "sklearn"} <= set(found["second"])
    assert found["theme"] == "wy_accessible"


def test_the_first_stage_imports_only_what_the_first_explore_run_imports(env, tmp_path):
    """What the router's first run waits for is what the first Explore run needs (the
    project's modules and the packages): anything more would delay the first map
    (docs/benchmarks.md, fifth round: the comparison that moved maps.hotspot_layer out)."""
    code = """
        import json, logging, sys
        logging.disable(logging.WARNING)
        from ui import serve
        serve.no_legacy_pages_mode()
        before = set(sys.modules)
        if sys.argv[-1] == "stage":
            serve.warm_first_stage()
        else:
            from tests.apptest import open_page
            at = open_page("pages/explore.py", "analyst")
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            assert at.main.get("component_instance"), "no map"
        print(json.dumps(sorted(set(sys.modules) - before)))
    """
    found = {}
    for what in ("stage", "run"):
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), what], check=False,
                             cwd=ROOT, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "STORE_URL": str(env.root),
                                  "USERS_FILE": str(tmp_path / "no-users.json"),
                                  "ROLES_FILE": str(tmp_path / "no-roles.yaml")})
        assert out.returncode == 0, out.stderr[-4000:]
        found[what] = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert len(found["stage"]) > 500 and "folium" in found["stage"]
    # ui.lazy_templates is the stage's own tool (the standard library only), not a page's.
    assert found["stage"] - found["run"] == {"ui.lazy_templates"}


def test_a_chart_made_before_altair_was_loaded_gets_the_accessible_theme(env, tmp_path):
    found = run_fresh("""
        import json, sys
        from ui import a11y, chart_specs
        import views.explore, views.hotspots  # import altair only when a chart is made
        before = "altair" in sys.modules
        import pandas as pd
        import altair as alt
        chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_line().encode(x="x:Q")
        spec = chart_specs.vega_lite_spec(chart)
        print(json.dumps({"altair at import": before, "config": spec.get("config", {})}))
    """, {"STORE_URL": str(env.root), "USERS_FILE": str(tmp_path / "no-users.json"),
          "ROLES_FILE": str(tmp_path / "no-roles.yaml")})
    assert found["altair at import"] is False
    assert found["config"]["aria"] is False and found["config"]["mark"]["aria"] is False


def test_points_are_projected_in_one_thread_whichever_thread_asks(monkeypatch):
    import threading

    from geo import geomask

    projected_in = set()
    make = geomask._transformer

    def recording(source, target):
        projected_in.add(threading.get_ident())
        return make(source, target)

    monkeypatch.setattr(geomask, "_transformer", recording)
    results = []

    def project():
        results.append(geomask.bng_to_lonlat([430_000.0], [433_000.0]))

    runs = [threading.Thread(target=project) for _ in range(3)]
    for run in runs:
        run.start()
        run.join()
    project()
    # Streamlit runs each page run in a new thread, and pyproj makes a transformer's PROJ
    # object once per thread: all four projections happened in one thread, not four.
    assert len(projected_in) == 1
    assert threading.get_ident() not in projected_in
    lon, lat = results[0]
    assert all(r[0][0] == lon[0] and r[1][0] == lat[0] for r in results)
    assert abs(lon[0] + 1.546) < 0.001 and abs(lat[0] - 53.792) < 0.001
    back = geomask.lonlat_to_bng(lon, lat)
    assert abs(back[0][0] - 430_000) < 0.01 and abs(back[1][0] - 433_000) < 0.01
