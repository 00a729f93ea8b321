"""The analysts' explorer map: its layers' shared conventions, and the map that holds them.

The layers, each a ``folium.FeatureGroup`` built from a frame the query layer
(``safeguards.access.RoleScopedQuery``) returned, to put on :func:`explorer_map` (a
``maps.basemap.base_map``, whose scripts are all served by the dashboard):

- ``maps.area_layer``: areas coloured by count or rate (suppressed areas grey);
- ``maps.cell_layers``: hexagons and a heat map of 100 m cells;
- ``maps.point_layer``: geomasked points, clustered;
- ``maps.hotspot_layer``: the hotspot model's hotspots.

Coloured layers also give a ``maps.legends.MapLegend``: the legend is *data* for the page to
draw with Streamlit, because branca's colormap legend loads d3 from a CDN
(``maps.local_assets`` refuses it).

What a map costs is what it sends: every layer ships aggregates, never one object per event.
The area layer grows with areas x vertices (coordinates on a ~1 m grid, only the properties the
tooltip needs), the hexagon layer with occupied hexagons, the heat map with a bounded number of
grid cells, and the points layer refuses more than ``max_points`` points.

Text safety: every string that reaches the map's HTML (area names, category values, counts)
is HTML-escaped with :func:`text`, and ``{``/``}`` are written as entities too, because folium
renders its output through Jinja a second time (a name containing ``{{ 7*7 }}`` would otherwise
be *evaluated* on the server). The data-heavy elements (GeoJSON, heat rows, point clusters) are
rendered without that second pass (``maps.verbatim.VerbatimRender``: it took most of a map's
render time), but their tooltips and controls still get it, so the escaping stays. Tooltips use
``innerHTML``, so escaped text shows as text.

This module never imports Streamlit.
"""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

import folium
import numpy as np

from geo.boundaries import DISTRICT_CODES, load_boundaries
from maps.basemap import base_map
from maps.lazy_layer import lazy_group

# --------------------------------------------------------------------------------------------
# Shared by the layers

#: Map coordinates are rounded to 5 decimals (about 1 m), as maps.basemap does.
DECIMALS = 5
FEED_SHORT = {"nrm": "NRM", "rosewood": "Rosewood", "mandevilla": "Mandevilla"}


def row_bounds(rows) -> list[list[float | None]]:
    """Bounds of ``[lat, lon, ...]`` rows, by NumPy (folium's loop is slow for 10^4 rows)."""
    if not len(rows):
        return [[None, None], [None, None]]
    latlon = np.asarray(rows, dtype=float)[:, :2]
    return [latlon.min(axis=0).tolist(), latlon.max(axis=0).tolist()]


def text(value) -> str:
    """``value`` as text safe to put in the map's HTML (and in folium's second Jinja pass)."""
    return html.escape(str(value)).replace("{", "&#123;").replace("}", "&#125;")


# --------------------------------------------------------------------------------------------
# The map


def explorer_map(layers: Sequence[folium.FeatureGroup | None], *, show: set[str] | None = None,
                 lazy: bool = False, **base_map_kwargs) -> folium.Map:
    """The West Yorkshire base map with ``layers`` and a layer control.

    Parameters
    ----------
    layers : sequence of FeatureGroup
        From the layer builders (``maps.area_layer``, ``maps.cell_layers``,
        ``maps.point_layer``, ``maps.hotspot_layer``), in drawing order (later on top).
        ``None`` entries (a refused points layer) are skipped. Names must be distinct. A
        FeatureGroup belongs to one map: build new layers for each map.
    show : set of str, optional
        Names of the layers visible at start (the others are ticked off in the layer
        control). Default: all.
    **base_map_kwargs
        Passed to :func:`maps.basemap.base_map` (e.g. ``height``).

    Returns
    -------
    maps.local_assets.LocalAssetMap
        Loads nothing from outside the dashboard (checked again when it is rendered).
    """
    layers = [layer for layer in layers if layer is not None]
    names = [layer.layer_name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be distinct: {names}")
    unknown = {s for s in show or () if s not in names and text(s) not in names}
    if unknown:
        raise ValueError(f"show names layers that are not here: {sorted(unknown)}")
    m = base_map(**base_map_kwargs)
    visible = None if show is None else {text(s) for s in show} | set(show)
    for layer in layers:
        if visible is not None:
            layer.show = layer.layer_name in visible
        if lazy and not layer.show:
            layer = lazy_group(layer)
        layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def layer_geojson(layer: folium.FeatureGroup) -> dict:
    """The GeoJSON a layer from :func:`area_layer` or :func:`hex_layer` sends, as one
    FeatureCollection (for tests and for checking what reaches the browser)."""
    features = [feature for child in layer._children.values()
                if isinstance(child, folium.GeoJson) for feature in child.data["features"]]
    return {"type": "FeatureCollection", "features": features}


def filter_note(feeds: Sequence[str], filters=None, *, period: tuple[dt.date, dt.date] | None = None
                ) -> str:
    """A legend note such as "1 Nov 2025 – 31 Oct 2026 · NRM, Rosewood · child · Leeds".

    Parameters
    ----------
    feeds : sequence of str
    filters : core.filters.EventFilter, optional
    period : (date, date), optional
        Shown when the filters set no dates (e.g. the store's period).
    """
    def day(d) -> str:
        return f"{d.day} {d:%b %Y}"

    start = getattr(filters, "start", None) or (period[0] if period else None)
    end = getattr(filters, "end", None) or (period[1] if period else None)
    parts = []
    if start or end:
        parts.append(f"{day(start) if start else '…'} – {day(end) if end else '…'}")
    parts.append(", ".join(FEED_SHORT.get(f, f) for f in feeds))
    if filters is not None:
        for values in (filters.age_groups, filters.exploitation_types, filters.indicators):
            if values:
                parts.append(", ".join(v.replace("_", " ") for v in values))
        if filters.rosewood_status:
            parts.append(f"Rosewood: {filters.rosewood_status}")
        if filters.districts:
            parts.append(", ".join(DISTRICT_CODES.get(c, c) for c in filters.districts))
        if filters.wards:
            names = load_boundaries("ward").set_index("code")["name"]
            parts.append(", ".join(str(names.get(c, c)) for c in filters.wards))
    return " · ".join(parts)
