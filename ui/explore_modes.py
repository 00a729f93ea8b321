"""The explorer's map modes on the page: twin map, month by month, and the place search.

The view models are ``views.explore_twin``, ``views.explore_frames`` and
``views.place_search``; the link format is ``views.explore_options``. Everything is read
through the role-scoped query (``ui.loaders.store_query``), keyed like the explorer's other loaders
(``ui.explore_loaders``): the store's content, the whole Principal and the view.

Month by month plays in a fragment (``st.fragment(run_every=...)``): while playing, only the
slider and the map rerun, a step every :data:`PLAY_SECONDS`; each month's map is rendered once
per view and cached, so a step sends a map already made. Nothing moves until Play is pressed
(no autoplay: a moving map is not forced on anyone, prefers-reduced-motion or not), and the
slider steps by keyboard (arrow keys) like the Play/Pause button.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from safeguards.access import Principal
from storage.base import store_fingerprint
from storage.open import open_store
from ui.explore_loaders import audit_explorer
from ui.folium_frame import FoliumFrame, folium_frame, show_folium
from ui.loaders import FILTER_PARTS, store_query, view_key
from views.explore_frames import MonthFrames, frame_map, frame_table, month_frames
from views.explore_map import legend_html
from views.explore_options import (
    MODE_TITLES,
    MODES,
    ExploreOptions,
    month_title,
    options_from_params,
    options_to_params,
    period_months,
)
from views.explore_twin import build_twin, twin_counts, twin_table
from views.overview import FEED_SHORT_TITLES
from views.place_search import Place, find_place, place_by_code, place_labels
from views.viewstate import filter_key

W_MODE, W_LEFT, W_RIGHT, W_MONTH, W_PLACE, W_PLAYING = (
    "explore_mode", "explore_twin_left", "explore_twin_right", "explore_month",
    "explore_place", "explore_playing")
_SYNCED, _PLACE_NOTE, _AUDITED, _LAST_PLACE = (
    "explore_options_synced", "explore_place_note", "explore_mode_audited", "explore_last_place")
#: Seconds between two months while playing.
PLAY_SECONDS = 1.5
MAP_HEIGHT = 500
_MAP_VIEW = (*FILTER_PARTS, "level", "measure", "scheme")


# -- the link and the controls ---------------------------------------------------------------
def open_options_link(principal: Principal, state) -> ExploreOptions:
    """The options the link asks for; a link just opened (or changed) fills the widgets and
    says once what it held that could not be used."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    link = options_from_params(params, role=principal.role, start=state.start, end=state.end)
    if st.session_state.get(_SYNCED) != options_to_params(link) or W_MODE not in st.session_state:
        months = period_months(state.start, state.end)
        st.session_state.update({
            W_MODE: link.mode, W_LEFT: link.left, W_RIGHT: link.right,
            W_MONTH: link.month or (months[-1] if months else None),
            W_PLACE: link.place.code if link.place else None, W_PLAYING: False})
        st.session_state[_SYNCED] = options_to_params(link)
        for warning in link.warnings:
            st.warning(f"Part of the link was not used: {warning}.", icon=":material/link_off:")
    return link


def option_controls(principal: Principal, state) -> ExploreOptions:
    """The map view choice, the twin map's feeds and the place search; the options they show."""
    labels = place_labels(principal.role)
    view, search = st.columns([2, 3], vertical_alignment="bottom")
    view.radio("Map view", MODES, key=W_MODE, format_func=MODE_TITLES.get, horizontal=True,
               help="Twin map: two feeds side by side with the same classes. Month by month: "
                    "one map per month, the same classes in every month.")
    levels = "ward, LSOA or district" if any(c.startswith("E01") for c in labels) else \
        "ward or district"
    search.selectbox(f"Find a place ({levels})", list(labels), key=W_PLACE, index=None,
                     format_func=lambda code: labels.get(code, str(code)),
                     placeholder=f"Type a {levels} name", accept_new_options=True,
                     on_change=_resolve_typed_place, args=(principal.role,),
                     help="The map goes to the place and outlines it; the figures stay as the "
                          "filters make them.")
    note = st.session_state.pop(_PLACE_NOTE, None)
    if note:
        st.info(note, icon=":material/travel_explore:")
    mode = st.session_state.get(W_MODE) or "map"
    if mode == "twin":
        left, right = st.columns(2)
        left.selectbox("Left map", tuple(FEED_SHORT_TITLES), key=W_LEFT,
                       format_func=FEED_SHORT_TITLES.get)
        right.selectbox("Right map (compare with)", tuple(FEED_SHORT_TITLES), key=W_RIGHT,
                        format_func=FEED_SHORT_TITLES.get)
    code = st.session_state.get(W_PLACE)
    place = place_by_code(code, principal.role).place if code else None
    st.session_state[_LAST_PLACE] = place.code if place else None
    months = period_months(state.start, state.end)
    month = st.session_state.get(W_MONTH)
    return ExploreOptions(mode=mode, left=st.session_state.get(W_LEFT, "nrm"),
                          right=st.session_state.get(W_RIGHT, "rosewood"),
                          month=month if month in months else (months[-1] if months else None),
                          place=place)


def _resolve_typed_place(role: str) -> None:
    """A typed name that is not one of the options: go to the place it names, or say why not."""
    value = st.session_state.get(W_PLACE)
    if value is None or place_by_code(value, role).place is not None:
        return
    found = find_place(value, role)
    # Nothing found: the map stays where it was (the place found before, if any).
    st.session_state[W_PLACE] = found.place.code if found.place else \
        st.session_state.get(_LAST_PLACE)
    if found.message:
        st.session_state[_PLACE_NOTE] = found.message


def options_params(options: ExploreOptions) -> dict[str, str]:
    """What the options add to the link (``ui.explore_loaders.keep_in_link``); remembered, so a
    rerun does not take its own link for a new one."""
    params = options_to_params(options)
    st.session_state[_SYNCED] = params
    return params


# -- twin map --------------------------------------------------------------------------------
@dataclass(frozen=True)
class TwinFrames:
    left: FoliumFrame
    right: FoliumFrame
    legend: object
    table: pd.DataFrame
    records: int


def show_twin(principal: Principal, state, options: ExploreOptions, *, note: str,
              threshold: int | None) -> None:
    """The two maps side by side, the shared legend and the table equivalent."""
    if options.left == options.right:
        st.info("Choose two different feeds to compare.", icon=":material/compare:")
        return
    store = open_store()
    twin = _cached_twin(store.url, store_fingerprint(store), principal,
                        view_key(state, *_MAP_VIEW), options.left, options.right,
                        options.place, note, state)
    _audit_once(principal, state, ("twin", options.left, options.right),
                f"twin map: {options.left} vs {options.right}", twin.records)
    left, right = st.columns(2)
    for column, frame in ((left, twin.left), (right, twin.right)):
        with column:
            show_folium(frame, height=MAP_HEIGHT, returned_objects=[])
    st.html(legend_html(twin.legend, threshold=threshold))
    st.subheader("Table: both feeds by area")
    st.caption(f"{FEED_SHORT_TITLES[options.left]} and {FEED_SHORT_TITLES[options.right]} in "
               "each area, and the difference (left minus right; hidden where either figure "
               "is). Sort by any column.")
    st.dataframe(twin.table, hide_index=True, width="stretch", height=320)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_twin(store_url, fingerprint, principal, key, left, right, place, note, _state):
    query = store_query(store_url, principal)
    left_counts, right_counts = twin_counts(query, _state, left, right)
    maps = build_twin(_state, left, right, left_counts, right_counts, note=note, place=place)
    table = twin_table(_state, left, right, left_counts, right_counts)
    records = sum(int(pd.to_numeric(c["count"], errors="coerce").fillna(0).sum())
                  for c in (left_counts, right_counts))
    return TwinFrames(folium_frame(maps.left, key="explore_twin_left"),
                      folium_frame(maps.right, key="explore_twin_right"), maps.legend, table,
                      records)


# -- month by month --------------------------------------------------------------------------
def show_months(principal: Principal, state, options: ExploreOptions, *, note: str,
                threshold: int | None) -> None:
    """The month slider, Play/Pause and the month's map, in a fragment; then the table."""
    frames = load_frames(principal, state)
    if not frames.months:
        st.info("No months to show: the store holds no data.")
        return
    _audit_once(principal, state, ("months",), f"month by month: {frames.months[0]} to "
                f"{frames.months[-1]}", None)
    if st.session_state.get(W_MONTH) not in frames.months:
        st.session_state[W_MONTH] = options.month or frames.months[-1]
    playing = bool(st.session_state.get(W_PLAYING))

    def toggle() -> None:   # a callback: it runs before the slider is drawn again
        now = bool(st.session_state.get(W_PLAYING))
        if not now and st.session_state.get(W_MONTH) == frames.months[-1]:
            st.session_state[W_MONTH] = frames.months[0]   # play from the start
        st.session_state[W_PLAYING] = not now

    @st.fragment(run_every=PLAY_SECONDS if playing else None)
    def player() -> None:
        if bool(st.session_state.get(W_PLAYING)) != playing:
            st.rerun()   # Play or Pause pressed: the whole page, to start or stop the timer
        if playing:
            at = frames.months.index(st.session_state[W_MONTH])
            if at + 1 >= len(frames.months):   # the last month: stop there
                st.session_state[W_PLAYING] = False
                st.rerun()
            st.session_state[W_MONTH] = frames.months[at + 1]
        slider, button = st.columns([6, 1], vertical_alignment="bottom")
        slider.select_slider("Month", frames.months, key=W_MONTH, format_func=month_title,
                             help="Step with the arrow keys. The classes are the same in "
                                  "every month of the period.")
        button.button("Pause" if playing else "Play", on_click=toggle,
                      icon=":material/pause:" if playing else ":material/play_arrow:",
                      width="stretch",
                      help="Stop stepping" if playing else
                           f"Step through the months, one every {PLAY_SECONDS:g} seconds")
        month = st.session_state[W_MONTH]
        frame, legend = load_frame_map(principal, state, frames, month, options.place, note)
        st.query_params["month"] = month
        st.session_state[_SYNCED] = options_to_params(replace(options, month=month))
        show_folium(frame, height=MAP_HEIGHT + 60, returned_objects=[])
        st.caption(f"Showing {frames.titles[month]}.")
        st.html(legend_html(legend, threshold=threshold))

    player()
    with st.expander("Table: every month by area"):
        st.dataframe(frame_table(state, frames), hide_index=True, width="stretch")


def load_frames(principal: Principal, state) -> MonthFrames:
    """Every month's area counts of the view and the breaks fixed over them (cached)."""
    store = open_store()
    return _cached_frames(store.url, store_fingerprint(store), principal,
                          view_key(state, *_MAP_VIEW), state)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_frames(store_url, fingerprint, principal, key, _state):
    return month_frames(store_query(store_url, principal), _state)


def load_frame_map(principal: Principal, state, frames: MonthFrames, month: str,
                   place: Place | None, note: str):
    """One month's map, rendered once per view and month: (FoliumFrame, legend)."""
    store = open_store()
    return _cached_frame_map(store.url, store_fingerprint(store), principal,
                             view_key(state, *_MAP_VIEW), month, place, note, state, frames)


@st.cache_data(ttl="10m", max_entries=128, show_spinner=False)
def _cached_frame_map(store_url, fingerprint, principal, key, month, place, note, _state,
                      _frames):
    m, legend = frame_map(_state, _frames, month, note=note, place=place)
    return folium_frame(m, key="explore_frame"), legend


def _audit_once(principal: Principal, state, what: tuple, detail: str,
                records: int | None) -> None:
    key = (what, filter_key(state), state.level)
    if st.session_state.get(_AUDITED) != key:
        st.session_state[_AUDITED] = key
        audit_explorer(principal, "filter-change", state, records=records, detail=detail)


__all__ = (
    "W_MODE",
    "W_MONTH",
    "W_PLACE",
    "open_options_link",
    "option_controls",
    "options_params",
    "show_months",
    "show_twin",
)
