"""Map layers for the analysts' explorer page: areas, hexagons, heat map, points.

Each builder takes a frame the query layer (``safeguards.access.RoleScopedQuery``) returned and gives
a ``folium.FeatureGroup`` to put on :func:`explorer_map` (a :func:`maps.basemap.base_map`, whose
scripts are all served by the dashboard), plus, for coloured layers, a :class:`MapLegend`: the
legend is *data* for the page to draw with Streamlit, because branca's colormap legend loads d3
from a CDN (``maps.basemap`` refuses it).

What a map costs is what it sends: every layer here ships aggregates, never one object per
event. The area layer grows with areas x vertices (coordinates on a ~1 m grid, only the
properties the tooltip needs), the hexagon layer with occupied hexagons, the heat map with a
bounded number of grid cells, and the points layer refuses more than ``max_points`` points.

Text safety: every string that reaches the map's HTML (area names, category values, counts)
is HTML-escaped here, and ``{``/``}`` are written as entities too, because folium renders its
output through Jinja a second time (a name containing ``{{ 7*7 }}`` would otherwise be
*evaluated* on the server). The data-heavy elements (GeoJSON, heat rows, point clusters) are
rendered without that second pass (``maps.basemap.VerbatimRender``: it took most of a map's render
time), but their tooltips and controls still get it, so the escaping stays. Tooltips use
``innerHTML``, so escaped text shows as text.

Suppression: :func:`area_layer` takes ``area_counts`` output as is. A suppressed area (``<5`` or
``[c]``) is grey, its count shows as its label and its rate as "hidden"; its count never enters
a class break or a legend label. :func:`hex_layer`, :func:`heat_layer` and :func:`points_layer`
draw unsuppressed detail and take only what ``cell_counts`` and ``points`` return, which the
query layer gives to analysts alone.

This module never imports Streamlit.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd

from geo import hexgrid
from geo.boundaries import DISTRICT_CODES, LEVELS, load_boundaries
from geo.geomask import bng_to_lonlat
from maps.basemap import VerbatimGeoJson, VerbatimRender, base_map, boundary_geojson
from safeguards.disclosure import suppress_rates

# --------------------------------------------------------------------------------------------
# Colours and classes

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
SCHEMES = ("natural_breaks", "quantiles")
#: Natural breaks are exact up to this many distinct values (see jenks_breaks).
JENKS_MAX_GROUPS = 512
MEASURES = ("count", "rate")
PER = 100_000  # rates per this many residents
LEVEL_LABELS = {"district": "district", "ward": "ward", "lsoa": "LSOA"}
LEVEL_TITLES = {"district": "District", "ward": "Ward", "lsoa": "LSOA"}
#: What every ward rate rests on (geo.boundaries: LSOA populations summed by best fit).
WARD_POPULATION_NOTE = ("Ward populations are estimates (Census 2021 LSOA populations summed "
                        "to the best-fitting ward)")

#: The rate's name in an area tooltip, on official populations and on estimated ones (wards).
RATE_ALIAS = "Per 100,000"
RATE_ALIAS_ESTIMATE = "Per 100,000 (estimated population)"

AREA_STYLE = {"color": "#5b5b5b", "weight": 0.6, "opacity": 0.9, "fillOpacity": 0.78}
HIGHLIGHT = {"color": "#111111", "weight": 2.5, "opacity": 1, "fillOpacity": 0.9}
HEX_STYLE = {"color": "#7a3a1a", "weight": 0.3, "opacity": 0.6, "fillOpacity": 0.75}
#: Map coordinates are rounded to 5 decimals (about 1 m), as maps.basemap does.
DECIMALS = 5

#: Point tooltips show these category fields (whichever the feed has), never identifiers.
POINT_FIELDS = ("age_group", "exploitation_type", "risk_level", "indicators")
FEED_SHORT = {"nrm": "NRM", "rosewood": "Rosewood", "mandevilla": "Mandevilla"}
MAX_POINTS = 10_000
#: The heat map ships at most this many grid cells (coarsening the grid until it fits).
MAX_HEAT_CELLS = 15_000


def _row_bounds(rows) -> list[list[float | None]]:
    """Bounds of ``[lat, lon, ...]`` rows, by NumPy (folium's loop is slow for 10^4 rows)."""
    if not len(rows):
        return [[None, None], [None, None]]
    latlon = np.asarray(rows, dtype=float)[:, :2]
    return [latlon.min(axis=0).tolist(), latlon.max(axis=0).tolist()]


class _HeatMap(folium.plugins.HeatMap, VerbatimRender):
    """``HeatMap`` rendered without a second template pass (``maps.basemap.VerbatimRender``)."""

    def _get_self_bounds(self):
        return _row_bounds(self.data)


class _FastMarkerCluster(folium.plugins.FastMarkerCluster, VerbatimRender):
    """``FastMarkerCluster`` rendered without a second template pass."""

    def _get_self_bounds(self):
        return _row_bounds(self.data)


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
    """

    title: str
    classes: tuple[LegendClass, ...]
    hidden: str | None
    note: str


def text(value) -> str:
    """``value`` as text safe to put in the map's HTML (and in folium's second Jinja pass)."""
    return html.escape(str(value)).replace("{", "&#123;").replace("}", "&#125;")


def _js_json(value) -> str:
    """JSON for inline JavaScript: no ``<``, ``>``, ``&`` or ``'`` that could end a script."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027").replace("{", "\\u007b").replace("}", "\\u007d"))


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


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def legend_classes(values, index, *, decimals: int = 0) -> tuple[LegendClass, ...]:
    """One :class:`LegendClass` per class: its colour and the range of the values in it."""
    values = np.asarray(values, dtype=float)
    n = int(index.max()) + 1 if len(index) else 0
    ramp = RAMPS.get(n, ())
    out = []
    for i in range(n):
        inside = values[index == i]
        lo, hi = _number(inside.min(), decimals), _number(inside.max(), decimals)
        out.append(LegendClass(ramp[i], lo if lo == hi else f"{lo} – {hi}"))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Areas


@lru_cache(maxsize=len(LEVELS))
def _cached_geometries(level: str) -> dict[str, dict]:
    """code -> GeoJSON geometry on the ~1 m grid, computed once per process and level."""
    return _geometries(load_boundaries(level))


def _geometries(areas: gpd.GeoDataFrame) -> dict[str, dict]:
    collection = boundary_geojson(areas, properties=("code",))
    return {f["properties"]["code"]: f["geometry"] for f in collection["features"]}


def _hidden_note(display: pd.Series) -> str:
    labels = set(display.astype(str))
    below = sorted(int(m.group(1)) for m in map(re.compile(r"^<(\d+)$").match, labels) if m)
    confidential = "[c]" in labels
    if below and confidential:
        return (f"Grey: fewer than {below[-1]}, or hidden so that a small number cannot be "
                "worked out ([c])")
    if below:
        return f"Grey: fewer than {below[-1]} (hidden)"
    return "Grey: hidden to protect the people counted"


def _count_label(display) -> str:
    """A shown count with thousands separators ("1,234"); "<5", "[c]" as they are."""
    label = str(display)
    return f"{int(label):,}" if label.isdigit() else label


def _join_note(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def _population_is_estimate(level: str, areas: pd.DataFrame) -> bool:
    """Wards' populations are best-fit estimates (``geo.boundaries``); any other level's only
    where its boundaries flag one (``population_estimate``)."""
    if level == "ward":
        return True
    if "population_estimate" in areas.columns:
        return bool(areas["population_estimate"].fillna(False).astype(bool).any())
    return False


def area_layer(counts: pd.DataFrame, level: str, *, measure: str = "count",
               scheme: str = "natural_breaks", n_classes: int = 5, note: str = "",
               name: str = "Areas", subject: str = "Records",
               boundaries: gpd.GeoDataFrame | None = None
               ) -> tuple[folium.FeatureGroup, MapLegend]:
    """A choropleth of counts or rates per area, with its legend.

    Parameters
    ----------
    counts : DataFrame
        ``RoleScopedQuery.area_counts(feeds, level, filters)`` without ``freq``: ``code``,
        ``count`` (Int64, <NA> where suppressed), ``display`` and ``suppressed``.
    level : {"district", "ward", "lsoa"}
    measure : {"count", "rate"}
        ``"rate"``: count per 100,000 residents (Census 2021). A suppressed count hides its
        rate. The tooltip shows the rate in both measures; ward populations are estimates, so
        at ward level the tooltip calls it "Per 100,000 (estimated population)" and the
        legend note carries :data:`WARD_POPULATION_NOTE`, for counts too. District and LSOA
        populations are official and are not labelled.
    scheme : {"natural_breaks", "quantiles"}
        See :func:`classify`; breaks are computed on the shown values only.
    n_classes : int
        2 to 7.
    note : str
        Period, feeds and filters (see :func:`filter_note`); copied into the legend.
    name : str
        The layer's name in the layer control.
    subject : str
        What is counted, for the legend title ("Referrals", "Records").
    boundaries : GeoDataFrame, optional
        Stand-in for ``load_boundaries(level)`` (tests): ``code``, ``name``, ``district_name``,
        ``population``, geometry.

    Returns
    -------
    layer : folium.FeatureGroup
        One ``folium.GeoJson`` (the first child) whose features carry ``code``, ``name``,
        ``district``, ``count`` (the display text) and ``rate`` (text), all escaped, and the
        area code as ``id``. streamlit-folium reports a click on an area in
        ``last_active_drawing["properties"]["code"]``.
    legend : MapLegend

    Raises
    ------
    ValueError
        Unknown level, measure or scheme; counts with missing columns, repeated codes (a
        frame made with ``freq``) or codes of another level.
    """
    if level not in LEVELS:
        raise ValueError(f"level was {level!r}; expected one of {LEVELS}")
    if measure not in MEASURES:
        raise ValueError(f"measure was {measure!r}; expected one of {MEASURES}")
    missing = {"code", "count", "display", "suppressed"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts lacks {sorted(missing)}: pass RoleScopedQuery.area_counts(...)")
    if counts["code"].duplicated().any():
        raise ValueError("counts has a code more than once: one row per area (no freq=)")
    areas = load_boundaries(level) if boundaries is None else boundaries
    geometries = _cached_geometries(level) if boundaries is None else _geometries(boundaries)
    unknown = set(counts["code"]) - set(areas["code"])
    if unknown:
        raise ValueError(f"counts has {len(unknown)} codes that are not {level} codes "
                         f"(first: {sorted(unknown)[0]!r})")

    table = areas[["code", "name", "district_name", "population"]].merge(
        counts[["code", "count", "display", "suppressed"]], on="code", how="left",
        validate="1:1").set_index("code")
    suppressed = table["suppressed"].fillna(False).astype(bool)
    # A hidden count is never read, whatever the frame holds.
    count = pd.to_numeric(table["count"], errors="coerce").astype(float).where(~suppressed)
    has_data = table["display"].notna() & (suppressed | count.notna())
    population = pd.to_numeric(table["population"], errors="coerce").astype(float)
    rate = (count / population.where(population > 0) * PER).round(1)
    rate = suppress_rates(rate, suppressed)
    value = rate if measure == "rate" else count
    shown = value.notna() & has_data & ~suppressed

    index, _ = classify(value[shown].to_numpy(), scheme=scheme, n_classes=n_classes)
    decimals = 1 if measure == "rate" else 0
    classes = legend_classes(value[shown].to_numpy(), index, decimals=decimals)
    fill = pd.Series(NO_DATA_COLOUR, index=table.index)
    fill[shown] = [classes[i].colour for i in index]
    fill[suppressed] = HIDDEN_COLOUR
    no_fill = ~(shown | suppressed)

    count_text = [_count_label(d) if ok else "no data"
                  for d, ok in zip(table["display"], has_data)]
    rate_text = ["hidden" if hidden else "–" if pd.isna(r) else _number(r, 1)
                 for hidden, r in zip(suppressed, rate)]
    codes = [text(code) for code in table.index]
    features = [{
        "type": "Feature", "id": code,
        "properties": {"code": code, "name": text(area), "district": text(district),
                       "count": text(n), "rate": text(r)},
        "geometry": geometries[raw],
    } for raw, code, area, district, n, r in zip(
        table.index, codes, table["name"], table["district_name"], count_text, rate_text)]
    styles = {code: {**AREA_STYLE, "fillColor": colour, **({"fillOpacity": 0} if empty else {})}
              for code, colour, empty in zip(codes, fill, no_fill)}

    label = LEVEL_LABELS[level]
    # The tooltip shows the rate in both measures, so an estimated population is named there
    # and in the legend whatever the measure (districts and LSOAs: official Census figures).
    estimate = _population_is_estimate(level, areas)
    rate_alias = RATE_ALIAS_ESTIMATE if estimate else RATE_ALIAS
    fields, aliases = ["name", "count", "rate"], [LEVEL_TITLES[level], "Count", rate_alias]
    if level != "district":
        fields.insert(1, "district")
        aliases.insert(1, "District")
    group = folium.FeatureGroup(name=text(name))
    VerbatimGeoJson(
        {"type": "FeatureCollection", "features": features}, name=text(name), control=False,
        style_function=lambda feature: styles[feature["id"]],
        highlight_function=lambda _feature: HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
    ).add_to(group)

    title = (f"{subject} per 100,000 residents, by {label}" if measure == "rate"
             else f"{subject} by {label}")
    notes = [note]
    if estimate:
        notes.append(WARD_POPULATION_NOTE)
    if (~has_data).any():
        notes.append(f"White: no data for {int((~has_data).sum())} areas")
    elif measure == "rate" and (shown | suppressed).sum() < len(table):
        notes.append("White: no residents, no rate")
    legend = MapLegend(title=title, classes=classes,
                       hidden=_hidden_note(table.loc[suppressed, "display"])
                       if suppressed.any() else None,
                       note=_join_note(*notes))
    return group, legend


# --------------------------------------------------------------------------------------------
# Hexagons and heat


def _check_cells(cells: pd.DataFrame) -> None:
    missing = {"easting", "northing", "count"} - set(cells.columns)
    if missing:
        raise ValueError(f"cells lacks {sorted(missing)}: pass RoleScopedQuery.cell_counts(...)")


def _grid_sum(easting, northing, count, cell_m: float | None = None):
    """Sum ``count`` per distinct (easting, northing), or per ``cell_m`` square when given.

    Returns the cell centres (float arrays), the sums (int64) and, per output cell, the
    position of its first input row.
    """
    e = np.asarray(easting, dtype=float)
    n = np.asarray(northing, dtype=float)
    if cell_m is not None:
        e = (np.floor(e / cell_m) + 0.5) * cell_m
        n = (np.floor(n / cell_m) + 0.5) * cell_m
    if len(e) == 0:
        return e, n, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    # One int64 key per cell (a 1-D unique is much faster than grouping on two columns);
    # centres are whole or half metres, hence the factor 2.
    ei = np.round(e * 2).astype(np.int64)
    ni = np.round(n * 2).astype(np.int64)
    span = int(ni.max() - ni.min()) + 1
    keys, first, inverse = np.unique((ei - ei.min()) * span + (ni - ni.min()), return_index=True,
                                     return_inverse=True)
    sums = np.bincount(inverse, weights=np.asarray(count, dtype=float),
                       minlength=len(keys)).astype(np.int64)
    return e[first], n[first], sums, first


def combine_cells(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add up ``cell_counts`` frames of several feeds (same ``cell_m``) into one."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"easting": pd.Series(dtype=float), "northing": pd.Series(dtype=float),
                             "longitude": pd.Series(dtype=float),
                             "latitude": pd.Series(dtype=float),
                             "count": pd.Series(dtype="int64")})
    both = pd.concat(frames, ignore_index=True)
    _check_cells(both)
    e, n, sums, first = _grid_sum(both["easting"], both["northing"], both["count"])
    out = pd.DataFrame({"easting": e, "northing": n, "count": sums})
    if {"longitude", "latitude"} <= set(both.columns):
        out["longitude"] = both["longitude"].to_numpy(float)[first]
        out["latitude"] = both["latitude"].to_numpy(float)[first]
    return out


def hex_cells(cells: pd.DataFrame, size_m: float = 500) -> pd.DataFrame:
    """The occupied hexagons of :func:`hex_layer` (``geo.hexgrid.aggregate`` of ``cells``)."""
    _check_cells(cells)
    return hexgrid.aggregate(cells["easting"].to_numpy(float), cells["northing"].to_numpy(float),
                             cells["count"].to_numpy(np.int64), size_m)


def hex_layer(cells: pd.DataFrame, *, size_m: int = 500, name: str = "Hexagons",
              subject: str = "Records", scheme: str = "natural_breaks", n_classes: int = 5,
              note: str = "") -> tuple[folium.FeatureGroup, MapLegend]:
    """Counts in equal-area hexagons, coloured by class. Analysts only.

    Parameters
    ----------
    cells : DataFrame
        ``RoleScopedQuery.cell_counts(feed, filters, cell_m=100)`` (or several feeds through
        :func:`combine_cells`): ``easting``, ``northing``, ``count``. Each cell counts in the
        hexagon holding its centre: use cells much smaller than the hexagons.
    size_m : int
        **Side** of the flat-top hexagons in metres (= centre-to-corner); neighbouring centres
        are ``sqrt(3) * size_m`` apart and each hexagon covers ``2.598 * size_m**2`` (500 m:
        0.65 km²). The grid is fixed in British National Grid (see ``geo.hexgrid``).
    name, subject, scheme, n_classes, note
        As for :func:`area_layer`.

    Returns
    -------
    layer : folium.FeatureGroup
        One ``GeoJson`` per class of the occupied hexagons only (id = running number,
        property ``count`` as text), corners in WGS84 rounded to 5 decimals; all of them
        through :func:`layer_geojson`.
    legend : MapLegend
    """
    hexes = hex_cells(cells, size_m)
    n = len(hexes)
    ring = hexgrid.corners(hexes["easting"].to_numpy(), hexes["northing"].to_numpy(), size_m)
    lon, lat = bng_to_lonlat(ring[..., 0].ravel(), ring[..., 1].ravel())
    lonlat = np.stack([np.round(lon, DECIMALS), np.round(lat, DECIMALS)], axis=-1)
    lonlat = lonlat.reshape(n, 6, 2)
    closed = np.concatenate([lonlat, lonlat[:, :1]], axis=1).tolist()
    totals = hexes["count"].to_numpy()
    index, _ = classify(totals, scheme=scheme, n_classes=n_classes)
    classes = legend_classes(totals, index)
    features = [{"type": "Feature", "id": i, "properties": {"count": f"{int(c):,}"},
                 "geometry": {"type": "Polygon", "coordinates": [ring_i]}}
                for i, (c, ring_i) in enumerate(zip(totals, closed))]
    group = folium.FeatureGroup(name=text(name))
    # One GeoJson per class, each of one style: folium writes a per-feature style as a
    # `case id:` line of JavaScript, rendered through a template per hexagon (a third of the
    # map's render time with thousands of hexagons); a single style needs none.
    for k, legend_class in enumerate(classes):
        members = [f for f, i in zip(features, index) if i == k]
        style = {**HEX_STYLE, "fillColor": legend_class.colour}
        VerbatimGeoJson(
            {"type": "FeatureCollection", "features": members}, name=text(name), control=False,
            style_function=lambda _feature, style=style: style,
            tooltip=folium.GeoJsonTooltip(fields=["count"], aliases=[text(subject)],
                                          sticky=True),
        ).add_to(group)
    area = hexgrid.hex_area_m2(size_m) / 1e6
    legend = MapLegend(
        title=f"{subject} per hexagon ({size_m:,g} m side, {area:.2f} km²)", classes=classes,
        hidden=None, note=_join_note(note, "Hexagons with no records are not drawn"))
    return group, legend


def heat_cells(cells: pd.DataFrame, *, max_cells: int = MAX_HEAT_CELLS
               ) -> tuple[pd.DataFrame, int | None]:
    """The cells :func:`heat_layer` draws: ``cells`` as they are when there are at most
    ``max_cells``, else summed into the finest grid of 200, 300, ... m that has at most
    ``max_cells``. Returns the cells and the grid used (None: as given)."""
    _check_cells(cells)
    if len(cells) <= max_cells:
        out = cells[["easting", "northing", "count"]].copy()
        if {"longitude", "latitude"} <= set(cells.columns):
            out["longitude"], out["latitude"] = cells["longitude"], cells["latitude"]
        else:
            out["longitude"], out["latitude"] = bng_to_lonlat(out["easting"], out["northing"])
        return out, None
    for cell_m in range(200, 20_001, 100):
        e, n, sums, _ = _grid_sum(cells["easting"], cells["northing"], cells["count"], cell_m)
        if len(sums) <= max_cells:
            lon, lat = bng_to_lonlat(e, n)
            return pd.DataFrame({"easting": e, "northing": n, "count": sums, "longitude": lon,
                                 "latitude": lat}), cell_m
    raise ValueError("cells span more than West Yorkshire")  # pragma: no cover


def heat_layer(cells: pd.DataFrame, *, name: str = "Heat map", max_cells: int = MAX_HEAT_CELLS,
               radius: int = 14, blur: int = 12) -> folium.FeatureGroup:
    """A heat map of cell centres weighted by their counts (``folium.plugins.HeatMap``).

    Parameters
    ----------
    cells : DataFrame
        As for :func:`hex_layer`.
    max_cells : int
        Bound on what is sent: beyond it the cells are summed into a coarser grid (see
        :func:`heat_cells`); the weights still add up to every record.
    radius, blur : int
        Leaflet.heat's, in screen pixels.
    """
    used, _ = heat_cells(cells, max_cells=max_cells)
    heat = _HeatMap([], name=text(name), control=False, radius=radius, blur=blur,
                                  min_opacity=0.35)
    # Set the rows directly: HeatMap's own check is a Python loop (1.3 s per 100k rows);
    # these are finite numbers by construction.
    heat.data = [[lat, lon, weight] for lat, lon, weight in zip(
        np.round(used["latitude"].to_numpy(float), DECIMALS).tolist(),
        np.round(used["longitude"].to_numpy(float), DECIMALS).tolist(),
        used["count"].to_numpy(np.int64).tolist())]
    group = folium.FeatureGroup(name=text(name))
    heat.add_to(group)
    return group


# --------------------------------------------------------------------------------------------
# Points


def _month(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, errors="coerce")
    return stamps.dt.strftime("%b %Y").fillna("date unknown")


def point_labels(points: pd.DataFrame, feed: str | None = None) -> pd.Series:
    """The tooltip of each point: feed, month and category fields, escaped, as HTML.

    Worked out once per distinct combination (a few hundred among 10,000 points), then
    spread back to the rows.
    """
    feeds = (points["feed"].astype(str) if "feed" in points.columns
             else pd.Series(feed or "", index=points.index))
    keys = pd.DataFrame({"feed": feeds, "month": _month(points["event_date"])
                         if "event_date" in points.columns else ""}, index=points.index)
    for field in POINT_FIELDS:
        if field in points.columns:
            keys[field] = points[field].astype("string").fillna("")
    group = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    distinct = keys.drop_duplicates()
    labels = _point_labels(distinct).to_numpy(dtype=object)
    return pd.Series(labels[group] if len(group) else [], index=points.index, dtype=object)


def _point_labels(keys: pd.DataFrame) -> pd.Series:
    head = keys["feed"].map(lambda f: text(FEED_SHORT.get(f, f)))
    when = keys["month"].map(text)
    parts = []
    for field in POINT_FIELDS:
        if field in keys.columns:
            values = keys[field]
            shown = values.str.replace(";", ", ", regex=False).str.replace("_", " ", regex=False)
            if field == "risk_level":
                shown = shown.where(shown == "", "risk " + shown)
            parts.append(shown.map(text))
    body = pd.Series("", index=keys.index, dtype=object)
    for part in parts:
        body = body + np.where((body != "") & (part != ""), " · ", "") + part.astype(object)
    return "<b>" + head.astype(object) + "</b> · " + when.astype(object) + "<br>" + body


def too_many_points(n: int, max_points: int = MAX_POINTS) -> str:
    """What the page says instead of drawing ``n`` points (more than ``max_points``)."""
    return (f"{n:,} points is more than {max_points:,}: narrow the filters to see them; the "
            "heat map and hexagons show all")


def points_layer(points: pd.DataFrame, *, max_points: int = MAX_POINTS, name: str = "Points",
                 feed: str | None = None) -> tuple[folium.FeatureGroup | None, str | None]:
    """Geomasked points, clustered in the browser, with a tooltip of category fields.

    Parameters
    ----------
    points : DataFrame
        ``RoleScopedQuery.points(feed, filters)`` (analysts only), or several feeds
        concatenated with a ``feed`` column.
    max_points : int
        Above this, no layer: ``(None, message)``.
    name : str
    feed : str, optional
        The feed of every row when there is no ``feed`` column.

    Returns
    -------
    (FeatureGroup, None), or (None, message) when there are more than ``max_points`` points.
    """
    n = len(points)
    if n > max_points:
        return None, too_many_points(n, max_points)
    missing = {"latitude", "longitude"} - set(points.columns)
    if missing:
        raise ValueError(f"points lacks {sorted(missing)}: pass RoleScopedQuery.points(...)")
    located = points[points["latitude"].notna() & points["longitude"].notna()]
    codes, labels = pd.factorize(point_labels(located, feed), sort=False)
    callback = ("(function () { var labels = " + _js_json(list(labels)) + ";\n"
                "  return function (row) {\n"
                "    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {radius: 5, "
                "weight: 1, color: '#7f2704', fillColor: '#f16913', fillOpacity: 0.85});\n"
                "    marker.bindTooltip(labels[row[2]]);\n"
                "    return marker;\n  };\n})()")
    cluster = _FastMarkerCluster([], callback=callback, name=text(name),
                                               control=False)
    # Rows set directly (FastMarkerCluster checks each row in a Python loop).
    cluster.data = [[round(float(a), DECIMALS), round(float(b), DECIMALS), int(c)] for a, b, c in
                    zip(located["latitude"], located["longitude"], codes)]
    group = folium.FeatureGroup(name=text(name))
    cluster.add_to(group)
    return group, None


# --------------------------------------------------------------------------------------------
# The map


def explorer_map(layers: Sequence[folium.FeatureGroup | None], *, show: set[str] | None = None,
                 **base_map_kwargs) -> folium.Map:
    """The West Yorkshire base map with ``layers`` and a layer control.

    Parameters
    ----------
    layers : sequence of FeatureGroup
        From the builders here, in drawing order (later on top). ``None`` entries (a refused
        points layer) are skipped. Names must be distinct. A FeatureGroup belongs to one map:
        build new layers for each map.
    show : set of str, optional
        Names of the layers visible at start (the others are ticked off in the layer
        control). Default: all.
    **base_map_kwargs
        Passed to :func:`maps.basemap.base_map` (e.g. ``height``).

    Returns
    -------
    maps.basemap.LocalAssetMap
        Loads nothing from outside the dashboard (checked again when it is rendered).
    """
    layers = [layer for layer in layers if layer is not None]
    names = [layer.layer_name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be distinct: {names}")
    unknown = {s for s in show or () if s not in names and text(s) not in names}
    if unknown:
        raise ValueError(f"show names layers that are not here: {sorted(unknown)}")
    m = base_map(**base_map_kwargs)
    visible = None if show is None else {text(s) for s in show} | set(show)
    for layer in layers:
        if visible is not None:
            layer.show = layer.layer_name in visible
        layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def layer_geojson(layer: folium.FeatureGroup) -> dict:
    """The GeoJSON a layer from :func:`area_layer` or :func:`hex_layer` sends, as one
    FeatureCollection (for tests and for checking what reaches the browser)."""
    features = [feature for child in layer._children.values()
                if isinstance(child, folium.GeoJson) for feature in child.data["features"]]
    return {"type": "FeatureCollection", "features": features}


def filter_note(feeds: Sequence[str], filters=None, *, period: tuple[dt.date, dt.date] | None = None
                ) -> str:
    """A legend note such as "1 Nov 2025 – 31 Oct 2026 · NRM, Rosewood · child · Leeds".

    Parameters
    ----------
    feeds : sequence of str
    filters : core.filters.EventFilter, optional
    period : (date, date), optional
        Shown when the filters set no dates (e.g. the store's period).
    """
    def day(d) -> str:
        return f"{d.day} {d:%b %Y}"

    start = getattr(filters, "start", None) or (period[0] if period else None)
    end = getattr(filters, "end", None) or (period[1] if period else None)
    parts = []
    if start or end:
        parts.append(f"{day(start) if start else '…'} – {day(end) if end else '…'}")
    parts.append(", ".join(FEED_SHORT.get(f, f) for f in feeds))
    if filters is not None:
        for values in (filters.age_groups, filters.exploitation_types, filters.indicators):
            if values:
                parts.append(", ".join(v.replace("_", " ") for v in values))
        if filters.rosewood_status:
            parts.append(f"Rosewood: {filters.rosewood_status}")
        if filters.districts:
            parts.append(", ".join(DISTRICT_CODES.get(c, c) for c in filters.districts))
        if filters.wards:
            names = load_boundaries("ward").set_index("code")["name"]
            parts.append(", ".join(str(names.get(c, c)) for c in filters.wards))
    return " · ".join(parts)
