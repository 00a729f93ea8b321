"""Colours, class breaks and legends of the explorer map's coloured layers.

:func:`classify` puts the values a layer shows into classes (exact Jenks natural breaks, or
quantiles), :func:`legend_classes` gives each class its colour from :data:`RAMPS` and its range
of values, and a :class:`MapLegend` is the legend as *data*, for the page to draw with
Streamlit: branca's colormap legend loads d3 from a CDN (``maps.local_assets`` refuses it).
Suppressed values never reach a class break or a legend label (``maps.area_layer``).

This module never imports Streamlit.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

#: Sequential ramps by number of classes: ColorBrewer "OrRd" (Cynthia Brewer, Mark Harrower,
#: Pennsylvania State University; Apache-style licence), light = few, dark = many. One and two
#: classes take colours from the middle of the ramp.
RAMPS: dict[int, tuple[str, ...]] = {
    1: ("#fc8d59",),
    2: ("#fdcc8a", "#e34a33"),
    3: ("#fee8c8", "#fdbb84", "#e34a33"),
    4: ("#fef0d9", "#fdcc8a", "#fc8d59", "#d7301f"),
    5: ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"),
    6: ("#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"),
    7: ("#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"),
}
MAX_CLASSES = max(RAMPS)
#: Areas whose count is suppressed.
HIDDEN_COLOUR = "#a3a3a3"
#: Areas with no count at all (not in the counts frame) or no residents for a rate.
NO_DATA_COLOUR = "#ffffff"
#: Areas outside the chosen districts: a cool pale grey, apart from the warm ramp (whose
#: lightest class is the "0" colour) and from the mid grey of hidden counts.
NOT_SELECTED_COLOUR = "#dde3ea"
NOT_SELECTED = "Not selected"
#: The heat map's colours (Leaflet.heat ``gradient``), low to high density; its legend shows
#: the same stops.
HEAT_GRADIENT = {0.4: "#2b83ba", 0.6: "#abdda4", 0.75: "#ffffbf", 0.9: "#fdae61",
                 1.0: "#d7191c"}
SCHEMES = ("natural_breaks", "quantiles")
#: Natural breaks are exact up to this many distinct values (see jenks_breaks).
JENKS_MAX_GROUPS = 512


@dataclass(frozen=True)
class LegendClass:
    """One colour of a map and what it means, e.g. ``("#fee5d9", "12 – 30")``."""

    colour: str
    label: str


@dataclass(frozen=True)
class MapLegend:
    """What the page draws next to a coloured layer (with Streamlit, not on the map).

    Attributes
    ----------
    title : str
        e.g. "Records per 100,000 residents, by ward".
    classes : tuple of LegendClass
        Light to dark; empty when nothing is shown (every area hidden, no data).
    hidden : str or None
        e.g. "Grey: fewer than 5 (hidden)" when any area is suppressed, else None.
    note : str
        Period, feeds and filters as the page gave them, plus what the figures rest on (ward
        populations are estimates).
    not_selected : str or None
        :data:`NOT_SELECTED` when areas outside the chosen districts are drawn (in
        :data:`NOT_SELECTED_COLOUR`), else None.
    """

    title: str
    classes: tuple[LegendClass, ...]
    hidden: str | None
    note: str
    not_selected: str | None = None



def jenks_breaks(values, k: int, *, max_groups: int = JENKS_MAX_GROUPS) -> np.ndarray:
    """Jenks natural breaks: the upper bounds of the ``k`` classes.

    Minimises the within-class sum of squared deviations with Fisher's dynamic programme (as
    ``mapclassify.FisherJenks``), over the distinct values weighted by how often they occur, so
    counts with many ties stay fast. Deterministic, unlike ``mapclassify.NaturalBreaks``
    (k-means from random starts: the same 124 ward values gave different breaks on each call)
    and without ``FisherJenks``'s numba dependency (without numba it took 10 s for 3,000 values).

    Parameters
    ----------
    values : array-like of float
    k : int
        Classes wanted; at most the number of distinct values.
    max_groups : int
        Exact up to this many distinct values. Beyond, breaks may fall only at the ends of
        ``max_groups`` runs of consecutive distinct values (ends at evenly spaced ranks and
        before the largest gaps; the sums of squares stay exact), which keeps the programme at
        ``O(k * max_groups**2)``: ~10 ms, where the exact one took 0.3–2 s for 2,400–3,600
        distinct values. On lognormal, Pareto, normal, uniform and bimodal samples the result
        was within 0.03 % of the optimum.

    Returns
    -------
    ndarray of float
        ``k`` increasing upper bounds; the last is the maximum.
    """
    x, w = np.unique(np.asarray(values, dtype=float), return_counts=True)
    u = len(x)
    if k >= u:
        return x
    if k < 1:
        raise ValueError(f"k was {k}; expected at least 1")
    # Runs of consecutive distinct values (each value its own run when there are few). A run
    # ends at evenly spaced ranks and before the largest gaps, where breaks tend to fall.
    if u > max_groups:
        half = max_groups // 2
        ends = np.unique(np.concatenate([np.linspace(0, u, half + 1).astype(int)[1:] - 1,
                                         np.argsort(-np.diff(x), kind="stable")[:half],
                                         [u - 1]]))
    else:
        ends = np.arange(u)
    starts_at = np.concatenate([[0], ends[:-1] + 1])
    g = len(ends)
    cw = np.concatenate([[0.0], np.cumsum(np.add.reduceat(w.astype(float), starts_at))])
    c1 = np.concatenate([[0.0], np.cumsum(np.add.reduceat(w * x, starts_at))])
    c2 = np.concatenate([[0.0], np.cumsum(np.add.reduceat(w * x * x, starts_at))])

    def cost(a, b):  # squared deviations of runs a..b (inclusive), broadcasting
        n = cw[b + 1] - cw[a]
        s = c1[b + 1] - c1[a]
        return np.maximum(c2[b + 1] - c2[a] - s * s / n, 0.0)

    idx = np.arange(g)
    best = cost(np.zeros(g, dtype=int), idx)  # best[b]: runs 0..b in one class
    first = np.zeros((k, g), dtype=np.int64)  # first[j, b]: first run of the last class
    a = idx[:, None]
    for j in range(1, k):
        prev = np.concatenate([[np.inf], best[:-1]])[:, None]  # best[a - 1]
        b = idx[None, :]
        total = np.where((a >= j) & (a <= b), prev + cost(np.minimum(a, b), b), np.inf)
        first[j] = np.argmin(total, axis=0)
        best = total[first[j], idx]
    bounds, b = [], g - 1
    for j in range(k - 1, 0, -1):
        bounds.append(x[ends[b]])
        b = first[j, b] - 1
    bounds.append(x[ends[b]])
    return np.array(bounds[::-1])


def classify(values, *, scheme: str = "natural_breaks", n_classes: int = 5
             ) -> tuple[np.ndarray, np.ndarray]:
    """Put values into classes.

    Parameters
    ----------
    values : array-like of float
        The values shown on the map (no NaN).
    scheme : {"natural_breaks", "quantiles"}
        Exact Jenks breaks (:func:`jenks_breaks`), or ``mapclassify.Quantiles``.
    n_classes : int
        2 to 7. Fewer classes are made when there are fewer distinct values (one class when
        all values are equal, e.g. all zero); empty classes are dropped.

    Returns
    -------
    index : ndarray of int
        The class of each value, 0 = lowest, consecutive.
    bounds : ndarray of float
        Upper bound of each class, increasing.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme was {scheme!r}; expected one of {SCHEMES}")
    if not 2 <= n_classes <= MAX_CLASSES:
        raise ValueError(f"n_classes was {n_classes!r}; expected 2 to {MAX_CLASSES}")
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return np.empty(0, dtype=int), np.empty(0)
    if not np.isfinite(v).all():
        raise ValueError("values to classify must be finite (leave hidden areas out)")
    distinct = np.unique(v)
    k = min(n_classes, len(distinct))
    if k == len(distinct):
        bounds = distinct
    elif scheme == "natural_breaks":
        bounds = jenks_breaks(v, k)
    else:
        import mapclassify  # slow to import (scikit-learn): only when asked for

        with warnings.catch_warnings():  # ties make repeated quantiles; dropped below
            warnings.simplefilter("ignore")
            bounds = np.unique(np.asarray(mapclassify.Quantiles(v, k=k).bins, dtype=float))
    bounds = np.asarray(bounds, dtype=float).copy()
    bounds[-1] = max(bounds[-1], v.max())
    index = np.searchsorted(bounds, v, side="left")
    used, index = np.unique(index, return_inverse=True)
    return index.reshape(v.shape), bounds[used]


def number_text(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def legend_classes(values, index, *, decimals: int = 0) -> tuple[LegendClass, ...]:
    """One :class:`LegendClass` per class: its colour and the range of the values in it."""
    values = np.asarray(values, dtype=float)
    n = int(index.max()) + 1 if len(index) else 0
    ramp = RAMPS.get(n, ())
    out = []
    for i in range(n):
        inside = values[index == i]
        lo, hi = number_text(inside.min(), decimals), number_text(inside.max(), decimals)
        out.append(LegendClass(ramp[i], lo if lo == hi else f"{lo} – {hi}"))
    return tuple(out)


def join_note(*parts: str) -> str:
    return " · ".join(p for p in parts if p)
