"""The ranking's top band, tuned on held-out hits (``ForecastRanker(objective="top-hits")``).

The mixture's weights maximise the held-out log-likelihood: every held-out event counts, the
ones a partnership will never task (the far tail of the surface) as much as the ones in the
few cells it will. What a tasking list is judged on is narrower: how many later events fall in
its top 0.5-2% of the area. Here the same rolling-origin folds score a few candidate weightings
on exactly that, held-out events caught in the top ``band`` shares summed over the folds, and
the best one ranks the top band; the likelihood weights rank the rest of the surface.

The candidates are few and fixed (``candidate_weights``): the likelihood weights themselves,
every background KDE alone, the likelihood weights without the flat surfaces (residents,
uniform) and without the near-repeat ones, and halfway blends of the likelihood weights with
the two tightest backgrounds. Few, so that a sparse feed's ~100 held-out events are not searched over a
continuum (a choice among many candidates by a handful of hits fits the noise); the likelihood
weights win every tie, and an alternative must catch ``min_gain`` more held-out events a fold
than them to be taken.

Not the default (``docs/hotspot-evaluation.md``, 2026-12-03, "A ranking objective for the top
band"): on the tuning draws (seeds 101-106 sparse, 101-104 dense) it caught no more than the
likelihood weights. With ``min_gain=0`` a sparse feed's choice follows a handful of hits and
catches fewer (488 against 504 events at 0.5%, 662 against 669 at 2%); with ``min_gain`` of
0.5 a fold or more it never leaves the likelihood weights; on dense feeds the two differ by
less than 0.2% of the events caught either way. ``python -m models.evaluate --methods
forecast-top`` runs it.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from models._surface_names import kernel_of
from models.metrics import cells_for_coverage

HALFWAY = ("kde100", "kde200")  # blended halfway with the likelihood weights


def candidate_weights(names: list[str], likelihood: np.ndarray) -> list[np.ndarray]:
    """The weightings the top band chooses from, the likelihood weights first (module doc)."""
    k = len(names)
    out = [likelihood]
    kdes = [i for i, n in enumerate(names) if n.startswith("kde")]
    for drop in (("population", "uniform"), ("recent",)):
        kept = np.array([0.0 if n.startswith(drop) else w for n, w in zip(names, likelihood)])
        if kept.sum() > 0 and not np.allclose(kept / kept.sum(), likelihood):
            out.append(kept / kept.sum())
    for i in kdes:
        alone = np.zeros(k)
        alone[i] = 1.0
        out.append(alone)
        if names[i] in HALFWAY:
            out.append(0.5 * likelihood + 0.5 * alone)
    return out


def fold_surfaces(grid, cell: np.ndarray, day: np.ndarray, origin: int, names: list[str],
                  land: np.ndarray) -> np.ndarray:
    """Every named surface on the land cells (rows, float32), from events before ``origin``:
    ``models.forecast._surfaces`` at single precision, which is all a ranking of one fold
    needs and half its time."""
    out = np.empty((len(names), len(land)), np.float32)
    counts = grid.counts(cell).astype(np.float32)
    population = grid.population.ravel()[land]
    for row, name in enumerate(names):
        kernel = kernel_of(name)
        if kernel is not None:
            spread, decay = kernel
            raw = counts if decay is None else grid.counts(
                cell, np.exp(-(origin - day) / decay)).astype(np.float32)
            values = ndimage.gaussian_filter(raw, sigma=spread / grid.cell_m, truncate=4.0,
                                             mode="constant").ravel()[land]
        elif name == "population":
            values = population
        else:
            values = np.ones(len(land))
        values = np.maximum(values, 0)
        total = values.sum()
        out[row] = values / total if total > 0 else 1.0 / len(land)
    return out


def fold_hits(surfaces: np.ndarray, held_out: np.ndarray, candidates: list[np.ndarray],
              n_cells: list[int]) -> np.ndarray:
    """Held-out events caught in each candidate's top ``n_cells`` land cells.

    Parameters
    ----------
    surfaces : ndarray of shape (n_surfaces, n_land)
        Every surface on the land cells, from the fold's training events.
    held_out : ndarray of int
        Land-cell position of every held-out event of the fold (repeats count).
    candidates : list of ndarray
        Weightings of the surfaces.
    n_cells : list of int
        Band sizes in cells, ascending.

    Returns
    -------
    ndarray of shape (len(candidates), len(n_cells))
        Held-out events inside each candidate's top cells (ties at the cut count as inside,
        as a ranking would take any of them).
    """
    hits = np.zeros((len(candidates), len(n_cells)))
    largest = max(n_cells)
    events = np.bincount(held_out, minlength=surfaces.shape[1])
    scores = np.vstack(candidates).astype(surfaces.dtype) @ surfaces  # one BLAS product
    for j, score in enumerate(scores):
        top = np.argpartition(-score, largest - 1)[:largest]
        top = top[np.argsort(-score[top], kind="stable")]
        caught = np.cumsum(events[top])
        hits[j] = caught[np.asarray(n_cells) - 1]
    return hits


def band_cells(n_land: int, area_km2: float, cell_km2: float, band) -> list[int]:
    """Cells in each share of ``band`` (ascending), at most every land cell."""
    return sorted(min(cells_for_coverage(s, area_km2, cell_km2), n_land) for s in band)


def choose(hits: np.ndarray, n_folds: int, min_gain: float) -> int:
    """Index of the candidate with the most held-out hits (summed over folds and band shares);
    the likelihood weights (index 0) unless another beats them by ``min_gain`` a fold."""
    total = hits.sum(axis=1)
    best = int(np.argmax(total))
    return best if total[best] > total[0] + min_gain * n_folds else 0


def blend(likelihood_share: np.ndarray, band_share: np.ndarray, land: np.ndarray,
          n_band: int) -> np.ndarray:
    """One surface ranking the top ``n_band`` land cells of ``band_share`` first (by it) and
    every other cell by ``likelihood_share``, rescaled to the likelihood surface's total.

    The band keeps its own values (both are expected shares of next month's events); the cells
    outside are scaled down together, when they must be, to just below the band's lowest, so
    the ranking is the band, then the rest in the likelihood surface's order.
    """
    out = likelihood_share.copy()
    band_score = band_share[land]
    top = land[np.argpartition(-band_score, n_band - 1)[:n_band]]
    floor = band_share[top].min()
    outside = np.ones(len(out), bool)
    outside[top] = False
    highest = out[outside].max(initial=0.0)
    if highest >= floor > 0:
        out[outside] *= np.nextafter(floor, 0.0) / highest * (1 - 1e-9)
    out[top] = band_share[top]
    total = out.sum()
    return out * (likelihood_share.sum() / total) if total > 0 else out
