"""The embedded store: atomic batches, crash safety, concurrent writers, filtered reads."""
import datetime as dt
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from data.errors import ConfigError
from data.filters import EventFilter
from data.ingest import ingest_file
from data.store import ParquetStore, open_store
from tests.conftest import VALID_ROWS, store_snapshot, write_csv

ROOT = Path(__file__).resolve().parent.parent


def _run_ingest(store_dir, path, feed, patch="", wait=True):
    """Ingest in a separate process, optionally patching the store first (to kill or slow it)."""
    code = "\n".join([
        "import os, sys, time",
        "import data.store as store_module",
        textwrap.dedent(patch),
        "from data.ingest import ingest_file",
        f"ingest_file({str(path)!r}, {feed!r}, store={str(store_dir)!r})",
    ])
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    return process.wait(120) if wait else process


KILL_BEFORE_RENAME = """
real_replace = os.replace
def dying_replace(src, dst):
    if str(src).endswith('.parquet'):
        os._exit(9)          # killed after writing the temporary file, before the rename
    real_replace(src, dst)
store_module.os.replace = dying_replace
"""
KILL_BEFORE_COMMIT = """
store_module.ParquetStore._commit = lambda self, manifest: os._exit(9)  # renamed, not committed
"""


@pytest.mark.parametrize("patch", [KILL_BEFORE_RENAME, KILL_BEFORE_COMMIT],
                         ids=["killed-before-rename", "killed-before-manifest"])
def test_a_killed_writer_leaves_exactly_the_completed_batches(tmp_path, valid_file, patch):
    store_dir = tmp_path / "store"
    ingest_file(valid_file("nrm"), "nrm", store=store_dir)
    committed = store_snapshot(store_dir)
    assert _run_ingest(store_dir, valid_file("mandevilla"), "mandevilla", patch) == 9
    leftovers = set(store_snapshot(store_dir)) - set(committed)
    assert leftovers, "the killed writer should have left a file behind"
    store = ParquetStore(store_dir)
    assert len(store.query("nrm")) == 3 and store.query("mandevilla").empty
    assert [b["feed"] for b in store.batches()] == ["nrm"]
    # The next writer cleans up and completes normally.
    ingest_file(valid_file("mandevilla"), "mandevilla", store=store)
    assert len(store.query("mandevilla")) == 2
    assert not any(name in store_snapshot(store_dir) for name in leftovers)


SLOW_WRITE = """
real_write = store_module.ParquetStore._write_batch
def slow_write(self, *args, **kwargs):
    time.sleep(1.5)            # hold the lock long enough for the other writer to arrive
    return real_write(self, *args, **kwargs)
store_module.ParquetStore._write_batch = slow_write
"""


def test_two_concurrent_ingests_of_different_files_both_land(tmp_path, valid_file):
    store_dir = tmp_path / "store"
    more = [dict(r, record_id=r["record_id"] + "b") for r in VALID_ROWS["nrm"]]
    slow = _run_ingest(store_dir, valid_file("nrm"), "nrm", SLOW_WRITE, wait=False)
    time.sleep(1.0)  # the slow writer is inside its write, holding the lock
    fast = _run_ingest(store_dir, write_csv(tmp_path / "more.csv", more), "nrm", wait=False)
    assert slow.wait(120) == 0 and fast.wait(120) == 0
    store = ParquetStore(store_dir)
    assert len(store.batches()) == 2
    assert len(store.query("nrm")) == 6


def test_concurrent_ingests_of_the_same_file_land_once(tmp_path, valid_file):
    store_dir = tmp_path / "store"
    path = valid_file("rosewood")
    processes = [_run_ingest(store_dir, path, "rosewood", wait=False) for _ in range(3)]
    assert [p.wait(120) for p in processes] == [0, 0, 0]
    assert len(ParquetStore(store_dir).query("rosewood")) == 2


@pytest.fixture
def filled(store, valid_file):
    for feed in ("nrm", "rosewood", "mandevilla"):
        ingest_file(valid_file(feed), feed, store=store)
    return store


@pytest.mark.parametrize("filters,expected", [
    (EventFilter(), ["NRM-1", "NRM-2", "NRM-3"]),
    (EventFilter(start=dt.date(2024, 6, 15)), ["NRM-2", "NRM-3"]),
    (EventFilter(end=dt.date(2024, 6, 15)), ["NRM-1", "NRM-2"]),
    (EventFilter(districts=("E08000032",)), ["NRM-2"]),
    (EventFilter(age_groups=("child",)), ["NRM-2", "NRM-3"]),
    (EventFilter(exploitation_types=("sexual",)), ["NRM-2"]),
    (EventFilter(exploitation_types=("labour", "criminal")), ["NRM-1", "NRM-2", "NRM-3"]),
])
def test_nrm_filters(filled, filters, expected):
    assert sorted(filled.query("nrm", filters)["record_id"]) == expected


def test_rosewood_status_and_mandevilla_indicator_filters(filled):
    found = filled.query("rosewood", EventFilter(rosewood_status="found"))
    missing = filled.query("rosewood", EventFilter(rosewood_status="missing"))
    assert found["record_id"].tolist() == ["RW-1"] and missing["record_id"].tolist() == ["RW-2"]
    flagged = filled.query("mandevilla", EventFilter(indicators=("under_18",)))
    assert flagged["record_id"].tolist() == ["MV-1"]


def test_counts_by_area_and_month(filled):
    counts = filled.counts("nrm", ["district_code"], freq="M")
    assert counts["count"].sum() == 3
    assert set(counts["period"].astype(str)) == {"2024-03", "2024-06", "2024-07"}


def test_summary_period_and_sources(filled):
    summary = filled.summary()
    assert summary.groupby("feed")["count"].sum().to_dict() == {
        "mandevilla": 2, "nrm": 3, "rosewood": 2}
    assert filled.period() == (dt.date(2024, 2, 14), dt.date(2024, 7, 1))
    assert filled.sources() == {"real"} and not filled.is_synthetic_only()


def test_an_empty_store_reads_as_empty(store):
    assert store.query("nrm").empty and store.period() is None and store.is_synthetic_only()


def test_query_reads_only_the_columns_asked_for(filled):
    assert list(filled.query("nrm", columns=["record_id"]).columns) == ["record_id"]


def test_store_url_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("STORE_URL", str(tmp_path / "s"))
    assert open_store().url == str(tmp_path / "s")
    with pytest.raises(ConfigError, match="only a directory path"):
        open_store("mysql://db/x")


def test_filters_reject_impossible_ranges():
    with pytest.raises(ValueError, match="is after end"):
        EventFilter(start=dt.date(2025, 1, 2), end=dt.date(2025, 1, 1))
