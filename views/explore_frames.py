"""Month by month: the explorer's areas one month at a time, with classes fixed across months.

"How did this move?": a slider steps the period's months; each month is a frame, a map of that
month's records by area. The class breaks are computed **once** over every month of the period
(``maps.fixed_breaks``), so a colour means the same range in every frame and a change of
colour is a change in the data, not in the breaks. Each frame names its month on the map.

The months are read in one ``RoleScopedQuery.area_counts(..., freq="M")`` call, so a chair's
frames are published figures (sums of the publication's ward-month atoms,
docs/disclosure-control.md) and its period is whole months already.

No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from maps.fixed_breaks import FixedBreaks, fixed_breaks
from safeguards.access import RoleScopedQuery
from views.explore_map import district_bounds
from views.explore_options import month_title, period_months
from views.place_search import Place, place_bounds
from views.viewstate import ExplorerState, to_filter


@dataclass
class MonthFrames:
    """Every month's area counts of a view (``frames``: month -> ``area_counts`` frame), the
    class ``breaks`` fixed over all of them, and each month's ``titles`` as the map names it."""

    months: tuple[str, ...]
    frames: dict[str, pd.DataFrame]
    breaks: FixedBreaks
    titles: dict[str, str]


def month_frames(query: RoleScopedQuery, state: ExplorerState) -> MonthFrames:
    """The frames of ``state``'s period, for the role of ``query``."""
    from geo.boundaries import load_boundaries
    from maps.area_layer import shown_values

    months = period_months(state.start, state.end)
    monthly = query.area_counts(state.feeds, state.level, to_filter(state), freq="M")
    codes = load_boundaries(state.level)["code"]
    by_month = ({str(period): rows for period, rows in monthly.groupby("period")}
                if "period" in monthly.columns and len(monthly) else {})
    frames = {month: frame_counts(by_month.get(month, monthly.iloc[:0]), month, codes)
              for month in months}
    values = [shown_values(frames[m], state.level, measure=state.measure,
                           selected=tuple(state.districts)) for m in months]
    breaks = fixed_breaks(values, scheme=state.scheme,
                          decimals=1 if state.measure == "rate" else 0)
    return MonthFrames(months, frames, breaks,
                       {m: frame_title(m, state) for m in months})


def frame_counts(monthly: pd.DataFrame, month: str, codes) -> pd.DataFrame:
    """One month of ``area_counts(..., freq="M")`` as a plain ``area_counts`` frame (every area;
    a month absent from the table had no record anywhere: zeros)."""
    if "period" in monthly.columns and len(monthly):
        rows = monthly.loc[monthly["period"].astype(str) == month,
                           ["code", "count", "display", "suppressed"]]
        if len(rows):
            return rows.reset_index(drop=True)
    return pd.DataFrame({"code": list(codes), "count": pd.array([0] * len(codes), "Int64"),
                         "display": "0", "suppressed": False})


def frame_title(month: str, state: ExplorerState) -> str:
    """E.g. "March 2025"; a month the period covers only in part says so ("December 2024,
    from 3 Dec")."""
    title = month_title(month)
    first = pd.Period(month, "M").start_time.date()
    last = pd.Period(month, "M").end_time.date()
    start, end = max(first, state.start), min(last, state.end)
    if (start, end) == (first, last):
        return title
    if start == end:
        return f"{title}, {start.day} {start:%b} only"
    return f"{title}, {start.day}–{end.day} {end:%b}"


def frame_map(state: ExplorerState, frames: MonthFrames, month: str, *, note: str = "",
              place: Place | None = None):
    """The map of one month (``month`` of ``frames.months``), titled with it, coloured by the
    fixed breaks; returns (folium map, ``maps.legends.MapLegend``)."""
    from maps.area_layer import area_layer
    from maps.layers import explorer_map
    from maps.map_title import add_place, add_title

    group, legend = area_layer(frames.frames[month], state.level, measure=state.measure,
                               note=note, name="Areas", selected=tuple(state.districts),
                               breaks=frames.breaks)
    m = explorer_map([group], show={"Areas"}, zoom_snap=0.25)
    if state.districts:
        m.fit_bounds(district_bounds(state.districts))
    if place is not None:
        add_place(m, place.level, place.code, place_bounds(place))
    return add_title(m, frames.titles[month]), legend


def frame_table(state: ExplorerState, frames: MonthFrames) -> pd.DataFrame:
    """The table equivalent of the frames: one row per area of the chosen districts, one
    column per month (figures as shown, "<10" where hidden)."""
    from geo.boundaries import load_boundaries
    from views.explore_map import selected_counts
    from views.viewstate import LEVEL_TITLES

    areas = load_boundaries(state.level).set_index("code")
    first = selected_counts(frames.frames[frames.months[0]], state) if frames.months else None
    codes = list(first["code"]) if first is not None else []
    out = pd.DataFrame({LEVEL_TITLES[state.level]: areas.loc[codes, "name"].to_numpy(),
                        "District": areas.loc[codes, "district_name"].to_numpy()})
    for month in frames.months:
        shown = frames.frames[month].set_index("code")["display"].reindex(codes)
        out[pd.Period(month, "M").strftime("%b %Y")] = shown.astype(str).to_numpy()
    return out
