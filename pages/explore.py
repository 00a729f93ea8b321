"""Explore: records by area on a map, with the filters and map choices kept in the link.

The link is the source of truth (``views.viewstate``): a link just opened fills the widgets, and
every change is written back to it, so a copied URL opens the same view. A click on an area
opens its panel (``views.explore.area_details``). Everything is read through the role-scoped
query layer: a chair gets district and ward areas only, with small numbers hidden.
"""
from functools import partial

import streamlit as st

from core.schema import AGE_GROUPS, FEEDS
from geo.boundaries import DISTRICT_CODES
from safeguards.disclosure import legend as disclosure_note
from ui import explore_loaders as load
from ui import explore_modes as modes
from ui.a11y import enable_chart_theme
from ui.folium_frame import show_folium
from ui.hotspot_loaders import load_hotspots
from ui.loaders import audited_download, open_store_page, stop_on_user_error
from ui.session import require_page_role
from views import explore_dates
from views import viewstate as vs
from views.explore import breakdown_frame, monthly_chart, threshold_of
from views.explore_map import legend_html, selected_counts
from views.explore_words import CATEGORY_TITLES, describe
from views.exports import area_table, explorer_label, explorer_map_file, labelled_csv
from views.overview import FEED_SHORT_TITLES

principal = require_page_role("explore")
st.title("Explore")
st.caption("Records by area for the filters in the sidebar. The link in the address bar keeps "
           "the view: copy it to share exactly this map.")

period, synthetic = open_store_page(principal)

link = load.open_explorer_link(principal, period)
modes.open_options_link(principal, link)


def pick_dates(name: str) -> None:
    st.session_state[vs.W_DATES] = explore_dates.quick_range(name, period)


def close_panel() -> None:
    st.query_params.pop(vs.P_AREA, None)


with st.sidebar:
    st.subheader("Filters")
    bounds = explore_dates.date_bounds(principal.role, period)   # whole months for protected roles
    st.date_input("Period", key=vs.W_DATES, min_value=bounds[0], max_value=bounds[1],
                  format="DD/MM/YYYY")
    for column, (name, label) in zip(st.columns(2) * 2, explore_dates.QUICK_RANGES.items()):
        column.button(label, key=f"explore_quick_{name}", on_click=pick_dates, args=(name,),
                      use_container_width=True)
    st.caption(f"Quick picks count back from the last date in the data "
               f"({period[1]:%d %b %Y}), not from today.")
    title = CATEGORY_TITLES.get
    st.multiselect("Feeds", list(FEEDS), key=vs.W_FEEDS, format_func=FEED_SHORT_TITLES.get,
                   placeholder="All feeds")
    st.pills("Age group", AGE_GROUPS, key=vs.W_AGES, selection_mode="multi", format_func=title)
    st.multiselect("NRM exploitation type", vs.EXPLOITATION_TYPES, key=vs.W_TYPES,
                   format_func=title, placeholder="Any type")
    st.radio("Rosewood status", vs.STATUS_CHOICES, key=vs.W_STATUS, horizontal=True,
             format_func=lambda s: "Any" if s == vs.ANY_STATUS else title(s))
    st.multiselect("Mandevilla indicator", vs.INDICATORS, key=vs.W_INDICATORS,
                   format_func=title, placeholder="Any indicator")
    st.multiselect("Districts", list(DISTRICT_CODES), key=vs.W_DISTRICTS,
                   format_func=DISTRICT_CODES.get, placeholder="All of West Yorkshire")

state = load.explorer_state(principal, period, link)
note = describe(state, DISTRICT_CODES)

with stop_on_user_error():
    load.share_view_reads(principal, state)   # one read per feed for the figures below
    headline = load.load_headline(principal, state, period[0])
load.audit_explorer_filters(principal, state, headline)
for column, feed in zip(st.columns(len(headline.feeds)), headline.feeds):
    column.metric(feed.title, feed.display, delta=feed.change, delta_color="off", border=True,
                  help=f"Previous period ({headline.previous_label}): {feed.previous_display}")
comparison = (f"{headline.period_label}: {headline.comparison_note}." if headline.comparison_note
              else f"{headline.period_label}; changes against {headline.previous_label}, the "
                   "same number of days just before.")
st.caption(comparison + " "
           + (disclosure_note(headline.threshold) if headline.suppressed else ""))

layer_choice = len(vs.allowed_layers(principal.role)) > 1
controls = iter(st.columns(4 if layer_choice else 3))
if layer_choice:
    next(controls).selectbox("Map opens on", vs.allowed_layers(principal.role), key=vs.W_LAYER,
                             format_func=vs.LAYER_TITLES.get)
next(controls).selectbox("Areas", vs.allowed_levels(principal.role), key=vs.W_LEVEL,
                         format_func=vs.LEVEL_TITLES.get)
next(controls).selectbox("Measure", vs.MEASURES, key=vs.W_MEASURE,
                         format_func=vs.MEASURE_TITLES.get)
next(controls).selectbox("Class breaks", vs.SCHEMES, key=vs.W_SCHEME,
                         format_func=vs.SCHEME_TITLES.get)
if vs.may_see_hotspots(principal.role):
    st.toggle("Show hotspots", key=vs.W_HOTSPOTS,
              help="Outline the hotspot model's hotspots for these filters. The model takes a "
                   "few seconds the first time for each set of filters.")

options = modes.option_controls(principal, state)
threshold = threshold_of(principal.role, state.feeds)
if options.mode != "map":
    # Twin map and month by month: areas only, each with its own table; no area panel.
    with stop_on_user_error():
        if options.mode == "twin":
            modes.show_twin(principal, state, options, note=note,
                            threshold=threshold_of(principal.role, (options.left,
                                                                    options.right)))
        else:
            modes.show_months(principal, state, options, note=note, threshold=threshold)
    load.keep_in_link(state, None, modes.options_params(options))
    st.stop()

with stop_on_user_error():
    counts = load.load_area_counts(principal, state)
    cells = load.load_cells(principal, state)
    points = load.load_points(principal, state, cells)
    hotspots = load_hotspots(principal, state).hotspots if state.hotspots else None
    view = load.load_explorer_map(principal, state, counts=counts, cells=cells, points=points,
                                  hotspots=hotspots, note=note, place=options.place)
table_counts = selected_counts(counts, state)   # the chosen districts' areas only
shown = load.table_records(table_counts)  # the records the downloads hold, for their audit

# The area whose panel is open, with a click this run takes into account: outlined on the map,
# its panel beside it (the map narrower while it is open).
area = load.pending_area(state, view.frame)
map_column, side = st.columns([5, 2] if area else [3, 1])
with map_column:
    # The map as st_folium(..., render=False) sends it, rendered once per view
    # (ui.folium_frame): an unchanged view rebuilds and resends nothing. The outline is drawn
    # over it in the browser, without drawing the map again.
    clicked = show_folium(view.frame, height=560, use_container_width=True,
                          returned_objects=["last_object_clicked", "last_active_drawing"],
                          feature_group=load.load_outline(state.level, area))
state = load.keep_in_link(state, clicked, modes.options_params(options))
details = None
if state.area is not None:
    with stop_on_user_error():
        details = load.load_area_details(principal, state, period[0])

with side:
    if details is not None:
        with st.container(border=True):
            head, close = st.columns([3, 1], vertical_alignment="center")
            head.subheader(details.name)
            close.button("Close", icon=":material/close:", on_click=close_panel,
                         help="Close the panel")
            estimate = " (estimate)" if details.population_estimate else ""
            # The filters are the legend's (below); the panel stays short enough to be seen
            # beside the map without scrolling.
            st.caption(f"{vs.LEVEL_TITLES[details.level]} in {details.district} · "
                       f"{details.population:,} residents{estimate}")
            st.metric("Records", details.display, border=True)
            st.metric("Per 100,000 residents", details.rate_display, border=True,
                      help=details.rank_display)
            st.markdown(f"**Rank:** {details.rank_display}")
            st.metric("Previous period", details.previous_display, border=True,
                      delta=details.change or None, delta_color="off",
                      help=headline.comparison_note or None)
    if view.legend is not None:
        st.html(legend_html(view.legend, threshold=threshold))
    else:
        st.caption(view.caption)
    if view.message:
        st.info(view.message, icon=":material/scatter_plot:")
    if view.mapped:
        st.caption(view.mapped)
    if view.hotspot_note:
        st.caption(view.hotspot_note)
    st.download_button(
        "Table (CSV)",
        audited_download(lambda: labelled_csv(
                             area_table(table_counts, state.level), explorer_label(
                                 state, role=principal.role, synthetic=synthetic,
                                 contents=f"{vs.LEVEL_TITLES[state.level]} table")),
                         partial(load.audit_explorer, principal, "export", state,
                                 detail=f"csv: {state.level} table", records=shown)),
        file_name=f"explore-{state.level}-{state.start}-{state.end}.csv", mime="text/csv",
        on_click="ignore", icon=":material/download:", use_container_width=True)
    st.download_button(
        "Map (HTML)",
        audited_download(
            lambda: explorer_map_file(state, counts=counts, cells=cells, note=note,
                                      synthetic=synthetic, threshold=threshold),
            partial(load.audit_explorer, principal, "export", state,
                    detail="map: html, areas and hexagons", records=shown)),
        file_name=f"explore-map-{state.start}-{state.end}.html", mime="text/html",
        on_click="ignore", icon=":material/map:",
        use_container_width=True)
    st.caption("The map file works offline. It holds the areas"
               + (" and hexagons; never the heat map or points." if cells is not None else "."))


if details is None:
    st.caption("Click an area on the map for its records by month, breakdowns, rate, rank and "
               "change against the previous period; it is outlined on the map and its panel "
               "opens beside it.")
else:
    with st.container(border=True):
        # The title is Vega's text, never markup.
        enable_chart_theme()
        st.altair_chart(monthly_chart(details).properties(
            title=f"{details.name}: records by month"), height=240, width="stretch")
        for column, breakdown in zip(st.columns(3) * 2, details.breakdowns):
            if breakdown.rows is None:
                column.caption(f"**{breakdown.title}**: {breakdown.note}")
                continue
            column.dataframe(breakdown_frame(breakdown), hide_index=True)
            if breakdown.note:
                column.caption(breakdown.note)
        if details.suppressed:
            st.caption(disclosure_note(details.threshold))
