"""Hotspots for a role: the model fitted inside the data layer, returned as areas only.

:func:`fit_hotspots` reads the geomasked event points of the chosen feeds *itself* (from the
store behind a ``RoleScopedQuery``), fits ``models.hotspots.HotspotModel`` on them and returns a
:class:`HotspotView`: one polygon per hotspot with its figures, and monthly counts per hotspot.
No point-level row, no per-event label and not the fitted model leave this module, so a chair
(who may never see points) can be shown hotspots: the polygons are unions of 300 m analysis
cells holding at least ``min_events`` events each.

Who may see hotspots is ``core.roles``' ``view_hotspots`` action (analysts and chairs). An
executive or admin gets ``AccessDenied``, audited as ``access-denied``; every fit is audited as
``view-hotspots`` with its filters and the number of events read.

Disclosure control for protected roles (chairs, and every role in meeting mode): the model's
cells are not cells of the publication (``safeguards.publication``), so counts inside them could
be differenced between two fits. A protected role sees the model's areas, ranks and p-values,
and figures of **the wards each hotspot covers** (:func:`covered_wards`): records
by feed, in total and per month, as sums of published atoms (``RoleScopedQuery.ward_set_counts``),
a relative risk of those wards' records against their residents' share of West Yorkshire's,
and the trend class of the monthly figures its chart shows (``hotspot_notes.chart_trend``), so
the class and the chart never disagree. Date filters are widened to whole months.

No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

if TYPE_CHECKING:  # imported where a chart is made: the first view draws none
    import altair as alt

from core.filters import EventFilter
from core.schema import check_feeds
from core.trend_words import HOTSPOT_CLASS_NOTE
from core.trends import TOO_SHORT
from geo.crs import WGS84
from safeguards.access import RoleScopedQuery
from safeguards.audit import AuditEvent, record
from safeguards.disclosure import suppress_rates, threshold_for
from safeguards.publication import whole_months
from views.hotspot_explain import explain, trend_label  # noqa: F401 (explain: the page API)
from views.hotspot_fits import FEED_TITLES, model_fit
from views.hotspot_notes import chart_trend, shared_wards
from views.readable import thousands

#: What the model is asked for: the default scan, seeded so the same data give the same hotspots.
RANDOM_STATE = 0
#: Help of the ranked table's "Trend" column: every class's definition (``core.trend_words``).
TREND_HELP = HOTSPOT_CLASS_NOTE
#: Columns of ``HotspotView.hotspots`` (besides ``events_<feed>``/``display_<feed>`` per feed).
COLUMNS = ["hotspot_id", "rank", "place", "districts", "wards", "events", "events_display",
           "expected", "relative_risk", "p_value", "trend", "trend_p", "trend_months",
           "trend_to", "cross_feed", "feeds", "area_km2", "first_month", "last_month",
           "monthly_hidden", "llr", "geometry"]
MAX_PLACE_WARDS = 3
#: Share of a hotspot's area a ward must hold to count as covered by it (:func:`covered_wards`).
MIN_WARD_SHARE = 0.05
PLACE_PRECISION = 1e-5  # ~1 m, as the base map's boundaries


@dataclass(frozen=True)
class HotspotView:
    """What a role may see of the hotspots of some feeds and filters.

    Attributes
    ----------
    hotspots : GeoDataFrame
        One row per hotspot, ranked (``rank`` 1 = strongest: smallest p-value, then largest
        likelihood ratio), EPSG:4326 polygons. ``events`` (Int64, <NA> where hidden),
        ``events_display`` ("23", "<10", "[c]"), and per feed ``events_<feed>`` and
        ``display_<feed>``; ``relative_risk`` (NaN where the count is hidden), ``p_value``,
        ``trend`` (a ``core.trends`` class), ``trend_months`` and ``trend_to`` (its window,
        for ``core.trend_words.hotspot_label``), ``cross_feed``, ``place`` (ward names and
        district), ``districts``, ``wards`` (lists), ``area_km2``, ``first_month``,
        ``last_month``, ``monthly_hidden`` (the monthly series is hidden, see module docstring).
    monthly : DataFrame
        ``hotspot_id``, ``month`` (Timestamp, first day), ``count`` (Int64, <NA> where hidden)
        and ``display``; every month of the period for every hotspot.
    feeds : tuple of str
    filters : EventFilter
    suppressed : bool
    threshold : int
        k of the suppression (1 when nothing is suppressed).
    n_events : int
        Events the model saw (inside West Yorkshire's populated cells). An aggregate of the
        whole filter set; shown only when not suppressed or at least k.
    n_outside : int
        Events left out because they fall outside the populated analysis grid.
    method : str
    """

    hotspots: gpd.GeoDataFrame
    monthly: pd.DataFrame
    feeds: tuple[str, ...]
    filters: EventFilter
    suppressed: bool
    threshold: int
    n_events: int
    n_outside: int
    method: str = "scan"
    notes: tuple[str, ...] = field(default=())
    #: True for a protected role: the figures are of the wards each hotspot covers.
    wards_based: bool = False
    #: What "expected" is worked out from, in words (``core.denominators``), for the page.
    measured_against: str = "resident population"
    #: The area budget (share of West Yorkshire; None: none), the share the hotspots cover,
    #: and the significant places the budget left out (``views.hotspot_notes.coverage_note``).
    max_area: float | None = None
    area_share: float = 0.0
    left_out: int = 0

    @property
    def ids(self) -> list[int]:
        return [int(i) for i in self.hotspots["hotspot_id"]]

    def row(self, hotspot_id: int) -> pd.Series:
        """The row of one hotspot; ``KeyError`` for an id that is not in the view."""
        match = self.hotspots[self.hotspots["hotspot_id"] == int(hotspot_id)]
        if match.empty:
            raise KeyError(f"no hotspot {hotspot_id} in this view")
        return match.iloc[0]


def fit_hotspots(query: RoleScopedQuery, feeds: str | Sequence[str],
                 filters: EventFilter | None = None, *, random_state: int = RANDOM_STATE,
                 **model_params) -> HotspotView:
    """Fit the hotspot model on the chosen feeds and filters, for ``query``'s role.

    Parameters
    ----------
    query : RoleScopedQuery
        Whose view it is. Needs the ``view_hotspots`` action (analysts and chairs).
    feeds : str or sequence of str
        Feeds fitted together (each event keeps its feed, for the feed mix and cross-feed flags).
    filters : EventFilter, optional
        Which records (period, districts, age groups, ...).
    random_state : int
        Seeds the Monte-Carlo p-values: the same data and filters give the same hotspots.
    **model_params
        Other ``HotspotModel`` parameters (``min_events``, ``n_simulations``, ...).

    Returns
    -------
    HotspotView
        Areas and aggregates only, suppressed for the role (module docstring).

    Raises
    ------
    AccessDenied
        The role may not see hotspots (audited).
    ValueError
        No feed, or an unknown one.
    """
    feeds = check_feeds(feeds)
    query.require("view_hotspots")
    filters = fit_filters(query, filters)
    # The role-independent fit, kept per store content and filters (views.hotspot_fits): the
    # points are read inside the data layer and nothing per event leaves it.
    fit = model_fit(query, feeds, filters, random_state=random_state, model_params=model_params)
    view = _protect(fit.raw.copy(), fit.monthly.copy(), feeds, filters, query, fit.n_events,
                    fit.n_outside, fit.notes)
    if not view.wards_based:   # a protected role's figures are always against residents
        view = replace(view, measured_against=fit.measured_against)
    view = replace(view, max_area=fit.max_area, area_share=fit.area_share,
                   left_out=fit.left_out)
    record(query.store, AuditEvent(
        action="view-hotspots", actor=query.principal.user, role=query.role,
        filters=fit_audit_filters(feeds, filters), records=int(view.n_events),
        detail=f"{len(view.hotspots)} hotspots"))
    return view


def fit_filters(query: RoleScopedQuery, filters: EventFilter | None) -> EventFilter:
    """What a fit for ``query``'s role covers: ``filters``, with whole months for a protected
    role, like every protected figure (``safeguards.publication``)."""
    filters = filters or EventFilter()
    return whole_months(filters) if query.suppressed else filters


def prefit(query: RoleScopedQuery, feeds: Sequence[str], filters: EventFilter | None) -> None:
    """Fit what :func:`fit_hotspots` would fit for ``query``'s role, and keep it
    (``views.hotspot_fits``) without making a view: the server's warm-up, before anyone asks.
    Nothing is shown, so nothing is audited; the view made from it later is."""
    query.require("view_hotspots")
    model_fit(query, check_feeds(feeds), fit_filters(query, filters),
              random_state=RANDOM_STATE, model_params={})


# -- disclosure control --------------------------------------------------------------------
def _protect(raw: gpd.GeoDataFrame, monthly: pd.DataFrame, feeds: list[str],
             filters: EventFilter, query: RoleScopedQuery, n_events: int, n_outside: int,
             notes: tuple[str, ...]) -> HotspotView:
    suppressed = query.suppressed
    raw = _ranked(raw)
    ids = raw["hotspot_id"].astype(int).tolist()
    k = max(threshold_for(feed) for feed in feeds) if suppressed else 1
    by_feed = pd.DataFrame([[int(mix.get(feed, 0)) for feed in feeds] for mix in raw["feed_mix"]],
                           index=pd.Index(ids, name="hotspot_id"), columns=feeds, dtype="int64")
    months = _month_table(monthly, ids, filters)
    if suppressed and len(ids):
        return _published_view(raw, ids, months.columns, feeds, filters, query, k, n_events,
                               n_outside, notes)
    counts = by_feed.astype("Int64")
    counts["Total"] = by_feed.sum(axis=1).astype("Int64")
    display = counts.astype(str)
    total_hidden = pd.Series(False, index=by_feed.index)
    monthly_hidden = np.zeros(len(ids), bool)
    month_counts, month_display = months.astype("Int64"), months.astype(str)
    total_col = "Total" if (len(feeds) > 1 or not suppressed) else feeds[0]
    events = (counts[total_col].reindex(ids) if len(ids)
              else pd.Series([], dtype="Int64"))
    out = pd.DataFrame({
        "hotspot_id": ids, "rank": np.arange(1, len(ids) + 1),
        "place": [place_name(w, d) for w, d in zip(raw["wards"], raw["districts"])],
        "districts": raw["districts"].tolist(), "wards": raw["wards"].tolist(),
        "events": events.to_numpy() if len(ids) else pd.array([], dtype="Int64"),
        "events_display": display[total_col].reindex(ids).astype(str).to_numpy()
        if len(ids) else np.array([], dtype=object),
        "expected": raw["expected"].astype(float).to_numpy(),
        "relative_risk": suppress_rates(pd.Series(raw["relative_risk"].astype(float).to_numpy(),
                                                  index=ids),
                                        pd.Series(np.asarray(total_hidden.reindex(ids),
                                                             dtype=bool), index=ids)).to_numpy()
        if len(ids) else np.array([], dtype=float),
        "p_value": raw["p_value"].astype(float).to_numpy(),
        "trend": raw["trend"].tolist(), "trend_p": raw["trend_p"].astype(float).to_numpy(),
        **_trend_window(raw),
        "cross_feed": raw["cross_feed"].astype(bool).to_numpy(),
        "feeds": raw["feeds"].tolist(), "area_km2": raw["area_km2"].astype(float).to_numpy(),
        "first_month": raw["first_month"].tolist(), "last_month": raw["last_month"].tolist(),
        "monthly_hidden": monthly_hidden,
        # The statistic the rank follows (issue 13 item 8); analysts only: with the expected
        # count and the total it gives the count inside the model's cells away.
        "llr": raw["llr"].astype(float).to_numpy() if "llr" in raw.columns
        else np.full(len(ids), np.nan),
    })
    # A chair sees the trend category, but not the month it started or ended in when the
    # monthly series is hidden (it would say when a small number of events happened).
    for column in ("first_month", "last_month"):
        out[column] = out[column].where(~out["monthly_hidden"], None)
    for feed in feeds:
        out[f"events_{feed}"] = counts[feed].reindex(ids).to_numpy() if len(ids) \
            else pd.array([], dtype="Int64")
        out[f"display_{feed}"] = display[feed].reindex(ids).astype(str).to_numpy() \
            if len(ids) else np.array([], dtype=object)
    geometry = gpd.GeoSeries(raw.geometry.to_numpy(), crs=raw.crs).to_crs(WGS84)
    hotspots = gpd.GeoDataFrame(out, geometry=geometry.set_precision(PLACE_PRECISION).to_numpy(),
                                crs=WGS84)
    return HotspotView(hotspots=hotspots, monthly=_long_months(month_counts, month_display),
                       feeds=tuple(feeds), filters=filters, suppressed=suppressed, threshold=k,
                       n_events=int(n_events), n_outside=int(n_outside), notes=notes)


def _published_view(raw, ids, months, feeds, filters, query, k, n_events, n_outside, notes
                    ) -> HotspotView:
    """A protected role's hotspots: the model's areas and ranks, and figures that are sums of
    published atoms (``safeguards.publication``) over **the wards each hotspot covers**
    (:func:`covered_wards`), never counts inside the model's cells, which are not cells of
    the publication and could be differenced (issue 12). The relative risk is those wards'
    records against what their residents' share of West Yorkshire's records would give."""
    from geo.boundaries import load_boundaries

    sets = covered_wards(raw)
    population = load_boundaries("ward").set_index("code")["population"].astype(float)
    undated = EventFilter(**{**vars(filters), "start": None, "end": None})
    periods = pd.PeriodIndex(months, freq="M") if len(months) else None
    county = query.district_feed_table(filters).counts
    county_total = sum(int(county.loc["Total", feed]) for feed in feeds
                       if not pd.isna(county.loc["Total", feed]))
    rows, monthly_rows, classes = [], [], []
    # Each month's records over every ward: the baseline of the class the chart gives.
    county_months = (query.ward_set_counts(feeds, population.index.tolist(), undated, periods)
                     .counts.loc["Total", periods] if periods is not None else None)
    for hid in ids:
        table = query.ward_set_counts(feeds, sets[hid], filters)
        total = table.counts.loc["Total", "records"]
        share = population.reindex(sets[hid]).sum() / population.sum()
        expected = county_total * share
        rows.append({"events": total, "events_display": table.display.loc["Total", "records"],
                     "expected": expected,
                     "relative_risk": float(total) / expected
                     if not pd.isna(total) and expected > 0 else np.nan,
                     **{f"events_{f}": table.counts.loc[f, "records"] for f in feeds},
                     **{f"display_{f}": table.display.loc[f, "records"] for f in feeds}})
        if periods is not None:
            series = query.ward_set_counts(feeds, sets[hid], undated, periods)
            for period in periods:
                monthly_rows.append({"hotspot_id": hid, "month": period.to_timestamp(),
                                     "count": series.counts.loc["Total", period],
                                     "display": series.display.loc["Total", period]})
            classes.append(chart_trend(series.counts.loc["Total", periods], county_months, share))
    figures = pd.DataFrame(rows)
    wards = load_boundaries("ward").set_index("code")["name"]
    out = pd.DataFrame({
        "hotspot_id": ids, "rank": np.arange(1, len(ids) + 1),
        "place": [place_name([wards.get(c, c) for c in sets[h]], d)
                  for h, d in zip(ids, raw["districts"])],
        "districts": raw["districts"].tolist(),
        "wards": [[wards.get(c, c) for c in sets[h]] for h in ids],
        "events": pd.array(figures["events"], dtype="Int64"),
        "events_display": figures["events_display"].astype(str).to_numpy(),
        "expected": figures["expected"].astype(float).to_numpy(),
        "relative_risk": figures["relative_risk"].astype(float).to_numpy(),
        "p_value": raw["p_value"].astype(float).to_numpy(),
        # The class of the chart beside it (hotspot_notes.chart_trend), not of the model's cells.
        "trend": classes or [TOO_SHORT] * len(ids), "trend_p": np.full(len(ids), np.nan),
        "trend_months": [len(periods) if periods is not None else None] * len(ids),
        "trend_to": [str(periods[-1]) if periods is not None else None] * len(ids),
        "cross_feed": raw["cross_feed"].astype(bool).to_numpy(),
        "feeds": raw["feeds"].tolist(), "area_km2": raw["area_km2"].astype(float).to_numpy(),
        "first_month": [None] * len(ids), "last_month": [None] * len(ids),
        "monthly_hidden": np.zeros(len(ids), bool), "llr": np.full(len(ids), np.nan),
    })
    for feed in feeds:
        out[f"events_{feed}"] = pd.array(figures[f"events_{feed}"], dtype="Int64")
        out[f"display_{feed}"] = figures[f"display_{feed}"].astype(str).to_numpy()
    geometry = gpd.GeoSeries(raw.geometry.to_numpy(), crs=raw.crs).to_crs(WGS84)
    hotspots = gpd.GeoDataFrame(out, geometry=geometry.set_precision(PLACE_PRECISION).to_numpy(),
                                crs=WGS84)
    monthly = pd.DataFrame(monthly_rows) if monthly_rows else _long_months(pd.DataFrame(),
                                                                           pd.DataFrame())
    if monthly_rows:
        monthly["count"] = pd.array(monthly["count"], dtype="Int64")
    return HotspotView(hotspots=hotspots, monthly=monthly, feeds=tuple(feeds), filters=filters,
                       suppressed=True, threshold=k, n_events=int(n_events),
                       n_outside=int(n_outside), notes=notes, wards_based=True)


def covered_wards(hotspots: gpd.GeoDataFrame) -> dict[int, list[str]]:
    """The ward codes each hotspot covers: every ward holding at least ``MIN_WARD_SHARE`` of
    its area (a hotspot that grazes a boundary does not claim the neighbour), or the ward
    holding most of it."""
    from geo.boundaries import load_boundaries

    cells = hotspots[["hotspot_id", "geometry"]].to_crs(27700)
    wards = load_boundaries("ward")[["code", "geometry"]].to_crs(27700)
    pairs = gpd.sjoin(wards, cells, predicate="intersects", how="inner")
    own = gpd.GeoSeries(cells.set_index("hotspot_id").geometry.loc[pairs["hotspot_id"]]
                        .to_numpy(), index=pairs.index, crs=27700)
    pairs["share"] = pairs.geometry.intersection(own).area / own.area
    out = {}
    for hid, group in pairs.groupby("hotspot_id"):
        keep = group[group["share"] >= MIN_WARD_SHARE]
        out[int(hid)] = sorted((keep if len(keep) else group.nlargest(1, "share"))["code"])
    return out


def _ranked(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Strongest first: the model's own ``rank`` (by the statistic in ``ranked_by``) where it
    gives one, else smallest p-value, then largest likelihood ratio (or relative risk)."""
    if raw.empty:
        return raw
    if "rank" in raw.columns:
        return raw.sort_values("rank", kind="stable").reset_index(drop=True)
    strength = raw["llr"] if "llr" in raw.columns else raw["relative_risk"]
    order = np.lexsort((-strength.astype(float).to_numpy(), raw["p_value"].astype(float)
                        .fillna(1.0).to_numpy()))
    return raw.iloc[order].reset_index(drop=True)


def _month_table(monthly: pd.DataFrame, ids: list[int], filters: EventFilter) -> pd.DataFrame:
    """Hotspots (rows) x every month of the period (columns), events per cell."""
    first = monthly.index.min() if len(monthly) else None
    last = monthly.index.max() if len(monthly) else None
    if filters.start is not None:
        first = pd.Period(filters.start, "M")
    if filters.end is not None:
        last = pd.Period(filters.end, "M")
    if first is None or last is None:
        return pd.DataFrame(index=pd.Index(ids, name="hotspot_id"), dtype="int64")
    span = pd.period_range(first, last, freq="M")
    table = monthly.reindex(index=span, columns=ids, fill_value=0).fillna(0).astype("int64").T
    table.index.name, table.columns.name = "hotspot_id", "month"
    return table


def _long_months(counts: pd.DataFrame, display: pd.DataFrame) -> pd.DataFrame:
    if counts.empty or counts.shape[1] == 0:
        return pd.DataFrame({"hotspot_id": pd.Series([], dtype="int64"),
                             "month": pd.Series([], dtype="datetime64[ns]"),
                             "count": pd.Series([], dtype="Int64"),
                             "display": pd.Series([], dtype=object)})
    c = counts.astype("Int64").stack(future_stack=True).rename("count")
    d = display.astype(str).stack(future_stack=True).rename("display")
    frame = pd.concat([c, d], axis=1).reset_index()
    frame.columns = ["hotspot_id", "month", "count", "display"]
    frame["month"] = pd.PeriodIndex(frame["month"], freq="M").to_timestamp()
    frame["hotspot_id"] = frame["hotspot_id"].astype("int64")
    return frame


def place_name(wards, districts) -> str:
    wards, districts = list(wards or []), list(districts or [])
    shown = ", ".join(wards[:MAX_PLACE_WARDS])
    more = len(wards) - MAX_PLACE_WARDS
    if more > 0:
        shown += f" and {more} more"
    where = " / ".join(districts)
    return f"{shown} ({where})" if shown and where else shown or where or "West Yorkshire"


def fit_audit_filters(feeds, filters: EventFilter) -> dict:
    out = {"feeds": list(feeds)}
    out.update({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                for k, v in vars(filters).items() if v not in (None, ())})
    return out


# -- what the page shows -------------------------------------------------------------------
def ranked_table(view: HotspotView) -> pd.DataFrame:
    """The ranked hotspots for display: rank, place, events (total and by feed, as shown),
    strength (the log-likelihood ratio the rank follows; analysts only), relative risk (None
    where hidden), p-value, trend, cross-feed flag, and the ranks of the hotspots sharing a
    ward with it. One row per hotspot, in rank order (the row order of ``view.hotspots``)."""
    frame = view.hotspots
    table = {"Rank": frame["rank"].astype(int).to_numpy(), "Place": frame["place"].to_numpy(),
             "Events": frame["events_display"].map(thousands).to_numpy()}
    for feed in view.feeds:
        table[FEED_TITLES[feed]] = frame[f"display_{feed}"].map(thousands).to_numpy()
    strength = frame["llr"].astype(float) if "llr" in frame.columns \
        else pd.Series(np.nan, index=frame.index)
    if not (view.wards_based or view.suppressed) and strength.notna().any():
        table["Strength"] = strength.round(1).to_numpy()
    risk = frame["relative_risk"].astype(float).replace([np.inf], np.nan)
    shared = shared_wards(view)
    table.update({
        "Relative risk": risk.round(1).to_numpy(),
        "p-value": frame["p_value"].astype(float).to_numpy(),
        "Trend": [trend_label(row) for _, row in frame.iterrows()],
        "Cross-feed": frame["cross_feed"].astype(bool).to_numpy(),
        "Shares a ward with": [", ".join(str(r) for r in sorted(
            {r for ranks in shared.get(int(h), {}).values() for r in ranks}))
            for h in frame["hotspot_id"]]})
    return pd.DataFrame(table)


def feed_breakdown(view: HotspotView, hotspot_id: int) -> pd.DataFrame:
    """A hotspot's events by feed, as shown ("<10" where hidden)."""
    row = view.row(hotspot_id)
    return pd.DataFrame({"Feed": [FEED_TITLES[f] for f in view.feeds],
                         "Events": [thousands(row[f"display_{f}"]) for f in view.feeds]})


def monthly_frame(view: HotspotView, hotspot_id: int) -> pd.DataFrame:
    """``month``, ``count`` (float, NaN where hidden) and ``display`` of one hotspot."""
    view.row(hotspot_id)
    part = view.monthly[view.monthly["hotspot_id"] == int(hotspot_id)]
    return pd.DataFrame({"month": part["month"].to_numpy(),
                         "count": part["count"].astype("Float64").astype(float).to_numpy(),
                         "display": part["display"].to_numpy()})


def monthly_chart(view: HotspotView, hotspot_id: int) -> alt.Chart:
    """Events per month in one hotspot (bars; hidden months are left out, with their label in
    the tooltip of an empty mark)."""
    import altair as alt  # here: a page's first view draws no chart (docs/benchmarks.md)

    data = monthly_frame(view, hotspot_id).rename(
        columns={"month": "Month", "count": "Events", "display": "Shown"})
    return (alt.Chart(data)
            .mark_bar(color="#b2182b")
            .encode(x=alt.X("Month:T", title=None, axis=alt.Axis(format="%b %y")),
                    y=alt.Y("Events:Q", title="Events", axis=alt.Axis(tickMinStep=1, format="d")),
                    tooltip=[alt.Tooltip("Month:T", format="%B %Y"),
                             alt.Tooltip("Shown:N", title="Events")]))


def _trend_window(raw) -> dict:
    """``trend_months`` and ``trend_to`` of the model's hotspots (None where it gave none)."""
    n = len(raw)
    return {column: (raw[column].tolist() if column in raw.columns else [None] * n)
            for column in ("trend_months", "trend_to")}
