"""The map explorer's words: category titles, the period and filters in a line, an area's rank.

Plain text for the explorer's panel, legend and exports (``views.explore`` builds the figures
they describe). No Streamlit here.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from views.overview import FEED_SHORT_TITLES
from views.readable import CATEGORY_TITLES
from views.viewstate import LEVEL_TITLES, ExplorerState


def period_label(start: dt.date, end: dt.date) -> str:
    """E.g. ``"1 Dec 2024 – 30 Nov 2025"``."""
    return f"{_day(start)} – {_day(end)}"


def describe(state: ExplorerState, district_names: dict[str, str] | None = None) -> str:
    """The period, feeds and filters of ``state`` in one line of plain text."""
    parts = [period_label(state.start, state.end) if state.start else "no data",
             ", ".join(FEED_SHORT_TITLES[f] for f in state.feeds)]
    names = district_names or {}
    for title, values in (("age", state.age_groups), ("NRM type", state.exploitation_types),
                          ("Mandevilla indicator", state.indicators)):
        if values:
            parts.append(f"{title}: " + ", ".join(CATEGORY_TITLES.get(v, v).lower()
                                                   for v in values))
    if state.rosewood_status:
        parts.append("Rosewood: " + CATEGORY_TITLES[state.rosewood_status].lower())
    if state.districts:
        parts.append("districts: " + ", ".join(names.get(d, d) for d in state.districts))
    return " · ".join(parts)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_text(counts: pd.DataFrame, areas: pd.DataFrame, code: str, state: ExplorerState,
              suppressed: bool) -> str:
    """Rank by rate among the areas of the level (in the chosen districts), 1 = highest.

    Ties are said: areas with the same rate share the best rank among them ("joint 3rd"), and
    an area with no records is not given a rank at all ("no records, like 118 of the 124
    wards"): with most areas at zero, "6th highest" would be true of the ranking rule only.
    For a suppressed role only shown figures are ranked, so a rank reveals nothing about a
    hidden count.

    Examples (from the tests): ``"3rd highest rate of 5 districts"``,
    ``"joint 2nd highest rate of 5 districts (2 share it)"``,
    ``"no records, like 119 of the 124 wards"``.
    """
    table = counts.set_index("code").join(areas[["population", "district_code"]])
    if state.districts:
        table = table[table["district_code"].isin(state.districts)]
    table = table[table["count"].notna() & (table["population"] > 0)]
    plural = f"{LEVEL_TITLES[state.level].lower()}s" if state.level != "lsoa" else "LSOAs"
    if code not in table.index:
        return "not ranked (figure hidden or no residents)"
    shown = " with figures shown" if suppressed else ""
    counted = table["count"].astype(int)
    if counted[code] == 0:
        none = int((counted == 0).sum())
        if none == 1:
            return f"no records: the only one of the {len(table):,} {plural}{shown} with none"
        return f"no records, like {none:,} of the {len(table):,} {plural}{shown}"
    # Rates compared as fractions (count * population of the other), so equal rates tie
    # exactly rather than by floating-point luck.
    population = table["population"].astype(int)
    higher = counted * population[code] > counted[code] * population
    equal = counted * population[code] == counted[code] * population
    rank, ties = int(higher.sum()) + 1, int(equal.sum())
    joint = f"joint {_ordinal(rank)}" if ties > 1 else _ordinal(rank)
    tied = f" ({ties:,} share it)" if ties > 1 else ""
    return f"{joint} highest rate of {len(table):,} {plural}{shown}{tied}"


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"
