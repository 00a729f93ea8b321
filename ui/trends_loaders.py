"""Loaders of the Trends page (pages/trends.py): its figures, cached per role, its link and
audit.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import AuditEvent, record
from storage.base import store_fingerprint
from storage.open import open_store
from ui.chart_specs import vega_lite_spec
from views import feed_tables as _feed_tables
from views import kpis as _kpis
from views import trend_flags as _trend_flags
from views import trend_sections as _trend_sections
from views import trend_series as _trend_series
from views import trend_summary as _trend_summary

# Keyed on the store's content and the role: the figures depend on nothing else (the query
# layer protects by role), so one cached copy per role serves every user of that role.


def _trends_query(store_url: str, role: str) -> RoleScopedQuery:
    return RoleScopedQuery(open_store(store_url), Principal("trends", role))


def _trends_key(principal: Principal) -> tuple[str, str, str]:
    store = open_store()
    return store.url, store_fingerprint(store), principal.role


def load_trend_periods(principal: Principal) -> dict[str, list[str]]:
    """The whole months and quarters the data cover, newest first
    (``views.feed_tables.data_periods``)."""
    return _cached_trend_periods(*_trends_key(principal))


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_trend_periods(store_url, fingerprint, role):
    query = _trends_query(store_url, role)
    return {freq: _feed_tables.data_periods(query, freq) for freq in ("M", "Q")}


def load_kpis(principal: Principal, period: str) -> pd.DataFrame:
    """``views.kpis.kpi_table`` of ``period`` for the principal's role."""
    return _cached_kpis(*_trends_key(principal), period)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_kpis(store_url, fingerprint, role, period):
    return _kpis.kpi_table(_trends_query(store_url, role), period)


def load_trend_summary(principal: Principal) -> list:
    """``views.trend_summary.trend_summary``: the last whole quarter and the quarter to date,
    one sentence per feed, for the principal's role."""
    return _cached_trend_summary(*_trends_key(principal))


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_trend_summary(store_url, fingerprint, role):
    return _trend_summary.trend_summary(_trends_query(store_url, role))


def load_measures(principal: Principal, period: str) -> pd.DataFrame:
    """``views.trend_series.measures_table`` of ``period`` for the principal's role."""
    return _cached_measures(*_trends_key(principal), period)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_measures(store_url, fingerprint, role, period):
    return _trend_series.measures_table(_trends_query(store_url, role), period)


def load_measure_series(principal: Principal, freq: str) -> pd.DataFrame:
    """``views.trend_series.measure_series`` (West Yorkshire measures per period)."""
    return _cached_measure_series(*_trends_key(principal), freq)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_measure_series(store_url, fingerprint, role, freq):
    return _trend_series.measure_series(_trends_query(store_url, role), freq)


def load_area_series(principal: Principal, feed: str, freq: str, measure: str) -> pd.DataFrame:
    """``views.trend_series.monthly_series`` of one feed by district (with West Yorkshire)."""
    return _cached_area_series(*_trends_key(principal), feed, freq, measure)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_area_series(store_url, fingerprint, role, feed, freq, measure):
    return _trend_series.monthly_series(_trends_query(store_url, role), feed, freq=freq,
                                        measure=measure)


def load_breakdown(principal: Principal, feed: str, by: str, freq: str) -> pd.DataFrame:
    """``views.trend_series.breakdown_series`` of one feed and partition."""
    return _cached_breakdown(*_trends_key(principal), feed, by, freq)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_breakdown(store_url, fingerprint, role, feed, by, freq):
    return _trend_series.breakdown_series(_trends_query(store_url, role), feed, by, freq)


def load_trend_flags(principal: Principal, end: str | None = None) -> pd.DataFrame:
    """``views.trend_flags.trend_flags`` by district over 12 and 24 months ending at ``end``."""
    return _cached_trend_flags(*_trends_key(principal), end)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_trend_flags(store_url, fingerprint, role, end):
    return _trend_flags.trend_flags(_trends_query(store_url, role), end=end)


def load_period_panels(principal: Principal, period: str) -> dict:
    """What the page draws of ``period`` apart from its charts, ready to draw: the KPI tiles
    (``views.kpis.kpi_tiles``) and their largest hidden threshold, the other measures' tiles
    by feed (``views.trend_series.tiles_by_feed``) and the trend flags' table
    (``views.trend_flags.trend_flags_wide``), made once per store content, role and period
    (building the tiles from the cached tables took as long as the rest of a warm run)."""
    return _cached_period_panels(*_trends_key(principal), period)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_period_panels(store_url, fingerprint, role, period):
    table = _cached_kpis(store_url, fingerprint, role, period)
    measures = _cached_measures(store_url, fingerprint, role, period)
    flags = _cached_trend_flags(store_url, fingerprint, role, _kpis.last_month(period))
    return {"kpi_tiles": _kpis.kpi_tiles(table), "threshold": _kpis.hidden_threshold(table),
            "measure_tiles": _trend_series.tiles_by_feed(measures),
            "flags": _trend_flags.trend_flags_wide(flags)}


def load_chart_spec(principal: Principal, name: tuple, make) -> dict:
    """The Vega-Lite spec of the chart ``make()`` draws (``ui.chart_specs``), made once per
    store content, role and ``name``: ``name`` must say everything the chart shows (kind, feed,
    frequency, measure, synthetic or not), its data coming from the loaders above."""
    return _cached_chart_spec(*_trends_key(principal), name, make)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_chart_spec(store_url, fingerprint, role, name, _make):
    return vega_lite_spec(_make())


def trend_records(principal: Principal, period: str) -> int:
    """Records the Trends page shows for ``period``: the sum of the KPI tiles' shown counts
    (hidden ones count nothing)."""
    # Cached as a number: the page asks once per download button (23 a run), and reading the
    # KPI table back from the cache each time cost more than the rest of the page's loaders.
    return _cached_trend_records(*_trends_key(principal), period)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_trend_records(store_url, fingerprint, role, period) -> int:
    return int(_cached_kpis(store_url, fingerprint, role, period)["count"].sum(skipna=True))


def audit_trends(principal: Principal, detail: str, period: str, *,
                 records: int | None = None) -> None:
    """Record a download from the Trends page: what, for which period, and how many records
    (default: those of the period, ``trend_records``)."""
    if records is None:
        records = trend_records(principal, period)
    record(open_store(), AuditEvent(action="export", actor=principal.user, role=principal.role,
                                    page="trends", filters={"period": period}, records=records,
                                    detail=detail))


W_FEED, W_CHART = "trends_feed", "trends_chart"


def open_trends_link(choices: dict[str, list[str]]) -> _kpis.TrendsView | None:
    """The Trends view the link asks for; widgets are set from it when the link changed (just
    opened, Back/Forward), and what could not be used is said once. The chart sections' choices
    (``views.trend_sections``) come from the link too."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    view = _kpis.trends_view(params, choices)
    if view is None:
        return None
    sections = _trend_sections.sections_view(params)
    if st.session_state.get("trends_synced") != {**_kpis.trends_params(view),
                                                 **_trend_sections.sections_params(sections)}:
        st.session_state["trends_freq"] = view.freq
        st.session_state[f"trends_period_{view.freq}"] = view.period
        st.session_state["trends_measure"] = view.measure
        st.session_state[W_FEED] = sections.feed
        st.session_state[W_CHART] = sections.chart
        for warning in (*view.warnings, *sections.warnings):
            st.warning(f"Part of the link was not used: {warning}.", icon=":material/link_off:")
    return view


def chosen_sections() -> _trend_sections.Sections:
    """The chart sections the widgets show (a valid choice whatever the session holds)."""
    return _trend_sections.sections_view({_trend_sections.P_FEED: st.session_state.get(W_FEED),
                                          _trend_sections.P_CHART: st.session_state.get(W_CHART)})


def keep_trends_in_link(choices: dict[str, list[str]]) -> _kpis.TrendsView:
    """The view the widgets show, written to the link with the chart sections' choices (also
    from a fragment's run, when only a section's choice changed)."""
    freq = st.session_state.get("trends_freq") or "M"
    if not choices.get(freq):
        freq = "M" if choices.get("M") else "Q"
    period = st.session_state.get(f"trends_period_{freq}")
    if period not in choices[freq]:
        period = choices[freq][0]
    view = _kpis.TrendsView(period=period, measure=st.session_state.get("trends_measure")
                            or "count")
    params = {**_kpis.trends_params(view), **_trend_sections.sections_params(chosen_sections())}
    if params != {key: st.query_params.get(key) for key in st.query_params}:
        st.query_params.from_dict(params)
    st.session_state["trends_synced"] = params
    return view
