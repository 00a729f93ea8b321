"""The role-scoped query layer on the PostGIS store: every test of tests/test_access.py again.

The tests are imported, not copied: the ``store`` fixture below gives them the PostGIS store
instead of a store folder, so roles, suppression and the audit of refusals are checked on both
backends by one suite. ``filled`` ingests the same files as tests/test_access.py once, through
the same ``ingest_frame``, and restores that state (data and audit log) before each test.
"""
import pandas as pd
import pytest

from core.schema import FEEDS
from data.ingest import ingest_frame
from tests.conftest import VALID_ROWS
from tests.pg_fixtures import restore_snapshot, save_snapshot
from tests.test_access import *  # noqa: F401,F403 - collected again here, on PostGIS


@pytest.fixture
def store(pg_store):
    return pg_store


@pytest.fixture(scope="module")
def _filled_once(_pg_working):
    from storage.open import open_store
    from tests.pg_fixtures import empty_database

    empty_database(_pg_working)
    for feed in FEEDS:
        ingest_frame(pd.DataFrame(VALID_ROWS[feed]), feed, name=feed,
                     store=open_store(_pg_working))
    save_snapshot(_pg_working, "access")
    return _pg_working


@pytest.fixture
def filled(store, _filled_once):
    restore_snapshot(_filled_once, "access")
    assert {b["feed"] for b in store.batches()} == set(FEEDS)
    return store
