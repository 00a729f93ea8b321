"""Every figure a protected role can get, with the cell it counts: the differencing attacker's input.

A :class:`Question` is one call a page, CSV, meeting screen or briefing pack makes, and its
answer: labels as shown ("12", "<5", "0") per row (an area code, a category, or ``ALL`` for
West Yorkshire). ``harvest_*`` ask the same functions the pages use (``RoleScopedQuery``) every
question the role can put over the store's span: each month, quarter, year and sliding window
(with free start and end days), at ward and district level, for each feed and every set of
feeds, with and without category filters, each whole-period and partition table, and the
hotspots' figures.

Independent of the code under test: what each answer counts is worked out here from its
question, and :class:`Cells` sums the publication's atoms with its own filter code.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import roles
from core.filters import EventFilter
from core.periods import PARTITIONS
from core.schema import FEEDS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import TOTAL, threshold_for

ALL = "West Yorkshire"
FEED_SETS = [(f,) for f in FEEDS] + [c for n in (2, 3) for c in itertools.combinations(FEEDS, n)]
FILTERS = {  # a protected role's category filters (Explore): one at a time, and one pair
    "none": EventFilter(),
    "child": EventFilter(age_groups=("child",)),
    "adult": EventFilter(age_groups=("adult",)),
    "criminal": EventFilter(exploitation_types=("criminal",)),
    "sexual": EventFilter(exploitation_types=("sexual",)),
    "found": EventFilter(rosewood_status="found"),
    "missing": EventFilter(rosewood_status="missing"),
    "controlling": EventFilter(indicators=("accompanied_by_controlling_person",)),
    "child+criminal": EventFilter(age_groups=("child",), exploitation_types=("criminal",)),
}


@dataclass(frozen=True)
class Question:
    """One call and its answer. ``by`` is the rows' dimension: "ward", "district", a partition
    of ``core.periods.PARTITIONS``, or None (the answer is one West Yorkshire figure)."""

    source: str
    feeds: tuple[str, ...]
    by: str | None
    months: tuple[pd.Period, ...]
    filters: EventFilter
    labels: pd.Series            # row key -> label as shown

    @property
    def threshold(self) -> int:
        return max(threshold_for(f) for f in self.feeds)


def months_of(period: pd.Period) -> tuple[pd.Period, ...]:
    return tuple(pd.period_range(period.asfreq("M", how="start"), period.asfreq("M", how="end"),
                                 freq="M"))


def windows(first: pd.Period, last: pd.Period) -> list[tuple[dt.date, dt.date]]:
    """Date ranges a user can pick: every month, quarter and year, sliding 2- and 3-month
    windows, and ranges starting and ending mid-month (the issue's 26 Dec to 31 Mar)."""
    out = []
    for freq in ("M", "Q", "Y"):
        for p in pd.period_range(first.asfreq(freq), last.asfreq(freq), freq=freq):
            out.append((max(p.start_time.date(), first.start_time.date()),
                        min(p.end_time.date(), last.end_time.date())))
    months = pd.period_range(first, last, freq="M")
    for n in (2, 3):
        for i in range(0, len(months) - n + 1, 4):
            out.append((months[i].start_time.date(), months[i + n - 1].end_time.date()))
    for i in range(1, len(months) - 3, 5):   # mid-month starts and ends
        out.append((months[i].start_time.date() + dt.timedelta(days=25),
                    months[i + 3].end_time.date()))
        out.append((months[i].start_time.date() + dt.timedelta(days=25),
                    months[i + 2].start_time.date() + dt.timedelta(days=9)))
    return out


def harvest_explore(query: RoleScopedQuery, first: pd.Period, last: pd.Period
                    ) -> list[Question]:
    """Explore's map, table and CSV (``area_counts``) over every window, feed set, level and
    filter (category filters on quarters and years: the long windows where they matter)."""
    out = []
    levels = [lv for lv in ("ward", "district") if roles.may_see_level(query.role, lv)]
    for start, end in windows(first, last):
        long = 80 < (end - start).days < 100 or (end - start).days > 360  # quarters, years
        months = tuple(pd.period_range(pd.Period(start, "M"), pd.Period(end, "M"), freq="M"))
        for feeds, level in itertools.product(FEED_SETS, levels):
            if level == "ward" and len(feeds) == 2:
                continue   # pairs of feeds at district level only: keeps the run short
            names = [n for n in FILTERS if n == "none" or (
                long and (level == "district" or len(feeds) == 1)
                and _applies(FILTERS[n], feeds))]
            for name in names:
                f = EventFilter(**{**vars(FILTERS[name]), "start": start, "end": end})
                table = query.area_counts(list(feeds), level, f)
                out.append(Question("area_counts", feeds, level, months, FILTERS[name],
                                    pd.Series(table["display"].to_numpy(), index=table["code"])))
    return out


def _applies(f: EventFilter, feeds) -> bool:
    """Whether filter ``f`` changes the answer for ``feeds`` (otherwise it asks again)."""
    return bool(f.age_groups or (f.exploitation_types and "nrm" in feeds)
                or (f.rosewood_status and "rosewood" in feeds)
                or (f.indicators and "mandevilla" in feeds))


def harvest_tables(query: RoleScopedQuery, quarters: pd.PeriodIndex) -> list[Question]:
    """The whole-period tables (Trends, Overview, meeting, briefing pack and their CSVs), the
    district × feed table and the all-feed totals."""
    out = []
    months = pd.period_range(quarters[0].asfreq("M", how="start"),
                             quarters[-1].asfreq("M", how="end"), freq="M")
    levels = [lv for lv in ("ward", "district") if roles.may_see_level(query.role, lv)]
    for feed, level in itertools.product(FEEDS, levels):
        tables = query.period_tables(feed, level, quarters, months)
        for by, t in [(level, tables.area), *tables.parts.items()]:
            for kind in ("month", "quarter", "whole"):
                table = getattr(t, kind)
                if table is None:
                    continue
                for column in table.display.columns:
                    cell_months = (tuple(months) if kind == "whole"
                                   else months_of(pd.Period(column)))
                    out.append(Question(f"period_tables/{kind}", (feed,), by, cell_months,
                                        EventFilter(), _rows(table.display[column])))
    for q in quarters:
        table = query.district_feed_table(EventFilter(start=q.start_time.date(),
                                                      end=q.end_time.date()))
        for column in table.display.columns:
            feeds = tuple(FEEDS) if column == TOTAL else (column,)
            out.append(Question("district_feed_table", feeds, "district", months_of(q),
                                EventFilter(), _rows(table.display[column])))
        total = query.feeds_total("district", [q]).display[q]
        out.append(Question("feeds_total", tuple(FEEDS), "district", months_of(q),
                            EventFilter(), _rows(total)))
    return out


def harvest_meeting(query, quarters: pd.PeriodIndex) -> list[Question]:
    """The meeting's district comparison (the briefing pack prints the same ``MeetingData``):
    each feed's column and the all-feed Total, per quarter, and its new-cluster alerts."""
    from geo.boundaries import DISTRICT_CODES
    from views.meeting import MeetingState
    from views.meeting_figures import meeting_data
    from views.overview import FEED_SHORT_TITLES

    codes = {name: code for code, name in DISTRICT_CODES.items()}
    out = []
    for q in quarters:
        data = meeting_data(query, MeetingState(f"{q.year}-Q{q.quarter}"))
        table = data.districts.rename(index=lambda n: codes.get(n, n))
        for feed in FEEDS:
            column = table[FEED_SHORT_TITLES[feed]].str.replace(",", "")
            out.append(Question("meeting", (feed,), "district", months_of(q), EventFilter(),
                                _rows(column)))
        out.append(Question("meeting/total", tuple(FEEDS), "district", months_of(q),
                            EventFilter(), _rows(table[TOTAL].str.replace(",", ""))))
        out += alert_questions(data.alerts, "meeting/alerts")   # the pack prints the same
    return out


def harvest_hotspots(query, quarters: pd.PeriodIndex) -> list[Question]:
    """The Hotspots page (and the meeting's hotspots): each hotspot's records by feed and in
    total, and per month, for every feed set over each quarter — cells of the wards each
    hotspot covers."""
    from views.hotspots import covered_wards, fit_hotspots

    out = []
    for q, feeds in itertools.product(quarters, [tuple(FEEDS), ("nrm",), ("rosewood",)]):
        f = EventFilter(start=q.start_time.date(), end=q.end_time.date())
        view = fit_hotspots(query, list(feeds), f)
        if view.hotspots.empty:
            continue
        sets = covered_wards(view.hotspots)
        for _, row in view.hotspots.iterrows():
            place = EventFilter(wards=tuple(sets[int(row["hotspot_id"])]))
            out.append(Question("hotspots/total", feeds, None, months_of(q), place,
                                pd.Series({ALL: row["events_display"]})))
            for feed in feeds:
                out.append(Question("hotspots/feed", (feed,), None, months_of(q), place,
                                    pd.Series({ALL: row[f"display_{feed}"]})))
            monthly = view.monthly[view.monthly["hotspot_id"] == row["hotspot_id"]]
            for month, label in zip(monthly["month"], monthly["display"]):
                out.append(Question("hotspots/month", feeds, None,
                                    (pd.Period(month, "M"),), place, pd.Series({ALL: label})))
    return out


def alert_questions(view, source: str) -> list[Question]:
    """A new-hotspot alert list (``views.hotspot_alerts.AlertView``) as questions: each alert's
    records, a protected role's figure of the wards it covers over its months."""
    from views.hotspots import covered_wards

    if view is None or view.alerts.empty:
        return []
    sets = covered_wards(view.alerts.rename(columns={"alert_id": "hotspot_id"}))
    out = []
    for row in view.alerts.itertuples(index=False):
        months = tuple(pd.period_range(pd.Period(row.start_month, "M"),
                                       pd.Period(row.end_month, "M"), freq="M"))
        out.append(Question(source, tuple(view.feeds), None, months,
                            EventFilter(wards=tuple(sets[int(row.alert_id)])),
                            pd.Series({ALL: str(row.events_display)})))
    return out


def harvest_alerts(query, months: pd.PeriodIndex,
                   feed_sets=(tuple(FEEDS), ("nrm",), ("rosewood",))) -> list[Question]:
    """The Hotspots page's new-cluster alerts (``views.hotspot_alerts.fit_alerts``) of each of
    ``months`` (the page scans the last whole month of the period chosen), for every feed set
    the hotspot questions use."""
    from views.hotspot_alerts import fit_alerts

    out = []
    for month, feeds in itertools.product(months, feed_sets):
        out += alert_questions(fit_alerts(query, list(feeds), month), "alerts")
    return out


@dataclass(frozen=True)
class ClassAnswer:
    """A hotspot's trend class as shown to the role, with what its chart counts: ``wards`` over
    ``months`` (the class's window)."""

    source: str
    feeds: tuple[str, ...]
    months: tuple[pd.Period, ...]
    wards: tuple[str, ...]
    category: str


def harvest_classes(query, ends: Sequence[pd.Period], n_months: int = 24,
                    feed_sets=(tuple(FEEDS), ("nrm",))) -> tuple[list[ClassAnswer],
                                                                 list[Question]]:
    """The hotspots' trend classes over windows long enough to classify (``n_months`` to each
    of ``ends``: the meeting's 24 months, and the Hotspots page given those dates), and the
    figures shown beside them (records by hotspot, in total and per month)."""
    from views.hotspots import covered_wards, fit_hotspots

    classes, figures = [], []
    for end, feeds in itertools.product(ends, feed_sets):
        months = tuple(pd.period_range(end - (n_months - 1), end, freq="M"))
        f = EventFilter(start=months[0].start_time.date(), end=end.end_time.date())
        view = fit_hotspots(query, list(feeds), f)
        if view.hotspots.empty:
            continue
        sets = covered_wards(view.hotspots)
        for _, row in view.hotspots.iterrows():
            wards = tuple(sets[int(row["hotspot_id"])])
            classes.append(ClassAnswer("hotspots/trend", feeds, months, wards, row["trend"]))
            place = EventFilter(wards=wards)
            figures.append(Question("hotspots/total", feeds, None, months, place,
                                    pd.Series({ALL: row["events_display"]})))
            monthly = view.monthly[view.monthly["hotspot_id"] == row["hotspot_id"]]
            for month, label in zip(monthly["month"], monthly["display"]):
                figures.append(Question("hotspots/month", feeds, None,
                                        (pd.Period(month, "M"),), place, pd.Series({ALL: label})))
    return classes, figures


@dataclass(frozen=True)
class AccuracyAnswer:
    """The Hotspots page's accuracy check as shown to the role: for each test month window,
    whether it was shown and the three hit rates (rounded for a protected role)."""

    feeds: tuple[str, ...]
    months: tuple[str, ...]
    shown: bool
    rates: tuple[float, float, float]    # hotspots, tasking ranking, heat map


def harvest_accuracy(query, ends: Sequence[pd.Period],
                     feed_sets=(tuple(FEEDS), ("nrm",), ("rosewood",), ("mandevilla",))
                     ) -> tuple[list[AccuracyAnswer], dict]:
    """The accuracy check (``views.hotspot_accuracy.hotspot_accuracy``) for the period ending
    with each of ``ends`` and every feed set; also each month's true scores (the model's
    hits, for the attack's truth: never shown), keyed (feeds, month)."""
    from views.hotspot_accuracy import hotspot_accuracy, score_month

    scores: dict = {}
    answers = []
    for feeds in feed_sets:
        def scorer(month, feeds=feeds):
            key = (feeds, str(month))
            if key not in scores:
                scores[key] = score_month(query, list(feeds), None, month)
            return scores[key]

        for end in ends:
            a = hotspot_accuracy(query, list(feeds), EventFilter(end=end.end_time.date()),
                                 scorer=scorer)
            answers.append(AccuracyAnswer(feeds, a.months, a.shown,
                                          (a.model_hit_rate, a.ranking_hit_rate,
                                           a.kde_hit_rate)))
    return answers, scores


def _rows(labels: pd.Series) -> pd.Series:
    return pd.Series(labels.to_numpy(), index=[ALL if r == TOTAL else r for r in labels.index])


# -- what an answer counts, worked out independently ----------------------------------------------
class Cells:
    """Per question and row: published sum, true records, and the bounds an attacker who knew
    every published atom could be sure of (big atoms exact, a small one anything from 1 to
    k-1)."""

    def __init__(self, publications: dict):
        self.atoms = {}
        for feed, pub in publications.items():
            a = pub.atoms.copy()
            for column in a.columns:
                if isinstance(a[column].dtype, pd.CategoricalDtype):
                    a[column] = a[column].astype(object)
            a["month_i"] = a["month"].array.asi8
            a["big"] = a["published"] >= threshold_for(feed)
            self.atoms[feed] = a

    def table(self, q: Question, feeds: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Rows of ``q`` (plus ``ALL``): published, records, lo, hi (over ``feeds``, default
        the question's)."""
        index = pd.Index(q.labels.index)
        out = np.zeros((len(index), 4), dtype=np.int64)
        for feed in feeds or q.feeds:
            a = self.atoms[feed]
            m = self._mask(feed, a, q)
            k = threshold_for(feed)
            published = a["published"].to_numpy()[m]
            big = a["big"].to_numpy()[m]
            values = np.column_stack([published, a["count"].to_numpy()[m],
                                      np.where(big, published, 1),
                                      np.where(big, published, k - 1)])
            position = index.get_indexer(self._rows(a[m], q.by))
            for j in range(4):
                out[:, j] += np.bincount(position[position >= 0], values[position >= 0, j],
                                         minlength=len(index)).astype(np.int64)
            if q.by is not None and ALL in index:
                out[index.get_loc(ALL)] += values.sum(axis=0)
        return pd.DataFrame(out, index=index, columns=["published", "records", "lo", "hi"])

    @staticmethod
    def _rows(a: pd.DataFrame, by: str | None) -> np.ndarray:
        if by == "ward":
            return a["ward_code"].to_numpy()
        if by == "district":
            return a["district_code"].to_numpy()
        if by is None:
            return np.full(len(a), ALL, dtype=object)
        return _category(a, by).to_numpy()

    @staticmethod
    def _mask(feed: str, a: pd.DataFrame, q: Question) -> np.ndarray:
        m = np.isin(a["month_i"].to_numpy(), [p.ordinal for p in q.months])
        f = q.filters
        if f.wards:
            m &= a["ward_code"].isin(f.wards).to_numpy()
        if f.age_groups:
            m &= a["age_group"].isin(f.age_groups).to_numpy()
        if feed == "nrm" and f.exploitation_types:
            m &= _any(a["exploitation_type"], f.exploitation_types)
        if feed == "mandevilla" and f.indicators:
            m &= _any(a["indicators"], f.indicators)
        if feed == "rosewood" and f.rosewood_status:
            m &= (a["status"] == f.rosewood_status).to_numpy()
        return m


def _any(values: pd.Series, chosen) -> np.ndarray:
    return values.fillna("").map(lambda v: bool(set(v.split(";")) & set(chosen))).to_numpy(bool)


def _category(a: pd.DataFrame, by: str) -> pd.Series:
    if by in ("status", "repeat"):
        return a[by]
    if by == "age_group":
        return pd.Series(np.where(a["age_group"] == "child", "child", "adult_or_unknown"),
                         index=a.index)
    if by == "referred_to_police":
        return pd.Series(np.where(a["referred_to_police"].fillna(False).astype(bool),
                                  "referred", "not_referred"), index=a.index)
    if by == "exploitation_type":
        types = a["exploitation_type"].fillna("unknown")
        single = types.where(~types.str.contains(";"), "several")
        return single.where(single.isin(PARTITIONS["exploitation_type"].categories), "unknown")
    raise ValueError(by)


def expected_labels(cells: pd.DataFrame, k: int) -> pd.Series:
    """The rule: 0 for an empty cell, "<k" for a published sum below k, else the sum."""
    return pd.Series(np.where(cells["records"] == 0, "0",
                              np.where(cells["published"] < k, f"<{k}",
                                       cells["published"].astype(str))), index=cells.index)
