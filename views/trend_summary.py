"""The Trends page's plain-English summary: better or worse, and where.

For the last whole quarter the data cover (against the quarter before) and, when whole months
of the next quarter are in, the quarter to date (against the same months of the quarter
before), one sentence per feed: worse (up, beyond normal variation), better (down, beyond
normal variation), no real change, or not compared; and the districts that drive it (those whose
own change is beyond normal variation, in the same direction, largest first), by name.

"Beyond normal variation" is the KPI tiles' test (``views.kpis.change_test``: the exact test of
two Poisson counts, widened by the over-dispersion of the history), run on West Yorkshire's and
each district's counts. A quarter to date of two months is tested on the two months' sums, with
the dispersion of the monthly history before them (``views.kpis.dispersion``, the same
estimate: under quasi-Poisson variation a sum of periods varies φ times its mean too); a quarter
to date of one month is exactly that month's test.

Every count is cut from the feed's protected tables (``views.feed_tables``), so for a chair,
executive or admin they are the published sums (``safeguards.publication``) the query layer
returns, and a comparison where either count is hidden is not made (and names no district).

No Streamlit here; the Trends page (``pages/trends.py``) lays these out.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.periods import covered, days, parse_period, period_label, period_text
from core.schema import FEEDS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL
from views.feed_tables import (
    FEED_SHORT_TITLES,
    WEST_YORKSHIRE,
    FeedTables,
    area_names,
    data_periods,
    feed_tables,
)
from views.kpis import (
    ALPHA,
    DISPERSION_PERIODS,
    change_p_value,
    change_test,
    dispersion,
)
from views.readable import thousands

#: How many districts a sentence names at most.
MAX_NAMED = 3
#: The verdicts, and the mark each is shown with (never colour alone).
VERDICTS = {"worse": "▲ Worse", "better": "▼ Better", "no real change": "● No real change",
            "not compared": "○ Not compared"}

#: The method, for the help icon (the page's main text says it in plain words).
METHOD_NOTE = (
    "**Worse** means more records than the period before, **better** fewer, in both cases by more "
    "than the usual ups and downs of these figures (\"beyond normal variation\"); otherwise "
    "**no real change**. More records can also mean better finding and recording of "
    "exploitation: read a verdict as \"worth a look\", not as proof.\n\n"
    "**How it is tested.** The exact test of two Poisson counts (conditional binomial, adjusted "
    "for the days in each period), widened by the over-dispersion of the previous 24 periods "
    "(Pearson chi-square / df around a trend line, at least 1); two-sided p < 0.05. The quarter "
    "to date is tested on its whole months against the same months of the quarter before "
    "(the sums of those months, with the dispersion of the monthly history). The districts "
    "named are those whose own change passes the same test, in the same direction, largest "
    "change first.\n\n"
    "**Protected figures.** The Deputy Mayor's office, chairs and admins see published figures: "
    "small counts are hidden, and every small number is replaced by a value drawn at random "
    "before anything is added up (cell-key perturbation), so totals are close to the true "
    "figures, not exact. Nothing is compared where a figure is hidden.")

#: What "beyond normal variation" means, in a line under the KPI tiles.
PLAIN_TEST_NOTE = ("\"Beyond normal variation\": a change bigger than these figures' usual ups "
                   "and downs. Only whole periods are compared.")

#: Trend flags, in plain words (the method, ``views.trend_flags.TREND_NOTE``, is behind the
#: help icon).
PLAIN_TREND_NOTE = ("Rising or falling: is each district's monthly count going steadily up or "
                    "down over the last 12 and 24 months? Where it is not, but the last months "
                    "went the same way, the flag says so (\"up 3 months running\"). The "
                    "meeting and the briefing pack use the same words.")

def hidden_note(threshold: int) -> str:
    """The plain note under protected figures (``safeguards.disclosure.legend`` says it in
    full, behind the help icon)."""
    return (f"<{threshold}: fewer than {threshold}, hidden to protect the people counted. "
            "Protected figures are close to the true figures, not exact. A change is shown "
            "and tested only where both counts are.")


# -- what the summary holds -------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One area's change between two windows: counts as the role may see them (None where
    hidden or not covered) and the test's verdict."""

    code: str
    name: str
    now: int | None
    before: int | None
    p_value: float = float("nan")
    beyond: bool | None = None

    @property
    def diff(self) -> int | None:
        return None if self.now is None or self.before is None else self.now - self.before

    @property
    def direction(self) -> str | None:
        diff = self.diff
        return None if diff is None else "up" if diff > 0 else "down" if diff < 0 else "same"


@dataclass(frozen=True)
class FeedSummary:
    """One feed's sentence and what it is made of."""

    feed: str
    title: str
    total: Change
    districts: tuple[Change, ...]
    verdict: str
    drivers: tuple[str, ...]
    against: tuple[str, ...]
    sentence: str
    now_display: str
    before_display: str


@dataclass(frozen=True)
class SummaryBlock:
    """One window of the summary (``"quarter"`` or ``"to_date"``) and its sentences."""

    key: str
    heading: str
    now: tuple[str, ...]
    before: tuple[str, ...]
    feeds: tuple[FeedSummary, ...]


# -- building it --------------------------------------------------------------------------------
def summary_windows(query: RoleScopedQuery) -> list[tuple[str, str, list, list]]:
    """``(key, heading, now periods, before periods)`` of the summary: the last whole quarter
    against the one before, and the quarter to date (its whole months) against the same months
    of the last whole quarter. Empty when the data cover no whole quarter."""
    quarters = data_periods(query, "Q")
    if not quarters:
        return []
    quarter = parse_period(quarters[0])
    windows = [("quarter", (f"Last whole quarter: {period_label(quarter)}, against "
                            f"{period_label(quarter - 1)}"), [quarter], [quarter - 1])]
    first = quarter.asfreq("M", how="start")
    later = sorted(m for m in (parse_period(t) for t in data_periods(query, "M"))
                   if m > quarter.asfreq("M", how="end"))
    if later:
        before = [first + i for i in range(len(later))]
        windows.append(("to_date", (f"Quarter to date: {_months_label(later)}, against "
                                    f"{_months_label(before)}"), later, before))
    return windows


def trend_summary(query: RoleScopedQuery, feeds: Sequence[str] = tuple(FEEDS),
                  alpha: float = ALPHA) -> list[SummaryBlock]:
    """The summary's blocks (:func:`summary_windows`), one :class:`FeedSummary` per feed."""
    blocks = []
    for key, heading, now, before in summary_windows(query):
        freq = "Q" if key == "quarter" else "M"
        rows = []
        for feed in feeds:
            tables = feed_tables(query, feed, freq)
            if tables is None:
                continue
            rows.append(feed_summary(tables, now, before, alpha=alpha,
                                     compared="the previous quarter" if key == "quarter"
                                     else _months_label(before)))
        blocks.append(SummaryBlock(key, heading, tuple(period_text(p) for p in now),
                                   tuple(period_text(p) for p in before), tuple(rows)))
    return blocks


def feed_summary(tables: FeedTables, now: list, before: list, *, alpha: float = ALPHA,
                 compared: str = "the previous quarter") -> FeedSummary:
    """One feed's changes (West Yorkshire and each district) and its sentence."""
    names = area_names(tables.level)
    counts = tables.area.counts
    changes = {}
    for code in counts.index:
        a, b = _window_count(counts.loc[code], tables.periods, now), \
            _window_count(counts.loc[code], tables.periods, before)
        p_value, beyond = window_test(counts.loc[code], tables.periods, now, before, alpha)
        changes[code] = Change(code, WEST_YORKSHIRE if code == TOTAL else names.get(code, code),
                               a, b, p_value, beyond)
    total = changes.pop(TOTAL)
    districts = tuple(changes.values())
    verdict = _verdict(total)
    tested = [d for d in districts if d.beyond]
    same = total.direction if verdict in ("worse", "better") else None
    drivers = tuple(d.name for d in _largest([d for d in tested if d.direction == same]))
    against = tuple(d.name for d in _largest([d for d in tested if d.direction != same]))
    now_display = _window_display(tables, now)
    before_display = _window_display(tables, before)
    summary = FeedSummary(tables.feed, FEED_SHORT_TITLES[tables.feed], total, districts, verdict,
                          drivers, against, "", now_display, before_display)
    return replace(summary, sentence=sentence(summary, compared=compared,
                                              reason=_not_compared(tables, total, before)))


def window_test(counts: pd.Series, periods: pd.PeriodIndex, now: list, before: list,
                alpha: float = ALPHA) -> tuple[float, bool | None]:
    """The test of a change (``views.kpis.change_test``) from the periods ``before`` to the
    periods ``now`` (module docstring): one period each is exactly ``change_test``."""
    if len(now) == 1 and len(before) == 1:
        p_value, beyond, _ = change_test(counts, periods, now[0], before[0], alpha)
        return p_value, beyond
    shown = counts.reindex(periods)
    history = shown[shown.index < min(now)].iloc[-DISPERSION_PERIODS:]
    phi = dispersion(history.tolist(), [days(p) for p in history.index])
    a, b = _window_count(counts, periods, now), _window_count(counts, periods, before)
    p_value = change_p_value(a, b, sum(days(p) for p in now), sum(days(p) for p in before),
                             dispersion=phi)
    return p_value, (None if np.isnan(p_value) else bool(p_value < alpha))


# -- the sentence -------------------------------------------------------------------------------
def sentence(summary: FeedSummary, *, compared: str = "the previous quarter",
             reason: str | None = None) -> str:
    """``"NRM referrals: up 18% on the previous quarter (1,234 against 1,046), beyond normal
    variation; driven by Leeds and Bradford."``"""
    total = summary.total
    head = f"{summary.title}: "
    if summary.verdict == "not compared":
        return head + f"not compared with {compared}: {reason or 'a figure is missing'}."
    text = head + f"{movement(total)} on {compared} ({summary.now_display} against " \
                  f"{summary.before_display})"
    if summary.verdict == "no real change":
        text += ", within normal variation"
        if summary.against:
            moves = [d for d in summary.districts if d.name in summary.against]
            text += "; but " + _and([f"{d.name} {movement(d)}" for d in _largest(moves)]) + \
                    ", beyond normal variation"
        else:
            text += "; " + _none_stands_out(summary)
        return text + "."
    text += ", beyond normal variation; "
    if summary.drivers:
        text += f"driven by {_and(summary.drivers)}"
    else:
        moves = [d for d in summary.districts if d.direction == total.direction]
        text += _none_stands_out(summary)
        if moves:
            largest = "rises" if total.direction == "up" else "falls"
            text += f"; the largest {largest} were in " + _and(
                [f"{d.name} ({d.diff:+,})" for d in _largest(moves)[:2]])
    if summary.against:
        text += f" ({_and(summary.against)} went the other way)"
    return text + "."


def movement(change: Change) -> str:
    """``"up 18%"``, ``"down 7%"``, ``"up from 2 to 12"`` (from fewer than 10: a share of a
    small number says little), ``"unchanged"``."""
    diff = change.diff
    if diff is None:
        return "not compared"
    if diff == 0:
        return "unchanged"
    word = "up" if diff > 0 else "down"
    if change.before < 10:
        return f"{word} from {change.before:,} to {change.now:,}"
    share = abs(diff) / change.before
    return f"{word} {share:.0%}" if share >= 0.005 else f"{word} less than 1%"


# -- helpers ------------------------------------------------------------------------------------
def _verdict(total: Change) -> str:
    if total.beyond is None:
        return "not compared"
    if not total.beyond or total.direction == "same":
        return "no real change"
    return "worse" if total.direction == "up" else "better"


def _none_stands_out(summary: FeedSummary) -> str:
    """No district's own change is beyond normal variation (of those compared: a district
    whose figure is hidden is not)."""
    if all(d.beyond is not None for d in summary.districts):
        return "no district stands out"
    return "no district compared stands out"


def _largest(changes: list[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (-abs(c.diff or 0), c.name))[:MAX_NAMED]


def _and(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _window_count(counts: pd.Series, periods: pd.PeriodIndex, window: list) -> int | None:
    """The sum of ``counts`` over ``window``; None where any period is hidden or not covered."""
    total = 0
    for p in window:
        if p not in periods or p not in counts.index or pd.isna(counts[p]):
            return None
        total += int(counts[p])
    return total


def _window_display(tables: FeedTables, window: list) -> str:
    if len(window) == 1 and window[0] in tables.periods:
        return thousands(tables.area.display.loc[TOTAL, window[0]])
    value = _window_count(tables.area.counts.loc[TOTAL], tables.periods, window)
    return "hidden" if value is None else f"{value:,}"


def _not_compared(tables: FeedTables, total: Change, before: list) -> str | None:
    if any(p not in tables.periods for p in before):
        state = covered(before[0], *tables.bounds) if tables.bounds else "none"
        return ("the earlier period is not complete in the data" if state == "partial"
                else "the data do not go back that far")
    if total.now is None or total.before is None:
        return "a figure is hidden to protect the people counted"
    if total.now == 0 and total.before == 0:
        return "no records in either"
    return None


def _months_label(months: list) -> str:
    labels = [period_label(m) for m in months]
    if len(labels) == 1:
        return labels[0]
    return f"{labels[0].split()[0]} and {labels[-1]}"
