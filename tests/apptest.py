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
