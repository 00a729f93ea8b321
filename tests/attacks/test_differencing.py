"""Issue 12, section 1: suppression defeated by differencing. The attacker of ``attack.py`` on
the 5-year demo store, through the functions the pages, CSVs, meeting and briefing pack use.

Target: 0 protected cells recovered exactly, none narrowed below what "<k" says.
"""
from __future__ import annotations

import datetime as dt
import itertools

import pandas as pd
import pytest

from core.filters import EventFilter
from core.schema import FEEDS
from safeguards.access import Principal, RoleScopedQuery
from safeguards.disclosure import threshold_for
from tests.attacks.attack import ask, attack, naive_lp


@pytest.fixture(scope="module")
def chair_questions(demo, span):
    return ask(demo, "chair", *span)


def test_every_answer_is_a_sum_of_published_atoms_and_no_cell_is_pinned(chair_questions, cells):
    """Every question a chair can ask (each month, quarter, year and sliding or mid-month window,
    ward and district, every feed set, category filters, the Trends/Overview tables, the
    district × feed table, the all-feed totals and the meeting's district comparison) answers
    with sums of published atoms; the strongest attacker pins and narrows nothing."""
    report = attack(chair_questions, cells, "chair")
    print(f"\nchair: {report.questions} questions, {report.figures} figures, "
          f"{report.protected} protected cells")
    assert report.questions > 3000 and report.protected > 50_000
    assert report.mismatched == [], report.mismatched[:5]
    assert report.outside == 0
    assert report.pinned == 0
    assert report.narrowed == 0


@pytest.mark.parametrize("role", ["executive", "admin"])
def test_district_roles_get_the_chairs_district_answers(demo, span, role):
    """Executive and admin see district level only: the same function, the same publication,
    so their answers are the chair's (which the attack above covers)."""
    chair = RoleScopedQuery(demo, Principal("c", "chair"))
    other = RoleScopedQuery(demo, Principal("o", role))
    last = span[1]
    for months in (1, 3, 12):
        start = (last - months + 1).start_time.date()
        for feeds in (["nrm"], ["mandevilla"], list(FEEDS)):
            f = EventFilter(start=start, end=last.end_time.date())
            pd.testing.assert_frame_equal(other.area_counts(feeds, "district", f),
                                          chair.area_counts(feeds, "district", f))
    pd.testing.assert_frame_equal(other.district_feed_table().display,
                                  chair.district_feed_table().display)
    with pytest.raises(Exception, match="ward"):
        other.area_counts(["nrm"], "ward")


def test_the_issues_reproduction_gets_nothing(demo, cells):
    """The issue's attack: a ward's 26 Dec 2024–31 Mar 2025 minus 26 Dec 2024–28 Feb 2025.

    Dates are widened to whole months (26 Dec is December), and the difference of the two
    answers is March's published sum: for a ward whose March is "<5" the attacker learns a
    draw that does not depend on March's true count."""
    chair = RoleScopedQuery(demo, Principal("c", "chair"))
    wide = chair.area_counts(["nrm"], "ward", EventFilter(start=dt.date(2024, 12, 26),
                                                          end=dt.date(2025, 3, 31)))
    whole = chair.area_counts(["nrm"], "ward", EventFilter(start=dt.date(2024, 12, 1),
                                                           end=dt.date(2025, 3, 31)))
    pd.testing.assert_frame_equal(wide, whole)
    short = chair.area_counts(["nrm"], "ward", EventFilter(start=dt.date(2024, 12, 26),
                                                           end=dt.date(2025, 2, 28)))
    march = chair.area_counts(["nrm"], "ward", EventFilter(start=dt.date(2025, 3, 1),
                                                           end=dt.date(2025, 3, 31)))
    analyst = RoleScopedQuery(demo, Principal("a", "analyst"))
    truth = analyst.area_counts(["nrm"], "ward", EventFilter(start=dt.date(2025, 3, 1),
                                                             end=dt.date(2025, 3, 31)))
    both = ~wide["count"].isna() & ~short["count"].isna() & march["suppressed"]
    assert both.sum() > 0, "the demo store should have wards shown over both ranges"
    differences = (wide["count"] - short["count"])[both].astype(int)
    atoms = cells.atoms["nrm"]
    in_march = atoms[atoms["month"] == pd.Period("2025-03", "M")]
    published = in_march.groupby("ward_code")["published"].sum()
    codes = wide["code"][both]
    assert (differences.to_numpy() == published.reindex(codes).to_numpy()).all()
    # The draws are not the truth: they differ for some wards, and each difference is all the
    # attacker gets (any true count 1-4 could have given it).
    true_march = truth.set_index("code")["count"].reindex(codes).astype(int)
    assert (differences.to_numpy() != true_march.to_numpy()).any() or len(codes) < 5
    assert set(differences) <= set(range(1, threshold_for("nrm")))


def test_a_naive_linear_programme_pins_values_no_better_than_a_guess(chair_questions, cells):
    """Taking every answer as the exact count of its cell, an LP pins some protected cells of a
    district's last four quarters — to the draws, which are wrong for some of them. Zeros are shown, so an
    attacker can tell which atoms are empty; guessing one record per non-empty atom, with no
    LP at all, is right at least as often on the same cells."""
    last = max(q.months[-1] for q in chair_questions)
    quarters = pd.period_range((last + 1).asfreq("Q") - 4, (last + 1).asfreq("Q") - 1,
                               freq="Q")
    districts = sorted(cells.atoms["nrm"]["district_code"].unique())
    right = wrong = guess = n = 0
    for feed, district, quarter in itertools.product(FEEDS, districts, quarters):
        r = naive_lp(chair_questions, cells, feed, district, quarter)
        right, wrong = right + r.pinned_right, wrong + r.pinned_wrong
        guess, n = guess + r.atoms_right_pinned, n + r.cells
    print(f"\nnaive LP on {n} protected cells: pinned right {right}, pinned wrong {wrong}; "
          f"one record per non-empty atom right {guess} of the pinned")
    assert n > 50
    assert wrong > 0, "if every pinned value were right, answers would be true counts"
    assert right <= guess
