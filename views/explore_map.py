"""The map explorer's map: the folium map built from data already read for the viewer's role
(:func:`build_map`), whether the points in view are worth reading (:func:`points_to_read`), and
a map legend (``maps.legends.MapLegend``) as escaped HTML (:func:`legend_html`).

The figures come already protected for the viewer's role (``safeguards.access.RoleScopedQuery``);
this module only draws them. What the explorer shows besides the map (headline, area panel, the
words of the legend) is in ``views.explore``. No Streamlit here.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pandas as pd

from maps.legends import HIDDEN_COLOUR, NOT_SELECTED_COLOUR
from safeguards.disclosure import legend
from views.viewstate import ExplorerState

LAYER_NAMES = {"areas": "Areas", "hex": "Hexagons", "heat": "Heat map", "points": "Points",
               "hotspots": "Hotspots"}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{3,8}$")


# -- the map -------------------------------------------------------------------------------
@dataclass
class MapView:
    """A built explorer map, the legend of the layer it opens on (or, for a layer without
    one, ``caption`` saying what it shows), a note on the points (or None) and one on the
    hotspots (None when they were not asked for)."""

    map: object
    legend: object | None
    message: str | None
    hotspot_note: str | None = None
    caption: str = ""
    #: How many records the point layers draw (:func:`mapped_note`); None without them.
    mapped: str | None = None


def build_map(state: ExplorerState, *, counts: pd.DataFrame, cells: pd.DataFrame | None = None,
              points: pd.DataFrame | int | None = None, hotspots=None, note: str = "",
              export: bool = False) -> MapView:
    """The explorer's folium map from data already read for the viewer's role.

    Parameters
    ----------
    state : ExplorerState
        Level, measure, class breaks and the layer to open on.
    counts : DataFrame
        ``area_counts`` of the state's feeds, level and filters.
    cells, points : DataFrame, optional
        ``cell_counts`` summed over feeds (hexagons, heat map) and ``points`` of the feeds with
        a ``feed`` column; None leaves those layers out (a chair; an export). ``points`` may
        also be the number of points in view, when more than ``maps.point_layer.MAX_POINTS`` were
        not read (:func:`points_to_read`): the map then says so instead of drawing them.
    hotspots : GeoDataFrame, optional
        ``views.hotspots.HotspotView.hotspots`` of the same feeds and filters, for the role
        (None: not asked for). Drawn on top, switched on, as the "Hotspots" overlay.
    note : str
        What the map counts (``views.explore.describe``), for the legends.
    export : bool
        For a download: areas and hexagons only. The heat map and the points show 100 m
        geomasked locations, which stay in the dashboard; hotspots are left out too.

    Returns
    -------
    MapView
        The map opens on ``state.layer`` (on the areas when that layer is not on the map); the
        others are switched on in its layer control.
    """
    from maps.area_layer import area_layer
    from maps.cell_layers import heat_layer, heat_legend, hex_layer
    from maps.layers import explorer_map
    from maps.point_layer import points_layer, too_many_points

    built, legends, message = [], {}, None
    group, legends["areas"] = area_layer(counts, state.level, measure=state.measure,
                                         scheme=state.scheme, note=note,
                                         name=LAYER_NAMES["areas"],
                                         selected=tuple(state.districts))
    built.append(("areas", group))
    if cells is not None:
        group, legends["hex"] = hex_layer(cells, scheme=state.scheme, note=note,
                                          name=LAYER_NAMES["hex"])
        built.append(("hex", group))
        if not export:
            built.append(("heat", heat_layer(cells, name=LAYER_NAMES["heat"])))
            legends["heat"] = heat_legend(note=note)
    if isinstance(points, int) and not export:
        message = too_many_points(points)
    elif points is not None and not export:
        group, message = points_layer(points, name=LAYER_NAMES["points"])
        if group is not None:
            built.append(("points", group))
    hotspot_note = None
    if hotspots is not None and not export:
        from maps.hotspot_layer import hotspot_layer

        built.append(("hotspots", hotspot_layer(hotspots, name=LAYER_NAMES["hotspots"])))
        n = len(hotspots)
        hotspot_note = (f"{n:,} hotspot{'s' if n != 1 else ''} for these filters, outlined on "
                        "the map; the Hotspots page ranks and explains them." if n else
                        "The hotspot model finds no hotspot for these filters.")
    present = {key for key, _ in built}
    opened = state.layer if state.layer in present else "areas"
    shown = {LAYER_NAMES[opened]} | ({LAYER_NAMES["hotspots"]} if "hotspots" in present
                                     else set())
    # Quarter zoom steps, so that fitting West Yorkshire fills the frame.
    # A download has no street layer: the archive is served by the dashboard, not in the file.
    # The layers ticked off are built in the browser when first switched on (not in a
    # download, which is a page of its own).
    m = explorer_map([group for _, group in built], show=shown, zoom_snap=0.25,
                     lazy=not export, **({"tile_archive": ""} if export else {}))
    if state.districts:
        m.fit_bounds(district_bounds(state.districts))
    captions = {"points": "Records at their geomasked 100 m locations, clustered; point at one "
                          "for its categories"}
    return MapView(map=m, legend=legends.get(opened), message=message,
                   hotspot_note=hotspot_note,
                   caption=". ".join(t for t in (captions.get(opened, ""), note) if t),
                   mapped=None if export else mapped_note(counts, cells, state))


def selected_outline(state: ExplorerState):
    """The bold outline of ``state.area`` (a ``folium.FeatureGroup``), drawn over the map
    when its panel is open; None when no area is."""
    from maps.area_layer import outline_layer

    return outline_layer(state.level, state.area) if state.area else None


def district_bounds(codes) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the districts ``codes``, for ``fit_bounds``."""
    from geo.boundaries import load_boundaries

    districts = load_boundaries("district")
    west, south, east, north = districts[districts["code"].isin(list(codes))].total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def selected_counts(counts: pd.DataFrame, state: ExplorerState) -> pd.DataFrame:
    """``counts`` (``area_counts`` of ``state.level``) of the areas in the chosen districts
    only (all of them without a district filter): what the table and its CSV hold. The other
    areas' zeros say nothing of the data, they were not asked for."""
    if not state.districts:
        return counts
    from geo.boundaries import load_boundaries

    areas = load_boundaries(state.level)
    district = areas["code"] if state.level == "district" else areas["district_code"]
    inside = set(areas.loc[district.isin(list(state.districts)).to_numpy(), "code"])
    return counts[counts["code"].isin(inside)].reset_index(drop=True)


def selectable_area(code: str | None, state: ExplorerState) -> str | None:
    """``code`` if its panel may open: an area of ``state.level`` in the chosen districts (any
    without a district filter); None for a "not selected" area, whose zeros are the filter's,
    not the data's."""
    if code is None or not state.districts:
        return code
    from geo.boundaries import load_boundaries

    areas = load_boundaries(state.level)
    row = areas[areas["code"] == code]
    if row.empty:
        return None
    district = code if state.level == "district" else str(row["district_code"].iloc[0])
    return code if district in state.districts else None


def mapped_counts(counts: pd.DataFrame, cells: pd.DataFrame | None,
                  state: ExplorerState) -> tuple[int, int] | None:
    """(records with a point, records) of the view: what the points, heat map and hexagons
    draw against what the areas count. None without cells (a role without those layers)."""
    if cells is None:
        return None
    shown = selected_counts(counts, state)["count"]
    total = int(pd.to_numeric(shown, errors="coerce").fillna(0).sum())
    mapped = int(cells["count"].sum()) if len(cells) else 0
    return mapped, max(total, mapped)


def mapped_note(counts: pd.DataFrame, cells: pd.DataFrame | None,
                state: ExplorerState) -> str | None:
    """E.g. "Points, heat map and hexagons: 148 of 165 records mapped; 17 have only an area
    (counted in the areas)"; None without those layers."""
    numbers = mapped_counts(counts, cells, state)
    if numbers is None:
        return None
    mapped, total = numbers
    if mapped == total:
        return (f"Points, heat map and hexagons: all {total:,} records mapped"
                if total else None)
    only = total - mapped
    return (f"Points, heat map and hexagons: {mapped:,} of {total:,} records mapped; "
            f"{only:,} {'has' if only == 1 else 'have'} only an area (counted in the areas)")


def points_to_read(cells: pd.DataFrame | None) -> int | None:
    """Whether the points in view are worth reading: None if they are (at most
    ``maps.point_layer.MAX_POINTS``, or no cells to tell), else their number.

    ``cells`` is ``cell_counts`` of the same view, whose counts add up to the records with a
    point: at 1,000,000 records, reading the points only to refuse them took longer than all
    the rest of the map.
    """
    from maps.point_layer import MAX_POINTS

    if cells is None:
        return None
    in_view = int(cells["count"].sum())
    return in_view if in_view > MAX_POINTS else None


# -- legend --------------------------------------------------------------------------------
def legend_html(map_legend, description: str = "", threshold: int | None = None) -> str:
    """A ``maps.legends.MapLegend`` as HTML for ``st.html``: every text escaped.

    Parameters
    ----------
    map_legend : MapLegend
        ``title``, ``classes`` (``colour``, ``label``), ``hidden`` (label of hidden areas, or
        None) and ``note``.
    description : str
        What the map counts (``views.explore.describe``), when the legend's note does not
        say it.
    threshold : int, optional
        k of the suppression, to explain "<k" under the legend.
    """
    rows = [_swatch(c.colour, c.label) for c in map_legend.classes]
    if map_legend.hidden:
        rows.append(_swatch(HIDDEN_COLOUR, map_legend.hidden))
    if getattr(map_legend, "not_selected", None):
        rows.append(_swatch(NOT_SELECTED_COLOUR, map_legend.not_selected))
    notes = [text for text in (map_legend.note, description,
                               legend(threshold) if threshold else "") if text]
    return ('<div class="wy-legend" style="font-size:0.85rem;line-height:1.5">'
            f'<div style="font-weight:600">{html.escape(map_legend.title)}</div>'
            + "".join(rows)
            + "".join(f'<div style="color:#555;font-size:0.8rem">{html.escape(n)}</div>'
                      for n in notes)
            + "</div>")


def _swatch(colour: str, label: str) -> str:
    colour = colour if _COLOUR.match(str(colour)) else "#cccccc"
    return ('<div style="display:flex;align-items:center;gap:0.4rem">'
            f'<span style="display:inline-block;width:1.1rem;height:0.8rem;background:{colour};'
            'border:1px solid #888;flex:none"></span>'
            f'<span>{html.escape(str(label))}</span></div>')
