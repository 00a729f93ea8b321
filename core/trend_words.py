"""The trend vocabulary: the words every page, the meeting and the briefing pack use for a
hotspot's class and a feed's trend, their plain-English definitions, and labels that name the
window the words are about.

Defined once, here (issue 13, "one trend language"): before, the Hotspots page, the meeting
and the pack each kept their own titles and disagreed. No other module keeps a dict of trend
titles (``tests/test_trend_words.py`` checks).

- **Hotspot classes** (``core.trends.classify``): ArcGIS Pro's eight emerging hot-spot classes
  and "no pattern", on monthly steps (``docs/hotspots.md``, "Emerging trend").
- **Feed trends** (``core.trends.mann_kendall`` via ``RoleScopedQuery.period_trends``): rising,
  falling or no significant trend over a window of months or quarters; where the test is not
  significant but the last periods went the same way, the label says so
  (:func:`feed_label`), so a chart that rises three quarters running is never captioned with
  a bare "no trend".

No pandas, no Streamlit: periods are ``pandas.Period``-like (``year``, ``month``, ``quarter``
and ``freqstr``), counts plain sequences.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from core.trends import CATEGORIES, MIN_MONTHS, TOO_SHORT

#: Hotspot class → the word shown.
HOTSPOT_TITLES = {
    "new": "New", "consecutive": "Consecutive", "intensifying": "Intensifying",
    "persistent": "Persistent", "diminishing": "Diminishing", "sporadic": "Sporadic",
    "oscillating": "Oscillating", "historical": "Historical", "no pattern": "No pattern",
    TOO_SHORT: "Not classified",
}
#: Hotspot class → what it means, in plain English (help text). "Hot" is a month with
#: significantly more records than the area's residents would predict.
HOTSPOT_DEFINITIONS = {
    "new": "Hot in the last 3 months and never before the last 6 months.",
    "consecutive": "Hot for an unbroken run of months up to the last 3 months, the run "
                   "starting more than 6 months ago, and not hot before it; hot in fewer than "
                   "half of the months.",
    "intensifying": "Hot in the last 3 months, and the excess of records over what residents "
                    "predict has risen significantly over the window.",
    "persistent": "Hot in the last 3 months and in at least half of the months, with no "
                  "significant rise or fall.",
    "diminishing": "The excess of records over what residents predict has fallen "
                   "significantly over the window.",
    "sporadic": "Hot in the last 3 months, and on and off before (fewer than half of the "
                "months), never significantly quiet.",
    "oscillating": "Hot in the last 3 months, on and off before, and significantly quieter "
                   "than predicted in at least one earlier month.",
    "historical": "Hot in earlier months but not in the last 3.",
    "no pattern": "Significant over the whole window, but in no single month.",
    TOO_SHORT: f"Fewer than {MIN_MONTHS} months in the window, too few to classify.",
}
#: Feed trend (``core.trends.MannKendall.trend`` or a reason it was not tested) → the word shown.
FEED_TITLES = {
    "increasing": "Rising", "decreasing": "Falling", "no trend": "No significant trend",
    "too few records": "Too few records to test", "not enough data": "Not enough data",
}
FEED_SYMBOLS = {"increasing": "▲", "decreasing": "▼"}
FEED_DEFINITIONS = {
    "increasing": "Records went up over the window: a Mann-Kendall test of the counts per "
                  "period, two-sided p < 0.05.",
    "decreasing": "Records went down over the window: a Mann-Kendall test of the counts per "
                  "period, two-sided p < 0.05.",
    "no trend": "No steady rise or fall over the window (Mann-Kendall, p ≥ 0.05); the label "
                "says when the last periods went up or down all the same.",
    "too few records": "Fewer records than the small-number threshold over the window: not "
                       "tested.",
    "not enough data": "The data do not cover enough of the window (at least 3 whole periods; "
                       "the whole window on the Trends page): not tested.",
}
#: Every hotspot class with its definition, for help text and the briefing pack's note.
HOTSPOT_CLASS_NOTE = ("A month is hot when it has significantly more records than the area's "
                      "residents predict (Poisson test, p < 0.05). " + " ".join(
                          f"{HOTSPOT_TITLES[c]}: {HOTSPOT_DEFINITIONS[c][0].lower()}"
                          f"{HOTSPOT_DEFINITIONS[c][1:]}" for c in (*CATEGORIES, TOO_SHORT)))
#: Every feed trend word with its definition (help text).
FEED_TREND_NOTE = " ".join(f"{FEED_TITLES[t]}: {FEED_DEFINITIONS[t][0].lower()}"
                           f"{FEED_DEFINITIONS[t][1:]}" for t in FEED_TITLES)
#: A run of this many rises (or falls) at the end of a window is mentioned in the label.
MIN_RUN = 2
_UNITS = {"M": "month", "Q": "quarter"}


def _freq(period) -> str:
    return "Q" if str(period.freqstr).startswith("Q") else "M"


def period_name(period) -> str:
    """"Nov 2026" or "Q3 2026"."""
    if _freq(period) == "Q":
        return f"Q{period.quarter} {period.year}"
    return f"{_MONTHS[period.month - 1]} {period.year}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def window_text(n_periods: int, last) -> str:
    """"24 months to Nov 2026" or "8 quarters to Q3 2026"."""
    unit = _UNITS[_freq(last)]
    return f"{n_periods} {unit}{'s' if n_periods != 1 else ''} to {period_name(last)}"


def hotspot_title(category: str) -> str:
    """The word for a hotspot class, without the window (table cells under a titled column)."""
    return HOTSPOT_TITLES.get(category, str(category).capitalize())


def hotspot_label(category: str, n_months: int, last) -> str:
    """E.g. "Intensifying (24 months to Nov 2026)"."""
    return f"{hotspot_title(category)} ({window_text(n_months, last)})"


def last_run(values: Sequence[float]) -> int:
    """Rises (positive) or falls (negative) in a row at the end of ``values``; 0 if the last
    two shown values are equal. A missing value (None or NaN: hidden, no data) ends the run:
    the label may only speak of what the chart shows."""
    shown = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
             for v in values]
    run, sign = 0, 0
    for now, before in zip(reversed(shown[1:]), reversed(shown[:-1])):
        if now is None or before is None or now == before:
            break
        step = 1 if now > before else -1
        if sign and step != sign:
            break
        sign, run = step, run + 1
    return sign * run


def feed_label(trend: str, n_periods: int, last, values: Sequence[float] | None = None,
               symbol: bool = False) -> str:
    """A feed's trend over a window, naming the window.

    E.g. "Rising (8 quarters to Q3 2026)"; where the test is not significant but the shown
    ``values`` (the window's counts, oldest first, as the chart draws them) end in at least
    ``MIN_RUN`` rises or falls: "No significant trend (8 quarters to Q3 2026); up 3 quarters
    running". ``symbol`` prefixes ▲/▼ to a significant trend.
    """
    title = FEED_TITLES.get(trend, str(trend))
    if symbol and trend in FEED_SYMBOLS:
        title = f"{FEED_SYMBOLS[trend]} {title}"
    text = f"{title} ({window_text(n_periods, last)})"
    if trend == "no trend" and values is not None:
        run = last_run(values)
        if abs(run) >= MIN_RUN:
            text += (f"; {'up' if run > 0 else 'down'} {abs(run)} "
                     f"{_UNITS[_freq(last)]}s running")
    return text


def _check() -> None:
    missing = set(CATEGORIES) - set(HOTSPOT_TITLES)
    if missing or set(HOTSPOT_TITLES) != set(HOTSPOT_DEFINITIONS):
        raise AssertionError(f"hotspot classes without words: {sorted(missing)}")


_check()
