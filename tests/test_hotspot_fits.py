"""The hotspot model's fit kept per store content and filters (views.hotspot_fits), and the
warm-up's fits of the Hotspots page's default views (ui.hotspot_loaders.prefit_default_views).

The store is ``tests.sample_store``'s (five hotspots, one per district: test_hotspot_view.py).
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from core.filters import EventFilter
from models.hotspots import HotspotModel
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from storage.parquet import ParquetStore
from tests.apptest import open_page
from tests.sample_store import build_store
from views import hotspot_fits
from views.hotspots import fit_hotspots

ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}
FEEDS = tuple(ROWS)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("hotspot_fits") / "store", ROWS)


@pytest.fixture
def store(built, tmp_path):
    shutil.copytree(built.root, tmp_path / "store")
    return ParquetStore(tmp_path / "store")


@pytest.fixture
def fits(monkeypatch):
    """Counts the model's fits (the per-feed fits for cross-feed flags are inside them)."""
    calls = []
    fit = HotspotModel.fit

    def counted(self, X, y=None):
        calls.append(len(X))
        return fit(self, X, y)

    monkeypatch.setattr(HotspotModel, "fit", counted)
    hotspot_fits.forget_fits()
    yield calls
    hotspot_fits.forget_fits()


def query(store, role="analyst", user=None):
    return RoleScopedQuery(store, Principal(user or f"{role}-user", role))


def assert_same_view(a, b):
    pd.testing.assert_frame_equal(pd.DataFrame(a.hotspots), pd.DataFrame(b.hotspots),
                                  check_exact=True)
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
    assert (a.n_events, a.n_outside, a.notes, a.measured_against, a.suppressed, a.threshold) == \
        (b.n_events, b.n_outside, b.notes, b.measured_against, b.suppressed, b.threshold)


def test_one_fit_serves_every_user_and_role_each_view_audited(store, fits):
    filters = EventFilter()
    analyst = fit_hotspots(query(store, "analyst", "ana"), FEEDS, filters)
    again = fit_hotspots(query(store, "analyst", "bea"), FEEDS, filters)
    chair = fit_hotspots(query(store, "chair", "cat"), FEEDS, filters)
    assert len(fits) == 1
    assert_same_view(analyst, again)
    # Kept fit or fresh one: the same views (the chair's protected from the same model output).
    hotspot_fits.forget_fits()
    assert_same_view(chair, fit_hotspots(query(store, "chair", "cat"), FEEDS, filters))
    assert_same_view(analyst, fit_hotspots(query(store, "analyst", "ana"), FEEDS, filters))
    assert len(fits) == 2   # the chair's fit (whole months: the same filters) served both
    assert chair.suppressed and not analyst.suppressed
    entries = read_audit(store, action="view-hotspots").iloc[::-1]   # oldest first
    viewed = list(zip(entries["actor"], entries["role"]))
    assert viewed == [("ana", "analyst"), ("bea", "analyst"), ("cat", "chair"),
                      ("cat", "chair"), ("ana", "analyst")]


def test_other_filters_feeds_or_store_content_fit_again(store, fits):
    fit_hotspots(query(store), FEEDS)
    fit_hotspots(query(store), FEEDS[:2])
    fit_hotspots(query(store), FEEDS, EventFilter(districts=("E08000035",)))
    assert len(fits) == 3
    fit_hotspots(query(store), FEEDS)
    assert len(fits) == 3
    # Other records at the same place: a new store fingerprint, a new fit.
    shutil.rmtree(store.root)
    build_store(store.root, {**ROWS, "nrm": 40})
    fit_hotspots(query(store), FEEDS)
    assert len(fits) == 4


def test_model_parameters_other_than_the_pages_are_never_kept(store, fits):
    fit_hotspots(query(store), FEEDS, n_simulations=49)
    fit_hotspots(query(store), FEEDS, n_simulations=49)
    assert len(fits) == 2


def test_the_warm_up_fits_the_default_views_and_audits_nothing(store, fits):
    from ui.hotspot_loaders import WARM_USER, prefit_default_views

    before = len(read_audit(store))
    assert prefit_default_views(store) == ["analyst", "chair"]
    assert len(fits) >= 1
    assert len(read_audit(store)) == before
    assert read_audit(store, actor=WARM_USER).empty


def test_after_the_warm_up_the_pages_first_view_fits_nothing(store, monkeypatch, tmp_path):
    from ui.hotspot_loaders import prefit_default_views

    calls = []
    real = hotspot_fits._fit
    monkeypatch.setattr(hotspot_fits, "_fit",
                        lambda *args, **kwargs: calls.append(args[2]) or real(*args, **kwargs))
    hotspot_fits.forget_fits()
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setenv("USERS_FILE", str(tmp_path / "no-users.json"))
    monkeypatch.setenv("ROLES_FILE", str(tmp_path / "no-roles.yaml"))
    prefit_default_views(store)
    warm = len(calls)
    assert warm >= 1
    for role in ("analyst", "chair"):
        assert open_page("pages/hotspots.py", role).title[0].value == "Hotspots"
    assert len(calls) == warm   # both first views protected the warm-up's fits
    open_page("pages/hotspots.py", "analyst", feed="nrm")   # not a default view: fitted
    assert len(calls) == warm + 1
    entries = read_audit(store, action="view-hotspots").iloc[::-1]   # oldest first
    viewed = [role for role, detail in zip(entries["role"], entries["detail"].fillna(""))
              if detail.endswith(" hotspots")]   # the fits' views (not backtests, alerts)
    assert viewed == ["analyst", "chair", "analyst"], list(entries["detail"])
    hotspot_fits.forget_fits()
