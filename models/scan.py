"""Kulldorff's Poisson spatial scan statistic on a grid, against a population baseline.

Windows are discs centred on every land cell, with radii from one cell up to ``max_radius_m``;
a window holds the cells whose centre lies within the radius. Under the null hypothesis events
fall in proportion to resident population, so a window holding population share ``q`` expects
``e = C q`` of the ``C`` events. A window with ``c > e`` events scores the log-likelihood ratio

    LLR = c log(c / e) + (C - c) log((C - c) / (C - e)),

and the most likely cluster is the window of largest LLR. Its p-value is its rank among the
largest LLRs of ``n_simulations`` data sets drawn under the null (the same ``C`` events spread
multinomially by population): ``p = (1 + #{simulated max >= LLR}) / (n_simulations + 1)``.
Secondary clusters are the next windows by LLR that share no cell with a reported one, tested
against the same distribution of maxima, which makes their p-values conservative (Kulldorff 1997;
SaTScan's "no geographical overlap"). Windows with fewer than ``min_events`` events are not
scored, in the observed and in the simulated data alike, so the test stays exact.

Window counts for every centre and radius are one FFT convolution of the count grid with a disc
per radius: the cost depends on the grid and the number of simulations, not on the number of
events.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy.special import xlogy

BATCH = 8  # simulated data sets convolved together: bounds memory
SINGLE_MAX = 50_000  # below this many events, simulated counts are convolved in float32


@dataclass(frozen=True)
class ScanResult:
    """Reported windows (non-overlapping, by decreasing LLR) and the simulated maxima.

    ``centre`` are flat grid indices, ``radius_m`` radii, ``cells`` the flat indices of each
    window's land cells; ``events``, ``expected``, ``llr`` and ``p_value`` per window.
    """

    centre: np.ndarray
    radius_m: np.ndarray
    cells: list
    events: np.ndarray
    expected: np.ndarray
    llr: np.ndarray
    p_value: np.ndarray
    null_max: np.ndarray


class DiscConvolver:
    """Counts within each radius of every cell centre, by FFT (exact after rounding)."""

    def __init__(self, shape: tuple[int, int], cell_m: float, radii_m):
        self.shape = shape
        self.cell_m = float(cell_m)
        self.radii_m = np.asarray(radii_m, float)
        self.half = int(self.radii_m.max() // cell_m)
        k = self.half
        di, dj = np.mgrid[-k:k + 1, -k:k + 1]
        distance = np.hypot(di, dj) * cell_m
        self.offsets = [np.argwhere(distance <= r + 1e-6) - k for r in self.radii_m]
        self.fshape = (sfft.next_fast_len(shape[0] + 2 * k),
                       sfft.next_fast_len(shape[1] + 2 * k, real=True))
        kernels = np.stack([(distance <= r + 1e-6).astype(float) for r in self.radii_m])
        self.kernel_f = sfft.rfft2(kernels, s=self.fshape, workers=-1)
        self.kernel_f32 = self.kernel_f.astype(np.complex64)

    def __call__(self, grids: np.ndarray, at: np.ndarray, single: bool = False) -> np.ndarray:
        """Window sums of ``grids`` (B, ny, nx) at flat cells ``at``: shape (B, n_radii, len(at)).

        ``single`` computes in float32 (twice as fast): exact after rounding for integer grids
        whose total is below ``SINGLE_MAX``.
        """
        k, nx = self.half, self.shape[1]
        kernel_f = self.kernel_f32 if single else self.kernel_f
        spectrum = sfft.rfft2(grids.astype(np.float32 if single else float), s=self.fshape,
                              workers=-1)
        out = np.empty((len(grids), len(self.radii_m), len(at)), np.float32 if single else float)
        rows, cols = np.divmod(at, nx)
        for r in range(len(self.radii_m)):
            full = sfft.irfft2(spectrum * kernel_f[r], s=self.fshape, workers=-1)
            out[:, r] = full[:, rows + k, cols + k]
        return out


def poisson_llr(c: np.ndarray, e: np.ndarray, total: float, min_events: float) -> np.ndarray:
    """Kulldorff's Poisson log-likelihood ratio of windows; 0 where ``c <= e`` or too few."""
    c, e = np.broadcast_arrays(c, e)
    scored = (c >= min_events) & (c > e) & (e > 0)
    out = np.zeros(c.shape)
    cc, ee = c[scored], e[scored]
    out[scored] = xlogy(cc, cc / ee) + xlogy(total - cc, (total - cc) / (total - ee))
    return out


def poisson_scan(counts: np.ndarray, population: np.ndarray, cell_m: float, radii_m, *,
                 min_events: int, n_simulations: int, alpha: float, rng) -> ScanResult:
    """Scan ``counts`` (ny, nx) against ``population`` (ny, nx); report windows with p <= alpha.

    Parameters
    ----------
    counts, population : ndarray
        Events and residents per cell; cells with no population are off land (never centres,
        and hold no events).
    cell_m : float
        Cell size in metres.
    radii_m : sequence of float
        Window radii in metres.
    min_events, n_simulations, alpha
        See ``HotspotModel``.
    rng : numpy.random.Generator

    Returns
    -------
    ScanResult
    """
    land = np.flatnonzero(population.ravel() > 0)
    total = float(counts.sum())
    conv = DiscConvolver(population.shape, cell_m, radii_m)
    share = conv(population[None] / population.sum(), land)[0]  # (n_radii, n_land)
    expected = total * share
    observed = np.rint(conv(counts[None], land)[0])
    llr = poisson_llr(observed, expected, total, min_events)
    null_max = _null_maxima(population, land, total, conv, expected, min_events,
                            n_simulations, rng)
    return _report(llr, observed, expected, null_max, land, counts.ravel()[land], conv, alpha)


def _null_maxima(population, land, total, conv, expected, min_events, n_simulations, rng):
    """Largest LLR of each data set simulated under the null (same total, spread by population)."""
    cumulative = np.cumsum(population.ravel()[land] / population.sum())
    n_cells, single = population.size, total <= SINGLE_MAX
    floor = np.maximum(expected, min_events - 0.5).astype(np.float32 if single else float)
    maxima = np.zeros(n_simulations)
    if total < min_events or n_simulations == 0:
        return maxima
    for start in range(0, n_simulations, BATCH):
        size = min(BATCH, n_simulations - start)
        grids = np.zeros((size, n_cells), np.float32 if single else float)
        for b in range(size):
            grids[b, land] = _spread(rng, int(total), cumulative)
        sums = conv(grids.reshape(size, *population.shape), land, single=single)
        maxima[start:start + size] = _max_llr(sums, floor, expected, total)
    return maxima


def _max_llr(sums: np.ndarray, floor: np.ndarray, expected: np.ndarray, total: float):
    """Largest LLR of each data set in ``sums`` (B, n_radii, n_land); scores only the windows
    whose count clears ``floor`` (max of expected and min_events), which are few."""
    b, r, i = np.nonzero(sums > floor)
    best = np.zeros(len(sums))
    if len(b):
        c = np.rint(sums[b, r, i]).astype(float)
        np.maximum.at(best, b, poisson_llr(c, expected[r, i], total, 0))
    return best


def _spread(rng, total: int, cumulative: np.ndarray) -> np.ndarray:
    """``total`` events over cells with cumulative probabilities ``cumulative`` (multinomial)."""
    n = len(cumulative)
    if total < n:  # few events: draw their cells (faster than one binomial per cell)
        cell = np.searchsorted(cumulative, rng.random(total) * cumulative[-1], side="right")
        return np.bincount(np.minimum(cell, n - 1), minlength=n)
    return rng.multinomial(total, np.diff(cumulative, prepend=0.0) / cumulative[-1])


def _report(llr, observed, expected, null_max, land, own, conv, alpha) -> ScanResult:
    """Significant windows by decreasing LLR, skipping any that shares a cell with a kept one.

    ``own`` is the count of each land cell alone (for breaking ties).
    """
    shape = conv.shape
    sims = np.sort(null_max)
    n_sim = len(sims)
    p_all = (1 + n_sim - np.searchsorted(sims, llr.ravel(), side="left")) / (n_sim + 1)
    candidate = np.flatnonzero((llr.ravel() > 0) & (p_all <= alpha))
    radius_i, land_i = np.divmod(candidate, len(land))
    # By LLR; ties (windows with the same cells' worth of events) go to the smaller window,
    # then to the one whose centre cell holds more events, then to the lower index.
    # LLRs are rounded first: FFT sums carry ~1e-12 noise that would break real ties.
    order = np.lexsort((candidate, -own[land_i], radius_i,
                        -np.round(llr.ravel()[candidate], 8)))
    candidate, radius_i, land_i = candidate[order], radius_i[order], land_i[order]
    rows, cols = np.divmod(land[land_i], shape[1])
    radius = conv.radii_m[radius_i]
    alive = np.ones(len(candidate), bool)
    kept = []
    for i in range(len(candidate)):
        if not alive[i]:
            continue
        kept.append(i)
        # Discs share no cell centre when the centres are further apart than the radii's sum.
        gap = np.hypot(rows[i:] - rows[i], cols[i:] - cols[i]) * conv.cell_m
        alive[i:] &= gap > radius[i:] + radius[i] + 1e-6
    kept = np.array(kept, dtype=int)
    land_set = np.zeros(shape[0] * shape[1], bool)
    land_set[land] = True
    cells = []
    for i in kept:
        off = conv.offsets[radius_i[i]]
        r, c = rows[i] + off[:, 0], cols[i] + off[:, 1]
        ok = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
        flat = r[ok] * shape[1] + c[ok]
        cells.append(flat[land_set[flat]])
    flat_llr, flat_obs, flat_exp = llr.ravel(), observed.ravel(), expected.ravel()
    chosen = candidate[kept]
    return ScanResult(land[land_i[kept]], radius[kept], cells, flat_obs[chosen],
                      flat_exp[chosen], flat_llr[chosen], p_all[chosen], null_max)
