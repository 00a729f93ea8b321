"""Synthetic point patterns unlike the scan's discs, to test hotspot rankings without flattering them.

    from data.synthetic_families import FAMILIES, family_events
    events = family_events("micro_places", 8000, seed=0)   # GeoDataFrame, BNG, date, feed

The demo store (``data.synthetic``) plants uniform discs, the very shape the Poisson scan looks
for. These families are evaluation data only (they never go into a store): each mixes a
background spread by Census 2021 residents (an LSOA drawn by population, a point uniform in it)
with a structure of its own:

- ``micro_places``: events on a few hundred fixed micro-places (street segments, premises)
  whose weights are Pareto (shape 1.2): a handful take most events, as in the "law of crime
  concentration";
- ``corridors``: linear, irregular hotspots along random-walk polylines of ~6 km (a main road, a
  canal towpath) through urban places, 40 m either side;
- ``near_repeat``: a self-exciting (Hawkes) process: every event has on average 0.6 offspring
  within ~100 m and ~10 days (near-repeat burglary-like bursts);
- ``moving``: hotspots that appear, drift 1-4 km and fade, each for a few months;
- ``overdispersed``: no hotspot shape at all, but LSOA rates that vary far beyond Poisson
  (residents x Gamma(0.5) multipliers).

Every point is geomasked to its 100 m cell centre like stored data, points outside West
Yorkshire are dropped, and the same arguments give the same events. Dates are spread over
``months`` months ending ``end`` (a fixed default: nothing reads the clock).

The planted structure is in ``.attrs["truth"]`` (BNG metres, before geomasking; days counted
from ``day_zero``), for scoring
what a model recovers (``models.recovery``): ``micro_places`` the places' ``place_x``,
``place_y`` and ``place_weight`` (share of the structured events); ``corridors`` the
``lines_bng_wkt`` and each line's ``line_share``; ``moving`` each track's start centre,
``heading_rad``, ``drift_m``, ``start_day`` and ``days``; ``overdispersed`` each LSOA's
``lsoa_multiplier``; ``near_repeat`` has no persistent place (``persistent_places`` is None),
only its space-time ``bursts`` (families of 5+ events). Recording it draws nothing: the events
of every seed are the ones generated before it was recorded (``tests/test_recovery.py``).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.boundaries import load_boundaries, west_yorkshire_bng
from geo.crs import BNG
from geo.geomask import snap_to_grid

FAMILIES = ("micro_places", "corridors", "near_repeat", "moving", "overdispersed")
DEFAULT_END = "2025-12-31"
MICRO_PLACES = 300
PARETO_SHAPE = 1.2
CORRIDORS, CORRIDOR_STEP_M, CORRIDOR_STEPS, CORRIDOR_WIDTH_M = 4, 250, 24, 40
BRANCHING, TRIGGER_M, TRIGGER_DAYS = 0.6, 100, 10
MOVING, MOVING_SPREAD_M = 6, 200
GAMMA_SHAPE = 0.5
STRUCTURED_SHARE = {"micro_places": 0.7, "corridors": 0.5, "moving": 0.6}


def family_events(family: str, n_events: int, *, seed: int = 0, months: int = 24,
                  end: str = DEFAULT_END, feed: str = "synthetic") -> gpd.GeoDataFrame:
    """About ``n_events`` events of one family (see the module docstring).

    Returns
    -------
    GeoDataFrame
        BNG points at 100 m cell centres, ``date`` (datetime64) and ``feed``; the family's
        hidden structure in ``.attrs["truth"]`` (micro-place weights, corridor lines, ...).
    """
    if family not in FAMILIES:
        raise ValueError(f"family was {family!r}; expected one of {FAMILIES}")
    if n_events < 1 or months < 1:
        raise ValueError("n_events and months must be positive")
    rng = np.random.default_rng(seed)
    last = pd.Timestamp(end).normalize()
    first = (last.to_period("M") - (months - 1)).start_time
    span = (last - first).days + 1
    x, y, day, truth = _MAKERS[family](rng, int(n_events), span)
    inside = shapely.contains_xy(_outline(), x, y)
    x, y, day = x[inside], y[inside], np.asarray(day)[inside]
    order = np.argsort(day, kind="stable")
    e, n = snap_to_grid(x[order], y[order], 100)
    dates = first + pd.to_timedelta(day[order].astype(int), unit="D")
    frame = gpd.GeoDataFrame({"date": dates.to_numpy(), "feed": feed},
                             geometry=gpd.points_from_xy(e, n), crs=BNG)
    frame.attrs["truth"] = {"family": family, "seed": seed, "day_zero": str(first.date()),
                            **truth}
    return frame


# -- the families -----------------------------------------------------------------------------

def _micro_places(rng, n, span):
    px, py = residents(rng, MICRO_PLACES, urban=True)
    weight = rng.pareto(PARETO_SHAPE, MICRO_PLACES) + 1
    hot = rng.random(n) < STRUCTURED_SHARE["micro_places"]
    place = rng.choice(MICRO_PLACES, size=hot.sum(), p=weight / weight.sum())
    x, y = residents(rng, n)
    x[hot], y[hot] = px[place] + rng.normal(0, 15, hot.sum()), py[place] + rng.normal(0, 15,
                                                                                        hot.sum())
    top = np.sort(weight)[::-1] / weight.sum()
    return x, y, rng.integers(0, span, n), {
        "places": MICRO_PLACES, "top_10_share": round(float(top[:10].sum()), 3),
        "structured_share": STRUCTURED_SHARE["micro_places"], "spread_m": 15,
        # where each place is (BNG, before geomasking) and its share of the structured events
        "place_x": _rounded(px), "place_y": _rounded(py),
        "place_weight": _rounded(weight / weight.sum(), 6)}


def _corridors(rng, n, span):
    lines = []
    sx, sy = residents(rng, CORRIDORS, urban=True)
    for k in range(CORRIDORS):
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.35, CORRIDOR_STEPS))
        px = sx[k] + np.r_[0, np.cumsum(CORRIDOR_STEP_M * np.cos(heading))]
        py = sy[k] + np.r_[0, np.cumsum(CORRIDOR_STEP_M * np.sin(heading))]
        lines.append(shapely.LineString(np.c_[px, py]))
    hot = rng.random(n) < STRUCTURED_SHARE["corridors"]
    line_share = rng.dirichlet(np.full(CORRIDORS, 2.0))  # drawn before the choice, as always
    which = rng.choice(CORRIDORS, size=hot.sum(), p=line_share)
    along = rng.random(hot.sum())
    points = shapely.line_interpolate_point(np.array(lines, dtype=object)[which], along,
                                            normalized=True)
    x, y = residents(rng, n)
    x[hot] = shapely.get_x(points) + rng.normal(0, CORRIDOR_WIDTH_M, hot.sum())
    y[hot] = shapely.get_y(points) + rng.normal(0, CORRIDOR_WIDTH_M, hot.sum())
    return x, y, rng.integers(0, span, n), {
        "lines_bng_wkt": [line.wkt for line in lines], "line_share": _rounded(line_share, 6),
        "structured_share": STRUCTURED_SHARE["corridors"], "spread_m": CORRIDOR_WIDTH_M}


def _near_repeat(rng, n, span):
    """Immigrants by residents, uniform in time; each event's offspring (Poisson, mean
    ``BRANCHING``) within ~``TRIGGER_M`` metres and ``TRIGGER_DAYS`` days; about ``n`` in all."""
    roots = max(1, round(n * (1 - BRANCHING)))
    x, y = residents(rng, roots)
    day = rng.uniform(0, span, roots)
    family = np.arange(roots)  # each event's immigrant ancestor: bookkeeping, no draw
    xs, ys, days, families = [x], [y], [day], [family]
    while len(x):
        kids = rng.poisson(BRANCHING, len(x))
        parent = np.repeat(np.arange(len(x)), kids)
        x = x[parent] + rng.normal(0, TRIGGER_M, len(parent))
        y = y[parent] + rng.normal(0, TRIGGER_M, len(parent))
        day = day[parent] + rng.exponential(TRIGGER_DAYS, len(parent))
        family = family[parent]
        keep = day < span
        x, y, day, family = x[keep], y[keep], day[keep], family[keep]
        xs, ys, days, families = xs + [x], ys + [y], days + [day], families + [family]
    x, y, day = np.concatenate(xs), np.concatenate(ys), np.concatenate(days)
    return x, y, day, {
        "branching_ratio": BRANCHING, "trigger_m": TRIGGER_M, "trigger_days": TRIGGER_DAYS,
        "persistent_places": None,  # bursts are space-time: no place stays hot
        "bursts": _bursts(x, y, day, np.concatenate(families))}


def _moving(rng, n, span):
    """Hotspots each alive for 3-9 months, intensity rising then falling, centre drifting."""
    cx, cy = residents(rng, MOVING, urban=True)
    life = rng.uniform(90, 270, MOVING)
    start = rng.uniform(0, np.maximum(span - life, 1))
    heading, drift = rng.uniform(0, 2 * np.pi, MOVING), rng.uniform(1000, 4000, MOVING)
    hot = rng.random(n) < STRUCTURED_SHARE["moving"]
    which = rng.integers(0, MOVING, hot.sum())
    phase = rng.triangular(0, 0.5, 1, hot.sum())  # rises then fades
    x, y = residents(rng, n)
    day = rng.uniform(0, span, n)
    day[hot] = start[which] + phase * life[which]
    x[hot] = (cx[which] + phase * drift[which] * np.cos(heading[which])
              + rng.normal(0, MOVING_SPREAD_M, hot.sum()))
    y[hot] = (cy[which] + phase * drift[which] * np.sin(heading[which])
              + rng.normal(0, MOVING_SPREAD_M, hot.sum()))
    return x, y, np.minimum(day, span - 1), {
        "structured_share": STRUCTURED_SHARE["moving"], "spread_m": MOVING_SPREAD_M,
        # each track: centre at (start_x, start_y) on start_day, drifting drift_m along
        # heading_rad (radians from east, anticlockwise) over `days`; events peak half-way
        "hotspots": [{"start_day": round(float(s), 1), "days": round(float(d), 1),
                      "drift_m": round(float(m), 1), "start_x": round(float(sx), 1),
                      "start_y": round(float(sy), 1), "heading_rad": round(float(h), 6)}
                     for s, d, m, sx, sy, h in zip(start, life, drift, cx, cy, heading)]}


def _overdispersed(rng, n, span):
    lsoas = _lsoas()
    multiplier = rng.gamma(GAMMA_SHAPE, 1 / GAMMA_SHAPE, len(lsoas))
    weight = lsoas["population"].to_numpy(float) * multiplier
    x, y = _in_lsoas(rng, rng.choice(len(lsoas), size=n, p=weight / weight.sum()))
    return x, y, rng.integers(0, span, n), {
        "gamma_shape": GAMMA_SHAPE,
        # each LSOA's rate per resident relative to the mean of 1 (2021 LSOA code: multiplier)
        "lsoa_multiplier": dict(zip(lsoas["code"], _rounded(multiplier, 6)))}


def _rounded(values, digits: int = 1) -> list:
    return [round(float(v), digits) for v in values]


def _bursts(x, y, day, family, smallest: int = 5) -> list:
    """The near-repeat families of at least ``smallest`` events (before the county outline and
    geomasking): centre (BNG), events, radius holding them all (m), first and last day."""
    size = np.bincount(family)
    out = []
    for k in np.flatnonzero(size >= smallest):
        mine = family == k
        cx, cy = x[mine].mean(), y[mine].mean()
        out.append({"x": round(float(cx), 1), "y": round(float(cy), 1), "events": int(size[k]),
                    "radius_m": round(float(np.hypot(x[mine] - cx, y[mine] - cy).max()), 1),
                    "first_day": round(float(day[mine].min()), 1),
                    "last_day": round(float(day[mine].max()), 1)})
    return out


_MAKERS = {"micro_places": _micro_places, "corridors": _corridors, "near_repeat": _near_repeat,
           "moving": _moving, "overdispersed": _overdispersed}


# -- places -----------------------------------------------------------------------------------

_CACHE: dict = {}


def _lsoas() -> gpd.GeoDataFrame:
    if "lsoa" not in _CACHE:
        frame = load_boundaries("lsoa")[["code", "population", "area_km2", "geometry"]
                                        ].to_crs(BNG)
        shapely.prepare(frame.geometry.to_numpy())
        _CACHE["lsoa"] = frame
    return _CACHE["lsoa"]


def _outline():
    if "outline" not in _CACHE:
        outline = west_yorkshire_bng()
        shapely.prepare(outline)
        _CACHE["outline"] = outline
    return _CACHE["outline"]


def residents(rng, n: int, urban: bool = False):
    """``n`` points (BNG eastings, northings): an LSOA drawn by population (by density x
    population when ``urban``), a point uniform inside it. Also the background of the tests'
    null data (``tests.test_hotspots.null_events``)."""
    lsoas = _lsoas()
    weight = lsoas["population"].to_numpy(float)
    if urban:
        weight = weight * (weight / lsoas["area_km2"].to_numpy(float))
    return _in_lsoas(rng, rng.choice(len(lsoas), size=n, p=weight / weight.sum()))


def _in_lsoas(rng, index: np.ndarray):
    polygons = _lsoas().geometry.to_numpy()
    bounds = shapely.bounds(polygons)
    x, y, todo = np.empty(len(index)), np.empty(len(index)), np.arange(len(index))
    while todo.size:
        b = bounds[index[todo]]
        cx = b[:, 0] + rng.random(todo.size) * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + rng.random(todo.size) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(polygons[index[todo]], cx, cy)
        x[todo[inside]], y[todo[inside]] = cx[inside], cy[inside]
        todo = todo[~inside]
    return x, y
