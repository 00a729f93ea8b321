"""Emerging-trend classification of a hotspot from its monthly counts.

Adapted from ArcGIS Pro's *Emerging Hot Spot Analysis*, which labels each location from a
Mann-Kendall trend test and from which time steps it was a significant hot spot in. Here the
location is one hotspot and the time steps are months:

- a month is **hot** when its count is significantly above what the resident population
  predicts for that month (one-sided Poisson test at ``alpha``: ``P(X >= count | expected)``);
  the hotspot is hot **recently** when one of the last ``recent_months`` is hot or their sum is
  (the same test on the sum: single months of a few events have little power);
- the trend is the Mann-Kendall test of the monthly **excess** (count - expected), so a rise of
  every feed everywhere, or the summer peak, is not read as an intensifying hotspot. The excess
  is rounded to whole events: the expected count drifts by fractions of an event from month to
  month, and unrounded it would break the ties between months of equal count (a run of quiet
  months under a slowly rising baseline would read as a significant decrease).

A month is **cold** when its count is significantly below expected (one-sided Poisson test,
``P(X <= count | expected)``); with a few events expected a month is rarely cold, so
"oscillating" needs a busy baseline.

Categories, first match wins (``docs/hotspots.md`` explains the adaptation; the words people
read, with their definitions and the window, are in ``core.trend_words``):

0. ``"too short"``: fewer than ``MIN_MONTHS`` months (ArcGIS needs ten time steps): not
   classified. A one-quarter window would call every hotspot "new";
1. ``"no pattern"``: never hot in a single month (significant only in aggregate);
2. ``"new"``: hot in one of the last ``recent_months`` and never before the last ``new_months``;
3. ``"consecutive"``: hot recently, the hot months one unbroken run (of at least two) reaching
   the recent months and starting before the last ``new_months``, fewer than
   ``persistent_share`` of the months hot (a run out of a quiet past always rises
   significantly, so this comes before "intensifying");
4. ``"diminishing"``: the excess decreases significantly;
5. ``"intensifying"``: hot recently and the excess increases significantly;
6. ``"persistent"``: hot recently, in at least ``persistent_share`` of the months, no trend;
7. ``"oscillating"``: hot recently, on and off, and cold in at least one earlier month;
8. ``"sporadic"``: hot recently, on and off (fewer than ``persistent_share`` of months), never
   cold;
9. ``"historical"``: hot before, not in the last ``recent_months``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ArcGIS Pro's eight emerging hot-spot classes and "no pattern" (``core.trend_words`` names them).
CATEGORIES = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
              "oscillating", "historical", "no pattern")
#: A window too short to classify (not a class: the label says so).
TOO_SHORT = "too short"
#: Fewest months classified (ArcGIS Pro's emerging hot-spot analysis needs ten time steps).
MIN_MONTHS = 10
#: A Mann-Kendall test needs at least this many periods; a feed window with fewer is "not
#: enough data" (``core.periods.trend_table``), never "no trend".
MIN_PERIODS = 3


@dataclass(frozen=True)
class MannKendall:
    """Result of the Mann-Kendall test: S, its variance, z, two-sided p, Kendall's tau,
    Sen's slope (per step) and ``trend`` ("increasing", "decreasing" or "no trend")."""

    s: float
    var_s: float
    z: float
    p_value: float
    tau: float
    slope: float
    trend: str


@dataclass(frozen=True)
class Emerging:
    """A hotspot's emerging-trend category with the evidence behind it."""

    category: str
    hot: np.ndarray
    hot_share: float
    mann_kendall: MannKendall
    cold: np.ndarray | None = None


def mann_kendall(series, alpha: float = 0.05) -> MannKendall:
    """Mann-Kendall trend test with the tie correction and the continuity correction.

    Parameters
    ----------
    series : array-like
        Values in time order (NaN not allowed).
    alpha : float
        Two-sided significance level for ``trend``.

    Returns
    -------
    MannKendall

    Examples
    --------
    >>> mann_kendall([1, 2, 3, 4, 5, 6, 7, 8]).trend
    'increasing'
    """
    x = np.asarray(series, float)
    if np.isnan(x).any():
        raise ValueError("series has NaN values")
    n = len(x)
    if n < MIN_PERIODS:
        return MannKendall(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, "no trend")
    i, j = np.triu_indices(n, k=1)
    diff = x[j] - x[i]
    s = float(np.sign(diff).sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = (n * (n - 1) * (2 * n + 5) - np.sum(ties * (ties - 1) * (2 * ties + 5))) / 18.0
    if var_s <= 0:
        z = 0.0
    else:
        z = (s - np.sign(s)) / np.sqrt(var_s)
    from scipy import special  # on first use, not at import (the first page needs none)
    p = float(2 * special.ndtr(-abs(z)))  # two-sided normal tail (stats.norm.sf, faster)
    slope = float(np.median(diff / (j - i)))
    trend = "no trend" if p > alpha else ("increasing" if s > 0 else "decreasing")
    return MannKendall(s, float(var_s), float(z), p, s / (n * (n - 1) / 2), slope, trend)


def hot_months(counts, expected, alpha: float = 0.05) -> np.ndarray:
    """Months whose count is significantly above expected (one-sided Poisson test)."""
    c, e = np.asarray(counts, float), np.asarray(expected, float)
    # P(X >= c) = P(X > c - 1) (stats.poisson.sf, faster); 1 for c = 0.
    from scipy import special  # on first use, not at import (the first page needs none)
    p = np.where(c > 0, special.pdtrc(np.maximum(c - 1, 0), np.maximum(e, 1e-12)), 1.0)
    return (c > e) & (p <= alpha)


def cold_months(counts, expected, alpha: float = 0.05) -> np.ndarray:
    """Months whose count is significantly below expected (one-sided Poisson test)."""
    c, e = np.asarray(counts, float), np.asarray(expected, float)
    from scipy import special  # on first use, not at import (the first page needs none)
    p = special.pdtr(np.maximum(c, 0), np.maximum(e, 1e-12))  # P(X <= c)
    return (c < e) & (p <= alpha)


def _one_run(hot: np.ndarray) -> int:
    """Length of the hot months' run when they form one unbroken run, else 0."""
    where = np.flatnonzero(hot)
    if not len(where) or where[-1] - where[0] + 1 != len(where):
        return 0
    return len(where)


def classify(counts, expected=None, *, alpha: float = 0.05, recent_months: int = 3,
             new_months: int = 6, persistent_share: float = 0.5,
             min_months: int = MIN_MONTHS) -> Emerging:
    """Classify a hotspot's monthly series into one of ``CATEGORIES``.

    Parameters
    ----------
    counts : array-like
        Events per month, oldest first.
    expected : array-like, optional
        Events expected per month from the population baseline; default the series mean
        (then "hot" means significantly above the hotspot's own average).
    alpha : float
        Significance level of the monthly hot test and of the trend test.
    recent_months, new_months : int
        The recent period (hot "now") and the period a new hotspot must be confined to.
    persistent_share : float
        Share of months a persistent hotspot is hot in (ArcGIS uses 90% of time steps; months
        of a few events each rarely all pass a test, hence a lower default).
    min_months : int
        Shorter series are ``TOO_SHORT`` (not classified).

    Returns
    -------
    Emerging

    Examples
    --------
    >>> classify([0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7], [0.2] * 12).category
    'new'
    """
    c = np.asarray(counts, float)
    e = np.full(len(c), c.mean()) if expected is None else np.asarray(expected, float)
    if c.shape != e.shape:
        raise ValueError(f"counts has {len(c)} months but expected has {len(e)}")
    hot, cold = hot_months(c, e, alpha), cold_months(c, e, alpha)
    trend = mann_kendall(np.round(c - e) + 0.0, alpha)  # whole events; + 0.0 turns -0.0 to 0.0
    share = float(hot.mean()) if len(hot) else 0.0
    # Hot now: a recent month is hot, or the recent months together are (one event a month
    # where 0.1 is expected passes no single month's test, but three in a row do).
    recent = bool(len(hot) and (hot[-recent_months:].any() or hot_months(
        [c[-recent_months:].sum()], [e[-recent_months:].sum()], alpha)[0]))
    n = len(hot)
    before_new = hot[:max(n - new_months, 0)]
    run = _one_run(hot)
    last_hot = int(np.flatnonzero(hot)[-1]) if hot.any() else -1
    if n < min_months:
        category = TOO_SHORT
    elif not hot.any():
        category = "no pattern"
    elif recent and not before_new.any():
        category = "new"
    elif recent and run >= 2 and last_hot >= n - recent_months and share < persistent_share:
        # Before "intensifying": a run out of a quiet past is always a significant rise.
        category = "consecutive"
    elif trend.trend == "decreasing":
        category = "diminishing"
    elif recent and trend.trend == "increasing":
        category = "intensifying"
    elif recent and share >= persistent_share:
        category = "persistent"
    elif recent and cold[:last_hot + 1].any():
        category = "oscillating"
    elif recent:
        category = "sporadic"
    else:
        category = "historical"
    return Emerging(category, hot, share, trend, cold)
