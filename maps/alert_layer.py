"""New-hotspot alerts on the West Yorkshire base map.

:func:`alert_layer` draws the alert areas of one month (``views.hotspot_alerts.AlertView.alerts``:
polygons and words only, already what the viewer's role may see) as one ``folium.GeoJson`` in a
``FeatureGroup``, with the map conventions of ``maps.layers``: styles given per feature, every
text that reaches the map's HTML escaped by ``maps.layers.text``. New alerts are drawn with a
dotted blue outline; alerts continuing from the previous month, fainter.

This module never imports Streamlit.
"""
from __future__ import annotations

import folium
import geopandas as gpd
import shapely

from maps.layers import text

STYLE = {"color": "#08519c", "weight": 3, "opacity": 1, "fillColor": "#6baed6",
         "fillOpacity": 0.35, "dashArray": "2 6"}
CONTINUING_STYLE = {**STYLE, "fillOpacity": 0.1}


def alert_legend(month_label: str) -> tuple[str, str, str]:
    """The legend line beside the map, (fill, outline, label), naming the alerts' month."""
    return (STYLE["fillColor"], STYLE["color"], f"New in {month_label} (dotted blue)")


def alert_layer(alerts: gpd.GeoDataFrame, month_label: str) -> folium.FeatureGroup:
    """The new alerts (and, fainter, continuing ones) as a folium layer with escaped tooltips.

    ``alerts`` has one EPSG:4326 polygon per alert with ``alert_id``, ``new``, ``place``,
    ``months`` and ``recurrence`` (in words); ``month_label`` names the month scanned
    ("June 2025").
    """
    new_in = f"new in {month_label}"
    group = folium.FeatureGroup(name=f"New in {month_label}", control=False)
    features = [{"type": "Feature", "id": f"alert-{int(row.alert_id)}",
                 "properties": {"place": text(row.place), "months": text(row.months),
                                "chance": text(row.recurrence), "new": bool(row.new),
                                "status": new_in if row.new else "continuing"},
                 "geometry": shapely.geometry.mapping(row.geometry)}
                for row in alerts.itertuples(index=False)]
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, control=False,
            style_function=lambda f: STYLE if f["properties"]["new"] else CONTINUING_STYLE,
            tooltip=folium.GeoJsonTooltip(fields=["status", "place", "months", "chance"],
                                          aliases=["Alert", "Place", "Months", "By chance"],
                                          sticky=True)).add_to(group)
    return group
