"""Keyboard and focus (WCAG 2.1.1, 2.1.2, 2.4.3, 2.4.7, 2.4.11), in a real browser.

For every page of every demo role, a keyboard-only user tabs through the page's controls from
the top: each control that takes focus shows it (an outline or a box shadow on
``:focus-visible``, its colour at least 3:1 against what is behind it), and Tab ends by leaving
the page (focus back on the document) within ``MAX_TABS`` presses: no control holds the focus.
Shift+Tab goes back the same way. Then the sidebar navigation and a filter are operated with
the keyboard alone.
"""
from __future__ import annotations

import re

import pytest

from core.roles import ROLES
from tests.e2e.conftest import APP_RUN_TIMEOUT_MS, SCREENSHOT_DIR
from tests.e2e.test_accessibility_e2e import open_from_nav, pick_role, wait_until_drawn
from ui.registry import PAGES, ROLE_PAGES

pytestmark = pytest.mark.e2e

MAX_TABS = 250
MIN_FOCUS_CONTRAST = 3.0

# What has the focus, and how it shows: (description, indicator colour, background colour) or
# None when the document itself has it. Looks inside same-origin iframes (the maps).
FOCUS_JS = r"""
() => {
  let doc = document, el = document.activeElement, frames = [];
  while (el && el.tagName === 'IFRAME') {
    let inner = null;
    try { inner = el.contentDocument; } catch (e) { inner = null; }
    if (!inner || !inner.activeElement || inner.activeElement === inner.body) break;
    frames.push(el.title || 'iframe'); doc = inner; el = inner.activeElement;
  }
  if (!el || el === doc.body || el === doc.documentElement) return null;
  const win = doc.defaultView;
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const style = win.getComputedStyle(el);
  let indicator = null;
  if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1) {
    indicator = parse(style.outlineColor);
  } else if (style.boxShadow && style.boxShadow !== 'none') {
    indicator = parse(style.boxShadow);
  }
  let background = null;
  for (let node = el.parentElement; node; node = node.parentElement) {
    const c = parse(win.getComputedStyle(node).backgroundColor);
    if (c && c[3] > 0.5) { background = c; break; }
  }
  const name = (el.getAttribute('aria-label') || el.innerText || el.value || '')
      .trim().slice(0, 40);
  return {what: [...frames, `${el.tagName.toLowerCase()}[${el.getAttribute('role') || ''}]`
                 + ` "${name}"`].join(' >> '),
          visible: el.matches(':focus-visible'), indicator, background: background || [255, 255, 255, 1]};
}
"""


def screenshot_path(name: str):
    """Where a viewport screenshot (the focus as a person sees it) goes."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR / f"{name}.png"


def luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    """WCAG contrast of colour ``a`` (RGBA; drawn over ``b``) against ``b`` (RGB)."""
    alpha = a[3] if len(a) > 3 else 1
    a = [alpha * x + (1 - alpha) * y for x, y in zip(a[:3], b[:3])]
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: A data grid (glide-data-grid) may give the DOM focus to the cell of its visually hidden
#: accessible table (for screen readers) rather than keep it on its canvas; the focused cell's
#: ring is then painted on the canvas, so the cell has no CSS indicator of its own. Such a stop
#: is the grid's own stop: compared as the canvas, its indicator not read from CSS.
GRID_CELL = "td[gridcell]"


def same_stop(a: dict, b: dict) -> bool:
    """Whether two focus stops are the same control (a grid's cell counts as its canvas)."""
    def key(stop):
        return "canvas[] \"\"" if GRID_CELL in stop["what"] else stop["what"]
    return key(a) == key(b)


def focus_now(page):
    """What has the focus, once it has settled.

    A data grid takes the focus on a cell of its hidden accessible table and then hands it to
    its canvas from a focus handler; on a loaded machine the first look can land in between.
    """
    focus = page.evaluate(FOCUS_JS)
    for _ in range(20):
        if focus is None or "td[gridcell]" not in focus["what"]:
            return focus
        page.wait_for_timeout(50)
        focus = page.evaluate(FOCUS_JS)
    return focus


def start_from_top(page) -> None:
    """Move the focus off the page's end, so that the next Tab starts at the top.

    (Blurring is not enough: Chromium starts the next Tab from where the focus was.)
    """
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUS_JS) is None:
            return
    raise AssertionError(f"Tab never left the page in {MAX_TABS} presses")


def tab_through(page, key: str = "Tab") -> list[dict]:
    """Press ``key`` until the focus leaves the page; the focused controls, in order."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        focus = focus_now(page)
        if focus is None:
            return seen
        seen.append(focus)
    raise AssertionError(f"{key}: focus still on the page after {MAX_TABS} presses (a trap?); "
                         f"last: {[f['what'] for f in seen[-8:]]}")


def focus_problems(stops: list[dict]) -> list[str]:
    problems = []
    for stop in stops:
        if GRID_CELL in stop["what"]:
            continue  # the grid paints the focused cell's ring on its canvas (GRID_CELL)
        if stop["indicator"] is None:
            problems.append(f"no focus indicator: {stop['what']}")
        elif contrast(stop["indicator"], stop["background"]) < MIN_FOCUS_CONTRAST:
            problems.append(f"focus indicator {stop['indicator']} on {stop['background']} "
                            f"below 3:1: {stop['what']}")
    return problems


def test_every_page_tabs_through_with_visible_focus_and_no_trap(dashboard):
    dashboard.open("/")
    page = dashboard.page
    failures, walked = [], []
    for role in ROLES:
        pick_role(dashboard, role)
        for key in ROLE_PAGES[role]:
            open_from_nav(dashboard, key)
            start_from_top(page)
            forward = tab_through(page)
            assert len(forward) >= 3, f"{key} as {role}: only {len(forward)} stops"
            failures += [f"{key}/{role}: {p}" for p in focus_problems(forward)]
            # Shift+Tab from past the end comes back in from the last stop and leaves at the
            # top: no trap that way either. (A table's toolbar shows only while the table has
            # the focus, so the stops backwards are not exactly those forwards, reversed.)
            back = tab_through(page, "Shift+Tab")
            assert back and same_stop(back[0], forward[-1]), (key, role, back[:1])
            assert same_stop(back[-1], forward[0]), (key, role, back[-1:])
            failures += [f"{key}/{role} (Shift+Tab): {p}" for p in focus_problems(back)]
            walked.append((role, key, len(forward)))
    print("tab stops:", ", ".join(f"{k}/{r}: {n}" for r, k, n in walked))
    assert len(walked) == sum(len(p) for p in ROLE_PAGES.values())
    assert not failures, f"{len(failures)} focus problems:\n" + "\n".join(failures)
    dashboard.assert_clean()


def test_keyboard_only_user_opens_a_page_from_the_sidebar_and_sets_a_filter(dashboard):
    dashboard.open("/")
    page = dashboard.page
    pick_role(dashboard, "analyst")
    start_from_top(page)
    # Tab to the sidebar's "Trends" link and press Enter.
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_JS)
        assert focus is not None, "left the page without reaching the Trends link"
        # A link's text is its icon's name, then its title: "trending_up\n\nTrends".
        if focus["what"].startswith("a[") and focus["what"].endswith('Trends"'):
            break
    dashboard.page.screenshot(path=str(screenshot_path("keyboard-focus-nav-link")))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/trends(\?|$)"), timeout=APP_RUN_TIMEOUT_MS)
    page.locator("h1", has_text=PAGES["trends"].title).wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    wait_until_drawn(page)
    dashboard.take_console_errors(r"/trends/_stcore/(health|host-config)\)$")
    # Tab to the first select on the page and change it with the arrow keys and Enter.
    combobox = page.locator('[data-testid="stMain"] input[role="combobox"]').first
    before = combobox.input_value()
    start_from_top(page)
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if combobox.evaluate("e => e === document.activeElement"):
            break
    else:
        raise AssertionError("no select on the Trends page reached with Tab")
    dashboard.page.screenshot(path=str(screenshot_path("keyboard-focus-select")))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    dashboard.wait_for_app()
    page.wait_for_function("([e, v]) => e.value !== v", arg=[combobox.element_handle(), before],
                           timeout=APP_RUN_TIMEOUT_MS)
    dashboard.assert_clean()


def test_keyboard_only_user_picks_a_hotspot_from_the_ranked_table(dashboard):
    """The map's table equivalent on Hotspots: the ranked table selects a hotspot without the
    map; with the keyboard alone, Tab into the table, ↓ to the first row, Shift+Space."""
    dashboard.open("/")
    page = dashboard.page
    pick_role(dashboard, "analyst")
    open_from_nav(dashboard, "hotspots")
    hint = page.get_by_text("Select a row of the table to zoom to that hotspot")
    hint.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    grid = page.locator('[data-testid="stDataFrame"]').first
    start_from_top(page)
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if grid.evaluate("g => g.contains(document.activeElement) && "
                         "document.activeElement.tagName !== 'BUTTON'"):
            break
    else:
        raise AssertionError("Tab never reached the ranked hotspots table")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+Space")
    hint.wait_for(state="detached", timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    dashboard.page.screenshot(path=str(screenshot_path("keyboard-hotspot-picked")))
    dashboard.assert_clean()
