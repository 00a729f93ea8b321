"""Issue 13's answers put to the attacker: the new-cluster alerts, the hotspots' trend classes
and the accuracy check, which a chair (and, in meeting mode, every role) can see.

- **Alerts** (Hotspots page for each of the last six months, every feed set the hotspot
  questions use; the meeting's alerts for eight quarters) are among ``ask``'s questions, so
  ``test_differencing`` runs attacks 1-3 over them with everything else. Here: they are there,
  and each alert's figure is the published sum of its wards over its months.
- **Trend classes** (24-month windows: the meeting's, and the Hotspots page given those dates)
  must be the class of the publication's own figures (``attack.check_classes``): a class from
  the model's cells could say what the chart hides. Their figures go through attacks 1-2.
- **Accuracy** (the last six months' ends, each feed alone and all together): the strongest
  attacker knows each month's records and solves for the records each month put inside the
  hotspots (``attack.accuracy_lp``); none is bounded tighter than "<k" says.
"""
from __future__ import annotations

import pandas as pd
import pytest

from safeguards.access import Principal, RoleScopedQuery
from tests.attacks.attack import accuracy_lp, attack, check_classes
from tests.attacks.harvest import (
    alert_questions,
    harvest_accuracy,
    harvest_alerts,
    harvest_classes,
)
from views.hotspot_accuracy import PROTECTED_STEP


@pytest.fixture(scope="module")
def chair(demo):
    return RoleScopedQuery(demo, Principal("attacker-chair", "chair"))


@pytest.fixture(scope="module")
def last_quarter_end(span) -> pd.Period:
    return ((span[1] + 1).asfreq("Q") - 1).asfreq("M", how="end")


def test_the_alerts_answer_with_published_sums(demo, span, chair, cells, last_quarter_end):
    """The page's alerts for the last six months and the meeting's for the last two quarters
    (``ask`` adds the same to the chair's questions for ``test_differencing``)."""
    from views.meeting import MeetingState
    from views.meeting_figures import meeting_data, meeting_query

    alerts = harvest_alerts(chair, pd.period_range(span[1] - 5, span[1], freq="M"))
    meeting = meeting_query(demo, Principal("attacker", "chair"))
    for quarter in (last_quarter_end.asfreq("Q"), last_quarter_end.asfreq("Q") - 1):
        data = meeting_data(meeting, MeetingState(f"{quarter.year}-Q{quarter.quarter}"))
        alerts += alert_questions(data.alerts, "meeting/alerts")
    print(f"\nalert questions: {len(alerts)} "
          f"({sum(q.source == 'meeting/alerts' for q in alerts)} from the meeting)")
    assert alerts, "the demo store should raise some alert in the months asked"
    report = attack(alerts, cells, "chair")
    assert report.mismatched == [], report.mismatched[:5]
    assert report.outside == report.pinned == report.narrowed == 0


def test_trend_classes_are_the_classes_of_the_published_figures(chair, cells,
                                                                 last_quarter_end):
    ends = [last_quarter_end - 3 * i for i in range(4)]
    classes, figures = harvest_classes(chair, ends)
    print(f"\ntrend classes: {len(classes)}, "
          f"{pd.Series([c.category for c in classes]).value_counts().to_dict()}")
    assert len(classes) >= 10
    assert check_classes(classes, cells) == []
    report = attack(figures, cells, "chair")
    assert report.mismatched == [], report.mismatched[:5]
    assert report.outside == report.pinned == report.narrowed == 0


def test_the_accuracy_check_narrows_no_count_below_k(chair, span):
    ends = list(pd.period_range(span[1] - 5, span[1], freq="M"))
    answers, scores = harvest_accuracy(chair, ends)
    report = accuracy_lp(answers, scores, PROTECTED_STEP)
    print(f"\naccuracy: {report}")
    assert report.shown >= 6, "the check should be shown for some feed sets"
    assert report.outside == 0
    assert report.narrowed == 0
    # The teeth: the same answers unrounded (an analyst's) pin counts the rounding hides.
    exact = [type(a)(a.feeds, a.months, a.shown, tuple(
        sum(getattr(scores[a.feeds, m], f"{name}_hits") for m in a.months)
        / sum(scores[a.feeds, m].records for m in a.months)
        for name in ("model", "ranking", "kde"))) for a in answers]
    assert accuracy_lp(exact, scores, 0.0).narrowed > 0
