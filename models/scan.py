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
simulations, not on the number of events. Simulated maxima score only the windows whose LLR
could beat a known lower bound (``_max_llr``), so the logarithms are taken for a handful of
windows per data set.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy.special import xlogy

BATCH = 8  # simulated data sets convolved together: bounds memory
SINGLE_MAX = 50_000  # below this many events, simulated counts are convolved in float32 by FFT
DIRECT_MAX_CELLS = 400  # discs up to this many cells are summed by shifts, larger ones by FFT
EXACT_FLOAT32 = 2 ** 24  # float32 holds every integer below this exactly
UINT16_TOP = 2 ** 16 - 1  # ``_ShiftedNull`` sums totals below this in uint16 (above: float32)
NULL_BATCH = 4  # simulated data sets summed together there (~2 MB of 16-bit sums)
FULL_FIRST = 4  # simulated data sets scored in full before a level is set (``_ShiftedNull``)
LEVEL_SHARE = 0.7  # the level: this share of the smallest of their maxima
SAMPLER_BUCKETS = 8  # buckets per cell of ``_CellSampler``'s look-up table


@dataclass(frozen=True)
class ScanResult:
    """Reported windows (non-overlapping, by decreasing LLR) and the simulated maxima.

    ``centre`` are flat grid indices, ``radius_m`` radii, ``cells`` the flat indices of each
    window's land cells; ``events``, ``expected``, ``llr`` and ``p_value`` per window.
    ``max_llr`` is the observed largest LLR (the most likely cluster's, reported or not) and
    ``null_max`` the simulated maxima it is ranked among.
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


def poisson_llr(c: np.ndarray, e: np.ndarray, total: float, min_events: float) -> np.ndarray:
    """Kulldorff's Poisson log-likelihood ratio of windows; 0 where ``c <= e`` or too few."""
    c, e = np.broadcast_arrays(c, e)
    scored = (c >= min_events) & (c > e) & (e > 0)
    out = np.zeros(c.shape)
    cc, ee = c[scored], e[scored]
    out[scored] = xlogy(cc, cc / ee) + xlogy(total - cc, (total - cc) / (total - ee))
    return out


def poisson_scan(counts: np.ndarray, population: np.ndarray, cell_m: float, radii_m, *,
                 min_events: int, n_simulations: int, alpha: float, rng,
                 threads: int = 1) -> ScanResult:
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
    threads : int, default=1
        Threads the simulations may use (at most the machine's cores). The simulated data
        sets are drawn from ``rng`` in order whatever the number, so the result is the same.

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
                            n_simulations, rng, threads)
    return _report(llr, observed, expected, null_max, land, counts.ravel()[land], conv, alpha)


def _null_maxima(population, land, total, conv, expected, min_events, n_simulations, rng,
                 threads=1):
    """Largest LLR of each data set simulated under the null (same total, spread by population).

    Discs summed by shifts, in uint16 or float32 (``DiscConvolver.count_dtype``), take
    ``_ShiftedNull`` (windows picked by thresholds, ``threads`` workers); the others (FFT,
    float64) are summed ``BATCH`` data sets at a time here. Either way the data sets are drawn
    in order from ``rng`` and the maxima are the same numbers.
    """
    cumulative = np.cumsum(population.ravel()[land] / population.sum())
    n_cells, dtype = population.size, conv.count_dtype(total)
    single = dtype != np.float64
    floor = np.maximum(expected, min_events - 0.5).astype(np.float32 if single else float)
    maxima = np.zeros(n_simulations)
    if total < min_events or n_simulations == 0:
        return maxima
    if conv.direct and dtype != np.float64:
        null_dtype = np.uint16 if total < UINT16_TOP else np.float32
        return _ShiftedNull(conv, land, expected, floor, total, cumulative, null_dtype).maxima(
            rng, n_simulations, threads)
    for start in range(0, n_simulations, BATCH):
        size = min(BATCH, n_simulations - start)
        grids = np.zeros((size, n_cells), dtype)
        for b in range(size):
            grids[b, land] = _spread(rng, int(total), cumulative)
        sums = conv(grids.reshape(size, *population.shape), land, single=single,
                    dtype=dtype if conv.direct else None)
        maxima[start:start + size] = _max_llr(sums, floor, expected, total)
    return maxima


def _max_llr(sums: np.ndarray, floor: np.ndarray, expected: np.ndarray, total: float):
    """Largest LLR of each data set in ``sums`` (B, n_radii, n_land).

    Only windows whose count clears ``floor`` (max of expected and min_events) can score. Of
    those, the logarithms are taken only where the LLR could be the largest: by
    ``log x <= x - 1`` applied to both terms, ``LLR <= (c - e)^2 C / (e (C - e))``; the exact
    LLR of each data set's window with the largest bound is a lower bound on its maximum, and
    windows whose bound falls below it are skipped (with large totals that is nearly all).
    """
    # One flat scan of the mask (np.nonzero on a 3-d mask is ~15x slower).
    b, r, i = np.unravel_index(np.flatnonzero(sums > floor), sums.shape)
    return _largest_llr(b, np.rint(sums[b, r, i]).astype(float), expected[r, i], total,
                        len(sums))


def _largest_llr(b: np.ndarray, c: np.ndarray, e: np.ndarray, total: float, n: int):
    """Largest LLR of each of ``n`` data sets among windows of data set ``b``, count ``c`` and
    expectation ``e`` (``_max_llr``): the exact LLR where the bound could reach the maximum."""
    best = np.zeros(n)
    if not len(b):
        return best
    bound = (c - e) ** 2 * total / (e * np.maximum(total - e, 1e-12))
    top = np.zeros(n)
    np.maximum.at(top, b, bound)
    lead = np.flatnonzero(bound >= top[b])
    np.maximum.at(best, b[lead], poisson_llr(c[lead], e[lead], total, 0))
    keep = np.flatnonzero(bound > best[b] * (1 - 1e-9))  # the margin absorbs round-off
    if len(keep):
        np.maximum.at(best, b[keep], poisson_llr(c[keep], e[keep], total, 0))
    return best


def _spread(rng, total: int, cumulative: np.ndarray) -> np.ndarray:
    """``total`` events over cells with cumulative probabilities ``cumulative`` (multinomial)."""
    n = len(cumulative)
    if total < n:  # few events: draw their cells (faster than one binomial per cell)
        draws = rng.random(total) * cumulative[-1]
        draws.sort()  # sorted look-ups are cache-friendly (the counts do not depend on order)
        cell = np.searchsorted(cumulative, draws, side="right")
        return np.bincount(np.minimum(cell, n - 1), minlength=n)
    return rng.multinomial(total, np.diff(cumulative, prepend=0.0) / cumulative[-1])


class _ShiftedNull:
    """The null's window sums by shifts, in uint16 (totals below ``UINT16_TOP``) or float32
    (below 2**24): both hold every sum exactly.

    Each data set is spread straight into the padded frame the shifts read (``_CellSampler``),
    and each radius's sums are thresholded as soon as they are made, over the whole frame
    (off-land cells get a threshold no sum reaches), so the sums are never gathered by cell.
    The first ``FULL_FIRST`` data sets are scored like ``_max_llr``: every window whose count
    clears its floor (expected and ``min_events``). ``LEVEL_SHARE`` of their smallest maximum
    is then a level ``L``: by ``log x <= x - 1``, a window can only score above ``L`` if its
    count ``c`` exceeds ``e + sqrt(L e (C - e) / C)``, so later data sets score only the
    windows above that count (a whole-number threshold per window: ~1,000 windows a data set
    on the demo store instead of ~8,000 above the floor), and a data set with no window found
    above ``L`` is scored again in full. Every maximum is
    the same number as scoring every window (tests/test_scan_null.py).

    Batches of ``NULL_BATCH`` data sets run on up to ``threads`` threads (NumPy releases the GIL in array arithmetic); the data sets are drawn
    from ``rng`` in the calling thread, in order, so the maxima do not depend on the threads.
    """

    def __init__(self, conv: DiscConvolver, land, expected, floor, total, cumulative,
                 dtype=np.uint16):
        k, (ny, nx) = conv.half, conv.shape
        self.conv, self.total, self.dtype = conv, float(total), dtype
        # Off land: a threshold no sum exceeds, whatever the cross-frame garbage there.
        self.never = UINT16_TOP if dtype == np.uint16 else np.inf
        self.padded_shape = (ny + 2 * k, nx + 2 * k)
        rows, cols = np.divmod(land, nx)
        self.at = (rows + k) * self.padded_shape[1] + cols + k  # land cells in the padded frame
        self.sampler = _CellSampler(cumulative, self.at)
        frame = self.padded_shape[0] * self.padded_shape[1]
        self.expected = np.zeros((len(conv.radii_m), frame))
        self.expected[:, self.at] = expected
        # Integer sums clear the float floor f exactly when they exceed floor(f).
        self.above_floor = self._thresholds(np.floor(floor.astype(float)))
        self.above_level = None
        self._local = threading.local()

    def _thresholds(self, above: np.ndarray) -> np.ndarray:
        """(radii, padded frame) in the sums' type: a window is scored where its sum exceeds
        this; ``above`` on land (whole numbers: exact in either type), ``never`` elsewhere."""
        out = np.full(self.expected.shape, self.never, self.dtype)
        out[:, self.at] = np.clip(above, 0, UINT16_TOP if self.dtype == np.uint16 else 2 ** 24)
        return out

    def _set_level(self, level: float) -> None:
        e = self.expected[:, self.at]
        # An LLR above the level needs c > reach; 1e-9 margins and the floor minus one keep
        # (at worst) a window too many, never drop one to round-off.
        reach = e + np.sqrt(level * (1 - 1e-9) * e * np.maximum(self.total - e, 0) / self.total)
        self.above_level = np.maximum(self._thresholds(np.floor(reach * (1 - 1e-9)) - 1),
                                      self.above_floor)

    def maxima(self, rng, n_simulations: int, threads: int) -> np.ndarray:
        out = np.zeros(n_simulations)
        first = min(FULL_FIRST, n_simulations)
        out[:first] = self._scored(self._grids(self._draw(rng, first)), None)
        level = LEVEL_SHARE * out[:first].min() if out[:first].min() > 0 else None
        if level is not None:
            self._set_level(level)
        starts = range(first, n_simulations, NULL_BATCH)
        workers = min(max(int(threads), 1), os.cpu_count() or 1, len(starts))
        if workers <= 1:
            for start in starts:
                size = min(NULL_BATCH, n_simulations - start)
                out[start:start + size] = self._batch(self._draw(rng, size), level)
            return out
        with ThreadPoolExecutor(workers, thread_name_prefix="scan-null") as pool:
            pending: deque = deque()
            for start in starts:
                size = min(NULL_BATCH, n_simulations - start)
                pending.append((start, size, pool.submit(self._batch, self._draw(rng, size),
                                                          level)))
                while len(pending) > 2 * workers:  # bounds the memory of drawn data sets
                    done, size, future = pending.popleft()
                    out[done:done + size] = future.result()
            for done, size, future in pending:
                out[done:done + size] = future.result()
        return out

    def _draw(self, rng, size: int) -> list:
        return [self.sampler.draw(rng, self.total) for _ in range(size)]

    def _grids(self, draws: list) -> np.ndarray:
        grids = self._buffers(len(draws))[0].reshape(len(draws), *self.padded_shape)
        grids.fill(0)
        for b, draw in enumerate(draws):
            self.sampler.spread(draw, grids[b].reshape(-1))
        return grids

    def _buffers(self, n: int) -> list:
        """This thread's arrays for ``n`` padded frames (grids, run sums, disc sums), reused
        from batch to batch: fresh ones each time cost ~25% more (allocation, cold cache)."""
        size = n * self.padded_shape[0] * self.padded_shape[1]
        kept = getattr(self._local, "buffers", None)
        if kept is None or kept[0].size < size:
            kept = self._local.buffers = [np.zeros(size, self.dtype)
                                          for _ in range(int(self.conv.widths.max()) + 2)]
        return [a[:size] for a in kept]

    def _batch(self, draws: list, level: float | None) -> np.ndarray:
        return self._scored(self._grids(draws), level)

    def _scored(self, grids: np.ndarray, level: float | None) -> np.ndarray:
        """Largest LLR of each padded grid: in full (``level`` None) or above ``level``."""
        if level is None:
            b, c, e = self._windows(grids, self.above_floor)
            return _largest_llr(b, c, e, self.total, len(grids))
        b, c, e = self._windows(grids, self.above_level)
        best = _largest_llr(b, c, e, self.total, len(grids))
        missed = np.flatnonzero(best <= level)
        if len(missed):
            best[missed] = self._scored(grids[missed], None)
        return best

    def _windows(self, grids: np.ndarray, thresholds: np.ndarray):
        """Data set, count and expectation of every window whose sum exceeds its threshold.

        Sums as ``DiscConvolver._shifted`` (run sums of each width, then each disc's rows),
        with every shift an offset in the batch's flat padded frames: one contiguous pass per
        addition (3x faster than strided 3-d views). A land cell's sums read only its own
        frame (``half`` zero rows and columns around each grid); other positions hold
        cross-frame garbage that no threshold lets through."""
        conv, k = self.conv, self.conv.half
        b, width = len(grids), self.padded_shape[1]
        g = grids.reshape(-1)
        size = g.size
        _, *kept, total = self._buffers(b)
        runs = [g]
        for w, run in enumerate(kept, start=1):
            np.add(runs[-1][k:size - k], g[k + w:size - k + w], out=run[k:size - k])
            run[k:size - k] += g[k - w:size - k - w]
            runs.append(run)
        inner = slice(k * width, size - k * width)
        data_set, count, expected = [], [], []
        for r, widths in enumerate(conv.widths):
            rows = [((dy - k) * width, w) for dy, w in enumerate(widths) if w >= 0]
            (shift, w), rest = rows[0], rows[1:]
            np.copyto(total[inner], runs[w][inner.start + shift:inner.stop + shift])
            for shift, w in rest:
                total[inner] += runs[w][inner.start + shift:inner.stop + shift]
            hit = np.flatnonzero(total.reshape(b, -1) > thresholds[r])
            which, cell = np.divmod(hit, thresholds.shape[1])
            data_set.append(which)
            count.append(total[hit])
            expected.append(self.expected[r, cell])
        return (np.concatenate(data_set), np.concatenate(count).astype(float),
                np.concatenate(expected))


class _CellSampler:
    """``_spread``'s multinomial draws, made straight into a padded frame.

    Few events (fewer than cells): ``rng.random(total)`` as ``_spread`` draws them, each draw's
    cell found by a table of ``SAMPLER_BUCKETS`` x cells equal buckets instead of a sort and a
    binary search: ``f(x) = floor(x * scale)`` is non-decreasing, so a draw shares its bucket
    with no cell boundary, that bucket alone gives its cell (the boundaries in lower buckets
    lie below it, those in higher ones above); the few draws in buckets holding a boundary are
    looked up by binary search. The cells are the ones ``_spread`` finds, so the counts are.
    Many events: ``rng.multinomial`` as ``_spread``.
    """

    def __init__(self, cumulative: np.ndarray, at: np.ndarray):
        self.cumulative, self.at = cumulative, at
        n = len(cumulative)
        self.buckets = SAMPLER_BUCKETS * n
        self.scale = self.buckets / cumulative[-1]
        bounds = np.bincount(self._bucket(cumulative), minlength=self.buckets)
        below = np.cumsum(bounds) - bounds  # boundaries in lower buckets: the cell index
        self.table = np.where(bounds > 0, -1, below)

    def _bucket(self, x: np.ndarray) -> np.ndarray:
        return np.minimum((x * self.scale).astype(np.int64), self.buckets - 1)

    def draw(self, rng, total: float) -> np.ndarray:
        """What ``_spread`` draws from ``rng`` for one data set (uniforms or counts)."""
        n = len(self.cumulative)
        if total < n:
            return rng.random(int(total)) * self.cumulative[-1]
        return rng.multinomial(int(total), np.diff(self.cumulative, prepend=0.0)
                               / self.cumulative[-1])

    def spread(self, draw: np.ndarray, frame: np.ndarray) -> None:
        """Counts per cell of ``draw`` written into ``frame`` (flat, zeros) at ``at``."""
        n = len(self.cumulative)
        if draw.dtype.kind == "f":  # uniforms
            cell = self.table[self._bucket(draw)]
            near = np.flatnonzero(cell < 0)
            cell[near] = np.searchsorted(self.cumulative, draw[near], side="right")
            np.minimum(cell, n - 1, out=cell)
            np.copyto(frame, np.bincount(self.at[cell], minlength=frame.size),
                      casting="unsafe")
        else:
            frame[self.at] = draw


def _report(llr, observed, expected, null_max, land, own, conv, alpha) -> ScanResult:
    """Significant windows by decreasing LLR, skipping any that shares a cell with a kept one.

    ``own`` is the count of each land cell alone (for breaking ties).
    """
    shape = conv.shape
    sims = np.sort(null_max)
    n_sim = len(sims)
    p_all = (1 + n_sim - np.searchsorted(sims, llr.ravel(), side="left")) / (n_sim + 1)
    # Strictly below alpha: size at most alpha - 1 / (n_sim + 1) (module docstring).
    candidate = np.flatnonzero((llr.ravel() > 0) & (p_all < alpha))
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
                      flat_exp[chosen], flat_llr[chosen], p_all[chosen], null_max,
                      float(flat_llr.max()) if flat_llr.size else 0.0)
