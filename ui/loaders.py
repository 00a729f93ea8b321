"""The thin layer between pages and the domain modules: caching and user-facing errors.

Pages call these functions instead of opening the store themselves, so every page shares one
cache and one way of reporting a problem the user can fix. Here is what every page shares: the
store's overview and period (:func:`open_store_page`, the prelude of a page that shows records),
:func:`stop_on_user_error`, the synthetic-data banner, :func:`audited_download`, and the cache
keys of the explorer's and hotspots' loaders. Each page family has its own loaders:
``ui.explore_loaders``, ``ui.hotspot_loaders``, ``ui.meeting_loaders`` and
``ui.trends_loaders``.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import DashboardError
from safeguards.access import Principal, RoleScopedQuery
from storage.base import fingerprints_held, store_fingerprint
from storage.open import open_store
from views.overview import Overview, is_synthetic_store, store_overview
from views.viewstate import ExplorerState, to_query_params


def one_store_state():
    """A block (the router's page run) in which the store's fingerprint, the key of every
    cached loader, is read once (``storage.base.fingerprints_held``)."""
    return fingerprints_held()


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


SYNTHETIC_BANNER = "**SYNTHETIC DATA — not real cases.** Do not use these figures for decisions."


def synthetic_banner(synthetic: bool) -> None:
    """The banner every page shows over synthetic figures, so no one mistakes them for cases."""
    if synthetic:
        st.error(SYNTHETIC_BANNER, icon=":material/science:")


def audited_download(make: Callable[[], bytes | str],
                     audit: Callable[[], None]) -> Callable[[], bytes | str]:
    """The data of a deferred download (made on the click) that audits the export as it is made.

    Every download of the dashboard uses it, with ``on_click="ignore"``. A click with an
    ``on_click`` callback also reruns the page, and every run issues its deferred downloads new
    ids and drops the old ones: a file asked for under an id that a rerun has just dropped never
    arrives (a download clicked while another's rerun was going, seen in the browser tests).
    Auditing here needs no rerun, and records an export only once the file was really made.
    ``audit`` must not call Streamlit: the file is made outside the page's run.
    """
    def data() -> bytes | str:
        content = make()
        audit()
        return content
    return data



def load_period(principal: Principal) -> tuple[dt.date, dt.date] | None:
    """The store's first and last event dates (None when empty), cached until it changes."""
    store = open_store()
    return _cached_period(store.url, store_fingerprint(store))


def open_store_page(principal: Principal) -> tuple[tuple[dt.date, dt.date], bool]:
    """The store's period and whether its data are synthetic, for a page that shows records:
    the synthetic banner is shown, and an empty store stops the page with a note.

    Whether the data are synthetic comes from the store's batches (:func:`load_synthetic`),
    not from the role's overview, which counts every feed by district to say the same: 12 of
    the 30 store reads of a first Explore run on a fresh server (docs/benchmarks.md)."""
    with stop_on_user_error():
        period = load_period(principal)
        synthetic = load_synthetic()
    synthetic_banner(synthetic)
    if period is None:
        st.info("The store holds no records yet: see the Overview page.",
                icon=":material/inventory_2:")
        st.stop()
    return period, synthetic


def load_synthetic() -> bool:
    """Whether every stored record is synthetic (and there is one): ``Overview.is_synthetic``
    without the overview's figures (``views.overview.is_synthetic_store``), cached until the
    store changes. The same for every role."""
    store = open_store()
    return _cached_synthetic(store.url, store_fingerprint(store))


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_synthetic(store_url: str, fingerprint: str) -> bool:
    return is_synthetic_store(open_store(store_url))


@st.cache_data(ttl="10m", max_entries=16, show_spinner=False)
def _cached_period(store_url: str, fingerprint: str):
    store = open_store(store_url)
    return store.period() if store.batches() else None


# -- keys of the explorer's and hotspots' loaders -------------------------------------------
# Every explorer loader is keyed on the store's content, the whole Principal (user and role:
# never one role's figures for another, and point reads audited under the right name) and the
# part of the view it depends on. The ExplorerState itself is passed as ``_state`` (not hashed)
# next to its key.

def view_key(state: ExplorerState, *parts: str) -> str:
    params = to_query_params(state)
    return json.dumps({k: params.get(k) for k in parts}, sort_keys=True)


FILTER_PARTS = ("from", "to", "feed", "age", "type", "status", "indicator", "district")


def store_query(store_url: str, principal: Principal) -> RoleScopedQuery:
    return RoleScopedQuery(open_store(store_url), principal)
