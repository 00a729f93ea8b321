"""The Trends page's downloads (pages/trends.py): the file of one ``views.trend_sections``
download item, made on the click and audited then.

The page offers every table and chart through one picker and one button, so a run builds one
deferred download, not one per file: the chosen item's figures are read from the page's
cached loaders while the page runs (Streamlit context needed), its CSV or PNG made only when
the button is clicked (``ui.loaders.audited_download``), with the period's records in the
audit entry as before.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from safeguards.access import Principal
from ui import trends_loaders as load
from ui.loaders import audited_download
from views import kpis, trend_flags, trend_multiples, trend_series
from views.exports import labelled_csv, trends_label
from views.feed_tables import FEED_SHORT_TITLES
from views.trend_charts import chart_png, measure_chart, mix_chart
from views.trend_sections import CHART_TITLES, TYPES_CHART, TYPES_NOTE, DownloadItem


def mix_chart_of(type_mix, *, synthetic: bool, freq: str):
    """The NRM exploitation type mix chart (the page draws it too)."""
    return mix_chart(type_mix, title=CHART_TITLES[TYPES_CHART], synthetic=synthetic, freq=freq,
                     note=TYPES_NOTE)


def download_data(principal: Principal, item: DownloadItem, view: kpis.TrendsView, *,
                  synthetic: bool) -> Callable[[], bytes | str]:
    """The deferred data of ``item`` for the page's ``view``: made and audited on the click."""
    freq, period = view.freq, view.period

    def label(contents: str, *, period: str | None = None, feeds=None):
        return trends_label(principal.role, synthetic, contents, period=period, freq=freq,
                            feeds=feeds)

    kind, _, which = item.key.partition(":")
    if kind == "kpis":
        table = load.load_kpis(principal, period)
        make = partial(_csv, kpis.kpi_export, table,
                       label("Records per feed (KPI table)", period=period))
    elif kind in ("series", "series-png"):
        series = load.load_area_series(principal, which, freq, view.measure)
        title = f"{FEED_SHORT_TITLES[which]}: {_MEASURE_WORDS[view.measure]}"
        if kind == "series":
            make = partial(_csv, trend_series.series_export, series,
                           label(f"{title} by district", feeds=[which]))
        else:
            make = partial(_png_multiples, series, measure=view.measure, title=title,
                           synthetic=synthetic, freq=freq)
    elif kind == "measures":
        measures = load.load_measures(principal, period)
        make = partial(_csv, partial(trend_series.measures_export, period=period), measures,
                       label("Other measures", period=period))
    elif kind in ("chart", "chart-png"):
        title = CHART_TITLES[which]
        if which == TYPES_CHART:
            data = load.load_breakdown(principal, "nrm", "exploitation_type", freq)
            export, chart = trend_series.breakdown_export, partial(
                mix_chart_of, data, synthetic=synthetic, freq=freq)
        else:
            data = trend_series.measure_group(load.load_measure_series(principal, freq), which)
            unit = next(u for k, _, _, u in trend_series.MEASURE_GROUPS if k == which)
            export, chart = trend_series.measure_series_export, partial(
                measure_chart, data, title=title, unit=unit, synthetic=synthetic, freq=freq)
        make = (partial(_csv, export, data, label(title)) if kind == "chart"
                else partial(_png, chart))
    elif kind == "flags":
        flags = load.load_trend_flags(principal, kpis.last_month(period))
        make = partial(_csv, trend_flags.trends_export, flags, label(
            f"Trend flags by district, windows ending {kpis.period_title(period)}"))
    else:
        raise KeyError(f"no Trends download {item.key!r}")
    return audited_download(make, partial(load.audit_trends, principal, item.detail, period,
                                          records=load.trend_records(principal, period)))


_MEASURE_WORDS = {"count": "records", "rate": "per 100,000 residents"}


def _csv(export, frame, csv_label) -> bytes:
    return labelled_csv(export(frame), csv_label)


def _png(make_chart) -> bytes:
    return chart_png(make_chart())


def _png_multiples(series, **chart) -> bytes:
    return trend_multiples.chart_png(trend_multiples.small_multiples(series, **chart))
