"""Trends for the Deputy Mayor's office: KPIs per whole month or quarter, series, trend flags.

Every figure is read through ``safeguards.access.RoleScopedQuery`` and, for roles under disclosure
control (chair, executive, admin), comes out of ``safeguards.disclosure``: counts as ``"<k"`` or
``"[c]"`` where hidden, rates and shares hidden wherever a count they are made from is hidden,
medians over fewer than k records hidden. No Streamlit here; the Trends page
(``pages/trends.py``) and the briefing pack use these functions.

**One protection per feed, for every page.** For one feed, every figure comes from one set of
tables over the whole periods from the first to the last record in the store
(``core.periods.span``), protected together by ``RoleScopedQuery.period_tables``
(``safeguards.period_tables``): the area table (district × month, × quarter and over the whole span)
and each breakdown (age group, NRM exploitation type, Rosewood found/still missing and
first/repeat episode, Mandevilla referred to police: ``core.periods.PARTITIONS``), which share
the feed's West Yorkshire total per period (the KPI). Months and quarters are protected as one
hierarchy, so a quarter cannot be differenced against its months. Meeting mode, the briefing
pack (``views.meeting``) and the Overview (``views.overview``) cut their (feed, period, district)
counts from the same tables (:func:`period_tables`), so every page hides the same cells. A
window of the series, a KPI period and a trend window are cut from these tables, never
protected separately. (A ward view, ``level="ward"``, is its own protection of ward × period;
wards within districts are not modelled across the two, and no page shows ward series to a
suppressed role.)

**Whole periods only.** Periods are whole calendar months (``"2026-10"``) or quarters
(``"2026-Q3"``); no function here takes a date range, so two overlapping ranges cannot be
differenced to reveal a small count.

**Whole periods only, and only complete ones.** Series, KPIs, trend windows and the periods
offered are the calendar periods the data cover from their first to their last day
(``core.periods.complete_periods``): a store ending on 30 November has no fourth quarter yet, and
one starting on 1 December no first quarter, since two months against three would read as a
fall. (They are still part of the one protection, so nothing changes in what is hidden.)

**Beyond normal variation.** A change between two periods is tested with the exact conditional
test of two Poisson counts: given ``n1 + n2`` records in the two periods, ``n1`` is
``Binomial(n1 + n2, d1 / (d1 + d2))`` if the daily rate did not change (``d`` the days in each
period). Real counts vary more than Poisson counts (repeat episodes, operations, seasons), so the
test is widened by a **dispersion factor** φ (:func:`dispersion`): the Pearson chi-square of the
same feed and area's previous :data:`DISPERSION_PERIODS` periods around a straight-line daily rate,
divided by its degrees of freedom, floored at 1 (1 with fewer than :data:`MIN_HISTORY` periods of
history). The test is then run on the counts divided by φ (quasi-Poisson scaling, rounded to
whole records). The change is "beyond normal variation" when the two-sided p-value is below
``alpha`` (0.05). Read a flag as "worth a look", not as proof. Suppressed roles get no test where
either count is hidden, and their φ is estimated from the counts they may see (hidden periods
are left out), so the verdict reveals nothing a hidden cell holds. Meeting mode and the briefing
pack use the same test (:func:`change_test`).

**Trend flags.** The Mann-Kendall test (``core.trends.mann_kendall``) of each district's
monthly counts over the last 12 and 24 whole months, run in the query layer on the true counts;
an area with fewer than k records in the window is not tested for suppressed roles, and
suppressed roles get the flag only (increasing, decreasing, no significant trend): the p-value
and Sen's slope of true counts that include hidden cells are not shown to them.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import PeriodError
from core.periods import (
    PARTITIONS,
    PER_YEAR,
    check_covered,
    complete_periods,
    covered,
    days,
    freq_of,
    last_year,
    parse_period,
    period_label,
    period_text,
    span,
)
from core.schema import FEEDS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL, SuppressedTable, threshold_for

WEST_YORKSHIRE = "West Yorkshire"
PER = 100_000
ALPHA = 0.05
NO_DATA = "no data"
#: Shown for a period the data cover only in part (not compared, not charted).
INCOMPLETE = "incomplete"
HIDDEN = "hidden"
#: Periods of history the dispersion factor is estimated from, and the fewest it needs.
DISPERSION_PERIODS = 24
MIN_HISTORY = 8
MEASURES = ("count", "rate")
TREND_WINDOWS = (12, 24)
FEED_SHORT_TITLES = {"nrm": "NRM referrals", "rosewood": "Rosewood episodes",
                     "mandevilla": "Mandevilla flags"}
CATEGORY_TITLES = {
    "adult_or_unknown": "Adult or age unknown", "child": "Child", "unknown": "Unknown",
    "labour": "Labour", "sexual": "Sexual", "criminal": "Criminal",
    "domestic_servitude": "Domestic servitude", "organ_harvesting": "Organ harvesting",
    "several": "Several types", "found": "Found", "missing": "Still missing",
    "first": "First episode", "repeat": "Repeat episode",
    "referred": "Referred to police", "not_referred": "Not referred",
}
TREND_SYMBOLS = {"increasing": "▲ increasing", "decreasing": "▼ decreasing",
                 "no trend": "no significant trend", "too few records": "too few records to test",
                 "not enough data": "not enough months of data"}
TEST_NOTE = ("Beyond normal variation: exact test of two Poisson counts (conditional binomial, "
             "adjusted for the days in each period), widened by the over-dispersion of the "
             "previous 24 periods (Pearson chi-square / df around a trend line, at least 1), "
             "two-sided p < 0.05. Only whole periods covered by the data are compared.")
TREND_NOTE = ("Mann-Kendall trend test of the monthly counts (two-sided p < 0.05); slope: "
              "Sen's estimate, records per year (not shown where small numbers are hidden).")


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
    bounds = _bounds(query)
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
    bounds = _bounds(query)
    if bounds is None:
        return []
    return [period_text(p) for p in complete_periods(*bounds, freq)[::-1]]


def default_period(query: RoleScopedQuery, freq: str = "M") -> str | None:
    """The latest period the data cover completely, or None (none is complete yet)."""
    choices = data_periods(query, freq)
    return choices[0] if choices else None


# -- KPIs -------------------------------------------------------------------------------------
def kpi_table(query: RoleScopedQuery, period: str, *, alpha: float = ALPHA,
              feeds: Sequence[str] = tuple(FEEDS)) -> pd.DataFrame:
    """Per feed: records in ``period``, the previous period and the same period last year.

    Parameters
    ----------
    query : RoleScopedQuery
    period : str
        ``"2026-10"`` (a month) or ``"2026-Q3"`` (a quarter).
    alpha : float
        Significance level of the test of a change (module docstring).
    feeds : sequence of str

    Returns
    -------
    DataFrame
        One row per feed. ``feed``, ``title``, ``period`` (text), ``period_label``; then for
        ``""`` (this period), ``previous_`` and ``last_year_``: ``{p}count`` (Int64, <NA> where
        hidden, no data or incomplete), ``{p}display`` ("1,234", "<5", "[c]", "no data",
        "incomplete": a period the data cover only in part); for ``previous``/``last_year``:
        ``{p}period``, ``{p}period_label``, ``change_{p}`` ("+6 (+15%)", None where a count is
        hidden or missing), ``direction_{p}`` ("up", "down", "same", None), ``p_{p}`` (p-value,
        NaN where not tested) and ``beyond_{p}`` (True/False, None where not tested);
        ``dispersion`` (φ of the test, module docstring); ``threshold`` (k; 1 when nothing is
        suppressed) and ``suppressed`` (whether any of the three counts is hidden).

    Raises
    ------
    PeriodError
        ``period`` is not a month or quarter, or the data do not cover it completely.
    """
    target = parse_period(period)
    freq = freq_of(target)
    rows = []
    for feed in feeds:
        tables = feed_tables(query, feed, freq)
        _check_in_data(target, tables)
        row = {"feed": feed, "title": FEED_SHORT_TITLES[feed], "period": period_text(target),
               "period_label": period_label(target)}
        now, now_display = _total(tables, target)
        row.update(count=now, display=now_display)
        counts = tables.area.counts.loc[TOTAL]
        for prefix, other in (("previous", target - 1), ("last_year", last_year(target))):
            before, before_display = _total(tables, other)
            p_value, beyond, phi = change_test(counts, tables.periods, target, other, alpha)
            row.update({f"{prefix}_period": period_text(other),
                        f"{prefix}_period_label": period_label(other),
                        f"{prefix}_count": before, f"{prefix}_display": before_display,
                        f"change_{prefix}": change_text(now, before),
                        f"direction_{prefix}": direction(now, before),
                        f"p_{prefix}": p_value, f"beyond_{prefix}": beyond})
        hidden = [row[c] is None for c in ("count", "previous_count", "last_year_count")
                  if row[c.replace("count", "display")] not in (NO_DATA, INCOMPLETE)]
        row.update(dispersion=phi, threshold=tables.threshold, suppressed=any(hidden))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("count", "previous_count", "last_year_count"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in frame.columns:
        if column.startswith(("change_", "direction_", "beyond_")):
            # object, so that "not shown" stays None (pandas would make text columns' None NaN)
            frame[column] = pd.Series([row[column] for row in rows], dtype=object)
    return frame


def kpi_export(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table as people read it (text, for a CSV or a PDF): what every role may see."""
    out = pd.DataFrame({
        "Feed": kpis["title"],
        "Period": kpis["period_label"],
        "Records": kpis["display"],
        "Previous period": kpis["previous_period_label"],
        "Records (previous)": kpis["previous_display"],
        "Change on previous": kpis["change_previous"].fillna("not shown"),
        "Beyond normal variation (previous)": kpis["beyond_previous"].map(_yes_no),
        "Same period last year": kpis["last_year_period_label"],
        "Records (last year)": kpis["last_year_display"],
        "Change on last year": kpis["change_last_year"].fillna("not shown"),
        "Beyond normal variation (last year)": kpis["beyond_last_year"].map(_yes_no),
    })
    return out


def change_text(now: int | None, before: int | None) -> str | None:
    """``"+12 (+15%)"``, ``"-3 (-20%)"``, ``"+5"`` (nothing before) or None (a count missing).

    Examples
    --------
    >>> change_text(46, 40), change_text(3, 0), change_text(None, 4)
    ('+6 (+15%)', '+3', None)
    """
    if now is None or before is None:
        return None
    diff = now - before
    return f"{diff:+,}" if before == 0 else f"{diff:+,} ({diff / before:+.0%})"


def direction(now: int | None, before: int | None) -> str | None:
    """``"up"``, ``"down"``, ``"same"``, or None when a count is missing."""
    if now is None or before is None:
        return None
    return "up" if now > before else "down" if now < before else "same"


def change_p_value(now: int | None, before: int | None, days_now: int = 1,
                   days_before: int = 1, dispersion: float = 1.0) -> float:
    """Two-sided p-value of the exact conditional test that two Poisson counts share a daily
    rate (NaN when a count is missing or both are 0).

    With ``dispersion`` φ > 1 (counts varying φ times more than Poisson counts), the test is run
    on the counts divided by φ, rounded (quasi-Poisson scaling): wider, as it should be.

    Examples
    --------
    >>> round(change_p_value(30, 10), 4)  # Binomial(40, 0.5): P(|X - 20| >= 10)
    0.0022
    >>> round(change_p_value(30, 10, dispersion=2.0), 4)  # as 15 against 5
    0.0414
    """
    if now is None or before is None or now + before == 0:
        return float("nan")
    share = days_now / (days_now + days_before)
    phi = max(1.0, float(dispersion)) if np.isfinite(dispersion) else 1.0
    n = int(round((now + before) / phi))
    if n == 0:
        return 1.0
    k = min(int(round(now / phi)), n)
    return float(stats.binomtest(k, n, share).pvalue)


def dispersion(counts: Sequence[float], period_days: Sequence[int] | None = None) -> float:
    """How much more than Poisson counts ``counts`` vary: φ ≥ 1.

    The Pearson chi-square of the counts around a straight-line daily rate (least squares,
    so a steady rise or fall is not taken for noise), divided by its degrees of freedom
    (periods - 2), and floored at 1. Missing counts (NaN, <NA>: hidden) are left out, keeping
    the others' places in time. 1 with fewer than :data:`MIN_HISTORY` counts, or none above 0.

    Examples
    --------
    >>> dispersion([100] * 12)
    1.0
    >>> round(dispersion([60, 140] * 6), 1)  # swings of ±40 around 100: about 16 × Poisson
    18.9
    """
    values = pd.to_numeric(pd.Series(list(counts), dtype=object), errors="coerce") \
        .to_numpy(float)
    lengths = (np.ones(len(values)) if period_days is None
               else np.asarray(list(period_days), dtype=float))
    places = np.arange(len(values), dtype=float)
    keep = ~np.isnan(values)
    values, lengths, places = values[keep], lengths[keep], places[keep]
    if len(values) < MIN_HISTORY or values.sum() <= 0:
        return 1.0
    slope, intercept = np.polyfit(places, values / lengths, 1)
    expected = np.maximum((intercept + slope * places) * lengths, 0.5)
    chi_square = float(((values - expected) ** 2 / expected).sum())
    return max(1.0, chi_square / (len(values) - 2))


def change_test(counts: pd.Series, periods: pd.PeriodIndex, now: pd.Period, before: pd.Period,
                alpha: float = ALPHA) -> tuple[float, bool | None, float]:
    """The test of a change (module docstring) from ``before`` to ``now`` in one row of
    protected counts.

    Parameters
    ----------
    counts : Series
        One area's (or West Yorkshire's) counts per period as the role may see them (<NA> or
        NaN where hidden), indexed by period.
    periods : PeriodIndex
        The periods the data cover completely: only these are tested or used as history.
    now, before : Period
    alpha : float

    Returns
    -------
    tuple
        ``(p_value, beyond, dispersion)``: NaN and None where either count is hidden, outside
        ``periods`` or both are 0; ``dispersion`` from the :data:`DISPERSION_PERIODS` periods
        before ``now``.
    """
    shown = counts.reindex(periods)
    history = shown[shown.index < now].iloc[-DISPERSION_PERIODS:]
    phi = dispersion(history.tolist(), [days(p) for p in history.index])
    a, b = (None if p not in shown.index or pd.isna(shown[p]) else int(shown[p])
            for p in (now, before))
    p_value = change_p_value(a, b, days(now), days(before), dispersion=phi)
    return p_value, (None if np.isnan(p_value) else bool(p_value < alpha)), phi


# -- the other measures -----------------------------------------------------------------------
def measure_series(query: RoleScopedQuery, freq: str = "M") -> pd.DataFrame:
    """West Yorkshire measures per whole period, long format, as the role may see them.

    Measures (``measure``, with ``feed`` and for type shares a ``category``):
    ``count`` and ``rate`` (records per 100,000 residents, Census 2021) of each feed;
    ``child_share`` of each feed (children among all records, age unknown included in the
    total); ``type_share`` of NRM referrals per exploitation type ("several": more than one);
    ``repeat_share`` (Rosewood episodes of a person reported missing before),
    ``still_missing`` (Rosewood episodes of the period not yet found) and ``median_hours``
    (median hours to found, found episodes only); ``referred_share`` and ``referred`` (Mandevilla
    flags referred to police).

    Returns
    -------
    DataFrame
        ``measure``, ``feed``, ``category``, ``title``, ``unit`` ("records", "per 100,000",
        "share", "hours"), ``period`` (text), ``date`` (first day), ``value`` (float, NaN where
        hidden) and ``display`` (text), for the periods the data cover completely. Empty for
        an empty store or one that covers no whole period.
    """
    parts = []
    population = _population("district").sum()
    for feed in FEEDS:
        tables = feed_tables(query, feed, freq)
        if tables is None or not len(tables.periods):
            continue
        count, shown = _total_row(tables.area)
        short = FEED_SHORT_TITLES[feed]
        parts.append(_measure(tables, "count", feed, short, "records", count,
                              shown.map(_thousands)))
        rate = count / population * PER
        parts.append(_measure(tables, "rate", feed, f"{short} per 100,000 residents",
                              "per 100,000", rate, rate.map(_rate_text)))
        parts.append(_share_measure(tables, "child_share", "age_group", "child",
                                    f"{short}: share children"))
        if feed == "nrm":
            for category in PARTITIONS["exploitation_type"].categories:
                parts.append(_share_measure(
                    tables, "type_share", "exploitation_type", category,
                    f"NRM referrals: {CATEGORY_TITLES[category].lower()}"))
        if feed == "rosewood":
            parts.append(_share_measure(tables, "repeat_share", "repeat", "repeat",
                                        "Rosewood: share repeat episodes"))
            status = tables.parts["status"]
            parts.append(_measure(tables, "still_missing", feed,
                                  "Rosewood: episodes still missing", "records",
                                  _as_float(status.counts.loc["missing"]),
                                  status.display.loc["missing"].map(_thousands)))
            medians = query.median_hours_to_found(tables.periods)
            value = pd.Series(medians["median_hours"].to_numpy(float), index=tables.periods)
            k = threshold_for("rosewood")
            display = pd.Series(
                [f"hidden (fewer than {k} found)" if hidden else "none found" if np.isnan(v)
                 else _hours_text(v) for v, hidden in zip(value, medians["suppressed"])],
                index=tables.periods)
            parts.append(_measure(tables, "median_hours", feed,
                                  "Rosewood: median time to found", "hours", value, display))
        if feed == "mandevilla":
            table = tables.parts["referred_to_police"]
            parts.append(_measure(tables, "referred", feed, "Mandevilla: referred to police",
                                  "records", _as_float(table.counts.loc["referred"]),
                                  table.display.loc["referred"].map(_thousands)))
            parts.append(_share_measure(tables, "referred_share", "referred_to_police",
                                        "referred", "Mandevilla: share referred to police"))
    if not parts:
        return pd.DataFrame(columns=["measure", "feed", "category", "title", "unit", "period",
                                     "date", "value", "display"])
    return pd.concat(parts, ignore_index=True)


def measures_table(query: RoleScopedQuery, period: str) -> pd.DataFrame:
    """The measures of :func:`measure_series` for ``period``, the previous one and last year's.

    Returns
    -------
    DataFrame
        One row per measure: ``measure``, ``feed``, ``category``, ``title``, ``unit``, then
        ``value``/``display``, ``previous_value``/``previous_display``,
        ``last_year_value``/``last_year_display`` ("no data" outside the store's periods,
        "incomplete" for one the data cover in part).

    Raises
    ------
    PeriodError
        ``period`` is malformed or not covered completely by the data.
    """
    target = parse_period(period)
    series = measure_series(query, freq_of(target))
    bounds = _bounds(query)
    if bounds is None:
        raise PeriodError("the store holds no records yet")
    if series.empty or period_text(target) not in set(series["period"]):
        check_covered(target, *bounds)
        raise PeriodError(f"no data for {period_label(target)}")
    keys = ["measure", "feed", "category", "title", "unit"]
    out = series[keys].drop_duplicates().reset_index(drop=True)
    for prefix, when in (("", target), ("previous_", target - 1),
                         ("last_year_", last_year(target))):
        chosen = series[series["period"] == period_text(when)].set_index(keys)
        indexed = out.set_index(keys).index
        out[f"{prefix}value"] = chosen["value"].reindex(indexed).to_numpy()
        missing = INCOMPLETE if covered(when, *bounds) == "partial" else NO_DATA
        out[f"{prefix}display"] = chosen["display"].reindex(indexed).fillna(missing).to_numpy()
    return out


def breakdown_series(query: RoleScopedQuery, feed: str, by: str,
                     freq: str = "M") -> pd.DataFrame:
    """One partition of a feed per period (e.g. NRM exploitation type mix), long format.

    Returns
    -------
    DataFrame
        ``category``, ``label``, ``period``, ``date``, ``count`` (Int64, <NA> where hidden),
        ``display``, ``suppressed``, ``share`` (of the period's total; NaN where the count or
        the total is hidden) and ``share_display``; the periods the data cover completely.
    """
    tables = feed_tables(query, feed, freq)
    if tables is None or not len(tables.periods):
        return pd.DataFrame(columns=["category", "label", "period", "date", "count", "display",
                                     "suppressed", "share", "share_display"])
    if by not in tables.parts:
        raise ValueError(f"{by!r} does not split {feed} records; use one of "
                         f"{', '.join(tables.parts)}")
    table = tables.parts[by]
    total, _ = _total_row(table)
    rows = []
    for category in table.cells.index:
        count = table.counts.loc[category]
        share = _as_float(count) / total.replace(0, np.nan)
        for p in tables.periods:
            rows.append({"category": category, "label": CATEGORY_TITLES.get(category, category),
                         "period": period_text(p), "date": p.start_time,
                         "count": count[p], "display": _thousands(table.display.loc[category, p]),
                         "suppressed": bool(table.suppressed.loc[category, p]),
                         "share": share[p], "share_display": _share_text(share[p])})
    frame = pd.DataFrame(rows)
    frame["count"] = pd.array(frame["count"].tolist(), dtype="Int64")
    return frame


# -- series by area ---------------------------------------------------------------------------
def monthly_series(query: RoleScopedQuery, feeds: Sequence[str] | str = tuple(FEEDS),
                   level: str = "district", freq: str = "M", measure: str = "count", *,
                   last: int | None = None, end: str | None = None,
                   include_total: bool = True) -> pd.DataFrame:
    """Records (or rates) per area and whole period, per feed, long format.

    Parameters
    ----------
    query : RoleScopedQuery
    feeds : str or sequence of str
    level : {"district", "ward"}
        Ward needs a role with ward access (analyst, chair).
    freq : {"M", "Q"}
    measure : {"count", "rate"}
        ``value`` holds the count or the rate per 100,000 residents (Census 2021; ward
        populations are estimates).
    last : int, optional
        Only the last ``last`` periods up to ``end`` (default: every period the data cover
        completely; a part-recorded first or last period is never in a series).
    end : str, optional
        The last period (default: the last complete period).
    include_total : bool
        Add West Yorkshire (``code`` "Total") per feed and period.

    Returns
    -------
    DataFrame
        ``feed``, ``feed_title``, ``code``, ``name``, ``period`` (text), ``date`` (first day),
        ``count`` (Int64, <NA> where hidden), ``display``, ``suppressed``, ``rate`` (NaN where
        the count is hidden) and ``value`` (the chosen measure).
    """
    if measure not in MEASURES:
        raise ValueError(f"measure was {measure!r}; expected one of {MEASURES}")
    feeds = [feeds] if isinstance(feeds, str) else list(feeds)
    population = _population(level)
    names = _names(level)
    frames = []
    for feed in feeds:
        tables = feed_tables(query, feed, freq, level)
        if tables is None or not len(tables.periods):
            continue
        periods = _window(tables.periods, last, end, freq)
        table = tables.area
        index = list(table.cells.index) + ([TOTAL] if include_total and TOTAL in
                                            table.counts.index else [])
        counts = table.counts.loc[index, periods]
        pops = np.array(population.reindex(index).fillna(0).to_numpy(float))
        pops[[i for i, code in enumerate(index) if code == TOTAL]] = population.sum()
        long = counts.stack(future_stack=True).rename("count").reset_index()
        long.columns = ["code", "period", "count"]
        long["display"] = table.display.loc[index, periods].stack(future_stack=True) \
            .map(_thousands).to_numpy()
        long["suppressed"] = table.suppressed.loc[index, periods].stack(future_stack=True) \
            .to_numpy()
        long["rate"] = (long["count"].astype("Float64").to_numpy(float, na_value=np.nan)
                        / np.repeat(np.where(pops > 0, pops, np.nan), len(periods)) * PER)
        long.insert(0, "feed", feed)
        long.insert(1, "feed_title", FEED_SHORT_TITLES[feed])
        long.insert(3, "name", long["code"].map({**names, TOTAL: WEST_YORKSHIRE}))
        long["date"] = long["period"].map(lambda p: p.start_time)
        long["period"] = long["period"].map(period_text)
        frames.append(long)
    if not frames:
        return pd.DataFrame(columns=["feed", "feed_title", "code", "name", "period", "date",
                                     "count", "display", "suppressed", "rate", "value"])
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["rate"] if measure == "rate" else out["count"].astype("Float64") \
        .to_numpy(float, na_value=np.nan)
    columns = ["feed", "feed_title", "code", "name", "period", "date", "count", "display",
               "suppressed", "rate", "value"]
    return out[columns]


def series_export(series: pd.DataFrame, measure: str = "count") -> pd.DataFrame:
    """:func:`monthly_series` as people read it (for CSV): hidden figures as their label."""
    rate = [(_rate_text(r) if not np.isnan(r) else HIDDEN if s else "")
            for r, s in zip(series["rate"].astype(float), series["suppressed"])]
    out = pd.DataFrame({"Feed": series["feed_title"], "Area": series["name"],
                        "Area code": series["code"].replace({TOTAL: ""}),
                        "Period": series["period"], "Records": series["display"],
                        "Per 100,000 residents": rate})
    return out


# -- trend flags ------------------------------------------------------------------------------
def trend_flags(query: RoleScopedQuery, feeds: Sequence[str] = tuple(FEEDS),
                level: str = "district", windows: Sequence[int] = TREND_WINDOWS,
                end: str | None = None, alpha: float = ALPHA) -> pd.DataFrame:
    """Mann-Kendall trend flag per area (and West Yorkshire) and feed over the last months.

    Parameters
    ----------
    windows : sequence of int
        Window lengths in months (default 12 and 24), each ending at ``end``.
    end : str, optional
        The last month (``"2026-10"``); default the latest month the data cover completely.

    Returns
    -------
    DataFrame
        ``feed``, ``feed_title``, ``code``, ``name``, ``window`` (months), ``first``, ``last``
        (months, text), ``trend`` ("increasing", "decreasing", "no trend", "too few records"
        or "not enough data": the data cover fewer whole months), ``p_value``,
        ``slope_per_year`` (Sen's slope × 12) and ``flag`` (text). For suppressed roles
        ``p_value`` and ``slope_per_year`` are NaN (the flag only: module docstring).
    """
    bounds = _bounds(query)
    months = None if bounds is None else complete_periods(*bounds, "M")
    columns = ["feed", "feed_title", "code", "name", "window", "first", "last", "trend",
               "p_value", "slope_per_year", "flag"]
    if months is None or not len(months):
        return pd.DataFrame(columns=columns)
    last = parse_period(end or default_period(query, "M"))
    if freq_of(last) != "M":
        raise PeriodError("trend windows end at a month (YYYY-MM)")
    names = _names(level)
    rows = []
    for feed in feeds:
        for window in windows:
            periods = pd.period_range(end=last, periods=window, freq="M")
            base = {"feed": feed, "feed_title": FEED_SHORT_TITLES[feed], "window": window,
                    "first": period_text(periods[0]), "last": period_text(periods[-1])}
            if periods[0] < months[0] or last > months[-1]:
                for code in [*names, TOTAL]:
                    rows.append({**base, "code": code, "name": names.get(code, WEST_YORKSHIRE),
                                 "trend": "not enough data", "p_value": np.nan,
                                 "slope_per_year": np.nan})
                continue
            result = query.period_trends(feed, level, periods, alpha=alpha)
            for _, r in result.iterrows():
                rows.append({**base, "code": r["code"],
                             "name": names.get(r["code"], WEST_YORKSHIRE), "trend": r["trend"],
                             "p_value": r["p_value"], "slope_per_year": r["slope"] * 12})
    out = pd.DataFrame(rows)
    out["flag"] = [_flag_text(t, p, s) for t, p, s in
                   zip(out["trend"], out["p_value"], out["slope_per_year"])]
    return out[columns]


def trends_export(flags: pd.DataFrame) -> pd.DataFrame:
    """:func:`trend_flags` as people read it (for CSV and tables)."""
    return pd.DataFrame({
        "Feed": flags["feed_title"], "Area": flags["name"],
        "Months": flags["window"].astype(str) + " (" + flags["first"] + " to " + flags["last"]
        + ")",
        "Trend": flags["flag"],
        "p-value": flags["p_value"].map(lambda p: "" if np.isnan(p) else f"{p:.3f}"),
        "Change per year (Sen)": flags["slope_per_year"].map(
            lambda s: "" if np.isnan(s) else f"{s:+.1f}"),
    })


# -- helpers ----------------------------------------------------------------------------------
def _store_key(query: RoleScopedQuery) -> tuple:
    from storage.base import store_fingerprint

    return query.store.url, store_fingerprint(query.store), query.role


def _remember(key, value) -> None:
    _CACHE[key] = value
    _CACHE.move_to_end(key)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)


def _bounds(query: RoleScopedQuery):
    key = ("bounds", *_store_key(query))
    if key not in _CACHE:
        _remember(key, query.store.period() if query.store.batches() else None)
    return _CACHE[key]


def _span(query: RoleScopedQuery, freq: str) -> pd.PeriodIndex | None:
    bounds = _bounds(query)
    return None if bounds is None else span(*bounds, freq)


def _check_in_data(target: pd.Period, tables: FeedTables | None) -> None:
    if tables is None:
        raise PeriodError("the store holds no records yet")
    if target not in tables.periods:
        check_covered(target, *tables.bounds)
        raise PeriodError(f"no data for {period_label(target)}")  # not reached


def _total(tables: FeedTables, period: pd.Period) -> tuple[int | None, str]:
    """The feed's West Yorkshire total in ``period`` and its display ("no data" outside the
    data, "incomplete" for a period they cover in part)."""
    if period not in tables.periods:
        return None, (INCOMPLETE if covered(period, *tables.bounds) == "partial" else NO_DATA)
    value = tables.area.counts.loc[TOTAL, period]
    return (None if pd.isna(value) else int(value),
            _thousands(tables.area.display.loc[TOTAL, period]))


def _total_row(table: SuppressedTable) -> tuple[pd.Series, pd.Series]:
    """The Total row as floats (NaN where hidden) and its display."""
    return _as_float(table.counts.loc[TOTAL]), table.display.loc[TOTAL]


def _as_float(values: pd.Series) -> pd.Series:
    return pd.Series(values.astype("Float64").to_numpy(float, na_value=np.nan),
                     index=values.index)


def _measure(tables: FeedTables, measure: str, feed: str, title: str, unit: str,
             values: pd.Series, display: pd.Series, category: str = "") -> pd.DataFrame:
    periods = tables.periods
    return pd.DataFrame({
        "measure": measure, "feed": feed, "category": category, "title": title, "unit": unit,
        "period": [period_text(p) for p in periods],
        "date": [p.start_time for p in periods],
        "value": pd.Series(values).reindex(periods).to_numpy(float),
        "display": pd.Series(display).reindex(periods).to_numpy(object)})


def _share_measure(tables: FeedTables, measure: str, by: str, category: str,
                   title: str) -> pd.DataFrame:
    table = tables.parts[by]
    total, _ = _total_row(table)
    part = _as_float(table.counts.loc[category])
    share = part / total.replace(0, np.nan)
    display = pd.Series([_share_text(s, t) for s, t in zip(share, total)], index=share.index)
    category_key = category if measure == "type_share" else ""
    return _measure(tables, measure, tables.feed, title, "share", share, display,
                    category=category_key)


def _window(periods: pd.PeriodIndex, last: int | None, end: str | None,
            freq: str) -> pd.PeriodIndex:
    stop = parse_period(end) if end else periods[-1]
    if freq_of(stop) != freq:
        raise PeriodError(f"the series end {period_text(stop)} is not a "
                          f"{'month' if freq == 'M' else 'quarter'}")
    chosen = periods[periods <= stop]
    return chosen[-last:] if last else chosen


def _population(level: str) -> pd.Series:
    from geo.boundaries import load_boundaries

    areas = load_boundaries(level)
    return pd.Series(areas["population"].to_numpy(float), index=areas["code"])


def _names(level: str) -> dict[str, str]:
    from geo.boundaries import load_boundaries

    areas = load_boundaries(level)
    return dict(zip(areas["code"], areas["name"]))


def _thousands(label) -> str:
    return f"{int(label):,}" if str(label).isdigit() else str(label)


def _rate_text(rate: float) -> str:
    return HIDDEN if np.isnan(rate) else f"{rate:,.2f}"


def _share_text(share: float, total: float = 1.0) -> str:
    if np.isnan(share):
        return "no records" if total == 0 else HIDDEN
    return f"{share:.0%}"


def _hours_text(hours: float) -> str:
    return f"{hours:,.0f} h" if hours < 72 else f"{hours / 24:,.1f} days"


def _yes_no(value) -> str:
    return "not tested" if value is None or pd.isna(value) else ("yes" if value else "no")


def _flag_text(trend: str, p_value: float, slope: float) -> str:
    """The flag as shown; the p-value and slope only where the role may see them."""
    text = TREND_SYMBOLS.get(trend, trend)
    if trend in ("increasing", "decreasing") and not (np.isnan(p_value) or np.isnan(slope)):
        text += f" (p = {p_value:.3f}, {slope:+.1f} a year)"
    return text


# -- the Trends page's link -------------------------------------------------------------------
P_PERIOD, P_MEASURE = "period", "measure"


@dataclass(frozen=True)
class TrendsView:
    """What the Trends page shows: the KPI period (and so months or quarters) and the measure
    of its series charts. ``warnings`` say what part of the link could not be used."""

    period: str
    measure: str = "count"
    warnings: tuple[str, ...] = ()

    @property
    def freq(self) -> str:
        return freq_of(parse_period(self.period))


def trends_view(params: dict, choices: dict[str, Sequence[str]]) -> TrendsView | None:
    """The view a link asks for, within the periods the data cover (``choices`` per frequency,
    newest first, as :func:`data_periods` gives). None when there is no period at all.

    A period that cannot be read or is not covered gives the newest period of the same kind
    (months by default) and a warning; so does an unknown measure (then "count").
    """
    def first(key):
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return None if value in (None, "") else str(value)

    warnings = []
    measure = first(P_MEASURE) or "count"
    if measure not in MEASURES:
        warnings.append(f"measure {measure[:20]!r} is not one of {', '.join(MEASURES)}")
        measure = "count"
    asked, freq = first(P_PERIOD), "M"
    if asked is not None:
        try:
            parsed = parse_period(asked)
            freq = freq_of(parsed)
            asked = period_text(parsed)
        except PeriodError:
            warnings.append(f"period {asked[:20]!r} is not a month (YYYY-MM) or a quarter "
                            "(YYYY-Qn)")
            asked = None
    options = list(choices.get(freq) or []) or list(choices.get("M") or choices.get("Q") or [])
    if not options:
        return None
    if asked is not None and asked not in options:
        warnings.append(f"the data do not cover {asked} completely; showing {options[0]}")
        asked = None
    return TrendsView(period=asked or options[0], measure=measure, warnings=tuple(warnings))


def trends_params(view: TrendsView) -> dict[str, str]:
    """The link of ``view`` (the measure only when it is not the default)."""
    params = {P_PERIOD: view.period}
    if view.measure != "count":
        params[P_MEASURE] = view.measure
    return params


# -- what the page lays out -------------------------------------------------------------------
#: Charts of the other measures: key, title, measures of :func:`measure_series`, unit.
MEASURE_GROUPS = (
    ("rates", "Records per 100,000 residents", ("rate",), "per 100,000"),
    ("children", "Share of records about children", ("child_share",), "share"),
    ("repeat", "Rosewood: share of episodes that are repeats", ("repeat_share",), "share"),
    ("missing", "Rosewood: episodes still missing", ("still_missing",), "records"),
    ("found", "Rosewood: median time to found", ("median_hours",), "hours"),
    ("police", "Mandevilla: share of flags referred to police", ("referred_share",), "share"),
)
#: The measures shown as tiles for the chosen period (the counts are the KPI tiles), and their
#: tile labels (the tiles stand under their feed's name).
TILE_MEASURES = ("rate", "child_share", "repeat_share", "still_missing", "median_hours",
                 "referred_share")
TILE_TITLES = {"rate": "Per 100,000 residents", "child_share": "Share about children",
               "repeat_share": "Share repeat episodes", "still_missing": "Still missing",
               "median_hours": "Median time to found", "referred_share": "Share referred to police"}


def period_title(text: str) -> str:
    """``"2026-Q3"`` → ``"Q3 2026 (Jul–Sep)"``, for a period picker."""
    return period_label(parse_period(text))


def last_month(text: str) -> str:
    """The last month of a period: ``"2026-Q3"`` → ``"2026-09"``, ``"2026-10"`` → itself."""
    period = parse_period(text)
    return period_text(period.asfreq("M", how="end"))


def kpi_tiles(kpis: pd.DataFrame) -> list[dict]:
    """One dict per KPI tile: ``title``, ``value``, ``delta`` (change on the previous period,
    None where not shown), ``help`` and ``note`` (:func:`kpi_notes`)."""
    tiles = []
    for row, note in zip(kpis.to_dict("records"), kpi_notes(kpis)):
        change = row["change_previous"]
        tiles.append({"title": row["title"], "value": row["display"],
                      "delta": None if change is None or pd.isna(change) else change,
                      "help": f"Change on {row['previous_period_label']}. {TEST_NOTE}",
                      "note": note})
    return tiles


def kpi_notes(kpis: pd.DataFrame) -> list[str]:
    """One line per KPI row under its tile: the two comparisons and their tests."""
    notes = []
    for row in kpis.to_dict("records"):
        parts = []
        for prefix, name in (("previous", "previous"), ("last_year", "last year")):
            change = row[f"change_{prefix}"]
            if row[f"{prefix}_display"] in (NO_DATA, INCOMPLETE):
                what = ("no data" if row[f"{prefix}_display"] == NO_DATA
                        else "not complete in the data, not compared")
                parts.append(f"{name} ({row[f'{prefix}_period_label']}): {what}")
                continue
            text = f"{name} ({row[f'{prefix}_period_label']}): {row[f'{prefix}_display']}"
            if change is not None and not pd.isna(change):
                text += f", {change}"
                beyond = row[f"beyond_{prefix}"]
                if beyond is not None and not pd.isna(beyond):
                    text += (", beyond normal variation" if beyond
                             else ", within normal variation")
            parts.append(text)
        text = "; ".join(parts)
        notes.append(text[:1].upper() + text[1:])
    return notes


def tile_measures(measures: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`measures_table` shown as tiles, in :data:`TILE_MEASURES` order."""
    chosen = measures[measures["measure"].isin(TILE_MEASURES)].copy()
    chosen["order"] = chosen["measure"].map(TILE_MEASURES.index)
    chosen["tile_title"] = chosen["measure"].map(TILE_TITLES)
    return chosen.sort_values(["order"], kind="stable").drop(columns="order") \
        .reset_index(drop=True)


def tiles_by_feed(measures: pd.DataFrame) -> list[tuple[str, list[dict]]]:
    """:func:`tile_measures` grouped by feed (feed order), each a list of row dicts."""
    tiles = tile_measures(measures)
    return [(feed, tiles[tiles["feed"] == feed].to_dict("records")) for feed in FEEDS]


def measure_group(series: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows of :func:`measure_series` that chart ``key`` of :data:`MEASURE_GROUPS` draws."""
    measures = {k: m for k, _, m, _ in MEASURE_GROUPS}[key]
    return series[series["measure"].isin(measures)].reset_index(drop=True)


def measures_export(measures: pd.DataFrame, period: str) -> pd.DataFrame:
    """:func:`measures_table` as people read it (for CSV)."""
    target = parse_period(period)
    return pd.DataFrame({
        "Measure": measures["title"],
        period_label(target): measures["display"],
        period_label(target - 1): measures["previous_display"],
        period_label(last_year(target)): measures["last_year_display"]})


def measure_series_export(series: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`measure_series` (e.g. one :func:`measure_group`) as people read them
    (for CSV): each figure as shown, "hidden" where it is."""
    return pd.DataFrame({"Measure": series["title"].to_numpy(),
                         "Period": series["period"].to_numpy(),
                         "Value": series["display"].to_numpy()})


def breakdown_export(breakdown: pd.DataFrame) -> pd.DataFrame:
    """:func:`breakdown_series` as people read it (for CSV): records and share as shown."""
    return pd.DataFrame({"Category": breakdown["label"].to_numpy(),
                         "Period": breakdown["period"].to_numpy(),
                         "Records": breakdown["display"].to_numpy(),
                         "Share of the period's records": breakdown["share_display"].to_numpy()})


def trend_flags_wide(flags: pd.DataFrame) -> pd.DataFrame:
    """:func:`trend_flags` with one row per feed and area and one column per window."""
    if flags.empty:
        return pd.DataFrame(columns=["Feed", "Area"])
    wide = flags.pivot_table(index=["feed_title", "name"], columns="window", values="flag",
                             aggfunc="first", sort=False)
    wide.columns = [f"Last {w} months" for w in wide.columns]
    wide = wide.reset_index().rename(columns={"feed_title": "Feed", "name": "Area"})
    return wide
