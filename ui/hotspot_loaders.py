"""Loaders of the hotspots page (pages/hotspots.py): the fit, cached, its link, audit and tasks.

The page's filters use the explorer's link format (``views.viewstate``) with its own widgets.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pandas as pd
import streamlit as st

from core import clock
from core.schema import FEEDS as _ALL_FEEDS
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import AuditEvent, record
from storage.base import store_fingerprint
from storage.exposure import layers_fingerprint
from storage.open import open_store
from ui.loaders import FILTER_PARTS, store_query, view_key
from views.hotspot_accuracy import (
    TRAIN_MONTHS,
    HotspotAccuracy,
    MonthScore,
    backtest_months,
    hotspot_accuracy,
    score_month,
)
from views.hotspot_alerts import AlertView, alert_month, fit_alerts
from views.hotspots import HotspotView, fit_hotspots
from views.task_outcome import Outcome, outcome
from views.tasking import Task, TaskBook
from views.viewstate import (
    ExplorerState,
    audit_filters,
    filter_key,
    from_query_params,
    normalise,
    to_filter,
    to_query_params,
)

# The fit is cached per store content, principal and filter set (never per pan, click or row
# selection), with a spinner only when it actually runs. The page's filters use the explorer's
# link format (views.viewstate) with its own widgets.

H_DATES, H_FEEDS, H_DISTRICTS, H_AGES = ("hotspots_dates", "hotspots_feeds",
                                         "hotspots_districts", "hotspots_ages")
_H_PARAMS = ("from", "to", "feed", "age", "district")
_H_SYNCED, _H_AUDITED = "hotspots_synced", "hotspots_audited"


#: Who the warm-up's fits are made as (``prefit_default_views``); they are never shown.
WARM_USER = "warm-start"


def default_state(role: str, period: tuple[dt.date, dt.date]) -> ExplorerState:
    """The filters the Hotspots page opens on for ``role`` (a link without parameters, as
    ``open_hotspots_link`` then ``hotspots_state`` make it)."""
    link = from_query_params({}, role=role, store_period=period)
    return normalise(ExplorerState(start=link.start, end=link.end, feeds=tuple(_ALL_FEEDS)),
                     role=role, store_period=period)


def prefit_default_views(store, roles=("analyst", "chair")) -> list[str]:
    """Fit what the Hotspots page opens on for each of ``roles`` before anyone asks (the
    hotspots, which the Explore page's overlay of the same filters shares, the new-cluster
    scan and the accuracy backtest's months), then the meeting's default hotspots and scan:
    ``ui.serve``'s warm-up. Each is kept once per process for the store's content
    (``views.hotspot_fits.kept``), so the first visitor's view only protects and audits it
    (at 1M records these are ~40 s of CPU that no visitor then waits for:
    docs/benchmarks.md). Returns the roles fitted for."""
    from core.roles import may
    from views.hotspots import prefit

    if not store.batches():
        return []
    period = store.period()
    done = []
    for role in roles:
        if may(role, "view_hotspots"):
            state = default_state(role, period)
            query = RoleScopedQuery(store, Principal(WARM_USER, role))
            prefit(query, state.feeds, to_filter(state))
            _prefit_alerts_and_backtest(query, state, period)
            done.append(role)
    if done:
        _prefit_meeting(store, done[-1])
    return done


def _prefit_alerts_and_backtest(query: RoleScopedQuery, state: ExplorerState,
                                period: tuple[dt.date, dt.date]) -> None:
    from views.hotspot_alerts import prefit_alerts

    month = alert_month(period, clock.today(), selected=(state.start, state.end))
    if month is not None:
        prefit_alerts(query, state.feeds, month, replace(to_filter(state), start=None,
                                                         end=None))
    for test_month in backtest_months(state.end):
        score_month(query, state.feeds, to_filter(state), test_month)


def _prefit_meeting(store, role: str) -> None:
    """The meeting's default period (the latest, all of West Yorkshire): its hotspot fit
    and its month's scan (``views.meeting_figures``), as a room would see them."""
    from core.schema import FEEDS
    from views import meeting as mt
    from views.hotspot_alerts import prefit_alerts
    from views.hotspots import prefit
    from views.meeting_figures import hotspot_filter, meeting_query

    periods = mt.available_periods(store.period())
    if not periods or "hotspots" not in mt.steps_for(role):
        return
    meeting = mt.Period(mt.from_query_params({}, role=role, periods=periods).period)
    query = meeting_query(store, Principal(WARM_USER, role))
    prefit(query, list(FEEDS), hotspot_filter(meeting))
    prefit_alerts(query, list(FEEDS), meeting.pandas.asfreq("M", how="end"), meeting.filter())


def load_hotspots(principal: Principal, state: ExplorerState) -> HotspotView:
    """Hotspots of the state's feeds and filters for ``principal`` (``views.hotspots``)."""
    store = open_store()
    # A new exposure layer changes Rosewood's expected counts: part of the key (issue 13).
    key = f"{store_fingerprint(store)}-{layers_fingerprint(store)}"
    return _cached_hotspots(store.url, key, principal, view_key(state, *FILTER_PARTS), state)


@st.cache_data(ttl="1h", max_entries=16,
               show_spinner="Finding hotspots: scanning West Yorkshire against its population "
                            "and testing each candidate against 99 simulations…")
def _cached_hotspots(store_url, fingerprint, principal, key, _state):
    return fit_hotspots(store_query(store_url, principal), _state.feeds, to_filter(_state))


# -- accuracy on the store's own recent past (issue 13 item 5) ------------------------------
def load_hotspot_accuracy(principal: Principal, state: ExplorerState) -> HotspotAccuracy:
    """The rolling-origin backtest of the state's feeds and filters (``views.hotspot_accuracy``).

    Each test month is cached on its own (store content, principal, filters, month), and the
    summary (audited once, when it is worked out) on top. The first time a filter set is seen
    in this process the months are fitted one by one under an ``st.status`` saying which month
    it is on: the status is drawn here, never inside a cached function (whose elements
    Streamlit would replay on every later run).
    """
    store = open_store()
    fingerprint = store_fingerprint(store)
    key = view_key(state, *_BACKTEST_FILTERS)
    seen = _backtests_seen()
    ident = (store.url, fingerprint, principal, key)
    if ident not in seen:
        months = backtest_months(state.end)
        with st.status("Checking the model against the store's own recent past…",
                       expanded=False) as status:
            for i, month in enumerate(months):
                status.update(label=f"Checking the model against the recent past: month "
                                    f"{i + 1} of {len(months)} ({month:%b %Y}), fitted on "
                                    f"the {TRAIN_MONTHS} months before it…")
                _cached_month(store.url, fingerprint, principal, key, str(month), state)
            status.update(label="Accuracy check done", state="complete")
        seen.add(ident)
    return _cached_accuracy(store.url, fingerprint, principal, key, state)


#: The backtest ignores the period's start: its months end with the period's last whole month.
_BACKTEST_FILTERS = tuple(part for part in FILTER_PARTS if part != "from")


@st.cache_resource
def _backtests_seen() -> set:
    """Backtests already worked out in this process (to draw the progress only the first time)."""
    return set()


@st.cache_data(ttl="1h", max_entries=96, show_spinner=False)
def _cached_month(store_url, fingerprint, principal, key, month, _state) -> MonthScore:
    return score_month(store_query(store_url, principal), _state.feeds, to_filter(_state),
                       pd.Period(month, "M"))


@st.cache_data(ttl="1h", max_entries=16, show_spinner="Checking the model against the "
                                                      "store's own recent past…")
def _cached_accuracy(store_url, fingerprint, principal, key, _state) -> HotspotAccuracy:
    return hotspot_accuracy(
        store_query(store_url, principal), _state.feeds, to_filter(_state), end=_state.end,
        scorer=lambda month: _cached_month(store_url, fingerprint, principal, key, str(month),
                                           _state))


def map_key(state: ExplorerState, selected: int | None) -> str:
    """The map component's key: one per filter set and selection (a new map component for
    each; streamlit-folium also hashes the map's script into its own component key)."""
    import hashlib

    digest = hashlib.sha1(repr(filter_key(state)).encode()).hexdigest()[:10]
    return f"hotspots_map_{digest}_{'all' if selected is None else int(selected)}"
def load_alerts(principal: Principal, state: ExplorerState,
                period: tuple[dt.date, dt.date] | None) -> AlertView | None:
    """New-hotspot alerts (``views.hotspot_alerts``) of the last whole month inside the state's
    period that has ended by today, for its feeds, districts and age groups (the study period
    before that month is the analysis's own); None when the period holds no such month. Cached
    like the hotspots."""
    month = alert_month(period, clock.today(), selected=(state.start, state.end))
    if month is None:
        return None
    store = open_store()
    key = (str(month), tuple(state.feeds), tuple(state.districts), tuple(state.age_groups))
    return _cached_alerts(store.url, store_fingerprint(store), principal, key, state)


@st.cache_data(ttl="1h", max_entries=16,
               show_spinner="Looking for new hotspots this month (space-time scan, 999 "
                            "replicas)…")
def _cached_alerts(store_url, fingerprint, principal, key, _state):
    undated = replace(to_filter(_state), start=None, end=None)
    return fit_alerts(store_query(store_url, principal), _state.feeds, key[0], undated)


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
    """Before/after events of the done tasks (``views.task_outcome.outcome``), cached per task."""
    store = open_store()
    fingerprint = store_fingerprint(store)
    return {task.task_id: _cached_outcome(store.url, fingerprint, principal,
                                          json.dumps(task.to_json(), sort_keys=True), task)
            for task in tasks if task.status == "done"}


@st.cache_data(ttl="1h", max_entries=256, show_spinner=False)
def _cached_outcome(store_url, fingerprint, principal, key, _task):
    return outcome(store_query(store_url, principal), _task)


def tasking_sheet_pdf(tasks: list[Task], *, outcomes: dict[str, Outcome], synthetic: bool,
                      generated_by: str) -> bytes:
    """The tasking sheet PDF (``reports.tasking_sheet``), made when its download is clicked.

    Imported here, not at the top: reportlab and matplotlib took 1.3 s to import on every first
    page load, though most visits make no PDF (tests/test_warm_start.py).
    """
    from reports.tasking_sheet import tasking_sheet

    return tasking_sheet(tasks, outcomes=outcomes, synthetic=synthetic,
                         generated_by=generated_by)
