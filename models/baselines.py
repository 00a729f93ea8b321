"""The comparison methods on the analysis grid: kernel density, Getis-Ord Gi*, DBSCAN, HDBSCAN.

Each takes the event counts per cell and returns a ``CellHotspots``: a hotspot label per cell
(-1 for none), a p-value per hotspot (NaN when the method tests nothing) and a score per cell by
which the method ranks places for a fixed-coverage comparison (higher = more events expected).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse
from scipy.spatial import cKDTree

from models._grid import Grid

EIGHT_NEIGHBOURS = np.ones((3, 3), int)  # cells touching at an edge or a corner are contiguous
HDBSCAN_MAX_EVENTS = 50_000  # sklearn's HDBSCAN takes ~30 s at 100k points on 2 cores


@dataclass(frozen=True)
class CellHotspots:
    """Per-cell labels (flat, -1 none), per-hotspot p-values and statistic, per-cell scores.

    ``cells`` (the scan's): each hotspot's whole window (flat cell indices), which may share
    cells with a stronger hotspot's (``HotspotModel(overlap="centres")``; a shared cell's
    label is the strongest's); ``overlaps``: per hotspot, the ranks (1 = strongest) of the
    stronger hotspots it shares cells with. ``None``: labels say it all, nothing shared.
    """

    labels: np.ndarray
    p_values: np.ndarray
    scores: np.ndarray
    statistic: np.ndarray | None = None
    cells: list | None = None
    overlaps: list | None = None


def kde(counts: np.ndarray, grid: Grid, *, bandwidth_m: float, coverage: float,
        min_events: int) -> CellHotspots:
    """Gaussian kernel density of the binned events; hotspots = top ``coverage`` of the area."""
    density = ndimage.gaussian_filter(counts, sigma=bandwidth_m / grid.cell_m, mode="constant")
    scores = np.where(grid.land, density, 0.0).ravel()
    top = _top_cells(scores, grid, coverage)
    return _components(top, counts, scores, min_events)


def gistar(counts: np.ndarray, grid: Grid, *, bandwidth_m: float, alpha: float,
           permutations: int, min_events: int, seed: int) -> CellHotspots:
    """Getis-Ord Gi* (esda ``G_Local``, star=True) of cell counts with a distance band.

    A cell is hot when its Gi* is positive and its permutation p-value passes the
    Benjamini-Hochberg false-discovery-rate cut at ``alpha`` (esda ``fdr``) over all land cells;
    contiguous hot cells (8 neighbours) are merged. The hotspot's p-value is the smallest of its
    cells' pseudo p-values.
    """
    try:
        from esda.getisord import G_Local
        from esda.util import fdr
    except ImportError as err:  # pragma: no cover - esda is in requirements.txt
        raise ImportError("method='gistar' needs esda and libpysal: "
                          "pip install -r requirements.txt") from err
    land = np.flatnonzero(grid.land.ravel())
    y = counts.ravel()[land]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands, and numba not being installed
        stat = G_Local(y, _band_weights(grid, land, bandwidth_m), transform="B", star=True,
                       permutations=permutations, seed=seed, keep_simulations=False, n_jobs=1)
    z = np.nan_to_num(np.asarray(stat.Zs, float))
    p = np.asarray(stat.p_sim if permutations else stat.p_norm, float)
    cut = fdr(p, alpha) if len(p) else 0.0
    hot = np.zeros(grid.nx * grid.ny, bool)
    hot[land] = (z > 0) & (p <= cut)
    scores = np.zeros(grid.nx * grid.ny)
    scores[land] = z
    p_cell = np.ones(grid.nx * grid.ny)
    p_cell[land] = p
    result = _components(hot, counts, scores, min_events)
    p_values = np.array([p_cell[result.labels == k].min() for k in range(len(result.p_values))])
    return CellHotspots(result.labels, p_values, scores)


def dbscan(counts: np.ndarray, grid: Grid, *, eps_m: float, min_events: int) -> CellHotspots:
    """DBSCAN of the occupied cells, each weighted by its count (``sample_weight``)."""
    from sklearn.cluster import DBSCAN

    occupied = np.flatnonzero(counts.ravel() > 0)
    labels = np.full(grid.nx * grid.ny, -1)
    if len(occupied):
        x, y = grid.centres(occupied)
        fitted = DBSCAN(eps=eps_m, min_samples=min_events).fit(
            np.c_[x, y], sample_weight=counts.ravel()[occupied])
        labels[occupied] = fitted.labels_
    return _cluster_result(labels, counts, grid, eps_m)


def hdbscan(counts: np.ndarray, grid: Grid, *, min_events: int) -> CellHotspots:
    """HDBSCAN of the events (cell centres repeated by count; it takes no weights)."""
    from sklearn.cluster import HDBSCAN

    total = int(counts.sum())
    if total > HDBSCAN_MAX_EVENTS:
        raise ValueError(f"method='hdbscan' takes at most {HDBSCAN_MAX_EVENTS:,} events (got "
                         f"{total:,}): it is too slow beyond; use method='dbscan' or 'scan'")
    occupied = np.flatnonzero(counts.ravel() > 0)
    labels = np.full(grid.nx * grid.ny, -1)
    if len(occupied) >= 2:
        repeat = counts.ravel()[occupied].astype(int)
        x, y = grid.centres(np.repeat(occupied, repeat))
        fitted = HDBSCAN(min_cluster_size=max(min_events, 2), copy=True).fit(np.c_[x, y])
        # Repeats of one cell share a label; take the most common one per cell to be safe.
        per_event = np.repeat(np.arange(len(occupied)), repeat)
        for i in range(len(occupied)):
            values, n = np.unique(fitted.labels_[per_event == i], return_counts=True)
            labels[occupied[i]] = values[np.argmax(n)]
    return _cluster_result(labels, counts, grid, grid.cell_m * 2)


def _band_weights(grid: Grid, land: np.ndarray, bandwidth_m: float):
    """Binary distance-band weights between land cell centres (libpysal ``W``)."""
    from libpysal.weights import WSP

    x, y = grid.centres(land)
    tree = cKDTree(np.c_[x, y])
    pairs = tree.query_pairs(max(bandwidth_m, grid.cell_m * 1.01), output_type="ndarray")
    n = len(land)
    rows = np.r_[pairs[:, 0], pairs[:, 1]]
    cols = np.r_[pairs[:, 1], pairs[:, 0]]
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return WSP(matrix).to_W(silence_warnings=True)


def _top_cells(scores: np.ndarray, grid: Grid, coverage: float) -> np.ndarray:
    """The ``coverage`` share of West Yorkshire's area with the highest positive scores."""
    n_top = int(round(coverage * grid.area_km2 / grid.cell_km2))
    order = np.argsort(-scores, kind="stable")[:n_top]
    top = np.zeros(scores.size, bool)
    top[order[scores[order] > 0]] = True
    return top


def _components(mask: np.ndarray, counts: np.ndarray, scores: np.ndarray,
                min_events: int) -> CellHotspots:
    """Contiguous groups of ``mask`` cells holding ``min_events`` or more, by decreasing score."""
    shape = counts.shape
    parts, n = ndimage.label(mask.reshape(shape), structure=EIGHT_NEIGHBOURS)
    parts = parts.ravel() - 1
    if n == 0:
        return CellHotspots(np.full(mask.size, -1), np.empty(0), scores)
    events = np.bincount(parts[parts >= 0], weights=counts.ravel()[parts >= 0], minlength=n)
    weight = np.bincount(parts[parts >= 0], weights=scores[parts >= 0], minlength=n)
    keep = np.flatnonzero(events >= min_events)
    keep = keep[np.argsort(-weight[keep], kind="stable")]
    new = np.full(n + 1, -1)
    new[keep] = np.arange(len(keep))
    return CellHotspots(new[parts], np.full(len(keep), np.nan), scores)


def _cluster_result(labels: np.ndarray, counts: np.ndarray, grid: Grid,
                    radius_m: float) -> CellHotspots:
    """Clusters as hotspots (by decreasing size); cells scored by their neighbourhood count,
    cluster cells first (the density DBSCAN thresholds on)."""
    from models.scan import DiscConvolver

    land = np.flatnonzero(grid.land.ravel())
    conv = DiscConvolver(grid.shape, grid.cell_m, [max(radius_m, grid.cell_m)])
    near = np.zeros(grid.nx * grid.ny)
    near[land] = np.maximum(conv(counts[None], land)[0, 0], 0)
    scores = near + np.where(labels >= 0, near.max() + 1, 0)
    events = np.bincount(labels[labels >= 0], weights=counts.ravel()[labels >= 0])
    order = np.argsort(-events, kind="stable")
    new = np.full(len(events) + 1, -1)
    new[order] = np.arange(len(events))
    return CellHotspots(new[labels], np.full(len(events), np.nan), scores)


def intensity(counts, grid: Grid, labels, hotspot_events) -> np.ndarray:
    """Expected events per cell: a Gamma-Poisson (empirical Bayes) blend of the cell's own count
    and the fitted prior mean, which is the hotspot's rate (events spread evenly over its cells)
    inside a hotspot and the outside rate per resident x the cell's population elsewhere.

    The posterior mean is ``m (c + a) / (m + a)``; the prior shape ``a`` is the method-of-moments
    estimate of the extra-Poisson variation, ``1/a = sum((c - m)^2 - c) / sum(m^2)``, from the
    training data itself.
    """
    population, inside = grid.population.ravel(), labels >= 0
    outside_rate = (counts.sum() - counts[inside].sum()) / max(population[~inside].sum(), 1e-9)
    prior = population * outside_rate
    for k, events in enumerate(hotspot_events):
        cells = labels == k
        prior[cells] = events / cells.sum()
    land = population > 0
    m, c = prior[land], counts[land]
    inverse_shape = ((c - m) ** 2 - c).sum() / max((m ** 2).sum(), 1e-12)
    shape = 1 / min(max(inverse_shape, 1e-3), 1e3)
    return np.where(land, prior * (counts + shape) / np.maximum(prior + shape, 1e-12), 0.0)
