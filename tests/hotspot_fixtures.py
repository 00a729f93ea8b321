"""The hotspot tests' stores and fitted views, shared by the hotspot test modules.

``store``, ``analyst_view`` and ``chair_view`` (``tests/test_hotspot_view.py``,
``tests/test_hotspot_notes.py``):
``tests.sample_store`` with 36 NRM, 30 Rosewood and 24 Mandevilla rows: every record lies within
~150 m of one of the five district town centres, so the store holds five hotspots by
construction, one per district.

``alert_store`` (the alert, trend-source and meeting-alert tests): ``tests.alert_store``'s 36
months of NRM referrals with a new cluster planted in central Leeds in December 2025.

A test module takes the fixtures by naming them at its top level (``store =
hotspot_fixtures.store``, or ``store = hotspot_fixtures.alert_store``, or all three of the sample
store's with ``store, analyst_view, chair_view = hotspot_fixtures.FIVE_HOTSPOTS``: pytest names a
fixture by the name it is given there); module-scoped, each module builds its own store once.
"""
from __future__ import annotations

import pytest

from safeguards.access import Principal, RoleScopedQuery
from tests.alert_store import alert_store as build_alert_store
from tests.sample_store import build_store
from views.hotspots import fit_hotspots

ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}
FEEDS = tuple(ROWS)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("hotspots") / "store", ROWS)


@pytest.fixture(scope="module")
def analyst_view(store):
    return fit_hotspots(RoleScopedQuery(store, Principal("ana", "analyst")), FEEDS)


@pytest.fixture(scope="module")
def chair_view(store):
    return fit_hotspots(RoleScopedQuery(store, Principal("cha", "chair")), FEEDS)


#: The sample store and its fitted views, to name at a test module's top level in this order.
FIVE_HOTSPOTS = (store, analyst_view, chair_view)


@pytest.fixture(scope="module")
def alert_store(tmp_path_factory):
    return build_alert_store(tmp_path_factory.mktemp("alerts") / "store")
