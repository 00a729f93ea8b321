"""A fixed hexagon grid in British National Grid, for aggregating counts into equal areas.

The grid is **flat-top** (two sides horizontal) and anchored at the BNG origin, so a hexagon
is the same place whatever the filters: the same ``(q, r)`` always means the same ground.

Size convention: ``size_m`` is the **side** of the hexagon, which for a regular hexagon is also
its circumradius (centre to corner). Then

- width corner to corner (east–west) = ``2 * size_m``,
- height side to side (north–south) = distance between neighbouring centres
  = ``sqrt(3) * size_m``,
- area = ``3 * sqrt(3) / 2 * size_m**2`` (``size_m=500``: 0.650 km², close to an H3
  resolution-8 cell).

Coordinates are axial ``(q, r)`` (https://www.redblobgames.com/grids/hexagons/): a point goes to
the hexagon whose centre is nearest, found by cube rounding, all vectorised with numpy. Areas
are exact in BNG metres; hexagons are reprojected to WGS84 only to be drawn.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SQRT3 = np.sqrt(3.0)
#: Angles of the six corners of a flat-top hexagon, anticlockwise from east.
_CORNER_ANGLES = np.deg2rad(np.arange(0, 360, 60))


def hex_area_m2(size_m: float) -> float:
    """Area of one hexagon of side ``size_m`` (square metres)."""
    return 3.0 * SQRT3 / 2.0 * float(size_m) ** 2


def centre_spacing_m(size_m: float) -> float:
    """Distance between the centres of neighbouring hexagons of side ``size_m``."""
    return SQRT3 * float(size_m)


def _check_size(size_m) -> float:
    size = float(size_m)
    if not np.isfinite(size) or size <= 0:
        raise ValueError(f"size_m was {size_m!r}; expected a positive number of metres")
    return size


def axial_of(easting, northing, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates ``(q, r)`` of the hexagon containing each BNG point.

    Parameters
    ----------
    easting, northing : array-like of float
        Metres in EPSG:27700.
    size_m : float
        Side of the hexagons (see the module docstring).

    Returns
    -------
    q, r : ndarray of int64
    """
    size = _check_size(size_m)
    x = np.asarray(easting, dtype=float)
    y = np.asarray(northing, dtype=float)
    qf = (2.0 / 3.0) * x / size
    rf = (-x / 3.0 + SQRT3 / 3.0 * y) / size
    # Cube rounding: round all three cube coordinates, then fix the one that moved most.
    sf = -qf - rf
    q, r, s = np.round(qf), np.round(rf), np.round(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def centre_of(q, r, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """BNG easting and northing of the centres of hexagons ``(q, r)``."""
    size = _check_size(size_m)
    q = np.asarray(q, dtype=float)
    r = np.asarray(r, dtype=float)
    return size * 1.5 * q, size * SQRT3 * (r + q / 2.0)


def corners(easting, northing, size_m: float) -> np.ndarray:
    """The six corners of the hexagons centred at the given points.

    Returns
    -------
    ndarray of shape (n, 6, 2)
        BNG ``(easting, northing)`` of each corner, anticlockwise from the east corner.
    """
    size = _check_size(size_m)
    x = np.asarray(easting, dtype=float)[:, None]
    y = np.asarray(northing, dtype=float)[:, None]
    return np.stack([x + size * np.cos(_CORNER_ANGLES), y + size * np.sin(_CORNER_ANGLES)],
                    axis=-1)


def aggregate(easting, northing, count, size_m: float) -> pd.DataFrame:
    """Sum counts into hexagons; only hexagons with a positive total are returned.

    Parameters
    ----------
    easting, northing : array-like of float
        BNG points (e.g. the centres of ``RoleScopedQuery.cell_counts`` cells). A whole cell
        goes to the hexagon holding its centre, so use cells much smaller than the hexagons
        (100 m cells in 500 m hexagons move at most a sliver of a cell across an edge).
    count : array-like of int
        Weight of each point.
    size_m : float
        Side of the hexagons.

    Returns
    -------
    DataFrame
        ``q``, ``r`` (int64), ``easting``, ``northing`` (centre, metres) and ``count`` (int64),
        sorted by ``q`` then ``r``.
    """
    count = np.asarray(count, dtype=np.int64)
    q, r = axial_of(easting, northing, size_m)
    if len(q) == 0:
        empty = np.empty(0, dtype=np.int64)
        return pd.DataFrame({"q": empty, "r": empty, "easting": empty.astype(float),
                             "northing": empty.astype(float), "count": empty})
    # One int64 key per hexagon: 1-D unique is an order of magnitude faster than unique(axis=0).
    q0, r0 = q.min(), r.min()
    span = int(r.max() - r0) + 1
    key = (q - q0) * span + (r - r0)
    keys, inverse = np.unique(key, return_inverse=True)
    totals = np.bincount(inverse, weights=count, minlength=len(keys)).astype(np.int64)
    hq, hr = keys // span + q0, keys % span + r0
    keep = totals > 0
    hq, hr, totals = hq[keep], hr[keep], totals[keep]
    x, y = centre_of(hq, hr, size_m)
    return pd.DataFrame({"q": hq, "r": hr, "easting": x, "northing": y, "count": totals})
