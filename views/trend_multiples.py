"""Small multiples of the Trends page: one small chart per district, West Yorkshire apart.

From one feed's ``views.trend_series.monthly_series`` (already protected for the viewer's role).
Each district is drawn in its own panel, on one shared scale, in a colour of a colour-blind-safe
palette (:data:`AREA_STYLE`) whose colours have at least 3:1 contrast with the white
background and with the panels beside and below them (dark and mid tones alternate), and never
by colour alone: each panel is titled with its district's name and draws its points in the
district's own shape. West Yorkshire is a separate chart on its own scale (black, squares).

A hidden figure ("<5") is drawn as hidden, not as a gap: a grey band over the period (one per
run of hidden periods) labelled "hidden", whose tooltip says what is shown ("2026-03: <5"); the
line is not drawn through it (no value is made up, and no marker sits on the axis where it would
read as a zero). Nothing here sees a hidden number.

:func:`panel_chart` is one panel; :func:`small_multiples` all of a feed's panels as one chart
(the page's chart and its PNG download). No Streamlit here.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from views.feed_tables import WEST_YORKSHIRE
from views.trend_charts import SYNTHETIC_NOTE, time_axis

#: Colour and point shape per area. Colours (Okabe-Ito and Tol, darkened where needed): every
#: one at least 3:1 against white, and dark and mid tones alternate in panel order, so panels
#: side by side (and one above the other, three to a row) differ by at least 3:1 too.
AREA_STYLE = {
    "Bradford": ("#332288", "circle"),
    "Calderdale": ("#D55E00", "square"),
    "Kirklees": ("#0A3D22", "triangle-up"),
    "Leeds": ("#009E73", "diamond"),
    "Wakefield": ("#661100", "triangle-down"),
    WEST_YORKSHIRE: ("#1A1A1A", "square"),
}
HIDDEN_BAND = "#F0F0F0"  # light: the label says what it is; series colours 3:1 on it
HIDDEN_TEXT = "#404040"  # 10:1 on white, 8:1 on the band
HIDDEN_LABEL = "hidden"
#: Panels per row on the page (the order of :data:`AREA_STYLE` alternates for this and for 5).
PER_ROW = 3
HIDDEN_NOTE = ("Grey band labelled \"hidden\": a figure hidden to protect the people counted "
               "(hover it for what is shown). Districts share one scale; West Yorkshire has "
               "its own.")


def panel_order(series: pd.DataFrame) -> list[str]:
    """The districts of ``series`` in panel order (West Yorkshire left out)."""
    names = [n for n in dict.fromkeys(series["name"]) if n != WEST_YORKSHIRE]
    return sorted(names, key=lambda n: (list(AREA_STYLE).index(n) if n in AREA_STYLE
                                        else len(AREA_STYLE), n))


def style_of(name: str, position: int = 0) -> tuple[str, str]:
    """Colour and shape of an area (an area outside the palette: by its panel position)."""
    if name in AREA_STYLE:
        return AREA_STYLE[name]
    colours = list(AREA_STYLE.values())[:5]
    return colours[position % len(colours)]


def shared_top(series: pd.DataFrame) -> float:
    """The top of the districts' shared y scale: 5% above the largest shown value."""
    values = series.loc[series["name"] != WEST_YORKSHIRE, "value"].astype(float)
    top = float(np.nanmax(values)) if values.notna().any() else 1.0
    return max(top * 1.05, 1.0)


def panel_chart(series: pd.DataFrame, area: str, *, measure: str = "count", freq: str = "M",
                top: float | None = None, height: int = 150, position: int = 0,
                subtitle: list[str] | None = None) -> alt.LayerChart:
    """One area's panel: its line and shaped points, hidden periods as labelled grey bands
    and hollow markers. ``top`` fixes the y scale (districts share one)."""
    rows = series[series["name"] == area]
    colour, shape = style_of(area, position)
    data = pd.DataFrame({
        "Area": rows["name"].to_numpy(), "Date": pd.to_datetime(rows["date"]).to_numpy(),
        "End": _period_ends(rows["period"], freq),
        "Value": rows["value"].astype(float).to_numpy(), "Shown": rows["display"].to_numpy(),
        "Period": rows["period"].to_numpy(),
        "Hidden": rows["suppressed"].astype(bool).to_numpy()})
    data["Middle"] = data["Date"] + (data["End"] - data["Date"]) / 2
    # Each run of shown periods is its own line: the line stops at a hidden figure (no value
    # is drawn through it) and the band says why.
    data["Run"] = data["Hidden"].cumsum()
    shown, hidden = data[~data["Hidden"]], data[data["Hidden"]]
    runs = _runs(hidden)
    label = "Per 100,000 residents" if measure == "rate" else "Records"
    x = alt.X("Date:T", title=None, axis=time_axis(freq))
    y = alt.Y("Value:Q", title=label,
              scale=alt.Scale(domain=[0, top]) if top else alt.Scale(zero=True))
    tooltip = [alt.Tooltip("Area:N"), alt.Tooltip("Period:N"),
               alt.Tooltip("Shown:N", title="Records")]
    band = alt.Chart(runs).mark_rect(color=HIDDEN_BAND).encode(
        x=alt.X("Date:T"), x2="End:T", tooltip=[alt.Tooltip("What:N", title="Hidden")])
    band_label = alt.Chart(runs).mark_text(
        text=HIDDEN_LABEL, angle=270, align="right", baseline="middle", dx=-4, fontSize=10,
        color=HIDDEN_TEXT).encode(x=alt.X("Middle:T"), y=alt.value(0))
    line = alt.Chart(shown).mark_line(color=colour, strokeWidth=2).encode(
        x=x, y=y, detail="Run:N", tooltip=tooltip)
    points = alt.Chart(shown).mark_point(shape=shape, filled=True, color=colour, size=28,
                                         opacity=1).encode(x=x, y=y, tooltip=tooltip)
    title = alt.TitleParams(area, anchor="start", fontSize=14, color=colour,
                            **({"subtitle": subtitle} if subtitle else {}))
    return (alt.layer(band, band_label, line, points)
            .properties(title=title, height=height))


def small_multiples(series: pd.DataFrame, *, measure: str = "count", freq: str = "M",
                    title: str = "", synthetic: bool = False, width: int = 280,
                    notes: bool = True) -> alt.VConcatChart:
    """West Yorkshire, then the districts :data:`PER_ROW` to a row, as one chart (the page's,
    and its PNG). ``notes``: the hidden band's note under the title (a page says it in text
    beside the chart instead)."""
    top = shared_top(series)
    names = panel_order(series)
    panels = [panel_chart(series, n, measure=measure, freq=freq, top=top, position=i)
              .properties(width=width) for i, n in enumerate(names)]
    rows = [alt.hconcat(*panels[i:i + PER_ROW]) for i in range(0, len(panels), PER_ROW)]
    whole = panel_chart(series, WEST_YORKSHIRE, measure=measure, freq=freq, height=120) \
        .properties(width=width * PER_ROW + 20 * (PER_ROW - 1))
    subtitle = ([SYNTHETIC_NOTE] if synthetic else []) + ([HIDDEN_NOTE] if notes else [])
    return alt.vconcat(whole, *rows).properties(
        title=alt.TitleParams(title or "By district", subtitle=subtitle, anchor="start"))


def chart_png(chart, *, scale: float = 2.0) -> bytes:
    """A compound chart as a PNG at its own size, on white (offline, ``vl-convert``)."""
    import vl_convert

    return vl_convert.vegalite_to_png(chart.properties(background="white").to_dict(),
                                      scale=scale)


# -- helpers ------------------------------------------------------------------------------------
def _period_ends(periods: pd.Series, freq: str) -> np.ndarray:
    """The first day after each period ("2026-10" ends at 1 Nov 2026)."""
    return np.array([(pd.Period(p.replace("-Q", "Q") if freq == "Q" else p, freq) + 1)
                     .start_time for p in periods], dtype="datetime64[ns]")


def _runs(hidden: pd.DataFrame) -> pd.DataFrame:
    """Consecutive hidden periods as one band each: ``Date`` (start), ``End``, ``Middle``
    and ``What`` (the periods and what is shown)."""
    if hidden.empty:
        return pd.DataFrame({"Date": pd.Series(dtype="datetime64[ns]"),
                             "End": pd.Series(dtype="datetime64[ns]"),
                             "Middle": pd.Series(dtype="datetime64[ns]"),
                             "What": pd.Series(dtype=object)})
    rows, current = [], None
    for row in hidden.sort_values("Date").itertuples():
        if current is not None and row.Date == current["End"]:
            current["End"] = row.End
            current["What"].append(f"{row.Period}: {row.Shown}")
        else:
            current = {"Date": row.Date, "End": row.End, "What": [f"{row.Period}: {row.Shown}"]}
            rows.append(current)
    out = pd.DataFrame(rows)
    out["Middle"] = out["Date"] + (out["End"] - out["Date"]) / 2
    out["What"] = out["What"].map(", ".join)
    return out
