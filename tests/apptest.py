"""Opening the dashboard in Streamlit's AppTest as a demo role, on one page (shared by the page
tests: no sign-in is configured and the test stores are synthetic, so the demo picker applies),
pointing the app at a test store, and reading what a page shows.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")


def open_page(page: str, role: str = "analyst", *, timeout: float = 120,
              **params) -> AppTest:
    """The dashboard as the demo ``role``, switched to ``page`` (a path under the project, or
    absolute) with ``params`` in the URL; fails on any exception the page raised."""
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = role
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(str(ROOT / page)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(target) -> AppTest:
    """Run the app again (``target`` is the AppTest, or a widget just clicked or filled in);
    fails on any exception the page raised."""
    at = target.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def serve_store(monkeypatch, store, tmp_path: Path):
    """Point the app at ``store`` with no users or roles file (so the demo picker applies);
    returns ``store``."""
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setenv("USERS_FILE", str(tmp_path / "no-users.json"))
    monkeypatch.setenv("ROLES_FILE", str(tmp_path / "no-roles.yaml"))
    return store


def serve_copy(monkeypatch, built, tmp_path: Path):
    """Point the app at a copy of the store ``built`` in ``tmp_path`` (for a test that writes
    to the store, or reads only its own audit entries); returns the copy."""
    from storage.parquet import ParquetStore

    shutil.copytree(built.root, tmp_path / "store")
    return serve_store(monkeypatch, ParquetStore(tmp_path / "store"), tmp_path)


def served_store(built: str = "built", *, copy: bool = True):
    """A fixture: the app pointed at the store of the fixture named ``built`` (a copy per test
    with ``copy``, :func:`serve_copy`; the store itself without, :func:`serve_store`); returns
    the store served. Named by the name it is given in the test module::

        env = served_store()
    """
    @pytest.fixture
    def served(request, monkeypatch, tmp_path: Path):
        store = request.getfixturevalue(built)
        return (serve_copy if copy else serve_store)(monkeypatch, store, tmp_path)

    return served


def texts(elements) -> str:
    """The values of AppTest elements (captions, markdown, ...), one a line."""
    return "\n".join(str(e.value) for e in elements)


def map_json(at) -> str:
    """The arguments the page sends its folium map (the first ``st_folium`` component), as the
    JSON text sent: the same text on a rerun lets Streamlit resend it as a reference."""
    component = at.main.get("component_instance")[0]
    assert component.proto.component_name == "streamlit_folium.st_folium"
    return component.proto.json_args


def map_args(at) -> dict:
    """The arguments of the page's folium map (:func:`map_json`), parsed."""
    return json.loads(map_json(at))


def map_script(at) -> str:
    """The script of the page's folium map (the first ``st_folium`` component)."""
    return map_args(at)["script"]


def assert_reruns_resend_the_map(at, sent: str, reruns: int = 3) -> None:
    """Rerun the unchanged page ``reruns`` times: each run sends the map the very same
    arguments ``sent`` (so Streamlit's message cache sends a reference, not the map)."""
    for _ in range(reruns):
        run(at)
        assert map_json(at) == sent


@contextmanager
def calls_to(owner, name: str, record: Callable[..., object] = lambda *args, **kwargs: 1):
    """Count the calls of ``owner.name`` (a function of a module, or a method of a class)
    inside the block: yields a list that gets ``record(*args, **kwargs)`` for each call, which
    still goes through to the real one."""
    real = getattr(owner, name)
    calls: list = []

    def recording(*args, **kwargs):
        calls.append(record(*args, **kwargs))
        return real(*args, **kwargs)

    with mock.patch.object(owner, name, recording):
        yield calls


class DeferredFiles:
    """Makes the file of a deferred download button (data made on the click) as a browser's
    click would: AppTest's click only runs ``on_click``, and the dashboard's downloads use
    ``on_click="ignore"`` and make (and audit) the file on the click
    (``ui.loaders.audited_download``).

    AppTest gives each run a fresh media manager; this keeps the last one, whose deferred
    callables are the buttons of the last run.
    """

    def __init__(self, monkeypatch) -> None:
        from streamlit.testing.v1 import app_test

        real = app_test.MediaFileManager
        self._managers: list = []

        def keep(*args, **kwargs):
            manager = real(*args, **kwargs)
            self._managers.append(manager)
            return manager

        monkeypatch.setattr(app_test, "MediaFileManager", keep)

    def make(self, button) -> bytes:
        """The bytes that clicking ``button`` (an AppTest download button) downloads."""
        file_id = button.proto.deferred_file_id
        assert file_id, f"{button.label!r} is not a deferred download"
        manager = self._managers[-1]
        url = manager.execute_deferred(file_id)
        return manager._storage.get_file(url.rsplit("/", 1)[-1]).content
