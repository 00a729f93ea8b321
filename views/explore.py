"""What the map explorer shows besides the map: headline numbers, the area panel, the words.

Everything is read through ``safeguards.access.RoleScopedQuery``, so a chair gets suppressed figures
here exactly as on the map. The query layer protects each call as one table; figures from
several calls that add up to a shown total (an area's records by age group, by feed, by
Rosewood status) could give a hidden one away by subtraction, so for a suppressed role such a
breakdown is shown only when the total and every part of it are shown, and is otherwise
replaced by a note. Ranks for a suppressed role are among the areas whose figures are shown.

- :func:`headline`: records per feed for the filters, and the change against the previous
  period of the same length.
- :func:`area_details`: one area's panel: counts by feed and month, breakdowns, rate, rank
  among the areas of its level, change against the previous period.
- :func:`describe` (``views.explore_words``): the period, feeds and filters in words, for the
  legend and exports.
- :func:`clicked_area`: the area a click on the map points at.

The map itself and its legend are built in ``views.explore_map``. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # imported where a chart is made: the first view draws none
    import altair as alt

from core.filters import EventFilter
from core.schema import AGE_GROUPS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL, must_suppress, threshold_for
from views.explore_dates import previous_period
from views.explore_words import period_label, rank_text
from views.overview import FEED_SHORT_TITLES
from views.readable import CATEGORY_TITLES, thousands
from views.viewstate import (
    EXPLOITATION_TYPES,
    INDICATORS,
    ExplorerState,
    to_filter,
    whole_month_state,
)

HIDDEN = "hidden"
PER = 100_000
PARTITION_NOTE = ("Hidden: a number in it is small, and with the total shown the others "
                  "would give it away.")
NO_CHANGE = "—"
NO_COMPARISON = "no comparison: the previous period is before the data"


@dataclass(frozen=True)
class FeedHeadline:
    """Records of one feed for the filters, as the role may see them.

    ``count``/``previous`` are None where hidden; ``display`` is what to show ("1,234", "<10");
    ``change`` is e.g. ``"+12 (+15%)"`` or None when either period's count is hidden.
    """

    feed: str
    title: str
    count: int | None
    display: str
    previous: int | None
    previous_display: str
    change: str | None


@dataclass(frozen=True)
class Headline:
    """The numbers above the map: one :class:`FeedHeadline` per chosen feed."""

    feeds: tuple[FeedHeadline, ...]
    period_label: str
    previous_label: str
    suppressed: bool
    threshold: int
    #: :data:`NO_COMPARISON` when the previous period is not covered by the data (no change
    #: shown), else "".
    comparison_note: str = ""


@dataclass(frozen=True)
class Breakdown:
    """An area's records split one way. ``rows`` (label, display) is None when hidden."""

    title: str
    rows: tuple[tuple[str, str], ...] | None
    note: str = ""


@dataclass(frozen=True)
class AreaDetails:
    """Everything the panel shows about one area.

    Attributes
    ----------
    code, name, level : str
    district : str
        The district's name (the area's own for a district).
    count : int or None
        Records for the filters, all chosen feeds (None where hidden).
    display : str
    rate_display : str
        Per 100,000 residents ("hidden" where the count is).
    population : int
    population_estimate : bool
        True for wards (best-fit sum of LSOAs).
    rank_display : str
        E.g. "3rd highest rate of 124 wards".
    previous_display, change : str
        The previous period's count and the change ("" when it cannot be shown).
    monthly : DataFrame
        ``feed`` (title), ``month`` (Timestamp), ``count`` (Int64, <NA> where hidden).
    breakdowns : tuple of Breakdown
        By feed, age group, and each chosen feed's own categories.
    suppressed : bool
    threshold : int
    """

    code: str
    name: str
    level: str
    district: str
    count: int | None
    display: str
    rate_display: str
    population: int
    population_estimate: bool
    rank_display: str
    previous_display: str
    change: str
    monthly: pd.DataFrame
    breakdowns: tuple[Breakdown, ...]
    suppressed: bool
    threshold: int


# -- headline ------------------------------------------------------------------------------
def headline(query: RoleScopedQuery, state: ExplorerState,
             data_start: dt.date | None = None) -> Headline:
    """Records per chosen feed for the filters, and the change against the previous period.

    Parameters
    ----------
    query : RoleScopedQuery
    state : ExplorerState
        Its dates must be set (a non-empty store).
    data_start : date, optional
        The first date of the data. A previous period starting before it is not covered by
        the data (the "All" period's always): no change is shown ("—") and
        ``comparison_note`` says why.

    Returns
    -------
    Headline
        Counts from ``query.district_feed_table`` (the feed totals), so a chair sees them
        suppressed; the previous period is the one of equal length just before. For a
        protected role, whole months (what its figures cover).
    """
    if query.suppressed:
        state = whole_month_state(state)
    before = previous_period(state.start, state.end)
    compared = covered(before, data_start, query.suppressed)
    now_table = query.district_feed_table(to_filter(state))
    before_table = query.district_feed_table(to_filter(state, before))
    feeds = []
    for feed in state.feeds:
        count = _int(now_table.counts.loc[TOTAL, feed])
        previous = _int(before_table.counts.loc[TOTAL, feed])
        feeds.append(FeedHeadline(
            feed=feed, title=FEED_SHORT_TITLES[feed], count=count,
            display=thousands(now_table.display.loc[TOTAL, feed]),
            previous=previous if compared else None,
            previous_display=(thousands(before_table.display.loc[TOTAL, feed]) if compared
                              else NO_CHANGE),
            change=change_text(count, previous) if compared else None))
    return Headline(feeds=tuple(feeds), period_label=period_label(state.start, state.end),
                    previous_label=period_label(*before), suppressed=query.suppressed,
                    threshold=max(now_table.threshold, before_table.threshold),
                    comparison_note="" if compared else NO_COMPARISON)


def covered(period: tuple[dt.date, dt.date], data_start: dt.date | None,
            whole_months: bool = False) -> bool:
    """Whether the data cover ``period`` (they begin on ``data_start``; None: unknown, taken
    as covered). For a protected role (``whole_months``) its figures count whole months, so
    the data cover a period from the first day of their first month."""
    if data_start is None:
        return True
    first = data_start.replace(day=1) if whole_months else data_start
    return period[0] >= first


def threshold_of(role: str, feeds: Sequence[str]) -> int | None:
    """k of the suppression a ``role``'s area counts of ``feeds`` get; None when unsuppressed."""
    return max(threshold_for(feed) for feed in feeds) if must_suppress(role) else None


def change_text(now: int | None, before: int | None) -> str | None:
    """``"+12 (+15%)"``, ``"-3 (-20%)"``, ``"+5"`` (nothing before) or None (a count hidden).

    Examples
    --------
    >>> change_text(46, 40)
    '+6 (+15%)'
    >>> change_text(3, 0), change_text(None, 4)
    ('+3', None)
    """
    if now is None or before is None:
        return None
    diff = now - before
    if before == 0:
        return f"{diff:+,}"
    return f"{diff:+,} ({diff / before:+.0%})"


# -- the area panel ------------------------------------------------------------------------
def area_details(query: RoleScopedQuery, state: ExplorerState, code: str,
                 counts: pd.DataFrame | None = None,
                 data_start: dt.date | None = None) -> AreaDetails:
    """The panel of one area of ``state.level``.

    Parameters
    ----------
    query : RoleScopedQuery
    state : ExplorerState
    code : str
        An area code of ``state.level``.
    counts : DataFrame, optional
        ``query.area_counts(state.feeds, state.level, to_filter(state))`` if already read
        (the map's), so that the panel and the map agree by construction.
    data_start : date, optional
        As for :func:`headline`: a previous period before the data shows "—" and no change.

    Returns
    -------
    AreaDetails

    Raises
    ------
    KeyError
        ``code`` is not an area of ``state.level``.
    AccessDenied
        The role may not see ``state.level``.
    """
    areas = _areas(state.level)
    if code not in areas.index:
        raise KeyError(f"{code!r} is not a {state.level} code")
    area = areas.loc[code]
    filters = to_filter(state)
    counts = query.area_counts(state.feeds, state.level, filters) if counts is None else counts
    count, display = _cell(counts, code)
    before = query.area_counts(state.feeds, state.level,
                               to_filter(state, previous_period(state.start, state.end)))
    previous, previous_display = _cell(before, code)
    if not covered(previous_period(state.start, state.end), data_start, query.suppressed):
        previous, previous_display = None, NO_CHANGE
    rate = None if count is None or not area["population"] else count / area["population"] * PER
    return AreaDetails(
        code=code, name=str(area["name"]), level=state.level,
        district=str(area["district_name"]), count=count, display=thousands(display),
        rate_display=HIDDEN if rate is None and count is None else _rate_text(rate),
        population=int(area["population"]), population_estimate=bool(area["population_estimate"]),
        rank_display=rank_text(counts, areas, code, state, query.suppressed),
        previous_display=thousands(previous_display),
        change=change_text(count, previous) or "",
        monthly=_monthly(query, state, code, filters),
        breakdowns=_breakdowns(query, state, code, filters, count, query.suppressed),
        suppressed=query.suppressed, threshold=_threshold(state.feeds, query),
    )


def monthly_chart(details: AreaDetails) -> alt.Chart:
    """A small line chart of the area's records per month, one line per feed (gaps: hidden)."""
    import altair as alt  # here: a page's first view draws no chart (docs/benchmarks.md)

    data = pd.DataFrame({"Feed": details.monthly["feed"], "Month": details.monthly["month"],
                         "Records": details.monthly["count"].astype("float")})
    # Ticks on whole months only (Vega's own picks put two "Jan 23" ticks on a short period),
    # every month up to 8 months, then every 2nd, 3rd, ... month.
    months = max(details.monthly["month"].nunique(), 1)
    ticks = {"interval": "month", "step": -(-months // 8)}
    return (alt.Chart(data)
            .mark_line(point=alt.OverlayMarkDef(size=14))
            .encode(x=alt.X("Month:T", title=None,
                            axis=alt.Axis(format="%b %y", tickCount=ticks)),
                    y=alt.Y("Records:Q", title="Records",
                            axis=alt.Axis(tickMinStep=1, format="d")),
                    color=alt.Color("Feed:N", title=None, legend=alt.Legend(orient="top")),
                    tooltip=[alt.Tooltip("Feed:N"),
                             alt.Tooltip("Month:T", format="%B %Y"),
                             alt.Tooltip("Records:Q")]))


def breakdown_frame(breakdown: Breakdown) -> pd.DataFrame:
    """A breakdown as a two-column table for display."""
    return pd.DataFrame(list(breakdown.rows or ()), columns=[breakdown.title, "Records"])


# -- the map click -------------------------------------------------------------------------
def clicked_area(result: dict | None, level: str) -> str | None:
    """The area of ``level`` a map click (``st_folium``'s return value) points at, or None.

    The ``code`` of the clicked area (``last_active_drawing``) when it is one of ``level``;
    otherwise the area containing the clicked point (``last_object_clicked``, then
    ``last_clicked``: a click on a hexagon, a point or the heat map).
    """
    if not result:
        return None
    areas = _areas(level)
    drawing = result.get("last_active_drawing") or {}
    code = str((drawing.get("properties") or {}).get("code", ""))
    if code in areas.index:
        return code
    for key in ("last_object_clicked", "last_clicked"):
        point = result.get(key) or {}
        try:
            lat, lng = float(point["lat"]), float(point["lng"])
        except (KeyError, TypeError, ValueError):
            continue
        return _area_at(level, lng, lat)
    return None


# -- helpers -------------------------------------------------------------------------------
def _areas(level: str) -> pd.DataFrame:
    from geo.boundaries import load_boundaries

    frame = load_boundaries(level)
    return pd.DataFrame(frame.drop(columns="geometry")).set_index("code")


def _area_at(level: str, lng: float, lat: float) -> str | None:
    import shapely

    from geo.boundaries import load_boundaries

    areas = load_boundaries(level)
    hit = areas[areas.geometry.contains(shapely.Point(lng, lat))]
    return str(hit["code"].iloc[0]) if len(hit) else None


def _cell(counts: pd.DataFrame, code: str) -> tuple[int | None, str]:
    row = counts.loc[counts["code"] == code]
    if row.empty:
        return 0, "0"
    return _int(row["count"].iloc[0]), str(row["display"].iloc[0])


def _int(value) -> int | None:
    return None if pd.isna(value) else int(value)


def _rate_text(rate: float | None) -> str:
    return "no residents" if rate is None else f"{rate:,.1f}"


def _threshold(feeds, query: RoleScopedQuery) -> int:
    """k of the suppression applied to a table of ``feeds`` (1 when nothing is suppressed)."""
    return max(threshold_for(feed) for feed in feeds) if query.suppressed else 1


def _months(state: ExplorerState) -> pd.PeriodIndex:
    return pd.period_range(pd.Period(state.start, "M"), pd.Period(state.end, "M"), freq="M")


def _monthly(query, state, code, filters) -> pd.DataFrame:
    months = _months(state)
    parts = []
    for feed in state.feeds:
        table = query.area_counts(feed, state.level, filters, freq="M")
        if "period" not in table.columns:  # no record of this feed at all
            table = pd.DataFrame({"code": [code], "period": [months[0]], "count": [0]})
        row = table[table["code"] == code].set_index("period")["count"]
        row = row.reindex(months)
        # A month absent from the table had no record in any area: a true zero.
        row = row.where(row.index.isin(table["period"].unique()), 0).astype("Int64")
        parts.append(pd.DataFrame({"feed": FEED_SHORT_TITLES[feed],
                                   "month": months.to_timestamp(), "count": row.array}))
    return pd.concat(parts, ignore_index=True)


def _split(query, feeds, level, code, filters, field_name, categories) -> list[tuple]:
    """(category, count, display) of ``code`` for each category, one call each."""
    out = []
    for category in categories:
        value = category if field_name == "rosewood_status" else (category,)
        part = replace(filters, **{field_name: value})
        out.append((category, *_cell(query.area_counts(feeds, level, part), code)))
    return out


def _breakdown(title, parts, total, suppressed, note="") -> Breakdown:
    """A breakdown, or the note saying it is hidden (suppressed roles; see module docstring)."""
    if suppressed and (total is None or any(count is None for _, count, _ in parts)):
        return Breakdown(title, None, PARTITION_NOTE)
    rows = tuple((CATEGORY_TITLES.get(label, FEED_SHORT_TITLES.get(label, label)),
                  thousands(display)) for label, _, display in parts)
    return Breakdown(title, rows, note)


def _breakdowns(query, state, code, filters: EventFilter, total, suppressed) -> tuple:
    level = state.level
    by_feed = [(feed, *_cell(query.area_counts(feed, level, filters), code))
               for feed in state.feeds]
    feed_total = {feed: count for feed, count, _ in by_feed}
    out = [_breakdown("Feed", by_feed, total, suppressed)]
    ages = state.age_groups or AGE_GROUPS
    out.append(_breakdown("Age group", _split(query, state.feeds, level, code, filters,
                                              "age_groups", ages), total, suppressed))
    if "nrm" in state.feeds:
        types = state.exploitation_types or EXPLOITATION_TYPES
        out.append(_breakdown("NRM exploitation type",
                              _split(query, "nrm", level, code, filters, "exploitation_types",
                                     types), feed_total["nrm"], suppressed,
                              "A referral may record several types, so these can add up to "
                              "more than the referrals."))
    if "rosewood" in state.feeds:
        statuses = (state.rosewood_status,) if state.rosewood_status else ("found", "missing")
        out.append(_breakdown("Rosewood status",
                              _split(query, "rosewood", level, code, filters, "rosewood_status",
                                     statuses), feed_total["rosewood"], suppressed))
    if "mandevilla" in state.feeds:
        indicators = state.indicators or INDICATORS
        out.append(_breakdown("Mandevilla indicator",
                              _split(query, "mandevilla", level, code, filters, "indicators",
                                     indicators), feed_total["mandevilla"], suppressed,
                              "A flag may record several indicators."))
    return tuple(out)


__all__: Sequence[str] = ("AreaDetails", "Breakdown", "FeedHeadline", "Headline", "area_details",
                          "breakdown_frame", "change_text", "headline", "monthly_chart")
