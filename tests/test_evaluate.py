"""Forecast metrics by hand, and the rolling-origin evaluation and its CLI on a small store."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data.synthetic import build_store
from models import evaluate
from models.metrics import cells_for_coverage, hit_rate, pai, rri, top_cells

ROOT = Path(__file__).resolve().parent.parent


# -- metrics by hand -------------------------------------------------------------------------

def test_pai_by_hand():
    # 30 of 100 events in 20 km^2 of a 2,000 km^2 county: hit rate 0.3 / area share 0.01.
    assert pai(30, 100, 20, 2000) == pytest.approx(30.0)
    assert pai(100, 100, 2000, 2000) == pytest.approx(1.0)  # the whole county: no better
    assert pai(0, 100, 0, 2000) == 0.0  # no hotspot predicts nothing
    assert np.isnan(pai(0, 0, 20, 2000))


def test_rri_and_hit_rate_by_hand():
    # Training: 120 of 1,200 events in the hotspots; test: 10 of 100. Same share: RRI 1.
    assert rri(10, 100, 120, 1200) == pytest.approx(1.0)
    assert rri(5, 100, 120, 1200) == pytest.approx(0.5)
    assert np.isnan(rri(5, 100, 0, 1200))
    assert hit_rate(3, 12) == 0.25 and np.isnan(hit_rate(0, 0))


def test_top_cells_ranks_by_score_and_breaks_ties_by_index():
    scores = np.array([0.0, 5.0, 1.0, 5.0, 3.0])
    assert list(top_cells(scores, np.arange(5), 3)) == [1, 3, 4]
    assert list(top_cells(scores, np.array([0, 2, 4]), 2)) == [4, 2]
    assert cells_for_coverage(0.01, 2000, 0.09) == 222
    with pytest.raises(ValueError, match="coverage"):
        cells_for_coverage(0, 2000, 0.09)


# -- the evaluation on a small store -----------------------------------------------------------

@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate") / "store"
    build_store(root, years=2, seed=3, end="2025-12-31")
    return root


def test_evaluate_rolls_the_origin_month_by_month(small_store):
    events = evaluate.load_events(small_store, "nrm")
    folds = evaluate.evaluate(events, methods=["scan", "kde"], train_months=14,
                              coverages=(0.01, 0.05))
    # 24 months, the first 14 only train: 10 test months, two methods each.
    assert len(folds) == 20 and folds["period"].nunique() == 10
    assert folds["period"].min() == "2025-03" and folds["period"].max() == "2025-12"
    assert folds["hit_rate@1%"].between(0, 1).all()
    assert (folds["hit_rate@5%"] >= folds["hit_rate@1%"]).all()  # nested selections
    # Every candidate ranks the 100 m geomask cells (the scan's 300 m scores spread onto them).
    area_share = (cells_for_coverage(0.05, 2029.26, 0.01) * 0.01) / 2029.26
    np.testing.assert_allclose(folds["pai@5%"], folds["hit_rate@5%"] / area_share, rtol=1e-3)
    assert (folds["fit_s"] > 0).all()
    summary = evaluate.summarise(folds)
    assert list(summary.index) == ["scan", "kde"] and (summary["periods"] == 10).all()
    comparison = evaluate.paired(folds)
    assert set(comparison["method"]) == {"kde"} and len(comparison) == 2


def test_quarters_as_test_periods(small_store):
    events = evaluate.load_events(small_store, "mandevilla")
    folds = evaluate.evaluate(events, methods=["kde"], train_months=12, test_period="quarter")
    assert list(folds["period"]) == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    with pytest.raises(ValueError, match="test_period"):
        evaluate.evaluate(events, test_period="week")


def test_python_m_models_evaluate_writes_the_report(small_store, tmp_path):
    """The command as documented, in a fresh interpreter, on a store built by data.synthetic."""
    out = tmp_path / "report.md"
    result = subprocess.run(
        [sys.executable, "-m", "models.evaluate", "--store", str(small_store),
         "--train-months", "18", "--feed", "mandevilla", "--methods", "scan", "kde",
         "--coverage", "0.01", "0.05", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"report written to {out}" in result.stdout
    text = out.read_text(encoding="utf-8")
    for heading in ("## PAI at each coverage", "## At 1% of the area", "## At 5% of the area",
                    "## Each method's own hotspots, and fit time", "## Paired"):
        assert heading in text
    rows = [line for line in text.splitlines() if line.startswith("| scan |")]
    # The PAI table, one table per coverage, the own-hotspots table.
    assert len(rows) == 4 and "± " in rows[1]
    assert "6 test periods (2025-07 to 2025-12)" in text and "(mandevilla)" in text
    assert "Synthetic store: `python -m data.synthetic --years 2 --seed 3`" in text


def test_cli_refuses_an_empty_store_and_bad_arguments(tmp_path, capsys):
    assert evaluate.main(["--store", str(tmp_path / "empty"), "--out",
                          str(tmp_path / "r.md")]) == 2
    assert "no point events" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--store", str(tmp_path), "--coverage", "0"])
    assert exit_info.value.code == 2
