"""Make ``dashboard.py`` the router from a server process's very first request.

Streamlit 1.67 decides, when a session's page manager is made, whether the app is a legacy
multipage app: it is when a ``pages/`` folder sits beside the entry script, until a script calls
``st.navigation`` (process-wide; AppTest asks afresh on every run). In that mode a page's URL
runs the file of ``pages/`` directly, without the router, and ``/`` runs ``dashboard.py`` inside
a navigation listing every file of the folder; widgets drawn then get other ids than the same
widgets drawn by the router later, so a first click on them would be lost. Our pages are all
registered by the router through ``st.navigation``, so the first run that finds the legacy mode,
the router's or a page's, switches it off and reruns before drawing anything: the rerun goes
through the router to the same page (its URL path is the same in both modes) with the same
link. Only a page load can meet the legacy mode (it is a new session's first run), so no click
is lost by the rerun.

Tested by ``tests/test_router_mode.py`` and by the browser tests, each of which starts a fresh
server on a page's URL and then clicks widgets drawn on its first paint.
"""
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def use_router() -> None:
    """Leave the legacy ``pages/`` mode if this run is in it, and rerun through the router."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
