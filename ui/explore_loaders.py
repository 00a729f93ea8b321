"""Loaders of the map explorer (pages/explore.py): its figures, cached, its link and audit.

Every explorer loader is keyed on the store's content, the whole Principal and the part of the
view it depends on (``ui.loaders.view_key``). The page's link (``views.viewstate``) is the
source of truth for the view.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from core.roles import may_see_level
from core.schema import FEEDS
from maps.cell_layers import combine_cells
from maps.map_title import add_place
from maps.point_layer import MAX_POINTS
from safeguards.access import AREA_COLUMN, Principal, point_columns
from safeguards.audit import AuditEvent, record
from storage.base import SharedScan, share_reads, store_fingerprint
from storage.open import open_store
from ui.folium_frame import FoliumFrame, feature_group_script, folium_frame
from ui.loaders import FILTER_PARTS, store_query, view_key
from views.explore import AreaDetails, Headline, area_details, clicked_area, headline
from views.explore_dates import previous_period
from views.explore_map import (
    build_map,
    points_to_read,
    selectable_area,
    selected_outline,
)
from views.explore_options import OPTION_PARAMS
from views.place_search import Place, place_bounds
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


def share_view_reads(principal: Principal, state: ExplorerState) -> None:
    """Read each feed at most once for this run's figures of ``state`` (``storage.base.
    share_reads``): the headline (every feed by district, now and in the previous period), the
    areas, the cells and, when the store is small enough for them to be drawn, the points all
    ask for rows of the view's filters, each through the role-scoped query layer as before.

    Only the rows are shared, never a role's answer: each figure is still made, protected and
    audited by ``safeguards.access`` from its own query. Nothing is read unless a figure is
    not in the cache; a protected role's figures come from the publication, not these reads.
    """
    if state.start is None or state.end is None:
        return
    store = open_store()
    batches = store.batches()
    points = may_see_level(principal.role, "point")
    # The points are read only when the cells say they are few enough to draw
    # (``points_to_read``); when the chosen feeds hold no more records than that in all, they
    # will be, and their columns are read with the rest. Otherwise they are their own read.
    few = points and sum(b["rows"] for b in batches if b["feed"] in state.feeds) <= MAX_POINTS
    now = to_filter(state)
    before = to_filter(state, previous_period(state.start, state.end))
    # A small store: one read of each feed over both periods, every column (a read's fixed cost
    # is most of it). A large one: the previous period's read holds the district only, not
    # the areas' and cells' columns a second time (docs/benchmarks.md, seventh round).
    spanning = sum(b["rows"] for b in batches) <= SPANNING_READ_ROWS
    scans = {}
    for feed in FEEDS:
        columns = {"event_date", "district_code"}
        if feed in state.feeds:
            columns.add(AREA_COLUMN[state.level])
            if points:
                columns |= {"easting", "northing"}
            if few:
                columns |= set(point_columns(feed))
        if spanning:
            scans[feed] = [SharedScan(replace(now, start=before.start), tuple(sorted(columns)))]
        else:
            scans[feed] = [SharedScan(now, tuple(sorted(columns))),
                           SharedScan(before, ("district_code", "event_date"))]
    share_reads(store.url, scans)


#: Up to this many stored records, ``share_view_reads`` reads each feed once over the view and
#: its previous period; above, twice (bench/bench_view_reads.py).
SPANNING_READ_ROWS = 100_000


def load_area_counts(principal: Principal, state: ExplorerState) -> pd.DataFrame:
    """``area_counts`` of the state's feeds, level and filters, for ``principal``."""
    store = open_store()
    return _cached_area_counts(store.url, store_fingerprint(store), principal,
                               view_key(state, *FILTER_PARTS, "level"), state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_area_counts(store_url, fingerprint, principal, key, _state):
    return store_query(store_url, principal).area_counts(_state.feeds, _state.level,
                                                    to_filter(_state))


def load_headline(principal: Principal, state: ExplorerState,
                  data_start: dt.date | None = None) -> Headline:
    """Records per feed and the change against the previous period (``views.explore``); no
    change where that period begins before ``data_start``, the data's first date."""
    store = open_store()
    return _cached_headline(store.url, store_fingerprint(store), principal,
                            view_key(state, *FILTER_PARTS), data_start, state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_headline(store_url, fingerprint, principal, key, data_start, _state):
    return headline(store_query(store_url, principal), _state, data_start)


def load_area_details(principal: Principal, state: ExplorerState,
                      data_start: dt.date | None = None) -> AreaDetails:
    """The panel of ``state.area`` (``views.explore.area_details``)."""
    store = open_store()
    return _cached_area_details(store.url, store_fingerprint(store), principal,
                                view_key(state, *FILTER_PARTS, "level", "area"), data_start,
                                state)


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_area_details(store_url, fingerprint, principal, key, data_start, _state):
    return area_details(store_query(store_url, principal), _state, _state.area,
                        data_start=data_start)


def load_cells(principal: Principal, state: ExplorerState) -> pd.DataFrame | None:
    """100 m cell counts summed over the state's feeds; None for a role without point access."""
    if not may_see_level(principal.role, "point"):
        return None
    store = open_store()
    return _cached_cells(store.url, store_fingerprint(store), principal,
                         view_key(state, *FILTER_PARTS), state)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_cells(store_url, fingerprint, principal, key, _state):
    query = store_query(store_url, principal)
    return combine_cells([query.cell_counts(feed, to_filter(_state)) for feed in _state.feeds])


def load_points(principal: Principal, state: ExplorerState,
                cells: pd.DataFrame | None = None) -> pd.DataFrame | int | None:
    """Geomasked points of the state's feeds with a ``feed`` column; None without access.

    With ``cells`` (``load_cells`` of the same view): their number instead, unread, when there
    are more than the points layer draws (``views.explore_map.points_to_read``).
    """
    if not may_see_level(principal.role, "point"):
        return None
    too_many = points_to_read(cells)
    if too_many is not None:
        return too_many
    store = open_store()
    return _cached_points(store.url, store_fingerprint(store), principal,
                          view_key(state, *FILTER_PARTS), state)


@st.cache_data(ttl="10m", max_entries=32, show_spinner=False)
def _cached_points(store_url, fingerprint, principal, key, _state):
    query = store_query(store_url, principal)
    return pd.concat([query.points(feed, to_filter(_state)).assign(feed=feed)
                      for feed in _state.feeds], ignore_index=True)


@dataclass(frozen=True)
class ExplorerMap:
    """The explorer's map made ready to send (``ui.folium_frame``), with what
    ``views.explore_map.MapView`` says beside it."""

    frame: FoliumFrame
    legend: object | None
    message: str | None
    hotspot_note: str | None
    caption: str
    mapped: str | None = None


#: The map's key on the page (``st_folium(..., key=MAP_KEY)``).
MAP_KEY = "explore_map"
# Everything of the view the map depends on: filters, level, measure, class breaks, the layer
# it opens on and the hotspots toggle; not the clicked area (the panel, not the map, shows it).
_MAP_VIEW = (*FILTER_PARTS, "level", "measure", "scheme", "layer", "hotspots")


def load_explorer_map(principal: Principal, state: ExplorerState, *, counts: pd.DataFrame,
                      cells: pd.DataFrame | None, points, hotspots, note: str,
                      place: Place | None = None) -> ExplorerMap:
    """The explorer's map of ``state`` from the view's data (``load_area_counts``,
    ``load_cells``, ``load_points``, the hotspots or None), built and rendered once per view.

    A rerun with the same view (a click, a rerun of the page) gets the same text back, so it
    builds no map and Streamlit resends no map (``ui.folium_frame``). A found ``place``
    (``views.place_search``) fits the map to it and outlines it.
    """
    store = open_store()
    return _cached_explorer_map(store.url, store_fingerprint(store), principal,
                                view_key(state, *_MAP_VIEW), note, place, state, counts,
                                cells, points, hotspots)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_explorer_map(store_url, fingerprint, principal, key, note, place, _state, _counts,
                         _cells, _points, _hotspots):
    view = build_map(_state, counts=_counts, cells=_cells, points=_points, hotspots=_hotspots,
                     note=note)
    if place is not None:
        add_place(view.map, place.level, place.code, place_bounds(place))
    return ExplorerMap(folium_frame(view.map, key=MAP_KEY), view.legend, view.message,
                       view.hotspot_note, view.caption, view.mapped)


def load_outline(level: str, area: str | None) -> str | None:
    """The script of the bold outline of ``area`` (of ``level``) over the map
    (``ui.folium_frame``), or None when no area's panel is open."""
    return _cached_outline(level, area) if area else None


@st.cache_data(ttl="10m", max_entries=64, show_spinner=False)
def _cached_outline(level: str, area: str) -> str:
    return feature_group_script(selected_outline(replace(ExplorerState(), level=level,
                                                         area=area)))


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
    # The map modes' and the place's keys are read by ui.explore_modes.
    params = {key: st.query_params.get_all(key) for key in st.query_params
              if key not in OPTION_PARAMS}
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


def pending_area(state: ExplorerState, frame: FoliumFrame) -> str | None:
    """The area whose panel is open once this run has taken the map's last click: the one a
    new click (already in the session, not yet returned by the map) points at, else
    ``state.area``. For the outline, drawn with the map before ``keep_in_link`` runs."""
    clicked = st.session_state.get(frame.component_key)
    area = state.area
    if clicked is not None and str(clicked) != st.session_state.get(_CLICK):
        area = clicked_area(clicked, state.level) or state.area
    return selectable_area(area, state)


def keep_in_link(state: ExplorerState, clicked: dict | None,
                 options: dict[str, str] | None = None) -> ExplorerState:
    """Open the panel of a newly clicked area (``st_folium`` returns the last click on every
    run: only a different one is new), then write the view to the link, with ``options``
    (``ui.explore_modes.options_params``: map mode, place). An area outside the chosen
    districts ("not selected") opens no panel, and one left open closes."""
    if str(clicked) != st.session_state.get(_CLICK):
        st.session_state[_CLICK] = str(clicked)
        state = replace(state, area=clicked_area(clicked, state.level) or state.area)
    state = replace(state, area=selectable_area(state.area, state))
    params = to_query_params(state)
    link = {**params, **(options or {})}
    if link != {key: st.query_params.get_all(key) for key in st.query_params}:
        st.query_params.from_dict(link)
    st.session_state[_SYNCED] = params
    return state
