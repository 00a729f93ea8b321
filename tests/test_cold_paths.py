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
from tests.sample_store import built_store
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


# -- fits, scans and backtest months kept per process and made by the warm-up -------------------
ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}


built = built_store(ROWS, "cold_paths")


@pytest.fixture
def served(built, tmp_path, monkeypatch):
    """A copy of the sample store served to AppTest, and counters of the three kinds of
    role-independent work (hotspot fits, month scans, backtest months)."""
    from tests.apptest import serve_copy
    from views import hotspot_accuracy, hotspot_alerts, hotspot_fits

    store = serve_copy(monkeypatch, built, tmp_path)
    calls = {"fit": [], "scan": [], "month": []}
    for module, name, kind in ((hotspot_fits, "_fit", "fit"), (hotspot_alerts, "_fit_scan", "scan"),
                               (hotspot_accuracy, "_score", "month")):
        real = getattr(module, name)

        def counted(*args, _real=real, _kind=kind, **kwargs):
            calls[_kind].append(args)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    hotspot_fits.forget_fits()
    yield store, calls
    hotspot_fits.forget_fits()


def counts(calls) -> dict:
    return {kind: len(made) for kind, made in calls.items()}


def test_a_second_role_shares_the_first_roles_scan_and_backtest(served):
    from safeguards.audit import read_audit
    from tests.apptest import open_page

    store, calls = served
    open_page("pages/hotspots.py", "analyst")
    first = counts(calls)
    assert first["scan"] == 1 and first["month"] == 6 and first["fit"] == 1
    open_page("pages/hotspots.py", "chair")
    # The chair's fit covers whole months (its own filters), so its period may end a month
    # earlier: its scan and every backtest month it shares with the analyst are not made again.
    assert counts(calls)["scan"] == 1
    months = [str(args[3]) for args in calls["month"]]
    assert len(months) == len(set(months)) and 6 <= len(months) <= 7
    details = read_audit(store, action="view-hotspots")["detail"].fillna("")
    for role in ("analyst", "chair"):   # every view audited, for its own role
        mine = details[read_audit(store, action="view-hotspots")["role"] == role]
        assert mine.str.startswith("alerts ").sum() == 1
        assert mine.str.startswith("accuracy backtest").sum() == 1


def test_after_the_warm_up_no_first_page_scans_or_backtests(served):
    from safeguards.audit import read_audit
    from tests.apptest import open_page
    from ui.hotspot_loaders import WARM_USER, prefit_default_views

    store, calls = served
    assert prefit_default_views(store) == ["analyst", "chair"]
    warm = counts(calls)
    assert warm["scan"] >= 1 and warm["month"] in (6, 7)   # both roles' months
    assert read_audit(store, actor=WARM_USER).empty   # the warm-up showed no one anything
    for role in ("analyst", "chair"):
        open_page("pages/hotspots.py", role)
        open_page("pages/meeting.py", role, step="hotspots")
    assert counts(calls) == warm


def test_a_key_being_worked_out_is_waited_for_not_worked_out_twice():
    import threading
    import time

    from views.hotspot_fits import forget_fits, kept

    made = []

    def slow():
        made.append(1)
        time.sleep(0.3)
        return "value"

    results = []
    threads = [threading.Thread(target=lambda: results.append(kept(("test", "k"), slow)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    forget_fits()
    assert results == ["value"] * 3 and len(made) == 1


def test_the_backtest_reads_once_and_scores_every_month_as_reading_each(built, monkeypatch):
    """The months' windows cut from one read of the span are the frames each month's own read
    gives (same rows, same order), so every month's score is the same."""
    from dataclasses import replace

    from core.filters import EventFilter
    from safeguards.access import Principal, RoleScopedQuery
    from views import hotspot_accuracy as accuracy
    from views.hotspot_fits import forget_fits

    query = RoleScopedQuery(built, Principal("ana", "analyst"))
    feeds = list(ROWS)
    end = built.period()[1]
    months = accuracy.backtest_months(end)
    reads = []
    real = accuracy._events
    monkeypatch.setattr(accuracy, "_events", lambda *a: reads.append(a[2]) or real(*a))
    forget_fits()
    once = [accuracy.score_month(query, feeds, EventFilter(), m, train_months=4) for m in months]
    assert len(reads) == 1
    for month in months:
        start = (month - 4).start_time.date()
        accuracy._held_span.clear()
        cut = accuracy._window_events(query, feeds, EventFilter(), start, month.end_time.date())
        own = real(query, feeds, replace(EventFilter(), start=start,
                                         end=month.end_time.date()))
        pd.testing.assert_frame_equal(cut, own)
    forget_fits()
    accuracy._held_span.clear()
    monkeypatch.setattr(accuracy, "_window_events", lambda q, f, flt, s, e: real(
        q, f, replace(flt, start=s, end=e)))
    each = [accuracy.score_month(query, feeds, EventFilter(), m, train_months=4) for m in months]
    forget_fits()
    assert once == each and sum(score.records for score in once) > 0
