"""The twin map: two feeds side by side with the same class breaks, and its table.

"Is NRM different from Rosewood here?" in one look: two maps of the same areas, filters and
measure, coloured by class breaks computed over **both** feeds' shown values
(``maps.fixed_breaks``), so a colour means the same range on either map, under one legend;
both open on the same bounds (the chosen districts, or the found place), and a pan or zoom
of one moves the other with it (``maps.map_title.add_view_sync``). The table equivalent
lists every area with both feeds' figures and their difference.

Every figure is read through ``safeguards.access.RoleScopedQuery`` (one ``area_counts`` call per
feed), so a chair's twin map shows published figures only (docs/disclosure-control.md). A
difference is shown only where both figures are; for a protected role it is a difference of
two published sums, so a function of the published atoms like every other figure it sees.

No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from maps.fixed_breaks import FixedBreaks, fixed_breaks
from safeguards.access import RoleScopedQuery
from views.explore_map import district_bounds, selected_counts
from views.overview import FEED_SHORT_TITLES
from views.place_search import Place, place_bounds
from views.readable import thousands
from views.viewstate import LEVEL_TITLES, ExplorerState, to_filter

HIDDEN = "hidden"


@dataclass
class TwinMaps:
    """The twin map built: ``left``/``right`` folium maps, the shared ``legend``
    (``maps.legends.MapLegend``) and ``breaks``."""

    left: object
    right: object
    legend: object
    breaks: FixedBreaks


def twin_counts(query: RoleScopedQuery, state: ExplorerState, left: str, right: str
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``area_counts`` of each feed at ``state.level`` for the state's filters, for the role."""
    filters = to_filter(state)
    return (query.area_counts(left, state.level, filters),
            query.area_counts(right, state.level, filters))


def twin_breaks(state: ExplorerState, left_counts: pd.DataFrame,
                right_counts: pd.DataFrame) -> FixedBreaks:
    """Class breaks over both feeds' shown values (hidden and not-selected areas left out)."""
    from maps.area_layer import shown_values

    values = [shown_values(counts, state.level, measure=state.measure,
                           selected=tuple(state.districts))
              for counts in (left_counts, right_counts)]
    return fixed_breaks(values, scheme=state.scheme,
                        decimals=1 if state.measure == "rate" else 0)


def build_twin(state: ExplorerState, left: str, right: str, left_counts: pd.DataFrame,
               right_counts: pd.DataFrame, *, note: str = "",
               place: Place | None = None) -> TwinMaps:
    """The two maps, each titled with its feed, coloured by :func:`twin_breaks`."""
    from maps.area_layer import area_layer
    from maps.layers import explorer_map
    from maps.map_title import add_place, add_title, add_view_sync

    breaks = twin_breaks(state, left_counts, right_counts)
    maps, legends = [], []
    for feed, counts in ((left, left_counts), (right, right_counts)):
        group, legend = area_layer(counts, state.level, measure=state.measure, note=note,
                                   name="Areas", selected=tuple(state.districts),
                                   breaks=breaks)
        m = explorer_map([group], show={"Areas"}, zoom_snap=0.25)
        if state.districts:
            m.fit_bounds(district_bounds(state.districts))
        if place is not None:
            add_place(m, place.level, place.code, place_bounds(place))
        maps.append(add_view_sync(add_title(m, FEED_SHORT_TITLES[feed])))
        legends.append(legend)
    hidden = next((lg.hidden for lg in legends if lg.hidden), None)
    shared = replace(legends[0], classes=breaks.classes, hidden=hidden,
                     note=f"Same classes on both maps ({FEED_SHORT_TITLES[left]} and "
                          f"{FEED_SHORT_TITLES[right]}) · " + legends[0].note)
    return TwinMaps(maps[0], maps[1], shared, breaks)


def twin_table(state: ExplorerState, left: str, right: str, left_counts: pd.DataFrame,
               right_counts: pd.DataFrame) -> pd.DataFrame:
    """The table equivalent of the twin map: one row per area of the chosen districts.

    Columns: the area, its district (not for districts), each feed's figure as shown ("<10" where hidden), and
    ``Difference`` (left minus right; "hidden" where either figure is), with, for the rate
    measure, each feed's rate per 100,000 residents. Sorted by the larger figure, highest first.
    """
    from geo.boundaries import load_boundaries

    areas = load_boundaries(state.level)[["code", "name", "district_name", "population"]]
    a, b = (selected_counts(c, state).set_index("code") for c in (left_counts, right_counts))
    table = areas[areas["code"].isin(a.index)].set_index("code")
    title_a, title_b = FEED_SHORT_TITLES[left], FEED_SHORT_TITLES[right]
    count_a = pd.to_numeric(a["count"], errors="coerce").reindex(table.index)
    count_b = pd.to_numeric(b["count"], errors="coerce").reindex(table.index)
    both = count_a.notna() & count_b.notna()
    out = pd.DataFrame({
        LEVEL_TITLES[state.level]: table["name"],
        "District": table["district_name"],
        title_a: a["display"].reindex(table.index).map(thousands),
        title_b: b["display"].reindex(table.index).map(thousands),
        "Difference": [(f"{int(x - y):+,}" if x != y else "0") if ok else HIDDEN
                       for x, y, ok in zip(count_a, count_b, both)],
    })
    if state.measure == "rate":
        population = table["population"].where(table["population"] > 0)
        for title, count in ((title_a, count_a), (title_b, count_b)):
            rate = (count / population * 100_000).round(1)
            out[f"{title} per 100,000"] = [f"{r:,.1f}" if pd.notna(r) else HIDDEN if
                                           pd.isna(c) else "–" for r, c in zip(rate, count)]
    order = pd.concat([count_a.fillna(-1), count_b.fillna(-1)], axis=1).max(axis=1)
    out = out.assign(_order=order.to_numpy()).sort_values(
        ["_order", LEVEL_TITLES[state.level]], ascending=[False, True])
    return out.drop(columns="_order").reset_index(drop=True)
