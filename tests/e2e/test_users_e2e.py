"""An administrator manages accounts in the browser (issue 15): signs in, adds an account (the
password typed twice), removes it after confirming, and reads the audit log: every change is
there, written for people (no ``None``, ``{}`` or ISO dates). No page shows a path on the
server.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

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


def choose(page, combobox, option: str) -> None:
    """Open the select ``combobox`` and pick ``option``.

    The select is scrolled into view first and the click tried again if no list opened: a
    click during Playwright's own scroll to the element can land as the page still moves, and
    a select's list closes when the page scrolls under it (at 1280 x 900 the add form's Role
    is below the fold, now that the sections have h2 headings).
    """
    combobox.scroll_into_view_if_needed()
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        combobox.click()
        try:
            choice.wait_for(timeout=5_000)
        except PlaywrightTimeout:
            continue
        choice.click()
        return
    raise AssertionError(f"the list of {combobox} never opened to pick {option!r}")


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
    choose(page, form.get_by_role("combobox", name="Role"), "Partnership chair")
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

    # Headings in order: the page's title is the one h1, its sections are h2 under it.
    headings = page.locator('[data-testid="stMain"]').locator("h1, h2, h3, h4, h5, h6")
    levels = [(h.evaluate("e => e.tagName"), h.inner_text().strip()) for h in headings.all()]
    assert levels == [("H1", "Users"), ("H2", "Local accounts"), ("H2", "Change an account"),
                      ("H2", "Add an account")], levels

    # The new role starts from the chosen account's own role; waiting for it also makes sure
    # the run that drew bob's controls is over before the next click.
    new_role = page.get_by_role("combobox", name="New role", exact=True)
    expect(new_role).to_have_value("Administrator")          # ada's own role
    choose(page, page.get_by_role("combobox", name="Account"), "bob@example.org")
    # Each account has its own select: wait until ada's has gone and bob's shows his role.
    page.wait_for_function(
        """role => {
            const selects = [...document.querySelectorAll(
                'input[role="combobox"][aria-label="New role"]')];
            return selects.length === 1 && selects[0].value === role;
        }""", arg="Partnership chair", timeout=APP_RUN_TIMEOUT_MS)
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
    # A long entry is cut in the grid; selecting its row shows it in full, wrapped, below.
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    # Rows are 35 px under a 35 px header, newest first: the second is bob's removal.
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 35 + 17)
    page.get_by_text("The selected entry in full").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    full = page.locator('[data-testid="stTable"]')
    # (an invisible word joiner keeps Markdown from making the address a mailto: link)
    assert "removed bob@example.org (chair)" in full.inner_text().replace("\u2060", "")
    for width, height in ((1280, 800), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        # Nothing of the entry is cut: the table fits the page (its long cells wrap).
        assert full.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), (width, height)
        dashboard.screenshot(f"audit-log-admin-entry-{width}x{height}")
    # The date pickers are day first, as everywhere else in the app.
    for picker in page.locator('[data-testid="stDateInput"]').all():
        segments = picker.locator('[role="spinbutton"]')
        assert [s.get_attribute("data-type") for s in segments.all()] == ["day", "month", "year"]
    dashboard.assert_clean()
