"""Small, hand-made stores for page and browser tests, with counts known by construction.

Every row is valid and lies near the centre of one of the five West Yorkshire districts, taken in
turn, so a test knows how many records each feed and district holds without reading the store.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from data.ingest import ingest_frame
from data.pseudonymise import pseudonym
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore

# A point well inside each district (town centres), as WGS84 longitude and latitude.
DISTRICT_POINTS = {
    "E08000032": (-1.7594, 53.7960),  # Bradford
    "E08000033": (-1.8636, 53.7248),  # Calderdale: Halifax
    "E08000034": (-1.7850, 53.6458),  # Kirklees: Huddersfield
    "E08000035": (-1.5491, 53.8008),  # Leeds
    "E08000036": (-1.4977, 53.6833),  # Wakefield
}
DISTRICTS = tuple(DISTRICT_POINTS)
FIRST_DAY = dt.date(2023, 1, 2)
#: The sample partner's pseudonymisation key (``data.pseudonymise``): person ``P-00k`` of the
#: sample stores is ``person_ref(k)``.
SAMPLE_KEY = b"tests/sample_store.py partner key, for tests only"
DAYS_APART = 7


def feed_rows(feed: str, n_rows: int) -> pd.DataFrame:
    """``n_rows`` valid rows of ``feed``, one a week from ``FIRST_DAY``, districts taken in turn."""
    rows = []
    for i in range(n_rows):
        day = FIRST_DAY + dt.timedelta(days=DAYS_APART * i)
        lon, lat = DISTRICT_POINTS[DISTRICTS[i % len(DISTRICTS)]]
        # Small offsets keep points apart but well inside their district.
        place = {"longitude": f"{lon + 0.001 * (i % 3):.4f}",
                 "latitude": f"{lat + 0.001 * (i % 2):.4f}"}
        rows.append({**_ROW_MAKERS[feed](i, day), **place})
    return pd.DataFrame(rows)


def district_counts(n_rows: int) -> dict[str, int]:
    """How many of ``n_rows`` rows ``feed_rows`` places in each district."""
    return {code: len(range(k, n_rows, len(DISTRICTS))) for k, code in enumerate(DISTRICTS)}


def build_store(root: Path, n_rows: dict[str, int], *, source: str = "synthetic") -> ParquetStore:
    """A store at ``root`` holding ``n_rows[feed]`` rows of each feed, ingested as ``source``."""
    store = ParquetStore(Path(root))
    for feed, n in n_rows.items():
        if n:
            ingest_frame(feed_rows(feed, n), feed, name=f"sample-{feed}.csv", store=store,
                         source=source)
    return store


def built_store(n_rows: dict[str, int], folder: str):
    """A module-scoped fixture: the store of :func:`build_store`, built once per test module in
    a temporary folder named ``folder``. Named by the name it is given in the test module::

        built = built_store(ROWS, "csv_labels")
    """
    @pytest.fixture(scope="module")
    def built(tmp_path_factory) -> ParquetStore:
        return build_store(tmp_path_factory.mktemp(folder) / "store", n_rows)

    return built


def last_day(n_rows: dict[str, int]) -> dt.date:
    """The last event date in a store built by ``build_store`` with ``n_rows``."""
    return FIRST_DAY + dt.timedelta(days=DAYS_APART * (max(n_rows.values()) - 1))


def _nrm(i: int, day: dt.date) -> dict:
    return {"record_id": f"NRM-{i:04d}", "referral_date": day.isoformat(),
            "exploitation_type": ("labour", "sexual;criminal", "criminal")[i % 3],
            "age_group": ("adult", "child")[i % 2], "gender": ("female", "male")[i % 2],
            "first_responder": ("police", "local_authority", "ngo")[i % 3]}


def _rosewood(i: int, day: dt.date) -> dict:
    missing = dt.datetime.combine(day, dt.time(21, 30))
    found = "" if i % 4 == 0 else (missing + dt.timedelta(hours=30)).isoformat(timespec="minutes")
    return {"record_id": f"RW-{i:04d}", "person_ref": person_ref(i % 7),
            "reported_missing_at": missing.isoformat(timespec="minutes"), "found_at": found,
            "age_group": "adult", "risk_level": ("low", "medium", "high")[i % 3]}


def person_ref(k: int) -> str:
    """The ``person_ref`` of sample person ``k`` (partner reference ``P-00k``)."""
    return pseudonym(SAMPLE_KEY, f"P-{k:03d}")


def _mandevilla(i: int, day: dt.date) -> dict:
    return {"record_id": f"MV-{i:04d}", "flag_date": day.isoformat(),
            "age_group": ("adult", "child")[i % 2],
            "indicators": ("unable_to_speak_freely", "under_18;repeat_procedure")[i % 2],
            "referred_to_police": ("yes", "no")[i % 2]}


_ROW_MAKERS = {"nrm": _nrm, "rosewood": _rosewood, "mandevilla": _mandevilla}


def scoped_query(store: ParquetStore, role: str = "analyst") -> RoleScopedQuery:
    """The store as a tester in ``role`` sees it (every read through ``RoleScopedQuery``)."""
    return RoleScopedQuery(store, Principal("tester", role))
