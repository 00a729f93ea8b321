"""Attach official area codes (LSOA 2021, ward, district) to points and LSOA codes."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo.boundaries import load_boundaries, lsoa_2011_to_2021
from geo.crs import BNG

# The shipped boundaries are generalised to 20 m; a real West Yorkshire point may fall just
# outside them. Within this distance of an LSOA it takes the nearest; beyond, it is outside.
EDGE_TOLERANCE_M = 100


def lsoa_of_points(easting, northing) -> tuple[pd.Series, np.ndarray]:
    """The 2021 LSOA containing each BNG point, and its distance outside West Yorkshire (m).

    Points further than ``EDGE_TOLERANCE_M`` outside every LSOA get ``<NA>`` and their distance
    to the nearest LSOA, so the caller can say how far outside they are.
    """
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(easting, northing), crs=BNG)
    lsoas = lsoas_bng()
    codes = pd.Series(containing_lsoa(points.geometry.array, lsoas), dtype="string")
    distance = np.zeros(len(points))
    missing = codes.isna().to_numpy()
    if missing.any():
        near = gpd.sjoin_nearest(points[missing], lsoas, how="left", distance_col="distance")
        near = near[~near.index.duplicated(keep="first")]
        close = near["distance"] <= EDGE_TOLERANCE_M
        codes.loc[near.index[close]] = near.loc[close, "code"]
        distance[missing] = near["distance"].to_numpy()
    return codes.reset_index(drop=True), distance


def containing_lsoa(points, lsoas: gpd.GeoDataFrame) -> np.ndarray:
    """The code of the LSOA containing each point (``None`` where none does): what
    ``gpd.sjoin(points, lsoas, predicate="within")`` keeping each point's first match gives,
    without building frames. The same query (a tree of the points, each LSOA asking which it
    contains) and the same choice when generalised edges overlap: the LSOA listed first."""
    tree = shapely.STRtree(np.asarray(points))
    lsoa_index, point_index = tree.query(np.asarray(lsoas.geometry.array), predicate="contains")
    first = np.full(len(points), len(lsoas), dtype=np.int64)
    np.minimum.at(first, point_index, lsoa_index)
    names = np.append(lsoas["code"].to_numpy(dtype=object), None)
    return names[first]


def areas_of_lsoas(lsoa_codes: pd.Series) -> pd.DataFrame:
    """Ward (best fit) and district of each 2021 LSOA code; unknown codes give <NA>."""
    table = load_boundaries("lsoa")[["code", "ward_code", "district_code"]]
    merged = pd.DataFrame({"code": lsoa_codes.astype("string")}).merge(
        table.astype("string"), on="code", how="left")
    return merged[["ward_code", "district_code"]].set_index(lsoa_codes.index)


def normalise_lsoa_codes(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Map codes to 2021 LSOAs (2011 codes via best overlap); return codes and a known mask."""
    codes = codes.astype("string").str.upper().str.strip()
    current = pa.array(load_boundaries("lsoa")["code"].astype(str).to_numpy(), type=pa.string())
    known = _is_in(codes, current)
    # The 2011 → 2021 table is built on first use (an overlay, about a second): only for 2011 codes.
    older = {} if known.all() else lsoa_2011_to_2021()
    mapped = codes.where(known, codes.map(older))
    return mapped, mapped.notna() & _is_in(mapped, current)


def _is_in(text: pd.Series, value_set: pa.Array) -> pd.Series:
    """``text.isin(value_set)`` (missing cells: ``False``) by one Arrow look-up: pandas makes an
    Arrow scalar of each of the 1,400 codes first, 15 ms a call, twice per location chunk."""
    found = pc.is_in(pa.array(text.array, type=pa.string(), from_pandas=True), value_set=value_set)
    return pd.Series(found.to_numpy(zero_copy_only=False).astype(bool), index=text.index)


_CACHE: dict[str, gpd.GeoDataFrame] = {}


def lsoas_bng() -> gpd.GeoDataFrame:
    if "lsoa" not in _CACHE:
        _CACHE["lsoa"] = load_boundaries("lsoa")[["code", "geometry"]].to_crs(BNG)
    return _CACHE["lsoa"]
