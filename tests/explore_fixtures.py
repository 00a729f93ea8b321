"""The explorer tests' sample store, shared by ``tests/test_explore.py`` and
``tests/test_explore_modes.py``.

``tests.sample_store`` with 24 NRM referrals and 12 Rosewood episodes: one record a week from
Mon 2 Jan 2023, districts in turn (``tests/test_explore.py`` works out what each view holds). A
test module takes the fixture by naming it at its top level (``store = explore_fixtures.store``);
module-scoped, each module builds its own store once.
"""
from __future__ import annotations

import pytest

from tests.sample_store import build_store

ROWS = {"nrm": 24, "rosewood": 12}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("explore") / "store", ROWS)
