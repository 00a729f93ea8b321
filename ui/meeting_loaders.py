"""Loaders of meeting mode (pages/meeting.py): the meeting's figures, cached, and its link.

The meeting's link (``views.meeting``) is the source of truth: period, district focus and step.
"""
from __future__ import annotations

import functools
import hashlib

import streamlit as st

from safeguards.access import Principal
from storage.base import store_fingerprint
from storage.open import open_store
from views import meeting as _meeting
from views import meeting_figures as _meeting_figures
from views.tasking import TASKS_DOCUMENT

# Its figures are cached per store content, tasking records, Principal, period and district.
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


@functools.lru_cache(maxsize=8)
def period_titles(periods: tuple[str, ...]) -> dict[str, str]:
    """Each period's title for the period picker (``views.meeting.period_title``), made once
    per list: the picker formats every option on every run (~80, 20 ms a run)."""
    return {key: _meeting.period_title(key) for key in periods}


def load_meeting(principal: Principal,
                 state: _meeting.MeetingState) -> _meeting_figures.MeetingData:
    """Every figure of the meeting's period and district, suppressed as for a chair."""
    store = open_store()
    return _cached_meeting(store.url, store_fingerprint(store), tasks_version(store), principal,
                           state.period, state.district)


def tasks_version(store) -> str:
    """A key that changes whenever the tasking records change (a task created or updated by
    any process): the store fingerprint covers the records, not this side document."""
    text = store.read_document(TASKS_DOCUMENT)
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else ""


@st.cache_data(ttl="10m", max_entries=16, show_spinner="Preparing the meeting…")
def _cached_meeting(store_url, fingerprint, tasks_key, principal, period, district):
    query = _meeting_figures.meeting_query(open_store(store_url), principal)
    return _meeting_figures.meeting_data(query, _meeting.MeetingState(period, district))


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
