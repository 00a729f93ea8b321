"""Whole calendar periods and the tables counted over them: the pure part of the Trends figures.

Everything here works on frames already read (by ``safeguards.access.RoleScopedQuery``, the only
reader of the store); nothing here reads the store, protects a table or imports Streamlit.

- Periods are whole calendar months (``"2026-10"``) or quarters (``"2026-Q3"``):
  :func:`parse_period`, :func:`period_text`, :func:`period_label`, :func:`whole_periods`.
  Only periods the data cover from their first to their last day are shown
  (:func:`complete_periods`): a part-recorded month or quarter would read as a fall.
  Views for roles under disclosure control take whole periods only, never arbitrary date
  ranges: two overlapping ranges would let a small count be worked out by difference.
- **Partitions** (:data:`PARTITIONS`) split a feed's records into categories that do not
  overlap and add up to the feed's total, so that a breakdown table and its total per period can
  be protected by ``safeguards.disclosure`` as one additive table. Age is split child / adult or
  unknown: a third, small "unknown" row would be hidden every period and take the child or
  adult figure with it (secondary suppression), leaving no child share to show. NRM referrals with several
  exploitation types are one category, ``"several"``: counting them under each type would make
  the types add up to more than the total, and the table could not be protected by totals.
- :func:`tabulate` counts records per row and period, :func:`repeat_flags` marks Rosewood repeat
  episodes, :func:`median_hours` gives the median time to found, and :func:`trend_table` runs
  the Mann-Kendall test (``core.trends.mann_kendall``) on each row of a table.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import PeriodError
from core.schema import FEEDS

FREQS = ("M", "Q")
FREQ_TITLES = {"M": "month", "Q": "quarter"}
#: Periods per year, to turn a per-period slope into a per-year one.
PER_YEAR = {"M": 12, "Q": 4}
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_QUARTER_MONTHS = {1: "Jan–Mar", 2: "Apr–Jun", 3: "Jul–Sep", 4: "Oct–Dec"}

SINGLE_TYPES = ("labour", "sexual", "criminal", "domestic_servitude", "organ_harvesting",
                "unknown")


@dataclass(frozen=True)
class Partition:
    """Categories that split one feed's records: every record in exactly one of them."""

    name: str
    feeds: tuple[str, ...]
    categories: tuple[str, ...]
    columns: tuple[str, ...]   # stored columns the labels are made from
    title: str


PARTITIONS = {p.name: p for p in (
    Partition("age_group", tuple(FEEDS), ("child", "adult_or_unknown"), ("age_group",),
              "Child or adult"),
    Partition("exploitation_type", ("nrm",), (*SINGLE_TYPES, "several"),
              ("exploitation_type",), "Exploitation type"),
    Partition("status", ("rosewood",), ("found", "missing"), ("found_at",), "Found or still missing"),
    Partition("repeat", ("rosewood",), ("first", "repeat"), (), "First or repeat episode"),
    Partition("referred_to_police", ("mandevilla",), ("referred", "not_referred"),
              ("referred_to_police",), "Referred to police"),
)}


def partitions_of(feed: str) -> list[str]:
    """Names of the partitions that apply to ``feed``, in :data:`PARTITIONS` order."""
    return [name for name, p in PARTITIONS.items() if feed in p.feeds]


def check_partition(feed: str, by: str) -> Partition:
    """The partition ``by`` of ``feed``; ValueError naming the ones that exist."""
    partition = PARTITIONS.get(by)
    if partition is None or feed not in partition.feeds:
        raise ValueError(f"{by!r} does not split {feed} records; use one of "
                         f"{', '.join(partitions_of(feed))}")
    return partition


def partition_labels(frame: pd.DataFrame, by: str) -> pd.Series:
    """Each record's category of partition ``by`` (not ``"repeat"``: see :func:`repeat_flags`)."""
    if by == "age_group":
        child = frame["age_group"].astype(object) == "child"
        return pd.Series(np.where(child, "child", "adult_or_unknown"), index=frame.index,
                         dtype=object)
    if by == "exploitation_type":
        types = frame["exploitation_type"].astype(object)
        # A value outside the contract can only come from a writer that bypassed ingestion
        # (a damaged or tampered store). It counts as "unknown" so every total stays whole,
        # and the value itself is never shown.
        labels = types.where(types.isin(SINGLE_TYPES), "unknown")
        return labels.where(~types.fillna("").str.contains(";", regex=False), "several")
    if by == "status":
        return pd.Series(np.where(frame["found_at"].notna(), "found", "missing"),
                         index=frame.index, dtype=object)
    if by == "referred_to_police":
        referred = frame["referred_to_police"].fillna(False).astype(bool)
        return pd.Series(np.where(referred, "referred", "not_referred"), index=frame.index,
                         dtype=object)
    raise ValueError(f"no labels for partition {by!r}")


# -- periods -----------------------------------------------------------------------------------
def parse_period(text: str | pd.Period) -> pd.Period:
    """A period from ``"2026-10"`` (a month) or ``"2026-Q3"`` (a quarter).

    Raises
    ------
    PeriodError
        Anything else (a date, a range, a week), with the forms that are accepted.

    Examples
    --------
    >>> parse_period("2026-Q3"), parse_period("2026-10")
    (Period('2026Q3', 'Q-DEC'), Period('2026-10', 'M'))
    """
    if isinstance(text, pd.Period):
        freq_of(text)
        return text
    value = str(text).strip()
    if match := _MONTH.match(value):
        return pd.Period(year=int(match[1]), month=int(match[2]), freq="M")
    if match := _QUARTER.match(value):
        return pd.Period(year=int(match[1]), quarter=int(match[2]), freq="Q")
    raise PeriodError(f"period {value!r} is not understood: give a whole calendar month as "
                      "YYYY-MM (e.g. 2026-10) or a quarter as YYYY-Qn (e.g. 2026-Q3)")


def freq_of(period: pd.Period) -> str:
    """``"M"`` or ``"Q"``; PeriodError for another kind of period."""
    freq = period.freqstr
    if freq == "M":
        return "M"
    if freq.startswith("Q"):
        if freq != "Q-DEC":
            raise PeriodError(f"quarter {period} does not follow the calendar year")
        return "Q"
    raise PeriodError(f"period {period} is neither a calendar month nor a quarter")


def period_text(period: pd.Period) -> str:
    """The form :func:`parse_period` reads: ``"2026-10"`` or ``"2026-Q3"``."""
    if freq_of(period) == "M":
        return f"{period.year}-{period.month:02d}"
    return f"{period.year}-Q{period.quarter}"


def period_label(period: pd.Period) -> str:
    """For people: ``"October 2026"``, ``"Q3 2026 (Jul–Sep)"``."""
    if freq_of(period) == "M":
        return f"{period:%B %Y}"
    return f"Q{period.quarter} {period.year} ({_QUARTER_MONTHS[period.quarter]})"


def previous_period(period: pd.Period) -> pd.Period:
    return period - 1


def last_year(period: pd.Period) -> pd.Period:
    """The same period a year before."""
    return period - PER_YEAR[freq_of(period)]


def whole_periods(periods: Iterable[pd.Period | str]) -> pd.PeriodIndex:
    """``periods`` as a PeriodIndex, checked: one kind (months or quarters), consecutive, oldest
    first, at least one.

    Raises
    ------
    PeriodError
    """
    items = [parse_period(p) for p in periods]
    if not items:
        raise PeriodError("no period given")
    freqs = {freq_of(p) for p in items}
    if len(freqs) > 1:
        raise PeriodError("months and quarters cannot be mixed in one table")
    index = pd.PeriodIndex(items)
    expected = pd.period_range(index[0], periods=len(index), freq=index.freq)
    if not index.equals(expected):
        raise PeriodError("periods must be consecutive, oldest first")
    return index


def span(first: "pd.Timestamp | object", last: "pd.Timestamp | object",
         freq: str) -> pd.PeriodIndex:
    """Every whole period from the one holding ``first`` to the one holding ``last``."""
    if freq not in FREQS:
        raise PeriodError(f"frequency was {freq!r}; expected 'M' (months) or 'Q' (quarters)")
    return pd.period_range(pd.Period(first, freq), pd.Period(last, freq), freq=freq)


def complete_periods(first, last, freq: str) -> pd.PeriodIndex:
    """The periods of :func:`span` that the data cover from their first to their last day.

    The last one is dropped when the data end before it does (a month or quarter still being
    recorded: a store ending on 30 November has no complete fourth quarter), and the first one
    when the data start after its first day (a quarter of which only the last month was
    loaded). Compared or charted, a part-recorded period would look like a fall. Empty when the
    data cover no whole period.

    Examples
    --------
    >>> quarters = complete_periods("2024-12-01", "2026-11-30", "Q")
    >>> str(quarters[0]), str(quarters[-1])
    ('2025Q1', '2026Q3')
    """
    periods = span(first, last, freq)
    if len(periods) and pd.Timestamp(last).normalize() < periods[-1].end_time.normalize():
        periods = periods[:-1]
    if len(periods) and pd.Timestamp(first).normalize() > periods[0].start_time.normalize():
        periods = periods[1:]
    return periods


def covered(period: pd.Period, first, last) -> str:
    """Whether the data (``first`` to ``last`` day) cover ``period``: ``"complete"``,
    ``"partial"`` (part of it) or ``"none"``."""
    start, end = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    if period.end_time.normalize() < start or period.start_time.normalize() > end:
        return "none"
    if period.start_time.normalize() >= start and period.end_time.normalize() <= end:
        return "complete"
    return "partial"


def coverage_text(first, last) -> str:
    """``"1 Dec 2024 to 30 Nov 2026"``: the days the data cover, for a message."""
    return f"{pd.Timestamp(first):%-d %b %Y} to {pd.Timestamp(last):%-d %b %Y}"


def check_covered(period: pd.Period, first, last) -> None:
    """PeriodError unless the data (``first`` to ``last`` day) cover ``period`` completely:
    a period without data, or one recorded in part (its figures would read as a fall), is
    refused with what the data do cover.

    Examples
    --------
    >>> check_covered(pd.Period("2026Q4", "Q"), "2024-12-01", "2026-11-30")
    Traceback (most recent call last):
    ...
    core.errors.PeriodError: Q4 2026 (Oct–Dec) is not complete: the data cover 1 Dec 2024 to 30 Nov 2026, and only whole periods they cover are shown
    """
    state = covered(period, first, last)
    if state == "none":
        raise PeriodError(f"no data for {period_label(period)}: the data cover "
                          f"{coverage_text(first, last)}")
    if state == "partial":
        raise PeriodError(f"{period_label(period)} is not complete: the data cover "
                          f"{coverage_text(first, last)}, and only whole periods they cover "
                          "are shown")


def days(period: pd.Period) -> int:
    """Calendar days in ``period`` (a month has 28 to 31, a quarter 90 to 92)."""
    return int((period.end_time.normalize() - period.start_time.normalize()).days) + 1


# -- tables ------------------------------------------------------------------------------------
def tabulate(keys: pd.Series, dates: pd.Series, rows: Sequence[str],
             periods: pd.PeriodIndex) -> pd.DataFrame:
    """Records per row (``keys``) and period (of ``dates``): ``rows`` × ``periods``, int64.

    Every row and period appears, with 0 where nothing happened. Records outside ``periods``
    are left out; a key outside ``rows`` raises ValueError (it would make the tables of one
    period disagree on its total).
    """
    # Vectorised: periods as integer ordinals, rows as categorical codes, one bincount. Boxing
    # each date into a Period object cost 26 s of 32 at a million records (issue 14).
    rows = list(rows)
    ordinals = dates.dt.to_period(periods.freq).array.asi8
    position = pd.Index(periods.asi8).get_indexer(ordinals)   # -1: outside periods, or NaT
    inside = position >= 0
    values = keys.to_numpy()[inside]
    codes = pd.Index(rows).get_indexer(values)   # -1: a category outside the rows, or missing
    if (codes < 0).any():
        unknown = {v for v in pd.unique(values[codes < 0]) if not pd.isna(v)}
        shown = sorted(map(str, unknown))[:5] or ["(empty)"]
        raise ValueError(f"records with a category outside the table: {shown}")
    counts = np.bincount(codes.astype(np.int64) * len(periods) + position[inside],
                         minlength=len(rows) * len(periods)).reshape(len(rows), len(periods))
    table = pd.DataFrame(counts.astype("int64"), index=pd.Index(rows, name="row"),
                         columns=periods)
    table.columns.name = "period"
    return table


def repeat_flags(history: pd.DataFrame) -> pd.Series:
    """Whether each episode is a repeat: its person was reported missing before.

    Parameters
    ----------
    history : DataFrame
        ``record_id``, ``person_ref`` and ``event_date`` of every episode up to the end of the
        periods of interest (earlier episodes make later ones repeats).

    Returns
    -------
    Series of bool, indexed by ``record_id``
        Ties in time are broken by ``record_id``, so exactly one episode of each person is the
        first.
    """
    ordered = history.sort_values(["person_ref", "event_date", "record_id"])
    repeat = ordered.groupby("person_ref", sort=False).cumcount() > 0
    return pd.Series(repeat.to_numpy(), index=ordered["record_id"].to_numpy(), name="repeat")


def median_hours(frame: pd.DataFrame, periods: pd.PeriodIndex) -> pd.DataFrame:
    """Median hours from reported missing to found, per period of the report.

    ``frame`` has ``event_date`` (the day reported, which places it in a period),
    ``reported_missing_at`` and ``found_at``.

    Episodes still missing are left out (their time to found is not known yet), so the median
    describes found episodes only.

    Returns
    -------
    DataFrame
        ``period``, ``n`` (found episodes) and ``median_hours`` (NaN where ``n`` is 0).
    """
    found = frame[frame["found_at"].notna()]
    hours = (found["found_at"] - found["reported_missing_at"]).dt.total_seconds() / 3600
    period = found["event_date"].dt.to_period(periods.freq)
    grouped = hours.groupby(period)
    out = pd.DataFrame({"n": grouped.size(), "median_hours": grouped.median()})
    out = out.reindex(periods)
    out["n"] = out["n"].fillna(0).astype("int64")
    out.index.name = "period"
    return out.reset_index()


def trend_table(table: pd.DataFrame, alpha: float = 0.05, min_total: int = 0) -> pd.DataFrame:
    """The Mann-Kendall test of each row of ``table`` (rows × consecutive periods, counts).

    Parameters
    ----------
    table : DataFrame
    alpha : float
        Two-sided significance level.
    min_total : int
        Rows with fewer records than this over all periods are not tested (``trend`` is
        ``"too few records"``): a trend of one or two records says where in time they fell.
        With fewer than ``core.trends.MIN_PERIODS`` periods nothing is tested (``"not enough
        data"``): one or two counts have no trend to find, and "no trend" would say one was
        looked for.

    Returns
    -------
    DataFrame
        ``row``, ``trend`` ("increasing", "decreasing", "no trend", "too few records" or
        "not enough data"),
        ``p_value`` and ``slope`` (Sen's slope, records per period), NaN where not tested.
    """
    from core.trends import MIN_PERIODS, mann_kendall

    rows = []
    for label, values in table.iterrows():
        values = values.to_numpy(dtype=float)
        if len(values) < MIN_PERIODS:
            rows.append((label, "not enough data", np.nan, np.nan))
            continue
        if values.sum() < max(min_total, 1):
            rows.append((label, "too few records", np.nan, np.nan))
            continue
        result = mann_kendall(values, alpha=alpha)
        rows.append((label, result.trend, result.p_value, result.slope))
    return pd.DataFrame(rows, columns=["row", "trend", "p_value", "slope"])
