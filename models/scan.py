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

Areal windows (``models.scan_areas``: each LSOA's cells, and each LSOA with its neighbours'),
when given, are scored beside the discs with the same LLR and ``min_events``; each simulated
maximum is then over discs and areal windows alike. One report (``report_windows``) keeps the
significant windows of both kinds by LLR with no shared cell; without areal windows it is the
discs' alone, as before.

Decision rule: a window is reported when ``p < alpha`` (strictly). Under the null the observed
maximum is exchangeable with the simulated ones (same total, same multinomial), so its rank is
uniform and ``P(p <= k / (n + 1)) = k / (n + 1)``: the rule ``p <= alpha`` would have size
exactly ``alpha`` (5 in 100 with 99 simulations), and ``p < alpha`` has size at most
``alpha - 1 / (n + 1)`` (4 in 100 with 99 simulations; ties and ``min_events`` lower it
further). Secondary windows never have a smaller p-value than the primary one, so this is the
chance, on data with no hotspot, of reporting any hotspot at all. docs/hotspots.md gives the
measurements behind the choice.

Window counts for every centre and radius are sums of shifted copies of the count grid (row
runs of each width, then the rows of each disc: ``DiscConvolver``); very large discs fall back
to one FFT convolution per radius. Either way the cost depends on the grid and the number of
simulations, not on the number of events. The simulations are ``models.scan_null``'s: they
score only the windows whose LLR could beat a known bound, so the logarithms are taken for a
few windows per data set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from models.scan_null import null_maxima, poisson_llr

SINGLE_MAX = 50_000  # below this many events, simulated counts are convolved in float32 by FFT
DIRECT_MAX_CELLS = 400  # discs up to this many cells are summed by shifts, larger ones by FFT
EXACT_FLOAT32 = 2 ** 24  # float32 holds every integer below this exactly
OVERLAPS = ("none", "centres")  # which secondary windows are reported (``report_windows``)

__all__ = ["OVERLAPS", "DiscConvolver", "ScanResult", "poisson_llr", "poisson_scan"]


@dataclass(frozen=True)
class ScanResult:
    """Reported windows (non-overlapping, by decreasing LLR) and the simulated maxima.

    ``centre`` are flat grid indices, ``radius_m`` radii, ``cells`` the flat indices of each
    window's land cells; ``events``, ``expected``, ``llr`` and ``p_value`` per window.
    ``max_llr`` is the observed largest LLR (the most likely cluster's, reported or not) and
    ``null_max`` the simulated maxima it is ranked among. ``window`` says what each window is:
    ``"disc"``, ``"lsoa"`` or ``"lsoa+neighbours"`` (an areal window: ``centre`` -1 and
    ``radius_m`` NaN).
    """

    centre: np.ndarray
    radius_m: np.ndarray
    cells: list
    events: np.ndarray
    expected: np.ndarray
    llr: np.ndarray
    p_value: np.ndarray
    null_max: np.ndarray
    max_llr: float = 0.0
    window: tuple = ()  # per window: "disc", or an areal kind (``models.scan_areas.KINDS``)

    @property
    def most_likely_p_value(self) -> float:
        """Monte-Carlo p-value of the most likely cluster, whether reported or not (1.0 when no
        window is scored): ``(1 + #{simulated max >= max_llr}) / (n_simulations + 1)``."""
        if self.max_llr <= 0:
            return 1.0
        return float((1 + (self.null_max >= self.max_llr).sum()) / (len(self.null_max) + 1))


class DiscConvolver:
    """Counts within each radius of every cell centre (exact for integer grids).

    Discs of up to ``DIRECT_MAX_CELLS`` cells are summed directly: a disc is a stack of centred
    runs of cells, so the padded grid's run sums of each width are built once (two shifted
    additions per width) and each radius adds one shifted run sum per row (45 additions for the
    default five radii instead of 81 cells). Larger discs use one FFT convolution per radius
    (rounded afterwards).
    """

    def __init__(self, shape: tuple[int, int], cell_m: float, radii_m):
        self.shape = shape
        self.cell_m = float(cell_m)
        self.radii_m = np.asarray(radii_m, float)
        self.half = int(self.radii_m.max() // cell_m)
        k = self.half
        di, dj = np.mgrid[-k:k + 1, -k:k + 1]
        distance = np.hypot(di, dj) * cell_m
        self.offsets = [np.argwhere(distance <= r + 1e-6) - k for r in self.radii_m]
        self.direct = max(len(o) for o in self.offsets) <= DIRECT_MAX_CELLS
        if self.direct:
            # Each disc is a stack of centred runs: row dy spans columns -w..w, w = widths[r, dy]
            # (-1: the row is not in the disc).
            self.widths = np.array([[int(np.flatnonzero(row).size // 2) if row.any() else -1
                                     for row in distance <= r + 1e-6] for r in self.radii_m])
            return
        self.fshape = (sfft.next_fast_len(shape[0] + 2 * k),
                       sfft.next_fast_len(shape[1] + 2 * k, real=True))
        kernels = np.stack([(distance <= r + 1e-6).astype(float) for r in self.radii_m])
        self.kernel_f = sfft.rfft2(kernels, s=self.fshape, workers=-1)
        self.kernel_f32 = self.kernel_f.astype(np.complex64)

    @property
    def single_max(self) -> int:
        """Largest integer-grid total that ``single=True`` still sums exactly."""
        return EXACT_FLOAT32 if self.direct else SINGLE_MAX

    def count_dtype(self, total: float):
        """The narrowest type that sums integer grids of ``total`` events exactly: 16-bit
        integers by shifts (half the memory traffic of float32), else float32, else float64."""
        if self.direct and total < 2 ** 16:
            return np.uint16
        return np.float32 if total <= self.single_max else np.float64

    def __call__(self, grids: np.ndarray, at: np.ndarray, single: bool = False,
                 dtype=None) -> np.ndarray:
        """Window sums of ``grids`` (B, ny, nx) at flat cells ``at``: shape (B, n_radii, len(at)).

        ``single`` computes in float32 (faster): exact for integer grids whose total is at most
        ``single_max``. ``dtype`` (with shifts only) sets the type outright, e.g.
        ``count_dtype(total)``.
        """
        if self.direct:
            return self._shifted(grids, at, dtype or (np.float32 if single else float))
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

    def _shifted(self, grids: np.ndarray, at: np.ndarray, dtype) -> np.ndarray:
        """Disc sums by shifted additions: row sums of every run width (``runs[w]`` sums the
        columns -w..w), then each disc adds its rows' runs, shifted vertically."""
        k, (ny, nx) = self.half, self.shape
        b = len(grids)
        padded = np.zeros((b, ny + 2 * k, nx + 2 * k), dtype)
        padded[:, k:k + ny, k:k + nx] = grids
        runs = [padded[:, :, k:k + nx].copy()]
        for w in range(1, int(self.widths.max()) + 1):
            runs.append(runs[-1] + padded[:, :, k + w:k + w + nx]
                        + padded[:, :, k - w:k - w + nx])
        out = np.empty((b, len(self.radii_m), len(at)), dtype)
        total = np.empty((b, ny, nx), dtype)
        for r, widths in enumerate(self.widths):
            total.fill(0)
            for dy, w in enumerate(widths):
                if w >= 0:
                    total += runs[w][:, dy:dy + ny]
            out[:, r] = total.reshape(b, -1)[:, at]
        return out


def poisson_scan(counts: np.ndarray, population: np.ndarray, cell_m: float, radii_m, *,
                 min_events: int, n_simulations: int, alpha: float, rng,
                 areas=None, overlap: str = "none") -> ScanResult:
    """Scan ``counts`` (ny, nx) against ``population`` (ny, nx); report windows with p < alpha.

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
    areas : models.scan_areas.AreaWindows or None, default=None
        Areal windows (over the land cells ``population > 0``) scored beside the discs: the
        same LLR and ``min_events``, and each simulated maximum is over discs and areal
        windows alike. ``None``: discs only.

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
    if areas is None or not areas.n_windows:
        null_max = null_maxima(population, land, total, conv, expected, min_events,
                                n_simulations, rng)
        return report_windows((llr, observed, expected), None, null_max, land,
                              counts.ravel()[land], conv, None, alpha, overlap)
    area_expected = total * areas.sums(population.ravel()[land][None] / population.sum())[0]
    area_observed = np.rint(areas.sums(counts.ravel()[land][None])[0])
    area_llr = poisson_llr(area_observed, area_expected, total, min_events)
    null_max = null_maxima(population, land, total, conv, expected, min_events,
                            n_simulations, rng,
                            areas.null_scorer(area_expected, total, min_events))
    return report_windows((llr, observed, expected), (area_llr, area_observed, area_expected),
                          null_max, land, counts.ravel()[land], conv, areas, alpha, overlap)


def report_windows(discs, areal, null_max, land, own, conv, areas, alpha,
                   overlap: str = "none") -> ScanResult:
    """Significant windows (discs, and areal windows when given) by decreasing LLR, skipping
    any that shares a land cell with a kept one (``overlap="none"``) or, with
    ``overlap="centres"`` (SaTScan's "no cluster centres in other clusters"), any whose centre
    lies in a kept window or which holds a kept window's centre: kept windows may then share
    cells (docs/hotspots.md, 3e). A disc's centre is its centre cell, an areal window's
    ``area_centres``'.

    ``discs`` is (llr, observed, expected), each (n_radii, n_land); ``areal`` the same by
    areal window, or ``None`` with ``areas`` ``None`` (discs alone). ``own`` is the count of
    each land cell alone (for breaking ties). Ties go to the window of fewer cells, then to a
    disc over an areal window, then to the smaller radius, then to the disc whose centre cell
    holds more events, then to the lower index. LLRs are rounded first: FFT sums carry ~1e-12
    noise that would break real ties.
    """
    sims = np.sort(null_max)
    n_sim = len(sims)

    def p_values(llr):
        return (1 + n_sim - np.searchsorted(sims, llr, side="left")) / (n_sim + 1)

    d_llr, d_obs, d_exp = (a.ravel() for a in discs)
    a_llr, a_obs, a_exp = (np.zeros(0),) * 3 if areal is None else areal
    d_p, a_p = p_values(d_llr), p_values(a_llr)
    d_cand = np.flatnonzero((d_llr > 0) & (d_p < alpha))
    a_cand = np.flatnonzero((a_llr > 0) & (a_p < alpha))
    radius_i, land_i = np.divmod(d_cand, len(land))
    disc_size = np.array([len(o) for o in conv.offsets])[radius_i]
    is_area = np.r_[np.zeros(len(d_cand), bool), np.ones(len(a_cand), bool)]
    index = np.r_[d_cand, a_cand]
    strength = np.r_[d_llr[d_cand], a_llr[a_cand]]
    size = np.r_[disc_size, areas.cell_counts()[a_cand] if len(a_cand) else np.zeros(0, int)]
    centre_own = np.r_[own[land_i], np.zeros(len(a_cand))]
    radius_rank = np.r_[radius_i, np.zeros(len(a_cand), int)]
    order = np.lexsort((index, -centre_own, radius_rank, is_area, size,
                        -np.round(strength, 8)))
    shape = conv.shape
    position = np.full(shape[0] * shape[1], -1)
    position[land] = np.arange(len(land))
    rows, cols = np.divmod(land[land_i], shape[1])
    radius = conv.radii_m[radius_i]
    disc_at = np.full(len(index), -1)
    disc_at[:len(d_cand)] = np.arange(len(d_cand))
    alive = np.ones(len(d_cand), bool)  # discs not ruled out by a kept window
    taken = np.zeros(len(land), bool)  # land cells of the kept windows
    if overlap == "centres":
        area_centre = area_centres(areas, land, shape[1]) if len(a_cand) else None
        kept, cells = _keep_by_centres(order, is_area, index, disc_at, alive, taken, land,
                                       land_i, radius_i, rows, cols, radius, position, conv,
                                       areas, area_centre)
    else:
        kept, cells = _keep_apart(order, is_area, index, disc_at, alive, taken, radius_i,
                                  rows, cols, radius, position, conv, areas)
    cells = [land[np.sort(mine)] for mine in cells]
    kept = np.array(kept, dtype=int)
    area_k = is_area[kept]
    at = index[kept]
    disc_k = np.where(area_k, 0, at)
    area_i = np.where(area_k, at, 0)

    def pick(disc_values, area_values):
        return np.where(area_k, area_values[area_i] if len(area_values) else 0,
                        disc_values[disc_k] if len(disc_values) else 0)

    kinds = np.array(("disc", "lsoa", "lsoa+neighbours"))  # models.scan_areas.KINDS after disc
    area_kind = areas.kind[area_i] if area_k.any() else np.zeros(len(kept), int)
    window = tuple(kinds[np.where(area_k, 1 + area_kind, 0)]) if len(kept) else ()
    centre = np.where(area_k, -1, land[disc_k % len(land)]) if len(kept) else np.zeros(0, int)
    radius_k = (np.where(area_k, np.nan, conv.radii_m[disc_k // len(land)]) if len(kept)
                else np.zeros(0))
    largest = max(float(d_llr.max()) if d_llr.size else 0.0,
                  float(a_llr.max()) if a_llr.size else 0.0)
    return ScanResult(centre, radius_k, cells, pick(d_obs, a_obs), pick(d_exp, a_exp),
                      pick(d_llr, a_llr), pick(d_p, a_p), null_max, largest, window)


def _disc_cells(d, radius_i, rows, cols, position, conv) -> np.ndarray:
    """Positions (in the land cells) of candidate disc ``d``'s land cells."""
    shape = conv.shape
    off = conv.offsets[radius_i[d]]
    r, c = rows[d] + off[:, 0], cols[d] + off[:, 1]
    ok = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
    mine = position[r[ok] * shape[1] + c[ok]]
    return mine[mine >= 0]


def _keep_apart(order, is_area, index, disc_at, alive, taken, radius_i, rows, cols, radius,
                position, conv, areas):
    """Windows in ``order`` sharing no land cell with a kept one."""
    kept, cells, areal_kept = [], [], False
    for i in order:
        if is_area[i]:
            mine = areas.cells(index[i])
            if taken[mine].any():
                continue
        else:
            d = disc_at[i]
            if not alive[d]:
                continue
            mine = _disc_cells(d, radius_i, rows, cols, position, conv)
            if areal_kept and taken[mine].any():
                continue
            # Discs share no cell centre when the centres are further apart than the radii's sum.
            gap = np.hypot(rows - rows[d], cols - cols[d]) * conv.cell_m
            alive &= gap > radius + radius[d] + 1e-6
        areal_kept |= bool(is_area[i])
        taken[mine] = True
        kept.append(i)
        cells.append(mine)
    return kept, cells


def _keep_by_centres(order, is_area, index, disc_at, alive, taken, land, land_i, radius_i,
                     rows, cols, radius, position, conv, areas, area_centre):
    """Windows in ``order`` whose centre lies in no kept window and which hold no kept
    window's centre (SaTScan's "no cluster centres in other clusters")."""
    kept, cells = [], []
    centre_taken = np.zeros(len(taken), bool)  # centres of the kept windows
    for i in order:
        if is_area[i]:
            mine, centre = areas.cells(index[i]), area_centre[index[i]]
            if taken[centre] or centre_taken[mine].any():
                continue
        else:
            d = disc_at[i]
            if not alive[d]:
                continue
            mine, centre = _disc_cells(d, radius_i, rows, cols, position, conv), land_i[d]
        taken[mine] = True
        centre_taken[centre] = True
        # Rule out, at once, every disc whose centre is now in a kept window or which holds
        # this centre (within its radius of it: the centre is a land cell).
        centre_row, centre_col = divmod(int(land[centre]), conv.shape[1])
        reach = np.hypot(rows - centre_row, cols - centre_col) * conv.cell_m
        alive &= ~taken[land_i] & (reach > radius + 1e-6)
        kept.append(i)
        cells.append(mine)
    return kept, cells


def area_centres(areas, land: np.ndarray, nx: int) -> np.ndarray:
    """Each areal window's centre, a position in the land cells: the cell of its own LSOA
    (``centre_unit``) nearest the mean position of that LSOA's cells."""
    units = areas.units
    rows, cols = np.divmod(land, nx)
    centre_of_unit = np.full(units.shape[0], -1)
    for u in np.unique(areas.centre_unit):
        mine = units.indices[units.indptr[u]:units.indptr[u + 1]]
        if len(mine):
            far = np.hypot(rows[mine] - rows[mine].mean(), cols[mine] - cols[mine].mean())
            centre_of_unit[u] = mine[np.argmin(far)]
    return centre_of_unit[areas.centre_unit]
