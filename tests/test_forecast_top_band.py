"""The top band tuned on held-out hits (models._top_band, ForecastRanker(objective="top-hits")).

A planted case where the held-out log-likelihood and the top of the list disagree: most held-out
events are spread thinly far from every hotspot (the likelihood prefers the broad surface that
puts some mass there), a few fall on the hotspot (only the sharp surface puts them at the top of
the list). The top-hits objective must take the weighting that catches more in the band.
"""
import numpy as np
import pytest

from data.synthetic_families import family_events
from models._top_band import band_cells, blend, candidate_weights, choose, fold_hits
from models.forecast import ForecastRanker, _em_weights

NAMES = ["kde100", "kde200", "kde300", "kde500", "kde800", "population", "uniform"]
N_LAND = 2000


def _planted():
    """Surfaces on 2,000 cells, and held-out events: 12 on the 10 hotspot cells (0-9), where the
    background KDEs put their mass, and 60 spread thinly over cells 1005-1999, which only
    residents explain; residents also peak on five cells (1000-1004) where no event falls.
    The likelihood gives residents most weight (they explain 60 of 72 events), so their five
    empty peak cells rank above the hotspot; a KDE alone ranks the hotspot first."""
    cells = np.arange(N_LAND)
    surfaces = np.zeros((len(NAMES), N_LAND))
    for row, width in enumerate((2, 8, 30, 80, 200)):  # kdeN: a bump on the hotspot, cells 0-9
        surfaces[row] = np.exp(-0.5 * (np.maximum(cells - 9, 0) / width) ** 2)
        surfaces[row][1000:] = 0.0
    surfaces[:5] /= surfaces[:5].sum(axis=1, keepdims=True)
    surfaces[5][1000:1005] = 0.1  # residents: half on five cells, half spread thinly
    surfaces[5][1005:] = 0.5 / (N_LAND - 1005)
    surfaces[6] = 1.0 / N_LAND
    held = np.r_[np.repeat(np.arange(10), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]),
                 1005 + np.arange(60) * 16]
    return surfaces, held


def test_the_top_band_takes_the_weighting_that_catches_more_than_the_likelihood_one():
    surfaces, held = _planted()
    likelihood = _em_weights(surfaces[:, held].T, prior=0.25)
    # The likelihood puts most weight on the broad surfaces: 60 of 72 events are far away.
    assert likelihood[5] + likelihood[6] > 0.7
    candidates = candidate_weights(NAMES, likelihood)
    assert np.array_equal(candidates[0], likelihood)
    n_cells = [10, 20, 40]
    hits = fold_hits(surfaces, held, candidates, n_cells)
    # The likelihood weights' top 10 cells start with residents' five empty peak cells.
    assert hits[0, 0] < 12
    best = choose(hits, n_folds=1, min_gain=0.0)
    assert best != 0
    assert hits[best].sum() > hits[0].sum()
    assert hits[best, 0] == 12  # every hotspot event inside the top 10 cells
    # The same objective, computed by hand for the chosen weighting.
    score = candidates[best] @ surfaces
    top = np.argsort(-score, kind="stable")[:10]
    assert np.isin(held, top).sum() == 12


def test_ties_and_small_gains_keep_the_likelihood_weights():
    hits = np.array([[5.0, 7.0], [5.0, 7.0], [4.0, 6.0]])
    assert choose(hits, n_folds=3, min_gain=0.0) == 0  # a tie: the likelihood weights
    hits[2] = [6.0, 8.0]  # two more over three folds
    assert choose(hits, n_folds=3, min_gain=0.0) == 2
    assert choose(hits, n_folds=3, min_gain=1.0) == 0  # needs three more (one a fold)


def test_the_blend_ranks_the_band_first_then_the_likelihood_surface():
    likelihood = np.array([0.0, 0.4, 0.3, 0.2, 0.1, 0.0])
    band = np.array([0.0, 0.05, 0.05, 0.1, 0.8, 0.0])
    land = np.arange(1, 6)
    out = blend(likelihood, band, land, n_band=2)
    order = list(np.argsort(-out, kind="stable")[:5])
    assert order[:2] == [4, 3]  # the band's top two, by the band surface
    assert order[2:4] == [1, 2]  # then the rest by the likelihood surface
    assert out.sum() == pytest.approx(likelihood.sum())
    assert band_cells(100, 100.0, 1.0, (0.02, 0.005, 0.01)) == [1, 1, 2]


@pytest.mark.parametrize("family", ["corridors", "moving"])
def test_a_fitted_top_hits_ranking_keeps_the_contract(family):
    events = family_events(family, 100, seed=101)
    ranker = ForecastRanker(objective="top-hits").fit(events)
    plain = ForecastRanker().fit(events)
    assert ranker.weights_ == plain.weights_  # the likelihood weights rank the rest
    assert sum(ranker.band_weights_.values()) == pytest.approx(1.0)
    assert ranker.scores_.sum() == pytest.approx(plain.scores_.sum(), rel=1e-9)
    top = ranker.top_area(0.02)
    assert (np.diff(top["expected_per_km2"]) <= 0).all()
    # Beyond the band the order is the likelihood surface's.
    band = set(ranker.top_cells(0.02))
    rest = [c for c in ranker.top_cells(0.05) if c not in band]
    assert (np.diff(plain.scores_[rest]) <= 1e-15).all()
    refit = ForecastRanker(objective="top-hits").fit(events)
    assert np.array_equal(refit.scores_, ranker.scores_)  # deterministic
