"""Trend flags of the Trends page: is each district's monthly count rising or falling?

**Trend flags.** The Mann-Kendall test (``core.trends.mann_kendall``) of each district's
monthly counts over the last 12 and 24 whole months, run in the query layer on the true counts;
an area with fewer than k records in the window is not tested for suppressed roles, and
suppressed roles get the flag only (increasing, decreasing, no significant trend): the p-value
and Sen's slope of true counts that include hidden cells are not shown to them.

The words are ``core.trend_words``' (the meeting's and the briefing pack's too): each flag names
its window, and where the test is not significant but the last months charted (the feed's
protected tables, ``views.feed_tables``, the figures the Trends charts draw) rose or fell in a
row, it says so. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.errors import PeriodError
from core.periods import complete_periods, freq_of, parse_period, period_text
from core.schema import FEEDS
from core.trend_words import FEED_TREND_NOTE, feed_label, last_run
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL
from views.feed_tables import (
    FEED_SHORT_TITLES,
    WEST_YORKSHIRE,
    area_names,
    default_period,
    feed_tables,
    store_bounds,
)
from views.kpis import ALPHA

TREND_WINDOWS = (12, 24)
TREND_NOTE = ("Mann-Kendall trend test of the monthly counts (two-sided p < 0.05); slope: "
              "Sen's estimate, records per year (not shown where small numbers are hidden). "
              + FEED_TREND_NOTE)


def trend_flags(query: RoleScopedQuery, feeds: Sequence[str] = tuple(FEEDS),
                level: str = "district", windows: Sequence[int] = TREND_WINDOWS,
                end: str | None = None, alpha: float = ALPHA) -> pd.DataFrame:
    """Mann-Kendall trend flag per area (and West Yorkshire) and feed over the last months.

    Parameters
    ----------
    windows : sequence of int
        Window lengths in months (default 12 and 24), each ending at ``end``.
    end : str, optional
        The last month (``"2026-10"``); default the latest month the data cover completely.

    Returns
    -------
    DataFrame
        ``feed``, ``feed_title``, ``code``, ``name``, ``window`` (months), ``first``, ``last``
        (months, text), ``trend`` ("increasing", "decreasing", "no trend", "too few records"
        or "not enough data": the data cover fewer whole months), ``p_value``,
        ``slope_per_year`` (Sen's slope × 12), ``run`` (rises (+) or falls (-) in a row at
        the window's end of the counts as shown, ``core.trend_words.last_run``) and ``flag``
        (text, ``core.trend_words.feed_label``). For suppressed roles
        ``p_value`` and ``slope_per_year`` are NaN (the flag only: module docstring).
    """
    bounds = store_bounds(query)
    months = None if bounds is None else complete_periods(*bounds, "M")
    columns = ["feed", "feed_title", "code", "name", "window", "first", "last", "trend",
               "p_value", "slope_per_year", "run", "flag"]
    if months is None or not len(months):
        return pd.DataFrame(columns=columns)
    last = parse_period(end or default_period(query, "M"))
    if freq_of(last) != "M":
        raise PeriodError("trend windows end at a month (YYYY-MM)")
    names = area_names(level)
    rows = []
    for feed in feeds:
        shown = feed_tables(query, feed, "M", level).area.counts
        for window in windows:
            periods = pd.period_range(end=last, periods=window, freq="M")
            base = {"feed": feed, "feed_title": FEED_SHORT_TITLES[feed], "window": window,
                    "first": period_text(periods[0]), "last": period_text(periods[-1])}
            if periods[0] < months[0] or last > months[-1]:
                for code in [*names, TOTAL]:
                    rows.append({**base, "code": code, "name": names.get(code, WEST_YORKSHIRE),
                                 "trend": "not enough data", "p_value": np.nan,
                                 "slope_per_year": np.nan, "run": 0,
                                 "flag": feed_label("not enough data", window, last)})
                continue
            result = query.period_trends(feed, level, periods, alpha=alpha)
            for _, r in result.iterrows():
                values = _shown_values(shown, r["code"], periods)
                rows.append({**base, "code": r["code"],
                             "name": names.get(r["code"], WEST_YORKSHIRE), "trend": r["trend"],
                             "p_value": r["p_value"], "slope_per_year": r["slope"] * 12,
                             "run": last_run(values),
                             "flag": _flag_text(r["trend"], r["p_value"], r["slope"] * 12,
                                                window, last, values)})
    out = pd.DataFrame(rows)
    return out[columns]


def trends_export(flags: pd.DataFrame) -> pd.DataFrame:
    """:func:`trend_flags` as people read it (for CSV and tables)."""
    return pd.DataFrame({
        "Feed": flags["feed_title"], "Area": flags["name"],
        "Months": flags["window"].astype(str) + " (" + flags["first"] + " to " + flags["last"]
        + ")",
        "Trend": flags["flag"],
        "p-value": flags["p_value"].map(lambda p: "" if np.isnan(p) else f"{p:.3f}"),
        "Change per year (Sen)": flags["slope_per_year"].map(
            lambda s: "" if np.isnan(s) else f"{s:+.1f}"),
    })


def trend_flags_wide(flags: pd.DataFrame) -> pd.DataFrame:
    """:func:`trend_flags` with one row per feed and area and one column per window."""
    if flags.empty:
        return pd.DataFrame(columns=["Feed", "Area"])
    wide = flags.pivot_table(index=["feed_title", "name"], columns="window", values="flag",
                             aggfunc="first", sort=False)
    wide.columns = [f"Last {w} months" for w in wide.columns]
    wide = wide.reset_index().rename(columns={"feed_title": "Feed", "name": "Area"})
    return wide


# -- helpers ----------------------------------------------------------------------------------
def _shown_values(counts: pd.DataFrame, code: str, periods: pd.PeriodIndex) -> list[float]:
    """The counts of ``code`` over ``periods`` as the charts show them (NaN where hidden)."""
    if code not in counts.index:
        return []
    return [float("nan") if pd.isna(v) else float(v)
            for v in counts.loc[code].reindex(periods)]


def _flag_text(trend: str, p_value: float, slope: float, window: int, last: pd.Period,
               values: Sequence[float]) -> str:
    """The flag as shown, naming its window (``core.trend_words.feed_label``); the p-value and
    slope only where the role may see them."""
    text = feed_label(trend, int(window), last, values, symbol=True)
    if trend in ("increasing", "decreasing") and not (np.isnan(p_value) or np.isnan(slope)):
        text += f", p = {p_value:.3f}, {slope:+.1f} a year"
    return text
