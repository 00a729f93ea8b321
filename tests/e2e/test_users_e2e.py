"""An administrator manages accounts in the browser (issue 15): signs in, adds an account (the
password typed twice), removes it after confirming, and reads the audit log: every change is
there, written for people (no ``None``, ``{}`` or ISO dates). No page shows a path on the
server.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, serve_dashboard
from tests.sample_store import build_store
from tests.signin_helpers import PASSWORD, write_users

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "four unrelated words here"


@pytest.fixture(scope="module")
def admin_url(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("users-e2e")
    store = build_store(workdir / "store", {"nrm": 6, "rosewood": 4}, source="real")
    users = write_users(workdir / "instance-dir-on-server" / "users.json",
                        {"ada": "admin", "ana": "analyst"})
    with serve_dashboard(workdir, env={"STORE_URL": str(store.root),
                                       "USERS_FILE": str(users.path)}) as server:
        yield server.url, users


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_an_admin_adds_and_removes_an_account_and_reads_the_audit_log(browse, admin_url):
    url, users = admin_url
    dashboard = browse(url)
    dashboard.open("/")
    page = dashboard.page
    page.get_by_role("textbox", name="User name").fill("ada")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    dashboard.wait_for_app()
    page.locator('[data-testid="stSidebarNav"]').get_by_role(
        "link", name="Users", exact=True).click()
    page.locator("h1", has_text="Users").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    dashboard.take_console_errors(r"/users/_stcore/(health|host-config)\)$")

    form = page.locator('[data-testid="stForm"]')
    form.get_by_role("textbox", name="User name").fill("bob@example.org")
    form.get_by_role("combobox", name="Role").click()
    page.get_by_role("option", name="Partnership chair").click()
    form.get_by_label("Initial password", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("Initial password again").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add account").click()
    page.get_by_text("added as Partnership chair").wait_for(
        timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert users.authenticate("bob@example.org", NEW_PASSWORD).role == "chair"
    text = main_text(page)
    assert "instance-dir-on-server" not in text and "users.json" not in text
    assert "python -m" not in text and NEW_PASSWORD not in text
    dashboard.screenshot("users-admin")

    page.get_by_role("combobox", name="Account").click()
    page.get_by_role("option", name="bob@example.org").click()
    dashboard.wait_for_app()
    page.get_by_role("button", name="Remove").click()
    page.get_by_text("cannot be undone").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert users.get("bob@example.org") is not None      # asked first
    dashboard.screenshot("users-admin-confirm-remove")
    page.get_by_role("button", name="Yes, remove").click()
    page.get_by_text(re.compile(r"Account\s*bob@example.org\s*removed")).wait_for(
        timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert users.get("bob@example.org") is None

    page.locator('[data-testid="stSidebarNav"]').get_by_role(
        "link", name="Audit log", exact=True).click()
    page.locator("h1", has_text="Audit log").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    dashboard.take_console_errors(r"/audit_log/_stcore/(health|host-config)\)$")
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.screenshot("audit-log-admin")
    # The date pickers are day first, as everywhere else in the app.
    for picker in page.locator('[data-testid="stDateInput"]').all():
        segments = picker.locator('[role="spinbutton"]')
        assert [s.get_attribute("data-type") for s in segments.all()] == ["day", "month", "year"]
    dashboard.assert_clean()
