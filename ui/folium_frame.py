"""A folium map made once into what ``st_folium`` sends, and drawn again from that.

``st_folium(m)`` renders the map to Leaflet code on *every* run (1.44 MB for the explorer's
map, 0.1–0.3 s), and the code carries folium's random element ids, so two runs of an unchanged
view send different bytes: Streamlit's message cache, which sends a reference instead of an
element the browser already holds, never matches, and the whole map goes over the WebSocket
again. :func:`folium_frame` does the rendering once (a cached loader keeps the result per view:
``ui.explore_loaders.load_explorer_map``) and :func:`show_folium` hands the same text to the
same component on every run, so a rerun of an unchanged view builds nothing and resends nothing
large.

The steps are ``streamlit_folium.st_folium``'s own (version pinned in requirements.txt), taken
apart at the point where the map becomes text; tests/test_warm_start.py checks that both send
the component the same arguments. ``streamlit_folium`` is imported inside the functions, in a
page run: its component registers with the server only when imported during one, and this
module is imported earlier, by the launcher (``ui.serve``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import branca
import folium
import folium.elements
import folium.plugins
import streamlit as st


@dataclass(frozen=True)
class FoliumFrame:
    """What the ``st_folium`` component is sent for one map (plain text: cheap to cache)."""

    script: str
    header: str
    html: str
    map_id: str
    bounds: dict
    zoom: object
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    key: str            # the page's key for the map (``st_folium(..., key=key)``)
    component_key: str  # st_folium's key of the component: a hash of the script and ``key``


def folium_frame(fig: folium.Map, *, key: str) -> FoliumFrame:
    """``fig`` rendered as ``st_folium(fig, key=key, render=False)`` renders it (this consumes
    ``fig``: rendering renames its elements)."""
    import streamlit_folium as stf

    fig.render()
    html = stf._get_html(fig)
    header = stf._get_header(fig)
    script = stf._get_map_string(fig)
    try:
        (south, west), (north, east) = fig.get_bounds()
    except AttributeError:
        (south, west), (north, east) = (None, None), (None, None)
    css: list[str] = []
    js: list[str] = []
    unused = unused_assets(script)
    for element in _walk(fig):
        if isinstance(element, branca.colormap.ColorMap):
            js[:0] = ["https://d3js.org/d3.v4.min.js",
                      "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"]
        css.extend(href for name, href in getattr(element, "default_css", [])
                   if name not in unused)
        js.extend(src for name, src in getattr(element, "default_js", []) if name not in unused)
    return FoliumFrame(
        script=script, header=header, html=html, map_id=stf.get_full_id(fig),
        bounds={"_southWest": {"lat": south, "lng": west},
                "_northEast": {"lat": north, "lng": east}},
        zoom=fig.options.get("zoom") if hasattr(fig, "options") else {},
        css_links=tuple(dict.fromkeys(css)), js_links=tuple(dict.fromkeys(js)), key=key,
        # A regex pass over the whole script: done here, once per map, not on every run.
        component_key=stf.generate_js_hash(script, key, False))


#: ``folium.Map``'s files for ``folium.Icon`` markers (Leaflet.awesome-markers with Font
#: Awesome's stylesheet), by folium's names for them: every folium map lists them.
ICON_ASSETS = frozenset({"awesome_markers", "awesome_markers_css", "awesome_markers_font_css",
                         "awesome_rotate_css"})
#: What folium's own templates call jQuery with: popups, ``GeoJson(embed=False)``, the map's
#: ``objects_to_stay_in_front``.
_JQUERY_CALL = re.compile(r"(?<![\w$])(?:\$|jQuery)\s*[.(]")


def unused_assets(script: str) -> frozenset[str]:
    """The names of ``folium.Map``'s default files that the map's ``script`` never uses.

    Every folium map lists jQuery and the awesome-markers files (with Font Awesome's 100 KB
    stylesheet), and ``st_folium``'s frame loads each script one after the other before it
    draws the map; the dashboard's maps draw their markers as circles and ``L.divIcon`` labels
    and call no jQuery, so the frame would load ~190 KB it never runs. A map that does use them
    (a ``folium.Icon``, a popup) keeps them."""
    unused = set()
    if "AwesomeMarkers" not in script:
        unused |= ICON_ASSETS
    if not _JQUERY_CALL.search(script):
        unused.add("jquery")
    return frozenset(unused)


def feature_group_script(group: folium.FeatureGroup) -> str:
    """``group`` as the script ``st_folium(..., feature_group_to_add=group)`` sends: added to
    (and, when it changes, removed from) the drawn map in the browser, without drawing the map
    again. Consumes ``group``."""
    import streamlit_folium as stf

    return stf._get_feature_group_string(group, map=folium.Map(tiles=None))


def show_folium(frame: FoliumFrame, *, height: int,
                returned_objects: Iterable[str], use_container_width: bool = True,
                width: int | None = 500, feature_group: str | None = None):
    """Draw ``frame`` as ``st_folium(..., key=key, ...)`` would draw its map; returns what
    ``st_folium`` returns (the map's last interactions named in ``returned_objects``).

    ``feature_group``: a :func:`feature_group_script` to draw over the map (None: none). A
    change of it is drawn on the map in the browser; the map itself is not drawn again."""
    import streamlit_folium as stf

    key, hash_key = frame.key, frame.component_key
    returned_objects = list(returned_objects)
    defaults = {"bounds": frame.bounds, "zoom": frame.zoom, "last_clicked": None,
                "last_object_clicked": None, "last_object_clicked_count": None,
                "last_object_clicked_tooltip": None, "last_object_clicked_popup": None,
                "all_drawings": None, "last_active_drawing": None, "last_circle_radius": None,
                "last_circle_polygon": None, "selected_layers": None, "selected_tags": None,
                "last_geocoder_result": None}
    defaults = {name: defaults[name] for name in _DEFAULT_ORDER if name in returned_objects}

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return stf._component_func(
        script=frame.script, header=frame.header, html=frame.html, id=frame.map_id,
        key=hash_key, height=height, width=None if use_container_width else width,
        returned_objects=returned_objects, default=defaults, zoom=None, center=None,
        feature_group=feature_group, return_on_hover=False, layer_control=None, pixelated=False,
        css_links=list(frame.css_links), js_links=list(frame.js_links), on_change=on_change,
        wrap_longitude=False)


# st_folium's order of the returned objects (its ``_defaults``), kept so the arguments match.
_DEFAULT_ORDER = ("last_clicked", "last_object_clicked", "last_object_clicked_count",
                  "last_object_clicked_tooltip", "last_object_clicked_popup", "all_drawings",
                  "last_active_drawing", "bounds", "zoom", "last_circle_radius",
                  "last_circle_polygon", "selected_layers", "selected_tags",
                  "last_geocoder_result")


def _walk(fig):
    if getattr(fig, "deferred", False):
        return   # a maps.lazy_layer group the browser builds later loads its own files
    if isinstance(fig, branca.colormap.ColorMap):
        yield fig
    if isinstance(fig, folium.plugins.DualMap):
        yield from _walk(fig.m1)
        yield from _walk(fig.m2)
    if isinstance(fig, folium.elements.JSCSSMixin):
        yield fig
    for child in getattr(fig, "_children", {}).values():
        yield from _walk(child)
