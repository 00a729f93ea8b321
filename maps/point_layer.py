"""The explorer map's points layer: geomasked points, clustered in the browser (analysts only).

:func:`points_layer` draws what ``points`` returns, which the query layer gives to analysts
alone, and refuses more than ``max_points`` points (:func:`too_many_points` says so instead).
Tooltips show the feed, the month and category fields, never identifiers, escaped with
``maps.layers.text``; the labels reach the page's script as :func:`_js_json`.

This module never imports Streamlit.
"""
from __future__ import annotations

import json

import folium
import folium.plugins
import numpy as np
import pandas as pd

from maps.layers import DECIMALS, FEED_SHORT, row_bounds, text
from maps.verbatim import VerbatimRender, compact_data

#: Point tooltips show these category fields (whichever the feed has), never identifiers.
POINT_FIELDS = ("age_group", "exploitation_type", "risk_level", "indicators")
MAX_POINTS = 10_000


@compact_data
class _FastMarkerCluster(folium.plugins.FastMarkerCluster, VerbatimRender):
    """``FastMarkerCluster`` rendered without a second template pass."""

    def _get_self_bounds(self):
        return row_bounds(self.data)


def _js_json(value) -> str:
    """JSON for inline JavaScript: no ``<``, ``>``, ``&`` or ``'`` that could end a script."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027").replace("{", "\\u007b").replace("}", "\\u007d"))


def _month(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, errors="coerce")
    return stamps.dt.strftime("%b %Y").fillna("date unknown")


def point_labels(points: pd.DataFrame, feed: str | None = None) -> pd.Series:
    """The tooltip of each point: feed, month and category fields, escaped, as HTML.

    Worked out once per distinct combination (a few hundred among 10,000 points), then
    spread back to the rows.
    """
    feeds = (points["feed"].astype(str) if "feed" in points.columns
             else pd.Series(feed or "", index=points.index))
    keys = pd.DataFrame({"feed": feeds, "month": _month(points["event_date"])
                         if "event_date" in points.columns else ""}, index=points.index)
    for field in POINT_FIELDS:
        if field in points.columns:
            keys[field] = points[field].astype("string").fillna("")
    group = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    distinct = keys.drop_duplicates()
    labels = _point_labels(distinct).to_numpy(dtype=object)
    return pd.Series(labels[group] if len(group) else [], index=points.index, dtype=object)


def _point_labels(keys: pd.DataFrame) -> pd.Series:
    head = keys["feed"].map(lambda f: text(FEED_SHORT.get(f, f)))
    when = keys["month"].map(text)
    parts = []
    for field in POINT_FIELDS:
        if field in keys.columns:
            values = keys[field]
            shown = values.str.replace(";", ", ", regex=False).str.replace("_", " ", regex=False)
            if field == "risk_level":
                shown = shown.where(shown == "", "risk " + shown)
            parts.append(shown.map(text))
    body = pd.Series("", index=keys.index, dtype=object)
    for part in parts:
        body = body + np.where((body != "") & (part != ""), " · ", "") + part.astype(object)
    return "<b>" + head.astype(object) + "</b> · " + when.astype(object) + "<br>" + body


def too_many_points(n: int, max_points: int = MAX_POINTS) -> str:
    """What the page says instead of drawing ``n`` points (more than ``max_points``)."""
    return (f"{n:,} points is more than {max_points:,}: narrow the filters to see them; the "
            "heat map and hexagons show all")


def points_layer(points: pd.DataFrame, *, max_points: int = MAX_POINTS, name: str = "Points",
                 feed: str | None = None) -> tuple[folium.FeatureGroup | None, str | None]:
    """Geomasked points, clustered in the browser, with a tooltip of category fields.

    Parameters
    ----------
    points : DataFrame
        ``RoleScopedQuery.points(feed, filters)`` (analysts only), or several feeds
        concatenated with a ``feed`` column.
    max_points : int
        Above this, no layer: ``(None, message)``.
    name : str
    feed : str, optional
        The feed of every row when there is no ``feed`` column.

    Returns
    -------
    (FeatureGroup, None), or (None, message) when there are more than ``max_points`` points.
    """
    n = len(points)
    if n > max_points:
        return None, too_many_points(n, max_points)
    missing = {"latitude", "longitude"} - set(points.columns)
    if missing:
        raise ValueError(f"points lacks {sorted(missing)}: pass RoleScopedQuery.points(...)")
    located = points[points["latitude"].notna() & points["longitude"].notna()]
    codes, labels = pd.factorize(point_labels(located, feed), sort=False)
    callback = ("(function () { var labels = " + _js_json(list(labels)) + ";\n"
                "  return function (row) {\n"
                "    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: 5, "
                "weight: 1, color: '#7f2704', fillColor: '#f16913', fillOpacity: 0.85});\n"
                "    marker.bindTooltip(labels[row[2]]);\n"
                "    return marker;\n  };\n})()")
    cluster = _FastMarkerCluster([], callback=callback, name=text(name),
                                               control=False)
    # Rows set directly (FastMarkerCluster checks each row in a Python loop).
    cluster.data = [[round(float(a), DECIMALS), round(float(b), DECIMALS), int(c)] for a, b, c in
                    zip(located["latitude"], located["longitude"], codes)]
    group = folium.FeatureGroup(name=text(name))
    cluster.add_to(group)
    return group, None
