"""ui.front_end_serving.page_preloading_components: the modules Streamlit loads only when the
first run draws them, found by name in Streamlit's build manifest (installed and made up)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ui import front_end_serving
from ui.front_end_serving import (
    PAGE_MODULES,
    page_preloading_components,
    preloaded_modules,
)

PAGE = (b'<html><head><script type="module" src="./static/js/index.A.js"></script>\n'
        b'<link rel="modulepreload" crossorigin href="./static/js/runtime.B.js">\n'
        b"</head><body></body></html>")


def preloads(page: bytes) -> list[str]:
    return re.findall(r'<link rel="modulepreload" crossorigin href="\./([^"]+)">', page.decode())


def made_up_build(root: Path, manifest) -> Path:
    """A static folder like Streamlit's: ``index.html``'s entry, a shared runtime, a widget
    importing the runtime and a helper, a lazily imported chart module, and the files."""
    js = root / "static" / "js"
    js.mkdir(parents=True)
    for name in ("index.A.js", "runtime.B.js", "Radio.C.js", "helper.D.js", "Chart.E.js",
                 "ComponentInstance.F.js"):
        (js / name).write_text("export {};")
    (root / "manifest.json").write_text(manifest if isinstance(manifest, str)
                                        else json.dumps(manifest))
    return root


MANIFEST = {
    "index.html": {"file": "static/js/index.A.js", "name": "index", "isEntry": True,
                   "imports": ["_runtime.B.js"]},
    "_runtime.B.js": {"file": "static/js/runtime.B.js", "name": "runtime"},
    "_helper.D.js": {"file": "static/js/helper.D.js", "name": "helper",
                     "imports": ["_runtime.B.js"]},
    "src/Radio.tsx": {"file": "static/js/Radio.C.js", "name": "Radio", "isDynamicEntry": True,
                      "imports": ["_runtime.B.js", "index.html", "_helper.D.js"],
                      "dynamicImports": ["src/Chart.tsx"]},
    "src/Chart.tsx": {"file": "static/js/Chart.E.js", "name": "Chart", "isDynamicEntry": True},
    "src/ComponentInstance.tsx": {"file": "static/js/ComponentInstance.F.js",
                                  "name": "ComponentInstance", "isDynamicEntry": True,
                                  "imports": ["_helper.D.js"]},
}


def test_each_named_module_and_its_imports_once_in_order_not_the_entry_nor_lazy_ones(tmp_path):
    static = made_up_build(tmp_path, MANIFEST)
    assert preloaded_modules(static, ("ComponentInstance", "Radio")) == [
        "static/js/ComponentInstance.F.js", "static/js/helper.D.js", "static/js/runtime.B.js",
        "static/js/Radio.C.js"]
    page = page_preloading_components(PAGE, static, ("ComponentInstance", "Radio"))
    # The runtime the page preloads already is not listed twice; the rest before </head>.
    assert preloads(page) == ["static/js/runtime.B.js", "static/js/ComponentInstance.F.js",
                              "static/js/helper.D.js", "static/js/Radio.C.js"]
    assert page.index(b"Radio.C.js") < page.index(b"</head>")
    assert page.replace(b"</head>", b"").count(b"<head>") == 1


def test_a_name_the_build_does_not_have_is_left_out(tmp_path):
    static = made_up_build(tmp_path, MANIFEST)
    assert preloaded_modules(static, ("Renamed", "Radio")) == [
        "static/js/Radio.C.js", "static/js/runtime.B.js", "static/js/helper.D.js"]
    assert page_preloading_components(PAGE, static, ("Renamed",)) == PAGE
    # A file the manifest names but the folder lacks is not linked (nor what only it imports).
    (static / "static" / "js" / "Radio.C.js").unlink()
    assert preloaded_modules(static, ("Radio",)) == []


def test_a_build_without_a_readable_manifest_keeps_its_page(tmp_path):
    assert page_preloading_components(PAGE, tmp_path, PAGE_MODULES) == PAGE   # no manifest
    for broken in ("{not json", "[1, 2]", json.dumps({"x": {"name": "Radio",
                                                           "isDynamicEntry": True}})):
        static = made_up_build(tmp_path / str(abs(hash(broken))), broken)
        assert page_preloading_components(PAGE, static, PAGE_MODULES) == PAGE


def test_the_installed_streamlit_has_every_module_the_explore_page_preloads():
    """Fails on a Streamlit upgrade that renames one (the page would then leave it out)."""
    from streamlit import file_util

    static = Path(file_util.get_static_dir())
    manifest = json.loads((static / "manifest.json").read_text())
    named = {entry.get("name") for entry in manifest.values() if entry.get("isDynamicEntry")}
    assert set(PAGE_MODULES) <= named
    page = (static / "index.html").read_bytes()
    ours = page_preloading_components(page, static)
    added = [name for name in preloads(ours) if name not in preloads(page)]
    assert added[0].startswith("static/js/ComponentInstance.")
    assert all((static / name).is_file() for name in added)
    assert len(added) == len(set(added)) > len(PAGE_MODULES)
    # No chart library (Vega is imported lazily, when a chart is drawn).
    assert not any("vega" in name.lower() and "loadVegaEmbed" not in name for name in added)
    assert front_end_serving.MEMORY_SERVED_MAX_BYTES > max(
        (static / name).stat().st_size for name in added)


def test_the_map_frames_files_are_prefetched_once_and_escaped(tmp_path):
    static = made_up_build(tmp_path, MANIFEST)
    urls = ("/app/static/vendor/leaflet@1.9.3/dist/leaflet.js", '/x/"a&b".css',
            "/app/static/vendor/leaflet@1.9.3/dist/leaflet.js")
    page = page_preloading_components(PAGE, static, ("Radio",), prefetch=urls)
    assert re.findall(r'<link rel="prefetch" href="([^"]+)">', page.decode()) == [
        urls[0], "/x/&quot;a&amp;b&quot;.css"]
    assert page.index(b'rel="prefetch"') > page.index(b"Radio.C.js")
    assert page.index(b'rel="prefetch"') < page.index(b"</head>")
    # Without a manifest the prefetches are still added (they do not depend on it).
    assert b'rel="prefetch"' in page_preloading_components(PAGE, tmp_path / "none",
                                                           prefetch=urls[:1])


def test_map_frame_files_come_from_the_vendor_manifest(tmp_path):
    from ui.front_end_serving import map_frame_files

    vendor = tmp_path / "vendor"
    (vendor / "leaflet@9.9.9" / "dist").mkdir(parents=True)
    for name in ("leaflet.js", "leaflet.css"):
        (vendor / "leaflet@9.9.9" / "dist" / name).write_text("")
    (vendor / "manifest.json").write_text(json.dumps({"packages": [
        {"name": "jquery", "dir": "jquery@3", "files": ["dist/jquery.min.js"]},
        {"name": "leaflet", "dir": "leaflet@9.9.9",
         "files": ["dist/leaflet.js", "dist/leaflet.css", "dist/leaflet.js.map"]}]}))
    assert map_frame_files(vendor, "/p/") == ("/p/leaflet@9.9.9/dist/leaflet.js",
                                              "/p/leaflet@9.9.9/dist/leaflet.css")
    (vendor / "leaflet@9.9.9" / "dist" / "leaflet.css").unlink()   # listed but not there
    assert map_frame_files(vendor, "/p") == ("/p/leaflet@9.9.9/dist/leaflet.js",)
    (vendor / "manifest.json").write_text("{}")
    assert map_frame_files(vendor, "/p") == ()
