"""The explorer map's hexagon and heat-map layers, from 100 m cell counts (analysts only).

:func:`hex_layer` draws counts in equal-area hexagons (only the occupied ones are sent);
:func:`heat_layer` a heat map of a bounded number of grid cells, coarsening the grid until it
fits. Both draw unsuppressed detail and take only what ``cell_counts`` returns, which the query
layer gives to analysts alone. :func:`combine_cells` adds up several feeds' cells.

This module never imports Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterable

import folium
import folium.plugins
import numpy as np
import pandas as pd

from geo import hexgrid
from geo.geomask import bng_to_lonlat
from maps.layers import DECIMALS, row_bounds, text
from maps.legends import (
    HEAT_GRADIENT,
    LegendClass,
    MapLegend,
    classify,
    join_note,
    legend_classes,
)
from maps.verbatim import VerbatimGeoJson, VerbatimRender, compact_data

HEX_STYLE = {"color": "#7a3a1a", "weight": 0.3, "opacity": 0.6, "fillOpacity": 0.75}
#: The heat map ships at most this many grid cells (coarsening the grid until it fits).
MAX_HEAT_CELLS = 15_000


@compact_data
class _HeatMap(folium.plugins.HeatMap, VerbatimRender):
    """``HeatMap`` rendered without a second template pass (``maps.verbatim.VerbatimRender``)."""

    def _get_self_bounds(self):
        return row_bounds(self.data)


def _check_cells(cells: pd.DataFrame) -> None:
    missing = {"easting", "northing", "count"} - set(cells.columns)
    if missing:
        raise ValueError(f"cells lacks {sorted(missing)}: pass RoleScopedQuery.cell_counts(...)")


def _grid_sum(easting, northing, count, cell_m: float | None = None):
    """Sum ``count`` per distinct (easting, northing), or per ``cell_m`` square when given.

    Returns the cell centres (float arrays), the sums (int64) and, per output cell, the
    position of its first input row.
    """
    e = np.asarray(easting, dtype=float)
    n = np.asarray(northing, dtype=float)
    if cell_m is not None:
        e = (np.floor(e / cell_m) + 0.5) * cell_m
        n = (np.floor(n / cell_m) + 0.5) * cell_m
    if len(e) == 0:
        return e, n, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    # One int64 key per cell (a 1-D unique is much faster than grouping on two columns);
    # centres are whole or half metres, hence the factor 2.
    ei = np.round(e * 2).astype(np.int64)
    ni = np.round(n * 2).astype(np.int64)
    span = int(ni.max() - ni.min()) + 1
    keys, first, inverse = np.unique((ei - ei.min()) * span + (ni - ni.min()), return_index=True,
                                     return_inverse=True)
    sums = np.bincount(inverse, weights=np.asarray(count, dtype=float),
                       minlength=len(keys)).astype(np.int64)
    return e[first], n[first], sums, first


def combine_cells(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up ``cell_counts`` frames of several feeds (same ``cell_m``) into one."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"easting": pd.Series(dtype=float), "northing": pd.Series(dtype=float),
                             "longitude": pd.Series(dtype=float),
                             "latitude": pd.Series(dtype=float),
                             "count": pd.Series(dtype="int64")})
    both = pd.concat(frames, ignore_index=True)
    _check_cells(both)
    e, n, sums, first = _grid_sum(both["easting"], both["northing"], both["count"])
    out = pd.DataFrame({"easting": e, "northing": n, "count": sums})
    if {"longitude", "latitude"} <= set(both.columns):
        out["longitude"] = both["longitude"].to_numpy(float)[first]
        out["latitude"] = both["latitude"].to_numpy(float)[first]
    return out


def hex_cells(cells: pd.DataFrame, size_m: float = 500) -> pd.DataFrame:
    """The occupied hexagons of :func:`hex_layer` (``geo.hexgrid.aggregate`` of ``cells``)."""
    _check_cells(cells)
    return hexgrid.aggregate(cells["easting"].to_numpy(float), cells["northing"].to_numpy(float),
                             cells["count"].to_numpy(np.int64), size_m)


def hex_layer(cells: pd.DataFrame, *, size_m: int = 500, name: str = "Hexagons",
              subject: str = "Records", scheme: str = "natural_breaks", n_classes: int = 5,
              note: str = "") -> tuple[folium.FeatureGroup, MapLegend]:
    """Counts in equal-area hexagons, coloured by class. Analysts only.

    Parameters
    ----------
    cells : DataFrame
        ``RoleScopedQuery.cell_counts(feed, filters, cell_m=100)`` (or several feeds through
        :func:`combine_cells`): ``easting``, ``northing``, ``count``. Each cell counts in the
        hexagon holding its centre: use cells much smaller than the hexagons.
    size_m : int
        **Side** of the flat-top hexagons in metres (= centre-to-corner); neighbouring centres
        are ``sqrt(3) * size_m`` apart and each hexagon covers ``2.598 * size_m**2`` (500 m:
        0.65 km²). The grid is fixed in British National Grid (see ``geo.hexgrid``).
    name, subject, scheme, n_classes, note
        As for :func:`area_layer`.

    Returns
    -------
    layer : folium.FeatureGroup
        One ``GeoJson`` per class of the occupied hexagons only (id = running number,
        property ``count`` as text), corners in WGS84 rounded to 5 decimals; all of them
        through :func:`layer_geojson`.
    legend : MapLegend
    """
    hexes = hex_cells(cells, size_m)
    n = len(hexes)
    ring = hexgrid.corners(hexes["easting"].to_numpy(), hexes["northing"].to_numpy(), size_m)
    lon, lat = bng_to_lonlat(ring[..., 0].ravel(), ring[..., 1].ravel())
    lonlat = np.stack([np.round(lon, DECIMALS), np.round(lat, DECIMALS)], axis=-1)
    lonlat = lonlat.reshape(n, 6, 2)
    closed = np.concatenate([lonlat, lonlat[:, :1]], axis=1).tolist()
    totals = hexes["count"].to_numpy()
    index, _ = classify(totals, scheme=scheme, n_classes=n_classes)
    classes = legend_classes(totals, index)
    features = [{"type": "Feature", "id": i, "properties": {"count": f"{int(c):,}"},
                 "geometry": {"type": "Polygon", "coordinates": [ring_i]}}
                for i, (c, ring_i) in enumerate(zip(totals, closed))]
    group = folium.FeatureGroup(name=text(name))
    # One GeoJson per class, each of one style: folium writes a per-feature style as a
    # `case id:` line of JavaScript, rendered through a template per hexagon (a third of the
    # map's render time with thousands of hexagons); a single style needs none.
    for k, legend_class in enumerate(classes):
        members = [f for f, i in zip(features, index) if i == k]
        style = {**HEX_STYLE, "fillColor": legend_class.colour}
        VerbatimGeoJson(
            {"type": "FeatureCollection", "features": members}, name=text(name), control=False,
            style_function=lambda _feature, style=style: style,
            tooltip=folium.GeoJsonTooltip(fields=["count"], aliases=[text(subject)],
                                          sticky=True),
        ).add_to(group)
    area = hexgrid.hex_area_m2(size_m) / 1e6
    legend = MapLegend(
        title=f"{subject} per hexagon ({size_m:,g} m side, {area:.2f} km²)", classes=classes,
        hidden=None, note=join_note(note, "Hexagons with no records are not drawn"))
    return group, legend


def heat_cells(cells: pd.DataFrame, *, max_cells: int = MAX_HEAT_CELLS
               ) -> tuple[pd.DataFrame, int | None]:
    """The cells :func:`heat_layer` draws: ``cells`` as they are when there are at most
    ``max_cells``, else summed into the finest grid of 200, 300, ... m that has at most
    ``max_cells``. Returns the cells and the grid used (None: as given)."""
    _check_cells(cells)
    if len(cells) <= max_cells:
        out = cells[["easting", "northing", "count"]].copy()
        if {"longitude", "latitude"} <= set(cells.columns):
            out["longitude"], out["latitude"] = cells["longitude"], cells["latitude"]
        else:
            out["longitude"], out["latitude"] = bng_to_lonlat(out["easting"], out["northing"])
        return out, None
    for cell_m in range(200, 20_001, 100):
        e, n, sums, _ = _grid_sum(cells["easting"], cells["northing"], cells["count"], cell_m)
        if len(sums) <= max_cells:
            lon, lat = bng_to_lonlat(e, n)
            return pd.DataFrame({"easting": e, "northing": n, "count": sums, "longitude": lon,
                                 "latitude": lat}), cell_m
    raise ValueError("cells span more than West Yorkshire")  # pragma: no cover


def heat_layer(cells: pd.DataFrame, *, name: str = "Heat map", max_cells: int = MAX_HEAT_CELLS,
               radius: int = 14, blur: int = 12) -> folium.FeatureGroup:
    """A heat map of cell centres weighted by their counts (``folium.plugins.HeatMap``).

    Parameters
    ----------
    cells : DataFrame
        As for :func:`hex_layer`.
    max_cells : int
        Bound on what is sent: beyond it the cells are summed into a coarser grid (see
        :func:`heat_cells`); the weights still add up to every record.
    radius, blur : int
        Leaflet.heat's, in screen pixels.
    """
    used, _ = heat_cells(cells, max_cells=max_cells)
    heat = _HeatMap([], name=text(name), control=False, radius=radius, blur=blur,
                    min_opacity=0.35, gradient=HEAT_GRADIENT)
    # Set the rows directly: HeatMap's own check is a Python loop (1.3 s per 100k rows);
    # these are finite numbers by construction.
    heat.data = [[lat, lon, weight] for lat, lon, weight in zip(
        np.round(used["latitude"].to_numpy(float), DECIMALS).tolist(),
        np.round(used["longitude"].to_numpy(float), DECIMALS).tolist(),
        used["count"].to_numpy(np.int64).tolist())]
    group = folium.FeatureGroup(name=text(name))
    heat.add_to(group)
    return group


def heat_legend(*, note: str = "", subject: str = "records") -> MapLegend:
    """The heat map's legend: its colours (:data:`maps.legends.HEAT_GRADIENT`) from low to
    high, and what they show. The colours are relative (the densest place in view is the
    top colour), so the legend names no counts."""
    stops = list(HEAT_GRADIENT.values())
    labels = [f"Low: few {subject} nearby", "", "Medium", "",
              f"High: the most {subject} close together in this view"]
    return MapLegend(
        title=f"Heat map: where {subject} concentrate",
        classes=tuple(LegendClass(colour, label) for colour, label in zip(stops, labels)),
        hidden=None,
        note=join_note(f"Each 100 m cell weighted by its {subject}, blurred; colours are "
                        "relative to the densest place, not counts", note))
