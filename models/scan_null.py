"""The Poisson scan's Monte-Carlo null (``models.scan``): the largest log-likelihood ratio of
each data set simulated under the null hypothesis, and the LLR itself.

Under the null the scan's ``C`` events fall in proportion to population: each simulated data
set spreads them multinomially over the land cells (drawn in order from one generator, so a
seed gives the same data sets), and its largest LLR over every window (each centre and radius)
is one of the maxima the observed LLRs are ranked among. Only the maxima leave this module;
they are the same numbers whichever path makes them:

- discs summed by shifts in uint16 or float32 (every default scan): ``ShiftedNull``, data sets
  drawn straight into padded frames (``CellSampler``), windows picked by thresholds;
- FFT or float64 sums: ``BATCH`` data sets at a time through ``DiscConvolver``, every window
  above its floor scored by ``max_llr``.

Here rather than in ``models.scan`` to keep each module readable; ``models.scan`` imports
``poisson_llr`` from here (the null and the observed data are scored with the same function).
"""
from __future__ import annotations

import numpy as np
from scipy.special import xlogy

BATCH = 8  # simulated data sets convolved together (FFT, float64): bounds memory
UINT16_TOP = 2 ** 16 - 1  # ``ShiftedNull`` sums totals below this in uint16 (above: float32)
NULL_BATCH = 4  # simulated data sets summed together there (~2 MB of 16-bit sums)
FULL_FIRST = 4  # simulated data sets scored in full before a level is set (``ShiftedNull``)
LEVEL_SHARE = 0.7  # the level: this share of the smallest of their maxima
SAMPLER_BUCKETS = 8  # buckets per cell of ``CellSampler``'s look-up table


def poisson_llr(c: np.ndarray, e: np.ndarray, total: float, min_events: float) -> np.ndarray:
    """Kulldorff's Poisson log-likelihood ratio of windows; 0 where ``c <= e`` or too few."""
    c, e = np.broadcast_arrays(c, e)
    scored = (c >= min_events) & (c > e) & (e > 0)
    out = np.zeros(c.shape)
    cc, ee = c[scored], e[scored]
    out[scored] = xlogy(cc, cc / ee) + xlogy(total - cc, (total - cc) / (total - ee))
    return out


def null_maxima(population, land, total, conv, expected, min_events, n_simulations, rng,
                areal=None):
    """Largest LLR of each data set simulated under the null (same total, spread by population).

    Discs summed by shifts, in uint16 or float32 (``DiscConvolver.count_dtype``), take
    ``ShiftedNull`` (windows picked by thresholds); the others (FFT,
    float64) are summed ``BATCH`` data sets at a time here. Either way the data sets are drawn
    in order from ``rng`` and the maxima are the same numbers.

    ``areal``, when given (``models.scan_areas.AreaNull``), maps each data set's land-cell
    counts (B, n_land), or its events' land cells (``areal.from_cells``), to its largest LLR
    over other windows: each maximum is then the larger of that
    and the discs' (the discs' own search is unchanged: it finds their exact maximum).
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
        return ShiftedNull(conv, land, expected, floor, total, cumulative, null_dtype,
                           areal).maxima(rng, n_simulations)
    for start in range(0, n_simulations, BATCH):
        size = min(BATCH, n_simulations - start)
        grids = np.zeros((size, n_cells), dtype)
        for b in range(size):
            grids[b, land] = _spread(rng, int(total), cumulative)
        sums = conv(grids.reshape(size, *population.shape), land, single=single,
                    dtype=dtype if conv.direct else None)
        maxima[start:start + size] = max_llr(sums, floor, expected, total)
        if areal is not None:
            np.maximum(maxima[start:start + size], areal(grids[:, land]),
                       out=maxima[start:start + size])
    return maxima


def max_llr(sums: np.ndarray, floor: np.ndarray, expected: np.ndarray, total: float):
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
    expectation ``e`` (``max_llr``): the exact LLR where the bound could reach the maximum."""
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


class ShiftedNull:
    """The null's window sums by shifts, in uint16 (totals below ``UINT16_TOP``) or float32
    (below 2**24): both hold every sum exactly.

    Each data set is spread straight into the padded frame the shifts read (``CellSampler``),
    and each radius's sums are thresholded as soon as they are made, over the whole frame
    (off-land cells get a threshold no sum reaches), so the sums are never gathered by cell.
    The first ``FULL_FIRST`` data sets are scored like ``max_llr``: every window whose count
    clears its floor (expected and ``min_events``). ``LEVEL_SHARE`` of their smallest maximum
    is then a level ``L``: by ``log x <= x - 1``, a window can only score above ``L`` if its
    count ``c`` exceeds ``e + sqrt(L e (C - e) / C)``, so later data sets score only the
    windows above that count (a whole-number threshold per window: ~1,000 windows a data set
    on the demo store instead of ~8,000 above the floor), and a data set with no window found
    above ``L`` is scored again in full. Every maximum is
    the same number as scoring every window (tests/test_scan_null.py).

    Data sets are drawn from ``rng`` in order and scored ``NULL_BATCH`` at a time. (Scoring
    batches on two threads was measured and removed: each array operation here is ~10 us, so
    NumPy hands the GIL back too often for a gain; docs/hotspot-evaluation.md.)
    """

    def __init__(self, conv, land, expected, floor, total, cumulative,
                 dtype=np.uint16, areal=None):
        k, (ny, nx) = conv.half, conv.shape
        self.conv, self.total, self.dtype, self.areal = conv, float(total), dtype, areal
        # Off land: a threshold no sum exceeds, whatever the cross-frame garbage there.
        self.never = UINT16_TOP if dtype == np.uint16 else np.inf
        self.padded_shape = (ny + 2 * k, nx + 2 * k)
        rows, cols = np.divmod(land, nx)
        self.at = (rows + k) * self.padded_shape[1] + cols + k  # land cells in the padded frame
        self.sampler = CellSampler(cumulative, self.at)
        frame = self.padded_shape[0] * self.padded_shape[1]
        self.expected = np.zeros((len(conv.radii_m), frame))
        self.expected[:, self.at] = expected
        # Integer sums clear the float floor f exactly when they exceed floor(f).
        self.above_floor = self._thresholds(np.floor(floor.astype(float)))
        self.above_level = None
        self._kept_buffers = None

    def _thresholds(self, above: np.ndarray) -> np.ndarray:
        """(radii, padded frame) in the sums' type: a window is scored where its sum exceeds
        this; ``above`` on land (whole numbers: exact in either type), ``never`` elsewhere."""
        out = np.full(self.expected.shape, self.never, self.dtype)
        out[:, self.at] = np.clip(above, 0, UINT16_TOP if self.dtype == np.uint16 else 2 ** 24)
        return out

    def set_level(self, level: float) -> None:
        """Score later data sets only above ``level`` (``maxima``, ``scored_counts``)."""
        e = self.expected[:, self.at]
        # An LLR above the level needs c > reach; 1e-9 margins and the floor minus one keep
        # (at worst) a window too many, never drop one to round-off.
        reach = e + np.sqrt(level * (1 - 1e-9) * e * np.maximum(self.total - e, 0) / self.total)
        self.above_level = np.maximum(self._thresholds(np.floor(reach * (1 - 1e-9)) - 1),
                                      self.above_floor)

    def maxima(self, rng, n_simulations: int) -> np.ndarray:
        out = np.zeros(n_simulations)
        first = min(FULL_FIRST, n_simulations)
        draws = self._draw(rng, first)
        grids = self._grids(draws)
        others = self._other_windows(draws)
        out[:first] = self._scored(grids, None)
        # The level comes from the discs' own maxima: it only prunes the discs' search, which
        # finds their exact maximum whatever the level (a data set with none above it is
        # scored again in full); the other windows' maxima are taken in full.
        level = LEVEL_SHARE * out[:first].min() if out[:first].min() > 0 else None
        if others is not None:
            np.maximum(out[:first], others, out=out[:first])
        if level is not None:
            self.set_level(level)
        for start in range(first, n_simulations, NULL_BATCH):
            size = min(NULL_BATCH, n_simulations - start)
            out[start:start + size] = self._batch(self._draw(rng, size), level)
        return out

    def scored_counts(self, by_cell: np.ndarray, level: float | None) -> np.ndarray:
        """Largest disc LLR of data sets given as counts per land cell (B, n_land), drawn
        elsewhere (``models.scan_areas_fine``): in full (``level`` None) or above ``level``."""
        frames = self._buffers(len(by_cell))[0].reshape(len(by_cell), *self.padded_shape)
        frames.fill(0)
        frames.reshape(len(by_cell), -1)[:, self.at] = by_cell
        return self._scored(frames, level)

    def _draw(self, rng, size: int) -> list:
        """``size`` data sets from ``rng``: each one's events' land cells (few events: the
        uniforms' cells) or its counts per land cell (many: a multinomial)."""
        draws = [self.sampler.draw(rng, self.total) for _ in range(size)]
        return [self.sampler.cells(d) if d.dtype.kind == "f" else d for d in draws]

    def _grids(self, draws: list) -> np.ndarray:
        grids = self._buffers(len(draws))[0].reshape(len(draws), *self.padded_shape)
        grids.fill(0)
        for b, draw in enumerate(draws):
            self.sampler.spread(draw, grids[b].reshape(-1), self.total)
        return grids

    def _buffers(self, n: int) -> list:
        """Arrays for ``n`` padded frames (grids, run sums, disc sums), reused
        from batch to batch: fresh ones each time cost ~25% more (allocation, cold cache)."""
        size = n * self.padded_shape[0] * self.padded_shape[1]
        kept = self._kept_buffers
        if kept is None or kept[0].size < size:
            kept = self._kept_buffers = [np.zeros(size, self.dtype)
                                          for _ in range(int(self.conv.widths.max()) + 2)]
        return [a[:size] for a in kept]

    def _batch(self, draws: list, level: float | None) -> np.ndarray:
        grids = self._grids(draws)
        others = self._other_windows(draws)
        best = self._scored(grids, level)
        return best if others is None else np.maximum(best, others)

    def _other_windows(self, draws: list) -> np.ndarray | None:
        """The ``areal`` maxima of the data sets ``draws`` (None without other windows): from
        their events' cells (uniforms) or their counts per land cell."""
        if self.areal is None:
            return None
        if self.total < len(self.sampler.cumulative):  # cells (``_draw``)
            return self.areal.from_cells(draws)
        return self.areal(np.stack(draws))

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


class CellSampler:
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

    def cells(self, draw: np.ndarray) -> np.ndarray:
        """The land cell (index into ``cumulative``) of each uniform of ``draw``."""
        cell = self.table[self._bucket(draw)]
        near = np.flatnonzero(cell < 0)
        cell[near] = np.searchsorted(self.cumulative, draw[near], side="right")
        np.minimum(cell, len(self.cumulative) - 1, out=cell)
        return cell

    def spread(self, draw: np.ndarray, frame: np.ndarray, total: float | None = None) -> None:
        """Counts per cell of ``draw`` written into ``frame`` (flat, zeros) at ``at``: ``draw``
        is uniforms, or (``total`` below the number of cells) their ``cells``, or counts."""
        if draw.dtype.kind == "f" or (total is not None and total < len(self.cumulative)):
            cell = self.cells(draw) if draw.dtype.kind == "f" else draw
            np.copyto(frame, np.bincount(self.at[cell], minlength=frame.size),
                      casting="unsafe")
        else:
            frame[self.at] = draw
