"""The thin layer between pages and the domain modules: caching and user-facing errors.

Pages call these functions instead of opening the store themselves, so every page shares one
cache and one way of reporting a problem the user can fix.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pandas as pd
import streamlit as st

from core.errors import DashboardError
from core.roles import may_see_level
from maps.layers import combine_cells
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import AuditEvent, record
from storage.base import store_fingerprint
from storage.open import open_store
from views.explore import (
    AreaDetails,
    Headline,
    area_details,
    clicked_area,
    headline,
    points_to_read,
)
from views.overview import Overview, store_overview
from views.viewstate import (
    W_FEEDS,
    ExplorerState,
    audit_filters,
    filter_key,
    from_query_params,
    state_from_widgets,
    to_filter,
    to_query_params,
    widget_values,
)


def load_overview(principal: Principal) -> Overview:
    """The overview of the store named by ``STORE_URL`` (or ``./store``) for ``principal``, cached.

    The cache is keyed on the role, so one role's figures (unsuppressed for analysts) are never
    served to another role from the cache.

    Returns
    -------
    Overview

    Raises
    ------
    DashboardError
        If the store setting is invalid or the store cannot be read.
    """
    store = open_store()
    # Keyed on the batch ids, so a new ingest shows at the next page view, not after the TTL.
    return _cached_overview(store.url, store_fingerprint(store), principal.role)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_overview(store_url: str, fingerprint: str, role: str) -> Overview:
    # The overview holds only aggregates, so one cached copy per role serves every user.
    return store_overview(RoleScopedQuery(open_store(store_url), Principal("overview", role)))


@contextmanager
def stop_on_user_error() -> Iterator[None]:
    """Show a ``DashboardError`` as an error box and stop the page; let other errors propagate."""
    try:
        yield
    except DashboardError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


SYNTHETIC_BANNER = "**SYNTHETIC DATA — not real cases.** Do not use these figures for decisions."


def synthetic_banner(synthetic: bool) -> None:
    """The banner every page shows over synthetic figures, so no one mistakes them for cases."""
    if synthetic:
        st.error(SYNTHETIC_BANNER, icon=":material/science:")


def audited_download(make: Callable[[], bytes | str],
                     audit: Callable[[], None]) -> Callable[[], bytes | str]:
    """The data of a deferred download (made on the click) that audits the export as it is made.

    Every download of the dashboard uses it, with ``on_click="ignore"``. A click with an
    ``on_click`` callback also reruns the page, and every run issues its deferred downloads new
    ids and drops the old ones: a file asked for under an id that a rerun has just dropped never
    arrives (a download clicked while another's rerun was going, seen in the browser tests).
    Auditing here needs no rerun, and records an export only once the file was really made.
    ``audit`` must not call Streamlit: the file is made outside the page's run.
    """
    def data() -> bytes | str:
        content = make()
        audit()
        return content
    return data


# -- the map explorer --------------------------------------------------------------------------
# Every explorer loader is keyed on the store's content, the whole Principal (user and role:
# never one role's figures for another, and point reads audited under the right name) and the
# part of the view it depends on. The ExplorerState itself is passed as ``_state`` (not hashed)
# next to its key.

def _view_key(state: ExplorerState, *parts: str) -> str:
    params = to_query_params(state)
    return json.dumps({k: params.get(k) for k in parts}, sort_keys=True)


_FILTERS = ("from", "to", "feed", "age", "type", "status", "indicator", "district")


def _query(store_url: str, principal: Principal) -> RoleScopedQuery:
    return RoleScopedQuery(open_store(store_url), principal)


def load_period(principal: Principal) -> tuple[dt.date, dt.date] | None:
    """The store's first and last event dates (None when empty), cached until it changes."""
    store = open_store()
    return _cached_period(store.url, store_fingerprint(store))


def open_store_page(principal: Principal) -> tuple[tuple[dt.date, dt.date], bool]:
    """The store's period and whether its data are synthetic, for a page that shows records:
    the synthetic banner is shown, and an empty store stops the page with a note."""
    with stop_on_user_error():
        period = load_period(principal)
        synthetic = load_overview(principal).is_synthetic
    synthetic_banner(synthetic)
    if period is None:
        st.info("The store holds no records yet: see the Overview page.",
                icon=":material/inventory_2:")
        st.stop()
    return period, synthetic


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_period(store_url: str, fingerprint: str):
    store = open_store(store_url)
    return store.period() if store.batches() else None


def load_area_counts(principal: Principal, state: ExplorerState) -> pd.DataFrame:
    """``area_counts`` of the state's feeds, level and filters, for ``principal``."""
    store = open_store()
    return _cached_area_counts(store.url, store_fingerprint(store), principal,
                               _view_key(state, *_FILTERS, "level"), state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_area_counts(store_url, fingerprint, principal, key, _state):
    return _query(store_url, principal).area_counts(_state.feeds, _state.level,
                                                    to_filter(_state))


def load_headline(principal: Principal, state: ExplorerState) -> Headline:
    """Records per feed and the change against the previous period (``views.explore``)."""
    store = open_store()
    return _cached_headline(store.url, store_fingerprint(store), principal,
                            _view_key(state, *_FILTERS), state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_headline(store_url, fingerprint, principal, key, _state):
    return headline(_query(store_url, principal), _state)


def load_area_details(principal: Principal, state: ExplorerState) -> AreaDetails:
    """The panel of ``state.area`` (``views.explore.area_details``)."""
    store = open_store()
    return _cached_area_details(store.url, store_fingerprint(store), principal,
                                _view_key(state, *_FILTERS, "level", "area"), state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_area_details(store_url, fingerprint, principal, key, _state):
    return area_details(_query(store_url, principal), _state, _state.area)


def load_cells(principal: Principal, state: ExplorerState) -> pd.DataFrame | None:
    """100 m cell counts summed over the state's feeds; None for a role without point access."""
    if not may_see_level(principal.role, "point"):
        return None
    store = open_store()
    return _cached_cells(store.url, store_fingerprint(store), principal,
                         _view_key(state, *_FILTERS), state)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_cells(store_url, fingerprint, principal, key, _state):
    query = _query(store_url, principal)
    return combine_cells([query.cell_counts(feed, to_filter(_state)) for feed in _state.feeds])


def load_points(principal: Principal, state: ExplorerState,
                cells: pd.DataFrame | None = None) -> pd.DataFrame | int | None:
    """Geomasked points of the state's feeds with a ``feed`` column; None without access.

    With ``cells`` (``load_cells`` of the same view): their number instead, unread, when there
    are more than the points layer draws (``views.explore.points_to_read``).
    """
    if not may_see_level(principal.role, "point"):
        return None
    too_many = points_to_read(cells)
    if too_many is not None:
        return too_many
    store = open_store()
    return _cached_points(store.url, store_fingerprint(store), principal,
                          _view_key(state, *_FILTERS), state)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_points(store_url, fingerprint, principal, key, _state):
    query = _query(store_url, principal)
    return pd.concat([query.points(feed, to_filter(_state)).assign(feed=feed)
                      for feed in _state.feeds], ignore_index=True)


def audit_explorer(principal: Principal, action: str, state: ExplorerState, *,
                   records: int | None = None, detail: str | None = None) -> None:
    """Record a filter change or an export of the explorer, with its filters and how many
    records it covers (``headline_records``, ``table_records``)."""
    record(open_store(), AuditEvent(action=action, actor=principal.user, role=principal.role,
                                    page="explore", filters=audit_filters(state),
                                    records=records, detail=detail))


def headline_records(head: Headline) -> int:
    """Records the headline numbers show: the sum of the feeds' shown counts (hidden ones
    count nothing), for the audit."""
    return sum(feed.count for feed in head.feeds if feed.count is not None)


def table_records(counts: pd.DataFrame) -> int:
    """Records an area table (``load_area_counts``) shows: the sum of its shown counts."""
    return int(counts["count"].sum(skipna=True)) if len(counts) else 0


def audit_explorer_filters(principal: Principal, state: ExplorerState, head: Headline) -> None:
    """Audit a change of the explorer's filters (not a rerun) with the records it shows."""
    if st.session_state.get(_AUDITED) != filter_key(state):
        st.session_state[_AUDITED] = filter_key(state)
        audit_explorer(principal, "filter-change", state, records=headline_records(head))


# The explorer's link (views.viewstate): the query parameters are the source of truth.
_SYNCED, _AUDITED, _CLICK = "explore_synced", "explore_audited", "explore_click"


def open_explorer_link(principal: Principal, period: tuple[dt.date, dt.date]) -> ExplorerState:
    """The view the page's link asks for. A link just opened (or changed by Back/Forward)
    fills the widgets, and what it held that could not be used is said once."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    link = from_query_params(params, role=principal.role, store_period=period)
    if st.session_state.get(_SYNCED) != to_query_params(link) or W_FEEDS not in st.session_state:
        st.session_state.update(widget_values(link))
        for warning in link.warnings:
            st.warning(f"Part of the link was not used: {warning}.", icon=":material/link_off:")
    return link


def explorer_state(principal: Principal, period: tuple[dt.date, dt.date],
                   link: ExplorerState) -> ExplorerState:
    """The view the widgets show. A change of filters is audited by ``audit_explorer_filters``
    once the headline says how many records it shows."""
    return state_from_widgets(st.session_state, previous=link, role=principal.role,
                              store_period=period)


def keep_in_link(state: ExplorerState, clicked: dict | None) -> ExplorerState:
    """Open the panel of a newly clicked area (``st_folium`` returns the last click on every
    run: only a different one is new), then write the view to the link."""
    if str(clicked) != st.session_state.get(_CLICK):
        st.session_state[_CLICK] = str(clicked)
        state = replace(state, area=clicked_area(clicked, state.level) or state.area)
    params = to_query_params(state)
    if params != {key: st.query_params.get_all(key) for key in st.query_params}:
        st.query_params.from_dict(params)
    st.session_state[_SYNCED] = params
    return state


# -- meeting mode (pages/meeting.py) -------------------------------------------------------
# The meeting's link (views.meeting) is the source of truth: period, district focus and step.
# Its figures are cached per store content, Principal, period and district.
from views import meeting as _meeting  # noqa: E402

_MEETING_SYNCED = "meeting_synced"
W_MEETING_PERIOD, W_MEETING_DISTRICT = "meeting_period", "meeting_district"


def load_meeting_periods(principal: Principal) -> list[str]:
    """Quarters then months with data, latest first (empty for an empty store)."""
    store = open_store()
    return _cached_meeting_periods(store.url, store_fingerprint(store))


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_meeting_periods(store_url: str, fingerprint: str) -> list[str]:
    store = open_store(store_url)
    return _meeting.available_periods(store.period() if store.batches() else None)


def load_meeting(principal: Principal, state: _meeting.MeetingState) -> _meeting.MeetingData:
    """Every figure of the meeting's period and district, suppressed as for a chair."""
    store = open_store()
    return _cached_meeting(store.url, store_fingerprint(store), principal, state.period,
                           state.district)


@st.cache_data(ttl="10m", max_entries=16, show_spinner="Preparing the meeting…")
def _cached_meeting(store_url, fingerprint, principal, period, district):
    query = _meeting.meeting_query(open_store(store_url), principal)
    return _meeting.meeting_data(query, _meeting.MeetingState(period, district))


def briefing_pdf(principal: Principal, state: _meeting.MeetingState) -> bytes:
    """The briefing pack of the meeting's period and district (audited as an export)."""
    from reports.briefing import build_briefing

    return build_briefing(open_store(), principal, state.period, state.district)


def _meeting_params() -> dict:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def open_meeting_link(principal: Principal, periods: list[str]) -> _meeting.MeetingState:
    """The meeting the link asks for, written back in full; the widgets follow a new link."""
    state = _meeting.from_query_params(_meeting_params(), role=principal.role, periods=periods)
    params = _meeting.to_query_params(state)
    if {k: v[-1] for k, v in _meeting_params().items() if v} != params:
        st.query_params.from_dict(params)
    if st.session_state.get(_MEETING_SYNCED) != params:
        st.session_state[_MEETING_SYNCED] = params
        st.session_state[W_MEETING_PERIOD] = state.period
        st.session_state[W_MEETING_DISTRICT] = state.district or _meeting.ALL_DISTRICTS
        for warning in state.warnings:
            st.warning(f"Part of the link was not used: {warning}.", icon=":material/link_off:")
    return state


def meeting_step(principal: Principal, periods: list[str], by: int) -> None:
    """Previous (-1) / Next (+1): a callback, so the link changes before the page runs."""
    state = _meeting.from_query_params(_meeting_params(), role=principal.role, periods=periods)
    st.query_params.from_dict(_meeting.to_query_params(_meeting.move(state, principal.role, by)))


def meeting_choice(principal: Principal, periods: list[str]) -> None:
    """A new period or district from the widgets goes into the link (the step is kept)."""
    state = _meeting.from_query_params(_meeting_params(), role=principal.role, periods=periods)
    district = st.session_state.get(W_MEETING_DISTRICT)
    chosen = _meeting.MeetingState(
        period=st.session_state.get(W_MEETING_PERIOD) or state.period,
        district=None if district in (None, _meeting.ALL_DISTRICTS) else district,
        step=state.step)
    params = _meeting.to_query_params(chosen)
    st.query_params.from_dict(params)
    st.session_state[_MEETING_SYNCED] = params


# -- hotspots and tasking (pages/hotspots.py) ----------------------------------------------
# The fit is cached per store content, principal and filter set (never per pan, click or row
# selection), with a spinner only when it actually runs. The page's filters use the explorer's
# link format (views.viewstate) with its own widgets.
from core.schema import FEEDS as _ALL_FEEDS  # noqa: E402
from views.hotspots import HotspotView, fit_hotspots  # noqa: E402
from views.tasking import Outcome, Task, TaskBook, outcome  # noqa: E402
from views.viewstate import normalise  # noqa: E402

H_DATES, H_FEEDS, H_DISTRICTS, H_AGES = ("hotspots_dates", "hotspots_feeds",
                                         "hotspots_districts", "hotspots_ages")
_H_PARAMS = ("from", "to", "feed", "age", "district")
_H_SYNCED, _H_AUDITED = "hotspots_synced", "hotspots_audited"


def load_hotspots(principal: Principal, state: ExplorerState) -> HotspotView:
    """Hotspots of the state's feeds and filters for ``principal`` (``views.hotspots``)."""
    store = open_store()
    return _cached_hotspots(store.url, store_fingerprint(store), principal,
                            _view_key(state, *_FILTERS), state)


@st.cache_data(ttl="1h", max_entries=16,
               show_spinner="Finding hotspots: scanning West Yorkshire against its population "
                            "and testing each candidate against 99 simulations…")
def _cached_hotspots(store_url, fingerprint, principal, key, _state):
    return fit_hotspots(_query(store_url, principal), _state.feeds, to_filter(_state))


def open_hotspots_link(principal: Principal, period: tuple[dt.date, dt.date]) -> ExplorerState:
    """The filters the hotspots page's link asks for; a link just opened fills the widgets."""
    params = {key: st.query_params.get_all(key) for key in st.query_params if key in _H_PARAMS}
    link = from_query_params(params, role=principal.role, store_period=period)
    if st.session_state.get(_H_SYNCED) != to_query_params(link) or H_FEEDS not in st.session_state:
        st.session_state.update({H_DATES: (link.start, link.end), H_FEEDS: list(link.feeds),
                                 H_DISTRICTS: list(link.districts),
                                 H_AGES: list(link.age_groups)})
        for warning in link.warnings:
            st.warning(f"Part of the link was not used: {warning}.", icon=":material/link_off:")
    return link


def hotspots_state(principal: Principal, period: tuple[dt.date, dt.date],
                   link: ExplorerState) -> ExplorerState:
    """The filters the widgets show, checked like a link, written to the link."""
    dates = tuple(st.session_state.get(H_DATES) or ())
    start, end = (dates + (link.start, link.end))[:2] if len(dates) != 1 else (dates[0],) * 2
    state = normalise(ExplorerState(start=start, end=end,
                                    feeds=tuple(st.session_state.get(H_FEEDS) or _ALL_FEEDS),
                                    districts=tuple(st.session_state.get(H_DISTRICTS) or ()),
                                    age_groups=tuple(st.session_state.get(H_AGES) or ())),
                      role=principal.role, store_period=period)
    params = to_query_params(state)
    if params != {key: st.query_params.get_all(key) for key in st.query_params}:
        st.query_params.from_dict(params)
    st.session_state[_H_SYNCED] = params
    return state


def audit_hotspots_filters(principal: Principal, state: ExplorerState, view: HotspotView) -> None:
    """Audit a change of the hotspots page's filters (not a rerun) with the records fitted."""
    if st.session_state.get(_H_AUDITED) != filter_key(state):
        st.session_state[_H_AUDITED] = filter_key(state)
        audit_hotspots(principal, "filter-change", state, records=view.n_events)


def audit_hotspots(principal: Principal, action: str, state: ExplorerState, *,
                   records: int | None = None, detail: str | None = None) -> None:
    """Record a filter change or an export of the hotspots page, with its filters."""
    record(open_store(), AuditEvent(action=action, actor=principal.user, role=principal.role,
                                    page="hotspots", filters=audit_filters(state),
                                    records=records, detail=detail))


def task_book(principal: Principal) -> TaskBook:
    """The tasking records of the store, read and written as ``principal``."""
    return TaskBook(open_store(), principal)


def load_outcomes(principal: Principal, tasks: list[Task]) -> dict[str, Outcome]:
    """Before/after events of the done tasks (``views.tasking.outcome``), cached per task."""
    store = open_store()
    fingerprint = store_fingerprint(store)
    return {task.task_id: _cached_outcome(store.url, fingerprint, principal,
                                          json.dumps(task.to_json(), sort_keys=True), task)
            for task in tasks if task.status == "done"}


@st.cache_data(ttl="1h", max_entries=256, show_spinner=False)
def _cached_outcome(store_url, fingerprint, principal, key, _task):
    return outcome(_query(store_url, principal), _task)


# -- trends (data.kpis) ------------------------------------------------------------------------
# Keyed on the store's content and the role: the figures depend on nothing else (the query
# layer protects by role), so one cached copy per role serves every user of that role.
from views import kpis as _kpis  # noqa: E402  (kept with the trends loaders it serves)


def _trends_query(store_url: str, role: str) -> RoleScopedQuery:
    return RoleScopedQuery(open_store(store_url), Principal("trends", role))


def _trends_key(principal: Principal) -> tuple[str, str, str]:
    store = open_store()
    return store.url, store_fingerprint(store), principal.role


def load_trend_periods(principal: Principal) -> dict[str, list[str]]:
    """The whole months and quarters the data cover, newest first (``views.kpis.data_periods``)."""
    return _cached_trend_periods(*_trends_key(principal))


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_trend_periods(store_url, fingerprint, role):
    query = _trends_query(store_url, role)
    return {freq: _kpis.data_periods(query, freq) for freq in ("M", "Q")}


def load_kpis(principal: Principal, period: str) -> pd.DataFrame:
    """``views.kpis.kpi_table`` of ``period`` for the principal's role."""
    return _cached_kpis(*_trends_key(principal), period)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_kpis(store_url, fingerprint, role, period):
    return _kpis.kpi_table(_trends_query(store_url, role), period)


def load_measures(principal: Principal, period: str) -> pd.DataFrame:
    """``views.kpis.measures_table`` of ``period`` for the principal's role."""
    return _cached_measures(*_trends_key(principal), period)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_measures(store_url, fingerprint, role, period):
    return _kpis.measures_table(_trends_query(store_url, role), period)


def load_measure_series(principal: Principal, freq: str) -> pd.DataFrame:
    """``views.kpis.measure_series`` (West Yorkshire measures per period)."""
    return _cached_measure_series(*_trends_key(principal), freq)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_measure_series(store_url, fingerprint, role, freq):
    return _kpis.measure_series(_trends_query(store_url, role), freq)


def load_area_series(principal: Principal, feed: str, freq: str, measure: str) -> pd.DataFrame:
    """``views.kpis.monthly_series`` of one feed by district (with West Yorkshire)."""
    return _cached_area_series(*_trends_key(principal), feed, freq, measure)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_area_series(store_url, fingerprint, role, feed, freq, measure):
    return _kpis.monthly_series(_trends_query(store_url, role), feed, freq=freq,
                                measure=measure)


def load_breakdown(principal: Principal, feed: str, by: str, freq: str) -> pd.DataFrame:
    """``views.kpis.breakdown_series`` of one feed and partition."""
    return _cached_breakdown(*_trends_key(principal), feed, by, freq)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_breakdown(store_url, fingerprint, role, feed, by, freq):
    return _kpis.breakdown_series(_trends_query(store_url, role), feed, by, freq)


def load_trend_flags(principal: Principal, end: str | None = None) -> pd.DataFrame:
    """``views.kpis.trend_flags`` by district over 12 and 24 months ending at ``end``."""
    return _cached_trend_flags(*_trends_key(principal), end)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_trend_flags(store_url, fingerprint, role, end):
    return _kpis.trend_flags(_trends_query(store_url, role), end=end)


def trend_records(principal: Principal, period: str) -> int:
    """Records the Trends page shows for ``period``: the sum of the KPI tiles' shown counts
    (hidden ones count nothing)."""
    return int(load_kpis(principal, period)["count"].sum(skipna=True))


def audit_trends(principal: Principal, detail: str, period: str, *,
                 records: int | None = None) -> None:
    """Record a download from the Trends page: what, for which period, and how many records
    (default: those of the period, ``trend_records``)."""
    if records is None:
        records = trend_records(principal, period)
    record(open_store(), AuditEvent(action="export", actor=principal.user, role=principal.role,
                                    page="trends", filters={"period": period}, records=records,
                                    detail=detail))


def open_trends_link(choices: dict[str, list[str]]) -> "_kpis.TrendsView | None":
    """The Trends view the link asks for; widgets are set from it when the link changed (just
    opened, Back/Forward), and what could not be used is said once."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    view = _kpis.trends_view(params, choices)
    if view is None:
        return None
    if st.session_state.get("trends_synced") != _kpis.trends_params(view):
        st.session_state["trends_freq"] = view.freq
        st.session_state[f"trends_period_{view.freq}"] = view.period
        st.session_state["trends_measure"] = view.measure
        for warning in view.warnings:
            st.warning(f"Part of the link was not used: {warning}.", icon=":material/link_off:")
    return view


def keep_trends_in_link(choices: dict[str, list[str]]) -> "_kpis.TrendsView":
    """The view the widgets show, written to the link."""
    freq = st.session_state.get("trends_freq") or "M"
    if not choices.get(freq):
        freq = "M" if choices.get("M") else "Q"
    period = st.session_state.get(f"trends_period_{freq}")
    if period not in choices[freq]:
        period = choices[freq][0]
    view = _kpis.TrendsView(period=period, measure=st.session_state.get("trends_measure")
                            or "count")
    params = _kpis.trends_params(view)
    if params != {key: st.query_params.get(key) for key in st.query_params}:
        st.query_params.from_dict(params)
    st.session_state["trends_synced"] = params
    return view
