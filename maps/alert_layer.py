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
#: For a legend beside the map: (fill, outline, label).
LEGEND = (STYLE["fillColor"], STYLE["color"], "New this month (dotted blue)")


def alert_layer(alerts: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """The new alerts (and, fainter, continuing ones) as a folium layer with escaped tooltips.

    ``alerts`` has one EPSG:4326 polygon per alert with ``alert_id``, ``new``, ``place``,
    ``months`` and ``recurrence`` (in words).
    """
    group = folium.FeatureGroup(name="New this month", control=False)
    features = [{"type": "Feature", "id": f"alert-{int(row.alert_id)}",
                 "properties": {"place": text(row.place), "months": text(row.months),
                                "chance": text(row.recurrence), "new": bool(row.new),
                                "status": "new this month" if row.new else "continuing"},
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
