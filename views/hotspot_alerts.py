"""New-hotspot alerts for a role: this month's prospective space-time scan, as areas only.

:func:`fit_alerts` reads the geomasked event points of the chosen feeds itself (through the
store behind a ``RoleScopedQuery``, like ``views.hotspots.fit_hotspots``), fits
``models.surveillance.ProspectiveScan`` for one month and returns an :class:`AlertView`: one
polygon per alert with its place, months and recurrence interval in words. No point, no
per-event label and not the model leave this module.

Who may see alerts is the hotspots' ``view_hotspots`` action; every fit is audited as
``view-hotspots`` with ``detail`` "alerts <month>: ...".

Disclosure control (docs/disclosure-control.md). For a protected role (chairs, and every role in
meeting mode) the alert's existence, area, months, p-value and recurrence interval are model
outputs, like a hotspot's p-value; its **figures are the records of the wards it covers over
its months, as sums of published atoms** (``RoleScopedQuery.ward_set_counts``, "<k" below k),
never the model's count inside its cells or its expected count (both computed from true cell
counts). Analysts see the model's own count, expected count and relative risk.

No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from core.filters import EventFilter
from core.periods import complete_periods
from core.schema import check_feeds
from geo.crs import WGS84
from maps.basemap import PRECISION
from safeguards.access import RoleScopedQuery
from safeguards.audit import AuditEvent, record
from safeguards.disclosure import threshold_for
from views.hotspots import covered_wards, fit_audit_filters, place_name

RANDOM_STATE = 0
COLUMNS = ["alert_id", "new", "place", "districts", "wards", "months", "start_month",
           "end_month", "recurrence", "recurrence_years", "p_value", "events",
           "events_display", "expected", "relative_risk", "geometry"]


@dataclass(frozen=True)
class AlertView:
    """What a role may see of one month's alerts.

    Attributes
    ----------
    alerts : GeoDataFrame
        One row per alert (EPSG:4326), strongest first: ``alert_id``, ``new`` (overlaps no
        alert of the previous month's analysis), ``place``, ``districts``, ``wards`` (names),
        ``months`` ("November 2026", "Sep–Nov 2026"), ``start_month``, ``end_month``,
        ``recurrence`` (in words), ``recurrence_years``, ``p_value``, ``events`` (Int64, <NA>
        where hidden), ``events_display`` ("12", "<5"), ``expected`` and ``relative_risk``
        (NaN for protected roles).
    month : str
        The analysed month, "2026-11".
    feeds : tuple of str
    suppressed : bool
    threshold : int
        k of the strictest feed (1 when nothing is protected).
    """

    alerts: gpd.GeoDataFrame
    month: str
    feeds: tuple[str, ...]
    suppressed: bool
    threshold: int

    @property
    def new(self) -> gpd.GeoDataFrame:
        """The alerts new this month."""
        return self.alerts[self.alerts["new"].astype(bool)].reset_index(drop=True)

    @property
    def month_label(self) -> str:
        return pd.Period(self.month, "M").strftime("%B %Y")


def alert_month(store_period: tuple[dt.date, dt.date] | None, today: dt.date,
                selected: tuple[dt.date, dt.date] | None = None) -> pd.Period | None:
    """The month to analyse: the latest month the data cover completely that has ended by
    ``today`` (pass ``core.clock.today()``) and, when the page has a period ``selected``
    (start, end), lies wholly inside it: the user who picks January to June 2025 asks what was
    new in June 2025, not in the store's latest month. None when there is no such month (a
    selection shorter than a whole month, or data covering none)."""
    if store_period is None:
        return None
    months = complete_periods(*store_period, "M")
    months = months[months.end_time.normalize() < pd.Timestamp(today)]
    if selected is not None and len(months):
        start, end = (pd.Timestamp(day) for day in selected)
        months = months[(months.start_time >= start.normalize())
                        & (months.end_time.normalize() <= end.normalize())]
    return months[-1] if len(months) else None


#: What the page says when the chosen period holds no whole month to scan.
NO_MONTH_TEXT = ("No new-cluster alerts for this period: the scan looks at one whole month, and "
                 "the period chosen holds no whole month the data cover. Widen the period to "
                 "include a whole month.")


def alert_heading(view: AlertView) -> str:
    """The section's heading, naming the month analysed (e.g. "New in December 2025")."""
    return f"New in {view.month_label}"


def alert_month_note(view: AlertView) -> str:
    """Which month the alerts are about, and why that one."""
    return (f"Alerts are for {view.month_label}: the last whole month of the period chosen "
            "(change the period to look at another month).")


def fit_alerts(query: RoleScopedQuery, feeds: str | Sequence[str], month,
               filters: EventFilter | None = None, *, random_state: int = RANDOM_STATE,
               **model_params) -> AlertView:
    """Alerts of ``month`` for the chosen feeds and filters, as ``query``'s role may see them.

    Parameters
    ----------
    query : RoleScopedQuery
        Needs ``view_hotspots`` (analysts and chairs); audited.
    feeds : str or sequence of str
        Feeds scanned together.
    month : str or Period
        The analysed month ("2026-11"); see :func:`alert_month`.
    filters : EventFilter, optional
        Districts and categories; its dates are replaced by the model's study period.
    random_state : int
        Seeds the Monte-Carlo replicas.
    **model_params
        Other ``ProspectiveScan`` parameters.

    Raises
    ------
    AccessDenied
        The role may not see hotspots (audited).
    PeriodError
        ``month`` is not a month.
    """
    from models.surveillance import as_month

    feeds = check_feeds(feeds)
    query.require("view_hotspots")
    period = as_month(month)
    raw, n_events, read = _scan(query, feeds, period, filters, random_state, model_params)
    k = max(threshold_for(feed) for feed in feeds) if query.suppressed else 1
    alerts = _describe(raw, feeds, filters or EventFilter(), query)
    view = AlertView(alerts=alerts, month=str(period), feeds=tuple(feeds),
                     suppressed=query.suppressed, threshold=k)
    record(query.store, AuditEvent(
        action="view-hotspots", actor=query.principal.user, role=query.role,
        filters={**fit_audit_filters(feeds, read), "alerts_month": str(period)},
        records=n_events,
        detail=f"alerts {period}: {len(view.new)} new, {len(alerts)} in all"))
    return view


def prefit_alerts(query: RoleScopedQuery, feeds: Sequence[str], month,
                  filters: EventFilter | None = None) -> None:
    """Scan what :func:`fit_alerts` would scan, and keep it, without making a view: the
    server's warm-up (``ui.hotspot_loaders.prefit_default_views``). Nothing is shown, so
    nothing is audited; the view made from it later is."""
    from models.surveillance import as_month

    query.require("view_hotspots")
    _scan(query, check_feeds(feeds), as_month(month), filters, RANDOM_STATE, {})


def _scan(query: RoleScopedQuery, feeds: list[str], period: pd.Period,
          filters: EventFilter | None, random_state: int, model_params: dict):
    """The month's scan (``ProspectiveScan.alerts_``, or None), its events and the filters
    read, kept per process for the store's content, feeds, filters, month and seed
    (``views.hotspot_fits.kept``): the scan does not depend on the role (it reads the
    geomasked points inside the data layer, and it is seeded), so the Hotspots page of every
    role and the meeting of the same month share one (~15 s of CPU at 1M records)."""
    from models.surveillance import ProspectiveScan
    from views.hotspot_fits import content_key, kept

    study = ProspectiveScan(random_state=random_state, **model_params).study_months
    # The study period of this month's analysis and of last month's (for "new").
    first = period - study
    read = replace(filters or EventFilter(), start=first.start_time.date(),
                   end=period.end_time.date())

    def scan():
        return _fit_scan(query, feeds, period, read, random_state, model_params)

    if model_params:
        raw, n_events = scan()
    else:
        raw, n_events = kept(("alerts", *content_key(query.store), tuple(feeds), read,
                              str(period), random_state), scan)
    return raw, n_events, read


def _fit_scan(query, feeds, period, read, random_state, model_params):
    from models._events import events_frame
    from models.surveillance import OutsideStudyWarning, ProspectiveScan

    model = ProspectiveScan(random_state=random_state, **model_params)
    frames = [events_frame(query.store.query(feed, read,
                                             columns=["event_date", "easting", "northing"]),
                           feed) for feed in feeds]
    events = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                              crs=frames[0].crs)
    if not len(events):
        return None, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideStudyWarning)
        model.fit(events, as_of=period)
    return model.alerts_, int(model.n_events_)   # nothing per event outlives the fit


def _describe(raw, feeds: list[str], filters: EventFilter, query: RoleScopedQuery
              ) -> gpd.GeoDataFrame:
    """The alerts as the role may see them (module docstring)."""
    from geo.boundaries import load_boundaries

    if raw is None or raw.empty:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS if c != "geometry"},
                                geometry=gpd.GeoSeries([], crs=WGS84))
    sets = covered_wards(raw.rename(columns={"alert_id": "hotspot_id"}))
    names = load_boundaries("ward").set_index("code")["name"]
    rows = []
    for row in raw.itertuples(index=False):
        codes = sets[int(row.alert_id)]
        wards = [names.get(c, c) for c in codes]
        start, end = pd.Period(row.start_month, "M"), pd.Period(row.end_month, "M")
        if query.suppressed:
            within = replace(filters, start=start.start_time.date(), end=end.end_time.date())
            table = query.ward_set_counts(feeds, codes, within)
            events, shown = table.counts.loc["Total", "records"], table.display.loc["Total",
                                                                                    "records"]
            expected = risk = np.nan
        else:
            events, shown = int(row.events), f"{int(row.events):,}"
            expected, risk = float(row.expected), float(row.relative_risk)
        rows.append({
            "alert_id": int(row.alert_id), "new": bool(row.new),
            "place": place_name(wards, row.districts), "districts": list(row.districts),
            "wards": wards, "months": months_text(start, end), "start_month": row.start_month,
            "end_month": row.end_month, "recurrence": row.recurrence,
            "recurrence_years": float(row.recurrence_years), "p_value": float(row.p_value),
            "events": events, "events_display": str(shown), "expected": expected,
            "relative_risk": risk})
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "geometry"])
    frame["events"] = pd.array(frame["events"], dtype="Int64")
    geometry = shapely.set_precision(raw.to_crs(WGS84).geometry.to_numpy(), PRECISION)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84)


def months_text(start: pd.Period, end: pd.Period) -> str:
    """"November 2026", or "Sep–Nov 2026" for a run of months."""
    if start == end:
        return end.strftime("%B %Y")
    first = start.strftime("%b") if start.year == end.year else start.strftime("%b %Y")
    return f"{first}–{end.strftime('%b %Y')}"


# -- what the pages show -------------------------------------------------------------------
def alert_lines(view: AlertView) -> list[str]:
    """One sentence per new alert (plain text: escape before putting it in markup)."""
    return [f"{row.place}: a cluster in {row.months} that would happen by chance "
            f"{row.recurrence} ({row.events_display} records"
            + (" in the wards it covers" if view.suppressed else "") + ")."
            for row in view.new.itertuples(index=False)]


def alert_table(view: AlertView) -> pd.DataFrame:
    """The new alerts for display: place, months, recurrence interval, records as shown."""
    new = view.new
    return pd.DataFrame({
        "Place": new["place"].astype(str).to_numpy(),
        "Months": new["months"].astype(str).to_numpy(),
        "By chance": new["recurrence"].astype(str).to_numpy(),
        "Records": new["events_display"].astype(str).to_numpy()})


def alert_table_by_place(view: AlertView) -> pd.DataFrame:
    """:func:`alert_table` indexed by place, as the Hotspots page's ``st.table`` shows it."""
    return alert_table(view).set_index("Place")


def alert_summary(view: AlertView) -> str:
    """E.g. "1 new cluster in November 2026 (2 continuing from October)"."""
    n_new = len(view.new)
    continuing = len(view.alerts) - n_new
    head = (f"{n_new} new cluster{'s' if n_new != 1 else ''} in {view.month_label}" if n_new
            else f"No new cluster in {view.month_label}")
    if continuing:
        previous = (pd.Period(view.month, "M") - 1).strftime("%B")
        head += f" ({continuing} continuing from {previous})"
    return head
