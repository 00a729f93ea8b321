"""What each step of meeting mode shows: the headline table, the hotspot table and map, the
tasking table and the trend chart, from :class:`views.meeting_figures.MeetingData`.

Free text (a task's action, agency and place) is escaped for Markdown (:func:`markdown_text`).
The briefing pack uses the same verdicts (:func:`variation_text`) and feed colours. No Streamlit
here.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.trend_words import HOTSPOT_CLASS_NOTE, hotspot_title
from views.meeting_figures import MeetingData
from views.meeting_tasks import Task
from views.readable import thousands

#: The hotspot classes' definitions (``core.trend_words``), for the meeting page's help icon.
HOTSPOT_HELP = HOTSPOT_CLASS_NOTE

#: One colour per feed (short title), dark enough for a projector and for print.
FEED_COLOURS = {"NRM referrals": "#1b4f72", "Rosewood episodes": "#b03a2e",
                "Mandevilla flags": "#7d3c98"}

_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp|(?=@))")


# -- what the steps show -----------------------------------------------------------------------
#: Column titles of the verdicts in :func:`kpi_frame` (the second has a trailing space: column
#: names must differ).
BEYOND, BEYOND_YEAR = "Beyond normal variation", "Beyond normal variation "


def variation_text(beyond: bool | None) -> str:
    """A change's verdict as a table shows it: "yes", "no" or "—" (not tested)."""
    return "—" if beyond is None else ("yes" if beyond else "no")


def kpi_frame(data: MeetingData) -> pd.DataFrame:
    """The headline figures as a table: one row per feed; each change with whether it is
    beyond normal variation ("—" where not tested: a count hidden or missing)."""
    return pd.DataFrame(
        [[k.title, k.display, k.previous_display, k.change_previous or "—",
          variation_text(k.beyond_previous), k.last_year_display, k.change_year or "—",
          variation_text(k.beyond_year), k.trend] for k in data.kpis],
        columns=["Feed", data.period.label, f"Previous ({data.previous.label})", "Change",
                 BEYOND, f"Last year ({data.last_year.label})", "Change ", BEYOND_YEAR,
                 "Trend"]).set_index("Feed")


def hotspot_rows(hotspots) -> pd.DataFrame:
    """The hotspots as a table to show: rank, place, records (as shown), trend class naming its
    window (``views.hotspots.trend_label``, the Hotspots page's words), cross-feed."""
    from views.hotspots import trend_label

    return pd.DataFrame({
        "Rank": hotspots["rank"].astype(int).to_numpy(),
        "Where": hotspots["place"].astype(str).to_numpy(),
        "Records": hotspots["events_display"].astype(str).map(thousands).to_numpy(),
        "Trend": [trend_label(row) for _, row in hotspots.iterrows()],
        "Several feeds": np.where(hotspots["cross_feed"].astype(bool), "yes", "").tolist(),
    })


def hotspot_rows_by_rank(hotspots, window: str | None = None) -> pd.DataFrame:
    """:func:`hotspot_rows` as the meeting page's ``st.table`` shows it, narrow enough to sit
    beside the map on a projector: indexed by rank; the trend's window (``window``, e.g. "24
    months to Sep 2026") named once in the column's header instead of in every row, when every
    row names that window; "Several feeds" only when some hotspot is in several.

    The rank is the index as text: pandas makes ranks 1, 2, 3 … a ``RangeIndex``, which Arrow
    keeps only as metadata and ``st.table`` then leaves out, and the map's numbers are ranks."""
    from views.hotspot_explain import trend_window

    rows = hotspot_rows(hotspots)
    rows = rows.set_index(pd.Index(rows["Rank"].astype(str), name="Rank")).drop(columns="Rank")
    if not (rows["Several feeds"] != "").any():
        rows = rows.drop(columns="Several feeds")
    if window and len(rows) and all(trend_window(r) == window for _, r in hotspots.iterrows()):
        rows["Trend"] = [hotspot_title(c) for c in hotspots["trend"]]
        rows = rows.rename(columns={"Trend": f"Trend ({window})"})
    return rows


def hotspot_caption(data: MeetingData) -> str:
    """What the hotspot step's table is about: the window of the fit, its records and classes
    (the classes' definitions are ``HOTSPOT_HELP``, for the help icon). The map and the
    records are of whole wards (``views.meeting_figures.as_wards``), larger than the hotspots
    whose share of West Yorkshire :func:`coverage_text` gives, so the caption says so."""
    return (f"Hotspots of all feeds over the {data.hotspot_window}, shown as the wards they "
            "fall in: those wards' records over that window, and each hotspot's trend class "
            "for it.")


def coverage_text(data: MeetingData) -> str:
    """What the hotspots cover against the list's area limit, in the Hotspots page's words
    (``MeetingData.hotspot_coverage``), and how many the table lists when it lists fewer than
    were found (at most ``TOP_HOTSPOTS``); "" when there is nothing to say."""
    listed = 0 if data.hotspots is None else len(data.hotspots)
    if not (data.hotspot_coverage and listed):
        return ""
    more = (f" The table lists the strongest {listed}." if listed < data.hotspot_count else "")
    return data.hotspot_coverage + more


def no_hotspot_text(data: MeetingData) -> str:
    """Said instead of the hotspot table when it is empty: none found, or significant places
    found but none within the list's area limit (the Hotspots page's sentence)."""
    if data.hotspot_coverage:   # our own sentence: "No hotspot fits within the list's ..."
        note = data.hotspot_coverage
        return f"Over the {data.hotspot_window}, {note[0].lower()}{note[1:]}"
    return f"No hotspot was found over the {data.hotspot_window}."


def meeting_map(data: "MeetingData"):
    """The hotspots on the offline base map (``maps.hotspot_layer.hotspot_map``), or the base
    map alone when there are none."""
    from geo.boundaries import load_boundaries
    from maps.hotspot_layer import hotspot_map

    fit = None
    if data.district:   # a district in focus: the map zooms to it
        districts = load_boundaries("district").to_crs(4326)
        west, south, east, north = districts[districts["code"] == data.district].total_bounds
        fit = [[south, west], [north, east]]
    return hotspot_map(data.hotspots, height=560, labels=True, fit=fit)


def map_legend() -> list[tuple[str, str, str]]:
    """(fill, outline, label) of the meeting map's legend (``maps.hotspot_layer.LEGEND``)."""
    from maps.hotspot_layer import LEGEND

    return list(LEGEND)


def markdown_text(text: str) -> str:
    """``text`` shown as it is by Markdown (``st.table`` renders its cells as Markdown).

    Every ASCII punctuation character is backslash-escaped (no markup, image or link syntax),
    and a word joiner (U+2060, invisible) breaks what GitHub-flavoured Markdown would turn into
    a link by itself: ``http://``, ``https://``, ``www.`` and e-mail addresses.
    """
    text = _AUTOLINK.sub("\\1\u2060", str(text))
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def task_frame(tasks: Sequence[Task]) -> pd.DataFrame:
    """The tasking list as a table for ``st.table``: change since the last meeting first.

    Free text (the action, the agency, the place) is escaped with :func:`markdown_text`.
    """
    return pd.DataFrame(
        [[t.change or "—", markdown_text(t.title), markdown_text(t.area),
          markdown_text(t.lead_agency),
          t.status + (" (overdue)" if t.overdue else ""),
          t.due.strftime("%d %b %Y") if t.due else ""] for t in tasks],
        columns=["Since last meeting", "Task", "Area", "Lead agency", "Status", "Due"])


def task_summary(tasks: Sequence[Task]) -> str:
    """E.g. "2 new, 1 closed, 1 updated since the last meeting; 1 overdue"."""
    changes = [f"{sum(t.change == c for t in tasks)} {c.lower()}"
               for c in ("New", "Done", "Updated")]
    overdue = sum(t.overdue for t in tasks)
    return (f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}: " + ", ".join(changes) + " since the last meeting"
            + (f"; {overdue} overdue" if overdue else ""))


def trend_chart(data: MeetingData):
    """Records per period and feed over the trend window (Altair; gaps where hidden)."""
    import altair as alt

    frame = data.trend.rename(columns={"feed": "Feed", "period": "Period", "count": "Records"})
    feeds = list(dict.fromkeys(frame["Feed"]))
    return (alt.Chart(frame)
            .mark_line(point=alt.OverlayMarkDef(size=90), strokeWidth=4)
            .encode(x=alt.X("Period:O", title=None, sort=None,
                            axis=alt.Axis(labelFontSize=16, labelAngle=0 if
                                          data.period.freq == "Q" else -45)),
                    y=alt.Y("Records:Q", title="Records",
                            axis=alt.Axis(labelFontSize=16, titleFontSize=16, tickMinStep=1)),
                    color=alt.Color("Feed:N", title=None, sort=feeds,
                                    scale=alt.Scale(domain=feeds, range=[
                                        FEED_COLOURS.get(f, "#333333") for f in feeds]),
                                    legend=alt.Legend(orient="top", labelFontSize=18,
                                                      symbolSize=300)),
                    tooltip=[alt.Tooltip("Feed:N"), alt.Tooltip("Period:O"),
                             alt.Tooltip("display:N", title="Records")]))
