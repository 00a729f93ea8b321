"""Shared fixtures: an empty store per test, and small valid partner files per feed."""
from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest

from storage.parquet import ParquetStore

# PostGIS store fixtures (throwaway cluster per session, database per test): pg_cluster, pg_url,
# pg_store. Skipped with the reason where PostgreSQL/PostGIS are missing; must run when CI=true.
from tests.pg_fixtures import _pg_working, pg_cluster, pg_new_database, pg_store, pg_url  # noqa: F401

# The cell key of protected figures (safeguards.cell_key): fixed for the suite, so published
# figures are the same on every run, and no test writes instance/cell_key into the checkout.
# Servers the tests start inherit it.
os.environ.setdefault("CELL_KEY", "5e" * 32)

# Every test runs at this moment, never at the wall clock's: nothing depends on when, or how fast,
# the suite runs (core.clock). Held for the whole session (session fixtures build stores too) and
# set back to it before each test; a test moves time on with the ``clock`` fixture's ``advance``.
FROZEN_AT = dt.datetime(2026, 12, 15, 10, 0, tzinfo=dt.timezone.utc)
_NOW = {"at": FROZEN_AT}


@pytest.fixture(autouse=True, scope="session")
def _frozen_clock():
    from core import clock as project_clock

    project_clock.set(lambda: _NOW["at"])
    yield
    project_clock.set(None)


@pytest.fixture(autouse=True)
def clock(_frozen_clock):
    """The project's clock, at ``FROZEN_AT`` when the test starts; yields ``advance(timedelta)``."""
    _NOW["at"] = FROZEN_AT

    def advance(delta: dt.timedelta) -> None:
        _NOW["at"] += delta

    yield advance
    _NOW["at"] = FROZEN_AT


@pytest.fixture(autouse=True)
def apptest_runs_like_a_served_app(monkeypatch):
    """AppTest asks afresh on every run whether the app is a legacy ``pages/`` app (it is, with
    ``pages/`` beside ``dashboard.py``); a served app asks once per process, and the router's
    first run switches the legacy mode off for good (``ui/router_mode.py``). Make each AppTest
    run start as every run after a server's first does. The first run itself is tested without
    this in ``tests/test_router_mode.py`` and by every browser test (a fresh server each)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class ServedPagesManager(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", ServedPagesManager)

# A keyed pseudonym (data.pseudonymise) of the partner reference "P-001" under the key
# b"tests/conftest.py partner key, for tests only": the only person_ref format ingestion accepts.
PERSON_REF = "PR-7TCOFNRYVLNA3GZQIUIBY5JBAF"

VALID_ROWS = {
    "nrm": [
        {"record_id": "NRM-1", "referral_date": "2024-03-01", "exploitation_type": "labour",
         "age_group": "adult", "gender": "male", "first_responder": "police",
         "longitude": "-1.5491", "latitude": "53.8008"},  # Leeds city centre
        {"record_id": "NRM-2", "referral_date": "15/06/2024", "exploitation_type": "sexual;criminal",
         "age_group": "child", "gender": "female", "first_responder": "ngo",
         "longitude": "-1.7594", "latitude": "53.7960"},  # Bradford
        {"record_id": "NRM-3", "referral_date": "2024-07-01", "exploitation_type": "criminal",
         "age_group": "child", "gender": "male", "first_responder": "local_authority",
         "longitude": "", "latitude": "", "lsoa_code": "E01011000"},  # LSOA only
    ],
    "rosewood": [
        {"record_id": "RW-1", "person_ref": PERSON_REF, "reported_missing_at": "2024-05-01T22:10",
         "found_at": "2024-05-03T09:00", "age_group": "adult", "risk_level": "medium",
         "easting": "416500", "northing": "432900"},  # Bradford, in BNG
        {"record_id": "RW-2", "person_ref": PERSON_REF, "reported_missing_at": "2024-06-11T08:00",
         "found_at": "", "age_group": "adult", "risk_level": "high",
         "easting": "416520", "northing": "432950"},
    ],
    "mandevilla": [
        {"record_id": "MV-1", "flag_date": "2024-02-14", "age_group": "child",
         "indicators": "under_18;accompanied_by_controlling_person", "referred_to_police": "yes",
         "longitude": "-1.4977", "latitude": "53.6833"},  # Wakefield
        {"record_id": "MV-2", "flag_date": "2024-04-02", "age_group": "adult",
         "indicators": "unable_to_speak_freely", "referred_to_police": "No",
         "longitude": "-1.7850", "latitude": "53.6458"},  # Huddersfield
    ],
}


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    """Write ``rows`` as a CSV with the union of their keys as the header."""
    header = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def store(tmp_path) -> ParquetStore:
    return ParquetStore(tmp_path / "store")


@pytest.fixture
def valid_file(tmp_path):
    """Factory: a valid CSV for ``feed`` (optionally with rows changed or added)."""
    def make(feed: str, rows: list[dict] | None = None, name: str | None = None) -> Path:
        return write_csv(tmp_path / (name or f"{feed}.csv"), rows or VALID_ROWS[feed])
    return make


def store_snapshot(root: Path) -> dict[str, bytes]:
    """Every data file under a store folder and its bytes.

    The lock file and the audit trail (``_audit/``) are left out: every ingest, stored or
    refused, is audited by design, so the audit log grows while the data stays unchanged.
    """
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*"))
            if p.is_file() and p.name != "_lock" and "_audit" not in p.relative_to(root).parts}


@pytest.fixture
def deferred_files(monkeypatch):
    """Make the files of deferred download buttons in AppTest (``tests.apptest.DeferredFiles``)."""
    from tests.apptest import DeferredFiles

    return DeferredFiles(monkeypatch)
