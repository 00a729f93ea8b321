"""Charts of the Trends page (Altair) and their PNG export, from frames of ``views.trend_series``.

The frames are already protected for the viewer's role: a hidden count is NaN and a line simply
has a gap there; nothing here sees a hidden number. Tooltips show the display text ("<5",
"[c]", "hidden"), never a value. ``chart_png`` renders a chart without a browser or a network
(``vl-convert``), for download buttons and the briefing pack. No Streamlit here.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from views.feed_tables import WEST_YORKSHIRE

SYNTHETIC_NOTE = "SYNTHETIC DATA — not real cases"
#: Quarters are labelled "Q3 2026" (Vega's quarter() is 1 to 4), with a tick at each quarter's
#: first day, where its point is drawn; months "Oct 2026".
QUARTER_LABEL = "'Q' + quarter(datum.value) + ' ' + year(datum.value)"


def time_axis(freq: str = "M") -> alt.Axis:
    """The time axis of a series of months or quarters (``freq`` "M" or "Q")."""
    if freq == "Q":
        return alt.Axis(labelExpr=QUARTER_LABEL, tickCount={"interval": "month", "step": 3},
                        labelOverlap=True)
    return alt.Axis(format="%b %Y", labelOverlap=True)


def _subtitle(note: str, synthetic: bool) -> list[str]:
    lines = [SYNTHETIC_NOTE] if synthetic else []
    return lines + ([note] if note else [])


def area_chart(series: pd.DataFrame, *, measure: str = "count", title: str = "",
               note: str = "", synthetic: bool = False, freq: str = "M") -> alt.Chart:
    """Lines per area over time (``views.trend_series.monthly_series`` of one feed).

    Click a legend entry to pick out one area, drag to pan and scroll to zoom along time;
    hover a point for its figure as shown ("<5" where hidden). West Yorkshire is drawn dashed.
    """
    data = pd.DataFrame({
        "Area": series["name"], "Date": series["date"],
        "Value": series["value"].astype(float), "Shown": series["display"],
        "Period": series["period"],
        "Rate": series["rate"].astype(float).round(2)})
    label = "Records per 100,000 residents" if measure == "rate" else "Records"
    pick = alt.selection_point(fields=["Area"], bind="legend")
    order = [n for n in dict.fromkeys(data["Area"]) if n != WEST_YORKSHIRE]
    if (data["Area"] == WEST_YORKSHIRE).any():
        order.append(WEST_YORKSHIRE)
    base = alt.Chart(data).encode(
        x=alt.X("Date:T", title=None, axis=time_axis(freq)),
        y=alt.Y("Value:Q", title=label),
        color=alt.Color("Area:N", title=None, sort=order,
                        legend=alt.Legend(orient="top", columns=6)),
        strokeDash=alt.condition(alt.datum.Area == WEST_YORKSHIRE, alt.value([5, 3]),
                                 alt.value([1, 0])),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
        tooltip=[alt.Tooltip("Area:N"), alt.Tooltip("Period:N"),
                 alt.Tooltip("Shown:N", title="Records"),
                 alt.Tooltip("Rate:Q", title="Per 100,000")])
    chart = (base.mark_line(point=alt.OverlayMarkDef(size=18))
             .add_params(pick)
             .properties(title=alt.TitleParams(title or label,
                                               subtitle=_subtitle(note, synthetic)))
             .interactive(bind_y=False))
    return chart


def measure_chart(measures: pd.DataFrame, *, title: str, unit: str, note: str = "",
                  synthetic: bool = False, freq: str = "M") -> alt.Chart:
    """Lines of one or more measures of ``views.trend_series.measure_series`` over time (gaps:
    hidden)."""
    share = unit == "share"
    data = pd.DataFrame({"Measure": measures["title"], "Date": measures["date"],
                         "Value": measures["value"].astype(float), "Shown": measures["display"],
                         "Period": measures["period"]})
    axis = alt.Axis(format="%") if share else alt.Axis()
    pick = alt.selection_point(fields=["Measure"], bind="legend")
    return (alt.Chart(data)
            .mark_line(point=alt.OverlayMarkDef(size=18))
            .encode(x=alt.X("Date:T", title=None,
                            axis=time_axis(freq)),
                    y=alt.Y("Value:Q", title=_UNIT_TITLES.get(unit, unit), axis=axis),
                    color=alt.Color("Measure:N", title=None,
                                    legend=alt.Legend(orient="top", columns=2, labelLimit=320)),
                    opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
                    tooltip=[alt.Tooltip("Measure:N"), alt.Tooltip("Period:N"),
                             alt.Tooltip("Shown:N", title="Value")])
            .add_params(pick)
            .properties(title=alt.TitleParams(title, subtitle=_subtitle(note, synthetic)))
            .interactive(bind_y=False))


def mix_chart(breakdown: pd.DataFrame, *, title: str, note: str = "",
              synthetic: bool = False, freq: str = "M") -> alt.Chart:
    """Share of each category per period (``views.trend_series.breakdown_series``), one line
    each."""
    data = pd.DataFrame({"Category": breakdown["label"], "Date": breakdown["date"],
                         "Share": breakdown["share"].astype(float),
                         "Records": breakdown["display"], "Shown": breakdown["share_display"],
                         "Period": breakdown["period"]})
    pick = alt.selection_point(fields=["Category"], bind="legend")
    return (alt.Chart(data)
            .mark_line(point=alt.OverlayMarkDef(size=18))
            .encode(x=alt.X("Date:T", title=None,
                            axis=time_axis(freq)),
                    y=alt.Y("Share:Q", title="Share of records", axis=alt.Axis(format="%")),
                    color=alt.Color("Category:N", title=None,
                                    legend=alt.Legend(orient="top", columns=4)),
                    opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
                    tooltip=[alt.Tooltip("Category:N"), alt.Tooltip("Period:N"),
                             alt.Tooltip("Records:N"), alt.Tooltip("Shown:N", title="Share")])
            .add_params(pick)
            .properties(title=alt.TitleParams(title, subtitle=_subtitle(note, synthetic)))
            .interactive(bind_y=False))


def chart_png(chart: alt.Chart, *, width: int = 900, height: int = 380, scale: float = 2.0
              ) -> bytes:
    """``chart`` as a PNG, rendered offline by vl-convert (no browser, no network).

    Fixed ``width`` × ``height`` (the page's charts stretch to their column, which a file
    cannot), on a white background.
    """
    import vl_convert

    spec = chart.properties(width=width, height=height, background="white").to_dict()
    return vl_convert.vegalite_to_png(spec, scale=scale)


_UNIT_TITLES = {"records": "Records", "per 100,000": "Per 100,000 residents", "share": "Share",
                "hours": "Hours"}
