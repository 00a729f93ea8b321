"""The analysis grid shared by every hotspot method: BNG cells over West Yorkshire.

Cells are squares of ``cell_m`` metres aligned to the BNG origin, so with ``cell_m`` a multiple
of the geomask cell (100 m) every stored, geomasked point falls in exactly one cell. Each LSOA's
resident population is spread over the cells it overlaps in proportion to the overlap area (people
spread evenly within an LSOA): the expected count of a set of cells is ``overall rate x the
population of the LSOA parts it covers``. Land cells are the cells that touch an LSOA.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.boundaries import load_boundaries, west_yorkshire_bng
from geo.crs import BNG, WGS84
from models import grid_store

SUB_CELL_M = 100  # the geomask cell: analysis cells are whole multiples of it
_CACHE: dict[tuple, Grid] = {}
_CACHE_SIZE = 8


@dataclass(frozen=True, eq=False)
class Grid:
    """A regular BNG grid: ``ny`` rows by ``nx`` columns from ``(x0, y0)``; flat index row-major."""

    cell_m: int
    x0: float
    y0: float
    nx: int
    ny: int
    population: np.ndarray  # (ny, nx) residents allocated to each cell
    area_km2: float  # West Yorkshire's land area: the denominator of every area share

    @property
    def shape(self) -> tuple[int, int]:
        return self.ny, self.nx

    @property
    def land(self) -> np.ndarray:
        return self.population > 0

    @property
    def cell_km2(self) -> float:
        return (self.cell_m / 1000) ** 2

    def cell_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat index of the cell holding each point; -1 outside the grid or off land."""
        col = np.floor((np.asarray(x, float) - self.x0) / self.cell_m)
        row = np.floor((np.asarray(y, float) - self.y0) / self.cell_m)
        inside = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        index = np.where(inside, row * self.nx + col, -1).astype(np.int64)
        index[inside] = np.where(self.land.ravel()[index[inside]], index[inside], -1)
        return index

    def centres(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row, col = np.divmod(np.asarray(index), self.nx)
        return self.x0 + (col + 0.5) * self.cell_m, self.y0 + (row + 0.5) * self.cell_m

    def counts(self, index: np.ndarray, weights=None) -> np.ndarray:
        """Events per cell, shape ``(ny, nx)``, from flat indices (-1 ignored)."""
        keep = index >= 0
        w = None if weights is None else np.asarray(weights, float)[keep]
        return np.bincount(index[keep], weights=w, minlength=self.nx * self.ny).reshape(
            self.shape).astype(float)

    def polygon(self, index: np.ndarray, crs: str = WGS84):
        """The union of cells ``index`` as one (multi)polygon in ``crs``."""
        x, y = self.centres(index)
        half = self.cell_m / 2
        shape = shapely.union_all(shapely.box(x - half, y - half, x + half, y + half))
        if crs == BNG:
            return shape
        return gpd.GeoSeries([shape], crs=BNG).to_crs(crs).iloc[0]

    def areas_touched(self, shapes_bng, level: str) -> list[list[str]]:
        """Names of the wards or districts each BNG shape overlaps (by more than an edge)."""
        names, geoms, tree = _areas_bng(level)
        shapes = np.asarray(shapes_bng, dtype=object)
        shape_i, area_i = tree.query(shapes, predicate="intersects")
        real = shapely.area(shapely.intersection(shapes[shape_i], geoms[area_i])) > 1.0
        out = [set() for _ in range(len(shapes))]
        for s, a in zip(shape_i[real], area_i[real]):
            out[s].add(names[a])
        return [sorted(found) for found in out]


@lru_cache(maxsize=4)
def _areas_bng(level: str) -> tuple[list[str], np.ndarray, shapely.STRtree]:
    """The names and BNG outlines of ``level``'s areas, and their tree (once per process):
    read from the grid store when current (no boundary file read, no reprojection), else
    reprojected from ``load_boundaries`` and stored."""
    stored = grid_store.read_areas(level)
    if stored is not None:
        names, geoms = stored
    else:
        areas = load_boundaries(level)[["name", "geometry"]].to_crs(BNG)
        names, geoms = [str(name) for name in areas["name"]], areas.geometry.to_numpy()
        grid_store.write_areas(level, names, list(shapely.to_wkb(geoms)))
    return names, geoms, shapely.STRtree(geoms)


def analysis_grid(cell_m: int, population=None) -> Grid:
    """The grid of ``cell_m`` metres with ``population`` allocated (kept per input in the
    process; the shipped populations' grid also on disk, ``models.grid_store``).

    Parameters
    ----------
    cell_m : int
        Cell size in metres; a multiple of 100 keeps geomasked points inside one cell.
    population : GeoDataFrame, Series or None
        LSOA populations: a GeoDataFrame with ``population`` and polygons, or a Series of
        populations indexed by 2021 LSOA code (polygons from the shipped boundaries). ``None``
        uses the shipped Census 2021 populations.
    """
    return _kept("overlap", int(cell_m), population, _build)


def _kept(kind: str, cell_m: int, population, build) -> Grid:
    """The ``kind`` grid, kept per process; the shipped populations' grid also on disk
    (``models.grid_store``: read instead of built when current, written once built)."""
    _check_cell(cell_m)
    if population is None:
        key = (kind, cell_m, "default")
        if key not in _CACHE:
            _keep(key, _shipped(kind, cell_m, build))
    else:
        areas = _population_areas(population)
        key = (kind, cell_m, _fingerprint(areas))
        if key not in _CACHE:
            _keep(key, build(cell_m, areas))
    return _CACHE[key]


def prime_default_grids(analysis_cell_m: int = 300) -> None:
    """Build (or read) and store the grids the default model fits on: the ``analysis_cell_m``
    overlap grid, the 100 m centre grid and the ward and district outlines hotspots are named
    by. ``make store`` runs it (``python -m models.prime_grids``) so a process's first fit reads
    them instead of building them (~1.3 s of CPU, docs/hotspot-evaluation.md)."""
    analysis_grid(analysis_cell_m)
    centre_grid()
    for level in ("ward", "district"):
        _areas_bng(level)


def _keep(key: tuple, grid: Grid) -> None:
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = grid


def _shipped(kind: str, cell_m: int, build) -> Grid:
    """The shipped populations' grid: read from the grid store, or built and stored."""
    fields = grid_store.read_grid(kind, cell_m)
    if fields is not None:
        return Grid(**fields)
    grid = build(cell_m, _default_areas())
    grid_store.write_grid(kind, cell_m, {name: getattr(grid, name)
                                         for name in (*grid_store.SCALARS, "population")})
    return grid


def population_key(population) -> object:
    """What the grids are kept by for ``population`` (``None``: the shipped populations)."""
    return "default" if population is None else _fingerprint(_population_areas(population))


def population_polygons(population) -> np.ndarray:
    """The BNG polygons ``population`` spreads people over (``None``: the shipped LSOAs)."""
    return _population_areas(population).geometry.to_numpy()


def _check_cell(cell_m: int) -> None:
    if cell_m <= 0 or cell_m % SUB_CELL_M:
        raise ValueError(f"cell_size_m was {cell_m!r}; expected a positive multiple of "
                         f"{SUB_CELL_M} m (the geomask cell)")


def _population_areas(population) -> gpd.GeoDataFrame:
    if population is None:
        return _default_areas()
    lsoas = load_boundaries("lsoa")
    if isinstance(population, gpd.GeoDataFrame):
        if "population" not in population.columns or population.crs is None:
            raise ValueError("population must have a 'population' column and a CRS")
        areas = population[["population", "geometry"]]
    elif isinstance(population, pd.Series):
        joined = lsoas[["code", "geometry"]].merge(population.rename("population"),
                                                   left_on="code", right_index=True, how="inner")
        if joined.empty:
            raise ValueError("population is a Series but none of its index values is a 2021 "
                             "LSOA code of West Yorkshire")
        areas = joined[["population", "geometry"]]
    else:
        raise TypeError(f"population was a {type(population).__name__}; expected None, a "
                        "GeoDataFrame with a 'population' column, or a Series by LSOA code")
    values = pd.to_numeric(areas["population"], errors="coerce")
    if values.isna().any() or (values < 0).any():
        raise ValueError("population has missing or negative values")
    return gpd.GeoDataFrame({"population": values.to_numpy(float)},
                            geometry=areas.geometry.to_crs(BNG).to_numpy(), crs=BNG)


@lru_cache(maxsize=1)
def _default_areas() -> gpd.GeoDataFrame:
    """The shipped Census 2021 LSOA populations in BNG (built once per process)."""
    lsoas = load_boundaries("lsoa")
    return gpd.GeoDataFrame({"population": lsoas["population"].to_numpy(float)},
                            geometry=lsoas.geometry.to_crs(BNG).to_numpy(), crs=BNG)


def _fingerprint(areas: gpd.GeoDataFrame) -> int:
    return hash((len(areas), float(areas["population"].sum()),
                 tuple(np.round(areas.total_bounds, 1)),
                 int(pd.util.hash_pandas_object(areas["population"], index=False).sum())))


@lru_cache(maxsize=1)
def _land_km2() -> float:
    return float(west_yorkshire_bng().area / 1e6)


def _build(cell_m: int, areas: gpd.GeoDataFrame) -> Grid:
    _check_cell(cell_m)
    xmin, ymin, xmax, ymax = areas.total_bounds
    x0, y0 = np.floor(xmin / cell_m) * cell_m, np.floor(ymin / cell_m) * cell_m
    nx, ny = int(np.ceil((xmax - x0) / cell_m)), int(np.ceil((ymax - y0) / cell_m))
    # Each LSOA's population goes to the cells it overlaps, in proportion to the overlap area.
    col, row = np.meshgrid(np.arange(nx), np.arange(ny))
    left, bottom = x0 + col.ravel() * cell_m, y0 + row.ravel() * cell_m
    boxes = shapely.box(left, bottom, left + cell_m, bottom + cell_m)
    polygons = areas.geometry.to_numpy()
    cell_i, area_i = shapely.STRtree(polygons).query(boxes, predicate="intersects")
    overlap = _overlap_areas(boxes[cell_i], polygons[area_i], float(cell_m) ** 2)
    share = overlap / shapely.area(polygons)[area_i]
    weights = share * areas["population"].to_numpy(float)[area_i]
    cells = np.bincount(cell_i, weights=weights, minlength=nx * ny).reshape(ny, nx)
    # A sliver of a populated LSOA still makes its cell land (events there are in the county).
    touched = np.bincount(cell_i, weights=(overlap > 0) * 1.0, minlength=nx * ny) > 0
    cells = np.where(touched.reshape(ny, nx) & (cells <= 0), 1e-9, cells)
    return Grid(cell_m, float(x0), float(y0), nx, ny, cells, _land_km2())


def centre_grid(cell_m: int = SUB_CELL_M, population=None) -> Grid:
    """A fine grid (default the 100 m geomask cell) built by cell centres (kept as
    ``analysis_grid``'s are).

    ``analysis_grid`` splits each LSOA's people by exact overlap areas, which takes ~7 s at
    100 m for West Yorkshire; here a cell is land when its centre lies in an LSOA and it holds
    an equal share of that LSOA's people (an LSOA holding no centre puts its people in the cell
    of a point inside it). Stored points are 100 m cell centres, so a geomasked event is in
    the cell whose centre it is. Used for the forecast ranking (``models.forecast``).
    """
    return _kept("centre", int(cell_m), population, _build_by_centres)


def _build_by_centres(cell_m: int, areas: gpd.GeoDataFrame) -> Grid:
    _check_cell(cell_m)
    xmin, ymin, xmax, ymax = areas.total_bounds
    x0, y0 = np.floor(xmin / cell_m) * cell_m, np.floor(ymin / cell_m) * cell_m
    nx, ny = int(np.ceil((xmax - x0) / cell_m)), int(np.ceil((ymax - y0) / cell_m))
    polygons = areas.geometry.to_numpy()
    owner = centre_owners(polygons, cell_m, x0, y0, nx, ny)
    cell_i = np.flatnonzero(owner >= 0)
    area_i = owner[cell_i].astype(np.int64)
    people = areas["population"].to_numpy(float)
    n_cells = np.bincount(area_i, minlength=len(people))
    cells = np.bincount(cell_i, weights=people[area_i] / n_cells[area_i], minlength=nx * ny)
    empty = np.flatnonzero(n_cells == 0)  # LSOAs smaller than a cell
    if len(empty):
        inner = shapely.point_on_surface(polygons[empty])
        c = np.clip(((shapely.get_x(inner) - x0) // cell_m).astype(int), 0, nx - 1)
        r = np.clip(((shapely.get_y(inner) - y0) // cell_m).astype(int), 0, ny - 1)
        np.add.at(cells, r * nx + c, np.maximum(people[empty], 1e-9))
    cells = cells.reshape(ny, nx)
    land = np.zeros(nx * ny, bool)
    land[cell_i] = True
    cells = np.where(land.reshape(ny, nx) & (cells <= 0), 1e-9, cells)
    return Grid(cell_m, float(x0), float(y0), nx, ny, cells, _land_km2())


def centre_owners(polygons: np.ndarray, cell_m: int, x0: float, y0: float, nx: int,
                  ny: int) -> np.ndarray:
    """The polygon each cell's centre lies strictly inside, -1 for none: (ny * nx,) int32,
    row-major. A centre inside two overlapping (generalised) outlines goes to the one listed
    first, as ``geo.areas.containing_lsoa`` decides. Used for the centre grid's people and the
    scan's areal windows (``models.scan_areas``), so both put a cell in the same LSOA."""
    cell_i, area_i = _centres_within(polygons, cell_m, x0, y0, nx, ny)
    first = np.full(nx * ny, len(polygons), dtype=np.int64)
    np.minimum.at(first, cell_i, area_i)
    return np.where(first < len(polygons), first, -1).astype(np.int32)


def _centres_within(polygons: np.ndarray, cell_m: int, x0: float, y0: float, nx: int,
                    ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (cell, polygon) pair whose cell centre is strictly inside the polygon.

    Polygon by polygon, only the centres within its bounding box, each tested by
    ``shapely.contains_xy`` on the prepared polygon: the same pairs as an STRtree ``within``
    query of a point per cell, without making 300,000 point objects (~5x less CPU at 100 m).
    """
    shapely.prepare(polygons)
    bounds = shapely.bounds(polygons)
    missing = np.isnan(bounds).any(axis=1)  # a missing or empty geometry holds no centre
    bounds = np.nan_to_num(bounds)
    c0 = np.maximum(np.floor((bounds[:, 0] - x0) / cell_m - 0.5), 0).astype(np.int64)
    c1 = np.minimum(np.ceil((bounds[:, 2] - x0) / cell_m - 0.5), nx - 1).astype(np.int64)
    r0 = np.maximum(np.floor((bounds[:, 1] - y0) / cell_m - 0.5), 0).astype(np.int64)
    r1 = np.minimum(np.ceil((bounds[:, 3] - y0) / cell_m - 0.5), ny - 1).astype(np.int64)
    cells, owners = [], []
    for i, polygon in enumerate(polygons):
        if missing[i] or c1[i] < c0[i] or r1[i] < r0[i]:
            continue
        col, row = np.meshgrid(np.arange(c0[i], c1[i] + 1), np.arange(r0[i], r1[i] + 1))
        col, row = col.ravel(), row.ravel()
        inside = shapely.contains_xy(polygon, x0 + (col + 0.5) * cell_m, y0 + (row + 0.5) * cell_m)
        cells.append(row[inside] * nx + col[inside])
        owners.append(np.full(int(inside.sum()), i, dtype=np.int64))
    if not cells:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(cells), np.concatenate(owners)


def _overlap_areas(boxes: np.ndarray, polygons: np.ndarray, box_area: float) -> np.ndarray:
    """``area(intersection(box, polygon))`` pair by pair, overlaying only the boxes that cross
    a polygon's boundary: a box strictly inside its polygon overlaps it by its own area, which
    GEOS computes exactly for corners on whole metres (tests/test_grid_store.py checks the grid
    is the same bit for bit)."""
    shapely.prepare(polygons)
    inside = shapely.contains_properly(polygons, boxes)
    overlap = np.full(len(boxes), box_area)
    cross = ~inside
    overlap[cross] = shapely.area(shapely.intersection(boxes[cross], polygons[cross]))
    return overlap
