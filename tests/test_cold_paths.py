"""The cold paths of Hotspots and Meeting at 1M records (issue 14): the faster code gives the
same results as the code it replaced, on generated data.

Each speed-up is checked against the slower computation it replaced (kept here as the
reference), on the project's synthetic events (``tests.test_hotspots.null_events``).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from models import surveillance
from models.surveillance import REPLICA_BATCH, ProspectiveScan, _batch_maxima, _llr
from tests.test_hotspots import null_events
from tests.test_surveillance import AS_OF, MONTHS, planted, with_plant


def scored_everywhere(windows, cells, recent, expected, floor, total, min_events):
    """The replaced computation: every cylinder above its floor scored, each length counted
    from scratch (models.surveillance before issue 14's cold-path work)."""
    b, n_cells = cells.shape[0], windows.shape[1]
    offset = (np.arange(b) * n_cells)[:, None]
    best = np.zeros(b)
    for length in range(expected.shape[1]):
        k = int(recent[length])
        counts = np.bincount((cells[:, :k] + offset).ravel(), minlength=b * n_cells)
        sums = np.asarray(windows @ counts.reshape(b, n_cells).T.astype(float))
        w_i, b_i = np.nonzero(sums > floor[:, length][:, None])
        if len(w_i):
            np.maximum.at(best, b_i, _llr(sums[w_i, b_i], expected[w_i, length], total,
                                          min_events))
    return best


def full_shuffle_maxima(windows, member, ago, expected, total, min_events, n_replicas, rng):
    """The replaced null: every replica a full shuffle of all the events' months."""
    lmax = expected.shape[1]
    recent = np.cumsum(np.bincount(ago, minlength=lmax)[:lmax])
    floor = np.maximum(expected, min_events - 0.5)
    out = np.zeros(n_replicas)
    for start in range(0, n_replicas, REPLICA_BATCH):
        b = min(REPLICA_BATCH, n_replicas - start)
        order = rng.permuted(np.tile(np.arange(len(member)), (b, 1)), axis=1)[:, :recent[-1]]
        out[start:start + b] = scored_everywhere(windows, member[order], recent, expected,
                                                 floor, total, min_events)
    return out


@pytest.fixture(scope="module")
def events():
    return with_plant(null_events(4000, seed=5, months=MONTHS), planted([AS_OF], 12))


@pytest.fixture(scope="module")
def null_inputs(events):
    """What ProspectiveScan's fit hands its null (both analyses), captured."""
    captured = []
    original = surveillance._null_maxima

    def capture(*args):
        captured.append(args)
        return original(*args)

    surveillance._null_maxima = capture
    try:
        ProspectiveScan(random_state=0, n_replicas=199).fit(events, as_of=AS_OF)
    finally:
        surveillance._null_maxima = original
    assert len(captured) == 2
    return captured


def test_the_pruned_counting_gives_every_replicas_exact_maximum(null_inputs):
    """The replicas' maxima counted incrementally in float32 and scored only where their bound
    can win equal every window scored (the replaced computation), on the same replicas."""
    for windows, member, ago, expected, total, min_events, _, _ in null_inputs:
        lmax = expected.shape[1]
        recent = np.cumsum(np.bincount(ago, minlength=lmax)[:lmax])
        floor = np.maximum(expected, min_events - 0.5)
        rng = np.random.default_rng(3)
        cells = np.stack([member[rng.permutation(len(member))[:recent[-1]]]
                          for _ in range(64)])
        reference = scored_everywhere(windows, cells, recent, expected, floor, total,
                                      min_events)
        assert (reference > 0).any()
        single = windows.astype(np.float32)
        pruned = _batch_maxima(single, cells, recent, expected, floor, total)
        np.testing.assert_array_equal(pruned, reference)
        # Scored above a level only: half the smallest maximum (the null's own use), and the
        # median, where half the replicas are not found above it and are scored again.
        for level in (0.5 * reference.min(), np.median(reference)):
            np.testing.assert_array_equal(
                _batch_maxima(single, cells, recent, expected, floor, total, level), reference)


def test_the_partial_shuffle_null_has_the_full_shuffles_distribution(null_inputs):
    """Same distribution of replica maxima (two-sample KS, 999 + 999 replicas)."""
    from scipy.stats import ks_2samp

    windows, member, ago, expected, total, min_events, _, _ = null_inputs[0]
    new = surveillance._null_maxima(windows, member, ago, expected, total, min_events, 999,
                                    np.random.default_rng(1))
    old = full_shuffle_maxima(windows, member, ago, expected, total, min_events, 999,
                              np.random.default_rng(2))
    assert ks_2samp(new, old).pvalue > 0.01
    assert abs(np.median(new) - np.median(old)) < 0.1 * np.median(old)


def test_alerts_are_the_same_cylinders_with_p_values_within_monte_carlo_error(events):
    new = ProspectiveScan(random_state=0).fit(events, as_of=AS_OF)
    original = surveillance._null_maxima
    surveillance._null_maxima = full_shuffle_maxima
    try:
        old = ProspectiveScan(random_state=0).fit(events, as_of=AS_OF)
    finally:
        surveillance._null_maxima = original
    assert len(old.alerts_) >= 1
    same = ["events", "expected", "llr", "start_month", "months", "radius_m", "new"]
    pd.testing.assert_frame_equal(new.alerts_[same], old.alerts_[same])
    assert [list(c) for c in new.alert_cells_] == [list(c) for c in old.alert_cells_]
    np.testing.assert_allclose(new.alerts_["p_value"], old.alerts_["p_value"], atol=0.01)
    assert isinstance(new.alerts_, gpd.GeoDataFrame)
