"""A presentation clicker drives the meeting (issue 15): its keys are a keyboard's, so a real
browser presses →, Page Down and Space to go forward and ←, Page Up to go back, and the step
moves as Next / Previous would (``ui.clicker``). Keys typed into a field do not step, and the
keys do nothing on another page.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import APP_RUN_TIMEOUT_MS

pytestmark = pytest.mark.e2e


def step(page) -> str:
    return page.locator(".meeting-step").inner_text().strip()


def press(dashboard, key: str, expect: str) -> None:
    dashboard.page.keyboard.press(key)
    dashboard.page.locator(".meeting-step", has_text=expect).wait_for(
        timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert step(dashboard.page) == expect, (key, step(dashboard.page))


def test_clicker_keys_step_the_meeting(dashboard):
    dashboard.open("/")
    page = dashboard.page
    page.locator('[data-testid="stSidebar"]').get_by_text("Partnership chair").click()
    dashboard.wait_for_app()
    page.locator('[data-testid="stSidebarNav"]').get_by_role(
        "link", name="Meeting", exact=True).click()
    page.locator(".meeting-step").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    dashboard.take_console_errors(r"/meeting/_stcore/(health|host-config)\)$")
    assert step(page) == "1. Headline numbers"
    page.locator("h1").first.click()  # the focus is on the page, as in a meeting room

    press(dashboard, "ArrowRight", "2. District comparison")
    press(dashboard, "PageDown", "3. Hotspots")
    press(dashboard, "Space", "4. Tasking")
    press(dashboard, "ArrowLeft", "3. Hotspots")
    press(dashboard, "PageUp", "2. District comparison")
    press(dashboard, "Shift+Space", "1. Headline numbers")
    # Back at the first step, Previous is disabled: a key for it changes nothing.
    page.keyboard.press("ArrowLeft")
    dashboard.wait_for_app()
    assert step(page) == "1. Headline numbers"
    assert re.search(r"step=headline", page.url)

    # Typing in a field (the period picker) is never taken for a clicker.
    period = page.get_by_role("combobox", name="Period")
    period.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    dashboard.wait_for_app()
    assert step(page) == "1. Headline numbers"
    dashboard.screenshot("meeting-keys")

    # On another page of the same tab the keys do nothing (and break nothing).
    page.locator('[data-testid="stExpandSidebarButton"]').click()
    page.locator('[data-testid="stSidebarNav"]').get_by_role(
        "link", name="Trends", exact=True).click()
    page.locator("h1", has_text="Trends").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    url = page.url
    page.locator("h1").first.click()
    for key in ("ArrowRight", "PageDown", "ArrowLeft"):
        page.keyboard.press(key)
    page.wait_for_timeout(500)
    dashboard.wait_for_app()
    assert page.url == url and page.locator(".meeting-step").count() == 0
    dashboard.take_console_errors(r"/trends/_stcore/(health|host-config)\)$")
    dashboard.assert_clean()
