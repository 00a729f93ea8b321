"""A grid-cell → LSOA table that answers the point-in-LSOA query for points far from any edge.

``geo.areas.lsoa_of_points`` asks, for every point, which LSOA polygon contains it (a tree
query, the first LSOA listed where generalised edges overlap). Most points of a partner file
lie well inside one LSOA, where the answer is the same for every point of a whole grid cell:
this table holds that answer for those cells, so only points near an edge (or outside every
LSOA) take the exact query. The answers are the exact query's, not an approximation:

* Every LSOA boundary is densified to vertices at most ``STEP_M`` apart, so any boundary point
  is within ``STEP_M / 2`` of a vertex. A cell is *clean* when no vertex lies within
  ``MARGIN_M + STEP_M`` of its square (Chebyshev distance); then no boundary point lies within
  ``MARGIN_M`` of the square.
* Edge-adjacent clean cells form connected regions (their squares, grown by the margin,
  overlap) that no boundary crosses, so every point of a region lies inside the same LSOAs and
  the exact query gives it the same answer: asked once, at one cell centre per region.
* Regions inside no LSOA keep ``-1`` (their points go the exact way, which also measures how
  far outside they are), as do cells near an edge and anything off the table.
* ``MARGIN_M`` absorbs the rounding of ``floor((e - x0) / cell)``: a point is never more than
  a hair outside the square of the cell it is looked up in.
* Each cell near an edge keeps its *candidates*: every LSOA whose polygon meets the cell's
  square grown by ``MARGIN_M`` (GEOS ``intersects``), in ascending position. An LSOA holding a
  point of the cell meets that square, so the exact query's answer for such a point (the first
  LSOA listed that contains it) is the first candidate that contains it
  (``shapely.contains_xy`` on prepared polygons: the ``contains`` predicate of the exact
  query, without making a point geometry or a tree per batch). A point no candidate contains
  (outside every LSOA) still takes the exact query, which measures how far outside it is.

The table is made once per process, and only for a batch of at least ``MIN_POINTS`` points
(smaller batches take the exact query alone): read from the copy kept on disk
(``data.grid_cache``, some 20 ms) when that copy was made from the same boundaries and code,
else built (1.5–2 s of CPU, 14 MB and some 2 MB of candidates) and kept there for the next
process.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from data import grid_cache
from geo.areas import containing_lsoa, lsoas_bng

#: 30 m cells with vertices 4 m apart: the table answers 79% of the synthetic NRM points
#: (66% with 50 m and 8 m), so a fifth go the exact way instead of a third; 25 m answers 81%
#: but costs two to three times as much to build.
CELL_M = 30.0
MARGIN_M = 1.0
STEP_M = 4.0
#: Below this many points the exact query is cheaper than building the table; once the
#: process has it, batches of a tenth of this use it too (a large file's last chunk).
MIN_POINTS = 100_000
NO_LSOA = -1


@dataclass(frozen=True)
class LsoaGrid:
    """``table[row, column]``: the position (in ``codes``) of the LSOA holding every point of
    the cell whose south-west corner is ``(x0 + column * cell_m, y0 + row * cell_m)`` (BNG
    metres), or ``NO_LSOA`` where the exact query must decide."""

    x0: float
    y0: float
    cell_m: float
    table: np.ndarray
    codes: np.ndarray
    #: The cells near an edge that some LSOA meets (flat positions ``row * columns + column``,
    #: ascending) and their candidates: ``edge_lsoas[edge_start[i]:edge_start[i + 1]]`` are
    #: the positions (ascending) of the LSOAs meeting cell ``edge_cells[i]`` (see the module's
    #: docstring).
    edges: EdgeCandidates
    #: The LSOA polygons, in ``codes`` order: a prepared copy of the grid's own (made once; the
    #: shared boundaries are not prepared from another thread).
    polygons: np.ndarray

    def lookup(self, easting: np.ndarray, northing: np.ndarray) -> np.ndarray:
        """The position in ``codes`` of each point's LSOA, ``NO_LSOA`` where the table does not
        know (near an edge, outside every LSOA, off the table, not a finite number)."""
        rows, columns = self.table.shape
        x = (np.asarray(easting, float) - self.x0) / self.cell_m
        y = (np.asarray(northing, float) - self.y0) / self.cell_m
        # Comparisons with NaN are False: such points stay off the table.
        on = (x >= 0) & (x < columns) & (y >= 0) & (y < rows)
        found = np.full(len(x), NO_LSOA, dtype=np.int64)
        found[on] = self.table[y[on].astype(np.int64), x[on].astype(np.int64)]
        return found

    def on_edges(self, easting: np.ndarray, northing: np.ndarray) -> np.ndarray:
        """The position in ``codes`` of each point's LSOA where the point lies in a cell near an
        edge and one of the cell's candidates contains it (the first such, as the exact query
        answers), else ``NO_LSOA`` (off the edge cells, outside every candidate, not a finite
        number): those go the exact way."""
        easting, northing = np.asarray(easting, float), np.asarray(northing, float)
        found = np.full(len(easting), NO_LSOA, dtype=np.int64)
        cells = self.edges.cells
        if not len(cells) or not len(easting):
            return found
        rows, columns = self.table.shape
        x = (easting - self.x0) / self.cell_m  # as ``lookup`` finds a point's cell
        y = (northing - self.y0) / self.cell_m
        on = np.flatnonzero((x >= 0) & (x < columns) & (y >= 0) & (y < rows))
        flat = y[on].astype(np.int64) * columns + x[on].astype(np.int64)
        slot = np.minimum(np.searchsorted(cells, flat), len(cells) - 1)
        hit = cells[slot] == flat
        points, slot = on[hit], slot[hit]
        first = self.edges.start[slot]
        count = self.edges.start[slot + 1] - first
        # One thread at a time: shapely releases the GIL, and a prepared polygon builds its
        # point locator on first use, which GEOS does not guard (the ingest's two threads may
        # both be locating chunks).
        with _PREPARED_IN_USE:
            for k in range(int(count.max()) if len(count) else 0):
                ask = np.flatnonzero(count > k)  # every point still open with a k-th candidate
                candidate = self.edges.lsoas[first[ask] + k]
                inside = shapely.contains_xy(self.polygons[candidate], easting[points[ask]],
                                             northing[points[ask]])
                found[points[ask[inside]]] = candidate[inside]
                count[ask[inside]] = 0  # answered: the first candidate holding it
        return found


@dataclass(frozen=True)
class EdgeCandidates:
    """The candidate LSOAs of the cells near an edge (:class:`LsoaGrid`'s ``edges``)."""

    cells: np.ndarray   # int64, ascending flat cell positions
    start: np.ndarray   # int64, len(cells) + 1 offsets into ``lsoas``
    lsoas: np.ndarray   # int32 positions in ``codes``, ascending within each cell


_BUILT: list[LsoaGrid] = []
_BUILDING = threading.Lock()
_PREPARED_IN_USE = threading.Lock()


def lsoa_grid() -> LsoaGrid:
    """The table for the shipped 2021 LSOAs (made on first use, then kept; a second thread
    asking meanwhile waits for the same table)."""
    with _BUILDING:
        if not _BUILT:
            _BUILT.append(kept_grid(CELL_M, MARGIN_M, STEP_M, grid_cache.cache_path()))
        return _BUILT[0]


def built_grid() -> LsoaGrid | None:
    """The table if this process has it already (``None`` otherwise: nothing is made here)."""
    return _BUILT[0] if _BUILT else None


def kept_grid(cell_m: float, margin_m: float, step_m: float, path) -> LsoaGrid:
    """The table read from ``path`` if it was kept there from the same boundaries, parameters
    and code (``data.grid_cache``: a stale or damaged file is never used), else built and kept
    there (atomically) for the next process."""
    lsoas = lsoas_bng()
    codes = lsoas["code"].to_numpy(dtype=object)
    key = grid_cache.grid_key(codes, lsoas.geometry.array, cell_m, margin_m, step_m)
    kept = grid_cache.read_grid(path, key, codes)
    if kept is not None:
        x0, y0, kept_cell_m, table, _, (cells, start, candidates) = kept
        return LsoaGrid(x0, y0, kept_cell_m, table, codes,
                        EdgeCandidates(cells, start, candidates), prepared_copy(lsoas))
    grid = build_grid(cell_m, margin_m, step_m, lsoas)
    grid_cache.write_grid(path, key, grid.x0, grid.y0, grid.cell_m, grid.table, grid.codes,
                          (grid.edges.cells, grid.edges.start, grid.edges.lsoas))
    return grid


def prepared_copy(lsoas) -> np.ndarray:
    """The LSOA polygons copied (through WKB: the same coordinates) and prepared, so that
    preparing them never touches geometries other threads use (some 6 ms)."""
    polygons = shapely.from_wkb(shapely.to_wkb(np.asarray(lsoas.geometry.array)))
    shapely.prepare(polygons)
    return polygons


def loaded_once(load):
    """``load()`` (a boundary loader, cached by its module) under the lock the table is built
    under: a caller that comes while the table is being built, boundaries and all, waits for
    it instead of loading the same boundaries a second time on another thread."""
    with _BUILDING:
        return load()


def build_grid(cell_m: float, margin_m: float, step_m: float, lsoas=None) -> LsoaGrid:
    """The table built from ``lsoas`` (default: the shipped 2021 LSOAs in BNG)."""
    lsoas = lsoas_bng() if lsoas is None else lsoas
    reach = margin_m + step_m
    if reach >= cell_m:
        raise ValueError(f"margin + step ({reach} m) must be under the cell size ({cell_m} m)")
    west, south, east, north = lsoas.total_bounds
    # One spare cell on every side, so a vertex grown by ``reach`` stays on the table.
    x0, y0 = np.floor(west / cell_m) * cell_m - cell_m, np.floor(south / cell_m) * cell_m - cell_m
    columns = int(np.ceil((east - x0) / cell_m)) + 1
    rows = int(np.ceil((north - y0) / cell_m)) + 1
    edges = shapely.segmentize(shapely.boundary(np.asarray(lsoas.geometry.array)), step_m)
    vertices = shapely.get_coordinates(edges)
    near_edge = np.zeros((rows, columns), dtype=bool)
    # A vertex is within ``reach`` of its own cell, and of the neighbouring cell across any
    # side (or corner) of it that is within ``reach`` (``reach`` < cell: no further ones).
    x = (vertices[:, 0] - x0) / cell_m
    y = (vertices[:, 1] - y0) / cell_m
    column, row = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    near = reach / cell_m
    sides_x = ((-1, (x - column) <= near), (1, (column + 1 - x) <= near))
    sides_y = ((-1, (y - row) <= near), (1, (row + 1 - y) <= near))
    near_edge[row, column] = True
    for dx, on_x in sides_x:
        near_edge[row[on_x], column[on_x] + dx] = True
        for dy, on_y in sides_y:
            both = on_x & on_y
            near_edge[row[both] + dy, column[both] + dx] = True
    for dy, on_y in sides_y:
        near_edge[row[on_y] + dy, column[on_y]] = True
    regions, count = ndimage.label(~near_edge)  # edge-adjacent clean cells, 1..count
    # One cell of each region (any one: every point of a region has the same answer), found
    # in one pass where a sort of the whole table (np.unique) would cost more than the rest.
    flat = regions.ravel()
    inside = np.flatnonzero(flat)
    one_cell = np.zeros(count + 1, dtype=np.int64)
    one_cell[flat[inside]] = inside
    row, column = np.divmod(one_cell[1:], columns)
    centres = shapely.points(x0 + (column + 0.5) * cell_m, y0 + (row + 0.5) * cell_m)
    names = containing_lsoa(centres, lsoas)
    codes = lsoas["code"].to_numpy(dtype=object)
    position = {code: i for i, code in enumerate(codes)}
    answer = np.array([NO_LSOA if name is None else position[name] for name in names],
                      dtype=np.int32)
    table = np.concatenate([np.array([NO_LSOA], dtype=np.int32), answer])[regions]
    polygons = prepared_copy(lsoas)
    edges = edge_candidates(near_edge, float(x0), float(y0), cell_m, margin_m, polygons)
    return LsoaGrid(float(x0), float(y0), float(cell_m), table, codes, edges, polygons)


def edge_candidates(near_edge: np.ndarray, x0: float, y0: float, cell_m: float,
                    margin_m: float, polygons: np.ndarray) -> EdgeCandidates:
    """For each cell of ``near_edge``, the LSOAs (positions in ``polygons``) whose polygon meets
    its square grown by ``margin_m``; cells none meets (outside the county) are left out."""
    columns = near_edge.shape[1]
    cells = np.flatnonzero(near_edge.ravel())
    row, column = np.divmod(cells, columns)
    squares = shapely.box(x0 + column * cell_m - margin_m, y0 + row * cell_m - margin_m,
                          x0 + (column + 1) * cell_m + margin_m,
                          y0 + (row + 1) * cell_m + margin_m)
    # Each (prepared) polygon asks the tree of squares which it meets.
    lsoa_at, cell_at = shapely.STRtree(squares).query(polygons, predicate="intersects")
    order = np.lexsort((lsoa_at, cell_at))
    lsoa_at, cell_at = lsoa_at[order], cell_at[order]
    met, counts = np.unique(cell_at, return_counts=True)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return EdgeCandidates(cells[met].astype(np.int64), start, lsoa_at.astype(np.int32))
