"""Resolve each row's location to geomasked coordinates and area codes, or say why not.

A row gives longitude/latitude (WGS84), easting/northing (BNG) or only an LSOA code. Raw
coordinates live only in memory here: they are used to find the LSOA and are then replaced by
the geomasked cell centre, which is all that leaves this module.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import Problem
from data.lsoa_grid import MIN_POINTS, NO_LSOA, built_grid, loaded_once, lsoa_grid
from data.parse import clean_text
from data.readers import ROW_COLUMN
from geo.areas import lsoa_of_points, normalise_lsoa_codes
from geo.boundaries import load_boundaries
from geo.geomask import bng_to_lonlat, lonlat_to_bng, snap_to_grid

LOCATION_OUTPUT = ["lsoa_code", "ward_code", "district_code", "has_point", "easting", "northing",
                   "longitude", "latitude", "geomask_m"]
# Rough boxes around West Yorkshire, only for hints about columns that were mixed up.
_LON, _LAT = (-2.3, -1.1), (53.4, 54.1)
_EAST, _NORTH = (380_000, 480_000), (395_000, 470_000)
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"


def resolve_locations(frame: pd.DataFrame, cell_m: int) -> tuple[pd.DataFrame, list[Problem]]:
    """Return the stored location columns for every row of ``frame`` and the problems found."""
    rows = frame[ROW_COLUMN].to_numpy()
    problems: list[Problem] = []
    numbers, unreadable = {}, np.zeros(len(frame), dtype=bool)
    for column in ("longitude", "latitude", "easting", "northing"):
        numbers[column], bad = _number(frame, column, rows, problems)
        unreadable |= bad
    lsoa_text = clean_text(frame["lsoa_code"]) if "lsoa_code" in frame else \
        pd.Series("", index=frame.index, dtype="string")
    lon, lat, east, north = (numbers[c] for c in ("longitude", "latitude", "easting", "northing"))
    has_ll = _pair(lon, lat, ("longitude", "latitude"), rows, problems, unreadable)
    misplaced = _hint_lonlat(lon, lat, has_ll, rows, problems)
    has_ll &= ~misplaced
    has_en = _pair(east, north, ("easting", "northing"), rows, problems, unreadable) & ~has_ll \
        & ~misplaced
    degrees = _hint_bng(east, north, has_en, rows, problems)
    has_en &= ~degrees
    misplaced |= degrees
    e = np.full(len(frame), np.nan)
    n = np.full(len(frame), np.nan)
    if has_ll.any():
        e[has_ll], n[has_ll] = lonlat_to_bng(lon[has_ll], lat[has_ll])
    if has_en.any():
        e[has_en], n[has_en] = east[has_en], north[has_en]
    has_point = has_ll | has_en
    codes, wards, districts = _lsoa_table()
    lsoa_at = np.full(len(frame), NO_LSOA, dtype=np.int64)  # position in the LSOA table
    if has_point.any():
        lsoa_at[has_point] = _lsoas_of_points(e[has_point], n[has_point], rows[has_point],
                                              problems)
    only_lsoa = ~has_point & (lsoa_text != "").to_numpy()
    if only_lsoa.any():
        mapped, known = normalise_lsoa_codes(lsoa_text[only_lsoa])
        lsoa_at[only_lsoa] = _positions(mapped)
        for row, value in zip(rows[only_lsoa][~known.to_numpy()], lsoa_text[only_lsoa][~known]):
            problems.append(Problem(int(row), "lsoa_code", str(value),
                                    "is not a West Yorkshire LSOA code (2021 or 2011)"))
    nothing = ~has_point & ~only_lsoa & ~misplaced & ~unreadable & ~_partial(lon, lat, east, north)
    for row in rows[nothing]:
        problems.append(Problem(int(row), "location", None,
                                "no location: give longitude and latitude, easting and northing, "
                                "or lsoa_code"))
    out = pd.DataFrame(index=frame.index)
    # Position NO_LSOA (-1) takes the last entry of each table: missing.
    at = pa.array(np.where(lsoa_at < 0, len(codes) - 1, lsoa_at))
    for column, table in (("lsoa_code", codes), ("ward_code", wards),
                          ("district_code", districts)):
        out[column] = pd.arrays.ArrowStringArray(table.take(at))
    masked_e, masked_n, m_lon, m_lat = _masked(e, n, has_point, cell_m)
    out["has_point"] = has_point
    out["easting"] = pd.arrays.IntegerArray(masked_e, ~has_point)
    out["northing"] = pd.arrays.IntegerArray(masked_n, ~has_point)
    out["longitude"] = m_lon
    out["latitude"] = m_lat
    out["geomask_m"] = np.int16(cell_m)
    return out, problems


def _lsoas_of_points(easting, northing, rows, problems) -> np.ndarray:
    """The position in :func:`_lsoa_table` of each point's LSOA (``NO_LSOA`` for none),
    reporting points outside West Yorkshire. Points well inside one LSOA are answered by the
    grid-cell table (``data.lsoa_grid``: made for large batches only, then also used for
    batches of a tenth of their size, a large file's last chunk), points near an edge by
    their cell's candidate LSOAs (the same table); the rest by ``geo.areas.lsoa_of_points``,
    which also measures how far outside a point is."""
    grid = lsoa_grid() if len(easting) >= MIN_POINTS else \
        built_grid() if len(easting) >= MIN_POINTS // 10 else None
    found = grid.lookup(easting, northing) if grid is not None else \
        np.full(len(easting), NO_LSOA, dtype=np.int64)
    ask = found == NO_LSOA
    if ask.any():
        # Each distinct point is asked once: records repeat places (one address, one care home:
        # Rosewood's 330k synthetic episodes come from 45 points), and a point's answer does
        # not depend on the others asked with it.
        points, inverse = distinct_points(easting[ask], northing[ask])
        x, y = points.real, points.imag
        # Near an edge: the first of the cell's candidate LSOAs that contains the point (the
        # exact query's answer); the rest (outside every LSOA, or no table) the exact way.
        answer = grid.on_edges(x, y) if grid is not None else \
            np.full(len(points), NO_LSOA, dtype=np.int64)
        exact = np.flatnonzero(answer == NO_LSOA)
        outside, distance = np.zeros(len(points), dtype=bool), np.zeros(len(points))
        if len(exact):
            codes, distance[exact] = lsoa_of_points(x[exact], y[exact])
            answer[exact] = _positions(codes)
            outside[exact] = codes.isna().to_numpy()
        found[ask] = answer[inverse]
        outside = outside[inverse]
        for row, km in zip(rows[ask][outside], distance[inverse][outside] / 1000):
            problems.append(Problem(int(row), "location", None,
                                    f"is outside West Yorkshire ({km:,.1f} km beyond its boundary)"))
    return found


def distinct_points(easting, northing) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``(easting, northing)`` pairs, as complex numbers (easting the real part,
    each coordinate exactly as given), and for each point the position of its pair among them."""
    pairs = np.empty(len(easting), dtype=np.complex128)
    pairs.real, pairs.imag = easting, northing
    points, inverse = np.unique(pairs, return_inverse=True)
    return points, inverse.ravel()


@lru_cache(maxsize=1)
def _lsoa_table() -> tuple[pa.Array, pa.Array, pa.Array]:
    """The 2021 LSOA codes, their best-fit ward and their district, in the order of
    ``load_boundaries("lsoa")`` (the order ``data.lsoa_grid`` counts in), each with a missing
    value appended so that position ``NO_LSOA`` (-1) reads as missing."""
    lsoas = loaded_once(lambda: load_boundaries("lsoa"))  # not twice if the grid is building
    table = lsoas[["code", "ward_code", "district_code"]].astype("string")
    return tuple(pa.array(np.append(table[c].to_numpy(dtype=object, na_value=None), None),
                          type=pa.string())
                 for c in ("code", "ward_code", "district_code"))


def _positions(codes: pd.Series) -> np.ndarray:
    """The position of each 2021 LSOA code in :func:`_lsoa_table` (``NO_LSOA`` if missing or
    unknown)."""
    return _code_index().get_indexer(
        codes.astype(object).where(codes.notna(), None)).astype(np.int64)


@lru_cache(maxsize=1)
def _code_index() -> pd.Index:
    return pd.Index(_lsoa_table()[0][:-1].to_numpy(zero_copy_only=False))


def _masked(e, n, has_point, cell_m):
    """The geomasked cell centre of each point, in BNG (``int32``, 0 where there is no point)
    and WGS84 (rounded to 6 decimals, NaN where there is no point). Many points share a cell:
    each distinct cell centre is projected once (the same numbers as projecting every row)."""
    masked_e, masked_n = snap_to_grid(np.nan_to_num(e), np.nan_to_num(n), cell_m)
    masked_e = np.where(has_point, masked_e, 0).astype(np.int32)
    masked_n = np.where(has_point, masked_n, 0).astype(np.int32)
    lon = np.full(len(e), np.nan)
    lat = np.full(len(e), np.nan)
    if has_point.any():
        cells = (masked_e[has_point].astype(np.int64) << 32) | \
            masked_n[has_point].astype(np.int64) & 0xFFFFFFFF
        distinct, inverse = np.unique(cells, return_inverse=True)
        d_lon, d_lat = bng_to_lonlat((distinct >> 32).astype(np.int32),
                                     (distinct & 0xFFFFFFFF).astype(np.uint32).astype(np.int32))
        lon[has_point] = np.round(d_lon, 6)[inverse]
        lat[has_point] = np.round(d_lat, 6)[inverse]
    return masked_e, masked_n, lon, lat


def _number(frame, column, rows, problems) -> tuple[np.ndarray, np.ndarray]:
    """The column as floats, and a mask of the cells that are not numbers (reported).

    The cell's text is not quoted in the problem: it is a raw location, and problems end up in
    messages and quarantine files.
    """
    if column not in frame:
        return np.full(len(frame), np.nan), np.zeros(len(frame), dtype=bool)
    raw = frame[column]
    if raw.dtype == "string" and not raw.hasnans:
        # Every cell empty or a plain decimal as it stands: nothing to strip (``clean_text``
        # would return the same cells), and every non-empty cell is a number.
        values = _plain_decimals(raw)
        if values is not None:
            return values, np.zeros(len(frame), dtype=bool)
    text = clean_text(raw)
    values = _plain_decimals(text)
    if values is None:
        values = pd.to_numeric(text.replace("", pd.NA), errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
    bad = (text != "").to_numpy() & np.isnan(values)
    for row in rows[bad]:
        problems.append(Problem(int(row), column, None, "is not a number (give decimal degrees or "
                                "metres, without N/S/E/W, degree signs or spaces)"))
    return values, bad


def _plain_decimals(text: pd.Series) -> np.ndarray | None:
    """The column as floats in one Arrow cast, when every cell is empty or a plain decimal
    (``-1.549``, ``430512``); ``None`` otherwise, for ``pd.to_numeric`` to judge each cell. On
    plain decimals both give the same, correctly rounded, doubles."""
    cells = pa.array(text.array, type=pa.string())  # Arrow-backed text: no copy
    empty = pc.equal(cells, "")
    if not pc.all(pc.or_(empty, pc.match_substring_regex(cells, _PLAIN_DECIMAL))).as_py():
        return None
    return pc.cast(pc.if_else(empty, None, cells), pa.float64()).to_numpy(zero_copy_only=False)


def _pair(a, b, names, rows, problems, unreadable) -> np.ndarray:
    """Mask of rows with both values; reports rows with one (unless the other was unreadable)."""
    has_a, has_b = ~np.isnan(a), ~np.isnan(b)
    for row in rows[(has_a ^ has_b) & ~unreadable]:
        problems.append(Problem(int(row), "/".join(names), None,
                                f"give both {names[0]} and {names[1]}, or neither"))
    return has_a & has_b


def _partial(lon, lat, east, north) -> np.ndarray:
    return (~np.isnan(lon) ^ ~np.isnan(lat)) | (~np.isnan(east) ^ ~np.isnan(north))


def _between(values, bounds) -> np.ndarray:
    return (values >= bounds[0]) & (values <= bounds[1])


def _hint_lonlat(lon, lat, given, rows, problems) -> np.ndarray:
    """Report lon/lat pairs that are really swapped, grid metres or impossible; return their mask."""
    swapped = given & _between(lon, _LAT) & _between(lat, _LON)
    grid = given & _between(lon, _EAST) & _between(lat, _NORTH)
    impossible = given & ~swapped & ~grid & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    for mask, reason in (
        (swapped, ("longitude and latitude look swapped (longitude ~53.8 is a latitude in West "
                  "Yorkshire)")),
        (grid, ("these look like British National Grid metres: put them in the easting and "
               "northing columns")),
        (impossible, "are not valid WGS84 degrees"),
    ):
        problems.extend(Problem(int(r), "longitude/latitude", None, reason) for r in rows[mask])
    return swapped | grid | impossible


def _hint_bng(east, north, given, rows, problems) -> np.ndarray:
    """Report easting/northing pairs that are really degrees; return their mask."""
    degrees = given & (np.abs(east) <= 180) & (np.abs(north) <= 90)
    problems.extend(Problem(int(r), "easting/northing", None,
                            "these look like longitude/latitude degrees, not metres: put them in "
                            "the longitude and latitude columns") for r in rows[degrees])
    return degrees
