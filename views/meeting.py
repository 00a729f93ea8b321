"""Meeting mode: what a partnership chair shows in the room, step by step, and its link.

A meeting looks at one **period** (a quarter, ``2026-Q3``, or a month, ``2026-09``), for West
Yorkshire or one **district**, and steps through:

1. ``headline``: records per feed this period, against the previous period and the same period
   last year, whether each change is beyond normal variation (``views.kpis.change_test``, the
   Trends page's test) and a Mann-Kendall trend flag over the trend window;
2. ``districts``: records per district and feed, with the rate per 100,000 residents;
3. ``hotspots``: the hotspot model's top hotspots (areas, never points) on a map;
4. ``tasking``: the tasking list and what changed since the last meeting (the previous period);
5. ``trends``: records per feed and period over the last two years.

Everything is at ward or district level and **suppressed as for a chair, whatever the role**:
the screen is shown to a room. The counts of (feed, period, district) are **the Trends page's**:
cut from ``views.kpis.feed_tables``, the one protection of each feed's months, quarters and
whole span (``safeguards.period_tables``), so a chair who opens Trends, this meeting and the
briefing pack for the same period sees the same cells hidden everywhere, and nothing shown on
one can be subtracted from another to work a hidden count out:

- the district comparison is each feed's column of that period (districts and West Yorkshire,
  each feed with its own threshold); the all-feed ``Total`` column and its rate per 100,000 are
  sums of shown figures only (``"hidden"`` where a part is hidden), so they add nothing;
- the headline and the trend are West Yorkshire's (or the focus district's) row of the same
  tables; the trend flag is ``RoleScopedQuery.period_trends`` (true counts in the query layer,
  no flag on fewer than k records);
- hotspots come from ``views.hotspots.fit_hotspots``, which protects them itself.

Only whole periods the data cover completely are offered (:func:`available_periods`,
``core.periods.complete_periods``): a store ending on 30 November offers no fourth quarter, whose
two months would be compared against three.

The meeting state is in the link (:func:`to_query_params`, :func:`from_query_params`), so a chair
can prepare a link and open it in the room. A link is untrusted: anything unknown is dropped with
a warning that does not repeat the value.

Hotspots come from ``views.hotspots``, tasks from ``views.tasking``. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from core import clock
from core.errors import PeriodError
from core.filters import EventFilter
from core.periods import check_covered, complete_periods, covered
from core.roles import may, may_see_level
from core.schema import FEED_TITLES, FEEDS
from geo.boundaries import DISTRICT_CODES
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import TOTAL, legend, legend_for
from storage.base import Store
from views.explore import change_text
from views.overview import FEED_SHORT_TITLES

STEPS = ("headline", "districts", "hotspots", "tasking", "trends")
STEP_TITLES = {"headline": "Headline numbers", "districts": "District comparison",
               "hotspots": "Hotspots", "tasking": "Tasking",
               "trends": "Trends"}
# What a role needs for a step beyond reading district aggregates.
STEP_NEEDS = {"hotspots": (("view_hotspots",), "ward"),
              "tasking": (("tasking", "view_hotspots"), "ward")}
DONE_STATUSES = ("done", "closed", "complete", "completed")

P_PERIOD, P_DISTRICT, P_STEP = "period", "district", "step"
PARAMS = (P_PERIOD, P_DISTRICT, P_STEP)
ALL_DISTRICTS = "all"
WEST_YORKSHIRE = "West Yorkshire"
TOP_HOTSPOTS = 10
MIN_WARD_SHARE = 0.05  # of a hotspot's area, for a ward to be drawn as part of it
PER = 100_000
#: Periods of the trend window: two years of quarters or of months.
TREND_PERIODS = {"Q": 8, "M": 24}
YEAR = {"Q": 4, "M": 12}
NO_DATA = "no data"
#: A period the data cover only in part: not compared, a gap in the trend.
INCOMPLETE = "incomplete"
TOO_FEW = "Too few records"
#: Shown for an all-feed sum (or its rate) where one of its parts is hidden.
HIDDEN_SUM = "hidden"
#: One colour per feed (short title), dark enough for a projector and for print.
FEED_COLOURS = {"NRM referrals": "#1b4f72", "Rosewood episodes": "#b03a2e",
                "Mandevilla flags": "#7d3c98"}
TREND_TITLES = {"increasing": "Rising", "decreasing": "Falling", "no trend": "No clear trend"}

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp|(?=@))")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# -- periods -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A quarter or a month: ``key`` as in the link ("2026-Q3", "2026-09")."""

    key: str

    def __post_init__(self):
        if not (_QUARTER.match(self.key) or _MONTH.match(self.key)):
            raise PeriodError(f"period {self.key[:20]!r} is not a quarter like 2026-Q3 or a "
                              "month like 2026-09")

    @property
    def freq(self) -> str:
        return "Q" if "Q" in self.key else "M"

    @cached_property
    def pandas(self) -> pd.Period:
        return pd.Period(self.key, freq=self.freq)

    @property
    def start(self) -> dt.date:
        return self.pandas.start_time.date()

    @property
    def end(self) -> dt.date:
        return self.pandas.end_time.date()

    @property
    def label(self) -> str:
        """"Jul–Sep 2026" for a quarter, "September 2026" for a month."""
        p = self.pandas
        if self.freq == "M":
            return p.strftime("%B %Y")
        return f"{p.start_time:%b}–{p.end_time:%b %Y}"

    def shifted(self, n: int) -> "Period":
        """The period ``n`` steps later (earlier when negative)."""
        return Period(_key(self.pandas + n))

    @property
    def previous(self) -> "Period":
        return self.shifted(-1)

    @property
    def last_year(self) -> "Period":
        return self.shifted(-YEAR[self.freq])

    def filter(self, district: str | None = None) -> EventFilter:
        return EventFilter(start=self.start, end=self.end,
                           districts=(district,) if district else ())


def _key(p: pd.Period) -> str:
    return f"{p.year}-Q{p.quarter}" if p.freqstr.startswith("Q") else f"{p.year}-{p.month:02d}"


def available_periods(store_period: tuple[dt.date, dt.date] | None) -> list[str]:
    """Quarters, then months, that the data cover completely, latest first (empty for an empty
    store or one that covers no whole month): ``store_period`` is the first and last day."""
    if store_period is None:
        return []
    out = []
    for freq in ("Q", "M"):
        out += [_key(p) for p in reversed(complete_periods(*store_period, freq))]
    return out


def default_period(store_period: tuple[dt.date, dt.date] | None) -> str | None:
    """The latest quarter the data cover completely (meetings look at quarters by default),
    else the latest such month, else None."""
    periods = available_periods(store_period)
    return periods[0] if periods else None


def period_title(key: str) -> str:
    """A period key as the period picker shows it: ``"2026-Q3"`` → ``"Jul–Sep 2026"``."""
    return Period(key).label


def check_period(key: str, store_period: tuple[dt.date, dt.date] | None) -> None:
    """PeriodError unless ``key`` is a period the data cover completely (malformed, without
    data or recorded in part: each says so)."""
    period = Period(key)
    if store_period is None:
        raise PeriodError("the store holds no records yet")
    check_covered(period.pandas, *store_period)


# -- the link ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeetingState:
    """What the meeting shows: a period key, a district code (None: West Yorkshire), a step."""

    period: str
    district: str | None = None
    step: str = STEPS[0]
    warnings: tuple[str, ...] = field(default=(), compare=False)


def steps_for(role: str) -> tuple[str, ...]:
    """The steps ``role`` may see, in order: hotspots and the tasking list need ward-level
    access and ``view_hotspots`` (or, for tasking, the ``tasking`` action)."""
    return tuple(step for step in STEPS if step not in STEP_NEEDS
                 or (any(may(role, action) for action in STEP_NEEDS[step][0])
                     and may_see_level(role, STEP_NEEDS[step][1])))


def to_query_params(state: MeetingState) -> dict[str, str]:
    """``{"period": "2026-Q3", "step": "districts"}`` (+ ``"district": code`` with a focus)."""
    params = {P_PERIOD: state.period, P_STEP: state.step}
    if state.district:
        params[P_DISTRICT] = state.district
    return params


def from_query_params(params: Mapping[str, str | Sequence[str]], *, role: str,
                      periods: Sequence[str]) -> MeetingState:
    """The meeting a link asks for, held to what exists and what ``role`` may see.

    Never raises on the link: an unknown period falls back to the latest quarter, an unknown
    district to West Yorkshire, an unknown or unavailable step to the first, each with a warning
    (the value itself is not repeated: it could be markup). ``periods`` are the choices
    (:func:`available_periods`); it must not be empty.
    """
    if not periods:
        raise ValueError("no periods to choose from: the store is empty")
    warnings = []

    def one(key: str) -> str | None:
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        return None if value in (None, "") else str(value)[:64]

    period = one(P_PERIOD)
    if period is not None and period not in periods:
        warnings.append("the period is not one with data")
        period = None
    district = one(P_DISTRICT)
    if district in (None, ALL_DISTRICTS):
        district = None
    elif district not in DISTRICT_CODES:
        warnings.append("the district is not a West Yorkshire district")
        district = None
    allowed = steps_for(role)
    step = one(P_STEP)
    if step is not None and step.isdigit() and 1 <= int(step) <= len(allowed):
        step = allowed[int(step) - 1]
    if step is not None and step not in allowed:
        warnings.append("the step is not one this role can see")
        step = None
    return MeetingState(period=period or periods[0], district=district, step=step or allowed[0],
                        warnings=tuple(warnings))


def move(state: MeetingState, role: str, by: int) -> MeetingState:
    """The state ``by`` steps on (back when negative), stopping at the first and last step."""
    allowed = steps_for(role)
    i = allowed.index(state.step) if state.step in allowed else 0
    return MeetingState(state.period, state.district,
                        allowed[min(max(i + by, 0), len(allowed) - 1)])


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
class Task:
    """One tasking record as the meeting shows it (ward or district level, no case detail)."""

    task_id: str
    title: str
    area: str
    lead_agency: str
    status: str
    due: dt.date | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    change: str  # "New", "Updated", "Done" or "" (unchanged since the last meeting)
    overdue: bool


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

    @property
    def is_synthetic(self) -> bool:
        return self.data_kind == "synthetic"

    @property
    def note(self) -> str:
        return legend_for(self.thresholds) if self.thresholds else legend(self.threshold)


def meeting_data(query: RoleScopedQuery, state: MeetingState) -> MeetingData:
    """Every figure of the meeting ``state`` asks for, read through ``query`` and suppressed.

    ``query`` should be a :class:`PresentationQuery` (or a chair's): the counts come from
    ``views.kpis.feed_tables`` (module docstring). Raises ``AccessDenied`` (audited) if the role
    may not see district data, ``PeriodError`` for a malformed period or one without data.
    """
    from views.kpis import feed_tables

    query.require_level("district")
    period = Period(state.period)
    names = dict(DISTRICT_CODES)
    tables = {feed: feed_tables(query, feed, period.freq) for feed in FEEDS}
    if any(t is None for t in tables.values()):
        raise PeriodError("the store holds no records yet")
    first = next(iter(tables.values()))
    if period.pandas not in first.periods:
        check_covered(period.pandas, *first.bounds)
        raise PeriodError(f"period {period.key} has no data in the store")  # not reached
    trend, flags = _trend(query, tables, period, state.district)
    role = query.role
    show_areas = "hotspots" in steps_for(role)
    show_tasks = "tasking" in steps_for(role)
    tasks, tasking_note = (_tasks(query, period, state.district) if show_tasks
                           else (None, "Tasking is not shown to this role."))
    return MeetingData(
        period=period, previous=period.previous, last_year=period.last_year,
        district=state.district,
        area_label=names.get(state.district, WEST_YORKSHIRE),
        kpis=_kpis(period, trend, flags, tables, state.district or TOTAL),
        districts=_district_table(tables, period, names),
        hotspots=_hotspots(query, period, state.district)[0] if show_areas else None,
        trend=trend, tasks=tasks, tasking_note=tasking_note,
        threshold=max(t.threshold for t in tables.values()),
        data_kind=_data_kind(query.store), sources=_sources(query.store),
        thresholds={FEED_SHORT_TITLES[f]: t.threshold for f, t in tables.items()})


def _trend(query: RoleScopedQuery, tables: Mapping, period: Period,
           district: str | None) -> tuple[pd.DataFrame, dict]:
    """Records per feed over the trend window ending at ``period``, and a trend flag per feed.

    The counts are West Yorkshire's (or ``district``'s) row of the feed's protected tables,
    the very cells the Trends page shows; periods before the data are "no data", not zeros, and
    a period the data cover in part is "incomplete" (a gap, not a fall). The flag is the query
    layer's Mann-Kendall test over the window's periods the data cover completely.
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
        flags[feed] = TOO_FEW if trend == "too few records" else TREND_TITLES.get(trend, trend)
        for p in window:
            if p in table.periods:
                value, label = table.area.counts.loc[row, p], table.area.display.loc[row, p]
            else:
                value = pd.NA
                label = INCOMPLETE if covered(p, *table.bounds) == "partial" else NO_DATA
            rows.append({"feed": FEED_SHORT_TITLES[feed], "period": _key(p),
                         "start": p.start_time, "count": float("nan") if pd.isna(value)
                         else float(value), "display": _thousands(label)})
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


def shown_records(data: "MeetingData") -> int:
    """Records the period's headline shows (hidden counts add nothing), for the audit."""
    return sum(row.count for row in data.kpis if row.count is not None)


def variation_text(beyond: bool | None) -> str:
    """A change's verdict as a table shows it: "yes", "no" or "—" (not tested)."""
    return "—" if beyond is None else ("yes" if beyond else "no")


def _district_table(tables: Mapping, period: Period, names: Mapping[str, str]) -> pd.DataFrame:
    """Districts × feeds as text (each feed's column of ``period`` in its protected tables),
    the all-feed total and its rate per 100,000: sums of shown figures only."""
    from geo.boundaries import load_boundaries

    population = load_boundaries("district").set_index("code")["population"]
    population = pd.concat([population, pd.Series({TOTAL: population.sum()})])
    counts = pd.DataFrame({feed: t.area.counts[period.pandas] for feed, t in tables.items()})
    shown = pd.DataFrame({FEED_SHORT_TITLES[feed]: t.area.display[period.pandas].map(_thousands)
                          for feed, t in tables.items()})
    complete = counts.notna().all(axis=1)
    totals = counts.astype("Float64").sum(axis=1).where(complete)
    rates = totals / population.reindex(totals.index) * PER
    shown[TOTAL] = [f"{int(t):,}" if ok else HIDDEN_SUM for t, ok in zip(totals, complete)]
    shown["Per 100,000"] = [f"{r:,.1f}" if ok else HIDDEN_SUM for r, ok in zip(rates, complete)]
    order = sorted(shown.index.drop(TOTAL), key=lambda c: names.get(c, c))
    shown = shown.reindex([*order, TOTAL]).rename(index=lambda c: names.get(c, c))
    shown.index.name, shown.columns.name = "District", None
    return shown


def _hotspots(query: RoleScopedQuery, period: Period, district: str | None):
    """The model's top hotspots of all feeds in the period (``views.hotspots``): areas only,
    suppressed there for the role; at most ``TOP_HOTSPOTS``, strongest first."""
    from views.hotspots import fit_hotspots

    view = fit_hotspots(query, list(FEEDS), period.filter(district))
    hotspots = view.hotspots.sort_values("rank").head(TOP_HOTSPOTS).reset_index(drop=True)
    return as_wards(hotspots), view.n_events


def as_wards(hotspots):
    """The hotspots drawn as the wards they cover: the meeting and the briefing pack show ward
    and district granularity only, never the model's 300 m cells.

    A ward counts when at least ``MIN_WARD_SHARE`` of the hotspot's area lies in it, so a
    hotspot that only grazes a ward boundary does not claim the neighbour.
    """
    import geopandas as gpd

    from geo.boundaries import load_boundaries

    if hotspots is None or hotspots.empty:
        return hotspots
    cells = hotspots[["hotspot_id", "geometry"]].to_crs(27700)
    wards = load_boundaries("ward")[["code", "geometry"]].to_crs(27700)
    pairs = gpd.sjoin(wards, cells, predicate="intersects", how="inner")
    by_id = cells.set_index("hotspot_id").geometry
    own = gpd.GeoSeries(by_id.loc[pairs["hotspot_id"]].to_numpy(), index=pairs.index, crs=27700)
    share = pairs.geometry.intersection(own).area / own.area
    covered = pairs[(share >= MIN_WARD_SHARE).to_numpy()].dissolve(by="hotspot_id").geometry
    shapes = gpd.GeoSeries(hotspots["hotspot_id"].map(covered), crs=27700).to_crs(hotspots.crs)
    return hotspots.set_geometry(shapes.to_numpy(), crs=hotspots.crs)


def hotspot_rows(hotspots) -> pd.DataFrame:
    """The hotspots as a table to show: rank, place, records (as shown), trend, cross-feed."""
    from views.hotspots import TREND_TITLES as HOTSPOT_TRENDS

    return pd.DataFrame({
        "Rank": hotspots["rank"].astype(int).to_numpy(),
        "Where": hotspots["place"].astype(str).to_numpy(),
        "Records": hotspots["events_display"].astype(str).map(_thousands).to_numpy(),
        "Trend": hotspots["trend"].map(lambda t: HOTSPOT_TRENDS.get(t, str(t))).to_numpy(),
        "Several feeds": np.where(hotspots["cross_feed"].astype(bool), "yes", "").tolist(),
    })


def meeting_map(data: "MeetingData"):
    """The hotspots on the offline base map (``maps.hotspot_layer.hotspot_map``), or the base
    map alone when there are none."""
    from maps.hotspot_layer import hotspot_map

    return hotspot_map(data.hotspots, height=560)


# -- tasking -----------------------------------------------------------------------------------
def tasking_records(query: RoleScopedQuery) -> list:
    """The store's tasking records (``views.tasking.TaskBook``), read as the query's principal
    (audited and refused there for a role that may not read them)."""
    from views.tasking import TaskBook

    return TaskBook(query.store, query.principal).tasks()


def tasks_since(records, period: Period, district: str | None = None, *,
                today: dt.date | None = None) -> tuple[Task, ...]:
    """The tasking list for a meeting on ``period``, with what changed since the last one.

    ``records`` are ``views.tasking.Task`` objects (or mappings with the same fields:
    ``task_id``, ``action``, ``place`` or ``area_code``, ``districts``, ``lead_agency``,
    ``status``, ``due``, ``created_at``, ``updated_at``). The last meeting looked at the
    previous period, so it met when ``period`` began: a task created since is "New", one done
    since "Done", one otherwise changed since "Updated". The list is the tasking list as it
    stands (``today``, default the current date): a task not done and due before today is
    overdue. Tasks of other districts are left out when there is a focus. Ordered: changed
    first, then by due date.
    """
    since = pd.Timestamp(period.start, tz="UTC")
    today = today or clock.now().date()
    areas = _area_names()
    focus = DISTRICT_CODES.get(district) if district else None
    out = []
    for record in records:
        get = (record.get if isinstance(record, Mapping)
               else lambda k, default=None: getattr(record, k, default))
        code = _first(get, "area_code") or ""
        districts = tuple(_first(get, "districts") or
                          ((DISTRICT_CODES.get(areas[code][1]),) if code in areas else ()))
        if focus and focus not in districts:
            continue
        status = str(_first(get, "status") or "open")
        created, updated = (_utc(_first(get, k)) for k in ("created_at", "updated_at"))
        due = _first(get, "due", "due_date")
        due = None if due is None else pd.Timestamp(due).date()
        done = status.lower() in DONE_STATUSES
        change = ("New" if created is not None and created >= since else
                  "Done" if done and updated is not None and updated >= since else
                  "Updated" if updated is not None and updated >= since else "")
        out.append(Task(task_id=str(_first(get, "task_id", "id") or ""),
                        title=str(_first(get, "action", "title") or ""),
                        area=str(_first(get, "place") or areas.get(code, (code, ""))[0]),
                        lead_agency=str(_first(get, "lead_agency") or ""), status=status,
                        due=due, created_at=created, updated_at=updated, change=change,
                        overdue=bool(due and not done and due < today)))
    out.sort(key=lambda t: (t.change == "", t.due or dt.date.max, t.task_id))
    return tuple(out)


def _tasks(query, period, district) -> tuple[tuple[Task, ...], str]:
    tasks = tasks_since(tasking_records(query), period, district)
    if not tasks:
        return tasks, ("No tasks were open in this period: chairs create them from a hotspot "
                       "on the Hotspots page.")
    return tasks, "Tasks created from hotspots on the Hotspots page."


def _first(get, *keys):
    for key in keys:
        value = get(key, None)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            return value
    return None


def _utc(value) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _area_names() -> dict[str, tuple[str, str]]:
    """Ward and district code → (name, district code)."""
    from geo.boundaries import load_boundaries

    wards = load_boundaries("ward")
    out = {c: (n, d) for c, n, d in zip(wards["code"], wards["name"], wards["district_code"])}
    out.update({c: (n, c) for c, n in DISTRICT_CODES.items()})
    return out


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


def _thousands(label) -> str:
    return f"{int(label):,}" if str(label).isdigit() else str(label)


# -- what the steps show -----------------------------------------------------------------------
#: Column titles of the verdicts in :func:`kpi_frame` (the second has a trailing space: column
#: names must differ).
BEYOND, BEYOND_YEAR = "Beyond normal variation", "Beyond normal variation "


def kpi_frame(data: MeetingData) -> pd.DataFrame:
    """The headline figures as a table: one row per feed; each change with whether it is
    beyond normal variation ("—" where not tested: a count hidden or missing)."""
    return pd.DataFrame(
        [[k.title, k.display, k.previous_display, k.change_previous or "—",
          variation_text(k.beyond_previous), k.last_year_display, k.change_year or "—",
          variation_text(k.beyond_year), k.trend] for k in data.kpis],
        columns=["Feed", data.period.label, f"Previous ({data.previous.label})", "Change",
                 BEYOND, f"Last year ({data.last_year.label})", "Change ", BEYOND_YEAR,
                 "Trend"]).set_index("Feed")


def markdown_text(text: str) -> str:
    """``text`` shown as it is by Markdown (``st.table`` renders its cells as Markdown).

    Every ASCII punctuation character is backslash-escaped (no markup, image or link syntax),
    and a word joiner (U+2060, invisible) breaks what GitHub-flavoured Markdown would turn into
    a link by itself: ``http://``, ``https://``, ``www.`` and e-mail addresses.
    """
    text = _AUTOLINK.sub("\\1\u2060", str(text))
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def task_frame(tasks: Sequence[Task]) -> pd.DataFrame:
    """The tasking list as a table for ``st.table``: change since the last meeting first.

    Free text (the action, the agency, the place) is escaped with :func:`markdown_text`.
    """
    return pd.DataFrame(
        [[t.change or "—", markdown_text(t.title), markdown_text(t.area),
          markdown_text(t.lead_agency),
          t.status + (" (overdue)" if t.overdue else ""),
          t.due.strftime("%d %b %Y") if t.due else ""] for t in tasks],
        columns=["Since last meeting", "Task", "Area", "Lead agency", "Status", "Due"])


def task_summary(tasks: Sequence[Task]) -> str:
    """E.g. "2 new, 1 closed, 1 updated since the last meeting; 1 overdue"."""
    changes = [f"{sum(t.change == c for t in tasks)} {c.lower()}"
               for c in ("New", "Done", "Updated")]
    overdue = sum(t.overdue for t in tasks)
    return (f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}: " + ", ".join(changes) + " since the last meeting"
            + (f"; {overdue} overdue" if overdue else ""))


def trend_chart(data: MeetingData):
    """Records per period and feed over the trend window (Altair; gaps where hidden)."""
    import altair as alt

    frame = data.trend.rename(columns={"feed": "Feed", "period": "Period", "count": "Records"})
    feeds = list(dict.fromkeys(frame["Feed"]))
    return (alt.Chart(frame)
            .mark_line(point=alt.OverlayMarkDef(size=90), strokeWidth=4)
            .encode(x=alt.X("Period:O", title=None, sort=None,
                            axis=alt.Axis(labelFontSize=16, labelAngle=0 if
                                          data.period.freq == "Q" else -45)),
                    y=alt.Y("Records:Q", title="Records",
                            axis=alt.Axis(labelFontSize=16, titleFontSize=16, tickMinStep=1)),
                    color=alt.Color("Feed:N", title=None, sort=feeds,
                                    scale=alt.Scale(domain=feeds, range=[
                                        FEED_COLOURS.get(f, "#333333") for f in feeds]),
                                    legend=alt.Legend(orient="top", labelFontSize=18,
                                                      symbolSize=300)),
                    tooltip=[alt.Tooltip("Feed:N"), alt.Tooltip("Period:O"),
                             alt.Tooltip("display:N", title="Records")]))
