"""The figures of meeting mode and the briefing pack: :func:`meeting_data` for one period and
district focus, already suppressed (:class:`MeetingData`).

Everything is at ward or district level and **suppressed as for a chair, whatever the role**:
the screen is shown to a room. The counts of (feed, period, district) are **the Trends page's**:
cut from ``views.feed_tables.feed_tables``, the one protection of each feed's months, quarters
and whole span (``safeguards.period_tables``), so a chair who opens Trends, this meeting and the
briefing pack for the same period sees the same cells hidden everywhere, and nothing shown on
one can be subtracted from another to work a hidden count out:

- the district comparison is each feed's column of that period (districts and West Yorkshire,
  each feed with its own threshold); the all-feed ``Total`` column and its rate per 100,000 are
  ``RoleScopedQuery.feeds_total``: sums of published atoms (``safeguards.publication``), shown
  even where one feed's count is "<k";
- the headline and the trend are West Yorkshire's (or the focus district's) row of the same
  tables; the trend flag is ``RoleScopedQuery.period_trends`` (true counts in the query layer,
  no flag on fewer than k records);
- hotspots come from ``views.hotspots.fit_hotspots``, which protects them itself, fitted on
  the **trend window** (:func:`hotspot_filter`: the 24 months to the end of the period), not
  on the period alone: a trend class needs a history (``core.trends.MIN_MONTHS``), and on one
  quarter every hotspot read "New". The same dates on the Hotspots page give the same
  hotspots and classes.

The periods and the link are in ``views.meeting``, the tasking list in ``views.meeting_tasks``,
what each step shows in ``views.meeting_steps``. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from core.errors import PeriodError
from core.filters import EventFilter
from core.schema import FEED_TITLES, FEEDS
from core.trend_words import FEED_TITLES as TREND_WORDS
from core.trend_words import feed_label, window_text
from geo.boundaries import DISTRICT_CODES
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import TOTAL, legend, legend_for
from storage.base import Store
from views.explore import change_text
from views.feed_tables import check_in_data, feed_tables, gap_display
from views.meeting import WEST_YORKSHIRE, MeetingState, Period, period_key, steps_for
from views.meeting_tasks import Task, period_tasks
from views.overview import FEED_SHORT_TITLES
from views.readable import thousands

TOP_HOTSPOTS = 10
PER = 100_000
#: Periods of the trend window: two years of quarters or of months.
TREND_PERIODS = {"Q": 8, "M": 24}
#: Shown for an all-feed sum (or its rate) where one of its parts is hidden.
HIDDEN_SUM = "hidden"
#: Months of the hotspots' window (the trend window of a quarter or a month: 8 x 3 = 24 x 1).
HOTSPOT_MONTHS = 24


# -- the figures -------------------------------------------------------------------------------
class PresentationQuery(RoleScopedQuery):
    """A role-scoped query whose aggregates are suppressed whatever the role.

    Levels and actions are still the role's own, and reads are audited under the real user and
    role; only the disclosure control is made as strict as a chair's, because what a meeting
    screen or a briefing pack shows is seen by a room, not by the analyst alone.
    """

    @property
    def suppressed(self) -> bool:
        return True


def meeting_query(store: Store, principal: Principal) -> PresentationQuery:
    return PresentationQuery(store, principal)


@dataclass(frozen=True)
class KpiRow:
    """One feed's headline: this period, previous period, same period last year (as shown).

    ``beyond_previous`` and ``beyond_year``: whether the change is beyond normal variation
    (``views.kpis.change_test``); None where it is not tested (a count hidden, no data or an
    incomplete period), exactly where the change itself is not shown.
    """

    feed: str
    title: str
    display: str
    previous_display: str
    last_year_display: str
    change_previous: str | None
    change_year: str | None
    trend: str
    beyond_previous: bool | None = None
    beyond_year: bool | None = None
    count: int | None = None          # this period's count as shown; None where it is hidden


@dataclass(frozen=True)
class MeetingData:
    """Everything the meeting steps and the briefing pack show, already suppressed.

    Attributes
    ----------
    period, previous, last_year : Period
    area_label : str
        "West Yorkshire" or the focus district's name.
    kpis : tuple of KpiRow
    districts : DataFrame
        Text: districts by name (+ Total) × feed short titles + Total + "Per 100,000".
    hotspots : GeoDataFrame or None
        The model's hotspots (``views.hotspots.HotspotView.hotspots``), strongest first, at
        most ``TOP_HOTSPOTS``; None when the role may not see hotspots.
    trend : DataFrame
        ``feed`` (short title), ``period`` (key), ``start`` (Timestamp), ``count`` (float, NaN
        where hidden), ``display``.
    tasks : tuple of Task, or None (not for this role)
    tasking_note : str
        Where the tasking list comes from, or why there is none.
    threshold : int
        k of the strictest feed.
    thresholds : dict
        k per feed (short title → k): each feed's figures are hidden at its own threshold.
    data_kind : str
        "synthetic", "real", "mixed" or "empty".
    sources : tuple of str
        One line per feed: title, batches, last ingest.
    """

    period: Period
    previous: Period
    last_year: Period
    district: str | None
    area_label: str
    kpis: tuple[KpiRow, ...]
    districts: pd.DataFrame
    hotspots: object | None
    trend: pd.DataFrame
    tasks: tuple[Task, ...] | None
    tasking_note: str
    threshold: int
    data_kind: str
    sources: tuple[str, ...]
    thresholds: Mapping[str, int] = field(default_factory=dict)
    #: The hotspots' window in words ("24 months to Sep 2026"), named on every hotspot label.
    hotspot_window: str = ""
    #: New-hotspot alerts of the period's last month (``views.hotspot_alerts.AlertView``,
    #: protected), None when the role may not see hotspots.
    alerts: object | None = None
    #: Hotspots the fit found (``hotspots`` lists the strongest ``TOP_HOTSPOTS``); 0 when the
    #: role may not see hotspots.
    hotspot_count: int = 0
    #: How much of West Yorkshire they cover against the list's area limit, and what the limit
    #: left out, in the Hotspots page's words (``views.hotspot_notes.coverage_note``), and its
    #: help; "" when the role may not see hotspots or there is nothing to say.
    hotspot_coverage: str = ""
    hotspot_coverage_help: str = ""

    @property
    def is_synthetic(self) -> bool:
        return self.data_kind == "synthetic"

    @property
    def note(self) -> str:
        return legend_for(self.thresholds) if self.thresholds else legend(self.threshold)


def meeting_data(query: RoleScopedQuery, state: MeetingState) -> MeetingData:
    """Every figure of the meeting ``state`` asks for, read through ``query`` and suppressed.

    ``query`` should be a :class:`PresentationQuery` (or a chair's): the counts come from
    ``views.feed_tables.feed_tables`` (module docstring). Raises ``AccessDenied`` (audited) if the
    role may not see district data, ``PeriodError`` for a malformed period or one without data.
    """
    query.require_level("district")
    period = Period(state.period)
    names = dict(DISTRICT_CODES)
    tables = {feed: feed_tables(query, feed, period.freq) for feed in FEEDS}
    if any(t is None for t in tables.values()):
        raise PeriodError("the store holds no records yet")
    first = next(iter(tables.values()))
    check_in_data(period.pandas, first.bounds, first.periods)
    trend, flags = _trend(query, tables, period, state.district)
    role = query.role
    show_areas = "hotspots" in steps_for(role)
    show_tasks = "tasking" in steps_for(role)
    tasks, tasking_note = (period_tasks(query, period, state.district) if show_tasks
                           else (None, "Tasking is not shown to this role."))
    hotspots = _hotspots(query, period, state.district) if show_areas else {"hotspots": None}
    return MeetingData(
        period=period, previous=period.previous, last_year=period.last_year,
        district=state.district,
        area_label=names.get(state.district, WEST_YORKSHIRE),
        kpis=_kpis(period, trend, flags, tables, state.district or TOTAL),
        districts=_district_table(query, tables, period, names),
        trend=trend, tasks=tasks, tasking_note=tasking_note,
        threshold=max(t.threshold for t in tables.values()),
        data_kind=_data_kind(query.store), sources=_sources(query.store),
        thresholds={FEED_SHORT_TITLES[f]: t.threshold for f, t in tables.items()},
        hotspot_window=hotspot_window_text(period),
        alerts=_alerts(query, period, state.district) if show_areas else None,
        **hotspots)


def hotspot_filter(period: Period, district: str | None = None) -> EventFilter:
    """The meeting's hotspot fit: the ``HOTSPOT_MONTHS`` whole months ending with ``period``
    (and the district focus). Put these dates on the Hotspots page for the same hotspots."""
    last = period.pandas.asfreq("M", how="end")
    first = last - (HOTSPOT_MONTHS - 1)
    return EventFilter(start=first.start_time.date(), end=last.end_time.date(),
                       districts=(district,) if district else ())


def hotspot_window_text(period: Period) -> str:
    """"24 months to Sep 2026": the window the meeting's hotspots and their classes are about."""
    return window_text(HOTSPOT_MONTHS, period.pandas.asfreq("M", how="end"))


def _trend(query: RoleScopedQuery, tables: Mapping, period: Period,
           district: str | None) -> tuple[pd.DataFrame, dict]:
    """Records per feed over the trend window ending at ``period``, and a trend flag per feed.

    The counts are West Yorkshire's (or ``district``'s) row of the feed's protected tables,
    the very cells the Trends page shows; periods before the data are "no data", not zeros, and
    a period the data cover in part is "incomplete" (a gap, not a fall). The flag is the query
    layer's Mann-Kendall test over the window's periods the data cover completely (on published
    sums for a protected role, the figures charted), labelled with that window; where it is not
    significant but the charted counts end in a run of rises or falls, the label says so
    (``core.trend_words.feed_label``).
    """
    n = TREND_PERIODS[period.freq]
    window = pd.period_range(period.shifted(-(n - 1)).pandas, period.pandas, freq=period.freq)
    row = district or TOTAL
    rows, flags = [], {}
    for feed in FEEDS:
        table = tables[feed]
        in_data = window[window.isin(table.periods)]
        result = query.period_trends(feed, "district", in_data).set_index("code")
        trend = result.loc[row, "trend"]
        counts = table.area.counts.loc[row]
        shown = [float("nan") if pd.isna(counts[p]) else float(counts[p]) for p in in_data]
        # The Trends page's flag words (views.trend_flags): the same label for the same window.
        flags[feed] = (feed_label(trend, len(in_data), in_data[-1], shown, symbol=True)
                       if len(in_data) else TREND_WORDS["not enough data"])
        for p in window:
            if p in table.periods:
                value, label = table.area.counts.loc[row, p], table.area.display.loc[row, p]
            else:
                value = pd.NA
                label = gap_display(p, table.bounds)
            rows.append({"feed": FEED_SHORT_TITLES[feed], "period": period_key(p),
                         "start": p.start_time, "count": float("nan") if pd.isna(value)
                         else float(value), "display": thousands(label)})
    return pd.DataFrame(rows), flags


def _kpis(period: Period, trend: pd.DataFrame, flags: dict, tables: Mapping,
          row: str) -> tuple[KpiRow, ...]:
    """The headline per feed; each change tested as on the Trends page (``change_test`` of the
    same protected row, so hidden counts are never tested and history uses shown counts)."""
    from views.kpis import change_test

    out = []
    for feed in FEEDS:
        series = trend[trend["feed"] == FEED_SHORT_TITLES[feed]].set_index("period")
        now, before, year = (series.loc[p.key] for p in
                             (period, period.previous, period.last_year))
        counts, periods = tables[feed].area.counts.loc[row], tables[feed].periods
        beyond = {other.key: change_test(counts, periods, period.pandas, other.pandas)[1]
                  for other in (period.previous, period.last_year)}
        out.append(KpiRow(
            feed=feed, title=FEED_SHORT_TITLES[feed], display=now["display"],
            previous_display=before["display"], last_year_display=year["display"],
            change_previous=change_text(_int(now["count"]), _int(before["count"])),
            change_year=change_text(_int(now["count"]), _int(year["count"])),
            trend=flags[feed], beyond_previous=beyond[period.previous.key],
            beyond_year=beyond[period.last_year.key], count=_int(now["count"])))
    return tuple(out)


def shown_records(data: MeetingData) -> int:
    """Records the period's headline shows (hidden counts add nothing), for the audit."""
    return sum(row.count for row in data.kpis if row.count is not None)


def _district_table(query: RoleScopedQuery, tables: Mapping, period: Period,
                    names: Mapping[str, str]) -> pd.DataFrame:
    """Districts × feeds as text (each feed's column of ``period`` in its protected tables),
    the all-feed total and its rate per 100,000.

    The total is ``RoleScopedQuery.feeds_total``: for a protected role the sum of every feed's
    published atoms (``safeguards.publication``), so it is shown even where one feed's count is
    "<k", and it reveals nothing the atoms do not."""
    from geo.boundaries import load_boundaries

    population = load_boundaries("district").set_index("code")["population"]
    population = pd.concat([population, pd.Series({TOTAL: population.sum()})])
    shown = pd.DataFrame({FEED_SHORT_TITLES[feed]: t.area.display[period.pandas].map(thousands)
                          for feed, t in tables.items()})
    total = query.feeds_total("district", [period.pandas])
    totals = total.counts[period.pandas].reindex(shown.index).astype("Float64")
    rates = totals / population.reindex(totals.index) * PER
    labels = total.display[period.pandas].reindex(shown.index)
    shown[TOTAL] = [f"{int(t):,}" if pd.notna(t) else label for t, label in zip(totals, labels)]
    shown["Per 100,000"] = [f"{r:,.1f}" if pd.notna(r) else HIDDEN_SUM for r in rates]
    order = sorted(shown.index.drop(TOTAL), key=lambda c: names.get(c, c))
    shown = shown.reindex([*order, TOTAL]).rename(index=lambda c: names.get(c, c))
    shown.index.name, shown.columns.name = "District", None
    return shown


def _hotspots(query: RoleScopedQuery, period: Period, district: str | None) -> dict:
    """The model's top hotspots of all feeds over the window ending with the period
    (:func:`hotspot_filter`, ``views.hotspots``): areas only, suppressed there for the role; at
    most ``TOP_HOTSPOTS``, strongest first; with how many were found and what they cover, in
    the Hotspots page's words (aggregates of the whole list that page shows the role for the
    same dates). The :class:`MeetingData` fields, by name."""
    from views.hotspot_notes import coverage_help, coverage_note
    from views.hotspots import fit_hotspots

    view = fit_hotspots(query, list(FEEDS), hotspot_filter(period, district))
    hotspots = view.hotspots.sort_values("rank").head(TOP_HOTSPOTS).reset_index(drop=True)
    return {"hotspots": as_wards(hotspots), "hotspot_count": len(view.hotspots),
            "hotspot_coverage": coverage_note(view),
            "hotspot_coverage_help": coverage_help(view)}


def _alerts(query: RoleScopedQuery, period: Period, district: str | None):
    """New-hotspot alerts of the period's last month, all feeds (``views.hotspot_alerts``),
    protected there: the meeting lists them under its hotspots."""
    from views.hotspot_alerts import fit_alerts

    month = period.pandas.asfreq("M", how="end")
    return fit_alerts(query, list(FEEDS), month, period.filter(district))


def as_wards(hotspots):
    """The hotspots drawn as the wards they cover (``views.hotspots.covered_wards``): the
    meeting and the briefing pack show ward and district granularity only, never the model's
    300 m cells."""
    import geopandas as gpd

    from geo.boundaries import load_boundaries
    from views.hotspots import covered_wards

    if hotspots is None or hotspots.empty:
        return hotspots
    sets = covered_wards(hotspots)
    wards = load_boundaries("ward").set_index("code").geometry
    shapes = gpd.GeoSeries([wards.loc[sets[int(h)]].union_all() for h in hotspots["hotspot_id"]],
                           crs=wards.crs).to_crs(hotspots.crs)
    return hotspots.set_geometry(shapes.to_numpy(), crs=hotspots.crs)


# -- provenance --------------------------------------------------------------------------------
def _data_kind(store: Store) -> str:
    sources = store.sources()
    if not sources:
        return "empty"
    if len(sources) > 1:
        return "mixed"
    return next(iter(sources))


def _sources(store: Store) -> tuple[str, ...]:
    """One line per feed: what it is, how many batches, when it was last loaded (no file names)."""
    lines = []
    for feed in FEEDS:
        batches = [b for b in store.batches() if b["feed"] == feed]
        kinds = sorted({b["source"] for b in batches})
        last = max((b.get("ingested_at") or "" for b in batches), default="")
        when = f", last loaded {last[:10]}" if last else ""
        what = f" ({', '.join(kinds)})" if kinds else ""
        lines.append(f"{FEED_TITLES[feed]}: {len(batches)} batch"
                     f"{'es' if len(batches) != 1 else ''}{what}{when}")
    return tuple(lines)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
