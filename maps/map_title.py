"""A title drawn on a map (the feed of a twin map, the month of a time-slider frame), and the
outline of a found place, and the twin map's views kept together.

The title is plain text in a box at the map's top centre, escaped (``maps.layers.text``), so a
screenshot or a printed map still says what it shows. It sits in the map's own document, with
no script and nothing fetched.

This module never imports Streamlit.
"""
from __future__ import annotations

import folium
from branca.element import MacroElement
from jinja2 import Template

from maps.layers import text

TITLE_CLASS = "wy-map-title"
_STYLE = ("position:absolute;top:10px;left:50%;transform:translateX(-50%);z-index:800;"
          "background:rgba(255,255,255,0.92);border:1px solid #777;border-radius:4px;"
          "padding:3px 10px;font:600 15px/1.3 sans-serif;color:#1a1a1a;pointer-events:none;"
          "white-space:nowrap")


def add_title(m: folium.Map, title: str) -> folium.Map:
    """Draw ``title`` (escaped) at the top of ``m``; returns ``m``."""
    m.get_root().html.add_child(folium.Element(
        f'<div class="{TITLE_CLASS}" style="{_STYLE}">'
        f"{text(title)}</div>"))
    return m


def add_place(m: folium.Map, level: str, code: str, bounds: list[list[float]]) -> folium.Map:
    """Fit ``m`` to a found place (``bounds``: ``[[south, west], [north, east]]``) and draw
    its outline (``maps.area_layer.outline_layer``); returns ``m``."""
    from maps.area_layer import outline_layer

    outline_layer(level, code, name="Found place").add_to(m)
    m.fit_bounds(bounds, padding=(24, 24))   # the outline clear of the frame's edge
    return m


class _SyncViews(MacroElement):
    """A script in the map's own code (not its HTML, which is not run): on every move, put the
    other explorer maps of the page (the twin's other half: same-origin frames) on the same
    centre and zoom, without animation and without echoing the move back."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function wySync() {
            var find = function (w) {
                return Object.values(w).find(function (v) {
                    return v && v._leaflet_id && v.getCenter && v.setView; });
            };
            var me = find(window);
            if (!me) { setTimeout(wySync, 200); return; }
            me.on("moveend", function () {
                if (window.wySyncing) { return; }
                var frames = window.parent.document.querySelectorAll(
                    'iframe[title="streamlit_folium.st_folium"]');
                frames.forEach(function (frame) {
                    var w = frame.contentWindow;
                    if (!w || w === window) { return; }
                    var other;
                    try { other = find(w); } catch (e) { return; }
                    if (!other) { return; }
                    w.wySyncing = true;
                    other.setView(me.getCenter(), me.getZoom(), {animate: false});
                    w.wySyncing = false;
                });
            });
        })();
        {% endmacro %}
    """)


def add_view_sync(m: folium.Map) -> folium.Map:
    """Keep ``m``'s view and the page's other explorer maps' views the same (twin map)."""
    _SyncViews().add_to(m)
    return m
