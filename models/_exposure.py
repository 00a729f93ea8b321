"""Expected counts from an exposure layer: bed-nights of open sites per analysis cell.

A feed measured against an exposure layer (``core.denominators``) expects its events where the
exposure is, not where residents live. Each month's events are shared among the sites open that
month by ``bed_capacity x days open``; a geomasked point puts it in the one cell holding the point, a site known only by its
LSOA or ward spreads it over that area's land cells in proportion to their overlap with it
(as ``models._grid`` spreads residents). Its share of the whole is then mixed with a small share
of residents (``RESIDENT_SHARE``), so an event away from every listed site (a site missing from
the partner's list, an episode recorded where the person was found) is unlikely but not
impossible: without it, one such event would be an infinite excess.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from geo.boundaries import load_boundaries
from geo.crs import BNG
from models._grid import Grid

#: Share of a feed's expected events spread by residents on top of its exposure layer.
RESIDENT_SHARE = 0.02
SITE_COLUMNS = ("bed_capacity", "opened_on", "closed_on", "easting", "northing", "lsoa_code",
                "ward_code")
AREA_LEVELS = (("lsoa_code", "lsoa"), ("ward_code", "ward"))


def exposure_surface(grid: Grid, sites: pd.DataFrame, dates) -> np.ndarray:
    """Where the events dated ``dates`` are expected, by the sites' bed-nights, per cell of
    ``grid`` (shape ``grid.shape``, summing to the events a site could take).

    Month by month: each month's events are shared among the sites by their bed-nights in
    that month (bed capacity x days open), so a site open only in a busy year expects its
    share of that year, not of the whole window. A month with no open site adds nothing.
    Sites whose point is off the grid's land, or whose area code is unknown, add nothing.
    """
    missing = [c for c in SITE_COLUMNS if c not in sites.columns]
    if missing:
        raise ValueError(f"exposure sites lack column(s) {missing}; expected {SITE_COLUMNS}")
    months = pd.Series(pd.PeriodIndex(pd.to_datetime(np.asarray(dates)), freq="M")).value_counts()
    weight = np.zeros(len(sites))
    for n, nights in zip(months.to_numpy(), _month_nights(sites, months.index)):
        if nights.sum() > 0:
            weight += n * nights / nights.sum()
    return _spread(grid, sites, weight)


def _month_nights(sites: pd.DataFrame, months: pd.PeriodIndex) -> np.ndarray:
    """``storage.exposure.bed_nights`` of every site in each of ``months`` (rows), in one
    pass: the same days x capacity, without converting the sites' dates once per month (120
    months of a 5-year fit took 0.2-0.4 s)."""
    if not len(months):
        return np.zeros((0, len(sites)))
    first = months.start_time.to_numpy().astype("datetime64[D]")[:, None]
    stop = (months.end_time.to_numpy().astype("datetime64[D]") + np.timedelta64(1, "D"))[:, None]
    opened = pd.to_datetime(sites["opened_on"]).to_numpy().astype("datetime64[D]")[None, :]
    closed = pd.to_datetime(sites["closed_on"]).to_numpy().astype("datetime64[D]")[None, :]
    closed = np.where(np.isnat(closed), stop, closed)
    days = (np.minimum(closed, stop) - np.maximum(opened, first)).astype(np.int64)
    return np.clip(days, 0, None) * pd.to_numeric(sites["bed_capacity"]).to_numpy(float)[None, :]


def _spread(grid: Grid, sites: pd.DataFrame, weight: np.ndarray) -> np.ndarray:
    """Each site's ``weight`` in the cell of its geomasked point, or over its area's cells."""
    surface = np.zeros(grid.nx * grid.ny)
    east = pd.to_numeric(sites["easting"], errors="coerce").to_numpy(float)
    north = pd.to_numeric(sites["northing"], errors="coerce").to_numpy(float)
    point = ~np.isnan(east) & ~np.isnan(north)
    if point.any():
        cell = grid.cell_index(east[point], north[point])
        np.add.at(surface, cell[cell >= 0], weight[point][cell >= 0])
    todo = ~point
    for column, level in AREA_LEVELS:
        codes = sites[column].astype("string").fillna("").to_numpy(dtype=object)
        here = todo & (codes != "")
        for code, w in zip(codes[here], weight[here]):
            cells, share = _area_cells(grid.cell_m, grid.x0, grid.y0, grid.nx, grid.ny,
                                       level, code)
            land = grid.land.ravel()[cells]
            if land.any():
                surface[cells[land]] += w * share[land] / share[land].sum()
        todo &= ~here
    return surface.reshape(grid.shape)


def expected_weights(grid: Grid, surface: np.ndarray | None) -> np.ndarray:
    """A feed's expected share per cell: ``surface``'s share mixed with ``RESIDENT_SHARE`` of
    residents' share (residents alone when ``surface`` is ``None`` or empty). Sums to 1."""
    residents = grid.population / grid.population.sum()
    if surface is None or surface.sum() <= 0:
        return residents
    return (1 - RESIDENT_SHARE) * surface / surface.sum() + RESIDENT_SHARE * residents


@lru_cache(maxsize=512)
def _area_cells(cell_m, x0, y0, nx, ny, level, code) -> tuple[np.ndarray, np.ndarray]:
    """Flat cell indices overlapping area ``code`` of ``level`` and the overlap areas (m²)."""
    areas = load_boundaries(level)
    match = areas[areas["code"] == code]
    if match.empty:
        return np.zeros(0, np.int64), np.zeros(0)
    polygon = match.to_crs(BNG).geometry.iloc[0]
    xmin, ymin, xmax, ymax = polygon.bounds
    c0, c1 = int(max((xmin - x0) // cell_m, 0)), int(min((xmax - x0) // cell_m, nx - 1))
    r0, r1 = int(max((ymin - y0) // cell_m, 0)), int(min((ymax - y0) // cell_m, ny - 1))
    col, row = np.meshgrid(np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
    left, bottom = x0 + col.ravel() * cell_m, y0 + row.ravel() * cell_m
    overlap = shapely.area(shapely.intersection(
        shapely.box(left, bottom, left + cell_m, bottom + cell_m), polygon))
    keep = overlap > 0
    return (row.ravel() * nx + col.ravel())[keep].astype(np.int64), overlap[keep]
