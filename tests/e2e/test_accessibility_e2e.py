"""Accessibility: axe-core on every page of every demo role, in a real browser.

WCAG 2.2 AA (the Public Sector Bodies Accessibility Regulations) is the bar; docs/accessibility.md
is the statement. axe-core comes from the npm registry at the version pinned in package.json
(``devDependencies``; ``make test`` runs ``npm ci``, which installs it into ``node_modules/``) and
is injected from that file into the page and into every frame (the map is an iframe), so nothing
is fetched from a CDN at run time.

One test walks the demo roles on the harness's small synthetic store: it picks each role in the
sidebar's demo role picker, opens each of that role's pages (``ui.registry.ROLE_PAGES``) from the
sidebar navigation, waits until the page has drawn (script run over, network idle, the map's
Leaflet container and every chart in place), then runs axe. It fails on any violation of impact
"serious" or "critical", listing rule, impact, element and page/role; lesser impacts are printed.
Each page is then photographed at 1440×900 and 1920×1080 (``SCREEN_SIZES``) for people to look
at, and fails if it is wider than the window at either size.

``ALLOWED`` is the allow-list: (page key, axe rule id) -> why it is tolerated for now. It is
empty; an entry needs a reason naming who owns the fix.
"""
from __future__ import annotations

import json
import re

import pytest

from core.roles import ROLE_TITLES, ROLES
from tests.e2e.conftest import (
    APP_RUN_TIMEOUT_MS,
    REPO_ROOT,
    _unavailable,
    wait_for_network_quiet,
)
from ui.registry import PAGES, ROLE_PAGES

pytestmark = pytest.mark.e2e

AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The version pinned in package.json: the test checks that this is the axe it ran.
AXE_VERSION = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))[
    "devDependencies"]["axe-core"]
FAILING_IMPACTS = ("serious", "critical")
# WCAG 2.0/2.1/2.2 A and AA rules, plus axe's best practices (heading order, landmarks, regions).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                          "best-practice"]},
    "resultTypes": ["violations"],
    "iframes": True,
}
# (page key, rule id) -> reason. Keep empty: fix the page instead. An entry must say why the
# violation cannot be fixed here and who is fixing it.
ALLOWED: dict[tuple[str, str], str] = {}


def pick_role(dashboard, role: str) -> None:
    """Pick ``role`` in the sidebar's demo picker; wait until the navigation shows its pages."""
    page = dashboard.page
    show_sidebar(page)
    page.locator('[data-testid="stSidebar"]').get_by_text(ROLE_TITLES[role], exact=True).click()
    titles = [PAGES[key].title for key in ROLE_PAGES[role]]
    nav_links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    page.wait_for_function(
        """titles => {
            const links = [...document.querySelectorAll(
                '[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')];
            const shown = links.map(a => a.querySelector('span[label]')?.getAttribute('label'));
            return shown.length === titles.length && titles.every(t => shown.includes(t));
        }""", arg=titles, timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert nav_links.count() == len(titles)


def show_sidebar(page) -> None:
    """Open the sidebar if the page started with it collapsed (the Meeting page does)."""
    expand = page.locator('[data-testid="stExpandSidebarButton"]')
    if expand.is_visible():
        expand.click()
        page.locator('[data-testid="stSidebarNav"]').wait_for(state="visible",
                                                              timeout=APP_RUN_TIMEOUT_MS)


def open_from_nav(dashboard, key: str) -> None:
    """Open page ``key`` from the sidebar and wait until it has drawn."""
    page = dashboard.page
    spec = PAGES[key]
    show_sidebar(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role(
        "link", name=spec.title, exact=True).click()
    if key != "overview":
        page.wait_for_url(re.compile(rf"/{key}(\?|$)"), timeout=APP_RUN_TIMEOUT_MS)
    else:
        page.wait_for_url(re.compile(r"/(\?|$)"), timeout=APP_RUN_TIMEOUT_MS)
    page.locator("h1").first.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    wait_until_drawn(page)
    # Streamlit probes a page's own URL path when the path changes: expected, not the page's.
    dashboard.take_console_errors(
        rf"{re.escape(dashboard.base_url)}/{key}/_stcore/(health|host-config)\)$")


def wait_until_drawn(page) -> None:
    """Wait for what draws after the script run: maps in their iframes, charts, tables."""
    for iframe in page.locator("iframe").element_handles():
        frame = iframe.content_frame()
        if frame is None:
            continue
        frame.wait_for_load_state("load", timeout=APP_RUN_TIMEOUT_MS)
        if frame.locator(".leaflet-container").count() or "folium" in (
                iframe.get_attribute("title") or ""):
            frame.locator(".leaflet-container").wait_for(state="visible",
                                                         timeout=APP_RUN_TIMEOUT_MS)
    # Altair charts draw into a canvas or SVG after the run (those in a closed tab or expander
    # are not drawn until opened).
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                 .filter(c => c.offsetParent !== null && c.getBoundingClientRect().height > 0)
                 .every(c => c.querySelector('canvas, svg'))""",
        timeout=APP_RUN_TIMEOUT_MS)
    wait_for_network_quiet(page)


def run_axe(page) -> list[dict]:
    """axe-core's violations on ``page``, its frames included."""
    for frame in page.frames:
        if frame.is_detached():
            continue
        if not frame.evaluate("() => typeof window.axe !== 'undefined'"):
            frame.add_script_tag(path=str(AXE_JS))
    version = page.evaluate("() => axe.version")
    assert version == AXE_VERSION, f"axe-core {version} loaded, package.json pins {AXE_VERSION}"
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return result["violations"]


def describe(role: str, key: str, violation: dict) -> list[str]:
    lines = []
    for node in violation["nodes"]:
        target = " >> ".join(json.dumps(t) if not isinstance(t, str) else t
                             for t in node["target"])
        summary = (node.get("failureSummary") or "").replace("\n", " ")
        lines.append(f"[{violation['impact']}] {violation['id']} on {key} as {role}: {target} "
                     f"-- {summary[:240]}")
    return lines


# Screen sizes each page is photographed at, for people to look at (tests/e2e/screenshots/):
# a laptop and the meeting room's 1080p projector or a desktop monitor.
SCREEN_SIZES = ((1440, 900), (1920, 1080))


def screenshot_sizes(dashboard, role: str, key: str) -> None:
    """Screenshots of the page at each of ``SCREEN_SIZES``: ``<page>-<role>-<w>x<h>.png``.

    The page is checked at each size too: nothing wider than the window (no sideways scroll
    of the whole page, which would cut a table or a chart at the window's edge), and no
    button label cut short.
    """
    page = dashboard.page
    size = page.viewport_size
    try:
        for width, height in SCREEN_SIZES:
            page.set_viewport_size({"width": width, "height": height})
            dashboard.wait_for_app()
            wait_until_drawn(page)
            overflow = page.evaluate(
                """() => { const main = document.querySelector('[data-testid="stMain"]');
                          return main.scrollWidth - main.clientWidth; }""")
            assert overflow <= 1, f"{key} as {role} at {width}x{height}: {overflow}px too wide"
            # No button label cut short with an ellipsis ("Briefing pack (…" read as nothing).
            cut = page.evaluate(
                """() => [...document.querySelectorAll('[data-testid="stMain"] button *')]
                          .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1
                                  && getComputedStyle(e).textOverflow === 'ellipsis')
                          .map(e => e.textContent)""")
            assert not cut, f"{key} as {role} at {width}x{height}: labels cut short: {cut}"
            dashboard.screenshot(f"{key}-{role}-{width}x{height}")
    finally:
        page.set_viewport_size(size)


def test_every_page_of_every_role_has_no_serious_or_critical_axe_violation(dashboard):
    if not AXE_JS.is_file():
        _unavailable(f"{AXE_JS} not found: run `make assets` (npm ci installs axe-core "
                     "from package.json)")
    dashboard.open("/")
    failures, notes, checked = [], [], []
    for role in ROLES:
        pick_role(dashboard, role)
        for key in ROLE_PAGES[role]:
            open_from_nav(dashboard, key)
            checked.append((role, key))
            for violation in run_axe(dashboard.page):
                lines = describe(role, key, violation)
                if violation["impact"] in FAILING_IMPACTS and (key, violation["id"]) not in ALLOWED:
                    failures.extend(lines)
                else:
                    notes.extend(lines)
            screenshot_sizes(dashboard, role, key)
    print(f"axe-core {AXE_VERSION}: {len(checked)} page views "
          f"({', '.join(f'{k}/{r}' for r, k in checked)})")
    for line in notes:
        print("tolerated or below serious:", line)
    assert len(checked) == sum(len(pages) for pages in ROLE_PAGES.values())
    assert not failures, (f"{len(failures)} serious/critical axe-core violations:\n"
                          + "\n".join(failures))
    dashboard.assert_clean()
