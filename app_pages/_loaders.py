"""The thin layer between pages and the domain modules: caching and user-facing errors.

Pages call these functions instead of opening the store themselves, so every page shares one
cache and one way of reporting a problem the user can fix.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from data.access import Principal, RoleScopedQuery
from data.errors import DashboardError
from data.overview import Overview, store_fingerprint, store_overview
from data.store import open_store


def load_overview(principal: Principal) -> Overview:
    """The overview of the store named by ``STORE_URL`` (or ``./store``) for ``principal``, cached.

    The cache is keyed on the role, so one role's figures (unsuppressed for analysts) are never
    served to another role from the cache.

    Returns
    -------
    Overview

    Raises
    ------
    DashboardError
        If the store setting is invalid or the store cannot be read.
    """
    store = open_store()
    # Keyed on the batch ids, so a new ingest shows at the next page view, not after the TTL.
    return _cached_overview(store.url, store_fingerprint(store), principal.role)


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_overview(store_url: str, fingerprint: str, role: str) -> Overview:
    # The overview holds only aggregates, so one cached copy per role serves every user.
    return store_overview(RoleScopedQuery(open_store(store_url), Principal("overview", role)))


@contextmanager
def stop_on_user_error() -> Iterator[None]:
    """Show a ``DashboardError`` as an error box and stop the page; let other errors propagate."""
    try:
        yield
    except DashboardError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
