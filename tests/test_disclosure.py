"""Disclosure control: hand-made tables with exact expected results, then random tables checked
against properties, including an LP audit written here independently of ``safeguards.suppression``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from core.errors import ConfigError
from core.schema import FEEDS
from safeguards.disclosure import (
    CONFIDENTIAL,
    DEFAULT_THRESHOLDS,
    TOTAL,
    SuppressedTable,
    must_suppress,
    suppress_rates,
    threshold_for,
)
from safeguards.suppression import suppress_counts, suppress_table

C = CONFIDENTIAL


def grid(rows, index=None, columns=None) -> pd.DataFrame:
    """A small table of counts; rows x0, x1, … and columns a, b, … unless named."""
    rows = [list(r) for r in rows]
    index = index or [f"x{i}" for i in range(len(rows))]
    columns = columns or list("abcdefgh"[: len(rows[0])])
    return pd.DataFrame(rows, index=index, columns=columns)


# --- hand-made tables: (name, table, keyword arguments, expected display) ---------------------

CASES = [
    (
        "nothing to suppress is unchanged, totals added",
        grid([[10, 20], [30, 40]]), {},
        [["10", "20", "30"],
         ["30", "40", "70"],
         ["40", "60", "100"]],
    ),
    (
        "one small cell forces a complement in its row, its column and the corner",
        # (x0, a) = 2 is hidden; the cheapest rectangle through it is b=10, x1=30 and 40
        # (10+30+40 = 80, against 10+15+60 = 85 with row x2).
        grid([[2, 10, 20], [30, 40, 50], [15, 60, 70]]), {},
        [["<5", C, "20", "32"],
         [C, C, "50", "120"],
         ["15", "60", "70", "145"],
         ["47", "110", "140", "297"]],
    ),
    (
        "a total below k is hidden; zeros are shown",
        grid([[1], [2], [0]]), {},
        [["<5"], ["<5"], ["0"], ["<5"]],
    ),
    (
        "a small row and column total: the grand total is the cheapest complement",
        # x0 = 3 = its row total = its column total. Hiding the grand total (11) lets all three
        # move together; every route through the zeros and the 8s costs more.
        grid([[3, 0], [0, 8]]), {},
        [["<5", "0", "<5"],
         ["0", "8", "8"],
         ["<5", "8", C]],
    ),
    (
        "a bridge between two suppression cycles is found and broken",
        # The primary cells satisfy the naive rule (two or more hidden in every row and column
        # that has any), yet (x0, c) is the only link between the cycle in rows x0-x1 and the one
        # in rows x2-x3, so it equals (column c total) - (the shown cells of column c) - (what
        # rows x2-x3 say about their part of column c). One more complement, the cheapest
        # (x1, c) = 10, closes a cycle through it.
        grid([[2, 3, 1, 20], [4, 1, 10, 20], [20, 20, 2, 3], [20, 20, 4, 1]]), {},
        [["<5", "<5", "<5", "20", "26"],
         ["<5", "<5", C, "20", "35"],
         ["20", "20", "<5", "<5", "45"],
         ["20", "20", "<5", "<5", "45"],
         ["46", "44", "17", "44", "151"]],
    ),
    (
        "mandevilla shows <10, and protects it in a list with a total",
        grid([[7], [30], [40]]), {"feed": "mandevilla"},
        [["<10"], [C], ["40"], ["77"]],
    ),
    (
        "a one-row list with its total as a Total column",
        grid([[3, 8, 12]]), {},
        [["<5", C, "12", "23"]],
    ),
    (
        "column totals only: the complement is in the column, not the row",
        grid([[2, 10], [30, 40]]), {"row_totals": False},
        [["<5", "10"],
         [C, "40"],
         ["32", "50"]],
    ),
    (
        "no totals shown: only the small cells are hidden",
        grid([[2, 10], [30, 1]]), {"row_totals": False, "column_totals": False},
        [["<5", "10"],
         ["30", "<5"]],
    ),
]


@pytest.mark.parametrize("table, kwargs, expected",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_hand_made_tables(table, kwargs, expected):
    kwargs = {"threshold": 5} | kwargs if "feed" not in kwargs else kwargs
    result = suppress_table(table, **kwargs)
    assert result.display.to_numpy().tolist() == expected
    k = result.threshold
    hidden = np.array([[label.startswith("<") or label == C for label in row] for row in expected])
    assert result.suppressed.to_numpy().tolist() == hidden.tolist()
    assert result.counts.isna().to_numpy().tolist() == hidden.tolist()
    small = np.array([[label == f"<{k}" for label in row] for row in expected])
    truth = _with_totals(table, result)
    assert result.primary.to_numpy().tolist() == (small & (truth >= 1)).tolist()
    _assert_lp_protected(result, truth)


def test_the_bridge_case_would_pass_the_naive_rule():
    table = CASES[4][1]
    primary = suppress_table(table, threshold=5).primary.iloc[:4, :4]
    assert ((primary.sum(axis=1) == 0) | (primary.sum(axis=1) >= 2)).all()
    assert ((primary.sum(axis=0) == 0) | (primary.sum(axis=0) >= 2)).all()
    # With only the primary cells hidden, the LP pins (x0, c) to its true value.
    primary_only = _hide(table, primary, k=5)
    ranges = _lp_ranges(primary_only, k=5)
    assert ranges[(0, 2)] == pytest.approx((1, 1))


def test_counts_cells_and_long_form():
    table = grid([[2, 10, 20], [30, 40, 50], [15, 60, 70]], columns=["a", "b", "c"])
    table.columns.name = "month"
    table.index.name = "ward"
    result = suppress_table(table, threshold=5)
    assert result.counts.dtypes.eq("Int64").all()
    assert result.cells.index.equals(table.index) and result.cells.columns.equals(table.columns)
    assert result.counts.loc[TOTAL, TOTAL] == 297
    assert result.secondary.to_numpy().sum() == 3
    long = result.long()
    assert list(long.columns) == ["ward", "month", "count", "display", "suppressed", "primary"]
    assert len(long) == 9
    row = long.set_index(["ward", "month"]).loc[("x0", "a")]
    assert row["display"] == "<5" and pd.isna(row["count"]) and row["primary"]
    assert long.set_index(["ward", "month"]).loc[("x2", "c"), "count"] == 70


def test_suppress_counts_matches_the_wide_table():
    frame = pd.DataFrame({"ward": ["w1", "w1", "w2", "w2", "w3"],
                          "month": ["m1", "m2", "m1", "m2", "m2"],
                          "count": [2, 10, 30, 40, 60]})
    result = suppress_counts(frame, rows="ward", columns="month", feed="nrm")
    wide = grid([[2, 10], [30, 40], [0, 60]], index=["w1", "w2", "w3"], columns=["m1", "m2"])
    expected = suppress_table(wide, feed="nrm")
    assert result.display.to_numpy().tolist() == expected.display.to_numpy().tolist()
    assert result.cells.loc["w3", "m1"] == 0  # absent from the frame: a zero


def test_suppress_counts_as_a_list_with_a_total():
    frame = pd.DataFrame({"district_code": ["E08000032", "E08000033", "E08000034"],
                          "count": [3, 8, 12]})
    result = suppress_counts(frame, rows="district_code", feed="rosewood")
    assert result.display["count"].tolist() == ["<5", C, "12", "23"]
    long = result.long()
    assert list(long.columns) == ["district_code", "count", "display", "suppressed", "primary"]
    assert long["display"].tolist() == ["<5", C, "12"]


def test_suppress_counts_refuses_a_cell_counted_twice():
    frame = pd.DataFrame({"ward": ["w1", "w1"], "count": [3, 4]})
    with pytest.raises(ValueError, match="more than once"):
        suppress_counts(frame, rows="ward", threshold=5)


@pytest.mark.parametrize("table, message", [
    (grid([[1.0, np.nan]]), "missing"),
    (grid([[1, -1]]), "whole numbers"),
    (grid([[1.5, 2]]), "whole numbers"),
    (grid([["a", "b"]]), "not numbers"),
    (grid([[1, 2]], columns=["a", TOTAL]), TOTAL),
])
def test_bad_tables_are_refused(table, message):
    with pytest.raises(ValueError, match=message):
        suppress_table(table, threshold=5)


def test_an_empty_table_is_returned_empty():
    result = suppress_table(pd.DataFrame(), threshold=5)
    assert result.cells.empty and not result.suppressed.to_numpy().any()


# --- thresholds and roles ---------------------------------------------------------------------

@pytest.mark.parametrize("feed, k", [("nrm", 5), ("rosewood", 5), ("mandevilla", 10)])
def test_feed_thresholds(feed, k, monkeypatch):
    monkeypatch.delenv(f"DISCLOSURE_THRESHOLD_{feed.upper()}", raising=False)
    assert threshold_for(feed) == k
    assert suppress_table(grid([[k - 1, 50]]), feed=feed).display.iloc[0, 0] == f"<{k}"
    assert suppress_table(grid([[k, 50]]), feed=feed).display.iloc[0, 0] == str(k)


def test_every_feed_has_a_threshold():
    assert set(DEFAULT_THRESHOLDS) == set(FEEDS)


def test_threshold_override_beats_the_environment(monkeypatch):
    monkeypatch.setenv("DISCLOSURE_THRESHOLD_NRM", "7")
    assert threshold_for("nrm") == 7
    assert threshold_for("nrm", override=12) == 12
    assert suppress_table(grid([[11, 50]]), feed="nrm", threshold=12).display.iloc[0, 0] == "<12"
    assert suppress_table(grid([[6, 50]]), feed="nrm").display.iloc[0, 0] == "<7"


@pytest.mark.parametrize("raw", ["ten", "2", "0", "5.5"])
def test_a_bad_environment_threshold_is_a_config_error(raw, monkeypatch):
    monkeypatch.setenv("DISCLOSURE_THRESHOLD_MANDEVILLA", raw)
    with pytest.raises(ConfigError, match="DISCLOSURE_THRESHOLD_MANDEVILLA"):
        threshold_for("mandevilla")


@pytest.mark.parametrize("feed, threshold", [("nrm", 2), ("nrm", True), ("nrm", 4.0),
                                             (None, None), ("fraud", None)])
def test_bad_threshold_arguments(feed, threshold):
    with pytest.raises(ValueError):
        suppress_table(grid([[1, 50]]), feed=feed, threshold=threshold)


@pytest.mark.parametrize("role, expected", [("chair", True), ("executive", True),
                                            ("analyst", False), (None, True), ("Chair", True)])
def test_which_roles_see_suppressed_views(role, expected):
    assert must_suppress(role) is expected


# --- rates --------------------------------------------------------------------------------------

def test_rates_are_hidden_where_counts_are():
    table = grid([[2, 10, 20], [30, 40, 50], [15, 60, 70]])
    result = suppress_table(table, threshold=5)
    population = pd.Series([1000, 2000, 3000], index=table.index)
    rates = _with_totals_frame(table).div(population.reindex(result.counts.index, fill_value=6000),
                                          axis=0)
    hidden = suppress_rates(rates, result)
    assert hidden.isna().equals(result.suppressed)
    shown = ~result.suppressed
    assert (hidden[shown] == rates[shown]).sum().sum() == shown.sum().sum()


def test_rates_for_a_list():
    result = suppress_table(grid([[3], [8], [12]]), threshold=5)
    rates = pd.Series([0.3, 0.8, 1.2], index=["x0", "x1", "x2"])
    assert suppress_rates(rates, result).isna().tolist() == [True, True, False]
    assert suppress_rates(rates, result.suppressed["a"]).isna().tolist() == [True, True, False]


def test_a_rate_without_a_count_is_refused():
    result = suppress_table(grid([[3], [8], [12]]), threshold=5)
    with pytest.raises(ValueError, match="does not have"):
        suppress_rates(pd.Series([0.1], index=["elsewhere"]), result)


# --- random tables ------------------------------------------------------------------------------

# Counts skewed small, so that most tables need primary and secondary suppression.
COUNT = st.one_of(st.just(0), st.integers(1, 9), st.integers(0, 40))


@st.composite
def tables(draw):
    n_rows, n_cols = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    values = draw(st.lists(st.lists(COUNT, min_size=n_cols, max_size=n_cols),
                           min_size=n_rows, max_size=n_rows))
    k = draw(st.sampled_from([3, 5, 10]))
    totals = draw(st.sampled_from([(True, True), (True, True), (True, False), (False, True)]))
    return grid(values), k, totals


def _suppress(drawn) -> tuple[pd.DataFrame, SuppressedTable, int]:
    table, k, (row_totals, column_totals) = drawn
    result = suppress_table(table, threshold=k, row_totals=row_totals,
                            column_totals=column_totals)
    return table, result, k


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_hide_small_counts_and_show_true_values(drawn):
    table, result, k = _suppress(drawn)
    truth = _with_totals(table, result)
    hidden = result.suppressed.to_numpy()
    labels = result.display.to_numpy()
    # (1) every count 1..k-1, cell or total, is hidden as "<k"; that is what "primary" means.
    small = (truth >= 1) & (truth < k)
    assert hidden[small].all()
    assert (labels[small] == f"<{k}").all()
    assert (result.primary.to_numpy() == small).all()
    # Hidden cells say honestly which side of k they are.
    assert (labels[hidden & (truth < k)] == f"<{k}").all()
    assert (labels[hidden & (truth >= k)] == CONFIDENTIAL).all()
    # (4) everything shown is the true value.
    shown = ~hidden
    assert (result.counts.to_numpy()[shown].astype(int) == truth[shown]).all()
    assert (labels[shown] == truth[shown].astype(str)).all()
    # (2) no row, column or grand total leaves exactly one unknown to subtract.
    for members, total in _equations(result):
        unknown = sum(hidden[m] for m in members) + hidden[total]
        assert unknown != 1, (members, total)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_pass_an_independent_lp_audit(drawn):
    table, result, _ = _suppress(drawn)
    # (3) every hidden cell or total can take at least two values given all that is shown.
    _assert_lp_protected(result, _with_totals(table, result))


# --- helpers: the attacker's view, built from the published table only ---------------------------

def _shape(result: SuppressedTable) -> tuple[int, int, bool, bool]:
    """Cells' shape, and whether a Total column (row totals) and Total row are shown."""
    total_col = len(result.counts.columns) > 0 and result.counts.columns[-1] == TOTAL
    total_row = len(result.counts.index) > 0 and result.counts.index[-1] == TOTAL
    n_rows, n_cols = result.counts.shape
    return n_rows - total_row, n_cols - total_col, total_col, total_row


def _equations(result: SuppressedTable):
    """(members, total) positions of every "these add up to that" a reader can see."""
    n_rows, n_cols, total_col, total_row = _shape(result)
    if total_col:
        for i in range(n_rows):
            yield [(i, j) for j in range(n_cols)], (i, n_cols)
    if total_row:
        for j in range(n_cols):
            yield [(i, j) for i in range(n_rows)], (n_rows, j)
    if total_col and total_row:
        yield [(i, n_cols) for i in range(n_rows)], (n_rows, n_cols)
        yield [(n_rows, j) for j in range(n_cols)], (n_rows, n_cols)


def _lp_ranges(result: SuppressedTable, k: int) -> dict[tuple[int, int], tuple[float, float]]:
    """Min and max of every hidden entry by linear programming over what is published.

    Unknowns are the hidden entries; they must satisfy every visible sum, be >= 0, and fit
    their label ("<k": at most k-1; "[c]": at least k), as a reader who knows the rules would.
    """
    shown = result.counts.to_numpy(dtype=object)
    labels = result.display.to_numpy()
    unknown = [tuple(p) for p in np.argwhere(pd.isna(result.counts).to_numpy())]
    variable = {cell: n for n, cell in enumerate(unknown)}
    rows, rhs = [], []
    for members, total in _equations(result):
        coefficients, constant = {}, 0.0
        for cell, sign in [(m, 1) for m in members] + [(total, -1)]:
            if cell in variable:
                coefficients[variable[cell]] = sign
            else:
                constant -= sign * float(shown[cell])
        if coefficients:
            rows.append(coefficients)
            rhs.append(constant)
    a_eq = sparse.lil_matrix((len(rows), len(unknown)))
    for r, coefficients in enumerate(rows):
        for v, coefficient in coefficients.items():
            a_eq[r, v] = coefficient
    bounds = [(0, k - 1) if labels[cell] == f"<{k}" else (k, None) for cell in unknown]
    constraints = {"A_eq": a_eq.tocsr(), "b_eq": rhs} if rows else {}
    ranges = {}
    for n, cell in enumerate(unknown):
        objective = np.zeros(len(unknown))
        objective[n] = 1
        low = linprog(objective, bounds=bounds, method="highs", **constraints)
        high = linprog(-objective, bounds=bounds, method="highs", **constraints)
        assert low.status == 0, low.message  # the true values are feasible
        assert high.status in (0, 3), high.message  # 3: unbounded above
        ranges[cell] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return ranges


def _assert_lp_protected(result: SuppressedTable, truth: np.ndarray) -> None:
    """Every hidden entry has min < max; the true value lies in between (the LP is sound)."""
    ranges = _lp_ranges(result, result.threshold)
    assert len(ranges) == result.suppressed.to_numpy().sum()
    for cell, (low, high) in ranges.items():
        assert low - 1e-6 <= truth[cell] <= high + 1e-6, (cell, low, high)
    pinned = [cell for cell, (low, high) in ranges.items() if high - low < 1 - 1e-6]
    assert not pinned, f"hidden entries pinned by the LP: {pinned}"


def _with_totals_frame(table: pd.DataFrame) -> pd.DataFrame:
    frame = table.copy()
    frame[TOTAL] = frame.sum(axis=1)
    frame.loc[TOTAL] = frame.sum(axis=0)
    return frame


def _with_totals(table: pd.DataFrame, result: SuppressedTable) -> np.ndarray:
    """The true values laid out like ``result`` (computed here, not taken from the module)."""
    values = table.to_numpy(dtype=np.int64)
    _, _, total_col, total_row = _shape(result)
    if total_col:
        values = np.column_stack([values, values.sum(axis=1)])
    if total_row:
        values = np.vstack([values, values.sum(axis=0)])
    return values


def _hide(table: pd.DataFrame, mask: pd.DataFrame, k: int) -> SuppressedTable:
    """A published table with exactly ``mask`` hidden (for showing why the naive rule fails)."""
    full = _with_totals_frame(table)
    hidden = mask.reindex_like(full).fillna(False).astype(bool)
    labels = full.astype(str).mask(hidden & (full < k), f"<{k}").mask(hidden & (full >= k), C)
    return SuppressedTable(counts=full.astype("Int64").mask(hidden), display=labels,
                           suppressed=hidden, primary=hidden, cells=table, threshold=k)
