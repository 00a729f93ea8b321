"""Area outlines as the maps draw them, and where each area's name goes.

:func:`boundary_geojson` and :func:`label_points` compute them from any areas (the maps' own
code: ``maps.basemap`` re-exports both). :func:`level_outlines` and :func:`level_labels` give
them for the shipped boundaries of a level, computed once per process, or read as they were
computed from the boundaries' prepared copy (``geo.prepared``) when it is current: rounding
1,404 LSOA outlines and finding the districts' and wards' label points took about 1.3 s of a
server's start (docs/benchmarks.md).

This module never imports Streamlit or anything of ``maps``.
"""
from __future__ import annotations

import json
from functools import lru_cache

import geopandas as gpd
import shapely
from shapely.ops import polylabel

from geo.crs import BNG, WGS84

#: Coordinates are rounded to this grid (degrees; 1e-5 is about 1 m).
PRECISION = 1e-5
#: Levels whose names are written on the base map (``maps.basemap.AreaLabels``).
LABELLED_LEVELS = ("district", "ward")


def boundary_geojson(areas: gpd.GeoDataFrame, properties=("code", "name")) -> dict:
    """A small FeatureCollection of ``areas``.

    Parameters
    ----------
    areas : GeoDataFrame
    properties : sequence of str
        The only columns kept (a tooltip needs ``name``; an outline needs just ``code``).

    Returns
    -------
    dict
        GeoJSON in EPSG:4326, coordinates on a 1e-5 degree grid (about 1 m).
    """
    slim = areas[[*properties, "geometry"]].copy()
    slim["geometry"] = shapely.set_precision(slim.geometry.values, PRECISION)
    return json.loads(slim.to_crs(WGS84).to_json(drop_id=True))


def label_points(areas: gpd.GeoDataFrame) -> list[tuple[float, float, str]]:
    """Where to write each area's name: ``(lat, lon, name)`` rounded to 5 decimals.

    The pole of inaccessibility (the interior point furthest from the edge; of the largest part
    of a multipolygon), computed in British National Grid to 25 m, so a name sits well inside
    its area even when the centroid would fall outside.
    """
    def point(geom):
        if geom.geom_type == "MultiPolygon":
            geom = max(geom.geoms, key=lambda part: part.area)
        return polylabel(geom, 25)

    points = gpd.GeoSeries([point(g) for g in areas.geometry.to_crs(BNG)], crs=BNG).to_crs(WGS84)
    return [(round(p.y, 5), round(p.x, 5), str(name)) for p, name in zip(points, areas["name"])]


@lru_cache(maxsize=3)
def level_outlines(level: str) -> dict[str, dict]:
    """code -> GeoJSON geometry (:func:`boundary_geojson`) of every shipped area of ``level``.
    Cached: callers must not modify the geometries."""
    from geo.prepared import read_prepared

    prepared = read_prepared(level)
    if prepared is not None:
        return {code: json.loads(text) for code, text in zip(prepared["code"],
                                                               prepared["outline"])}
    from geo.boundaries import load_boundaries

    collection = boundary_geojson(load_boundaries(level), properties=("code",))
    return {f["properties"]["code"]: f["geometry"] for f in collection["features"]}


@lru_cache(maxsize=len(LABELLED_LEVELS))
def level_labels(level: str) -> tuple[tuple[float, float, str], ...]:
    """:func:`label_points` of the shipped areas of ``level`` (a district or ward), in the
    order of ``load_boundaries(level)``."""
    if level not in LABELLED_LEVELS:
        raise ValueError(f"level was {level!r}; labels are kept for {LABELLED_LEVELS}")
    from geo.prepared import read_prepared

    prepared = read_prepared(level)
    if prepared is not None:
        return tuple((float(lat), float(lon), str(name)) for lat, lon, name in zip(
            prepared["label_lat"], prepared["label_lon"], prepared["name"]))
    from geo.boundaries import load_boundaries

    return tuple(label_points(load_boundaries(level)))


def outline_collection(level: str) -> dict:
    """``boundary_geojson(load_boundaries(level), properties=("code",))`` from the cached
    outlines: new feature dicts (folium may add to them), shared geometries."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code}, "geometry": geometry}
        for code, geometry in level_outlines(level).items()]}
