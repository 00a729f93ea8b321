"""Mann-Kendall and the emerging-trend categories, on hand-made monthly series."""
import numpy as np
import pytest
from scipy import stats

from core.trends import CATEGORIES, classify, hot_months, mann_kendall

LOW = [0.2] * 12  # expected events per month from the population baseline


def test_mann_kendall_of_a_strictly_increasing_series_by_hand():
    result = mann_kendall(range(1, 11))
    # S = 45 pairs, all increasing; Var(S) = n(n-1)(2n+5)/18 = 10*9*25/18 = 125.
    assert result.s == 45 and result.var_s == pytest.approx(125)
    assert result.z == pytest.approx(44 / np.sqrt(125))  # continuity correction
    assert result.p_value == pytest.approx(2 * stats.norm.sf(44 / np.sqrt(125)))
    assert result.tau == 1 and result.slope == 1 and result.trend == "increasing"
    assert mann_kendall(range(10, 0, -1)).trend == "decreasing"


def test_mann_kendall_tie_correction_by_hand():
    result = mann_kendall([1, 1, 2, 2])
    # S = 4; Var(S) = (4*3*13 - 2 * (2*1*9)) / 18 = 120 / 18.
    assert result.s == 4 and result.var_s == pytest.approx(120 / 18)
    assert result.z == pytest.approx(3 / np.sqrt(120 / 18))
    assert result.trend == "no trend"


def test_mann_kendall_agrees_with_kendalls_tau_without_ties():
    series = np.random.default_rng(4).permutation(30).astype(float)
    expected = stats.kendalltau(np.arange(30), series).statistic
    assert mann_kendall(series).tau == pytest.approx(expected)


def test_mann_kendall_degenerate_series_have_no_trend():
    for series in ([5] * 8, [1, 2], []):
        result = mann_kendall(series)
        assert result.trend == "no trend" and result.p_value == 1.0
    with pytest.raises(ValueError, match="NaN"):
        mann_kendall([1, np.nan, 3])


def test_hot_months_are_significantly_above_expected():
    # P(X >= 1 | 0.2) = 0.18, P(X >= 2 | 0.2) = 0.0175.
    assert list(hot_months([0, 1, 2, 3], [0.2] * 4)) == [False, False, True, True]
    assert list(hot_months([2, 2], [0.2, 2.0])) == [True, False]


@pytest.mark.parametrize("series, category", [
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7], "new"),
    ([2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8], "intensifying"),
    ([3] * 12, "persistent"),
    ([8, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2], "diminishing"),
    ([3, 0, 0, 3, 0, 0, 0, 3, 0, 0, 3, 0], "sporadic"),
    ([0, 0, 3, 0, 0, 3, 0, 3, 0, 0, 0, 0], "historical"),
    ([1] * 12, "no pattern"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_categories_of_hand_made_series(series, category):
    result = classify(series, LOW)
    assert result.category == category
    assert category in CATEGORIES


def test_the_baseline_matters_a_rise_everywhere_is_not_intensifying():
    counts = [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8]
    expected = np.array(counts) - 1.5  # the whole county rose the same way
    assert classify(counts, expected).mann_kendall.trend == "no trend"
    assert classify(counts, LOW).category == "intensifying"


def test_new_needs_quiet_months_before_the_recent_ones():
    # Hot in month 4 of 12: before the last six months, so not new.
    assert classify([0, 0, 0, 4, 0, 0, 0, 0, 0, 5, 6, 7], LOW).category != "new"
    assert classify([0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7], LOW, new_months=2).category != "new"


def test_default_expected_is_the_series_mean_and_lengths_must_match():
    assert classify([1] * 12).category == "no pattern"
    with pytest.raises(ValueError, match="12 months"):
        classify([1] * 12, [0.2] * 11)


def test_months_of_equal_count_tie_under_a_drifting_baseline():
    """A site with an event most months and no trend, under a baseline that rises by fractions
    of an event (the county grows): no trend. Unrounded, every quiet month would rank below
    the quiet months before it and the series would read as a significant decrease."""
    counts = [0, 0, 0, 0, 2, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0,
              0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1,
              1, 0, 1, 0, 1, 1]
    expected = np.linspace(0.012, 0.024, len(counts))
    assert mann_kendall(np.array(counts) - expected).trend == "decreasing"  # the artefact
    result = classify(counts, expected)
    assert result.mann_kendall.trend == mann_kendall(counts).trend == "no trend"
    assert result.category == "sporadic"  # hot in 27 of 60 months, one of them recent


def test_recent_months_count_together():
    """One event a month where 0.08 is expected passes no single month's test (p = 0.08), but
    three such months together do (p = 0.002): the hotspot is active, not historical."""
    expected = [0.08] * 12
    active = [0, 0, 4, 3, 5, 2, 2, 3, 2, 1, 1, 1]
    assert not hot_months(active, expected)[-3:].any()
    assert classify(active, expected).category != "historical"
    quiet = [0, 0, 4, 3, 5, 2, 2, 3, 2, 0, 0, 1]
    assert classify(quiet, expected).category == "historical"
