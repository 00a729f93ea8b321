"""The explorer map's area layer: a choropleth of counts or rates per district, ward or LSOA.

:func:`area_layer` takes ``area_counts`` output as is. A suppressed area (``<5`` or ``[c]``) is
grey, its count shows as its label and its rate as "hidden"; its count never enters a class
break or a legend label. The layer grows with areas x vertices (coordinates on a ~1 m grid, only
the properties the tooltip needs). Text is escaped with ``maps.layers.text``.

This module never imports Streamlit.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.boundaries import LEVELS, load_boundaries
from geo.outlines import level_outlines
from maps.basemap import boundary_geojson
from maps.fixed_breaks import FixedBreaks
from maps.layers import text
from maps.legends import (
    HIDDEN_COLOUR,
    NO_DATA_COLOUR,
    NOT_SELECTED,
    NOT_SELECTED_COLOUR,
    MapLegend,
    classify,
    join_note,
    legend_classes,
    number_text,
)
from maps.verbatim import VerbatimGeoJson
from safeguards.disclosure import suppress_rates

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
#: Areas outside the chosen districts: pale, thin dashed outline, never highlighted as data.
NOT_SELECTED_STYLE = {"color": "#8a96a3", "weight": 0.5, "opacity": 0.8, "dashArray": "3 3",
                      "fillColor": NOT_SELECTED_COLOUR, "fillOpacity": 0.7}


def _cached_geometries(level: str) -> dict[str, dict]:
    """code -> GeoJSON geometry on the ~1 m grid, once per process and level (``geo.outlines``:
    read from the boundaries' prepared copy when it is current)."""
    return level_outlines(level)


def preload_geometries(levels=LEVELS) -> None:
    """Compute these levels' outlines now (``ui.serve`` warms them before the first visitor)."""
    for level in levels:
        _cached_geometries(level)


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
               boundaries: gpd.GeoDataFrame | None = None,
               selected: Collection[str] = (), breaks: FixedBreaks | None = None
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
        ``population``, geometry (and ``district_code`` with ``selected``).
    selected : collection of str
        District codes the view is filtered to (empty: all of West Yorkshire). Areas of other
        districts are drawn as "not selected" (:data:`NOT_SELECTED_STYLE`, count "not
        selected" in the tooltip, a legend entry): their zeros are not zeros of the data, so
        they never enter a class break or look like "0".
    breaks : FixedBreaks, optional
        Class breaks shared with other maps (``maps.fixed_breaks``: the twin map, the time
        slider's months), computed over all their :func:`shown_values`; ``scheme`` and
        ``n_classes`` are then unused and the legend's classes are the shared ones.

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
                         f"(first: {min(unknown)!r})")

    table, outside, suppressed, has_data, rate, value, shown = _area_values(
        counts, areas, level, measure, selected)

    decimals = 1 if measure == "rate" else 0
    if breaks is None:
        index, _ = classify(value[shown].to_numpy(), scheme=scheme, n_classes=n_classes)
        classes = legend_classes(value[shown].to_numpy(), index, decimals=decimals)
    else:  # shared with other maps (maps.fixed_breaks): their classes, their legend
        index, classes = breaks.index(value[shown].to_numpy()), breaks.classes
    fill = pd.Series(NO_DATA_COLOUR, index=table.index)
    fill[shown] = [classes[i].colour for i in index]
    fill[suppressed] = HIDDEN_COLOUR
    no_fill = ~(shown | suppressed)

    count_text = ["not selected" if out else _count_label(d) if ok else "no data"
                  for d, ok, out in zip(table["display"], has_data, outside)]
    rate_text = ["–" if out else "hidden" if hidden else "–" if pd.isna(r) else number_text(r, 1)
                 for hidden, r, out in zip(suppressed, rate, outside)]
    codes = [text(code) for code in table.index]
    features = [{
        "type": "Feature", "id": code,
        "properties": {"code": code, "name": text(area), "district": text(district),
                       "count": text(n), "rate": text(r)},
        "geometry": geometries[raw],
    } for raw, code, area, district, n, r in zip(
        table.index, codes, table["name"], table["district_name"], count_text, rate_text)]
    no_fill &= ~outside
    styles = {code: NOT_SELECTED_STYLE if out else
              {**AREA_STYLE, "fillColor": colour, **({"fillOpacity": 0} if empty else {})}
              for code, colour, empty, out in zip(codes, fill, no_fill, outside)}

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
    areas_json = VerbatimGeoJson(
        {"type": "FeatureCollection", "features": features}, name=text(name), control=False,
        style_function=lambda feature: styles[feature["id"]],
        highlight_function=lambda _feature: HIGHLIGHT,
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=True),
    ).add_to(group)
    if boundaries is None:   # the shipped shapes: taken from the base map's outlines if drawn
        areas_json.takes_shapes = level

    title = (f"{subject} per 100,000 residents, by {label}" if measure == "rate"
             else f"{subject} by {label}")
    notes = [note]
    if estimate:
        notes.append(WARD_POPULATION_NOTE)
    if (~has_data & ~outside).any():
        notes.append(f"White: no data for {int((~has_data & ~outside).sum())} areas")
    elif measure == "rate" and (shown | suppressed | outside).sum() < len(table):
        notes.append("White: no residents, no rate")
    legend = MapLegend(title=title, classes=classes,
                       hidden=_hidden_note(table.loc[suppressed, "display"])
                       if suppressed.any() else None,
                       note=join_note(*notes),
                       not_selected=NOT_SELECTED if outside.any() else None)
    return group, legend


def _area_values(counts: pd.DataFrame, areas: pd.DataFrame, level: str, measure: str,
                 selected: Collection[str]):
    """The area table and what it shows: (table, outside, suppressed, has_data, rate, value,
    shown), as :func:`area_layer` draws it and :func:`shown_values` returns it."""
    table = areas[["code", "name", "district_name", "population"]].merge(
        counts[["code", "count", "display", "suppressed"]], on="code", how="left",
        validate="1:1").set_index("code")
    outside = pd.Series(False, index=table.index)
    if selected:
        district = (areas["code"] if level == "district" else areas["district_code"])
        outside = ~pd.Series(district.isin(list(selected)).to_numpy(), index=areas["code"]
                             ).reindex(table.index).fillna(False).astype(bool)
    suppressed = table["suppressed"].fillna(False).astype(bool) & ~outside
    # A hidden count is never read, whatever the frame holds.
    count = pd.to_numeric(table["count"], errors="coerce").astype(float).where(~suppressed)
    has_data = table["display"].notna() & (suppressed | count.notna())
    population = pd.to_numeric(table["population"], errors="coerce").astype(float)
    rate = (count / population.where(population > 0) * PER).round(1)
    rate = suppress_rates(rate, suppressed)
    value = rate if measure == "rate" else count
    shown = value.notna() & has_data & ~suppressed & ~outside
    return table, outside, suppressed, has_data, rate, value, shown


def shown_values(counts: pd.DataFrame, level: str, *, measure: str = "count",
                 selected: Collection[str] = ()) -> np.ndarray:
    """The values :func:`area_layer` puts into classes for ``counts`` (hidden, "not selected"
    and areas without data left out): what fixed breaks over several maps are computed on
    (``maps.fixed_breaks``)."""
    *_, value, shown = _area_values(counts, _plain_areas(level), level, measure, selected)
    return value[shown].to_numpy(dtype=float)


@lru_cache(maxsize=len(LEVELS))
def _plain_areas(level: str) -> pd.DataFrame:
    """The areas of ``level`` without their geometry: a merge on it is several times faster
    (``shown_values`` runs once per month of a period)."""
    areas = load_boundaries(level)
    return pd.DataFrame(areas[[c for c in ("code", "name", "district_name", "district_code",
                                           "population") if c in areas.columns]])


#: The outline of the area whose panel is open: bold, dark, with a white halo under it so it
#: shows on dark and light classes alike.
OUTLINE_STYLE = {"color": "#111111", "weight": 4, "opacity": 1, "fill": False}
OUTLINE_HALO = {"color": "#ffffff", "weight": 7, "opacity": 0.9, "fill": False}


def outline_layer(level: str, code: str, *, name: str = "Selected area"
                  ) -> folium.FeatureGroup:
    """The bold outline of one area of ``level`` (the clicked one), non-interactive, so a
    click on it still reaches the area beneath.

    Raises
    ------
    KeyError
        ``code`` is not an area of ``level``.
    """
    if level not in LEVELS:
        raise ValueError(f"level was {level!r}; expected one of {LEVELS}")
    geometry = _cached_geometries(level)[code]
    feature = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": text(code), "properties": {"code": text(code)},
         "geometry": geometry}]}
    group = folium.FeatureGroup(name=text(name), control=False)
    for style in (OUTLINE_HALO, OUTLINE_STYLE):
        VerbatimGeoJson(feature, control=False, interactive=False,
                        style_function=lambda _feature, style=style: style).add_to(group)
    return group
