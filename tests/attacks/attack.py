"""The differencing attacker: every answer a protected role can get, then three attacks on them.

1. **Consistency check**: every answer must be exactly what summing the publication's atoms
   gives (``harvest.Cells``). An answer computed from the records (a forgotten code path) would
   differ somewhere, and then the guarantee below would not hold for it.
2. **The strongest attacker**: one who has, by differencing and solving every answer, learnt
   every published atom exactly (more than any combination of answers can give). For each
   protected cell (1 to k-1 records) it is sure only that the count lies between the sums of
   its atoms' lowest and highest possible values; we count cells pinned to one value and cells
   narrowed below what "<k" says (an interval of k-1 values: 1 to k-1).
3. **The naive attacker** of the issue: takes every shown figure as the exact true count of
   its cell ("<k" as 1 to k-1) and solves a linear programme (HiGHS, ``scipy.optimize.linprog``)
   for the lowest and highest count of each protected cell of a district's quarter: a value it
   pins is right only when the small counts' draws happened to equal the truth.

``python -m tests.attacks.attack`` prints the report that docs/disclosure-control.md quotes.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from core.filters import EventFilter
from core.schema import FEEDS
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import threshold_for
from tests.attacks.harvest import (
    ALL,
    AccuracyAnswer,
    Cells,
    ClassAnswer,
    Question,
    expected_labels,
    harvest_alerts,
    harvest_explore,
    harvest_hotspots,
    harvest_meeting,
    harvest_tables,
)

ROLES = ("chair", "executive", "admin")


@dataclass
class Report:
    role: str
    questions: int = 0
    figures: int = 0
    protected: int = 0          # answers whose cell holds 1 to k-1 records
    mismatched: list = field(default_factory=list)
    pinned: int = 0             # protected cells the strongest attacker pins to one value
    narrowed: int = 0           # … narrows below an interval of k-1 values
    outside: int = 0            # … whose bounds miss the truth (the guarantee's proof broken)


def ask(store, role: str, first: pd.Period, last: pd.Period) -> list[Question]:
    """Every question ``role`` can ask over the months ``first`` to ``last``."""
    query = RoleScopedQuery(store, Principal(f"attacker-{role}", role))
    last_quarter = (last + 1).asfreq("Q") - 1         # the last whole quarter
    first_quarter = (first - 1).asfreq("Q") + 1
    quarters = pd.period_range(first_quarter, last_quarter, freq="Q")
    questions = harvest_explore(query, first, last) + harvest_tables(query, quarters)
    if role == "chair":
        from views.meeting_figures import meeting_query
        questions += harvest_meeting(meeting_query(store, Principal("attacker", role)),
                                     quarters[-8:])
        questions += harvest_hotspots(query, quarters[-4:])
        # The alert list of the Hotspots page for its last six months (the meeting's alerts
        # come with harvest_meeting).
        questions += harvest_alerts(query, pd.period_range(last - 5, last, freq="M"))
    return questions


def attack(questions: list[Question], cells: Cells, role: str) -> Report:
    """Attacks 1 and 2 over every answer."""
    report = Report(role, questions=len(questions))
    for q in questions:
        table = cells.table(q)
        report.figures += len(table)
        expected = expected_labels(table, q.threshold)
        wrong = expected.index[expected.to_numpy() != q.labels.astype(str).to_numpy()]
        report.mismatched += [(q.source, q.feeds, q.by, str(q.months[0]), row,
                               q.labels[row], expected[row]) for row in wrong[:3]]
        # Each feed's records are protected at that feed's threshold: judged feed by feed
        # (the strongest attacker, knowing every atom, can split a sum of feeds anyway).
        for feed in q.feeds:
            k = threshold_for(feed)
            t = table if len(q.feeds) == 1 else cells.table(q, (feed,))
            t = t[(t["records"] >= 1) & (t["records"] < k)]
            report.protected += len(t)
            report.pinned += int((t["lo"] == t["hi"]).sum())
            report.narrowed += int((t["hi"] - t["lo"] < k - 2).sum())
            report.outside += int(((t["records"] < t["lo"]) | (t["records"] > t["hi"])).sum())
    return report


@dataclass
class NaiveReport:
    cells: int = 0
    pinned_right: int = 0
    pinned_wrong: int = 0
    constraints: int = 0
    guess_right: int = 0        # guessing the commonest small count, without any question
    guess_right_pinned: int = 0  # … among the cells the LP pins
    atoms_right_pinned: int = 0  # guessing one record per non-empty atom (zeros are shown)


def naive_lp(questions: list[Question], cells: Cells, feed: str, district: str,
             quarter: pd.Period) -> NaiveReport:
    """Attack 3 on one feed's atoms in one district and quarter: every answer whose cell lies
    inside them is an exact linear constraint on the atoms' true counts."""
    atoms = cells.atoms[feed]
    months = [m.ordinal for m in pd.period_range(quarter.asfreq("M", how="start"),
                                                 quarter.asfreq("M", how="end"), freq="M")]
    inside = (atoms["district_code"] == district).to_numpy() & np.isin(atoms["month_i"], months)
    sub = atoms[inside].reset_index(drop=True)
    k = threshold_for(feed)
    rows_eq, b_eq, rows_ub, b_ub, targets = [], [], [], [], []
    for q in questions:
        if (q.feeds != (feed,) or q.by not in ("ward", "district")
                or not {p.ordinal for p in q.months} <= set(months)):
            continue      # only answers whose cells lie inside the district's quarter
        mask = Cells._mask(feed, sub, q)
        keys = Cells._rows(sub, q.by)
        rows = [district] if q.by == "district" else sorted(set(keys))
        for row in rows:
            label = str(q.labels.get(row, "0"))
            member = (mask & (keys == row)).astype(float)
            if label.startswith("<"):
                rows_ub += [member, -member]
                b_ub += [k - 1, -1]
                targets.append(member)
            else:
                rows_eq.append(member)
                b_eq.append(float(label))
    report = NaiveReport(constraints=len(rows_eq) + len(rows_ub))
    if not targets:
        return report
    truth = sub["count"].to_numpy()
    unique = {tuple(t) for t in targets}
    for target in map(np.array, unique):
        bounds = []
        for sign in (1, -1):
            result = linprog(sign * target, A_ub=np.array(rows_ub) if rows_ub else None,
                             b_ub=b_ub or None, A_eq=np.array(rows_eq) if rows_eq else None,
                             b_eq=b_eq or None, bounds=(0, None), method="highs")
            bounds.append(sign * result.fun if result.success else np.nan)
        true_value = float(target @ truth)
        report.cells += 1
        report.guess_right += int(true_value == 1)
        if abs(bounds[1] - bounds[0]) < 0.5:
            report.pinned_right += int(round(bounds[0]) == true_value)
            report.pinned_wrong += int(round(bounds[0]) != true_value)
            report.guess_right_pinned += int(true_value == 1)
            report.atoms_right_pinned += int(true_value == int((target > 0).sum()))
    return report


def check_classes(answers: list[ClassAnswer], cells: Cells) -> list[tuple]:
    """Each trend class as shown against the class of the publication's own figures: the
    wards' published monthly sums (hidden, "<k", months taken as expected) against the
    county's published sums times the wards' share of residents (``core.trends.classify``).
    Returns the answers that differ: a class computed from anything else (the model's cells)
    could tell what the chart hides."""
    from core import trends
    from geo.boundaries import load_boundaries

    population = load_boundaries("ward").set_index("code")["population"].astype(float)
    county: dict = {}
    wrong = []
    for a in answers:
        k = max(threshold_for(f) for f in a.feeds)
        shown, expected = [], []
        share = population.reindex(list(a.wards)).sum() / population.sum()
        for month in a.months:
            place = cells.table(Question("class", a.feeds, None, (month,),
                                         EventFilter(wards=a.wards), pd.Series({ALL: ""})))
            published, records = (int(place.loc[ALL, c]) for c in ("published", "records"))
            if (a.feeds, month) not in county:
                county[a.feeds, month] = int(cells.table(Question(
                    "class", a.feeds, None, (month,), EventFilter(),
                    pd.Series({ALL: ""}))).loc[ALL, "published"])
            expected.append(county[a.feeds, month] * share)
            shown.append(np.nan if 0 < records and published < k else published)
        e = np.array(expected)
        values = np.where(np.isnan(shown), e, np.array(shown, float))
        category = trends.classify(values, e).category
        if category != a.category:
            wrong.append((a.source, a.feeds, str(a.months[-1]), a.wards, a.category, category))
    return wrong


@dataclass
class AccuracyReport:
    answers: int = 0
    shown: int = 0
    targets: int = 0            # hit counts the attacker bounds (a month's, an answer's window)
    narrowed: int = 0           # … bounded tighter than both "<k" and what it knew before
    outside: int = 0            # … whose bounds miss the truth (the rounding claim broken)
    narrowest: float = float("inf")


def accuracy_lp(answers: list[AccuracyAnswer], scores: dict, step: float) -> AccuracyReport:
    """The strongest attacker on the accuracy check: knows each test month's records exactly,
    takes every shown hit rate as "the true rate, within half a rounding step", and solves a
    linear programme for the lowest and highest number of records each month, and each
    answer's run of months, put inside the hotspots (and inside each comparison's area). A
    count is narrowed when its bounds are closer than k-1 and than the records of its months
    (what the attacker knew before asking)."""
    report = AccuracyReport(answers=len(answers))
    for feeds in dict.fromkeys(a.feeds for a in answers):
        k = max(threshold_for(f) for f in feeds)
        shown = [a for a in answers if a.feeds == feeds and a.shown]
        report.shown += len(shown)
        months = sorted({m for a in shown for m in a.months})
        if not months:
            continue
        n = np.array([scores[feeds, m].records for m in months], float)
        for j, name in enumerate(("model", "ranking", "kde")):
            truth = np.array([getattr(scores[feeds, m], f"{name}_hits") for m in months])
            rows, bounds = [], []
            for a in shown:
                member = np.isin(months, a.months).astype(float)
                total = float(member @ n)
                rows += [member, -member]
                slack = step / 2 + 1e-9    # the rounding, and float error
                bounds += [(a.rates[j] + slack) * total, -(a.rates[j] - slack) * total]
            # Targets: each month's hits, and each answer's window of months (its own count).
            targets = [np.eye(len(months))[i] for i in range(len(months))]
            targets += list({tuple(np.isin(months, a.months).astype(float)): 0
                             for a in shown})
            for target in map(np.asarray, targets):
                lo, hi = (sign * linprog(sign * target, A_ub=np.array(rows), b_ub=bounds,
                                         bounds=list(zip(np.zeros(len(n)), n)),
                                         method="highs").fun for sign in (1, -1))
                report.targets += 1
                report.narrowest = min(report.narrowest, hi - lo)
                report.narrowed += int(hi - lo < min(k - 1, target @ n) - 1e-6)
                report.outside += int(not lo - 1e-6 <= target @ truth <= hi + 1e-6)
    return report


def main() -> None:   # pragma: no cover - the report for the docs
    import tempfile
    from pathlib import Path

    from core import clock
    from data.synthetic import build_store
    from safeguards.publication import publication_for
    from storage.parquet import ParquetStore

    clock.set(lambda: pd.Timestamp("2026-12-15T10:00Z").to_pydatetime())
    root = Path(tempfile.mkdtemp()) / "store"
    build_store(root, years=5, seed=1)
    store = ParquetStore(root)
    cells = Cells({feed: publication_for(store, feed) for feed in FEEDS})
    dates = pd.concat([store.query(f, None, columns=["event_date"])["event_date"] for f in FEEDS])
    first, last = pd.Period(dates.min(), "M"), pd.Period(dates.max(), "M")
    chair_questions = None
    for role in ROLES:
        questions = ask(store, role, first, last)
        chair_questions = chair_questions or questions
        r = attack(questions, cells, role)
        print(f"{role}: {r.questions} questions, {r.figures} figures, {r.protected} protected; "
              f"mismatched {len(r.mismatched)}, pinned {r.pinned}, narrowed {r.narrowed}, "
              f"outside {r.outside}")
    total = NaiveReport()
    quarters = pd.period_range((last + 1).asfreq("Q") - 4, (last + 1).asfreq("Q") - 1, freq="Q")
    districts = sorted(cells.atoms["nrm"]["district_code"].unique())
    for feed, district, quarter in itertools.product(FEEDS, districts, quarters):
        n = naive_lp(chair_questions, cells, feed, district, quarter)
        for name in ("cells", "pinned_right", "pinned_wrong", "constraints", "guess_right",
                     "guess_right_pinned", "atoms_right_pinned"):
            setattr(total, name, getattr(total, name) + getattr(n, name))
    print(f"naive LP: {total}")


if __name__ == "__main__":   # pragma: no cover
    main()
