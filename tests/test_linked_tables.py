"""One set of protected tables across pages: Trends, meeting mode, the briefing pack, Overview.

A chair can open every page for the same period. Each shows counts of (feed, period, district),
and the pages are linked: a quarter is the sum of its months, West Yorkshire of its districts,
the Overview's whole-store figures of every month. These tests collect every count each page
shows a chair about one quarter (the quarter, its months, the whole store) and check that

(a) the pages agree cell by cell (the same figure is shown, or hidden, alike everywhere), and
(b) a linear programme over everything shown (figures taken as exact counts, "<k" as 0 to
    k-1) learns at most the published atoms of ``safeguards.publication``: what it pins is a
    sum of published draws, not a true count (tests/attacks/ has the full attacker).

A last test shows the audit has teeth: the tables as they were protected before (months,
quarters and the meeting's district × feed table each on its own) give hidden counts away.
"""
from __future__ import annotations

import io
import re
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from scipy import sparse
from scipy.optimize import linprog

from core.periods import PARTITIONS, partitions_of
from core.schema import FEEDS
from data.synthetic import build_store as build_synthetic
from geo.boundaries import DISTRICT_CODES
from reports.briefing import build_briefing
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import TOTAL, threshold_for
from safeguards.period_tables import quarter_months
from safeguards.suppression import suppress_table
from storage.parquet import ParquetStore
from views import feed_tables, kpis, trend_series
from views.meeting import MeetingState
from views.meeting_figures import meeting_data, meeting_query
from views.overview import FEED_SHORT_TITLES, store_overview

QUARTER = "2026-Q3"
MONTHS = ("2026-07", "2026-08", "2026-09")
WY = "WY"
CHAIR = Principal("chair@example.org", "chair")
TITLE_FEED = {title: feed for feed, title in FEED_SHORT_TITLES.items()}
NAME_CODE = {name: code for code, name in DISTRICT_CODES.items()}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ParquetStore:
    """Two years of synthetic data to 30 Sep 2026 (as the meeting and briefing tests use)."""
    root = tmp_path_factory.mktemp("linked") / "store"
    build_synthetic(root, years=2, seed=3, end="2026-09-30")
    feed_tables._CACHE.clear()
    return ParquetStore(root)


# -- what each page shows, keyed by what it counts ------------------------------------------------
# A key is (feed, period, area) for records of one feed ("*" for all feeds summed), with period
# "2026-Q3", "2026-07" or "all" (the whole store) and area a district code or WY; or
# (feed, partition, category, period) for a breakdown over West Yorkshire.

def _code(row) -> str:
    return WY if row in (TOTAL, "West Yorkshire") else NAME_CODE.get(row, row)


def trends_figures(query) -> dict[str, dict]:
    """The Trends page at the quarter and at each of its months: KPI tiles, series by
    district, breakdowns and the counts among the other measures."""
    pages = {}
    for period in (QUARTER, *MONTHS):
        freq = "Q" if "Q" in period else "M"
        shown = {}
        for row in kpis.kpi_table(query, period).to_dict("records"):
            for prefix in ("", "previous_", "last_year_"):
                if row[f"{prefix}display"] != feed_tables.NO_DATA:
                    key = (row["feed"], row[f"{prefix}period"] if prefix else row["period"], WY)
                    shown[key] = row[f"{prefix}display"]
        for feed in FEEDS:
            series = trend_series.monthly_series(query, feed, freq=freq)
            for row in series.to_dict("records"):
                shown[(feed, row["period"], _code(row["code"]))] = row["display"]
            for by in partitions_of(feed):
                for row in trend_series.breakdown_series(query, feed, by, freq).to_dict("records"):
                    shown[(feed, by, row["category"], row["period"])] = row["display"]
        measures = trend_series.measure_series(query, freq)
        for measure, feed, by, category in (("still_missing", "rosewood", "status", "missing"),
                                            ("referred", "mandevilla", "referred_to_police",
                                             "referred"),
                                            ("count", None, None, None)):
            for row in measures[measures["measure"] == measure].to_dict("records"):
                key = ((row["feed"], row["period"], WY) if by is None
                       else (feed, by, category, row["period"]))
                shown[key] = row["display"]
        pages[f"trends {period}"] = shown
    return pages


def meeting_figures(data) -> dict:
    """Meeting mode (and the briefing pack's figures): district comparison, headline, trend."""
    shown = {}
    period = data.period.key
    for name, row in data.districts.iterrows():
        for column, label in row.items():
            if column == "Per 100,000":
                continue
            feed = TITLE_FEED.get(column, "*")
            shown[(feed, period, _code(name))] = label
    area = data.district or WY
    for row in data.trend.to_dict("records"):
        if row["display"] != "no data":
            shown[(TITLE_FEED[row["feed"]], row["period"], area)] = row["display"]
    for kpi in data.kpis:
        for p, label in ((data.period, kpi.display), (data.previous, kpi.previous_display),
                         (data.last_year, kpi.last_year_display)):
            if label != "no data":
                shown[(kpi.feed, p.key, area)] = label
    return shown


def briefing_figures(store, period: str) -> dict:
    """The district comparison as printed in the briefing pack's PDF."""
    pdf = build_briefing(store, CHAIR, period)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    start = lines.index("Per 100,000", lines.index("District comparison"))
    columns = [*FEED_SHORT_TITLES.values(), TOTAL]
    shown = {}
    for name in [*sorted(DISTRICT_CODES.values()), TOTAL]:
        at = lines.index(name, start)
        for column, label in zip(columns, lines[at + 1:at + 1 + len(columns)]):
            shown[(TITLE_FEED.get(column, "*"), period, _code(name))] = label
    return shown


def overview_figures(query) -> dict:
    overview = store_overview(query)
    shown = {}
    for name, row in overview.district_table.iterrows():
        for column, label in row.items():
            shown[(TITLE_FEED.get(column, "*"), "all", _code(name))] = label
    return shown


@pytest.fixture(scope="module")
def pages(store) -> dict[str, dict]:
    query = RoleScopedQuery(store, CHAIR)
    out = trends_figures(query)
    for period in (QUARTER, *MONTHS):
        out[f"meeting {period}"] = meeting_figures(
            meeting_data(meeting_query(store, CHAIR), MeetingState(period)))
    leeds = "E08000035"
    out["meeting Leeds"] = meeting_figures(
        meeting_data(meeting_query(store, CHAIR), MeetingState(QUARTER, leeds)))
    out[f"briefing {QUARTER}"] = briefing_figures(store, QUARTER)
    out["overview"] = overview_figures(query)
    return out


# -- (a) the pages agree ----------------------------------------------------------------------------
def test_every_page_shows_the_same_figure_for_the_same_count(pages):
    seen: dict[tuple, dict[str, str]] = defaultdict(dict)
    for page, figures in pages.items():
        for key, label in figures.items():
            seen[key][page] = str(label).replace(",", "")
    shared = {key: by_page for key, by_page in seen.items() if len(by_page) > 1}
    disagree = {key: by_page for key, by_page in shared.items()
                if len(set(by_page.values())) > 1}
    assert not disagree, list(disagree.items())[:5]
    # The comparison covers what matters: the quarter's district counts on four surfaces,
    # West Yorkshire's months on Trends and meeting mode, and hidden figures among them.
    for feed in FEEDS:
        for code in DISTRICT_CODES:
            assert {"trends 2026-Q3", "meeting 2026-Q3", "briefing 2026-Q3"} <= \
                set(seen[(feed, QUARTER, code)])
        assert {"trends 2026-09", "meeting 2026-09"} <= set(seen[(feed, "2026-09", WY)])
    assert len(shared) > 150
    assert any(re.fullmatch(r"<\d+|\[c\]", label) for by_page in shared.values()
               for label in by_page.values())


# -- (b) nothing hidden can be worked out from everything shown -------------------------------------
class Unknowns:
    """The attacker's unknowns: records per feed, district and month, and per feed, partition,
    category and month, over every month of the quarters the store spans."""

    def __init__(self, store):
        first, last = store.period()
        self.months = quarter_months(pd.period_range(pd.Period(first, "Q"),
                                                     pd.Period(last, "Q"), freq="Q"))
        self.data_months = pd.period_range(pd.Period(first, "M"), pd.Period(last, "M"), freq="M")
        self.index: dict[tuple, int] = {}
        for feed in FEEDS:
            for code in DISTRICT_CODES:
                for m in self.months:
                    self.index[(feed, code, m)] = len(self.index)
            for by in partitions_of(feed):
                for category in PARTITIONS[by].categories:
                    for m in self.months:
                        self.index[(feed, by, category, m)] = len(self.index)

    def months_of(self, period: str):
        if period == "all":
            return list(self.months)
        p = pd.Period(period, "Q" if "Q" in period else "M")
        return [m for m in self.months if m.asfreq(p.freqstr[0]) == p] if "Q" in period \
            else [p]

    def expression(self, key) -> dict[int, float]:
        """The unknowns a shown figure adds up."""
        if len(key) == 4:
            feed, by, category, period = key
            return {self.index[(feed, by, category, m)]: 1.0 for m in self.months_of(period)}
        feed, period, area = key
        feeds = list(FEEDS) if feed == "*" else [feed]
        codes = list(DISTRICT_CODES) if area == WY else [area]
        return {self.index[(f, c, m)]: 1.0 for f in feeds for c in codes
                for m in self.months_of(period)}

    def links(self):
        """What every reader knows: each partition adds up to the feed's total every month."""
        for feed in FEEDS:
            for by in partitions_of(feed):
                for m in self.months:
                    row = {self.index[(feed, c, m)]: 1.0 for c in DISTRICT_CODES}
                    for category in PARTITIONS[by].categories:
                        row[self.index[(feed, by, category, m)]] = -1.0
                    yield row

    def bounds(self):
        outside = ~self.months.isin(self.data_months)
        out = []
        for key in self.index:
            month = key[-1]
            out.append((0, 0) if outside[self.months.get_loc(month)] else (0, None))
        return out


def audit(figures: dict, unknowns: Unknowns) -> dict:
    """LP range of every hidden figure given every shown one: {key: (min, max)}."""
    equalities, rhs_eq, upper, rhs_ub, hidden = [], [], [], [], []
    for key, label in figures.items():
        label = str(label).replace(",", "")
        expression = unknowns.expression(key)
        feed = key[0]
        if label.isdigit():
            equalities.append(expression)
            rhs_eq.append(float(label))
        elif match := re.fullmatch(r"<(\d+)", label):
            upper.append(expression)
            rhs_ub.append(int(match[1]) - 1.0)
            hidden.append(key)
        elif label == "[c]":
            upper.append({v: -c for v, c in expression.items()})
            rhs_ub.append(-float(threshold_for(feed)))
            hidden.append(key)
        else:  # "hidden" (a sum with a hidden part): says nothing more than its parts
            assert label == "hidden", (key, label)
    for row in unknowns.links():
        equalities.append(row)
        rhs_eq.append(0.0)

    def matrix(rows):
        m = sparse.lil_matrix((len(rows), len(unknowns.index)))
        for r, row in enumerate(rows):
            for v, c in row.items():
                m[r, v] = c
        return m.tocsr()

    a_eq, a_ub = matrix(equalities), matrix(upper)
    bounds = unknowns.bounds()
    ranges = {}
    for key in hidden:
        objective = np.zeros(len(unknowns.index))
        for v, c in unknowns.expression(key).items():
            objective[v] = c
        low = linprog(objective, A_ub=a_ub, b_ub=rhs_ub, A_eq=a_eq, b_eq=rhs_eq,
                      bounds=bounds, method="highs")
        high = linprog(-objective, A_ub=a_ub, b_ub=rhs_ub, A_eq=a_eq, b_eq=rhs_eq,
                       bounds=bounds, method="highs")
        assert low.status == 0, (key, low.message)  # the true counts are feasible
        ranges[key] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return ranges


def truth(store, key, unknowns: Unknowns) -> int:
    analyst = RoleScopedQuery(store, Principal("a", "analyst"))
    if len(key) == 4:
        feed, by, category, period = key
        table = feed_tables.feed_tables(analyst, feed, "Q" if "Q" in period else "M").parts[by]
        return sum(int(table.counts.loc[category, m]) for m in unknowns.months_of(period)
                   if m in table.counts.columns or period != "all")
    feed, period, area = key
    total = 0
    for f in (FEEDS if feed == "*" else [feed]):
        table = feed_tables.period_tables(analyst, f).area.month
        for m in unknowns.months_of(period):
            if m in table.counts.columns:
                total += int(table.counts.loc[TOTAL if area == WY else area, m])
    return total


def published(store, key, unknowns: Unknowns) -> tuple[int, int]:
    """The sums of the publication's atoms a figure counts (``safeguards.publication``):
    published, and true records."""
    from safeguards.publication import build_publication, labels

    if len(key) == 4:
        feed, by, category, period = key
        area = None
    else:
        feed, period, area = key
    months = unknowns.months_of(period)
    total = true = 0
    for f in (FEEDS if feed == "*" else [feed]):
        atoms = build_publication(store, f).atoms
        inside = atoms["month"].isin(months)
        if len(key) == 4:
            inside &= (labels(atoms, by) == category).to_numpy()
        elif area != WY:
            inside &= (atoms["district_code"] == area).to_numpy()
        total += int(atoms.loc[inside, "published"].sum())
        true += int(atoms.loc[inside, "count"].sum())
    return total, true


def test_every_page_together_reveals_only_the_publication(store, pages):
    """Issue 12: a linear programme over every figure the pages show a chair (taken as exact
    counts) pins some hidden figures now — to the sums of published atoms, the draws of
    ``safeguards.publication``, never to anything the publication does not already say; and a
    pinned value is not the true count for some of them (the draw does not depend on it).
    tests/attacks/ shows that no combination narrows a true small count below "<k"."""
    union = {}
    for figures in pages.values():
        union.update(figures)
    unknowns = Unknowns(store)
    ranges = audit(union, unknowns)
    assert len(ranges) > 50, "the store should have many hidden figures for a chair"
    pinned = {key: r for key, r in ranges.items() if r[1] - r[0] < 1 - 1e-6}
    assert pinned, "with exact sums of published atoms an LP pins some"
    differ = 0
    for key, (low, _high) in pinned.items():
        value, true = published(store, key, unknowns)
        assert round(low) == value, key
        differ += value != true
    assert differ > 0


def test_the_audit_catches_tables_protected_one_by_one(store):
    """Months, quarters and a district × feed table of the quarter, each protected alone (as
    the pages did before they shared one protection): some hidden count is pinned."""
    analyst = RoleScopedQuery(store, Principal("a", "analyst"))
    figures = {}
    for freq in ("M", "Q"):
        for feed in FEEDS:
            area = feed_tables.feed_tables(analyst, feed, freq).area.cells.astype("int64")
            protected = suppress_table(area, feed=feed, row_totals=False)
            for (code, period), label in protected.display.stack().items():
                text = period.strftime("%Y-%m") if freq == "M" else f"{period.year}-Q{period.quarter}"
                figures[(feed, text, _code(code))] = label
    quarter = pd.DataFrame({feed: [int(feed_tables.feed_tables(analyst, feed, "Q").area.counts
                                       .loc[code, pd.Period(QUARTER, "Q")])
                                   for code in DISTRICT_CODES] for feed in FEEDS},
                           index=list(DISTRICT_CODES))
    table = suppress_table(quarter, threshold=max(threshold_for(f) for f in FEEDS))
    for (code, column), label in table.display.stack().items():
        figures[(column if column != TOTAL else "*", QUARTER, _code(code))] = label
    ranges = audit(figures, Unknowns(store))
    pinned = [key for key, (low, high) in ranges.items() if high - low < 1 - 1e-6]
    assert pinned, "separately protected tables should give some hidden count away"
