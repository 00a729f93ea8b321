"""Hotspot polygons on the West Yorkshire base map.

:func:`hotspot_layer` draws the hotspots of a ``views.hotspots.HotspotView`` (areas and
aggregates only, already suppressed for the viewer's role) as one ``folium.GeoJson`` in a
``FeatureGroup``, with the map conventions of ``maps.layers``: styles given per feature (no
branca colormap, which loads d3 from a CDN), every text that reaches the map's HTML escaped by
``maps.layers.text`` (also against folium's second Jinja pass), coordinates on a ~1 m grid.
:func:`hotspot_map` puts the layer on ``maps.basemap.base_map`` (district outlines, offline assets)
and zooms to a chosen hotspot.

This module never imports Streamlit.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from geo.crs import WGS84
from maps.basemap import PRECISION, WEST_YORKSHIRE_BOUNDS, base_map
from maps.layers import text

STYLE = {"color": "#b2182b", "weight": 2, "opacity": 0.95, "fillColor": "#ef8a62",
         "fillOpacity": 0.35}
#: Cross-feed hotspots (two or more feeds concentrate together): purple, dashed outline.
CROSS_FEED_STYLE = {**STYLE, "color": "#5e3c99", "fillColor": "#b2abd2", "dashArray": "6 4"}
SELECTED_STYLE = {"weight": 4, "opacity": 1, "fillOpacity": 0.55}
#: The selected hotspot's own outline, drawn over everything (non-interactive): black and thick,
#: so it stands out from the red and purple hotspots and from the district lines.
SELECTED_OUTLINE = {"color": "#111111", "weight": 5, "opacity": 1, "fill": False,
                    "dashArray": None}
HIGHLIGHT = {"weight": 4, "fillOpacity": 0.6}
FIELDS = ("rank", "place", "events", "risk", "p", "trend", "cross")
ALIASES = ("Rank", "Place", "Events", "Relative risk", "p-value", "Trend", "Cross-feed")
REQUIRED = {"hotspot_id", "rank", "place", "events_display", "relative_risk", "p_value",
            "trend", "cross_feed", "geometry"}
#: Margin around a hotspot the map zooms to, in degrees (~300 m).
ZOOM_MARGIN = 0.003


def risk_text(value) -> str:
    """A relative risk for people: "12.3", "hidden" (suppressed: NaN), "very high" (infinite)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "hidden"
    if math.isinf(float(value)):
        return "very high"
    return f"{float(value):,.1f}"


def p_text(value) -> str:
    """A p-value as shown: "0.010", "< 0.001", "–" (untested method)."""
    if value is None or pd.isna(value):
        return "–"
    return "< 0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def hotspot_features(hotspots: gpd.GeoDataFrame, selected: int | None = None) -> list[dict]:
    """The GeoJSON features of ``hotspots`` (escaped properties), for the layer and for tests."""
    missing = REQUIRED - set(hotspots.columns)
    if missing:
        raise ValueError(f"hotspots lacks {sorted(missing)}: pass HotspotView.hotspots")
    frame = hotspots if hotspots.crs is None or hotspots.crs.equals(WGS84) \
        else hotspots.to_crs(WGS84)
    geometry = shapely.set_precision(frame.geometry.to_numpy(), PRECISION)
    features = []
    for row, shape in zip(frame.itertuples(index=False), geometry):
        hotspot_id = int(row.hotspot_id)
        features.append({
            "type": "Feature", "id": str(hotspot_id),
            "properties": {
                "hotspot_id": hotspot_id, "rank": int(row.rank), "place": text(row.place),
                "events": text(row.events_display), "risk": text(risk_text(row.relative_risk)),
                "p": text(p_text(row.p_value)), "trend": text(str(row.trend).capitalize()),
                "cross": "yes" if bool(row.cross_feed) else "no",
                "selected": selected is not None and hotspot_id == int(selected)},
            "geometry": shapely.geometry.mapping(shape)})
    return features


def _style(feature: dict) -> dict:
    props = feature["properties"]
    style = dict(CROSS_FEED_STYLE if props["cross"] == "yes" else STYLE)
    if props["selected"]:
        style.update(SELECTED_STYLE)
    return style


def hotspot_layer(hotspots: gpd.GeoDataFrame, *, name: str = "Hotspots",
                  selected: int | None = None) -> folium.FeatureGroup:
    """The hotspots as a folium layer of polygons with escaped tooltips.

    Parameters
    ----------
    hotspots : GeoDataFrame
        ``HotspotView.hotspots`` (``hotspot_id``, ``rank``, ``place``, ``events_display``,
        ``relative_risk``, ``p_value``, ``trend``, ``cross_feed``, polygons).
    name : str
        The layer's name in a layer control (escaped).
    selected : int, optional
        A hotspot id drawn with a thicker outline.

    Returns
    -------
    folium.FeatureGroup
        One ``folium.GeoJson`` (the first child); each feature has the hotspot id as ``id`` and
        in ``properties["hotspot_id"]``, so streamlit-folium can report a click on it.

    Raises
    ------
    ValueError
        ``hotspots`` lacks a column the tooltip needs.
    """
    features = hotspot_features(hotspots, selected)
    group = folium.FeatureGroup(name=text(name))
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features}, name=text(name), control=False,
        style_function=_style, highlight_function=lambda _feature: HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(fields=list(FIELDS), aliases=list(ALIASES), sticky=True)
        if features else None,
    ).add_to(group)
    return group


def hotspot_bounds(hotspots: gpd.GeoDataFrame, hotspot_id: int | None = None,
                   margin: float = ZOOM_MARGIN) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of one hotspot (or all of them), with a margin.

    West Yorkshire's bounds when there is nothing to fit.
    """
    frame = hotspots if hotspot_id is None else hotspots[hotspots["hotspot_id"] == hotspot_id]
    if frame.empty:
        (south, west), (north, east) = WEST_YORKSHIRE_BOUNDS
        return [[south, west], [north, east]]
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    west, south, east, north = frame.total_bounds
    return [[south - margin, west - margin], [north + margin, east + margin]]


#: What the hotspot map's colours mean, for a legend beside it: (fill, outline, label).
LEGEND = ((STYLE["fillColor"], STYLE["color"], "Hotspot (number: its rank)"),
          (CROSS_FEED_STYLE["fillColor"], CROSS_FEED_STYLE["color"],
           "Hotspot in several feeds (dashed outline)"))
#: The selected hotspot's line in the on-map legend (:class:`HotspotLegend`).
SELECTED_LEGEND = ("none", SELECTED_OUTLINE["color"], "Selected hotspot (black outline)")


class HotspotLegend(MacroElement):
    """The legend drawn on the map itself (a Leaflet control, bottom left): a swatch and a
    label per line, every label escaped. No branca colormap (it loads d3 from a CDN)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "wy-hotspot-legend");
                div.setAttribute("role", "list");
                div.setAttribute("aria-label", "Map legend");
                div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 8px;"
                    + "border-radius:4px;font:12px/1.5 sans-serif;color:#222;"
                    + "box-shadow:0 1px 4px rgba(0,0,0,.3)";
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            legend.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, lines):
        super().__init__()
        self._name = "HotspotLegend"
        rows = []
        for fill, line, label in lines:
            dashed = ("dashed" if "dashed" in label else "dotted" if "dotted" in label
                      else "solid")
            width = 3 if fill == "none" else 2
            rows.append(
                f"<div role='listitem'><span style='display:inline-block;width:14px;"
                f"height:10px;margin-right:6px;vertical-align:middle;"
                f"background:{'transparent' if fill == 'none' else fill};"
                f"border:{width}px {dashed} {line}'></span>{text(label)}</div>")
        self.html = "".join(rows)
RANK_LABEL = ("<div class='wy-rank' role='img' aria-label='Hotspot rank {rank}' style='"
              "width:22px;height:22px;border-radius:50%;background:#fff;border:2px solid #641e16;"
              "color:#641e16;font:bold 12px/18px sans-serif;text-align:center;'>{rank}</div>")


def rank_labels(hotspots: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """Each hotspot's rank in a circle at a point inside it: readable on a projected screen."""
    group = folium.FeatureGroup(name="Ranks", control=False)
    frame = hotspots if hotspots.crs is None or hotspots.crs.equals(WGS84) \
        else hotspots.to_crs(WGS84)
    for rank, point in zip(frame["rank"], frame.geometry.representative_point()):
        # Not interactive: a hover or click on the label reaches the hotspot under it.
        folium.Marker([point.y, point.x], icon=folium.DivIcon(
            html=RANK_LABEL.format(rank=int(rank)), icon_size=(22, 22), icon_anchor=(11, 11)),
            interactive=False, keyboard=False,
        ).add_to(group)
    return group


class ZoomWhenSized(MacroElement):
    """Fit the map to ``bounds`` now and again whenever its container changes size, until the
    user touches the map. A plain ``fitBounds`` in the map's script was undone in the browser
    (the map stayed on West Yorkshire after selecting a row, issue 13 item 8): the component's
    frame is laid out after the script runs, and Leaflet keeps the view it had."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, bounds) {
            var container = map.getContainer(), touched = false;
            function fit() {
                if (touched) { return; }
                map.invalidateSize(false);
                map.fitBounds(bounds, {animate: false});
            }
            ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (name) {
                container.addEventListener(name, function () { touched = true; },
                                           {passive: true});
            });
            if (window.ResizeObserver) { new ResizeObserver(fit).observe(container); }
            map.whenReady(fit);
            [0, 250, 1000].forEach(function (ms) { setTimeout(fit, ms); });
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }});
        {% endmacro %}
    """)

    def __init__(self, bounds):
        super().__init__()
        self._name = "ZoomWhenSized"
        self.bounds = [[float(v) for v in corner] for corner in bounds]


def selected_outline(hotspots: gpd.GeoDataFrame, hotspot_id: int) -> folium.FeatureGroup:
    """A bold black outline of one hotspot, not interactive (hover still reaches the hotspot)."""
    frame = hotspots[hotspots["hotspot_id"] == int(hotspot_id)]
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    group = folium.FeatureGroup(name="Selected hotspot", control=False)
    shapes = shapely.set_precision(frame.geometry.to_numpy(), PRECISION)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"selected": True},
             "geometry": shapely.geometry.mapping(shape)} for shape in shapes]},
        name="Selected hotspot", control=False, interactive=False,
        style_function=lambda _feature: dict(SELECTED_OUTLINE),
    ).add_to(group)
    return group


def hotspot_map(hotspots: gpd.GeoDataFrame, *, selected: int | None = None,
                extra_layers: Sequence[folium.FeatureGroup] = (), labels: bool = False,
                legend: bool = False, fit: list[list[float]] | None = None,
                extra_legend: Sequence[tuple[str, str, str]] = (),
                **base_map_kwargs) -> folium.Map:
    """The base map (district outlines, offline assets) with the hotspots on top.

    Zoomed to ``selected`` when given (and in ``hotspots``), with a bold black outline round it
    (:func:`selected_outline`), else to ``fit`` (``[[south, west], [north, east]]``, e.g. a
    district in focus), otherwise to West Yorkshire. ``labels`` puts each hotspot's rank on it
    (:func:`rank_labels`); ``legend`` draws :data:`LEGEND` on the map (:class:`HotspotLegend`),
    with ``extra_legend`` lines (fill, outline, label) for the ``extra_layers``.
    """
    m = base_map(zoom_snap=0.25, **base_map_kwargs)
    for layer in extra_layers:
        layer.add_to(m)
    hotspot_layer(hotspots, selected=selected).add_to(m)
    chosen = selected is not None and bool((hotspots["hotspot_id"] == selected).any())
    if chosen:
        selected_outline(hotspots, selected).add_to(m)
    if labels and len(hotspots):
        rank_labels(hotspots).add_to(m)
    if legend:
        HotspotLegend([*LEGEND, *extra_legend, *([SELECTED_LEGEND] if chosen else [])]
                      ).add_to(m)
    if chosen:
        m.fit_bounds(hotspot_bounds(hotspots, selected))
        ZoomWhenSized(hotspot_bounds(hotspots, selected)).add_to(m)
    elif fit is not None:
        m.fit_bounds(fit)
    return m
