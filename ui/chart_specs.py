"""Altair charts turned into Vega-Lite specs once, and drawn from the spec on later runs.

``st.altair_chart(chart)`` converts the chart to a Vega-Lite dict on every run, and Altair
validates that dict against its JSON schema each time: 0.37 s of every run of the cached Trends
page. Altair also names a chart's selections from a process-wide counter (``param_7``), so the
same chart made again gives a different spec, and Streamlit resends it whole. A page that draws
the same chart run after run keeps its spec in a cached loader instead (keyed on what the chart
shows) and draws it with ``st.vega_lite_chart``, which is exactly what ``st.altair_chart`` does
after its conversion (tests/test_warm_start.py compares the two).
"""
from __future__ import annotations

import streamlit as st
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from ui import a11y


def vega_lite_spec(chart) -> dict:
    """The spec ``st.altair_chart(chart)`` would draw (data as Arrow datasets)."""
    a11y.enable_chart_theme()   # the accessible theme is on before any spec is made
    return _convert_altair_to_vega_lite_spec(chart)


def draw_spec(spec: dict, *, height="content", width="stretch", target=None) -> None:
    """Draw a spec from :func:`vega_lite_spec` as ``st.altair_chart(chart, width=width)``
    draws its chart (a compound chart, such as small multiples, at its own size: ``width=
    "content"``). ``spec`` is used up (its datasets move into the element): pass a copy, as a
    cached loader returns."""
    (target or st).vega_lite_chart(spec=spec, width=width, height=height)
