"""Trends for the Deputy Mayor's office: KPIs per whole month or quarter and the test of a change.

The KPI table (:func:`kpi_table`) and its tiles and notes, the test of a change between two
periods (:func:`change_test`, also used by meeting mode and the briefing pack) and the Trends
page's link (:func:`trends_view`). Every figure is cut from the feed's protected tables
(``views.feed_tables``: one protection per feed, whole periods only, complete ones only); the
series and the other measures are in ``views.trend_series``, the trend flags in
``views.trend_flags``.

Every figure is read through ``safeguards.access.RoleScopedQuery`` and, for roles under disclosure
control (chair, executive, admin), comes out of ``safeguards.disclosure``: counts as ``"<k"`` or
``"[c]"`` where hidden, rates and shares hidden wherever a count they are made from is hidden,
medians over fewer than k records hidden. No Streamlit here; the Trends page
(``pages/trends.py``) and the briefing pack use these functions.

**Beyond normal variation.** A change between two periods is tested with the exact conditional
test of two Poisson counts: given ``n1 + n2`` records in the two periods, ``n1`` is
``Binomial(n1 + n2, d1 / (d1 + d2))`` if the daily rate did not change (``d`` the days in each
period). Real counts vary more than Poisson counts (repeat episodes, operations, seasons), so the
test is widened by a **dispersion factor** φ (:func:`dispersion`): the Pearson chi-square of the
same feed and area's previous :data:`DISPERSION_PERIODS` periods around a straight-line daily rate,
divided by its degrees of freedom, floored at 1 (1 with fewer than :data:`MIN_HISTORY` periods of
history). The test is then run on the counts divided by φ (quasi-Poisson scaling, rounded to
whole records). The change is "beyond normal variation" when the two-sided p-value is below
``alpha`` (0.05). Read a flag as "worth a look", not as proof. Suppressed roles get no test where
either count is hidden, and their φ is estimated from the counts they may see (hidden periods
are left out), so the verdict reveals nothing a hidden cell holds. Meeting mode and the briefing
pack use the same test (:func:`change_test`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from core.errors import PeriodError
from core.periods import (
    days,
    freq_of,
    last_year,
    parse_period,
    period_label,
    period_text,
)
from core.schema import FEEDS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL
from views.feed_tables import (
    FEED_SHORT_TITLES,
    INCOMPLETE,
    NO_DATA,
    FeedTables,
    check_in_data,
    feed_tables,
    gap_display,
)
from views.readable import thousands
from views.trend_series import MEASURES

ALPHA = 0.05
#: Periods of history the dispersion factor is estimated from, and the fewest it needs.
DISPERSION_PERIODS = 24
MIN_HISTORY = 8
TEST_NOTE = ("Beyond normal variation: exact test of two Poisson counts (conditional binomial, "
             "adjusted for the days in each period), widened by the over-dispersion of the "
             "previous 24 periods (Pearson chi-square / df around a trend line, at least 1), "
             "two-sided p < 0.05. Only whole periods covered by the data are compared.")


# -- KPIs -------------------------------------------------------------------------------------
def kpi_table(query: RoleScopedQuery, period: str, *, alpha: float = ALPHA,
              feeds: Sequence[str] = tuple(FEEDS)) -> pd.DataFrame:
    """Per feed: records in ``period``, the previous period and the same period last year.

    Parameters
    ----------
    query : RoleScopedQuery
    period : str
        ``"2026-10"`` (a month) or ``"2026-Q3"`` (a quarter).
    alpha : float
        Significance level of the test of a change (module docstring).
    feeds : sequence of str

    Returns
    -------
    DataFrame
        One row per feed. ``feed``, ``title``, ``period`` (text), ``period_label``; then for
        ``""`` (this period), ``previous_`` and ``last_year_``: ``{p}count`` (Int64, <NA> where
        hidden, no data or incomplete), ``{p}display`` ("1,234", "<5", "[c]", "no data",
        "incomplete": a period the data cover only in part); for ``previous``/``last_year``:
        ``{p}period``, ``{p}period_label``, ``change_{p}`` ("+6 (+15%)", None where a count is
        hidden or missing), ``direction_{p}`` ("up", "down", "same", None), ``p_{p}`` (p-value,
        NaN where not tested) and ``beyond_{p}`` (True/False, None where not tested);
        ``dispersion`` (φ of the test, module docstring); ``threshold`` (k; 1 when nothing is
        suppressed) and ``suppressed`` (whether any of the three counts is hidden).

    Raises
    ------
    PeriodError
        ``period`` is not a month or quarter, or the data do not cover it completely.
    """
    target = parse_period(period)
    freq = freq_of(target)
    rows = []
    for feed in feeds:
        tables = feed_tables(query, feed, freq)
        check_in_data(target, None if tables is None else tables.bounds,
                      () if tables is None else tables.periods)
        row = {"feed": feed, "title": FEED_SHORT_TITLES[feed], "period": period_text(target),
               "period_label": period_label(target)}
        now, now_display = _total(tables, target)
        row.update(count=now, display=now_display)
        counts = tables.area.counts.loc[TOTAL]
        for prefix, other in (("previous", target - 1), ("last_year", last_year(target))):
            before, before_display = _total(tables, other)
            p_value, beyond, phi = change_test(counts, tables.periods, target, other, alpha)
            row.update({f"{prefix}_period": period_text(other),
                        f"{prefix}_period_label": period_label(other),
                        f"{prefix}_count": before, f"{prefix}_display": before_display,
                        f"change_{prefix}": change_text(now, before),
                        f"direction_{prefix}": direction(now, before),
                        f"p_{prefix}": p_value, f"beyond_{prefix}": beyond})
        hidden = [row[c] is None for c in ("count", "previous_count", "last_year_count")
                  if row[c.replace("count", "display")] not in (NO_DATA, INCOMPLETE)]
        row.update(dispersion=phi, threshold=tables.threshold, suppressed=any(hidden))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("count", "previous_count", "last_year_count"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    for column in frame.columns:
        if column.startswith(("change_", "direction_", "beyond_")):
            # object, so that "not shown" stays None (pandas would make text columns' None NaN)
            frame[column] = pd.Series([row[column] for row in rows], dtype=object)
    return frame


def kpi_export(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table as people read it (text, for a CSV or a PDF): what every role may see."""
    out = pd.DataFrame({
        "Feed": kpis["title"],
        "Period": kpis["period_label"],
        "Records": kpis["display"],
        "Previous period": kpis["previous_period_label"],
        "Records (previous)": kpis["previous_display"],
        "Change on previous": kpis["change_previous"].fillna("not shown"),
        "Beyond normal variation (previous)": kpis["beyond_previous"].map(_yes_no),
        "Same period last year": kpis["last_year_period_label"],
        "Records (last year)": kpis["last_year_display"],
        "Change on last year": kpis["change_last_year"].fillna("not shown"),
        "Beyond normal variation (last year)": kpis["beyond_last_year"].map(_yes_no),
    })
    return out


def change_text(now: int | None, before: int | None) -> str | None:
    """``"+12 (+15%)"``, ``"-3 (-20%)"``, ``"+5"`` (nothing before) or None (a count missing).

    Examples
    --------
    >>> change_text(46, 40), change_text(3, 0), change_text(None, 4)
    ('+6 (+15%)', '+3', None)
    """
    if now is None or before is None:
        return None
    diff = now - before
    return f"{diff:+,}" if before == 0 else f"{diff:+,} ({diff / before:+.0%})"


def direction(now: int | None, before: int | None) -> str | None:
    """``"up"``, ``"down"``, ``"same"``, or None when a count is missing."""
    if now is None or before is None:
        return None
    return "up" if now > before else "down" if now < before else "same"


def change_p_value(now: int | None, before: int | None, days_now: int = 1,
                   days_before: int = 1, dispersion: float = 1.0) -> float:
    """Two-sided p-value of the exact conditional test that two Poisson counts share a daily
    rate (NaN when a count is missing or both are 0).

    With ``dispersion`` φ > 1 (counts varying φ times more than Poisson counts), the test is run
    on the counts divided by φ, rounded (quasi-Poisson scaling): wider, as it should be.

    Examples
    --------
    >>> round(change_p_value(30, 10), 4)  # Binomial(40, 0.5): P(|X - 20| >= 10)
    0.0022
    >>> round(change_p_value(30, 10, dispersion=2.0), 4)  # as 15 against 5
    0.0414
    """
    if now is None or before is None or now + before == 0:
        return float("nan")
    share = days_now / (days_now + days_before)
    phi = max(1.0, float(dispersion)) if np.isfinite(dispersion) else 1.0
    n = int(round((now + before) / phi))
    if n == 0:
        return 1.0
    k = min(int(round(now / phi)), n)
    return float(stats.binomtest(k, n, share).pvalue)


def dispersion(counts: Sequence[float], period_days: Sequence[int] | None = None) -> float:
    """How much more than Poisson counts ``counts`` vary: φ ≥ 1.

    The Pearson chi-square of the counts around a straight-line daily rate (least squares,
    so a steady rise or fall is not taken for noise), divided by its degrees of freedom
    (periods - 2), and floored at 1. Missing counts (NaN, <NA>: hidden) are left out, keeping
    the others' places in time. 1 with fewer than :data:`MIN_HISTORY` counts, or none above 0.

    Examples
    --------
    >>> dispersion([100] * 12)
    1.0
    >>> round(dispersion([60, 140] * 6), 1)  # swings of ±40 around 100: about 16 × Poisson
    18.9
    """
    values = pd.to_numeric(pd.Series(list(counts), dtype=object), errors="coerce") \
        .to_numpy(float)
    lengths = (np.ones(len(values)) if period_days is None
               else np.asarray(list(period_days), dtype=float))
    places = np.arange(len(values), dtype=float)
    keep = ~np.isnan(values)
    values, lengths, places = values[keep], lengths[keep], places[keep]
    if len(values) < MIN_HISTORY or values.sum() <= 0:
        return 1.0
    slope, intercept = np.polyfit(places, values / lengths, 1)
    expected = np.maximum((intercept + slope * places) * lengths, 0.5)
    chi_square = float(((values - expected) ** 2 / expected).sum())
    return max(1.0, chi_square / (len(values) - 2))


def change_test(counts: pd.Series, periods: pd.PeriodIndex, now: pd.Period, before: pd.Period,
                alpha: float = ALPHA) -> tuple[float, bool | None, float]:
    """The test of a change (module docstring) from ``before`` to ``now`` in one row of
    protected counts.

    Parameters
    ----------
    counts : Series
        One area's (or West Yorkshire's) counts per period as the role may see them (<NA> or
        NaN where hidden), indexed by period.
    periods : PeriodIndex
        The periods the data cover completely: only these are tested or used as history.
    now, before : Period
    alpha : float

    Returns
    -------
    tuple
        ``(p_value, beyond, dispersion)``: NaN and None where either count is hidden, outside
        ``periods`` or both are 0; ``dispersion`` from the :data:`DISPERSION_PERIODS` periods
        before ``now``.
    """
    shown = counts.reindex(periods)
    history = shown[shown.index < now].iloc[-DISPERSION_PERIODS:]
    phi = dispersion(history.tolist(), [days(p) for p in history.index])
    a, b = (None if p not in shown.index or pd.isna(shown[p]) else int(shown[p])
            for p in (now, before))
    p_value = change_p_value(a, b, days(now), days(before), dispersion=phi)
    return p_value, (None if np.isnan(p_value) else bool(p_value < alpha)), phi


# -- helpers ----------------------------------------------------------------------------------
def _total(tables: FeedTables, period: pd.Period) -> tuple[int | None, str]:
    """The feed's West Yorkshire total in ``period`` and its display ("no data" outside the
    data, "incomplete" for a period they cover in part)."""
    if period not in tables.periods:
        return None, gap_display(period, tables.bounds)
    value = tables.area.counts.loc[TOTAL, period]
    return (None if pd.isna(value) else int(value),
            thousands(tables.area.display.loc[TOTAL, period]))


def _yes_no(value) -> str:
    return "not tested" if value is None or pd.isna(value) else ("yes" if value else "no")


# -- the Trends page's link -------------------------------------------------------------------
P_PERIOD, P_MEASURE = "period", "measure"


@dataclass(frozen=True)
class TrendsView:
    """What the Trends page shows: the KPI period (and so months or quarters) and the measure
    of its series charts. ``warnings`` say what part of the link could not be used."""

    period: str
    measure: str = "count"
    warnings: tuple[str, ...] = ()

    @property
    def freq(self) -> str:
        return freq_of(parse_period(self.period))


def trends_view(params: dict, choices: dict[str, Sequence[str]]) -> TrendsView | None:
    """The view a link asks for, within the periods the data cover (``choices`` per frequency,
    newest first, as ``views.feed_tables.data_periods`` gives). None when there is no period
    at all.

    A period that cannot be read or is not covered gives the newest period of the same kind
    (months by default) and a warning; so does an unknown measure (then "count").
    """
    def first(key):
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return None if value in (None, "") else str(value)

    warnings = []
    measure = first(P_MEASURE) or "count"
    if measure not in MEASURES:
        warnings.append(f"measure {measure[:20]!r} is not one of {', '.join(MEASURES)}")
        measure = "count"
    asked, freq = first(P_PERIOD), "M"
    if asked is not None:
        try:
            parsed = parse_period(asked)
            freq = freq_of(parsed)
            asked = period_text(parsed)
        except PeriodError:
            warnings.append(f"period {asked[:20]!r} is not a month (YYYY-MM) or a quarter "
                            "(YYYY-Qn)")
            asked = None
    options = list(choices.get(freq) or []) or list(choices.get("M") or choices.get("Q") or [])
    if not options:
        return None
    if asked is not None and asked not in options:
        warnings.append(f"the data do not cover {asked} completely; showing {options[0]}")
        asked = None
    return TrendsView(period=asked or options[0], measure=measure, warnings=tuple(warnings))


def trends_params(view: TrendsView) -> dict[str, str]:
    """The link of ``view`` (the measure only when it is not the default)."""
    params = {P_PERIOD: view.period}
    if view.measure != "count":
        params[P_MEASURE] = view.measure
    return params


# -- what the page lays out -------------------------------------------------------------------
def period_title(text: str) -> str:
    """``"2026-Q3"`` → ``"Q3 2026 (Jul–Sep)"``, for a period picker."""
    return period_label(parse_period(text))


def last_month(text: str) -> str:
    """The last month of a period: ``"2026-Q3"`` → ``"2026-09"``, ``"2026-10"`` → itself."""
    period = parse_period(text)
    return period_text(period.asfreq("M", how="end"))


def hidden_threshold(kpis: pd.DataFrame) -> int:
    """The largest small-number threshold behind any tile (1 when nothing is hidden)."""
    return int(kpis["threshold"].max())


def kpi_tiles(kpis: pd.DataFrame) -> list[dict]:
    """One dict per KPI tile: ``title``, ``value``, ``delta`` (change on the previous period,
    None where not shown), ``help`` and ``note`` (:func:`kpi_notes`)."""
    tiles = []
    for row, note in zip(kpis.to_dict("records"), kpi_notes(kpis)):
        change = row["change_previous"]
        tiles.append({"title": row["title"], "value": row["display"],
                      "delta": None if change is None or pd.isna(change) else change,
                      "help": f"Change on {row['previous_period_label']}. {TEST_NOTE}",
                      "note": note})
    return tiles


def kpi_notes(kpis: pd.DataFrame) -> list[str]:
    """One line per KPI row under its tile: the two comparisons and their tests."""
    notes = []
    for row in kpis.to_dict("records"):
        parts = []
        for prefix, name in (("previous", "previous"), ("last_year", "last year")):
            change = row[f"change_{prefix}"]
            if row[f"{prefix}_display"] in (NO_DATA, INCOMPLETE):
                what = ("no data" if row[f"{prefix}_display"] == NO_DATA
                        else "not complete in the data, not compared")
                parts.append(f"{name} ({row[f'{prefix}_period_label']}): {what}")
                continue
            text = f"{name} ({row[f'{prefix}_period_label']}): {row[f'{prefix}_display']}"
            if change is not None and not pd.isna(change):
                text += f", {change}"
                beyond = row[f"beyond_{prefix}"]
                if beyond is not None and not pd.isna(beyond):
                    text += (", beyond normal variation" if beyond
                             else ", within normal variation")
            parts.append(text)
        text = "; ".join(parts)
        notes.append(text[:1].upper() + text[1:])
    return notes
