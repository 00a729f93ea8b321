"""What the first Explore run would compile itself, compiled by the warm-up just before it.

After the warm-up's first stage (``ui.serve``) the server waits for the visitor's browser to
load Streamlit's page and open its session: ~0.2 s at the median of a quiet ``make run``
(docs/benchmarks.md, "Where make run's seconds go now"). The first Explore run then compiled
the router's and Explore's scripts (Streamlit's magic and Python's compile, ~0.012 s of CPU)
and the 18 Jinja templates its map renders (folium's, branca's and the maps', made lazy by
``ui.lazy_templates``: ~0.05 s), all on the first map's critical path. :func:`ready_first_run`
compiles them in that wait. The run does not wait for it: a template or script it needs
meanwhile is compiled once, by whichever thread asks first (both caches hold a lock), and the
same code is used either way, so nothing the page shows changes.

This module imports only the standard library at its top.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The scripts of a visitor's link to Explore: the router, then the page.
PAGE_SCRIPTS = (ROOT / "dashboard.py", ROOT / "pages" / "explore.py")
#: The classes whose templates the first Explore map renders (an analyst's: areas, hexagons,
#: heat map and points; a protected role's map uses a subset). A test runs a first Explore run
#: after :func:`ready_first_run` and finds no other template compiled by it.
FIRST_MAP_TEMPLATES = (
    "branca.element.CssLink", "branca.element.Element", "branca.element.JavascriptLink",
    "folium.elements.ElementAddToElement", "folium.features.GeoJson",
    "folium.features.GeoJsonTooltip", "folium.folium.Map", "folium.map.CustomPane",
    "folium.map.FeatureGroup", "folium.map.FitBounds", "folium.map.LayerControl",
    "folium.plugins.fast_marker_cluster.FastMarkerCluster", "folium.plugins.heat_map.HeatMap",
    "maps.basemap.AreaLabels", "maps.basemap.BaseMapStyle", "maps.lazy_layer.LazyFeatureGroup",
    "maps.lazy_layer._LazyEnd", "maps.local_assets._LocalMapDefaults",
)


def class_template(name: str):
    """The ``_template`` class attribute of the class ``module.Class`` named ``name``."""
    module, _, qualname = name.rpartition(".")
    return vars(getattr(importlib.import_module(module), qualname)).get("_template")


def compile_first_map_templates() -> int:
    """Compile the :data:`FIRST_MAP_TEMPLATES` left lazy by the first stage; returns how many
    were compiled here (a template already compiled, or not lazy, is left as it is)."""
    from ui.lazy_templates import LazyTemplate

    compiled = 0
    for name in FIRST_MAP_TEMPLATES:
        template = class_template(name)
        if isinstance(template, LazyTemplate) and not template.is_compiled:
            template.compiled()
            compiled += 1
    return compiled


def compile_page_scripts(script_cache=None) -> int:
    """Put :data:`PAGE_SCRIPTS` into Streamlit's script cache (the running server's, or
    ``script_cache``), as its script runner would on the first run; returns how many scripts
    were given to a cache (none without a running server)."""
    if script_cache is None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return 0
        script_cache = getattr(Runtime.instance(), "_script_cache", None)
        if script_cache is None:   # another Streamlit's runtime: its runs compile them
            return 0
    for path in PAGE_SCRIPTS:
        script_cache.get_bytecode(str(path))
    return len(PAGE_SCRIPTS)


def ready_first_run() -> dict[str, float]:
    """Both, timed (seconds: ``first-run templates``, ``page scripts``)."""
    timings = {}
    started = time.perf_counter()
    compile_first_map_templates()
    timings["first-run templates"] = time.perf_counter() - started
    started = time.perf_counter()
    compile_page_scripts()
    timings["page scripts"] = time.perf_counter() - started
    return timings
