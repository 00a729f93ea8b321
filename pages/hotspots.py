"""Hotspots: where the partnership should act, with the evidence, and the tasks set for them.

The hotspot model (``models.hotspots``, Kulldorff's Poisson scan against the resident
population) is fitted in the data layer for the viewer's role (``views.hotspots``): areas
and aggregates only, small numbers hidden for chairs. The fit is cached per filter set, so
panning the map, selecting a row or saving a task never refits. Tasks (``views.tasking``) are
kept in the store with their hotspot's polygon and place names.
"""
import datetime as dt
from functools import partial

import streamlit as st

from core import clock
from core.errors import TaskingError
from core.roles import may
from core.schema import AGE_GROUPS, FEEDS
from geo.boundaries import DISTRICT_CODES
from safeguards.disclosure import legend as disclosure_note
from ui import hotspot_loaders as load
from ui.a11y import enable_chart_theme
from ui.hotspot_map import load_hotspot_map, show_hotspot_map
from ui.loaders import audited_download, open_store_page, stop_on_user_error
from ui.session import require_page_role
from views.explore_dates import date_bounds
from views.explore_words import CATEGORY_TITLES, describe
from views.exports import labelled_csv, tasks_label
from views.hotspot_accuracy import METHOD_TEXT as ACCURACY_METHOD
from views.hotspot_alerts import NO_MONTH_TEXT as NO_ALERT_MONTH
from views.hotspot_alerts import (
    alert_heading,
    alert_month_note,
    alert_summary,
    alert_table_by_place,
)
from views.hotspot_notes import (
    coverage_help,
    coverage_note,
    monthly_chart_shown,
    monthly_note,
    ranking_note,
)
from views.hotspots import (
    TREND_HELP,
    explain,
    feed_breakdown,
    monthly_chart,
    ranked_table,
)
from views.overview import FEED_SHORT_TITLES
from views.task_outcome import tasks_table
from views.tasking import STATUS_TITLES, STATUSES

principal = require_page_role("hotspots")
st.title("Hotspots")
st.caption("Places with significantly more records than expected: from residents, or for "
           "Rosewood from the beds of open asylum accommodation sites when that layer is loaded "
           "(Poisson scan statistic, Monte-Carlo p-values). Select a row to zoom to it and see "
           "why it is a hotspot.")

period, synthetic = open_store_page(principal)

link = load.open_hotspots_link(principal, period)
with st.sidebar:
    st.subheader("Filters")
    bounds = date_bounds(principal.role, period)   # whole months for protected roles
    st.date_input("Period", key=load.H_DATES, min_value=bounds[0], max_value=bounds[1],
                  format="DD/MM/YYYY")
    st.multiselect("Feeds", list(FEEDS), key=load.H_FEEDS, format_func=FEED_SHORT_TITLES.get,
                   placeholder="All feeds")
    st.pills("Age group", AGE_GROUPS, key=load.H_AGES, selection_mode="multi",
             format_func=CATEGORY_TITLES.get)
    st.multiselect("Districts", list(DISTRICT_CODES), key=load.H_DISTRICTS,
                   format_func=DISTRICT_CODES.get, placeholder="All of West Yorkshire")
state = load.hotspots_state(principal, period, link)
note = describe(state, DISTRICT_CODES)

with stop_on_user_error():
    view = load.load_hotspots(principal, state)
load.audit_hotspots_filters(principal, state, view)
table = ranked_table(view)

if view.hotspots.empty and not view.left_out:
    st.info(f"No significant hotspot for these filters ({note}): no place has more records "
            "than its population predicts beyond chance.", icon=":material/check_circle:")
elif not view.hotspots.empty:
    st.caption(f"{len(table)} hotspots · {note}"
               + (f" · {disclosure_note(view.threshold)}" if view.suppressed else ""))
if coverage := coverage_note(view):
    st.caption(coverage, help=coverage_help(view) or None)
for line in view.notes:  # what each feed was measured against; events left out
    st.caption(line)

# -- new-hotspot alerts (issue 13 item 7): the last whole month of the chosen period ---------
with stop_on_user_error():
    alerts = load.load_alerts(principal, state, period)
if alerts is not None:
    st.header(alert_heading(alerts))
    st.caption(f"{alert_summary(alerts)}. {alert_month_note(alerts)} A new cluster is a place "
               "where records gather in that month as they did not before (a space-time scan "
               "against each place's own history); 'by chance' says how rarely chance alone "
               "would give one this strong."
               + (f" {disclosure_note(alerts.threshold)}" if alerts.suppressed else ""))
    if len(alerts.new):
        st.table(alert_table_by_place(alerts))
elif period is not None:
    st.header("New clusters")
    st.caption(NO_ALERT_MONTH)

# -- ranked table, map and explanation (issue 13 item 8) -----------------------------------
st.header("Ranked hotspots")
ranked_by = ranking_note(view)
st.caption(ranked_by)
selection = st.dataframe(
    table, key="hotspots_table", on_select="rerun", selection_mode="single-row",
    hide_index=True, width="stretch",
    # Rank and Place pinned: they stay in view when the grid scrolls sideways (a narrow window).
    column_config={
        "Rank": st.column_config.NumberColumn(width="small", pinned=True, help=ranked_by),
        "Place": st.column_config.TextColumn(pinned=True),
        "Strength": st.column_config.NumberColumn(
            format="%.1f", help="The scan's log-likelihood ratio: what the rank follows"),
        "Relative risk": st.column_config.NumberColumn(
            format="%.1f", help="Rate inside ÷ rate outside (blank: hidden with a small "
                                "count). Not what ranks the hotspots: see Rank"),
        "p-value": st.column_config.NumberColumn(format="%.3f"),
        "Trend": st.column_config.TextColumn(help=TREND_HELP),
        "Cross-feed": st.column_config.CheckboxColumn(
            help="Two or more feeds each have a hotspot here"),
        "Shares a ward with": st.column_config.TextColumn(
            help="Ranks of the other hotspots in one of this hotspot's wards: a large ward "
                 "can hold two")})
rows = selection.selection.rows if selection else []
selected = view.ids[rows[0]] if rows and rows[0] < len(view.ids) else None

map_column, side = st.columns([3, 2])
with map_column:
    # returned_objects=[]: a pan, zoom or click on the map never reruns the page. The key
    # names the filters and the selection (streamlit-folium also hashes the script into its
    # component key); the zoom to a selected hotspot is maps.hotspot_layer.ZoomWhenSized.
    # Built and rendered once per view (ui/hotspot_map.py): a rerun resends no map.
    show_hotspot_map(load_hotspot_map(principal, state, selected, view=view, alerts=alerts,
                                      key=load.map_key(state, selected)))
    st.caption("Numbers on the map are the hotspots' ranks. Hover a hotspot for its figures.")

with side:
    if selected is None:
        st.caption("Select a row of the table to zoom to that hotspot and explain it.")
    else:
        row = view.row(selected)
        st.subheader(f"{row['rank']}. {row['place']}")
        st.write(explain(view, selected))
        month_note = monthly_note(view, selected)
        if monthly_chart_shown(view, selected):
            enable_chart_theme()
            st.altair_chart(monthly_chart(view, selected), height=200, width="stretch")
        if month_note:
            st.caption(month_note)
        st.dataframe(feed_breakdown(view, selected), hide_index=True)
        st.caption("Wards: " + ", ".join(row["wards"]))

# -- accuracy on the store's own recent past (issue 13 item 5) ------------------------------
st.header("How well did it do?",
          help="Rolling-origin backtest on this store's own records, with these filters. "
               + ACCURACY_METHOD)
with stop_on_user_error():
    accuracy = load.load_hotspot_accuracy(principal, state)
st.write(accuracy.sentence)
if accuracy.shown:
    st.dataframe(accuracy.table(), key="hotspots_accuracy", hide_index=True,
                 column_config={
                     "Hit rate": st.column_config.TextColumn(
                         help="Share of each next month's records inside"),
                     "PAI": st.column_config.NumberColumn(
                         format="%.1f", help="Hit rate ÷ share of West Yorkshire's area; 1 is "
                                             "what a random area of that size catches")})

# -- tasking -------------------------------------------------------------------------------
st.divider()
st.header("Tasking")
book = load.task_book(principal)
can_task = may(principal.role, "tasking")
if can_task and not view.hotspots.empty:
    labels = {hid: f"{rank}. {place}" for hid, rank, place in
              zip(view.ids, view.hotspots["rank"], view.hotspots["place"])}
    with st.form("hotspots_new_task", clear_on_submit=True):
        st.markdown("**New task**")
        hotspot = st.selectbox("Hotspot", view.ids, format_func=labels.get,
                               index=view.ids.index(selected) if selected in view.ids else 0)
        agency = st.selectbox("Lead agency", book.agencies)
        action = st.text_area("Action", max_chars=500,
                              placeholder="What the lead agency will do, e.g. joint visit to "
                                          "the premises named in recent referrals")
        due = st.date_input("Due", value=clock.today() + dt.timedelta(days=28),
                            format="DD/MM/YYYY")
        if st.form_submit_button("Create task", icon=":material/add_task:"):
            try:
                task = book.create(view.row(hotspot), lead_agency=agency, action=action, due=due,
                                   feeds=view.feeds, filters=view.filters)
                st.success(f"Task {task.task_id} created for {task.place}.",
                           icon=":material/task_alt:")
            except TaskingError as exc:
                st.error(str(exc), icon=":material/error:")
elif not can_task:
    st.caption("Partnership chairs create and update tasks; analysts see them here.")

with stop_on_user_error():
    tasks = book.tasks()
    outcomes = load.load_outcomes(principal, tasks)
if not tasks:
    st.caption("No tasks yet.")
else:
    listing = tasks_table(tasks, outcomes)
    st.dataframe(listing, key="hotspots_tasks", hide_index=True, width="stretch")
    downloads = st.columns(2)
    downloads[0].download_button(
        "Tasks (CSV)",
        audited_download(lambda: labelled_csv(listing, tasks_label(principal.role, synthetic)),
                         partial(load.audit_hotspots, principal, "export", state,
                                 detail="csv: tasking list", records=len(tasks))),
        file_name=f"tasking-{clock.today()}.csv", mime="text/csv",
        icon=":material/download:", on_click="ignore")
    downloads[1].download_button(
        "Tasking sheet (PDF)",
        audited_download(
            lambda: load.tasking_sheet_pdf(tasks, outcomes=outcomes, synthetic=synthetic,
                                           generated_by=principal.user),
            partial(load.audit_hotspots, principal, "export", state,
                    detail="pdf: tasking sheet", records=len(tasks))),
        file_name=f"tasking-sheet-{clock.today()}.pdf", mime="application/pdf",
        icon=":material/picture_as_pdf:", on_click="ignore")
    done = [t for t in tasks if t.status == "done"]
    if done:
        st.markdown("**Done tasks: events in the hotspot before and after**")
        for column, task in zip(st.columns(min(len(done), 3)) * len(done), done):
            result = outcomes[task.task_id]
            with column.container(border=True):
                st.markdown(f"**{task.task_id}** · {task.place}")
                if result.before_period is None:
                    st.caption(result.note.capitalize() + ".")
                    continue
                before, after = st.columns(2)
                before.metric("Before", result.before_display)
                after.metric("After", result.after_display)
                st.caption(result.note.capitalize() + "."
                           + (f" {disclosure_note(result.threshold)}"
                              if result.threshold > 1 else ""))
    if can_task:
        st.markdown("**Update a task**")
        by_id = {t.task_id: t for t in tasks}
        task_id = st.selectbox("Task", list(by_id), key="hotspots_edit_task_id",
                               format_func=lambda i: f"{i} · {by_id[i].place} · "
                                                     f"{by_id[i].lead_agency}")
        current = by_id[task_id]
        with st.form("hotspots_edit_task"):
            # Keyed on the task, so the fields show the chosen task's values.
            status = st.selectbox("Status", STATUSES, format_func=STATUS_TITLES.get,
                                  index=STATUSES.index(current.status),
                                  key=f"hotspots_status_{task_id}")
            agencies = list(dict.fromkeys([*book.agencies, current.lead_agency]))
            agency = st.selectbox("Lead agency", agencies,
                                  index=agencies.index(current.lead_agency),
                                  key=f"hotspots_agency_{task_id}")
            due = st.date_input("Due", value=current.due, format="DD/MM/YYYY",
                                key=f"hotspots_due_{task_id}")
            edited_action = st.text_area("Action", value=current.action, max_chars=500,
                                         key=f"hotspots_action_{task_id}")
            if st.form_submit_button("Save", icon=":material/save:"):
                try:
                    book.update(task_id, status=status, due=due, lead_agency=agency,
                                action=edited_action)
                    st.rerun()
                except TaskingError as exc:
                    st.error(str(exc), icon=":material/error:")
