"""The protected tables every Trends figure is cut from, and the whole periods the data cover.

One :class:`FeedTables` per feed and frequency (:func:`feed_tables`, memoised per store content
and role), the periods offered (:func:`data_periods`, :func:`default_period`), and the small
helpers the Trends modules share to read a protected cell (``views.kpis``: KPIs and the change
test; ``views.trend_series``: series and the other measures; ``views.trend_flags``: trend flags).

Every figure is read through ``safeguards.access.RoleScopedQuery`` and, for roles under disclosure
control (chair, executive, admin), comes out of ``safeguards.disclosure``: counts as ``"<k"`` or
``"[c]"`` where hidden, rates and shares hidden wherever a count they are made from is hidden,
medians over fewer than k records hidden.

**One protection per feed, for every page.** For one feed, every figure comes from one set of
tables over the whole periods from the first to the last record in the store
(``core.periods.span``), protected together by ``RoleScopedQuery.period_tables``
(``safeguards.period_tables``): the area table (district × month, × quarter and over the whole span)
and each breakdown (age group, NRM exploitation type, Rosewood found/still missing and
first/repeat episode, Mandevilla referred to police: ``core.periods.PARTITIONS``), which share
the feed's West Yorkshire total per period (the KPI). Months and quarters are protected as one
hierarchy, so a quarter cannot be differenced against its months. Meeting mode, the briefing
pack (``views.meeting_figures``) and the Overview (``views.overview``) cut their (feed,
period, district) counts from the same tables (:func:`period_tables`), so every page hides
the same cells. A window of the series, a KPI period and a trend window are cut from these
tables, never protected separately. (A ward view, ``level="ward"``, is its own protection
of ward × period; wards within districts are not modelled across the two, and no page shows
ward series to a suppressed role.)

**Whole periods only.** Periods are whole calendar months (``"2026-10"``) or quarters
(``"2026-Q3"``); no function here takes a date range, so two overlapping ranges cannot be
differenced to reveal a small count.

**Whole periods only, and only complete ones.** Series, KPIs, trend windows and the periods
offered are the calendar periods the data cover from their first to their last day
(``core.periods.complete_periods``): a store ending on 30 November has no fourth quarter yet, and
one starting on 1 December no first quarter, since two months against three would read as a
fall. (They are still part of the one protection, so nothing changes in what is hidden.)

No Streamlit here.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import PeriodError
from core.periods import (
    PER_YEAR,
    check_covered,
    complete_periods,
    covered,
    period_label,
    period_text,
    span,
)
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL, SuppressedTable, threshold_for

WEST_YORKSHIRE = "West Yorkshire"
NO_DATA = "no data"
#: Shown for a period the data cover only in part (not compared, not charted).
INCOMPLETE = "incomplete"
FEED_SHORT_TITLES = {"nrm": "NRM referrals", "rosewood": "Rosewood episodes",
                     "mandevilla": "Mandevilla flags"}


# -- the protected tables of one feed -------------------------------------------------------------
@dataclass(frozen=True)
class FeedTables:
    """Every protected table of one feed at one frequency, over the store's whole periods.

    ``area`` is ``level`` × period, ``parts`` one table per partition of the feed (category ×
    period); all have the same ``Total`` row (hidden in all where hidden in any).
    """

    feed: str
    freq: str
    level: str
    periods: pd.PeriodIndex
    area: SuppressedTable
    parts: dict[str, SuppressedTable] = field(default_factory=dict)
    threshold: int = 1
    suppressed: bool = False
    #: Every period holding data, complete or not (``periods`` are the complete ones).
    span: pd.PeriodIndex | None = None
    #: First and last day of the data.
    bounds: tuple | None = None


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 48


def feed_tables(query: RoleScopedQuery, feed: str, freq: str = "M",
                level: str = "district") -> FeedTables | None:
    """The protected tables of ``feed`` (see the module docstring), or None for an empty store.

    ``periods`` are the whole periods the data cover completely (possibly none): the only ones
    shown. The tables themselves hold every period of the span (one protection).

    Memoised per store content, role, feed, frequency, level and threshold: the figures depend
    on nothing else (the query layer protects by role, never by person).
    """
    if freq not in PER_YEAR:
        raise PeriodError(f"frequency was {freq!r}; expected 'M' (months) or 'Q' (quarters)")
    every = _span(query, freq)
    if every is None:
        return None
    protected = period_tables(query, feed, level)
    pick = "month" if freq == "M" else "quarter"
    area = getattr(protected.area, pick)
    parts = {by: getattr(t, pick) for by, t in protected.parts.items()}
    bounds = store_bounds(query)
    return FeedTables(feed, freq, level, complete_periods(*bounds, freq), area, parts,
                      threshold=area.threshold, suppressed=query.suppressed, span=every,
                      bounds=tuple(bounds))


def period_tables(query: RoleScopedQuery, feed: str, level: str = "district"):
    """The one protection of ``feed``'s months, quarters and whole span
    (``RoleScopedQuery.period_tables``, ``safeguards.period_tables``), or None for an empty store.

    Every view of (feed, period, area) counts for a suppressed role is cut from this: the
    Trends page, meeting mode, the briefing pack and the Overview. Memoised per store content,
    role, whether the query suppresses, feed, level and threshold.
    """
    quarters = _span(query, "Q")
    if quarters is None:
        return None
    key = ("tables", *_store_key(query), query.suppressed, feed, level, threshold_for(feed))
    if key not in _CACHE:
        _remember(key, query.period_tables(feed, level, quarters, _span(query, "M")))
    return _CACHE[key]


def data_periods(query: RoleScopedQuery, freq: str = "M") -> list[str]:
    """The periods the store covers completely, newest first (``"2026-10"``/``"2026-Q3"``).

    A period counts when the data reach its last day: the month still being recorded is left
    out. Empty for an empty store.
    """
    bounds = store_bounds(query)
    if bounds is None:
        return []
    return [period_text(p) for p in complete_periods(*bounds, freq)[::-1]]


def default_period(query: RoleScopedQuery, freq: str = "M") -> str | None:
    """The latest period the data cover completely, or None (none is complete yet)."""
    choices = data_periods(query, freq)
    return choices[0] if choices else None


# -- helpers ----------------------------------------------------------------------------------
def _store_key(query: RoleScopedQuery) -> tuple:
    from storage.base import store_fingerprint

    return query.store.url, store_fingerprint(query.store), query.role


def _remember(key, value) -> None:
    _CACHE[key] = value
    _CACHE.move_to_end(key)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def store_bounds(query: RoleScopedQuery):
    key = ("bounds", *_store_key(query))
    if key not in _CACHE:
        _remember(key, query.store.period() if query.store.batches() else None)
    return _CACHE[key]


def _span(query: RoleScopedQuery, freq: str) -> pd.PeriodIndex | None:
    bounds = store_bounds(query)
    return None if bounds is None else span(*bounds, freq)


def check_in_data(target: pd.Period, bounds: tuple | None, periods) -> None:
    """PeriodError unless ``target`` is one of ``periods``, the whole periods the data (first
    and last day ``bounds``, None for an empty store) cover: the store is empty, there are no
    data for it, or they cover it in part, each said so (``core.periods.check_covered``)."""
    if bounds is None:
        raise PeriodError("the store holds no records yet")
    if target not in periods:
        check_covered(target, *bounds)
        # not reached: the periods are the whole ones within the bounds
        raise PeriodError(f"no data for {period_label(target)}")


def gap_display(period: pd.Period, bounds: tuple) -> str:
    """What a period without a figure shows: :data:`INCOMPLETE` where the data (first and last
    day ``bounds``) cover it in part, else :data:`NO_DATA`."""
    return INCOMPLETE if covered(period, *bounds) == "partial" else NO_DATA


def total_row(table: SuppressedTable) -> tuple[pd.Series, pd.Series]:
    """The Total row as floats (NaN where hidden) and its display."""
    return as_float(table.counts.loc[TOTAL]), table.display.loc[TOTAL]


def as_float(values: pd.Series) -> pd.Series:
    return pd.Series(values.astype("Float64").to_numpy(float, na_value=np.nan),
                     index=values.index)


def area_names(level: str) -> dict[str, str]:
    from geo.boundaries import load_boundaries

    areas = load_boundaries(level)
    return dict(zip(areas["code"], areas["name"]))
