"""Class breaks fixed across several maps: the twin map's two feeds, the time slider's months.

Two maps coloured by their own breaks cannot be compared by eye: the darkest class of one can
be the lightest of the other. :func:`fixed_breaks` classifies the values *all* the maps show
at once (``maps.legends.classify``), and :class:`FixedBreaks` colours each map's values by
those bounds, so one colour means one range of values on every map, and one legend serves all.

This module never imports Streamlit.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from maps.legends import LegendClass, classify, legend_classes


@dataclass(frozen=True)
class FixedBreaks:
    """Upper ``bounds`` of the classes (increasing) and their legend ``classes`` (colour and
    the range of values in each, over all the maps)."""

    bounds: tuple[float, ...]
    classes: tuple[LegendClass, ...]

    def index(self, values) -> np.ndarray:
        """The class of each of ``values`` (0 = lowest), by the fixed bounds."""
        v = np.asarray(values, dtype=float)
        if not self.bounds:
            return np.zeros(v.shape, dtype=int)
        return np.searchsorted(np.asarray(self.bounds), v, side="left").clip(
            max=len(self.bounds) - 1)


def fixed_breaks(value_sets: Iterable, *, scheme: str = "natural_breaks", n_classes: int = 5,
                 decimals: int = 0) -> FixedBreaks:
    """The breaks of all ``value_sets`` (one array of shown values per map) together.

    Hidden values must be left out of every set (as ``maps.area_layer`` leaves them out of
    its own breaks): a suppressed count never enters a class break or a legend label.
    """
    arrays = [np.asarray(v, dtype=float).ravel() for v in value_sets]
    values = np.concatenate(arrays) if arrays else np.empty(0)
    index, bounds = classify(values, scheme=scheme, n_classes=n_classes)
    classes = legend_classes(values, index, decimals=decimals) if len(values) else ()
    return FixedBreaks(tuple(float(b) for b in bounds), tuple(classes))
