"""Trends: better or worse, and where; then this month or quarter against the one before and
the same one last year, by feed.

For the Deputy Mayor's office (and chairs and analysts). The page opens on a plain-English
summary (``views.trend_summary``): the last whole quarter and the quarter to date, one sentence
per feed, the method behind a help icon. Whole calendar months or quarters only,
chosen in the link (``?period=2026-10`` or ``?period=2026-Q3``). The figures come from
``views.kpis``, ``views.trend_series`` and ``views.trend_flags`` through the role-scoped query
layer, so a chair or executive sees them after small-number suppression; charts download as PNG and tables as CSV, as shown.
"""
from functools import partial

import streamlit as st

from core.periods import FREQ_TITLES as PERIOD_NOUNS
from core.schema import FEEDS
from safeguards.disclosure import legend as disclosure_note
from ui import trends_loaders as load
from ui.chart_specs import draw_spec
from ui.loaders import audited_download, load_overview, stop_on_user_error, synthetic_banner
from ui.session import require_page_role
from views import feed_tables, kpis, trend_flags, trend_multiples, trend_series, trend_summary
from views.exports import labelled_csv, trends_label
from views.trend_charts import chart_png, measure_chart, mix_chart

FREQ_TITLES = {"M": "Months", "Q": "Quarters"}
MEASURE_TITLES = {"count": "Records", "rate": "Per 100,000 residents"}

principal = require_page_role("trends")
st.title("Trends")

with stop_on_user_error():
    synthetic = load_overview(principal).is_synthetic
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


def csv_label(contents: str, *, period: str | None = None, feeds=None):
    """What a CSV of this page holds, written at its top (``views.exports.labelled_csv``)."""
    return trends_label(principal.role, synthetic, contents, period=period, freq=freq,
                        feeds=feeds)


def made_on_click(make, what: str):
    """A download's data, made when it is clicked and audited then with the period's records
    (``ui.loaders.audited_download``): no download reruns the page."""
    return audited_download(make, partial(load.audit_trends, principal, what, view.period,
                                          records=load.trend_records(principal, view.period)))


# -- KPI tiles --------------------------------------------------------------------------------
with stop_on_user_error():
    table = load.load_kpis(principal, view.period)
st.subheader(f"{label}: records per feed")
for column, tile in zip(st.columns(len(table)), kpis.kpi_tiles(table)):
    column.metric(tile["title"], tile["value"], delta=tile["delta"], delta_color="off",
                  border=True, help=tile["help"])
    column.caption(tile["note"])
st.download_button("KPI table (CSV)",
                   made_on_click(lambda: labelled_csv(kpis.kpi_export(table), csv_label(
                       "Records per feed (KPI table)", period=view.period)), "csv: kpi table"),
                   file_name=f"trends-kpis-{view.period}.csv", mime="text/csv",
                   icon=":material/download:", on_click="ignore")
threshold = kpis.hidden_threshold(table)
st.caption(trend_summary.PLAIN_TEST_NOTE, help=kpis.TEST_NOTE)
if threshold > 1:
    st.caption(trend_summary.hidden_note(threshold), help=disclosure_note(threshold))

# -- series by district: one small chart per district, West Yorkshire apart --------------------
st.subheader(f"{MEASURE_TITLES[view.measure]} by district, per {PERIOD_NOUNS[freq]}")
st.caption(trend_multiples.HIDDEN_NOTE)
for tab, feed in zip(st.tabs([feed_tables.FEED_SHORT_TITLES[f] for f in FEEDS]), FEEDS):
    with tab:
        with stop_on_user_error():
            series = load.load_area_series(principal, feed, freq, view.measure)
        title = f"{feed_tables.FEED_SHORT_TITLES[feed]}: {MEASURE_TITLES[view.measure].lower()}"
        top = trend_multiples.shared_top(series)
        key = (feed, freq, view.measure, synthetic)
        draw_spec(load.load_chart_spec(
            principal, ("panel", *key, feed_tables.WEST_YORKSHIRE),
            partial(trend_multiples.panel_chart, series, feed_tables.WEST_YORKSHIRE,
                    measure=view.measure, freq=freq, height=130,
                    subtitle=[trend_multiples.SYNTHETIC_NOTE] if synthetic else None)),
            height=190)
        names = trend_multiples.panel_order(series)
        for start in range(0, len(names), trend_multiples.PER_ROW):
            cells = st.columns(trend_multiples.PER_ROW)
            for position, (cell, name) in enumerate(zip(cells, names[start:]), start):
                draw_spec(load.load_chart_spec(
                    principal, ("panel", *key, name),
                    partial(trend_multiples.panel_chart, series, name, measure=view.measure,
                            freq=freq, top=top, position=position)), height=200,
                    target=cell)
        make_chart = partial(trend_multiples.small_multiples, series, measure=view.measure,
                             title=title, synthetic=synthetic, freq=freq)
        left, right = st.columns(2)
        left.download_button("Chart (PNG)",
                             made_on_click(lambda make=make_chart:
                                           trend_multiples.chart_png(make()),
                                           f"png: {feed} series"),
                             file_name=f"trends-{feed}-{view.measure}-{freq}.png",
                             mime="image/png", icon=":material/image:", key=f"png_{feed}",
                             on_click="ignore")
        right.download_button("Table (CSV)",
                              made_on_click(lambda series=series, title=title, feed=feed:
                                            labelled_csv(trend_series.series_export(series),
                                                         csv_label(f"{title} by district",
                                                                   feeds=[feed])),
                                            f"csv: {feed} series"),
                              file_name=f"trends-{feed}-{freq}.csv", mime="text/csv",
                              icon=":material/download:", key=f"csv_{feed}", on_click="ignore")

# -- the other measures -----------------------------------------------------------------------
st.subheader(f"{label}: other measures")
with stop_on_user_error():
    measures = load.load_measures(principal, view.period)
    measure_series = load.load_measure_series(principal, freq)
    type_mix = load.load_breakdown(principal, "nrm", "exploitation_type", freq)
for column, (feed, tiles) in zip(st.columns(3), trend_series.tiles_by_feed(measures)):
    column.markdown(f"**{feed_tables.FEED_SHORT_TITLES[feed]}**")
    for tile in tiles:
        column.metric(tile["tile_title"], tile["display"], border=True,
                      help=f"Previous: {tile['previous_display']}; "
                           f"last year: {tile['last_year_display']}")
st.download_button("Measures (CSV)",
                   made_on_click(lambda: labelled_csv(
                       trend_series.measures_export(measures, view.period),
                       csv_label("Other measures", period=view.period)),
                                 "csv: measures"),
                   file_name=f"trends-measures-{view.period}.csv", mime="text/csv",
                   icon=":material/download:", on_click="ignore")

groups = [*trend_series.MEASURE_GROUPS,
          ("types", "NRM referrals: exploitation type mix", (), "share")]
for tab, (key, title, _, unit) in zip(st.tabs([g[1] for g in groups]), groups):
    with tab:
        if key == "types":
            make_chart = partial(mix_chart, type_mix, title=title, synthetic=synthetic,
                                 freq=freq, note="Referrals with more than one type count as "
                                                 "'several types'.")
            export = trend_series.breakdown_export(type_mix)
        else:
            group = trend_series.measure_group(measure_series, key)
            make_chart = partial(measure_chart, group, title=title, unit=unit,
                                 synthetic=synthetic, freq=freq)
            export = trend_series.measure_series_export(group)
        draw_spec(load.load_chart_spec(principal, ("group", key, freq, synthetic), make_chart))
        left, right = st.columns(2)
        left.download_button("Chart (PNG)",
                             made_on_click(lambda make=make_chart: chart_png(make()),
                                           f"png: {key}"),
                             file_name=f"trends-{key}-{freq}.png", mime="image/png",
                             icon=":material/image:", key=f"png_{key}", on_click="ignore")
        right.download_button("Table (CSV)",
                              made_on_click(lambda export=export, title=title:
                                            labelled_csv(export, csv_label(title)),
                                            f"csv: {key} series"),
                              file_name=f"trends-{key}-{freq}.csv", mime="text/csv",
                              icon=":material/download:", key=f"csv_{key}", on_click="ignore")

# -- trend flags ------------------------------------------------------------------------------
st.header("Rising or falling, by district", help=trend_flags.TREND_NOTE)
with stop_on_user_error():
    flags = load.load_trend_flags(principal, kpis.last_month(view.period))
st.dataframe(trend_flags.trend_flags_wide(flags), hide_index=True)
st.download_button("Trend flags (CSV)",
                   made_on_click(lambda: labelled_csv(trend_flags.trends_export(flags), csv_label(
                                     f"Trend flags by district, windows ending {label}")),
                                 "csv: trend flags"),
                   file_name="trends-flags.csv", mime="text/csv", icon=":material/download:",
                   on_click="ignore")
st.caption(f"{trend_summary.PLAIN_TREND_NOTE} Windows end with {label}.")
