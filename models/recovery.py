"""Score reported hotspots against the planted structure of a synthetic family.

    from data.synthetic_families import family_events
    from models.recovery import score_hotspots
    events = family_events("micro_places", 8000, seed=1)
    model = HotspotModel(random_state=1, cross_feed=False, ranking=None).fit(events)
    score = score_hotspots(model.hotspots_, events.attrs["truth"], 8000)
    score.planted, score.recovered, score.false_hotspots

The definitions were written down before any fit was scored (docs/hotspots.md, point 3b):

- a structure's *footprint* is its geometry buffered by the geomask's 71 m plus twice the
  spread of its events (micro-places 101 m, corridors 151 m, moving tracks 471 m);
- it is *planted and detectable* when its excess expected events (above the population
  rate) that one scan window can hold reach ``2 x min_events``; windows reach 3 km across;
- *recovered*: a micro-place when a hotspot meets its footprint; a corridor or a track when
  hotspots buffered by its slack cover half its length (inside West Yorkshire); an
  overdispersed LSOA when hotspots buffered by 71 m cover half its area;
- a *false hotspot* meets no structure's footprint (detectable or not); for ``overdispersed``
  one whose true relative risk (residents-weighted multiplier of the LSOAs it overlaps over
  the county's) is at most 1; for ``near_repeat`` (no persistent place) one that meets no burst
  of ``min_events`` or more events.

``score_alerts`` does the same for the prospective scan's alerts on ``near_repeat``: a burst
of 5+ events ending in the analysed month is recovered when an alert meets it; an alert is
false when it meets no burst active during its months. Everything is in BNG metres
(EPSG:27700).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.synthetic_families import STRUCTURED_SHARE
from geo.boundaries import load_boundaries, west_yorkshire_bng
from geo.crs import BNG

GEOMASK_SLACK_M = 71.0  # half the diagonal of a 100 m cell: the furthest geomasking moves a point
WINDOW_REACH_M = 3000.0  # the scan's largest window (radius 1.5 km) spans 3 km
DETECTABLE_FACTOR = 2  # detectable: excess expected events >= this x min_events
COVERED_SHARE = 0.5  # a line or an LSOA is recovered when hotspots cover this share of it
MICRO_SPREAD_M, CORRIDOR_SPREAD_M, MOVING_SPREAD_M = 15.0, 40.0, 200.0
MOVING_TRACKS = 6


@dataclass
class Structure:
    """One planted structure: what it is, its geometry, footprint and expected excess events."""
    kind: str
    geometry: shapely.Geometry
    footprint: shapely.Geometry
    excess: float
    detectable: bool
    recovered: bool = False


@dataclass
class RecoveryScore:
    """How one fit's hotspots match one family's truth."""
    family: str
    structures: list[Structure]
    hotspots: int
    false_hotspots: int
    area_km2: float
    true_relative_risk: list[float] = field(default_factory=list)  # overdispersed only

    @property
    def planted(self) -> int:
        """Planted-and-detectable structures."""
        return sum(s.detectable for s in self.structures)

    @property
    def recovered(self) -> int:
        """Planted-and-detectable structures recovered."""
        return sum(s.detectable and s.recovered for s in self.structures)


def score_hotspots(hotspots: gpd.GeoDataFrame, truth: dict, n_events: int, *,
                   min_events: int = 10) -> RecoveryScore:
    """Score ``hotspots`` (any CRS; e.g. ``HotspotModel.hotspots_``) against ``truth``
    (``family_events(...).attrs["truth"]``) for a family generated with ``n_events``."""
    family = truth["family"]
    shapes = np.asarray(hotspots.to_crs(BNG).geometry.to_numpy(), dtype=object)
    floor = DETECTABLE_FACTOR * min_events
    structures = _STRUCTURES[family](truth, n_events, floor, min_events)
    union = shapely.union_all(shapes) if len(shapes) else shapely.Polygon()
    for s in structures:
        s.recovered = _recovered(s, union)
    relative_risk: list[float] = []
    if family == "overdispersed":
        relative_risk = [_true_relative_risk(shape, truth) for shape in shapes]
        false = sum(rr <= 1.0 for rr in relative_risk)
    else:
        footprints = [s.footprint for s in structures] or [shapely.Polygon()]
        tree = shapely.STRtree(footprints)
        false = sum(len(tree.query(shape, predicate="intersects")) == 0 for shape in shapes)
    area = float(sum(shapely.area(shapes))) / 1e6 if len(shapes) else 0.0
    return RecoveryScore(family, structures, len(shapes), int(false), area, relative_risk)


@dataclass
class AlertScore:
    """How one prospective-scan analysis's alerts match ``near_repeat``'s bursts."""
    live: int  # bursts of 5+ events whose last event falls in the analysed month
    recovered: int  # of those, met by an alert
    alerts: int
    false_alerts: int  # alerts meeting no burst active during their months
    live_bursts: list[tuple[int, bool]] = field(default_factory=list)  # (events, recovered)


def score_alerts(alerts: gpd.GeoDataFrame, truth: dict, as_of: str, *,
                 min_events: int = 5) -> AlertScore:
    """Score ``ProspectiveScan.alerts_`` of the month ``as_of`` ("2025-12") against the bursts
    of a ``near_repeat`` truth (docs/hotspots.md, point 3b)."""
    zero = pd.Timestamp(truth["day_zero"])
    month = pd.Period(as_of, freq="M")
    month_first = (month.start_time - zero).days
    month_last = (month.end_time.normalize() - zero).days + 1
    bursts = [b for b in truth["bursts"] if b["events"] >= min_events]
    footprints = [shapely.Point(b["x"], b["y"]).buffer(b["radius_m"] + GEOMASK_SLACK_M)
                  for b in bursts]
    shapes = alerts.to_crs(BNG).geometry.to_numpy() if len(alerts) else []
    union = shapely.union_all(shapes) if len(shapes) else shapely.Polygon()
    live = [k for k, b in enumerate(bursts) if month_first <= b["last_day"] < month_last]
    found = [(bursts[k]["events"], bool(union.intersects(footprints[k]))) for k in live]
    recovered = sum(hit for _, hit in found)
    false = 0
    for shape, start, end in zip(shapes, alerts.get("start_month", []),
                                 alerts.get("end_month", [])):
        first = (pd.Period(start, freq="M").start_time - zero).days
        last = (pd.Period(end, freq="M").end_time.normalize() - zero).days + 1
        active = [k for k, b in enumerate(bursts)
                  if b["first_day"] < last and b["last_day"] >= first]
        false += not any(shape.intersects(footprints[k]) for k in active)
    return AlertScore(len(live), int(recovered), len(shapes), int(false), found)


# -- each family's structures -----------------------------------------------------------------

def _micro_places(truth, n, floor, _min_events):
    slack = GEOMASK_SLACK_M + 2 * MICRO_SPREAD_M
    points = shapely.points(truth["place_x"], truth["place_y"])
    excess = n * truth["structured_share"] * np.asarray(truth["place_weight"])
    return [Structure("place", p, p.buffer(slack), float(e), bool(e >= floor))
            for p, e in zip(points, excess)]


def _corridors(truth, n, floor, _min_events):
    slack = GEOMASK_SLACK_M + 2 * CORRIDOR_SPREAD_M
    lines = shapely.from_wkt(truth["lines_bng_wkt"])
    outline = _outline()
    out = []
    for line, share in zip(lines, truth["line_share"]):
        excess = n * truth["structured_share"] * share * min(1.0, WINDOW_REACH_M / line.length)
        inside = line.intersection(outline)
        out.append(Structure("line", inside, inside.buffer(slack), float(excess),
                             bool(excess >= floor)))
    return out


def _moving(truth, n, floor, _min_events):
    slack = GEOMASK_SLACK_M + 2 * MOVING_SPREAD_M
    per_track = n * STRUCTURED_SHARE["moving"] / MOVING_TRACKS
    outline = _outline()
    out = []
    for track in truth["hotspots"]:
        x0, y0 = track["start_x"], track["start_y"]
        x1 = x0 + track["drift_m"] * np.cos(track["heading_rad"])
        y1 = y0 + track["drift_m"] * np.sin(track["heading_rad"])
        segment = shapely.LineString([(x0, y0), (x1, y1)])
        excess = per_track * min(1.0, WINDOW_REACH_M / track["drift_m"])
        inside = segment.intersection(outline)
        out.append(Structure("track", inside, inside.buffer(slack), float(excess),
                             bool(excess >= floor)))
    return out


def _overdispersed(truth, n, floor, _min_events):
    lsoas = _lsoas()
    multiplier = lsoas["code"].map(truth["lsoa_multiplier"]).to_numpy(float)
    population = lsoas["population"].to_numpy(float)
    mean = (population * multiplier).sum() / population.sum()
    excess = (multiplier / mean - 1) * n * population / population.sum()
    return [Structure("lsoa", g, g, float(e), bool(e >= floor))
            for g, e in zip(lsoas.geometry.to_numpy(), excess)]


def _near_repeat(truth, _n, _floor, min_events):
    """No persistent place: nothing to recover. Bursts of ``min_events`` or more events are
    real space-time concentrations, so a hotspot meeting one is not counted false."""
    out = []
    for burst in truth["bursts"]:
        if burst["events"] >= min_events:
            centre = shapely.Point(burst["x"], burst["y"])
            out.append(Structure("burst", centre,
                                 centre.buffer(burst["radius_m"] + GEOMASK_SLACK_M),
                                 float(burst["events"]), False))
    return out


_STRUCTURES = {"micro_places": _micro_places, "corridors": _corridors, "moving": _moving,
               "overdispersed": _overdispersed, "near_repeat": _near_repeat}


# -- recovered? true relative risk ------------------------------------------------------------

def _recovered(structure: Structure, union) -> bool:
    if union.is_empty:
        return False
    if structure.kind == "place":
        return bool(union.intersects(structure.footprint))
    if structure.kind in ("line", "track"):
        slack = GEOMASK_SLACK_M + 2 * (CORRIDOR_SPREAD_M if structure.kind == "line"
                                       else MOVING_SPREAD_M)
        length = structure.geometry.length
        if length <= 0:
            return False
        if not union.intersects(structure.footprint):
            return False
        covered = structure.geometry.intersection(union.buffer(slack)).length
        return bool(covered >= COVERED_SHARE * length)
    if structure.kind == "lsoa":
        if not union.intersects(structure.geometry):
            return False
        covered = structure.geometry.intersection(union.buffer(GEOMASK_SLACK_M)).area
        return bool(covered >= COVERED_SHARE * structure.geometry.area)
    return False


def _true_relative_risk(shape, truth: dict) -> float:
    """The planted rate inside ``shape`` over the county's: LSOA multipliers weighted by
    residents x the share of each LSOA's area the shape overlaps."""
    lsoas = _lsoas()
    multiplier = lsoas["code"].map(truth["lsoa_multiplier"]).to_numpy(float)
    population = lsoas["population"].to_numpy(float)
    mean = (population * multiplier).sum() / population.sum()
    index = lsoas.sindex.query(shape, predicate="intersects")
    polygons = lsoas.geometry.to_numpy()[index]
    share = shapely.area(shapely.intersection(polygons, shape)) / shapely.area(polygons)
    weight = population[index] * share
    if weight.sum() <= 0:
        return 0.0
    return float((weight * multiplier[index]).sum() / weight.sum() / mean)


_CACHE: dict = {}


def _lsoas() -> gpd.GeoDataFrame:
    if "lsoa" not in _CACHE:
        _CACHE["lsoa"] = load_boundaries("lsoa")[["code", "population", "geometry"]].to_crs(BNG)
    return _CACHE["lsoa"]


def _outline():
    if "outline" not in _CACHE:
        _CACHE["outline"] = west_yorkshire_bng()
    return _CACHE["outline"]
