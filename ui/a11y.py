"""Styles every page gets for WCAG 2.2 AA, where Streamlit's own rendering falls short.

``apply_styles()`` is called once per run by the router (``dashboard.py``) before the page runs.
It only adds CSS (``st.html`` of a lone ``<style>`` block takes no room on the page). Colours
are in ``.streamlit/config.toml`` (``[theme] textColor``); docs/accessibility.md lists what
each rule is for and tests/e2e/test_accessibility_e2e.py checks the result with axe-core.

Charts: Vega-Lite gives each mark group of an SVG chart an ARIA graphics role but no name, which
screen readers announce as unnamed images (axe-core ``svg-img-alt``, WCAG 1.1.1). The
``ACCESSIBLE_CHART_THEME`` Altair theme (:func:`enable_chart_theme`) turns Vega-Lite's ARIA off
(``config.aria`` and ``config.mark.aria`` false: marks and axes are hidden from the accessibility
tree); the numbers
each chart shows are in the table or tiles beside it. Enabled process-wide, it applies alike to
``st.altair_chart`` and to specs made by ``ui.chart_specs``. Altair is imported only when a chart
is made (0.3-0.7 s of imports the dashboard's first page does not need, docs/benchmarks.md), so
the theme is enabled by :func:`apply_styles` once Altair is loaded, by ``ui.chart_specs`` and
by each page just before its ``st.altair_chart``.
"""
from __future__ import annotations

import sys

import streamlit as st

# The keyboard focus ring (tests/e2e/test_keyboard_e2e.py measures it on every page).
FOCUS_COLOUR = "#1a56b8"

# WCAG 2.5.8 Target Size (Minimum): every pointer target at least 24 x 24 CSS px.
# Streamlit's date fields are made of one small spin button per day, month and year
# (react-aria segments, about 18 x 20 px): give each the minimum size, text centred.
STYLES = """<style>
[data-testid="stDateInput"] [role="spinbutton"] {
  display: inline-flex; align-items: center; justify-content: center;
  min-width: 24px; min-height: 24px;
}
/* WCAG 2.4.7 Focus Visible, 2.4.11 Focus Not Obscured, 1.4.11 Non-text Contrast: Streamlit
   shows focus as a faint half-transparent ring in the primary colour (about 1.6:1 on white)
   or, on navigation links, inputs and table toolbars, not at all. One solid ring on every
   control that takes keyboard focus: FOCUS_COLOUR is 6.8:1 on white, 6.4:1 on the
   sidebar's #f8f8f7 and 6.1:1 on an input's grey. Only on :focus-visible: a click draws none. */
:focus-visible {
  outline: 3px solid FOCUS_COLOUR !important;
  outline-offset: 2px !important;
}
/* Inside a scroll area or a control's own frame an outer ring would be clipped: draw it
   inside. */
[data-testid="stMain"]:focus-visible, [data-testid="stSidebarContent"]:focus-visible,
input:focus-visible, textarea:focus-visible, canvas:focus-visible,
[data-testid="stSidebarNavLink"]:focus-visible {
  outline-offset: -3px !important;
}
</style>""".replace("FOCUS_COLOUR", FOCUS_COLOUR)


ACCESSIBLE_CHART_THEME = "wy_accessible"


def _chart_theme() -> dict:
    """Altair theme: Vega-Lite's defaults, without ARIA attributes on marks and guides."""
    return {"config": {"aria": False, "mark": {"aria": False}}}


_theme_enabled = False


def enable_chart_theme() -> None:
    """Register and enable the accessible chart theme, process-wide (imports Altair; once)."""
    global _theme_enabled
    if not _theme_enabled:
        import altair as alt

        alt.theme.register(ACCESSIBLE_CHART_THEME, enable=True)(_chart_theme)
        _theme_enabled = True


def apply_styles() -> None:
    """Inject the shared accessibility styles into the current page (and enable the chart
    theme if a chart module has loaded Altair)."""
    if "altair" in sys.modules:
        enable_chart_theme()
    st.html(STYLES)
