"""What the Hotspots page says about its hotspots besides their figures (issue 13 item 8).

How much of West Yorkshire they cover against the list's area limit (:func:`coverage_note`,
said in the same words by the meeting and the briefing pack), what ranks them
(:func:`ranking_note`), which hotspots share a ward (:func:`shared_wards`: a large ward can
hold two, and a protected role's figures of both count its records), what to say when a
hotspot's monthly counts are hidden (:func:`monthly_note`: a sentence, never an empty chart),
and a protected role's trend class worked out from the very figures its chart draws
(:func:`chart_trend`). Works on a ``views.hotspots.HotspotView`` (``view`` below; not
imported: ``views.hotspots`` imports this module), already protected for the role.

No Streamlit here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from views.readable import percent_text

#: What orders the hotspots, for the table's caption and the Rank column's help.
RANKED_BY = ("Ranked by strength of evidence: the scan's log-likelihood ratio, which weighs how "
             "far the rate inside exceeds the rate outside against how many records it rests "
             "on. A small place with a very high relative risk on few records can rank below a "
             "larger one with a lower relative risk on many; the p-value follows the rank.")
RANKED_BY_PROTECTED = ("Ranked by strength of evidence: the scan's log-likelihood ratio (not "
                       "shown to your role: with the area's population it would give the count "
                       "inside the hotspot away); the p-value follows the rank. The relative "
                       "risk shown is of the wards the hotspot covers, so it need not follow "
                       "the rank.")


#: Why the list has an area limit and how it is filled, for the help of :func:`coverage_note`.
COVERAGE_HELP = ("The list is limited to a share of West Yorkshire so that a partnership can "
                 "task it. The strongest places are kept while they fit; a place that would "
                 "take the total past the limit is left out, and a weaker one that still fits "
                 "is kept. The share is the area of the hotspots themselves, not of the whole "
                 "wards they fall in.")


def coverage_note(view) -> str:
    """How much of West Yorkshire the hotspots cover against the area budget, and how many
    significant places the budget left out (the budget keeps the strongest that fit and
    skips a place that would take the total past it: ``models.hotspot_budget``); "" when
    there is nothing to say (no hotspot and none left out).

    One sentence, short enough for a projector, that names its hotspots ("The 6 hotspots
    cover ..."), so it reads the same under the Hotspots page's count, on the meeting's
    hotspot step and in the briefing pack (``views.meeting_figures``); why there is a limit
    is :func:`coverage_help`.
    """
    places = "place was" if view.left_out == 1 else "places were"
    n = len(view.hotspots)
    if n == 0:
        if not view.left_out or view.max_area is None:
            return ""
        return (f"No hotspot fits within the list's limit of {percent_text(view.max_area)} of "
                f"West Yorkshire: {view.left_out} significant {places} found, each larger than "
                "that.")
    subject = "The hotspot covers" if n == 1 else f"The {n} hotspots cover"
    covered = f"{subject} {percent_text(view.area_share)} of West Yorkshire"
    if view.max_area is None:
        return covered + " (no area limit)."
    budget = f"{covered}, within the list's limit of {percent_text(view.max_area)}"
    if not view.left_out:
        return budget + "."
    return f"{budget}; {view.left_out} more significant {places} left out to stay within it."


def coverage_help(view) -> str:
    """The help of :func:`coverage_note`: :data:`COVERAGE_HELP` where the list has an area
    limit and the note says something, else ""."""
    return COVERAGE_HELP if view.max_area is not None and coverage_note(view) else ""


def ranking_note(view) -> str:
    """What ranks the hotspots, as the role sees the table (:data:`RANKED_BY`)."""
    return RANKED_BY_PROTECTED if view.wards_based or view.suppressed else RANKED_BY


def shared_wards(view) -> dict[int, dict[str, list[int]]]:
    """For each hotspot, the wards it shares with other hotspots and their ranks: a large ward
    can hold two hotspots (each a union of 300 m cells), and a protected role's figures of
    both then count that ward's records."""
    frame = view.hotspots
    holders: dict[str, list[int]] = {}
    for rank, wards in zip(frame["rank"].astype(int), frame["wards"]):
        for ward in dict.fromkeys(wards or []):
            holders.setdefault(ward, []).append(int(rank))
    return {int(hid): {ward: [r for r in holders[ward] if r != int(rank)]
                       for ward in dict.fromkeys(wards or []) if len(holders[ward]) > 1}
            for hid, rank, wards in zip(frame["hotspot_id"], frame["rank"], frame["wards"])}


def monthly_note(view, hotspot_id: int) -> str | None:
    """What to say instead of (or under) the monthly chart: None when every month is shown; a
    sentence when some months are hidden; when no month left has a record to draw, the
    sentence replaces the chart (:func:`monthly_chart_shown`), as an empty chart says nothing.
    """
    row = view.row(hotspot_id)
    counts = _months(view, hotspot_id)["count"]
    if row["monthly_hidden"] or not len(counts):
        return ("Monthly counts are hidden for this hotspot: with its total they could give a "
                "small number away.")
    hidden, n = int(counts.isna().sum()), len(counts)
    if hidden == 0:
        return None
    below = f"fewer than {view.threshold} records" if view.threshold > 1 else "hidden records"
    shown_as = f" (shown as <{view.threshold})" if view.threshold > 1 else ""
    where = " in the wards it covers" if view.wards_based else ""
    if not monthly_chart_shown(view, hotspot_id):
        rest = "" if hidden == n else ", the other months none"
        return (f"Monthly counts are hidden for this hotspot: {hidden} of {n} months have "
                f"{below}{where}{shown_as}{rest}, so there is no chart to draw.")
    return (f"{hidden} of {n} months are hidden ({below}{where}{shown_as}) and left out of "
            "the chart.")


def monthly_chart_shown(view, hotspot_id: int) -> bool:
    """Whether the monthly chart has anything to draw: some month shown with a record."""
    if view.row(hotspot_id)["monthly_hidden"]:
        return False
    return bool((_months(view, hotspot_id)["count"] > 0).any())


def _months(view, hotspot_id: int) -> pd.DataFrame:
    part = view.monthly[view.monthly["hotspot_id"] == int(hotspot_id)]
    return pd.DataFrame({"count": part["count"].astype("Float64").astype(float).to_numpy()})


def chart_trend(counts, county, share: float) -> str:
    """A protected role's hotspot class (``core.trends.classify``), from what its chart shows.

    ``counts`` are the month figures the chart draws (published sums of the wards the hotspot
    covers, ``<NA>`` where hidden), ``county`` the same months' published records over every
    ward (same feeds and filters) and ``share`` the covered wards' share of West Yorkshire's
    residents, so a month expects ``county × share`` records: the model's baseline, in wards
    and published figures. The model's own class counts records inside its 300 m cells, which
    a chair's chart does not show, so the two could disagree (issue 13: "rising" beside a
    falling chart). A hidden month (1 to k-1) is taken as exactly what was expected, neither
    hot nor cold and no excess: the class then rests on the shown months only, and tells
    nothing about a hidden one.
    """
    from core import trends

    shown = pd.array(counts, dtype="Float64")
    expected = np.nan_to_num(pd.array(county, dtype="Float64").to_numpy(float, na_value=0.0)
                             * float(share))
    hidden = np.asarray(shown.isna(), bool)
    values = np.where(hidden, expected, shown.to_numpy(float, na_value=0.0))
    return trends.classify(values, expected).category
