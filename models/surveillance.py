"""New-hotspot alerts: a prospective space-time scan, run once a month (issue 13 item 7).

``ProspectiveScan`` is Kulldorff's prospective space-time scan statistic (Kulldorff 2001) with
the **space-time permutation model** (Kulldorff et al. 2005) on the 300 m cells of the hotspot
model's grid (``models._grid``). It answers "is something happening *now* that did not happen
here before?", where ``HotspotModel`` answers "where are there more events than residents
explain?".

- **Cylinders.** A cylinder is a disc of cells (centred on a cell holding an event in the study
  period, radius 300 m up to ``max_radius_m`` in 300 m steps) times a run of months that **ends
  in the analysed month** (``as_of``), 1 to ``max_months`` long: a prospective scan looks only
  at clusters still going on.
- **Expected counts.** With ``N_s`` the events of cell *s* and ``N_t`` those of month *t* over
  the study period (``study_months`` up to ``as_of``) and ``N`` all of them, a cylinder of
  cells *S* and months *T* expects ``mu = sum_S N_s * sum_T N_t / N`` events: every place keeps
  its own share of the events, every month its own total, so a place that is always busy (a
  city centre, an accommodation site) or a county-wide rise raises no alert; only a change in
  where events happen does. No population is needed (docs/hotspots.md says why this model).
- **Statistic.** ``LLR = c log(c/mu) + (N-c) log((N-c)/(N-mu))`` for ``c > mu`` and ``c >=
  min_events`` (the Poisson approximation Kulldorff et al. use), else 0.
- **Monte-Carlo test.** Each replica shuffles the months among the events (locations fixed), so
  it keeps every ``N_s`` and ``N_t``, and the largest LLR of each replica makes the null
  distribution; ``p = (1 + #{replica max >= LLR}) / (n_replicas + 1)``. Secondary clusters
  are the next cylinders sharing no cell with a kept one, tested against the same maxima
  (conservative, as SaTScan's).
- **Recurrence interval.** For an analysis repeated monthly, a p-value ``p`` means a cluster this
  strong would arise by chance once in ``1 / (12 p)`` years. An alert is raised when it is at
  least ``recurrence_years`` (``p <= 1 / (12 recurrence_years)``). With ``n_replicas`` replicas
  the smallest p is ``1 / (n_replicas + 1)``, so the interval is capped at
  ``(n_replicas + 1) / 12`` years and reported as "once in more than ... years" there.
- **New this month.** The same analysis is run for the month before ``as_of`` (on the data up to
  then); an alert is ``new`` when its cells overlap none of that analysis's alerts.

Vectorised with numpy/scipy: windows are a sparse matrix (windows x occupied cells, identical
windows merged), and every replica's cylinder counts are one sparse product.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.special import xlogy
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from core.errors import PeriodError
from geo.crs import BNG, WGS84
from models._events import gridded_events
from models._grid import Grid

COLUMNS = ["alert_id", "new", "events", "expected", "relative_risk", "llr", "p_value",
           "recurrence_years", "recurrence", "start_month", "end_month", "months", "radius_m",
           "area_km2", "districts", "wards", "geometry"]
REPLICA_BATCH = 128  # replicas counted together: bounds memory (windows x batch floats)
FULL_REPLICAS = 8    # replicas scored in full to set the level the others are scored above
MONTHS_PER_YEAR = 12
_MONTH_TEXT = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class OutsideStudyWarning(UserWarning):
    """Some events fall outside West Yorkshire's populated cells and were left out."""


@dataclass(frozen=True)
class _Analysis:
    """One month's prospective scan: alert rows (BNG) and each alert's grid cells."""

    frame: pd.DataFrame
    cells: list
    null_max: np.ndarray
    max_llr: float
    n_events: int


class ProspectiveScan(BaseEstimator):
    """Prospective space-time scan (space-time permutation model) for monthly new-cluster alerts.

    Parameters
    ----------
    max_radius_m : float, default=1500
        Largest disc radius; radii go from one cell (300 m) up in steps of one cell.
    max_months : int, default=3
        Longest run of months a cylinder spans (all runs end in the analysed month).
    study_months : int, default=36
        Months of data up to the analysed month that set each place's and month's share.
    n_replicas : int, default=999
        Monte-Carlo replicas; the smallest p-value is ``1 / (n_replicas + 1)``.
    recurrence_years : float, default=10
        Raise an alert when chance would give a cluster this strong less often than once in this
        many years of monthly analyses (``p <= 1 / (12 recurrence_years)``).
    min_events : int, default=5
        Fewest events a cylinder needs to be scored.
    cell_size_m : int, default=300
        Grid cell size (a multiple of the 100 m geomask cell).
    population : GeoDataFrame, Series or None, default=None
        Only decides which cells are land (the grid of ``HotspotModel``); the permutation model
        itself uses no population.
    random_state : int, RandomState instance or None, default=None
        Seeds the replicas; the same value gives the same alerts.

    Attributes
    ----------
    alerts_ : GeoDataFrame
        One row per alert of the analysed month (EPSG:4326), strongest first: ``alert_id``,
        ``new`` (overlaps no alert of the previous month's analysis), ``events`` (in the
        cylinder), ``expected`` (``mu``), ``relative_risk`` (events / expected), ``llr``,
        ``p_value``, ``recurrence_years`` (``1 / (12 p)``), ``recurrence`` (in words),
        ``start_month``, ``end_month`` ("2026-11"), ``months`` (its length), ``radius_m``,
        ``area_km2``, ``districts``, ``wards``.
    previous_alerts_ : GeoDataFrame
        The same for the month before, the analysis "new" is judged against (``new`` is
        False there: not judged).
    as_of_ : pandas.Period
        The analysed month.
    p_value_ : float
        p-value of the most likely cylinder, alert or not (1.0 when none is scored).
    null_max_ : ndarray
        The replicas' largest LLRs.
    n_events_ : int
        Events in the study period inside the grid.
    grid_ : Grid
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_radius_m": [Interval(Real, 0, None, closed="neither")],
        "max_months": [Interval(Integral, 1, None, closed="left")],
        "study_months": [Interval(Integral, 2, None, closed="left")],
        "n_replicas": [Interval(Integral, 19, None, closed="left")],
        "recurrence_years": [Interval(Real, 0, None, closed="neither")],
        "min_events": [Interval(Integral, 1, None, closed="left")],
        "cell_size_m": [Interval(Integral, 100, None, closed="left")],
        "population": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(self, *, max_radius_m=1500, max_months=3, study_months=36, n_replicas=999,
                 recurrence_years=10.0, min_events=5, cell_size_m=300, population=None,
                 random_state=None):
        self.max_radius_m = max_radius_m
        self.max_months = max_months
        self.study_months = study_months
        self.n_replicas = n_replicas
        self.recurrence_years = recurrence_years
        self.min_events = min_events
        self.cell_size_m = cell_size_m
        self.population = population
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, as_of=None):
        """Scan the events ``X`` for clusters ending in the month ``as_of``.

        Parameters
        ----------
        X : GeoDataFrame
            Events: point geometry with a CRS and a ``date`` column. Events after ``as_of``
            are ignored (the analysis sees what was known at the end of that month).
        y : Ignored
        as_of : str, date, Timestamp or Period, optional
            The analysed month ("2026-11"); default the month of the latest event.

        Returns
        -------
        self : ProspectiveScan

        Raises
        ------
        PeriodError
            ``as_of`` is not a month.
        ValueError
            ``max_months`` is not shorter than ``study_months``, or ``X`` is not events.
        """
        if self.max_months >= self.study_months:
            raise ValueError(f"max_months ({self.max_months}) must be shorter than study_months "
                             f"({self.study_months}): a cluster needs months before it to be new")
        events, grid, cell = gridded_events(X, self.cell_size_m, self.population,
                                            OutsideStudyWarning)
        month = pd.PeriodIndex(events.date, freq="M").asi8 if len(events) else np.zeros(0, int)
        if as_of is not None:
            end = as_month(as_of)
        elif len(month):
            end = pd.Period(ordinal=int(month.max()), freq="M")
        else:
            raise PeriodError("no events and no as_of month: nothing to analyse")
        rng = check_random_state(self.random_state)
        seeds = rng.randint(0, 2**31 - 1, size=2)
        now = self._analyse(grid, cell, month, end.ordinal, np.random.default_rng(seeds[0]))
        before = self._analyse(grid, cell, month, end.ordinal - 1,
                               np.random.default_rng(seeds[1]))
        earlier = set().union(*before.cells) if before.cells else set()
        now.frame["new"] = [not (set(c) & earlier) for c in now.cells]
        before.frame["new"] = False   # not judged: that month's own previous month is not run
        self.alerts_ = _geo(now.frame)
        self.previous_alerts_ = _geo(before.frame)
        self.as_of_ = end
        self.null_max_ = now.null_max
        self.p_value_ = _p_values(np.array([now.max_llr]), now.null_max)[0] \
            if now.max_llr > 0 else 1.0
        self.n_events_ = now.n_events
        self.alert_cells_ = now.cells
        self.grid_ = grid
        return self

    @property
    def new_alerts_(self) -> gpd.GeoDataFrame:
        """The alerts that are new this month (``alerts_`` where ``new``)."""
        check_is_fitted(self)
        return self.alerts_[self.alerts_["new"]].reset_index(drop=True)

    # -- one month's analysis ------------------------------------------------------------------
    def _analyse(self, grid: Grid, cell: np.ndarray, month: np.ndarray, end: int,
                 rng) -> _Analysis:
        first = end - self.study_months + 1
        keep = (cell >= 0) & (month >= first) & (month <= end)
        n = int(keep.sum())
        empty = _Analysis(pd.DataFrame(columns=COLUMNS), [], np.zeros(self.n_replicas), 0.0, n)
        if n < self.min_events:
            return empty
        ago = (end - month[keep]).astype(np.int64)         # 0: the analysed month
        occupied, member = np.unique(cell[keep], return_inverse=True)
        n_cells, lmax = len(occupied), self.max_months
        per_cell = np.bincount(member, minlength=n_cells).astype(float)
        per_month = np.bincount(ago, minlength=self.study_months).astype(float)
        recent = np.cumsum(per_month[:lmax])                 # events in the last L months
        windows, centre, radius = _windows(grid, occupied, self.max_radius_m)
        expected = (windows @ per_cell)[:, None] * recent[None, :] / n   # (windows, L)
        cumulative = np.zeros((n_cells, lmax))
        for length in range(lmax):
            cumulative[:, length] = np.bincount(member[ago <= length], minlength=n_cells)
        observed = np.asarray(windows @ cumulative)
        llr = _llr(observed, expected, n, self.min_events)
        null_max = _null_maxima(windows, member, ago, expected, n, self.min_events,
                                self.n_replicas, rng)
        best_len = llr.argmax(axis=1)
        best = llr[np.arange(len(llr)), best_len]
        p = _p_values(best, null_max)
        threshold = 1.0 / (MONTHS_PER_YEAR * self.recurrence_years) + 1e-12
        order = np.lexsort((radius, -np.round(best, 9)))
        order = order[(best[order] > 0) & (p[order] <= threshold)]
        kept = _non_overlapping(order, grid, occupied[centre], radius)
        rows, cells = [], []
        for k, w in enumerate(kept):
            length = int(best_len[w]) + 1
            disc = _disc_cells(grid, int(occupied[centre[w]]), float(radius[w]))
            c, e = float(observed[w, length - 1]), float(expected[w, length - 1])
            years = 1.0 / (MONTHS_PER_YEAR * p[w])
            rows.append({
                "alert_id": k, "new": True, "events": round(c), "expected": e,
                "relative_risk": c / e if e > 0 else float("inf"), "llr": float(best[w]),
                "p_value": float(p[w]), "recurrence_years": years,
                "recurrence": recurrence_text(years, floor=p[w] <= 1 / (self.n_replicas + 1)),
                "start_month": str(pd.Period(ordinal=end - length + 1, freq="M")),
                "end_month": str(pd.Period(ordinal=end, freq="M")), "months": length,
                "radius_m": float(radius[w]), "area_km2": len(disc) * grid.cell_km2,
                "geometry": grid.polygon(disc, crs=BNG)})
            cells.append(disc)
        frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("districts", "wards")])
        shapes = frame["geometry"].tolist()
        frame["districts"] = grid.areas_touched(shapes, "district") if shapes else []
        frame["wards"] = grid.areas_touched(shapes, "ward") if shapes else []
        return _Analysis(frame[COLUMNS], cells, null_max, float(best.max(initial=0.0)), n)


def recurrence_text(years: float, *, floor: bool = False) -> str:
    """A recurrence interval in words: "once in 42 years"; at the replicas' floor (the true
    interval could be longer) "once in more than 83 years"; under two years, in months."""
    more = "more than " if floor else ""
    if years < 2:
        return f"once in {more}{max(years * MONTHS_PER_YEAR, 1):,.0f} months"
    return f"once in {more}{years:,.0f} years"


def as_month(value) -> pd.Period:
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if isinstance(value, str) and not _MONTH_TEXT.match(value):
        raise PeriodError(f"as_of {value[:20]!r} is not a month like 2026-11")
    try:
        return pd.Period(value if not isinstance(value, dt.datetime) else value.date(), freq="M")
    except (ValueError, TypeError) as exc:
        raise PeriodError(f"as_of {str(value)[:20]!r} is not a month like 2026-11") from exc


def _windows(grid: Grid, occupied: np.ndarray, max_radius_m: float):
    """Discs centred on the occupied cells, radii one cell up to ``max_radius_m``, as a sparse
    (windows x occupied cells) 0/1 matrix; windows holding the same occupied cells are merged
    (the smallest disc kept). Returns the matrix, each window's centre (index into
    ``occupied``) and radius."""
    x, y = grid.centres(occupied)
    xy = np.column_stack([x, y])
    radii = np.arange(grid.cell_m, max(max_radius_m, grid.cell_m) + 1e-6, grid.cell_m)
    pairs = cKDTree(xy).sparse_distance_matrix(cKDTree(xy), radii[-1] + 1e-6,
                                               output_type="ndarray")
    m = len(occupied)
    # Whether sparse_distance_matrix lists a point's zero distance to itself has varied between
    # SciPy versions (1.17 does); drop any such pair and add each centre's own cell once, so a
    # window holds each of its cells once (it counted its centre twice under SciPy 1.17).
    distinct = pairs["i"] != pairs["j"]
    rows, cols, dist = pairs["i"][distinct], pairs["j"][distinct], pairs["v"][distinct]
    rows = np.concatenate([rows, np.arange(m)])
    cols = np.concatenate([cols, np.arange(m)])
    dist = np.concatenate([dist, np.zeros(m)])
    blocks = []
    for r_i, r in enumerate(radii):
        inside = dist <= r + 1e-6
        blocks.append(sparse.csr_matrix((np.ones(inside.sum()), (rows[inside], cols[inside])),
                                        shape=(m, m)))
    stacked = sparse.vstack(blocks, format="csr")
    # Identical member sets give identical counts and expectations: keep one of each.
    keys = stacked @ np.random.default_rng(12345).random((m, 2))
    _, first = np.unique(np.round(keys, 9), axis=0, return_index=True)
    first = np.sort(first)
    centre = first % m
    radius = radii[first // m]
    return stacked[first], centre, radius


def _llr(c: np.ndarray, e: np.ndarray, total: float, min_events: int) -> np.ndarray:
    """Poisson log-likelihood ratio of cylinders; 0 where ``c <= e`` or ``c < min_events``."""
    scored = (c >= min_events) & (c > e) & (e > 0)
    out = np.zeros(c.shape)
    cc, ee = c[scored], e[scored]
    out[scored] = xlogy(cc, cc / ee) + xlogy(total - cc, (total - cc) / (total - ee))
    return out


def _null_maxima(windows, member, ago, expected, total, min_events, n_replicas, rng):
    """Largest LLR of each replica: the events' months shuffled (places and month totals kept).

    A replica's events of the last ``L`` months are the first ``recent[L]`` events of a random
    order of all ``n`` events. Only those first ``recent[-1]`` matter, so each replica draws
    them alone, a random ordered sample without replacement (``Generator.choice``, a partial
    Fisher-Yates shuffle: ``recent[-1]`` draws instead of ``n``): the same distribution as the
    first ``recent[-1]`` of a full shuffle, for a fraction of the draws (at 1M records 55,000
    of 604,000 a replica; docs/benchmarks.md, tests/test_cold_paths.py).

    The first ``FULL_REPLICAS`` are scored in full; half their smallest maximum then sets a
    level below which no later replica's maximum is looked for (:func:`_batch_maxima`'s ``at_least``), which leaves
    almost every window out at no cost to the maxima.
    """
    lmax = expected.shape[1]
    n = len(member)
    recent = np.cumsum(np.bincount(ago, minlength=lmax)[:lmax])
    floor = np.maximum(expected, min_events - 0.5)
    # Counts are integers below 2**24 (the events of three months): float32 sums are exact.
    single = windows.astype(np.float32) if recent[-1] < 2 ** 24 else windows
    maxima = np.zeros(n_replicas)
    at_least = None
    for start in range(0, n_replicas, REPLICA_BATCH):
        b = min(REPLICA_BATCH, n_replicas - start)
        cells = np.stack([member[rng.choice(n, int(recent[-1]), replace=False)]
                          for _ in range(b)]) if recent[-1] else np.zeros((b, 0), int)
        first = 0
        if at_least is None:   # a few replicas in full, for the level
            first = min(FULL_REPLICAS, b)
            maxima[start:start + first] = _batch_maxima(single, cells[:first], recent,
                                                        expected, floor, total)
            if maxima[start:start + first].min() > 0:
                at_least = 0.5 * maxima[start:start + first].min()
        maxima[start + first:start + b] = _batch_maxima(single, cells[first:], recent, expected,
                                                        floor, total, at_least)
    return maxima


def _batch_maxima(windows, cells: np.ndarray, recent: np.ndarray, expected: np.ndarray,
                  floor: np.ndarray, total: float, at_least: float | None = None
                  ) -> np.ndarray:
    """Largest LLR of each replica of a batch: ``cells`` (replicas x events) holds each
    replica's events of the analysed month first, then the month before, ...; ``recent[L]``
    of them fall in the last ``L + 1`` months. ``expected`` and ``floor`` are per window
    and length.

    The counts of each length are the previous length's plus the next months' events. Only
    cylinders whose count clears ``floor`` (expected and ``min_events``) can score, and
    logarithms are taken only where the LLR could be the largest: by ``log x <= x - 1`` on
    both terms, ``LLR <= (c - e)^2 C / (e (C - e))``. Without ``at_least``, the exact LLR of
    each replica's cylinder of largest bound is a lower bound on its maximum, and only
    cylinders whose bound beats it are scored (as ``models.scan_null.max_llr``). With
    ``at_least``, only counts above ``e + sqrt(at_least e (C - e) / C)`` (a bound above
    ``at_least``) are scored, and a replica whose maximum is not found above ``at_least`` is
    scored again in full. Either way the maxima are the same numbers as scoring every cylinder
    (tests/test_cold_paths.py)."""
    b, n_cells = len(cells), windows.shape[1]
    offset = (np.arange(b) * n_cells)[:, None]
    counts = np.zeros(b * n_cells, np.int64)
    best = np.zeros(b)
    columns = np.arange(b)
    with np.errstate(divide="ignore"):   # e = 0: an infinite bound, scored 0 by _llr
        scale = total / (expected * np.maximum(total - expected, 1e-12))
    if at_least is not None:
        level = np.maximum(floor, expected + np.sqrt(at_least / scale))
        # Round-off: a count a hair below the level may still be kept, never one above dropped.
        level = (level * (1 - 1e-9)).astype(windows.dtype)
    done = 0
    for length in range(expected.shape[1]):
        k = int(recent[length])
        counts += np.bincount((cells[:, done:k] + offset).ravel(), minlength=b * n_cells)
        done = k
        sums = np.asarray(windows @ counts.reshape(b, n_cells).T.astype(windows.dtype))
        e = expected[:, length]
        if at_least is not None:
            w_i, b_i = np.unravel_index(
                np.flatnonzero(sums > level[:, length][:, None]), sums.shape)
            np.maximum.at(best, b_i, _llr(sums[w_i, b_i].astype(float), e[w_i], total, 0))
            continue
        gap = sums - e[:, None]                                       # (windows, b)
        bound = gap * gap
        bound *= scale[:, length][:, None]
        bound[sums <= floor[:, length][:, None]] = 0.0
        lead = bound.argmax(axis=0)
        scored = bound[lead, columns] > 0
        np.maximum.at(best, columns[scored],
                      _llr(sums[lead, columns][scored].astype(float), e[lead[scored]], total, 0))
        # The margin absorbs round-off between the bound and the LLR.
        w_i, b_i = np.unravel_index(np.flatnonzero(bound > best[None, :] * (1 - 1e-9)),
                                    bound.shape)
        if len(w_i):
            np.maximum.at(best, b_i, _llr(sums[w_i, b_i].astype(float), e[w_i], total, 0))
    if at_least is not None:
        missed = np.flatnonzero(best <= at_least)
        if len(missed):
            best[missed] = _batch_maxima(windows, cells[missed], recent, expected, floor,
                                         total)
    return best


def _p_values(llr: np.ndarray, null_max: np.ndarray) -> np.ndarray:
    sims = np.sort(null_max)
    return (1 + len(sims) - np.searchsorted(sims, llr, side="left")) / (len(sims) + 1)


def _non_overlapping(order: np.ndarray, grid: Grid, centre_cells: np.ndarray,
                     radius: np.ndarray) -> list[int]:
    """Windows in ``order``, skipping any whose disc shares a cell with a kept one (discs share
    no cell centre when their centres are further apart than the sum of their radii)."""
    rows, cols = np.divmod(centre_cells, grid.nx)
    kept: list[int] = []
    for w in order:
        gaps = [np.hypot(rows[w] - rows[k], cols[w] - cols[k]) * grid.cell_m
                > radius[w] + radius[k] + 1e-6 for k in kept]
        if all(gaps):
            kept.append(int(w))
    return kept


def _disc_cells(grid: Grid, centre: int, radius_m: float) -> np.ndarray:
    """Flat indices of the land cells whose centre lies within ``radius_m`` of ``centre``'s."""
    k = int(radius_m // grid.cell_m)
    di, dj = np.mgrid[-k:k + 1, -k:k + 1]
    inside = np.hypot(di, dj) * grid.cell_m <= radius_m + 1e-6
    row, col = divmod(centre, grid.nx)
    r, c = row + di[inside], col + dj[inside]
    ok = (r >= 0) & (r < grid.ny) & (c >= 0) & (c < grid.nx)
    flat = r[ok] * grid.nx + c[ok]
    return np.sort(flat[grid.land.ravel()[flat]])


def _geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    if frame.empty:
        out = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=gpd.GeoSeries([], crs=BNG))
        return out.set_crs(BNG, allow_override=True).to_crs(WGS84)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=BNG).to_crs(WGS84)
