"""The app through AppTest: the entry point renders the landing page from the store in STORE_URL.

AppTest renders the entry point's default page (the landing page), in-process, without a browser.
"""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import clock
from safeguards.auth import LocalSession
from tests.apptest import texts
from tests.sample_store import build_store
from tests.signin_helpers import write_users
from views.overview import FEED_SHORT_TITLES

DASHBOARD = str(Path(__file__).resolve().parent.parent / "dashboard.py")
N_ROWS = {"nrm": 10, "rosewood": 6, "mandevilla": 4}
ATTRIBUTION = "Contains OS data © Crown copyright and database right 2014–2022."


def run_dashboard(monkeypatch, store_url, **session_state) -> AppTest:
    monkeypatch.setenv("STORE_URL", str(store_url))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    for key, value in session_state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("app") / "store", N_ROWS)


def test_synthetic_store_shows_banner_period_and_counts(monkeypatch, synthetic_store):
    at = run_dashboard(monkeypatch, synthetic_store.root)
    assert "SYNTHETIC DATA — not real cases" in texts(at.error)
    assert not at.info and not at.warning
    assert "Period: 2 Jan 2023 – 6 Mar 2023" in texts(at.header)
    shown = {m.label: m.value for m in at.metric}
    assert shown == {FEED_SHORT_TITLES[f]: str(n) for f, n in N_ROWS.items()}
    table = at.dataframe[0].value
    assert table.loc["Total", "Total"] == str(sum(N_ROWS.values()))
    assert "Leeds" in table.index
    assert ATTRIBUTION in texts(at.caption)


def test_real_store_shows_a_different_notice(monkeypatch, tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 2}, source="real")
    # Real data needs sign-in (tests/test_router.py): an analyst signed in with a local account.
    monkeypatch.setenv("USERS_FILE", str(write_users(tmp_path / "users.json").path))
    at = run_dashboard(monkeypatch, store.root,
                       auth_local=LocalSession("ana", clock.timestamp(), clock.timestamp()))
    assert "SYNTHETIC" not in texts(at.error) + texts(at.info) + texts(at.warning)
    assert "Real partner data" in texts(at.info)


def test_empty_store_says_how_to_build_or_load_data(monkeypatch, tmp_path):
    at = run_dashboard(monkeypatch, tmp_path / "no-store-here")
    assert "holds no records" in texts(at.info)
    commands = texts(at.code)
    assert "python -m data.synthetic --store store --years 5 --seed 1" in commands
    assert "python -m data.ingest FILE --feed nrm" in commands
    assert "make run" in texts(at.markdown)
    assert not at.metric and not at.dataframe and not at.error
    assert ATTRIBUTION in texts(at.caption)


def test_unreadable_store_is_reported_not_raised(monkeypatch, tmp_path):
    (tmp_path / "_manifest.json").write_text("{not json", encoding="utf-8")
    at = run_dashboard(monkeypatch, tmp_path)
    assert "cannot read _manifest.json" in texts(at.error)


@pytest.mark.parametrize("role", ["chair", "executive"])
def test_demo_roles_under_disclosure_control_see_suppressed_counts(monkeypatch, synthetic_store,
                                                                   role):
    at = run_dashboard(monkeypatch, synthetic_store.root, auth_demo_role=role)
    table = at.dataframe[0].value
    cells = set(table.drop(index="Total", columns="Total").to_numpy().ravel())
    assert "<10" in cells
    assert not {str(n) for n in range(1, 10)} & cells
    assert "hidden to protect the people counted" in texts(at.caption)


@pytest.mark.parametrize("params", [{"role": "analyst"}, {"auth_demo_role": "analyst"},
                                    {"level": "point"}, {"threshold": "1"}])
def test_crafted_query_parameters_change_neither_role_nor_suppression(monkeypatch,
                                                                      synthetic_store, params):
    monkeypatch.setenv("STORE_URL", str(synthetic_store.root))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.session_state["auth_demo_role"] = "executive"
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    cells = set(at.dataframe[0].value.drop(index="Total", columns="Total").to_numpy().ravel())
    assert "<10" in cells and not {str(n) for n in range(1, 10)} & cells
