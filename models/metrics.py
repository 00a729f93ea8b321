"""Hotspot forecasting metrics: hit rate, PAI, RRI, and the top-coverage selection of cells.

- **Hit rate**: the share of (later) events that fall inside the hotspots.
- **Predictive Accuracy Index** (PAI, Chainey, Tompson and Uhlig 2008): hit rate divided by the
  hotspots' share of the study area, here West Yorkshire's land area. 1 is what a random area
  of the same size catches on average; higher is better.
- **Recapture Rate Index** (RRI, Levine 2008): the events of the test period in the hotspots
  divided by those of the training period in them, scaled by the ratio of the period totals.
  Near 1 means the hotspots keep catching their share; below 1 means they were fitted to noise
  (or the problem moved).
"""
from __future__ import annotations

import numpy as np


def hit_rate(hits: float, n_events: float) -> float:
    """Share of events caught (NaN without events)."""
    return float(hits) / n_events if n_events else float("nan")


def pai(hits: float, n_events: float, area_km2: float, total_area_km2: float) -> float:
    """Predictive Accuracy Index: hit rate / area share.

    Parameters
    ----------
    hits : float
        Events inside the hotspots.
    n_events : float
        All events of the period.
    area_km2 : float
        Area of the hotspots.
    total_area_km2 : float
        Area of the study region.

    Returns
    -------
    float
        NaN when there are no events; 0.0 when the hotspots have no area (nothing predicted).

    Examples
    --------
    >>> pai(hits=30, n_events=100, area_km2=20, total_area_km2=2000)
    30.0
    """
    if not n_events:
        return float("nan")
    if area_km2 <= 0:
        return 0.0
    return hit_rate(hits, n_events) / (area_km2 / total_area_km2)


def rri(test_hits: float, test_total: float, train_hits: float, train_total: float) -> float:
    """Recapture Rate Index: (test hits / train hits) / (test total / train total); NaN if undefined.

    Examples
    --------
    >>> rri(test_hits=10, test_total=100, train_hits=120, train_total=1200)
    1.0
    """
    if not (train_hits and test_total and train_total):
        return float("nan")
    return (test_hits / train_hits) / (test_total / train_total)


def top_cells(scores: np.ndarray, candidates: np.ndarray, n_cells: int) -> np.ndarray:
    """The ``n_cells`` candidate cells with the highest scores (ties: lower index first)."""
    candidates = np.asarray(candidates)
    n_cells = min(max(int(n_cells), 0), len(candidates))
    if not n_cells:
        return candidates[:0]
    negated = -np.asarray(scores, float)[candidates]
    # Sort only the cells that can make the cut (every cell tied with the last one included):
    # a full sort of the ~200,000 land cells per coverage dominated the evaluation's time.
    cut = np.partition(negated, n_cells - 1)[n_cells - 1]
    pool = np.flatnonzero(negated <= cut)
    order = np.lexsort((candidates[pool], negated[pool]))
    return candidates[pool[order[:n_cells]]]


def cells_for_coverage(coverage: float, total_area_km2: float, cell_km2: float) -> int:
    """How many cells make ``coverage`` of the study area (at least one)."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage was {coverage!r}; expected a share of the area in (0, 1]")
    return max(1, int(round(coverage * total_area_km2 / cell_km2)))
