"""The hotspot tests' sample store and its fitted views, shared by ``tests/test_hotspot_view.py``
and ``tests/test_hotspot_notes.py``.

``tests.sample_store`` with 36 NRM, 30 Rosewood and 24 Mandevilla rows: every record lies within
~150 m of one of the five district town centres, so the store holds five hotspots by
construction, one per district. A test module takes the fixtures by naming them at its top level
(``store = hotspot_fixtures.store``); module-scoped, each module builds its own store once.
"""
from __future__ import annotations

import pytest

from safeguards.access import Principal, RoleScopedQuery
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
