"""Areal windows for the Poisson scan (``models.scan``): each LSOA's cells, and each LSOA with
the LSOAs that touch it.

Discs fit a rate raised over a whole irregular LSOA badly (a large rural LSOA needs several
discs; a small one's excess is diluted by the neighbours a disc takes in: docs/hotspots.md,
3b and 3c), so the scan also scores windows shaped like the units rates vary over. A grid cell
belongs to the 2021 LSOA its centre lies in (cells whose centre is in no LSOA belong to none;
an LSOA holding no cell centre has no window of its own); two LSOAs are neighbours when their
shipped (generalised) outlines intersect (queen adjacency: a shared corner counts).

Window sums are two sparse products: land cells to LSOAs (``units``), then LSOAs to windows
(``members``), the same for the observed counts, the population shares and each simulated
data set, so an areal window is scored exactly as a disc is (``poisson_llr``, ``min_events``)
and its LLR enters the same Monte-Carlo maximum.

The cell labels and the adjacency (~0.2 s of CPU: reading and reprojecting the boundaries,
point-in-polygon, a tree query) are kept per process and on disk beside the stored grids
(``models.grid_store.cache_dir``, ``lsoa-windows-{cell}m.npz``), keyed by the grid's geometry,
the grid store's input digest and this file, so a fresh process reads them (a few ms). A
caller's own population areas (a GeoDataFrame) are the units instead, built in memory.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import shapely

from core.atomic_files import write_atomically
from models import grid_store
from models._grid import centre_owners
from models.scan_null import poisson_llr

KINDS = ("lsoa", "lsoa+neighbours")
_LABELS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_WINDOWS: dict[tuple, AreaWindows] = {}
_KEEP = 8

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class AreaWindows:
    """Areal windows over a scan's land cells (``flatnonzero(population > 0)``, in order).

    ``units`` (n_units x n_land) puts each land cell in its LSOA, ``members`` (n_windows x
    n_units) lists each window's LSOAs; ``centre_unit`` is the LSOA a window is built around,
    ``kind`` 0 for the LSOA alone and 1 with its neighbours (``KINDS``), ``codes`` the LSOA
    codes by unit.
    """

    units: sp.csr_matrix
    members: sp.csr_matrix
    window_cells: sp.csr_matrix  # n_windows x n_land: members @ units
    centre_unit: np.ndarray
    kind: np.ndarray
    codes: np.ndarray

    @property
    def n_windows(self) -> int:
        return self.members.shape[0]

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Window sums of per-land-cell ``values`` (B, n_land): shape (B, n_windows)."""
        by_unit = self.units @ np.asarray(values, float).T
        return np.asarray(self.members @ by_unit).T

    def cells(self, window: int) -> np.ndarray:
        """Positions (in the land cells) of ``window``'s cells."""
        start, stop = self.window_cells.indptr[window:window + 2]
        return self.window_cells.indices[start:stop]

    def cell_counts(self) -> np.ndarray:
        """Cells in each window."""
        return np.diff(self.window_cells.indptr)

    def subset(self, keep: np.ndarray) -> AreaWindows:
        """The windows where ``keep`` is True."""
        keep = np.flatnonzero(keep)
        return AreaWindows(self.units, self.members[keep], self.window_cells[keep],
                           self.centre_unit[keep], self.kind[keep], self.codes)

    def restrict(self, keep: np.ndarray) -> AreaWindows:
        """The windows over the land cells where ``keep`` (one flag per land cell) is True, each
        keeping only those cells; a window left with no cell is dropped (the iterative scan,
        ``models.scan_iterative``, removes a found cluster's cells from the data)."""
        keep = np.asarray(keep, bool)
        units = self.units[:, keep].tocsr()
        window_cells = self.window_cells[:, keep].tocsr()
        alive = np.flatnonzero(np.diff(window_cells.indptr) > 0)
        return AreaWindows(units, self.members[alive], window_cells[alive],
                           self.centre_unit[alive], self.kind[alive], self.codes)

    def null_scorer(self, expected: np.ndarray, total: float, min_events: float) -> AreaNull:
        """What ``models.scan_null.null_maxima`` adds to each simulated disc maximum."""
        return AreaNull(self, expected, total, min_events)


class AreaNull:
    """The largest areal LLR of each simulated data set (``windows``' expected counts
    ``expected`` for ``total`` events), from its land-cell counts or from the land cells of its
    events: counted by LSOA (``np.bincount``; land cells in no LSOA count in a last, unused
    slot), then summed per window by one sparse product."""

    def __init__(self, windows: AreaWindows, expected: np.ndarray, total: float,
                 min_events: float):
        self.windows, self.expected = windows, np.asarray(expected, float)
        self.total, self.min_events = float(total), min_events
        self.n_units = windows.units.shape[0]
        unit = np.full(windows.units.shape[1], self.n_units, dtype=np.int64)
        unit[windows.units.indices] = np.repeat(np.arange(self.n_units),
                                                np.diff(windows.units.indptr))
        self.unit_of_land = unit
        self.floor = np.maximum(self.expected, min_events - 0.5)

    def __call__(self, land_counts: np.ndarray) -> np.ndarray:
        """From counts per land cell (B, n_land)."""
        return self.largest(np.stack([
            np.bincount(self.unit_of_land, weights=c, minlength=self.n_units + 1)
            for c in np.asarray(land_counts, float)]))

    def from_cells(self, cells: list) -> np.ndarray:
        """From each data set's events' land cells (a list of index arrays)."""
        return self.largest(np.stack([
            np.bincount(self.unit_of_land[c], minlength=self.n_units + 1) for c in cells]))

    def largest(self, by_unit: np.ndarray) -> np.ndarray:
        sums = np.asarray(self.windows.members @ by_unit[:, :self.n_units].T.astype(float)).T
        best = np.zeros(len(sums))
        b, w = np.nonzero(sums > self.floor)
        if len(b):
            np.maximum.at(best, b, poisson_llr(sums[b, w], self.expected[w], self.total,
                                               self.min_events))
        return best


def area_windows(grid, polygons=None, max_cells: int | None = None,
                 kinds: tuple = KINDS) -> AreaWindows:
    """The areal windows of ``grid`` (a ``models._grid.Grid``) over its land cells (kept per
    grid geometry, land mask and units).

    ``max_cells``: windows of more cells are left out (the scan passes its largest disc's, so
    no areal window is larger than a disc can be). ``kinds``: which of ``KINDS`` to make.

    ``polygons`` (BNG) are the units when a caller's population comes with its own areas
    (``HotspotModel(population=GeoDataFrame)``): built in memory, never stored. ``None``: the
    shipped 2021 LSOAs.
    """
    land = np.flatnonzero(grid.population.ravel() > 0)
    geometry = (int(grid.cell_m), float(grid.x0), float(grid.y0), int(grid.nx), int(grid.ny))
    units = None
    if polygons is not None:
        polygons = np.asarray(polygons, dtype=object)
        units = hashlib.sha1(b"".join(shapely.to_wkb(polygons))).hexdigest()
    key = (geometry, hashlib.sha1(land.tobytes()).hexdigest(), units, max_cells, tuple(kinds))
    if key not in _WINDOWS:
        labels, pairs, codes = unit_labels(*geometry, polygons)
        if len(_WINDOWS) >= _KEEP:
            _WINDOWS.pop(next(iter(_WINDOWS)))
        windows = build_windows(labels[land], pairs, codes)
        keep = np.isin(windows.kind, [KINDS.index(k) for k in kinds])
        if max_cells is not None:
            keep &= windows.cell_counts() <= max_cells
        _WINDOWS[key] = windows.subset(keep)
    return _WINDOWS[key]


def build_windows(unit_of_land: np.ndarray, pairs: np.ndarray, codes: np.ndarray) -> AreaWindows:
    """The windows (each unit alone, and with its neighbours) over cells labelled by unit
    (``unit_of_land``, -1: none), neighbours from ``pairs``."""
    n_units, n_land = len(codes), len(unit_of_land)
    labelled = np.flatnonzero(unit_of_land >= 0)
    units = sp.csr_matrix((np.ones(len(labelled)), (unit_of_land[labelled], labelled)),
                          shape=(n_units, n_land))
    has_cells = np.diff(units.indptr) > 0
    # Neighbours with no cell add nothing to a window: leave them out, so equal windows match.
    a, b = pairs[:, 0], pairs[:, 1]
    keep = has_cells[a] & has_cells[b] & (a != b)
    neighbours = sp.csr_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])),
                               shape=(n_units, n_units))
    centres = np.flatnonzero(has_cells)
    alone = sp.csr_matrix((np.ones(len(centres)), (np.arange(len(centres)), centres)),
                          shape=(len(centres), n_units))
    grown = (alone + alone @ neighbours).tocsr()
    grown.data[:] = 1.0
    members = sp.vstack([alone, grown]).tocsr()
    members.sort_indices()
    centre_unit = np.concatenate([centres, centres])
    kind = np.repeat([0, 1], len(centres))
    # The same set of LSOAs twice (an LSOA whose neighbours hold no cell): the first one stays.
    seen, unique = set(), []
    for w in range(members.shape[0]):
        key = members.indices[members.indptr[w]:members.indptr[w + 1]].tobytes()
        if key not in seen:
            seen.add(key)
            unique.append(w)
    unique = np.array(unique, dtype=int)
    members = members[unique]
    window_cells = (members @ units).tocsr()
    window_cells.sort_indices()
    return AreaWindows(units, members, window_cells, centre_unit[unique], kind[unique], codes)


def unit_labels(cell_m: int, x0: float, y0: float, nx: int, ny: int, polygons=None):
    """The unit of each cell of a grid (-1: none), the adjacent pairs of units and their
    codes: the shipped LSOAs (stored beside the grids), or ``polygons`` (in memory)."""
    if polygons is None:
        return _labels(cell_m, x0, y0, nx, ny)
    labels, pairs = _label_cells(polygons, cell_m, x0, y0, nx, ny)
    return labels, pairs, np.arange(len(polygons)).astype(str).astype(object)


def _labels(cell_m: int, x0: float, y0: float, nx: int, ny: int):
    """LSOA of each grid cell (-1: none), the adjacent pairs, the LSOA codes: kept in the
    process, read from disk when current, else built and stored."""
    geometry = (cell_m, x0, y0, nx, ny)
    if geometry in _LABELS:
        return _LABELS[geometry]
    path = grid_store.cache_dir() / f"lsoa-windows-{int(cell_m)}m.npz"
    key = f"lsoa windows {geometry} {grid_store.inputs_digest()} {_code_digest()}"
    found = _read(path, key, nx * ny)
    if found is None:
        found = _build(*geometry)
        labels, pairs, codes = found
        arrays = {"key": np.array(key), "labels": labels, "pairs": pairs,
                  "codes": codes.astype(str)}
        if not write_atomically(path, lambda out: np.savez(out, **arrays)):
            log.info("%s is not writable: LSOA windows are built in memory", path.parent)
    if len(_LABELS) >= _KEEP:
        _LABELS.pop(next(iter(_LABELS)))
    _LABELS[geometry] = found
    return found


def _read(path: Path, key: str, n_cells: int):
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            labels, pairs = np.array(stored["labels"]), np.array(stored["pairs"])
            codes = np.array(stored["codes"]).astype(object)
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - a damaged file of any kind is rebuilt
        log.warning("%s does not read (%s): building the LSOA windows again", path, error)
        return None
    if (labels.shape != (n_cells,) or pairs.ndim != 2 or pairs.shape[1:] != (2,)
            or labels.max(initial=-1) >= len(codes) or pairs.max(initial=-1) >= len(codes)
            or pairs.min(initial=0) < 0 or labels.min(initial=-1) < -1):
        log.warning("%s is damaged: building the LSOA windows again", path)
        return None
    return labels, pairs, codes


def _build(cell_m: int, x0: float, y0: float, nx: int, ny: int):
    from geo.areas import lsoas_bng

    lsoas = lsoas_bng()
    labels, pairs = _label_cells(lsoas.geometry.to_numpy(), cell_m, x0, y0, nx, ny)
    return labels, pairs, lsoas["code"].to_numpy(dtype=object)


def _label_cells(polygons: np.ndarray, cell_m: int, x0: float, y0: float, nx: int, ny: int):
    """The unit of each grid cell (-1: none; ``models._grid.centre_owners``, the centre
    grid's rule) and the intersecting pairs of units."""
    labels = centre_owners(polygons, cell_m, x0, y0, nx, ny)
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = np.stack([left, right], axis=1).astype(np.int32)
    return labels, pairs


def _code_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
