"""Synthetic accommodation sites: the demo exposure layer (``data.exposure``), and the point
samplers the demo feeds share (``data.synthetic``).

Tens of sites (``ROSEWOOD_SITES``) in wards of cheap, dense housing, with heavy-tailed bed
capacities (``ROSEWOOD_BEDS``: many small houses, a few large hotels) opening and closing over
the span; a few long-stay sites stay open throughout, so every month has beds. Each planted
Rosewood hotspot adds small sites inside its disc, opening at the hotspot's start, whose
episodes run far above their beds: a genuine excess over the exposure, which a model measured
against bed-nights must still find. ``docs/synthetic-data.md`` describes the figures.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.geomask import bng_to_lonlat

ROSEWOOD_SITES = 40  # ordinary accommodation sites (the exposure layer), chosen once per build
ROSEWOOD_LONG_STAY = 12  # of which open before the span and all through it (dispersal houses)
ROSEWOOD_HOTSPOT_SITES = 3  # a planted hotspot: small sites in its disc with excess episodes
ROSEWOOD_SITE_URBAN_POWER = 1.5  # site wards weighted by density**power: cheap dense housing
ROSEWOOD_BEDS = (5, 300)  # capacity range; lognormal (median, sigma) below: heavy-tailed
ROSEWOOD_BEDS_LOGNORMAL = (25.0, 1.1)
ROSEWOOD_HOTSPOT_BEDS = (5, 12)  # the planted hotspots' sites are small: the excess is real
ROSEWOOD_CLOSE_SHARE = 0.45  # of the other sites, closed within 0.5-3 years of opening
SITE_LOCATION_SHARES = {"point": 0.85, "lsoa": 0.10, "ward": 0.05}  # how partners give a site

def points_in_lsoas(rng, world, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A uniform BNG point inside each LSOA ``index[i]``: rejection sampling in batches."""
    x, y, todo = np.empty(len(index)), np.empty(len(index)), np.arange(len(index))
    while todo.size:
        b = world.bounds[index[todo]]
        cx = b[:, 0] + rng.random(todo.size) * (b[:, 2] - b[:, 0])
        cy = b[:, 1] + rng.random(todo.size) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(world.geoms[index[todo]], cx, cy)
        x[todo[inside]], y[todo[inside]] = cx[inside], cy[inside]
        todo = todo[~inside]
    return x, y


def points_in_discs(rng, spots: list[dict], which: np.ndarray, shrink: float = 1.0):
    """A uniform point in the disc of hotspot ``which[i]`` (0-based) for each i."""
    e, n, radius = (np.array([s[k] for s in spots], float)[which] for k in
                    ("easting", "northing", "radius_m"))
    r, angle = radius * shrink * np.sqrt(rng.random(len(which))), 2 * np.pi * rng.random(len(which))
    return e + r * np.cos(angle), n + r * np.sin(angle)



@dataclass
class Sites:
    """Accommodation sites: raw BNG point, its LSOA and ward, beds, open/close days (NaT while
    open), the form the partner gives the location in, and the planted hotspot (0: none)."""

    e: np.ndarray
    n: np.ndarray
    lsoa: np.ndarray
    ward: np.ndarray
    beds: np.ndarray
    opened: np.ndarray
    closed: np.ndarray
    form: np.ndarray
    planted: np.ndarray


def accommodation_sites(rng, world, spots: list[dict]) -> Sites:
    """``ROSEWOOD_SITES`` ordinary sites in dense (cheaper-housing) wards, none in a planted
    disc, with heavy-tailed capacities and opening/closing over the span; then the small sites
    of each planted hotspot, opening at its start month with an excess far above their beds.

    The shipped data has no house prices or deprivation index: a ward's residents per km²
    stands in for "cheap, dense terraced and flatted housing, where dispersal accommodation
    and contingency hotels concentrate"."""
    lsoas = world.lsoas
    wards = lsoas.groupby("ward_code")[["population", "area_km2"]].sum()
    ward_weight = (wards["population"] / wards["area_km2"]) ** ROSEWOOD_SITE_URBAN_POWER
    centres = np.array([[s["easting"], s["northing"], s["radius_m"]] for s in spots])
    e, n, index = np.empty(0), np.empty(0), np.empty(0, np.int64)
    while len(e) < ROSEWOOD_SITES:
        ward = rng.choice(wards.index.to_numpy(), size=ROSEWOOD_SITES,
                          p=(ward_weight / ward_weight.sum()).to_numpy())
        pick = np.array([rng.choice(np.flatnonzero(lsoas["ward_code"].to_numpy() == w))
                         for w in ward])
        ce, cn = points_in_lsoas(rng, world, pick)
        distance = np.hypot(ce[:, None] - centres[:, 0], cn[:, None] - centres[:, 1])
        clear = (distance > centres[:, 2] + 200).all(axis=1)
        e, n, index = np.r_[e, ce[clear]], np.r_[n, cn[clear]], np.r_[index, pick[clear]]
    e, n, index = e[:ROSEWOOD_SITES], n[:ROSEWOOD_SITES], index[:ROSEWOOD_SITES]
    median, sigma = ROSEWOOD_BEDS_LOGNORMAL
    beds = np.clip(np.round(rng.lognormal(np.log(median), sigma, ROSEWOOD_SITES)),
                   *ROSEWOOD_BEDS).astype(np.int64)
    first, last = world.month_first[0], world.end.to_datetime64().astype("datetime64[D]")
    span = int((last - first).astype(int))
    long_stay = np.arange(ROSEWOOD_SITES) < ROSEWOOD_LONG_STAY
    # Long-stay sites opened up to 4 years before the span; the others at any time from two
    # years before it to six months before its end, and some close again after 0.5-3 years.
    offset = np.where(long_stay, -rng.integers(180, 4 * 365, ROSEWOOD_SITES),
                      rng.integers(-2 * 365, span - 182, ROSEWOOD_SITES))
    opened = first + offset.astype("timedelta64[D]")
    closing = ~long_stay & (rng.random(ROSEWOOD_SITES) < ROSEWOOD_CLOSE_SHARE)
    closed = opened + rng.integers(182, 3 * 365, ROSEWOOD_SITES).astype("timedelta64[D]")
    closed = np.where(closing & (closed <= last), closed, np.datetime64("NaT"))
    shares = np.array(list(SITE_LOCATION_SHARES.values()))
    drawn = np.array(list(SITE_LOCATION_SHARES))[rng.choice(len(shares), ROSEWOOD_SITES, p=shares)]
    form = np.where(long_stay, "point", drawn)
    which = np.repeat(np.arange(len(spots)), ROSEWOOD_HOTSPOT_SITES)
    he, hn = points_in_discs(rng, spots, which, shrink=0.6)  # well inside the disc
    h_index = np.array([_lsoa_at(world, x, y) for x, y in zip(he, hn)])
    h_beds = rng.integers(ROSEWOOD_HOTSPOT_BEDS[0], ROSEWOOD_HOTSPOT_BEDS[1] + 1, len(he))
    # New accommodation: open from the hotspot's start month, when its excess starts too.
    h_opened = np.array([spots[k]["start_date"] for k in which], dtype="datetime64[D]")
    index = np.r_[index, h_index]
    return Sites(e=np.r_[e, he], n=np.r_[n, hn], lsoa=lsoas["code"].to_numpy()[index],
                  ward=lsoas["ward_code"].to_numpy()[index], beds=np.r_[beds, h_beds],
                  opened=np.r_[opened, h_opened],
                  closed=np.r_[closed, np.full(len(he), np.datetime64("NaT"), "datetime64[D]")],
                  form=np.r_[form, np.full(len(he), "point")], planted=np.r_[
                      np.zeros(ROSEWOOD_SITES, np.int64), which + 1])


def _lsoa_at(world, x: float, y: float) -> int:
    """Index of the LSOA holding a BNG point (the nearest when it falls on no polygon)."""
    inside = np.flatnonzero(shapely.contains_xy(world.geoms, x, y))
    if len(inside):
        return int(inside[0])
    return int(np.argmin(shapely.distance(world.geoms, shapely.Point(x, y))))


def bed_days(sites: Sites, first, days) -> np.ndarray:
    """Beds x days each site is open in the ``days`` days from ``first`` (the month's)."""
    stop = first + np.timedelta64(int(days), "D")
    closed = np.where(np.isnat(sites.closed), stop, sites.closed)
    open_days = (np.minimum(closed, stop) - np.maximum(sites.opened, first)).astype(np.int64)
    return np.clip(open_days, 0, None) * sites.beds


def site_frame(sites: Sites) -> pd.DataFrame:
    """The sites as a partner sends them (``data.exposure``): capacity, dates and one location
    form per site (a WGS84 point, only the LSOA, or only the ward), in a shuffled order."""
    lon, lat = bng_to_lonlat(sites.e, sites.n)
    point, lsoa, ward = (sites.form == f for f in ("point", "lsoa", "ward"))
    frame = pd.DataFrame({
        "bed_capacity": sites.beds.astype(str),
        "opened_on": sites.opened.astype(str),
        "closed_on": np.where(np.isnat(sites.closed), "", sites.closed.astype(str)),
        "longitude": np.where(point, np.round(lon, 6).astype(str), ""),
        "latitude": np.where(point, np.round(lat, 6).astype(str), ""),
        "lsoa_code": np.where(lsoa, sites.lsoa.astype(str), ""),
        "ward_code": np.where(ward, sites.ward.astype(str), "")})
    return frame.sort_values(["opened_on", "bed_capacity"], ignore_index=True)
