"""Areal windows counted on the 100 m geomask cells (``HotspotModel(area_cell_m=100)``,
docs/hotspots.md 3g).

``models.scan_areas`` puts a 300 m analysis cell in the LSOA its centre lies in, so a small
LSOA's events fall in cells owned by a neighbour (3d: ~12 points of the own window's power lost
before any Poisson draw). Stored points are 100 m cell centres, so here an areal window is a set
of 100 m cells of the centre grid (``models._grid.centre_grid``: a cell belongs to the LSOA its
centre lies in, the same rule): its observed count is the events in those cells, its expected
count the total x their residents' share on the 100 m grid.

One Monte-Carlo null covers discs and areal windows: each simulated event is drawn on a
*sampling unit* (a 100 m land cell, by its weight) and counted in its 300 m cell for the discs
and in its LSOA for the areal windows (``shared_null``). The discs' expected counts use the
same weights summed into the 300 m cells (``FineAreas.coarse_population``), so the discs' null
is a multinomial by those sums, as ever. A 300 m land cell holding no 100 m land cell (a
sliver of an LSOA) is one sampling unit of its own, in no LSOA, so the 300 m land is unchanged.

For the report, the area budget, labels and polygons an areal window occupies (``FineAreas.report``,
an ``AreaWindows`` over the 300 m land cells, chosen by ``footprint``) either the 300 m cells
holding any of its 100 m cells (``"any"``, 3g's A) or today's areal window cells, those whose
centre lies in its LSOAs (``"centres"``, 3i's A'; an LSOA holding no such centre occupies the
300 m cell holding most of its 100 m cells). Its events, expected count and LLR are its own
(100 m) ones either way.

Window sums keep ``models.scan_areas``' sparse design: units x sampling units, then members x
units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models._grid import (
    SUB_CELL_M,
    Grid,
    centre_grid,
    population_key,
    population_polygons,
)
from models.scan import DiscConvolver, ScanResult, report_windows
from models.scan_areas import KINDS, AreaNull, AreaWindows, build_windows, unit_labels
from models.scan_null import (
    FULL_FIRST,
    LEVEL_SHARE,
    NULL_BATCH,
    UINT16_TOP,
    CellSampler,
    ShiftedNull,
    max_llr,
    poisson_llr,
)

AREA_CELLS = (None, SUB_CELL_M)  # HotspotModel(area_cell_m=...)
FOOTPRINTS = ("any", "centres")  # HotspotModel(area_footprint=...)
_FINE: dict[tuple, FineAreas] = {}
_KEEP = 8


@dataclass(frozen=True, eq=False)
class FineAreas:
    """Areal windows over a 300 m grid's land, counted on the 100 m centre grid.

    Sampling units are the 100 m land cells (flat index ``fine_cell`` in ``fine``) and one unit
    per 300 m land cell holding none (``fine_cell`` -1), ordered by ``parent`` (the position of
    their 300 m cell among the land cells ``flatnonzero(coarse_population > 0)``); ``share`` is
    each unit's share of its 300 m cell's weight (residents on the 100 m grid). ``windows``
    sums over the units, ``report`` is the same windows over the 300 m land cells they occupy.
    """

    fine: Grid
    fine_cell: np.ndarray
    parent: np.ndarray
    share: np.ndarray
    residents: np.ndarray  # each unit's residents on the 100 m grid (pseudo units: the 300 m's)
    coarse_residents: np.ndarray  # (ny, nx) the 100 m residents summed into the 300 m cells
    windows: AreaWindows
    report: AreaWindows

    def unit_weights(self, population: np.ndarray) -> np.ndarray:
        """Each sampling unit's weight given the 300 m weights ``population`` (the residents
        summed, or a feed's exposure surface spread over the 100 m cells by residents)."""
        if population is self.coarse_residents:
            return self.residents
        land = np.flatnonzero(population.ravel() > 0)
        return population.ravel()[land][self.parent] * self.share

    def unit_counts(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Events per sampling unit (events off the 100 m land are in none)."""
        fine = self.fine.cell_index(x, y)
        position = np.full(self.fine.nx * self.fine.ny, -1)
        real = np.flatnonzero(self.fine_cell >= 0)
        position[self.fine_cell[real]] = real
        unit = position[fine[fine >= 0]]
        return np.bincount(unit[unit >= 0], minlength=len(self.parent)).astype(float)


def fine_areas_for(grid: Grid, area_cell_m, scan_with_areas: bool, population,
                   max_cells: int, footprint: str = "any") -> FineAreas | None:
    """``HotspotModel``'s windows on 100 m cells: ``area_cell_m`` checked (None or 100) and
    ``footprint`` (``FOOTPRINTS``), and ``None`` unless it is 100 and the model scans areal
    windows."""
    if area_cell_m is not None and (isinstance(area_cell_m, bool)
                                    or area_cell_m not in AREA_CELLS):
        raise ValueError(f"area_cell_m was {area_cell_m!r}; expected None (areal windows of "
                         f"analysis cells) or {SUB_CELL_M} (of the {SUB_CELL_M} m geomask cells)")
    _check_footprint(footprint)
    if area_cell_m is None or not scan_with_areas:
        return None
    return fine_areas(grid, population, max_cells=max_cells, footprint=footprint)


def _check_footprint(footprint) -> None:
    if not isinstance(footprint, str) or footprint not in FOOTPRINTS:
        raise ValueError(f"area_footprint was {footprint!r}; expected 'any' (the 300 m cells "
                         "holding any of a window's 100 m cells) or 'centres' (the 300 m cells "
                         "whose centre lies in its LSOAs)")


def fine_areas(grid: Grid, population=None, max_cells: int | None = None,
               kinds: tuple = KINDS, footprint: str = "any") -> FineAreas:
    """The areal windows of ``grid`` (300 m, residents) counted on the 100 m centre grid of the
    same ``population`` (``None``: the shipped LSOAs; a GeoDataFrame or Series: its areas are
    the units). ``footprint``: which 300 m cells a window occupies (``FOOTPRINTS``, module
    docstring); ``max_cells`` caps the windows by those cells."""
    _check_footprint(footprint)
    if grid.cell_m % SUB_CELL_M or grid.x0 % SUB_CELL_M or grid.y0 % SUB_CELL_M:
        raise ValueError(f"the analysis grid ({grid.cell_m} m from {grid.x0}, {grid.y0}) is "
                         f"not made of whole {SUB_CELL_M} m cells")
    land = np.flatnonzero(grid.population.ravel() > 0)
    key = (grid.cell_m, grid.x0, grid.y0, grid.nx, grid.ny, hash(land.tobytes()),
           population_key(population),
           max_cells, tuple(kinds), footprint)
    if key in _FINE:
        return _FINE[key]
    fine = centre_grid(SUB_CELL_M, population)
    geometry = (SUB_CELL_M, fine.x0, fine.y0, fine.nx, fine.ny)
    labels, pairs, codes = unit_labels(
        *geometry, None if population is None else population_polygons(population))
    coarse_land = np.flatnonzero(grid.population.ravel() > 0)
    position = np.full(grid.nx * grid.ny, -1)
    position[coarse_land] = np.arange(len(coarse_land))
    fine_land = np.flatnonzero(fine.population.ravel() > 0)
    fx, fy = fine.centres(fine_land)
    col = np.floor((fx - grid.x0) / grid.cell_m).astype(np.int64)
    row = np.floor((fy - grid.y0) / grid.cell_m).astype(np.int64)
    inside = (col >= 0) & (col < grid.nx) & (row >= 0) & (row < grid.ny)
    parent = np.full(len(fine_land), -1)
    parent[inside] = position[row[inside] * grid.nx + col[inside]]
    if (parent < 0).any():
        raise ValueError(f"{int((parent < 0).sum())} land cells of the {SUB_CELL_M} m grid lie "
                         "off the analysis grid's land")
    residents = fine.population.ravel()[fine_land]
    empty = np.setdiff1d(np.arange(len(coarse_land)), parent)  # 300 m land with no 100 m land
    parent = np.r_[parent, empty]
    fine_cell = np.r_[fine_land, np.full(len(empty), -1)]
    residents = np.r_[residents, np.full(len(empty), 1e-9)]  # as the grids' land floor
    order = np.argsort(parent, kind="stable")
    parent, fine_cell, residents = parent[order], fine_cell[order], residents[order]
    summed = np.bincount(parent, weights=residents, minlength=len(coarse_land))
    share = residents / summed[parent]
    unit = np.where(fine_cell >= 0, labels[np.maximum(fine_cell, 0)], -1)
    windows = build_windows(unit, pairs, codes)
    to_coarse = sp.csr_matrix((np.ones(len(parent)), (np.arange(len(parent)), parent)),
                              shape=(len(parent), len(coarse_land)))
    if footprint == "any":
        report = _occupied(windows, to_coarse)
    else:
        polygons = None if population is None else population_polygons(population)
        coarse_labels = unit_labels(int(grid.cell_m), float(grid.x0), float(grid.y0),
                                    int(grid.nx), int(grid.ny), polygons)[0]
        report = _centred(windows, to_coarse, coarse_labels[coarse_land])
    keep = np.isin(windows.kind, [KINDS.index(k) for k in kinds])
    if max_cells is not None:
        keep &= report.cell_counts() <= max_cells
    coarse_residents = np.zeros(grid.nx * grid.ny)
    coarse_residents[coarse_land] = summed
    found = FineAreas(fine, fine_cell, parent, share, residents,
                      coarse_residents.reshape(grid.shape), windows.subset(keep),
                      report.subset(keep))
    if len(_FINE) >= _KEEP:
        _FINE.pop(next(iter(_FINE)))
    _FINE[key] = found
    return found


def _occupied(windows: AreaWindows, to_coarse: sp.csr_matrix) -> AreaWindows:
    """``windows`` over the 300 m land cells holding any of their sampling units."""
    return _on_cells(windows, (windows.units @ to_coarse).tocsr(),
                     (windows.window_cells @ to_coarse).tocsr())


def _centred(windows: AreaWindows, to_coarse: sp.csr_matrix,
             coarse_unit: np.ndarray) -> AreaWindows:
    """``windows`` over the 300 m land cells whose centre lies in their LSOAs (``coarse_unit``:
    each 300 m land cell's LSOA, -1 none, as ``models.scan_areas.area_windows`` labels them);
    an LSOA holding no such centre occupies the one 300 m cell holding most of its 100 m cells
    (ties: the lowest cell index)."""
    n_units, n_coarse = windows.units.shape[0], to_coarse.shape[1]
    labelled = np.flatnonzero(coarse_unit >= 0)
    centred = sp.csr_matrix((np.ones(len(labelled)), (coarse_unit[labelled], labelled)),
                            shape=(n_units, n_coarse)).tolil()
    held = (windows.units @ to_coarse).tocsr()  # 100 m cells of each LSOA per 300 m cell
    no_centre = np.flatnonzero((np.diff(held.indptr) > 0) & (centred.getnnz(axis=1) == 0))
    for u in no_centre:
        cells = held.indices[held.indptr[u]:held.indptr[u + 1]]
        counts = held.data[held.indptr[u]:held.indptr[u + 1]]
        centred[u, cells[counts == counts.max()].min()] = 1.0
    units = centred.tocsr()
    return _on_cells(windows, units, (windows.members @ units).tocsr())


def _on_cells(windows: AreaWindows, units: sp.csr_matrix, cells: sp.csr_matrix) -> AreaWindows:
    """``windows``' LSOAs and windows over the 300 m cells ``units`` and ``cells`` give them
    (made 0/1, indices sorted, as ``models.scan_areas`` keeps them)."""
    units.data[:] = 1.0
    cells.data[:] = 1.0
    units.sort_indices()
    cells.sort_indices()
    return AreaWindows(units, windows.members, cells, windows.centre_unit, windows.kind,
                       windows.codes)


def fine_scan(counts: np.ndarray, unit_counts: np.ndarray, population: np.ndarray,
              areas: FineAreas, cell_m: float, radii_m, *, min_events: int,
              n_simulations: int, alpha: float, rng, overlap: str = "none") -> ScanResult:
    """``models.scan.poisson_scan`` with ``areas``' windows counted on the 100 m cells:
    ``counts`` and ``population`` per 300 m cell, ``unit_counts`` per sampling unit (events
    off the 100 m land in none). Discs as ``poisson_scan`` scores them; one null for both."""
    land = np.flatnonzero(population.ravel() > 0)
    total = float(counts.sum())
    conv = DiscConvolver(population.shape, cell_m, radii_m)
    share = conv(population[None] / population.sum(), land)[0]
    expected = total * share
    observed = np.rint(conv(counts[None], land)[0])
    llr = poisson_llr(observed, expected, total, min_events)
    weights = areas.unit_weights(population)
    area_expected = total * areas.windows.sums(weights[None] / weights.sum())[0]
    area_observed = np.rint(areas.windows.sums(np.asarray(unit_counts, float)[None])[0])
    area_llr = poisson_llr(area_observed, area_expected, total, min_events)
    scorer = (areas.windows.null_scorer(area_expected, total, min_events)
              if areas.windows.n_windows else None)
    disc_max, area_max = shared_null(population, land, total, conv, expected, min_events,
                                     n_simulations, rng, areas.parent, weights, scorer)
    return report_windows((llr, observed, expected), (area_llr, area_observed, area_expected),
                          np.maximum(disc_max, area_max), land, counts.ravel()[land], conv,
                          areas.report, alpha, overlap)


def shared_null(population, land, total, conv, expected, min_events, n_simulations, rng,
                parent, weights, areal: AreaNull | None = None):
    """The discs' and the areal windows' largest LLRs (two arrays) of the same simulated data
    sets: ``total`` events drawn on the sampling units by ``weights`` (few events: one uniform
    each, as ``models.scan_null`` draws cells; many: a multinomial), counted in their 300 m
    land cell (``parent``) for the discs and by ``areal`` for the areal windows (zeros
    without). The discs' maxima are scored as ``models.scan_null`` scores them."""
    disc_max, area_max = np.zeros(n_simulations), np.zeros(n_simulations)
    if total < min_events or n_simulations == 0:
        return disc_max, area_max
    cumulative = np.cumsum(weights / weights.sum())
    n_units, n_land = len(cumulative), len(land)
    dtype = conv.count_dtype(total)
    single = dtype != np.float64
    floor = np.maximum(expected, min_events - 0.5).astype(np.float32 if single else float)
    # The uniforms' units as ``searchsorted(cumulative, u, side="right")`` finds them, by a
    # bucket table (``CellSampler``: ~10x less CPU over ~200,000 units).
    sampler = CellSampler(cumulative, np.arange(n_units)) if total < n_units else None

    def draw(size: int):
        units, by_cell = [], np.zeros((size, n_land))
        for b in range(size):
            if total < n_units:
                unit = sampler.cells(rng.random(int(total)) * cumulative[-1])
                units.append(unit)
                by_cell[b] = np.bincount(parent[unit], minlength=n_land)
            else:
                counts = rng.multinomial(int(total), np.diff(cumulative, prepend=0.0)
                                         / cumulative[-1])
                units.append(counts)
                by_cell[b] = np.bincount(parent, weights=counts, minlength=n_land)
        if areal is None:
            return by_cell, None
        return by_cell, (areal.from_cells(units) if total < n_units
                         else areal(np.stack(units)))

    if conv.direct and dtype != np.float64:
        null_dtype = np.uint16 if total < UINT16_TOP else np.float32
        shifted = ShiftedNull(conv, land, expected, floor, total,
                              np.arange(1.0, n_land + 1), null_dtype)  # its sampler unused

        scored = shifted.scored_counts

        first = min(FULL_FIRST, n_simulations)
        by_cell, areal_max = draw(first)
        disc_max[:first] = scored(by_cell, None)
        if areal_max is not None:
            area_max[:first] = areal_max
        level = LEVEL_SHARE * disc_max[:first].min() if disc_max[:first].min() > 0 else None
        if level is not None:
            shifted.set_level(level)
        batches = [(s, min(NULL_BATCH, n_simulations - s))
                   for s in range(first, n_simulations, NULL_BATCH)]
    else:
        scored, level = None, None
        batches = [(s, min(NULL_BATCH, n_simulations - s))
                   for s in range(0, n_simulations, NULL_BATCH)]
    for start, size in batches:
        by_cell, areal_max = draw(size)
        if scored is not None:
            disc_max[start:start + size] = scored(by_cell, level)
        else:
            grids = np.zeros((size, population.size))
            grids[:, land] = by_cell
            sums = conv(grids.reshape(size, *population.shape), land, single=single,
                        dtype=dtype if conv.direct else None)
            disc_max[start:start + size] = max_llr(sums, floor, expected, total)
        if areal_max is not None:
            area_max[start:start + size] = areal_max
    return disc_max, area_max
