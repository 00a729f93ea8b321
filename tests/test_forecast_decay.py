"""Recency-weighted backgrounds in the tasking ranking (``ForecastRanker(recent_backgrounds=...)``,
500 m at 14 and 30 days by default since 2026-12-03; ``forecast-decay`` and, without them,
``forecast-nodecay`` in ``python -m models.evaluate``): hotspots that appear, drift and fade.

A planted drifting hotspot: the decayed surface must rank where it is now above where it was,
which a plain KDE of the same events does not; the held-out values of the new surfaces are the
smoothed grids' (as for every other surface); the estimator contract holds; and the
evaluation's ``--against`` table compares the candidate with the default, paired.
"""
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from data.synthetic_families import family_events
from geo.crs import BNG
from models import evaluate, forecast
from models._events import event_arrays
from models._grid import centre_grid
from models._surface_names import decayed_name, kernel_of
from models.forecast import ForecastRanker

OLD = (429_050, 433_550)  # Leeds city centre, BNG metres: where the hotspot was
STEP_M = 400  # it drifts east this far a month
SPREAD_M = 200  # events this far about its centre, as in data.synthetic_families' moving
MONTHS = 12


def _drifting(per_month: int = 30) -> pd.DataFrame:
    """A hotspot that drifts 400 m east a month for a year, ``per_month`` events a month
    about its current centre, over a thin spread of residents' events (deterministic)."""
    rng = np.random.default_rng(0)
    rows = []
    for month in range(MONTHS):
        x = OLD[0] + STEP_M * month
        days = pd.Timestamp("2025-01-01") + pd.to_timedelta(
            month * 30 + rng.integers(0, 30, per_month), unit="D")
        x_at, y_at = rng.normal(x, SPREAD_M, per_month), rng.normal(OLD[1], SPREAD_M, per_month)
        rows += [{"x": a, "y": b, "date": d} for a, b, d in zip(x_at, y_at, days)]
    background = family_events("overdispersed", 400, seed=0, months=MONTHS, end="2025-12-26")
    rows += [{"x": p.x, "y": p.y, "date": d}
             for p, d in zip(background.geometry, background["date"])]
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame[["date"]], geometry=gpd.points_from_xy(frame.x, frame.y),
                            crs=BNG)


def _score_at(ranker, x, y) -> float:
    grid = ranker.grid_
    return float(ranker.scores_[grid.cell_index(np.array([x]), np.array([y]))[0]])


def test_names_say_kernel_and_memory():
    assert kernel_of("kde250") == (250.0, None)
    assert kernel_of("recent100/14d") == (100.0, 14.0)
    assert decayed_name(500, 14) == "decayed500/14d"
    assert kernel_of(decayed_name(500, 14)) == (500.0, 14.0)
    assert kernel_of("population") is None and kernel_of("uniform") is None


def test_the_decayed_surface_ranks_where_a_drifting_hotspot_is_above_where_it_was():
    events = event_arrays(_drifting())
    grid = centre_grid(100)
    cell = grid.cell_index(events.x, events.y)
    day = events.date.astype("datetime64[D]").astype(np.int64)
    origin = int(day.max()) + 1
    now = grid.cell_index(np.array([OLD[0] + STEP_M * (MONTHS - 1)]), np.array([OLD[1]]))[0]
    was = grid.cell_index(np.array([OLD[0]]), np.array([OLD[1]]))[0]
    names = ["kde500", decayed_name(500, 14), decayed_name(500, 30)]
    surfaces = forecast._surfaces(grid, cell, day, origin, names)
    # Plain KDE: a year's trail, the old end as strong as the new (within 10%).
    assert surfaces["kde500"][now] == pytest.approx(surfaces["kde500"][was], rel=0.1)
    # Decayed: the place it is now is many times the place it was a year ago.
    for name in names[1:]:
        assert surfaces[name][now] > 10 * surfaces[name][was], name
    # The same held-out values as the smoothed grid, as for every other surface.
    at = forecast._surfaces_at(grid, cell, day, origin, names, np.array([now, was]))
    for name in names:
        np.testing.assert_allclose(at[name], surfaces[name][[now, was]], rtol=1e-9)


def test_the_fitted_ranking_follows_the_drift_and_keeps_the_contract():
    events = _drifting()
    ranker = ForecastRanker()  # the default carries them
    assert ranker.get_params()["recent_backgrounds"] == ((500, 14), (500, 30))
    assert clone(ranker).get_params() == ranker.get_params()
    ranker.fit(events)
    decayed = {n: w for n, w in ranker.weights_.items() if n.startswith("decayed")}
    assert set(decayed) <= {"decayed500/14d", "decayed500/30d"}
    # A hotspot drifting 400 m a month outruns the 250 m near-repeat kernel: the held-out
    # months give the wider recent surface weight (0.15 here).
    assert sum(decayed.values()) > 0.05, ranker.weights_
    assert sum(ranker.weights_.values()) == pytest.approx(1.0)
    ahead = OLD[0] + STEP_M * MONTHS  # where it goes next month: one step beyond the last
    assert _score_at(ranker, ahead, OLD[1]) > 5 * _score_at(ranker, OLD[0], OLD[1])
    top = ranker.top_area(0.001)
    assert top.crs.to_epsg() == 4326 and list(top["rank"]) == list(range(1, len(top) + 1))
    # Without recent_backgrounds the surfaces are the default's before: nothing decayed.
    assert not any(n.startswith("decayed")
                   for n in ForecastRanker(recent_backgrounds=()).fit(events).weights_)


def test_evaluate_compares_the_decayed_ranking_with_the_default(tmp_path, capsys):
    out = tmp_path / "decay.md"
    code = evaluate.main(["--family", "moving", "--events", "100", "--seeds", "1", "2",
                          "--train-months", "21", "--methods", "forecast", "forecast-decay",
                          "kde250", "--against", "forecast", "--coverage", "0.01", "0.05",
                          "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    text = out.read_text(encoding="utf-8")
    assert "## forecast-decay ÷ kde250: mean PAI ratio" in text
    assert "## forecast-decay ÷ forecast: mean PAI ratio" in text
    assert "## kde250 ÷ forecast" not in text  # the baseline is compared once, with KDE
