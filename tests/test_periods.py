"""core.periods.tabulate, the count behind every Trends, meeting and pack table, against a plain
count of the same records, on random data it was not written for: NaT dates, records outside the
periods, periods that are not consecutive, rows with no records, both frequencies."""
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.periods import tabulate

ROWS = ["a", "b", "c", "d"]


def plain_count(keys, dates, rows, periods):
    counts = Counter()
    for key, date in zip(keys, dates):
        if pd.isna(date):
            continue
        period = pd.Period(date, freq=periods.freq)
        if period in set(periods):
            counts[(key, period)] += 1
    return [[counts[(row, p)] for p in periods] for row in rows]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 300), freq=st.sampled_from(["M", "Q"]),
       drop=st.integers(0, 3))
def test_tabulate_counts_what_a_plain_count_counts(seed, n, freq, drop):
    rng = np.random.default_rng(seed)
    keys = pd.Series(rng.choice(ROWS[:3], n), dtype=object)   # row "d" never occurs
    days = rng.integers(0, 3 * 365, n)
    dates = pd.Series(pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"))
    dates[rng.random(n) < 0.05] = pd.NaT
    periods = pd.period_range("2023-03", "2025-06", freq=freq)
    periods = periods.delete(list(range(0, len(periods), 4))[:drop])  # gaps: not consecutive
    table = tabulate(keys, dates, ROWS, periods)
    assert list(table.index) == ROWS and list(table.columns) == list(periods)
    assert table.dtypes.eq("int64").all()
    assert table.to_numpy().tolist() == plain_count(keys, dates, ROWS, periods)


def test_a_category_outside_the_rows_is_refused_only_inside_the_periods():
    periods = pd.period_range("2024-01", "2024-03", freq="M")
    dates = pd.Series(pd.to_datetime(["2024-01-05", "2023-06-01"]))
    assert tabulate(pd.Series(["a", "zzz"]), dates, ROWS, periods).to_numpy().sum() == 1
    with pytest.raises(ValueError, match=r"outside the table: \['zzz'\]"):
        tabulate(pd.Series(["zzz", "a"]), dates, ROWS, periods)
    with pytest.raises(ValueError, match=r"\(empty\)"):
        tabulate(pd.Series([None, "a"]), dates, ROWS, periods)
