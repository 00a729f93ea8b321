"""The thin layer between pages and the domain modules: caching and user-facing errors.

Pages call these functions instead of opening the store themselves, so every page shares one
cache and one way of reporting a problem the user can fix.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pandas as pd
import streamlit as st

from data.access import Principal, RoleScopedQuery
from data.audit import AuditEvent, record
from data.errors import DashboardError
from data.explore import AreaDetails, Headline, area_details, clicked_area, headline
from data.overview import Overview, store_fingerprint, store_overview
from data.roles import may_see_level
from data.store import open_store
from data.viewstate import (W_FEEDS, ExplorerState, audit_filters, filter_key, from_query_params,
                            state_from_widgets, to_filter, to_query_params, widget_values)
from geo.layers import combine_cells


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
    """Records per feed and the change against the previous period (``data.explore``)."""
    store = open_store()
    return _cached_headline(store.url, store_fingerprint(store), principal,
                            _view_key(state, *_FILTERS), state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_headline(store_url, fingerprint, principal, key, _state):
    return headline(_query(store_url, principal), _state)


def load_area_details(principal: Principal, state: ExplorerState) -> AreaDetails:
    """The panel of ``state.area`` (``data.explore.area_details``)."""
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


def load_points(principal: Principal, state: ExplorerState) -> pd.DataFrame | None:
    """Geomasked points of the state's feeds with a ``feed`` column; None without access."""
    if not may_see_level(principal.role, "point"):
        return None
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
    """Record a filter change or an export of the explorer, with its filters."""
    record(open_store(), AuditEvent(action=action, actor=principal.user, role=principal.role,
                                    page="explore", filters=audit_filters(state),
                                    records=records, detail=detail))


# The explorer's link (data.viewstate): the query parameters are the source of truth.
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
    """The view the widgets show; a change of filters (not a rerun) is audited."""
    state = state_from_widgets(st.session_state, previous=link, role=principal.role,
                               store_period=period)
    if st.session_state.get(_AUDITED) != filter_key(state):
        st.session_state[_AUDITED] = filter_key(state)
        audit_explorer(principal, "filter-change", state)
    return state


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
