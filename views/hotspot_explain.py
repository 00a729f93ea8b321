"""Why a place is a hotspot, in one paragraph, and its trend class with its window.

Works on a ``views.hotspots.HotspotView`` (``view`` below; not imported: ``views.hotspots``
imports this module), already protected for the role: a protected role's figures are of the
wards the hotspot covers, measured against their residents' share.

No Streamlit here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.trend_words import hotspot_title, window_text
from views.hotspot_notes import shared_wards
from views.readable import FEED_NAMES, thousands


def explain(view, hotspot_id: int) -> str:
    """One paragraph (plain text) saying why this place is a hotspot, as the role may see it."""
    row = view.row(hotspot_id)
    expected = float(row["expected"])
    events = row["events_display"]
    risk = row["relative_risk"]
    if view.wards_based:
        parts = [(f"{thousands(events)} records in the wards it covers ("
                 f"{', '.join(row['wards'])}) where {_expected(expected)} would be expected from their "
                 f"residents' share of West Yorkshire's records (protected figures)")]
    else:
        parts = [(f"{thousands(events)} events where {_expected(expected)} would be expected from the "
                 f"{row['area_km2']:.2f} km² area's {view.measured_against}")]
    if not pd.isna(risk):
        parts.append("relative risk " + ("very high" if np.isinf(risk) else f"{risk:,.1f}"))
    p = row["p_value"]
    if not pd.isna(p):
        parts.append("p-value " + ("< 0.001" if p < 0.001 else f"{p:.3f}")
                     + " (Monte-Carlo test of the Poisson scan)")
    text = "; ".join(parts) + "."
    text += f" Trend: {trend_label(row)}."
    if row["cross_feed"]:
        text += " Cross-feed: " + ", ".join(FEED_NAMES.get(f, f) for f in row["feeds"]) \
            + " each have a hotspot here."
    if row["monthly_hidden"]:
        text += " Its monthly counts are hidden: with its total they could give a small number" \
                " away."
    shared = shared_wards(view).get(int(hotspot_id), {})
    for ward, ranks in shared.items():
        others = " and ".join(str(r) for r in ranks)
        text += (f" {ward} is also in hotspot {others}" if len(ranks) == 1
                 else f" {ward} is also in hotspots {others}")
        text += (": its records count in both." if view.wards_based
                 else ": the ward is large enough to hold both.")
    return text


def _expected(expected: float) -> str:
    """An expected count as read: "4.2", "under 0.1" (not "0.0", which reads as none)."""
    return "under 0.1" if 0 < expected < 0.05 else f"{expected:,.1f}"


def trend_label(row) -> str:
    """A hotspot's trend class naming its window, e.g. "Intensifying (24 months to Nov 2026)"
    (``core.trend_words``: the one vocabulary of the Hotspots page, the meeting and the pack)."""
    window = trend_window(row)
    return f"{hotspot_title(row['trend'])} ({window})" if window else hotspot_title(row["trend"])


def trend_window(row) -> str:
    """The window a hotspot's trend class is for, e.g. "24 months to Nov 2026"
    (``core.trend_words.window_text``); "" when the row has none."""
    months, last = row.get("trend_months"), row.get("trend_to")
    if months is None or pd.isna(months) or not last or pd.isna(last):
        return ""
    return window_text(int(months), pd.Period(str(last), "M"))
