"""Trends: better or worse, and where; then this month or quarter against the one before and
the same one last year, by feed.

For the Deputy Mayor's office (and chairs and analysts). The page opens on a plain-English
summary (``views.trend_summary``): the last whole quarter and the quarter to date, one sentence
per feed, the method behind a help icon. Whole calendar months or quarters only,
chosen in the link (``?period=2026-10`` or ``?period=2026-Q3``). The figures come from
``views.kpis``, ``views.trend_series`` and ``views.trend_flags`` through the role-scoped query
layer, so a chair or executive sees them after small-number suppression. One chart per
section: the district series of one feed (small multiples in one chart) and one chart of the
other measures, each picked above it and kept in the link (``views.trend_sections``); every
table (CSV) and chart (PNG) downloads through one picker and one button at the end, the file
made and audited on the click (``ui.trends_downloads``).
"""
from functools import partial

import streamlit as st

from core.periods import FREQ_TITLES as PERIOD_NOUNS
from core.schema import FEEDS
from safeguards.disclosure import legend as disclosure_note
from ui import trends_downloads as downloads
from ui import trends_loaders as load
from ui.chart_specs import draw_spec
from ui.loaders import load_synthetic, stop_on_user_error, synthetic_banner
from ui.session import require_page_role
from views import (
    feed_tables,
    kpis,
    trend_flags,
    trend_multiples,
    trend_sections,
    trend_series,
    trend_summary,
)
from views.trend_charts import measure_chart as measure_chart_of

FREQ_TITLES = {"M": "Months", "Q": "Quarters"}
MEASURE_TITLES = {"count": "Records", "rate": "Per 100,000 residents"}
MULTIPLES_WIDTH = 190  # px per district panel: three to a row (axes included) fit 820 px

principal = require_page_role("trends")
st.title("Trends")

with stop_on_user_error():
    synthetic = load_synthetic()
    choices = load.load_trend_periods(principal)
synthetic_banner(synthetic)

link = load.open_trends_link(choices)
if link is None:
    st.info("The data do not cover a whole calendar month yet: see the Overview page.",
            icon=":material/inventory_2:")
    st.stop()

# -- better or worse, and where ---------------------------------------------------------------
with stop_on_user_error():
    summary = load.load_trend_summary(principal)
with st.container(key="trend-summary"):
    st.header("Better or worse, and where", help=trend_summary.METHOD_NOTE)
    if not summary:
        st.info("The data do not cover a whole quarter yet: see the periods below.",
                icon=":material/inventory_2:")
    for block in summary:
        st.markdown(f"**{block.heading}**")
        for feed_summary in block.feeds:
            st.markdown(f"**{trend_summary.VERDICTS[feed_summary.verdict]}** · "
                        f"{feed_summary.sentence}")

st.header("Detail by month or quarter")
st.caption("Whole calendar months or quarters, each against the one before and the same one a "
           "year earlier. The link in the address bar keeps the period.")
controls = st.columns([1, 2, 2])
controls[0].radio("Compare", [f for f in FREQ_TITLES if choices[f]], key="trends_freq",
                  format_func=FREQ_TITLES.get, horizontal=True)
freq = st.session_state["trends_freq"]
controls[1].selectbox("Period", choices[freq], key=f"trends_period_{freq}",
                      format_func=kpis.period_title)
controls[2].radio("Series show", list(MEASURE_TITLES), key="trends_measure",
                  format_func=MEASURE_TITLES.get, horizontal=True)
view = load.keep_trends_in_link(choices)
label = kpis.period_title(view.period)

# -- KPI tiles --------------------------------------------------------------------------------
with stop_on_user_error():
    panels = load.load_period_panels(principal, view.period)
st.subheader(f"{label}: records per feed")
for column, tile in zip(st.columns(len(panels["kpi_tiles"])), panels["kpi_tiles"]):
    column.metric(tile["title"], tile["value"], delta=tile["delta"], delta_color="off",
                  border=True, help=tile["help"])
    column.caption(tile["note"])
threshold = panels["threshold"]
st.caption(trend_summary.PLAIN_TEST_NOTE, help=kpis.TEST_NOTE)
if threshold > 1:
    st.caption(trend_summary.hidden_note(threshold), help=disclosure_note(threshold))


# -- series by district: one feed at a time, its small multiples in one chart -----------------
# Fragments: a section's own picker reruns that section only; the other sections' charts are
# neither built nor sent until picked (the choice is kept in the link).
@st.fragment
def district_series() -> None:
    st.segmented_control("Feed", list(FEEDS), key=load.W_FEED, required=True,
                         format_func=feed_tables.FEED_SHORT_TITLES.get)
    load.keep_trends_in_link(choices)      # a fragment's run: the new choice into the link
    feed = load.chosen_sections().feed
    with stop_on_user_error():
        series = load.load_area_series(principal, feed, freq, view.measure)
    title = f"{feed_tables.FEED_SHORT_TITLES[feed]}: {MEASURE_TITLES[view.measure].lower()}"
    draw_spec(load.load_chart_spec(
        principal, ("multiples", feed, freq, view.measure, synthetic),
        partial(trend_multiples.small_multiples, series, measure=view.measure, freq=freq,
                title=title, synthetic=synthetic, width=MULTIPLES_WIDTH, notes=False)),
        width="content")
    st.caption(trend_sections.chart_caption(
        title, f"one point per {PERIOD_NOUNS[freq]}, West Yorkshire on its own scale, then "
        "one panel per district on a shared scale",
        f"{feed_tables.FEED_SHORT_TITLES[feed]} by district (CSV)"))


st.subheader(f"{MEASURE_TITLES[view.measure]} by district, per {PERIOD_NOUNS[freq]}")
st.caption(trend_multiples.HIDDEN_NOTE)
district_series()

# -- the other measures -----------------------------------------------------------------------
st.subheader(f"{label}: other measures")
for column, (feed, tiles) in zip(st.columns(3), panels["measure_tiles"]):
    column.markdown(f"**{feed_tables.FEED_SHORT_TITLES[feed]}**")
    for tile in tiles:
        column.metric(tile["tile_title"], tile["display"], border=True,
                      help=f"Previous: {tile['previous_display']}; "
                           f"last year: {tile['last_year_display']}")


@st.fragment
def measure_chart() -> None:
    st.segmented_control("Chart", list(trend_sections.CHART_TITLES), key=load.W_CHART,
                         required=True, format_func=trend_sections.CHART_NAMES.get)
    load.keep_trends_in_link(choices)
    key = load.chosen_sections().chart
    title = trend_sections.CHART_TITLES[key]
    with stop_on_user_error():
        if key == trend_sections.TYPES_CHART:
            make_chart = partial(downloads.mix_chart_of, load.load_breakdown(
                principal, "nrm", "exploitation_type", freq), synthetic=synthetic, freq=freq)
        else:
            unit = {k: u for k, _, u in trend_sections.CHARTS}[key]
            make_chart = partial(measure_chart_of, trend_series.measure_group(
                load.load_measure_series(principal, freq), key), title=title, unit=unit,
                synthetic=synthetic, freq=freq)
    draw_spec(load.load_chart_spec(principal, ("group", key, freq, synthetic), make_chart))
    st.caption(trend_sections.chart_caption(
        title, f"one line per {'type' if key == trend_sections.TYPES_CHART else 'measure'}, "
        f"one point per {PERIOD_NOUNS[freq]}", f"{title} (CSV)"))


measure_chart()

# -- trend flags ------------------------------------------------------------------------------
st.header("Rising or falling, by district", help=trend_flags.TREND_NOTE)
st.dataframe(panels["flags"], hide_index=True)
st.caption(f"{trend_summary.PLAIN_TREND_NOTE} Windows end with {label}.")


# -- downloads: one picker and one button, the file made (and audited) on the click -----------
@st.fragment
def download_one() -> None:
    items = {item.key: item for item in trend_sections.download_items(view.period, freq,
                                                                      view.measure)}
    st.selectbox("File", list(items), key="trends_download", format_func=lambda k: items[k].label,
                 help="Every table and chart of this page, as shown to your role. The file is "
                      "made when you press the button, and the download is recorded in the "
                      "audit log.")
    item = items.get(st.session_state.get("trends_download")) or next(iter(items.values()))
    with stop_on_user_error():
        data = downloads.download_data(principal, item, view, synthetic=synthetic)
    st.download_button(f"Download {item.label}", data, file_name=item.file_name, mime=item.mime,
                       icon=item.icon, key="trends_download_button", on_click="ignore")


st.header("Downloads")
download_one()
