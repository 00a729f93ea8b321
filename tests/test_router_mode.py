"""The first run of a fresh server process, with ``pages/`` beside ``dashboard.py``: Streamlit
starts in its legacy multipage mode, and ``ui/router_mode.py`` hands every request to the router.
(Other AppTest suites run as every later request does: ``tests/conftest.py``.)"""
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from tests.sample_store import build_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def first_run(monkeypatch, tmp_path):
    """Undo the conftest's served-app behaviour: every run starts in the legacy mode."""
    monkeypatch.setattr(app_test, "PagesManager", PagesManager)
    store = build_store(tmp_path / "store", {"nrm": 3})
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setenv("USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("ROLES_FILE", str(tmp_path / "roles.yaml"))


DEMO_LABEL = "Demo: synthetic data — choose a role"


def test_the_first_request_for_a_page_goes_through_the_router(first_run):
    """A page's file run directly (what the legacy mode does with a page's URL on a fresh
    process; unpatched AppTest does it on every run) reruns through the router: the role picker
    the router draws and the page's own title show, and the legacy mode is off afterwards."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page(str(ROOT / "pages/trends.py"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert PagesManager.uses_pages_directory is False
    assert [r.label for r in at.sidebar.radio] == [DEMO_LABEL]
    assert [t.value for t in at.title] == ["Trends"]


def test_the_router_itself_leaves_the_legacy_mode_on_the_first_request(first_run):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert PagesManager.uses_pages_directory is False
    assert [r.label for r in at.sidebar.radio] == [DEMO_LABEL]
    assert at.title[0].value == "West Yorkshire exploitation dashboard"
