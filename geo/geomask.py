"""Geomasking: coarsen points to the centre of a British National Grid cell.

Precise locations of victims, accommodation and clinics must never be stored. Every point is
snapped to the centre of the square BNG cell that contains it, so all points in one cell become the
same point and the stored coordinate reveals only the cell.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from pyproj import Transformer

from core.errors import ConfigError
from geo.crs import BNG, WGS84

DEFAULT_CELL_M = 100
MIN_CELL_M = 50  # below this a masked point could single out one building



@lru_cache(maxsize=2)
def _transformer(source: str, target: str) -> Transformer:
    """Made on first use, not at import (0.1-0.2 s, on the path of every page's first run)."""
    return Transformer.from_crs(source, target, always_xy=True)


# The one thread that projects. pyproj makes a transformer's PROJ object once per thread
# (0.035-0.05 s of CPU), and Streamlit runs each page run in a new thread: projected there,
# every run that maps points or cells paid it again (docs/benchmarks.md).
# Made per process: a forked child has no copy of its parent's thread.
_projector: tuple[int, ThreadPoolExecutor] | None = None
_projector_lock = threading.Lock()


def _project(source: str, target: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    global _projector
    with _projector_lock:  # two first callers at once must not start two threads
        if _projector is None or _projector[0] != os.getpid():
            _projector = (os.getpid(), ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="geomask-projector"))

    def project():
        return _transformer(source, target).transform(np.asarray(x, float), np.asarray(y, float))
    return _projector[1].submit(project).result()


def geomask_cell_m(value: int | str | None = None) -> int:
    """The grid cell size in metres: ``value``, else ``GEOMASK_M``, else 100; never below 50."""
    raw = value if value is not None else os.environ.get("GEOMASK_M", DEFAULT_CELL_M)
    try:
        cell = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"geomask cell size {raw!r} is not a whole number of metres") from None
    if cell < MIN_CELL_M:
        raise ConfigError(f"geomask cell size {cell} m is below the minimum of {MIN_CELL_M} m: "
                          "finer cells could identify a single address")
    return cell


def lonlat_to_bng(longitude, latitude) -> tuple[np.ndarray, np.ndarray]:
    return _project(WGS84, BNG, longitude, latitude)


def bng_to_lonlat(easting, northing) -> tuple[np.ndarray, np.ndarray]:
    return _project(BNG, WGS84, easting, northing)


def snap_to_grid(easting, northing, cell_m: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the centre of the ``cell_m`` BNG cell holding each point (whole metres)."""
    cell_m = geomask_cell_m(cell_m)
    e = np.floor(np.asarray(easting, float) / cell_m) * cell_m + cell_m // 2
    n = np.floor(np.asarray(northing, float) / cell_m) * cell_m + cell_m // 2
    return e.astype(np.int32), n.astype(np.int32)
