"""Several seeds and intervals for the PAI ratio against KDE (models.seeds), the exact fast
held-out surfaces behind the affordable runs, and the partial sort of the top cells."""
import numpy as np
import pandas as pd
import pytest

from data.synthetic_families import family_events
from models import evaluate, forecast
from models._events import event_arrays
from models._grid import centre_grid
from models.metrics import top_cells
from models.seeds import ratio_table, verdict


def _folds(ours: np.ndarray, theirs: np.ndarray) -> pd.DataFrame:
    """evaluate-like rows: one PAI column, seeds x periods units for two methods."""
    rows = []
    for seed in range(ours.shape[0]):
        for period in range(ours.shape[1]):
            rows += [{"family": "f", "seed": seed, "period": f"2025-{period + 1:02d}",
                      "method": "forecast", "pai@1%": ours[seed, period]},
                     {"family": "f", "seed": seed, "period": f"2025-{period + 1:02d}",
                      "method": "kde250", "pai@1%": theirs[seed, period]}]
    return pd.DataFrame(rows)


def test_a_constant_ratio_has_a_point_interval():
    rng = np.random.default_rng(0)
    theirs = rng.uniform(5, 20, (6, 12))
    table = ratio_table(_folds(1.5 * theirs, theirs))
    row = table.iloc[0]
    assert (row["family"], row["method"], row["coverage"]) == ("f", "forecast", "1%")
    assert row["ratio"] == pytest.approx(1.5)
    assert row["low"] == pytest.approx(1.5) and row["high"] == pytest.approx(1.5)
    assert row["better"] == 72 and row["worse"] == 0 and row["units"] == 72
    assert row["p_value"] < 1e-6 and verdict(row) == "beats"


def test_noise_around_no_difference_gives_an_interval_holding_one():
    """PAI from a handful of events: the same rate for both, so any gap is noise."""
    rng = np.random.default_rng(1)
    ours, theirs = rng.poisson(4, (8, 12)) * 10.0, rng.poisson(4, (8, 12)) * 10.0
    row = ratio_table(_folds(ours, theirs)).iloc[0]
    assert row["low"] < 1 < row["high"] and verdict(row) == "within noise"
    assert row["ratio"] == pytest.approx(ours.sum() / theirs.sum())
    # Same seed, same answer: the report is reproducible.
    again = ratio_table(_folds(ours, theirs)).iloc[0]
    assert (again["low"], again["high"]) == (row["low"], row["high"])


def test_seeds_are_resampled_as_clusters():
    """One seed far better, the rest a little worse: months within a seed are not independent
    draws, so the interval must be wider than a months-only bootstrap would make it."""
    rng = np.random.default_rng(2)
    theirs = rng.uniform(9, 11, (8, 12))
    ours = theirs * 0.95
    ours[0] *= 3  # one lucky draw carries the mean ratio above 1
    row = ratio_table(_folds(ours, theirs)).iloc[0]
    assert row["ratio"] > 1 and row["low"] < 1, row
    assert verdict(row) == "within noise"


def test_units_without_events_are_left_out():
    theirs = np.full((2, 3), 10.0)
    ours = np.full((2, 3), 20.0)
    ours[0, 0] = theirs[0, 0] = np.nan  # a month with no test events
    row = ratio_table(_folds(ours, theirs)).iloc[0]
    assert row["units"] == 5 and row["ratio"] == pytest.approx(2.0)


def test_cli_runs_several_seeds_and_families(tmp_path, capsys):
    out = tmp_path / "seeds.md"
    code = evaluate.main(["--family", "corridors", "near_repeat", "--events", "100",
                          "--seeds", "1", "2", "--train-months", "21", "--methods", "forecast",
                          "kde250", "--coverage", "0.01", "0.05", "--hindsight-best",
                          "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "[1/4] corridors seed 1" in captured.err and "[4/4] near_repeat seed 2" in captured.err
    text = out.read_text(encoding="utf-8")
    assert "## forecast ÷ kde250: mean PAI ratio [95% paired bootstrap interval]" in text
    assert "| corridors |" in text and "| near_repeat |" in text and "seeds 1 2" in text
    assert "## hindsight-best ÷ kde250: mean PAI ratio" in text
    with pytest.raises(SystemExit):
        evaluate.main(["--store", str(tmp_path), "--seeds", "1", "2"])


# -- what makes several seeds affordable, exactly -----------------------------------------------

@pytest.mark.parametrize("family, n_events", [("near_repeat", 3000), ("corridors", 100)])
def test_held_out_surfaces_are_the_smoothed_grids_at_the_held_out_cells(family, n_events):
    events = event_arrays(family_events(family, n_events, seed=3))
    grid = centre_grid(100)
    cell = grid.cell_index(events.x, events.y)
    cell, day = cell[cell >= 0], events.date[cell >= 0].astype("datetime64[D]").astype(np.int64)
    start = int(day.max()) - 40
    train, test = day < start, day >= start
    names = forecast.ForecastRanker()._surface_names()
    whole = forecast._surfaces(grid, cell[train], day[train], start, names)
    at = forecast._surfaces_at(grid, cell[train], day[train], start, names, cell[test])
    for name in names:
        np.testing.assert_allclose(at[name], whole[name][cell[test]], rtol=1e-9, atol=1e-18)


def test_the_partial_sort_picks_the_same_cells_as_a_full_sort():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 300))
        candidates = np.sort(rng.choice(400, n, replace=False))
        scores = np.zeros(400)
        scores[candidates] = rng.integers(0, 5, n)  # many ties
        k = int(rng.integers(0, n + 3))
        full = candidates[np.lexsort((candidates, -scores[candidates]))[:k]]
        assert list(top_cells(scores, candidates, k)) == list(full)


# -- the hindsight bound ---------------------------------------------------------------------------

def test_hindsight_best_is_each_units_best_ranking_and_never_below_kde():
    rng = np.random.default_rng(3)
    theirs = rng.poisson(4, (3, 12)) * 10.0
    ours = rng.poisson(4, (3, 12)) * 10.0
    folds = _folds(ours, theirs).assign(fit_s=0.1)
    best = evaluate.with_hindsight_best(folds)
    rows = best[best["method"] == evaluate.HINDSIGHT]
    assert len(rows) == 36 and rows["fit_s"].eq(0.2).all()
    np.testing.assert_allclose(rows.sort_values(["seed", "period"])["pai@1%"],
                               np.maximum(ours, theirs).ravel())
    table = ratio_table(best).set_index("method")
    assert table.loc[evaluate.HINDSIGHT, "ratio"] >= max(1.0, table.loc["forecast", "ratio"])
    assert table.loc[evaluate.HINDSIGHT, "worse"] == 0
    # Only the rankings named take part.
    only_kde = evaluate.with_hindsight_best(folds, among=["kde250"])
    np.testing.assert_allclose(
        only_kde[only_kde["method"] == evaluate.HINDSIGHT].sort_values(["seed", "period"])
        ["pai@1%"], theirs.ravel())
