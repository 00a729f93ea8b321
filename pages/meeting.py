"""Meeting mode: a projector view for partnership chairs, stepped through with Previous / Next
(or a presentation clicker's keys: →/←, Page Down/Up, Space; ``ui.clicker``).

The link holds the meeting (``views.meeting``): period, district focus and step, so a chair can
prepare it and open it in the room. Ward and district figures only, suppressed as for a chair
whatever the role. The briefing pack (``reports.briefing``) downloads in one click.
"""
import streamlit as st
from streamlit_folium import st_folium

from geo.boundaries import DISTRICT_CODES
from ui import meeting_loaders as load
from ui.a11y import enable_chart_theme
from ui.clicker import bind_meeting_keys
from ui.loaders import stop_on_user_error, synthetic_banner
from ui.session import require_page_role
from views import meeting as mt
from views import meeting_steps
from views.hotspot_alerts import alert_lines, alert_summary
from views.kpis import TEST_NOTE

# Large type and strong contrast for a projector; the sidebar starts collapsed.
PROJECTOR_CSS = """<style>
[data-testid="stMain"] p, [data-testid="stMain"] li {font-size: 1.3rem;}
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {font-size: 3.6rem !important;
  font-weight: 800; color: #0b0c0c; line-height: 1.2;}
[data-baseweb="select"] div {font-size: 1.2rem;}
[data-testid="stMetricLabel"] p {font-size: 1.4rem; font-weight: 700;}
[data-testid="stMetricDelta"] div {font-size: 1.3rem;}
[data-testid="stTable"] table {font-size: 1.35rem;}
[data-testid="stTable"] th {background: #0b0c0c; color: #ffffff;}
.meeting-step {font-size: 2.4rem; font-weight: 800; border-bottom: 6px solid #0b0c0c;}
</style>"""

principal = require_page_role("meeting")
st.set_page_config(initial_sidebar_state="collapsed")
st.html(PROJECTOR_CSS)

with stop_on_user_error():
    periods = load.load_meeting_periods(principal)
if not periods:
    st.title("Meeting")
    st.info("The store holds no records yet, or they do not cover a whole calendar month: see "
            "the Overview page.", icon=":material/inventory_2:")
    st.stop()

state = load.open_meeting_link(principal, periods)
steps = mt.steps_for(principal.role)
position = steps.index(state.step)

with stop_on_user_error():
    data = load.load_meeting(principal, state)

st.title(f"Partnership meeting · {data.period.label} · {data.area_label}")
synthetic_banner(data.data_kind != "real")

# The pack button's label must fit whole at 1440 px with the sidebar open.
controls = st.columns([1.9, 1.9, 1.5, 0.6, 1.3, 2.6], vertical_alignment="bottom")
controls[0].selectbox("Period", periods, key=load.W_MEETING_PERIOD, on_change=load.meeting_choice,
                      args=(principal, periods),
                      format_func=load.period_titles(tuple(periods)).__getitem__)
controls[1].selectbox("District focus", [mt.ALL_DISTRICTS, *DISTRICT_CODES],
                      key=load.W_MEETING_DISTRICT, on_change=load.meeting_choice,
                      args=(principal, periods),
                      format_func=lambda c: DISTRICT_CODES.get(c, mt.WEST_YORKSHIRE))
controls[2].button("Previous", icon=":material/arrow_back:", on_click=load.meeting_step,
                   args=(principal, periods, -1), disabled=position == 0,
                   use_container_width=True, key="meeting_previous",
                   help="Or press ←, Page Up (a clicker's back button)")
controls[3].markdown(f"**{position + 1} / {len(steps)}**")
controls[4].button("Next", icon=":material/arrow_forward:", on_click=load.meeting_step,
                   args=(principal, periods, 1), disabled=position == len(steps) - 1,
                   use_container_width=True, key="meeting_next",
                   help="Or press →, Page Down or Space (a clicker's forward button)")
controls[5].download_button(
    "Briefing pack (PDF)", lambda: load.briefing_pdf(principal, state),
    file_name=f"briefing-{state.period}{'-' + state.district if state.district else ''}.pdf",
    mime="application/pdf", icon=":material/picture_as_pdf:", use_container_width=True,
    on_click="ignore")

st.markdown(f'<div class="meeting-step">{position + 1}. {mt.STEP_TITLES[state.step]}</div>',
            unsafe_allow_html=True)

if state.step == "headline":
    for column, kpi in zip(st.columns(len(data.kpis)), data.kpis):
        column.metric(kpi.title, kpi.display, delta=kpi.change_previous, delta_color="off",
                      border=True, help=f"Previous period: {kpi.previous_display}. Beyond "
                      f"normal variation: {meeting_steps.variation_text(kpi.beyond_previous)}")
    st.table(meeting_steps.kpi_frame(data))
    st.caption(f"{TEST_NOTE} Not tested (—) where a count is hidden or missing.")
elif state.step == "districts":
    st.table(data.districts)
    st.caption("Records in the period by district and feed; rate per 100,000 residents of all "
               "feeds.")
elif state.step == "hotspots":
    # What the hotspots cover, in the Hotspots page's words: first, on one line, so the room
    # reads it before the map and a long table push it off the screen.
    if coverage := meeting_steps.coverage_text(data):
        st.markdown(meeting_steps.markdown_text(coverage),
                    help=data.hotspot_coverage_help or None)
    # Even columns: the table fits beside the map without scrolling.
    map_column, table_column = st.columns([1, 1])
    with map_column:
        st_folium(meeting_steps.meeting_map(data), key="meeting_map", height=560,
                  returned_objects=[], use_container_width=True)
        st.caption("  ·  ".join(f":red[■] {label}" if n == 0 else f":violet[■] {label}"
                                for n, (_fill, _line, label) in
                                enumerate(meeting_steps.map_legend())))
    if len(data.hotspots):
        table_column.table(meeting_steps.hotspot_rows_by_rank(data.hotspots,
                                                                 data.hotspot_window))
        table_column.caption(meeting_steps.hotspot_caption(data),
                             help=meeting_steps.HOTSPOT_HELP)
    else:
        table_column.info(meeting_steps.no_hotspot_text(data), icon=":material/map:")
    if data.alerts is not None:   # new-hotspot alerts of the period's last month
        table_column.markdown(f"**{meeting_steps.markdown_text(alert_summary(data.alerts))}**")
        for line in alert_lines(data.alerts):
            table_column.markdown(f"- {meeting_steps.markdown_text(line)}")
elif state.step == "tasking":
    if data.tasks:
        st.markdown(f"**{meeting_steps.task_summary(data.tasks)}**")
        st.table(meeting_steps.task_frame(data.tasks))
    else:
        st.info(data.tasking_note, icon=":material/assignment:")
elif state.step == "trends":
    enable_chart_theme()
    st.altair_chart(meeting_steps.trend_chart(data), height=460, width="stretch")
    st.table(meeting_steps.kpi_frame(data)[["Trend"]])

st.caption(f"{data.area_label}, {data.period.label}. Small numbers are hidden: {data.note}")
bind_meeting_keys()  # a clicker's keys press Previous / Next (ui.clicker)
