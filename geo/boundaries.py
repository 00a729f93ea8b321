"""West Yorkshire boundaries and populations, loaded once per process from ``data/boundaries``.

The files are copies of ONS open data (Open Government Licence v3.0); ``data/boundaries/SOURCES.md``
gives their provenance. Nothing here reads outside the project or fetches anything at run time.
What is derived from them (the frames below, with areas in BNG and ward populations) is read from
the project's prepared copy when it is current (``geo.prepared``, GeoParquet), and derived from
the source files otherwise.

Ward populations are not published in the shipped data. They are **estimates**: each LSOA is
assigned to the ward it overlaps most (best fit, areas in British National Grid) and its Census 2021
population is summed. The ``population_estimate`` column says so for every ward row.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.crs import BNG, WGS84

BOUNDARY_DIR = Path(__file__).resolve().parent.parent / "data" / "boundaries"
LEVELS = ("district", "ward", "lsoa")
DISTRICT_CODES = {
    "E08000032": "Bradford",
    "E08000033": "Calderdale",
    "E08000034": "Kirklees",
    "E08000035": "Leeds",
    "E08000036": "Wakefield",
}
COLUMNS = [
    "code", "name", "district_code", "district_name", "population", "population_estimate",
    "area_km2", "geometry",
]


def load_boundaries(level: str) -> gpd.GeoDataFrame:
    """Return the areas of one level as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    level : {"district", "ward", "lsoa"}

    Returns
    -------
    GeoDataFrame
        One row per area: ``code`` (official ONS code), ``name``, ``district_code``,
        ``district_name``, ``population`` (Census 2021 usual residents),
        ``population_estimate`` (True where the population is a best-fit estimate: wards),
        ``area_km2`` and ``geometry``. LSOA rows also carry ``ward_code``, their best-fit ward.
        The frame is cached: callers must not modify it (take a ``.copy()``).
    """
    if level not in LEVELS:
        raise ValueError(f"level was {level!r}; expected one of {LEVELS}")
    return _loaded(level)


@lru_cache(maxsize=len(LEVELS))
def _loaded(level: str) -> gpd.GeoDataFrame:
    from geo.prepared import EXTRA_COLUMNS, read_prepared

    prepared = read_prepared(level)
    if prepared is None:
        return derive_boundaries(level)
    return prepared.drop(columns=list(EXTRA_COLUMNS))


def derive_boundaries(level: str) -> gpd.GeoDataFrame:
    """``load_boundaries(level)`` derived from the source files, never from the prepared copy
    (``geo.prepared`` stores it). Cached like it."""
    if level not in LEVELS:
        raise ValueError(f"level was {level!r}; expected one of {LEVELS}")
    return _LOADERS[level]()


@lru_cache(maxsize=1)
def _lsoa_population() -> pd.DataFrame:
    return pd.read_csv(BOUNDARY_DIR / "lsoa_population_2021.csv", dtype={"population": "int64"})


@lru_cache(maxsize=1)
def _raw(name: str) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(BOUNDARY_DIR / f"{name}.geojson")
    return gdf.set_crs(WGS84, allow_override=True)


def _with_area(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    gdf["area_km2"] = gdf.geometry.to_crs(BNG).area / 1e6
    return gdf


@lru_cache(maxsize=1)
def lsoa_ward_lookup() -> pd.DataFrame:
    """Best-fit LSOA (2021) → ward: the ward each LSOA overlaps most, by area in BNG.

    Used both to estimate ward populations and to give LSOA-only records a ward, so the two agree.
    """
    lsoas = _raw("lsoa")[["lsoa_code", "lad_code", "geometry"]].to_crs(BNG)
    wards = _raw("wards")[["ward_code", "lad_code", "geometry"]].to_crs(BNG)
    pieces = gpd.overlay(lsoas, wards, how="intersection", keep_geom_type=True)
    # A ward in another district can only touch an LSOA along the generalised edge: ignore it.
    pieces = pieces[pieces["lad_code_1"] == pieces["lad_code_2"]]
    pieces["overlap"] = pieces.area
    best = pieces.sort_values("overlap").drop_duplicates("lsoa_code", keep="last")
    lookup = best[["lsoa_code", "ward_code"]]
    missing = set(lsoas["lsoa_code"]) - set(lookup["lsoa_code"])
    if missing:  # no same-district overlap: take the nearest ward of the same district
        rest = lsoas[lsoas["lsoa_code"].isin(missing)]
        near = gpd.sjoin_nearest(rest, wards, how="left")
        near = near[near["lad_code_left"] == near["lad_code_right"]]
        lookup = pd.concat([lookup, near[["lsoa_code", "ward_code"]].drop_duplicates("lsoa_code")])
    return lookup.reset_index(drop=True)


@lru_cache(maxsize=1)
def _lsoas() -> gpd.GeoDataFrame:
    gdf = _raw("lsoa").merge(_lsoa_population()[["lsoa_code", "population"]], on="lsoa_code",
                             how="left", validate="1:1")
    gdf = gdf.merge(lsoa_ward_lookup(), on="lsoa_code", how="left", validate="1:1")
    gdf = gdf.rename(columns={"lsoa_code": "code", "lsoa_name": "name", "lad_code": "district_code",
                              "lad_name": "district_name"})
    gdf["population_estimate"] = False
    return _with_area(gdf)[COLUMNS[:-1] + ["ward_code", "geometry"]]


@lru_cache(maxsize=1)
def _wards() -> gpd.GeoDataFrame:
    pop = (_lsoas().groupby("ward_code", as_index=False)["population"].sum())
    gdf = _raw("wards").merge(pop, on="ward_code", how="left", validate="1:1")
    gdf["population"] = gdf["population"].fillna(0).astype("int64")
    gdf = gdf.rename(columns={"ward_code": "code", "ward_name": "name", "lad_code": "district_code",
                              "lad_name": "district_name"})
    gdf["population_estimate"] = True
    return _with_area(gdf)[COLUMNS]


@lru_cache(maxsize=1)
def _districts() -> gpd.GeoDataFrame:
    pop = pd.read_csv(BOUNDARY_DIR / "district_population_2021.csv")[["lad_code", "population"]]
    gdf = _raw("districts").merge(pop, on="lad_code", how="left", validate="1:1")
    gdf = gdf.rename(columns={"lad_code": "code", "lad_name": "name"})
    gdf["district_code"] = gdf["code"]
    gdf["district_name"] = gdf["name"]
    gdf["population_estimate"] = False
    return _with_area(gdf)[COLUMNS]


@lru_cache(maxsize=1)
def lsoa_2011_to_2021() -> dict[str, str]:
    """Map each 2011 LSOA code to the 2021 LSOA it overlaps most (older extracts use 2011 codes)."""
    old = _raw("lsoa_2011")[["lsoa_code", "geometry"]].to_crs(BNG)
    new = _raw("lsoa")[["lsoa_code", "geometry"]].to_crs(BNG)
    pieces = gpd.overlay(old.rename(columns={"lsoa_code": "old"}),
                         new.rename(columns={"lsoa_code": "new"}), how="intersection",
                         keep_geom_type=True)
    pieces["overlap"] = pieces.area
    best = pieces.sort_values("overlap").drop_duplicates("old", keep="last")
    return dict(zip(best["old"], best["new"]))


@lru_cache(maxsize=1)
def west_yorkshire_bng():
    """The outline of West Yorkshire (union of the districts) in BNG, for inside/outside tests."""
    return load_boundaries("district").to_crs(BNG).union_all()


_LOADERS = {"district": _districts, "ward": _wards, "lsoa": _lsoas}
