"""Opening the dashboard in Streamlit's AppTest as a demo role, on one page (shared by the page
tests: no sign-in is configured and the test stores are synthetic, so the demo picker applies).
"""
from __future__ import annotations

from pathlib import Path

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
